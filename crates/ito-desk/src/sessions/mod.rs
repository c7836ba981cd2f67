//! Signing staff in as a user, the way a native app must (RFC 8252): the system
//! browser at the gateway's authorize page, the redirect caught once on 127.0.0.1, the
//! code exchanged with its PKCE verifier by the profile's public client, which has no
//! secret. Several users may be signed in per profile at once. Their tokens live in the
//! OS keychain under (profile, user) and nowhere else, renew silently, and a sign-in the
//! gateway revoked signs that user out. [`UserClient`] is the user's own view
//! (`/api/oauth/user/*`). Like the other services it knows nothing of Tauri: it reports
//! through a sink.

mod index;
pub mod view;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use ito_api::kyc::Kyc;
use ito_api::users::{Balances, Card, Transaction, TransactionQuery, User};
use ito_api::{
    AuthorizationRequest, Client, Loopback, Page, Redirect, RedirectProblem, TokenSet, UserApi,
    UserId, UserSession,
};
use serde::Serialize;
use specta::Type;
use tokio::sync::oneshot;
use url::Url;

use crate::desk::Desk;
use crate::error::{Error, Result, SignInFailure, poisoned};
use crate::profiles::{self, StoredProfile};
use crate::store::{Store, now_ms, rfc3339};
use crate::vault::Vault;
use index::SessionRow;

/// How long a sign-in waits for the browser to come back, as VS Code does.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// The gateway defines no scopes for user tokens: one grants every user route.
const SCOPE: &str = "";
/// The longest part of a redirect's error that a message quotes.
const MAX_QUOTED_CHARS: usize = 300;
const MAX_USER_ID_CHARS: usize = 200;

const CANCELLED: &str = "The sign-in was cancelled. Nothing was saved.";
const SUPERSEDED: &str =
    "Another sign-in as this user started, so this one stopped. Nothing was saved.";

/// A signed-in user, as the screens list them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct UserSessionInfo {
    pub profile_id: String,
    pub user_id: String,
    /// When the current access token expires (RFC 3339). Used later than that, the
    /// session renews itself with its refresh token.
    pub expires_at: String,
    /// What the gateway granted, when it named anything.
    pub scope: Option<String>,
    pub signed_in_at: String,
}

