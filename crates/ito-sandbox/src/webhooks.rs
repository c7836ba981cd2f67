//! Signed webhook delivery, at least once, with retries that survive restarts.
//!
//! Deliveries live in the database. The worker picks due ones, leases them (so a
//! crash mid-attempt only delays a retry), signs each attempt with a fresh
//! timestamp and records every attempt. The retry schedule is documented on
//! [`crate::Config`]: base, doubling, capped, for a fixed number of attempts.

use std::time::{Duration, Instant};

use rusqlite::{Connection, params};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::payments::Payment;
use crate::server::AppState;
use crate::{ids, merchants, signing};

/// Deliveries attempted concurrently per pass.
const BATCH: usize = 16;
/// Longest sleep between passes when nothing is due; also the expiry sweep period.
const IDLE_POLL: Duration = Duration::from_millis(500);

/// The body the gateway posts on payment, as its documentation shows it: amounts are
/// JSON numbers written at the currency's scale (`100.00`), the date is DD-MM-YYYY.
#[derive(Serialize)]
struct Payload<'a> {
    code: u16,
    status: &'static str,
    payment_id: &'a str,
    transaction: &'a str,
    amount: Box<RawValue>,
    charge: Box<RawValue>,
    currency: &'static str,
    custom: &'a str,
    date: String,
}

fn number(d: Decimal) -> Result<Box<RawValue>> {
    RawValue::from_string(d.to_string()).map_err(|e| Error::Internal(e.to_string()))
}

pub fn payload(p: &Payment) -> Result<String> {
    let paid_at = p.paid_at.unwrap_or(p.created_at);
    let date = chrono::DateTime::from_timestamp_millis(paid_at)
        .unwrap_or_default()
        .format("%d-%m-%Y")
        .to_string();
    let body = Payload {
        code: 200,
        status: "ok",
        payment_id: &p.id,
        transaction: p.transaction.as_deref().unwrap_or_default(),
        amount: number(p.amount)?,
        charge: number(p.charge.unwrap_or_default())?,
        currency: p.currency.code(),
        custom: &p.custom,
        date,
    };
    serde_json::to_string(&body).map_err(|e| Error::Internal(e.to_string()))
}

/// Queues a delivery of `p`'s payment webhook, due now, in the caller's transaction.
pub fn enqueue(conn: &Connection, p: &Payment, now: i64) -> Result<i64> {
    conn.execute(
        "INSERT INTO webhook_deliveries (payment_id, url, body, state, next_attempt_at, created_at) \
         VALUES (?1, ?2, ?3, 'pending', ?4, ?4)",
        params![p.id, p.web_hook, payload(p)?, now],
    )?;
    Ok(conn.last_insert_rowid())
}

#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub delivery_id: i64,
    pub attempt: u32,
    #[serde(serialize_with = "ids::serialize_rfc3339")]
    pub attempted_at: i64,
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
}

