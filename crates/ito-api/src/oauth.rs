//! OAuth 2.0: the merchant's client-credentials token (cached, renewed before it
//! expires), and user sign-in with the authorization code and PKCE (RFC 7636),
//! with rotating refresh tokens.

mod loopback;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use oauth2::{CsrfToken, PkceCodeChallenge, PkceCodeVerifier};
use reqwest::Method;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tokio::sync::{Mutex, OwnedMutexGuard};
use url::Url;

pub use loopback::{BrowserReply, Loopback};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::transport::{Auth, Call};

/// A token is renewed this long before it expires (a fifth of its lifetime for
/// short-lived tokens), so that no call goes out with one about to die.
const RENEW_MARGIN: Duration = Duration::from_secs(60);

fn renew_margin(lifetime: Duration) -> Duration {
    RENEW_MARGIN.min(lifetime / 5)
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Secret,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<Secret>,
    #[serde(default)]
    scope: Option<String>,
}

/// One token at a time, shared by all clones of a client. The lock is held while a
/// new token is fetched, so concurrent calls wait for one request instead of each
/// sending their own.
#[derive(Default)]
pub(crate) struct TokenCache {
    slot: Mutex<Option<(Secret, Instant)>>,
}

impl TokenCache {
    /// Forgets `used` if it is still the cached token (a 401 proved it dead).
    pub async fn invalidate(&self, used: &Secret) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|(t, _)| t == used) {
            *slot = None;
        }
    }
}

/// The tokens of a signed-in user. Persist them (in the keychain) after every
/// refresh: refresh tokens rotate, and an old one revokes the whole family.
#[derive(Clone, Debug)]
pub struct TokenSet {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub expires_at: DateTime<Utc>,
    pub scope: Option<String>,
}

impl TokenSet {
    fn from_response(r: TokenResponse, previous_refresh: Option<&Secret>) -> Self {
        let lifetime = Duration::from_secs(r.expires_in.unwrap_or(3600));
        Self {
            access_token: r.access_token,
            // A refresh answer without a new refresh token keeps the old one valid.
            refresh_token: r.refresh_token.or_else(|| previous_refresh.cloned()),
            expires_at: Utc::now()
                + chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::hours(1)),
            scope: r.scope,
        }
    }

    /// When to refresh, given the time the tokens had left when they arrived.
    fn renew_at(&self, lifetime: Duration) -> DateTime<Utc> {
        let margin = chrono::Duration::from_std(renew_margin(lifetime)).unwrap_or_default();
        self.expires_at - margin
    }
}

/// The tokens and when to renew them.
struct SessionState {
    tokens: TokenSet,
    renew_at: DateTime<Utc>,
}

impl SessionState {
    fn new(tokens: TokenSet) -> Self {
        // What is left now stands for the lifetime: exact for fresh tokens, and
        // conservative for stored ones.
        let left = (tokens.expires_at - Utc::now())
            .to_std()
            .unwrap_or_default();
        let renew_at = tokens.renew_at(left);
        Self { tokens, renew_at }
    }
}

type RefreshHook = Arc<dyn Fn(TokenSet) -> BoxFuture<'static, ()> + Send + Sync>;

/// A signed-in user's session: use it with [`Client::user`]. Cheap to clone; clones
/// share the tokens, which it refreshes by itself, one refresh at a time.
#[derive(Clone)]
pub struct UserSession {
    state: Arc<Mutex<SessionState>>,
    on_refresh: Option<RefreshHook>,
}

impl fmt::Debug for UserSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserSession").finish_non_exhaustive()
    }
}

impl UserSession {
    /// Resumes a session from stored tokens.
    pub fn new(tokens: TokenSet) -> Self {
        Self {
            state: Arc::new(Mutex::new(SessionState::new(tokens))),
            on_refresh: None,
        }
    }

    /// Called with the new tokens after each refresh, to persist them.
    pub fn on_refresh(self, hook: impl Fn(&TokenSet) + Send + Sync + 'static) -> Self {
        self.on_refresh_async(move |tokens: TokenSet| {
            hook(&tokens);
            std::future::ready(())
        })
    }

