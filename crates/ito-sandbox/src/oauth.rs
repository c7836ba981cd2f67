//! The OAuth 2.0 server: `POST /oauth/token` (client credentials, authorization code
//! with PKCE, refresh with rotation), the sign-in and consent page of
//! `/oauth/authorize`, and the bearer-token extractors of the `/api/oauth/*` routes.
//!
//! Follows RFC 6749, RFC 7636 (S256 only), RFC 8252 (loopback redirects on any port)
//! and the OAuth 2.0 Security BCP: codes are short-lived, single-use and bound to the
//! client, the redirect URI and the challenge; refresh tokens rotate and a reused one
//! revokes its whole family; codes and tokens are stored only as SHA-256 hashes.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::watch;

use crate::checkout::escape;
use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::merchants::{self, MerchantCredentials};
use crate::server::AppState;
use crate::{auth, ids, users};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth/token", post(token))
        .route(
            "/oauth/authorize",
            get(authorize_page).post(authorize_decision),
        )
        .route(
            "/sandbox/oauth/redirect-uris",
            get(redirect_uris_route).put(set_redirect_uris_route),
        )
}

/// SHA-256 of a code or token, the only form in which they are stored.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The merchant owning a client id; `column` is `client_id` or `public_client_id`.
fn merchant_by(
    conn: &Connection,
    column: &'static str,
    client_id: &str,
) -> Result<Option<MerchantCredentials>> {
    let id: Option<String> = conn
        .prepare_cached(&format!("SELECT id FROM merchants WHERE {column} = ?1"))?
        .query_row([client_id], |r| r.get(0))
        .optional()?;
    match id {
        Some(id) => merchants::by_id(conn, &id),
        None => Ok(None),
    }
}

/// Compares two secrets in constant time (hashing first so lengths never leak).
pub fn secrets_match(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes())
        .ct_eq(&Sha256::digest(b.as_bytes()))
        .into()
}

// ---------------------------------------------------------------------------
// Token endpoint
// ---------------------------------------------------------------------------

/// How long a refresh token lives when unused.
const REFRESH_TTL_MS: i64 = 30 * 24 * 3600 * 1000;
const MAX_SCOPE_CHARS: usize = 200;

struct Issued {
    access_token: String,
    refresh_token: Option<String>,
    scope: String,
}

fn token_response(issued: Issued, ttl_secs: u64) -> Response {
    let mut body = json!({
        "token_type": "Bearer",
        "access_token": issued.access_token,
        "expires_in": ttl_secs,
        "scope": issued.scope,
    });
    if let Some(r) = issued.refresh_token {
        body["refresh_token"] = json!(r);
    }
    (
        StatusCode::OK,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(body),
    )
        .into_response()
}

/// One request parameter; RFC 6749 §3.2 forbids repeating one.
fn param(f: &Fields, name: &str) -> Result<Option<String>> {
    let mut errors = crate::error::FieldErrors::new();
    let v = f.text(name, &mut errors);
    match errors.into_values().flatten().next() {
        Some(message) => Err(Error::oauth("invalid_request", message)),
        None => Ok(v),
    }
}

fn required_param(f: &Fields, name: &str) -> Result<String> {
    param(f, name)?.ok_or_else(|| {
        Error::oauth(
            "invalid_request",
            format!("The {name} parameter is required."),
        )
    })
}

