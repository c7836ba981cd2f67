//! Benchmark (not a test) of the Users screens' backend, each figure beside its
//! baseline from the same run:
//! - the list's queries (open, search, filter, sort) over 100 000 local users against
//!   the same queries over 100;
//! - a user's first page of transactions through the service against the bare SDK
//!   call for that page;
//! - a CSV export of 100 000 transactions against a bare SDK cursor walk over them.
//!
//! Both sides of each ratio run in the same process on the same data, after warm-up
//! runs, interleaved (alternating which goes first), and the median is taken; every
//! line prints the figure, its baseline, the ratio, the aim and whether it is met.
//!
//!   cargo run --release -p ito-desk --example users_bench   (or scripts/bench-users.sh)

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use ito_api::users::TransactionQuery;
use ito_desk::desk::{Desk, Options};
use ito_desk::error::{Error, Result};
use ito_desk::exports::ExportTarget;
use ito_desk::overview::Currency;
use ito_desk::profiles::{Mode, ProfileInput};
use ito_desk::store::Store;
use ito_desk::users::Users;
use ito_desk::users::directory::{self, UserFilter, UserSort, UserSortBy, UserTab};
use ito_desk::users::transactions::{TransactionFilter, TransactionsExport};
use ito_desk::vault::Vault;
use ito_sandbox::{Config, SeedOptions, Server};

#[path = "support/users_fill.rs"]
mod users_fill;

