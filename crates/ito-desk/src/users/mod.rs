//! The users service behind the Users screens, for the desk's active profile: the
//! local [`directory`] (the gateway cannot list a merchant's users), creating and
//! editing users ([`profile`]), their [`balances`] refreshed in the background, and
//! their [`transactions`]. Like the desk, it knows nothing of Tauri: it reports
//! through a sink.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures_util::TryStreamExt;
use ito_api::sandbox::NewTransaction;
use ito_api::users::{Card, CardStatus, User};
use ito_api::{Client, Money, UserId};
use serde::{Deserialize, Serialize};
use specta::Type;
use tokio::sync::watch;

use crate::desk::Desk;
use crate::error::{Error, FieldErrors, Result, poisoned};
use crate::exports::ExportTarget;
use crate::overview::{Currency, CurrencyBalance};
use crate::payments::ledger::api_currency;
use crate::profiles::{Mode, StoredProfile};
use crate::store::{Store, now_ms};

pub mod balances;
pub mod directory;
pub mod profile;
pub mod search;
pub mod transactions;

use balances::{BalanceRefreshProgress, RefreshEvent};
use directory::{DirectoryInfo, DirectoryUser, UserFilter, UserPage, UserSort};
use profile::{
    NewUserInput, UserCreated, UserProfileChanges, UserProfilePreview, UserProfileSaved,
};
use transactions::{
    BalanceHistory, TransactionExportProgress, TransactionFilter, TransactionKind, TransactionPage,
    TransactionTotals, TransactionsExport, UserTransaction,
};

/// What the service tells the window about, as it happens.
#[derive(Clone, Debug)]
pub enum UserEvent {
    /// How a balance refresh is going, and when it ends.
    BalanceRefresh(BalanceRefreshProgress),
    /// These rows changed (balances fetched, profile edited, found gone): update
    /// them in place.
    UsersChanged {
        profile_id: String,
        users: Vec<DirectoryUser>,
    },
    /// Users were added or removed (import, create, add by id, remove): reload the list.
    DirectoryChanged {
        profile_id: String,
    },
    ExportProgress(TransactionExportProgress),
}

pub type UserEventSink = Arc<dyn Fn(UserEvent) + Send + Sync>;

/// A user's page: profile, balances and cards as the gateway has them now.
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct UserDetail {
    pub user: DirectoryUser,
    /// Every currency the gateway reported, zero ones included.
    pub balances: Vec<CurrencyBalance>,
    pub cards: Vec<UserCard>,
    /// The profile is in test mode: top-ups and added transactions apply.
    pub test_mode: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum CardState {
    Active,
    Frozen,
    Cancelled,
}

/// A card as staff may see it: never its number or CVV.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct UserCard {
    pub card_id: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: u8,
    pub exp_year: u16,
    pub status: CardState,
    pub currency: Option<Currency>,
}

impl From<&Card> for UserCard {
    fn from(c: &Card) -> Self {
        Self {
            card_id: c.id.as_str().to_owned(),
            brand: c.brand.clone(),
            last4: c.last4.clone(),
            exp_month: c.exp_month,
            exp_year: c.exp_year,
            status: match c.status {
                CardStatus::Active => CardState::Active,
                CardStatus::Frozen => CardState::Frozen,
                CardStatus::Cancelled => CardState::Cancelled,
            },
            currency: c.currency.map(Into::into),
        }
    }
}

/// What an import from the sandbox did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// Users the sandbox holds for this merchant.
    pub users: u32,
    /// Of them, new to the directory.
    pub added: u32,
}

/// A balance refresh asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct RefreshStarted {
    /// Users it fetches.
    pub total: u32,
    /// One was already running for this profile; its progress events continue.
    pub already_running: bool,
}

/// A transaction added to a user in the sandbox, as a simulation.
#[derive(Clone, Debug, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SimulatedTransaction {
    pub kind: TransactionKind,
    /// Decimal text at most at the currency's scale.
    pub amount: String,
    pub currency: Currency,
    pub description: Option<String>,
}

#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Simulated {
    pub transaction: UserTransaction,
    pub user: DirectoryUser,
}

const MAX_DESCRIPTION_CHARS: usize = 255;
/// Users written per transaction while importing.
const IMPORT_BATCH: usize = 500;

