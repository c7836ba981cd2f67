//! The IPC surface: thin commands that call a [`Desk`] method and map its error.

use std::sync::Arc;

use tauri::State;

use crate::desk::{ConnectionTest, Desk, DeskState, Settings};
use crate::error::CommandError;
use crate::overview::Overview;
use crate::profiles::{Profile, ProfileInput};
use crate::request_log::{RequestLogEntry, RequestLogFilter};
use crate::vault::{KeychainStatus, Vault};

type Result<T> = std::result::Result<T, CommandError>;

/// The desk, once it has started; commands sent earlier wait for it.
pub type Ready = tokio::sync::watch::Receiver<Option<std::result::Result<Arc<Desk>, CommandError>>>;

async fn desk(ready: &State<'_, Ready>) -> Result<Arc<Desk>> {
    let mut rx = ready.inner().clone();
    let started = rx
        .wait_for(Option::is_some)
        .await
        .map_err(|_| CommandError::internal("the app stopped while starting"))?;
    match started.as_ref() {
        Some(Ok(desk)) => Ok(Arc::clone(desk)),
        Some(Err(e)) => Err(e.clone()),
        None => Err(CommandError::internal("the app did not start")),
    }
}

/// Profiles, the active profile, the keychain's state and the settings.
#[tauri::command]
#[specta::specta]
pub async fn desk_state(ready: State<'_, Ready>) -> Result<DeskState> {
    Ok(desk(&ready).await?.state().await?)
}

#[tauri::command]
#[specta::specta]
pub async fn add_profile(ready: State<'_, Ready>, input: ProfileInput) -> Result<Profile> {
    Ok(desk(&ready).await?.add_profile(input).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn update_profile(
    ready: State<'_, Ready>,
    id: String,
    input: ProfileInput,
) -> Result<Profile> {
    Ok(desk(&ready).await?.update_profile(&id, input).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn remove_profile(ready: State<'_, Ready>, id: String) -> Result<()> {
    Ok(desk(&ready).await?.remove_profile(&id).await?)
}

/// Makes a profile the active one; every screen reloads on the `profileSwitched` event.
#[tauri::command]
#[specta::specta]
pub async fn switch_profile(ready: State<'_, Ready>, id: String) -> Result<Profile> {
    Ok(desk(&ready).await?.switch_profile(&id).await?)
}

/// Fetches an OAuth token with the profile's credentials; the error says exactly what failed.
#[tauri::command]
#[specta::specta]
pub async fn test_connection(ready: State<'_, Ready>, id: String) -> Result<ConnectionTest> {
    Ok(desk(&ready).await?.test_connection(&id).await?)
}

/// The active profile's dashboard figures.
#[tauri::command]
#[specta::specta]
pub async fn overview(ready: State<'_, Ready>) -> Result<Overview> {
    Ok(desk(&ready).await?.overview().await?)
}

/// The active profile's request log, newest first.
#[tauri::command]
#[specta::specta]
pub async fn request_log(
    ready: State<'_, Ready>,
    filter: RequestLogFilter,
) -> Result<Vec<RequestLogEntry>> {
    Ok(desk(&ready).await?.request_log(filter).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn clear_request_log(ready: State<'_, Ready>) -> Result<()> {
    Ok(desk(&ready).await?.clear_request_log().await?)
}

/// Probes the OS keychain again, after the user unlocked or installed one.
#[tauri::command]
#[specta::specta]
pub async fn recheck_keychain(ready: State<'_, Ready>) -> Result<KeychainStatus> {
    let desk = desk(&ready).await?;
    let vault = tokio::task::spawn_blocking(Vault::platform)
        .await
        .map_err(|e| CommandError::internal(&e.to_string()))?;
    Ok(desk.recheck_keychain(vault).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn set_settings(ready: State<'_, Ready>, settings: Settings) -> Result<Settings> {
    Ok(desk(&ready).await?.set_settings(settings).await?)
}
