//! Users, balances, ledger transactions and cards, as both the merchant and the
//! user endpoints return them.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::ids::{CardId, LedgerEntryId, UserId};
use crate::kyc::KycStatus;
use crate::money::{Currency, Money, parse_decimal};
use crate::pages::Cursor;
use crate::secret::Secret;

/// A user of the merchant's app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    pub country: Option<String>,
    pub kyc_status: KycStatus,
    pub created_at: DateTime<Utc>,
}

fn expose_opt<S: Serializer>(s: &Option<Secret>, ser: S) -> Result<S::Ok, S::Error> {
    match s {
        Some(s) => ser.serialize_str(s.expose()),
        None => ser.serialize_none(),
    }
}

/// A user to create. `password` is a sandbox extension: the password the user signs
/// in with on the authorize page (one is generated when absent).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "expose_opt"
    )]
    pub password: Option<Secret>,
}

/// A created user, with the sandbox's generated password when one was made.
#[derive(Clone, Debug, Deserialize)]
pub struct CreatedUser {
    #[serde(flatten)]
    pub user: User,
    #[serde(default)]
    pub sandbox_password: Option<Secret>,
}

/// A partial profile change: only the given fields are sent and changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// Reads a decimal written as a JSON string (`"12.50"`) or number, from its text.
pub(crate) fn decimal_text(raw: &RawValue) -> Result<rust_decimal::Decimal, String> {
    let text = raw.get();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    parse_decimal(text).map_err(|e| e.to_string())
}

pub(crate) fn money<E: serde::de::Error>(raw: &RawValue, currency: Currency) -> Result<Money, E> {
    decimal_text(raw)
        .and_then(|d| Money::new(d, currency).map_err(|e| e.to_string()))
        .map_err(E::custom)
}

/// One currency of a user's wallet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Balance {
    pub currency: Currency,
    pub available: Money,
    pub pending: Money,
}

impl<'de> Deserialize<'de> for Balance {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            currency: Currency,
            available: Box<RawValue>,
            pending: Box<RawValue>,
        }
        let w = Wire::deserialize(d)?;
        Ok(Self {
            currency: w.currency,
            available: money(&w.available, w.currency)?,
            pending: money(&w.pending, w.currency)?,
        })
    }
}

/// A user's balances, one entry per currency held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balances {
    pub user_id: UserId,
    pub balances: Vec<Balance>,
}

/// What a ledger entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionType {
    TopUp,
    CardSpend,
    Refund,
    Fee,
}

impl TransactionType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TopUp => "top_up",
            Self::CardSpend => "card_spend",
            Self::Refund => "refund",
            Self::Fee => "fee",
        }
    }
}

impl fmt::Display for TransactionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionStatus {
    Pending,
    Completed,
}

/// One entry of a user's ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Transaction {
    pub id: LedgerEntryId,
    #[serde(rename = "type")]
    pub kind: TransactionType,
    pub amount: Money,
    pub status: TransactionStatus,
    pub description: String,
    pub created_at: DateTime<Utc>,
}

impl<'de> Deserialize<'de> for Transaction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            id: LedgerEntryId,
            #[serde(rename = "type")]
            kind: TransactionType,
            amount: Box<RawValue>,
            currency: Currency,
            status: TransactionStatus,
            #[serde(default)]
            description: String,
            created_at: DateTime<Utc>,
        }
        let w = Wire::deserialize(d)?;
        Ok(Self {
            amount: money(&w.amount, w.currency)?,
            id: w.id,
            kind: w.kind,
            status: w.status,
            description: w.description,
            created_at: w.created_at,
        })
    }
}

/// Filters and position for a transactions listing; `Default` is the first page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionQuery {
    /// 1 to 100; the gateway's default is 20.
    pub limit: Option<u32>,
    pub cursor: Option<Cursor>,
    pub currency: Option<Currency>,
    pub kind: Option<TransactionType>,
    /// Inclusive dates.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl TransactionQuery {
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(l) = self.limit {
            q.push(("limit", l.to_string()));
        }
        if let Some(c) = &self.cursor {
            q.push(("cursor", c.as_str().to_owned()));
        }
        if let Some(c) = self.currency {
            q.push(("currency", c.code().to_owned()));
        }
        if let Some(k) = self.kind {
            q.push(("type", k.as_str().to_owned()));
        }
        if let Some(d) = self.from {
            q.push(("from", d.to_string()));
        }
        if let Some(d) = self.to {
            q.push(("to", d.to_string()));
        }
        q
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    Active,
    Frozen,
    Cancelled,
}

/// A virtual card; never its full number (see [`CardSensitive`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    pub id: CardId,
    pub brand: String,
    pub last4: String,
    pub exp_month: u8,
    pub exp_year: u16,
    pub status: CardStatus,
    #[serde(default)]
    pub currency: Option<Currency>,
    pub created_at: DateTime<Utc>,
}

/// Card fields that may be revealed on request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reveal {
    Pan,
    Cvv,
}

/// A card's sensitive data; `pan` and `cvv` only when asked for, as [`Secret`]s.
#[derive(Clone, Debug, Deserialize)]
pub struct CardSensitive {
    pub card_id: CardId,
    pub last4: String,
    pub exp_month: u8,
    pub exp_year: u16,
    #[serde(default)]
    pub pan: Option<Secret>,
    #[serde(default)]
    pub cvv: Option<Secret>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(amount: &str, currency: &str) -> String {
        format!(
            r#"{{"id":"t1","type":"top_up","amount":{amount},"currency":"{currency}","status":"completed","description":"","created_at":"2026-01-02T03:04:05Z"}}"#
        )
    }

    #[test]
    fn amounts_off_the_currency_scale_are_refused() {
        assert!(serde_json::from_str::<Transaction>(&entry("\"1.5\"", "JPY")).is_err());
        assert!(serde_json::from_str::<Transaction>(&entry("1e3", "USD")).is_err());
        let t: Transaction = serde_json::from_str(&entry("\"1200\"", "JPY")).unwrap();
        assert_eq!(t.amount.format(), "¥1,200");
    }

    proptest! {
        #[test]
        fn string_and_number_amounts_read_alike(minor in 0i64..1_000_000_000_000, usd in any::<bool>()) {
            let (currency, code) = if usd { (Currency::Usd, "USD") } else { (Currency::Jpy, "JPY") };
            let text = Money::from_minor(minor, currency).to_decimal_string();
            let quoted: Transaction = serde_json::from_str(&entry(&format!("\"{text}\""), code)).unwrap();
            let bare: Transaction = serde_json::from_str(&entry(&text, code)).unwrap();
            prop_assert_eq!(quoted.amount, bare.amount);
            prop_assert_eq!(quoted.amount, Money::from_minor(minor, currency));
        }
    }
}