    /// Awaited with the new tokens after each refresh, before the session uses them
    /// or forgets the old ones: write them to the keychain here. Calls wait for it.
    pub fn on_refresh_async<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(TokenSet) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.on_refresh = Some(Arc::new(move |tokens| Box::pin(hook(tokens))));
        self
    }

    /// The current tokens.
    pub async fn tokens(&self) -> TokenSet {
        self.state.lock().await.tokens.clone()
    }

    async fn lock(&self) -> OwnedMutexGuard<SessionState> {
        Arc::clone(&self.state).lock_owned().await
    }

    /// A usable access token, refreshed first when it is about to expire.
    pub(crate) async fn access_token(&self, client: &Client) -> Result<Secret> {
        let mut state = self.lock().await;
        if Utc::now() >= state.renew_at && state.tokens.refresh_token.is_some() {
            state = self.refresh_locked(client, state).await?;
        }
        Ok(state.tokens.access_token.clone())
    }

    /// After a 401 with `used`: true when a different token is now available.
    pub(crate) async fn refresh_after_rejection(
        &self,
        client: &Client,
        used: &Secret,
    ) -> Result<bool> {
        let state = self.lock().await;
        if state.tokens.access_token != *used {
            return Ok(true);
        }
        if state.tokens.refresh_token.is_none() {
            return Ok(false);
        }
        self.refresh_locked(client, state).await?;
        Ok(true)
    }

    /// Refreshes now, whatever the expiry (for example after a password change).
    pub async fn refresh(&self, client: &Client) -> Result<TokenSet> {
        let state = self.lock().await;
        let state = self.refresh_locked(client, state).await?;
        Ok(state.tokens.clone())
    }

    /// Refreshes on a task of its own, which holds the lock to the end: once sent,
    /// the old refresh token is spent, so a caller that gives up (a dropped future)
    /// must not take the new tokens, or their persisting, down with it. The future is
    /// boxed and declared `Send` because a refresh is itself a call, whose future
    /// contains this one.
    fn refresh_locked(
        &self,
        client: &Client,
        mut state: OwnedMutexGuard<SessionState>,
    ) -> BoxFuture<'static, Result<OwnedMutexGuard<SessionState>>> {
        let client = client.clone();
        let hook = self.on_refresh.clone();
        let task = tokio::spawn(async move {
            let refresh =
                state.tokens.refresh_token.clone().ok_or_else(|| {
                    Error::Authorization("this session has no refresh token".into())
                })?;
            let tokens = client
                .refresh_user_tokens(&refresh)
                .await
                .map_err(|e| match e {
                    // A spent or revoked refresh token ends the session: sign in again.
                    Error::BadRequest(f) if f.code.as_deref() == Some("invalid_grant") => {
                        Error::Unauthorized(f)
                    }
                    other => other,
                })?;
            if let Some(hook) = &hook {
                hook(tokens.clone()).await;
            }
            *state = SessionState::new(tokens);
            Ok(state)
        });
        Box::pin(async move {
            task.await.map_err(|e| {
                Error::Authorization(format!("the token refresh did not finish: {e}"))
            })?
        })
    }
}

/// A started authorization-code flow: send the user to [`url`](Self::url), then
/// finish with [`Client::finish_sign_in`] and the redirect's parameters.
pub struct AuthorizationRequest {
    url: Url,
    state: CsrfToken,
    verifier: PkceCodeVerifier,
    redirect_uri: String,
}

impl fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("url", &self.url.as_str())
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl AuthorizationRequest {
    /// The authorize URL, with an S256 challenge and a random state.
    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    pub fn state(&self) -> &str {
        self.state.secret()
    }

    /// The redirect's code, once its state is this sign-in's (compared in constant
    /// time) and it carries no error.
    pub fn check_redirect<'r>(
        &self,
        redirect: &'r Redirect,
    ) -> std::result::Result<&'r str, RedirectProblem> {
        let state_ok = redirect
            .state
            .as_deref()
            .is_some_and(|s| bool::from(s.as_bytes().ct_eq(self.state().as_bytes())));
        if !state_ok {
            return Err(RedirectProblem::StateMismatch);
        }
        if let Some(error) = &redirect.error {
            return Err(if error == "access_denied" {
                RedirectProblem::Denied
            } else {
                RedirectProblem::Refused {
                    error: error.clone(),
                    description: redirect.error_description.clone(),
                }
            });
        }
        redirect.code.as_deref().ok_or(RedirectProblem::NoCode)
    }
}

/// Why a redirect does not complete its sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedirectProblem {
    /// No state, or another sign-in's: whatever it carries is not this sign-in's answer.
    StateMismatch,
    /// The user refused on the consent page (`error=access_denied`).
    Denied,
    /// Another `error` from the authorization server.
    Refused {
        error: String,
        description: Option<String>,
    },
    /// Neither a code nor an error.
    NoCode,
}

impl fmt::Display for RedirectProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StateMismatch => f.write_str("the redirect's state does not match this sign-in"),
            Self::Denied => f.write_str("the user denied access"),
            Self::Refused { error, description } => match description {
                Some(d) if !d.is_empty() => write!(f, "{error} {d}"),
                _ => f.write_str(error),
            },
            Self::NoCode => f.write_str("the redirect carries no code"),
        }
    }
}

