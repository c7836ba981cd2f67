//! End users a merchant creates, their sign-in passwords, and the routes that act on
//! one user: `/api/oauth/merchant/users/{user}/*` (merchant token, ownership checked),
//! `/api/oauth/user/*` (the signed-in user) and `/sandbox/users/*` (access key).

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use rand::RngCore;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::auth::Merchant;
use crate::db::Db;
use crate::error::{Error, FieldErrors, Result};
use crate::fields::{self, Fields};
use crate::oauth::{MerchantToken, UserToken};
use crate::pagination::{self, PageQuery};
use crate::server::AppState;
use crate::{cards, ids, kyc, payments, transactions};

pub fn routes() -> Router<AppState> {
    const M: &str = "/api/oauth/merchant/users/{user}";
    const U: &str = "/api/oauth/user";
    Router::new()
        .route("/api/oauth/merchant/users", post(create_route))
        .route(&format!("{M}/profile"), patch(update_profile_route))
        .route(&format!("{M}/balance"), get(transactions::balance_route))
        .route(&format!("{M}/transactions"), get(transactions::list_route))
        .route(&format!("{M}/cards"), get(cards::list_route))
        .route(
            &format!("{M}/kyc"),
            get(kyc::show_route)
                .patch(kyc::patch_route)
                .put(kyc::put_route),
        )
        .route(&format!("{M}/kyc/submit"), post(kyc::submit_route))
        .route(&format!("{U}/me"), get(me_route))
        .route(&format!("{U}/balance"), get(transactions::balance_route))
        .route(&format!("{U}/transactions"), get(transactions::list_route))
        .route(&format!("{U}/cards"), get(cards::list_route))
        .route(&format!("{U}/cards/issue"), post(cards::issue_route))
        .route(
            &format!("{U}/cards/sensitive"),
            post(cards::sensitive_route),
        )
        .route(
            &format!("{U}/kyc"),
            get(kyc::show_route)
                .patch(kyc::patch_route)
                .put(kyc::put_route),
        )
        .route(&format!("{U}/kyc/submit"), post(kyc::submit_route))
        .route("/sandbox/users", get(sandbox_list_route))
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub country: Option<String>,
    pub kyc_status: String,
    #[serde(serialize_with = "ids::serialize_rfc3339")]
    pub created_at: i64,
    #[serde(skip)]
    pub seq: i64,
    #[serde(skip)]
    pub created_by_client_id: String,
}

const SELECT: &str = "SELECT u.id, u.email, u.name, u.phone, u.country,
        COALESCE(k.status, 'not_started'), u.created_at, u.seq, u.created_by_client_id
    FROM users u LEFT JOIN kyc k ON k.user_id = u.id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        phone: r.get(3)?,
        country: r.get(4)?,
        kyc_status: r.get(5)?,
        created_at: r.get(6)?,
        seq: r.get(7)?,
        created_by_client_id: r.get(8)?,
    })
}

pub fn find(conn: &Connection, id: &str) -> Result<Option<User>> {
    Ok(conn
        .prepare_cached(&format!("{SELECT} WHERE u.id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

pub fn not_found() -> Error {
    Error::NotFound("User not found.".into())
}

/// The user `id` if `client_id` created it; anyone else's user is as absent as an
/// unknown id, so ids of other merchants cannot even be probed.
pub fn find_owned(conn: &Connection, id: &str, client_id: &str) -> Result<User> {
    find(conn, id)?
        .filter(|u| u.created_by_client_id == client_id)
        .ok_or_else(not_found)
}

pub fn list_by_client(
    conn: &Connection,
    client_id: &str,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<User>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE u.created_by_client_id = ?1 AND u.seq < ?2 ORDER BY u.seq DESC LIMIT ?3"
    ))?;
    let rows = stmt
        .query_map(
            params![client_id, before.unwrap_or(i64::MAX), limit as i64],
            from_row,
        )?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

// ---------------------------------------------------------------------------
// Passwords
// ---------------------------------------------------------------------------

const PBKDF2_ROUNDS: u32 = 20_000;

/// `pbkdf2-sha256$rounds$salt$hash`, hex-encoded.
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &salt, PBKDF2_ROUNDS, &mut out);
    format!(
        "pbkdf2-sha256${PBKDF2_ROUNDS}${}${}",
        hex::encode(salt),
        hex::encode(out)
    )
}

pub fn verify_password(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some("pbkdf2-sha256"), Some(rounds), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Ok(rounds), Ok(salt), Ok(expected)) =
        (rounds.parse::<u32>(), hex::decode(salt), hex::decode(hash))
    else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &salt, rounds, &mut out);
    out.ct_eq(&expected).into()
}

