//! The merchant's user management, `/api/oauth/merchant/*`, with the merchant's
//! client-credentials token (fetched and renewed by the client).

use futures_util::Stream;
use reqwest::Method;

use crate::client::Client;
use crate::error::Result;
use crate::ids::UserId;
use crate::kyc::{Kyc, KycValues};
use crate::pages::{self, Page};
use crate::scope::Scope;
use crate::transport::Auth;
use crate::users::{
    Balances, Card, CreatedUser, NewUser, ProfileUpdate, Transaction, TransactionQuery, User,
};

/// Routes for the users this merchant created; see [`Client::merchant`]. Another
/// merchant's user is [`crate::Error::NotFound`], exactly like an unknown id.
#[derive(Clone, Copy, Debug)]
pub struct MerchantApi<'a> {
    client: &'a Client,
}

impl Client {
    pub fn merchant(&self) -> MerchantApi<'_> {
        MerchantApi { client: self }
    }
}

impl<'a> MerchantApi<'a> {
    fn user(&self, user: &'a UserId) -> Scope<'a> {
        Scope {
            client: self.client,
            base: vec!["api", "oauth", "merchant", "users", user.as_str()],
            auth: Auth::MerchantToken,
        }
    }

    pub async fn create_user(&self, user: &NewUser) -> Result<CreatedUser> {
        let scope = Scope {
            client: self.client,
            base: vec!["api", "oauth", "merchant", "users"],
            auth: Auth::MerchantToken,
        };
        let call = scope.call(Method::POST, &[]).json(user)?;
        self.client.fetch(call).await
    }

    /// Changes only the fields set in `update`.
    pub async fn update_profile(&self, user: &'a UserId, update: &ProfileUpdate) -> Result<User> {
        let call = self
            .user(user)
            .call(Method::PATCH, &["profile"])
            .json(update)?;
        self.client.fetch(call).await
    }

    pub async fn balance(&self, user: &'a UserId) -> Result<Balances> {
        self.user(user).balance().await
    }

    pub async fn transactions(
        &self,
        user: &'a UserId,
        query: &TransactionQuery,
    ) -> Result<Page<Transaction>> {
        self.user(user).transactions(query).await
    }

    /// Every transaction matching `query`, newest first, page after page.
    pub fn all_transactions(
        &self,
        user: UserId,
        query: TransactionQuery,
    ) -> impl Stream<Item = Result<Transaction>> + Send + 'static + use<> {
        let client = self.client.clone();
        pages::all(move |cursor| {
            let client = client.clone();
            let user = user.clone();
            let query = TransactionQuery {
                cursor,
                ..query.clone()
            };
            async move { client.merchant().transactions(&user, &query).await }
        })
    }

    pub async fn cards(&self, user: &'a UserId) -> Result<Vec<Card>> {
        self.user(user).cards().await
    }

    pub async fn kyc(&self, user: &'a UserId) -> Result<Kyc> {
        self.user(user).kyc().await
    }

    /// Merges `values` into the draft; only these fields are checked.
    pub async fn save_kyc_draft(&self, user: &'a UserId, values: &KycValues) -> Result<Kyc> {
        self.user(user).save_kyc_draft(values).await
    }

    /// Replaces the whole KYC state; an incomplete one is refused with every missing field.
    pub async fn replace_kyc(&self, user: &'a UserId, values: &KycValues) -> Result<Kyc> {
        self.user(user).replace_kyc(values).await
    }

    /// Submits a complete KYC for review, which locks it.
    pub async fn submit_kyc(&self, user: &'a UserId) -> Result<Kyc> {
        self.user(user).submit_kyc().await
    }
}
