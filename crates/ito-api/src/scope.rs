//! Routes shared by the merchant side (`/api/oauth/merchant/users/{user}/…`) and the
//! user side (`/api/oauth/user/…`): balance, transactions, cards and KYC.

use reqwest::Method;
use serde::Deserialize;

use crate::client::Client;
use crate::error::Result;
use crate::kyc::{Kyc, KycValues, ValuesBody};
use crate::pages::Page;
use crate::transport::{Auth, Call};
use crate::users::{Balances, Card, Transaction, TransactionQuery};

/// A base path and the credential that goes with it.
pub(crate) struct Scope<'a> {
    pub client: &'a Client,
    pub base: Vec<&'a str>,
    pub auth: Auth<'a>,
}

#[derive(Deserialize)]
struct CardList {
    data: Vec<Card>,
}

impl<'a> Scope<'a> {
    pub fn call(&self, method: Method, tail: &[&str]) -> Call<'a> {
        let mut segments = self.base.clone();
        segments.extend_from_slice(tail);
        Call::new(self.client, method, &segments, self.auth)
    }

    pub async fn balance(&self) -> Result<Balances> {
        self.client
            .fetch(self.call(Method::GET, &["balance"]))
            .await
    }

    pub async fn transactions(&self, query: &TransactionQuery) -> Result<Page<Transaction>> {
        let mut call = self.call(Method::GET, &["transactions"]);
        for (name, value) in query.pairs() {
            call = call.query(name, Some(value));
        }
        self.client.fetch(call).await
    }

    pub async fn cards(&self) -> Result<Vec<Card>> {
        let list: CardList = self
            .client
            .fetch(self.call(Method::GET, &["cards"]))
            .await?;
        Ok(list.data)
    }

    pub async fn kyc(&self) -> Result<Kyc> {
        self.client.fetch(self.call(Method::GET, &["kyc"])).await
    }

    pub async fn save_kyc_draft(&self, values: &KycValues) -> Result<Kyc> {
        let call = self
            .call(Method::PATCH, &["kyc"])
            .json(&ValuesBody { values })?;
        self.client.fetch(call).await
    }

    pub async fn replace_kyc(&self, values: &KycValues) -> Result<Kyc> {
        let call = self
            .call(Method::PUT, &["kyc"])
            .json(&ValuesBody { values })?;
        self.client.fetch(call).await
    }

    pub async fn submit_kyc(&self) -> Result<Kyc> {
        self.client
            .fetch(self.call(Method::POST, &["kyc", "submit"]))
            .await
    }
}
