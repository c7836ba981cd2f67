//! Whole payments over HTTP against the real server, and every refusal of part 1.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{Listener, Sandbox, payment, seed_verify};
use reqwest::Method;
use serde_json::{Value, json};

fn payment_id(created: &Value) -> String {
    created["payment_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_whole_payment_from_link_to_verified_webhook() {
    let sb = Sandbox::start().await;
    let mut hook = Listener::start(0).await;
    let sent = payment(&hook.url());
    let created = sb.create(&sent).await;
    assert_eq!(created["code"], 200);
    assert_eq!(created["status"], "ok");
    let id = payment_id(&created);
    assert_eq!(id.len(), 25);
    assert_eq!(
        created["url"],
        format!("{}/process-checkout?payment_id={id}", sb.url)
    );

    let page = sb
        .http
        .get(created["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Demo Merchant")
            && html.contains("$280.00")
            && html.contains("Digital Product")
    );
    assert!(!html.contains("<script"));

    let (status, before) = sb.check_validity(&sb.merchant.access_key, &id).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(before["payment_status"], "pending");

    let paid = sb
        .http
        .post(format!("{}/process-checkout/pay", sb.url))
        .form(&[("payment_id", &id)])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        paid.headers()["location"],
        "https://yoursite.com/success_url.php"
    );
    // The stand-in return pages for links made before a shop has its own.
    for (path, title) in [
        (ito_sandbox::RETURN_PAID, "Payment complete"),
        (ito_sandbox::RETURN_CANCELLED, "Payment cancelled"),
    ] {
        let page = sb
            .http
            .get(format!("{}{path}", sb.url))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await.unwrap().contains(title));
    }

    let delivery = hook.next().await;
    assert!(
        seed_verify(&delivery, &sb.merchant.secret_key),
        "webhook fails the documented PHP check"
    );
    assert!(
        delivery.headers["x-signature"]
            .to_str()
            .unwrap()
            .starts_with("sha256=")
    );
    let body = std::str::from_utf8(&delivery.body).unwrap();
    // Amounts are JSON numbers at the currency's scale, exactly as documented.
    assert!(
        body.contains(r#""amount":280.00"#) && body.contains(r#""charge":13.10"#),
        "{body}"
    );
    let event: Value = serde_json::from_str(body).unwrap();
    assert_eq!(event["code"], 200);
    assert_eq!(event["status"], "ok");
    assert_eq!(event["payment_id"], id.as_str());
    assert_eq!(event["transaction"].as_str().unwrap().len(), 11);
    assert_eq!(event["currency"], "USD");
    assert_eq!(event["custom"], sent["custom"]);
    assert_eq!(
        event["date"],
        chrono::Utc::now().format("%d-%m-%Y").to_string()
    );

    let (status, valid) = sb.check_validity(&sb.merchant.access_key, &id).await;
    assert_eq!(status, StatusCode::OK, "{valid}");
    assert_eq!(valid["message"], "Transaction is valid");
    assert_eq!(valid["payment_status"], "paid");

    // A paid payment's page is a clear notice, and paying again changes nothing.
    let again = sb
        .http
        .get(created["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(again.text().await.unwrap().contains("already been paid"));
    let twice = sb
        .http
        .post(format!("{}/process-checkout/pay", sb.url))
        .form(&[("payment_id", &id)])
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), StatusCode::CONFLICT);

    let attempts = sb.wait_attempts(&id, 1).await;
    assert_eq!(attempts[0]["status_code"], 200);
    let (_, shown) = sb
        .control(Method::GET, &format!("/sandbox/payments/{id}"))
        .await;
    assert_eq!(shown["payment"]["net"], "266.90");
}

