//! Verifying the gateway's payment webhooks.
//!
//! The gateway posts `{code, status, payment_id, transaction, amount, charge, currency,
//! custom, date}` with `X-Timestamp` and `X-Signature: sha256=<hex>` over
//! `"{timestamp}.{raw body}"`. Amounts are JSON numbers (`100.00`); they are read
//! from their text, never through a float.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::ids::{PaymentId, TransactionId};
use crate::money::{Currency, Money, parse_decimal};
use crate::secret::Secret;
use crate::signing;

/// The header map type `verify` reads (the `http` crate's, as axum and reqwest use).
pub use reqwest::header::HeaderMap;

/// A verified payment notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WebhookEvent {
    pub payment_id: PaymentId,
    pub transaction: TransactionId,
    pub amount: Money,
    /// The gateway's fee.
    pub charge: Money,
    pub custom: String,
    /// Payment date as the gateway wrote it (DD-MM-YYYY).
    pub date: NaiveDate,
    /// When the gateway signed this delivery.
    pub signed_at: DateTime<Utc>,
}

impl WebhookEvent {
    pub fn currency(&self) -> Currency {
        self.amount.currency()
    }

    /// What the merchant keeps: amount less charge.
    pub fn net(&self) -> Money {
        // Amount and charge share one currency and scale by construction.
        Money::at_scale(self.amount.amount() - self.charge.amount(), self.currency())
    }
}

/// Why a webhook was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Rejection {
    /// The signature does not match: wrong secret, altered body, or forged.
    #[error("the signature does not match")]
    BadSignature,
    /// Correctly signed but too old (or too far ahead): possibly a replay.
    #[error("the timestamp is {skew_secs} s away from now, beyond the tolerance")]
    Stale { skew_secs: i64 },
    /// Missing or unreadable headers, or a body that is not the documented event.
    #[error("malformed webhook: {0}")]
    Malformed(String),
}

/// Verifies a webhook against the merchant's secret key and returns its event.
///
/// `headers` are the request's headers, `raw_body` its bytes exactly as received;
/// `tolerance` bounds the age of `X-Timestamp` (five minutes is usual). The signature
/// check is constant-time and comes before anything else is trusted.
pub fn verify(
    headers: &HeaderMap,
    raw_body: &[u8],
    secret: &Secret,
    tolerance: Duration,
) -> Result<WebhookEvent, Rejection> {
    verify_at(headers, raw_body, secret, tolerance, Utc::now())
}

/// [`verify`] with an explicit clock, for tests and for replaying stored deliveries.
pub fn verify_at(
    headers: &HeaderMap,
    raw_body: &[u8],
    secret: &Secret,
    tolerance: Duration,
    now: DateTime<Utc>,
) -> Result<WebhookEvent, Rejection> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .ok_or_else(|| Rejection::Malformed(format!("missing or unreadable {name} header")))
    };
    let timestamp: i64 = header("x-timestamp")?
        .parse()
        .map_err(|_| Rejection::Malformed("X-Timestamp is not Unix seconds".into()))?;
    let signature = header("x-signature")?;
    if !signing::verify(secret, timestamp, raw_body, signature) {
        return Err(Rejection::BadSignature);
    }
    let skew_secs = now.timestamp().saturating_sub(timestamp);
    let tolerance_secs = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if skew_secs.unsigned_abs() > tolerance_secs.unsigned_abs() {
        return Err(Rejection::Stale { skew_secs });
    }
    let signed_at = DateTime::from_timestamp(timestamp, 0)
        .ok_or_else(|| Rejection::Malformed("X-Timestamp out of range".into()))?;
    parse_event(raw_body, signed_at)
}

/// The `X-Signature` value the gateway sends for `body` at `timestamp`: `sha256=<hex>`.
pub fn signature_header(secret: &Secret, timestamp: i64, body: &[u8]) -> String {
    format!("sha256={}", signing::sign(secret, timestamp, body))
}

#[derive(Deserialize)]
struct Wire<'a> {
    payment_id: PaymentId,
    transaction: TransactionId,
    #[serde(borrow)]
    amount: &'a RawValue,
    #[serde(borrow)]
    charge: &'a RawValue,
    currency: Currency,
    custom: String,
    date: String,
}

