//! The KYC service behind a user's KYC tab and the KYC queue.
//!
//! Every edit is committed to the local database ([`drafts`]) before anything is
//! sent; a background task then sends the changed fields with `PATCH`, oldest form
//! first, backing off while the gateway cannot be reached. Before each send it reads
//! the gateway's form: when someone else changed it meanwhile, the edits are merged
//! field by field and real conflicts wait for staff to choose. The form itself is
//! drawn from the gateway's [`schema`]. Like the desk, it knows nothing of Tauri.
//!
//! A form is reached through the merchant's API or, with staff signed in as the
//! user, through the user's own session ([`Via`]). Both sides share the one local
//! copy and its guarantees; the copy remembers the side it was last edited through,
//! and the sender uses that side only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use ito_api::kyc::{Kyc, KycStatus, KycValues};
use ito_api::{Client, UserId};
use serde::{Deserialize, Serialize};
use specta::Type;
use tokio::sync::{Notify, watch};

use crate::desk::Desk;
use crate::error::{Error, FieldErrors, Result, poisoned};
use crate::profiles::{self, Mode, StoredProfile};
use crate::sessions::{Sessions, UserClient};
use crate::store::{Store, now_ms};
use crate::users::directory::{self, DirectoryUser, KycState};

pub mod drafts;
pub mod queue;
pub mod schema;

use drafts::{Draft, FieldConflict, SaveState, Side, locked_message};
use queue::KycQueue;
use schema::FormSection;

/// The pause after an edit before it is sent: typing a word sends it once.
const EDIT_PAUSE: Duration = Duration::from_millis(600);
/// The longest wait between two tries while the gateway is unreachable.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Longer values are refused before they are stored.
const MAX_VALUE_CHARS: usize = 2000;

/// What the service tells the window about, as it happens.
#[derive(Clone, Debug)]
pub enum KycEvent {
    /// A form's save state changed (sent, offline, conflict, refused values).
    FormChanged {
        profile_id: String,
        user_id: String,
        status: KycState,
        draft: DraftStatus,
    },
    /// A user's KYC status changed in the directory (submitted, reviewed, reopened).
    UserChanged {
        profile_id: String,
        user: DirectoryUser,
    },
}

pub type KycEventSink = Arc<dyn Fn(KycEvent) + Send + Sync>;

/// How the local copy of a form stands, for the status line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DraftStatus {
    pub state: SaveState,
    /// Fields with edits the gateway does not hold yet.
    pub unsent: Vec<String>,
    /// In `conflict`: per field, staff's value against the gateway's.
    pub conflicts: Vec<FieldConflict>,
    /// Values the gateway refused, by field.
    pub field_errors: FieldErrors,
    /// Why the last send failed, or why the edits cannot be sent.
    pub message: Option<String>,
}

impl DraftStatus {
    fn of(d: Option<&Draft>) -> Self {
        match d {
            Some(d) => Self {
                state: d.state,
                unsent: d.unsent(),
                conflicts: d.conflicts.clone(),
                field_errors: d.field_errors.clone(),
                message: d.last_error.clone(),
            },
            None => Self {
                state: SaveState::Saved,
                unsent: Vec::new(),
                conflicts: Vec::new(),
                field_errors: FieldErrors::new(),
                message: None,
            },
        }
    }
}

/// A user's KYC form: its schema, the values as staff see them (the gateway's with
/// any unsent edits), the review status and how saving stands.
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct KycForm {
    pub user_id: String,
    pub status: KycState,
    pub sections: Vec<FormSection>,
    pub values: KycValues,
    /// Required fields still empty, in the form's order.
    pub missing: Vec<String>,
    pub rejection_reason: Option<String>,
    /// RFC 3339, the gateway's.
    pub updated_at: Option<String>,
    pub submitted_at: Option<String>,
    pub reviewed_at: Option<String>,
    /// Submitted or approved: nothing can be edited.
    pub locked: bool,
    pub draft: DraftStatus,
    /// The profile is in test mode: Approve and Reject are offered.
    pub test_mode: bool,
    /// The gateway could not be reached: this is the copy kept on this computer.
    pub offline: bool,
}

