//! The services' events turned into typed Tauri events for the window, and a paid
//! payment into an OS notification.

use std::sync::Arc;

use ito_desk::desk::{Desk, DeskEvent};
use ito_desk::kyc::{DraftStatus, KycEvent, KycEventSink};
use ito_desk::payments::ledger::LedgerPayment;
use ito_desk::payments::{self, PaymentEvent, PaymentEventSink};
use ito_desk::request_log::RequestLogEntry;
use ito_desk::sessions::SessionEventSink;
use ito_desk::users::balances::BalanceRefreshProgress;
use ito_desk::users::directory::{DirectoryUser, KycState};
use ito_desk::users::transactions::TransactionExportProgress;
use ito_desk::users::{UserEvent, UserEventSink};
use ito_desk::webhooks::ListenerStatus;
use ito_desk::webhooks::events::WebhookLogEntry;
use serde::Serialize;
use specta::Type;
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;
use tauri_specta::Event;

/// The active profile changed: every screen reloads its data.
#[derive(Clone, Debug, Serialize, Type, Event)]
#[serde(rename_all = "camelCase")]
pub struct ProfileSwitched {
    pub profile_id: Option<String>,
}

/// A profile was added, edited or removed: reload the profile list.
#[derive(Clone, Debug, Serialize, Type, Event)]
pub struct ProfilesChanged;

/// New request-log rows were written (any profile's).
#[derive(Clone, Debug, Serialize, Type, Event)]
pub struct RequestsLogged {
    pub entries: Vec<RequestLogEntry>,
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

/// How a background balance refresh is going, and when it ended.
#[derive(Clone, Debug, Serialize, Type, Event)]
pub struct UserBalanceRefresh {
    pub progress: BalanceRefreshProgress,
}

/// Rows of the users directory changed (balances fetched, profile edited, user found
/// gone): update them in place.
#[derive(Clone, Debug, Serialize, Type, Event)]
#[serde(rename_all = "camelCase")]
pub struct UsersChanged {
    pub profile_id: String,
    pub users: Vec<DirectoryUser>,
}

/// Users were added to or removed from the directory: reload the list.
#[derive(Clone, Debug, Serialize, Type, Event)]
#[serde(rename_all = "camelCase")]
pub struct UserDirectoryChanged {
    pub profile_id: String,
}

/// How a transactions export is going (pages, rows, rate), and when it ended.
#[derive(Clone, Debug, Serialize, Type, Event)]
pub struct UserExportProgress {
    pub progress: TransactionExportProgress,
}

/// A KYC form's save state changed (sent, offline, conflict, values refused): the
/// open form updates its status line, and reloads on a conflict.
#[derive(Clone, Debug, Serialize, Type, Event)]
#[serde(rename_all = "camelCase")]
pub struct KycFormChanged {
    pub profile_id: String,
    pub user_id: String,
    pub status: KycState,
    pub draft: DraftStatus,
}

fn sent(result: tauri::Result<()>) {
    if let Err(e) = result {
        tracing::warn!(error = %e, "event not delivered to the window");
    }
}

/// Sends a desk event to the window as its typed Tauri event.
pub fn desk(handle: &AppHandle, event: DeskEvent) {
    sent(match event {
        DeskEvent::ProfileSwitched { profile_id } => ProfileSwitched { profile_id }.emit(handle),
        DeskEvent::ProfilesChanged => ProfilesChanged.emit(handle),
        DeskEvent::RequestsLogged(entries) => RequestsLogged { entries }.emit(handle),
    });
}

/// The payments service's sink: its events to the window, and a notification for
/// each newly paid payment.
pub fn payments(handle: AppHandle, desk: Arc<Desk>) -> PaymentEventSink {
    Arc::new(move |event| {
        sent(match event {
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
        });
    })
}

/// The users service's sink: its events to the window.
pub fn users(handle: AppHandle) -> UserEventSink {
    Arc::new(move |event| {
        sent(match event {
            UserEvent::BalanceRefresh(progress) => UserBalanceRefresh { progress }.emit(&handle),
            UserEvent::UsersChanged { profile_id, users } => {
                UsersChanged { profile_id, users }.emit(&handle)
            }
            UserEvent::DirectoryChanged { profile_id } => {
                UserDirectoryChanged { profile_id }.emit(&handle)
            }
            UserEvent::ExportProgress(progress) => UserExportProgress { progress }.emit(&handle),
        });
    })
}

/// An OS notification for a paid payment, only when the window is not in front
/// (the Payments screen shows it live otherwise).
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
        let notice = payments::paid_notice(&desk, &payment).await;
        let shown = handle
            .notification()
            .builder()
            .title(notice.title)
            .body(notice.body)
            .show();
        if let Err(e) = shown {
            tracing::warn!(error = %e, "notification not shown");
        }
    });
}

/// The KYC service's sink: form states to the window, and a changed KYC status as a
/// changed directory row.
pub fn kyc(handle: AppHandle) -> KycEventSink {
    Arc::new(move |event| {
        sent(match event {
            KycEvent::FormChanged {
                profile_id,
                user_id,
                status,
                draft,
            } => KycFormChanged {
                profile_id,
                user_id,
                status,
                draft,
            }
            .emit(&handle),
            KycEvent::UserChanged { profile_id, user } => UsersChanged {
                profile_id,
                users: vec![user],
            }
            .emit(&handle),
        });
    })
}

/// The sessions service's sink. The window has no session events yet, so they are
/// only traced.
pub fn sessions(_handle: AppHandle) -> SessionEventSink {
    Arc::new(|event| tracing::debug!(?event, "session event"))
}
