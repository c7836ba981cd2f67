//! The one error type of the sandbox, and how it reaches the wire.
//!
//! Every failure a client can see is answered with the gateway's envelope
//! `{"code":N,"status":"error","message":"…"}`; validation failures add `errors`
//! (field → messages) and payment-state conflicts add `payment_status`.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::StatusCode;
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
    #[error("The given data was invalid.")]
    Validation(FieldErrors),
    #[error("{0}")]
    Unavailable(String),
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

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
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