fn test_mode_only(profile: &StoredProfile) -> Result<()> {
    if profile.mode == Mode::Test {
        Ok(())
    } else {
        Err(Error::refused(
            "Simulations and sandbox imports only exist in test mode; this profile is live.",
        ))
    }
}

/// Fills the directory from the sandbox's control API (`GET /sandbox/users`, every
/// page), adding new users and updating known ones.
pub async fn import(client: &Client, store: &Store, profile_id: &str) -> Result<ImportReport> {
    let mut all = std::pin::pin!(client.sandbox().all_users());
    let mut report = ImportReport { users: 0, added: 0 };
    let mut batch: Vec<User> = Vec::with_capacity(IMPORT_BATCH);
    loop {
        let next = all.try_next().await.map_err(|e| match e.kind() {
            ito_api::ErrorKind::NotFound => Error::refused(
                "This gateway has no sandbox control API to import from; add users by id instead.",
            ),
            _ => e.into(),
        })?;
        let done = next.is_none();
        report.users += u32::from(next.is_some());
        batch.extend(next);
        if batch.len() == IMPORT_BATCH || (done && !batch.is_empty()) {
            let users = std::mem::take(&mut batch);
            let pid = profile_id.to_owned();
            report.added += store
                .write(move |tx| {
                    let now = now_ms();
                    let mut added = 0u32;
                    for u in &users {
                        added += u32::from(directory::upsert(tx, &pid, u, now)?);
                    }
                    Ok(added)
                })
                .await?;
        }
        if done {
            break;
        }
    }
    let (pid, users) = (profile_id.to_owned(), report.users);
    store
        .write(move |tx| directory::record_import(tx, &pid, users, now_ms()))
        .await?;
    Ok(report)
}

/// The embedded sandbox's profile gets its demo users on first use, so a new user of
/// the app sees them without typing an id. Returns whether it imported.
pub async fn import_demo_users(
    client: &Client,
    store: &Store,
    profile: &StoredProfile,
) -> Result<bool> {
    if !profile.is_embedded() {
        return Ok(false);
    }
    let pid = profile.id.clone();
    if store
        .read(move |c| directory::imported_at(c, &pid))
        .await?
        .is_some()
    {
        return Ok(false);
    }
    import(client, store, &profile.id).await?;
    Ok(true)
}

/// A lock per (profile, email) being created.
type CreateTurns = HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>;

pub struct Users {
    desk: Arc<Desk>,
    events: UserEventSink,
    /// One create at a time per profile and email: a double click waits for the
    /// first and then finds its user.
    creating: Mutex<CreateTurns>,
    /// Profiles with a balance refresh running.
    refreshing: Mutex<HashSet<String>>,
    /// Cancel switches of the running exports, by export id.
    exports: Mutex<HashMap<String, watch::Sender<bool>>>,
    /// One automatic import at a time.
    importing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Users").finish_non_exhaustive()
    }
}

impl Users {
    pub fn new(desk: Arc<Desk>, events: UserEventSink) -> Arc<Self> {
        Arc::new(Self {
            desk,
            events,
            creating: Mutex::new(HashMap::new()),
            refreshing: Mutex::new(HashSet::new()),
            exports: Mutex::new(HashMap::new()),
            importing: tokio::sync::Mutex::new(()),
        })
    }

    fn store(&self) -> &Store {
        self.desk.store()
    }

    fn emit(&self, e: UserEvent) {
        (self.events)(e);
    }

    async fn profile(&self) -> Result<(StoredProfile, Client)> {
        let profile = self.desk.active_profile().await?;
        let client = self.desk.client(&profile).await?;
        Ok((profile, client))
    }

    /// Imports the embedded profile's demo users once, then refreshes their balances.
    async fn ensure_demo_users(
        self: &Arc<Self>,
        profile: &StoredProfile,
        client: &Client,
    ) -> Result<()> {
        if !profile.is_embedded() {
            return Ok(());
        }
        let _one = self.importing.lock().await;
        if import_demo_users(client, self.store(), profile).await? {
            self.emit(UserEvent::DirectoryChanged {
                profile_id: profile.id.clone(),
            });
            self.start_refresh(profile.clone(), client.clone(), None)
                .await?;
        }
        Ok(())
    }

