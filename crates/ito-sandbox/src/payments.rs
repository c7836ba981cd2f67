//! Payments: `POST /payment/process`, `POST /payment/check-validity`, and the
//! payment state machine shared by the checkout page and the control API.
//!
//! A payment is `pending` until it is paid, cancelled or expired; those three are final.

use std::str::FromStr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use rusqlite::{Connection, OptionalExtension, Row, params};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::auth::Merchant;
use crate::error::{Error, FieldErrors, Result};
use crate::fields::{self, Encoding, Fields, Value};
use crate::money::{self, Currency};
use crate::server::AppState;
use crate::{ids, signing, webhooks};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/payment/process", post(process))
        .route("/payment/check-validity", post(check_validity))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
    Pending,
    Paid,
    Cancelled,
    Expired,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        [Self::Pending, Self::Paid, Self::Cancelled, Self::Expired]
            .into_iter()
            .find(|status| status.as_str() == s)
    }

    fn parse(s: &str) -> rusqlite::Result<Self> {
        Self::from_code(s).ok_or_else(|| bad_column(format!("unknown payment status {s:?}")))
    }
}

fn bad_column(msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, msg.into())
}

/// A payment as stored. Amounts are at their currency's scale.
#[derive(Debug, Clone, Serialize)]
pub struct Payment {
    #[serde(skip)]
    pub seq: i64,
    #[serde(rename = "payment_id")]
    pub id: String,
    #[serde(skip)]
    pub merchant_id: String,
    pub status: PaymentStatus,
    pub custom: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    #[serde(serialize_with = "currency_code")]
    pub currency: Currency,
    pub details: Option<String>,
    pub customer_email: String,
    pub web_hook: String,
    pub cancel_url: String,
    pub success_url: String,
    pub transaction: Option<String>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub charge: Option<Decimal>,
    #[serde(serialize_with = "ids::serialize_rfc3339")]
    pub created_at: i64,
    #[serde(serialize_with = "ids::serialize_rfc3339")]
    pub expires_at: i64,
    #[serde(serialize_with = "ids::serialize_rfc3339_opt")]
    pub paid_at: Option<i64>,
    #[serde(serialize_with = "ids::serialize_rfc3339_opt")]
    pub cancelled_at: Option<i64>,
    #[serde(serialize_with = "ids::serialize_rfc3339_opt")]
    pub expired_at: Option<i64>,
}

fn currency_code<S: serde::Serializer>(c: &Currency, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(c.code())
}

impl Payment {
    /// The status as of `now`: a pending payment past its expiry is expired even
    /// before the sweeper has written so.
    pub fn effective_status(&self, now: i64) -> PaymentStatus {
        if self.status == PaymentStatus::Pending && now >= self.expires_at {
            PaymentStatus::Expired
        } else {
            self.status
        }
    }

    pub fn net(&self) -> Option<Decimal> {
        self.charge.map(|c| self.amount - c)
    }
}

const COLUMNS: &str = "seq, id, merchant_id, status, custom, amount, currency, details, customer_email, \
     web_hook, cancel_url, success_url, transaction_id, charge, created_at, expires_at, paid_at, \
     cancelled_at, expired_at";

fn decimal(r: &Row<'_>, i: usize) -> rusqlite::Result<Decimal> {
    let s: String = r.get(i)?;
    Decimal::from_str(&s).map_err(|e| bad_column(e.to_string()))
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Payment> {
    let currency: String = r.get(6)?;
    Ok(Payment {
        seq: r.get(0)?,
        id: r.get(1)?,
        merchant_id: r.get(2)?,
        status: PaymentStatus::parse(&r.get::<_, String>(3)?)?,
        custom: r.get(4)?,
        amount: decimal(r, 5)?,
        currency: Currency::from_str(&currency).map_err(bad_column)?,
        details: r.get(7)?,
        customer_email: r.get(8)?,
        web_hook: r.get(9)?,
        cancel_url: r.get(10)?,
        success_url: r.get(11)?,
        transaction: r.get(12)?,
        charge: r
            .get::<_, Option<String>>(13)?
            .map(|s| Decimal::from_str(&s))
            .transpose()
            .map_err(|e| bad_column(e.to_string()))?,
        created_at: r.get(14)?,
        expires_at: r.get(15)?,
        paid_at: r.get(16)?,
        cancelled_at: r.get(17)?,
        expired_at: r.get(18)?,
    })
}

pub fn find(conn: &Connection, id: &str) -> Result<Option<Payment>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM payments WHERE id = ?1"))?;
    Ok(stmt.query_row([id], from_row).optional()?)
}

