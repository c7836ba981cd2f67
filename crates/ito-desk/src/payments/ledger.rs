//! The local ledger: every payment a profile created, kept current by webhooks,
//! validity checks and the sandbox's simulations. Listed newest first with keyset
//! pagination (a virtualised list scrolls through 100 000 rows page by page), and
//! exported as CSV for spreadsheets.

use std::io::Write;

use chrono::{DateTime, Utc};
use ito_api::{Money, NewPayment, WebhookEvent};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params, params_from_iter};
use serde::{Deserialize, Serialize};
use specta::Type;

use crate::error::{Error, Result};
use crate::exports;
use crate::overview::Currency;
use crate::store::rfc3339;

const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 500;
const MAX_SEARCH_CHARS: usize = 255;

/// A payment's state in the ledger: the gateway's four, plus `unconfirmed` while the
/// request to create it has no answer yet (it may exist at the gateway; retrying with
/// the stored idempotency key finds out without creating a second one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum LedgerStatus {
    Unconfirmed,
    Pending,
    Paid,
    Cancelled,
    Expired,
}

impl LedgerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unconfirmed => "unconfirmed",
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "pending" => Self::Pending,
            "paid" => Self::Paid,
            "cancelled" => Self::Cancelled,
            "expired" => Self::Expired,
            _ => Self::Unconfirmed,
        }
    }
}

impl From<ito_api::PaymentStatus> for LedgerStatus {
    fn from(s: ito_api::PaymentStatus) -> Self {
        match s {
            ito_api::PaymentStatus::Pending => Self::Pending,
            ito_api::PaymentStatus::Paid => Self::Paid,
            ito_api::PaymentStatus::Cancelled => Self::Cancelled,
            ito_api::PaymentStatus::Expired => Self::Expired,
        }
    }
}

/// A ledger row as the Payments screen shows it. Amounts are decimal strings at the
/// currency's scale; times RFC 3339.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct LedgerPayment {
    /// The local row id: the handle for detail, verify, simulate and retry.
    pub id: i64,
    /// The gateway's id; absent while unconfirmed.
    pub payment_id: Option<String>,
    pub status: LedgerStatus,
    pub amount: String,
    pub currency: Currency,
    /// The gateway's fee, once paid.
    pub charge: Option<String>,
    /// Amount less charge, once paid.
    pub net: Option<String>,
    pub custom: String,
    pub customer_email: String,
    pub details: Option<String>,
    pub checkout_url: Option<String>,
    pub transaction: Option<String>,
    /// Why the last attempt to create it failed (unconfirmed rows only).
    pub last_error: Option<String>,
    pub created_at: String,
    pub paid_at: Option<String>,
}

/// Which rows to list or export. Every field is optional; absent means "any".
#[derive(Clone, Debug, Default, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct LedgerFilter {
    /// Case-insensitive part of the order reference (custom), the email or the payment id.
    pub search: Option<String>,
    pub status: Option<LedgerStatus>,
    pub currency: Option<Currency>,
    /// RFC 3339, inclusive.
    pub created_from: Option<String>,
    /// RFC 3339, exclusive.
    pub created_to: Option<String>,
}

/// One page, newest first. Pass `next` back as `cursor` for the following page.
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct LedgerPage {
    pub rows: Vec<LedgerPayment>,
    pub next: Option<String>,
    /// How many rows match the filter; counted for the first page only (no cursor).
    pub total: Option<u32>,
}

/// A payment to be created, with the key its request is sent under.
#[derive(Debug)]
pub struct Draft {
    pub id: i64,
    pub idempotency_key: String,
    pub request: NewPayment,
    pub status: LedgerStatus,
}

/// A filter as SQL conditions and their values. Only the conditions in use are
/// written, so SQLite can pick the index that fits (`?x IS NULL OR …` would hide it).
struct Bound {
    conditions: String,
    values: Vec<Value>,
}

impl Bound {
    fn and(&mut self, condition: &str, value: Value) {
        self.values.push(value);
        let n = self.values.len();
        self.conditions.push_str(&format!(
            " AND {}",
            condition.replace('?', &format!("?{n}"))
        ));
    }
}

fn instant(field: &str, value: Option<&str>) -> Result<Option<i64>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(v)
            .map(|d| Some(d.timestamp_millis()))
            .map_err(|_| Error::field(field, "Not a date and time (RFC 3339).")),
    }
}