/// Client credentials from `Authorization: Basic` (RFC 6749 §2.3.1: each part
/// form-urlencoded, then base64).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || Error::oauth("invalid_client", "Malformed Basic authorization header.");
    let text = value.to_str().map_err(|_| bad())?;
    let Some((scheme, encoded)) = text.split_once(' ') else {
        return Err(bad());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| -> String {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .map(|(_, v)| v.into_owned())
            .next()
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}

async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match issue(&state, &headers, body).await {
        Ok(issued) => token_response(issued, state.config.oauth_access_ttl.as_secs()),
        // Malformed bodies still answer in the token endpoint's error format.
        Err(e @ (Error::BadRequest(_) | Error::Validation(_))) => {
            Error::oauth("invalid_request", e.to_string()).into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn issue(state: &AppState, headers: &HeaderMap, body: Bytes) -> Result<Issued> {
    let f = Fields::from_body(headers, body).await?;
    let basic = basic_credentials(headers)?;
    let grant = required_param(&f, "grant_type")?;
    match grant.as_str() {
        "client_credentials" => client_credentials(state, &f, basic).await,
        "authorization_code" => authorization_code(state, &f, basic).await,
        "refresh_token" => refresh(state, &f, basic).await,
        _ => Err(Error::oauth(
            "unsupported_grant_type",
            "grant_type must be client_credentials, authorization_code or refresh_token.",
        )),
    }
}

fn scope_param(f: &Fields) -> Result<String> {
    let scope = param(f, "scope")?.unwrap_or_default().trim().to_owned();
    if scope.chars().count() > MAX_SCOPE_CHARS || scope.chars().any(char::is_control) {
        return Err(Error::oauth("invalid_scope", "The scope is malformed."));
    }
    Ok(scope)
}

async fn client_credentials(
    state: &AppState,
    f: &Fields,
    basic: Option<(String, String)>,
) -> Result<Issued> {
    let in_body = (param(f, "client_id")?, param(f, "client_secret")?);
    // RFC 6749 §2.3: a client uses one authentication method per request.
    let (client_id, secret) = match (basic, in_body) {
        (Some(_), (_, Some(_))) => {
            return Err(Error::oauth(
                "invalid_request",
                "Send client credentials either as HTTP Basic or in the body, not both.",
            ));
        }
        (Some((id, _)), (Some(body_id), None)) if body_id != id => {
            return Err(Error::oauth(
                "invalid_request",
                "The client_id in the body differs from the one in the Basic header.",
            ));
        }
        (Some(pair), _) => pair,
        (None, (Some(id), Some(secret))) => (id, secret),
        (None, _) => {
            return Err(Error::oauth(
                "invalid_client",
                "Client authentication failed: client_id and client_secret are required.",
            ));
        }
    };
    let scope = scope_param(f)?;
    let ttl = ttl_ms(state);
    // Credentials are checked on a reader so the single writer only inserts.
    let merchant = state
        .db
        .read(move |c| merchant_by(c, "client_id", &client_id))
        .await?
        .filter(|m| secrets_match(&m.client_secret, &secret))
        .ok_or_else(|| Error::oauth("invalid_client", "Client authentication failed."))?;
    let access_token = ids::prefixed("mat_", 40);
    let token = access_token.clone();
    state
        .db
        .write(move |tx| {
            let grant = Grant {
                kind: TokenKind::Merchant,
                merchant_id: &merchant.merchant_id,
                client_id: &merchant.client_id,
                user_id: None,
                scope: &scope,
                family_id: None,
            };
            insert_access(tx, &token, &grant, ids::now_ms() + ttl)?;
            Ok(scope)
        })
        .await
        .map(|scope| Issued {
            access_token,
            refresh_token: None,
            scope,
        })
}

fn ttl_ms(state: &AppState) -> i64 {
    i64::try_from(state.config.oauth_access_ttl.as_millis()).unwrap_or(i64::MAX / 2)
}

/// The public client named by `client_id`; public clients never present a secret.
fn public_client_id(f: &Fields, basic: Option<(String, String)>) -> Result<String> {
    if basic.is_some() || param(f, "client_secret")?.is_some() {
        return Err(Error::oauth(
            "invalid_client",
            "This grant is for the public client, which has no secret; send client_id only.",
        ));
    }
    required_param(f, "client_id")
}

/// A PKCE code verifier per RFC 7636 §4.1: 43 to 128 unreserved characters.
fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

async fn authorization_code(
    state: &AppState,
    f: &Fields,
    basic: Option<(String, String)>,
) -> Result<Issued> {
    let client_id = public_client_id(f, basic)?;
    let code = required_param(f, "code")?;
    let redirect_uri = required_param(f, "redirect_uri")?;
    let verifier = required_param(f, "code_verifier")?;
    if !valid_verifier(&verifier) {
        return Err(Error::oauth(
            "invalid_request",
            "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~.",
        ));
    }
    let ttl = ttl_ms(state);
    // The outer result commits; the inner one is the answer. A replayed code must
    // revoke its tokens *and* be refused, so the refusal cannot roll back.
    state
        .db
        .write(move |tx| {
            let now = ids::now_ms();
            let found = tx
                .query_row(
                    "SELECT merchant_id, client_id, user_id, redirect_uri, code_challenge, scope,
                            family_id, expires_at, used_at
                     FROM oauth_codes WHERE code_hash = ?1",
                    [digest(&code)],
                    |r| {
                        Ok(StoredCode {
                            merchant_id: r.get(0)?,
                            client_id: r.get(1)?,
                            user_id: r.get(2)?,
                            redirect_uri: r.get(3)?,
                            challenge: r.get(4)?,
                            scope: r.get(5)?,
                            family_id: r.get(6)?,
                            expires_at: r.get(7)?,
                            used_at: r.get(8)?,
                        })
                    },
                )
                .optional()?;
            let grant_error = |d: &str| Ok(Err(Error::oauth("invalid_grant", d)));
            let Some(c) = found else {
                return grant_error("The authorization code is invalid.");
            };
            if c.used_at.is_some() {
                revoke_family(tx, &c.family_id)?;
                return grant_error(
                    "The authorization code was already used; tokens issued from it are revoked.",
                );
            }
            // One attempt per code, whatever its outcome.
            tx.execute(
                "UPDATE oauth_codes SET used_at = ?2 WHERE code_hash = ?1",
                params![digest(&code), now],
            )?;
            if c.expires_at <= now {
                return grant_error("The authorization code has expired.");
            }
            if c.client_id != client_id {
                return grant_error("The authorization code was issued to another client.");
            }
            if c.redirect_uri != redirect_uri {
                return grant_error(
                    "redirect_uri does not match the one of the authorization request.",
                );
            }
            if !secrets_match(&s256(&verifier), &c.challenge) {
                return grant_error("The code_verifier does not match the code_challenge.");
            }
            let grant = Grant {
                kind: TokenKind::User,
                merchant_id: &c.merchant_id,
                client_id: &c.client_id,
                user_id: Some(&c.user_id),
                scope: &c.scope,
                family_id: Some(&c.family_id),
            };
            let issued = issue_user_tokens(tx, &grant, now, ttl)?;
            Ok(Ok(issued))
        })
        .await?
}

struct StoredCode {
    merchant_id: String,
    client_id: String,
    user_id: String,
    redirect_uri: String,
    challenge: String,
    scope: String,
    family_id: String,
    expires_at: i64,
    used_at: Option<i64>,
}

/// A user access token and a refresh token of the grant's family.
fn issue_user_tokens(tx: &Transaction<'_>, g: &Grant<'_>, now: i64, ttl: i64) -> Result<Issued> {
    let access_token = ids::prefixed("uat_", 40);
    let refresh_token = ids::prefixed("urt_", 48);
    insert_access(tx, &access_token, g, now + ttl)?;
    tx.execute(
        "INSERT INTO oauth_refresh_tokens
            (token_hash, family_id, merchant_id, client_id, user_id, scope, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            digest(&refresh_token),
            g.family_id,
            g.merchant_id,
            g.client_id,
            g.user_id,
            g.scope,
            now + REFRESH_TTL_MS
        ],
    )?;
    Ok(Issued {
        access_token,
        refresh_token: Some(refresh_token),
        scope: g.scope.to_owned(),
    })
}

fn revoke_family(tx: &Transaction<'_>, family_id: &str) -> Result<()> {
    tx.execute(
        "UPDATE oauth_refresh_tokens SET revoked = 1 WHERE family_id = ?1",
        [family_id],
    )?;
    tx.execute(
        "UPDATE oauth_access_tokens SET revoked = 1 WHERE family_id = ?1",
        [family_id],
    )?;
    Ok(())
}

async fn refresh(state: &AppState, f: &Fields, basic: Option<(String, String)>) -> Result<Issued> {
    let client_id = public_client_id(f, basic)?;
    let presented = required_param(f, "refresh_token")?;
    let ttl = ttl_ms(state);
    state
        .db
        .write(move |tx| {
            let now = ids::now_ms();
            let hash = digest(&presented);
            let found = tx
                .query_row(
                    "SELECT family_id, merchant_id, client_id, user_id, scope, expires_at,
                            rotated_at, revoked
                     FROM oauth_refresh_tokens WHERE token_hash = ?1",
                    [&hash],
                    |r| {
                        Ok(StoredRefresh {
                            family: r.get(0)?,
                            merchant_id: r.get(1)?,
                            client_id: r.get(2)?,
                            user_id: r.get(3)?,
                            scope: r.get(4)?,
                            expires_at: r.get(5)?,
                            rotated_at: r.get(6)?,
                            revoked: r.get(7)?,
                        })
                    },
                )
                .optional()?;
            let grant_error = |d: &str| Ok(Err(Error::oauth("invalid_grant", d)));
            let Some(StoredRefresh {
                family,
                merchant_id,
                client_id: owner,
                user_id,
                scope,
                expires_at,
                rotated_at: rotated,
                revoked,
            }) = found
            else {
                return grant_error("The refresh token is invalid.");
            };
            if owner != client_id {
                return grant_error("The refresh token was issued to another client.");
            }
            if rotated.is_some() {
                // A rotated token presented again means it leaked: end the whole session.
                revoke_family(tx, &family)?;
                return grant_error(
                    "The refresh token was already used; every token of this sign-in is revoked.",
                );
            }
            if revoked {
                return grant_error("The refresh token has been revoked.");
            }
            if expires_at <= now {
                return grant_error("The refresh token has expired.");
            }
            if users::find(tx, &user_id)?.is_none() {
                return grant_error("The user no longer exists.");
            }
            tx.execute(
                "UPDATE oauth_refresh_tokens SET rotated_at = ?2 WHERE token_hash = ?1",
                params![hash, now],
            )?;
            let grant = Grant {
                kind: TokenKind::User,
                merchant_id: &merchant_id,
                client_id: &owner,
                user_id: Some(&user_id),
                scope: &scope,
                family_id: Some(&family),
            };
            let issued = issue_user_tokens(tx, &grant, now, ttl)?;
            Ok(Ok(issued))
        })
        .await?
}

struct StoredRefresh {
    family: String,
    merchant_id: String,
    client_id: String,
    user_id: String,
    scope: String,
    expires_at: i64,
    rotated_at: Option<i64>,
    revoked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    Merchant,
    User,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Merchant => "merchant",
            Self::User => "user",
        }
    }
}

/// What a token is issued for.
struct Grant<'a> {
    kind: TokenKind,
    merchant_id: &'a str,
    client_id: &'a str,
    user_id: Option<&'a str>,
    scope: &'a str,
    /// The sign-in a user token belongs to, revoked together on code or refresh reuse.
    family_id: Option<&'a str>,
}

