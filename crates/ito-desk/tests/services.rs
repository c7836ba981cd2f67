//! The services against the real parts: the sandbox in-process on 127.0.0.1:0,
//! SQLite on disk, and the OS keychain. Run them inside a private D-Bus session
//! with an unlocked gnome-keyring:
//!   dbus-run-session -- sh scripts/with-keyring.sh cargo test -p ito-desk
#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};

use ito_api::{Client, Credentials, Currency, Environment, Money, NewPayment, PaymentId};
use ito_desk::desk::{Desk, DeskEvent, EventSink, Language, Options, Settings, Theme};
use ito_desk::error::{CommandError, ErrorKind};
use ito_desk::overview::PaymentStatus;
use ito_desk::profiles::{Mode, ProfileInput, SecretsIn};
use ito_desk::request_log::{RequestLogFilter, StatusClass};
use ito_desk::vault::{Field, KeychainStatus, Vault};
use ito_sandbox::{Config, MerchantCredentials, Server};

fn events() -> (EventSink, Arc<Mutex<Vec<DeskEvent>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    (Arc::new(move |e| sink.lock().unwrap().push(e)), seen)
}

fn keychain() -> Vault {
    let vault = Vault::platform();
    assert!(
        vault.is_available(),
        "these tests need an unlocked Secret Service (run them under scripts/with-keyring.sh): {:?}",
        vault.status()
    );
    vault
}

async fn open(dir: &Path) -> (Arc<Desk>, Arc<Mutex<Vec<DeskEvent>>>) {
    let (sink, seen) = events();
    let options = Options {
        data_dir: dir.to_owned(),
        embedded_sandbox: true,
    };
    let desk = Desk::open(options, keychain(), sink).await.unwrap();
    (desk, seen)
}

async fn sandbox(dir: &Path) -> Server {
    let mut config = Config::new(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        dir.join("other-sandbox.db"),
    );
    config.write_demo_file = false;
    Server::start(config).await.unwrap()
}

fn input(server: &Server, m: &MerchantCredentials) -> ProfileInput {
    ProfileInput {
        name: "Shop in Osaka".into(),
        mode: Mode::Test,
        base_url: server.url(),
        access_key: Some(m.access_key.clone()),
        secret_key: Some(m.secret_key.clone()),
        client_id: m.client_id.clone(),
        client_secret: Some(m.client_secret.clone()),
        public_client_id: m.public_client_id.clone(),
    }
}

fn kind<T: std::fmt::Debug>(r: ito_desk::error::Result<T>) -> CommandError {
    CommandError::from(r.unwrap_err())
}

/// Every secret byte of a file, to prove none is stored locally.
fn file_contains(path: &Path, needle: &str) -> bool {
    std::fs::read(path).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
}

#[tokio::test]
async fn first_start_creates_the_sandbox_profile_with_its_secrets_in_the_keychain() {
    let dir = tempfile::tempdir().unwrap();
    let (desk, _) = open(dir.path()).await;
    let state = desk.state().await.unwrap();
    assert!(matches!(state.keychain, KeychainStatus::Available { .. }));
    assert_eq!(state.profiles.len(), 1);
    let p = &state.profiles[0];
    assert_eq!(p.name, "Sandbox");
    assert_eq!(p.mode, Mode::Test);
    assert!(p.embedded);
    assert_eq!(p.secrets_in, SecretsIn::Keychain);
    assert_eq!(state.active_profile_id.as_deref(), Some(p.id.as_str()));
    let url = state.embedded_sandbox_url.clone().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(p.base_url, url);

    // The UI gets masks; the keychain has the values; the local database has none.
    let demo = ito_sandbox::Db::open(&dir.path().join("sandbox.db"))
        .unwrap()
        .list_merchants()
        .unwrap()
        .remove(0);
    assert_eq!(
        p.access_key,
        format!("••••{}", &demo.access_key[demo.access_key.len() - 4..])
    );
    assert!(p.secret_key.starts_with("••••") && p.client_secret.starts_with("••••"));
    assert_eq!(
        keychain().get(&p.id, Field::SecretKey).unwrap().expose(),
        demo.secret_key
    );
    desk.shutdown().await;
    for file in ["desk.db", "desk.db-wal"] {
        for secret in [&demo.access_key, &demo.secret_key, &demo.client_secret] {
            assert!(
                !file_contains(&dir.path().join(file), secret),
                "{file} holds a secret"
            );
        }
    }
    assert!(!dir.path().join("demo-merchant.json").exists());
}

