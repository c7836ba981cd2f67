//! A blank window with the same toolchain, Tauri version and window size as the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    match tauri::Builder::default().run(tauri::generate_context!()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("blank-window: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