/// Searches this short use LIKE (trigrams need three characters).
const MIN_TRIGRAM_CHARS: usize = 3;

/// Past this many trigram matches a search is common enough that walking the newest
/// rows finds a page sooner than fetching every match from the index, and a scan
/// counts them sooner too.
const DENSE_MATCHES: i64 = 1000;

fn bind(conn: &Connection, profile_id: &str, filter: &LedgerFilter) -> Result<Bound> {
    let from = instant("createdFrom", filter.created_from.as_deref())?;
    let to = instant("createdTo", filter.created_to.as_deref())?;
    let mut b = Bound {
        conditions: "profile_id = ?1".to_owned(),
        values: vec![Value::Text(profile_id.to_owned())],
    };
    if let Some(status) = filter.status {
        b.and("status = ?", Value::Text(status.as_str().to_owned()));
    }
    if let Some(currency) = filter.currency {
        b.and(
            "currency = ?",
            Value::Text(currency_code(currency).to_owned()),
        );
    }
    if let Some(from) = from {
        b.and("created_at >= ?", Value::Integer(from));
    }
    if let Some(to) = to {
        b.and("created_at < ?", Value::Integer(to));
    }
    let search = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(text) = search {
        let text: String = text.chars().take(MAX_SEARCH_CHARS).collect();
        let phrase = (text.chars().count() >= MIN_TRIGRAM_CHARS)
            // One quoted phrase: whatever the user typed is matched as text, never as
            // FTS syntax.
            .then(|| format!("\"{}\"", text.replace('"', "\"\"")));
        match phrase {
            Some(phrase) if !is_dense(conn, &phrase)? => b.and(
                "id IN (SELECT rowid FROM payments_search WHERE payments_search MATCH ?)",
                Value::Text(phrase),
            ),
            // Both match the text anywhere in the three columns, ASCII letters in any case.
            _ => {
                // LIKE wildcards typed by the user are matched literally.
                let escaped = text
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                b.and(
                    "(custom LIKE ? ESCAPE '\\' OR customer_email LIKE ? ESCAPE '\\' \
                     OR payment_id LIKE ? ESCAPE '\\')",
                    Value::Text(format!("%{escaped}%")),
                );
            }
        }
    }
    Ok(b)
}

/// Whether `phrase` matches more than [`DENSE_MATCHES`] rows (of any profile); the
/// index stops looking once it has found that many.
fn is_dense(conn: &Connection, phrase: &str) -> Result<bool> {
    let mut probe = conn.prepare_cached(
        "SELECT count(*) FROM
         (SELECT rowid FROM payments_search WHERE payments_search MATCH ?1 LIMIT ?2)",
    )?;
    let found: i64 = probe.query_row((phrase, DENSE_MATCHES + 1), |r| r.get(0))?;
    Ok(found > DENSE_MATCHES)
}

pub fn currency_code(c: Currency) -> &'static str {
    match c {
        Currency::Usd => "USD",
        Currency::Jpy => "JPY",
        Currency::SgpUsd => "SGP-USD",
    }
}

/// The SDK's currency for the UI's.
pub fn api_currency(c: Currency) -> ito_api::Currency {
    match c {
        Currency::Usd => ito_api::Currency::Usd,
        Currency::Jpy => ito_api::Currency::Jpy,
        Currency::SgpUsd => ito_api::Currency::SgpUsd,
    }
}

fn parse_currency(code: &str) -> Currency {
    code.parse::<ito_api::Currency>()
        .map(Currency::from)
        .unwrap_or(Currency::Usd)
}

const COLUMNS: &str = "id, payment_id, status, amount, currency, charge, net, custom, \
    customer_email, details, checkout_url, transaction_id, last_error, created_at, paid_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<LedgerPayment> {
    let status: String = r.get(2)?;
    let currency: String = r.get(4)?;
    let created_at: i64 = r.get(13)?;
    let paid_at: Option<i64> = r.get(14)?;
    Ok(LedgerPayment {
        id: r.get(0)?,
        payment_id: r.get(1)?,
        status: LedgerStatus::parse(&status),
        amount: r.get(3)?,
        currency: parse_currency(&currency),
        charge: r.get(5)?,
        net: r.get(6)?,
        custom: r.get(7)?,
        customer_email: r.get(8)?,
        details: r.get(9)?,
        checkout_url: r.get(10)?,
        transaction: r.get(11)?,
        last_error: r.get(12)?,
        created_at: rfc3339(created_at),
        paid_at: paid_at.map(rfc3339),
    })
}

