//! The clipboard for card numbers against the real system clipboard (X11 under Xvfb
//! in CI): cleared after its time only while it still holds what was copied, left
//! alone when staff copied something else, and cleared on quit.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use arboard::Clipboard;
use ito_api::Secret;
use ito_desk::clipboard::{Expiry, SecretClipboard};

/// The system clipboard is one for the whole process: the cases run in order.
#[tokio::test]
async fn the_clipboard_clears_only_what_it_copied() {
    let mut system = Clipboard::new().unwrap();
    let clipboard = SecretClipboard::with_clear_after(Duration::from_millis(300));
    let mut expiries = clipboard.expiries();

    // Cleared after the delay.
    let pan = Secret::new("4242424242424242");
    let first = clipboard.copy(&pan).unwrap();
    assert_eq!(system.get_text().unwrap(), pan.expose());
    let ended = *expiries.wait_for(|e| e.copy == first).await.unwrap();
    assert_eq!(
        ended,
        Expiry {
            copy: first,
            cleared: true
        }
    );
    assert!(system.get_text().map_or(true, |t| t.is_empty()));

    // Left alone when staff copied something else meanwhile.
    let second = clipboard.copy(&Secret::new("737")).unwrap();
    system.set_text("an order number staff copied").unwrap();
    let ended = *expiries.wait_for(|e| e.copy == second).await.unwrap();
    assert!(!ended.cleared);
    assert_eq!(system.get_text().unwrap(), "an order number staff copied");

    // On quit: cleared at once if still there, and nothing to clear twice.
    let slow = SecretClipboard::with_clear_after(Duration::from_secs(3600));
    slow.copy(&pan).unwrap();
    assert_eq!(system.get_text().unwrap(), pan.expose());
    assert!(slow.clear_now().unwrap());
    assert!(system.get_text().map_or(true, |t| t.is_empty()));
    assert!(!slow.clear_now().unwrap());

    // On quit after staff copied something else: left alone.
    slow.copy(&pan).unwrap();
    system.set_text("mine").unwrap();
    assert!(!slow.clear_now().unwrap());
    assert_eq!(system.get_text().unwrap(), "mine");
}
