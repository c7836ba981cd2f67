//! The one error type of the app backend, and the typed value it becomes across IPC.

use std::collections::BTreeMap;

use serde::Serialize;
use specta::Type;

/// Messages per field, for forms to show inline.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input refused before anything was stored or sent.
    #[error("{message}")]
    Validation {
        message: String,
        fields: FieldErrors,
    },
    #[error("{0}")]
    NotFound(String),
    /// The gateway answered 404 for a user of the directory: it is no longer this
    /// merchant's. Unlike [`Error::NotFound`], the UI offers to remove it.
    #[error("{message}")]
    UserGone { user_id: String, message: String },
    /// The OS keychain cannot be used; see [`crate::vault::KeychainStatus`] for why.
    #[error("{0}")]
    KeychainUnavailable(String),
    /// The keychain answered, but refused this operation.
    #[error("keychain: {0}")]
    Keychain(String),
    /// The gateway (or the sandbox) refused the call or could not be reached.
    #[error("{0}")]
    Api(#[from] ito_api::Error),
    #[error("local database: {0}")]
    Storage(String),
    /// A file outside the app's own data (an export) could not be written.
    #[error("{0}")]
    File(String),
    #[error("embedded sandbox: {0}")]
    Sandbox(String),
    /// A failure of the app itself (a background task that died).
    #[error("{0}")]
    Internal(String),
    /// Signing in as a user did not complete; nothing was stored.
    #[error("{message}")]
    SignIn {
        failure: SignInFailure,
        message: String,
    },
    /// No session of this user on this profile: never signed in, signed out, or
    /// ended by the gateway (a revoked sign-in). Signing in again is the way on.
    #[error("{message}")]
    SessionEnded { user_id: String, message: String },
    /// The system clipboard could not be used; nothing was copied.
    #[error("{0}")]
    Clipboard(String),
}

/// How a sign-in as a user ended without a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInFailure {
    /// Refused on the gateway's consent page.
    Denied,
    /// Staff cancelled it, or started another sign-in as the same user.
    Cancelled,
    /// No redirect came back in time.
    TimedOut,
    /// A redirect whose state is not this sign-in's.
    StateMismatch,
    /// The gateway redirected back with an error, or with neither code nor error.
    ErrorRedirect,
    /// The token endpoint refused the code (spent, expired, or not this sign-in's).
    CodeRefused,
    /// Someone else than the user asked for signed in.
    WrongUser,
    /// The browser could not be opened.
    Browser,
    /// The profile has no public client id to sign in with.
    NoPublicClient,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::Validation {
            fields: BTreeMap::from([(field.to_owned(), vec![message.clone()])]),
            message,
        }
    }

    /// Input refused as a whole, with no one field to blame.
    pub fn refused(message: impl Into<String>) -> Self {
        Self::Validation {
            message: message.into(),
            fields: FieldErrors::new(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        use ito_api::ErrorKind as A;
        match self {
            Self::Validation { .. } => ErrorKind::Validation,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::UserGone { .. } => ErrorKind::UserGone,
            Self::KeychainUnavailable(_) => ErrorKind::KeychainUnavailable,
            Self::Keychain(_) => ErrorKind::Keychain,
            Self::Storage(_) => ErrorKind::Storage,
            Self::File(_) => ErrorKind::File,
            Self::Sandbox(_) => ErrorKind::Sandbox,
            Self::Internal(_) => ErrorKind::Internal,
            Self::SignIn {
                failure: SignInFailure::TimedOut,
                ..
            } => ErrorKind::Timeout,
            Self::SignIn {
                failure: SignInFailure::NoPublicClient,
                ..
            } => ErrorKind::Validation,
            Self::SignIn { .. } => ErrorKind::SignInFailed,
            Self::SessionEnded { .. } => ErrorKind::SessionEnded,
            Self::Clipboard(_) => ErrorKind::Clipboard,
            Self::Api(e) => match e.kind() {
                A::Unauthorized | A::Authorization => ErrorKind::Unauthorized,
                A::Forbidden => ErrorKind::Forbidden,
                A::NotFound => ErrorKind::NotFound,
                A::Conflict => ErrorKind::Conflict,
                A::Validation | A::InvalidInput | A::BadRequest => ErrorKind::Validation,
                A::RateLimited => ErrorKind::RateLimited,
                A::Server => ErrorKind::Server,
                A::Network => ErrorKind::Network,
                A::Timeout => ErrorKind::Timeout,
                A::Signature => ErrorKind::Signature,
                _ => ErrorKind::Decode,
            },
        }
    }
}

/// For `map_err` on a lock a panicking holder poisoned.
pub(crate) fn poisoned<T>(_: T) -> Error {
    Error::Internal("a lock was poisoned by an earlier failure".into())
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Self::Storage(e.to_string())
    }
}

impl From<ito_sandbox::Error> for Error {
    fn from(e: ito_sandbox::Error) -> Self {
        Self::Sandbox(e.to_string())
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::Internal(format!("background task failed: {e}"))
    }
}

/// Stable names the UI matches on; never renamed, only added to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Validation,
    NotFound,
    Conflict,
    KeychainUnavailable,
    Keychain,
    Unauthorized,
    Forbidden,
    RateLimited,
    Server,
    Network,
    Timeout,
    Signature,
    Decode,
    Storage,
    File,
    Sandbox,
    Internal,
    /// A user of the directory is no longer the merchant's (the gateway said 404).
    UserGone,
    /// Signing in as a user ended without a session (denied, cancelled, a wrong state…).
    SignInFailed,
    /// Not signed in as that user (any more): sign in again.
    SessionEnded,
    Clipboard,
}

/// What a failed command answers: a stable `kind`, a human message, and for validation
/// the messages per field. `status` and `requestId` quote the gateway's answer when there was one.
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CommandError {
    pub kind: ErrorKind,
    pub message: String,
    pub fields: FieldErrors,
    pub status: Option<u16>,
    pub request_id: Option<String>,
}

impl CommandError {
    pub fn internal(message: &str) -> Self {
        Error::Internal(message.to_owned()).into()
    }
}

impl From<Error> for CommandError {
    fn from(e: Error) -> Self {
        let (fields, status, request_id) = match &e {
            Error::Validation { fields, .. } => (fields.clone(), None, None),
            Error::Api(a) => (
                a.fields().cloned().unwrap_or_default(),
                a.status(),
                a.request_id().map(str::to_owned),
            ),
            _ => (FieldErrors::new(), None, None),
        };
        let message = match &e {
            Error::Api(a) => a.message(),
            other => other.to_string(),
        };
        Self {
            kind: e.kind(),
            message,
            fields,
            status,
            request_id,
        }
    }
}
