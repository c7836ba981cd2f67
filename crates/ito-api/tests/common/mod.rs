//! Shared test setup: a real sandbox on 127.0.0.1:0 and a webhook receiver.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use ito_api::{Client, Credentials, Environment, RequestRecord, RetryPolicy};
use ito_sandbox::{Config, MerchantCredentials, Server};
use tokio::sync::mpsc;

pub struct Sandbox {
    pub server: Server,
    pub merchant: MerchantCredentials,
    _dir: tempfile::TempDir,
}

pub async fn sandbox() -> Sandbox {
    sandbox_with(|_| {}).await
}

pub async fn sandbox_with(tune: impl FnOnce(&mut Config)) -> Sandbox {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path().join("s.db"));
    config.write_demo_file = false;
    config.demo_data = false;
    config.webhook_retry_base = Duration::from_millis(50);
    tune(&mut config);
    let server = Server::start(config).await.unwrap();
    let merchant = server.demo_merchant().unwrap().clone();
    Sandbox {
        server,
        merchant,
        _dir: dir,
    }
}

pub fn credentials(m: &MerchantCredentials) -> Credentials {
    Credentials::new(m.access_key.as_str(), m.secret_key.as_str())
        .with_oauth(m.client_id.as_str(), m.client_secret.as_str())
        .with_public_client(m.public_client_id.as_str())
}

/// Quick retries so that tests stay short.
pub fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(2),
    }
}

pub type Log = Arc<Mutex<Vec<RequestRecord>>>;

impl Sandbox {
    pub fn client(&self) -> Client {
        self.client_for(&self.merchant).0
    }

    /// Another merchant on the same sandbox (the db call blocks, so off the runtime).
    pub async fn other_merchant(&self, name: &str) -> MerchantCredentials {
        let db = self.server.db().clone();
        let name = name.to_owned();
        tokio::task::spawn_blocking(move || db.create_merchant(&name))
            .await
            .unwrap()
            .unwrap()
    }

    /// A client for `m` whose request log is returned beside it.
    pub fn client_for(&self, m: &MerchantCredentials) -> (Client, Log) {
        let log: Log = Arc::default();
        let sink = log.clone();
        let client = Client::builder(
            Environment::sandbox(&self.server.url()).unwrap(),
            credentials(m),
        )
        .retry(fast_retries(4))
        .observer(move |r: &RequestRecord| sink.lock().unwrap().push(r.clone()))
        .build()
        .unwrap();
        (client, log)
    }
}

/// A webhook endpoint on loopback that hands over each delivery's headers and body.
pub struct Receiver {
    pub url: String,
    pub deliveries: mpsc::UnboundedReceiver<(HeaderMap, Bytes)>,
}

pub async fn webhook_receiver() -> Receiver {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((headers, body));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver {
        url,
        deliveries: rx,
    }
}

impl Receiver {
    pub async fn next(&mut self) -> (HeaderMap, Bytes) {
        tokio::time::timeout(Duration::from_secs(10), self.deliveries.recv())
            .await
            .expect("a webhook within 10 s")
            .unwrap()
    }
}