/// Cursor text: `<created_at ms>:<id>` of the last row of the page before.
fn parse_cursor(cursor: Option<&str>) -> Result<Option<(i64, i64)>> {
    let Some(c) = cursor else { return Ok(None) };
    c.split_once(':')
        .and_then(|(t, i)| Some((t.parse().ok()?, i.parse().ok()?)))
        .map(Some)
        .ok_or_else(|| Error::field("cursor", "This page cursor is not valid."))
}

/// One page of a profile's payments matching `filter`, newest first.
pub fn page(
    conn: &Connection,
    profile_id: &str,
    filter: &LedgerFilter,
    cursor: Option<&str>,
    limit: Option<u32>,
) -> Result<LedgerPage> {
    let filtered = bind(conn, profile_id, filter)?;
    let after = parse_cursor(cursor)?;
    let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let mut b = Bound {
        conditions: filtered.conditions.clone(),
        values: filtered.values.clone(),
    };
    if let Some((at, id)) = after {
        b.and("created_at <= ?", Value::Integer(at));
        // Row values compare as the keyset order does: (created_at, id) before the cursor.
        b.values.push(Value::Integer(id));
        let n = b.values.len();
        b.conditions
            .push_str(&format!(" AND (created_at, id) < (?{}, ?{n})", n - 1));
    }
    b.values.push(Value::Integer(i64::from(limit)));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM payments WHERE {}
         ORDER BY created_at DESC, id DESC LIMIT ?{}",
        b.conditions,
        b.values.len()
    ))?;
    let rows: Vec<LedgerPayment> = stmt
        .query_map(params_from_iter(b.values.iter()), from_row)?
        .collect::<rusqlite::Result<_>>()?;
    let next = if rows.len() == limit as usize {
        rows.last().and_then(|r| {
            DateTime::parse_from_rfc3339(&r.created_at)
                .ok()
                .map(|d| format!("{}:{}", d.timestamp_millis(), r.id))
        })
    } else {
        None
    };
    let total = if after.is_none() && rows.len() < limit as usize {
        // The first page holds every match: no second scan to count them.
        Some(u32::try_from(rows.len()).unwrap_or(u32::MAX))
    } else if after.is_none() {
        let mut count = conn.prepare_cached(&format!(
            "SELECT COUNT(*) FROM payments WHERE {}",
            filtered.conditions
        ))?;
        let n: i64 = count.query_row(params_from_iter(filtered.values.iter()), |r| r.get(0))?;
        Some(u32::try_from(n).unwrap_or(u32::MAX))
    } else {
        None
    };
    Ok(LedgerPage { rows, next, total })
}

pub fn get(conn: &Connection, profile_id: &str, id: i64) -> Result<LedgerPayment> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM payments WHERE profile_id = ?1 AND id = ?2"
    ))?
    .query_row(params![profile_id, id], from_row)
    .optional()?
    .ok_or_else(|| Error::NotFound("This payment is not in the ledger.".into()))
}

/// The row of a gateway payment id, if the ledger has it.
pub fn local_id(tx: &Connection, profile_id: &str, payment_id: &str) -> Result<Option<i64>> {
    Ok(tx
        .prepare_cached("SELECT id FROM payments WHERE profile_id = ?1 AND payment_id = ?2")?
        .query_row(params![profile_id, payment_id], |r| r.get(0))
        .optional()?)
}

/// The gateway payment id of a row, or an error naming why there is none yet.
pub fn payment_id(conn: &Connection, profile_id: &str, id: i64) -> Result<ito_api::PaymentId> {
    get(conn, profile_id, id)?
        .payment_id
        .map(ito_api::PaymentId::new)
        .ok_or_else(|| Error::Validation {
            message: "The gateway has not confirmed this payment yet: retry creating it first."
                .into(),
            fields: crate::error::FieldErrors::new(),
        })
}

/// The draft stored for an order reference, if any.
pub fn draft_by_custom(conn: &Connection, profile_id: &str, custom: &str) -> Result<Option<Draft>> {
    conn.prepare_cached(
        "SELECT id, idempotency_key, request, status FROM payments WHERE profile_id = ?1 AND custom = ?2",
    )?
    .query_row(params![profile_id, custom], draft_row)
    .optional()?
    .map(finish_draft)
    .transpose()
}

