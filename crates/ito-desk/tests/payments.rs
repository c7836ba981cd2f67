//! The payments service against the real parts: the sandbox in-process on 127.0.0.1:0
//! delivering signed webhooks to the app's own listener, SQLite on disk, and the
//! keyring's in-memory store for the profile's secrets.
#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ito_api::sandbox::Faults;
use ito_api::{Client, Credentials, Environment, PaymentId, Secret};
use ito_desk::desk::{Desk, Options};
use ito_desk::error::{CommandError, Error, ErrorKind};
use ito_desk::exports::ExportTarget;
use ito_desk::overview::Currency;
use ito_desk::payments::ledger::{LedgerFilter, LedgerStatus, TimelineKind};
use ito_desk::payments::links::{self, PaymentLinkInput};
use ito_desk::payments::{PaymentEvent, Payments, Simulation};
use ito_desk::profiles::{Mode, ProfileInput};
use ito_desk::vault::Vault;
use ito_desk::webhooks::ListenerSettings;
use ito_desk::webhooks::events::{Verification, WebhookEventFilter};
use ito_sandbox::{Config, MerchantCredentials, Server};
use keyring_core::{CredentialStore, mock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Seen = Arc<Mutex<Vec<PaymentEvent>>>;

struct Env {
    dir: tempfile::TempDir,
    keyring: Arc<CredentialStore>,
    sandbox: Server,
    merchant: MerchantCredentials,
    desk: Arc<Desk>,
    payments: Arc<Payments>,
    seen: Seen,
    port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn sandbox(dir: &Path) -> Server {
    let mut config = Config::new(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        dir.join("sandbox.db"),
    );
    config.write_demo_file = false;
    config.demo_data = false;
    // Fast retries, so a missed delivery comes again within the test.
    config.webhook_retry_base = Duration::from_millis(200);
    config.webhook_retry_cap = Duration::from_millis(400);
    config.webhook_timeout = Duration::from_secs(2);
    Server::start(config).await.unwrap()
}

/// Opens the desk and the payments service on `dir`, with the profile active.
async fn open(
    dir: &Path,
    keyring: &Arc<CredentialStore>,
    port: u16,
) -> (Arc<Desk>, Arc<Payments>, Seen) {
    let options = Options {
        data_dir: dir.to_owned(),
        embedded_sandbox: false,
    };
    let desk = Desk::open(
        options,
        Vault::with_store(Arc::clone(keyring)),
        Arc::new(|_| {}),
    )
    .await
    .unwrap();
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let payments = Payments::start(
        Arc::clone(&desk),
        Arc::new(move |e| sink.lock().unwrap().push(e)),
        Some(0),
    )
    .await
    .unwrap();
    let status = payments
        .set_listener(ListenerSettings {
            bind: "127.0.0.1".into(),
            port,
            forward_to: None,
        })
        .await
        .unwrap();
    assert_eq!(status.error, None);
    assert!(status.loopback_only);
    (desk, payments, seen)
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path()).await;
    let merchant = sandbox.db().create_merchant("京都の茶屋").unwrap();
    let keyring: Arc<CredentialStore> = mock::Store::new().unwrap();
    let port = free_port();
    let (desk, payments, seen) = open(dir.path(), &keyring, port).await;
    let profile = desk
        .add_profile(ProfileInput {
            name: "Tea shop".into(),
            mode: Mode::Test,
            base_url: sandbox.url(),
            access_key: Some(merchant.access_key.clone()),
            secret_key: Some(merchant.secret_key.clone()),
            client_id: merchant.client_id.clone(),
            client_secret: Some(merchant.client_secret.clone()),
            public_client_id: merchant.public_client_id.clone(),
        })
        .await
        .unwrap();
    desk.switch_profile(&profile.id).await.unwrap();
    Env {
        dir,
        keyring,
        sandbox,
        merchant,
        desk,
        payments,
        seen,
        port,
    }
}

impl Env {
    /// The test's own client for the merchant, straight to the sandbox.
    fn client(&self) -> Client {
        Client::new(
            Environment::sandbox(&self.sandbox.url()).unwrap(),
            Credentials::new(
                self.merchant.access_key.clone(),
                self.merchant.secret_key.clone(),
            ),
        )
        .unwrap()
    }

    async fn profile_id(&self) -> String {
        self.desk.active_profile_id().await.unwrap().unwrap()
    }

    /// How many payments the gateway holds for an order reference.
    async fn at_gateway(&self, custom: &str) -> usize {
        use futures_util::TryStreamExt;
        let all: Vec<_> = self
            .client()
            .sandbox()
            .all_payments()
            .try_collect()
            .await
            .unwrap();
        all.iter().filter(|p| p.custom == custom).count()
    }

    async fn shutdown(self) {
        self.payments.shutdown().await;
        self.desk.shutdown().await;
        self.sandbox.shutdown().await;
    }
}

fn link(custom: &str, amount: &str, currency: Currency) -> PaymentLinkInput {
    PaymentLinkInput {
        amount: amount.into(),
        currency,
        details: Some("抹茶セット（京都）".into()),
        customer_email: "hanako@example.jp".into(),
        custom: custom.into(),
        success_url: Some("https://shop.example/thanks".into()),
        cancel_url: Some("https://shop.example/cancel".into()),
        webhook_url: None,
        confirm_active: false,
    }
}

/// Polls `check` every 50 ms for up to 15 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

fn kind(e: Error) -> ErrorKind {
    CommandError::from(e).kind
}

#[tokio::test]
async fn a_link_is_paid_the_webhook_lands_and_the_ledger_shows_charge_and_net() {
    let env = env().await;
    let profile_id = env.profile_id().await;
    let defaults = env.payments.link_defaults().await.unwrap();
    let listener = format!("http://127.0.0.1:{}/webhooks/{profile_id}", env.port);
    assert_eq!(defaults.listener_url.as_deref(), Some(listener.as_str()));
    assert_eq!(defaults.webhook_url.as_deref(), Some(listener.as_str()));
    assert!(defaults.custom.starts_with("ORD-"), "{}", defaults.custom);

    let created = env
        .payments
        .create_link(link(&defaults.custom, "1200", Currency::Jpy))
        .await
        .unwrap();
    assert!(!created.replayed);
    assert_eq!(created.payment.status, LedgerStatus::Pending);
    assert!(created.checkout_url.contains("process-checkout"));
    let payment_id = PaymentId::new(created.payment.payment_id.clone().unwrap());

    // Paid through the control API, as the checkout page's Pay button does.
    env.client().sandbox().complete(&payment_id).await.unwrap();
    let id = created.payment.id;
    eventually("the webhook to mark the payment paid", || async {
        env.payments.detail(id).await.unwrap().payment.status == LedgerStatus::Paid
    })
    .await;
    let detail = env.payments.detail(id).await.unwrap();
    let p = &detail.payment;
    let charge: rust_decimal::Decimal = p.charge.as_deref().unwrap().parse().unwrap();
    let net: rust_decimal::Decimal = p.net.as_deref().unwrap().parse().unwrap();
    assert!(charge > rust_decimal::Decimal::ZERO);
    assert_eq!(charge + net, rust_decimal::Decimal::from(1200));
    assert!(p.paid_at.is_some() && p.transaction.is_some());
    assert_eq!(detail.webhook_events.len(), 1);
    assert_eq!(
        detail.webhook_events[0].verification,
        Verification::Verified
    );
    assert_eq!(detail.webhook_events[0].answered, 200);
    assert_eq!(detail.webhook_events[0].ledger_id, Some(id));
    assert!(detail.webhook_events[0].body.contains(&defaults.custom));
    assert!(
        detail.webhook_events[0]
            .headers
            .iter()
            .any(|h| h.name == "x-signature" && h.value.starts_with("sha256="))
    );

    // "Verify now" asks the gateway and notes the answer.
    let checked = env.payments.verify(id).await.unwrap();
    assert_eq!(checked.status, LedgerStatus::Paid);
    assert_eq!(checked.charge, p.charge, "a check keeps the fee");
    let kinds: Vec<TimelineKind> = env
        .payments
        .detail(id)
        .await
        .unwrap()
        .timeline
        .iter()
        .map(|t| t.kind)
        .collect();
    for k in [
        TimelineKind::Created,
        TimelineKind::Webhook,
        TimelineKind::ValidityCheck,
    ] {
        assert!(kinds.contains(&k), "{k:?} missing from {kinds:?}");
    }
    let seen = env.seen.lock().unwrap().clone();
    assert_eq!(
        seen.iter()
            .filter(|e| matches!(e, PaymentEvent::PaymentPaid { payment, .. } if payment.id == id))
            .count(),
        1
    );
    assert!(seen.iter().any(|e| matches!(e, PaymentEvent::WebhookReceived(w) if w.verification == Verification::Verified)));

    // A removed profile leaves nothing behind: no ledger rows, timeline or webhook log.
    env.desk.remove_profile(&profile_id).await.unwrap();
    let left: i64 = env
        .desk
        .store()
        .read(|c| {
            Ok(c.query_row(
                "SELECT (SELECT count(*) FROM payments) + (SELECT count(*) FROM payment_timeline)
                 + (SELECT count(*) FROM webhook_events) + (SELECT count(*) FROM payments_search)",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(left, 0);
    env.shutdown().await;
}

#[tokio::test]
async fn forged_stale_and_tampered_webhooks_are_refused_with_403_and_recorded() {
    let env = env().await;
    let profile_id = env.profile_id().await;
    let created = env
        .payments
        .create_link(link("ORD-FORGED", "5000", Currency::Jpy))
        .await
        .unwrap();
    let payment_id = created.payment.payment_id.clone().unwrap();
    let body = format!(
        r#"{{"code":200,"status":"ok","payment_id":"{payment_id}","transaction":"T1","amount":5000,"charge":150,"currency":"JPY","custom":"ORD-FORGED","date":"24-11-2026"}}"#
    );
    let url = format!("http://127.0.0.1:{}/webhooks/{profile_id}", env.port);
    let http = reqwest::Client::new();
    let post = |body: String, ts: i64, signature: String, url: String| {
        let http = http.clone();
        async move {
            http.post(url)
                .header("content-type", "application/json")
                .header("x-timestamp", ts.to_string())
                .header("x-signature", signature)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let now = chrono::Utc::now().timestamp();
    let right = Secret::new(env.merchant.secret_key.clone());
    let wrong = Secret::new("not-the-merchant-secret");
    let sign =
        |s: &Secret, ts: i64, b: &str| ito_api::webhook::signature_header(s, ts, b.as_bytes());

    assert_eq!(
        post(body.clone(), now, sign(&wrong, now, &body), url.clone()).await,
        403
    );
    let old = now - 3600;
    assert_eq!(
        post(body.clone(), old, sign(&right, old, &body), url.clone()).await,
        403
    );
    let tampered = body.replace("5000", "1");
    assert_eq!(
        post(tampered, now, sign(&right, now, &body), url.clone()).await,
        403
    );
    let elsewhere = format!("http://127.0.0.1:{}/webhooks/prf_nobody", env.port);
    assert_eq!(
        post(body.clone(), now, sign(&right, now, &body), elsewhere).await,
        404
    );

    let log = env
        .payments
        .webhook_events(WebhookEventFilter::default())
        .await
        .unwrap();
    let results: Vec<(Verification, u16)> =
        log.iter().map(|e| (e.verification, e.answered)).collect();
    assert_eq!(
        results,
        [
            (Verification::BadSignature, 403),
            (Verification::Stale, 403),
            (Verification::BadSignature, 403),
        ],
        "newest first, the unknown profile's delivery is not in this profile's log"
    );
    assert!(
        log[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("s away from now"),
        "{:?}",
        log[1].reason
    );
    assert!(
        log[0].reason.as_deref().unwrap().contains("signature"),
        "{:?}",
        log[0].reason
    );
    assert!(
        log.iter()
            .all(|e| e.payment_id.is_none() && !e.body.is_empty())
    );
    // Replaying a refused event does not trust it either.
    assert_eq!(
        kind(env.payments.replay_event(log[1].id).await.unwrap_err()),
        ErrorKind::Validation
    );
    let p = env
        .payments
        .detail(created.payment.id)
        .await
        .unwrap()
        .payment;
    assert_eq!(p.status, LedgerStatus::Pending);
    assert_eq!(p.charge, None);
    env.shutdown().await;
}

#[tokio::test]
async fn a_delivery_missed_while_the_listener_was_down_lands_once_when_it_is_back() {
    let env = env().await;
    let created = env
        .payments
        .create_link(link("ORD-DOWN", "12.50", Currency::Usd))
        .await
        .unwrap();
    let payment_id = PaymentId::new(created.payment.payment_id.clone().unwrap());
    let id = created.payment.id;

    env.payments.stop_listener().await;
    env.client().sandbox().complete(&payment_id).await.unwrap();
    eventually("a failed delivery attempt", || async {
        let p = env.client().sandbox().payment(&payment_id).await.unwrap();
        p.webhook_attempts.iter().any(|a| a.status_code.is_none())
    })
    .await;
    assert_eq!(
        env.payments.detail(id).await.unwrap().payment.status,
        LedgerStatus::Pending
    );

    let status = env.payments.start_listener().await;
    assert_eq!(
        status.base_url,
        Some(format!("http://127.0.0.1:{}", env.port))
    );
    eventually("the retried delivery", || async {
        env.payments.detail(id).await.unwrap().payment.status == LedgerStatus::Paid
    })
    .await;
    // Let any further attempt arrive: none should, and nothing is doubled.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let detail = env.payments.detail(id).await.unwrap();
    let money = |s: &Option<String>| {
        s.as_deref()
            .unwrap()
            .parse::<rust_decimal::Decimal>()
            .unwrap()
    };
    assert_eq!(
        money(&detail.payment.charge) + money(&detail.payment.net),
        "12.50".parse().unwrap()
    );
    let verified: Vec<_> = detail
        .webhook_events
        .iter()
        .filter(|e| e.verification == Verification::Verified)
        .collect();
    assert_eq!(verified.len(), 1);
    assert_eq!(
        env.payments
            .list(LedgerFilter::default(), None, None)
            .await
            .unwrap()
            .total,
        Some(1)
    );

    // The same delivery again (forwarded to the listener itself): answered 2xx, not applied twice.
    let own = format!(
        "http://127.0.0.1:{}/webhooks/{}",
        env.port,
        env.profile_id().await
    );
    let forwarded = env
        .payments
        .forward_event(verified[0].id, Some(own))
        .await
        .unwrap();
    assert_eq!(forwarded.forward_status, Some(200));
    let log = env
        .payments
        .webhook_events(WebhookEventFilter::default())
        .await
        .unwrap();
    assert_eq!(log[0].verification, Verification::Duplicate);
    assert_eq!(log[0].answered, 200);
    let paid_events = env
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, PaymentEvent::PaymentPaid { .. }))
        .count();
    assert_eq!(paid_events, 1);
    env.shutdown().await;
}

#[tokio::test]
async fn a_double_submit_creates_one_payment() {
    let env = env().await;
    let input = link("ORD-TWICE", "3300", Currency::Jpy);
    let (a, b) = tokio::join!(
        env.payments.create_link(input.clone()),
        env.payments.create_link(input.clone())
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.payment.payment_id, b.payment.payment_id);
    assert_eq!(a.payment.id, b.payment.id);
    // And a third click after both answered.
    let c = env.payments.create_link(input.clone()).await.unwrap();
    assert_eq!(c.payment.payment_id, a.payment.payment_id);
    assert_eq!(env.at_gateway("ORD-TWICE").await, 1);
    assert_eq!(
        env.payments
            .list(LedgerFilter::default(), None, None)
            .await
            .unwrap()
            .total,
        Some(1)
    );
    // The same order reference with another amount is a different payment: refused.
    let other = PaymentLinkInput {
        amount: "3400".into(),
        ..input
    };
    match env.payments.create_link(other).await.unwrap_err() {
        Error::Validation { fields, .. } => assert!(fields.contains_key("custom")),
        e => panic!("{e:?}"),
    }
    env.shutdown().await;
}

#[tokio::test]
async fn a_dropped_connection_then_a_retry_creates_one_payment() {
    let env = env().await;
    env.client()
        .sandbox()
        .set_faults(&Faults {
            drop_rate: 1.0,
            ..Faults::default()
        })
        .await
        .unwrap();
    let input = link("ORD-BLIP", "980", Currency::Jpy);
    let e = env.payments.create_link(input.clone()).await.unwrap_err();
    assert_eq!(kind(e), ErrorKind::Network);
    let page = env
        .payments
        .list(LedgerFilter::default(), None, None)
        .await
        .unwrap();
    assert_eq!(page.rows.len(), 1);
    let row = &page.rows[0];
    assert_eq!(row.status, LedgerStatus::Unconfirmed);
    assert!(row.last_error.is_some() && row.payment_id.is_none());

    env.client().sandbox().clear_faults().await.unwrap();
    let retried = env.payments.retry_link(row.id).await.unwrap();
    assert_eq!(retried.payment.id, row.id);
    assert_eq!(retried.payment.status, LedgerStatus::Pending);
    assert_eq!(retried.payment.last_error, None);
    // A second click on the same form after the retry is the same payment again.
    let again = env.payments.create_link(input).await.unwrap();
    assert_eq!(again.payment.payment_id, retried.payment.payment_id);
    assert_eq!(env.at_gateway("ORD-BLIP").await, 1);
    env.shutdown().await;
}

/// A proxy in front of the sandbox that, while `drops` is above zero, passes a
/// request on but never its answer (and closes the connection): the gateway acted,
/// the app does not know. Each dropped answer counts one down.
async fn answer_dropping_proxy(upstream: SocketAddr, drops: Arc<AtomicU32>) -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let drops = Arc::clone(&drops);
            tokio::spawn(async move {
                let Ok(mut outbound) = TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut in_read, mut in_write) = inbound.split();
                let (mut out_read, mut out_write) = outbound.split();
                let (mut up, mut down) = ([0u8; 8192], [0u8; 8192]);
                let mut dropping = false;
                loop {
                    tokio::select! {
                        n = in_read.read(&mut up) => {
                            let Ok(n @ 1..) = n else { return };
                            // Decided per request, also on a kept-alive connection.
                            dropping = dropping
                                || drops
                                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |d| d.checked_sub(1))
                                    .is_ok();
                            if out_write.write_all(&up[..n]).await.is_err() {
                                return;
                            }
                        }
                        n = out_read.read(&mut down) => {
                            let Ok(n @ 1..) = n else { return };
                            // The answer has started: the payment exists. Lose it.
                            if dropping || in_write.write_all(&down[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_lost_answer_is_recovered_with_the_same_key_even_after_a_restart() {
    let drops = Arc::new(AtomicU32::new(0));
    // The proxy needs the sandbox's address, which the environment starts: start a
    // throwaway environment's sandbox first, then point the profile at the proxy.
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path()).await;
    let upstream: SocketAddr = sandbox.url().trim_start_matches("http://").parse().unwrap();
    let proxy = answer_dropping_proxy(upstream, Arc::clone(&drops)).await;
    let merchant = sandbox.db().create_merchant("Proxy shop").unwrap();
    let keyring: Arc<CredentialStore> = mock::Store::new().unwrap();
    let port = free_port();
    let (desk, payments, _) = open(dir.path(), &keyring, port).await;
    let profile = desk
        .add_profile(ProfileInput {
            name: "Behind a flaky network".into(),
            mode: Mode::Test,
            base_url: format!("http://{proxy}"),
            access_key: Some(merchant.access_key.clone()),
            secret_key: Some(merchant.secret_key.clone()),
            client_id: merchant.client_id.clone(),
            client_secret: Some(merchant.client_secret.clone()),
            public_client_id: merchant.public_client_id.clone(),
        })
        .await
        .unwrap();
    desk.switch_profile(&profile.id).await.unwrap();
    let env = Env {
        dir,
        keyring,
        sandbox,
        merchant,
        desk,
        payments,
        seen: Arc::new(Mutex::new(Vec::new())),
        port,
    };

    // One answer lost: the SDK's own retry sends the same key and gets the replay.
    drops.store(1, Ordering::SeqCst);
    let first = env
        .payments
        .create_link(link("ORD-LOST-1", "2000", Currency::Jpy))
        .await
        .unwrap();
    assert!(
        first.replayed,
        "the second attempt must be the gateway's replay"
    );
    assert_eq!(env.at_gateway("ORD-LOST-1").await, 1);

    // Every answer lost: the payment exists at the gateway, the app holds it unconfirmed.
    drops.store(100, Ordering::SeqCst);
    let input = link("ORD-LOST-2", "2500", Currency::Jpy);
    let e = env.payments.create_link(input.clone()).await.unwrap_err();
    assert_eq!(kind(e), ErrorKind::Network);
    assert_eq!(env.at_gateway("ORD-LOST-2").await, 1);
    drops.store(0, Ordering::SeqCst);

    // The app restarts; the staff submit the same order again. The old client signed
    // its four attempts at up to three seconds ahead (it never reuses a signature), and
    // the gateway refuses a signature seen before; a restart takes longer than that.
    env.payments.shutdown().await;
    env.desk.shutdown().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (desk, payments, _) = open(env.dir.path(), &env.keyring, env.port).await;
    let again = payments.create_link(input).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.payment.status, LedgerStatus::Pending);
    assert_eq!(env.at_gateway("ORD-LOST-2").await, 1);
    assert_eq!(
        payments
            .list(LedgerFilter::default(), None, None)
            .await
            .unwrap()
            .total,
        Some(2)
    );
    payments.shutdown().await;
    desk.shutdown().await;
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn the_gateway_s_field_errors_come_back_on_the_form_s_fields() {
    let env = env().await;
    let profile_id = env.profile_id().await;
    // Past the form's own checks (they would refuse it first): the gateway's 422.
    let mut request = links::check(
        &link("ORD-422", "100", Currency::Jpy),
        &links::PaymentDefaults::default(),
        Some("http://127.0.0.1:9/hook"),
        false,
    )
    .unwrap();
    request.details = Some("長".repeat(300));
    request.customer_email = "nobody".into();
    let draft = links::stage(env.desk.store(), &profile_id, request)
        .await
        .unwrap();
    let client = env
        .desk
        .client(&env.desk.active_profile().await.unwrap())
        .await
        .unwrap();
    match links::send(env.desk.store(), &client, &profile_id, draft).await {
        Err(Error::Validation { fields, .. }) => {
            assert!(fields.contains_key("details"), "{fields:?}");
            assert!(fields.contains_key("customerEmail"), "{fields:?}");
        }
        other => panic!("{other:?}"),
    }
    // Nothing was created, so nothing stays in the ledger.
    assert_eq!(
        env.payments
            .list(LedgerFilter::default(), None, None)
            .await
            .unwrap()
            .total,
        Some(0)
    );
    env.shutdown().await;
}

#[tokio::test]
async fn the_list_filters_pages_and_exports_csv() {
    let env = env().await;
    let mut ids = Vec::new();
    for (custom, amount, currency) in [
        ("ORD-A", "1200", Currency::Jpy),
        ("ORD-B", "280.00", Currency::Usd),
        ("ORD-C", "99", Currency::Jpy),
        ("=HYPERLINK(\"x\")", "15.5", Currency::SgpUsd),
        ("ORD-E", "5000", Currency::Jpy),
    ] {
        let mut input = link(custom, amount, currency);
        input.customer_email = format!("{}@example.jp", custom.len());
        ids.push(env.payments.create_link(input).await.unwrap().payment.id);
    }
    // Paid through the simulate button (test mode).
    let paid = env
        .payments
        .simulate(ids[0], Simulation::Pay)
        .await
        .unwrap();
    assert_eq!(paid.status, LedgerStatus::Paid);
    assert!(paid.charge.is_some() && paid.net.is_some());
    let cancelled = env
        .payments
        .simulate(ids[2], Simulation::Cancel)
        .await
        .unwrap();
    assert_eq!(cancelled.status, LedgerStatus::Cancelled);

    // Keyset pages of two: every row once, newest first.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = env
            .payments
            .list(LedgerFilter::default(), cursor.clone(), Some(2))
            .await
            .unwrap();
        assert_eq!(page.total.is_some(), cursor.is_none());
        seen.extend(page.rows.iter().map(|r| r.id));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);

    let jpy = LedgerFilter {
        currency: Some(Currency::Jpy),
        ..LedgerFilter::default()
    };
    assert_eq!(
        env.payments
            .list(jpy.clone(), None, None)
            .await
            .unwrap()
            .total,
        Some(3)
    );
    let search = |s: &str| LedgerFilter {
        search: Some(s.into()),
        ..LedgerFilter::default()
    };
    let found = env
        .payments
        .list(search("ord-b"), None, None)
        .await
        .unwrap();
    assert_eq!(
        found
            .rows
            .iter()
            .map(|r| r.custom.as_str())
            .collect::<Vec<_>>(),
        ["ORD-B"]
    );
    let by_id = paid.payment_id.clone().unwrap();
    assert_eq!(
        env.payments
            .list(search(&by_id), None, None)
            .await
            .unwrap()
            .total,
        Some(1)
    );
    // A LIKE wildcard typed in the search box is a literal character.
    assert_eq!(
        env.payments
            .list(search("%"), None, None)
            .await
            .unwrap()
            .total,
        Some(0)
    );
    let future = LedgerFilter {
        created_from: Some("2999-01-01T00:00:00Z".into()),
        ..LedgerFilter::default()
    };
    assert_eq!(
        env.payments.list(future, None, None).await.unwrap().total,
        Some(0)
    );

    // CSV of JPY only: BOM, header, decimal strings, Japanese intact.
    let downloads = ExportTarget::Folder {
        dir: env.dir.path().join("Downloads"),
        name: "payments.csv".into(),
    };
    let exported = env.payments.export_csv(jpy, downloads).await.unwrap();
    assert_eq!(exported.rows, 3);
    assert!(
        exported.path.ends_with("Downloads/payments.csv"),
        "{}",
        exported.path
    );
    let bytes = std::fs::read(&exported.path).unwrap();
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "payment_id,status,amount,currency,charge,net,custom,customer_email,details,transaction,created_at,paid_at,checkout_url"
    );
    assert_eq!(lines.len(), 4);
    assert!(
        lines[1].contains(",pending,5000,JPY,,,ORD-E,"),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains(",cancelled,99,JPY,"), "{}", lines[2]);
    let paid_line = lines[3];
    assert!(
        paid_line.contains(&format!(
            ",paid,1200,JPY,{},{},ORD-A,",
            paid.charge.as_deref().unwrap(),
            paid.net.as_deref().unwrap()
        )),
        "{paid_line}"
    );
    assert!(paid_line.contains("抹茶セット（京都）"));
    assert!(!text.contains("USD") && !text.contains("SGP-USD"));

    // A formula typed as an order reference is exported inert.
    let sgp = env.dir.path().join("sgp.csv");
    let only_sgp = LedgerFilter {
        currency: Some(Currency::SgpUsd),
        ..LedgerFilter::default()
    };
    env.payments
        .export_csv(only_sgp, ExportTarget::File(sgp.clone()))
        .await
        .unwrap();
    let sgp = std::fs::read_to_string(sgp).unwrap();
    assert!(
        sgp.contains(",15.50,SGP-USD,,,\"'=HYPERLINK(\"\"x\"\")\","),
        "{sgp}"
    );
    env.shutdown().await;
}

#[tokio::test]
async fn listener_settings_are_checked_and_kept() {
    let env = env().await;
    let bad = env
        .payments
        .set_listener(ListenerSettings {
            bind: "localhost:80".into(),
            port: 1,
            forward_to: Some("ftp://x".into()),
        })
        .await
        .unwrap_err();
    match bad {
        Error::Validation { fields, .. } => {
            assert!(fields.contains_key("bind") && fields.contains_key("forwardTo"));
        }
        e => panic!("{e:?}"),
    }
    // Taken port: reported, not fatal.
    let taken = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let status = env
        .payments
        .set_listener(ListenerSettings {
            bind: "127.0.0.1".into(),
            port,
            forward_to: None,
        })
        .await
        .unwrap();
    assert!(status.error.is_some() && status.base_url.is_none());
    assert_eq!(
        env.payments.link_defaults().await.unwrap().listener_url,
        None
    );
    let p = env.payments.listener_status().await;
    assert_eq!(p.settings.port, port);
    env.shutdown().await;
}

#[tokio::test]
async fn verified_deliveries_are_forwarded_and_a_forward_to_itself_does_not_loop() {
    let env = env().await;
    let own = format!(
        "http://127.0.0.1:{}/webhooks/{}",
        env.port,
        env.profile_id().await
    );
    env.payments
        .set_listener(ListenerSettings {
            bind: "127.0.0.1".into(),
            port: env.port,
            forward_to: Some(own.clone()),
        })
        .await
        .unwrap();
    let created = env
        .payments
        .create_link(link("ORD-FWD", "700", Currency::Jpy))
        .await
        .unwrap();
    env.payments
        .simulate(created.payment.id, Simulation::Pay)
        .await
        .unwrap();
    let log = || async {
        env.payments
            .webhook_events(WebhookEventFilter::default())
            .await
            .unwrap()
    };
    eventually("the forwarded copy", || async {
        log().await.iter().any(|e| e.forward_status == Some(200))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events = log().await;
    let kinds: Vec<Verification> = events.iter().map(|e| e.verification).collect();
    assert_eq!(kinds, [Verification::Duplicate, Verification::Verified]);
    assert_eq!(events[1].forwarded_to.as_deref(), Some(own.as_str()));
    assert_eq!(events[0].forwarded_to, None);
    env.shutdown().await;
}

#[tokio::test]
async fn a_first_link_on_the_embedded_sandbox_needs_no_return_urls() {
    let dir = tempfile::tempdir().unwrap();
    let keyring: Arc<CredentialStore> = mock::Store::new().unwrap();
    let desk = Desk::open(
        Options {
            data_dir: dir.path().to_owned(),
            embedded_sandbox: true,
        },
        Vault::with_store(Arc::clone(&keyring)),
        Arc::new(|_| {}),
    )
    .await
    .unwrap();
    let payments = Payments::start(Arc::clone(&desk), Arc::new(|_| {}), Some(0))
        .await
        .unwrap();
    payments
        .set_listener(ListenerSettings {
            bind: "127.0.0.1".into(),
            port: free_port(),
            forward_to: None,
        })
        .await
        .unwrap();
    let defaults = payments.link_defaults().await.unwrap();
    let success = defaults.stand_in_success_url.clone().unwrap();
    assert!(success.ends_with(ito_sandbox::RETURN_PAID), "{success}");
    assert_eq!(defaults.success_url.as_deref(), Some(success.as_str()));
    assert!(
        defaults
            .cancel_url
            .unwrap()
            .ends_with(ito_sandbox::RETURN_CANCELLED)
    );

    let mut input = link(&defaults.custom, "800", Currency::Jpy);
    input.success_url = None;
    input.cancel_url = None;
    let created = payments.create_link(input).await.unwrap();
    // The customer pays and lands on the sandbox's stand-in success page.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(2))
        .build()
        .unwrap();
    let checkout = url::Url::parse(&created.checkout_url).unwrap();
    let paid = http
        .post(checkout.join("/process-checkout/pay").unwrap())
        .form(&[("payment_id", created.payment.payment_id.as_deref().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.url().as_str(), success);
    assert_eq!(paid.status(), reqwest::StatusCode::OK);

    // A saved page of the merchant's own wins over the stand-in.
    payments
        .set_link_defaults(links::PaymentDefaults {
            success_url: Some("https://shop.example/thanks".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let defaults = payments.link_defaults().await.unwrap();
    assert_eq!(
        defaults.success_url.as_deref(),
        Some("https://shop.example/thanks")
    );
    assert_eq!(
        defaults.stand_in_success_url.as_deref(),
        Some(success.as_str())
    );
    payments.shutdown().await;
    desk.shutdown().await;
}
