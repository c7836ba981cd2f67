//! The app benchmark (not a test): start to Overview-with-data against a blank
//! Tauri window, idle memory (PSS) of each with its WebKit processes, and the UI
//! bundle size. Run under Xvfb with a keyring: `sh scripts/bench-app.sh`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ito_desk_e2e::bench::{self, median, runs};
use ito_desk_e2e::{
    Result, all_pids, built, free_port, pids_of, session, tauri_driver, testid, workspace,
};

const RUNS: usize = 5;
/// How long the window idles before its memory is read.
const IDLE: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
struct Figures {
    starts_ms: Vec<f64>,
    pss_kib: u64,
}

fn main() -> std::process::ExitCode {
    bench::main("bench-app", run)
}

async fn run() -> Result<()> {
    let profile = std::env::var("BENCH_PROFILE").unwrap_or_else(|_| "release".into());
    let app = built("ITO_DESK_APP", &profile, "ito-merchant-desk")?;
    let blank = built("BLANK_WINDOW_APP", &profile, "blank-window")?;
    let home = std::env::temp_dir().join(format!("ito-desk-bench-{}", std::process::id()));
    std::fs::create_dir_all(&home)?;
    let data = home.join(".local/share");
    let port_env = free_port()?.to_string();
    let (_driver, port) = tauri_driver(&[
        ("HOME", home.as_os_str()),
        ("XDG_DATA_HOME", data.as_os_str()),
        (ito_desk::desk::WEBHOOK_PORT_ENV, port_env.as_ref()),
    ])?;

    // The first start creates the embedded sandbox and its demo data; it is shown
    // apart, and the runs that follow are the usual morning start.
    let first = measure(port, &app, &testid("overview-balances"), false).await?;
    let app_figures = series(port, &app, &testid("overview-balances")).await?;
    let blank_figures = series(port, &blank, &testid("blank-ready")).await?;
    let _ = std::fs::remove_dir_all(&home);

    let (bundle, files) = dir_size(&workspace().join("ui/dist"))?;
    let app_med = median(&app_figures.starts_ms);
    let blank_med = median(&blank_figures.starts_ms);
    println!("ITO Merchant Desk benchmark ({profile} build, {RUNS} runs each, median)");
    println!("  first start to Overview with data: {:.0} ms", first.0);
    println!(
        "  start to Overview with data:       {app_med:.0} ms   (runs: {})",
        runs(&app_figures.starts_ms)
    );
    println!(
        "  start to blank window loaded:      {blank_med:.0} ms   (runs: {})",
        runs(&blank_figures.starts_ms)
    );
    println!(
        "  start ratio app / blank:           {:.2}  (aim <= 1.5)",
        app_med / blank_med
    );
    println!(
        "  idle PSS app + WebKit:             {:.1} MiB",
        mib(app_figures.pss_kib)
    );
    println!(
        "  idle PSS blank + WebKit:           {:.1} MiB",
        mib(blank_figures.pss_kib)
    );
    println!(
        "  PSS ratio app / blank:             {:.2}  (aim <= 1.3)",
        ratio(app_figures.pss_kib, blank_figures.pss_kib)
    );
    println!(
        "  UI bundle (ui/dist):               {:.1} KiB in {files} files",
        kib(bundle)
    );
    println!(
        "  app binary:                        {:.1} MiB",
        mib(std::fs::metadata(&app)?.len() / 1024)
    );
    Ok(())
}

#[allow(clippy::cast_precision_loss)]
fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[allow(clippy::cast_precision_loss)]
fn kib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0
}

#[allow(clippy::cast_precision_loss)]
fn ratio(a: u64, b: u64) -> f64 {
    a as f64 / b.max(1) as f64
}

async fn series(port: u16, app: &Path, ready: &str) -> Result<Figures> {
    let mut f = Figures::default();
    for i in 0..RUNS {
        let (ms, pss) = measure(port, app, ready, i + 1 == RUNS).await?;
        f.starts_ms.push(ms);
        if let Some(pss) = pss {
            f.pss_kib = pss;
        }
    }
    Ok(f)
}

/// Starts `app` through WebDriver and returns the milliseconds from the process's
/// start to `ready` being on screen, and when asked, the idle PSS afterwards.
async fn measure(port: u16, app: &Path, ready: &str, memory: bool) -> Result<(f64, Option<u64>)> {
    let c = session(port, app).await?;
    let pid = find_pid(app)?;
    // Resolves on the first animation frame that has the element, i.e. once painted.
    let script = format!(
        "const done = arguments[arguments.length - 1];\
         const tick = () => document.querySelector('{ready}') ? done(true) : requestAnimationFrame(tick);\
         tick();"
    );
    c.update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
        Some(Duration::from_secs(60)),
        Some(Duration::from_secs(60)),
        Some(Duration::from_secs(0)),
    ))
    .await?;
    c.execute_async(&script, vec![]).await?;
    let ms = since_start_ms(pid)?;
    let pss = if memory {
        tokio::time::sleep(IDLE).await;
        Some(tree_pss_kib(pid)?)
    } else {
        None
    };
    c.close().await?;
    // Let the process exit before the next start.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok((ms, pss))
}

fn find_pid(app: &Path) -> Result<u32> {
    let mut found = Vec::new();
    for pid in pids_of(app)? {
        found.push((start_ticks(pid)?, pid));
    }
    found.sort_unstable();
    found
        .last()
        .map(|(_, pid)| *pid)
        .ok_or_else(|| format!("no running {}", app.display()).into())
}

fn stat_fields(pid: u32) -> Result<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name is in parentheses and may hold spaces; fields follow it.
    let rest = stat.rsplit_once(") ").map(|(_, r)| r).ok_or("bad stat")?;
    Ok(rest.split_whitespace().map(str::to_owned).collect())
}

/// The process's start, in clock ticks since boot (`starttime`, field 22).
fn start_ticks(pid: u32) -> Result<u64> {
    Ok(stat_fields(pid)?.get(19).ok_or("short stat")?.parse()?)
}

fn since_start_ms(pid: u32) -> Result<f64> {
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")?
        .split_whitespace()
        .next()
        .ok_or("bad uptime")?
        .parse()?;
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()?;
    let hz: f64 = String::from_utf8_lossy(&out.stdout).trim().parse()?;
    #[allow(clippy::cast_precision_loss)]
    let started = start_ticks(pid)? as f64 / hz;
    Ok((uptime - started) * 1000.0)
}

/// PSS of `pid` and all its descendants (the WebKit web and network processes).
fn tree_pss_kib(root: u32) -> Result<u64> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    for pid in all_pids()? {
        if let Ok(f) = stat_fields(pid)
            && let Some(ppid) = f.get(1).and_then(|p| p.parse().ok())
        {
            parents.push((pid, ppid));
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while let Some(&p) = tree.get(i) {
        tree.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    let mut total = 0;
    for pid in tree {
        let Ok(rollup) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) else {
            continue;
        };
        total += rollup
            .lines()
            .find_map(|l| l.strip_prefix("Pss:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(total)
}

fn dir_size(dir: &Path) -> Result<(u64, usize)> {
    let mut total = 0;
    let mut files = 0;
    let mut stack: Vec<PathBuf> = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                total += meta.len();
                files += 1;
            }
        }
    }
    Ok((total, files))
}
