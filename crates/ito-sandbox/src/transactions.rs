//! A user's wallet: transactions (top-ups, card spending, refunds, fees) and the
//! balances they move, per currency.

use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use rusqlite::{Connection, OptionalExtension, params};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Error, FieldErrors, Result};
use crate::fields::{self, Fields};
use crate::ids;
use crate::money::{self, Currency};
use crate::pagination;
use crate::server::AppState;
use crate::users::Subject;

pub fn routes() -> Router<AppState> {
    Router::new().route("/sandbox/users/{user}/transactions", post(create_route))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    TopUp,
    CardSpend,
    Refund,
    Fee,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::TopUp, Kind::CardSpend, Kind::Refund, Kind::Fee];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TopUp => "top_up",
            Self::CardSpend => "card_spend",
            Self::Refund => "refund",
            Self::Fee => "fee",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Money in (top-ups, refunds) or out (spending, fees).
    pub fn is_credit(self) -> bool {
        matches!(self, Self::TopUp | Self::Refund)
    }
}

/// Completed transactions move `available`; pending ones are shown in `pending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    Pending,
    Completed,
}

impl Settlement {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Completed => "completed",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Transaction {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Always positive; `type` says which way it moves the balance.
    pub amount: String,
    pub currency: String,
    pub status: String,
    pub description: String,
    pub created_at: String,
    #[serde(skip)]
    pub seq: i64,
}

pub struct NewTransaction {
    pub kind: Kind,
    pub amount: Decimal,
    pub currency: Currency,
    pub status: Settlement,
    pub description: String,
}

fn read_balance(
    conn: &Connection,
    user_id: &str,
    currency: Currency,
) -> Result<(Decimal, Decimal)> {
    let row: Option<(String, String)> = conn
        .prepare_cached(
            "SELECT available, pending FROM balances WHERE user_id = ?1 AND currency = ?2",
        )?
        .query_row(params![user_id, currency.code()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let parse = |s: &str| {
        Decimal::from_str(s).map_err(|e| Error::Internal(format!("stored balance {s:?}: {e}")))
    };
    match row {
        Some((a, p)) => Ok((parse(&a)?, parse(&p)?)),
        None => Ok((Decimal::ZERO, Decimal::ZERO)),
    }
}

pub fn write_balance(
    conn: &Connection,
    user_id: &str,
    currency: Currency,
    available: Decimal,
    pending: Decimal,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO balances (user_id, currency, available, pending) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id, currency) DO UPDATE SET available = excluded.available,
            pending = excluded.pending",
    )?
    .execute(params![
        user_id,
        currency.code(),
        currency.rescale(available).to_string(),
        currency.rescale(pending).to_string()
    ])?;
    Ok(())
}

/// Inserts one row without touching balances (bulk seeding keeps its own totals).
pub fn insert_row(conn: &Connection, user_id: &str, t: &NewTransaction, at: i64) -> Result<String> {
    let id = ids::prefixed("txn_", 20);
    conn.prepare_cached(
        "INSERT INTO transactions (id, user_id, type, amount, currency, status, description, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        id,
        user_id,
        t.kind.as_str(),
        t.currency.rescale(t.amount).to_string(),
        t.currency.code(),
        t.status.as_str(),
        t.description,
        at
    ])?;
    Ok(id)
}

/// Records a transaction and moves the balance; a debit beyond the available
/// balance is refused.
pub fn record(
    conn: &Connection,
    user_id: &str,
    t: &NewTransaction,
    at: i64,
) -> Result<Transaction> {
    let (mut available, mut pending) = read_balance(conn, user_id, t.currency)?;
    let signed = if t.kind.is_credit() {
        t.amount
    } else {
        -t.amount
    };
    match t.status {
        Settlement::Completed => available += signed,
        Settlement::Pending => pending += signed,
    }
    if available < Decimal::ZERO {
        return Err(Error::conflict(format!(
            "Insufficient available balance in {} for this {}.",
            t.currency,
            t.kind.as_str()
        )));
    }
    write_balance(conn, user_id, t.currency, available, pending)?;
    let id = insert_row(conn, user_id, t, at)?;
    find(conn, &id)?.ok_or_else(|| Error::Internal("inserted transaction vanished".into()))
}

const SELECT: &str =
    "SELECT id, type, amount, currency, status, description, created_at, seq FROM transactions";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Transaction> {
    Ok(Transaction {
        id: r.get(0)?,
        kind: r.get(1)?,
        amount: r.get(2)?,
        currency: r.get(3)?,
        status: r.get(4)?,
        description: r.get(5)?,
        created_at: ids::rfc3339(r.get(6)?),
        seq: r.get(7)?,
    })
}