fn insert_access(conn: &Connection, token: &str, g: &Grant<'_>, expires_at: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO oauth_access_tokens
            (token_hash, kind, merchant_id, client_id, user_id, scope, family_id, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        digest(token),
        g.kind.as_str(),
        g.merchant_id,
        g.client_id,
        g.user_id,
        g.scope,
        g.family_id,
        expires_at
    ])?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Expiry sweeper
// ---------------------------------------------------------------------------

const SWEEP_EVERY: Duration = Duration::from_secs(600);
/// Codes outlive their expiry by a day so that a late replay is still recognised.
const CODE_GRACE_MS: i64 = 24 * 3600 * 1000;

/// Deletes expired codes and tokens; returns how many rows went.
pub fn sweep(conn: &Connection, now: i64) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM oauth_codes WHERE expires_at < ?1",
        [now - CODE_GRACE_MS],
    )? + conn.execute(
        "DELETE FROM oauth_access_tokens WHERE expires_at < ?1",
        [now],
    )? + conn.execute(
        "DELETE FROM oauth_refresh_tokens WHERE expires_at < ?1",
        [now],
    )?)
}

/// Sweeps at start and every [`SWEEP_EVERY`] until the server stops.
pub async fn run_sweeper(state: AppState, mut stopped: watch::Receiver<bool>) {
    loop {
        if let Err(e) = state.db.write(|tx| sweep(tx, ids::now_ms())).await {
            tracing::error!(error = %e, "sweeping expired OAuth tokens failed");
        }
        tokio::select! {
            () = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
    }
}

// ---------------------------------------------------------------------------
// Bearer-token extractors
// ---------------------------------------------------------------------------

/// A merchant access token (client credentials) on `/api/oauth/merchant/*`.
#[derive(Debug, Clone)]
pub struct MerchantToken {
    pub merchant_id: String,
    /// The confidential client the token was issued to; users it created are its own.
    pub client_id: String,
}

/// A user access token (authorization code) on `/api/oauth/user/*`.
#[derive(Debug, Clone)]
pub struct UserToken {
    pub client_id: String,
    pub user_id: String,
}

struct Access {
    kind: String,
    merchant_id: String,
    client_id: String,
    user_id: Option<String>,
}

async fn access(parts: &Parts, state: &AppState, wanted: TokenKind) -> Result<Access> {
    let invalid = || Error::Unauthorized("The access token is invalid or has expired.".into());
    let hash =
        digest(auth::bearer(&parts.headers).ok_or_else(|| {
            Error::Unauthorized("An OAuth bearer access token is required.".into())
        })?);
    let now = ids::now_ms();
    let found = state
        .db
        .read(move |c| {
            Ok(c.prepare_cached(
                "SELECT kind, merchant_id, client_id, user_id FROM oauth_access_tokens
                 WHERE token_hash = ?1 AND revoked = 0 AND expires_at > ?2",
            )?
            .query_row(params![hash, now], |r| {
                Ok(Access {
                    kind: r.get(0)?,
                    merchant_id: r.get(1)?,
                    client_id: r.get(2)?,
                    user_id: r.get(3)?,
                })
            })
            .optional()?)
        })
        .await?
        .ok_or_else(invalid)?;
    if found.kind != wanted.as_str() {
        return Err(Error::Unauthorized(match wanted {
            TokenKind::Merchant => "This is a user token; /api/oauth/merchant/* needs a merchant token (client_credentials).".into(),
            TokenKind::User => "This is a merchant token; /api/oauth/user/* needs a user token (authorization_code).".into(),
        }));
    }
    state.faults.apply(&found.merchant_id).await?;
    Ok(found)
}

impl FromRequestParts<AppState> for MerchantToken {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let a = access(parts, state, TokenKind::Merchant).await?;
        Ok(Self {
            merchant_id: a.merchant_id,
            client_id: a.client_id,
        })
    }
}

