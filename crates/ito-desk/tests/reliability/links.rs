//! Payment links under faults: links created through the desk's service against a
//! sandbox that fails 30 % of requests with 503, drops 30 % of connections and adds
//! latency, while the desk's services are torn down mid-flight and opened again on the
//! same data. Every order must exist exactly once at the gateway and once, matching it,
//! in the ledger.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use ito_api::sandbox::Faults;
use ito_desk::overview::Currency;
use ito_desk::payments::Payments;
use ito_desk::payments::ledger::{LedgerFilter, LedgerStatus};
use ito_desk::payments::links::PaymentLinkInput;
use tokio::task::JoinSet;

use crate::support::{self, Rng};

/// Links in flight at once, as several staff (or a script) would create them.
const CONCURRENCY: usize = 8;
/// The share of answers the proxy loses after the gateway acted.
const ANSWERS_LOST: f64 = 0.1;
/// Rounds of retries after the last restart before the test gives up.
const MAX_ROUNDS: usize = 30;

fn custom(i: usize) -> String {
    format!("SOAK-{i:05}")
}

/// Order `i`'s form: mixed currencies and amounts, so rows differ.
fn input(i: usize) -> PaymentLinkInput {
    let (amount, currency) = match i % 3 {
        0 => (format!("{}", 500 + i), Currency::Jpy),
        1 => (format!("{}.{:02}", 10 + i % 90, i % 100), Currency::Usd),
        _ => (format!("{}.50", 1 + i % 40), Currency::SgpUsd),
    };
    PaymentLinkInput {
        amount,
        currency,
        details: Some(format!("注文 {i}")),
        customer_email: format!("buyer{i}@example.jp"),
        custom: custom(i),
        success_url: Some("https://shop.example/thanks".into()),
        cancel_url: Some("https://shop.example/cancel".into()),
        webhook_url: None,
        confirm_active: false,
    }
}

#[derive(Debug, Default)]
struct Tally {
    created: AtomicUsize,
    failed: AtomicUsize,
}

/// Takes orders from `next` below `end` and creates them, one at a time.
async fn worker(payments: Arc<Payments>, next: Arc<AtomicUsize>, end: usize, tally: Arc<Tally>) {
    while let Ok(i) = next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
        (n < end).then_some(n + 1)
    }) {
        match payments.create_link(input(i)).await {
            Ok(_) => tally.created.fetch_add(1, Ordering::SeqCst),
            // Left unconfirmed for a retry; a refusal of the form would show below as a
            // missing or discarded order.
            Err(_) => tally.failed.fetch_add(1, Ordering::SeqCst),
        };
    }
}

/// Every unconfirmed row of the ledger, through the service's own filter.
async fn unconfirmed(payments: &Payments) -> Vec<i64> {
    let filter = || LedgerFilter {
        status: Some(LedgerStatus::Unconfirmed),
        ..LedgerFilter::default()
    };
    let mut ids = Vec::new();
    let mut cursor = None;
    loop {
        let page = payments.list(filter(), cursor, Some(500)).await.unwrap();
        ids.extend(page.rows.iter().map(|r| r.id));
        match page.next {
            Some(n) => cursor = Some(n),
            None => return ids,
        }
    }
}

/// Retries every unconfirmed row once; returns how many are still unconfirmed.
async fn retry_unconfirmed(payments: &Payments, retries: &mut usize) -> usize {
    let mut left = 0;
    for id in unconfirmed(payments).await {
        *retries += 1;
        if payments.retry_link(id).await.is_err() {
            left += 1;
        }
    }
    left
}

#[derive(Debug)]
struct LedgerRow {
    status: String,
    payment_id: Option<String>,
    amount: String,
    currency: String,
    email: String,
}

fn ledger_rows(db: &std::path::Path) -> HashMap<String, Vec<LedgerRow>> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT custom, status, payment_id, amount, currency, customer_email FROM payments",
        )
        .unwrap();
    let mut rows: HashMap<String, Vec<LedgerRow>> = HashMap::new();
    let all = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                LedgerRow {
                    status: r.get(1)?,
                    payment_id: r.get(2)?,
                    amount: r.get(3)?,
                    currency: r.get(4)?,
                    email: r.get(5)?,
                },
            ))
        })
        .unwrap();
    for row in all {
        let (custom, row) = row.unwrap();
        rows.entry(custom).or_default().push(row);
    }
    rows
}

