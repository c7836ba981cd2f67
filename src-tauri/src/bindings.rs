//! The UI's TypeScript bindings (`ui/src/lib/bindings.ts`), generated from the
//! commands and events here with tauri-specta. The test below fails when the
//! committed file is stale; `ITO_UPDATE_BINDINGS=1` rewrites it.

use specta_typescript::Typescript;
use tauri_specta::{Builder, collect_commands, collect_events};

use crate::commands::{
    cards, kyc, overview, payments, profiles, request_log, sessions, settings, users, webhooks,
};
use crate::events;

/// Where the UI imports the bindings from.
pub const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/lib/bindings.ts");

const HEADER: &str = "// Generated from src-tauri by tauri-specta: do not edit.\n\
// Regenerate with: ITO_UPDATE_BINDINGS=1 cargo test -p ito-merchant-desk bindings\n\
/* eslint-disable */";

pub fn builder() -> Builder<tauri::Wry> {
    Builder::<tauri::Wry>::new()
        .commands(collect_commands![
            settings::desk_state,
            profiles::add_profile,
            profiles::update_profile,
            profiles::remove_profile,
            profiles::switch_profile,
            profiles::test_connection,
            overview::overview,
            request_log::request_log,
            request_log::clear_request_log,
            settings::recheck_keychain,
            settings::set_settings,
            payments::payment_link_defaults,
            payments::set_payment_link_defaults,
            payments::create_payment_link,
            payments::retry_payment_link,
            payments::payments_page,
            payments::payment_detail,
            payments::verify_payment,
            payments::simulate_payment,
            payments::export_payments_csv,
            webhooks::webhook_events,
            webhooks::replay_webhook_event,
            webhooks::forward_webhook_event,
            webhooks::webhook_listener,
            webhooks::set_webhook_listener,
            webhooks::set_webhook_listener_running,
            users::user_directory_info,
            users::users_page,
            users::import_users_from_sandbox,
            users::add_user_by_id,
            users::remove_user_from_directory,
            users::create_user,
            users::preview_user_profile,
            users::update_user_profile,
            users::user_detail,
            users::user_balance_history,
            users::user_transactions,
            users::export_user_transactions_csv,
            users::cancel_user_export,
            users::refresh_user_balances,
            users::simulate_user_transaction,
            kyc::kyc_form,
            kyc::kyc_edit,
            kyc::kyc_resolve,
            kyc::kyc_discard,
            kyc::kyc_save_complete,
            kyc::kyc_submit,
            kyc::kyc_review,
            kyc::kyc_queue,
            sessions::sign_in_as_user,
            sessions::cancel_user_sign_in,
            sessions::user_sessions,
            sessions::sign_out_user,
            sessions::user_view,
            sessions::user_view_transactions,
            cards::issue_card,
            cards::reveal_card,
            cards::hide_card,
            cards::copy_card_field,
            cards::card_access,
            kyc::user_kyc_form,
            kyc::user_kyc_edit,
            kyc::user_kyc_resolve,
            kyc::user_kyc_discard,
            kyc::user_kyc_save_complete,
            kyc::user_kyc_submit,
        ])
        .events(collect_events![
            events::ProfileSwitched,
            events::ProfilesChanged,
            events::RequestsLogged,
            events::PaymentChanged,
            events::PaymentPaid,
            events::WebhookReceived,
            events::WebhookListenerChanged,
            events::UserBalanceRefresh,
            events::UsersChanged,
            events::UserDirectoryChanged,
            events::UserExportProgress,
            events::KycFormChanged,
            events::UserSessionChanged
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

#[cfg(test)]
mod tests {
    /// Every command the bindings offer is granted by name in the capability file
    /// (and so declared in `build.rs`, or the build would refuse the grant): a command
    /// added without its grant fails here rather than in the window.
    #[test]
    fn every_command_is_granted() {
        let bindings = std::fs::read_to_string(super::PATH).unwrap();
        let capability = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/capabilities/main.json"
        ))
        .unwrap();
        let commands: Vec<&str> = bindings
            .split("TAURI_INVOKE(\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert!(commands.len() > 40, "{commands:?}");
        let missing: Vec<&&str> = commands
            .iter()
            .filter(|c| !capability.contains(&format!("\"allow-{}\"", c.replace('_', "-"))))
            .collect();
        assert!(
            missing.is_empty(),
            "not granted in capabilities/main.json: {missing:?}"
        );
    }

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
