//! The clipboard for card numbers and CVVs, the way password managers do it: the
//! value is marked to stay out of clipboard history and cloud sync where the OS has
//! such a mark, and cleared after [`CLEAR_AFTER`] and on quit, but only while the
//! clipboard still holds it, so that something staff copied since is never wiped.
//! Only a digest of what was copied is kept to compare against.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use arboard::Clipboard;
use ito_api::Secret;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::error::{Error, Result, poisoned};

/// How long a copied card number stays on the clipboard.
pub const CLEAR_AFTER: Duration = Duration::from_secs(30);

struct Held {
    /// Owns the X11 selection on Linux: dropped, the copied text would vanish.
    clipboard: Option<Clipboard>,
    /// SHA-256 of the text this app put there, while it may still be there.
    copied: Option<[u8; 32]>,
    /// Each copy's number: a timer of an earlier copy must not clear a later one.
    generation: u64,
}

/// How the latest timer of a copy ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expiry {
    /// The copy it belonged to (see [`SecretClipboard::copy`]).
    pub copy: u64,
    /// False when the clipboard held something else by then, and was left alone.
    pub cleared: bool,
}

pub struct SecretClipboard {
    held: Mutex<Held>,
    clear_after: Duration,
    expiries: watch::Sender<Expiry>,
    me: Weak<SecretClipboard>,
}

impl std::fmt::Debug for SecretClipboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretClipboard")
            .field("clear_after", &self.clear_after)
            .finish_non_exhaustive()
    }
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn unavailable(e: arboard::Error) -> Error {
    Error::Clipboard(format!(
        "The clipboard could not be used ({e}). Nothing was copied."
    ))
}

impl Held {
    fn clipboard(&mut self) -> Result<&mut Clipboard> {
        match &mut self.clipboard {
            Some(c) => Ok(c),
            slot => Ok(slot.insert(Clipboard::new().map_err(unavailable)?)),
        }
    }

    /// Empties the clipboard if it still holds what this app copied.
    fn clear_if_ours(&mut self) -> Result<bool> {
        let Some(copied) = self.copied.take() else {
            return Ok(false);
        };
        let clipboard = self.clipboard()?;
        // Unreadable (empty, or an image) counts as changed: leave it alone.
        let ours = clipboard.get_text().is_ok_and(|now| digest(&now) == copied);
        if ours {
            clipboard.clear().map_err(unavailable)?;
        }
        Ok(ours)
    }
}

impl SecretClipboard {
    pub fn new() -> Arc<Self> {
        Self::with_clear_after(CLEAR_AFTER)
    }

    /// With another delay than [`CLEAR_AFTER`] (tests).
    pub fn with_clear_after(clear_after: Duration) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            held: Mutex::new(Held {
                clipboard: None,
                copied: None,
                generation: 0,
            }),
            clear_after,
            expiries: watch::Sender::new(Expiry::default()),
            me: me.clone(),
        })
    }

    pub fn clear_after(&self) -> Duration {
        self.clear_after
    }

    /// The outcome of each copy's timer, as they end.
    pub fn expiries(&self) -> watch::Receiver<Expiry> {
        self.expiries.subscribe()
    }

    /// Puts `text` on the clipboard, marked as sensitive, and clears it after the
    /// delay if it is still there. Returns the copy's number (see [`Expiry`]).
    /// Needs a Tokio runtime for the timer.
    pub fn copy(&self, text: &Secret) -> Result<u64> {
        let generation = {
            let mut held = self.held.lock().map_err(poisoned)?;
            let set = held.clipboard()?.set();
            #[cfg(target_os = "linux")]
            let set = {
                use arboard::SetExtLinux;
                set.exclude_from_history()
            };
            #[cfg(target_os = "windows")]
            let set = {
                use arboard::SetExtWindows;
                set.exclude_from_history()
                    .exclude_from_cloud()
                    .exclude_from_monitoring()
            };
            #[cfg(target_os = "macos")]
            let set = {
                use arboard::SetExtApple;
                set.exclude_from_history()
            };
            set.text(text.expose()).map_err(unavailable)?;
            held.copied = Some(digest(text.expose()));
            held.generation += 1;
            held.generation
        };
        let (me, after) = (self.me.clone(), self.clear_after);
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            if let Some(clipboard) = me.upgrade() {
                clipboard.expire(generation);
            }
        });
        Ok(generation)
    }

    fn expire(&self, generation: u64) {
        let Ok(mut held) = self.held.lock() else {
            return;
        };
        if held.generation != generation {
            return;
        }
        let cleared = held.clear_if_ours().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the clipboard could not be cleared");
            false
        });
        self.expiries.send_replace(Expiry {
            copy: generation,
            cleared,
        });
    }

    /// Clears what this app copied, if the clipboard still holds it (on quit).
    /// True when it was cleared.
    pub fn clear_now(&self) -> Result<bool> {
        self.held.lock().map_err(poisoned)?.clear_if_ours()
    }
}