impl FromRequestParts<AppState> for UserToken {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let a = access(parts, state, TokenKind::User).await?;
        let user_id = a
            .user_id
            .ok_or_else(|| Error::Internal("user token without a user".into()))?;
        Ok(Self {
            client_id: a.client_id,
            user_id,
        })
    }
}

// ---------------------------------------------------------------------------
// Authorization endpoint
// ---------------------------------------------------------------------------

#[derive(Debug, Default)]
struct AuthorizeParams {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: String,
    code_challenge: String,
    code_challenge_method: String,
    email: String,
    password: String,
    decision: String,
}

impl AuthorizeParams {
    /// Parses query or form pairs; a repeated parameter is refused (RFC 6749 §3.1).
    fn parse(raw: &[u8]) -> std::result::Result<Self, String> {
        let mut p = Self::default();
        let mut seen = Vec::new();
        for (k, v) in form_urlencoded::parse(raw) {
            let slot = match k.as_ref() {
                "response_type" => &mut p.response_type,
                "client_id" => &mut p.client_id,
                "redirect_uri" => &mut p.redirect_uri,
                "scope" => &mut p.scope,
                "state" => &mut p.state,
                "code_challenge" => &mut p.code_challenge,
                "code_challenge_method" => &mut p.code_challenge_method,
                "email" => &mut p.email,
                "password" => &mut p.password,
                "decision" => &mut p.decision,
                _ => continue,
            };
            if seen.contains(&k) {
                return Err(format!("The {k} parameter was given more than once."));
            }
            *slot = v.to_string();
            seen.push(k);
        }
        Ok(p)
    }
}

