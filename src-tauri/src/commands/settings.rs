//! The desk's state at start, the keychain and the app's settings.

use ito_desk::desk::{DeskState, Settings};
use ito_desk::error::CommandError;
use ito_desk::vault::{KeychainStatus, Vault};
use tauri::State;

use super::{Ready, Result, desk};

/// Profiles, the active profile, the keychain's state and the settings.
#[tauri::command]
#[specta::specta]
pub async fn desk_state(ready: State<'_, Ready>) -> Result<DeskState> {
    Ok(desk(&ready).await?.state().await?)
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
