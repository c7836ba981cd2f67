//! The UI's TypeScript bindings (`ui/src/lib/bindings.ts`), generated from the
//! commands and events here with tauri-specta. The test below fails when the
//! committed file is stale; `ITO_UPDATE_BINDINGS=1` rewrites it.

use serde::Serialize;
use specta::Type;
use specta_typescript::Typescript;
use tauri_specta::{Builder, Event, collect_commands, collect_events};

use crate::commands;
use crate::desk::DeskEvent;
use crate::payment_commands;
use crate::request_log::RequestLogEntry;

/// Where the UI imports the bindings from.
pub const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/lib/bindings.ts");

const HEADER: &str = "// Generated from src-tauri by tauri-specta: do not edit.\n\
// Regenerate with: ITO_UPDATE_BINDINGS=1 cargo test -p ito-merchant-desk bindings\n\
/* eslint-disable */";

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

pub fn builder() -> Builder<tauri::Wry> {
    Builder::<tauri::Wry>::new()
        .commands(collect_commands![
            commands::desk_state,
            commands::add_profile,
            commands::update_profile,
            commands::remove_profile,
            commands::switch_profile,
            commands::test_connection,
            commands::overview,
            commands::request_log,
            commands::clear_request_log,
            commands::recheck_keychain,
            commands::set_settings,
            payment_commands::payment_link_defaults,
            payment_commands::set_payment_link_defaults,
            payment_commands::create_payment_link,
            payment_commands::retry_payment_link,
            payment_commands::payments_page,
            payment_commands::payment_detail,
            payment_commands::verify_payment,
            payment_commands::simulate_payment,
            payment_commands::export_payments_csv,
            payment_commands::webhook_events,
            payment_commands::replay_webhook_event,
            payment_commands::forward_webhook_event,
            payment_commands::webhook_listener,
            payment_commands::set_webhook_listener,
            payment_commands::set_webhook_listener_running,
        ])
        .events(collect_events![
            ProfileSwitched,
            ProfilesChanged,
            RequestsLogged,
            payment_commands::PaymentChanged,
            payment_commands::PaymentPaid,
            payment_commands::WebhookReceived,
            payment_commands::WebhookListenerChanged
        ])
        // Row ids and millisecond counts stay far below 2^53.
        .dangerously_cast_bigints_to_number()
}

/// Writes the bindings to `path`.
pub fn export(path: &std::path::Path) -> Result<(), String> {
    builder()
        .export(Typescript::default().header(HEADER), path)
        .map_err(|e| e.to_string())
}

/// Sends a service event to the window as its typed Tauri event.
pub fn emit(handle: &tauri::AppHandle, event: DeskEvent) {
    let sent = match event {
        DeskEvent::ProfileSwitched { profile_id } => ProfileSwitched { profile_id }.emit(handle),
        DeskEvent::ProfilesChanged => ProfilesChanged.emit(handle),
        DeskEvent::RequestsLogged(entries) => RequestsLogged { entries }.emit(handle),
    };
    if let Err(e) = sent {
        tracing::warn!(error = %e, "event not delivered to the window");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bindings_are_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("bindings.ts");
        super::export(&fresh).unwrap();
        let fresh = std::fs::read_to_string(fresh).unwrap();
        if std::env::var_os("ITO_UPDATE_BINDINGS").is_some() {
            std::fs::write(super::PATH, &fresh).unwrap();
        }
        let committed = std::fs::read_to_string(super::PATH).unwrap_or_default();
        assert!(
            committed == fresh,
            "ui/src/lib/bindings.ts is stale: run ITO_UPDATE_BINDINGS=1 cargo test -p ito-merchant-desk bindings"
        );
    }
}