fn find(conn: &Connection, id: &str) -> Result<Option<Transaction>> {
    Ok(conn
        .prepare_cached(&format!("{SELECT} WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

#[derive(Debug, Default)]
pub struct Filter {
    pub currency: Option<Currency>,
    pub kind: Option<Kind>,
    /// Unix ms, inclusive.
    pub from: Option<i64>,
    /// Unix ms, exclusive.
    pub to: Option<i64>,
}

pub fn list(
    conn: &Connection,
    user_id: &str,
    filter: &Filter,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<Transaction>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE user_id = ?1 AND seq < ?2
            AND (?3 IS NULL OR currency = ?3) AND (?4 IS NULL OR type = ?4)
            AND (?5 IS NULL OR created_at >= ?5) AND (?6 IS NULL OR created_at < ?6)
         ORDER BY seq DESC LIMIT ?7"
    ))?;
    let rows = stmt
        .query_map(
            params![
                user_id,
                before.unwrap_or(i64::MAX),
                filter.currency.map(Currency::code),
                filter.kind.map(Kind::as_str),
                filter.from,
                filter.to,
                limit as i64
            ],
            from_row,
        )?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub limit: Option<String>,
    pub cursor: Option<String>,
    pub currency: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// `from`/`to` as RFC 3339 instants or `YYYY-MM-DD` dates (UTC). A date `to`
/// includes that whole day.
fn instant(raw: &str, end_of_day: bool) -> Option<i64> {
    let raw = raw.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(raw) {
        return Some(t.timestamp_millis());
    }
    let date = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
    let day = if end_of_day { date.succ_opt()? } else { date };
    Some(day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

const KIND: &str = "transactions";

impl ListQuery {
    pub fn parse(&self) -> Result<(Filter, Option<i64>, usize)> {
        let page = pagination::PageQuery {
            limit: self.limit.clone(),
            cursor: self.cursor.clone(),
        };
        let mut errors = FieldErrors::new();
        let mut filter = Filter::default();
        if let Some(c) = self.currency.as_deref().filter(|c| !c.is_empty()) {
            match Currency::from_str(c) {
                Ok(c) => filter.currency = Some(c),
                Err(m) => fields::push(&mut errors, "currency", m),
            }
        }
        if let Some(k) = self.kind.as_deref().filter(|k| !k.is_empty()) {
            match Kind::parse(k) {
                Some(k) => filter.kind = Some(k),
                None => fields::push(
                    &mut errors,
                    "type",
                    "The type must be one of top_up, card_spend, refund, fee.",
                ),
            }
        }
        for (name, raw, end, slot) in [
            ("from", &self.from, false, &mut filter.from),
            ("to", &self.to, true, &mut filter.to),
        ] {
            if let Some(raw) = raw.as_deref().filter(|r| !r.is_empty()) {
                match instant(raw, end) {
                    Some(t) => *slot = Some(t),
                    None => fields::push(
                        &mut errors,
                        name,
                        format!("The {name} must be an RFC 3339 time or a YYYY-MM-DD date."),
                    ),
                }
            }
        }
        // A bad cursor is a 400 whatever else is wrong, as everywhere else.
        let (before, limit) = match page.parse(KIND) {
            Err(Error::Validation(e)) => {
                errors.extend(e);
                (None, 0)
            }
            other => other?,
        };
        if errors.is_empty() {
            Ok((filter, before, limit))
        } else {
            Err(Error::Validation(errors))
        }
    }
}

pub async fn list_route(
    State(state): State<AppState>,
    s: Subject,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>> {
    let (filter, before, limit) = q.parse()?;
    let mut rows = state
        .db
        .read(move |c| list(c, &s.user.id, &filter, before, limit + 1))
        .await?;
    let next_cursor = pagination::next_cursor(KIND, &mut rows, limit, |t| t.seq);
    Ok(Json(json!({"data": rows, "next_cursor": next_cursor})))
}

/// Every currency's balance, zero where the user never transacted in it.
pub fn balances(conn: &Connection, user_id: &str) -> Result<Vec<Value>> {
    Currency::ALL
        .into_iter()
        .map(|c| {
            let (available, pending) = read_balance(conn, user_id, c)?;
            Ok(json!({
                "currency": c.code(),
                "available": c.rescale(available).to_string(),
                "pending": c.rescale(pending).to_string(),
            }))
        })
        .collect()
}

pub async fn balance_route(State(state): State<AppState>, s: Subject) -> Result<Json<Value>> {
    let id = s.user.id.clone();
    let balances = state.db.read(move |c| balances(c, &id)).await?;
    Ok(Json(json!({"user_id": s.user.id, "balances": balances})))
}

pub const MAX_DESCRIPTION_CHARS: usize = 255;

fn validate(f: &Fields) -> std::result::Result<NewTransaction, FieldErrors> {
    let mut errors = FieldErrors::new();
    let kind = f.required("type", &mut errors).and_then(|k| {
        Kind::parse(&k).or_else(|| {
            fields::push(
                &mut errors,
                "type",
                "The type must be one of top_up, card_spend, refund, fee.",
            );
            None
        })
    });
    let currency = f
        .required("currency", &mut errors)
        .and_then(|c| match Currency::from_str(&c) {
            Ok(c) => Some(c),
            Err(m) => {
                fields::push(&mut errors, "currency", m);
                None
            }
        });
    let amount = match (f.get("amount"), currency) {
        (None, _) => {
            fields::push(&mut errors, "amount", "The amount field is required.");
            None
        }
        (Some(fields::Value::Other(kind)), _) => {
            fields::push(
                &mut errors,
                "amount",
                format!("The amount must be a decimal string or number, not a {kind}."),
            );
            None
        }
        (Some(_), None) => None,
        (Some(v), Some(c)) => {
            let (text, is_number) = match v {
                fields::Value::Number(n) => (n.as_str(), true),
                fields::Value::Text(t) => (t.as_str(), false),
                fields::Value::Other(_) => ("", false),
            };
            match money::parse_amount(text, is_number, c) {
                Ok(a) => Some(a),
                Err(m) => {
                    fields::push(&mut errors, "amount", m);
                    None
                }
            }
        }
    };
    let description = f.text("description", &mut errors).unwrap_or_default();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        fields::push(
            &mut errors,
            "description",
            format!("The description may not exceed {MAX_DESCRIPTION_CHARS} characters."),
        );
    }
    match (kind, currency, amount) {
        (Some(kind), Some(currency), Some(amount)) if errors.is_empty() => Ok(NewTransaction {
            kind,
            amount,
            currency,
            status: Settlement::Completed,
            description: description.trim().to_owned(),
        }),
        _ => Err(errors),
    }
}

/// `POST /sandbox/users/{user}/transactions`: a completed transaction; the balance follows.
async fn create_route(
    State(state): State<AppState>,
    s: Subject,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let f = Fields::from_body(&headers, body).await?;
    let new = validate(&f).map_err(Error::Validation)?;
    let id = s.user.id.clone();
    let (t, balances) = state
        .db
        .write(move |tx| {
            let t = record(tx, &id, &new, ids::now_ms())?;
            Ok((t, balances(tx, &id)?))
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"code": 201, "status": "ok", "transaction": t, "balances": balances})),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any query string is parsed or refused with a 400/422, never a panic; a
        /// cursor that is not one of ours is always a 400.
        #[test]
        fn any_listing_query_is_answered_cleanly(
            cursor in "\\PC{0,40}",
            limit in "\\PC{0,6}",
            currency in "\\PC{0,8}",
            kind in "\\PC{0,12}",
            from in "\\PC{0,30}",
        ) {
            let q = ListQuery {
                limit: Some(limit),
                cursor: Some(cursor.clone()),
                currency: Some(currency),
                kind: Some(kind),
                from: Some(from),
                to: None,
            };
            match q.parse() {
                Ok((_, before, limit)) => {
                    prop_assert!((1..=pagination::MAX_LIMIT).contains(&limit));
                    prop_assert!(before.is_none_or(|b| b > 0));
                }
                Err(Error::BadRequest(_) | Error::Validation(_)) => {}
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
            let tampered = ListQuery { cursor: Some(format!("{cursor}!")), ..ListQuery::default() };
            prop_assert!(matches!(tampered.parse(), Err(Error::BadRequest(_))));
        }
    }

    #[test]
    fn dates_and_instants_bound_the_range() {
        let from = instant("2026-01-02", false).unwrap();
        let to = instant("2026-01-02", true).unwrap();
        assert_eq!(to - from, 86_400_000);
        assert_eq!(
            instant("2026-01-02T00:00:00+09:00", false).unwrap(),
            from - 9 * 3_600_000
        );
        assert!(instant("yesterday", false).is_none());
    }
}
