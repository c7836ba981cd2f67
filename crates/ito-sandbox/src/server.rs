//! The HTTP server: configuration, shared state, the router and its lifecycle.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use serde_json::Map;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::db::{Db, Durability};
use crate::error::{Error, Result, envelope};
use crate::faults::{FaultSetting, Faults};
use crate::merchants::{self, MerchantCredentials};
use crate::seed::{self, SeedOptions};
use crate::{
    cards, checkout, control, faults, ids, kyc, oauth, openapi, payments, transactions, users,
    webhooks,
};

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub db_path: PathBuf,
    /// Base of the URLs the sandbox hands out (checkout links); defaults to the listening address.
    pub public_url: Option<String>,
    /// First webhook retry delay; each further retry doubles it, up to [`Config::webhook_retry_cap`].
    pub webhook_retry_base: Duration,
    pub webhook_retry_cap: Duration,
    /// Attempts per delivery before it is marked failed.
    pub webhook_max_attempts: u32,
    pub webhook_timeout: Duration,
    /// How long a payment stays payable.
    pub payment_ttl: Duration,
    /// Write `demo-merchant.json` beside the database when a demo merchant is created.
    pub write_demo_file: bool,
    /// Give a newly created demo merchant some users, KYC forms, cards and history.
    pub demo_data: bool,
    /// Approve submitted KYC forms after this delay; `None` leaves them to the control API.
    pub kyc_auto_review: Option<Duration>,
    /// Lifetime of OAuth access tokens (`expires_in`).
    pub oauth_access_ttl: Duration,
    /// Lifetime of authorization codes.
    pub oauth_code_ttl: Duration,
    /// Fault settings stored at start, in order (`serve --faults`).
    pub faults: Vec<FaultSetting>,
    pub durability: Durability,
}

impl Config {
    pub fn new(addr: SocketAddr, db_path: PathBuf) -> Self {
        Self {
            addr,
            db_path,
            public_url: None,
            webhook_retry_base: Duration::from_secs(30),
            webhook_retry_cap: Duration::from_secs(3600),
            webhook_max_attempts: 12,
            webhook_timeout: Duration::from_secs(10),
            payment_ttl: Duration::from_secs(24 * 3600),
            write_demo_file: true,
            demo_data: true,
            kyc_auto_review: None,
            oauth_access_ttl: Duration::from_secs(3600),
            oauth_code_ttl: Duration::from_secs(60),
            faults: Vec::new(),
            durability: Durability::default(),
        }
    }
}

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub public_url: Arc<str>,
    pub http: reqwest::Client,
    /// Wakes the webhook worker when a delivery is queued.
    pub webhook_wake: Arc<Notify>,
    /// Wakes the KYC auto-review worker when a form is submitted.
    pub kyc_review_wake: Arc<Notify>,
    pub faults: Faults,
}

