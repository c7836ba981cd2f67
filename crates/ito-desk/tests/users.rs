//! The users service against the real parts: the sandbox in-process on 127.0.0.1:0
//! filled by its own seed, SQLite on disk, and the keyring's in-memory store for the
//! profile's secrets.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::TryStreamExt;
use ito_api::sandbox::{Faults, NewTransaction};
use ito_api::users::{NewUser, ProfileUpdate, Transaction, TransactionQuery, TransactionType};
use ito_api::{Client, Credentials, Environment, Money, UserId};
use ito_desk::desk::{Desk, Options};
use ito_desk::error::{CommandError, Error, ErrorKind};
use ito_desk::exports::ExportTarget;
use ito_desk::overview::Currency;
use ito_desk::profiles::{Mode, ProfileInput};
use ito_desk::request_log::RequestLogFilter;
use ito_desk::users::balances::BalanceRefreshProgress;
use ito_desk::users::directory::{KycState, UserFilter, UserSort, UserSortBy, UserTab};
use ito_desk::users::profile::{NewUserInput, UserField, UserProfileChanges};
use ito_desk::users::transactions::{TransactionFilter, TransactionKind, TransactionsExport};
use ito_desk::users::{SimulatedTransaction, UserEvent, Users};
use ito_desk::vault::Vault;
use ito_sandbox::{Config, MerchantCredentials, SeedOptions, Server};
use keyring_core::{CredentialStore, mock};

type Seen = Arc<Mutex<Vec<UserEvent>>>;

struct Env {
    dir: tempfile::TempDir,
    sandbox: Server,
    merchant: MerchantCredentials,
    desk: Arc<Desk>,
    users: Arc<Users>,
    seen: Seen,
}

async fn sandbox(dir: &Path) -> Server {
    let mut config = Config::new(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        dir.join("sandbox.db"),
    );
    config.write_demo_file = false;
    config.demo_data = false;
    Server::start(config).await.unwrap()
}

/// A sandbox whose merchant holds `users` seeded users with `transactions` each, and a
/// desk with a test-mode profile for that merchant.
async fn env(users: usize, transactions: usize) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path()).await;
    let merchant = sandbox.db().create_merchant("京都の茶屋").unwrap();
    if users > 0 {
        sandbox
            .db()
            .seed(
                Some(&merchant.merchant_id),
                SeedOptions {
                    users,
                    transactions_per_user: transactions,
                },
            )
            .unwrap();
    }
    let keyring: Arc<CredentialStore> = mock::Store::new().unwrap();
    let desk = Desk::open(
        Options {
            data_dir: dir.path().to_owned(),
            embedded_sandbox: false,
        },
        Vault::with_store(keyring),
        Arc::new(|_| {}),
    )
    .await
    .unwrap();
    let profile = desk
        .add_profile(ProfileInput {
            name: "Tea shop".into(),
            mode: Mode::Test,
            base_url: sandbox.url(),
            access_key: Some(merchant.access_key.clone()),
            secret_key: Some(merchant.secret_key.clone()),
            client_id: merchant.client_id.clone(),
            client_secret: Some(merchant.client_secret.clone()),
            public_client_id: merchant.public_client_id.clone(),
        })
        .await
        .unwrap();
    desk.switch_profile(&profile.id).await.unwrap();
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let users = Users::new(
        Arc::clone(&desk),
        Arc::new(move |e| sink.lock().unwrap().push(e)),
    );
    Env {
        dir,
        sandbox,
        merchant,
        desk,
        users,
        seen,
    }
}

fn client_for(url: &str, m: &MerchantCredentials) -> Client {
    Client::new(
        Environment::sandbox(url).unwrap(),
        Credentials::new(m.access_key.clone(), m.secret_key.clone())
            .with_oauth(m.client_id.clone(), m.client_secret.clone()),
    )
    .unwrap()
}

impl Env {
    /// The test's own client for the merchant, straight to the sandbox.
    fn client(&self) -> Client {
        client_for(&self.sandbox.url(), &self.merchant)
    }

    async fn at_gateway(&self) -> Vec<ito_api::users::User> {
        self.client()
            .sandbox()
            .all_users()
            .try_collect()
            .await
            .unwrap()
    }

    async fn transactions_at_gateway(&self, user: &UserId) -> Vec<Transaction> {
        self.client()
            .merchant()
            .all_transactions(
                user.clone(),
                TransactionQuery {
                    limit: Some(100),
                    ..TransactionQuery::default()
                },
            )
            .try_collect()
            .await
            .unwrap()
    }

