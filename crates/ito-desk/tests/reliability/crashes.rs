//! Crash consistency of the desk's database: the desk harness process takes webhook
//! deliveries (ledger updates) from this test, creates links, exports the ledger and
//! imports the user directory, and is killed with SIGKILL at a random moment. After
//! each kill the database must pass `PRAGMA integrity_check`, and everything the desk
//! acknowledged (a 2xx answer to a delivery, a link, an export, an import it reported)
//! must be there.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ito_api::Secret;
use ito_api::webhook::signature_header;
use ito_desk::desk::DB_FILE;
use ito_desk::overview::Currency;
use ito_desk::payments::links::PaymentLinkInput;
use ito_sandbox::SeedOptions;

use crate::support::{self, Rng};

/// Deliveries sent at once, so that kills land inside transactions.
const SENDERS: usize = 4;
/// Ledger rows the deliveries pay, made before the first kill.
const TARGETS: usize = 20;
/// Users the sandbox holds for the imports (several pages of its control API).
const USERS: usize = 250;

#[derive(Clone, Debug)]
struct Target {
    payment_id: String,
    custom: String,
    amount: u32,
}

/// A signed delivery of `target`'s payment webhook, as the gateway sends it.
fn delivery(target: &Target, delivery_id: u64, secret: &Secret) -> (String, Vec<(String, String)>) {
    let body = serde_json::json!({
        "code": 200,
        "status": "ok",
        "payment_id": target.payment_id,
        "transaction": format!("TX{delivery_id}"),
        "amount": target.amount,
        "charge": target.amount / 25,
        "currency": "JPY",
        "custom": target.custom,
        "date": chrono::Utc::now().format("%d-%m-%Y").to_string(),
    })
    .to_string();
    let ts = chrono::Utc::now().timestamp();
    let headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("x-timestamp".to_owned(), ts.to_string()),
        (
            "x-signature".to_owned(),
            signature_header(secret, ts, body.as_bytes()),
        ),
        (
            "x-webhook-delivery".to_owned(),
            format!("crash-{delivery_id}"),
        ),
        ("x-webhook-attempt".to_owned(), "1".to_owned()),
    ];
    (body, headers)
}

/// Sends deliveries until `stop`, recording each one answered 2xx (stored).
async fn send(
    url: String,
    targets: Arc<Vec<Target>>,
    secret: Secret,
    next_id: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<String>>>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    while !stop.load(Ordering::SeqCst) {
        let id = next_id.fetch_add(1, Ordering::SeqCst);
        let target = &targets[(id as usize) % targets.len()];
        let (body, headers) = delivery(target, id, &secret);
        let mut request = http.post(&url).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(r) if r.status().is_success() => acked.lock().unwrap().push(format!("crash-{id}")),
            Ok(r) => panic!("delivery {id} answered {}", r.status()),
            // The process is being killed.
            Err(_) => {}
        }
    }
}

#[derive(Debug, Default)]
struct Figures {
    deliveries: usize,
    links: usize,
    exports: usize,
    imports: usize,
    temp_files: usize,
}

/// Opens the database after a kill and checks it against what was acknowledged.
fn verify(
    db: &Path,
    profile_id: &str,
    acked: &[String],
    lines: &[String],
    exports: &Path,
    f: &mut Figures,
) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let orphans: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(orphans, 0);
    // Every delivery answered 2xx: stored once, verified, and applied to the ledger.
    let mut applied = conn
        .prepare(
            "SELECT count(*) FROM webhook_events e JOIN payment_timeline t ON t.webhook_event = e.id
             WHERE e.delivery_id = ?1 AND e.verification = 'verified' AND t.kind = 'webhook'",
        )
        .unwrap();
    for id in acked {
        let n: i64 = applied.query_row([id], |r| r.get(0)).unwrap();
        assert_eq!(n, 1, "acknowledged delivery {id} not in the ledger once");
    }
    f.deliveries += acked.len();
    for line in lines {
        let words: Vec<&str> = line.split(' ').collect();
        match words[..] {
            ["ready", ..] => {}
            ["link", custom, id, payment_id] => {
                let (c, p, status): (String, Option<String>, String) = conn
                    .query_row(
                        "SELECT custom, payment_id, status FROM payments WHERE id = ?1 AND profile_id = ?2",
                        (id.parse::<i64>().unwrap(), profile_id),
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .unwrap_or_else(|e| panic!("acknowledged link {custom} missing: {e}"));
                assert_eq!(
                    (c.as_str(), p.as_deref(), status.as_str()),
                    (custom, Some(payment_id), "pending")
                );
                f.links += 1;
            }
            ["export", rows, ..] => {
                let path = line.splitn(3, ' ').nth(2).unwrap();
                let text = std::fs::read_to_string(path).unwrap();
                assert!(
                    text.starts_with('\u{feff}') && text.ends_with("\r\n"),
                    "{path}"
                );
                assert_eq!(
                    text.matches("\r\n").count(),
                    rows.parse::<usize>().unwrap() + 1,
                    "{path}"
                );
                f.exports += 1;
            }
            ["import", users, _] => {
                let n: i64 = conn
                    .query_row(
                        "SELECT count(*) FROM users WHERE profile_id = ?1",
                        [profile_id],
                        |r| r.get(0),
                    )
                    .unwrap();
                assert!(
                    n >= users.parse::<i64>().unwrap(),
                    "imported {users}, directory holds {n}"
                );
                f.imports += 1;
            }
            _ => panic!("unexpected line {line:?}"),
        }
    }
    // An export is written whole or not at all: every file under a final name is complete.
    if let Ok(files) = std::fs::read_dir(exports) {
        for file in files {
            let path = file.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with(".export-") {
                f.temp_files += 1;
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.starts_with('\u{feff}') && text.ends_with("\r\n"),
                "{name} is cut short"
            );
        }
    }
}