#[tokio::test]
async fn a_restart_reuses_the_profile_on_the_sandbox_s_new_port() {
    let dir = tempfile::tempdir().unwrap();
    let (desk, _) = open(dir.path()).await;
    let first = desk.state().await.unwrap();
    desk.shutdown().await;
    drop(desk);

    let (desk, _) = open(dir.path()).await;
    let again = desk.state().await.unwrap();
    assert_eq!(again.profiles.len(), 1);
    assert_eq!(again.profiles[0].id, first.profiles[0].id);
    let t = desk.test_connection(&again.profiles[0].id).await.unwrap();
    assert_eq!(
        t.base_url.trim_end_matches('/'),
        again.embedded_sandbox_url.unwrap()
    );
    desk.shutdown().await;
}

#[tokio::test]
async fn overview_sums_what_the_sandbox_holds() {
    let dir = tempfile::tempdir().unwrap();
    let (desk, _) = open(dir.path()).await;
    let state = desk.state().await.unwrap();
    let demo = ito_sandbox::Db::open(&dir.path().join("sandbox.db"))
        .unwrap()
        .list_merchants()
        .unwrap()
        .remove(0);
    let client = Client::new(
        Environment::sandbox(state.embedded_sandbox_url.as_deref().unwrap()).unwrap(),
        Credentials::new(demo.access_key.clone(), demo.secret_key.clone())
            .with_oauth(demo.client_id.clone(), demo.client_secret.clone()),
    )
    .unwrap();
    let before = desk.overview().await.unwrap();
    assert!(before.coverage.users && before.coverage.payments);
    let count = |o: &ito_desk::overview::Overview, s: PaymentStatus| {
        o.payments_by_status
            .iter()
            .find(|c| c.status == s)
            .map_or(0, |c| c.count)
    };

    // One paid and one pending payment more.
    let mut paid = None;
    for (i, amount) in ["1200", "800"].into_iter().enumerate() {
        let created = client
            .create_payment(&NewPayment {
                custom: format!("ORDER-{i}-{}", uuid::Uuid::new_v4().simple()),
                amount: Money::parse(amount, Currency::Jpy).unwrap(),
                details: Some("テスト商品".into()),
                web_hook: "http://127.0.0.1:9/hook".parse().unwrap(),
                cancel_url: "https://shop.example/cancel".parse().unwrap(),
                success_url: "https://shop.example/thanks".parse().unwrap(),
                customer_email: "buyer@example.com".into(),
            })
            .await
            .unwrap();
        if i == 0 {
            paid = Some(created.payment_id);
        }
    }
    let paid: PaymentId = paid.unwrap();
    client.sandbox().complete(&paid).await.unwrap();

    let after = desk.overview().await.unwrap();
    assert_eq!(
        count(&after, PaymentStatus::Paid),
        count(&before, PaymentStatus::Paid) + 1
    );
    assert_eq!(
        count(&after, PaymentStatus::Pending),
        count(&before, PaymentStatus::Pending) + 1
    );
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let jpy_today = |o: &ito_desk::overview::Overview| {
        o.volume_by_day
            .iter()
            .find(|d| d.day == today && d.currency == ito_desk::overview::Currency::Jpy)
            .map(|d| d.amount.parse::<rust_decimal::Decimal>().unwrap())
            .unwrap_or_default()
    };
    assert_eq!(
        jpy_today(&after) - jpy_today(&before),
        rust_decimal::Decimal::from(1200)
    );
    assert_eq!(after.volume_by_day.first().map(|d| d.day.len()), Some(10));
    desk.shutdown().await;
}

