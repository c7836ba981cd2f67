//! The app's own webhook endpoint: a small HTTP server, on loopback unless configured
//! otherwise, at `POST /webhooks/{profile id}`. It hands every delivery to a receiver
//! that verifies and stores it, and answers only with what the receiver decided, so a
//! 2xx always means "stored".
//!
//! Slow clients cannot hold it: each connection gets [`HEADER_READ_TIMEOUT`] for a
//! request's headers and [`BODY_READ_TIMEOUT`] for its body, and every refusal is a
//! JSON `{"error": …}` saying which limit was met.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::future::BoxFuture;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::error::{Error, Result};
use crate::webhooks::events::{Delivery, MAX_BODY_BYTES};

/// How long a client may take to send a request's headers. The gateway sends them at
/// once; a client trickling them (slowloris) is cut off after this.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client may take to send the body once its headers are in.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long [`Listener::stop`] lets in-flight requests finish before closing them; a
/// delivery cut off here was not answered, so the gateway sends it again.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// The pause after a failed accept (out of file descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

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
            .fallback(unknown_route)
            .method_not_allowed_fallback(wrong_method)
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(receiver);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(socket, app, stopped));
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

/// Accepts connections until `stopped`, then lets in-flight requests finish (for at
/// most [`STOP_GRACE`]).
async fn serve(socket: tokio::net::TcpListener, app: Router, stopped: oneshot::Receiver<()>) {
    let (closing, closed) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = socket.accept() => match accepted {
                Ok((stream, remote)) => {
                    connections.spawn(connection(stream, remote, app.clone(), closed.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the webhook listener could not accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            // Reaps finished connections so the set holds only open ones.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(socket);
    let _ = closing.send(true);
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(STOP_GRACE, drained).await.is_err() {
        tracing::warn!("webhook listener stopped with requests still in flight");
    }
}

async fn connection(
    stream: TcpStream,
    remote: SocketAddr,
    app: Router,
    mut closing: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(remote));
        tower::Service::call(&mut app.clone(), request)
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let served = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(served);
    // The guard `wait_for` returns is not Send: dropped inside, before any await.
    let close = async move {
        let _ = closing.wait_for(|c| *c).await;
    };
    let result = tokio::select! {
        result = served.as_mut() => result,
        () = close => {
            served.as_mut().graceful_shutdown();
            served.await
        }
    };
    if let Err(e) = result {
        // Timed-out, reset and malformed connections: the client's problem, not ours.
        tracing::debug!(error = %e, %remote, "webhook connection ended");
    }
}

fn refusal(status: StatusCode, reason: String) -> Response {
    (status, axum::Json(serde_json::json!({ "error": reason }))).into_response()
}

async fn unknown_route() -> Response {
    refusal(
        StatusCode::NOT_FOUND,
        "deliveries go to POST /webhooks/{profile id}".to_owned(),
    )
}

async fn wrong_method() -> Response {
    refusal(
        StatusCode::METHOD_NOT_ALLOWED,
        "deliveries are POSTed".to_owned(),
    )
}

async fn receive(
    State(receiver): State<Receiver>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    Path(profile_id): Path<String>,
    request: Request,
) -> Response {
    let headers = request.headers().clone();
    let body = match tokio::time::timeout(BODY_READ_TIMEOUT, Bytes::from_request(request, &()))
        .await
    {
        Ok(Ok(body)) => body,
        Ok(Err(rejection)) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than this listener's limit of {MAX_BODY_BYTES} bytes"),
            );
        }
        Ok(Err(rejection)) => return refusal(rejection.status(), rejection.body_text()),
        Err(_) => {
            return refusal(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the body did not arrive within {} s",
                    BODY_READ_TIMEOUT.as_secs()
                ),
            );
        }
    };
    let delivery = Delivery {
        profile_id,
        remote_addr: Some(remote.to_string()),
        headers,
        body: body.to_vec(),
    };
    let (code, reason) = receiver(delivery).await;
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_success() {
        (status, axum::Json(serde_json::json!({ "received": true }))).into_response()
    } else {
        refusal(status, reason)
    }
}
