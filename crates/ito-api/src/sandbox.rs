//! The sandbox's control API (`/sandbox/*`), a test-mode extension of the gateway:
//! simulate what a customer or a reviewer would do, and inject faults. Authenticated
//! with the merchant's access key and scoped to that merchant.

use chrono::{DateTime, Utc};
use futures_util::Stream;
use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::client::Client;
use crate::error::Result;
use crate::ids::{CardId, DeliveryId, PaymentId, TransactionId, UserId};
use crate::kyc::Kyc;
use crate::money::{Currency, Money};
use crate::pages::{self, Cursor, Page};
use crate::payments::PaymentStatus;
use crate::transport::{Auth, Call};
use crate::users::{Reveal, Transaction, TransactionType, User, money};

/// Control routes of a sandbox; see [`Client::sandbox`]. Only a sandbox answers them.
#[derive(Clone, Copy, Debug)]
pub struct SandboxApi<'a> {
    client: &'a Client,
}

impl Client {
    pub fn sandbox(&self) -> SandboxApi<'_> {
        SandboxApi { client: self }
    }
}

/// A payment as the sandbox stores it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SandboxPayment {
    pub payment_id: PaymentId,
    pub status: PaymentStatus,
    pub custom: String,
    pub amount: Money,
    /// The fee, once paid.
    pub charge: Option<Money>,
    /// Amount less charge, once paid (only on [`SandboxApi::payment`]).
    pub net: Option<Money>,
    pub details: Option<String>,
    pub customer_email: String,
    pub web_hook: String,
    pub cancel_url: String,
    pub success_url: String,
    pub transaction: Option<TransactionId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub expired_at: Option<DateTime<Utc>>,
    /// Delivery attempts of the payment's webhook (only on [`SandboxApi::payment`]).
    pub webhook_attempts: Vec<WebhookAttempt>,
}

impl<'de> Deserialize<'de> for SandboxPayment {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            payment_id: PaymentId,
            status: PaymentStatus,
            custom: String,
            amount: Box<RawValue>,
            currency: Currency,
            charge: Option<Box<RawValue>>,
            #[serde(default)]
            net: Option<Box<RawValue>>,
            details: Option<String>,
            customer_email: String,
            web_hook: String,
            cancel_url: String,
            success_url: String,
            transaction: Option<TransactionId>,
            created_at: DateTime<Utc>,
            expires_at: DateTime<Utc>,
            paid_at: Option<DateTime<Utc>>,
            cancelled_at: Option<DateTime<Utc>>,
            expired_at: Option<DateTime<Utc>>,
            #[serde(default)]
            webhook_attempts: Vec<WebhookAttempt>,
        }
        let w = Wire::deserialize(d)?;
        let c = w.currency;
        // `null` arrives as the raw text "null" inside an Option<RawValue>.
        let opt = |raw: Option<Box<RawValue>>| {
            raw.filter(|r| r.get() != "null")
                .map(|r| money::<D::Error>(&r, c))
                .transpose()
        };
        Ok(Self {
            amount: money(&w.amount, c)?,
            charge: opt(w.charge)?,
            net: opt(w.net)?,
            payment_id: w.payment_id,
            status: w.status,
            custom: w.custom,
            details: w.details,
            customer_email: w.customer_email,
            web_hook: w.web_hook,
            cancel_url: w.cancel_url,
            success_url: w.success_url,
            transaction: w.transaction,
            created_at: w.created_at,
            expires_at: w.expires_at,
            paid_at: w.paid_at,
            cancelled_at: w.cancelled_at,
            expired_at: w.expired_at,
            webhook_attempts: w.webhook_attempts,
        })
    }
}

/// One attempt to deliver a webhook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookAttempt {
    pub delivery_id: DeliveryId,
    pub attempt: u32,
    pub attempted_at: DateTime<Utc>,
    /// `None` when no answer came (refused, timed out).
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
}

