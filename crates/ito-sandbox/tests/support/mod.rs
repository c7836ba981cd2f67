//! Helpers for the part-2 tests: OAuth flows, users and KYC over HTTP against the
//! real server started by `common::Sandbox`.
#![allow(clippy::unwrap_used, dead_code)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::Sandbox;

pub const REDIRECT: &str = "http://127.0.0.1:53682/callback";

/// A response as (status, headers, JSON or null).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
}

pub async fn call(
    sb: &Sandbox,
    method: Method,
    path: &str,
    bearer: &str,
    body: Option<Value>,
) -> Reply {
    let mut req = sb
        .http
        .request(method, format!("{}{}", sb.url, path))
        .bearer_auth(bearer);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        json,
    }
}

pub async fn token_request(sb: &Sandbox, form: &[(&str, &str)]) -> Reply {
    let res = sb
        .http
        .post(format!("{}/oauth/token", sb.url))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let json = res.json().await.unwrap();
    Reply {
        status,
        headers,
        json,
    }
}

pub async fn merchant_token(sb: &Sandbox) -> String {
    let r = token_request(
        sb,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &sb.merchant.client_id),
            ("client_secret", &sb.merchant.client_secret),
            ("scope", ""),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    r.json["access_token"].as_str().unwrap().to_owned()
}

pub fn unique_email(stem: &str) -> String {
    format!("{stem}.{}@example.com", uuid::Uuid::new_v4().simple())
}

/// Creates a user with `password` through the merchant API and returns it.
pub async fn create_user(sb: &Sandbox, token: &str, email: &str, password: &str) -> Value {
    let r = call(
        sb,
        Method::POST,
        "/api/oauth/merchant/users",
        token,
        Some(json!({"email": email, "name": "山田 太郎", "country": "JP", "password": password})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    r.json
}

pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

pub fn pkce() -> Pkce {
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    Pkce {
        verifier,
        challenge,
    }
}

/// The authorize parameters a client sends.
pub fn authorize_params<'a>(
    sb: &'a Sandbox,
    redirect_uri: &'a str,
    challenge: &'a str,
    state: &'a str,
) -> Vec<(&'static str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", &sb.merchant.public_client_id),
        ("redirect_uri", redirect_uri),
        ("scope", ""),
        ("state", state),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

/// Posts the sign-in form and returns the redirect's Location.
pub async fn approve(
    sb: &Sandbox,
    params: &[(&str, &str)],
    email: &str,
    password: &str,
    decision: &str,
) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = params.to_vec();
    form.extend([
        ("email", email),
        ("password", password),
        ("decision", decision),
    ]);
    sb.http
        .post(format!("{}/oauth/authorize", sb.url))
        .form(&form)
        .send()
        .await
        .unwrap()
}

pub fn query_of(location: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Runs the whole authorization-code flow and returns the code.
pub async fn code_for(sb: &Sandbox, email: &str, password: &str, pkce: &Pkce) -> String {
    let params = authorize_params(sb, REDIRECT, &pkce.challenge, "st-1");
    let res = approve(sb, &params, email, password, "approve").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let q = query_of(res.headers()["location"].to_str().unwrap());
    assert_eq!(q["state"], "st-1");
    q["code"].clone()
}

pub async fn exchange(sb: &Sandbox, code: &str, verifier: &str, redirect_uri: &str) -> Reply {
    token_request(
        sb,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &sb.merchant.public_client_id),
            ("redirect_uri", redirect_uri),
            ("code", code),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// A user token (and refresh token) for a fresh user of the sandbox's merchant.
pub async fn signed_in_user(sb: &Sandbox) -> (Value, String, String) {
    let mt = merchant_token(sb).await;
    let email = unique_email("user");
    let user = create_user(sb, &mt, &email, "s3cret-pass").await;
    let p = pkce();
    let code = code_for(sb, &email, "s3cret-pass", &p).await;
    let r = exchange(sb, &code, &p.verifier, REDIRECT).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    (
        user,
        r.json["access_token"].as_str().unwrap().to_owned(),
        r.json["refresh_token"].as_str().unwrap().to_owned(),
    )
}

pub fn complete_kyc() -> Value {
    json!({
        "legal_name": "山田 太郎",
        "legal_name_kana": "ヤマダ タロウ",
        "date_of_birth": "1990-04-01",
        "nationality": "JP",
        "postal_code": "100-0001",
        "prefecture": "tokyo",
        "city": "千代田区",
        "address_line1": "千代田1-1",
        "phone": "+81312345678",
        "occupation": "会社員",
        "purpose_of_use": "shopping",
        "id_document_type": "passport",
        "id_document_number": "TK1234567"
    })
}

pub const REQUIRED_KYC: [&str; 13] = [
    "legal_name",
    "legal_name_kana",
    "date_of_birth",
    "nationality",
    "postal_code",
    "prefecture",
    "city",
    "address_line1",
    "phone",
    "occupation",
    "purpose_of_use",
    "id_document_type",
    "id_document_number",
];
