//! The OAuth server over HTTP: client credentials, authorization code with PKCE,
//! refresh rotation, and every refusal the RFCs ask for.
#![allow(clippy::unwrap_used)]

mod common;
mod support;

use std::time::Duration;

use base64::Engine;
use common::Sandbox;
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::*;

#[tokio::test]
async fn client_credentials_issue_a_merchant_token_that_is_never_cached() {
    let sb = Sandbox::start().await;
    let m = sb.merchant.clone();
    let r = token_request(
        &sb,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &m.client_id),
            ("client_secret", &m.client_secret),
            ("scope", ""),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["cache-control"], "no-store");
    assert_eq!(r.json["token_type"], "Bearer");
    assert_eq!(r.json["expires_in"], 3600);
    assert_eq!(r.json["scope"], "");
    assert!(r.json.get("refresh_token").is_none());
    let token = r.json["access_token"].as_str().unwrap();
    let users = call(
        &sb,
        Method::GET,
        "/api/oauth/merchant/users/usr_nobody/balance",
        token,
        None,
    )
    .await;
    assert_eq!(
        users.status,
        StatusCode::NOT_FOUND,
        "a valid token reaches the route"
    );

    // HTTP Basic works too (RFC 6749 §2.3.1).
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", m.client_id, m.client_secret));
    let res = sb
        .http
        .post(format!("{}/oauth/token", sb.url))
        .header("authorization", format!("Basic {basic}"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn token_endpoint_refusals_follow_rfc_6749_section_5_2() {
    let sb = Sandbox::start().await;
    let m = sb.merchant.clone();
    let wrong = token_request(
        &sb,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &m.client_id),
            ("client_secret", "not-the-secret"),
        ],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.json["error"], "invalid_client");
    assert!(wrong.json["error_description"].is_string());
    assert_eq!(wrong.headers["cache-control"], "no-store");
    assert!(wrong.headers.contains_key("www-authenticate"));

    let unknown = token_request(
        &sb,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "mc_nope"),
            ("client_secret", "x"),
        ],
    )
    .await;
    assert_eq!(unknown.json["error"], "invalid_client");

    let grant = token_request(&sb, &[("grant_type", "password")]).await;
    assert_eq!(grant.status, StatusCode::BAD_REQUEST);
    assert_eq!(grant.json["error"], "unsupported_grant_type");

    let missing = token_request(&sb, &[("client_id", &m.client_id)]).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.json["error"], "invalid_request");

    let repeated = token_request(
        &sb,
        &[
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(repeated.json["error"], "invalid_request");

    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", m.client_id, m.client_secret));
    let both = sb
        .http
        .post(format!("{}/oauth/token", sb.url))
        .header("authorization", format!("Basic {basic}"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_secret", &m.client_secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = both.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");

    let mismatched = sb
        .http
        .post(format!("{}/oauth/token", sb.url))
        .header("authorization", format!("Basic {basic}"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "mc_someone_else"),
        ])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = mismatched.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn tokens_work_only_on_their_own_side() {
    let sb = Sandbox::start().await;
    let (_, user_token, _) = signed_in_user(&sb).await;
    let merchant_token = merchant_token(&sb).await;

    let me = call(&sb, Method::GET, "/api/oauth/user/me", &user_token, None).await;
    assert_eq!(me.status, StatusCode::OK);

    let user_on_merchant = call(
        &sb,
        Method::POST,
        "/api/oauth/merchant/users",
        &user_token,
        Some(json!({})),
    )
    .await;
    assert_eq!(user_on_merchant.status, StatusCode::UNAUTHORIZED);
    assert_eq!(user_on_merchant.json["status"], "error");
    let merchant_on_user = call(
        &sb,
        Method::GET,
        "/api/oauth/user/me",
        &merchant_token,
        None,
    )
    .await;
    assert_eq!(merchant_on_user.status, StatusCode::UNAUTHORIZED);
    let access_key = call(
        &sb,
        Method::GET,
        "/api/oauth/user/me",
        &sb.merchant.access_key,
        None,
    )
    .await;
    assert_eq!(access_key.status, StatusCode::UNAUTHORIZED);
    let unknown = call(&sb, Method::GET, "/api/oauth/user/me", "uat_unknown", None).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let none = sb
        .http
        .get(format!("{}/api/oauth/user/me", sb.url))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn expired_access_tokens_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sb = Sandbox::start_with(dir, |c| c.oauth_access_ttl = Duration::from_secs(1)).await;
    let token = merchant_token(&sb).await;
    let path = "/api/oauth/merchant/users/usr_x/balance";
    assert_eq!(
        call(&sb, Method::GET, path, &token, None).await.status,
        StatusCode::NOT_FOUND
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        call(&sb, Method::GET, path, &token, None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn authorization_code_flow_with_pkce_end_to_end() {
    let sb = Sandbox::start().await;
    let mt = merchant_token(&sb).await;
    let email = unique_email("flow");
    let user = create_user(&sb, &mt, &email, "s3cret-pass").await;
    let p = pkce();

    // The page escapes whatever the client sent.
    let evil_state = "<script>alert(1)</script>\"'";
    let params = authorize_params(&sb, REDIRECT, &p.challenge, evil_state);
    let page = sb
        .http
        .get(format!("{}/oauth/authorize", sb.url))
        .query(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script>"), "state must be escaped");
    assert!(html.contains("&lt;script&gt;") && html.contains("Demo Merchant"));
    assert!(html.contains("name=\"password\"") && html.contains("value=\"approve\""));

    let res = approve(&sb, &params, &email, "s3cret-pass", "approve").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(REDIRECT));
    let q = query_of(&location);
    assert_eq!(q["state"], evil_state);
    let code = &q["code"];

    let r = exchange(&sb, code, &p.verifier, REDIRECT).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.headers["cache-control"], "no-store");
    assert_eq!(r.json["token_type"], "Bearer");
    assert_eq!(r.json["expires_in"], 3600);
    assert!(r.json["refresh_token"].as_str().unwrap().len() > 40);
    let access = r.json["access_token"].as_str().unwrap();
    let me = call(&sb, Method::GET, "/api/oauth/user/me", access, None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json["id"], user["id"]);
    assert_eq!(me.json["email"], email.as_str());
    assert_eq!(me.json["kyc_status"], "not_started");
}

#[tokio::test]
async fn wrong_verifier_consumes_the_code_and_a_reused_code_revokes_its_tokens() {
    let sb = Sandbox::start().await;
    let mt = merchant_token(&sb).await;
    let email = unique_email("pkce");
    create_user(&sb, &mt, &email, "s3cret-pass").await;

    let p = pkce();
    let code = code_for(&sb, &email, "s3cret-pass", &p).await;
    let other = pkce();
    let wrong = exchange(&sb, &code, &other.verifier, REDIRECT).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong.json["error"], "invalid_grant");
    let after = exchange(&sb, &code, &p.verifier, REDIRECT).await;
    assert_eq!(after.json["error"], "invalid_grant", "one attempt per code");

    let p = pkce();
    let code = code_for(&sb, &email, "s3cret-pass", &p).await;
    let first = exchange(&sb, &code, &p.verifier, REDIRECT).await;
    assert_eq!(first.status, StatusCode::OK);
    let access = first.json["access_token"].as_str().unwrap();
    assert_eq!(
        call(&sb, Method::GET, "/api/oauth/user/me", access, None)
            .await
            .status,
        StatusCode::OK
    );
    let again = exchange(&sb, &code, &p.verifier, REDIRECT).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.json["error"], "invalid_grant");
    assert_eq!(
        call(&sb, Method::GET, "/api/oauth/user/me", access, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "tokens from a replayed code are revoked"
    );
    let refresh = token_request(
        &sb,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &sb.merchant.public_client_id),
            (
                "refresh_token",
                first.json["refresh_token"].as_str().unwrap(),
            ),
        ],
    )
    .await;
    assert_eq!(refresh.json["error"], "invalid_grant");

    let short = exchange(&sb, "whatever", "short", REDIRECT).await;
    assert_eq!(short.json["error"], "invalid_request");
}

#[tokio::test]
async fn codes_expire_and_are_bound_to_the_redirect_uri_and_client() {
    let dir = tempfile::tempdir().unwrap();
    let sb = Sandbox::start_with(dir, |c| c.oauth_code_ttl = Duration::from_millis(300)).await;
    let mt = merchant_token(&sb).await;
    let email = unique_email("bound");
    create_user(&sb, &mt, &email, "s3cret-pass").await;

    let p = pkce();
    let code = code_for(&sb, &email, "s3cret-pass", &p).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let expired = exchange(&sb, &code, &p.verifier, REDIRECT).await;
    assert_eq!(expired.json["error"], "invalid_grant");
    assert!(
        expired.json["error_description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );

    let p = pkce();
    let code = code_for(&sb, &email, "s3cret-pass", &p).await;
    let mismatched = exchange(&sb, &code, &p.verifier, "http://127.0.0.1:53682/other").await;
    assert_eq!(mismatched.json["error"], "invalid_grant");
    assert!(
        mismatched.json["error_description"]
            .as_str()
            .unwrap()
            .contains("redirect_uri")
    );

    let p = pkce();
    let code = code_for(&sb, &email, "s3cret-pass", &p).await;
    let other = sb.server.db().create_merchant("Other Shop").unwrap();
    let foreign = token_request(
        &sb,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &other.public_client_id),
            ("redirect_uri", REDIRECT),
            ("code", &code),
            ("code_verifier", &p.verifier),
        ],
    )
    .await;
    assert_eq!(foreign.json["error"], "invalid_grant");
}

#[tokio::test]
async fn authorize_refuses_plain_pkce_and_never_redirects_to_untrusted_uris() {
    let sb = Sandbox::start().await;
    let p = pkce();
    let get = |params: Vec<(&'static str, String)>| {
        let sb = &sb;
        async move {
            sb.http
                .get(format!("{}/oauth/authorize", sb.url))
                .query(&params)
                .send()
                .await
                .unwrap()
        }
    };
    let base = |redirect: &str, method: &str| -> Vec<(&'static str, String)> {
        vec![
            ("response_type", "code".into()),
            ("client_id", sb.merchant.public_client_id.clone()),
            ("redirect_uri", redirect.into()),
            ("state", "s1".into()),
            ("code_challenge", p.challenge.clone()),
            ("code_challenge_method", method.into()),
        ]
    };

    let plain = get(base(REDIRECT, "plain")).await;
    assert_eq!(plain.status(), StatusCode::FOUND);
    let q = query_of(plain.headers()["location"].to_str().unwrap());
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["state"], "s1");

    let mut no_state = base(REDIRECT, "S256");
    no_state.retain(|(k, _)| *k != "state");
    let r = get(no_state).await;
    assert_eq!(
        query_of(r.headers()["location"].to_str().unwrap())["error"],
        "invalid_request"
    );

    let mut token_type = base(REDIRECT, "S256");
    token_type[0].1 = "token".into();
    let r = get(token_type).await;
    assert_eq!(
        query_of(r.headers()["location"].to_str().unwrap())["error"],
        "unsupported_response_type"
    );

    for bad in [
        "https://evil.example/callback",
        "http://localhost:5000/cb",
        "http://127.0.0.1:5000/cb#frag",
        "not a uri",
    ] {
        let r = get(base(bad, "S256")).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(r.headers().get("location").is_none(), "{bad}");
    }
    let mut unknown = base(REDIRECT, "S256");
    unknown[1].1 = "pc_unknown".into();
    let r = get(unknown).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());

    // Loopback on any port, IPv6 too (RFC 8252 §7.3).
    for ok in ["http://127.0.0.1:1/cb", "http://[::1]:65000/callback"] {
        assert_eq!(get(base(ok, "S256")).await.status(), StatusCode::OK, "{ok}");
    }
    // A registered non-loopback URI works once registered, exactly.
    let registered = "com.itojapan.desk:/oauth/callback";
    assert_eq!(
        get(base(registered, "S256")).await.status(),
        StatusCode::BAD_REQUEST
    );
    let set = call(
        &sb,
        Method::PUT,
        "/sandbox/oauth/redirect-uris",
        &sb.merchant.access_key,
        Some(json!({"redirect_uris": [registered, "https://shop.example/cb"]})),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.json);
    let listed = call(
        &sb,
        Method::GET,
        "/sandbox/oauth/redirect-uris",
        &sb.merchant.access_key,
        None,
    )
    .await;
    assert_eq!(
        listed.json["redirect_uris"],
        json!([registered, "https://shop.example/cb"])
    );
    assert_eq!(get(base(registered, "S256")).await.status(), StatusCode::OK);
    assert_eq!(
        get(base("https://shop.example/cb/extra", "S256"))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    let refused = call(
        &sb,
        Method::PUT,
        "/sandbox/oauth/redirect-uris",
        &sb.merchant.access_key,
        Some(json!({"redirect_uris": ["http://shop.example/cb"]})),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn deny_and_wrong_password() {
    let sb = Sandbox::start().await;
    let mt = merchant_token(&sb).await;
    let email = unique_email("deny");
    create_user(&sb, &mt, &email, "s3cret-pass").await;
    let p = pkce();
    let params = authorize_params(&sb, REDIRECT, &p.challenge, "st-9");

    let denied = approve(&sb, &params, &email, "", "deny").await;
    assert_eq!(denied.status(), StatusCode::FOUND);
    let q = query_of(denied.headers()["location"].to_str().unwrap());
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st-9");
    assert!(!q.contains_key("code"));

    let wrong = approve(&sb, &params, &email, "not-it", "approve").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get("location").is_none());
    assert!(wrong.text().await.unwrap().contains("incorrect"));

    // Another merchant's user cannot sign in through this merchant's client.
    let other = sb.server.db().create_merchant("Other Shop").unwrap();
    let other_sb_token = token_request(
        &sb,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &other.client_id),
            ("client_secret", &other.client_secret),
        ],
    )
    .await;
    let ot = other_sb_token.json["access_token"].as_str().unwrap();
    let foreign_email = unique_email("foreign");
    create_user(&sb, ot, &foreign_email, "s3cret-pass").await;
    let foreign = approve(&sb, &params, &foreign_email, "s3cret-pass", "approve").await;
    assert_eq!(foreign.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let sb = Sandbox::start().await;
    let (_, access1, refresh1) = signed_in_user(&sb).await;
    let pc = sb.merchant.public_client_id.clone();
    let refresh = |token: String| {
        let sb = &sb;
        let pc = pc.clone();
        async move {
            token_request(
                sb,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", &pc),
                    ("refresh_token", &token),
                ],
            )
            .await
        }
    };

    let r2 = refresh(refresh1.clone()).await;
    assert_eq!(r2.status, StatusCode::OK, "{}", r2.json);
    assert_eq!(r2.headers["cache-control"], "no-store");
    let refresh2 = r2.json["refresh_token"].as_str().unwrap().to_owned();
    let access2 = r2.json["access_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh2, refresh1);
    assert_eq!(
        call(&sb, Method::GET, "/api/oauth/user/me", &access2, None)
            .await
            .status,
        StatusCode::OK
    );

    let r3 = refresh(refresh2.clone()).await;
    assert_eq!(r3.status, StatusCode::OK);
    let access3 = r3.json["access_token"].as_str().unwrap().to_owned();
    let refresh3 = r3.json["refresh_token"].as_str().unwrap().to_owned();

    // refresh1 was rotated: presenting it again ends the whole family.
    let reuse = refresh(refresh1).await;
    assert_eq!(reuse.status, StatusCode::BAD_REQUEST);
    assert_eq!(reuse.json["error"], "invalid_grant");
    for t in [&access1, &access2, &access3] {
        assert_eq!(
            call(&sb, Method::GET, "/api/oauth/user/me", t, None)
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(refresh(refresh3).await.json["error"], "invalid_grant");

    let secret = token_request(
        &sb,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &sb.merchant.public_client_id),
            ("client_secret", "x"),
            ("refresh_token", "urt_x"),
        ],
    )
    .await;
    assert_eq!(secret.json["error"], "invalid_client");
}