    fn refreshes_finished(&self) -> Vec<BalanceRefreshProgress> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                UserEvent::BalanceRefresh(p) if p.finished => Some(p.clone()),
                _ => None,
            })
            .collect()
    }

    /// Waits until `n` balance refreshes have finished; returns the last.
    async fn refreshed(&self, n: usize) -> BalanceRefreshProgress {
        eventually("a balance refresh to finish", || async {
            self.refreshes_finished().len() >= n
        })
        .await;
        self.refreshes_finished().pop().unwrap()
    }

    /// The directory's rows, every page, in the given order.
    async fn walk(&self, filter: UserFilter, sort: UserSort) -> Vec<String> {
        let mut ids = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .users
                .list(filter.clone(), sort, cursor, Some(7))
                .await
                .unwrap();
            ids.extend(page.rows.iter().map(|r| r.user_id.clone()));
            match page.next {
                Some(next) => cursor = Some(next),
                None => return ids,
            }
        }
    }

    async fn shutdown(self) {
        self.desk.shutdown().await;
        self.sandbox.shutdown().await;
    }
}

/// Polls `check` every 50 ms for up to 30 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..600 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

fn command(e: Error) -> CommandError {
    CommandError::from(e)
}

fn amounts(b: &[ito_api::users::Balance]) -> BTreeMap<String, (String, String)> {
    b.iter()
        .filter(|b| !b.available.amount().is_zero() || !b.pending.amount().is_zero())
        .map(|b| {
            (
                b.currency.code().to_owned(),
                (
                    b.available.to_decimal_string(),
                    b.pending.to_decimal_string(),
                ),
            )
        })
        .collect()
}

/// The directory's balances of every user equal the gateway's.
async fn balances_match(env: &Env) {
    let client = env.client();
    for u in env.at_gateway().await {
        let want = amounts(&client.merchant().balance(&u.id).await.unwrap().balances);
        let row = env
            .users
            .list(
                UserFilter {
                    search: Some(u.id.as_str().to_owned()),
                    ..UserFilter::default()
                },
                UserSort::default(),
                None,
                None,
            )
            .await
            .unwrap()
            .rows
            .pop()
            .unwrap();
        let got: BTreeMap<String, (String, String)> = row
            .balances
            .iter()
            .map(|b| {
                (
                    ito_desk::payments::ledger::currency_code(b.currency).to_owned(),
                    (b.available.clone(), b.pending.clone()),
                )
            })
            .collect();
        assert_eq!(got, want, "{}", u.id);
        assert!(row.balances_fetched_at.is_some());
    }
}