    /// What the directory holds and what its filters offer.
    pub async fn info(self: &Arc<Self>) -> Result<DirectoryInfo> {
        let (profile, client) = self.profile().await?;
        self.ensure_demo_users(&profile, &client).await?;
        let test_mode = profile.mode == Mode::Test;
        self.store()
            .read(move |c| directory::info(c, &profile.id, test_mode))
            .await
    }

    /// One page of the directory.
    pub async fn list(
        self: &Arc<Self>,
        filter: UserFilter,
        sort: UserSort,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<UserPage> {
        let profile = self.desk.active_profile().await?;
        if profile.is_embedded() && cursor.is_none() {
            let client = self.desk.client(&profile).await?;
            self.ensure_demo_users(&profile, &client).await?;
        }
        self.store()
            .read(move |c| {
                directory::page(c, &profile.id, &filter, &sort, cursor.as_deref(), limit)
            })
            .await
    }

    /// "Import from sandbox": every user the sandbox holds for this merchant, then
    /// their balances in the background. Test mode only.
    pub async fn import_from_sandbox(self: &Arc<Self>) -> Result<ImportReport> {
        let (profile, client) = self.profile().await?;
        test_mode_only(&profile)?;
        let report = import(&client, self.store(), &profile.id).await?;
        self.emit(UserEvent::DirectoryChanged {
            profile_id: profile.id.clone(),
        });
        self.start_refresh(profile, client, None).await?;
        Ok(report)
    }

    /// Reads the user from the gateway. It has no "get user" route: an empty profile
    /// update (`PATCH …/profile` with `{}`) changes nothing and answers the user,
    /// and a 404 for a user that is not this merchant's, exactly like an unknown id.
    async fn fetch_user(client: &Client, user: &UserId) -> ito_api::Result<User> {
        client
            .merchant()
            .update_profile(user, &ito_api::users::ProfileUpdate::default())
            .await
    }

    /// A 404 for a user of the directory: marks it gone and says so plainly.
    async fn gone(&self, profile: &StoredProfile, user: &UserId, e: ito_api::Error) -> Error {
        if e.kind() != ito_api::ErrorKind::NotFound {
            return e.into();
        }
        let (pid, uid) = (profile.id.clone(), user.as_str().to_owned());
        let marked = self
            .store()
            .write(move |tx| {
                directory::mark_gone(tx, &pid, &uid, now_ms())?;
                directory::get(tx, &pid, &uid)
            })
            .await;
        if let Ok(Some(row)) = marked {
            self.emit(UserEvent::UsersChanged {
                profile_id: profile.id.clone(),
                users: vec![row],
            });
        }
        Error::UserGone {
            user_id: user.as_str().to_owned(),
            message: format!(
                "The gateway no longer knows user {user} as this merchant's. Remove it from the directory?"
            ),
        }
    }

    async fn stored(&self, profile: &StoredProfile, user: &User) -> Result<DirectoryUser> {
        let (pid, u) = (profile.id.clone(), user.clone());
        self.store()
            .write(move |tx| {
                directory::upsert(tx, &pid, &u, now_ms())?;
                directory::get(tx, &pid, u.id.as_str())?
                    .ok_or_else(|| Error::Internal("a stored user vanished".into()))
            })
            .await
    }

    /// Adds an existing user by id, after the gateway confirms it is this merchant's.
    pub async fn add_by_id(self: &Arc<Self>, user_id: &str) -> Result<DirectoryUser> {
        let (profile, client) = self.profile().await?;
        let id = user_id.trim();
        if id.is_empty() {
            return Err(Error::field("userId", "Enter the user's id."));
        }
        let id = UserId::new(id);
        let user = Self::fetch_user(&client, &id).await.map_err(|e| {
            if e.kind() == ito_api::ErrorKind::NotFound {
                Error::NotFound(format!(
                    "The gateway has no user {id} for this merchant (unknown, or another merchant's)."
                ))
            } else {
                e.into()
            }
        })?;
        let row = self.stored(&profile, &user).await?;
        self.emit(UserEvent::DirectoryChanged {
            profile_id: profile.id.clone(),
        });
        self.start_refresh(profile, client, Some(vec![row.user_id.clone()]))
            .await?;
        Ok(row)
    }

    /// Removes a user from the directory (nothing changes at the gateway).
    pub async fn remove(&self, user_id: &str) -> Result<()> {
        let profile = self.desk.active_profile().await?;
        let (pid, uid) = (profile.id.clone(), user_id.to_owned());
        let removed = self
            .store()
            .write(move |tx| directory::remove(tx, &pid, &uid))
            .await?;
        if !removed {
            return Err(Error::NotFound("This user is not in the directory.".into()));
        }
        self.emit(UserEvent::DirectoryChanged {
            profile_id: profile.id,
        });
        Ok(())
    }

    /// Creates a user. A retry or a double click never creates two, because:
    /// - the gateway refuses a second user with the same email for a merchant (409),
    ///   so whatever happens at most one user per email exists;
    /// - submits of one email run one at a time (single flight), and the intent is
    ///   stored before the request goes out (`user_creates`, durable), so a second
    ///   submit, even after a restart, finds the first one's user instead of sending;
    /// - when the first request's answer was lost (network, timeout, 5xx) the intent
    ///   stays `uncertain`; the retry sends again, and if the gateway then answers 409
    ///   the earlier request did create the user: in test mode the desk finds it
    ///   through the sandbox and adopts it, otherwise it says so on the email field
    ///   (the gateway has no lookup by email to find its id).
    ///
    /// The gateway documents no `Idempotency-Key` for this route, so none is relied on.
    pub async fn create(self: &Arc<Self>, input: NewUserInput) -> Result<UserCreated> {
        let (profile, client) = self.profile().await?;
        let request = profile::check_new(&input)?;
        let key = (profile.id.clone(), request.email.clone());
        let turn = {
            let mut creating = self.creating.lock().map_err(poisoned)?;
            Arc::clone(creating.entry(key.clone()).or_default())
        };
        let created = {
            let _one = turn.lock().await;
            self.create_once(&profile, &client, request).await
        };
        // The entry goes once no other submit of this email waits on it.
        if let Ok(mut creating) = self.creating.lock()
            && Arc::strong_count(&turn) == 2
        {
            creating.remove(&key);
        }
        let created = created?;
        if !created.replayed {
            self.emit(UserEvent::DirectoryChanged {
                profile_id: profile.id.clone(),
            });
            self.start_refresh(profile, client, Some(vec![created.user.user_id.clone()]))
                .await?;
        }
        Ok(created)
    }

    async fn create_once(
        &self,
        profile: &StoredProfile,
        client: &Client,
        request: ito_api::users::NewUser,
    ) -> Result<UserCreated> {
        let (pid, email) = (profile.id.clone(), request.email.clone());
        let earlier = self
            .store()
            .write(move |tx| {
                let staged = profile::staged(tx, &pid, &email)?;
                if let Some(profile::Staged::Created(user_id)) = &staged
                    && let Some(user) = directory::get(tx, &pid, user_id)?
                {
                    return Ok(Err(user));
                }
                if let Some(user) = directory::by_email(tx, &pid, &email)? {
                    return Err(Error::field(
                        "email",
                        format!(
                            "{} ({}) already has this email in the directory.",
                            user.name, user.user_id
                        ),
                    ));
                }
                profile::stage(tx, &pid, &email, now_ms())?;
                Ok(Ok(matches!(staged, Some(profile::Staged::Uncertain))))
            })
            .await?;
        let uncertain = match earlier {
            Err(user) => {
                return Ok(UserCreated {
                    user,
                    replayed: true,
                });
            }
            Ok(uncertain) => uncertain,
        };
        let (pid, email) = (profile.id.clone(), request.email.clone());
        match client.merchant().create_user(&request).await {
            Ok(created) => {
                let user = created.user;
                let row = self
                    .store()
                    .write(move |tx| {
                        directory::upsert(tx, &pid, &user, now_ms())?;
                        profile::confirm(tx, &pid, &email, user.id.as_str(), now_ms())?;
                        directory::get(tx, &pid, user.id.as_str())?
                            .ok_or_else(|| Error::Internal("a stored user vanished".into()))
                    })
                    .await?;
                Ok(UserCreated {
                    user: row,
                    replayed: false,
                })
            }
            Err(e) if e.kind() == ito_api::ErrorKind::Conflict && uncertain => {
                self.adopt(profile, client, &request.email, e).await
            }
            Err(e) if e.is_transient() => {
                let message = e.message();
                self.store()
                    .write(move |tx| profile::uncertain(tx, &pid, &email, &message, now_ms()))
                    .await?;
                Err(e.into())
            }
            Err(e) => {
                self.store()
                    .write(move |tx| profile::unstage(tx, &pid, &email))
                    .await?;
                Err(profile::on_fields(e))
            }
        }
    }

    /// The retry of a create whose answer was lost met a 409: the lost request
    /// created the user. The sandbox can say which; the gateway cannot.
    async fn adopt(
        &self,
        profile: &StoredProfile,
        client: &Client,
        email: &str,
        conflict: ito_api::Error,
    ) -> Result<UserCreated> {
        let (pid, staged_email) = (profile.id.clone(), email.to_owned());
        self.store()
            .write(move |tx| profile::unstage(tx, &pid, &staged_email))
            .await?;
        let found = if profile.mode == Mode::Test {
            let mut all = std::pin::pin!(client.sandbox().all_users());
            let mut found = None;
            while let Some(u) = all.try_next().await.ok().flatten() {
                if u.email == email {
                    found = Some(u);
                    break;
                }
            }
            found
        } else {
            None
        };
        let Some(user) = found else {
            return Err(Error::field(
                "email",
                format!(
                    "{} An earlier attempt from this desk may have created this user before \
                     its answer was lost: add the user by id.",
                    conflict.message()
                ),
            ));
        };
        let row = self.stored(profile, &user).await?;
        let (pid, email, uid) = (profile.id.clone(), email.to_owned(), user.id.clone());
        self.store()
            .write(move |tx| {
                profile::stage(tx, &pid, &email, now_ms())?;
                profile::confirm(tx, &pid, &email, uid.as_str(), now_ms())
            })
            .await?;
        Ok(UserCreated {
            user: row,
            replayed: true,
        })
    }

    /// What saving `changes` would change, against the gateway's current profile
    /// (read afresh, which also brings the directory's row up to date).
    pub async fn preview_edit(
        &self,
        user_id: &str,
        changes: UserProfileChanges,
    ) -> Result<UserProfilePreview> {
        let (profile, client) = self.profile().await?;
        let id = UserId::new(user_id);
        let current = match Self::fetch_user(&client, &id).await {
            Ok(u) => self.stored(&profile, &u).await?,
            Err(e) => return Err(self.gone(&profile, &id, e).await),
        };
        let changes = profile::diff(&current, &changes)?;
        Ok(UserProfilePreview {
            user: current,
            changes,
        })
    }

    /// Saves `changes`, sending only the fields that differ from the directory's row
    /// (`PATCH …/profile`); nothing is sent when none does.
    pub async fn save_edit(
        &self,
        user_id: &str,
        changes: UserProfileChanges,
    ) -> Result<UserProfileSaved> {
        let (profile, client) = self.profile().await?;
        let (pid, uid) = (profile.id.clone(), user_id.to_owned());
        let current = self
            .store()
            .read(move |c| directory::get(c, &pid, &uid))
            .await?
            .ok_or_else(|| Error::NotFound("This user is not in the directory.".into()))?;
        let changes = profile::diff(&current, &changes)?;
        if changes.is_empty() {
            return Ok(UserProfileSaved {
                user: current,
                changes,
            });
        }
        let id = UserId::new(user_id);
        let user = match client
            .merchant()
            .update_profile(&id, &profile::update(&changes))
            .await
        {
            Ok(u) => u,
            Err(e) if e.kind() == ito_api::ErrorKind::NotFound => {
                return Err(self.gone(&profile, &id, e).await);
            }
            Err(e) => return Err(profile::on_fields(e)),
        };
        let row = self.stored(&profile, &user).await?;
        self.emit(UserEvent::UsersChanged {
            profile_id: profile.id.clone(),
            users: vec![row.clone()],
        });
        Ok(UserProfileSaved { user: row, changes })
    }

    /// A user's page: profile, balances and cards read afresh from the gateway, the
    /// directory brought up to date with them.
    pub async fn detail(&self, user_id: &str) -> Result<UserDetail> {
        let (profile, client) = self.profile().await?;
        let id = UserId::new(user_id);
        let merchant = client.merchant();
        let (user, balances, cards) = tokio::join!(
            Self::fetch_user(&client, &id),
            merchant.balance(&id),
            merchant.cards(&id)
        );
        let (user, balances, cards) = match (user, balances, cards) {
            (Ok(u), Ok(b), Ok(c)) => (u, b, c),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                return Err(self.gone(&profile, &id, e).await);
            }
        };
        let (pid, u, b) = (profile.id.clone(), user.clone(), balances.balances.clone());
        let row = self
            .store()
            .write(move |tx| {
                let now = now_ms();
                directory::upsert(tx, &pid, &u, now)?;
                directory::store_balances(tx, &pid, u.id.as_str(), &b, now)?;
                directory::get(tx, &pid, u.id.as_str())?
                    .ok_or_else(|| Error::Internal("a stored user vanished".into()))
            })
            .await?;
        self.emit(UserEvent::UsersChanged {
            profile_id: profile.id.clone(),
            users: vec![row.clone()],
        });
        Ok(UserDetail {
            user: row,
            balances: balances
                .balances
                .iter()
                .map(CurrencyBalance::from)
                .collect(),
            cards: cards.iter().map(UserCard::from).collect(),
            test_mode: profile.mode == Mode::Test,
        })
    }