/// The merchant's payments, newest first, after the `before` sequence number.
pub fn list(
    conn: &Connection,
    merchant_id: &str,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<Payment>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM payments WHERE merchant_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
    ))?;
    let rows = stmt
        .query_map(
            params![merchant_id, before.unwrap_or(i64::MAX), limit as i64],
            from_row,
        )?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Marks every pending payment past its expiry as expired; returns how many.
pub fn expire_due(conn: &Connection, now: i64) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE payments SET status = 'expired', expired_at = expires_at \
         WHERE status = 'pending' AND expires_at <= ?1",
        [now],
    )?)
}

/// What may happen to a pending payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Pay,
    Cancel,
    Expire,
}

/// Applies `transition` to payment `id` (of `merchant_id`, when given), inside the
/// caller's write transaction. Paying computes the charge, assigns a transaction id
/// and queues the webhook, all in the same transaction.
pub fn transition(
    conn: &Connection,
    id: &str,
    merchant_id: Option<&str>,
    transition: Transition,
) -> Result<Payment> {
    let now = ids::now_ms();
    let p = find(conn, id)?
        .filter(|p| merchant_id.is_none_or(|m| m == p.merchant_id))
        .ok_or_else(|| Error::NotFound("Payment not found.".into()))?;
    let status = p.effective_status(now);
    if status != PaymentStatus::Pending {
        if status != p.status {
            expire_due(conn, now)?;
        }
        return Err(Error::Conflict {
            message: format!(
                "The payment is {} and can no longer change.",
                status.as_str()
            ),
            payment_status: Some(status.as_str()),
        });
    }
    match transition {
        Transition::Pay => {
            let charge = p.currency.charge(p.amount);
            conn.execute(
                "UPDATE payments SET status = 'paid', transaction_id = ?2, charge = ?3, paid_at = ?4 WHERE id = ?1",
                params![id, ids::transaction_id(), charge.to_string(), now],
            )?;
        }
        Transition::Cancel => {
            conn.execute(
                "UPDATE payments SET status = 'cancelled', cancelled_at = ?2 WHERE id = ?1",
                params![id, now],
            )?;
        }
        Transition::Expire => {
            conn.execute(
                "UPDATE payments SET status = 'expired', expired_at = ?2 WHERE id = ?1",
                params![id, now],
            )?;
        }
    }
    let updated = find(conn, id)?.ok_or_else(|| Error::Internal("payment vanished".into()))?;
    if transition == Transition::Pay {
        webhooks::enqueue(conn, &updated, now)?;
    }
    Ok(updated)
}