/// Faults the sandbox injects into every request authenticated as this merchant
/// (except the fault routes themselves).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// Added to every answer.
    pub latency_ms: u64,
    /// Fraction (0 to 1) of requests answered 503.
    pub error_rate: f64,
    /// Fraction (0 to 1) of connections closed without an answer.
    pub drop_rate: f64,
}

/// A ledger entry to add to a sandbox user: `amount` is positive, `kind` says which
/// way it moves the balance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTransaction {
    pub kind: TransactionType,
    pub amount: Money,
    pub description: String,
}

#[derive(Serialize)]
struct NewTransactionWire<'a> {
    #[serde(rename = "type")]
    kind: TransactionType,
    amount: String,
    currency: Currency,
    description: &'a str,
}

/// One recorded reveal of a card's number or CVV.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardReveal {
    pub card_id: CardId,
    /// The OAuth client that asked.
    pub client_id: String,
    pub fields: Vec<Reveal>,
    pub revealed_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct KycEnvelope {
    kyc: Kyc,
}

#[derive(Deserialize)]
struct TransactionEnvelope {
    transaction: Transaction,
}

#[derive(Deserialize)]
struct FaultsEnvelope {
    faults: Faults,
}

#[derive(Deserialize)]
struct RevealList {
    data: Vec<CardReveal>,
}

#[derive(Serialize, Deserialize)]
struct RedirectUris {
    redirect_uris: Vec<String>,
}

#[derive(Deserialize)]
struct PaymentEnvelope {
    payment: SandboxPayment,
}

#[derive(Deserialize)]
struct Queued {
    delivery_id: DeliveryId,
}

