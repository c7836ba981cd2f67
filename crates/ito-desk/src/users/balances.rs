//! Balances fetched in the background: a bounded number of requests at once, a
//! shared pause when the gateway says it is overloaded (429 with its `Retry-After`,
//! 503 and other transient failures, doubling up to a cap), and results written in
//! batches so that 100 000 users do not cost 100 000 synchronous commits.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use ito_api::users::Balances;
use ito_api::{Client, UserId};
use serde::Serialize;
use specta::Type;
use tokio::sync::mpsc;

use crate::error::{Result, poisoned};
use crate::store::rfc3339;
use crate::store::{Store, now_ms};
use crate::users::directory::{self, DirectoryUser};

/// Balance requests in flight at once.
pub const CONCURRENCY: usize = 4;
/// Tries per user before it counts as failed (each try is itself retried by the SDK).
const MAX_TRIES: u32 = 8;
const FIRST_PAUSE: Duration = Duration::from_millis(500);
const MAX_PAUSE: Duration = Duration::from_secs(30);
/// A `Retry-After` longer than this is cut to it, so a refresh never stalls for hours.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// Results are written together once this many are waiting.
const BATCH: usize = 100;
/// How often progress is reported while a refresh runs.
const REPORT_EVERY: Duration = Duration::from_millis(250);

/// How a balance refresh is going, or how it ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BalanceRefreshProgress {
    pub profile_id: String,
    pub total: u32,
    /// Users whose balances were fetched and stored.
    pub done: u32,
    /// Users given up on after repeated failures.
    pub failed: u32,
    /// Users the gateway no longer knows as the merchant's (404).
    pub gone: u32,
    /// While the gateway asked to slow down: when requests start again (RFC 3339).
    pub paused_until: Option<String>,
    pub finished: bool,
    /// Why the refresh stopped early (credentials refused), when it did.
    pub error: Option<String>,
}

/// What a refresh tells as it runs.
#[derive(Clone, Debug)]
pub enum RefreshEvent {
    Progress(BalanceRefreshProgress),
    /// Rows whose balances were just stored (or who turned out gone).
    Changed(Vec<DirectoryUser>),
}

/// The pause every worker waits out after the gateway refused for load.
#[derive(Debug)]
struct Pause {
    until: Option<Instant>,
    next: Duration,
}

impl Pause {
    fn after_failure(&mut self, retry_after: Option<Duration>) -> Instant {
        let wait = match retry_after {
            Some(d) => d.min(MAX_RETRY_AFTER),
            None => {
                let d = self.next;
                self.next = (self.next * 2).min(MAX_PAUSE);
                d
            }
        };
        let until = Instant::now() + wait;
        self.until = Some(self.until.map_or(until, |u| u.max(until)));
        until
    }

    fn after_success(&mut self) {
        self.next = FIRST_PAUSE;
    }
}

enum Outcome {
    Fetched(String, Balances),
    Gone(String),
}

struct Shared {
    queue: Mutex<VecDeque<(String, u32)>>,
    pause: Mutex<Pause>,
    progress: Mutex<BalanceRefreshProgress>,
    /// Set when a failure makes every further request pointless.
    stopped: Mutex<Option<String>>,
}

/// Fetches and stores the balances of `user_ids`, reporting through `sink`.
/// Returns the final progress.
pub async fn refresh(
    client: &Client,
    store: &Store,
    profile_id: &str,
    user_ids: Vec<String>,
    sink: &(dyn Fn(RefreshEvent) + Send + Sync),
) -> Result<BalanceRefreshProgress> {
    let total = u32::try_from(user_ids.len()).unwrap_or(u32::MAX);
    let shared = Arc::new(Shared {
        queue: Mutex::new(user_ids.into_iter().map(|id| (id, 0)).collect()),
        pause: Mutex::new(Pause {
            until: None,
            next: FIRST_PAUSE,
        }),
        progress: Mutex::new(BalanceRefreshProgress {
            profile_id: profile_id.to_owned(),
            total,
            done: 0,
            failed: 0,
            gone: 0,
            paused_until: None,
            finished: false,
            error: None,
        }),
        stopped: Mutex::new(None),
    });
    let (tx, rx) = mpsc::channel::<Outcome>(BATCH * 2);
    let writer = write_results(store, profile_id, rx, &shared, sink);
    let workers = join_all((0..CONCURRENCY).map(|n| {
        let tx = tx.clone();
        let shared = Arc::clone(&shared);
        async move { work(client, n, &shared, tx).await }
    }));
    drop(tx);
    let (written, worked) = tokio::join!(writer, workers);
    written?;
    for w in worked {
        w?;
    }
    let mut last = shared.progress.lock().map_err(poisoned)?.clone();
    last.finished = true;
    last.paused_until = None;
    last.error = shared.stopped.lock().map_err(poisoned)?.clone();
    sink(RefreshEvent::Progress(last.clone()));
    Ok(last)
}

