//! Settings → Profiles: merchant accounts, each in one mode.

use ito_desk::desk::ConnectionTest;
use ito_desk::profiles::{Profile, ProfileInput};
use tauri::State;

use super::{Ready, Result, desk, services};

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
    let services = services(&ready).await?;
    let switched = services.desk.switch_profile(&id).await?;
    // A card revealed under the other profile must not stay copyable.
    services.cards.hide_all();
    Ok(switched)
}

/// Fetches an OAuth token with the profile's credentials; the error says exactly what failed.
#[tauri::command]
#[specta::specta]
pub async fn test_connection(ready: State<'_, Ready>, id: String) -> Result<ConnectionTest> {
    Ok(desk(&ready).await?.test_connection(&id).await?)
}
