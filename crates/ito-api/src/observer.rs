//! The request log hook: one record per attempt, already stripped of secrets.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::ErrorKind;

/// How an attempt was authenticated, without the credential itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    None,
    /// `Authorization: Bearer {access_key}`.
    AccessKey,
    /// Access key plus `X-Timestamp`/`X-Signature`.
    Signed,
    MerchantToken,
    UserToken,
}

/// One HTTP attempt as the dashboard's request log shows it.
///
/// It holds no header values and no bodies: credentials appear only as the masked
/// tail in `credential` (`…3883`), and the path carries no query string.
#[derive(Clone, Debug, Serialize)]
pub struct RequestRecord {
    pub started_at: DateTime<Utc>,
    pub method: String,
    /// The URL path, percent-encoded, without the query.
    pub path: String,
    /// `None` when no answer came (network error, timeout).
    pub status: Option<u16>,
    #[serde(serialize_with = "millis")]
    pub latency: Duration,
    /// The answer's `X-Request-Id`, or the one this client sent.
    pub request_id: String,
    /// 1 for the first try, 2 for the first retry, ….
    pub attempt: u32,
    pub auth: AuthKind,
    /// The masked tail of the credential used (`…3883`).
    pub credential: Option<String>,
    pub idempotency_key: Option<String>,
    /// The gateway answered from its idempotency store (`Idempotent-Replayed: true`).
    pub replayed: bool,
    pub error: Option<ErrorKind>,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Receives every [`RequestRecord`]. Called inline on the request's task: keep it
/// quick (push to a channel, append to a buffer).
pub trait Observer: Send + Sync + 'static {
    fn observe(&self, record: &RequestRecord);
}

impl<F> Observer for F
where
    F: Fn(&RequestRecord) + Send + Sync + 'static,
{
    fn observe(&self, record: &RequestRecord) {
        self(record)
    }
}

/// Forwards records to a channel; a closed receiver just drops them.
impl Observer for tokio::sync::mpsc::UnboundedSender<RequestRecord> {
    fn observe(&self, record: &RequestRecord) {
        let _ = self.send(record.clone());
    }
}
