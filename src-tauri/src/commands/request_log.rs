//! The Request log screen.

use ito_desk::request_log::{RequestLogEntry, RequestLogFilter};
use tauri::State;

use super::{Ready, Result, desk};

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
