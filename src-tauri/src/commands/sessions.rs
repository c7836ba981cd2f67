//! Signing in as a user (the system browser, the loopback redirect), the users
//! signed in, signing out, and the user's own view.

use ito_desk::error::Error;
use ito_desk::sessions::UserSessionInfo;
use ito_desk::sessions::view::UserView;
use ito_desk::users::transactions::{TransactionFilter, TransactionPage, TransactionTotals};
use tauri::{AppHandle, State};
use tauri_plugin_opener::OpenerExt;

use super::{Ready, Result, sessions};

/// Opens the gateway's sign-in page in the system browser (or the program in
/// `ITO_DESK_BROWSER`, for automation) and waits, up to 5 minutes, for its one
/// redirect to 127.0.0.1. The tokens go to the keychain; the window then comes to
/// the front, best effort. `cancel_user_sign_in` stops the wait.
#[tauri::command]
#[specta::specta]
pub async fn sign_in_as_user(
    app: AppHandle,
    ready: State<'_, Ready>,
    user_id: String,
) -> Result<UserSessionInfo> {
    let opener = app.clone();
    let info = sessions(&ready)
        .await?
        .sign_in(&user_id, move |url| {
            let with = std::env::var(crate::BROWSER_ENV).ok();
            opener
                .opener()
                .open_url(url.as_str(), with.filter(|w| !w.trim().is_empty()))
                .map_err(|e| Error::Internal(e.to_string()))
        })
        .await?;
    crate::bring_to_front(&app);
    Ok(info)
}

/// Stops a sign-in waiting for the browser; false when none was waiting.
#[tauri::command]
#[specta::specta]
pub async fn cancel_user_sign_in(ready: State<'_, Ready>, user_id: String) -> Result<bool> {
    Ok(sessions(&ready).await?.cancel_sign_in(&user_id).await?)
}

/// The users signed in on the active profile, the latest first, with their expiry.
#[tauri::command]
#[specta::specta]
pub async fn user_sessions(ready: State<'_, Ready>) -> Result<Vec<UserSessionInfo>> {
    Ok(sessions(&ready).await?.sessions().await?)
}

/// Signs out of a user's session: its tokens leave the keychain.
#[tauri::command]
#[specta::specta]
pub async fn sign_out_user(ready: State<'_, Ready>, user_id: String) -> Result<()> {
    Ok(sessions(&ready).await?.sign_out(&user_id).await?)
}

/// The signed-in user's own profile, balances and cards.
#[tauri::command]
#[specta::specta]
pub async fn user_view(ready: State<'_, Ready>, user_id: String) -> Result<UserView> {
    Ok(sessions(&ready).await?.view(&user_id).await?)
}

/// One page of the signed-in user's own transactions.
#[tauri::command]
#[specta::specta]
pub async fn user_view_transactions(
    ready: State<'_, Ready>,
    user_id: String,
    filter: TransactionFilter,
    cursor: Option<String>,
    limit: Option<u32>,
    loaded: Vec<TransactionTotals>,
) -> Result<TransactionPage> {
    Ok(sessions(&ready)
        .await?
        .view_transactions(&user_id, filter, cursor, limit, loaded)
        .await?)
}
