//! A signed-in user's cards: issuing one (approved KYC only; in active mode only
//! once staff confirmed), and the guarded reveal of a card's full number and CVV.
//!
//! A reveal fetches the data through the user's session and holds it in memory for
//! [`SHOWN_FOR`] at most, for the reveal component and the [`SecretClipboard`]; it is
//! never written anywhere. Every reveal and copy is recorded in [`access`], without
//! the data.

pub mod access;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use ito_api::kyc::KycStatus;
use ito_api::users::Reveal;
use ito_api::{CardId, Secret};
use serde::{Deserialize, Serialize};
use specta::Type;

use crate::clipboard::SecretClipboard;
use crate::desk::Desk;
use crate::error::{Error, Result, poisoned};
use crate::overview::Currency;
use crate::payments::ledger::api_currency;
use crate::profiles::Mode;
use crate::sessions::Sessions;
use crate::store::now_ms;
use crate::users::UserCard;
use access::{CardAccess, CardAction, Entry};

/// The longest a revealed number stays available to the window and the clipboard.
pub const SHOWN_FOR: Duration = Duration::from_secs(30);

/// What staff asked for when issuing a card.
#[derive(Clone, Debug, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CardIssue {
    pub currency: Currency,
    /// Staff confirmed issuing a real card to this user in active (live) mode;
    /// without it an active-mode issue is refused.
    pub live_confirmed: bool,
}

/// Which part of a revealed card to copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum CardField {
    Number,
    Cvv,
}

/// A card's full number and CVV, for the reveal component only, until `hideAt`.
#[derive(Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct RevealedCard {
    /// Names this reveal for copying and hiding.
    pub reveal_id: String,
    pub card_id: String,
    pub last4: String,
    pub exp_month: u8,
    pub exp_year: u16,
    pub number: String,
    pub cvv: String,
    /// Seconds the reveal lasts; the window hides it then (or sooner).
    pub shown_for_seconds: u32,
    /// The card's record, this reveal first.
    pub access: Vec<CardAccess>,
}

impl std::fmt::Debug for RevealedCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevealedCard")
            .field("card_id", &self.card_id)
            .field("last4", &self.last4)
            .finish_non_exhaustive()
    }
}

/// What a copy did: the clipboard clears itself after `clearsInSeconds`.
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CardCopied {
    pub clears_in_seconds: u32,
    pub access: Vec<CardAccess>,
}

/// A reveal still open: the data, and whose it is.
struct Shown {
    profile_id: String,
    user_id: String,
    card_id: String,
    number: Secret,
    cvv: Secret,
}

pub struct Cards {
    desk: Arc<Desk>,
    sessions: Arc<Sessions>,
    clipboard: Arc<SecretClipboard>,
    shown: Mutex<HashMap<String, Shown>>,
    shown_for: Duration,
    me: Weak<Cards>,
}

impl std::fmt::Debug for Cards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cards")
            .field("shown_for", &self.shown_for)
            .finish_non_exhaustive()
    }
}

/// The OS account running the app: the "who" of the access record. It does not
/// change while the app runs, so it is looked up once.
fn staff() -> String {
    static STAFF: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        ["USER", "USERNAME", "LOGNAME"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
            .or_else(account_of_process)
            .unwrap_or_else(|| "unknown".into())
    });
    STAFF.clone()
}

/// The account name of the process's user from the password database, where a
/// session sets no `USER` (services, containers).
#[cfg(target_os = "linux")]
fn account_of_process() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid().to_string();
    std::fs::read_to_string("/etc/passwd")
        .ok()?
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.get(2) == Some(&uid.as_str()))
        .and_then(|f| f.first().map(|n| (*n).to_owned()))
}

#[cfg(not(target_os = "linux"))]
fn account_of_process() -> Option<String> {
    None
}

fn seconds(d: Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}

fn checked_card_id(card_id: &str) -> Result<CardId> {
    let id = card_id.trim();
    if id.is_empty() || id.len() > 200 || id.chars().any(char::is_control) {
        return Err(Error::field("cardId", "This is not a card id."));
    }
    Ok(CardId::new(id))
}

fn reveal_ended() -> Error {
    Error::refused("The card is hidden again; reveal it once more to copy.")
}

impl Cards {
    pub fn new(
        desk: Arc<Desk>,
        sessions: Arc<Sessions>,
        clipboard: Arc<SecretClipboard>,
    ) -> Arc<Self> {
        Self::with_shown_for(desk, sessions, clipboard, SHOWN_FOR)
    }

