//! Retries, timeouts and idempotency under the sandbox's fault injection.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{credentials, fast_retries, sandbox};
use futures_util::TryStreamExt;
use futures_util::future::join_all;
use ito_api::sandbox::Faults;
use ito_api::{Client, Currency, Environment, ErrorKind, Money, NewPayment, RequestRecord};

fn payment(custom: String) -> NewPayment {
    NewPayment {
        custom,
        amount: Money::from_minor(1999, Currency::Usd),
        details: None,
        web_hook: "https://shop.example/hook".parse().unwrap(),
        cancel_url: "https://shop.example/cancel".parse().unwrap(),
        success_url: "https://shop.example/thanks".parse().unwrap(),
        customer_email: "buyer@example.com".into(),
    }
}

#[tokio::test]
async fn idempotent_creations_survive_errors_and_drops_exactly_once() {
    let sb = sandbox().await;
    let (client, log) = sb.client_for(&sb.merchant);
    // Patient enough that 0.4^12 makes a lost payment practically impossible.
    let patient = Client::builder(
        Environment::sandbox(&sb.server.url()).unwrap(),
        credentials(&sb.merchant),
    )
    .retry(fast_retries(12))
    .observer({
        let log = log.clone();
        move |r: &RequestRecord| log.lock().unwrap().push(r.clone())
    })
    .build()
    .unwrap();
    client
        .sandbox()
        .set_faults(&Faults {
            latency_ms: 20,
            error_rate: 0.3,
            drop_rate: 0.1,
        })
        .await
        .unwrap();
    const N: usize = 24;
    let results = join_all((0..N).map(|i| {
        let c = patient.clone();
        async move { c.create_payment(&payment(format!("BATCH-{i}"))).await }
    }))
    .await;
    client.sandbox().clear_faults().await.unwrap();
    let created: Vec<_> = results.into_iter().map(Result::unwrap).collect();

    // Each logical creation made exactly one payment.
    let all: Vec<_> = client.sandbox().all_payments().try_collect().await.unwrap();
    assert_eq!(all.len(), N);
    let customs: HashSet<_> = all.iter().map(|p| p.custom.clone()).collect();
    assert_eq!(customs.len(), N);
    let ids: HashSet<_> = created.iter().map(|c| c.payment_id.clone()).collect();
    assert_eq!(ids, all.iter().map(|p| p.payment_id.clone()).collect());

    // Faults really happened, and were retried with the same key.
    let records = log.lock().unwrap().clone();
    let creates: Vec<_> = records
        .iter()
        .filter(|r| r.path == "/payment/process")
        .collect();
    assert!(
        creates.len() > N,
        "no retry happened in {} attempts",
        creates.len()
    );
    assert!(creates.iter().any(|r| r.status == Some(503)));
    for c in &created {
        assert!(
            creates
                .iter()
                .filter(|r| r.idempotency_key.as_deref() == Some(c.idempotency_key.as_str()))
                .all(|r| r.status.is_none_or(|s| s == 200 || s == 503))
        );
    }
    sb.server.shutdown().await;
}

#[tokio::test]
async fn timeouts_fire_and_unsafe_calls_are_not_retried() {
    let sb = sandbox().await;
    let (client, log) = sb.client_for(&sb.merchant);
    let created = client.create_payment(&payment("T-1".into())).await.unwrap();

    client
        .sandbox()
        .set_faults(&Faults {
            latency_ms: 400,
            error_rate: 0.0,
            drop_rate: 0.0,
        })
        .await
        .unwrap();
    let (records_tx, mut records) = tokio::sync::mpsc::unbounded_channel::<RequestRecord>();
    let hasty = Client::builder(
        Environment::sandbox(&sb.server.url()).unwrap(),
        credentials(&sb.merchant),
    )
    .timeout(Duration::from_millis(100))
    .retry(fast_retries(2))
    .observer(records_tx)
    .build()
    .unwrap();
    let started = std::time::Instant::now();
    let err = hasty.check_validity(&created.payment_id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_secs(2));
    // Both attempts timed out, as the request log (here a channel) shows.
    drop(hasty);
    let mut seen = Vec::new();
    while let Some(r) = records.recv().await {
        seen.push((r.attempt, r.status, r.error));
    }
    assert_eq!(
        seen,
        [
            (1, None, Some(ErrorKind::Timeout)),
            (2, None, Some(ErrorKind::Timeout))
        ]
    );

    // Completing a payment is not idempotent: a 503 is returned, never retried.
    client
        .sandbox()
        .set_faults(&Faults {
            latency_ms: 0,
            error_rate: 1.0,
            drop_rate: 0.0,
        })
        .await
        .unwrap();
    log.lock().unwrap().clear();
    let err = client
        .sandbox()
        .complete(&created.payment_id)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
    assert_eq!(err.status(), Some(503));
    let attempts = log
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.path.ends_with("/complete"))
        .count();
    assert_eq!(attempts, 1);
    // A GET is retried up to the policy's limit, then the last error is returned.
    log.lock().unwrap().clear();
    let err = client
        .sandbox()
        .payment(&created.payment_id)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
    let attempts: Vec<u32> = log.lock().unwrap().iter().map(|r| r.attempt).collect();
    assert_eq!(attempts, [1, 2, 3, 4]);
    client.sandbox().clear_faults().await.unwrap();
    assert_eq!(client.sandbox().faults().await.unwrap(), Faults::default());
    sb.server.shutdown().await;
}