/// The user of `merchant_id` signing in with `email` and `password`. The slow hash
/// check runs on the blocking pool without holding a database connection.
pub async fn authenticate(
    db: &Db,
    merchant_id: String,
    email: String,
    password: String,
) -> Result<Option<User>> {
    let email = email.to_lowercase();
    let found: Option<(String, String)> = db
        .read(move |c| {
            Ok(c.prepare_cached(
                "SELECT id, password_hash FROM users WHERE merchant_id = ?1 AND email = ?2",
            )?
            .query_row(params![merchant_id, email], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
        })
        .await?;
    // An unknown email costs a hash check too, so timing does not reveal which emails exist.
    let (id, hash) = found.unwrap_or_else(|| (String::new(), dummy_hash()));
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| Error::Internal(format!("password check failed: {e}")))?;
    if !ok || id.is_empty() {
        return Ok(None);
    }
    db.read(move |c| find(c, &id)).await
}

/// A well-formed hash at the usual cost that no password matches (its digest is all zeros).
fn dummy_hash() -> String {
    format!(
        "pbkdf2-sha256${PBKDF2_ROUNDS}${}${}",
        "00".repeat(16),
        "00".repeat(32)
    )
}

// ---------------------------------------------------------------------------
// Profile fields
// ---------------------------------------------------------------------------

pub const MAX_NAME_CHARS: usize = 100;

pub fn check_name(name: &str) -> std::result::Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "The name must be 1 to {MAX_NAME_CHARS} characters."
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("The name may not contain control characters.".into());
    }
    Ok(name.to_owned())
}

pub fn check_email(email: &str) -> std::result::Result<String, String> {
    let email = email.trim();
    if payments::valid_email(email) {
        Ok(email.to_lowercase())
    } else {
        Err("The email must be a valid email address.".into())
    }
}

pub fn check_phone(phone: &str) -> std::result::Result<String, String> {
    let phone = phone.trim();
    if kyc::valid_e164(phone) {
        Ok(phone.to_owned())
    } else {
        Err("The phone must be in E.164 form, such as +81312345678.".into())
    }
}

pub fn check_country(country: &str) -> std::result::Result<String, String> {
    let country = country.trim().to_ascii_uppercase();
    if kyc::is_country_code(&country) {
        Ok(country)
    } else {
        Err("The country must be an ISO 3166-1 alpha-2 code, such as JP.".into())
    }
}

pub(crate) fn check_password(password: &str) -> std::result::Result<String, String> {
    let n = password.chars().count();
    if (8..=128).contains(&n) {
        Ok(password.to_owned())
    } else {
        Err("The password must be 8 to 128 characters.".into())
    }
}

/// Runs `check` on a present value, recording its message under `name`.
fn checked(
    errors: &mut FieldErrors,
    name: &str,
    value: Option<String>,
    check: fn(&str) -> std::result::Result<String, String>,
) -> Option<String> {
    match value.map(|v| check(&v)) {
        Some(Ok(v)) => Some(v),
        Some(Err(message)) => {
            fields::push(errors, name, message);
            None
        }
        None => None,
    }
}

pub struct NewUser {
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub country: Option<String>,
    pub password: Option<String>,
}

