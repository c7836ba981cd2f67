//! The Overview screen.

use ito_desk::overview::Overview;
use tauri::State;

use super::{Ready, Result, desk};

/// The active profile's dashboard figures.
#[tauri::command]
#[specta::specta]
pub async fn overview(ready: State<'_, Ready>) -> Result<Overview> {
    Ok(desk(&ready).await?.overview().await?)
}
