//! The client: where it talks to (environment), who it is (credentials), and how
//! patient it is (timeouts, retries).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{Error, Result};
use crate::oauth::TokenCache;
use crate::observer::Observer;
use crate::secret::Secret;
use crate::signing::RecentSignatures;

/// The merchant account's service mode: payments in `Test` mode move no money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Test,
    Active,
}

/// Where requests go and in which mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Environment {
    mode: Mode,
    base_url: Url,
}

impl Environment {
    /// The production gateway; the merchant's dashboard setting decides the mode.
    pub const GATEWAY_URL: &'static str = "https://payment.ito-japan.jp";

    pub fn new(mode: Mode, base_url: &str) -> Result<Self> {
        let base_url = Url::parse(base_url)?;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.host().is_none() {
            return Err(Error::InvalidInput(format!(
                "the base URL must be an absolute http(s) URL, not {base_url}"
            )));
        }
        Ok(Self { mode, base_url })
    }

    /// The real gateway at [`Environment::GATEWAY_URL`].
    pub fn gateway(mode: Mode) -> Self {
        Self {
            mode,
            base_url: Url::parse(Self::GATEWAY_URL)
                .unwrap_or_else(|_| unreachable!("the gateway URL is a valid constant")),
        }
    }

    /// A local sandbox (`ito-sandbox serve`), always in test mode.
    pub fn sandbox(base_url: &str) -> Result<Self> {
        Self::new(Mode::Test, base_url)
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn base_url(&self) -> &Url {
        &self.base_url
    }
}

/// A merchant's credentials, as the gateway's dashboard (or `ito-sandbox merchant
/// create`) issues them. The OAuth ones are needed only for the OAuth routes.
#[derive(Clone, Debug, Deserialize)]
pub struct Credentials {
    pub access_key: Secret,
    pub secret_key: Secret,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// The public (PKCE) client of the merchant's app.
    #[serde(default)]
    pub public_client_id: Option<String>,
}

impl Credentials {
    pub fn new(access_key: impl Into<Secret>, secret_key: impl Into<Secret>) -> Self {
        Self {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            client_id: None,
            client_secret: None,
            public_client_id: None,
        }
    }

    /// Adds the confidential OAuth client used for `/api/oauth/merchant/*`.
    pub fn with_oauth(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
    ) -> Self {
        self.client_id = Some(client_id.into());
        self.client_secret = Some(client_secret.into());
        self
    }

    /// Adds the public client used for user sign-in with PKCE.
    pub fn with_public_client(mut self, public_client_id: impl Into<String>) -> Self {
        self.public_client_id = Some(public_client_id.into());
        self
    }
}

/// When and how often a failed call is tried again. Only calls that are safe to
/// repeat are retried: GET, PUT, DELETE, and POST with an idempotency key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included; 1 disables retries.
    pub max_attempts: u32,
    /// The first backoff; each retry doubles it, with jitter, up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` longer than this ends the retries instead of waiting.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Backoff before retry number `retry` (1-based): exponential, capped, with
    /// "equal jitter" so that concurrent clients spread out but never retry at once.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(
                1u32.checked_shl(retry.saturating_sub(1))
                    .unwrap_or(u32::MAX),
            )
            .min(self.max_delay);
        let half = exp / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(rand::random_range(0..=jitter_ms))
    }
}

/// Builds a [`Client`]; see [`Client::builder`].
#[must_use]
pub struct ClientBuilder {
    env: Environment,
    credentials: Credentials,
    connect_timeout: Duration,
    timeout: Duration,
    retry: RetryPolicy,
    observer: Option<Arc<dyn Observer>>,
    user_agent: String,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("env", &self.env)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Limit on establishing a connection (default 5 s).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Limit on one whole attempt, body included (default 30 s).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sees every attempt; see [`crate::Observer`].
    pub fn observer(mut self, observer: impl Observer) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// Appended to this crate's own `User-Agent`.
    pub fn user_agent(mut self, product: &str) -> Self {
        self.user_agent = format!("{} {product}", self.user_agent);
        self
    }

    pub fn build(self) -> Result<Client> {
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .user_agent(&self.user_agent)
            // Redirects from the API would only hide errors; the checkout's 303s are
            // for browsers, not for this client.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::InvalidInput(format!("HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                env: self.env,
                credentials: self.credentials,
                http,
                retry: self.retry,
                observer: self.observer,
                merchant_token: TokenCache::default(),
                signatures: RecentSignatures::default(),
            }),
        })
    }
}

/// The gateway client. Cheap to clone (one `Arc`) and safe to share across tasks:
/// clones share the connection pool and the merchant token cache.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub env: Environment,
    pub credentials: Credentials,
    pub http: reqwest::Client,
    pub retry: RetryPolicy,
    pub observer: Option<Arc<dyn Observer>>,
    pub merchant_token: TokenCache,
    pub signatures: RecentSignatures,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("env", &self.inner.env)
            .field("access_key", &self.inner.credentials.access_key.masked())
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with default timeouts and retries.
    pub fn new(env: Environment, credentials: Credentials) -> Result<Self> {
        Self::builder(env, credentials).build()
    }

    pub fn builder(env: Environment, credentials: Credentials) -> ClientBuilder {
        ClientBuilder {
            env,
            credentials,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            observer: None,
            user_agent: concat!("ito-api/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }

    pub fn environment(&self) -> &Environment {
        &self.inner.env
    }

    pub fn mode(&self) -> Mode {
        self.inner.env.mode
    }

    pub fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            max_retry_after: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let d1 = p.backoff(1);
            assert!((50..=100).contains(&d1.as_millis()), "{d1:?}");
            let d3 = p.backoff(3);
            assert!((200..=400).contains(&d3.as_millis()), "{d3:?}");
            let d9 = p.backoff(9);
            assert!((500..=1000).contains(&d9.as_millis()), "{d9:?}");
        }
        assert!(p.backoff(200) <= Duration::from_secs(1));
    }

    #[test]
    fn debug_shows_no_secret() {
        let c = Client::new(
            Environment::gateway(Mode::Active),
            Credentials::new("ak_0123456789abcdef", "sk_0123456789abcdef")
                .with_oauth("cid", "cs_0123456789abcdef"),
        )
        .unwrap();
        let shown = format!("{c:?} {:?}", c.credentials());
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(shown.contains("…cdef"));
        assert!(Environment::sandbox("ftp://x").is_err());
    }
}