    /// The available balance over time, for the Balances tab's chart.
    pub async fn balance_history(&self, user_id: &str) -> Result<BalanceHistory> {
        let (profile, client) = self.profile().await?;
        let id = UserId::new(user_id);
        let current = match client.merchant().balance(&id).await {
            Ok(b) => b,
            Err(e) => return Err(self.gone(&profile, &id, e).await),
        };
        transactions::history(&client, &id, &current.balances).await
    }

    /// One page of a user's transactions through the gateway's cursor. `loaded` is
    /// the totals of the pages already shown; the answer's include this page.
    pub async fn transactions(
        &self,
        user_id: &str,
        filter: TransactionFilter,
        cursor: Option<String>,
        limit: Option<u32>,
        loaded: Vec<TransactionTotals>,
    ) -> Result<TransactionPage> {
        let (profile, client) = self.profile().await?;
        let id = UserId::new(user_id);
        match transactions::page(&client, &id, &filter, cursor.as_deref(), limit, &loaded).await {
            Err(Error::Api(e)) if e.kind() == ito_api::ErrorKind::NotFound => {
                Err(self.gone(&profile, &id, e).await)
            }
            other => other,
        }
    }

    /// Exports every page of the filter's transactions as CSV to `target`, reporting
    /// progress under `export_id` until it ends or [`Users::cancel_export`] stops it.
    pub async fn export_transactions(
        &self,
        export_id: &str,
        user_id: &str,
        filter: TransactionFilter,
        target: ExportTarget,
    ) -> Result<TransactionsExport> {
        let (profile, client) = self.profile().await?;
        let (cancel, cancelled) = watch::channel(false);
        {
            let mut exports = self.exports.lock().map_err(poisoned)?;
            if exports.contains_key(export_id) {
                return Err(Error::field(
                    "exportId",
                    "An export with this id is running.",
                ));
            }
            exports.insert(export_id.to_owned(), cancel);
        }
        let id = UserId::new(user_id);
        let events = Arc::clone(&self.events);
        let progress = move |p: TransactionExportProgress| events(UserEvent::ExportProgress(p));
        let result = transactions::export(
            &client, &id, &filter, target, cancelled, &progress, export_id,
        )
        .await;
        if let Ok(mut exports) = self.exports.lock() {
            exports.remove(export_id);
        }
        match result {
            Err(Error::Api(e)) if e.kind() == ito_api::ErrorKind::NotFound => {
                Err(self.gone(&profile, &id, e).await)
            }
            other => other,
        }
    }

