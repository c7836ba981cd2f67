//! The webhook event log: every delivery the listener received, with its raw body,
//! headers and verification result, stored before it is answered. Verified events
//! update the ledger; any event can be replayed to the ledger or forwarded to a URL
//! (like `stripe listen --forward-to`), for merchants testing their own backend.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ito_api::webhook::{self, HeaderMap, Rejection};
use ito_api::{Secret, WebhookEvent};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};
use specta::Type;

use crate::error::{Error, Result};
use crate::payments::ledger;
use crate::store::rfc3339;
use crate::store::{Store, now_ms};

/// How far `X-Timestamp` may be from now: the gateway's usual five minutes.
pub const TOLERANCE: Duration = Duration::from_secs(300);
/// The largest body stored; the gateway's events are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
const MAX_PAGE: u32 = 500;
/// The log keeps the newest this many deliveries (of every profile), so a flood of
/// forgeries cannot fill the disk; the ledger keeps what they changed.
pub const KEEP_EVENTS: i64 = 20_000;

/// The verification result of one delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    /// Signed with the profile's secret, fresh, and a documented event: applied.
    Verified,
    /// Verified, but this delivery was received before: answered 2xx, not applied again.
    Duplicate,
    /// Wrong secret, altered body, or forged: answered 403.
    BadSignature,
    /// Correctly signed but outside the timestamp tolerance (a replay?): answered 403.
    Stale,
    /// Missing headers or a body that is not the documented event: answered 400.
    Malformed,
    /// The URL names no profile of this app: answered 404.
    UnknownProfile,
}