#[tokio::test]
async fn an_import_fills_the_directory_which_searches_filters_sorts_and_pages() {
    let env = env(25, 4).await;
    let report = env.users.import_from_sandbox().await.unwrap();
    assert_eq!((report.users, report.added), (25, 25));
    let progress = env.refreshed(1).await;
    assert_eq!(
        (progress.total, progress.done, progress.failed),
        (25, 25, 0)
    );
    balances_match(&env).await;

    // A second import adds nothing.
    let again = env.users.import_from_sandbox().await.unwrap();
    assert_eq!((again.users, again.added), (25, 0));

    let gateway = env.at_gateway().await;
    let info = env.users.info().await.unwrap();
    assert_eq!(info.total, 25);
    assert_eq!(info.countries, ["JP"]);
    assert!(info.test_mode && info.imported_at.is_some());

    // Tabs and their counts follow the KYC statuses.
    let first = env
        .users
        .list(UserFilter::default(), UserSort::default(), None, Some(10))
        .await
        .unwrap();
    let count = |f: &dyn Fn(KycState) -> bool| {
        gateway
            .iter()
            .filter(|u| f(KycState::from(u.kyc_status)))
            .count() as u32
    };
    let tabs = first.tabs.unwrap();
    assert_eq!(first.total, Some(25));
    assert_eq!(tabs.all, 25);
    assert_eq!(tabs.waiting, count(&|s| s == KycState::Submitted));
    assert_eq!(tabs.approved, count(&|s| s == KycState::Approved));
    assert_eq!(
        tabs.needs_action,
        count(&|s| matches!(
            s,
            KycState::NotStarted | KycState::Draft | KycState::Rejected
        ))
    );
    let waiting = env
        .users
        .list(
            UserFilter {
                tab: Some(UserTab::Waiting),
                ..UserFilter::default()
            },
            UserSort::default(),
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(waiting.total, Some(tabs.waiting));
    assert!(
        waiting
            .rows
            .iter()
            .all(|r| r.kyc_status == KycState::Submitted)
    );

    // Every sort pages through every user exactly once, in its order.
    for (by, descending) in [
        (UserSortBy::CreatedAt, true),
        (UserSortBy::CreatedAt, false),
        (UserSortBy::Name, false),
        (UserSortBy::Name, true),
        (UserSortBy::Balance, true),
    ] {
        let sort = UserSort {
            by,
            currency: Some(Currency::Jpy),
            descending,
        };
        let ids = env.walk(UserFilter::default(), sort).await;
        let unique: HashSet<&String> = ids.iter().collect();
        assert_eq!((ids.len(), unique.len()), (25, 25), "{by:?}");
        if by == UserSortBy::Name {
            let names: Vec<String> = ids
                .iter()
                .map(|id| {
                    gateway
                        .iter()
                        .find(|u| u.id.as_str() == id)
                        .unwrap()
                        .name
                        .to_lowercase()
                })
                .collect();
            let mut sorted = names.clone();
            sorted.sort();
            if descending {
                sorted.reverse();
            }
            assert_eq!(names, sorted);
        }
    }
    let by_balance = env
        .users
        .list(
            UserFilter {
                currency: Some(Currency::Jpy),
                ..UserFilter::default()
            },
            UserSort {
                by: UserSortBy::Balance,
                currency: Some(Currency::Jpy),
                descending: true,
            },
            None,
            None,
        )
        .await
        .unwrap();
    let jpy: Vec<rust_decimal::Decimal> = by_balance
        .rows
        .iter()
        .map(|r| {
            r.balances
                .iter()
                .find(|b| b.currency == Currency::Jpy)
                .unwrap()
                .available
                .parse()
                .unwrap()
        })
        .collect();
    assert!(jpy.windows(2).all(|w| w[0] >= w[1]), "{jpy:?}");

    // Search by a Japanese name (two characters), an email, an id and a phone in
    // its national form.
    let sato: Vec<&ito_api::users::User> =
        gateway.iter().filter(|u| u.name.contains("佐藤")).collect();
    let search = |term: &str| {
        let users = Arc::clone(&env.users);
        let term = term.to_owned();
        async move {
            users
                .list(
                    UserFilter {
                        search: Some(term),
                        ..UserFilter::default()
                    },
                    UserSort::default(),
                    None,
                    None,
                )
                .await
                .unwrap()
        }
    };
    let found = search("佐藤").await;
    assert_eq!(found.total, Some(sato.len() as u32));
    assert!(!sato.is_empty());
    let one = &gateway[3];
    let stem = one.email.split('@').next().unwrap().to_uppercase();
    assert_eq!(search(&stem).await.rows[0].user_id, one.id.as_str());
    assert_eq!(
        search(one.id.as_str()).await.rows[0].user_id,
        one.id.as_str()
    );
    let phone = one.phone.clone().unwrap();
    let national = format!("0{}-{}", &phone[3..5], &phone[5..]);
    let by_phone = search(&national).await;
    assert!(
        by_phone.rows.iter().any(|r| r.user_id == one.id.as_str()),
        "{national}"
    );
    assert_eq!(search("no such user").await.total, Some(0));
    env.shutdown().await;
}

#[tokio::test]
async fn create_refuses_a_duplicate_email_on_its_field_and_a_double_submit_creates_one() {
    let env = env(0, 0).await;
    let input = NewUserInput {
        name: "山田 花子".into(),
        email: "Hanako@Example.jp".into(),
        phone: Some("+81 90-1111-2222".into()),
        country: Some("jp".into()),
    };
    // A double click: both submits answer the same user, the gateway holds one.
    let (a, b) = tokio::join!(
        env.users.create(input.clone()),
        env.users.create(input.clone())
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.user.user_id, b.user.user_id);
    assert!(a.replayed != b.replayed);
    assert_eq!(a.user.email, "hanako@example.jp");
    assert_eq!(a.user.phone.as_deref(), Some("+819011112222"));
    assert_eq!(env.at_gateway().await.len(), 1);
    // A retry later answers it again, without a request.
    let again = env.users.create(input).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.user.user_id, a.user.user_id);
    assert_eq!(env.at_gateway().await.len(), 1);

    // An email the gateway already has (created elsewhere): its 409 on the field.
    env.client()
        .merchant()
        .create_user(&NewUser {
            email: "ken@example.jp".into(),
            name: "Ken".into(),
            ..NewUser::default()
        })
        .await
        .unwrap();
    let dup = command(
        env.users
            .create(NewUserInput {
                name: "Ken Two".into(),
                email: "ken@example.jp".into(),
                phone: None,
                country: None,
            })
            .await
            .unwrap_err(),
    );
    assert_eq!(dup.kind, ErrorKind::Validation);
    assert!(dup.fields["email"][0].contains("already exists"), "{dup:?}");

    // Checked here first: nothing sent.
    let bad = command(
        env.users
            .create(NewUserInput {
                name: String::new(),
                email: "x@".into(),
                phone: Some("0312345678".into()),
                country: None,
            })
            .await
            .unwrap_err(),
    );
    assert_eq!(
        bad.fields.keys().collect::<Vec<_>>(),
        ["email", "name", "phone"]
    );
    // The gateway's 422 on its field: a code of two letters that is no country.
    let unknown = command(
        env.users
            .create(NewUserInput {
                name: "Zed".into(),
                email: "zed@example.jp".into(),
                phone: None,
                country: Some("XX".into()),
            })
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (unknown.kind, unknown.status),
        (ErrorKind::Validation, Some(422))
    );
    assert!(unknown.fields.contains_key("country"), "{unknown:?}");
    // Refused for good, so the same email can be created once corrected.
    env.users
        .create(NewUserInput {
            name: "Zed".into(),
            email: "zed@example.jp".into(),
            phone: None,
            country: Some("NZ".into()),
        })
        .await
        .unwrap();
    assert_eq!(env.users.info().await.unwrap().total, 2);
    env.shutdown().await;
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_found_on_retry_not_made_twice() {
    let env = env(0, 0).await;
    let client = env.client();
    let sandbox = client.sandbox();
    // The token first, so only the create meets the fault.
    env.users.info().await.unwrap();
    env.users
        .create(NewUserInput {
            name: "Warm".into(),
            email: "warm@example.jp".into(),
            phone: None,
            country: None,
        })
        .await
        .unwrap();
    sandbox
        .set_faults(&Faults {
            drop_rate: 1.0,
            ..Faults::default()
        })
        .await
        .unwrap();
    let input = NewUserInput {
        name: "Aoi".into(),
        email: "aoi@example.jp".into(),
        phone: None,
        country: None,
    };
    let lost = command(env.users.create(input.clone()).await.unwrap_err());
    assert_eq!(lost.kind, ErrorKind::Network);
    sandbox.clear_faults().await.unwrap();
    // As if the lost request had reached the gateway before the connection broke.
    let made = env
        .client()
        .merchant()
        .create_user(&NewUser {
            email: "aoi@example.jp".into(),
            name: "Aoi".into(),
            ..NewUser::default()
        })
        .await
        .unwrap();
    let retried = env.users.create(input).await.unwrap();
    assert!(retried.replayed);
    assert_eq!(retried.user.user_id, made.user.id.as_str());
    assert_eq!(env.at_gateway().await.len(), 2);
    env.shutdown().await;
}

#[tokio::test]
async fn an_edit_previews_and_sends_only_the_changed_fields() {
    let env = env(3, 1).await;
    env.users.import_from_sandbox().await.unwrap();
    let user = env.at_gateway().await.remove(0);
    let id = user.id.as_str().to_owned();

    let preview = env
        .users
        .preview_edit(
            &id,
            UserProfileChanges {
                name: Some(user.name.clone()),
                phone: Some("+81 80-2222-3333".into()),
                ..UserProfileChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(preview.changes.len(), 1, "{:?}", preview.changes);
    assert_eq!(preview.changes[0].field, UserField::Phone);
    assert_eq!(preview.changes[0].old, user.phone);
    assert_eq!(preview.changes[0].new.as_deref(), Some("+818022223333"));

    // Meanwhile someone else renames the user at the gateway. The desk's edit of the
    // phone must not send the name it had, which would undo that.
    env.client()
        .merchant()
        .update_profile(
            &user.id,
            &ProfileUpdate {
                name: Some("Renamed Elsewhere".into()),
                ..ProfileUpdate::default()
            },
        )
        .await
        .unwrap();
    let saved = env
        .users
        .save_edit(
            &id,
            UserProfileChanges {
                phone: Some("+81 80-2222-3333".into()),
                country: Some("jp".into()),
                ..UserProfileChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(saved.changes.len(), 1, "country JP is no change");
    let at_gateway = env
        .at_gateway()
        .await
        .into_iter()
        .find(|u| u.id == user.id)
        .unwrap();
    assert_eq!(at_gateway.phone.as_deref(), Some("+818022223333"));
    assert_eq!(at_gateway.name, "Renamed Elsewhere");
    assert_eq!(
        saved.user.name, "Renamed Elsewhere",
        "the row follows the answer"
    );

    // Nothing to change: no request at all.
    let patches = || async {
        env.desk
            .request_log(RequestLogFilter {
                method: Some("PATCH".into()),
                ..RequestLogFilter::default()
            })
            .await
            .unwrap()
            .len()
    };
    eventually("the request log", || async { patches().await == 2 }).await;
    let same = env
        .users
        .save_edit(
            &id,
            UserProfileChanges {
                phone: Some("+818022223333".into()),
                ..UserProfileChanges::default()
            },
        )
        .await
        .unwrap();
    assert!(same.changes.is_empty());
    let detail = env.users.detail(&id).await.unwrap();
    eventually("the request log", || async { patches().await == 3 }).await;
    assert_eq!(detail.user.phone.as_deref(), Some("+818022223333"));

    // Clearing the phone sends it empty; a taken email is refused on its field.
    let other = env
        .at_gateway()
        .await
        .into_iter()
        .find(|u| u.id != user.id)
        .unwrap();
    let cleared = env
        .users
        .save_edit(
            &id,
            UserProfileChanges {
                phone: Some(String::new()),
                ..UserProfileChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.user.phone, None);
    let taken = command(
        env.users
            .save_edit(
                &id,
                UserProfileChanges {
                    email: Some(other.email.clone()),
                    ..UserProfileChanges::default()
                },
            )
            .await
            .unwrap_err(),
    );
    assert!(taken.fields.contains_key("email"), "{taken:?}");
    env.shutdown().await;
}

#[tokio::test]
async fn foreign_unknown_and_departed_users_are_refused_plainly() {
    let env = env(2, 1).await;
    let other = env.sandbox.db().create_merchant("Another shop").unwrap();
    let foreign = client_for(&env.sandbox.url(), &other)
        .merchant()
        .create_user(&NewUser {
            email: "theirs@example.jp".into(),
            name: "Theirs".into(),
            ..NewUser::default()
        })
        .await
        .unwrap()
        .user
        .id;
    for id in [foreign.as_str(), "usr_unknown"] {
        let e = command(env.users.add_by_id(id).await.unwrap_err());
        assert_eq!(e.kind, ErrorKind::NotFound, "{id}");
    }
    let mine = env.at_gateway().await.remove(0);
    let row = env.users.add_by_id(mine.id.as_str()).await.unwrap();
    assert_eq!(
        (row.name, row.kyc_status),
        (mine.name, mine.kyc_status.into())
    );

    // The user stops being this merchant's: its page says so, and it can be removed.
    let id = mine.id.as_str().to_owned();
    env.sandbox
        .db()
        .write_now(move |tx| {
            tx.execute(
                "UPDATE users SET created_by_client_id = 'someone-else' WHERE id = ?1",
                [&id],
            )?;
            Ok(())
        })
        .unwrap();
    let gone = command(env.users.detail(mine.id.as_str()).await.unwrap_err());
    assert_eq!(gone.kind, ErrorKind::UserGone);
    let listed = env
        .users
        .list(UserFilter::default(), UserSort::default(), None, None)
        .await
        .unwrap();
    assert!(listed.rows[0].gone);
    env.users.remove(mine.id.as_str()).await.unwrap();
    assert_eq!(env.users.info().await.unwrap().total, 0);
    assert_eq!(
        command(env.users.remove(mine.id.as_str()).await.unwrap_err()).kind,
        ErrorKind::NotFound
    );
    env.shutdown().await;
}

#[tokio::test]
async fn a_transactions_walk_while_new_ones_arrive_skips_none_and_doubles_none() {
    let env = env(1, 230).await;
    env.users.import_from_sandbox().await.unwrap();
    let user = env.at_gateway().await.remove(0);
    let before = env.transactions_at_gateway(&user.id).await;
    assert_eq!(before.len(), 230);
    let client = env.client();
    let sandbox = client.sandbox();
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut loaded = Vec::new();
    loop {
        let page = env
            .users
            .transactions(
                user.id.as_str(),
                TransactionFilter::default(),
                cursor,
                Some(40),
                loaded,
            )
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|t| t.id.clone()));
        loaded = page.loaded_totals;
        // New transactions land on top while the list is scrolled.
        sandbox
            .add_transaction(
                &user.id,
                &NewTransaction {
                    kind: TransactionType::TopUp,
                    amount: Money::parse("500", ito_api::Currency::Jpy).unwrap(),
                    description: "チャージ".into(),
                },
            )
            .await
            .unwrap();
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a transaction came twice");
    let expected: Vec<String> = before.iter().map(|t| t.id.as_str().to_owned()).collect();
    assert_eq!(seen, expected, "every transaction once, newest first");
    // The loaded totals count what was walked.
    let count: u32 = loaded.iter().map(|t| t.count).sum();
    assert_eq!(count, 230);
    for t in &loaded {
        let (credits, debits): (rust_decimal::Decimal, rust_decimal::Decimal) = before
            .iter()
            .filter(|x| Currency::from(x.amount.currency()) == t.currency)
            .fold(Default::default(), |(c, d), x| match x.kind {
                TransactionType::TopUp | TransactionType::Refund => (c + x.amount.amount(), d),
                _ => (c, d + x.amount.amount()),
            });
        assert_eq!(t.credits.parse::<rust_decimal::Decimal>().unwrap(), credits);
        assert_eq!(t.debits.parse::<rust_decimal::Decimal>().unwrap(), debits);
    }

    // The filters reach the gateway's query.
    let spend = env
        .users
        .transactions(
            user.id.as_str(),
            TransactionFilter {
                kind: Some(TransactionKind::CardSpend),
                currency: Some(Currency::Jpy),
                ..TransactionFilter::default()
            },
            None,
            Some(100),
            Vec::new(),
        )
        .await
        .unwrap();
    let want = before
        .iter()
        .filter(|t| {
            t.kind == TransactionType::CardSpend && t.amount.currency() == ito_api::Currency::Jpy
        })
        .count();
    assert_eq!(spend.items.len(), want.min(100));
    // A range of instants keeps exactly the transactions inside it.
    let mid = &before[100];
    let from = mid.created_at;
    let to = before[50].created_at;
    let ranged = env
        .users
        .transactions(
            user.id.as_str(),
            TransactionFilter {
                from: Some(from.to_rfc3339()),
                to: Some(to.to_rfc3339()),
                ..TransactionFilter::default()
            },
            None,
            Some(100),
            Vec::new(),
        )
        .await
        .unwrap();
    let inside = before
        .iter()
        .filter(|t| t.created_at >= from && t.created_at < to)
        .count();
    assert_eq!(ranged.items.len(), inside);
    env.shutdown().await;
}

fn parse_csv(text: &str) -> Vec<Vec<String>> {
    // The export quotes only cells with commas, quotes or line ends; these have none
    // but the descriptions, which never hold CRLF.
    text.split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut cells = Vec::new();
            let mut cell = String::new();
            let mut quoted = false;
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                match (c, quoted) {
                    ('"', true) if chars.peek() == Some(&'"') => {
                        cell.push('"');
                        chars.next();
                    }
                    ('"', _) => quoted = !quoted,
                    (',', false) => cells.push(std::mem::take(&mut cell)),
                    _ => cell.push(c),
                }
            }
            cells.push(cell);
            cells
        })
        .collect()
}

#[tokio::test]
async fn the_csv_of_all_pages_equals_the_sandbox_rows_and_a_cancel_leaves_no_file() {
    let env = env(1, 450).await;
    env.users.import_from_sandbox().await.unwrap();
    let user = env.at_gateway().await.remove(0);
    let rows = env.transactions_at_gateway(&user.id).await;
    let downloads = env.dir.path().join("Downloads");
    let target = ExportTarget::Folder {
        dir: downloads.clone(),
        name: "transactions.csv".into(),
    };
    let done = env
        .users
        .export_transactions(
            "export-1",
            user.id.as_str(),
            TransactionFilter::default(),
            target.clone(),
        )
        .await
        .unwrap();
    let TransactionsExport::Written {
        path,
        rows: n,
        pages,
    } = done
    else {
        panic!("{done:?}");
    };
    assert_eq!((n, pages), (450, 5));
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with("\u{feff}".as_bytes()), "UTF-8 with a BOM");
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.ends_with("\r\n") && !text.replace("\r\n", "").contains('\n'));
    let csv = parse_csv(text.trim_start_matches('\u{feff}'));
    assert_eq!(
        csv[0],
        [
            "transaction_id",
            "created_at",
            "type",
            "status",
            "amount",
            "currency",
            "description"
        ]
    );
    let want: Vec<Vec<String>> = rows
        .iter()
        .map(|t| {
            vec![
                t.id.as_str().to_owned(),
                t.created_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                t.kind.as_str().to_owned(),
                format!("{:?}", t.status).to_lowercase(),
                t.amount.to_decimal_string(),
                t.amount.currency().code().to_owned(),
                t.description.clone(),
            ]
        })
        .collect();
    assert_eq!(&csv[1..], &want[..]);
    let progress: Vec<_> = env
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            UserEvent::ExportProgress(p) if p.export_id == "export-1" => Some(p.clone()),
            _ => None,
        })
        .collect();
    let last = progress.last().unwrap();
    assert!(last.finished && last.rows == 450 && last.pages == 5);

    // Slowed down, then cancelled after its first page: nothing is left behind.
    std::fs::remove_file(&path).unwrap();
    env.client()
        .sandbox()
        .set_faults(&Faults {
            latency_ms: 150,
            ..Faults::default()
        })
        .await
        .unwrap();
    let users = Arc::clone(&env.users);
    let uid = user.id.as_str().to_owned();
    let running = tokio::spawn(async move {
        users
            .export_transactions("export-2", &uid, TransactionFilter::default(), target)
            .await
    });
    eventually("the export's first page", || async {
        env.seen.lock().unwrap().iter().any(|e| {
            matches!(e, UserEvent::ExportProgress(p) if p.export_id == "export-2" && p.pages >= 1)
        })
    })
    .await;
    assert!(env.users.cancel_export("export-2").unwrap());
    let ended = running.await.unwrap().unwrap();
    assert!(
        matches!(ended, TransactionsExport::Cancelled { .. }),
        "{ended:?}"
    );
    assert_eq!(std::fs::read_dir(&downloads).unwrap().count(), 0);
    assert!(!env.users.cancel_export("export-2").unwrap());
    env.shutdown().await;
}