pub fn draft(conn: &Connection, profile_id: &str, id: i64) -> Result<Draft> {
    conn.prepare_cached(
        "SELECT id, idempotency_key, request, status FROM payments WHERE profile_id = ?1 AND id = ?2",
    )?
    .query_row(params![profile_id, id], draft_row)
    .optional()?
    .map(finish_draft)
    .transpose()?
    .ok_or_else(|| Error::NotFound("This payment is not in the ledger.".into()))
}

type DraftRow = (i64, String, String, String);

fn draft_row(r: &Row<'_>) -> rusqlite::Result<DraftRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn finish_draft((id, idempotency_key, request, status): DraftRow) -> Result<Draft> {
    let request = serde_json::from_str(&request)
        .map_err(|e| Error::Storage(format!("payment {id}: stored request unreadable: {e}")))?;
    Ok(Draft {
        id,
        idempotency_key,
        request,
        status: LedgerStatus::parse(&status),
    })
}

/// Stores a payment before its request is sent, with the key every retry reuses.
pub fn insert_unconfirmed(
    tx: &Transaction<'_>,
    profile_id: &str,
    idempotency_key: &str,
    request: &NewPayment,
    now: i64,
) -> Result<i64> {
    let json = serde_json::to_string(request)
        .map_err(|e| Error::Internal(format!("payment request not serialisable: {e}")))?;
    tx.prepare_cached(
        "INSERT INTO payments (profile_id, idempotency_key, request, status, custom, amount,
         currency, details, customer_email, created_at, updated_at)
         VALUES (?1, ?2, ?3, 'unconfirmed', ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
    )?
    .execute(params![
        profile_id,
        idempotency_key,
        json,
        request.custom,
        request.amount.to_decimal_string(),
        request.amount.currency().code(),
        request.details,
        request.customer_email,
        now
    ])?;
    let id = tx.last_insert_rowid();
    timeline(
        tx,
        id,
        now,
        "created",
        "Stored locally; sending to the gateway.",
        None,
    )?;
    Ok(id)
}

/// The gateway accepted the payment (or replayed its earlier answer).
pub fn confirm(
    tx: &Transaction<'_>,
    id: i64,
    payment_id: &str,
    checkout_url: &str,
    replayed: bool,
    now: i64,
) -> Result<()> {
    tx.execute(
        "UPDATE payments SET payment_id = ?2, checkout_url = ?3, last_error = NULL,
         status = CASE status WHEN 'unconfirmed' THEN 'pending' ELSE status END, updated_at = ?4
         WHERE id = ?1",
        params![id, payment_id, checkout_url, now],
    )?;
    let detail = if replayed {
        format!(
            "The gateway confirmed {payment_id} (answer replayed for the same idempotency key)."
        )
    } else {
        format!("The gateway created {payment_id}.")
    };
    timeline(tx, id, now, "created", &detail, None)
}

/// A transient failure: the row stays unconfirmed, to be retried with its key.
pub fn record_failure(tx: &Transaction<'_>, id: i64, error: &str, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE payments SET last_error = ?2, updated_at = ?3 WHERE id = ?1 AND status = 'unconfirmed'",
        params![id, error, now],
    )?;
    timeline(tx, id, now, "create_failed", error, None)
}

/// The gateway refused the request for good (validation, authentication): nothing was
/// created, and the corrected form will be a different request with a new key.
pub fn discard_unconfirmed(tx: &Transaction<'_>, id: i64) -> Result<()> {
    tx.execute(
        "DELETE FROM payments WHERE id = ?1 AND status = 'unconfirmed'",
        [id],
    )?;
    Ok(())
}