    /// Stops a running export; it then ends `Cancelled` and leaves no file.
    /// Returns whether such an export was running.
    pub fn cancel_export(&self, export_id: &str) -> Result<bool> {
        let exports = self.exports.lock().map_err(poisoned)?;
        Ok(exports
            .get(export_id)
            .map(|c| c.send(true).is_ok())
            .unwrap_or(false))
    }

    /// Refreshes balances in the background: of `user_ids`, or of every user (never
    /// fetched first, then the oldest). Progress and changed rows come as events.
    pub async fn refresh_balances(
        self: &Arc<Self>,
        user_ids: Option<Vec<String>>,
    ) -> Result<RefreshStarted> {
        let (profile, client) = self.profile().await?;
        self.start_refresh(profile, client, user_ids).await
    }

    async fn start_refresh(
        self: &Arc<Self>,
        profile: StoredProfile,
        client: Client,
        user_ids: Option<Vec<String>>,
    ) -> Result<RefreshStarted> {
        let pid = profile.id.clone();
        let ids = self
            .store()
            .read(move |c| directory::refresh_order(c, &pid, user_ids.as_deref()))
            .await?;
        let total = u32::try_from(ids.len()).unwrap_or(u32::MAX);
        if !self
            .refreshing
            .lock()
            .map_err(poisoned)?
            .insert(profile.id.clone())
        {
            return Ok(RefreshStarted {
                total,
                already_running: true,
            });
        }
        let users = Arc::clone(self);
        tokio::spawn(async move {
            let sink = |e: RefreshEvent| match e {
                RefreshEvent::Progress(p) => users.emit(UserEvent::BalanceRefresh(p)),
                RefreshEvent::Changed(rows) => users.emit(UserEvent::UsersChanged {
                    profile_id: profile.id.clone(),
                    users: rows,
                }),
            };
            if let Err(e) = balances::refresh(&client, users.store(), &profile.id, ids, &sink).await
            {
                tracing::warn!(error = %e, "balance refresh failed");
            }
            if let Ok(mut running) = users.refreshing.lock() {
                running.remove(&profile.id);
            }
        });
        Ok(RefreshStarted {
            total,
            already_running: false,
        })
    }

