//! The Payments and Webhooks screens' IPC surface: thin commands over [`Payments`],
//! and the service's events turned into typed Tauri events and OS notifications.

use std::sync::Arc;

use serde::Serialize;
use specta::Type;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_notification::NotificationExt;
use tauri_specta::Event;

use crate::desk::{Desk, Language};
use crate::error::{CommandError, Error};
use crate::exports::ExportTarget;
use crate::ledger::{LedgerFilter, LedgerPage, LedgerPayment, api_currency};
use crate::payment_links::{
    PaymentDefaults, PaymentLinkCreated, PaymentLinkDefaults, PaymentLinkInput,
};
use crate::payments::{
    ExportedCsv, ListenerSettings, ListenerStatus, PaymentDetail, PaymentEvent, PaymentEventSink,
    Payments, Simulation,
};
use crate::webhook_events::{WebhookEventFilter, WebhookLogEntry};

type Result<T> = std::result::Result<T, CommandError>;

/// The payments service once started; commands sent earlier wait for it.
pub type PaymentsReady = tokio::sync::watch::Sender<Option<Result<Arc<Payments>>>>;

/// The managed value commands wait on; [`start`] fills it.
pub fn ready() -> PaymentsReady {
    tokio::sync::watch::Sender::new(None)
}

/// Starts the service (and its webhook listener) once the desk runs.
pub async fn start(handle: &AppHandle, desk: &std::result::Result<Arc<Desk>, Error>) {
    let started = match desk {
        Ok(desk) => Payments::start(Arc::clone(desk), sink(handle.clone(), Arc::clone(desk)))
            .await
            .map_err(CommandError::from),
        Err(e) => Err(CommandError::internal(&format!(
            "the app did not start: {e}"
        ))),
    };
    handle.state::<PaymentsReady>().send_replace(Some(started));
}

async fn payments(ready: &State<'_, PaymentsReady>) -> Result<Arc<Payments>> {
    let mut rx = ready.subscribe();
    let started = rx
        .wait_for(Option::is_some)
        .await
        .map_err(|_| CommandError::internal("the app stopped while starting"))?;
    match started.as_ref() {
        Some(Ok(p)) => Ok(Arc::clone(p)),
        Some(Err(e)) => Err(e.clone()),
        None => Err(CommandError::internal("the app did not start")),
    }
}

/// A ledger row changed: update it in the list and detail without a reload.
#[derive(Clone, Debug, Serialize, Type, Event)]
#[serde(rename_all = "camelCase")]
pub struct PaymentChanged {
    pub profile_id: String,
    pub payment: LedgerPayment,
}

/// A verified webhook turned a payment paid (also shown as an OS notification when
/// the window is not focused).
#[derive(Clone, Debug, Serialize, Type, Event)]
#[serde(rename_all = "camelCase")]
pub struct PaymentPaid {
    pub profile_id: String,
    pub payment: LedgerPayment,
}

/// The listener received a delivery, or an event's forward result changed.
#[derive(Clone, Debug, Serialize, Type, Event)]
pub struct WebhookReceived {
    pub entry: WebhookLogEntry,
}

/// The listener started, stopped or failed to start.
#[derive(Clone, Debug, Serialize, Type, Event)]
pub struct WebhookListenerChanged {
    pub status: ListenerStatus,
}

fn sink(handle: AppHandle, desk: Arc<Desk>) -> PaymentEventSink {
    Arc::new(move |event| {
        let sent = match event {
            PaymentEvent::PaymentChanged {
                profile_id,
                payment,
            } => PaymentChanged {
                profile_id,
                payment,
            }
            .emit(&handle),
            PaymentEvent::PaymentPaid {
                profile_id,
                payment,
            } => {
                notify_paid(&handle, &desk, &payment);
                PaymentPaid {
                    profile_id,
                    payment,
                }
                .emit(&handle)
            }
            PaymentEvent::WebhookReceived(entry) => WebhookReceived { entry }.emit(&handle),
            PaymentEvent::ListenerChanged(status) => {
                WebhookListenerChanged { status }.emit(&handle)
            }
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, "event not delivered to the window");
        }
    })
}

/// An OS notification for a paid payment, only when the window is not in front
/// (the Payments screen shows it live otherwise), in the app's language.
fn notify_paid(handle: &AppHandle, desk: &Arc<Desk>, payment: &LedgerPayment) {
    let focused = handle
        .get_webview_window("main")
        .and_then(|w| w.is_focused().ok())
        .unwrap_or(false);
    if focused {
        return;
    }
    let (handle, desk, payment) = (handle.clone(), Arc::clone(desk), payment.clone());
    tauri::async_runtime::spawn(async move {
        let japanese = matches!(
            desk.settings().await.map(|s| s.language),
            Ok(Some(Language::Ja))
        );
        let amount = payment
            .amount
            .parse::<rust_decimal::Decimal>()
            .ok()
            .and_then(|a| ito_api::Money::new(a, api_currency(payment.currency)).ok())
            .map_or_else(|| payment.amount.clone(), |m| m.format());
        let title = if japanese {
            "入金がありました"
        } else {
            "Payment received"
        };
        let shown = handle
            .notification()
            .builder()
            .title(title)
            .body(format!("{amount} · {}", payment.custom))
            .show();
        if let Err(e) = shown {
            tracing::warn!(error = %e, "notification not shown");
        }
    });
}

