//! The app's own webhook endpoint: a small HTTP server, on loopback unless configured
//! otherwise, at `POST /webhooks/{profile id}`. It hands every delivery to a receiver
//! that verifies and stores it, and answers only with what the receiver decided, so a
//! 2xx always means "stored".

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::future::BoxFuture;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::webhooks::events::{Delivery, MAX_BODY_BYTES};

/// What the listener does with a delivery: returns the status code to answer and a
/// short reason for the body. Called once per request; the answer waits for it.
pub type Receiver = Arc<dyn Fn(Delivery) -> BoxFuture<'static, (u16, String)> + Send + Sync>;

/// A running listener; [`Listener::stop`] ends it after in-flight requests.
#[derive(Debug)]
pub struct Listener {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// The path a profile's deliveries go to.
pub fn path(profile_id: &str) -> String {
    format!("/webhooks/{profile_id}")
}

impl Listener {
    /// Binds `addr` (port 0: any free port) and serves until stopped.
    pub async fn start(addr: SocketAddr, receiver: Receiver) -> Result<Self> {
        let socket = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            Error::Internal(format!("the webhook listener cannot listen on {addr}: {e}"))
        })?;
        let addr = socket
            .local_addr()
            .map_err(|e| Error::Internal(format!("the webhook listener has no address: {e}")))?;
        let app = Router::new()
            .route("/webhooks/{profile_id}", post(receive))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(receiver);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(
                socket,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "webhook listener ended");
            }
        });
        Ok(Self { addr, stop, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

async fn receive(
    State(receiver): State<Receiver>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    Path(profile_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let delivery = Delivery {
        profile_id,
        remote_addr: Some(remote.to_string()),
        headers,
        body: body.to_vec(),
    };
    let (code, reason) = receiver(delivery).await;
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = if status.is_success() {
        serde_json::json!({ "received": true })
    } else {
        serde_json::json!({ "error": reason })
    };
    (status, axum::Json(body)).into_response()
}
