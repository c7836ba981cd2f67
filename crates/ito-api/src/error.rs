//! The one error type of the crate, with stable kinds the app can match on and show.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::money::MoneyError;
use crate::payments::PaymentStatus;
use crate::webhook::Rejection;

/// Messages per field, as the gateway's 422 `errors` object gives them.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// What the gateway answered when it refused a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// HTTP status.
    pub status: u16,
    /// The gateway's human message (`message`, or an OAuth `error_description`).
    pub message: String,
    /// The OAuth error code (`invalid_grant`, …) when the answer was an RFC 6749 error.
    pub code: Option<String>,
    /// `X-Request-Id` of the answer, to quote to support.
    pub request_id: Option<String>,
    /// The payment's state, on payment conflicts.
    pub payment_status: Option<PaymentStatus>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (HTTP {})", self.message, self.status)
    }
}

/// Every way a call can fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 400 and other client errors without a kind of their own.
    #[error("bad request: {0}")]
    BadRequest(Failure),
    #[error("unauthorized: {0}")]
    Unauthorized(Failure),
    #[error("forbidden: {0}")]
    Forbidden(Failure),
    #[error("not found: {0}")]
    NotFound(Failure),
    #[error("conflict: {0}")]
    Conflict(Failure),
    /// 422: `fields` maps each refused field to its messages, for inline display.
    #[error("validation failed: {failure}")]
    Validation {
        failure: Failure,
        fields: FieldErrors,
    },
    #[error("rate limited: {failure}")]
    RateLimited {
        failure: Failure,
        retry_after: Option<Duration>,
    },
    /// 5xx.
    #[error("gateway error: {0}")]
    Server(Failure),
    /// No answer: refused or reset connection, DNS, TLS.
    #[error("network error: {0}")]
    Network(String),
    #[error("timed out: {0}")]
    Timeout(String),
    /// A webhook whose signature, timestamp or body was refused.
    #[error("webhook refused: {0}")]
    Signature(#[from] Rejection),
    /// The gateway answered something this client cannot read.
    #[error("could not read the gateway's answer: {0}")]
    Decode(String),
    /// A value refused before anything was sent (amount scale, URL, configuration).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The browser sign-in did not complete: denied, wrong state, malformed redirect.
    #[error("sign-in failed: {0}")]
    Authorization(String),
}

/// The stable names of [`Error`]'s variants, as the app and its UI match on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    Validation,
    RateLimited,
    Server,
    Network,
    Timeout,
    Signature,
    Decode,
    InvalidInput,
    Authorization,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::BadRequest(_) => ErrorKind::BadRequest,
            Self::Unauthorized(_) => ErrorKind::Unauthorized,
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Conflict(_) => ErrorKind::Conflict,
            Self::Validation { .. } => ErrorKind::Validation,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::Server(_) => ErrorKind::Server,
            Self::Network(_) => ErrorKind::Network,
            Self::Timeout(_) => ErrorKind::Timeout,
            Self::Signature(_) => ErrorKind::Signature,
            Self::Decode(_) => ErrorKind::Decode,
            Self::InvalidInput(_) => ErrorKind::InvalidInput,
            Self::Authorization(_) => ErrorKind::Authorization,
        }
    }

    /// The gateway's answer, when there was one.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Self::BadRequest(f)
            | Self::Unauthorized(f)
            | Self::Forbidden(f)
            | Self::NotFound(f)
            | Self::Conflict(f)
            | Self::Server(f)
            | Self::Validation { failure: f, .. }
            | Self::RateLimited { failure: f, .. } => Some(f),
            _ => None,
        }
    }

    /// The human message: the gateway's own words when it answered.
    pub fn message(&self) -> String {
        match self.failure() {
            Some(f) => f.message.clone(),
            None => self.to_string(),
        }
    }

    /// Per-field messages of a validation failure (empty otherwise).
    pub fn fields(&self) -> Option<&FieldErrors> {
        match self {
            Self::Validation { fields, .. } => Some(fields),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        self.failure().map(|f| f.status)
    }

    pub fn request_id(&self) -> Option<&str> {
        self.failure().and_then(|f| f.request_id.as_deref())
    }

    /// Whether trying again later may succeed; the retry loop relies on it.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Network(_) | Self::Timeout(_) | Self::RateLimited { .. } => true,
            Self::Server(f) => matches!(f.status, 500 | 502 | 503 | 504),
            _ => false,
        }
    }

    /// Maps an error answer to its kind.
    pub(crate) fn from_answer(
        status: u16,
        failure: Failure,
        fields: FieldErrors,
        retry_after: Option<Duration>,
    ) -> Self {
        match status {
            401 => Self::Unauthorized(failure),
            403 => Self::Forbidden(failure),
            404 => Self::NotFound(failure),
            409 => Self::Conflict(failure),
            422 => Self::Validation { failure, fields },
            429 => Self::RateLimited {
                failure,
                retry_after,
            },
            500..=599 => Self::Server(failure),
            _ => Self::BadRequest(failure),
        }
    }
}

impl From<MoneyError> for Error {
    fn from(e: MoneyError) -> Self {
        Self::InvalidInput(e.to_string())
    }
}

impl From<url::ParseError> for Error {
    fn from(e: url::ParseError) -> Self {
        Self::InvalidInput(format!("invalid URL: {e}"))
    }
}

/// `{kind, message, status?, request_id?, fields?, retry_after_ms?}`: what crosses to the UI.
impl Serialize for Error {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("kind", &self.kind())?;
        m.serialize_entry("message", &self.message())?;
        if let Some(f) = self.failure() {
            m.serialize_entry("status", &f.status)?;
            if let Some(id) = &f.request_id {
                m.serialize_entry("request_id", id)?;
            }
            if let Some(ps) = f.payment_status {
                m.serialize_entry("payment_status", &ps)?;
            }
        }
        if let Some(fields) = self.fields() {
            m.serialize_entry("fields", fields)?;
        }
        if let Self::RateLimited {
            retry_after: Some(d),
            ..
        } = self
        {
            m.serialize_entry("retry_after_ms", &d.as_millis())?;
        }
        m.end()
    }
}
