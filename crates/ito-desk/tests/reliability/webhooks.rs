//! Webhooks under kills: `ito-sandbox serve` delivers the webhooks of paid payments to
//! the desk's listener in the desk harness process, and both are killed with SIGKILL
//! at random moments while it does, then started again on the same ports and data.
//! Every event must land exactly once in the ledger, and the sandbox's queue must lose
//! nothing.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ito_api::{Client, PaymentId, PaymentStatus};
use ito_desk::desk::DB_FILE;
use ito_desk::overview::Currency;
use ito_desk::payments::links::PaymentLinkInput;
use rust_decimal::Decimal;

use crate::support::{self, Rng};

/// How long every event may take to be in the ledger and known delivered at the sandbox
/// after the last kill: the sandbox holds a delivery it was attempting when killed for
/// twice its webhook timeout (1 s here, see `support::sandbox_process`).
const SETTLE: Duration = Duration::from_secs(60);

/// Completes every payment through the control API, in order, counting in `done`.
/// While the sandbox is down the call fails; it is made again once it is back.
async fn complete_all(gateway: Client, ids: Vec<PaymentId>, done: Arc<AtomicUsize>) -> usize {
    let mut again = 0;
    for id in ids {
        loop {
            match gateway.sandbox().complete(&id).await {
                Ok(_) => break,
                // Completed just before a kill that lost the answer.
                Err(e)
                    if e.failure().and_then(|f| f.payment_status) == Some(PaymentStatus::Paid) =>
                {
                    break;
                }
                Err(_) => {
                    again += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        done.fetch_add(1, Ordering::SeqCst);
    }
    again
}

/// A payment in the ledger: id, status, amount, charge, net, webhooks applied, verified
/// deliveries.
type LedgerRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
);

fn paid_in_ledger(db: &Path) -> usize {
    let Ok(conn) = rusqlite::Connection::open(db) else {
        return 0;
    };
    conn.query_row(
        "SELECT count(*) FROM payments WHERE status = 'paid'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map_or(0, |n| n as usize)
}

pub async fn webhooks_under_kills(
    events: usize,
    listener_kills: usize,
    sandbox_kills: usize,
    seed: u64,
) {
    let started = Instant::now();
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let sandbox_db = dir.path().join("sandbox.db");
    let merchant = support::sandbox_merchant(&sandbox_db);
    // Both ports are taken once and kept: the profile's base URL and the webhook URLs
    // the payments carry must reach the restarted processes.
    let sandbox_port = support::free_port();
    let listener_port = support::free_port();
    let mut sandbox = Some(support::sandbox_process(&sandbox_db, sandbox_port).await);
    let base = format!("http://127.0.0.1:{sandbox_port}");
    let gateway = support::client(&base, &merchant);

    // The links, made by the desk's service in this process.
    let desk_dir = dir.path().join("desk");
    let keyring = support::keyring();
    let (desk, payments) = support::open_desk(&desk_dir, &keyring, 0).await;
    let profile_id = support::add_profile(&desk, &base, &merchant).await;
    let webhook_url = format!("http://127.0.0.1:{listener_port}/webhooks/{profile_id}");
    let mut ids = Vec::with_capacity(events);
    for i in 0..events {
        let created = payments
            .create_link(PaymentLinkInput {
                amount: format!("{}", 1000 + i),
                currency: Currency::Jpy,
                details: None,
                customer_email: "taro@example.jp".into(),
                custom: format!("HOOK-{i:05}"),
                success_url: Some("https://shop.example/thanks".into()),
                cancel_url: Some("https://shop.example/cancel".into()),
                webhook_url: Some(webhook_url.clone()),
                confirm_active: false,
            })
            .await
            .unwrap();
        ids.push(PaymentId::new(created.payment.payment_id.unwrap()));
    }
    support::close_desk(desk, payments).await;

    let secrets = support::secrets_line(&profile_id, &merchant);
    let mut listener = Some(support::desk_harness(&desk_dir, listener_port, &secrets, &[]).await);
    let completed = Arc::new(AtomicUsize::new(0));
    let completer = tokio::spawn(complete_all(
        gateway.clone(),
        ids.clone(),
        Arc::clone(&completed),
    ));

    // The kills, in a shuffled order, spread over the completions (each payment's
    // delivery starts as it is completed).
    let mut plan: Vec<bool> = [vec![false; listener_kills], vec![true; sandbox_kills]].concat();
    for i in (1..plan.len()).rev() {
        plan.swap(i, rng.range(0, i as u64 + 1) as usize);
    }
    let kills = plan.len();
    for (k, kill_sandbox) in plan.into_iter().enumerate() {
        let due = events * (k + 1) / (kills + 1);
        support::eventually(
            "the completions before the next kill",
            Duration::from_secs(300),
            || {
                let n = completed.load(Ordering::SeqCst);
                async move { n >= due }
            },
        )
        .await;
        tokio::time::sleep(rng.millis(0, 100)).await;
        if kill_sandbox {
            sandbox.take().unwrap().kill();
            sandbox = Some(support::sandbox_process(&sandbox_db, sandbox_port).await);
        } else {
            listener.take().unwrap().kill();
            listener = Some(support::desk_harness(&desk_dir, listener_port, &secrets, &[]).await);
        }
    }
    let completes_again = completer.await.unwrap();
    let db = desk_dir.join(DB_FILE);
    support::eventually("every event in the ledger", SETTLE, || {
        let paid = paid_in_ledger(&db);
        async move { paid >= events }
    })
    .await;
    // The gateway's side: its queue must also know every delivery done (a 2xx
    // attempt). One the desk stored just before the sandbox was killed is only known
    // when the sandbox tries it again, after its lease; the desk then answers 2xx
    // without applying it twice.
    let mut unconfirmed: Vec<&PaymentId> = ids.iter().collect();
    let deadline = Instant::now() + SETTLE;
    while !unconfirmed.is_empty() {
        assert!(
            Instant::now() < deadline,
            "{} deliveries never confirmed",
            unconfirmed.len()
        );
        let mut still = Vec::new();
        for id in unconfirmed {
            let p = gateway.sandbox().payment(id).await.unwrap();
            if !p
                .webhook_attempts
                .iter()
                .any(|a| a.status_code.is_some_and(|s| (200..300).contains(&s)))
            {
                still.push(id);
            }
        }
        unconfirmed = still;
        if !unconfirmed.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let settled = started.elapsed();
    let (mut attempts, mut failed_attempts) = (0, 0);
    for id in &ids {
        let p = gateway.sandbox().payment(id).await.unwrap();
        assert_eq!(p.status, PaymentStatus::Paid, "{id}");
        attempts += p.webhook_attempts.len();
        failed_attempts += p
            .webhook_attempts
            .iter()
            .filter(|a| !a.status_code.is_some_and(|s| (200..300).contains(&s)))
            .count();
    }
    listener.take().unwrap().kill();
    sandbox.take().unwrap().kill();

    // The desk's side: each payment paid once, with its fee, by exactly one verified
    // delivery; repeated deliveries answered without being applied again.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let mut stmt = conn
        .prepare(
            "SELECT payment_id, status, amount, charge, net,
             (SELECT count(*) FROM payment_timeline t WHERE t.payment = p.id AND t.kind = 'webhook'),
             (SELECT count(*) FROM webhook_events e WHERE e.profile_id = p.profile_id
              AND e.payment_id = p.payment_id AND e.verification = 'verified')
             FROM payments p",
        )
        .unwrap();
    let rows: Vec<LedgerRow> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), events);
    let (mut lost, mut applied_twice) = (0, 0);
    for (payment_id, status, amount, charge, net, applied, verified) in &rows {
        lost += usize::from(status != "paid" || *applied == 0);
        applied_twice += usize::from(*applied > 1 || *verified > 1);
        let charge: Decimal = charge.as_deref().unwrap().parse().unwrap();
        let net: Decimal = net.as_deref().unwrap().parse().unwrap();
        assert_eq!(
            charge + net,
            amount.parse::<Decimal>().unwrap(),
            "{payment_id}"
        );
    }
    let (verified, distinct, duplicates): (i64, i64, i64) = conn
        .query_row(
            "SELECT coalesce(sum(verification = 'verified'), 0),
             count(DISTINCT CASE verification WHEN 'verified' THEN delivery_id END),
             coalesce(sum(verification = 'duplicate'), 0) FROM webhook_events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    println!(
        "figures webhooks: {events} events, listener killed {listener_kills} times and the sandbox \
         {sandbox_kills} times (seed {seed}); {completes_again} completions made again while the \
         sandbox was down; {attempts} delivery attempts, {failed_attempts} failed, 0 \
         undelivered; {verified} verified deliveries ({distinct} distinct), {duplicates} repeated \
         deliveries answered 2xx and not applied; lost {lost}, applied twice {applied_twice}; \
         settled in {:.1} s",
        settled.as_secs_f64()
    );
    assert_eq!((lost, applied_twice), (0, 0));
    assert_eq!((verified, distinct), (events as i64, events as i64));
}
