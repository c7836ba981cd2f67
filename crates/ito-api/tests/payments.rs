//! Payments end to end against the real sandbox over HTTP.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{sandbox, webhook_receiver};
use futures_util::TryStreamExt;
use ito_api::webhook;
use ito_api::{
    AuthKind, Client, Credentials, Currency, Environment, ErrorKind, Money, NewPayment, PaymentId,
    PaymentStatus, Secret, Validity,
};

fn payment(custom: &str, amount: Money, hook: &str) -> NewPayment {
    NewPayment {
        custom: custom.into(),
        amount,
        details: Some("Digital Product".into()),
        web_hook: hook.parse().unwrap(),
        cancel_url: "https://shop.example/cancel".parse().unwrap(),
        success_url: "https://shop.example/thanks".parse().unwrap(),
        customer_email: "buyer@example.com".into(),
    }
}

#[tokio::test]
async fn payment_webhook_and_validity() {
    let sb = sandbox().await;
    let (client, log) = sb.client_for(&sb.merchant);
    let mut hooks = webhook_receiver().await;
    let created = client
        .create_payment(&payment(
            "ORDER-1",
            Money::from_minor(10_000, Currency::Usd),
            &hooks.url,
        ))
        .await
        .unwrap();
    assert!(!created.replayed);
    assert!(created.checkout_url.as_str().starts_with(&sb.server.url()));

    // Not paid yet.
    assert_eq!(
        client.check_validity(&created.payment_id).await.unwrap(),
        Validity::NotPaid {
            payment_status: PaymentStatus::Pending
        }
    );

    let paid = client
        .sandbox()
        .complete(&created.payment_id)
        .await
        .unwrap();
    assert_eq!(paid.status, PaymentStatus::Paid);
    assert_eq!(paid.charge.unwrap().format(), "$5.00");

    let (headers, body) = hooks.next().await;
    let secret = Secret::new(sb.merchant.secret_key.as_str());
    let event = webhook::verify(&headers, &body, &secret, Duration::from_secs(300)).unwrap();
    assert_eq!(event.payment_id, created.payment_id);
    assert_eq!(event.amount.format(), "$100.00");
    assert_eq!(event.net().format(), "$95.00");
    assert_eq!(Some(&event.transaction), paid.transaction.as_ref());
    assert_eq!(event.custom, "ORDER-1");
    // A wrong secret or an altered body is refused with its reason.
    assert_eq!(
        webhook::verify(
            &headers,
            &body,
            &Secret::new("nope"),
            Duration::from_secs(300)
        ),
        Err(webhook::Rejection::BadSignature)
    );

    match client.check_validity(&created.payment_id).await.unwrap() {
        Validity::Valid {
            payment_id,
            transaction,
        } => {
            assert_eq!(payment_id, created.payment_id);
            assert_eq!(transaction, Some(event.transaction.clone()));
        }
        other => panic!("{other:?}"),
    }

    // Redelivery sends the same event again.
    client
        .sandbox()
        .redeliver(&created.payment_id)
        .await
        .unwrap();
    let (headers, body) = hooks.next().await;
    let again = webhook::verify(&headers, &body, &secret, Duration::from_secs(300)).unwrap();
    assert_eq!(again.payment_id, event.payment_id);

    let detail = client.sandbox().payment(&created.payment_id).await.unwrap();
    assert_eq!(detail.net.unwrap().format(), "$95.00");
    assert!(!detail.webhook_attempts.is_empty());

    // The request log saw every call, with request ids and no secrets.
    let records = log.lock().unwrap().clone();
    let create = records
        .iter()
        .find(|r| r.path == "/payment/process")
        .unwrap();
    assert_eq!(
        (create.method.as_str(), create.status, create.auth),
        ("POST", Some(200), AuthKind::Signed)
    );
    assert!(create.request_id.starts_with("req_"));
    assert_eq!(
        create.idempotency_key.as_deref(),
        Some(created.idempotency_key.as_str())
    );
    let json = serde_json::to_string(&records).unwrap();
    assert!(!json.contains(&sb.merchant.access_key));
    assert!(!json.contains(&sb.merchant.secret_key));
    assert!(json.contains(&format!(
        "…{}",
        &sb.merchant.access_key[sb.merchant.access_key.len() - 4..]
    )));
    sb.server.shutdown().await;
}

