//! ITO Merchant Desk's window: the Tauri builder and its plugins, the thin
//! [`commands`] over the services of `ito-desk`, their [`events`], the generated
//! [`bindings`] and the [`navigation`] guard. Everything the app does lives in
//! `ito-desk`; this crate only wires it to the window.

pub mod bindings;
pub mod commands;
pub mod events;
pub mod navigation;

use std::path::PathBuf;
use std::sync::Arc;

use ito_desk::cards::Cards;
use ito_desk::clipboard::SecretClipboard;
use ito_desk::desk::{DATA_DIR_ENV, Desk, Options, WEBHOOK_PORT_ENV};
use ito_desk::error::{CommandError, Error};
use ito_desk::kyc::KycForms;
use ito_desk::payments::Payments;
use ito_desk::sessions::Sessions;
use ito_desk::users::Users;
use ito_desk::vault::Vault;
use sha2::{Digest, Sha256};
use tauri::Manager;

use crate::commands::{Ready, Services};

/// A program to open the sign-in page with instead of the system browser (it gets
/// the URL as its argument): automation and tests post the form themselves.
pub const BROWSER_ENV: &str = "ITO_DESK_BROWSER";

/// Runs the app until its window closes.
pub fn run() -> Result<(), Box<dyn std::error::Error>> {
    let webhook_port = webhook_port()?;
    let data_dir_override = std::env::var_os(DATA_DIR_ENV).map(PathBuf::from);
    let builder = bindings::builder();
    let (ready_tx, ready_rx) = tokio::sync::watch::channel(None);
    let ready_tx = Arc::new(ready_tx);
    tauri::Builder::default()
        // First, so that a second launch only brings the running window forward.
        .plugin(single_instance(data_dir_override.as_deref()))
        .plugin(navigation::guard())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .invoke_handler(builder.invoke_handler())
        .manage::<Ready>(ready_rx)
        .setup(move |app| {
            builder.mount_events(app);
            let handle = app.handle().clone();
            let data_dir = match data_dir_override {
                Some(dir) => dir,
                None => app.path().app_data_dir()?,
            };
            // Start the services while the webview loads; commands wait for them.
            tauri::async_runtime::spawn(async move {
                let started = start(&handle, data_dir, webhook_port).await;
                if let Ok(services) = &started {
                    handle.manage(services.clone());
                }
                let _ = ready_tx.send(Some(started));
            });
            Ok(())
        })
        .build(tauri::generate_context!())?
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event
                && let Some(services) = app.try_state::<Services>()
            {
                tauri::async_runtime::block_on(async {
                    if let Ok(payments) = &services.payments {
                        payments.shutdown().await;
                    }
                    services.kyc.shutdown().await;
                    services.cards.shutdown();
                    services.desk.shutdown().await;
                });
            }
        });
    Ok(())
}

/// Brings the main window to the front. Best effort: the window manager may refuse
/// focus, and that is never an error.
pub(crate) fn bring_to_front(app: &tauri::AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

fn webhook_port() -> Result<Option<u16>, String> {
    match std::env::var(WEBHOOK_PORT_ENV) {
        Ok(port) => port
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{WEBHOOK_PORT_ENV}={port:?} is not a port number (0-65535)")),
        Err(_) => Ok(None),
    }
}

/// One running copy per data directory: a second launch focuses the first window
/// and exits. Copies with their own data directory run side by side.
fn single_instance(data_dir: Option<&std::path::Path>) -> tauri::plugin::TauriPlugin<tauri::Wry> {
    let builder = tauri_plugin_single_instance::Builder::new()
        .callback(|app, _args, _cwd| bring_to_front(app));
    match data_dir {
        // A digest, not std's hasher: the name must stay the same across Rust versions,
        // or two builds would not find each other's copy.
        Some(dir) => builder.dbus_id(format!(
            "jp.ito-japan.merchant-desk.data{}",
            &hex::encode(Sha256::digest(dir.as_os_str().as_encoded_bytes()))[..16]
        )),
        None => builder,
    }
    .build()
}

async fn start(
    handle: &tauri::AppHandle,
    data_dir: PathBuf,
    webhook_port: Option<u16>,
) -> Result<Services, CommandError> {
    let vault = tokio::task::spawn_blocking(Vault::platform)
        .await
        .map_err(Error::from)?;
    let events_handle = handle.clone();
    let desk = Desk::open(
        Options {
            data_dir,
            embedded_sandbox: true,
        },
        vault,
        Arc::new(move |e| events::desk(&events_handle, e)),
    )
    .await?;
    let payments = Payments::start(
        Arc::clone(&desk),
        events::payments(handle.clone(), Arc::clone(&desk)),
        webhook_port,
    )
    .await
    .map_err(CommandError::from);
    let users = Users::new(Arc::clone(&desk), events::users(handle.clone()));
    let sessions = Sessions::new(Arc::clone(&desk), events::sessions(handle.clone()));
    let kyc = KycForms::start(
        Arc::clone(&desk),
        Arc::clone(&sessions),
        events::kyc(handle.clone()),
    );
    let cards = Cards::new(
        Arc::clone(&desk),
        Arc::clone(&sessions),
        SecretClipboard::new(),
    );
    Ok(Services {
        desk,
        payments,
        users,
        kyc,
        sessions,
        cards,
    })
}
