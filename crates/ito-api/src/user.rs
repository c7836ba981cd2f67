//! A signed-in user's own routes, `/api/oauth/user/*`, with the user's token.

use futures_util::Stream;
use reqwest::Method;
use serde::Serialize;

use crate::client::Client;
use crate::error::Result;
use crate::ids::CardId;
use crate::kyc::{Kyc, KycValues};
use crate::money::Currency;
use crate::oauth::UserSession;
use crate::pages::{self, Page};
use crate::scope::Scope;
use crate::transport::Auth;
use crate::users::{Balances, Card, CardSensitive, Reveal, Transaction, TransactionQuery, User};

/// Routes of the user a [`UserSession`] belongs to; see [`Client::user`].
#[derive(Clone, Copy, Debug)]
pub struct UserApi<'a> {
    client: &'a Client,
    session: &'a UserSession,
}

impl Client {
    pub fn user<'a>(&'a self, session: &'a UserSession) -> UserApi<'a> {
        UserApi {
            client: self,
            session,
        }
    }
}

#[derive(Serialize)]
struct IssueBody {
    currency: Currency,
}

#[derive(Serialize)]
struct SensitiveBody<'a> {
    card_id: &'a CardId,
    #[serde(skip_serializing_if = "<[Reveal]>::is_empty")]
    reveal: &'a [Reveal],
}

impl<'a> UserApi<'a> {
    fn scope(&self) -> Scope<'a> {
        Scope {
            client: self.client,
            base: vec!["api", "oauth", "user"],
            auth: Auth::User(self.session),
        }
    }

    pub async fn me(&self) -> Result<User> {
        self.client
            .fetch(self.scope().call(Method::GET, &["me"]))
            .await
    }

    pub async fn balance(&self) -> Result<Balances> {
        self.scope().balance().await
    }

    pub async fn transactions(&self, query: &TransactionQuery) -> Result<Page<Transaction>> {
        self.scope().transactions(query).await
    }

    /// Every transaction matching `query`, newest first, page after page.
    pub fn all_transactions(
        &self,
        query: TransactionQuery,
    ) -> impl Stream<Item = Result<Transaction>> + Send + 'static + use<> {
        let client = self.client.clone();
        let session = self.session.clone();
        pages::all(move |cursor| {
            let client = client.clone();
            let session = session.clone();
            let query = TransactionQuery {
                cursor,
                ..query.clone()
            };
            async move { client.user(&session).transactions(&query).await }
        })
    }

    pub async fn cards(&self) -> Result<Vec<Card>> {
        self.scope().cards().await
    }

    pub async fn kyc(&self) -> Result<Kyc> {
        self.scope().kyc().await
    }

    pub async fn save_kyc_draft(&self, values: &KycValues) -> Result<Kyc> {
        self.scope().save_kyc_draft(values).await
    }

    pub async fn replace_kyc(&self, values: &KycValues) -> Result<Kyc> {
        self.scope().replace_kyc(values).await
    }

    pub async fn submit_kyc(&self) -> Result<Kyc> {
        self.scope().submit_kyc().await
    }

    /// Issues a virtual card; needs approved KYC ([`crate::Error::Forbidden`] otherwise).
    pub async fn issue_card(&self, currency: Currency) -> Result<Card> {
        let call = self
            .scope()
            .call(Method::POST, &["cards", "issue"])
            .json(&IssueBody { currency })?;
        self.client.fetch(call).await
    }

    /// A card's expiry and last four digits, plus the fields in `reveal` (each reveal
    /// is recorded by the gateway). Pass `&[]` unless the number must be shown.
    pub async fn card_sensitive(&self, card: &CardId, reveal: &[Reveal]) -> Result<CardSensitive> {
        let call = self
            .scope()
            .call(Method::POST, &["cards", "sensitive"])
            .json(&SensitiveBody {
                card_id: card,
                reveal,
            })?;
        self.client.fetch(call).await
    }
}
