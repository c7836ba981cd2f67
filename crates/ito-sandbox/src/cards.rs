//! Virtual cards: issued only after KYC approval, listed without their numbers, and
//! revealed (test PAN and CVV) only on explicit request, every reveal recorded.

use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Datelike;
use rand::Rng;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::error::{Error, FieldErrors, Result};
use crate::fields::{self, Fields};
use crate::money::Currency;
use crate::server::AppState;
use crate::users::Subject;
use crate::{ids, kyc};

pub fn routes() -> Router<AppState> {
    Router::new().route("/sandbox/users/{user}/card-reveals", get(reveals_route))
}

/// Cards one user may hold at once.
pub const MAX_ACTIVE_CARDS: i64 = 10;

#[derive(Debug, Clone, Serialize)]
pub struct Card {
    pub id: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: i32,
    pub status: String,
    pub currency: String,
    pub created_at: String,
}

/// Whether `digits` passes the Luhn check.
pub fn luhn_valid(digits: &str) -> bool {
    if digits.len() < 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The digit that makes `body` followed by it Luhn-valid.
fn luhn_check_digit(body: &str) -> char {
    (b'0'..=b'9')
        .map(char::from)
        .find(|d| luhn_valid(&format!("{body}{d}")))
        .unwrap_or('0')
}

/// A 16-digit Visa test number under the sandbox's own BIN, never a real card.
pub fn test_pan() -> String {
    let mut rng = rand::rng();
    let body: String = std::iter::once("400000".to_owned())
        .chain((0..9).map(|_| rng.random_range(0..10).to_string()))
        .collect();
    let check = luhn_check_digit(&body);
    format!("{body}{check}")
}

/// Issues a card, expiring at the end of the same month three years on.
pub fn insert(conn: &Connection, user_id: &str, currency: Currency, now: i64) -> Result<Card> {
    let today = chrono::DateTime::from_timestamp_millis(now)
        .unwrap_or_default()
        .date_naive();
    let id = ids::prefixed("card_", 20);
    let cvv = format!("{:03}", rand::rng().random_range(0..1000));
    conn.prepare_cached(
        "INSERT INTO cards (id, user_id, brand, currency, pan, cvv, exp_month, exp_year, status, created_at)
         VALUES (?1, ?2, 'visa', ?3, ?4, ?5, ?6, ?7, 'active', ?8)",
    )?
    .execute(params![
        id,
        user_id,
        currency.code(),
        test_pan(),
        cvv,
        today.month(),
        today.year() + 3,
        now
    ])?;
    find(conn, user_id, &id)?.ok_or_else(|| Error::Internal("inserted card vanished".into()))
}

const SELECT: &str = "SELECT id, brand, substr(pan, -4), exp_month, exp_year, status, currency, created_at FROM cards";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Card> {
    Ok(Card {
        id: r.get(0)?,
        brand: r.get(1)?,
        last4: r.get(2)?,
        exp_month: r.get(3)?,
        exp_year: r.get(4)?,
        status: r.get(5)?,
        currency: r.get(6)?,
        created_at: ids::rfc3339(r.get(7)?),
    })
}

fn find(conn: &Connection, user_id: &str, id: &str) -> Result<Option<Card>> {
    Ok(conn
        .prepare_cached(&format!("{SELECT} WHERE id = ?1 AND user_id = ?2"))?
        .query_row(params![id, user_id], from_row)
        .optional()?)
}

pub fn list(conn: &Connection, user_id: &str) -> Result<Vec<Card>> {
    let rows = conn
        .prepare_cached(&format!("{SELECT} WHERE user_id = ?1 ORDER BY seq DESC"))?
        .query_map([user_id], from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub async fn list_route(State(state): State<AppState>, s: Subject) -> Result<Json<Value>> {
    let cards = state.db.read(move |c| list(c, &s.user.id)).await?;
    Ok(Json(json!({ "data": cards })))
}

/// `POST /api/oauth/user/cards/issue {currency}`: needs approved KYC.
pub async fn issue_route(
    State(state): State<AppState>,
    s: Subject,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let f = Fields::from_body(&headers, body).await?;
    let mut errors = FieldErrors::new();
    let currency = f.required("currency", &mut errors);
    let currency = match currency.map(|c| Currency::from_str(&c)) {
        Some(Ok(c)) if errors.is_empty() => c,
        Some(Err(m)) => return Err(Error::field("currency", m)),
        _ => return Err(Error::Validation(errors)),
    };
    let card = state
        .db
        .write(move |tx| {
            let status = kyc::load(tx, &s.user.id)?.status;
            if status != kyc::Status::Approved {
                return Err(Error::Forbidden(format!(
                    "A card can be issued only after KYC is approved; this user's KYC is {}.",
                    status.as_str()
                )));
            }
            let active: i64 = tx.query_row(
                "SELECT COUNT(*) FROM cards WHERE user_id = ?1 AND status = 'active'",
                [&s.user.id],
                |r| r.get(0),
            )?;
            if active >= MAX_ACTIVE_CARDS {
                return Err(Error::conflict(format!(
                    "A user may hold at most {MAX_ACTIVE_CARDS} active cards."
                )));
            }
            insert(tx, &s.user.id, currency, ids::now_ms())
        })
        .await?;
    Ok((StatusCode::CREATED, Json(card)).into_response())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reveal {
    Pan,
    Cvv,
}

/// Reads `{card_id, reveal?: ["pan", "cvv"]}`.
fn parse_sensitive(body: &[u8]) -> Result<(String, Vec<Reveal>)> {
    let doc: Map<String, Value> = serde_json::from_slice(body)
        .map_err(|e| Error::BadRequest(format!("The body must be a JSON object: {e}.")))?;
    let mut errors = FieldErrors::new();
    let card_id = match doc.get("card_id") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => {
            fields::push(&mut errors, "card_id", "The card_id field is required.");
            None
        }
    };
    let mut reveal = Vec::new();
    match doc.get("reveal") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                match item.as_str() {
                    Some("pan") if !reveal.contains(&Reveal::Pan) => reveal.push(Reveal::Pan),
                    Some("cvv") if !reveal.contains(&Reveal::Cvv) => reveal.push(Reveal::Cvv),
                    Some("pan" | "cvv") => {}
                    _ => fields::push(
                        &mut errors,
                        "reveal",
                        "reveal may list only \"pan\" and \"cvv\".",
                    ),
                }
            }
        }
        Some(_) => fields::push(
            &mut errors,
            "reveal",
            "reveal must be an array such as [\"pan\", \"cvv\"].",
        ),
    }
    match card_id {
        Some(id) if errors.is_empty() => Ok((id, reveal)),
        _ => Err(Error::Validation(errors)),
    }
}

