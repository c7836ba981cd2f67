//! The Webhooks screen: the app's listener and its event log.

use ito_desk::payments::ledger::LedgerPayment;
use ito_desk::webhooks::events::{WebhookEventFilter, WebhookLogEntry};
use ito_desk::webhooks::{ListenerSettings, ListenerStatus};
use tauri::State;

use super::{Ready, Result, payments};

/// The active profile's webhook event log, newest first.
#[tauri::command]
#[specta::specta]
pub async fn webhook_events(
    ready: State<'_, Ready>,
    filter: WebhookEventFilter,
) -> Result<Vec<WebhookLogEntry>> {
    Ok(payments(&ready).await?.webhook_events(filter).await?)
}

/// Verifies a stored delivery again and applies it to the ledger.
#[tauri::command]
#[specta::specta]
pub async fn replay_webhook_event(ready: State<'_, Ready>, id: i64) -> Result<LedgerPayment> {
    Ok(payments(&ready).await?.replay_event(id).await?)
}

/// Forwards a stored delivery to `url` (or the configured forward URL).
#[tauri::command]
#[specta::specta]
pub async fn forward_webhook_event(
    ready: State<'_, Ready>,
    id: i64,
    url: Option<String>,
) -> Result<WebhookLogEntry> {
    Ok(payments(&ready).await?.forward_event(id, url).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn webhook_listener(ready: State<'_, Ready>) -> Result<ListenerStatus> {
    Ok(payments(&ready).await?.listener_status().await)
}

/// Pauses (`false`) or resumes (`true`) the listener; the gateway retries what it
/// could not deliver meanwhile.
#[tauri::command]
#[specta::specta]
pub async fn set_webhook_listener_running(
    ready: State<'_, Ready>,
    running: bool,
) -> Result<ListenerStatus> {
    let payments = payments(&ready).await?;
    Ok(if running {
        payments.start_listener().await
    } else {
        payments.stop_listener().await
    })
}

/// Saves the listener's bind address, port and forward URL, and restarts it.
#[tauri::command]
#[specta::specta]
pub async fn set_webhook_listener(
    ready: State<'_, Ready>,
    settings: ListenerSettings,
) -> Result<ListenerStatus> {
    Ok(payments(&ready).await?.set_listener(settings).await?)
}
