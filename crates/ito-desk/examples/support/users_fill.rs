//! Realistic users for the local directory, shared by the Users benchmarks: the
//! backend's (`examples/users_bench.rs`) and the window's
//! (`tests/e2e/src/bin/bench-users.rs`), so both measure the same data.

use std::ops::Range;

use ito_api::kyc::KycStatus;
use ito_api::users::{Balance, User};
use ito_api::{Currency as ApiCurrency, Money, UserId};
use ito_desk::error::Result;
use ito_desk::store::Store;
use ito_desk::users::directory;

pub const FAMILY: &[&str] = &[
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
pub const GIVEN: &[&str] = &[
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
pub const ENGLISH: &[&str] = &[
    "Emily Carter",
    "James Wilson",
    "Olivia Brown",
    "Daniel Smith",
    "Sophie Taylor",
    "Liam Johnson",
];
pub const COUNTRIES: &[&str] = &["JP", "JP", "JP", "US", "GB", "SG", "AU"];

/// Users `range` (numbered, so ranges add up) with names, emails, phones, countries,
/// KYC statuses and balances fetched at `fetched_at` (Unix ms), into `profile_id`'s
/// directory; user `i` signed up `i` minutes ago.
pub async fn fill(
    store: &Store,
    profile_id: &str,
    range: Range<usize>,
    fetched_at: i64,
) -> Result<()> {
    let profile_id = profile_id.to_owned();
    store
        .write(move |tx| {
            let now = chrono::Utc::now();
            for i in range {
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
                    kyc_status: KycStatus::ALL[i % KycStatus::ALL.len()],
                    created_at: now - chrono::Duration::minutes(i64::try_from(i).unwrap_or(0)),
                };
                directory::upsert(tx, &profile_id, &user, fetched_at)?;
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
                directory::store_balances(
                    tx,
                    &profile_id,
                    user.id.as_str(),
                    &balances,
                    fetched_at,
                )?;
            }
            Ok(())
        })
        .await
}
