//! Benchmark (not a test) of the Users screens' backend, each figure beside its
//! baseline from the same run:
//! - the list's queries (open, search, filter, sort) over 100 000 local users against
//!   the same queries over 100;
//! - a user's first page of transactions through the service against the bare SDK
//!   call for that page;
//! - a CSV export of 100 000 transactions against a bare SDK cursor walk over them.
//!
//!   cargo run --release -p ito-desk --example users_bench

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use ito_api::kyc::KycStatus;
use ito_api::users::{Balance, TransactionQuery, User};
use ito_api::{Currency as ApiCurrency, Money, UserId};
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

const PROFILE: &str = "prf_bench";
const FAMILY: &[&str] = &[
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
];
const GIVEN: &[&str] = &[
    "陽翔",
    "結衣",
    "蓮",
    "美咲",
    "大翔",
    "さくら",
    "悠真",
    "陽菜",
    "湊",
    "葵",
    "翔太",
    "花子",
];
const ENGLISH: &[&str] = &[
    "Emily Carter",
    "James Wilson",
    "Olivia Brown",
    "Daniel Smith",
    "Sophie Taylor",
    "Liam Johnson",
];
const COUNTRIES: &[&str] = &["JP", "JP", "JP", "US", "GB", "SG", "AU"];
const STATUSES: [KycStatus; 5] = [
    KycStatus::NotStarted,
    KycStatus::Draft,
    KycStatus::Submitted,
    KycStatus::Approved,
    KycStatus::Rejected,
];

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(e.to_string())
}

/// `n` users with names, emails, phones, countries, KYC statuses and balances.
async fn fill(store: &Store, n: usize) -> Result<()> {
    store
        .write(move |tx| {
            let now = chrono::Utc::now();
            for i in 0..n {
                let name = if i % 3 == 2 {
                    ENGLISH[i % ENGLISH.len()].to_owned()
                } else {
                    format!(
                        "{} {}",
                        FAMILY[i % FAMILY.len()],
                        GIVEN[(i / FAMILY.len()) % GIVEN.len()]
                    )
                };
                let user = User {
                    id: UserId::new(format!("usr_{i:016}")),
                    email: format!("user{i}.{}@example.jp", i % 97),
                    name,
                    phone: Some(format!("+8190{:08}", (i * 7919) % 100_000_000)),
                    country: Some(COUNTRIES[i % COUNTRIES.len()].to_owned()),
                    kyc_status: STATUSES[i % STATUSES.len()],
                    created_at: now - chrono::Duration::minutes(i64::try_from(i).unwrap_or(0)),
                };
                directory::upsert(tx, PROFILE, &user, 0)?;
                let minor = i64::try_from((i * 37) % 1_000_000).unwrap_or(0);
                let mut balances = vec![Balance {
                    currency: ApiCurrency::Jpy,
                    available: Money::from_minor(minor, ApiCurrency::Jpy),
                    pending: Money::zero(ApiCurrency::Jpy),
                }];
                if i % 4 == 0 {
                    balances.push(Balance {
                        currency: ApiCurrency::Usd,
                        available: Money::from_minor(minor, ApiCurrency::Usd),
                        pending: Money::from_minor(500, ApiCurrency::Usd),
                    });
                }
                directory::store_balances(tx, PROFILE, user.id.as_str(), &balances, 0)?;
            }
            Ok(())
        })
        .await
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

/// The median time of a first page (100 rows, with total and tab counts) over 21 runs.
async fn time_page(store: &Store, filter: &UserFilter, sort: UserSort) -> Result<(Duration, u32)> {
    let mut runs = Vec::new();
    let mut total = 0;
    for _ in 0..21 {
        let f = filter.clone();
        let started = Instant::now();
        let page = store
            .read(move |c| directory::page(c, PROFILE, &f, &sort, None, Some(100)))
            .await?;
        runs.push(started.elapsed());
        total = page.total.unwrap_or(0);
    }
    Ok((median(runs), total))
}

async fn list_queries() -> Result<()> {
    let dir = tempfile::tempdir().map_err(internal)?;
    let small = Store::open(&dir.path().join("small.db"))?;
    let large = Store::open(&dir.path().join("large.db"))?;
    fill(&small, 100).await?;
    let started = Instant::now();
    fill(&large, 100_000).await?;
    println!("filled 100 000 users in {:.1?}", started.elapsed());
    let newest = UserSort {
        descending: true,
        ..UserSort::default()
    };
    let search = |s: &str| UserFilter {
        search: Some(s.into()),
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
        ("search a name (佐藤, 2 chars)", search("佐藤"), newest),
        (
            "search a full name (佐藤 陽翔)",
            search("佐藤 陽翔"),
            newest,
        ),
        ("search an email", search("user4242.69@"), newest),
        ("search an id", search("usr_0000000000031337"), newest),
        ("search a phone (090-…)", search("090-1992-"), newest),
        (
            "search matching all (example.jp)",
            search("example.jp"),
            newest,
        ),
    ];
    println!(
        "{:<34} {:>10} {:>10} {:>7} {:>8}",
        "query (100 rows + counts)", "100 users", "100 000", "ratio", "matches"
    );
    for (name, filter, sort) in cases {
        let (s, _) = time_page(&small, &filter, sort).await?;
        let (l, total) = time_page(&large, &filter, sort).await?;
        println!(
            "{name:<34} {s:>10.2?} {l:>10.2?} {:>6.2}x {total:>8}",
            l.as_secs_f64() / s.as_secs_f64().max(1e-9)
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

    // First page of transactions, interleaved so both see the same machine.
    let (mut service, mut bare) = (Vec::new(), Vec::new());
    for _ in 0..51 {
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
        service.push(started.elapsed());
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
        bare.push(started.elapsed());
        assert_eq!(page.items.len(), raw.data.len());
    }
    let (s, b) = (median(service), median(bare));
    println!(
        "transactions, first page of 50: service {s:.2?}, bare SDK {b:.2?}, ratio {:.2}x (aim ≤ 1.5)",
        s.as_secs_f64() / b.as_secs_f64()
    );

    // Export against a bare cursor walk, three of each, interleaved.
    let (mut export_rates, mut walk_rates) = (Vec::new(), Vec::new());
    for run in 0..3 {
        let started = Instant::now();
        let n: Vec<_> = client
            .merchant()
            .all_transactions(
                id.clone(),
                TransactionQuery {
                    limit: Some(100),
                    ..TransactionQuery::default()
                },
            )
            .try_collect()
            .await?;
        walk_rates.push(n.len() as f64 / started.elapsed().as_secs_f64());
        let started = Instant::now();
        let out = users
            .export_transactions(
                &format!("bench-{run}"),
                id.as_str(),
                TransactionFilter::default(),
                ExportTarget::Folder {
                    dir: dir.path().join("exports"),
                    name: "transactions.csv".into(),
                },
            )
            .await?;
        let TransactionsExport::Written { rows, .. } = out else {
            return Err(internal("the export was cancelled"));
        };
        export_rates.push(f64::from(rows) / started.elapsed().as_secs_f64());
    }
    export_rates.sort_by(f64::total_cmp);
    walk_rates.sort_by(f64::total_cmp);
    let (e, w) = (export_rates[1], walk_rates[1]);
    println!(
        "CSV export of 100 000 transactions: {e:.0} rows/s, bare cursor walk {w:.0} rows/s, ratio {:.2} (aim ≥ 0.8)",
        e / w
    );
    desk.shutdown().await;
    sandbox.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    list_queries().await?;
    sandbox_parts().await
}