async fn work(
    client: &Client,
    worker: usize,
    shared: &Shared,
    results: mpsc::Sender<Outcome>,
) -> Result<()> {
    loop {
        if shared.stopped.lock().map_err(poisoned)?.is_some() {
            return Ok(());
        }
        let until = shared.pause.lock().map_err(poisoned)?.until;
        if let Some(until) = until.filter(|u| *u > Instant::now()) {
            // Staggered, so the workers do not all come back in the same instant.
            let stagger = Duration::from_millis(50 * worker as u64);
            tokio::time::sleep_until((until + stagger).into()).await;
        }
        let Some((user_id, tries)) = shared.queue.lock().map_err(poisoned)?.pop_front() else {
            return Ok(());
        };
        let id = UserId::new(user_id.clone());
        match client.merchant().balance(&id).await {
            Ok(balances) => {
                shared.pause.lock().map_err(poisoned)?.after_success();
                if results
                    .send(Outcome::Fetched(user_id, balances))
                    .await
                    .is_err()
                {
                    return Ok(());
                }
            }
            Err(e) if e.kind() == ito_api::ErrorKind::NotFound => {
                if results.send(Outcome::Gone(user_id)).await.is_err() {
                    return Ok(());
                }
            }
            Err(e) if e.is_transient() => {
                let retry_after = match &e {
                    ito_api::Error::RateLimited { retry_after, .. } => *retry_after,
                    _ => None,
                };
                let until = shared
                    .pause
                    .lock()
                    .map_err(poisoned)?
                    .after_failure(retry_after);
                let mut progress = shared.progress.lock().map_err(poisoned)?;
                progress.paused_until = Some(rfc3339(
                    now_ms()
                        + i64::try_from(
                            until.saturating_duration_since(Instant::now()).as_millis(),
                        )
                        .unwrap_or(0),
                ));
                if tries + 1 < MAX_TRIES {
                    shared
                        .queue
                        .lock()
                        .map_err(poisoned)?
                        .push_back((user_id, tries + 1));
                } else {
                    progress.failed += 1;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ito_api::ErrorKind::Unauthorized | ito_api::ErrorKind::Forbidden
                ) =>
            {
                // Every other request would be refused the same way.
                *shared.stopped.lock().map_err(poisoned)? = Some(e.message());
                return Ok(());
            }
            Err(_) => shared.progress.lock().map_err(poisoned)?.failed += 1,
        }
    }
}

/// Writes results in batches as they come, reporting the rows and progress.
async fn write_results(
    store: &Store,
    profile_id: &str,
    mut rx: mpsc::Receiver<Outcome>,
    shared: &Shared,
    sink: &(dyn Fn(RefreshEvent) + Send + Sync),
) -> Result<()> {
    let mut last_report = Instant::now();
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        // Woken by results, or by the clock so that a long pause is still reported.
        let open = tokio::select! {
            n = rx.recv_many(&mut batch, BATCH) => n > 0,
            () = tokio::time::sleep(REPORT_EVERY) => true,
        };
        if !batch.is_empty() {
            let outcomes = std::mem::take(&mut batch);
            let pid = profile_id.to_owned();
            let (fetched, gone, rows) = store
                .write(move |tx| {
                    let now = now_ms();
                    let (mut fetched, mut gone, mut ids) = (0u32, 0u32, Vec::new());
                    for o in &outcomes {
                        match o {
                            Outcome::Fetched(id, b) => {
                                if directory::store_balances(tx, &pid, id, &b.balances, now)? {
                                    ids.push(id.clone());
                                }
                                fetched += 1;
                            }
                            Outcome::Gone(id) => {
                                directory::mark_gone(tx, &pid, id, now)?;
                                ids.push(id.clone());
                                gone += 1;
                            }
                        }
                    }
                    Ok((fetched, gone, directory::get_many(tx, &pid, &ids)?))
                })
                .await?;
            {
                let mut p = shared.progress.lock().map_err(poisoned)?;
                p.done += fetched;
                p.gone += gone;
                if p.paused_until.is_some()
                    && shared
                        .pause
                        .lock()
                        .map_err(poisoned)?
                        .until
                        .is_none_or(|u| u <= Instant::now())
                {
                    p.paused_until = None;
                }
            }
            if !rows.is_empty() {
                sink(RefreshEvent::Changed(rows));
            }
        }
        if last_report.elapsed() >= REPORT_EVERY || !open {
            last_report = Instant::now();
            let p = shared.progress.lock().map_err(poisoned)?.clone();
            if open {
                sink(RefreshEvent::Progress(p));
            }
        }
        if !open {
            return Ok(());
        }
    }
}