/// Applies a verified webhook: the payment is paid, with its fee and net. Returns the
/// row it changed and whether it was not paid before; an unconfirmed row whose answer was lost is matched by its order
/// reference. Applying the same event twice changes nothing more.
pub fn apply_paid(
    tx: &Transaction<'_>,
    profile_id: &str,
    event: &WebhookEvent,
    webhook_event: i64,
    now: i64,
) -> Result<Option<(i64, bool)>> {
    let id = match local_id(tx, profile_id, event.payment_id.as_str())? {
        Some(id) => Some(id),
        None => tx
            .prepare_cached(
                "SELECT id FROM payments WHERE profile_id = ?1 AND custom = ?2 AND payment_id IS NULL",
            )?
            .query_row(params![profile_id, event.custom], |r| r.get(0))
            .optional()?,
    };
    let Some(id) = id else { return Ok(None) };
    let was_paid: bool = tx
        .prepare_cached("SELECT status = 'paid' FROM payments WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?;
    let paid_at = event.signed_at.timestamp_millis();
    tx.execute(
        "UPDATE payments SET payment_id = ?2, status = 'paid', charge = ?3, net = ?4,
         transaction_id = ?5, paid_at = COALESCE(paid_at, ?6), last_error = NULL, updated_at = ?7
         WHERE id = ?1",
        params![
            id,
            event.payment_id.as_str(),
            event.charge.to_decimal_string(),
            event.net().to_decimal_string(),
            event.transaction.as_str(),
            paid_at,
            now
        ],
    )?;
    timeline(
        tx,
        id,
        now,
        "webhook",
        &format!(
            "Paid: {} less {} fee = {} net (transaction {}).",
            event.amount.format(),
            event.charge.format(),
            event.net().format(),
            event.transaction
        ),
        Some(webhook_event),
    )?;
    Ok(Some((id, !was_paid)))
}

/// What the gateway or the sandbox said about a payment's state.
#[derive(Debug, Default)]
pub struct Observed {
    pub status: Option<LedgerStatus>,
    pub charge: Option<Money>,
    pub net: Option<Money>,
    pub transaction: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
}

/// Updates a row from an observation, keeping what it does not mention, and notes it
/// on the timeline.
pub fn observe(
    tx: &Transaction<'_>,
    id: i64,
    seen: &Observed,
    kind: &str,
    detail: &str,
    now: i64,
) -> Result<()> {
    tx.execute(
        "UPDATE payments SET status = COALESCE(?2, status), charge = COALESCE(?3, charge),
         net = COALESCE(?4, net), transaction_id = COALESCE(?5, transaction_id),
         paid_at = COALESCE(paid_at, ?6), updated_at = ?7 WHERE id = ?1",
        params![
            id,
            seen.status.map(LedgerStatus::as_str),
            seen.charge.map(|m| m.to_decimal_string()),
            seen.net.map(|m| m.to_decimal_string()),
            seen.transaction,
            seen.paid_at.map(|t| t.timestamp_millis()),
            now
        ],
    )?;
    timeline(tx, id, now, kind, detail, None)
}

pub fn timeline(
    tx: &Connection,
    payment: i64,
    at_ms: i64,
    kind: &str,
    detail: &str,
    webhook_event: Option<i64>,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO payment_timeline (payment, at_ms, kind, detail, webhook_event)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![payment, at_ms, kind, detail, webhook_event])?;
    Ok(())
}

/// One entry of a payment's timeline.
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    pub at: String,
    pub kind: TimelineKind,
    pub detail: String,
    /// The webhook event behind it, to open in the Webhooks screen.
    pub webhook_event_id: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    Created,
    CreateFailed,
    Webhook,
    /// A delivery that was refused (bad signature, stale) or a duplicate.
    WebhookRefused,
    ValidityCheck,
    Simulated,
}

fn timeline_kind(s: &str) -> TimelineKind {
    match s {
        "create_failed" => TimelineKind::CreateFailed,
        "webhook" => TimelineKind::Webhook,
        "webhook_refused" => TimelineKind::WebhookRefused,
        "validity_check" => TimelineKind::ValidityCheck,
        "simulated" => TimelineKind::Simulated,
        _ => TimelineKind::Created,
    }
}

