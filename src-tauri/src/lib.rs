//! ITO Merchant Desk, the desktop app's backend.
//!
//! Services ([`desk::Desk`] and the modules it holds) know nothing of Tauri; the
//! [`commands`] are thin wrappers, and [`bindings`] generates the UI's TypeScript
//! for them.

pub mod bindings;
pub mod commands;
pub mod desk;
pub mod embedded;
pub mod error;
pub mod exports;
pub mod ledger;
pub mod navigation;
pub mod overview;
pub mod payment_commands;
pub mod payment_links;
pub mod payments;
pub mod profiles;
pub mod request_log;
pub mod store;
pub mod vault;
pub mod webhook_events;
pub mod webhook_listener;

use std::path::PathBuf;
use std::sync::Arc;

use tauri::Manager;

use crate::commands::Ready;
use crate::desk::{Desk, Options};
use crate::error::{CommandError, Error};
use crate::vault::Vault;

/// Overrides the app-data directory (tests, and running several instances side by side).
pub const DATA_DIR_ENV: &str = "ITO_DESK_DATA_DIR";

/// Runs the app until its window closes.
pub fn run() -> Result<(), Box<dyn std::error::Error>> {
    let builder = bindings::builder();
    let (ready_tx, ready_rx) = tokio::sync::watch::channel(None);
    let ready_tx = Arc::new(ready_tx);
    tauri::Builder::default()
        .plugin(navigation::guard())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .invoke_handler(builder.invoke_handler())
        .manage::<Ready>(ready_rx)
        .manage(payment_commands::ready())
        .setup(move |app| {
            builder.mount_events(app);
            let handle = app.handle().clone();
            let data_dir = match std::env::var_os(DATA_DIR_ENV) {
                Some(dir) => PathBuf::from(dir),
                None => app.path().app_data_dir()?,
            };
            // Start the services while the webview loads; commands wait for them.
            tauri::async_runtime::spawn(async move {
                let started = start(handle.clone(), data_dir).await;
                if let Ok(desk) = &started {
                    handle.manage(Arc::clone(desk));
                }
                payment_commands::start(&handle, &started).await;
                let _ = ready_tx.send(Some(started.map_err(CommandError::from)));
            });
            Ok(())
        })
        .build(tauri::generate_context!())?
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event
                && let Some(desk) = app.try_state::<Arc<Desk>>()
            {
                tauri::async_runtime::block_on(desk.shutdown());
            }
        });
    Ok(())
}

async fn start(handle: tauri::AppHandle, data_dir: PathBuf) -> Result<Arc<Desk>, Error> {
    let vault = tokio::task::spawn_blocking(Vault::platform).await?;
    let events: desk::EventSink = Arc::new(move |e| bindings::emit(&handle, e));
    Desk::open(
        Options {
            data_dir,
            embedded_sandbox: true,
        },
        vault,
        events,
    )
    .await
}