#[tokio::test]
async fn a_second_profile_is_added_switched_to_tested_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let other = sandbox(dir.path()).await;
    let merchant = other.db().create_merchant("Shop in Osaka").unwrap();
    let (desk, seen) = open(dir.path()).await;

    let added = desk.add_profile(input(&other, &merchant)).await.unwrap();
    assert_eq!(added.secrets_in, SecretsIn::Keychain);
    assert!(!added.embedded);
    assert_eq!(added.base_url, other.url());
    assert_eq!(
        keychain()
            .get(&added.id, Field::ClientSecret)
            .unwrap()
            .expose(),
        merchant.client_secret
    );

    desk.switch_profile(&added.id).await.unwrap();
    assert_eq!(
        desk.state().await.unwrap().active_profile_id.as_deref(),
        Some(added.id.as_str())
    );
    assert!(seen.lock().unwrap().iter().any(
        |e| matches!(e, DeskEvent::ProfileSwitched { profile_id: Some(id) } if *id == added.id)
    ));
    desk.test_connection(&added.id).await.unwrap();
    let overview = desk.overview().await.unwrap();
    assert_eq!(overview.profile_id, added.id);

    // The test shows up in the request log, redacted, and filters work.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = desk.request_log(RequestLogFilter::default()).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.path == "/oauth/token" && e.status == Some(200))
    );
    assert!(
        log.iter()
            .any(|e| e.path == "/payment/check-validity" && e.status == Some(404))
    );
    for e in &log {
        assert!(
            !e.path.contains(&merchant.access_key) && !e.path.contains(&merchant.client_secret)
        );
    }
    let errors = desk
        .request_log(RequestLogFilter {
            status: Some(StatusClass::ClientError),
            ..RequestLogFilter::default()
        })
        .await
        .unwrap();
    assert!(
        !errors.is_empty()
            && errors
                .iter()
                .all(|e| e.status.is_some_and(|s| (400..500).contains(&s)))
    );
    let searched = desk
        .request_log(RequestLogFilter {
            search: Some("OAUTH/tok".into()),
            ..RequestLogFilter::default()
        })
        .await
        .unwrap();
    assert!(!searched.is_empty() && searched.iter().all(|e| e.path == "/oauth/token"));

    // A wrong client secret is reported as the gateway said it.
    let mut wrong = input(&other, &merchant);
    wrong.client_secret = Some("not-the-secret-at-all".into());
    wrong.access_key = None;
    wrong.secret_key = None;
    desk.update_profile(&added.id, wrong).await.unwrap();
    let failure = kind(desk.test_connection(&added.id).await);
    assert_eq!(failure.kind, ErrorKind::Unauthorized, "{failure:?}");
    assert_eq!(failure.status, Some(401));
    // The untouched secrets were kept.
    assert_eq!(
        keychain()
            .get(&added.id, Field::AccessKey)
            .unwrap()
            .expose(),
        merchant.access_key
    );

    desk.remove_profile(&added.id).await.unwrap();
    let state = desk.state().await.unwrap();
    assert_eq!(state.profiles.len(), 1);
    assert_eq!(
        state.active_profile_id.as_deref(),
        Some(state.profiles[0].id.as_str())
    );
    assert!(keychain().get(&added.id, Field::AccessKey).is_err());
    desk.shutdown().await;
    other.shutdown().await;
}

#[tokio::test]
async fn the_form_is_checked_field_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let (desk, _) = open(dir.path()).await;
    let bad = ProfileInput {
        name: "  ".into(),
        mode: Mode::Active,
        base_url: "http://gateway.example".into(),
        access_key: None,
        secret_key: Some("sk".into()),
        client_id: String::new(),
        client_secret: Some("x\u{7}y".into()),
        public_client_id: String::new(),
    };
    let e = kind(desk.add_profile(bad).await);
    assert_eq!(e.kind, ErrorKind::Validation);
    for field in ["name", "baseUrl", "accessKey", "clientId", "clientSecret"] {
        assert!(
            e.fields.contains_key(field),
            "{field} missing in {:?}",
            e.fields
        );
    }
    assert!(!e.fields.contains_key("secretKey"));
    assert_eq!(desk.state().await.unwrap().profiles.len(), 1);
    let missing = kind(desk.switch_profile("prf_nope").await);
    assert_eq!(missing.kind, ErrorKind::NotFound);
    desk.shutdown().await;
}

#[tokio::test]
async fn settings_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (desk, _) = open(dir.path()).await;
    let defaults = desk.settings().await.unwrap();
    assert_eq!(defaults.language, None);
    assert!(
        !defaults.ask_export_path,
        "exports go to Downloads by default"
    );
    let chosen = Settings {
        language: Some(Language::Ja),
        theme: Theme::Dark,
        ask_export_path: true,
    };
    assert_eq!(desk.set_settings(chosen).await.unwrap(), chosen);
    desk.shutdown().await;
    drop(desk);
    let (desk, _) = open(dir.path()).await;
    assert_eq!(desk.settings().await.unwrap(), chosen);
    desk.shutdown().await;
}