fn parse_event(body: &[u8], signed_at: DateTime<Utc>) -> Result<WebhookEvent, Rejection> {
    let bad = |what: String| Rejection::Malformed(what);
    let w: Wire<'_> =
        serde_json::from_slice(body).map_err(|e| bad(format!("unexpected body: {e}")))?;
    let money = |raw: &RawValue, name: &str| {
        let text = raw.get();
        // Accept the documented number, and a string in case a gateway quotes it.
        let text = text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(text);
        parse_decimal(text)
            .and_then(|d| Money::new(d, w.currency))
            .map_err(|e| bad(format!("{name}: {e}")))
    };
    let amount = money(w.amount, "amount")?;
    let charge = money(w.charge, "charge")?;
    // As documented: a positive amount and a fee from zero up to it. This also keeps
    // `net` (amount less charge) from overflowing on extreme values.
    if !amount.is_positive() {
        return Err(bad("amount: not greater than 0".into()));
    }
    if charge.amount() < Decimal::ZERO || charge.amount() > amount.amount() {
        return Err(bad("charge: not between 0 and the amount".into()));
    }
    Ok(WebhookEvent {
        amount,
        charge,
        date: NaiveDate::parse_from_str(&w.date, "%d-%m-%Y")
            .map_err(|_| bad(format!("date {:?} is not DD-MM-YYYY", w.date)))?,
        payment_id: w.payment_id,
        transaction: w.transaction,
        custom: w.custom,
        signed_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use reqwest::header::HeaderValue;

    const BODY: &str = r#"{"code":200,"status":"ok","payment_id":"AIYmQIOAz0GlmsjfhgiOeu304","transaction":"AIYmQIOAz0G","amount":100.00,"charge":5.00,"currency":"USD","custom":"BVSUZ545XCS","date":"22-05-2022"}"#;

    fn headers(ts: i64, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-timestamp", HeaderValue::from(ts));
        h.insert("x-signature", HeaderValue::from_str(sig).unwrap());
        h
    }

    fn at(ts: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(ts, 0).unwrap()
    }

    const TOL: Duration = Duration::from_secs(300);

    #[test]
    fn reads_the_documented_event() {
        let secret = Secret::new("whsec");
        let ts = 1_653_200_000;
        let h = headers(ts, &signature_header(&secret, ts, BODY.as_bytes()));
        let e = verify_at(&h, BODY.as_bytes(), &secret, TOL, at(ts + 10)).unwrap();
        assert_eq!(e.amount, Money::from_minor(10_000, Currency::Usd));
        assert_eq!(e.charge.format(), "$5.00");
        assert_eq!(e.net().format(), "$95.00");
        assert_eq!(e.date, NaiveDate::from_ymd_opt(2022, 5, 22).unwrap());
        assert_eq!(e.payment_id.as_str(), "AIYmQIOAz0GlmsjfhgiOeu304");
        assert_eq!(e.signed_at, at(ts));
    }

    #[test]
    fn refusals_have_typed_reasons() {
        let secret = Secret::new("whsec");
        let ts = 1_653_200_000;
        let sig = signature_header(&secret, ts, BODY.as_bytes());
        let body = BODY.as_bytes();
        assert_eq!(
            verify_at(&headers(ts, &sig), body, &Secret::new("other"), TOL, at(ts)),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            verify_at(&headers(ts, &sig), &body[1..], &secret, TOL, at(ts)),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            verify_at(&headers(ts, &sig), body, &secret, TOL, at(ts + 301)),
            Err(Rejection::Stale { skew_secs: 301 })
        );
        assert!(matches!(
            verify_at(&HeaderMap::new(), body, &secret, TOL, at(ts)),
            Err(Rejection::Malformed(_))
        ));
        let junk = b"{\"amount\":1}";
        let h = headers(ts, &signature_header(&secret, ts, junk));
        assert!(matches!(
            verify_at(&h, junk, &secret, TOL, at(ts)),
            Err(Rejection::Malformed(_))
        ));
        // A JPY amount with a fraction is not a valid event.
        let yen = BODY.replace("USD", "JPY").replace("100.00", "100.50");
        let h = headers(ts, &signature_header(&secret, ts, yen.as_bytes()));
        assert!(matches!(
            verify_at(&h, yen.as_bytes(), &secret, TOL, at(ts)),
            Err(Rejection::Malformed(_))
        ));
    }

    /// Regression (fuzz_webhook_parsing): a signed event with the largest amount and
    /// its negation as the charge was accepted, and `net` then overflowed and panicked.
    #[test]
    fn amounts_and_charges_outside_the_documented_range_are_malformed() {
        let secret = Secret::new("whsec");
        let ts = 1_653_200_000;
        let max = "79228162514264337593543950335";
        for (amount, charge) in [
            (max, "-79228162514264337593543950335"),
            ("100", "-1"),
            ("100", "101"),
            ("0", "0"),
            ("-5", "0"),
        ] {
            let body = BODY
                .replace("USD", "JPY")
                .replace("100.00", amount)
                .replace("5.00", charge);
            let h = headers(ts, &signature_header(&secret, ts, body.as_bytes()));
            assert!(
                matches!(
                    verify_at(&h, body.as_bytes(), &secret, TOL, at(ts)),
                    Err(Rejection::Malformed(_))
                ),
                "{amount} {charge}"
            );
        }
        let body = BODY
            .replace("USD", "JPY")
            .replace("100.00", max)
            .replace("5.00", max);
        let h = headers(ts, &signature_header(&secret, ts, body.as_bytes()));
        let e = verify_at(&h, body.as_bytes(), &secret, TOL, at(ts)).unwrap();
        assert!(e.net().amount().is_zero());
    }

    proptest! {
        #[test]
        fn signed_events_verify_and_tampered_ones_do_not(
            key in "[ -~]{1,40}",
            ts in 1_000_000_000i64..3_000_000_000,
            cents in 1i64..1_000_000_000,
            custom in "[A-Za-z0-9]{1,20}",
            flip in 0usize..200,
        ) {
            let secret = Secret::new(key);
            let amount = Money::from_minor(cents, Currency::Usd);
            let body = format!(
                r#"{{"code":200,"status":"ok","payment_id":"P1","transaction":"T1","amount":{},"charge":0.50,"currency":"USD","custom":"{custom}","date":"01-02-2026"}}"#,
                amount.to_decimal_string()
            );
            let h = headers(ts, &signature_header(&secret, ts, body.as_bytes()));
            let e = verify_at(&h, body.as_bytes(), &secret, TOL, at(ts)).unwrap();
            prop_assert_eq!(e.amount, amount);
            prop_assert_eq!(e.custom, custom);
            let mut tampered = body.into_bytes();
            let i = flip % tampered.len();
            tampered[i] ^= 0x01;
            prop_assert_eq!(
                verify_at(&h, &tampered, &secret, TOL, at(ts)),
                Err(Rejection::BadSignature)
            );
        }
    }
}