const PROFILE: &str = "prf_bench";
fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(e.to_string())
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn median_f64(mut runs: Vec<f64>) -> f64 {
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

const WARMUP: usize = 3;
/// Runs of each list query on each side (the median is printed).
const RUNS: usize = 21;
const LIST_RATIO_AIM: f64 = 1.3;
const LIST_MS_AIM: f64 = 50.0;
const PAGE_RATIO_AIM: f64 = 1.5;
const EXPORT_RATIO_AIM: f64 = 0.8;

/// One first page (100 rows, with the total and the tabs' counts): its time and total.
async fn time_page(store: &Store, filter: &UserFilter, sort: UserSort) -> Result<(Duration, u32)> {
    let f = filter.clone();
    let started = Instant::now();
    let page = store
        .read(move |c| directory::page(c, PROFILE, &f, &sort, None, Some(100)))
        .await?;
    Ok((started.elapsed(), page.total.unwrap_or(0)))
}

async fn list_queries() -> Result<()> {
    let dir = tempfile::tempdir().map_err(internal)?;
    let small = Store::open(&dir.path().join("small.db"))?;
    let large = Store::open(&dir.path().join("large.db"))?;
    users_fill::fill(&small, PROFILE, 0..100, 0).await?;
    let started = Instant::now();
    users_fill::fill(&large, PROFILE, 0..100_000, 0).await?;
    println!("filled 100 000 users in {:.1?}", started.elapsed());
    let newest = UserSort {
        descending: true,
        ..UserSort::default()
    };
    let search = |s: String| UserFilter {
        search: Some(s),
        ..UserFilter::default()
    };
    let cases: Vec<(&str, UserFilter, UserSort)> = vec![
        ("open: newest first", UserFilter::default(), newest),
        (
            "open: by name",
            UserFilter::default(),
            UserSort {
                by: UserSortBy::Name,
                ..UserSort::default()
            },
        ),
        (
            "open: by JPY balance",
            UserFilter::default(),
            UserSort {
                by: UserSortBy::Balance,
                currency: Some(Currency::Jpy),
                descending: true,
            },
        ),
        (
            "tab: waiting for review",
            UserFilter {
                tab: Some(UserTab::Waiting),
                ..UserFilter::default()
            },
            newest,
        ),
        (
            "country SG + holds USD",
            UserFilter {
                country: Some("SG".into()),
                currency: Some(Currency::Usd),
                ..UserFilter::default()
            },
            newest,
        ),
        (
            "search a name (佐藤, 2 chars)",
            search("佐藤".into()),
            newest,
        ),
        (
            "search a full name (佐藤 陽翔)",
            search("佐藤 陽翔".into()),
            newest,
        ),
        // User 4242's own address, as `users_fill::fill` writes it.
        (
            "search an email",
            search(format!("user4242.{}@", 4242 % 97)),
            newest,
        ),
        (
            "search an id",
            search("usr_0000000000031337".into()),
            newest,
        ),
        ("search a phone (090-…)", search("090-1992-".into()), newest),
        (
            "search matching all (example.jp)",
            search("example.jp".into()),
            newest,
        ),
    ];
    println!(
        "\nUsers list: first page (100 rows, total and tab counts) through directory::page,\n\
         {WARMUP} warm-up + median of {RUNS} runs each, the two sides interleaved; aims: \
         ratio ≤ {LIST_RATIO_AIM}, 100 000 ≤ {LIST_MS_AIM} ms"
    );
    println!(
        "{:<34} {:>10} {:>10} {:>8} {:>7} {:>7} {:>13}",
        "query", "100 users", "100 000", "ratio", "≤ 1.3", "≤ 50ms", "matches"
    );
    for (name, filter, sort) in cases {
        for _ in 0..WARMUP {
            time_page(&small, &filter, sort).await?;
            time_page(&large, &filter, sort).await?;
        }
        let (mut s_runs, mut l_runs) = (Vec::new(), Vec::new());
        let (mut s_total, mut l_total) = (0, 0);
        for run in 0..RUNS {
            if run.is_multiple_of(2) {
                let (s, n) = time_page(&small, &filter, sort).await?;
                let (l, m) = time_page(&large, &filter, sort).await?;
                (s_total, l_total) = (n, m);
                s_runs.push(s);
                l_runs.push(l);
            } else {
                let (l, _) = time_page(&large, &filter, sort).await?;
                let (s, _) = time_page(&small, &filter, sort).await?;
                s_runs.push(s);
                l_runs.push(l);
            }
        }
        let (s, l) = (median(s_runs), median(l_runs));
        let ratio = l.as_secs_f64() / s.as_secs_f64().max(1e-9);
        println!(
            "{name:<34} {:>8.2}ms {:>8.2}ms {ratio:>7.2}x {:>7} {:>7} {:>13}",
            ms(s),
            ms(l),
            met(ratio <= LIST_RATIO_AIM),
            met(ms(l) <= LIST_MS_AIM),
            format!("{s_total} / {l_total}"),
        );
    }
    Ok(())
}

async fn sandbox_parts() -> Result<()> {
    let dir = tempfile::tempdir().map_err(internal)?;
    let mut config = Config::new(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        dir.path().join("sandbox.db"),
    );
    config.write_demo_file = false;
    config.demo_data = false;
    let sandbox = Server::start(config).await?;
    let merchant = sandbox.db().create_merchant("Bench")?;
    let started = Instant::now();
    sandbox.db().seed(
        Some(&merchant.merchant_id),
        SeedOptions {
            users: 1,
            transactions_per_user: 100_000,
        },
    )?;
    println!("\nseeded 100 000 transactions in {:.1?}", started.elapsed());
    let keyring = keyring_core::mock::Store::new().map_err(internal)?;
    let desk = Desk::open(
        Options {
            data_dir: dir.path().to_owned(),
            embedded_sandbox: false,
        },
        Vault::with_store(keyring),
        Arc::new(|_| {}),
    )
    .await?;
    let profile = desk
        .add_profile(ProfileInput {
            name: "Bench".into(),
            mode: Mode::Test,
            base_url: sandbox.url(),
            access_key: Some(merchant.access_key.clone()),
            secret_key: Some(merchant.secret_key.clone()),
            client_id: merchant.client_id.clone(),
            client_secret: Some(merchant.client_secret.clone()),
            public_client_id: merchant.public_client_id.clone(),
        })
        .await?;
    desk.switch_profile(&profile.id).await?;
    let users = Users::new(Arc::clone(&desk), Arc::new(|_| {}));
    users.import_from_sandbox().await?;
    // The bare SDK: the same kind of client the desk builds, without the desk.
    let client = ito_api::Client::new(
        ito_api::Environment::sandbox(&sandbox.url())?,
        ito_api::Credentials::new(merchant.access_key.clone(), merchant.secret_key.clone())
            .with_oauth(merchant.client_id.clone(), merchant.client_secret.clone()),
    )?;
    let user = client
        .sandbox()
        .users(Some(1), None)
        .await?
        .data
        .pop()
        .ok_or_else(|| internal("no user"))?;
    let id = user.id.clone();

    let service_page = || async {
        let started = Instant::now();
        let page = users
            .transactions(
                id.as_str(),
                TransactionFilter::default(),
                None,
                Some(50),
                Vec::new(),
            )
            .await?;
        Ok::<_, Error>((started.elapsed(), page.items.len()))
    };
    let bare_page = || async {
        let started = Instant::now();
        let raw = client
            .merchant()
            .transactions(
                &id,
                &TransactionQuery {
                    limit: Some(50),
                    ..TransactionQuery::default()
                },
            )
            .await?;
        Ok::<_, Error>((started.elapsed(), raw.data.len()))
    };
    // First page of transactions: warm-up (tokens, connections), then interleaved,
    // alternating which goes first, so both see the same machine.
    for _ in 0..WARMUP {
        service_page().await?;
        bare_page().await?;
    }
    let (mut service, mut bare) = (Vec::new(), Vec::new());
    for run in 0..51usize {
        let (s, b) = if run.is_multiple_of(2) {
            let s = service_page().await?;
            (s, bare_page().await?)
        } else {
            let b = bare_page().await?;
            (service_page().await?, b)
        };
        if s.1 != b.1 || s.1 != 50 {
            return Err(internal(format!("pages of {} and {} rows", s.1, b.1)));
        }
        service.push(s.0);
        bare.push(b.0);
    }
    let (s, b) = (median(service), median(bare));
    let ratio = s.as_secs_f64() / b.as_secs_f64();
    println!(
        "\nA user's transactions, first page of 50 ({WARMUP} warm-up + median of 51, interleaved):\n\
         service {:.3} ms, bare SDK {:.3} ms, ratio {ratio:.2}x (aim ≤ {PAGE_RATIO_AIM}: {})",
        ms(s),
        ms(b),
        met(ratio <= PAGE_RATIO_AIM)
    );

    let walk = || async {
        let started = Instant::now();
        let all: Vec<_> = client
            .merchant()
            .all_transactions(
                id.clone(),
                TransactionQuery {
                    // The export's page size (transactions::MAX_PAGE).
                    limit: Some(100),
                    ..TransactionQuery::default()
                },
            )
            .try_collect()
            .await?;
        Ok::<_, Error>((started.elapsed(), all.len()))
    };
    let export = |run: usize| {
        let users = &users;
        let id = &id;
        let dir = dir.path().join("exports");
        async move {
            let started = Instant::now();
            let out = users
                .export_transactions(
                    &format!("bench-{run}"),
                    id.as_str(),
                    TransactionFilter::default(),
                    ExportTarget::Folder {
                        dir,
                        name: format!("transactions-{run}.csv"),
                    },
                )
                .await?;
            let TransactionsExport::Written { rows, .. } = out else {
                return Err(internal("the export was cancelled"));
            };
            Ok::<_, Error>((started.elapsed(), usize::try_from(rows).unwrap_or(0)))
        }
    };
    // A full export against a bare cursor walk: one warm-up walk, then 5 of each,
    // interleaved, alternating which goes first.
    walk().await?;
    let (mut export_rates, mut walk_rates) = (Vec::new(), Vec::new());
    for run in 0..5usize {
        let (e, w) = if run.is_multiple_of(2) {
            let e = export(run).await?;
            (e, walk().await?)
        } else {
            let w = walk().await?;
            (export(run).await?, w)
        };
        if e.1 != w.1 || e.1 != 100_000 {
            return Err(internal(format!("exported {} rows, walked {}", e.1, w.1)));
        }
        export_rates.push(e.1 as f64 / e.0.as_secs_f64());
        walk_rates.push(w.1 as f64 / w.0.as_secs_f64());
    }
    let (e, w) = (median_f64(export_rates), median_f64(walk_rates));
    let ratio = e / w;
    println!(
        "\nCSV export of 100 000 transactions (median of 5, interleaved, pages of 100):\n\
         export {e:.0} rows/s, bare SDK cursor walk {w:.0} rows/s, ratio {ratio:.2} \
         (aim ≥ {EXPORT_RATIO_AIM}: {})",
        met(ratio >= EXPORT_RATIO_AIM)
    );
    desk.shutdown().await;
    sandbox.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    println!(
        "users_bench, {}, {} cores, load average {}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        std::thread::available_parallelism().map_or(0, usize::from),
        load()
    );
    list_queries().await?;
    sandbox_parts().await?;
    println!("\nload average at the end {}", load());
    Ok(())
}