/// Whether `uri` may receive codes for `merchant`: a registered URI exactly, or a
/// loopback IP literal over http on any port (RFC 8252 §7.3).
fn redirect_allowed(conn: &Connection, merchant_id: &str, uri: &str) -> Result<bool> {
    let Ok(parsed) = url::Url::parse(uri) else {
        return Ok(false);
    };
    if parsed.fragment().is_some() || !parsed.username().is_empty() || parsed.password().is_some() {
        return Ok(false);
    }
    let loopback = parsed.scheme() == "http"
        && match parsed.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            _ => false,
        };
    if loopback {
        return Ok(true);
    }
    Ok(conn
        .prepare_cached("SELECT 1 FROM oauth_redirect_uris WHERE merchant_id = ?1 AND uri = ?2")?
        .exists(params![merchant_id, uri])?)
}

/// What a validated authorization request resolves to.
struct Request {
    merchant: MerchantCredentials,
    params: AuthorizeParams,
}

/// Outcomes that are not the page itself: an error page (the client or redirect
/// URI cannot be trusted, so no redirect) or a redirect back to the client.
enum Refusal {
    Page(StatusCode, String),
    Redirect(Response),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::Page(status, message) => page(status, "Authorization failed", &notice(&message)),
            Self::Redirect(r) => r,
        }
    }
}

