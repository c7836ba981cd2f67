//! Realistic demo data: users with Japanese and English names, KYC in every state,
//! cards for approved users, and wallet histories in mixed currencies. Used by
//! `ito-sandbox seed` and, modestly, for the demo merchant on first start.

use std::collections::HashMap;
use std::time::Instant;

use rand::Rng;
use rand::seq::IndexedRandom;
use rusqlite::Connection;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::db::Db;
use crate::error::{Error, Result};
use crate::kyc::{self, Kyc, Status, Values};
use crate::merchants::{self, MerchantCredentials};
use crate::money::Currency;
use crate::transactions::{self, Kind, NewTransaction, Settlement};
use crate::{cards, ids, users};

/// Every seeded user signs in on the authorize page with this password.
pub const SEED_PASSWORD: &str = "sandbox-password";

#[derive(Debug, Clone, Copy)]
pub struct SeedOptions {
    pub users: usize,
    pub transactions_per_user: usize,
}

impl SeedOptions {
    /// What the demo merchant gets on first start.
    pub const DEMO: SeedOptions = SeedOptions {
        users: 10,
        transactions_per_user: 30,
    };
}

#[derive(Debug, Clone, Serialize)]
pub struct SeedReport {
    pub merchant_id: String,
    pub users: usize,
    pub transactions: usize,
    pub cards: usize,
    /// The password of every seeded user.
    pub password: &'static str,
    pub elapsed_ms: u128,
}

/// (kanji, katakana, romaji) of Japanese names.
const JAPANESE: &[(&str, &str, &str)] = &[
    ("佐藤 陽翔", "サトウ ハルト", "sato.haruto"),
    ("鈴木 結衣", "スズキ ユイ", "suzuki.yui"),
    ("高橋 蓮", "タカハシ レン", "takahashi.ren"),
    ("田中 美咲", "タナカ ミサキ", "tanaka.misaki"),
    ("伊藤 大翔", "イトウ ヒロト", "ito.hiroto"),
    ("渡辺 さくら", "ワタナベ サクラ", "watanabe.sakura"),
    ("山本 悠真", "ヤマモト ユウマ", "yamamoto.yuma"),
    ("中村 陽菜", "ナカムラ ヒナ", "nakamura.hina"),
    ("小林 湊", "コバヤシ ミナト", "kobayashi.minato"),
    ("加藤 葵", "カトウ アオイ", "kato.aoi"),
];

/// (name, katakana transcription, email stem) of English names.
const ENGLISH: &[(&str, &str, &str)] = &[
    ("Emily Carter", "エミリー・カーター", "emily.carter"),
    ("James Wilson", "ジェームズ・ウィルソン", "james.wilson"),
    ("Olivia Brown", "オリビア・ブラウン", "olivia.brown"),
    ("Daniel Smith", "ダニエル・スミス", "daniel.smith"),
    ("Sophie Taylor", "ソフィー・テイラー", "sophie.taylor"),
    ("Liam Johnson", "リアム・ジョンソン", "liam.johnson"),
];

const SHOPS: &[&str] = &[
    "セブン-イレブン 渋谷店",
    "ローソン 新宿三丁目",
    "Amazon.co.jp",
    "Starbucks Shinjuku",
    "ユニクロ 銀座店",
    "JR東日本 モバイルSuica",
    "Apple Store Omotesando",
    "Uber Eats",
    "ビックカメラ 有楽町",
    "Netflix",
];

const CITIES: &[(&str, &str, &str)] = &[
    ("tokyo", "渋谷区", "150-0002"),
    ("osaka", "大阪市北区", "530-0001"),
    ("kanagawa", "横浜市西区", "220-0011"),
    ("aichi", "名古屋市中村区", "450-0002"),
    ("fukuoka", "福岡市博多区", "812-0011"),
    ("hokkaido", "札幌市中央区", "060-0001"),
];

const DAY_MS: i64 = 86_400_000;
/// The demo users signed up over this many days, the newest a day or more ago.
const SIGNUP_DAYS: i64 = 120;
/// How far back a user's wallet history goes at most.
const HISTORY_DAYS: i64 = 90;