pub fn validate_new(f: &Fields) -> std::result::Result<NewUser, FieldErrors> {
    let mut errors = FieldErrors::new();
    let email = f.required("email", &mut errors);
    let email = checked(&mut errors, "email", email, check_email);
    let name = f.required("name", &mut errors);
    let name = checked(&mut errors, "name", name, check_name);
    let phone = f.text("phone", &mut errors);
    let phone = checked(&mut errors, "phone", phone, check_phone);
    let country = f.text("country", &mut errors);
    let country = checked(&mut errors, "country", country, check_country);
    let password = f.text("password", &mut errors);
    let password = checked(&mut errors, "password", password, check_password);
    match (email, name) {
        (Some(email), Some(name)) if errors.is_empty() => Ok(NewUser {
            email,
            name,
            phone,
            country,
            password,
        }),
        _ => Err(errors),
    }
}

/// Inserts a user; `password_hash` is computed by the caller, outside the write lock.
pub fn insert(
    conn: &Connection,
    merchant_id: &str,
    client_id: &str,
    new: &NewUser,
    password_hash: &str,
    created_at: i64,
) -> Result<User> {
    let id = ids::prefixed("usr_", 20);
    let inserted = conn
        .prepare_cached(
            "INSERT INTO users (id, merchant_id, created_by_client_id, email, name, phone, country,
                password_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (created_by_client_id, email) DO NOTHING",
        )?
        .execute(params![
            id,
            merchant_id,
            client_id,
            new.email,
            new.name,
            new.phone,
            new.country,
            password_hash,
            created_at
        ])?;
    if inserted == 0 {
        return Err(Error::conflict(
            "A user with this email already exists for this merchant.",
        ));
    }
    find(conn, &id)?.ok_or_else(|| Error::Internal("inserted user vanished".into()))
}