#[tokio::test]
async fn form_encoded_bodies_are_signed_over_the_bytes_received() {
    let sb = Sandbox::start().await;
    // What the documentation's PHP sends: http_build_query of the parameters.
    let body = "custom=DFU80XZIKS&currency_code=JPY&amount=1200&details=%E3%83%87%E3%82%B8%E3%82%BF%E3%83%AB&web_hook=https%3A%2F%2Fyoursite.com%2Fweb_hook.php&cancel_url=https%3A%2F%2Fyoursite.com%2Fc&success_url=https%3A%2F%2Fyoursite.com%2Fs&customer_email=buyer%40example.com";
    let (status, _, json) = sb
        .process_raw(
            &sb.merchant,
            body,
            "application/x-www-form-urlencoded",
            Sandbox::now(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let (_, shown) = sb
        .control(
            Method::GET,
            &format!("/sandbox/payments/{}", payment_id(&json)),
        )
        .await;
    assert_eq!(shown["payment"]["amount"], "1200");
    assert_eq!(shown["payment"]["currency"], "JPY");
    assert_eq!(shown["payment"]["details"], "デジタル");
    let page = sb
        .http
        .get(json["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("¥1,200"));
}

#[tokio::test]
async fn check_validity_accepts_json_form_and_multipart() {
    let sb = Sandbox::start().await;
    let hook = Listener::start(0).await;
    let id = payment_id(&sb.create(&payment(&hook.url())).await);
    let (status, _) = sb
        .control(Method::POST, &format!("/sandbox/payments/{id}/complete"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let url = format!("{}/payment/check-validity", sb.url);
    let key = &sb.merchant.access_key;
    let form = sb
        .http
        .post(&url)
        .bearer_auth(key)
        .form(&[("payment_id", &id)])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    let multipart = reqwest::multipart::Form::new().text("payment_id", id.clone());
    let mp = sb
        .http
        .post(&url)
        .bearer_auth(key)
        .multipart(multipart)
        .send()
        .await
        .unwrap();
    assert_eq!(mp.status(), 200);
    assert_eq!(mp.json::<Value>().await.unwrap()["payment_status"], "paid");
    let missing = sb
        .http
        .post(&url)
        .bearer_auth(key)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 422);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["errors"]["payment_id"][0],
        "The payment_id field is required."
    );
}

#[tokio::test]
async fn cancel_and_expire_paths() {
    let sb = Sandbox::start().await;
    let hook = Listener::start(0).await;

    let cancelled = payment_id(&sb.create(&payment(&hook.url())).await);
    let res = sb
        .http
        .post(format!("{}/process-checkout/cancel", sb.url))
        .form(&[("payment_id", &cancelled)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"],
        "https://yoursite.com/cancel_url.php"
    );
    let (status, json) = sb.check_validity(&sb.merchant.access_key, &cancelled).await;
    assert_eq!(
        (status, json["payment_status"].as_str()),
        (StatusCode::CONFLICT, Some("cancelled"))
    );
    let page = sb
        .http
        .get(format!(
            "{}/process-checkout?payment_id={cancelled}",
            sb.url
        ))
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("cancelled"));

    let expired = payment_id(&sb.create(&payment(&hook.url())).await);
    let (status, json) = sb
        .control(Method::POST, &format!("/sandbox/payments/{expired}/expire"))
        .await;
    assert_eq!(
        (status, json["payment"]["status"].as_str()),
        (StatusCode::OK, Some("expired"))
    );
    let (status, json) = sb
        .control(
            Method::POST,
            &format!("/sandbox/payments/{expired}/complete"),
        )
        .await;
    assert_eq!(
        (status, json["payment_status"].as_str()),
        (StatusCode::CONFLICT, Some("expired"))
    );
    let (status, _) = sb
        .control(
            Method::POST,
            &format!("/sandbox/payments/{expired}/redeliver"),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let unknown = sb
        .http
        .get(format!("{}/process-checkout?payment_id=nope", sb.url))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let empty = sb
        .http
        .get(format!("{}/process-checkout", sb.url))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pending_payments_expire_after_the_configured_time() {
    let dir = tempfile::tempdir().unwrap();
    let sb = Sandbox::start_with(dir, |c| c.payment_ttl = Duration::from_millis(300)).await;
    let id = payment_id(&sb.create(&payment("https://example.com/hook")).await);
    let (status, _) = sb.check_validity(&sb.merchant.access_key, &id).await;
    assert_eq!(status, StatusCode::CONFLICT);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let page = sb
        .http
        .get(format!("{}/process-checkout?payment_id={id}", sb.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::CONFLICT);
    assert!(page.text().await.unwrap().contains("expired"));
    let paid = sb
        .http
        .post(format!("{}/process-checkout/pay", sb.url))
        .form(&[("payment_id", &id)])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), StatusCode::CONFLICT);
    let (_, json) = sb
        .control(Method::GET, &format!("/sandbox/payments/{id}"))
        .await;
    assert_eq!(json["payment"]["status"], "expired");
}

#[tokio::test]
async fn credential_and_signature_refusals() {
    let sb = Sandbox::start().await;
    let body = payment("https://example.com/hook").to_string();
    let m = &sb.merchant;
    let now = Sandbox::now();
    let url = format!("{}/payment/process", sb.url);

    let no_key = sb.http.post(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(no_key.status(), 401);
    assert_eq!(
        no_key.json::<Value>().await.unwrap(),
        json!({"code":401,"status":"error","message":"Invalid API credentials."})
    );
    let mut wrong = m.clone();
    wrong.access_key = "51a4bd18-5bc1-4eaa-97b0-c09323398883".into();
    let (status, _, json) = sb
        .process_raw(&wrong, &body, "application/json", now, None)
        .await;
    assert_eq!(
        (status, json["message"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("Invalid API credentials."))
    );

    let missing_sig = sb
        .http
        .post(&url)
        .bearer_auth(&m.access_key)
        .header("x-timestamp", now.to_string())
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(missing_sig.status(), 401);
    assert_eq!(
        missing_sig.json::<Value>().await.unwrap()["message"],
        "Missing X-Signature header."
    );

    let mut wrong_secret = m.clone();
    wrong_secret.secret_key = "not-the-secret".into();
    let (status, _, json) = sb
        .process_raw(&wrong_secret, &body, "application/json", now, None)
        .await;
    assert_eq!(
        (status, json["message"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("Invalid signature."))
    );

    let (status, _, json) = sb
        .process_raw(m, &body, "application/json", now - 310, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(json["message"].as_str().unwrap().contains("300 seconds"));
    let (status, _, _) = sb
        .process_raw(m, &body, "application/json", now + 310, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Tampering with the body after signing.
    let sig = ito_sandbox::sign(&m.secret_key, now, body.as_bytes());
    let tampered = body.replace("buyer@example.com", "thief@example.com");
    assert_ne!(tampered, body);
    let res = sb
        .http
        .post(&url)
        .bearer_auth(&m.access_key)
        .header("x-timestamp", now.to_string())
        .header("x-signature", &sig)
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let (status, _, _) = sb
        .process_raw(m, &body, "application/json", now, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, json) = sb
        .process_raw(m, &body, "application/json", now, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        json["message"].as_str().unwrap().contains("already used"),
        "{json}"
    );
    // The prefixed form is accepted too.
    let ts = now - 1;
    let sig = format!(
        "sha256={}",
        ito_sandbox::sign(&m.secret_key, ts, body.as_bytes())
    );
    let res = sb
        .http
        .post(&url)
        .bearer_auth(&m.access_key)
        .header("x-timestamp", ts.to_string())
        .header("x-signature", sig)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once() {
    let sb = Sandbox::start().await;
    let body = json!({
        "amount": "-5",
        "details": "x".repeat(256),
        "web_hook": "ftp://example.com/hook",
        "cancel_url": "/relative",
        "success_url": "not a url",
        "customer_email": "buyer@",
    });
    let (status, _, json) = sb
        .process_raw(
            &sb.merchant,
            &body.to_string(),
            "application/json",
            Sandbox::now(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json["code"], 422);
    assert_eq!(json["status"], "error");
    let fields: Vec<&String> = json["errors"].as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        [
            "amount",
            "cancel_url",
            "custom",
            "customer_email",
            "details",
            "success_url",
            "web_hook"
        ]
    );

    let cases = [
        (
            json!({"amount": 1200.5, "currency_code": "JPY"}),
            "amount",
            "The amount must be a whole number in JPY.",
        ),
        (
            json!({"amount": "10.001"}),
            "amount",
            "The amount may have at most 2 decimal places in USD.",
        ),
        (
            json!({"amount": 0}),
            "amount",
            "The amount must be greater than 0.",
        ),
        (
            json!({"amount": true}),
            "amount",
            "The amount must be a number or a decimal string, not a boolean.",
        ),
        (
            json!({"currency_code": "EUR"}),
            "currency_code",
            "The currency code must be one of USD, JPY, SGP-USD.",
        ),
        (
            json!({"customer_email": "a@b"}),
            "customer_email",
            "The customer email must be a valid email address.",
        ),
        (
            json!({"custom": ""}),
            "custom",
            "The custom field is required.",
        ),
        (
            json!({"custom": ["a"]}),
            "custom",
            "The custom field must be a string, not a array.",
        ),
    ];
    for (patch, field, message) in cases {
        let mut body = payment("https://example.com/hook");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, _, json) = sb
            .process_raw(
                &sb.merchant,
                &body.to_string(),
                "application/json",
                Sandbox::now(),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{patch}");
        assert_eq!(json["errors"][field][0], message, "{patch}: {json}");
        assert_eq!(json["errors"].as_object().unwrap().len(), 1, "{json}");
    }

    // Fine: trailing zeros, strings, SGP-USD, no currency (USD).
    for (amount, currency) in [
        (json!("10.100"), json!("USD")),
        (json!(280.0), json!("SGP-USD")),
        (json!("1200.00"), json!("JPY")),
    ] {
        let mut body = payment("https://example.com/hook");
        body["amount"] = amount;
        body["currency_code"] = currency;
        sb.create(&body).await;
    }
    let (_, list) = sb.control(Method::GET, "/sandbox/payments").await;
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        3,
        "rejected requests must leave nothing behind"
    );
}

#[tokio::test]
async fn idempotency_keys_identify_retries_not_signatures() {
    let sb = Sandbox::start().await;
    let body = payment("https://example.com/hook").to_string();
    let now = Sandbox::now();
    let (s1, h1, first) = sb
        .process_raw(
            &sb.merchant,
            &body,
            "application/json",
            now,
            Some("order-1"),
        )
        .await;
    assert_eq!(s1, StatusCode::OK);
    assert!(h1.get("idempotent-replayed").is_none());
    // A retry: same key and body, signed afresh.
    let (s2, h2, second) = sb
        .process_raw(
            &sb.merchant,
            &body,
            "application/json",
            now + 1,
            Some("order-1"),
        )
        .await;
    assert_eq!(s2, StatusCode::OK);
    assert_eq!(h2["idempotent-replayed"], "true");
    assert_eq!(first, second);
    // The exact replay of the retry is still refused.
    let (s3, _, _) = sb
        .process_raw(
            &sb.merchant,
            &body,
            "application/json",
            now + 1,
            Some("order-1"),
        )
        .await;
    assert_eq!(s3, StatusCode::UNAUTHORIZED);
    // Same key, different body: conflict.
    let other = body.replace("buyer@example.com", "other@example.com");
    let (s4, _, conflict) = sb
        .process_raw(
            &sb.merchant,
            &other,
            "application/json",
            now + 2,
            Some("order-1"),
        )
        .await;
    assert_eq!(s4, StatusCode::CONFLICT);
    assert_eq!(conflict["code"], 409);
    // Keys are scoped per merchant.
    let m2 = sb.server.db().create_merchant("Other Shop").unwrap();
    let (s5, _, theirs) = sb
        .process_raw(&m2, &body, "application/json", now, Some("order-1"))
        .await;
    assert_eq!(s5, StatusCode::OK);
    assert_ne!(theirs["payment_id"], first["payment_id"]);
    let (_, list) = sb.control(Method::GET, "/sandbox/payments").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);

    // Concurrent retries of one logical request create exactly one payment.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let body = body.replace("buyer@example.com", "concurrent@example.com");
        let sb_url = sb.url.clone();
        let m = sb.merchant.clone();
        tasks.push(tokio::spawn(async move {
            let ts = Sandbox::now() - i;
            let sig = ito_sandbox::sign(&m.secret_key, ts, body.as_bytes());
            let res = reqwest::Client::new()
                .post(format!("{sb_url}/payment/process"))
                .bearer_auth(&m.access_key)
                .header("x-timestamp", ts.to_string())
                .header("x-signature", sig)
                .header("idempotency-key", "concurrent")
                .body(body)
                .send()
                .await
                .unwrap();
            res.json::<Value>().await.unwrap()["payment_id"].clone()
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    let (_, list) = sb.control(Method::GET, "/sandbox/payments").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn another_merchants_payment_is_not_found() {
    let sb = Sandbox::start().await;
    let id = payment_id(&sb.create(&payment("https://example.com/hook")).await);
    let other = sb.server.db().create_merchant("Other Shop").unwrap();
    let (status, json) = sb.check_validity(&other.access_key, &id).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        json,
        json!({"code":404,"status":"error","message":"Transaction not found"})
    );
    let (status, _) = sb
        .check_validity(&sb.merchant.access_key, "AAAAAAAAAAAAAAAAAAAAAAAAA")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let res = sb
        .http
        .post(format!("{}/sandbox/payments/{id}/complete", sb.url))
        .bearer_auth(&other.access_key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = sb
        .http
        .get(format!("{}/sandbox/payments/{id}", sb.url))
        .bearer_auth(&other.access_key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let (status, _) = sb.check_validity("nope", &id).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn webhooks_are_retried_until_acknowledged() {
    let sb = Sandbox::start().await;
    let mut hook = Listener::start(2).await;
    let id = payment_id(&sb.create(&payment(&hook.url())).await);
    sb.control(Method::POST, &format!("/sandbox/payments/{id}/complete"))
        .await;
    let first = hook.next().await;
    let second = hook.next().await;
    let third = hook.next().await;
    assert_eq!(
        first.body, third.body,
        "every attempt carries the same event"
    );
    for d in [&first, &second, &third] {
        assert!(seed_verify(d, &sb.merchant.secret_key));
    }
    assert_eq!(third.headers["x-webhook-attempt"], "3");
    let attempts = sb.wait_attempts(&id, 3).await;
    let codes: Vec<&Value> = attempts.iter().map(|a| &a["status_code"]).collect();
    assert_eq!(codes, [&json!(500), &json!(500), &json!(200)]);
    assert!(attempts.iter().all(|a| a["latency_ms"].is_u64()));

    // Redelivery queues a new, independent delivery.
    let (status, json) = sb
        .control(Method::POST, &format!("/sandbox/payments/{id}/redeliver"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{json}");
    let again = hook.next().await;
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers["x-webhook-attempt"], "1");
}

#[tokio::test]
async fn a_restart_on_the_same_database_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Reserve a port for the listener, then leave it closed: deliveries are refused.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_addr = probe.local_addr().unwrap();
    drop(probe);
    let hook_url = format!("http://{hook_addr}/hook");

    let sb = Sandbox::start_with(dir, |c| c.webhook_retry_base = Duration::from_millis(200)).await;
    let merchant = sb.merchant.clone();
    let paid = payment_id(&sb.create(&payment(&hook_url)).await);
    let pending = payment_id(&sb.create(&payment(&hook_url)).await);
    sb.control(Method::POST, &format!("/sandbox/payments/{paid}/complete"))
        .await;
    let refused = sb.wait_attempts(&paid, 1).await;
    assert!(refused[0]["status_code"].is_null());
    assert!(refused[0]["error"].as_str().unwrap().contains("refused"));
    let Sandbox { server, dir, .. } = sb;
    server.shutdown().await;

    let mut hook = Listener::bind(hook_addr, 0).await;
    let sb = Sandbox::start_with(dir, |_| {}).await;
    assert!(
        sb.server.demo_merchant().is_none(),
        "the demo merchant is created once"
    );
    assert_eq!(sb.merchant, merchant);
    let delivery = hook.next().await;
    assert!(seed_verify(&delivery, &merchant.secret_key));
    let (_, p) = sb
        .control(Method::GET, &format!("/sandbox/payments/{paid}"))
        .await;
    assert_eq!(p["payment"]["status"], "paid");
    let (_, p) = sb
        .control(Method::GET, &format!("/sandbox/payments/{pending}"))
        .await;
    assert_eq!(p["payment"]["status"], "pending");
    let (status, _) = sb.check_validity(&merchant.access_key, &paid).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bad_input_is_answered_with_the_envelope_and_writes_nothing() {
    let sb = Sandbox::start().await;
    let now = Sandbox::now();
    let huge = format!(
        r#"{{"custom":"{}"}}"#,
        "x".repeat(ito_sandbox::MAX_BODY_BYTES)
    );
    let bodies: Vec<(String, &str, u16)> = vec![
        ("{not json".into(), "application/json", 400),
        ("[1,2,3]".into(), "application/json", 400),
        ("\"text\"".into(), "application/json", 400),
        ("\u{0}\u{1}binary".into(), "application/octet-stream", 400),
        (r#"{"amount": 1e999999}"#.into(), "application/json", 422),
        (huge, "application/json", 413),
    ];
    for (i, (body, ct, expected)) in bodies.into_iter().enumerate() {
        let (status, _, json) = sb
            .process_raw(&sb.merchant, &body, ct, now - i as i64, None)
            .await;
        assert_eq!(status.as_u16(), expected, "{json}");
        assert_eq!(json["code"], expected);
        assert_eq!(json["status"], "error");
        assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let res = sb
        .http
        .get(format!("{}/no/such/route", sb.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "error");
    let res = sb
        .http
        .get(format!("{}/payment/process", sb.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let res = sb
        .http
        .get(format!("{}/sandbox/payments?cursor=%%%", sb.url))
        .bearer_auth(&sb.merchant.access_key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = sb
        .http
        .get(format!("{}/sandbox/payments?limit=0", sb.url))
        .bearer_auth(&sb.merchant.access_key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let (_, list) = sb.control(Method::GET, "/sandbox/payments").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
    let res = sb
        .http
        .get(format!("{}/healthz", sb.url))
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key("x-request-id"));
}

/// The answers schemathesis found undocumented: each now has the documented shape.
#[tokio::test]
async fn refusals_by_axum_itself_get_the_envelope_and_checkout_forms_get_a_page() {
    let sb = Sandbox::start().await;
    let key = &sb.merchant.access_key;
    // A query parameter given twice was axum's plain text.
    for path in [
        "/sandbox/payments?limit=1&limit=2",
        "/sandbox/users?cursor=a&cursor=b",
    ] {
        let res = sb
            .http
            .get(format!("{}{path}", sb.url))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{path}");
        assert_eq!(res.headers()["content-type"], "application/json");
        let json: Value = res.json().await.unwrap();
        assert_eq!(
            (json["code"].as_u64(), json["status"].as_str()),
            (Some(400), Some("error"))
        );
        assert!(json["message"].as_str().unwrap().contains("limit") || path.contains("cursor"));
    }
    // JSON that is not an object is a 400 envelope (now documented).
    for path in ["/payment/check-validity", "/sandbox/faults"] {
        let res = sb
            .http
            .request(
                if path.ends_with("faults") {
                    Method::PUT
                } else {
                    Method::POST
                },
                format!("{}{path}", sb.url),
            )
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body("[null, null]")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{path}");
        assert_eq!(res.json::<Value>().await.unwrap()["code"], 400);
    }
    // The checkout buttons answer a browser with a page whatever it sends.
    let created = sb.create(&payment("https://example.com/hook")).await;
    let id = payment_id(&created);
    for (body, ct, status) in [
        (format!("payment_id={id}"), "text/plain", 415),
        (String::new(), "", 415),
        (
            format!("payment_id={id}&payment_id=x"),
            "application/x-www-form-urlencoded",
            400,
        ),
        (
            "payment_id=nope".to_owned(),
            "application/x-www-form-urlencoded",
            404,
        ),
    ] {
        let mut req = sb
            .http
            .post(format!("{}/process-checkout/pay", sb.url))
            .body(body);
        if !ct.is_empty() {
            req = req.header("content-type", ct);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), status, "{ct}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
    let res = sb
        .http
        .get(format!(
            "{}/process-checkout?payment_id={id}&payment_id={id}",
            sb.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    // Still payable after all that.
    let res = sb
        .http
        .post(format!("{}/process-checkout/pay", sb.url))
        .form(&[("payment_id", &id)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn the_payment_list_neither_skips_nor_repeats_while_payments_arrive() {
    let sb = Sandbox::start().await;
    let mut created = Vec::new();
    for _ in 0..7 {
        created.push(payment_id(
            &sb.create(&payment("https://example.com/hook")).await,
        ));
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/sandbox/payments?limit=3&cursor={c}"),
            None => "/sandbox/payments?limit=3".to_owned(),
        };
        let (status, page) = sb.control(Method::GET, &path).await;
        assert_eq!(status, StatusCode::OK);
        for p in page["data"].as_array().unwrap() {
            seen.push(p["payment_id"].as_str().unwrap().to_owned());
        }
        // New payments arrive between pages; they belong before the first page.
        sb.create(&payment("https://example.com/hook")).await;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    created.reverse();
    assert_eq!(seen, created);
}

#[tokio::test]
async fn openapi_documents_the_routes() {
    let sb = Sandbox::start().await;
    let doc: Value = sb
        .http
        .get(format!("{}/openapi.json", sb.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["servers"][0]["url"], sb.url.as_str());
    assert_eq!(
        doc["paths"]["/sandbox/payments"]["get"]["x-sandbox-extension"],
        true
    );
    assert!(
        doc["paths"]["/payment/process"]["post"]
            .get("x-sandbox-extension")
            .is_none()
    );
}

#[tokio::test]
async fn the_demo_merchant_starts_with_payment_history() {
    let dir = tempfile::tempdir().unwrap();
    let sb = Sandbox::start_with(dir, |c| c.demo_data = true).await;
    let (_, page) = sb.control(Method::GET, "/sandbox/payments?limit=100").await;
    let rows = page["data"].as_array().unwrap();
    assert!(rows.len() >= 28, "{}", rows.len());
    for status in ["pending", "paid", "cancelled", "expired"] {
        assert!(
            rows.iter().any(|p| p["status"] == status),
            "no {status} demo payment"
        );
    }
    let paid = rows.iter().find(|p| p["status"] == "paid").unwrap();
    let id = paid["payment_id"].as_str().unwrap();
    let (status, valid) = sb.check_validity(&sb.merchant.access_key, id).await;
    assert_eq!(status, StatusCode::OK, "{valid}");
    let attempts = sb.wait_attempts(id, 1).await;
    assert_eq!(attempts[0]["status_code"], 200);
    let pending = rows.iter().find(|p| p["status"] == "pending").unwrap();
    let page = sb
        .http
        .get(format!(
            "{}/process-checkout?payment_id={}",
            sb.url,
            pending["payment_id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
}
