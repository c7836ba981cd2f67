//! Keeps the webview on the app's own pages: any navigation elsewhere (a link, a
//! redirect, injected script) is refused. External pages open in the browser through
//! the opener plugin instead.

use tauri::Runtime;
use tauri::plugin::TauriPlugin;
use url::Url;

/// Whether the webview may show `url`: only the bundled UI (the custom protocol,
/// spelled per platform) and `about:blank`.
pub fn is_app_page(url: &Url) -> bool {
    match url.scheme() {
        "tauri" => url.host_str() == Some("localhost"),
        "http" | "https" => url.host_str() == Some("tauri.localhost"),
        "about" => url.path() == "blank",
        _ => false,
    }
}

pub fn guard<R: Runtime>() -> TauriPlugin<R> {
    tauri::plugin::Builder::new("navigation-guard")
        .on_navigation(|_, url| {
            let allowed = is_app_page(url);
            if !allowed {
                tracing::warn!(%url, "navigation away from the app refused");
            }
            allowed
        })
        .build()
}

#[cfg(test)]
mod tests {
    use super::is_app_page;

    #[test]
    fn only_the_app_s_own_pages() {
        for ok in [
            "tauri://localhost/index.html",
            "http://tauri.localhost/#/overview",
            "about:blank",
        ] {
            assert!(is_app_page(&ok.parse().unwrap()), "{ok}");
        }
        for refused in [
            "https://payment.ito-japan.jp/process-checkout?payment_id=x",
            "http://127.0.0.1:8787/",
            "http://tauri.localhost.evil.example/",
            "file:///etc/passwd",
            "javascript:alert(1)",
        ] {
            assert!(!is_app_page(&refused.parse().unwrap()), "{refused}");
        }
    }
}