async fn create_route(
    State(state): State<AppState>,
    token: MerchantToken,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let f = Fields::from_body(&headers, body).await?;
    let new = validate_new(&f).map_err(Error::Validation)?;
    // Without a chosen password one is generated and shown once, in this answer.
    let generated = new.password.is_none().then(|| ids::alphanumeric(16));
    let password = new
        .password
        .clone()
        .or_else(|| generated.clone())
        .unwrap_or_default();
    // Hashing is deliberately slow, so it happens before taking the writer.
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))?;
    let user = state
        .db
        .write(move |tx| {
            insert(
                tx,
                &token.merchant_id,
                &token.client_id,
                &new,
                &hash,
                ids::now_ms(),
            )
        })
        .await?;
    let mut body = serde_json::to_value(&user).map_err(|e| Error::Internal(e.to_string()))?;
    if let Some(p) = generated {
        body["sandbox_password"] = json!(p);
    }
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Partial update of name, phone, country and email; an empty phone or country clears it.
async fn update_profile_route(
    State(state): State<AppState>,
    subject: Subject,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<User>> {
    let f = Fields::from_body(&headers, body).await?;
    let mut errors = FieldErrors::new();
    let present = |name: &str| f.get(name).is_some();
    let text = |name: &str, errors: &mut FieldErrors| -> Option<String> {
        let v = f.text(name, errors);
        if v.is_none() && present(name) && !errors.contains_key(name) {
            Some(String::new())
        } else {
            v
        }
    };
    let name = text("name", &mut errors);
    let email = text("email", &mut errors);
    let phone = text("phone", &mut errors);
    let country = text("country", &mut errors);
    let name = checked(&mut errors, "name", name, check_name);
    let email = checked(&mut errors, "email", email, check_email);
    let phone = phone.map(|p| {
        if p.is_empty() {
            Ok(None)
        } else {
            check_phone(&p).map(Some)
        }
    });
    let country = country.map(|c| {
        if c.is_empty() {
            Ok(None)
        } else {
            check_country(&c).map(Some)
        }
    });
    let phone = match phone {
        Some(Err(m)) => {
            fields::push(&mut errors, "phone", m);
            None
        }
        Some(Ok(p)) => Some(p),
        None => None,
    };
    let country = match country {
        Some(Err(m)) => {
            fields::push(&mut errors, "country", m);
            None
        }
        Some(Ok(c)) => Some(c),
        None => None,
    };
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let id = subject.user.id;
    let user = state
        .db
        .write(move |tx| {
            if let Some(name) = name {
                tx.execute(
                    "UPDATE users SET name = ?2 WHERE id = ?1",
                    params![id, name],
                )?;
            }
            if let Some(phone) = phone {
                tx.execute(
                    "UPDATE users SET phone = ?2 WHERE id = ?1",
                    params![id, phone],
                )?;
            }
            if let Some(country) = country {
                tx.execute(
                    "UPDATE users SET country = ?2 WHERE id = ?1",
                    params![id, country],
                )?;
            }
            if let Some(email) = email {
                let taken = tx
                    .prepare_cached(
                        "SELECT 1 FROM users WHERE created_by_client_id =
                            (SELECT created_by_client_id FROM users WHERE id = ?1)
                         AND email = ?2 AND id <> ?1",
                    )?
                    .exists(params![id, email])?;
                if taken {
                    return Err(Error::conflict(
                        "A user with this email already exists for this merchant.",
                    ));
                }
                tx.execute(
                    "UPDATE users SET email = ?2 WHERE id = ?1",
                    params![id, email],
                )?;
            }
            find(tx, &id)?.ok_or_else(not_found)
        })
        .await?;
    Ok(Json(user))
}

async fn me_route(subject: Subject) -> Json<User> {
    Json(subject.user)
}

const USERS: &str = "users";

/// `GET /sandbox/users`: the merchant's users, newest first.
async fn sandbox_list_route(
    State(state): State<AppState>,
    Merchant(m): Merchant,
    Query(q): Query<PageQuery>,
) -> Result<Json<Value>> {
    let (before, limit) = q.parse(USERS)?;
    let mut rows = state
        .db
        .read(move |c| list_by_client(c, &m.client_id, before, limit + 1))
        .await?;
    let next_cursor = pagination::next_cursor(USERS, &mut rows, limit, |u| u.seq);
    Ok(Json(
        json!({"code": 200, "status": "ok", "data": rows, "next_cursor": next_cursor}),
    ))
}

/// The user a request acts on: the signed-in user on `/api/oauth/user/*`, and on
/// `/api/oauth/merchant/users/{user}/*` and `/sandbox/users/{user}/*` the path's
/// user, provided the authenticated merchant's client created it.
#[derive(Debug, Clone)]
pub struct Subject {
    pub user: User,
    /// The OAuth client acting (the public client for user tokens).
    pub client_id: String,
}

impl FromRequestParts<AppState> for Subject {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        if parts.uri.path().starts_with("/api/oauth/user/") {
            let t = UserToken::from_request_parts(parts, state).await?;
            let id = t.user_id.clone();
            let user = state.db.read(move |c| find(c, &id)).await?.ok_or_else(|| {
                Error::Unauthorized("The access token's user no longer exists.".into())
            })?;
            return Ok(Self {
                user,
                client_id: t.client_id,
            });
        }
        let client_id = if parts.uri.path().starts_with("/sandbox/") {
            Merchant::from_request_parts(parts, state)
                .await?
                .0
                .client_id
        } else {
            MerchantToken::from_request_parts(parts, state)
                .await?
                .client_id
        };
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found())?;
        let owner = client_id.clone();
        let user = state.db.read(move |c| find_owned(c, &id, &owner)).await?;
        Ok(Self { user, client_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("correct horse");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsf", &h));
        assert!(!verify_password("correct horse", "pbkdf2-sha256$1$zz$00"));
        assert!(!verify_password("x", ""));
    }

    #[test]
    fn profile_fields_normalise_or_refuse() {
        assert_eq!(check_country(" jp ").unwrap(), "JP");
        assert!(check_country("XX").is_err());
        assert_eq!(check_email(" A@Example.COM ").unwrap(), "a@example.com");
        assert!(check_phone("03-1234-5678").is_err());
        assert!(check_name(" ").is_err());
        assert!(check_name("山田 太郎").is_ok());
    }

    proptest! {
        #[test]
        fn profile_validators_never_panic(s in "\\PC{0,120}") {
            let _ = check_name(&s);
            let _ = check_email(&s);
            let _ = check_phone(&s);
            let _ = check_country(&s);
            let _ = check_password(&s);
        }
    }
}