impl From<&SessionRow> for UserSessionInfo {
    fn from(r: &SessionRow) -> Self {
        Self {
            profile_id: r.profile_id.clone(),
            user_id: r.user_id.clone(),
            expires_at: rfc3339(r.expires_at),
            scope: r.scope.clone(),
            signed_in_at: rfc3339(r.signed_in_at),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum SessionEndReason {
    /// Staff signed out.
    SignedOut,
    /// The gateway no longer accepts the sign-in (revoked, or expired for good).
    Revoked,
}

/// What the service tells the window about, as it happens.
#[derive(Clone, Debug)]
pub enum SessionEvent {
    SignedIn(UserSessionInfo),
    /// The tokens were renewed and saved; the new expiry.
    Refreshed(UserSessionInfo),
    /// Renewed tokens could not be saved to the keychain: the session works until the
    /// app quits, and then the user must be signed in again.
    NotSaved {
        profile_id: String,
        user_id: String,
        message: String,
    },
    /// The user is signed out; `message` says why.
    Ended {
        profile_id: String,
        user_id: String,
        reason: SessionEndReason,
        message: String,
    },
}

pub type SessionEventSink = Arc<dyn Fn(SessionEvent) + Send + Sync>;

/// (profile id, user id).
type Key = (String, String);

/// A session in use. Each sign-in or load from the keychain gets a new generation, so
/// that what an older one does late (a refresh, a 401) cannot touch a newer one.
struct Live {
    session: UserSession,
    generation: u64,
}

struct Waiting {
    attempt: u64,
    stop: oneshot::Sender<&'static str>,
}

pub struct Sessions {
    desk: Arc<Desk>,
    events: SessionEventSink,
    timeout: Duration,
    /// Handed to the refresh hooks, which must not keep the service alive.
    me: Weak<Sessions>,
    live: Mutex<HashMap<Key, Live>>,
    /// The sign-ins waiting for the browser, to cancel them.
    waiting: Mutex<HashMap<Key, Waiting>>,
    counter: AtomicU64,
    /// Each completed sign-in, for services with work waiting for that user's session.
    sign_ins: tokio::sync::broadcast::Sender<Key>,
    /// Keychain writes and deletes of sessions, one at a time, each checking that its
    /// session is still the current one: a refresh finishing after a sign-out or a new
    /// sign-in must not write its tokens back.
    keychain: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

async fn blocking<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f).await?
}

fn failed(failure: SignInFailure, message: impl Into<String>) -> Error {
    Error::SignIn {
        failure,
        message: message.into(),
    }
}

fn not_signed_in(user_id: &str) -> Error {
    Error::SessionEnded {
        user_id: user_id.to_owned(),
        message: format!(
            "Not signed in as user {user_id} on this profile: sign in as the user first."
        ),
    }
}

fn checked_user_id(user_id: &str) -> Result<String> {
    let id = user_id.trim();
    if id.is_empty() {
        return Err(Error::field("userId", "Choose a user to sign in as."));
    }
    if id.chars().count() > MAX_USER_ID_CHARS || id.chars().any(char::is_control) {
        return Err(Error::field("userId", "This is not a user id."));
    }
    Ok(id.to_owned())
}

fn quoted(text: &str) -> String {
    text.chars().take(MAX_QUOTED_CHARS).collect()
}

fn redirect_failure(problem: RedirectProblem) -> Error {
    use SignInFailure as F;
    match problem {
        RedirectProblem::StateMismatch => failed(
            F::StateMismatch,
            "The browser came back with an answer that does not belong to this sign-in (its \
             state differs), so it was refused. Nothing was saved; start the sign-in again.",
        ),
        RedirectProblem::Denied => failed(
            F::Denied,
            "Access was denied on the gateway's sign-in page. Nothing was saved.",
        ),
        RedirectProblem::Refused { error, description } => {
            let detail = match description.filter(|d| !d.trim().is_empty()) {
                Some(d) => format!("{} ({})", quoted(&error), quoted(&d)),
                None => quoted(&error),
            };
            failed(
                F::ErrorRedirect,
                format!("The gateway stopped the sign-in: {detail}. Nothing was saved."),
            )
        }
        RedirectProblem::NoCode => failed(
            F::ErrorRedirect,
            "The gateway came back without an authorization code. Nothing was saved.",
        ),
        other => failed(
            F::ErrorRedirect,
            format!("The sign-in did not complete: {other}. Nothing was saved."),
        ),
    }
}

/// A code the token endpoint refused (spent, expired, another sign-in's) is the
/// sign-in's failure; anything else (network, gateway down) is the call's.
fn exchange_failure(e: ito_api::Error) -> Error {
    match e.failure() {
        Some(f) if f.code.as_deref() == Some("invalid_grant") => failed(
            SignInFailure::CodeRefused,
            format!(
                "The gateway refused the sign-in's authorization code: {} Nothing was saved; \
                 start the sign-in again.",
                quoted(&f.message)
            ),
        ),
        _ => e.into(),
    }
}

fn wait_text(d: Duration) -> String {
    match d.as_secs() {
        60 => "1 minute".into(),
        s if s > 60 && s % 60 == 0 => format!("{} minutes", s / 60),
        0 => format!("{} ms", d.as_millis()),
        1 => "1 second".into(),
        s => format!("{s} seconds"),
    }
}

fn scope_of(tokens: &TokenSet) -> Option<String> {
    tokens.scope.clone().filter(|s| !s.trim().is_empty())
}

/// Takes a waiting sign-in off the list however it ends, its future dropped included.
struct WaitTurn<'a> {
    sessions: &'a Sessions,
    key: Key,
    attempt: u64,
}

impl Drop for WaitTurn<'_> {
    fn drop(&mut self) {
        if let Ok(mut waiting) = self.sessions.waiting.lock()
            && waiting
                .get(&self.key)
                .is_some_and(|w| w.attempt == self.attempt)
        {
            waiting.remove(&self.key);
        }
    }
}

impl Sessions {
    pub fn new(desk: Arc<Desk>, events: SessionEventSink) -> Arc<Self> {
        Self::with_timeout(desk, events, SIGN_IN_TIMEOUT)
    }

