//! The Users list benchmark (not a test): the real window over a local directory of
//! 100 000 users, against the same measures over 100 users in the same run: opening
//! the list and searching it (a surname of two characters, a full name, one user's
//! email, one user's id, and a text every user matches), each search from the whole
//! list, to the rows painted; of that, the time until the answer is in the page; and
//! the query behind each alone over IPC. Prints medians and the ratio of the two; it
//! asserts nothing about timings. Run under Xvfb with a keyring:
//! `scripts/bench-users.sh --window`.

use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::Client;
use ito_desk::store::Store;
use ito_desk_e2e::bench::{self, median, runs, timed};
use ito_desk_e2e::{Result, built, driver_with_data, find, session, testid, until, wait_gone};

#[path = "../../../../crates/ito-desk/examples/support/users_fill.rs"]
mod users_fill;

/// Beside the embedded sandbox's 10 demo users.
const BASELINE_USERS: usize = 100;
const USERS: usize = 100_000;
/// The window's own time jitters by tens of ms on this machine: 9 runs for the median.
const RUNS: usize = 9;
/// How long Users.svelte waits after typing before it queries.
const DEBOUNCE_MS: f64 = 150.0;

/// The searches, each with the rows it shows: `one` user, or `many`. Users 0–99 are in
/// both directories, so every search finds the same kind of answer in each.
const SEARCHES: [(&str, &str, &str); 5] = [
    ("a surname, two characters (佐藤)", "佐藤", "many"),
    ("a full name (佐藤 陽翔)", "佐藤 陽翔", "many"),
    ("one user's email", "user42.42@example.jp", "one"),
    ("one user's id", "usr_0000000000000042", "one"),
    ("matching every user (example.jp)", "example.jp", "many"),
];

#[derive(Debug, Default)]
struct Figures {
    open_ms: Vec<f64>,
    query_open_ms: Vec<f64>,
    search_ms: [Vec<f64>; SEARCHES.len()],
    answered_ms: [Vec<f64>; SEARCHES.len()],
    query_ms: [Vec<f64>; SEARCHES.len()],
}

fn main() -> std::process::ExitCode {
    bench::main("bench-users", run)
}

async fn run() -> Result<()> {
    let profile = std::env::var("BENCH_PROFILE").unwrap_or_else(|_| "release".into());
    let app = built("ITO_DESK_APP", &profile, "ito-merchant-desk")?;
    let home = tempfile::Builder::new()
        .prefix("ito-desk-bench-users-")
        .tempdir()?;
    let data = home.path().join("desk-data");
    let (_driver, port) = driver_with_data(home.path(), &data)?;

    // The first start imports the embedded sandbox's demo users and fetches their
    // balances once; done before filling, so that it never runs over the filled
    // directory during the measures.
    let c = session(port, &app).await?;
    find(&c, "overview-balances", 120).await?;
    let profile_id = bench::active_profile(&c).await?;
    find(&c, "nav-users", 10).await?.click().await?;
    until(
        &c,
        "the demo users with their balances",
        &format!(
            "(() => {{ const cells = [...document.querySelectorAll('{}')]; \
             return cells.length > 0 && cells.every(e => /[0-9]/.test(e.textContent)); }})()",
            testid("user-row-balances")
        ),
        90,
    )
    .await?;
    c.close().await?;
    wait_gone(&app, Duration::from_secs(30)).await?;

    let db = data.join(ito_desk::desk::DB_FILE);
    fill(&db, &profile_id, 0..BASELINE_USERS).await?;
    let small = measure(port, &app).await?;
    let started = Instant::now();
    fill(&db, &profile_id, BASELINE_USERS..USERS).await?;
    let filled = started.elapsed();
    let large = measure(port, &app).await?;

    println!(
        "Users list in the window ({profile} build, {RUNS} runs each, median ms; directory on \
         disk filled to {USERS} users (and the 10 demo users) in {filled:.1?})"
    );
    println!(
        "  {:<58} {:>10} {:>13} {:>7}",
        "", "100 users", "100 000 users", "ratio"
    );
    let line = |name: &str, a: &[f64], b: &[f64], less: f64| {
        let (a, b) = (median(a) - less, median(b) - less);
        println!("  {name:<58} {a:>10.0} {b:>13.0} {:>7.2}", b / a);
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
    for (i, (name, _, _)) in SEARCHES.iter().enumerate() {
        line(
            &format!("search {name}, less the typing pause"),
            &small.search_ms[i],
            &large.search_ms[i],
            DEBOUNCE_MS,
        );
        line(
            "  of which until its answer is in the page",
            &small.answered_ms[i],
            &large.answered_ms[i],
            DEBOUNCE_MS,
        );
        line(
            "  its query, called alone over IPC",
            &small.query_ms[i],
            &large.query_ms[i],
            0.0,
        );
    }
    for (name, f) in [("100 users", &small), ("100 000 users", &large)] {
        println!("  runs over {name} (open, then each search and its query):");
        println!("    {:<14} {}", "open", runs(&f.open_ms));
        println!("    {:<14} {}", "query open", runs(&f.query_open_ms));
        for (i, (_, text, _)) in SEARCHES.iter().enumerate() {
            println!("    {text:<14} {}", runs(&f.search_ms[i]));
            println!("    {:<14} {}", "  answered", runs(&f.answered_ms[i]));
            println!("    {:<14} {}", "  query", runs(&f.query_ms[i]));
        }
    }
    Ok(())
}

/// Adds users `range` to the profile's directory with balances fetched now, so that
/// nothing in the window wants to refresh them.
async fn fill(db: &Path, profile_id: &str, range: std::ops::Range<usize>) -> Result<()> {
    let store = Store::open(db)?;
    users_fill::fill(&store, profile_id, range, ito_desk::store::now_ms()).await?;
    Ok(())
}

/// Starts the app on the filled directory and times the list `RUNS` times, coming to
/// it from the Overview each time.
async fn measure(port: u16, app: &Path) -> Result<Figures> {
    let c = session(port, app).await?;
    let figures = series(&c).await;
    c.close().await?;
    wait_gone(app, Duration::from_secs(30)).await?;
    figures
}

async fn series(c: &Client) -> Result<Figures> {
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
            &format!("!document.querySelector('{}')", testid("user-row")),
            30,
        )
        .await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        f.open_ms.push(timed(c, OPEN, &[]).await?);
        tokio::time::sleep(Duration::from_millis(300)).await;
        f.query_open_ms.push(timed(c, QUERY, &[""]).await?);
        for (i, (_, text, want)) in SEARCHES.iter().enumerate() {
            tokio::time::sleep(Duration::from_millis(300)).await;
            f.search_ms[i].push(timed(c, SEARCH, &[text, want]).await?);
            f.answered_ms[i].push(timed(c, ANSWERED, &[]).await?);
            // The query alone once the screen has settled from painting the answer.
            tokio::time::sleep(Duration::from_millis(300)).await;
            f.query_ms[i].push(timed(c, QUERY, &[text]).await?);
            // Each search starts from the whole list, whatever the last one showed.
            timed(c, SEARCH, &["", "many"]).await?;
        }
    }
    Ok(f)
}