fn redirect_to(uri: &str, pairs: &[(&str, &str)]) -> Response {
    let target = match url::Url::parse(uri) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
                    q.append_pair(k, v);
                }
            }
            u.to_string()
        }
        Err(_) => uri.to_owned(),
    };
    let mut res = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(&target) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn error_redirect(p: &AuthorizeParams, error: &str, description: &str) -> Refusal {
    Refusal::Redirect(redirect_to(
        &p.redirect_uri,
        &[
            ("error", error),
            ("error_description", description),
            ("state", &p.state),
        ],
    ))
}

async fn validate(state: &AppState, raw: &[u8]) -> std::result::Result<Request, Refusal> {
    let params =
        AuthorizeParams::parse(raw).map_err(|m| Refusal::Page(StatusCode::BAD_REQUEST, m))?;
    let client_id = params.client_id.clone();
    let redirect_uri = params.redirect_uri.clone();
    let checked = state
        .db
        .read(move |c| {
            let Some(m) = merchant_by(c, "public_client_id", &client_id)? else {
                return Ok(Err("Unknown client_id: no application is registered under it."));
            };
            if !redirect_allowed(c, &m.merchant_id, &redirect_uri)? {
                return Ok(Err(
                    "The redirect_uri is not registered for this application (loopback http://127.0.0.1 and http://[::1] are accepted on any port).",
                ));
            }
            Ok(Ok(m))
        })
        .await
        .map_err(|e| Refusal::Page(e.status(), "The sandbox could not read its database.".into()))?;
    let merchant = checked.map_err(|m| Refusal::Page(StatusCode::BAD_REQUEST, m.into()))?;
    // From here on the redirect URI is trusted, so errors go back to the client.
    let p = &params;
    if p.response_type.is_empty() {
        return Err(error_redirect(
            p,
            "invalid_request",
            "response_type is required.",
        ));
    }
    if p.response_type != "code" {
        return Err(error_redirect(
            p,
            "unsupported_response_type",
            "Only response_type=code is supported.",
        ));
    }
    if p.code_challenge_method != "S256" {
        return Err(error_redirect(
            p,
            "invalid_request",
            "PKCE with code_challenge_method=S256 is required; plain is not accepted.",
        ));
    }
    if p.code_challenge.len() != 43
        || !p
            .code_challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(error_redirect(
            p,
            "invalid_request",
            "code_challenge must be the base64url SHA-256 of the verifier (43 characters).",
        ));
    }
    if p.state.is_empty() || p.state.len() > 512 {
        return Err(error_redirect(
            p,
            "invalid_request",
            "state is required (1 to 512 characters).",
        ));
    }
    if p.scope.chars().count() > MAX_SCOPE_CHARS || p.scope.chars().any(char::is_control) {
        return Err(error_redirect(
            p,
            "invalid_scope",
            "The scope is malformed.",
        ));
    }
    Ok(Request { merchant, params })
}

async fn authorize_page(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    match validate(&state, query.unwrap_or_default().as_bytes()).await {
        Ok(req) => sign_in_page(StatusCode::OK, &req, None),
        Err(refusal) => refusal.into_response(),
    }
}

async fn authorize_decision(State(state): State<AppState>, body: Bytes) -> Response {
    let req = match validate(&state, &body).await {
        Ok(req) => req,
        Err(refusal) => return refusal.into_response(),
    };
    let p = &req.params;
    match p.decision.as_str() {
        "deny" => {
            return error_redirect(p, "access_denied", "The user denied the request.")
                .into_response();
        }
        "approve" => {}
        _ => {
            return Refusal::Page(
                StatusCode::BAD_REQUEST,
                "decision must be approve or deny.".into(),
            )
            .into_response();
        }
    }
    let merchant_id = req.merchant.merchant_id.clone();
    let (email, password) = (p.email.trim().to_owned(), p.password.clone());
    let user = match users::authenticate(&state.db, merchant_id, email, password).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            return sign_in_page(
                StatusCode::UNAUTHORIZED,
                &req,
                Some("The email or password is incorrect."),
            );
        }
        Err(e) => return e.into_response(),
    };
    let code = ids::alphanumeric(43);
    let ttl = i64::try_from(state.config.oauth_code_ttl.as_millis()).unwrap_or(60_000);
    let stored = (
        digest(&code),
        req.merchant.merchant_id.clone(),
        p.client_id.clone(),
        user.id,
        p.redirect_uri.clone(),
        p.code_challenge.clone(),
        p.scope.trim().to_owned(),
    );
    let saved = state
        .db
        .write(move |tx| {
            let now = ids::now_ms();
            tx.execute(
                "INSERT INTO oauth_codes (code_hash, merchant_id, client_id, user_id, redirect_uri,
                    code_challenge, scope, family_id, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    stored.0,
                    stored.1,
                    stored.2,
                    stored.3,
                    stored.4,
                    stored.5,
                    stored.6,
                    ids::prefixed("fam_", 24),
                    now + ttl
                ],
            )?;
            Ok(())
        })
        .await;
    match saved {
        Ok(()) => redirect_to(&p.redirect_uri, &[("code", &code), ("state", &p.state)]),
        Err(e) => e.into_response(),
    }
}