    /// With another wait for the browser than [`SIGN_IN_TIMEOUT`] (tests).
    pub fn with_timeout(desk: Arc<Desk>, events: SessionEventSink, timeout: Duration) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            desk,
            events,
            timeout,
            me: me.clone(),
            live: Mutex::new(HashMap::new()),
            waiting: Mutex::new(HashMap::new()),
            counter: AtomicU64::new(0),
            sign_ins: tokio::sync::broadcast::Sender::new(16),
            keychain: tokio::sync::Mutex::new(()),
        })
    }

    fn store(&self) -> &Store {
        self.desk.store()
    }

    /// (profile id, user id) of each sign-in that completes from now on.
    pub fn sign_ins(&self) -> tokio::sync::broadcast::Receiver<(String, String)> {
        self.sign_ins.subscribe()
    }

    fn emit(&self, e: SessionEvent) {
        (self.events)(e);
    }

    fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Signs staff in as `user_id` on the active profile: `open_browser` gets the
    /// gateway's authorize URL, the app listens on 127.0.0.1 for the redirect, and
    /// the user's tokens go to the keychain. The browser tab says "Signed in" only
    /// once they are there. Ends with [`Error::SignIn`] on a denial, a cancel
    /// ([`Sessions::cancel_sign_in`]), the timeout, a wrong state, an error redirect,
    /// a refused code or another user's account; nothing is stored then.
    pub async fn sign_in(
        &self,
        user_id: &str,
        open_browser: impl FnOnce(&Url) -> Result<()> + Send,
    ) -> Result<UserSessionInfo> {
        let user = checked_user_id(user_id)?;
        let profile = self.desk.active_profile().await?;
        if profile.public_client_id.is_empty() {
            return Err(failed(
                SignInFailure::NoPublicClient,
                "This profile has no public client id, which signing in as a user needs. \
                 Add it to the profile in Settings.",
            ));
        }
        if !self.desk.vault()?.is_available() {
            // Never a plaintext fallback: without a keychain a sign-in could not be kept.
            return Err(Error::KeychainUnavailable(
                "The keychain is not available, so a user's sign-in could not be kept. Fix \
                 the keychain (see the banner), then sign in again."
                    .into(),
            ));
        }
        let client = self.desk.client(&profile).await?;
        let key = (profile.id.clone(), user);
        let (_turn, stop) = self.wait_turn(&key)?;
        self.browser_sign_in(&key, &client, open_browser, stop)
            .await
    }

    /// Registers a sign-in as waiting; one waiting before for the same user stops.
    fn wait_turn(&self, key: &Key) -> Result<(WaitTurn<'_>, oneshot::Receiver<&'static str>)> {
        let attempt = self.next();
        let (stop, stopped) = oneshot::channel();
        let earlier = self
            .waiting
            .lock()
            .map_err(poisoned)?
            .insert(key.clone(), Waiting { attempt, stop });
        if let Some(earlier) = earlier {
            let _ = earlier.stop.send(SUPERSEDED);
        }
        let turn = WaitTurn {
            sessions: self,
            key: key.clone(),
            attempt,
        };
        Ok((turn, stopped))
    }

    async fn browser_sign_in(
        &self,
        key: &Key,
        client: &Client,
        open_browser: impl FnOnce(&Url) -> Result<()>,
        stop: oneshot::Receiver<&'static str>,
    ) -> Result<UserSessionInfo> {
        let loopback = Loopback::bind().await?;
        let request = client.authorization_request(loopback.redirect_uri(), SCOPE)?;
        open_browser(request.url()).map_err(|e| {
            failed(
                SignInFailure::Browser,
                format!("The browser could not be opened ({e}). Nothing was saved."),
            )
        })?;
        let (redirect, reply) = tokio::select! {
            received = loopback.receive() => received?,
            why = stop => return Err(failed(SignInFailure::Cancelled, why.unwrap_or(CANCELLED))),
            () = tokio::time::sleep(self.timeout) => {
                return Err(failed(
                    SignInFailure::TimedOut,
                    format!(
                        "No answer came back from the browser within {}, so the sign-in \
                         stopped. Nothing was saved.",
                        wait_text(self.timeout)
                    ),
                ));
            }
        };
        let outcome = self.complete(key, client, request, &redirect).await;
        match &outcome {
            Ok(info) => {
                reply.signed_in().await;
                self.emit(SessionEvent::SignedIn(info.clone()));
                // Nobody listening is fine.
                let _ = self.sign_ins.send(key.clone());
            }
            Err(_) => reply.failed().await,
        }
        outcome
    }

    async fn complete(
        &self,
        key: &Key,
        client: &Client,
        request: AuthorizationRequest,
        redirect: &Redirect,
    ) -> Result<UserSessionInfo> {
        request.check_redirect(redirect).map_err(redirect_failure)?;
        let session = client
            .finish_sign_in(request, redirect)
            .await
            .map_err(exchange_failure)?;
        // The token answer does not name the user; their own `me` does. Without this,
        // whoever typed an account on the consent page would be filed as this user.
        let me = client.user(&session).me().await?;
        if me.id.as_str() != key.1 {
            return Err(failed(
                SignInFailure::WrongUser,
                format!(
                    "The browser signed in as {} <{}> (user {}), not as user {}. Nothing was \
                     saved; sign in with that user's account.",
                    me.name, me.email, me.id, key.1
                ),
            ));
        }
        self.keep(key, session).await
    }

    /// Stores a new sign-in: the tokens in the keychain, the listing in the database.
    async fn keep(&self, key: &Key, session: UserSession) -> Result<UserSessionInfo> {
        let tokens = session.tokens().await;
        let row = SessionRow {
            profile_id: key.0.clone(),
            user_id: key.1.clone(),
            expires_at: tokens.expires_at.timestamp_millis(),
            scope: scope_of(&tokens),
            signed_in_at: now_ms(),
        };
        let _turn = self.keychain.lock().await;
        let vault = self.desk.vault()?;
        let (v, (pid, uid)) = (Arc::clone(&vault), key.clone());
        blocking(move || v.put_user_tokens(&pid, &uid, &tokens)).await?;
        let listed = row.clone();
        if let Err(e) = self.store().write(move |tx| index::put(tx, &listed)).await {
            // A session the list does not show could never be signed out: take it back.
            let (pid, uid) = key.clone();
            let _ = blocking(move || vault.delete_user_tokens(&pid, &uid)).await;
            return Err(e);
        }
        let generation = self.next();
        let session = self.persisting(session, key.clone(), generation);
        self.live.lock().map_err(poisoned)?.insert(
            key.clone(),
            Live {
                session,
                generation,
            },
        );
        Ok(UserSessionInfo::from(&row))
    }

    /// Has each refresh's tokens written to the keychain before the session uses them.
    fn persisting(&self, session: UserSession, key: Key, generation: u64) -> UserSession {
        let me = self.me.clone();
        session.on_refresh_async(move |tokens| {
            let (me, key) = (me.clone(), key.clone());
            async move {
                if let Some(sessions) = me.upgrade() {
                    sessions.persist_refreshed(&key, generation, tokens).await;
                }
            }
        })
    }

    async fn persist_refreshed(&self, key: &Key, generation: u64, tokens: TokenSet) {
        let _turn = self.keychain.lock().await;
        if !self.is_current(key, generation) {
            // Signed out or replaced meanwhile: these tokens are nobody's now.
            return;
        }
        match self.save_refreshed(key, tokens).await {
            Ok(Some(row)) => self.emit(SessionEvent::Refreshed(UserSessionInfo::from(&row))),
            Ok(None) => {}
            Err(e) => self.emit(SessionEvent::NotSaved {
                profile_id: key.0.clone(),
                user_id: key.1.clone(),
                message: format!(
                    "The renewed sign-in of user {} could not be saved ({e}). It works until \
                     the app quits; then sign in as the user again.",
                    key.1
                ),
            }),
        }
    }

    async fn save_refreshed(&self, key: &Key, tokens: TokenSet) -> Result<Option<SessionRow>> {
        let vault = self.desk.vault()?;
        let (expires_at, scope) = (tokens.expires_at.timestamp_millis(), scope_of(&tokens));
        let (pid, uid) = key.clone();
        blocking(move || vault.put_user_tokens(&pid, &uid, &tokens)).await?;
        let (pid, uid) = key.clone();
        self.store()
            .write(move |tx| index::refreshed(tx, &pid, &uid, expires_at, scope.as_deref()))
            .await
    }

    fn is_current(&self, key: &Key, generation: u64) -> bool {
        self.live
            .lock()
            .is_ok_and(|live| live.get(key).is_some_and(|l| l.generation == generation))
    }

    fn current(&self, key: &Key) -> Result<Option<(UserSession, u64)>> {
        Ok(self
            .live
            .lock()
            .map_err(poisoned)?
            .get(key)
            .map(|l| (l.session.clone(), l.generation)))
    }

    /// The user's session in use, or the one the keychain holds. One instance per
    /// user: two refreshing apart would present a spent refresh token, and the
    /// gateway would revoke the sign-in.
    async fn live_session(&self, key: &Key) -> Result<(UserSession, u64)> {
        if let Some(found) = self.current(key)? {
            return Ok(found);
        }
        let _turn = self.keychain.lock().await;
        if let Some(found) = self.current(key)? {
            return Ok(found);
        }
        let (pid, uid) = key.clone();
        let listed = self
            .store()
            .read(move |c| index::get(c, &pid, &uid))
            .await?
            .is_some();
        let vault = self.desk.vault()?;
        let (pid, uid) = key.clone();
        let stored = if listed {
            blocking(move || vault.user_tokens(&pid, &uid)).await?
        } else {
            // Not listed: a sign-out or a profile removal that could not reach the
            // keychain left these behind.
            blocking(move || vault.delete_user_tokens(&pid, &uid)).await?;
            None
        };
        let Some(tokens) = stored else {
            // Listed, but deleted from the keychain by hand: not signed in any more.
            let (pid, uid) = key.clone();
            self.store()
                .write(move |tx| index::delete(tx, &pid, &uid))
                .await?;
            return Err(not_signed_in(&key.1));
        };
        let generation = self.next();
        let session = self.persisting(UserSession::new(tokens), key.clone(), generation);
        self.live.lock().map_err(poisoned)?.insert(
            key.clone(),
            Live {
                session: session.clone(),
                generation,
            },
        );
        Ok((session, generation))
    }

    /// The user's own view on the active profile, for a user signed in there.
    pub async fn user_client(self: &Arc<Self>, user_id: &str) -> Result<UserClient> {
        let profile = self.desk.active_profile().await?;
        self.user_client_of(&profile, user_id).await
    }

    /// The user's own view on any profile, active or not, for a user signed in there:
    /// for work that outlives a profile switch (a KYC form's unsent edits).
    pub async fn user_client_for(
        self: &Arc<Self>,
        profile_id: &str,
        user_id: &str,
    ) -> Result<UserClient> {
        let profile = profiles::get(self.store(), profile_id).await?;
        self.user_client_of(&profile, user_id).await
    }

    async fn user_client_of(
        self: &Arc<Self>,
        profile: &StoredProfile,
        user_id: &str,
    ) -> Result<UserClient> {
        let user = checked_user_id(user_id)?;
        let client = self.desk.client(profile).await?;
        let key = (profile.id.clone(), user);
        let (session, generation) = self.live_session(&key).await?;
        Ok(UserClient {
            sessions: Arc::clone(self),
            user_id: UserId::new(key.1.clone()),
            key,
            generation,
            client,
            session,
        })
    }

    /// The users signed in on the active profile, the latest sign-in first.
    pub async fn sessions(&self) -> Result<Vec<UserSessionInfo>> {
        let profile = self.desk.active_profile().await?;
        let rows = self
            .store()
            .read(move |c| index::list(c, &profile.id))
            .await?;
        Ok(rows.iter().map(UserSessionInfo::from).collect())
    }

    /// Stops a sign-in as `user_id` waiting for the browser on the active profile;
    /// false when none was.
    pub async fn cancel_sign_in(&self, user_id: &str) -> Result<bool> {
        let user = checked_user_id(user_id)?;
        let profile = self.desk.active_profile().await?;
        let waiting = self
            .waiting
            .lock()
            .map_err(poisoned)?
            .remove(&(profile.id, user));
        Ok(waiting.is_some_and(|w| w.stop.send(CANCELLED).is_ok()))
    }

    /// Signs staff out of `user_id`'s session on the active profile: its keychain
    /// entry is deleted. The gateway has no revocation endpoint, so the tokens stay
    /// valid there until they expire; nothing in the app holds them any more.
    pub async fn sign_out(&self, user_id: &str) -> Result<()> {
        let user = checked_user_id(user_id)?;
        let profile = self.desk.active_profile().await?;
        let message = format!("Signed out of user {user}'s session.");
        self.end(
            &(profile.id, user),
            None,
            SessionEndReason::SignedOut,
            message,
        )
        .await
    }

    /// Ends a session: out of memory, the keychain and the list. With `generation`,
    /// only if that session is still the current one.
    async fn end(
        &self,
        key: &Key,
        generation: Option<u64>,
        reason: SessionEndReason,
        message: String,
    ) -> Result<()> {
        let _turn = self.keychain.lock().await;
        {
            let mut live = self.live.lock().map_err(poisoned)?;
            if let Some(g) = generation
                && live.get(key).map(|l| l.generation) != Some(g)
            {
                // A newer sign-in replaced the one that failed, or it already ended.
                return Ok(());
            }
            live.remove(key);
        }
        let vault = self.desk.vault()?;
        let (pid, uid) = key.clone();
        blocking(move || vault.delete_user_tokens(&pid, &uid)).await?;
        let (pid, uid) = key.clone();
        self.store()
            .write(move |tx| index::delete(tx, &pid, &uid))
            .await?;
        self.emit(SessionEvent::Ended {
            profile_id: key.0.clone(),
            user_id: key.1.clone(),
            reason,
            message,
        });
        Ok(())
    }

    /// The gateway refused the session's tokens for good (a 401 that a refresh could
    /// not cure: the sign-in was revoked, for example after a refresh token was used
    /// twice): the user is signed out.
    async fn ended_by_gateway(&self, key: &Key, generation: u64, e: &ito_api::Error) -> Error {
        let message = format!(
            "The gateway no longer accepts the sign-in of user {} ({}), so they were signed \
             out. Sign in as the user again.",
            key.1,
            quoted(&e.message())
        );
        if let Err(failure) = self
            .end(
                key,
                Some(generation),
                SessionEndReason::Revoked,
                message.clone(),
            )
            .await
        {
            return failure;
        }
        Error::SessionEnded {
            user_id: key.1.clone(),
            message,
        }
    }
}