/// The sandbox never answers 429, so a tiny loopback server plays a rate-limited
/// gateway: one 429 with `Retry-After: 1`, then success.
#[tokio::test]
async fn retry_after_is_honoured() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let answer = |status: &str, extra: &str, body: &str| {
            format!(
                "HTTP/1.1 {status}\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        };
        let answers = [
            answer(
                "429 Too Many Requests",
                "Retry-After: 1\r\n",
                r#"{"code":429,"status":"error","message":"Slow down."}"#,
            ),
            answer(
                "200 OK",
                "",
                r#"{"code":200,"status":"ok","message":"Transaction is valid","payment_id":"P","transaction":"T"}"#,
            ),
        ];
        for answer in answers {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await.unwrap();
            s.write_all(answer.as_bytes()).await.unwrap();
        }
    });
    let client = Client::builder(
        Environment::sandbox(&url).unwrap(),
        ito_api::Credentials::new("a", "b"),
    )
    .retry(fast_retries(3))
    .build()
    .unwrap();
    let started = std::time::Instant::now();
    let v = client.check_validity(&"P".into()).await.unwrap();
    assert!(matches!(v, ito_api::Validity::Valid { .. }));
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
}

/// The sandbox cannot revoke a live merchant token, so a small loopback gateway does:
/// it hands out numbered tokens and refuses every token but the ones it accepts.
async fn token_gateway(accepted: &'static [&'static str]) -> String {
    use axum::http::{HeaderMap, StatusCode};
    use std::sync::atomic::{AtomicU32, Ordering};
    let issued = std::sync::Arc::new(AtomicU32::new(0));
    let app = axum::Router::new()
        .route(
            "/oauth/token",
            axum::routing::post(move || {
                let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
                async move {
                    axum::Json(serde_json::json!({
                        "token_type": "Bearer", "access_token": format!("token-{n}"), "expires_in": 3600, "scope": ""
                    }))
                }
            }),
        )
        .route(
            "/api/oauth/merchant/users/{user}/cards",
            axum::routing::get(move |headers: HeaderMap| async move {
                let auth = headers["authorization"].to_str().unwrap().to_owned();
                if accepted.iter().any(|t| auth == format!("Bearer {t}")) {
                    (StatusCode::OK, axum::Json(serde_json::json!({"data": []})))
                } else {
                    (
                        StatusCode::UNAUTHORIZED,
                        axum::Json(serde_json::json!({"code": 401, "status": "error", "message": "Unauthenticated."})),
                    )
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn a_rejected_merchant_token_is_replaced_once() {
    for (accepted, ok) in [(&["token-2"][..], true), (&[][..], false)] {
        let url = token_gateway(accepted).await;
        let log: common::Log = Default::default();
        let sink = log.clone();
        let client = Client::builder(
            Environment::sandbox(&url).unwrap(),
            ito_api::Credentials::new("a", "b").with_oauth("cid", "secret"),
        )
        .observer(move |r: &RequestRecord| sink.lock().unwrap().push(r.clone()))
        .build()
        .unwrap();
        let result = client.merchant().cards(&"u1".into()).await;
        assert_eq!(result.is_ok(), ok, "{result:?}");
        if !ok {
            assert_eq!(result.unwrap_err().kind(), ErrorKind::Unauthorized);
        }
        // One refused call, one new token, one more try; never a loop.
        let paths: Vec<(String, Option<u16>)> = log
            .lock()
            .unwrap()
            .iter()
            .map(|r| (r.path.clone(), r.status))
            .collect();
        let cards = "/api/oauth/merchant/users/u1/cards".to_owned();
        let token = "/oauth/token".to_owned();
        let last = if ok { 200 } else { 401 };
        assert_eq!(
            paths,
            [
                (token.clone(), Some(200)),
                (cards.clone(), Some(401)),
                (token, Some(200)),
                (cards, Some(last)),
            ]
        );
    }
}