impl KycForm {
    fn new(
        user_id: &str,
        gateway: &Kyc,
        draft: Option<&Draft>,
        test_mode: bool,
        offline: bool,
    ) -> Self {
        let values = draft.map_or(&gateway.values, |d| &d.local);
        Self {
            user_id: user_id.to_owned(),
            status: gateway.status.into(),
            sections: schema::sections(&gateway.schema),
            missing: schema::missing(&gateway.schema, values),
            values: values.clone(),
            rejection_reason: gateway.rejection_reason.clone(),
            updated_at: gateway.updated_at.map(|t| t.to_rfc3339()),
            submitted_at: gateway.submitted_at.map(|t| t.to_rfc3339()),
            reviewed_at: gateway.reviewed_at.map(|t| t.to_rfc3339()),
            locked: gateway.status.is_locked(),
            draft: DraftStatus::of(draft),
            test_mode,
            offline,
        }
    }

    /// The form as the local copy has it.
    fn of(d: &Draft, test_mode: bool) -> Self {
        Self::new(&d.user_id, &d.gateway, Some(d), test_mode, false)
    }
}

/// Staff's answer to one conflict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    Yours,
    Theirs,
}

#[derive(Clone, Debug, Deserialize, Type)]
pub struct Resolution {
    pub field: String,
    pub keep: Keep,
}

/// A review, in test mode, through the sandbox's control API.
#[derive(Clone, Debug, Deserialize, Type)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum KycReview {
    Approve,
    Reject { reason: String },
}

/// How a call reaches a user's form on the gateway.
#[derive(Clone, Debug)]
pub enum Via {
    /// The merchant's API, as the merchant's staff.
    Merchant,
    /// The user's own session (`/api/oauth/user/kyc`): staff signed in as the user. A
    /// sign-in the gateway revoked signs the user out.
    User(UserClient),
}

impl Via {
    fn side(&self) -> Side {
        match self {
            Self::Merchant => Side::Merchant,
            Self::User(_) => Side::User,
        }
    }

    /// Refuses a user's session that is not for this profile and user: its edits
    /// would go to someone else's form.
    fn check(&self, profile_id: &str, user_id: &str) -> Result<()> {
        match self {
            Self::Merchant => Ok(()),
            Self::User(u) if u.profile_id() != profile_id => Err(Error::refused(format!(
                "The session of user {} belongs to another profile than the active one; open \
                 the form again.",
                u.user_id()
            ))),
            Self::User(u) if u.user_id().as_str() != user_id => Err(Error::refused(format!(
                "The session of user {} cannot change user {user_id}'s KYC form.",
                u.user_id()
            ))),
            Self::User(_) => Ok(()),
        }
    }
}

/// One form's way to the gateway, for the four calls written once for both sides.
enum Gateway {
    Merchant { client: Client, user: UserId },
    User(UserClient),
}

impl Gateway {
    async fn read(&self) -> Result<Kyc> {
        match self {
            Self::Merchant { client, user } => Ok(client.merchant().kyc(user).await?),
            Self::User(u) => u.settle(u.api().kyc().await).await,
        }
    }

    /// `PATCH`: the fields in `values`; an empty one clears.
    async fn patch(&self, values: &KycValues) -> Result<Kyc> {
        match self {
            Self::Merchant { client, user } => {
                Ok(client.merchant().save_kyc_draft(user, values).await?)
            }
            Self::User(u) => u.settle(u.api().save_kyc_draft(values).await).await,
        }
    }

    /// `PUT`: the whole form.
    async fn put(&self, values: &KycValues) -> Result<Kyc> {
        match self {
            Self::Merchant { client, user } => {
                Ok(client.merchant().replace_kyc(user, values).await?)
            }
            Self::User(u) => u.settle(u.api().replace_kyc(values).await).await,
        }
    }

    async fn submit(&self) -> Result<Kyc> {
        match self {
            Self::Merchant { client, user } => Ok(client.merchant().submit_kyc(user).await?),
            Self::User(u) => u.settle(u.api().submit_kyc().await).await,
        }
    }
}

fn transient(e: &Error) -> bool {
    matches!(e, Error::Api(a) if a.is_transient())
}