pub async fn links_under_faults(count: usize, restarts: usize, seed: u64) {
    let started = Instant::now();
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let sandbox = support::sandbox(&dir.path().join("sandbox.db")).await;
    let merchant = sandbox.db().create_merchant("Soak shop").unwrap();
    let keyring = support::keyring();
    let desk_dir = dir.path().join("desk");
    // A fixed listener port, as the app keeps one, so the webhook URL the form falls
    // back to is the same after every restart.
    let port = support::free_port();
    let (mut desk, mut payments) = support::open_desk(&desk_dir, &keyring, port).await;
    // The desk reaches the gateway through a proxy that loses answers after the gateway
    // acted: the case idempotency keys exist for (the sandbox's faults act before it).
    let upstream = sandbox.url().trim_start_matches("http://").parse().unwrap();
    let proxy = support::lossy_proxy(upstream, ANSWERS_LOST, seed).await;
    support::add_profile(&desk, &format!("http://{proxy}"), &merchant).await;
    let gateway = support::client(&sandbox.url(), &merchant);
    gateway
        .sandbox()
        .set_faults(&Faults {
            latency_ms: 20,
            error_rate: 0.3,
            drop_rate: 0.3,
        })
        .await
        .unwrap();

    let tally = Arc::new(Tally::default());
    let next = Arc::new(AtomicUsize::new(0));
    let (mut cut_off, mut retries, mut unconfirmed_at_restarts) = (0, 0, 0);
    let ends: Vec<usize> = (1..=restarts).map(|k| count * k / (restarts + 1)).collect();
    for end in ends {
        let mut running = JoinSet::new();
        for _ in 0..CONCURRENCY {
            running.spawn(worker(
                Arc::clone(&payments),
                Arc::clone(&next),
                end,
                Arc::clone(&tally),
            ));
        }
        support::eventually(
            "the orders before the restart to start",
            Duration::from_secs(600),
            || {
                let n = next.load(Ordering::SeqCst);
                async move { n >= end }
            },
        )
        .await;
        // A moment later, the desk goes down with links in flight, as a crash would
        // take it: each cut off anywhere between storing, sending and confirming.
        tokio::time::sleep(rng.millis(0, 60)).await;
        running.abort_all();
        while let Some(joined) = running.join_next().await {
            cut_off += usize::from(joined.is_err_and(|e| e.is_cancelled()));
        }
        support::close_desk(desk, payments).await;
        (desk, payments) = support::open_desk(&desk_dir, &keyring, port).await;
        assert_eq!(payments.listener_status().await.error, None);
        unconfirmed_at_restarts += unconfirmed(&payments).await.len();
        retry_unconfirmed(&payments, &mut retries).await;
    }
    let mut running = JoinSet::new();
    for _ in 0..CONCURRENCY {
        running.spawn(worker(
            Arc::clone(&payments),
            Arc::clone(&next),
            count,
            Arc::clone(&tally),
        ));
    }
    while running.join_next().await.transpose().unwrap().is_some() {}

    // Still under faults: the staff retry what is unconfirmed and submit again the
    // forms a restart cut off before they were stored.
    let db = desk_dir.join(ito_desk::desk::DB_FILE);
    let mut resubmitted = 0;
    let mut rounds = 0;
    loop {
        let rows = ledger_rows(&db);
        let missing: Vec<usize> = (0..count)
            .filter(|i| !rows.contains_key(&custom(*i)))
            .collect();
        let left = retry_unconfirmed(&payments, &mut retries).await;
        for i in &missing {
            resubmitted += 1;
            let _ = payments.create_link(input(*i)).await;
        }
        if left == 0 && missing.is_empty() {
            break;
        }
        rounds += 1;
        assert!(
            rounds < MAX_ROUNDS,
            "{left} unconfirmed and {} missing after {rounds} rounds",
            missing.len()
        );
    }
    gateway.sandbox().clear_faults().await.unwrap();

    let at_gateway: Vec<_> = gateway
        .sandbox()
        .all_payments()
        .try_collect()
        .await
        .unwrap();
    let mut by_custom: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for p in &at_gateway {
        by_custom.entry(p.custom.as_str()).or_default().push(p);
    }
    let rows = ledger_rows(&db);
    let (mut lost, mut duplicated, mut mismatched) = (0, 0, 0);
    for i in 0..count {
        let c = custom(i);
        let gw = by_custom.get(c.as_str()).map_or(&[][..], Vec::as_slice);
        let local = rows.get(&c).map_or(&[][..], Vec::as_slice);
        lost += usize::from(gw.is_empty() || local.is_empty());
        duplicated += usize::from(gw.len() > 1 || local.len() > 1);
        if let ([g], [l]) = (gw, local) {
            let same = l.status == "pending"
                && l.payment_id.as_deref() == Some(g.payment_id.as_str())
                && l.amount == g.amount.to_decimal_string()
                && l.currency == g.amount.currency().code()
                && l.email == g.customer_email;
            if !same {
                eprintln!("{c}: ledger {l:?} does not match the gateway's {g:?}");
                mismatched += 1;
            }
        }
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (attempts, injected_503, dropped, replayed): (i64, i64, i64, i64) = conn
        .query_row(
            "SELECT count(*), coalesce(sum(status = 503), 0), coalesce(sum(status IS NULL), 0),
             (SELECT count(*) FROM payment_timeline WHERE detail LIKE '%answer replayed%')
             FROM request_log WHERE path = '/payment/process'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    println!(
        "figures links: {count} links, {restarts} restarts (seed {seed}), faults 30 % 503, 30 % dropped, \
         20 ms, {:.0} % of answers lost after the gateway acted; {cut_off} cut off in flight, \
         {unconfirmed_at_restarts} unconfirmed found after restarts, {} create calls failed after the SDK's \
         retries, {retries} retries, {resubmitted} forms submitted again, {rounds} extra rounds; \
         {attempts} attempts logged ({injected_503} answered 503, {dropped} without an answer), \
         {replayed} confirmed by an idempotent replay; at the gateway {} payments; lost {lost}, \
         duplicated {duplicated}, mismatched {mismatched}; {:.1} s",
        ANSWERS_LOST * 100.0,
        tally.failed.load(Ordering::SeqCst),
        at_gateway.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!((lost, duplicated, mismatched), (0, 0, 0));
    assert_eq!(
        at_gateway.len(),
        count,
        "only the soak's orders exist at the gateway"
    );
    support::close_desk(desk, payments).await;
    sandbox.shutdown().await;
}
