//! The Payments list benchmark (not a test): the real window over a local ledger of
//! 100 000 payments, against the same measures over 100 payments in the same run:
//! opening the list and searching it, to the rows painted, and the query behind each
//! alone. Prints medians and the ratio of the two; it asserts nothing about timings.
//! Run under Xvfb with a keyring: `sh scripts/bench-ledger.sh`.

use std::ops::Range;
use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::Client;
use ito_api::{Currency, Money, NewPayment};
use ito_desk::payments::ledger::{self, LedgerStatus, Observed};
use ito_desk::store::Store;
use ito_desk_e2e::bench::{self, median, runs, timed};
use ito_desk_e2e::{Result, built, driver_with_data, find, session, testid, until, wait_gone};

const BASELINE_ROWS: i64 = 100;
const ROWS: i64 = 100_000;
const RUNS: usize = 5;
/// How long Payments.svelte waits after typing before it queries.
const DEBOUNCE_MS: f64 = 150.0;
/// Matches one payment in either ledger.
const ONE_ROW: &str = "ORD-20261124-000042";
/// Matches every payment (all the emails are at example.jp).
const EVERY_ROW: &str = "example.jp";

#[derive(Debug, Default)]
struct Figures {
    open_ms: Vec<f64>,
    one_ms: Vec<f64>,
    every_ms: Vec<f64>,
    query_open_ms: Vec<f64>,
    query_one_ms: Vec<f64>,
    query_every_ms: Vec<f64>,
}

fn main() -> std::process::ExitCode {
    bench::main("bench-ledger", run)
}

async fn run() -> Result<()> {
    let profile = std::env::var("BENCH_PROFILE").unwrap_or_else(|_| "release".into());
    let app = built("ITO_DESK_APP", &profile, "ito-merchant-desk")?;
    let home = tempfile::Builder::new()
        .prefix("ito-desk-bench-ledger-")
        .tempdir()?;
    let data = home.path().join("desk-data");
    let (_driver, port) = driver_with_data(home.path(), &data)?;

    // The first start creates the embedded sandbox's profile; its ledger is empty.
    let c = session(port, &app).await?;
    find(&c, "overview-balances", 120).await?;
    let profile_id = bench::active_profile(&c).await?;
    c.close().await?;
    wait_gone(&app, Duration::from_secs(30)).await?;

    let db = data.join(ito_desk::desk::DB_FILE);
    fill(&db, &profile_id, 0..BASELINE_ROWS).await?;
    let small = measure(port, &app, BASELINE_ROWS).await?;
    let started = Instant::now();
    fill(&db, &profile_id, BASELINE_ROWS..ROWS).await?;
    let filled = started.elapsed();
    let large = measure(port, &app, ROWS).await?;

    println!(
        "Payments list in the window ({profile} build, {RUNS} runs each, median ms; \
         ledger on disk filled to {ROWS} rows in {filled:.1?})"
    );
    println!(
        "  {:<52} {:>10} {:>12} {:>7}",
        "", "100 rows", "100 000 rows", "ratio"
    );
    let line = |name: &str, a: &[f64], b: &[f64], less: f64| {
        let (a, b) = (median(a) - less, median(b) - less);
        println!("  {name:<52} {a:>10.0} {b:>12.0} {:>7.2}", b / a);
    };
    line(
        "open the list: click to first rows painted",
        &small.open_ms,
        &large.open_ms,
        0.0,
    );
    line(
        "  of which its query, called alone over IPC",
        &small.query_open_ms,
        &large.query_open_ms,
        0.0,
    );
    line(
        "search one order reference: input to row painted",
        &small.one_ms,
        &large.one_ms,
        0.0,
    );
    line(
        "  the same less the 150 ms debounce",
        &small.one_ms,
        &large.one_ms,
        DEBOUNCE_MS,
    );
    line(
        "  of which its query, called alone over IPC",
        &small.query_one_ms,
        &large.query_one_ms,
        0.0,
    );
    line(
        "search matching every row: input to rows painted",
        &small.every_ms,
        &large.every_ms,
        0.0,
    );
    line(
        "  the same less the 150 ms debounce",
        &small.every_ms,
        &large.every_ms,
        DEBOUNCE_MS,
    );
    line(
        "  of which its query, called alone over IPC",
        &small.query_every_ms,
        &large.query_every_ms,
        0.0,
    );
    for (name, f) in [("100 rows", &small), ("100 000 rows", &large)] {
        println!("  runs over {name}:");
        for (what, times) in [
            ("open", &f.open_ms),
            ("search one", &f.one_ms),
            ("search every", &f.every_ms),
            ("query open", &f.query_open_ms),
            ("query one", &f.query_one_ms),
            ("query every", &f.query_every_ms),
        ] {
            println!("    {what:<14} {}", runs(times));
        }
    }
    Ok(())
}