/// Why a user-side form is not sent while its user is not signed in.
fn waiting_message(user_id: &str) -> String {
    format!(
        "Not sent: user {user_id} is no longer signed in on this computer. The edits are kept \
         here; sign in as the user to send them through their session, or edit the form as \
         the merchant to send them through the merchant's API."
    )
}

type Turns = HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>;

pub struct KycForms {
    desk: Arc<Desk>,
    /// The users' sessions, for the forms last edited through one.
    sessions: Arc<Sessions>,
    events: KycEventSink,
    /// Wakes the sender when a form falls due sooner than it planned.
    wake: Notify,
    /// One send, save or submit at a time per form; edits never wait for them.
    turns: Mutex<Turns>,
    stop: watch::Sender<bool>,
    sender: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for KycForms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KycForms").finish_non_exhaustive()
    }
}

/// A wait that doubles with each failure, up to [`MAX_BACKOFF`], with up to a
/// quarter more at random so that many forms do not retry in step.
fn backoff(attempts: u32) -> Duration {
    let base = Duration::from_secs(1)
        .saturating_mul(1 << attempts.saturating_sub(1).min(5))
        .min(MAX_BACKOFF);
    let jitter = u64::from(uuid::Uuid::new_v4().as_fields().0) % 250;
    base + base.mul_f64(jitter as f64 / 1000.0)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl KycForms {
    /// Starts the service and its sender, which picks up forms left unsent by an
    /// earlier run.
    pub fn start(desk: Arc<Desk>, sessions: Arc<Sessions>, events: KycEventSink) -> Arc<Self> {
        let (stop, stopped) = watch::channel(false);
        let forms = Arc::new(Self {
            desk,
            sessions,
            events,
            wake: Notify::new(),
            turns: Mutex::new(HashMap::new()),
            stop,
            sender: Mutex::new(None),
        });
        tokio::spawn(Self::resume_on_sign_in(
            Arc::downgrade(&forms),
            forms.sessions.sign_ins(),
            stopped.clone(),
        ));
        let task = tokio::spawn(Arc::clone(&forms).send_loop(stopped));
        if let Ok(mut sender) = forms.sender.lock() {
            *sender = Some(task);
        }
        forms
    }

    /// Sends a form that waited for its user's session as soon as staff sign in as
    /// that user again.
    async fn resume_on_sign_in(
        me: std::sync::Weak<Self>,
        mut sign_ins: tokio::sync::broadcast::Receiver<(String, String)>,
        mut stopped: watch::Receiver<bool>,
    ) {
        loop {
            let (profile_id, user_id) = tokio::select! {
                signed_in = sign_ins.recv() => match signed_in {
                    Ok(key) => key,
                    // Sign-ins missed in a burst: their forms go at the next start.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                _ = stopped.changed() => return,
            };
            let Some(forms) = me.upgrade() else { return };
            if let Err(e) = forms.signed_in(&profile_id, &user_id).await {
                tracing::warn!(error = %e, "a KYC form waiting for a sign-in could not be resumed");
            }
        }
    }

    async fn signed_in(&self, profile_id: &str, user_id: &str) -> Result<()> {
        let (pid, uid) = (profile_id.to_owned(), user_id.to_owned());
        let resumed = self
            .store()
            .write(move |tx| {
                let Some(mut d) = drafts::get(tx, &pid, &uid)?.filter(Draft::waits_for_sign_in)
                else {
                    return Ok(None);
                };
                d.through(Side::User, now_ms());
                drafts::put(tx, &d)?;
                Ok(Some(d))
            })
            .await?;
        if let Some(d) = resumed {
            self.form_changed(&d);
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Stops the sender and waits for it; unsent edits stay on disk for the next run.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let task = self.sender.lock().ok().and_then(|mut s| s.take());
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    fn store(&self) -> &Store {
        self.desk.store()
    }

    fn emit(&self, e: KycEvent) {
        (self.events)(e);
    }

    fn turn(&self, profile_id: &str, user_id: &str) -> Result<Arc<tokio::sync::Mutex<()>>> {
        let mut turns = self.turns.lock().map_err(poisoned)?;
        Ok(Arc::clone(
            turns
                .entry((profile_id.to_owned(), user_id.to_owned()))
                .or_default(),
        ))
    }

    async fn active(&self) -> Result<(StoredProfile, Client)> {
        let profile = self.desk.active_profile().await?;
        let client = self.desk.client(&profile).await?;
        Ok((profile, client))
    }

    /// The active profile, with `via` checked against it and the user.
    async fn active_via(&self, via: &Via, user_id: &str) -> Result<StoredProfile> {
        let profile = self.desk.active_profile().await?;
        via.check(&profile.id, user_id)?;
        Ok(profile)
    }

    /// The active profile and the way to `user_id`'s form on its gateway.
    async fn open(&self, via: &Via, user_id: &str) -> Result<(StoredProfile, Gateway)> {
        let profile = self.active_via(via, user_id).await?;
        let gateway = match via {
            Via::Merchant => Gateway::Merchant {
                client: self.desk.client(&profile).await?,
                user: UserId::new(user_id),
            },
            Via::User(u) => Gateway::User(u.clone()),
        };
        Ok((profile, gateway))
    }

    async fn draft(&self, profile_id: &str, user_id: &str) -> Result<Option<Draft>> {
        let (pid, uid) = (profile_id.to_owned(), user_id.to_owned());
        self.store().read(move |c| drafts::get(c, &pid, &uid)).await
    }

    fn form_changed(&self, d: &Draft) {
        self.emit(KycEvent::FormChanged {
            profile_id: d.profile_id.clone(),
            user_id: d.user_id.clone(),
            status: d.gateway.status.into(),
            draft: DraftStatus::of(Some(d)),
        });
    }

    /// Records the gateway's status in the directory and tells the window when it
    /// changed there.
    async fn record_status(&self, profile_id: &str, user_id: &str, k: &Kyc) -> Result<()> {
        let (pid, uid) = (profile_id.to_owned(), user_id.to_owned());
        let (status, submitted) = (
            KycState::from(k.status),
            k.submitted_at.map(|t| t.timestamp_millis()),
        );
        let changed = self
            .store()
            .write(move |tx| directory::set_kyc(tx, &pid, &uid, status, submitted))
            .await?;
        if let Some(user) = changed {
            self.emit(KycEvent::UserChanged {
                profile_id: profile_id.to_owned(),
                user,
            });
        }
        Ok(())
    }

    /// The user's form: read from the gateway and merged with any unsent edits. When
    /// the gateway cannot be reached, the copy on this computer, marked offline.
    pub async fn form(&self, via: &Via, user_id: &str) -> Result<KycForm> {
        let (profile, line) = self.open(via, user_id).await?;
        let test_mode = profile.mode == Mode::Test;
        let gateway = match line.read().await {
            Ok(k) => k,
            Err(e) if transient(&e) => {
                return match self.draft(&profile.id, user_id).await? {
                    Some(d) => Ok(KycForm::new(user_id, &d.gateway, Some(&d), test_mode, true)),
                    None => Err(e),
                };
            }
            Err(e) => return Err(e),
        };
        let draft = self
            .adopt(&profile.id, user_id, gateway.clone(), via.side())
            .await?;
        self.record_status(&profile.id, user_id, &gateway).await?;
        Ok(KycForm::new(
            user_id,
            &gateway,
            draft.as_ref(),
            test_mode,
            false,
        ))
    }

    /// Takes the gateway's form as read: a new copy for an editable form, a merge
    /// into one with unsent edits, and no copy once the gateway locked a form that
    /// has nothing unsent (its values then live only on the gateway). Read through
    /// the user's session, a form that waited for that session is sent again.
    async fn adopt(
        &self,
        profile_id: &str,
        user_id: &str,
        gateway: Kyc,
        side: Side,
    ) -> Result<Option<Draft>> {
        let (pid, uid) = (profile_id.to_owned(), user_id.to_owned());
        let (draft, merged) = self
            .store()
            .write(move |tx| {
                let now = now_ms();
                let current = drafts::get(tx, &pid, &uid)?;
                let (draft, merged) = match current {
                    Some(mut d) if d.has_changes() => {
                        // `updated_at` has whole seconds: a change within the same
                        // second shows only in the values.
                        let newer = d.gateway.updated_at != gateway.updated_at
                            || d.gateway.status != gateway.status
                            || d.gateway.values != gateway.values;
                        if newer {
                            d.rebase(gateway, now);
                        }
                        let resumed = side == Side::User && d.waits_for_sign_in();
                        if resumed {
                            d.through(Side::User, now);
                        }
                        (Some(d), newer || resumed)
                    }
                    _ if gateway.status.is_locked() => (None, false),
                    _ => (Some(Draft::fresh(&pid, &uid, gateway, side, now)), false),
                };
                match &draft {
                    Some(d) => drafts::put(tx, d)?,
                    None => drafts::delete(tx, &pid, &uid)?,
                }
                Ok((draft, merged))
            })
            .await?;
        if let Some(d) = draft.as_ref().filter(|_| merged) {
            self.form_changed(d);
            self.wake.notify_one();
        }
        Ok(draft)
    }

    /// Records one edit durably and schedules its sending after a short pause. An
    /// empty value clears the field.
    pub async fn edit(
        &self,
        via: &Via,
        user_id: &str,
        field: &str,
        value: String,
    ) -> Result<DraftStatus> {
        let profile_id = self
            .desk
            .active_profile_id()
            .await?
            .ok_or_else(|| Error::NotFound("No profile is active.".into()))?;
        via.check(&profile_id, user_id)?;
        let side = via.side();
        if value.chars().count() > MAX_VALUE_CHARS {
            return Err(Error::field(
                field,
                format!("At most {MAX_VALUE_CHARS} characters."),
            ));
        }
        let (pid, uid, field) = (profile_id, user_id.to_owned(), field.to_owned());
        let draft = self
            .store()
            .write(move |tx| {
                let Some(mut d) = drafts::get(tx, &pid, &uid)? else {
                    // No local copy: a locked form keeps none, so the directory says why.
                    return Err(
                        match directory::get(tx, &pid, &uid)?.map(|u| u.kyc_status) {
                            Some(KycState::Submitted) => {
                                Error::refused(locked_message(KycStatus::Submitted))
                            }
                            Some(KycState::Approved) => {
                                Error::refused(locked_message(KycStatus::Approved))
                            }
                            _ => Error::NotFound(
                                "This KYC form is not open on this computer; open it again.".into(),
                            ),
                        },
                    );
                };
                if d.gateway.status.is_locked() {
                    return Err(Error::refused(locked_message(d.gateway.status)));
                }
                if !schema::has_field(&d.gateway.schema, &field) {
                    return Err(Error::field(&field, "The form has no such field."));
                }
                let now = now_ms();
                d.through(side, now);
                d.edit(&field, value, now, now + ms(EDIT_PAUSE));
                drafts::put(tx, &d)?;
                Ok(d)
            })
            .await?;
        self.wake.notify_one();
        Ok(DraftStatus::of(Some(&draft)))
    }

    /// Staff's choice for every conflicting field; then the result is sent.
    pub async fn resolve(
        &self,
        via: &Via,
        user_id: &str,
        choices: Vec<Resolution>,
    ) -> Result<KycForm> {
        let profile = self.active_via(via, user_id).await?;
        let side = via.side();
        let (pid, uid) = (profile.id.clone(), user_id.to_owned());
        let draft = self
            .store()
            .write(move |tx| {
                let mut d = drafts::get(tx, &pid, &uid)?
                    .ok_or_else(|| Error::refused("This form has no conflict to resolve."))?;
                let keep: HashMap<String, Keep> =
                    choices.into_iter().map(|c| (c.field, c.keep)).collect();
                d.resolve(&keep, now_ms())?;
                d.through(side, now_ms());
                drafts::put(tx, &d)?;
                Ok(d)
            })
            .await?;
        self.form_changed(&draft);
        self.wake.notify_one();
        Ok(KycForm::of(&draft, profile.mode == Mode::Test))
    }

    /// Drops the unsent edits: the form goes back to what the gateway holds.
    pub async fn discard(&self, via: &Via, user_id: &str) -> Result<KycForm> {
        let profile = self.active_via(via, user_id).await?;
        let side = via.side();
        let turn = self.turn(&profile.id, user_id)?;
        let _turn = turn.lock().await;
        let (pid, uid) = (profile.id.clone(), user_id.to_owned());
        let draft = self
            .store()
            .write(move |tx| {
                let Some(d) = drafts::get(tx, &pid, &uid)? else {
                    return Ok(None);
                };
                if d.gateway.status.is_locked() {
                    drafts::delete(tx, &pid, &uid)?;
                    return Ok(None);
                }
                let d = Draft::fresh(&pid, &uid, d.gateway, side, now_ms());
                drafts::put(tx, &d)?;
                Ok(Some(d))
            })
            .await?;
        if let Some(d) = &draft {
            self.form_changed(d);
        }
        self.form(via, user_id).await
    }

    /// Sends the whole form with `PUT`, after merging what the gateway holds. The
    /// gateway refuses an incomplete form and names every missing field.
    pub async fn save_complete(&self, via: &Via, user_id: &str) -> Result<KycForm> {
        let (profile, line) = self.open(via, user_id).await?;
        let turn = self.turn(&profile.id, user_id)?;
        let _turn = turn.lock().await;
        let gateway = line.read().await?;
        let draft = self
            .adopt(&profile.id, user_id, gateway.clone(), via.side())
            .await?
            .ok_or_else(|| Error::refused(locked_message(gateway.status)))?;
        if draft.state == SaveState::Conflict {
            return Ok(KycForm::of(&draft, profile.mode == Mode::Test));
        }
        let sent: KycValues = draft
            .local
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let answer = line.put(&sent).await?;
        let d = self
            .settle_sent(&profile.id, user_id, &sent, answer, via.side())
            .await?;
        self.record_status(&profile.id, user_id, &d.gateway).await?;
        Ok(KycForm::of(&d, profile.mode == Mode::Test))
    }

    /// Sends what is unsent, then submits the form for review. Refused while edits
    /// cannot reach the gateway; once it holds the submitted form, the copy on this
    /// computer is deleted.
    pub async fn submit(&self, via: &Via, user_id: &str) -> Result<KycForm> {
        let (profile, line) = self.open(via, user_id).await?;
        {
            let turn = self.turn(&profile.id, user_id)?;
            let _turn = turn.lock().await;
            let draft = self.draft(&profile.id, user_id).await?;
            if let Some(d) = draft.filter(Draft::has_changes)
                && let Err(e) = self.push(&line, d).await
            {
                self.failed(&profile.id, user_id, &e).await?;
                return Err(e);
            }
            if let Some(d) = self
                .draft(&profile.id, user_id)
                .await?
                .filter(Draft::has_changes)
            {
                return Err(Error::refused(format!(
                    "Some edits are not on the gateway yet ({}); submit once the form says Saved.",
                    d.unsent().join(", ")
                )));
            }
            let submitted = line.submit().await?;
            let (pid, uid) = (profile.id.clone(), user_id.to_owned());
            self.store()
                .write(move |tx| drafts::delete(tx, &pid, &uid))
                .await?;
            self.record_status(&profile.id, user_id, &submitted).await?;
        }
        self.form(via, user_id).await
    }

    /// Approves or rejects a submitted form through the sandbox's control API. Test
    /// mode only: a live form is reviewed by the gateway's staff.
    pub async fn review(&self, user_id: &str, review: KycReview) -> Result<KycForm> {
        let (profile, client) = self.active().await?;
        if profile.mode != Mode::Test {
            return Err(Error::refused(
                "Reviews happen on the gateway; the desk approves or rejects only in test mode.",
            ));
        }
        let uid = UserId::new(user_id);
        let reviewed = match review {
            KycReview::Approve => client.sandbox().approve_kyc(&uid).await?,
            KycReview::Reject { reason } => {
                let reason = reason.trim();
                if reason.is_empty() {
                    return Err(Error::field(
                        "reason",
                        "Say why the form is rejected; the user sees it.",
                    ));
                }
                client.sandbox().reject_kyc(&uid, reason).await?
            }
        };
        self.record_status(&profile.id, user_id, &reviewed).await?;
        self.form(&Via::Merchant, user_id).await
    }

    /// The KYC queue. Users waiting for review whose submission time is not known
    /// yet have it read first (a few at a time; one that fails stays unknown).
    pub async fn queue(&self) -> Result<KycQueue> {
        /// Reads of unknown submission times per call, and at once.
        const LOOKUPS: u32 = 50;
        const AT_ONCE: usize = 4;
        let (profile, client) = self.active().await?;
        let pid = profile.id.clone();
        let unknown = self
            .store()
            .read(move |c| queue::waiting_unknown(c, &pid, LOOKUPS))
            .await?;
        let reads = futures_util::stream::iter(unknown)
            .map(|user_id| {
                let client = client.clone();
                async move {
                    let k = client.merchant().kyc(&UserId::new(user_id.clone())).await;
                    (user_id, k)
                }
            })
            .buffer_unordered(AT_ONCE)
            .collect::<Vec<_>>()
            .await;
        for (user_id, read) in reads {
            match read {
                Ok(k) => self.record_status(&profile.id, &user_id, &k).await?,
                Err(e) => tracing::debug!(error = %e, "a submission time could not be read"),
            }
        }
        let pid = profile.id.clone();
        self.store().read(move |c| queue::queue(c, &pid)).await
    }

    /// The sender: forms due are sent oldest edit first; then it sleeps until the
    /// next falls due or an edit wakes it.
    async fn send_loop(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        let now = now_ms();
        if let Err(e) = self.store().write(move |tx| drafts::all_due(tx, now)).await {
            tracing::warn!(error = %e, "KYC forms left unsent could not be rescheduled");
        }
        loop {
            let now = now_ms();
            // After a failure that could not even be recorded, pause rather than spin.
            let mut trouble = false;
            match self.store().read(move |c| drafts::due(c, now)).await {
                Ok(due) => {
                    for (profile_id, user_id) in due {
                        if *stopped.borrow() {
                            return;
                        }
                        if let Err(e) = self.send(&profile_id, &user_id).await {
                            tracing::warn!(error = %e, "a KYC form could not be sent");
                            trouble = true;
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "KYC forms due could not be read");
                    trouble = true;
                }
            }
            let next = self
                .store()
                .read(drafts::next_due)
                .await
                .ok()
                .flatten()
                .map(|at| Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0)));
            let mut sleep = next.unwrap_or(Duration::from_secs(3600));
            if trouble {
                sleep = sleep.max(Duration::from_secs(1));
            } else if sleep.is_zero() {
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(sleep) => {}
                () = self.wake.notified() => {}
                _ = stopped.changed() => return,
            }
        }
    }

    /// Sends one form's unsent edits, if it still has some to send; a failure is
    /// recorded on the form.
    async fn send(&self, profile_id: &str, user_id: &str) -> Result<()> {
        let turn = self.turn(profile_id, user_id)?;
        let _turn = turn.lock().await;
        let Some(d) = self.draft(profile_id, user_id).await? else {
            return Ok(());
        };
        if d.next_attempt_at.is_none() {
            return Ok(());
        }
        let outcome = match profiles::get(self.store(), profile_id).await {
            // Through the side last edited, never the other: a user-side form whose
            // user is not signed in waits for the sign-in or a merchant-side edit.
            Ok(profile) => match self.line(&profile, &d).await {
                Ok(line) => self.push(&line, d).await,
                Err(e) => Err(e),
            },
            // The profile was removed: its forms go with it.
            Err(Error::NotFound(_)) => {
                let (pid, uid) = (profile_id.to_owned(), user_id.to_owned());
                return self
                    .store()
                    .write(move |tx| drafts::delete(tx, &pid, &uid))
                    .await;
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => Ok(()),
            Err(e) => self.failed(profile_id, user_id, &e).await,
        }
    }

    /// The way to a form's gateway along the side it was last edited through.
    async fn line(&self, profile: &StoredProfile, d: &Draft) -> Result<Gateway> {
        Ok(match d.side {
            Side::Merchant => Gateway::Merchant {
                client: self.desk.client(profile).await?,
                user: UserId::new(d.user_id.clone()),
            },
            Side::User => Gateway::User(
                self.sessions
                    .user_client_for(&profile.id, &d.user_id)
                    .await?,
            ),
        })
    }

    /// Reads the gateway's form, merges, and sends the changed fields with `PATCH`.
    /// A lost answer is harmless: the next read finds the values already there, so
    /// nothing is sent twice.
    async fn push(&self, line: &Gateway, d: Draft) -> Result<()> {
        let gateway = line.read().await?;
        let Some(d) = self
            .adopt(&d.profile_id, &d.user_id, gateway, d.side)
            .await?
        else {
            return Ok(());
        };
        if d.state == SaveState::Conflict {
            return Ok(());
        }
        let sent = d.changes();
        if sent.is_empty() {
            let settled = self
                .store()
                .write(move |tx| {
                    let Some(mut cur) = drafts::get(tx, &d.profile_id, &d.user_id)? else {
                        return Ok(None);
                    };
                    cur.accepted(&KycValues::new(), cur.gateway.clone());
                    drafts::put(tx, &cur)?;
                    Ok(Some(cur))
                })
                .await?;
            if let Some(d) = settled {
                self.form_changed(&d);
            }
            return Ok(());
        }
        match line.patch(&sent).await {
            Ok(answer) => {
                let status = answer.clone();
                self.settle_sent(&d.profile_id, &d.user_id, &sent, answer, d.side)
                    .await?;
                self.record_status(&d.profile_id, &d.user_id, &status).await
            }
            Err(Error::Api(e)) if e.kind() == ito_api::ErrorKind::Validation => {
                let fields = e.fields().cloned().unwrap_or_default();
                let (pid, uid) = (d.profile_id.clone(), d.user_id.clone());
                let message = e.message();
                let d = self
                    .store()
                    .write(move |tx| {
                        let Some(mut cur) = drafts::get(tx, &pid, &uid)? else {
                            return Ok(None);
                        };
                        cur.refused(&sent, fields, message, now_ms());
                        drafts::put(tx, &cur)?;
                        Ok(Some(cur))
                    })
                    .await?;
                if let Some(d) = d {
                    self.form_changed(&d);
                    self.wake.notify_one();
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn settle_sent(
        &self,
        profile_id: &str,
        user_id: &str,
        sent: &KycValues,
        answer: Kyc,
        side: Side,
    ) -> Result<Draft> {
        let (pid, uid, sent) = (profile_id.to_owned(), user_id.to_owned(), sent.clone());
        let d = self
            .store()
            .write(move |tx| {
                let mut cur = drafts::get(tx, &pid, &uid)?
                    .unwrap_or_else(|| Draft::fresh(&pid, &uid, answer.clone(), side, now_ms()));
                cur.accepted(&sent, answer);
                drafts::put(tx, &cur)?;
                Ok(cur)
            })
            .await?;
        self.form_changed(&d);
        Ok(d)
    }

    /// Records a failed send: offline with a back-off when trying again may work;
    /// waiting for the user's sign-in when their session ended; refused (and not
    /// retried until the next edit) otherwise.
    async fn failed(&self, profile_id: &str, user_id: &str, e: &Error) -> Result<()> {
        let transient = transient(e);
        let signed_out = matches!(e, Error::SessionEnded { .. });
        let message = match e {
            Error::Api(a) => a.message(),
            other => other.to_string(),
        };
        let (pid, uid) = (profile_id.to_owned(), user_id.to_owned());
        let d = self
            .store()
            .write(move |tx| {
                let Some(mut cur) = drafts::get(tx, &pid, &uid)? else {
                    return Ok(None);
                };
                let now = now_ms();
                if signed_out {
                    // A merchant-side form is not the ended session's to hold back.
                    if cur.side != Side::User {
                        return Ok(None);
                    }
                    cur.wait_for_sign_in(waiting_message(&uid));
                    drafts::put(tx, &cur)?;
                    return Ok(Some(cur));
                }
                if transient {
                    cur.attempts += 1;
                    cur.state = SaveState::Offline;
                    cur.next_attempt_at = Some(now + ms(backoff(cur.attempts)));
                } else {
                    cur.state = SaveState::Invalid;
                    cur.next_attempt_at = None;
                }
                cur.last_error = Some(message);
                drafts::put(tx, &cur)?;
                Ok(Some(cur))
            })
            .await?;
        if let Some(d) = d {
            self.form_changed(&d);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        assert!(backoff(1) >= Duration::from_secs(1) && backoff(1) < Duration::from_secs(2));
        assert!(backoff(3) >= Duration::from_secs(4) && backoff(3) < Duration::from_secs(5));
        assert!(backoff(40) >= MAX_BACKOFF && backoff(40) <= MAX_BACKOFF.mul_f64(1.25));
    }
}