const STYLE: &str = "body{font-family:system-ui,'Noto Sans CJK JP',sans-serif;background:#f4f5f7;color:#1a1f36;margin:0}\
main{max-width:420px;margin:64px auto;background:#fff;border-radius:12px;padding:32px;box-shadow:0 2px 12px #0001}\
.badge{display:inline-block;background:#ffd86b;color:#5b3b00;font-size:12px;font-weight:600;padding:2px 8px;border-radius:4px}\
h1{font-size:18px;margin:12px 0 4px}.muted{color:#697386;font-size:14px}.error{color:#c0123c}\
label{display:block;margin:12px 0 4px;font-size:14px}input[type=email],input[type=password]{width:100%;box-sizing:border-box;padding:8px;font-size:16px}\
button{font-size:16px;padding:10px 20px;border-radius:6px;border:1px solid #c1c9d2;background:#fff;cursor:pointer;margin:16px 8px 0 0}\
button.approve{background:#635bff;color:#fff;border-color:#635bff}";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · ITO-Japan sandbox</title><style>{STYLE}</style></head>\
         <body><main><span class=\"badge\">TEST MODE · sandbox</span>{body}</main></body></html>",
        escape(title)
    );
    let mut res = (status, Html(html)).into_response();
    let h = res.headers_mut();
    // The consent page must not be framed (clickjacking) nor cached.
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn notice(message: &str) -> String {
    format!(
        "<h1>認可できません / Authorization failed</h1><p class=\"error\">{}</p>",
        escape(message)
    )
}

fn sign_in_page(status: StatusCode, req: &Request, error: Option<&str>) -> Response {
    let p = &req.params;
    let hidden = [
        ("response_type", &p.response_type),
        ("client_id", &p.client_id),
        ("redirect_uri", &p.redirect_uri),
        ("scope", &p.scope),
        ("state", &p.state),
        ("code_challenge", &p.code_challenge),
        ("code_challenge_method", &p.code_challenge_method),
    ]
    .iter()
    .map(|(k, v)| {
        format!(
            "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
            escape(v)
        )
    })
    .collect::<String>();
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>{merchant} にサインイン / Sign in to {merchant}</h1>\
         <p class=\"muted\">{merchant} があなたの残高・取引・カード・本人確認情報へのアクセスを求めています。<br>\
         {merchant} asks to access your balance, transactions, cards and KYC details.</p>{error}\
         <form method=\"post\" action=\"/oauth/authorize\">{hidden}\
         <label for=\"email\">メールアドレス / Email</label><input id=\"email\" type=\"email\" name=\"email\" value=\"{email}\" required autocomplete=\"username\">\
         <label for=\"password\">パスワード / Password</label><input id=\"password\" type=\"password\" name=\"password\" required autocomplete=\"current-password\">\
         <button class=\"approve\" type=\"submit\" name=\"decision\" value=\"approve\" id=\"approve\">許可 / Approve</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\" formnovalidate>拒否 / Deny</button></form>",
        merchant = escape(&req.merchant.name),
        email = escape(&p.email),
    );
    page(status, "Sign in", &body)
}

// ---------------------------------------------------------------------------
// Registered redirect URIs (control API)
// ---------------------------------------------------------------------------

pub const MAX_REDIRECT_URIS: usize = 10;