/// Two weeks of payment history for a new demo merchant, in every state, the paid ones
/// with their charge and an acknowledged webhook, so that a first dashboard has
/// something to show. Returns how many payments it wrote.
pub fn seed_demo(conn: &Connection, merchant_id: &str, now: i64) -> Result<usize> {
    use rand::Rng;
    const DAY_MS: i64 = 86_400_000;
    const CUSTOMERS: [&str; 6] = [
        "sato.haruka@example.jp",
        "tanaka.ren@example.jp",
        "emily.clark@example.com",
        "suzuki.yui@example.jp",
        "noah.tan@example.sg",
        "takahashi.sora@example.jp",
    ];
    const DETAILS: [&str; 5] = [
        "抹茶セット",
        "Digital Product",
        "ギフトカード",
        "Annual plan",
        "Kyoto tea tour",
    ];
    let mut rng = rand::rng();
    let mut written = 0;
    for day in 0..14i64 {
        for _ in 0..rng.random_range(2..=5) {
            let i = written;
            let currency = Currency::ALL[i % Currency::ALL.len()];
            let amount = match currency {
                Currency::Jpy => Decimal::from(rng.random_range(5..=300) * 100),
                Currency::Usd | Currency::SgpUsd => Decimal::new(rng.random_range(500..=50_000), 2),
            };
            let created = now - day * DAY_MS - rng.random_range(0..DAY_MS / 2);
            let status = match i % 8 {
                _ if day == 0 && i % 3 == 0 => PaymentStatus::Pending,
                6 => PaymentStatus::Cancelled,
                7 => PaymentStatus::Expired,
                _ => PaymentStatus::Paid,
            };
            let id = ids::payment_id();
            let later = created + rng.random_range(60_000..900_000);
            let paid = status == PaymentStatus::Paid;
            conn.prepare_cached(
                "INSERT INTO payments (id, merchant_id, custom, amount, currency, details, web_hook, cancel_url, \
                 success_url, customer_email, status, transaction_id, charge, created_at, expires_at, paid_at, \
                 cancelled_at, expired_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'https://shop.example/webhooks/ito', 'https://shop.example/cancel', \
                 'https://shop.example/thanks', ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )?
            .execute(params![
                id,
                merchant_id,
                format!("DEMO-{:05}", i + 1),
                amount.to_string(),
                currency.code(),
                DETAILS[i % DETAILS.len()],
                CUSTOMERS[i % CUSTOMERS.len()],
                status.as_str(),
                paid.then(ids::transaction_id),
                paid.then(|| currency.charge(amount).to_string()),
                created,
                if status == PaymentStatus::Pending { now + DAY_MS } else { created + DAY_MS },
                paid.then_some(later),
                (status == PaymentStatus::Cancelled).then_some(later),
                (status == PaymentStatus::Expired).then_some(created + DAY_MS),
            ])?;
            if paid {
                let p = find(conn, &id)?
                    .ok_or_else(|| Error::Internal("demo payment vanished".into()))?;
                let delivery = webhooks::enqueue(conn, &p, later)?;
                conn.prepare_cached(
                    "UPDATE webhook_deliveries SET state = 'delivered', attempts = 1 WHERE id = ?1",
                )?
                .execute([delivery])?;
                conn.prepare_cached(
                    "INSERT INTO webhook_attempts (delivery_id, payment_id, attempt, attempted_at, status_code, latency_ms) \
                     VALUES (?1, ?2, 1, ?3, 200, ?4)",
                )?
                .execute(params![delivery, id, later + 400, rng.random_range(40..400)])?;
            }
            written += 1;
        }
    }
    Ok(written)
}

/// A validated payment request.
#[derive(Debug)]
pub(crate) struct NewPayment {
    custom: String,
    amount: Decimal,
    currency: Currency,
    details: Option<String>,
    web_hook: String,
    cancel_url: String,
    success_url: String,
    customer_email: String,
}

pub const MAX_TEXT_CHARS: usize = 255;

/// Checks every field and reports every problem at once.
pub(crate) fn validate(f: &Fields) -> std::result::Result<NewPayment, FieldErrors> {
    let mut errors = FieldErrors::new();
    let custom = f.required("custom", &mut errors);
    if custom
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_TEXT_CHARS)
    {
        fields::push(
            &mut errors,
            "custom",
            format!("The custom field may not be greater than {MAX_TEXT_CHARS} characters."),
        );
    }
    let currency = match f.text("currency_code", &mut errors) {
        None => Some(Currency::Usd),
        Some(code) => match Currency::from_str(code.trim()) {
            Ok(c) => Some(c),
            Err(msg) => {
                fields::push(&mut errors, "currency_code", msg);
                None
            }
        },
    };
    let amount = match (f.get("amount"), currency) {
        (None, _) => {
            fields::push(&mut errors, "amount", "The amount field is required.");
            None
        }
        (Some(Value::Other(kind)), _) => {
            fields::push(
                &mut errors,
                "amount",
                format!("The amount must be a number or a decimal string, not a {kind}."),
            );
            None
        }
        // Without a valid currency the scale cannot be checked; the currency error says why.
        (Some(_), None) => None,
        (Some(v), Some(c)) => {
            let (text, json_number) = match v {
                Value::Number(n) => (n.as_str(), true),
                Value::Text(t) => (t.trim(), false),
                Value::Other(_) => ("", false),
            };
            match money::parse_amount(text, json_number, c) {
                Ok(a) => Some(a),
                Err(msg) => {
                    fields::push(&mut errors, "amount", msg);
                    None
                }
            }
        }
    };
    let details = f.text("details", &mut errors);
    if details
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_TEXT_CHARS)
    {
        fields::push(
            &mut errors,
            "details",
            format!("The details may not be greater than {MAX_TEXT_CHARS} characters."),
        );
    }
    let mut url = |name: &str| {
        let v = f.required(name, &mut errors)?;
        match url::Url::parse(v.trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                Some(u.to_string())
            }
            _ => {
                fields::push(
                    &mut errors,
                    name,
                    format!("The {name} must be an absolute http or https URL."),
                );
                None
            }
        }
    };
    let web_hook = url("web_hook");
    let cancel_url = url("cancel_url");
    let success_url = url("success_url");
    let customer_email = f.required("customer_email", &mut errors);
    if customer_email
        .as_deref()
        .is_some_and(|e| !valid_email(e.trim()))
    {
        fields::push(
            &mut errors,
            "customer_email",
            "The customer email must be a valid email address.",
        );
    }
    match (
        custom,
        amount,
        currency,
        web_hook,
        cancel_url,
        success_url,
        customer_email,
    ) {
        (
            Some(custom),
            Some(amount),
            Some(currency),
            Some(web_hook),
            Some(cancel_url),
            Some(success_url),
            Some(email),
        ) if errors.is_empty() => Ok(NewPayment {
            custom,
            amount,
            currency,
            details,
            web_hook,
            cancel_url,
            success_url,
            customer_email: email.trim().to_owned(),
        }),
        _ => Err(errors),
    }
}

