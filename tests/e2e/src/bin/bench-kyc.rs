//! The KYC draft benchmark (not a test): an edit made durable from the window (the
//! IPC call `kyc_edit`, whose answer comes once SQLite has committed it), 1 000 times,
//! against a bare SQLite commit of the same row (same file, same settings: WAL and
//! `synchronous = FULL`) from this process once the app has closed, 1 000 times, in
//! the same run. Prints p50
//! and p99 of each and their ratio; it asserts nothing about timings.
//! Run under Xvfb with a keyring: `sh scripts/bench-kyc.sh`.

use std::time::{Duration, Instant};

use ito_desk_e2e::{Result, bench, built, driver_with_data, find, session, wait_gone};

const EDITS: usize = 1000;
/// Discarded first: the first calls pay for warming caches and statements.
const WARM_UP: usize = 50;
const FIELD: &str = "occupation";

fn main() -> std::process::ExitCode {
    bench::main("bench-kyc", run)
}

/// Edits one field `arguments[1]` times through IPC, one after another, and answers
/// each call's time in ms (WebKit's clock has a coarse grain: 1 ms or finer).
const EDIT: &str = "const [userId, n, field, done] = arguments;
    const times = [];
    const next = (i) => {
        if (i === n) { done(times); return; }
        const t0 = performance.now();
        window.__TAURI_INTERNALS__
            .invoke('kyc_edit', { userId, field, value: 'Bench ' + i })
            .then(() => { times.push(performance.now() - t0); next(i + 1); },
                  (e) => done(JSON.stringify(e)));
    };
    next(0);";

/// The same loop over the cheapest IPC call there is (Tauri's own `app|version`): what
/// the window and the IPC cost without the service and the commit.
const ROUND_TRIP: &str = "const [n, done] = arguments;
    const times = [];
    const next = (i) => {
        if (i === n) { done(times); return; }
        const t0 = performance.now();
        window.__TAURI_INTERNALS__
            .invoke('plugin:app|version')
            .then(() => { times.push(performance.now() - t0); next(i + 1); },
                  (e) => done(JSON.stringify(e)));
    };
    next(0);";

/// The first user whose form can be edited, with the form opened (so that the desk
/// keeps its copy).
const OPEN_FORM: &str = "const done = arguments[arguments.length - 1];
    const ipc = window.__TAURI_INTERNALS__;
    ipc.invoke('kyc_queue')
        .then((q) => {
            const user = q.needsAction.users[0].user.userId;
            return ipc.invoke('kyc_form', { userId: user }).then(() => done(user));
        })
        .catch((e) => done({ error: JSON.stringify(e) }));";

async fn run() -> Result<()> {
    let profile = std::env::var("BENCH_PROFILE").unwrap_or_else(|_| "release".into());
    let app = built("ITO_DESK_APP", &profile, "ito-merchant-desk")?;
    let home = tempfile::Builder::new()
        .prefix("ito-desk-bench-kyc-")
        .tempdir()?;
    let data = home.path().join("desk-data");
    let (_driver, port) = driver_with_data(home.path(), &data)?;
    let c = session(port, &app).await?;
    find(&c, "overview-balances", 120).await?;
    let user = c.execute_async(OPEN_FORM, vec![]).await?;
    let user = user
        .as_str()
        .ok_or_else(|| format!("no editable KYC form: {user}"))?
        .to_owned();

    let answer = c
        .execute_async(
            EDIT,
            vec![
                serde_json::json!(user),
                serde_json::json!(WARM_UP + EDITS),
                serde_json::json!(FIELD),
            ],
        )
        .await?;
    let ipc: Vec<f64> = serde_json::from_value::<Vec<f64>>(answer.clone())
        .map_err(|_| format!("the window answered {answer}"))?
        .split_off(WARM_UP);

    let answer = c
        .execute_async(ROUND_TRIP, vec![serde_json::json!(WARM_UP + EDITS)])
        .await?;
    let round_trips: Vec<f64> = serde_json::from_value::<Vec<f64>>(answer.clone())
        .map_err(|_| format!("the window answered {answer}"))?
        .split_off(WARM_UP);

    // The app is closed first, so that nothing else writes to the file meanwhile.
    c.close().await?;
    wait_gone(&app, Duration::from_secs(30)).await?;
    let bare = bare_commits(&data.join(ito_desk::desk::DB_FILE), &user)?;

    println!(
        "A KYC edit made durable ({profile} build, {EDITS} edits each after {WARM_UP} \
         discarded, ms)"
    );
    println!("  {:<54} {:>8} {:>8}", "", "p50", "p99");
    let (ip50, ip99) = (percentile(&ipc, 50.0), percentile(&ipc, 99.0));
    let (bp50, bp99) = (percentile(&bare, 50.0), percentile(&bare, 99.0));
    println!(
        "  {:<54} {ip50:>8.2} {ip99:>8.2}",
        "edit from the window: IPC + service + SQLite commit"
    );
    println!(
        "  {:<54} {bp50:>8.2} {bp99:>8.2}",
        "bare SQLite commit of the same row (baseline)"
    );
    println!(
        "  {:<54} {:>8.2} {:>8.2}",
        "IPC round trip alone (Tauri's app version), same window",
        percentile(&round_trips, 50.0),
        percentile(&round_trips, 99.0)
    );
    println!(
        "  {:<54} {:>8.2} {:>8.2}",
        "ratio",
        ip50 / bp50,
        ip99 / bp99
    );
    let mut slowest: Vec<(usize, f64)> = ipc.iter().copied().enumerate().collect();
    slowest.sort_by(|a, b| b.1.total_cmp(&a.1));
    let slowest: Vec<String> = slowest[..10]
        .iter()
        .map(|(i, ms)| format!("#{i} {ms:.0}"))
        .collect();
    println!("  slowest edits from the window: {}", slowest.join(", "));
    println!(
        "  aim: p99 <= 10 ms ({}) and <= 2x the bare commit ({})",
        if ip99 <= 10.0 { "met" } else { "missed" },
        if ip99 <= 2.0 * bp99 { "met" } else { "missed" }
    );
    Ok(())
}

/// Commits the form's local values `EDITS` times (after the warm-up), each in its own
/// transaction on its own connection to the app's database, as the service's edit does
/// it less the IPC, the JSON and the checks.
fn bare_commits(db: &std::path::Path, user: &str) -> Result<Vec<f64>> {
    let conn = rusqlite::Connection::open(db)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    let values: String = conn.query_row(
        "SELECT local_values FROM kyc_forms WHERE user_id = ?1",
        [user],
        |r| r.get(0),
    )?;
    let mut times = Vec::with_capacity(EDITS);
    for i in 0..WARM_UP + EDITS {
        let t0 = Instant::now();
        let tx = conn.unchecked_transaction()?;
        tx.execute(
            "UPDATE kyc_forms SET local_values = ?1, unsent_since = ?2 WHERE user_id = ?3",
            rusqlite::params![values, i64::try_from(i)?, user],
        )?;
        tx.commit()?;
        if i >= WARM_UP {
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Ok(times)
}

fn percentile(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (s.len() as f64 - 1.0)).round();
    s.get(rank as usize).copied().unwrap_or(f64::NAN)
}
