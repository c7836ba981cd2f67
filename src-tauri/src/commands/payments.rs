//! The Payments screen: payment links, the ledger, a payment's detail, CSV export.

use ito_desk::error::{CommandError, Error};
use ito_desk::exports::ExportTarget;
use ito_desk::payments::ledger::{LedgerFilter, LedgerPage, LedgerPayment};
use ito_desk::payments::links::{
    PaymentDefaults, PaymentLinkCreated, PaymentLinkDefaults, PaymentLinkInput,
};
use ito_desk::payments::{ExportedCsv, PaymentDetail, Simulation};
use tauri::{AppHandle, Manager, State};

use super::{Ready, Result, payments};

/// The payment-link form's starting values: a fresh order reference and the
/// profile's default URLs (the webhook URL defaults to the app's listener).
#[tauri::command]
#[specta::specta]
pub async fn payment_link_defaults(ready: State<'_, Ready>) -> Result<PaymentLinkDefaults> {
    Ok(payments(&ready).await?.link_defaults().await?)
}

/// Saves the active profile's default success, cancel and webhook URLs.
#[tauri::command]
#[specta::specta]
pub async fn set_payment_link_defaults(
    ready: State<'_, Ready>,
    defaults: PaymentDefaults,
) -> Result<PaymentDefaults> {
    Ok(payments(&ready).await?.set_link_defaults(defaults).await?)
}

/// Creates a payment link. Sending the same form again (same order reference) is a
/// retry: it reuses the stored idempotency key and never creates a second payment.
#[tauri::command]
#[specta::specta]
pub async fn create_payment_link(
    ready: State<'_, Ready>,
    input: PaymentLinkInput,
) -> Result<PaymentLinkCreated> {
    Ok(payments(&ready).await?.create_link(input).await?)
}

/// Sends an unconfirmed payment again with its stored key and body.
#[tauri::command]
#[specta::specta]
pub async fn retry_payment_link(ready: State<'_, Ready>, id: i64) -> Result<PaymentLinkCreated> {
    Ok(payments(&ready).await?.retry_link(id).await?)
}

/// One page of the active profile's ledger, newest first.
#[tauri::command]
#[specta::specta]
pub async fn payments_page(
    ready: State<'_, Ready>,
    filter: LedgerFilter,
    cursor: Option<String>,
    limit: Option<u32>,
) -> Result<LedgerPage> {
    Ok(payments(&ready).await?.list(filter, cursor, limit).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn payment_detail(ready: State<'_, Ready>, id: i64) -> Result<PaymentDetail> {
    Ok(payments(&ready).await?.detail(id).await?)
}

/// "Verify now": check-validity at the gateway, recorded on the timeline.
#[tauri::command]
#[specta::specta]
pub async fn verify_payment(ready: State<'_, Ready>, id: i64) -> Result<LedgerPayment> {
    Ok(payments(&ready).await?.verify(id).await?)
}

/// Test mode only: pay, cancel, expire or redeliver through the sandbox.
#[tauri::command]
#[specta::specta]
pub async fn simulate_payment(
    ready: State<'_, Ready>,
    id: i64,
    action: Simulation,
) -> Result<LedgerPayment> {
    Ok(payments(&ready).await?.simulate(id, action).await?)
}

/// Writes the rows matching `filter` as CSV: to `path` when the user chose one in
/// the save dialog, else into the Downloads folder under a name not yet taken.
#[tauri::command]
#[specta::specta]
pub async fn export_payments_csv(
    app: AppHandle,
    ready: State<'_, Ready>,
    filter: LedgerFilter,
    path: Option<String>,
) -> Result<ExportedCsv> {
    let target = match path {
        Some(path) => ExportTarget::File(path.into()),
        None => ExportTarget::Folder {
            dir: downloads(&app)?,
            name: format!("payments-{}.csv", chrono::Local::now().format("%Y%m%d")),
        },
    };
    Ok(payments(&ready).await?.export_csv(filter, target).await?)
}

/// The user's Downloads folder; `~/Downloads` where the desktop names none.
pub(super) fn downloads(app: &AppHandle) -> Result<std::path::PathBuf> {
    let paths = app.path();
    paths
        .download_dir()
        .or_else(|_| paths.home_dir().map(|home| home.join("Downloads")))
        .map_err(|e| CommandError::from(Error::File(format!("no Downloads folder: {e}"))))
}