/// `POST /api/oauth/user/cards/sensitive`: last4 and expiry by default; the full
/// number and CVV only when asked for, and then the reveal is recorded.
pub async fn sensitive_route(
    State(state): State<AppState>,
    s: Subject,
    body: Bytes,
) -> Result<Response> {
    let (card_id, reveal) = parse_sensitive(&body)?;
    let user_id = s.user.id.clone();
    let client_id = s.client_id.clone();
    let body = state
        .db
        .write(move |tx| {
            let row: Option<(String, String, u32, i32)> = tx
                .query_row(
                    "SELECT pan, cvv, exp_month, exp_year FROM cards WHERE id = ?1 AND user_id = ?2",
                    params![card_id, user_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            let (pan, cvv, exp_month, exp_year) =
                row.ok_or_else(|| Error::NotFound("Card not found.".into()))?;
            let mut out = json!({
                "card_id": card_id,
                "last4": pan.get(pan.len().saturating_sub(4)..).unwrap_or_default(),
                "exp_month": exp_month,
                "exp_year": exp_year,
            });
            if !reveal.is_empty() {
                let names: Vec<&str> = reveal
                    .iter()
                    .map(|r| match r {
                        Reveal::Pan => "pan",
                        Reveal::Cvv => "cvv",
                    })
                    .collect();
                tx.execute(
                    "INSERT INTO card_reveals (card_id, user_id, client_id, fields, revealed_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![card_id, user_id, client_id, names.join(","), ids::now_ms()],
                )?;
                if reveal.contains(&Reveal::Pan) {
                    out["pan"] = json!(pan);
                }
                if reveal.contains(&Reveal::Cvv) {
                    out["cvv"] = json!(cvv);
                }
            }
            Ok(out)
        })
        .await?;
    let mut res = Json(body).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// `GET /sandbox/users/{user}/card-reveals`: the audit trail, newest first.
async fn reveals_route(State(state): State<AppState>, s: Subject) -> Result<Json<Value>> {
    let rows = state
        .db
        .read(move |c| {
            let rows: Vec<Value> = c
                .prepare_cached(
                    "SELECT card_id, client_id, fields, revealed_at FROM card_reveals
                     WHERE user_id = ?1 ORDER BY id DESC LIMIT 100",
                )?
                .query_map([&s.user.id], |r| {
                    let fields: String = r.get(2)?;
                    Ok(json!({
                        "card_id": r.get::<_, String>(0)?,
                        "client_id": r.get::<_, String>(1)?,
                        "fields": fields.split(',').collect::<Vec<_>>(),
                        "revealed_at": ids::rfc3339(r.get(3)?),
                    }))
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await?;
    Ok(Json(json!({"code": 200, "status": "ok", "data": rows})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn luhn_matches_known_numbers() {
        assert!(luhn_valid("4242424242424242"));
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("79927398710"));
        assert!(!luhn_valid("4242-4242"));
    }

    proptest! {
        #[test]
        fn generated_numbers_are_valid_test_visas(_i in 0..50u8) {
            let pan = test_pan();
            prop_assert_eq!(pan.len(), 16);
            prop_assert!(pan.starts_with("400000"));
            prop_assert!(luhn_valid(&pan));
        }

        #[test]
        fn sensitive_bodies_never_panic(body in "\\PC{0,120}") {
            let _ = parse_sensitive(body.as_bytes());
        }
    }
}