/// Clicks Users and resolves on the first animation frame after its first rows are in
/// the DOM, i.e. once they are painted.
const OPEN: &str = "const done = arguments[arguments.length - 1];
    const t0 = performance.now();
    document.querySelector('[data-testid=\"nav-users\"]').click();
    const tick = () => document.querySelector('[data-testid=\"user-row\"]')
        ? requestAnimationFrame(() => done(performance.now() - t0))
        : requestAnimationFrame(tick);
    tick();";

/// Puts `arguments[0]` in the search field at once, as a paste would, and resolves on
/// the first frame after the list has started over (seen by its `aria-busy` going
/// true, after the typing pause) and shows its answer: one row, or many. Leaves the
/// time the answer reached the page (`aria-busy` false again) for `ANSWERED`.
const SEARCH: &str = "const [text, want, done] = arguments;
    const input = document.querySelector('[data-testid=\"users-search\"]');
    const busy = () => document.querySelector('[data-testid=\"users-list\"][aria-busy=\"true\"]');
    let started = false;
    window.__benchAnswered = null;
    const watch = new MutationObserver(() => {
        const now = !!busy();
        if (started && !now && window.__benchAnswered === null) window.__benchAnswered = performance.now() - t0;
        started = started || now;
    });
    watch.observe(document.body, { attributes: true, attributeFilter: ['aria-busy'], subtree: true });
    const t0 = performance.now();
    input.value = text;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    const shown = () => {
        if (!started || busy()) return false;
        const rows = document.querySelectorAll('[data-testid=\"user-row\"]');
        return want === 'one' ? rows.length === 1 : rows.length > 1;
    };
    const tick = () => {
        if (!shown()) { requestAnimationFrame(tick); return; }
        watch.disconnect();
        requestAnimationFrame(() => done(performance.now() - t0));
    };
    tick();";

/// The time `SEARCH` saw the last answer reach the page.
const ANSWERED: &str = "arguments[0](window.__benchAnswered);";

/// The list's first query for a search (none for an empty text) as it asks it: the
/// first page of 80, newest first, with the total and the tabs' counts, without the
/// screen: the backend and IPC share.
const QUERY: &str = "const [text, done] = arguments;
    const t0 = performance.now();
    const filter = { search: text || null, tab: null, kycStatus: null, country: null, currency: null };
    const sort = { by: 'created_at', currency: null, descending: true };
    window.__TAURI_INTERNALS__
        .invoke('users_page', { filter, sort, cursor: null, limit: 80 })
        .then(() => done(performance.now() - t0), (e) => done(JSON.stringify(e)));";