/// Adds payments `range` to the profile's ledger through the app's own ledger
/// functions, as creating them would: stored, confirmed by the gateway, and most then
/// paid, some cancelled or expired. A minute apart, so the newest is about now.
async fn fill(db: &Path, profile_id: &str, range: Range<i64>) -> Result<()> {
    let store = Store::open(db)?;
    let profile_id = profile_id.to_owned();
    store
        .write(move |tx| {
            let now = ito_desk::store::now_ms();
            let url = |u: &str| {
                url::Url::parse(u).map_err(|e| ito_desk::error::Error::Internal(e.to_string()))
            };
            let web_hook = url(&format!(
                "http://127.0.0.1:{}/webhooks/{profile_id}",
                ito_desk::webhooks::DEFAULT_PORT
            ))?;
            let cancel_url = url("https://shop.example/cancel")?;
            let success_url = url("https://shop.example/thanks")?;
            for i in range {
                let currency = [Currency::Jpy, Currency::Usd, Currency::SgpUsd]
                    [usize::try_from(i % 3).unwrap_or(0)];
                let minor = 1000 + i % 50_000;
                let request = NewPayment {
                    custom: format!("ORD-20261124-{i:06}"),
                    amount: Money::from_minor(minor, currency),
                    details: Some("抹茶セット".into()),
                    web_hook: web_hook.clone(),
                    cancel_url: cancel_url.clone(),
                    success_url: success_url.clone(),
                    customer_email: format!("buyer{}@example.jp", i % 5000),
                };
                let at = now - (ROWS - i) * 60_000;
                let id = ledger::insert_unconfirmed(
                    tx,
                    &profile_id,
                    &format!("bench-{i}"),
                    &request,
                    at,
                )?;
                ledger::confirm(
                    tx,
                    id,
                    &format!("PAY{i:020}"),
                    &format!("http://127.0.0.1/process-checkout?payment_id=PAY{i:020}"),
                    false,
                    at,
                )?;
                let seen = match i % 10 {
                    0..7 => {
                        // About 3 %: the figures only need to look like a fee.
                        let fee = minor * 3 / 100;
                        Observed {
                            status: Some(LedgerStatus::Paid),
                            charge: Some(Money::from_minor(fee, currency)),
                            net: Some(Money::from_minor(minor - fee, currency)),
                            transaction: Some(format!("TXN{i:012}")),
                            paid_at: chrono::DateTime::from_timestamp_millis(at + 90_000),
                        }
                    }
                    7 => Observed {
                        status: Some(LedgerStatus::Cancelled),
                        ..Observed::default()
                    },
                    8 => Observed {
                        status: Some(LedgerStatus::Expired),
                        ..Observed::default()
                    },
                    _ => continue,
                };
                ledger::observe(
                    tx,
                    id,
                    &seen,
                    "validity_check",
                    "Benchmark data.",
                    at + 90_000,
                )?;
            }
            Ok(())
        })
        .await?;
    Ok(())
}

/// Starts the app on the filled ledger and times the list `RUNS` times, coming to it
/// from the Overview each time.
async fn measure(port: u16, app: &Path, rows: i64) -> Result<Figures> {
    let c = session(port, app).await?;
    let figures = series(&c, rows).await;
    c.close().await?;
    wait_gone(app, Duration::from_secs(30)).await?;
    figures
}

async fn series(c: &Client, rows: i64) -> Result<Figures> {
    find(c, "overview-balances", 120).await?;
    c.update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
        Some(Duration::from_secs(120)),
        Some(Duration::from_secs(120)),
        Some(Duration::from_secs(0)),
    ))
    .await?;
    // Let the start's own work (the Overview, the sandbox) finish first.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut f = Figures::default();
    for _ in 0..RUNS {
        find(c, "nav-overview", 10).await?.click().await?;
        find(c, "overview-balances", 30).await?;
        until(
            c,
            "the list to be gone",
            &format!("!document.querySelector('{}')", testid("payment-row")),
            30,
        )
        .await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        f.open_ms.push(timed(c, OPEN, &[]).await?);
        tokio::time::sleep(Duration::from_millis(500)).await;
        f.one_ms.push(timed(c, SEARCH, &[ONE_ROW, "one"]).await?);
        f.every_ms
            .push(timed(c, SEARCH, &[EVERY_ROW, "many"]).await?);
        f.query_open_ms.push(timed(c, QUERY, &[""]).await?);
        f.query_one_ms.push(timed(c, QUERY, &[ONE_ROW]).await?);
        f.query_every_ms.push(timed(c, QUERY, &[EVERY_ROW]).await?);
        // Every payment is there and counted, not only the first page.
        let counted = c
            .execute(
                &format!(
                    "return document.querySelector('{}').getAttribute('aria-rowcount');",
                    testid("payments-list")
                ),
                vec![],
            )
            .await?;
        if counted.as_str() != Some(&(rows + 1).to_string()) {
            return Err(
                format!("the list counts {counted} rows with its header, not {rows} + 1").into(),
            );
        }
    }
    Ok(f)
}

/// Clicks Payments and resolves on the first animation frame after its first rows
/// are in the DOM, i.e. once they are painted.
const OPEN: &str = "const done = arguments[arguments.length - 1];
    const t0 = performance.now();
    document.querySelector('[data-testid=\"nav-payments\"]').click();
    const tick = () => document.querySelector('[data-testid=\"payment-row\"]')
        ? requestAnimationFrame(() => done(performance.now() - t0))
        : requestAnimationFrame(tick);
    tick();";

/// Puts `arguments[0]` in the search field at once, as a paste would, and resolves
/// once the list shows the filtered rows painted: one row holding the text, or many.
const SEARCH: &str = "const [text, want, done] = arguments;
    const input = document.querySelector('[data-testid=\"payments-search\"]');
    const t0 = performance.now();
    input.value = text;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    const shown = () => {
        const rows = document.querySelectorAll('[data-testid=\"payment-row\"]');
        return want === 'one' ? rows.length === 1 && rows[0].textContent.includes(text) : rows.length > 1;
    };
    const tick = () => shown()
        ? requestAnimationFrame(() => done(performance.now() - t0))
        : requestAnimationFrame(tick);
    tick();";

/// The list's first query for a search (none for an empty text) as it asks it, the
/// first page of 200 with the total, without the screen: the backend and IPC share.
const QUERY: &str = "const [text, done] = arguments;
    const t0 = performance.now();
    const filter = text ? { search: text } : {};
    window.__TAURI_INTERNALS__
        .invoke('payments_page', { filter, cursor: null, limit: 200 })
        .then(() => done(performance.now() - t0), (e) => done(JSON.stringify(e)));";