impl Verification {
    fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Duplicate => "duplicate",
            Self::BadSignature => "bad_signature",
            Self::Stale => "stale",
            Self::Malformed => "malformed",
            Self::UnknownProfile => "unknown_profile",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "verified" => Self::Verified,
            "duplicate" => Self::Duplicate,
            "bad_signature" => Self::BadSignature,
            "stale" => Self::Stale,
            "unknown_profile" => Self::UnknownProfile,
            _ => Self::Malformed,
        }
    }

    /// The HTTP status the listener answers with.
    pub fn status_code(self) -> u16 {
        match self {
            Self::Verified | Self::Duplicate => 200,
            Self::BadSignature | Self::Stale => 403,
            Self::Malformed => 400,
            Self::UnknownProfile => 404,
        }
    }

    fn of(rejection: &Rejection) -> Self {
        match rejection {
            Rejection::BadSignature => Self::BadSignature,
            Rejection::Stale { .. } => Self::Stale,
            Rejection::Malformed(_) => Self::Malformed,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// One received delivery, as the Webhooks screen shows it.
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct WebhookLogEntry {
    /// Increasing; pass the smallest one seen as `beforeId` for the next page.
    pub id: i64,
    pub profile_id: String,
    pub received_at: String,
    pub remote_addr: Option<String>,
    pub headers: Vec<Header>,
    /// The raw body as text (invalid UTF-8 shown with replacement characters).
    pub body: String,
    pub verification: Verification,
    /// Why it was refused, in words.
    pub reason: Option<String>,
    pub delivery_id: Option<String>,
    pub attempt: Option<u32>,
    pub payment_id: Option<String>,
    /// That payment's row in this profile's ledger, when the app created it.
    pub ledger_id: Option<i64>,
    /// The status code the listener answered.
    pub answered: u16,
    pub forwarded_to: Option<String>,
    pub forward_status: Option<u16>,
    pub forward_error: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEventFilter {
    pub verification: Option<Verification>,
    pub payment_id: Option<String>,
    pub before_id: Option<i64>,
    /// 1 to 500; 100 when absent.
    pub limit: Option<u32>,
}

/// A delivery as it arrived.
#[derive(Debug)]
pub struct Delivery {
    pub profile_id: String,
    pub remote_addr: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// What storing a delivery did.
#[derive(Debug)]
pub struct Recorded {
    pub entry: WebhookLogEntry,
    /// The ledger row the event changed, and whether it became paid.
    pub payment: Option<(i64, bool)>,
}

fn header_pairs(headers: &HeaderMap) -> Vec<Header> {
    headers
        .iter()
        .map(|(n, v)| Header {
            name: n.as_str().to_owned(),
            value: String::from_utf8_lossy(v.as_bytes()).into_owned(),
        })
        .collect()
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Verifies a delivery with `secret` (absent: the profile does not exist), stores
/// it, and applies a verified, first-seen event to the ledger, all in one
/// transaction: when this returns, the answer may be sent.
pub async fn record(
    store: &Store,
    delivery: Delivery,
    secret: Option<&Secret>,
) -> Result<Recorded> {
    let now = Utc::now();
    let verified: std::result::Result<WebhookEvent, (Verification, String)> = match secret {
        None => Err((
            Verification::UnknownProfile,
            format!("no profile {} in this app", delivery.profile_id),
        )),
        Some(s) => webhook::verify_at(&delivery.headers, &delivery.body, s, TOLERANCE, now)
            .map_err(|r| (Verification::of(&r), r.to_string())),
    };
    store
        .write(move |tx| insert(tx, &delivery, verified, now.timestamp_millis()))
        .await
}

fn insert(
    tx: &rusqlite::Transaction<'_>,
    d: &Delivery,
    verified: std::result::Result<WebhookEvent, (Verification, String)>,
    now: i64,
) -> Result<Recorded> {
    let delivery_id = header(&d.headers, "x-webhook-delivery");
    let attempt = header(&d.headers, "x-webhook-attempt").and_then(|a| a.parse::<u32>().ok());
    let (verification, reason, event) = match verified {
        Ok(event) => {
            let seen_delivery = match &delivery_id {
                Some(id) => tx
                    .prepare_cached(
                        "SELECT 1 FROM webhook_events WHERE profile_id = ?1 AND delivery_id = ?2
                         AND verification = 'verified'",
                    )?
                    .query_row(params![d.profile_id, id], |_| Ok(()))
                    .optional()?
                    .is_some(),
                None => false,
            };
            if seen_delivery {
                (
                    Verification::Duplicate,
                    Some("this delivery was already received and applied".to_owned()),
                    Some(event),
                )
            } else if applied_before(tx, &d.profile_id, &event)? {
                (
                    Verification::Duplicate,
                    Some("this payment's notification was already received and applied".to_owned()),
                    Some(event),
                )
            } else {
                (Verification::Verified, None, Some(event))
            }
        }
        Err((v, reason)) => (v, Some(reason), None),
    };
    // An unverified body is stored, but its claims are not trusted: only a verified
    // event names the payment.
    let payment_id = event.as_ref().map(|e| e.payment_id.to_string());
    let headers = serde_json::to_string(
        &header_pairs(&d.headers)
            .into_iter()
            .map(|h| [h.name, h.value])
            .collect::<Vec<_>>(),
    )
    .map_err(|e| Error::Internal(format!("headers not serialisable: {e}")))?;
    tx.prepare_cached(
        "INSERT INTO webhook_events (profile_id, received_at, remote_addr, headers, body,
         verification, reason, delivery_id, attempt, payment_id, answered)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        d.profile_id,
        now,
        d.remote_addr,
        headers,
        d.body,
        verification.as_str(),
        reason,
        delivery_id,
        attempt,
        payment_id,
        verification.status_code()
    ])?;
    let id = tx.last_insert_rowid();
    tx.prepare_cached("DELETE FROM webhook_events WHERE id <= ?1 - ?2")?
        .execute((id, KEEP_EVENTS))?;
    let payment = match (&event, verification) {
        (Some(e), Verification::Verified) => ledger::apply_paid(tx, &d.profile_id, e, id, now)?,
        (Some(e), _) => {
            if let Some(row) = ledger::local_id(tx, &d.profile_id, e.payment_id.as_str())? {
                ledger::timeline(
                    tx,
                    row,
                    now,
                    "webhook_refused",
                    "The same delivery arrived again; answered 2xx, not applied twice.",
                    Some(id),
                )?;
            }
            None
        }
        _ => None,
    };
    Ok(Recorded {
        entry: get(tx, id)?,
        payment,
    })
}

/// Whether a verified delivery already applied this payment's notification (same
/// payment, same transaction). The gateway's documented headers carry no delivery id
/// (`X-Webhook-Delivery` is the sandbox's), so a redelivery of the same event is known
/// by what it says.
fn applied_before(tx: &Connection, profile_id: &str, event: &WebhookEvent) -> Result<bool> {
    Ok(tx
        .prepare_cached(
            "SELECT 1 FROM webhook_events e JOIN payments p
               ON p.profile_id = e.profile_id AND p.payment_id = e.payment_id
             WHERE e.profile_id = ?1 AND e.payment_id = ?2 AND e.verification = 'verified'
               AND p.transaction_id = ?3
             LIMIT 1",
        )?
        .query_row(
            params![
                profile_id,
                event.payment_id.as_str(),
                event.transaction.as_str()
            ],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

const COLUMNS: &str = "id, profile_id, received_at, remote_addr, headers, body, verification, \
    reason, delivery_id, attempt, payment_id, answered, forwarded_to, forward_status, forward_error, \
    (SELECT p.id FROM payments p WHERE p.profile_id = webhook_events.profile_id \
     AND p.payment_id = webhook_events.payment_id)";

fn from_row(r: &Row<'_>) -> rusqlite::Result<WebhookLogEntry> {
    let headers: String = r.get(4)?;
    let body: Vec<u8> = r.get(5)?;
    let verification: String = r.get(6)?;
    let pairs: Vec<[String; 2]> = serde_json::from_str(&headers).unwrap_or_default();
    Ok(WebhookLogEntry {
        id: r.get(0)?,
        profile_id: r.get(1)?,
        received_at: rfc3339(r.get(2)?),
        remote_addr: r.get(3)?,
        headers: pairs
            .into_iter()
            .map(|[name, value]| Header { name, value })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        verification: Verification::parse(&verification),
        reason: r.get(7)?,
        delivery_id: r.get(8)?,
        attempt: r.get(9)?,
        payment_id: r.get(10)?,
        answered: r.get(11)?,
        forwarded_to: r.get(12)?,
        forward_status: r.get(13)?,
        forward_error: r.get(14)?,
        ledger_id: r.get(15)?,
    })
}

pub fn get(conn: &Connection, id: i64) -> Result<WebhookLogEntry> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM webhook_events WHERE id = ?1"
    ))?
    .query_row([id], from_row)
    .optional()?
    .ok_or_else(|| Error::NotFound("This webhook event is not in the log.".into()))
}

/// The newest events of a profile matching `filter`, newest first.
pub fn list(
    conn: &Connection,
    profile_id: &str,
    filter: &WebhookEventFilter,
) -> Result<Vec<WebhookLogEntry>> {
    let limit = filter.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM webhook_events
         WHERE profile_id = ?1 AND (?2 IS NULL OR id < ?2) AND (?3 IS NULL OR verification = ?3)
           AND (?4 IS NULL OR payment_id = ?4)
         ORDER BY id DESC LIMIT ?5"
    ))?;
    let rows = stmt
        .query_map(
            params![
                profile_id,
                filter.before_id,
                filter.verification.map(Verification::as_str),
                filter.payment_id.as_deref().map(str::trim),
                limit
            ],
            from_row,
        )?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// The stored delivery of an event, to verify again or forward.
pub fn stored(conn: &Connection, profile_id: &str, id: i64) -> Result<(HeaderMap, Vec<u8>, i64)> {
    let (headers, body, received_at): (String, Vec<u8>, i64) = conn
        .prepare_cached(
            "SELECT headers, body, received_at FROM webhook_events WHERE id = ?1 AND profile_id = ?2",
        )?
        .query_row(params![id, profile_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?
        .ok_or_else(|| Error::NotFound("This webhook event is not in the log.".into()))?;
    let pairs: Vec<[String; 2]> = serde_json::from_str(&headers)
        .map_err(|e| Error::Storage(format!("event {id}: stored headers unreadable: {e}")))?;
    let mut map = HeaderMap::new();
    for [name, value] in pairs {
        if let (Ok(n), Ok(v)) = (
            reqwest::header::HeaderName::from_bytes(name.as_bytes()),
            reqwest::header::HeaderValue::from_str(&value),
        ) {
            map.append(n, v);
        }
    }
    Ok((map, body, received_at))
}

/// Verifies a stored event again with `secret`, at the time it was received, and
/// applies it to the ledger. Useful after the secret was corrected, or when the
/// ledger row was created after the event arrived. Returns the ledger row changed.
pub async fn replay(
    store: &Store,
    profile_id: &str,
    id: i64,
    secret: &Secret,
) -> Result<Option<i64>> {
    let (pid, s) = (profile_id.to_owned(), secret.clone());
    store
        .write(move |tx| {
            let (headers, body, received_at) = stored(tx, &pid, id)?;
            let at = DateTime::from_timestamp_millis(received_at).unwrap_or_default();
            let event = webhook::verify_at(&headers, &body, &s, TOLERANCE, at).map_err(|r| {
                Error::Validation {
                    message: format!(
                        "This delivery does not verify with the profile's secret: {r}."
                    ),
                    fields: crate::error::FieldErrors::new(),
                }
            })?;
            let row = ledger::apply_paid(tx, &pid, &event, id, now_ms())?;
            if row.is_none() {
                return Err(Error::NotFound(format!(
                    "No payment {} or order {} in this profile's ledger.",
                    event.payment_id, event.custom
                )));
            }
            Ok(row.map(|(id, _)| id))
        })
        .await
}

/// Sends a stored delivery, body and signature headers unchanged, to `url` and
/// records the answer on the event. Returns the updated event.
pub async fn forward(
    store: &Store,
    http: &reqwest::Client,
    profile_id: &str,
    id: i64,
    url: &url::Url,
) -> Result<WebhookLogEntry> {
    let pid = profile_id.to_owned();
    let (headers, body, _) = store.read(move |c| stored(c, &pid, id)).await?;
    let mut request = http.post(url.clone()).body(body);
    for name in [
        "content-type",
        "x-timestamp",
        "x-signature",
        "x-webhook-delivery",
        "x-webhook-attempt",
    ] {
        if let Some(v) = headers.get(name) {
            request = request.header(name, v.clone());
        }
    }
    let (status, error) = match request.send().await {
        Ok(res) => (Some(res.status().as_u16()), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let target = url.to_string();
    store
        .write(move |tx| {
            tx.execute(
                "UPDATE webhook_events SET forwarded_to = ?2, forward_status = ?3, forward_error = ?4
                 WHERE id = ?1",
                params![id, target, status, error],
            )?;
            get(tx, id)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_log_keeps_the_newest_deliveries_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("desk.db")).unwrap();
        let oldest = store
            .write(|tx| {
                tx.execute(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
                     INSERT INTO webhook_events (profile_id, received_at, headers, body,
                     verification, answered)
                     SELECT 'prf', i, '[]', x'', 'bad_signature', 403 FROM n",
                    [KEEP_EVENTS],
                )?;
                let forged = Delivery {
                    profile_id: "prf".into(),
                    remote_addr: None,
                    headers: HeaderMap::new(),
                    body: b"{}".to_vec(),
                };
                let refused = Err((Verification::BadSignature, "forged".into()));
                insert(tx, &forged, refused, 0)?;
                Ok(
                    tx.query_row("SELECT min(id), count(*) FROM webhook_events", [], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
                    })?,
                )
            })
            .await
            .unwrap();
        assert_eq!(oldest, (2, KEEP_EVENTS));
    }
}
