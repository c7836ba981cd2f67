//! The request log: every HTTP attempt the SDK made for a profile, as its observer saw
//! it (already redacted), kept in the local database up to [`KEEP_ROWS`].

use ito_api::RequestRecord;
use serde::{Deserialize, Serialize};
use specta::Type;
use tokio::sync::mpsc;

use crate::error::Result;
use crate::store::Store;

/// Rows kept across all profiles; older ones are dropped as new ones arrive.
pub const KEEP_ROWS: i64 = 10_000;
const MAX_PAGE: u32 = 500;

#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct RequestLogEntry {
    /// Increasing; pass the smallest one seen as `beforeId` for the next page.
    pub id: i64,
    pub profile_id: String,
    /// RFC 3339.
    pub at: String,
    pub method: String,
    pub path: String,
    /// Absent when no answer came (network error, timeout).
    pub status: Option<u16>,
    pub latency_ms: u32,
    pub request_id: Option<String>,
    /// The SDK's error kind when the attempt failed.
    pub error: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum StatusClass {
    Success,
    ClientError,
    ServerError,
    /// No answer at all.
    NoAnswer,
}

#[derive(Clone, Debug, Default, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct RequestLogFilter {
    pub method: Option<String>,
    pub status: Option<StatusClass>,
    /// Case-insensitive part of the path or of the request id.
    pub search: Option<String>,
    pub before_id: Option<i64>,
    /// 1 to 500; 100 when absent.
    pub limit: Option<u32>,
}

/// One record for one profile, waiting to be written.
#[derive(Debug)]
pub struct Pending {
    pub profile_id: String,
    pub record: RequestRecord,
}

/// Starts the writer task; returns the sender that profile clients' observers use.
/// `on_written` runs after each batch with the rows written, for live updates.
pub fn start_writer(
    store: Store,
    on_written: impl Fn(Vec<RequestLogEntry>) + Send + Sync + 'static,
) -> mpsc::UnboundedSender<Pending> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Pending>();
    tokio::spawn(async move {
        let mut batch = Vec::new();
        while rx.recv_many(&mut batch, 256).await > 0 {
            let rows = std::mem::take(&mut batch);
            match write(&store, rows).await {
                Ok(written) => on_written(written),
                Err(e) => tracing::warn!(error = %e, "request log not written"),
            }
        }
    });
    tx
}

async fn write(store: &Store, rows: Vec<Pending>) -> Result<Vec<RequestLogEntry>> {
    store
        .write(move |tx| {
            let mut out = Vec::with_capacity(rows.len());
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO request_log
                     (profile_id, at_ms, method, path, status, latency_ms, request_id, error)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                for p in rows {
                    let r = p.record;
                    let latency_ms = u32::try_from(r.latency.as_millis()).unwrap_or(u32::MAX);
                    let error = r.error.and_then(|k| {
                        serde_json::to_value(k)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                    });
                    let request_id = Some(r.request_id).filter(|s| !s.is_empty());
                    insert.execute(rusqlite::params![
                        p.profile_id,
                        r.started_at.timestamp_millis(),
                        r.method,
                        r.path,
                        r.status,
                        latency_ms,
                        request_id,
                        error
                    ])?;
                    out.push(RequestLogEntry {
                        id: tx.last_insert_rowid(),
                        profile_id: p.profile_id,
                        at: r
                            .started_at
                            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                        method: r.method,
                        path: r.path,
                        status: r.status,
                        latency_ms,
                        request_id,
                        error,
                    });
                }
            }
            tx.execute(
                "DELETE FROM request_log WHERE id <= (SELECT MAX(id) FROM request_log) - ?1",
                [KEEP_ROWS],
            )?;
            Ok(out)
        })
        .await
}

/// The newest entries of a profile matching `filter`, newest first.
pub async fn query(
    store: &Store,
    profile_id: &str,
    filter: RequestLogFilter,
) -> Result<Vec<RequestLogEntry>> {
    let profile_id = profile_id.to_owned();
    store
        .read(move |c| {
            let limit = filter.limit.unwrap_or(100).clamp(1, MAX_PAGE);
            let search = filter
                .search
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| format!("%{}%", s.replace(['%', '_'], "")));
            let (lo, hi, no_answer) = match filter.status {
                None => (None, None, false),
                Some(StatusClass::Success) => (Some(100), Some(399), false),
                Some(StatusClass::ClientError) => (Some(400), Some(499), false),
                Some(StatusClass::ServerError) => (Some(500), Some(599), false),
                Some(StatusClass::NoAnswer) => (None, None, true),
            };
            let mut stmt = c.prepare_cached(
                "SELECT id, profile_id, at_ms, method, path, status, latency_ms, request_id, error
                 FROM request_log
                 WHERE profile_id = ?1
                   AND (?2 IS NULL OR id < ?2)
                   AND (?3 IS NULL OR method = upper(?3))
                   AND (?4 IS NULL OR status BETWEEN ?4 AND ?5)
                   AND (?6 = 0 OR status IS NULL)
                   AND (?7 IS NULL OR path LIKE ?7 OR request_id LIKE ?7)
                 ORDER BY id DESC LIMIT ?8",
            )?;
            let rows = stmt
                .query_map(
                    rusqlite::params![
                        profile_id,
                        filter.before_id,
                        filter.method,
                        lo,
                        hi,
                        no_answer,
                        search,
                        limit
                    ],
                    |r| {
                        let at: i64 = r.get(2)?;
                        Ok(RequestLogEntry {
                            id: r.get(0)?,
                            profile_id: r.get(1)?,
                            at: chrono::DateTime::from_timestamp_millis(at)
                                .unwrap_or_default()
                                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                            method: r.get(3)?,
                            path: r.get(4)?,
                            status: r.get(5)?,
                            latency_ms: r.get(6)?,
                            request_id: r.get(7)?,
                            error: r.get(8)?,
                        })
                    },
                )?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
}

pub async fn clear(store: &Store, profile_id: &str) -> Result<()> {
    let profile_id = profile_id.to_owned();
    store
        .write(move |tx| {
            tx.execute(
                "DELETE FROM request_log WHERE profile_id = ?1",
                [profile_id],
            )?;
            Ok(())
        })
        .await
}