impl<'a> SandboxApi<'a> {
    fn call(&self, method: Method, segments: &[&str]) -> Call<'a> {
        Call::new(self.client, method, segments, Auth::AccessKey)
    }

    /// One page of this merchant's payments, newest first.
    pub async fn payments(
        &self,
        limit: Option<u32>,
        cursor: Option<&Cursor>,
    ) -> Result<Page<SandboxPayment>> {
        let call = self
            .call(Method::GET, &["sandbox", "payments"])
            .query("limit", limit.map(|l| l.to_string()))
            .query("cursor", cursor.map(Cursor::as_str));
        self.client.fetch(call).await
    }

    /// Every payment of this merchant, newest first.
    pub fn all_payments(
        &self,
    ) -> impl Stream<Item = Result<SandboxPayment>> + Send + 'static + use<> {
        let client = self.client.clone();
        pages::all(move |cursor| {
            let client = client.clone();
            async move { client.sandbox().payments(Some(100), cursor.as_ref()).await }
        })
    }

    /// A payment with its webhook attempts.
    pub async fn payment(&self, id: &PaymentId) -> Result<SandboxPayment> {
        let call = self.call(Method::GET, &["sandbox", "payments", id.as_str()]);
        Ok(self.client.fetch::<PaymentEnvelope>(call).await?.payment)
    }

    async fn act(&self, id: &PaymentId, action: &str) -> Result<SandboxPayment> {
        let call = self.call(Method::POST, &["sandbox", "payments", id.as_str(), action]);
        Ok(self.client.fetch::<PaymentEnvelope>(call).await?.payment)
    }

    /// Pays a pending payment exactly as the checkout page's Pay button does,
    /// webhook included.
    pub async fn complete(&self, id: &PaymentId) -> Result<SandboxPayment> {
        self.act(id, "complete").await
    }

    pub async fn cancel(&self, id: &PaymentId) -> Result<SandboxPayment> {
        self.act(id, "cancel").await
    }

    pub async fn expire(&self, id: &PaymentId) -> Result<SandboxPayment> {
        self.act(id, "expire").await
    }

    /// Queues another delivery of a paid payment's webhook.
    pub async fn redeliver(&self, id: &PaymentId) -> Result<DeliveryId> {
        let call = self.call(
            Method::POST,
            &["sandbox", "payments", id.as_str(), "redeliver"],
        );
        Ok(self.client.fetch::<Queued>(call).await?.delivery_id)
    }

    /// One page of the users this merchant created, newest first.
    pub async fn users(&self, limit: Option<u32>, cursor: Option<&Cursor>) -> Result<Page<User>> {
        let call = self
            .call(Method::GET, &["sandbox", "users"])
            .query("limit", limit.map(|l| l.to_string()))
            .query("cursor", cursor.map(Cursor::as_str));
        self.client.fetch(call).await
    }

    /// Every user this merchant created, newest first.
    pub fn all_users(&self) -> impl Stream<Item = Result<User>> + Send + 'static + use<> {
        let client = self.client.clone();
        pages::all(move |cursor| {
            let client = client.clone();
            async move { client.sandbox().users(Some(100), cursor.as_ref()).await }
        })
    }

    /// Approves a submitted KYC, as a reviewer would.
    pub async fn approve_kyc(&self, user: &UserId) -> Result<Kyc> {
        let call = self.call(
            Method::POST,
            &["sandbox", "users", user.as_str(), "kyc", "approve"],
        );
        Ok(self.client.fetch::<KycEnvelope>(call).await?.kyc)
    }

    /// Rejects a submitted KYC with a reason; the user may then edit and resubmit.
    pub async fn reject_kyc(&self, user: &UserId, reason: &str) -> Result<Kyc> {
        let call = self
            .call(
                Method::POST,
                &["sandbox", "users", user.as_str(), "kyc", "reject"],
            )
            .json(&serde_json::json!({ "reason": reason }))?;
        Ok(self.client.fetch::<KycEnvelope>(call).await?.kyc)
    }

    /// Adds a completed ledger entry to a user; balances follow.
    pub async fn add_transaction(
        &self,
        user: &UserId,
        entry: &NewTransaction,
    ) -> Result<Transaction> {
        let call = self
            .call(
                Method::POST,
                &["sandbox", "users", user.as_str(), "transactions"],
            )
            .json(&NewTransactionWire {
                kind: entry.kind,
                amount: entry.amount.to_decimal_string(),
                currency: entry.amount.currency(),
                description: &entry.description,
            })?;
        Ok(self
            .client
            .fetch::<TransactionEnvelope>(call)
            .await?
            .transaction)
    }

    /// The latest reveals of a user's card numbers (at most 100), newest first.
    pub async fn card_reveals(&self, user: &UserId) -> Result<Vec<CardReveal>> {
        let call = self.call(
            Method::GET,
            &["sandbox", "users", user.as_str(), "card-reveals"],
        );
        Ok(self.client.fetch::<RevealList>(call).await?.data)
    }

    /// Redirect URIs registered for the merchant's public client (loopback ones
    /// need no registration).
    pub async fn redirect_uris(&self) -> Result<Vec<String>> {
        let call = self.call(Method::GET, &["sandbox", "oauth", "redirect-uris"]);
        Ok(self.client.fetch::<RedirectUris>(call).await?.redirect_uris)
    }

    /// Replaces the registered redirect URIs.
    pub async fn set_redirect_uris(&self, uris: &[String]) -> Result<Vec<String>> {
        let call = self
            .call(Method::PUT, &["sandbox", "oauth", "redirect-uris"])
            .json(&RedirectUris {
                redirect_uris: uris.to_vec(),
            })?;
        Ok(self.client.fetch::<RedirectUris>(call).await?.redirect_uris)
    }

    /// The faults currently injected.
    pub async fn faults(&self) -> Result<Faults> {
        let call = self.call(Method::GET, &["sandbox", "faults"]);
        Ok(self.client.fetch::<FaultsEnvelope>(call).await?.faults)
    }

    /// Starts injecting `faults` into this merchant's requests.
    pub async fn set_faults(&self, faults: &Faults) -> Result<Faults> {
        let call = self
            .call(Method::PUT, &["sandbox", "faults"])
            .json(faults)?;
        Ok(self.client.fetch::<FaultsEnvelope>(call).await?.faults)
    }

    /// Stops all fault injection for this merchant.
    pub async fn clear_faults(&self) -> Result<()> {
        let call = self.call(Method::DELETE, &["sandbox", "faults"]);
        self.client.execute(call).await.map(drop)
    }
}