#[tokio::test]
async fn a_balance_refresh_under_503s_and_latency_ends_with_the_right_figures() {
    let env = env(12, 3).await;
    env.users.import_from_sandbox().await.unwrap();
    env.refreshed(1).await;
    // The balances move at the gateway; the directory does not know yet.
    let client = env.client();
    let sandbox = client.sandbox();
    for u in env.at_gateway().await {
        sandbox
            .add_transaction(
                &u.id,
                &NewTransaction {
                    kind: TransactionType::TopUp,
                    amount: Money::parse("12.34", ito_api::Currency::Usd).unwrap(),
                    description: "Top-up".into(),
                },
            )
            .await
            .unwrap();
    }
    sandbox
        .set_faults(&Faults {
            latency_ms: 40,
            error_rate: 0.6,
            drop_rate: 0.0,
        })
        .await
        .unwrap();
    let started = env.users.refresh_balances(None).await.unwrap();
    assert_eq!((started.total, started.already_running), (12, false));
    let last = env.refreshed(2).await;
    assert_eq!((last.done, last.failed, last.gone), (12, 0, 0), "{last:?}");
    assert_eq!(last.error, None);
    sandbox.clear_faults().await.unwrap();
    balances_match(&env).await;
    eventually("the injected 503s in the request log", || async {
        let log = env
            .desk
            .request_log(RequestLogFilter {
                limit: Some(500),
                ..RequestLogFilter::default()
            })
            .await
            .unwrap();
        log.iter().filter(|r| r.status == Some(503)).count() >= 3
    })
    .await;
    let changed: usize = env
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|e| match e {
            UserEvent::UsersChanged { users, .. } => users.len(),
            _ => 0,
        })
        .sum();
    assert!(changed >= 24, "rows reported as they change: {changed}");
    env.shutdown().await;
}