pub fn attempts(conn: &Connection, payment_id: &str) -> Result<Vec<Attempt>> {
    let mut stmt = conn.prepare_cached(
        "SELECT delivery_id, attempt, attempted_at, status_code, latency_ms, error \
         FROM webhook_attempts WHERE payment_id = ?1 ORDER BY id",
    )?;
    let rows = stmt
        .query_map([payment_id], |r| {
            Ok(Attempt {
                delivery_id: r.get(0)?,
                attempt: r.get(1)?,
                attempted_at: r.get(2)?,
                status_code: r.get(3)?,
                latency_ms: r.get(4)?,
                error: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

#[derive(Debug)]
struct Due {
    id: i64,
    payment_id: String,
    url: String,
    body: String,
    attempts: u32,
    secret_key: String,
}

/// Delay before attempt `n + 1` after `n` failed attempts.
pub fn retry_delay(base: Duration, cap: Duration, failed: u32) -> Duration {
    let factor = 1u32
        .checked_shl(failed.saturating_sub(1))
        .unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(cap)
}

pub async fn run_worker(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        let next = match pass(&state).await {
            Ok(next) => next,
            Err(e) => {
                tracing::error!(error = %e, "webhook pass failed");
                IDLE_POLL
            }
        };
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = state.webhook_wake.notified() => {}
            _ = tokio::time::sleep(next) => {}
        }
    }
}

/// Expires due payments, attempts due deliveries, and says how long to sleep.
async fn pass(state: &AppState) -> Result<Duration> {
    let now = ids::now_ms();
    // A picked delivery is reserved for twice an attempt's longest time, so that a crash
    // mid-attempt delays its retry by no more than that.
    let lease_ms =
        i64::try_from(state.config.webhook_timeout.as_millis() * 2).unwrap_or(i64::MAX / 2);
    let due = state
        .db
        .write(move |tx| {
            crate::payments::expire_due(tx, now)?;
            // Replay protection only needs pairs whose timestamp could still be accepted.
            tx.execute(
                "DELETE FROM signature_uses WHERE timestamp < ?1",
                [now / 1000 - 2 * signing::TOLERANCE_SECS],
            )?;
            let mut stmt = tx.prepare_cached(
                "SELECT d.id, d.payment_id, d.url, d.body, d.attempts, p.merchant_id FROM webhook_deliveries d \
                 JOIN payments p ON p.id = d.payment_id \
                 WHERE d.state = 'pending' AND d.next_attempt_at <= ?1 ORDER BY d.next_attempt_at LIMIT ?2",
            )?;
            let picked = stmt
                .query_map(params![now, BATCH as i64], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get::<_, String>(5)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut due = Vec::with_capacity(picked.len());
            for (id, payment_id, url, body, attempts, merchant_id) in picked {
                tx.execute(
                    "UPDATE webhook_deliveries SET next_attempt_at = ?2 WHERE id = ?1",
                    params![id, now + lease_ms],
                )?;
                let secret_key = merchants::by_id(tx, &merchant_id)?
                    .map(|m| m.secret_key)
                    .unwrap_or_default();
                due.push(Due { id, payment_id, url, body, attempts, secret_key });
            }
            let next: Option<i64> = tx.query_row(
                "SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE state = 'pending'",
                [],
                |r| r.get(0),
            )?;
            Ok((due, next))
        })
        .await?;
    let (due, next) = due;
    let full_batch = due.len() == BATCH;
    let mut running = tokio::task::JoinSet::new();
    for d in due {
        let state = state.clone();
        running.spawn(async move { attempt(&state, d).await });
    }
    while let Some(joined) = running.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "recording a webhook attempt failed"),
            Err(e) => tracing::error!(error = %e, "webhook attempt task failed"),
        }
    }
    if full_batch {
        return Ok(Duration::ZERO);
    }
    let wait = next.map_or(IDLE_POLL, |n| {
        Duration::from_millis(u64::try_from(n - ids::now_ms()).unwrap_or(0))
    });
    Ok(wait.min(IDLE_POLL))
}

async fn attempt(state: &AppState, d: Due) -> Result<()> {
    let timestamp = ids::now_ms() / 1000;
    let signature = signing::sign(&d.secret_key, timestamp, d.body.as_bytes());
    let number = d.attempts + 1;
    let started = Instant::now();
    let result = state
        .http
        .post(&d.url)
        .header("content-type", "application/json")
        .header("x-timestamp", timestamp.to_string())
        .header("x-signature", format!("sha256={signature}"))
        .header("x-webhook-delivery", d.id.to_string())
        .header("x-webhook-attempt", number.to_string())
        .body(d.body.clone())
        .send()
        .await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (status_code, error) = match result {
        Ok(res) if res.status().is_success() => (Some(res.status().as_u16()), None),
        Ok(res) => (
            Some(res.status().as_u16()),
            Some(format!("answered {}", res.status())),
        ),
        Err(e) if e.is_timeout() => (None, Some("timed out".to_owned())),
        Err(e) if e.is_connect() => (None, Some("connection refused or unreachable".to_owned())),
        Err(e) => (None, Some(format!("request failed: {e}"))),
    };
    let delivered = error.is_none();
    let config = state.config.clone();
    state
        .db
        .write(move |tx| {
            let now = ids::now_ms();
            tx.execute(
                "INSERT INTO webhook_attempts (delivery_id, payment_id, attempt, attempted_at, status_code, latency_ms, error) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![d.id, d.payment_id, number, now, status_code, latency_ms as i64, error],
            )?;
            let (state, next) = if delivered {
                ("delivered", now)
            } else if number >= config.webhook_max_attempts {
                ("failed", now)
            } else {
                let delay = retry_delay(config.webhook_retry_base, config.webhook_retry_cap, number);
                ("pending", now + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2))
            };
            tx.execute(
                "UPDATE webhook_deliveries SET state = ?2, attempts = ?3, next_attempt_at = ?4 WHERE id = ?1",
                params![d.id, state, number, next],
            )?;
            Ok(())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_schedule_doubles_and_caps() {
        let base = Duration::from_secs(30);
        let cap = Duration::from_secs(3600);
        let delays: Vec<u64> = (1..=9)
            .map(|n| retry_delay(base, cap, n).as_secs())
            .collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(retry_delay(base, cap, 200), cap);
    }
}
