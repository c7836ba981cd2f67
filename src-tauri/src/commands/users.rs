//! The Users screens: the local directory, creating and editing users, a user's page
//! (balances, transactions, cards), the transactions export and, in test mode, the
//! sandbox's simulations.

use ito_desk::exports::ExportTarget;
use ito_desk::users::directory::{DirectoryInfo, DirectoryUser, UserFilter, UserPage, UserSort};
use ito_desk::users::profile::{
    NewUserInput, UserCreated, UserProfileChanges, UserProfilePreview, UserProfileSaved,
};
use ito_desk::users::transactions::{
    BalanceHistory, TransactionFilter, TransactionPage, TransactionTotals, TransactionsExport,
};
use ito_desk::users::{ImportReport, RefreshStarted, Simulated, SimulatedTransaction, UserDetail};
use tauri::{AppHandle, State};

use super::payments::downloads;
use super::{Ready, Result, users};

/// What the directory holds (total, countries for the filter, last import) and
/// whether the profile is in test mode. The embedded sandbox's profile imports its
/// demo users on first use.
#[tauri::command]
#[specta::specta]
pub async fn user_directory_info(ready: State<'_, Ready>) -> Result<DirectoryInfo> {
    Ok(users(&ready).await?.info().await?)
}

/// One page of the directory; the first (no cursor) carries the total and the tabs'
/// counts.
#[tauri::command]
#[specta::specta]
pub async fn users_page(
    ready: State<'_, Ready>,
    filter: UserFilter,
    sort: UserSort,
    cursor: Option<String>,
    limit: Option<u32>,
) -> Result<UserPage> {
    Ok(users(&ready)
        .await?
        .list(filter, sort, cursor, limit)
        .await?)
}

/// Test mode only: every user the sandbox holds for this merchant into the directory.
#[tauri::command]
#[specta::specta]
pub async fn import_users_from_sandbox(ready: State<'_, Ready>) -> Result<ImportReport> {
    Ok(users(&ready).await?.import_from_sandbox().await?)
}

/// Adds an existing user by id; an unknown or another merchant's id is `not_found`.
#[tauri::command]
#[specta::specta]
pub async fn add_user_by_id(ready: State<'_, Ready>, user_id: String) -> Result<DirectoryUser> {
    Ok(users(&ready).await?.add_by_id(&user_id).await?)
}

/// Removes a user from the directory (nothing changes at the gateway).
#[tauri::command]
#[specta::specta]
pub async fn remove_user_from_directory(ready: State<'_, Ready>, user_id: String) -> Result<()> {
    Ok(users(&ready).await?.remove(&user_id).await?)
}

/// Creates a user; submitting the same email again never creates a second one.
#[tauri::command]
#[specta::specta]
pub async fn create_user(ready: State<'_, Ready>, input: NewUserInput) -> Result<UserCreated> {
    Ok(users(&ready).await?.create(input).await?)
}

/// What saving the changes would change, against the gateway's current profile.
#[tauri::command]
#[specta::specta]
pub async fn preview_user_profile(
    ready: State<'_, Ready>,
    user_id: String,
    changes: UserProfileChanges,
) -> Result<UserProfilePreview> {
    Ok(users(&ready).await?.preview_edit(&user_id, changes).await?)
}

/// Saves the changes, sending only the fields that differ.
#[tauri::command]
#[specta::specta]
pub async fn update_user_profile(
    ready: State<'_, Ready>,
    user_id: String,
    changes: UserProfileChanges,
) -> Result<UserProfileSaved> {
    Ok(users(&ready).await?.save_edit(&user_id, changes).await?)
}

/// A user's page: profile, balances and cards, read afresh.
#[tauri::command]
#[specta::specta]
pub async fn user_detail(ready: State<'_, Ready>, user_id: String) -> Result<UserDetail> {
    Ok(users(&ready).await?.detail(&user_id).await?)
}

/// The available balance over time, for the Balances tab's chart.
#[tauri::command]
#[specta::specta]
pub async fn user_balance_history(
    ready: State<'_, Ready>,
    user_id: String,
) -> Result<BalanceHistory> {
    Ok(users(&ready).await?.balance_history(&user_id).await?)
}

/// One page of a user's transactions through the gateway's cursor; `loaded` is the
/// totals of the pages already shown (the answer's include this page).
#[tauri::command]
#[specta::specta]
pub async fn user_transactions(
    ready: State<'_, Ready>,
    user_id: String,
    filter: TransactionFilter,
    cursor: Option<String>,
    limit: Option<u32>,
    loaded: Vec<TransactionTotals>,
) -> Result<TransactionPage> {
    Ok(users(&ready)
        .await?
        .transactions(&user_id, filter, cursor, limit, loaded)
        .await?)
}

/// Exports every page of the filter's transactions as CSV: to `path` when the user
/// chose one, else into Downloads under a name not yet taken. Progress comes as
/// `UserExportProgress` events under `exportId` (chosen by the caller);
/// `cancel_user_export` stops it and nothing is written.
#[tauri::command]
#[specta::specta]
pub async fn export_user_transactions_csv(
    app: AppHandle,
    ready: State<'_, Ready>,
    export_id: String,
    user_id: String,
    filter: TransactionFilter,
    path: Option<String>,
) -> Result<TransactionsExport> {
    let target = match path {
        Some(path) => ExportTarget::File(path.into()),
        None => ExportTarget::Folder {
            dir: downloads(&app)?,
            name: format!(
                "transactions-{user_id}-{}.csv",
                chrono::Local::now().format("%Y%m%d")
            ),
        },
    };
    Ok(users(&ready)
        .await?
        .export_transactions(&export_id, &user_id, filter, target)
        .await?)
}

/// Stops a running export; false when none runs under this id.
#[tauri::command]
#[specta::specta]
pub async fn cancel_user_export(ready: State<'_, Ready>, export_id: String) -> Result<bool> {
    Ok(users(&ready).await?.cancel_export(&export_id)?)
}

/// Refreshes balances in the background (of these users, or of all); progress and
/// changed rows come as events.
#[tauri::command]
#[specta::specta]
pub async fn refresh_user_balances(
    ready: State<'_, Ready>,
    user_ids: Option<Vec<String>>,
) -> Result<RefreshStarted> {
    Ok(users(&ready).await?.refresh_balances(user_ids).await?)
}

/// Test mode only: a top-up, spending, refund or fee added through the sandbox.
#[tauri::command]
#[specta::specta]
pub async fn simulate_user_transaction(
    ready: State<'_, Ready>,
    user_id: String,
    input: SimulatedTransaction,
) -> Result<Simulated> {
    Ok(users(&ready)
        .await?
        .simulate_transaction(&user_id, input)
        .await?)
}