#[tokio::test]
async fn an_expired_token_is_replaced_without_the_user_noticing() {
    let env = env(1, 2).await;
    env.users.import_from_sandbox().await.unwrap();
    let id = env.at_gateway().await.remove(0).id;
    env.users.detail(id.as_str()).await.unwrap();
    // The gateway forgets every token (expired, revoked): the next call still works.
    env.sandbox
        .db()
        .write_now(|tx| {
            tx.execute("DELETE FROM oauth_access_tokens", [])?;
            Ok(())
        })
        .unwrap();
    let detail = env.users.detail(id.as_str()).await.unwrap();
    assert_eq!(detail.user.user_id, id.as_str());
    eventually("the refused call in the request log", || async {
        let log = env
            .desk
            .request_log(RequestLogFilter::default())
            .await
            .unwrap();
        log.iter().any(|r| r.status == Some(401))
    })
    .await;
    env.shutdown().await;
}

#[tokio::test]
async fn simulations_move_the_balance_in_test_mode_only() {
    let env = env(1, 0).await;
    env.users.import_from_sandbox().await.unwrap();
    let id = env.at_gateway().await.remove(0).id;
    let top_up = env
        .users
        .simulate_transaction(
            id.as_str(),
            SimulatedTransaction {
                kind: TransactionKind::TopUp,
                amount: "1500".into(),
                currency: Currency::Jpy,
                description: Some("テスト入金".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(top_up.transaction.amount, "1500");
    let jpy = top_up
        .user
        .balances
        .iter()
        .find(|b| b.currency == Currency::Jpy)
        .unwrap();
    assert_eq!(jpy.available, "1500");
    let overdraw = command(
        env.users
            .simulate_transaction(
                id.as_str(),
                SimulatedTransaction {
                    kind: TransactionKind::CardSpend,
                    amount: "99999".into(),
                    currency: Currency::Jpy,
                    description: None,
                },
            )
            .await
            .unwrap_err(),
    );
    assert!(overdraw.fields.contains_key("amount"), "{overdraw:?}");
    let scale = command(
        env.users
            .simulate_transaction(
                id.as_str(),
                SimulatedTransaction {
                    kind: TransactionKind::TopUp,
                    amount: "1.5".into(),
                    currency: Currency::Jpy,
                    description: None,
                },
            )
            .await
            .unwrap_err(),
    );
    assert!(scale.fields.contains_key("amount"));

    // A live profile is refused before anything is sent.
    let live = env
        .desk
        .add_profile(ProfileInput {
            name: "Live".into(),
            mode: Mode::Active,
            base_url: "https://payment.example".into(),
            access_key: Some("ak_live".into()),
            secret_key: Some("sk_live".into()),
            client_id: "cid".into(),
            client_secret: Some("cs_live".into()),
            public_client_id: "pub".into(),
        })
        .await
        .unwrap();
    env.desk.switch_profile(&live.id).await.unwrap();
    let refused = command(
        env.users
            .simulate_transaction(
                id.as_str(),
                SimulatedTransaction {
                    kind: TransactionKind::TopUp,
                    amount: "1".into(),
                    currency: Currency::Jpy,
                    description: None,
                },
            )
            .await
            .unwrap_err(),
    );
    assert!(refused.message.contains("test mode"), "{refused:?}");
    let import = command(env.users.import_from_sandbox().await.unwrap_err());
    assert!(import.message.contains("test mode"));
    env.shutdown().await;
}

#[tokio::test]
async fn the_first_start_lists_the_demo_users_without_typing_an_id() {
    let dir = tempfile::tempdir().unwrap();
    let keyring: Arc<CredentialStore> = mock::Store::new().unwrap();
    let desk = Desk::open(
        Options {
            data_dir: dir.path().to_owned(),
            embedded_sandbox: true,
        },
        Vault::with_store(keyring),
        Arc::new(|_| {}),
    )
    .await
    .unwrap();
    let users = Users::new(Arc::clone(&desk), Arc::new(|_| {}));
    let page = users
        .list(UserFilter::default(), UserSort::default(), None, None)
        .await
        .unwrap();
    let demo = SeedOptions::DEMO.users as u32;
    assert_eq!(page.total, Some(demo));
    assert!(page.rows.iter().any(|r| r.name.contains('佐')));
    // The Overview counts the same users and links the waiting ones by id.
    let overview = desk.overview().await.unwrap();
    assert_eq!(overview.user_count, demo);
    assert_eq!(overview.kyc_waiting_count, page.tabs.unwrap().waiting);
    for w in &overview.kyc_waiting {
        assert!(page.rows.iter().any(|r| r.user_id == w.user_id));
    }
    assert!(!overview.balances.is_empty());
    desk.shutdown().await;
}