/// A pragmatic address check: one `@`, a sane local part, and a dotted domain of
/// letters, digits and hyphens.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    local_ok && domain_ok && email.len() <= 254
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(k.to_owned()))
        }
        _ => Err(Error::BadRequest(
            "The Idempotency-Key header must be 1 to 255 visible ASCII characters.".into(),
        )),
    }
}

fn json_response(status: StatusCode, body: String, replayed: bool) -> Response {
    let mut res = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    if replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    res
}

async fn process(
    State(state): State<AppState>,
    Merchant(m): Merchant,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let now_ms = ids::now_ms();
    let verified = signing::verify(&headers, &body, &m.secret_key, now_ms.div_euclid(1000))?;
    let key = idempotency_key(&headers)?;
    let fields = match fields::encoding(&headers)? {
        Encoding::Json => Fields::from_json(&body)?,
        Encoding::Form => Fields::from_form(&body),
        Encoding::Multipart => {
            return Err(Error::BadRequest(
                "Signed payment requests must be application/json or application/x-www-form-urlencoded.".into(),
            ));
        }
    };
    let validated = validate(&fields);
    let body_hash = hex::encode(Sha256::digest(&body));
    let ttl_ms = i64::try_from(state.config.payment_ttl.as_millis()).unwrap_or(i64::MAX);
    let public_url = state.public_url.clone();
    let (status, body, replayed) = state
        .db
        .write(move |tx| {
            // Recorded first: every refusal below rolls the transaction back, so only an
            // accepted request consumes its signature.
            let fresh = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO signature_uses (merchant_id, signature, timestamp) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![m.merchant_id, verified.signature, verified.timestamp])?;
            if fresh == 0 {
                return Err(Error::Unauthorized(
                    "This signature was already used: sign every request, retries included, with a fresh timestamp.".into(),
                ));
            }
            if let Some(key) = &key {
                let stored: Option<(String, u16, String)> = tx
                    .prepare_cached(
                        "SELECT body_sha256, status_code, response_body FROM idempotency_keys WHERE merchant_id = ?1 AND key = ?2",
                    )?
                    .query_row(params![m.merchant_id, key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()?;
                if let Some((hash, code, response)) = stored {
                    if hash != body_hash {
                        return Err(Error::conflict(
                            "This Idempotency-Key was already used with a different request body.",
                        ));
                    }
                    return Ok((StatusCode::from_u16(code).unwrap_or(StatusCode::OK), response, true));
                }
            }
            let p = validated.map_err(Error::Validation)?;
            let id = ids::payment_id();
            tx.prepare_cached(
                "INSERT INTO payments (id, merchant_id, custom, amount, currency, details, web_hook, cancel_url, \
                 success_url, customer_email, status, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'pending', ?11, ?12)",
            )?
            .execute(params![
                    id,
                    m.merchant_id,
                    p.custom,
                    p.amount.to_string(),
                    p.currency.code(),
                    p.details,
                    p.web_hook,
                    p.cancel_url,
                    p.success_url,
                    p.customer_email,
                    now_ms,
                    now_ms.saturating_add(ttl_ms)
                ])?;
            let response = json!({
                "code": 200,
                "status": "ok",
                "payment_id": id,
                "message": "Your payment has been processed. Please follow the URL to complete the payment.",
                "url": format!("{public_url}/process-checkout?payment_id={id}"),
            })
            .to_string();
            if let Some(key) = &key {
                tx.prepare_cached(
                    "INSERT INTO idempotency_keys (merchant_id, key, body_sha256, status_code, response_body, created_at) \
                     VALUES (?1, ?2, ?3, 200, ?4, ?5)",
                )?
                .execute(params![m.merchant_id, key, body_hash, response, now_ms])?;
            }
            Ok((StatusCode::OK, response, false))
        })
        .await?;
    Ok(json_response(status, body, replayed))
}

async fn check_validity(
    State(state): State<AppState>,
    Merchant(m): Merchant,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let fields = Fields::from_body(&headers, body).await?;
    let mut errors = FieldErrors::new();
    let Some(id) = fields.required("payment_id", &mut errors) else {
        return Err(Error::Validation(errors));
    };
    let id = id.trim().to_owned();
    let payment = state
        .db
        .read(move |c| find(c, &id))
        .await?
        .filter(|p| p.merchant_id == m.merchant_id)
        .ok_or_else(|| Error::NotFound("Transaction not found".into()))?;
    match payment.effective_status(ids::now_ms()) {
        PaymentStatus::Paid => Ok(json_response(
            StatusCode::OK,
            json!({
                "code": 200,
                "status": "ok",
                "message": "Transaction is valid",
                "payment_status": "paid",
                "payment_id": payment.id,
                "transaction": payment.transaction,
            })
            .to_string(),
            false,
        )),
        other => Err(Error::Conflict {
            message: format!(
                "Transaction is not paid: the payment is {}.",
                other.as_str()
            ),
            payment_status: Some(other.as_str()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails() {
        for ok in [
            "a@b.co",
            "first.last+tag@example.co.jp",
            "x_y@sub-domain.example.com",
        ] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@.co", "a@b..co", "a b@c.co", "a@-b.co", ".a@b.co",
            "a@b.co ",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let f = Fields::from_json(br#"{"amount": "abc", "currency_code": "USD", "details": 5, "web_hook": "ftp://x", "customer_email": "nope"}"#).unwrap();
        let errors = validate(&f).unwrap_err();
        let keys: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "amount",
                "cancel_url",
                "custom",
                "customer_email",
                "success_url",
                "web_hook"
            ]
        );
    }

    proptest! {
        #[test]
        fn validation_never_panics(body in ".{0,300}") {
            if let Ok(f) = Fields::from_json(body.as_bytes()) {
                let _ = validate(&f);
            }
            let _ = validate(&Fields::from_form(body.as_bytes()));
        }
    }
}