/// Deletes the keychain entries of every user signed in on a profile being removed
/// (its rows go with the profile's). Blocking work off the runtime.
pub(crate) async fn forget_profile(
    store: &Store,
    vault: &Arc<Vault>,
    profile_id: &str,
) -> Result<()> {
    let pid = profile_id.to_owned();
    let users: Vec<String> = store
        .read(move |c| {
            Ok(index::list(c, &pid)?
                .into_iter()
                .map(|r| r.user_id)
                .collect())
        })
        .await?;
    let (vault, pid) = (Arc::clone(vault), profile_id.to_owned());
    blocking(move || {
        for user in &users {
            vault.delete_user_tokens(&pid, user)?;
        }
        Ok(())
    })
    .await
}

/// A signed-in user's own routes (`/api/oauth/user/*`). A call the gateway refuses
/// for good with a 401 signs the user out and fails with [`Error::SessionEnded`].
#[derive(Clone)]
pub struct UserClient {
    sessions: Arc<Sessions>,
    key: Key,
    user_id: UserId,
    generation: u64,
    client: Client,
    session: UserSession,
}

impl std::fmt::Debug for UserClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserClient")
            .field("profile_id", &self.key.0)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

impl UserClient {
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// The profile the session belongs to.
    pub fn profile_id(&self) -> &str {
        &self.key.0
    }

    /// The SDK's user routes, for calls without a method here; pass their result
    /// through [`UserClient::settle`].
    pub fn api(&self) -> UserApi<'_> {
        self.client.user(&self.session)
    }

    /// A user call's result, with a final 401 turned into a sign-out.
    pub async fn settle<T>(&self, result: ito_api::Result<T>) -> Result<T> {
        match result {
            Err(e) if e.kind() == ito_api::ErrorKind::Unauthorized => Err(self
                .sessions
                .ended_by_gateway(&self.key, self.generation, &e)
                .await),
            other => other.map_err(Error::from),
        }
    }

    pub async fn me(&self) -> Result<User> {
        self.settle(self.api().me().await).await
    }

    pub async fn balance(&self) -> Result<Balances> {
        self.settle(self.api().balance().await).await
    }

    pub async fn transactions(&self, query: &TransactionQuery) -> Result<Page<Transaction>> {
        self.settle(self.api().transactions(query).await).await
    }

    pub async fn cards(&self) -> Result<Vec<Card>> {
        self.settle(self.api().cards().await).await
    }

    pub async fn kyc(&self) -> Result<Kyc> {
        self.settle(self.api().kyc().await).await
    }
}