fn redirect_uris(conn: &Connection, merchant_id: &str) -> Result<Vec<String>> {
    let rows = conn
        .prepare_cached("SELECT uri FROM oauth_redirect_uris WHERE merchant_id = ?1 ORDER BY uri")?
        .query_map([merchant_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// A URI a merchant may register: absolute, no fragment, and https, http on a
/// loopback host, or a private-use scheme in reverse-domain form (RFC 8252 §7.1).
fn registrable(uri: &str) -> std::result::Result<(), String> {
    let u = url::Url::parse(uri).map_err(|_| "Not an absolute URI.".to_owned())?;
    if uri.len() > 2000 || u.fragment().is_some() {
        return Err("A redirect URI may not have a fragment or exceed 2000 characters.".into());
    }
    let loopback_http =
        u.scheme() == "http" && matches!(u.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
    if u.scheme() == "https" || loopback_http || u.scheme().contains('.') {
        Ok(())
    } else {
        Err("Use https, http on a loopback address, or a private-use scheme such as com.example.app:/callback.".into())
    }
}

async fn redirect_uris_route(
    State(state): State<AppState>,
    auth::Merchant(m): auth::Merchant,
) -> Result<Json<serde_json::Value>> {
    let uris = state
        .db
        .read(move |c| redirect_uris(c, &m.merchant_id))
        .await?;
    Ok(Json(
        json!({"code": 200, "status": "ok", "redirect_uris": uris}),
    ))
}

/// `PUT /sandbox/oauth/redirect-uris {redirect_uris: [...]}` replaces the list.
async fn set_redirect_uris_route(
    State(state): State<AppState>,
    auth::Merchant(m): auth::Merchant,
    body: Bytes,
) -> Result<Json<serde_json::Value>> {
    let doc: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| Error::BadRequest(format!("The body must be a JSON object: {e}.")))?;
    let Some(list) = doc.get("redirect_uris").and_then(|v| v.as_array()) else {
        return Err(Error::field(
            "redirect_uris",
            "redirect_uris must be an array of URIs.",
        ));
    };
    if list.len() > MAX_REDIRECT_URIS {
        return Err(Error::field(
            "redirect_uris",
            format!("At most {MAX_REDIRECT_URIS} redirect URIs."),
        ));
    }
    let mut errors = crate::error::FieldErrors::new();
    let mut uris = Vec::new();
    for (i, v) in list.iter().enumerate() {
        match v.as_str().map(|u| (u, registrable(u))) {
            Some((u, Ok(()))) => uris.push(u.to_owned()),
            Some((_, Err(m))) => crate::fields::push(&mut errors, &format!("redirect_uris.{i}"), m),
            None => crate::fields::push(
                &mut errors,
                &format!("redirect_uris.{i}"),
                "Must be a string.",
            ),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let uris = state
        .db
        .write(move |tx| {
            tx.execute(
                "DELETE FROM oauth_redirect_uris WHERE merchant_id = ?1",
                [&m.merchant_id],
            )?;
            for u in &uris {
                tx.execute(
                    "INSERT OR IGNORE INTO oauth_redirect_uris (merchant_id, uri) VALUES (?1, ?2)",
                    params![m.merchant_id, u],
                )?;
            }
            redirect_uris(tx, &m.merchant_id)
        })
        .await?;
    Ok(Json(
        json!({"code": 200, "status": "ok", "redirect_uris": uris}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(valid_verifier(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        ));
        assert!(!valid_verifier("short"));
        assert!(!valid_verifier(&"a".repeat(129)));
    }

    #[test]
    fn the_sweeper_deletes_only_what_has_expired() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Db::open(&dir.path().join("s.db")).unwrap();
        let now = ids::now_ms();
        let left = db
            .write_now(|tx| {
                let m = merchants::create(tx, "Sweep", false)?;
                for (token, expires_at) in [("old", now - 1), ("live", now + 60_000)] {
                    let grant = Grant {
                        kind: TokenKind::Merchant,
                        merchant_id: &m.merchant_id,
                        client_id: &m.client_id,
                        user_id: None,
                        scope: "",
                        family_id: None,
                    };
                    insert_access(tx, token, &grant, expires_at)?;
                }
                assert_eq!(sweep(tx, now)?, 1);
                Ok(
                    tx.query_row("SELECT token_hash FROM oauth_access_tokens", [], |r| {
                        r.get::<_, String>(0)
                    })?,
                )
            })
            .unwrap();
        assert_eq!(left, digest("live"));
    }

    #[test]
    fn repeated_authorize_parameters_are_refused() {
        assert!(AuthorizeParams::parse(b"state=a&state=b").is_err());
        let p = AuthorizeParams::parse(b"state=a&client_id=c&other=1&other=2").unwrap();
        assert_eq!((p.state.as_str(), p.client_id.as_str()), ("a", "c"));
    }
}