/// The query of the redirect back to the app.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Redirect {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl Redirect {
    /// Reads the parameters of a redirect URL's query.
    pub fn from_query(query: &str) -> Self {
        let mut r = Self::default();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let v = Some(v.into_owned());
            match k.as_ref() {
                "code" => r.code = v,
                "state" => r.state = v,
                "error" => r.error = v,
                "error_description" => r.error_description = v,
                _ => {}
            }
        }
        r
    }
}

impl Client {
    fn oauth_client_id(&self, public: bool) -> Result<&str> {
        let c = &self.inner.credentials;
        let id = if public {
            c.public_client_id.as_deref()
        } else {
            c.client_id.as_deref()
        };
        id.ok_or_else(|| {
            Error::InvalidInput(if public {
                "the credentials have no public client id for user sign-in".into()
            } else {
                "the credentials have no OAuth client id".into()
            })
        })
    }

    /// Asks the token endpoint for a new client-credentials token even when one is
    /// cached, which proves the OAuth client id and secret work right now ("test
    /// connection"). Later merchant calls use the new token.
    pub async fn fetch_merchant_token(&self) -> Result<()> {
        *self.inner.merchant_token.slot.lock().await = None;
        self.merchant_token().await.map(drop)
    }

    /// The merchant's bearer token for `/api/oauth/merchant/*`, from the cache when it
    /// has more than a minute left.
    pub(crate) async fn merchant_token(&self) -> Result<Secret> {
        let mut slot = self.inner.merchant_token.slot.lock().await;
        if let Some((token, renew_at)) = slot.as_ref()
            && Instant::now() < *renew_at
        {
            return Ok(token.clone());
        }
        let client_id = self.oauth_client_id(false)?;
        let secret = self
            .inner
            .credentials
            .client_secret
            .as_ref()
            .ok_or_else(|| {
                Error::InvalidInput("the credentials have no OAuth client secret".into())
            })?;
        let call = Call::new(self, Method::POST, &["oauth", "token"], Auth::None)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret.expose()),
                ("scope", ""),
            ])
            .repeatable();
        // Boxed: fetching a token is itself a call, inside the call that needs it.
        let r: TokenResponse = Box::pin(self.fetch(call)).await?;
        let lifetime = Duration::from_secs(r.expires_in.unwrap_or(3600));
        let renew_at = Instant::now() + lifetime.saturating_sub(renew_margin(lifetime));
        *slot = Some((r.access_token.clone(), renew_at));
        Ok(r.access_token)
    }

    /// Starts a sign-in: a fresh PKCE verifier (S256) and state for `redirect_uri`.
    pub fn authorization_request(
        &self,
        redirect_uri: &str,
        scope: &str,
    ) -> Result<AuthorizationRequest> {
        let client_id = self.oauth_client_id(true)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = CsrfToken::new_random();
        let mut url = self.inner.env.base_url().clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["oauth", "authorize"]);
        }
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", scope)
            .append_pair("state", state.secret())
            .append_pair("code_challenge", challenge.as_str())
            .append_pair("code_challenge_method", challenge.method().as_str());
        Ok(AuthorizationRequest {
            url,
            state,
            verifier,
            redirect_uri: redirect_uri.to_owned(),
        })
    }

    /// Checks the redirect's state, then exchanges its code for tokens.
    pub async fn finish_sign_in(
        &self,
        request: AuthorizationRequest,
        redirect: &Redirect,
    ) -> Result<UserSession> {
        let code = request
            .check_redirect(redirect)
            .map_err(|p| Error::Authorization(p.to_string()))?;
        let client_id = self.oauth_client_id(true)?;
        let call = Call::new(self, Method::POST, &["oauth", "token"], Auth::None).form(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("redirect_uri", &request.redirect_uri),
            ("code", code),
            ("code_verifier", request.verifier.secret()),
        ]);
        let r: TokenResponse = self.fetch(call).await?;
        Ok(UserSession::new(TokenSet::from_response(r, None)))
    }

    /// Trades a refresh token for new tokens. The old refresh token is spent: keep
    /// the returned one. Never retried, since a lost answer would leave only a spent token.
    pub async fn refresh_user_tokens(&self, refresh_token: &Secret) -> Result<TokenSet> {
        let client_id = self.oauth_client_id(true)?;
        let call = Call::new(self, Method::POST, &["oauth", "token"], Auth::None).form(&[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", refresh_token.expose()),
        ]);
        let r: TokenResponse = Box::pin(self.fetch(call)).await?;
        Ok(TokenSet::from_response(r, Some(refresh_token)))
    }
}