/// A running sandbox. Dropping it does not stop it; call [`Server::shutdown`].
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    public_url: Arc<str>,
    db: Db,
    demo_merchant: Option<MerchantCredentials>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// Opens the database, binds, and starts serving and delivering webhooks.
    /// Returns once the listener is bound, so requests can be sent at once.
    pub async fn start(config: Config) -> Result<Self> {
        let db = Db::open_with(&config.db_path, config.durability)?;
        let demo_merchant = ensure_demo_merchant(&db, &config).await?;
        let settings = config.faults.clone();
        db.write(move |tx| faults::apply_settings(tx, &settings))
            .await?;
        let faults = db.read(Faults::load).await?;
        let listener = TcpListener::bind(config.addr).await?;
        let local_addr = listener.local_addr()?;
        let public_url: Arc<str> = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local_addr}"))
            .trim_end_matches('/')
            .into();
        let http = reqwest::Client::builder()
            .timeout(config.webhook_timeout)
            .user_agent(concat!("ito-sandbox/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Internal(format!("http client: {e}")))?;
        let state = AppState {
            db: db.clone(),
            config: Arc::new(config),
            public_url: Arc::clone(&public_url),
            http,
            webhook_wake: Arc::new(Notify::new()),
            kyc_review_wake: Arc::new(Notify::new()),
            faults,
        };
        let (stop, stopped) = watch::channel(false);
        let app = router(state.clone());
        let mut serve_stop = stopped.clone();
        let serve = tokio::spawn(async move {
            let shutdown = async move {
                let _ = serve_stop.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(error = %e, "server stopped");
            }
        });
        let mut tasks = Vec::new();
        if let Some(delay) = state.config.kyc_auto_review {
            tasks.push(tokio::spawn(kyc::run_auto_review(
                state.clone(),
                delay,
                stopped.clone(),
            )));
        }
        tasks.push(tokio::spawn(oauth::run_sweeper(
            state.clone(),
            stopped.clone(),
        )));
        let worker = tokio::spawn(webhooks::run_worker(state, stopped));
        Ok(Self {
            local_addr,
            public_url,
            db,
            demo_merchant,
            stop,
            tasks: [serve, worker].into_iter().chain(tasks).collect(),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://HOST:PORT` of the listener.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The demo merchant, when this start created it (first start on an empty database).
    pub fn demo_merchant(&self) -> Option<&MerchantCredentials> {
        self.demo_merchant.as_ref()
    }

    /// Stops accepting connections, lets in-flight requests and webhook attempts finish.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

async fn ensure_demo_merchant(db: &Db, config: &Config) -> Result<Option<MerchantCredentials>> {
    let demo_data = config.demo_data;
    let created = db
        .write(move |tx| {
            if merchants::is_empty(tx)? {
                let m = merchants::create(tx, "Demo Merchant", true)?;
                if demo_data {
                    let hash = users::hash_password(seed::SEED_PASSWORD);
                    seed::populate(tx, &m, SeedOptions::DEMO, &hash)?;
                    payments::seed_demo(tx, &m.merchant_id, ids::now_ms())?;
                }
                Ok(Some(m))
            } else {
                Ok(None)
            }
        })
        .await?;
    if let (Some(m), true) = (&created, config.write_demo_file) {
        let path = config
            .db_path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(
                || PathBuf::from("demo-merchant.json"),
                |d| d.join("demo-merchant.json"),
            );
        let json = serde_json::to_vec_pretty(m).map_err(|e| Error::Internal(e.to_string()))?;
        std::fs::write(&path, json)?;
    }
    Ok(created)
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi::document))
        .merge(payments::routes())
        .merge(checkout::routes())
        .merge(control::routes())
        .merge(oauth::routes())
        .merge(users::routes())
        .merge(kyc::routes())
        .merge(transactions::routes())
        .merge(cards::routes())
        .merge(faults::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(request_id))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            envelope(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error.",
                Map::new(),
            )
        }))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn not_found() -> Response {
    envelope(StatusCode::NOT_FOUND, "Route not found.", Map::new())
}

async fn method_not_allowed() -> Response {
    envelope(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed.",
        Map::new(),
    )
}

/// Echoes the client's `X-Request-Id` or assigns one, so both sides can correlate logs.
async fn request_id(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .filter(|v| v.len() <= 128)
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&ids::prefixed("req_", 20))
                .unwrap_or(HeaderValue::from_static("req"))
        });
    let mut res = next.run(req).await;
    if is_bare_rejection(&res) {
        res = enveloped(res).await;
    }
    res.headers_mut().insert("x-request-id", id);
    res
}

/// An error answered by axum itself (an extractor's rejection: an over-sized body, a
/// query string that does not fit) rather than by a handler: plain text, or no body.
fn is_bare_rejection(res: &Response) -> bool {
    let status = res.status();
    let typed = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json") || c.starts_with("text/html"));
    (status.is_client_error() || status.is_server_error()) && !typed
}

/// Gives a bare rejection the gateway's envelope, so every error a client can get has
/// the documented shape; axum's text becomes the message.
async fn enveloped(res: Response) -> Response {
    let status = res.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return envelope(
            status,
            &format!("The request body may not exceed {MAX_BODY_BYTES} bytes."),
            Map::new(),
        );
    }
    let text = axum::body::to_bytes(res.into_body(), MAX_REJECTION_TEXT)
        .await
        .ok()
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .filter(|t| !t.is_empty());
    let message = text.unwrap_or_else(|| status.canonical_reason().unwrap_or("Error").to_owned());
    envelope(status, &message, Map::new())
}

/// axum's rejection texts are a line or two; a longer one gives way to the status's reason.
const MAX_REJECTION_TEXT: usize = 4096;
