//! The one error type of the sandbox, and how it reaches the wire.
//!
//! Every failure a client can see is answered with the gateway's envelope
//! `{"code":N,"status":"error","message":"…"}`; validation failures add `errors`
//! (field → messages) and payment-state conflicts add `payment_status`.

use std::collections::BTreeMap;

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Json;
use axum::body::{Body, Bytes, HttpBody};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// Messages per field, in field order, for 422 answers.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Conflict {
        message: String,
        payment_status: Option<&'static str>,
    },
    #[error("{}", summary(.0))]
    Validation(FieldErrors),
    #[error("{0}")]
    Unavailable(String),
    /// An RFC 6749 §5.2 error of the OAuth endpoints, answered as
    /// `{"error","error_description"}` instead of the gateway envelope.
    #[error("{error}: {description}")]
    OAuth {
        status: StatusCode,
        error: &'static str,
        description: String,
    },
    /// An injected fault: the connection is closed without an answer.
    #[error("connection dropped by an injected fault")]
    Dropped,
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Config(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// "The first message. (and N more errors)", as the gateway's framework words it.
fn summary(errors: &FieldErrors) -> String {
    let mut all = errors.values().flatten();
    let first = all
        .next()
        .map_or("The given data was invalid.", String::as_str);
    match all.count() {
        0 => first.to_owned(),
        1 => format!("{first} (and 1 more error)"),
        n => format!("{first} (and {n} more errors)"),
    }
}

impl Error {
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
            payment_status: None,
        }
    }

    /// A single-field validation failure.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(field.to_owned(), vec![message.into()]);
        Self::Validation(errors)
    }

    /// An OAuth error answered with 400, or 401 for `invalid_client` (RFC 6749 §5.2).
    pub fn oauth(error: &'static str, description: impl Into<String>) -> Self {
        let status = if error == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        Self::OAuth {
            status,
            error,
            description: description.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) | Self::Dropped => StatusCode::SERVICE_UNAVAILABLE,
            Self::OAuth { status, .. } => *status,
            Self::Database(_) | Self::Io(_) | Self::Config(_) | Self::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

/// The gateway's error envelope with `extra` members merged in.
pub fn envelope(status: StatusCode, message: &str, extra: Map<String, Value>) -> Response {
    let mut body = Map::new();
    body.insert("code".into(), json!(status.as_u16()));
    body.insert("status".into(), json!("error"));
    body.insert("message".into(), json!(message));
    body.extend(extra);
    (status, Json(Value::Object(body))).into_response()
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        match self {
            Self::OAuth {
                error, description, ..
            } => return oauth_response(status, error, &description),
            Self::Dropped => return severed(),
            _ => {}
        }
        let mut extra = Map::new();
        let message = match &self {
            Self::Database(_) | Self::Io(_) | Self::Config(_) | Self::Internal(_) => {
                // Internal details stay in the server log, never in an answer.
                tracing::error!(error = %self, "request failed");
                "Internal server error.".to_owned()
            }
            other => other.to_string(),
        };
        match self {
            Self::Validation(errors) => {
                extra.insert("errors".into(), json!(errors));
            }
            Self::Conflict {
                payment_status: Some(s),
                ..
            } => {
                extra.insert("payment_status".into(), json!(s));
            }
            _ => {}
        }
        envelope(status, &message, extra)
    }
}

fn oauth_response(status: StatusCode, error: &str, description: &str) -> Response {
    let mut res = (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    if error == "invalid_client" {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"ito-sandbox\""),
        );
    }
    res
}

/// A response whose body fails at once: hyper then aborts the connection before
/// writing the head, so the client sees the connection close with no answer.
fn severed() -> Response {
    Response::new(Body::new(Severed))
}

struct Severed;

impl HttpBody for Severed {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<http_body::Frame<Bytes>, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::other(
            "connection dropped by an injected fault",
        ))))
    }
}
