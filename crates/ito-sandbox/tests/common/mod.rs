//! Shared harness: a real sandbox on 127.0.0.1:0 with a temporary database, signed
//! requests, and a webhook listener that records what it receives.
#![allow(clippy::unwrap_used, dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use ito_sandbox::{Config, MerchantCredentials, Server};
use serde_json::Value;
use tokio::sync::mpsc;

pub struct Sandbox {
    pub server: Server,
    pub url: String,
    pub merchant: MerchantCredentials,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
}

pub fn config(dir: &std::path::Path) -> Config {
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.join("sandbox.db"));
    config.webhook_retry_base = Duration::from_millis(50);
    config.webhook_retry_cap = Duration::from_millis(400);
    config.webhook_timeout = Duration::from_secs(2);
    config.write_demo_file = false;
    config.demo_data = false;
    config
}

impl Sandbox {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self::start_with(dir, |_| {}).await
    }

    pub async fn start_with(dir: tempfile::TempDir, tweak: impl FnOnce(&mut Config)) -> Self {
        let mut config = config(dir.path());
        tweak(&mut config);
        let server = Server::start(config).await.unwrap();
        let merchant = match server.demo_merchant() {
            Some(m) => m.clone(),
            None => server.db().list_merchants().unwrap().remove(0),
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            url: server.url(),
            server,
            merchant,
            http,
            dir,
        }
    }

    pub fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    /// A signed `POST /payment/process` with the body sent as given.
    pub async fn process_raw(
        &self,
        m: &MerchantCredentials,
        body: &str,
        content_type: &str,
        timestamp: i64,
        idempotency_key: Option<&str>,
    ) -> (StatusCode, HeaderMap, Value) {
        let signature = ito_sandbox::sign(&m.secret_key, timestamp, body.as_bytes());
        let mut req = self
            .http
            .post(format!("{}/payment/process", self.url))
            .bearer_auth(&m.access_key)
            .header("accept", "application/json")
            .header("content-type", content_type)
            .header("x-timestamp", timestamp.to_string())
            .header("x-signature", signature)
            .body(body.to_owned());
        if let Some(k) = idempotency_key {
            req = req.header("idempotency-key", k);
        }
        let res = req.send().await.unwrap();
        let status = StatusCode::from_u16(res.status().as_u16()).unwrap();
        let headers = res.headers().clone();
        let json = res.json().await.unwrap();
        (status, headers, json)
    }

    pub async fn create(&self, payload: &Value) -> Value {
        let (status, _, json) = self
            .process_raw(
                &self.merchant,
                &payload.to_string(),
                "application/json",
                Self::now(),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{json}");
        json
    }

    pub async fn control(&self, method: reqwest::Method, path: &str) -> (StatusCode, Value) {
        let res = self
            .http
            .request(method, format!("{}{}", self.url, path))
            .bearer_auth(&self.merchant.access_key)
            .send()
            .await
            .unwrap();
        let status = StatusCode::from_u16(res.status().as_u16()).unwrap();
        (status, res.json().await.unwrap())
    }

    pub async fn check_validity(&self, access_key: &str, payment_id: &str) -> (StatusCode, Value) {
        let res = self
            .http
            .post(format!("{}/payment/check-validity", self.url))
            .bearer_auth(access_key)
            .json(&serde_json::json!({ "payment_id": payment_id }))
            .send()
            .await
            .unwrap();
        let status = StatusCode::from_u16(res.status().as_u16()).unwrap();
        (status, res.json().await.unwrap())
    }

    /// Polls the control API until `payment_id` has `n` webhook attempts.
    pub async fn wait_attempts(&self, payment_id: &str, n: usize) -> Vec<Value> {
        for _ in 0..200 {
            let (_, json) = self
                .control(
                    reqwest::Method::GET,
                    &format!("/sandbox/payments/{payment_id}"),
                )
                .await;
            let attempts = json["payment"]["webhook_attempts"]
                .as_array()
                .unwrap()
                .clone();
            if attempts.len() >= n {
                return attempts;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{payment_id} never reached {n} webhook attempts");
    }
}

/// A valid payment request with a unique `custom`, so that two of them signed in the
/// same second are different requests rather than a replay.
pub fn payment(web_hook: &str) -> Value {
    static ORDER: AtomicUsize = AtomicUsize::new(1);
    serde_json::json!({
        "custom": format!("ORDER-{}", ORDER.fetch_add(1, Ordering::Relaxed)),
        "currency_code": "USD",
        "amount": 280.00,
        "details": "Digital Product",
        "web_hook": web_hook,
        "cancel_url": "https://yoursite.com/cancel_url.php",
        "success_url": "https://yoursite.com/success_url.php",
        "customer_email": "buyer@example.com",
    })
}

#[derive(Debug, Clone)]
pub struct Delivery {
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A webhook receiver on 127.0.0.1:0 that answers 500 to its first `fail_first`
/// deliveries and 200 afterwards, forwarding every delivery it receives.
pub struct Listener {
    pub addr: SocketAddr,
    pub rx: mpsc::UnboundedReceiver<Delivery>,
    pub task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct ListenerState {
    tx: mpsc::UnboundedSender<Delivery>,
    fail_first: usize,
    seen: Arc<AtomicUsize>,
}

async fn receive(State(s): State<ListenerState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let n = s.seen.fetch_add(1, Ordering::SeqCst);
    let _ = s.tx.send(Delivery { headers, body });
    if n < s.fail_first {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

impl Listener {
    pub async fn start(fail_first: usize) -> Self {
        Self::bind("127.0.0.1:0".parse().unwrap(), fail_first).await
    }

    pub async fn bind(addr: SocketAddr, fail_first: usize) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = ListenerState {
            tx,
            fail_first,
            seen: Arc::new(AtomicUsize::new(0)),
        };
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, rx, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub async fn next(&mut self) -> Delivery {
        tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
            .await
            .unwrap()
            .unwrap()
    }
}

/// The gateway documentation's PHP verification, transcribed: `'sha256=' .
/// hash_hmac('sha256', $timestamp . '.' . $body, $secret_key)` compared with `hash_equals`.
pub fn seed_verify(d: &Delivery, secret_key: &str) -> bool {
    use hmac::{Hmac, Mac};
    let timestamp = d.headers["x-timestamp"].to_str().unwrap();
    let signature = d.headers["x-signature"].to_str().unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret_key.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(&d.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    expected == signature
}
