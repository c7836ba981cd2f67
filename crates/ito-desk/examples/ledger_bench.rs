//! Benchmark (not a test): the Payments list over a ledger of 100 000 rows on disk.
//! Prints the time to the first page and to filtered and searched results, the way
//! the list asks for them (first page with its total count).
//!
//!   cargo run --release -p ito-desk --example ledger_bench

use std::time::{Duration, Instant};

use ito_api::{Currency as ApiCurrency, Money, NewPayment};
use ito_desk::error::Result;
use ito_desk::overview::Currency;
use ito_desk::payments::ledger::{self, LedgerFilter, LedgerStatus};
use ito_desk::store::Store;

const ROWS: i64 = 100_000;
const PROFILE: &str = "prf_bench";

async fn fill(store: &Store) -> Result<()> {
    store
        .write(|tx| {
            let start = ledger_start_ms();
            for i in 0..ROWS {
                let currency = [ApiCurrency::Jpy, ApiCurrency::Usd, ApiCurrency::SgpUsd]
                    [usize::try_from(i % 3).unwrap_or(0)];
                let request = NewPayment {
                    custom: format!("ORD-20261124-{i:06}"),
                    amount: Money::from_minor(1000 + i, currency),
                    details: Some("抹茶セット".into()),
                    web_hook: url::Url::parse("http://127.0.0.1:47800/webhooks/prf_bench")
                        .map_err(|e| ito_desk::error::Error::Internal(e.to_string()))?,
                    cancel_url: url::Url::parse("https://shop.example/cancel")
                        .map_err(|e| ito_desk::error::Error::Internal(e.to_string()))?,
                    success_url: url::Url::parse("https://shop.example/thanks")
                        .map_err(|e| ito_desk::error::Error::Internal(e.to_string()))?,
                    customer_email: format!("buyer{}@example.jp", i % 5000),
                };
                // A minute apart, oldest first, as a busy shop over ten weeks.
                let at = start + i * 60_000;
                let id = ledger::insert_unconfirmed(tx, PROFILE, &format!("k{i}"), &request, at)?;
                ledger::confirm(
                    tx,
                    id,
                    &format!("PAY{i:020}"),
                    "http://127.0.0.1/process-checkout",
                    false,
                    at,
                )?;
            }
            // Most are paid, some cancelled or expired.
            tx.execute_batch(
                "UPDATE payments SET status = 'paid', charge = amount, net = '0' WHERE id % 10 < 7;
                 UPDATE payments SET status = 'cancelled' WHERE id % 10 = 7;
                 UPDATE payments SET status = 'expired' WHERE id % 10 = 8;",
            )?;
            Ok(())
        })
        .await
}

fn ledger_start_ms() -> i64 {
    chrono::Utc::now().timestamp_millis() - ROWS * 60_000
}

async fn time(store: &Store, filter: LedgerFilter) -> Result<(Duration, Duration, usize, u32)> {
    let mut runs = Vec::new();
    let mut last = (0, 0);
    for _ in 0..21 {
        let f = filter.clone();
        let started = Instant::now();
        let page = store
            .read(move |c| ledger::page(c, PROFILE, &f, None, Some(100)))
            .await?;
        runs.push(started.elapsed());
        last = (page.rows.len(), page.total.unwrap_or(0));
    }
    let first = runs[0];
    runs.sort();
    Ok((first, runs[runs.len() / 2], last.0, last.1))
}

#[tokio::main]
async fn main() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("ledger-bench-{}", std::process::id()));
    let path = dir.join("desk.db");
    let store = Store::open(&path)?;
    let started = Instant::now();
    fill(&store).await?;
    println!("filled {ROWS} rows in {:.1?}", started.elapsed());
    drop(store);
    // A fresh open, as at app start: nothing cached but the OS's page cache.
    let store = Store::open(&path)?;
    let cases = [
        ("first page, no filter", LedgerFilter::default()),
        (
            "status paid + JPY",
            LedgerFilter {
                status: Some(LedgerStatus::Paid),
                currency: Some(Currency::Jpy),
                ..LedgerFilter::default()
            },
        ),
        (
            "search one order reference",
            LedgerFilter {
                search: Some("ORD-20261124-042917".into()),
                ..LedgerFilter::default()
            },
        ),
        (
            "search an email (20 rows)",
            LedgerFilter {
                search: Some("buyer4242@".into()),
                ..LedgerFilter::default()
            },
        ),
        (
            "search matching every row",
            LedgerFilter {
                search: Some("example.jp".into()),
                ..LedgerFilter::default()
            },
        ),
        (
            "search two characters (LIKE)",
            LedgerFilter {
                search: Some("42".into()),
                ..LedgerFilter::default()
            },
        ),
        (
            "expired in the last week",
            LedgerFilter {
                status: Some(LedgerStatus::Expired),
                created_from: Some((chrono::Utc::now() - chrono::Duration::days(7)).to_rfc3339()),
                ..LedgerFilter::default()
            },
        ),
    ];
    println!(
        "{:<30} {:>10} {:>10} {:>6} {:>8}",
        "query (100 rows + total)", "first", "median", "rows", "total"
    );
    for (name, filter) in cases {
        let (first, median, rows, total) = time(&store, filter).await?;
        println!("{name:<30} {first:>10.1?} {median:>10.1?} {rows:>6} {total:>8}");
    }
    let out = dir.join("export.csv");
    let started = Instant::now();
    let n = store
        .read(move |c| {
            let mut w = std::io::BufWriter::new(
                std::fs::File::create(&out)
                    .map_err(|e| ito_desk::error::Error::Storage(e.to_string()))?,
            );
            ledger::export_csv(c, PROFILE, &LedgerFilter::default(), &mut w)
        })
        .await?;
    println!("CSV export of {n} rows: {:.1?}", started.elapsed());
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