#[tokio::test]
async fn checkout_page_cancel_and_expire() {
    let sb = sandbox().await;
    let client = sb.client();
    let yen = Money::parse("1200", Currency::Jpy).unwrap();
    let a = client
        .create_payment(&payment("A", yen, "https://shop.example/h"))
        .await
        .unwrap();
    let b = client
        .create_payment(&payment("B", yen, "https://shop.example/h"))
        .await
        .unwrap();
    let c = client
        .create_payment(&payment("C", yen, "https://shop.example/h"))
        .await
        .unwrap();

    // The checkout link opens the page and its Cancel form works like a browser's.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http
        .get(a.checkout_url.clone())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("¥1,200"), "{page}");
    let res = http
        .post(format!("{}/process-checkout/cancel", sb.server.url()))
        .form(&[("payment_id", a.payment_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        client.check_validity(&a.payment_id).await.unwrap(),
        Validity::NotPaid {
            payment_status: PaymentStatus::Cancelled
        }
    );

    assert_eq!(
        client.sandbox().cancel(&b.payment_id).await.unwrap().status,
        PaymentStatus::Cancelled
    );
    assert_eq!(
        client.sandbox().expire(&c.payment_id).await.unwrap().status,
        PaymentStatus::Expired
    );
    assert_eq!(
        client.check_validity(&c.payment_id).await.unwrap(),
        Validity::NotPaid {
            payment_status: PaymentStatus::Expired
        }
    );
    // A final payment cannot change again: a conflict naming its status.
    let err = client.sandbox().complete(&c.payment_id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(
        err.failure().unwrap().payment_status,
        Some(PaymentStatus::Expired)
    );

    // Listing: one page, then the stream of all of them.
    let page = client.sandbox().payments(Some(2), None).await.unwrap();
    assert_eq!(page.data.len(), 2);
    assert_eq!(page.data[0].payment_id, c.payment_id);
    assert!(page.next_cursor.is_some());
    let all: Vec<_> = client.sandbox().all_payments().try_collect().await.unwrap();
    let customs: Vec<&str> = all.iter().map(|p| p.custom.as_str()).collect();
    assert_eq!(customs, ["C", "B", "A"]);
    sb.server.shutdown().await;
}

#[tokio::test]
async fn idempotent_creation() {
    let sb = sandbox().await;
    let client = sb.client();
    let p = payment(
        "IDEM-1",
        Money::from_minor(2500, Currency::SgpUsd),
        "https://shop.example/h",
    );
    let first = client
        .create_payment_with_key(&p, "order-IDEM-1".into())
        .await
        .unwrap();
    // The same key and body, signed afresh: the original answer, flagged as replayed.
    let second = client
        .create_payment_with_key(&p, "order-IDEM-1".into())
        .await
        .unwrap();
    assert_eq!(second.payment_id, first.payment_id);
    assert!(second.replayed);
    // The same key with another body is a conflict.
    let other = payment(
        "IDEM-2",
        Money::from_minor(2500, Currency::SgpUsd),
        "https://shop.example/h",
    );
    let err = client
        .create_payment_with_key(&other, "order-IDEM-1".into())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let n = client
        .sandbox()
        .payments(None, None)
        .await
        .unwrap()
        .data
        .len();
    assert_eq!(n, 1);
    sb.server.shutdown().await;
}

/// A restarted app has a new client that does not know the signatures the old one
/// used: its first attempt of the same body in the same second is refused as a replay,
/// and it signs again with a later timestamp instead of failing.
#[tokio::test]
async fn a_new_client_resending_a_body_in_the_same_second_signs_again() {
    let sb = sandbox().await;
    let p = payment(
        "RESTART-1",
        Money::from_minor(1200, Currency::Jpy),
        "https://shop.example/h",
    );
    let mut collided = false;
    for round in 0..5 {
        // Start just after a second begins, so both sends fall within it.
        let into_second = chrono::Utc::now().timestamp_subsec_millis();
        tokio::time::sleep(Duration::from_millis(u64::from(1000 - into_second) + 20)).await;
        let key = format!("order-RESTART-{round}");
        let before = chrono::Utc::now().timestamp();
        let (old_run, _) = sb.client_for(&sb.merchant);
        let first = old_run
            .create_payment_with_key(&p, key.clone())
            .await
            .unwrap();
        let (new_run, log) = sb.client_for(&sb.merchant);
        let second = new_run.create_payment_with_key(&p, key).await.unwrap();
        assert_eq!(second.payment_id, first.payment_id);
        assert!(second.replayed);
        if chrono::Utc::now().timestamp() != before {
            continue;
        }
        let statuses: Vec<Option<u16>> = log.lock().unwrap().iter().map(|r| r.status).collect();
        assert_eq!(statuses.len(), 2, "{statuses:?}");
        assert_eq!(statuses[0], Some(401), "refused as a replay first");
        assert!(matches!(statuses[1], Some(200..=299)), "{statuses:?}");
        collided = true;
        break;
    }
    assert!(collided, "never managed two sends within one second");
    sb.server.shutdown().await;
}

#[tokio::test]
async fn refusals_map_to_error_kinds() {
    let sb = sandbox().await;
    let client = sb.client();
    let env = Environment::sandbox(&sb.server.url()).unwrap();
    let usd = Money::from_minor(100, Currency::Usd);

    // Unknown access key.
    let stranger = Client::new(env.clone(), Credentials::new("nobody", "nothing")).unwrap();
    let err = stranger
        .create_payment(&payment("X", usd, "https://s.example/h"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert_eq!(err.message(), "Invalid API credentials.");
    assert!(err.request_id().is_some());

    // Right key, wrong signing secret.
    let forger = Client::new(
        env.clone(),
        Credentials::new(sb.merchant.access_key.as_str(), "wrong"),
    )
    .unwrap();
    let err = forger
        .create_payment(&payment("X", usd, "https://s.example/h"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(
        err.message().to_lowercase().contains("signature"),
        "{}",
        err.message()
    );

    // Every invalid field at once, as a map the UI can show inline.
    let mut bad = payment("X", Money::zero(Currency::Usd), "https://s.example/h");
    bad.customer_email = "not-an-email".into();
    bad.details = Some("x".repeat(256));
    let err = client.create_payment(&bad).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    let fields = err.fields().unwrap();
    for f in ["amount", "customer_email", "details"] {
        assert!(fields.contains_key(f), "{f} missing from {fields:?}");
    }
    let ui = serde_json::to_value(&err).unwrap();
    assert_eq!(ui["kind"], "validation");
    assert!(ui["fields"]["customer_email"][0].is_string());

    // A payment of another merchant is not found, like an unknown one.
    let other = sb.other_merchant("Other").await;
    let (other_client, _) = sb.client_for(&other);
    let theirs = other_client
        .create_payment(&payment("T", usd, "https://s.example/h"))
        .await
        .unwrap();
    for id in [theirs.payment_id.clone(), PaymentId::new("doesnotexist")] {
        assert_eq!(
            client.check_validity(&id).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            client.sandbox().payment(&id).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }

    // Nothing listens here: a network error, not a panic or a hang.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let dead = Client::builder(
        Environment::sandbox(&dead_url).unwrap(),
        Credentials::new("a", "b"),
    )
    .retry(common::fast_retries(2))
    .build()
    .unwrap();
    assert_eq!(
        dead.check_validity(&theirs.payment_id)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Network
    );
    sb.server.shutdown().await;
}