    /// Test mode only: adds a completed transaction (a top-up, spending, a refund, a
    /// fee) to the user through the sandbox's control API, then reads the balances.
    pub async fn simulate_transaction(
        &self,
        user_id: &str,
        input: SimulatedTransaction,
    ) -> Result<Simulated> {
        let (profile, client) = self.profile().await?;
        test_mode_only(&profile)?;
        let currency = api_currency(input.currency);
        let mut fields = FieldErrors::new();
        let amount = match Money::parse(input.amount.trim(), currency) {
            Ok(m) if m.is_positive() => Some(m),
            Ok(_) => {
                fields.insert(
                    "amount".into(),
                    vec!["The amount must be greater than 0.".into()],
                );
                None
            }
            Err(_) => {
                let msg = match currency.scale() {
                    0 => format!("Enter a whole number of {currency}."),
                    n => format!("Enter an amount with at most {n} decimal places."),
                };
                fields.insert("amount".into(), vec![msg]);
                None
            }
        };
        let description = input.description.unwrap_or_default().trim().to_owned();
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            fields.insert(
                "description".into(),
                vec![format!("At most {MAX_DESCRIPTION_CHARS} characters.")],
            );
        }
        let Some(amount) = amount.filter(|_| fields.is_empty()) else {
            return Err(Error::Validation {
                message: "Some fields need attention.".into(),
                fields,
            });
        };
        let id = UserId::new(user_id);
        let entry = NewTransaction {
            kind: input.kind.into(),
            amount,
            description,
        };
        let transaction = match client.sandbox().add_transaction(&id, &entry).await {
            Ok(t) => t,
            Err(e) if e.kind() == ito_api::ErrorKind::Conflict => {
                return Err(Error::field("amount", e.message()));
            }
            Err(e) => return Err(self.gone(&profile, &id, e).await),
        };
        let balances = match client.merchant().balance(&id).await {
            Ok(b) => b,
            Err(e) => return Err(self.gone(&profile, &id, e).await),
        };
        let (pid, uid) = (profile.id.clone(), user_id.to_owned());
        let row = self
            .store()
            .write(move |tx| {
                directory::store_balances(tx, &pid, &uid, &balances.balances, now_ms())?;
                directory::get(tx, &pid, &uid)
            })
            .await?
            .ok_or_else(|| Error::NotFound("This user is not in the directory.".into()))?;
        self.emit(UserEvent::UsersChanged {
            profile_id: profile.id.clone(),
            users: vec![row.clone()],
        });
        Ok(Simulated {
            transaction: UserTransaction::from(&transaction),
            user: row,
        })
    }
}