    /// With another reveal time than [`SHOWN_FOR`] (tests).
    pub fn with_shown_for(
        desk: Arc<Desk>,
        sessions: Arc<Sessions>,
        clipboard: Arc<SecretClipboard>,
        shown_for: Duration,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            desk,
            sessions,
            clipboard,
            shown: Mutex::new(HashMap::new()),
            shown_for,
            me: me.clone(),
        })
    }

    /// Issues the user a virtual card, through their session. Refused before the
    /// gateway is asked when their KYC is not approved, and in active mode unless
    /// staff confirmed.
    pub async fn issue(self: &Arc<Self>, user_id: &str, issue: CardIssue) -> Result<UserCard> {
        let profile = self.desk.active_profile().await?;
        if profile.mode == Mode::Active && !issue.live_confirmed {
            return Err(Error::refused(format!(
                "Issuing a card in active mode creates a real card for user {user_id}: \
                 confirm it first."
            )));
        }
        let user = self.sessions.user_client(user_id).await?;
        let kyc = user.kyc().await?;
        if kyc.status != KycStatus::Approved {
            let now = match kyc.status {
                KycStatus::NotStarted => "not started",
                KycStatus::Draft => "a draft",
                KycStatus::Submitted => "waiting for review",
                KycStatus::Rejected => "rejected",
                KycStatus::Approved => "approved",
            };
            return Err(Error::refused(format!(
                "A card can be issued once the user's KYC is approved; it is {now}."
            )));
        }
        let card = user
            .settle(user.api().issue_card(api_currency(issue.currency)).await)
            .await?;
        Ok(UserCard::from(&card))
    }

    /// Fetches the card's full number and CVV through the user's session, records
    /// the reveal, and holds the data for the reveal time. `confirmed` is staff's
    /// explicit yes; without it nothing is fetched.
    pub async fn reveal(
        self: &Arc<Self>,
        user_id: &str,
        card_id: &str,
        confirmed: bool,
    ) -> Result<RevealedCard> {
        if !confirmed {
            return Err(Error::refused(
                "Revealing a card's full number needs your confirmation.",
            ));
        }
        let card = checked_card_id(card_id)?;
        let user = self.sessions.user_client(user_id).await?;
        let data = user
            .settle(
                user.api()
                    .card_sensitive(&card, &[Reveal::Pan, Reveal::Cvv])
                    .await,
            )
            .await?;
        let (Some(number), Some(cvv)) = (data.pan, data.cvv) else {
            return Err(Error::Internal(
                "the gateway answered a reveal without the number or the CVV".into(),
            ));
        };
        let profile_id = user.profile_id().to_owned();
        let access = self
            .record(&profile_id, user_id, card.as_str(), CardAction::Revealed)
            .await?;
        let reveal_id = uuid::Uuid::new_v4().to_string();
        let revealed = RevealedCard {
            reveal_id: reveal_id.clone(),
            card_id: card.as_str().to_owned(),
            last4: data.last4,
            exp_month: data.exp_month,
            exp_year: data.exp_year,
            number: number.expose().to_owned(),
            cvv: cvv.expose().to_owned(),
            shown_for_seconds: seconds(self.shown_for),
            access,
        };
        self.shown.lock().map_err(poisoned)?.insert(
            reveal_id.clone(),
            Shown {
                profile_id,
                user_id: user_id.to_owned(),
                card_id: card.as_str().to_owned(),
                number,
                cvv,
            },
        );
        let (me, after) = (self.me.clone(), self.shown_for);
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            if let Some(cards) = me.upgrade() {
                cards.hide(&reveal_id);
            }
        });
        Ok(revealed)
    }

    /// Forgets a reveal before its time (the window hid it).
    pub fn hide(&self, reveal_id: &str) {
        if let Ok(mut shown) = self.shown.lock() {
            shown.remove(reveal_id);
        }
    }

    /// Whether a reveal's data is still held, that is, can still be copied.
    pub fn is_shown(&self, reveal_id: &str) -> bool {
        self.shown
            .lock()
            .is_ok_and(|shown| shown.contains_key(reveal_id))
    }

    /// Forgets every open reveal (a profile switch).
    pub fn hide_all(&self) {
        if let Ok(mut shown) = self.shown.lock() {
            shown.clear();
        }
    }

    /// Copies the number or the CVV of an open reveal to the clipboard, which
    /// clears itself; the copy is recorded.
    pub async fn copy(&self, reveal_id: &str, field: CardField) -> Result<CardCopied> {
        let active = self.desk.active_profile_id().await?;
        let (profile_id, user_id, card_id) = {
            let shown = self.shown.lock().map_err(poisoned)?;
            let s = shown.get(reveal_id).ok_or_else(reveal_ended)?;
            if active.as_deref() != Some(s.profile_id.as_str()) {
                return Err(reveal_ended());
            }
            self.clipboard.copy(match field {
                CardField::Number => &s.number,
                CardField::Cvv => &s.cvv,
            })?;
            (s.profile_id.clone(), s.user_id.clone(), s.card_id.clone())
        };
        let action = match field {
            CardField::Number => CardAction::CopiedNumber,
            CardField::Cvv => CardAction::CopiedCvv,
        };
        let access = self.record(&profile_id, &user_id, &card_id, action).await?;
        Ok(CardCopied {
            clears_in_seconds: seconds(self.clipboard.clear_after()),
            access,
        })
    }

    /// The card's latest reveals and copies on the active profile, newest first.
    pub async fn access(&self, card_id: &str) -> Result<Vec<CardAccess>> {
        let card = checked_card_id(card_id)?;
        let profile = self.desk.active_profile().await?;
        self.desk
            .store()
            .read(move |c| access::latest(c, &profile.id, card.as_str()))
            .await
    }

    async fn record(
        &self,
        profile_id: &str,
        user_id: &str,
        card_id: &str,
        action: CardAction,
    ) -> Result<Vec<CardAccess>> {
        let (pid, uid, cid, who) = (
            profile_id.to_owned(),
            user_id.to_owned(),
            card_id.to_owned(),
            staff(),
        );
        self.desk
            .store()
            .write(move |tx| {
                access::record(
                    tx,
                    &Entry {
                        profile_id: &pid,
                        user_id: &uid,
                        card_id: &cid,
                        action,
                        staff: &who,
                        at: now_ms(),
                    },
                )?;
                access::latest(tx, &pid, &cid)
            })
            .await
    }

    /// On quit: open reveals forgotten, and the clipboard cleared if it still holds
    /// a copied number.
    pub fn shutdown(&self) {
        self.hide_all();
        if let Err(e) = self.clipboard.clear_now() {
            tracing::warn!(error = %e, "the clipboard could not be cleared on quit");
        }
    }
}