pub async fn crashes(kills: usize, seed: u64) {
    let started = Instant::now();
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let sandbox = support::sandbox(&dir.path().join("sandbox.db")).await;
    let merchant = sandbox.db().create_merchant("Crash shop").unwrap();
    sandbox
        .db()
        .seed(
            Some(&merchant.merchant_id),
            SeedOptions {
                users: USERS,
                transactions_per_user: 1,
            },
        )
        .unwrap();
    let desk_dir = dir.path().join("desk");
    let keyring = support::keyring();
    let (desk, payments) = support::open_desk(&desk_dir, &keyring, 0).await;
    let profile_id = support::add_profile(&desk, &sandbox.url(), &merchant).await;
    let mut targets = Vec::with_capacity(TARGETS);
    for i in 0..TARGETS {
        let amount = 1000 + 100 * i as u32;
        let created = payments
            .create_link(PaymentLinkInput {
                amount: amount.to_string(),
                currency: Currency::Jpy,
                details: None,
                customer_email: "jiro@example.jp".into(),
                custom: format!("CRASH-{i}"),
                success_url: Some("https://shop.example/thanks".into()),
                cancel_url: Some("https://shop.example/cancel".into()),
                webhook_url: None,
                confirm_active: false,
            })
            .await
            .unwrap();
        targets.push(Target {
            payment_id: created.payment.payment_id.unwrap(),
            custom: created.payment.custom,
            amount,
        });
    }
    support::close_desk(desk, payments).await;
    let targets = Arc::new(targets);
    let secret = Secret::new(merchant.secret_key.clone());
    let secrets = support::secrets_line(&profile_id, &merchant);
    let port = support::free_port();
    let db = desk_dir.join(DB_FILE);
    let next_id = Arc::new(AtomicU64::new(1));
    let mut figures = Figures::default();
    let mut all_acked = HashSet::new();
    for k in 0..kills {
        // Deliveries every time; beside them links, exports or imports in turn.
        let exports = dir.path().join(format!("exports-{k}"));
        let prefix = format!("K{k}");
        let mut extra: Vec<&str> = Vec::new();
        match k % 3 {
            0 => extra.extend(["--links", &prefix]),
            1 => extra.extend(["--exports", exports.to_str().unwrap()]),
            _ => extra.push("--imports"),
        }
        let child = support::desk_harness(&desk_dir, port, &secrets, &extra).await;
        let url = format!(
            "{}/webhooks/{profile_id}",
            child.ready.trim_start_matches("ready ")
        );
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let mut senders = tokio::task::JoinSet::new();
        for _ in 0..SENDERS {
            senders.spawn(send(
                url.clone(),
                Arc::clone(&targets),
                secret.clone(),
                Arc::clone(&next_id),
                Arc::clone(&stop),
                Arc::clone(&acked),
            ));
        }
        tokio::time::sleep(rng.millis(30, 600)).await;
        let lines = child.kill();
        stop.store(true, Ordering::SeqCst);
        while senders.join_next().await.transpose().unwrap().is_some() {}
        let acked = std::mem::take(&mut *acked.lock().unwrap());
        verify(&db, &profile_id, &acked, &lines, &exports, &mut figures);
        all_acked.extend(acked);
    }
    // Deliveries stored in the instant between their commit and their answer: the
    // gateway, seeing no answer, sends them again, and the desk answers without
    // applying them twice.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let stored: Vec<String> = conn
        .prepare("SELECT delivery_id FROM webhook_events WHERE verification = 'verified'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let unanswered = stored.iter().filter(|d| !all_acked.contains(*d)).count();
    assert!(stored.iter().collect::<HashSet<_>>().len() == stored.len());
    println!(
        "figures crashes: {kills} SIGKILLs (seed {seed}) during webhook deliveries ({SENDERS} at once) \
         with link creation, exports or directory imports ({USERS} users) in turn; integrity_check ok \
         every time; acknowledged and found: {} deliveries, {} links, {} exports, {} imports; missing 0; \
         {} deliveries stored but killed before their answer (the gateway would send them again); \
         {} temporary export files left by kills; {:.1} s",
        figures.deliveries,
        figures.links,
        figures.exports,
        figures.imports,
        unanswered,
        figures.temp_files,
        started.elapsed().as_secs_f64()
    );
    sandbox.shutdown().await;
}
