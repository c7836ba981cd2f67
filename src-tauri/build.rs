//! Tauri's build step, with the app's commands declared so that the capability file
//! must grant each one by name (`allow-<command>`): nothing is callable by default.

const COMMANDS: &[&str] = &[
    "desk_state",
    "add_profile",
    "update_profile",
    "remove_profile",
    "switch_profile",
    "test_connection",
    "overview",
    "request_log",
    "clear_request_log",
    "recheck_keychain",
    "set_settings",
    "payment_link_defaults",
    "set_payment_link_defaults",
    "create_payment_link",
    "retry_payment_link",
    "payments_page",
    "payment_detail",
    "verify_payment",
    "simulate_payment",
    "export_payments_csv",
    "webhook_events",
    "replay_webhook_event",
    "forward_webhook_event",
    "webhook_listener",
    "set_webhook_listener",
    "set_webhook_listener_running",
    "user_directory_info",
    "users_page",
    "import_users_from_sandbox",
    "add_user_by_id",
    "remove_user_from_directory",
    "create_user",
    "preview_user_profile",
    "update_user_profile",
    "user_detail",
    "user_balance_history",
    "user_transactions",
    "export_user_transactions_csv",
    "cancel_user_export",
    "refresh_user_balances",
    "simulate_user_transaction",
    "kyc_form",
    "kyc_edit",
    "kyc_resolve",
    "kyc_discard",
    "kyc_save_complete",
    "kyc_submit",
    "kyc_review",
    "kyc_queue",
    "user_kyc_form",
    "user_kyc_edit",
    "user_kyc_resolve",
    "user_kyc_discard",
    "user_kyc_save_complete",
    "user_kyc_submit",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        eprintln!("tauri build step failed: {e:#}");
        std::process::exit(1);
    }
}