pub fn timeline_of(conn: &Connection, id: i64) -> Result<Vec<TimelineEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT at_ms, kind, detail, webhook_event FROM payment_timeline
         WHERE payment = ?1 ORDER BY at_ms, id",
    )?;
    let rows = stmt
        .query_map([id], |r| {
            let kind: String = r.get(1)?;
            Ok(TimelineEntry {
                at: rfc3339(r.get(0)?),
                kind: timeline_kind(&kind),
                detail: r.get(2)?,
                webhook_event_id: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Header row of the CSV export.
pub const CSV_HEADER: [&str; 13] = [
    "payment_id",
    "status",
    "amount",
    "currency",
    "charge",
    "net",
    "custom",
    "customer_email",
    "details",
    "transaction",
    "created_at",
    "paid_at",
    "checkout_url",
];

/// Writes every row matching `filter` as CSV: UTF-8 with a BOM (so Excel reads
/// Japanese text), CRLF line ends, amounts as decimal strings. Returns the row count.
pub fn export_csv(
    conn: &Connection,
    profile_id: &str,
    filter: &LedgerFilter,
    out: &mut impl Write,
) -> Result<u64> {
    let b = bind(conn, profile_id, filter)?;
    let io = |e: std::io::Error| Error::Storage(format!("cannot write the export: {e}"));
    out.write_all("\u{feff}".as_bytes()).map_err(io)?;
    exports::write_record(out, CSV_HEADER.iter().map(|s| (*s).to_owned())).map_err(io)?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM payments WHERE {} ORDER BY created_at DESC, id DESC",
        b.conditions
    ))?;
    let mut rows = stmt.query(params_from_iter(b.values.iter()))?;
    let mut n = 0;
    while let Some(row) = rows.next()? {
        let p = from_row(row)?;
        let text = |s: Option<String>| s.unwrap_or_default();
        exports::write_record(
            out,
            [
                text(p.payment_id),
                p.status.as_str().to_owned(),
                p.amount,
                currency_code(p.currency).to_owned(),
                text(p.charge),
                text(p.net),
                exports::inert(p.custom),
                exports::inert(p.customer_email),
                exports::inert(text(p.details)),
                text(p.transaction),
                p.created_at,
                text(p.paid_at),
                text(p.checkout_url),
            ]
            .into_iter(),
        )
        .map_err(io)?;
        n += 1;
    }
    out.flush().map_err(io)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_cursors_and_dates_are_field_errors() {
        assert!(matches!(
            parse_cursor(Some("x")),
            Err(Error::Validation { .. })
        ));
        assert_eq!(parse_cursor(Some("12:3")).unwrap(), Some((12, 3)));
        let f = LedgerFilter {
            created_from: Some("yesterday".into()),
            ..LedgerFilter::default()
        };
        let conn = Connection::open_in_memory().unwrap();
        match bind(&conn, "prf", &f) {
            Err(Error::Validation { fields, .. }) => assert!(fields.contains_key("createdFrom")),
            other => panic!("{:?}", other.map(|_| ())),
        }
    }

    /// Common searches walk the rows, rare ones ask the trigram index: both find the
    /// same payments.
    #[tokio::test]
    async fn dense_and_sparse_searches_find_the_same_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("desk.db")).unwrap();
        let rows = 1200;
        store
            .write(move |tx| {
                for i in 0..rows {
                    tx.execute(
                        "INSERT INTO payments (profile_id, idempotency_key, request, status,
                         payment_id, custom, amount, currency, customer_email, created_at,
                         updated_at)
                         VALUES ('prf', ?1, '{}', 'pending', ?2, ?3, '100', 'JPY', ?4, ?5, 0)",
                        (
                            format!("k{i}"),
                            format!("PAY{i:08}"),
                            format!("ORD-{i}"),
                            format!("buyer{}@Example.JP", i % 7),
                            i,
                        ),
                    )?;
                }
                Ok(())
            })
            .await
            .unwrap();
        let cases = [
            ("example.jp", true, rows),
            ("EXAMPLE", true, rows),
            ("ORD-11", false, 111),
            (
                "buyer3@",
                false,
                (0..rows).filter(|i| i % 7 == 3).count() as u32,
            ),
            ("PAY0000004", false, 10),
            ("no such thing", false, 0),
        ];
        for (term, dense, expected) in cases {
            let filter = LedgerFilter {
                search: Some(term.into()),
                ..LedgerFilter::default()
            };
            let (is, page) = store
                .read(move |c| {
                    let phrase = format!("\"{term}\"");
                    Ok((
                        is_dense(c, &phrase)?,
                        page(c, "prf", &filter, None, Some(50))?,
                    ))
                })
                .await
                .unwrap();
            assert_eq!(is, dense, "{term}");
            assert_eq!(page.total, Some(expected), "{term}");
            let lower = term.to_lowercase();
            for row in &page.rows {
                let text = format!("{} {} {:?}", row.custom, row.customer_email, row.payment_id);
                assert!(text.to_lowercase().contains(&lower), "{term}: {text}");
            }
        }
    }
}
