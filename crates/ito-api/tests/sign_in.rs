//! The user sign-in's token client against small loopback gateways that misbehave in
//! ways the sandbox does not: a token endpoint that redirects, and one that answers
//! slowly.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ito_api::{
    Client, Credentials, Environment, ErrorKind, Redirect, RedirectProblem, Secret, TokenSet,
    UserSession,
};

fn client(url: &str) -> Client {
    Client::new(
        Environment::sandbox(url).unwrap(),
        Credentials::new("a", "b").with_public_client("public-app"),
    )
    .unwrap()
}

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn the_token_client_never_follows_redirects() {
    // Where a followed redirect would land, on another server.
    let landed = Arc::new(AtomicU32::new(0));
    let count = Arc::clone(&landed);
    let elsewhere = serve(axum::Router::new().fallback(move || {
        count.fetch_add(1, Ordering::SeqCst);
        async { axum::Json(serde_json::json!({"access_token": "stolen", "expires_in": 60})) }
    }))
    .await;
    for status in [301u16, 302, 303, 307, 308] {
        let target = format!("{elsewhere}/oauth/token");
        let gateway = serve(axum::Router::new().route(
            "/oauth/token",
            axum::routing::post(move || async move {
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    [(axum::http::header::LOCATION, target)],
                )
            }),
        ))
        .await;
        let client = client(&gateway);
        let request = client
            .authorization_request("http://127.0.0.1:9/callback", "")
            .unwrap();
        let redirect = Redirect::from_query(&format!("code=abc&state={}", request.state()));
        let err = client.finish_sign_in(request, &redirect).await.unwrap_err();
        assert_eq!(err.status(), Some(status), "{err:?}");
        let err = client
            .refresh_user_tokens(&Secret::new("refresh"))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(status), "{err:?}");
    }
    assert_eq!(landed.load(Ordering::SeqCst), 0);
}

#[test]
fn redirects_are_checked_before_any_exchange() {
    let client = client("http://127.0.0.1:9");
    let request = client
        .authorization_request("http://127.0.0.1:9/callback", "")
        .unwrap();
    let state = request.state().to_owned();
    let check = |q: &str| {
        request
            .check_redirect(&Redirect::from_query(q))
            .map(str::to_owned)
    };
    assert_eq!(check(&format!("code=c1&state={state}")), Ok("c1".into()));
    // Whatever a redirect with another state carries, it is not this sign-in's.
    for q in [
        "code=c1".to_owned(),
        "code=c1&state=forged".to_owned(),
        format!("code=c1&state={state}x"),
        "error=access_denied&state=forged".to_owned(),
    ] {
        assert_eq!(check(&q), Err(RedirectProblem::StateMismatch), "{q}");
    }
    assert_eq!(
        check(&format!("error=access_denied&state={state}")),
        Err(RedirectProblem::Denied)
    );
    assert_eq!(
        check(&format!(
            "error=invalid_request&error_description=PKCE+required&state={state}"
        )),
        Err(RedirectProblem::Refused {
            error: "invalid_request".into(),
            description: Some("PKCE required".into()),
        })
    );
    assert_eq!(
        check(&format!("state={state}")),
        Err(RedirectProblem::NoCode)
    );
}

#[tokio::test]
async fn a_refresh_outlives_the_call_that_started_it() {
    let gateway = serve(axum::Router::new().route(
        "/oauth/token",
        axum::routing::post(|| async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            axum::Json(serde_json::json!({
                "token_type": "Bearer", "access_token": "access-2", "refresh_token": "refresh-2",
                "expires_in": 3600, "scope": ""
            }))
        }),
    ))
    .await;
    let client = client(&gateway);
    let persisted = Arc::new(Mutex::new(Vec::<TokenSet>::new()));
    let sink = Arc::clone(&persisted);
    let session = UserSession::new(TokenSet {
        access_token: Secret::new("access-1"),
        refresh_token: Some(Secret::new("refresh-1")),
        expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
        scope: None,
    })
    .on_refresh_async(move |tokens| {
        let sink = Arc::clone(&sink);
        async move {
            // A keychain write takes a while; the session waits for it.
            tokio::time::sleep(Duration::from_millis(100)).await;
            sink.lock().unwrap().push(tokens);
        }
    });
    // The caller gives up while the gateway is answering: refresh-1 is spent by then.
    let gave_up = tokio::time::timeout(Duration::from_millis(50), session.refresh(&client)).await;
    assert!(gave_up.is_err());
    // The new tokens are persisted before the session hands them out.
    let tokens = session.tokens().await;
    assert_eq!(tokens.refresh_token, Some(Secret::new("refresh-2")));
    assert_eq!(tokens.access_token, Secret::new("access-2"));
    let saved = persisted.lock().unwrap().clone();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].refresh_token, Some(Secret::new("refresh-2")));
}

#[tokio::test]
async fn a_spent_refresh_token_ends_the_session() {
    let gateway = serve(axum::Router::new().route(
        "/oauth/token",
        axum::routing::post(|| async {
            (
                axum::http::StatusCode::BAD_REQUEST,
                axum::Json(serde_json::json!({
                    "error": "invalid_grant",
                    "error_description": "The refresh token was already used."
                })),
            )
        }),
    ))
    .await;
    let client = client(&gateway);
    let session = UserSession::new(TokenSet {
        access_token: Secret::new("access-1"),
        refresh_token: Some(Secret::new("refresh-1")),
        expires_at: chrono::Utc::now(),
        scope: None,
    });
    let err = session.refresh(&client).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert_eq!(err.message(), "The refresh token was already used.");
}
