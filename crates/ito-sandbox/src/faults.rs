//! Fault injection for client resilience tests: per merchant, added latency, 503
//! answers and dropped connections on every request authenticated as that merchant
//! (access key, merchant tokens, its users' tokens), except `/sandbox/faults` itself.
//! Kept in memory: a restart clears every fault.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};

use crate::auth::Merchant;
use crate::error::{Error, FieldErrors, Result};
use crate::fields::{self, Fields};
use crate::server::AppState;

pub const PATH: &str = "/sandbox/faults";
pub const MAX_LATENCY_MS: u64 = 60_000;

pub fn routes() -> Router<AppState> {
    Router::new().route(PATH, get(show).put(set).delete(clear))
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct FaultConfig {
    pub latency_ms: u64,
    /// Fractions from 0 to 1 (probabilities, not money).
    pub error_rate: f64,
    pub drop_rate: f64,
}

#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<RwLock<HashMap<String, FaultConfig>>>);

impl Faults {
    fn get(&self, merchant_id: &str) -> FaultConfig {
        self.0
            .read()
            .map(|m| m.get(merchant_id).copied().unwrap_or_default())
            .unwrap_or_default()
    }

    fn set(&self, merchant_id: &str, config: Option<FaultConfig>) -> Result<()> {
        let mut map = self
            .0
            .write()
            .map_err(|_| Error::Internal("fault registry poisoned".into()))?;
        match config {
            Some(c) => map.insert(merchant_id.to_owned(), c),
            None => map.remove(merchant_id),
        };
        Ok(())
    }

    /// Delays, fails or drops this request as the merchant's faults say.
    pub async fn apply(&self, merchant_id: &str) -> Result<()> {
        let c = self.get(merchant_id);
        if c == FaultConfig::default() {
            return Ok(());
        }
        if c.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(c.latency_ms)).await;
        }
        if rand::random::<f64>() < c.drop_rate {
            return Err(Error::Dropped);
        }
        if rand::random::<f64>() < c.error_rate {
            return Err(Error::Unavailable(
                "Service temporarily unavailable (injected fault).".into(),
            ));
        }
        Ok(())
    }
}

fn rate(f: &Fields, name: &str, errors: &mut FieldErrors) -> f64 {
    let Some(raw) = f.text(name, errors) else {
        return 0.0;
    };
    match raw.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => r,
        _ => {
            fields::push(
                errors,
                name,
                format!("The {name} must be a number from 0 to 1."),
            );
            0.0
        }
    }
}

fn parse(f: &Fields) -> std::result::Result<FaultConfig, FieldErrors> {
    let mut errors = FieldErrors::new();
    let latency_ms = match f
        .text("latency_ms", &mut errors)
        .map(|l| l.trim().parse::<u64>())
    {
        None => 0,
        Some(Ok(ms)) if ms <= MAX_LATENCY_MS => ms,
        Some(_) => {
            fields::push(
                &mut errors,
                "latency_ms",
                format!("The latency_ms must be a whole number from 0 to {MAX_LATENCY_MS}."),
            );
            0
        }
    };
    let config = FaultConfig {
        latency_ms,
        error_rate: rate(f, "error_rate", &mut errors),
        drop_rate: rate(f, "drop_rate", &mut errors),
    };
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(errors)
    }
}

fn answer(c: FaultConfig) -> Json<Value> {
    Json(json!({"code": 200, "status": "ok", "faults": c}))
}

async fn show(State(state): State<AppState>, Merchant(m): Merchant) -> Json<Value> {
    answer(state.faults.get(&m.merchant_id))
}

/// `PUT /sandbox/faults {latency_ms, error_rate, drop_rate}`: replaces the faults;
/// an absent member is 0.
async fn set(
    State(state): State<AppState>,
    Merchant(m): Merchant,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let f = Fields::from_body(&headers, body).await?;
    let config = parse(&f).map_err(Error::Validation)?;
    state.faults.set(&m.merchant_id, Some(config))?;
    Ok(answer(config))
}

async fn clear(State(state): State<AppState>, Merchant(m): Merchant) -> Result<Json<Value>> {
    state.faults.set(&m.merchant_id, None)?;
    Ok(answer(FaultConfig::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_fractions() {
        let ok = Fields::from_json(br#"{"latency_ms": 5, "error_rate": 0.25, "drop_rate": "1"}"#)
            .unwrap();
        let c = parse(&ok).unwrap();
        assert_eq!((c.latency_ms, c.error_rate, c.drop_rate), (5, 0.25, 1.0));
        let bad =
            Fields::from_json(br#"{"latency_ms": -1, "error_rate": 1.5, "drop_rate": "NaN"}"#)
                .unwrap();
        let errors = parse(&bad).unwrap_err();
        assert_eq!(errors.len(), 3);
    }
}