fn kyc_values(
    rng: &mut impl Rng,
    name: &str,
    kana: &str,
    nationality: &str,
    phone: &str,
) -> Values {
    let (prefecture, city, postal) = *CITIES.choose(rng).unwrap_or(&CITIES[0]);
    let birth = format!(
        "{}-{:02}-{:02}",
        rng.random_range(1960..2000),
        rng.random_range(1..=12),
        rng.random_range(1..=28)
    );
    let document = if nationality == "JP" {
        ["drivers_license", "my_number_card", "passport"]
            .choose(rng)
            .copied()
            .unwrap_or("passport")
    } else {
        "residence_card"
    };
    [
        ("legal_name", name.to_owned()),
        ("legal_name_kana", kana.to_owned()),
        ("date_of_birth", birth),
        ("nationality", nationality.to_owned()),
        ("postal_code", postal.to_owned()),
        ("prefecture", prefecture.to_owned()),
        ("city", city.to_owned()),
        (
            "address_line1",
            format!(
                "{}-{}-{}",
                rng.random_range(1..5),
                rng.random_range(1..30),
                rng.random_range(1..20)
            ),
        ),
        ("phone", phone.to_owned()),
        (
            "occupation",
            [
                "会社員 / Office worker",
                "エンジニア / Engineer",
                "自営業 / Self-employed",
                "学生 / Student",
            ]
            .choose(rng)
            .copied()
            .unwrap_or("会社員")
            .to_owned(),
        ),
        (
            "purpose_of_use",
            ["shopping", "bill_payment", "travel", "remittance"]
                .choose(rng)
                .copied()
                .unwrap_or("shopping")
                .to_owned(),
        ),
        ("id_document_type", document.to_owned()),
        (
            "id_document_number",
            format!(
                "{}{}",
                ids::alphanumeric(2).to_uppercase(),
                rng.random_range(1_000_000..9_999_999)
            ),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// An amount in `currency`'s minor units, between `lo` and `hi` major units.
fn amount(rng: &mut impl Rng, currency: Currency, lo: i64, hi: i64) -> Decimal {
    match currency.scale() {
        0 => Decimal::new(rng.random_range(lo..=hi) / 10 * 10, 0).max(Decimal::ONE),
        s => Decimal::new(rng.random_range(lo * 100..=hi * 100), s),
    }
}

/// Fills `merchant` with `opts` worth of users and history, in the caller's write.
pub fn populate(
    conn: &Connection,
    merchant: &MerchantCredentials,
    opts: SeedOptions,
    password_hash: &str,
) -> Result<(usize, usize, usize)> {
    let mut rng = rand::rng();
    let now = ids::now_ms();
    let (mut n_tx, mut n_cards) = (0, 0);
    for i in 0..opts.users {
        let japanese = i % 3 != 2;
        let (name, kana, stem) = if japanese {
            JAPANESE[i % JAPANESE.len()]
        } else {
            ENGLISH[i % ENGLISH.len()]
        };
        let phone = format!("+8190{:08}", rng.random_range(0..100_000_000));
        let nationality = if japanese {
            "JP"
        } else {
            ["US", "GB", "AU", "SG"][i % 4]
        };
        let created_at = signup_time(&mut rng, i, opts.users, now);
        let new = users::NewUser {
            email: format!("{stem}.{}@example.jp", ids::alphanumeric(6).to_lowercase()),
            name: name.to_owned(),
            phone: Some(phone.clone()),
            country: Some("JP".to_owned()),
            password: None,
        };
        let user = users::insert(
            conn,
            &merchant.merchant_id,
            &merchant.client_id,
            &new,
            password_hash,
            created_at,
        )?;

        // KYC and cards come a day apart after signing up, closer for a user who signed up
        // lately, so that none is dated before the user or after now.
        let pace = ((now - created_at) / 8).min(DAY_MS);
        let after = |steps: i64| created_at + steps * pace;
        let status = Status::ALL[i % Status::ALL.len()];
        if status != Status::NotStarted {
            let mut values = kyc_values(&mut rng, name, kana, nationality, &phone);
            if status == Status::Draft {
                values.retain(|k, _| {
                    [
                        "legal_name",
                        "legal_name_kana",
                        "date_of_birth",
                        "nationality",
                    ]
                    .contains(&k.as_str())
                });
            }
            let reviewed = matches!(status, Status::Approved | Status::Rejected);
            let (submitted_at, reviewed_at) = (after(1), after(2));
            kyc::store(
                conn,
                &user.id,
                &Kyc {
                    status,
                    values,
                    rejection_reason: (status == Status::Rejected)
                        .then(|| "本人確認書類の画像が不鮮明です / The identity document image is not legible.".to_owned()),
                    submitted_at: (status != Status::Draft).then_some(submitted_at),
                    reviewed_at: reviewed.then_some(reviewed_at),
                    updated_at: Some(if reviewed { reviewed_at } else { submitted_at }),
                },
            )?;
        }
        if status == Status::Approved {
            cards::insert(conn, &user.id, Currency::Jpy, after(3))?;
            n_cards += 1;
            if !japanese {
                cards::insert(conn, &user.id, Currency::Usd, after(4))?;
                n_cards += 1;
            }
        }

        n_tx += history(
            conn,
            &mut rng,
            &user.id,
            japanese,
            opts.transactions_per_user,
            created_at,
            now,
        )?;
    }
    Ok((opts.users, n_tx, n_cards))
}

/// When user `i` of `users` signed up: each in its own equal slice of the signup days, at a
/// random moment of it, so that the users are spread out, in the order of `i`, none in the
/// last day.
fn signup_time(rng: &mut impl Rng, i: usize, users: usize, now: i64) -> i64 {
    let first = now - SIGNUP_DAYS * DAY_MS;
    let slice = ((SIGNUP_DAYS - 1) * DAY_MS / users.max(1) as i64).max(1);
    first + i as i64 * slice + rng.random_range(0..slice)
}

/// `count` transactions spread from after `signed_up` (or the last 90 days, for an older
/// user) to now, oldest first so that their order matches their dates; debits never
/// overdraw.
fn history(
    conn: &Connection,
    rng: &mut impl Rng,
    user_id: &str,
    japanese: bool,
    count: usize,
    signed_up: i64,
    now: i64,
) -> Result<usize> {
    let mut totals: HashMap<&'static str, (Currency, Decimal, Decimal)> = HashMap::new();
    let start = signed_up.max(now - HISTORY_DAYS * DAY_MS);
    let step = (now - start) / (count.max(1) as i64);
    for n in 0..count {
        let currency = match rng.random_range(0..10) {
            0 => Currency::SgpUsd,
            1..=6 if japanese => Currency::Jpy,
            1..=6 => Currency::Usd,
            _ if japanese => Currency::Usd,
            _ => Currency::Jpy,
        };
        let (_, available, pending) =
            totals
                .entry(currency.code())
                .or_insert((currency, Decimal::ZERO, Decimal::ZERO));
        let (lo_hi_spend, lo_hi_top) = if currency == Currency::Jpy {
            ((100, 20_000), (5_000, 100_000))
        } else {
            ((1, 150), (50, 1_000))
        };
        let shop = SHOPS.choose(rng).copied().unwrap_or("Shop");
        let mut t = match rng.random_range(0..100) {
            0..=59 => NewTransaction {
                kind: Kind::CardSpend,
                amount: amount(rng, currency, lo_hi_spend.0, lo_hi_spend.1),
                currency,
                status: Settlement::Completed,
                description: shop.to_owned(),
            },
            60..=84 => NewTransaction {
                kind: Kind::TopUp,
                amount: amount(rng, currency, lo_hi_top.0, lo_hi_top.1),
                currency,
                status: Settlement::Completed,
                description: "銀行振込によるチャージ / Bank transfer top-up".to_owned(),
            },
            85..=92 => NewTransaction {
                kind: Kind::Fee,
                amount: amount(
                    rng,
                    currency,
                    1,
                    if currency == Currency::Jpy { 500 } else { 5 },
                ),
                currency,
                status: Settlement::Completed,
                description: "海外事務手数料 / Foreign transaction fee".to_owned(),
            },
            _ => NewTransaction {
                kind: Kind::Refund,
                amount: amount(rng, currency, lo_hi_spend.0, lo_hi_spend.1 / 4),
                currency,
                status: Settlement::Completed,
                description: format!("返金 / Refund: {shop}"),
            },
        };
        if !t.kind.is_credit() && t.amount > *available {
            t = NewTransaction {
                kind: Kind::TopUp,
                amount: currency.rescale(t.amount * Decimal::from(5)),
                currency,
                status: Settlement::Completed,
                description: "コンビニチャージ / Convenience store top-up".to_owned(),
            };
        }
        // The last few days hold some top-ups still clearing.
        if t.kind == Kind::TopUp && n + 3 >= count && rng.random_bool(0.5) {
            t.status = Settlement::Pending;
        }
        let signed = if t.kind.is_credit() {
            t.amount
        } else {
            -t.amount
        };
        match t.status {
            Settlement::Completed => *available += signed,
            Settlement::Pending => *pending += signed,
        }
        transactions::insert_row(conn, user_id, &t, start + (n as i64 + 1) * step)?;
    }
    for (currency, available, pending) in totals.into_values() {
        transactions::write_balance(conn, user_id, currency, available, pending)?;
    }
    Ok(count)
}

impl Db {
    /// `ito-sandbox seed`: fills `merchant_id` (the first merchant when `None`, a new
    /// demo merchant in an empty database) in one transaction.
    pub fn seed(&self, merchant_id: Option<&str>, opts: SeedOptions) -> Result<SeedReport> {
        let started = Instant::now();
        let hash = users::hash_password(SEED_PASSWORD);
        let merchant_id = merchant_id.map(str::to_owned);
        let (merchant, (users, transactions, cards)) = self.write_now(move |tx| {
            let merchant = match &merchant_id {
                Some(id) => merchants::by_id(tx, id)?
                    .ok_or_else(|| Error::Config(format!("no merchant has the id {id}")))?,
                None => match merchants::list(tx)?.into_iter().next() {
                    Some(m) => m,
                    None => merchants::create(tx, "Demo Merchant", true)?,
                },
            };
            let counts = populate(tx, &merchant, opts, &hash)?;
            Ok((merchant, counts))
        })?;
        Ok(SeedReport {
            merchant_id: merchant.merchant_id,
            users,
            transactions,
            cards,
            password: SEED_PASSWORD,
            elapsed_ms: started.elapsed().as_millis(),
        })
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn signups_are_spread_over_the_days_in_order_and_none_in_the_last_one() {
        let now = 1_800_000_000_000;
        for users in [1, 2, 10, 1_000] {
            let days = |seed: u64| {
                let mut rng = StdRng::seed_from_u64(seed);
                (0..users)
                    .map(|i| signup_time(&mut rng, i, users, now))
                    .collect::<Vec<_>>()
            };
            let times = days(7);
            assert!(times.windows(2).all(|w| w[0] < w[1]), "{users} in order");
            assert!(times[0] >= now - SIGNUP_DAYS * DAY_MS, "{users}");
            assert!(times[users - 1] < now - DAY_MS, "{users}");
            if users >= 10 {
                let spread = times[users - 1] - times[0];
                assert!(spread > 90 * DAY_MS, "{users} over {spread} ms");
            }
            assert_eq!(days(7), times, "the same draws, the same days");
        }
    }

    #[test]
    fn the_demo_users_history_kyc_and_cards_come_after_they_signed_up() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("s.db")).unwrap();
        let before = ids::now_ms();
        db.seed(None, SeedOptions::DEMO).unwrap();
        let after = ids::now_ms();
        let column = |conn: &Connection, sql: &str, user: &str| -> Vec<i64> {
            conn.prepare(sql)
                .unwrap()
                .query_map([user], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        db.read_now(|conn| {
            let users: Vec<(String, i64)> = conn
                .prepare("SELECT id, created_at FROM users ORDER BY seq")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            assert_eq!(users.len(), SeedOptions::DEMO.users);
            assert!(users.windows(2).all(|w| w[0].1 < w[1].1), "{users:?}");
            assert!(users[0].1 >= before - SIGNUP_DAYS * DAY_MS);
            assert!(users[users.len() - 1].1 < after - DAY_MS);
            assert!(
                users[users.len() - 1].1 - users[0].1 > 90 * DAY_MS,
                "{users:?}"
            );
            let mut dated = 0;
            for (id, signed_up) in &users {
                let history = column(
                    conn,
                    "SELECT created_at FROM transactions WHERE user_id = ?1 ORDER BY seq",
                    id,
                );
                assert_eq!(history.len(), SeedOptions::DEMO.transactions_per_user);
                assert!(
                    history[0] > *signed_up,
                    "{id}: {history:?} from {signed_up}"
                );
                assert!(history.windows(2).all(|w| w[0] < w[1]), "{id}: {history:?}");
                assert!(history[history.len() - 1] <= after, "{id}: {history:?}");
                let kyc = column(
                    conn,
                    "SELECT t FROM (SELECT submitted_at AS t FROM kyc WHERE user_id = ?1
                         UNION ALL SELECT reviewed_at FROM kyc WHERE user_id = ?1
                         UNION ALL SELECT updated_at FROM kyc WHERE user_id = ?1)
                     WHERE t IS NOT NULL",
                    id,
                );
                let cards = column(conn, "SELECT created_at FROM cards WHERE user_id = ?1", id);
                for t in kyc.iter().chain(&cards) {
                    assert!(*signed_up < *t && *t <= after, "{id}: {t} from {signed_up}");
                }
                dated += kyc.len() + cards.len();
            }
            assert!(dated > 0, "no KYC or card to check");
            Ok(())
        })
        .unwrap();
    }
}