/// The payment-link form's starting values: a fresh order reference and the
/// profile's default URLs (the webhook URL defaults to the app's listener).
#[tauri::command]
#[specta::specta]
pub async fn payment_link_defaults(ready: State<'_, PaymentsReady>) -> Result<PaymentLinkDefaults> {
    Ok(payments(&ready).await?.link_defaults().await?)
}

/// Saves the active profile's default success, cancel and webhook URLs.
#[tauri::command]
#[specta::specta]
pub async fn set_payment_link_defaults(
    ready: State<'_, PaymentsReady>,
    defaults: PaymentDefaults,
) -> Result<PaymentDefaults> {
    Ok(payments(&ready).await?.set_link_defaults(defaults).await?)
}

/// Creates a payment link. Sending the same form again (same order reference) is a
/// retry: it reuses the stored idempotency key and never creates a second payment.
#[tauri::command]
#[specta::specta]
pub async fn create_payment_link(
    ready: State<'_, PaymentsReady>,
    input: PaymentLinkInput,
) -> Result<PaymentLinkCreated> {
    Ok(payments(&ready).await?.create_link(input).await?)
}

/// Sends an unconfirmed payment again with its stored key and body.
#[tauri::command]
#[specta::specta]
pub async fn retry_payment_link(
    ready: State<'_, PaymentsReady>,
    id: i64,
) -> Result<PaymentLinkCreated> {
    Ok(payments(&ready).await?.retry_link(id).await?)
}

/// One page of the active profile's ledger, newest first.
#[tauri::command]
#[specta::specta]
pub async fn payments_page(
    ready: State<'_, PaymentsReady>,
    filter: LedgerFilter,
    cursor: Option<String>,
    limit: Option<u32>,
) -> Result<LedgerPage> {
    Ok(payments(&ready).await?.list(filter, cursor, limit).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn payment_detail(ready: State<'_, PaymentsReady>, id: i64) -> Result<PaymentDetail> {
    Ok(payments(&ready).await?.detail(id).await?)
}

/// "Verify now": check-validity at the gateway, recorded on the timeline.
#[tauri::command]
#[specta::specta]
pub async fn verify_payment(ready: State<'_, PaymentsReady>, id: i64) -> Result<LedgerPayment> {
    Ok(payments(&ready).await?.verify(id).await?)
}

/// Test mode only: pay, cancel, expire or redeliver through the sandbox.
#[tauri::command]
#[specta::specta]
pub async fn simulate_payment(
    ready: State<'_, PaymentsReady>,
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
    ready: State<'_, PaymentsReady>,
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
fn downloads(app: &AppHandle) -> std::result::Result<std::path::PathBuf, Error> {
    let paths = app.path();
    paths
        .download_dir()
        .or_else(|_| paths.home_dir().map(|home| home.join("Downloads")))
        .map_err(|e| Error::File(format!("no Downloads folder: {e}")))
}

/// The active profile's webhook event log, newest first.
#[tauri::command]
#[specta::specta]
pub async fn webhook_events(
    ready: State<'_, PaymentsReady>,
    filter: WebhookEventFilter,
) -> Result<Vec<WebhookLogEntry>> {
    Ok(payments(&ready).await?.webhook_events(filter).await?)
}

/// Verifies a stored delivery again and applies it to the ledger.
#[tauri::command]
#[specta::specta]
pub async fn replay_webhook_event(
    ready: State<'_, PaymentsReady>,
    id: i64,
) -> Result<LedgerPayment> {
    Ok(payments(&ready).await?.replay_event(id).await?)
}

/// Forwards a stored delivery to `url` (or the configured forward URL).
#[tauri::command]
#[specta::specta]
pub async fn forward_webhook_event(
    ready: State<'_, PaymentsReady>,
    id: i64,
    url: Option<String>,
) -> Result<WebhookLogEntry> {
    Ok(payments(&ready).await?.forward_event(id, url).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn webhook_listener(ready: State<'_, PaymentsReady>) -> Result<ListenerStatus> {
    Ok(payments(&ready).await?.listener_status().await)
}

/// Pauses (`false`) or resumes (`true`) the listener; the gateway retries what it
/// could not deliver meanwhile.
#[tauri::command]
#[specta::specta]
pub async fn set_webhook_listener_running(
    ready: State<'_, PaymentsReady>,
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
    ready: State<'_, PaymentsReady>,
    settings: ListenerSettings,
) -> Result<ListenerStatus> {
    Ok(payments(&ready).await?.set_listener(settings).await?)
}
