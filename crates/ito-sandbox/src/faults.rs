//! Fault injection for client resilience tests: per merchant, added latency, 503
//! answers and dropped connections on every request authenticated as that merchant
//! (access key, merchant tokens, its users' tokens), except `/sandbox/faults` itself.
//!
//! Settings are stored in the database, so they survive a restart; a copy in memory
//! serves the check every request makes. `serve --faults` sets them at start.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use rusqlite::{Connection, Transaction, params};
use serde::Serialize;
use serde_json::{Value, json};

use crate::auth::Merchant;
use crate::db::Db;
use crate::error::{Error, FieldErrors, Result};
use crate::fields::{self, Fields};
use crate::ids;
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

/// One `serve --faults` value: `[MERCHANT_ID:]latency_ms=N,error_rate=R,drop_rate=R`
/// (absent members are 0) or `[MERCHANT_ID:]off`. Without a merchant id it applies to
/// every merchant in the database at start.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSetting {
    pub merchant_id: Option<String>,
    /// `None` clears the faults.
    pub faults: Option<FaultConfig>,
}

const NAMES: [&str; 3] = ["latency_ms", "error_rate", "drop_rate"];

impl FromStr for FaultSetting {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (merchant_id, settings) = match s.split_once(':') {
            Some((m, rest)) if !m.trim().is_empty() => (Some(m.trim().to_owned()), rest),
            Some(_) => return Err("the merchant id before ':' is empty".into()),
            None => (None, s),
        };
        let settings = settings.trim();
        if settings == "off" {
            return Ok(Self {
                merchant_id,
                faults: None,
            });
        }
        let mut pairs = Vec::new();
        for part in settings.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not NAME=VALUE"))?;
            let name = name.trim();
            if !NAMES.contains(&name) {
                return Err(format!(
                    "unknown fault {name:?}: use latency_ms, error_rate, drop_rate or off"
                ));
            }
            pairs.push((name.to_owned(), value.trim().to_owned()));
        }
        if pairs.is_empty() {
            return Err("no faults given: use latency_ms=N,error_rate=R,drop_rate=R or off".into());
        }
        let faults = parse(&Fields::from_pairs(pairs))
            .map_err(|errors| errors.into_values().flatten().collect::<Vec<_>>().join(" "))?;
        Ok(Self {
            merchant_id,
            faults: Some(faults),
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct Faults {
    by_merchant: Arc<RwLock<HashMap<String, FaultConfig>>>,
    /// Taken while a change is stored and mirrored, so memory ends as the database does
    /// when two changes race.
    changes: Arc<tokio::sync::Mutex<()>>,
}

impl Faults {
    /// Every stored setting.
    pub fn load(conn: &Connection) -> Result<Self> {
        let mut stmt = conn.prepare(
            "SELECT merchant_id, latency_ms, error_rate, drop_rate FROM merchant_faults",
        )?;
        let map = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    FaultConfig {
                        latency_ms: r.get(1)?,
                        error_rate: r.get(2)?,
                        drop_rate: r.get(3)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<HashMap<_, _>>>()?;
        Ok(Self {
            by_merchant: Arc::new(RwLock::new(map)),
            changes: Arc::default(),
        })
    }

    fn get(&self, merchant_id: &str) -> FaultConfig {
        self.by_merchant
            .read()
            .map(|m| m.get(merchant_id).copied().unwrap_or_default())
            .unwrap_or_default()
    }

    /// Stores the merchant's faults (`None` clears them), then puts them in force.
    async fn store(&self, db: &Db, merchant_id: &str, config: Option<FaultConfig>) -> Result<()> {
        let _turn = self.changes.lock().await;
        let id = merchant_id.to_owned();
        db.write(move |tx| save(tx, &id, config)).await?;
        let mut map = self
            .by_merchant
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

fn save(tx: &Transaction<'_>, merchant_id: &str, config: Option<FaultConfig>) -> Result<()> {
    match config {
        Some(c) => tx.execute(
            "INSERT INTO merchant_faults (merchant_id, latency_ms, error_rate, drop_rate, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (merchant_id) DO UPDATE SET latency_ms = ?2, error_rate = ?3,
                 drop_rate = ?4, updated_at = ?5",
            params![merchant_id, c.latency_ms, c.error_rate, c.drop_rate, ids::now_ms()],
        )?,
        None => tx.execute(
            "DELETE FROM merchant_faults WHERE merchant_id = ?1",
            [merchant_id],
        )?,
    };
    Ok(())
}

/// Stores the `serve --faults` settings in order, before the server answers anything.
pub fn apply_settings(tx: &Transaction<'_>, settings: &[FaultSetting]) -> Result<()> {
    for s in settings {
        let merchants = match &s.merchant_id {
            Some(id) => {
                if crate::merchants::by_id(tx, id)?.is_none() {
                    return Err(Error::Config(format!(
                        "--faults names the merchant {id}, which is not in the database"
                    )));
                }
                vec![id.clone()]
            }
            None => crate::merchants::list(tx)?
                .into_iter()
                .map(|m| m.merchant_id)
                .collect(),
        };
        for id in merchants {
            save(tx, &id, s.faults)?;
        }
    }
    Ok(())
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
    state
        .faults
        .store(&state.db, &m.merchant_id, Some(config))
        .await?;
    Ok(answer(config))
}

async fn clear(State(state): State<AppState>, Merchant(m): Merchant) -> Result<Json<Value>> {
    state.faults.store(&state.db, &m.merchant_id, None).await?;
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

    #[test]
    fn serve_flag_syntax() {
        let all: FaultSetting = "error_rate=0.3, drop_rate=0.3,latency_ms=50"
            .parse()
            .unwrap();
        assert_eq!(all.merchant_id, None);
        assert_eq!(
            all.faults,
            Some(FaultConfig {
                latency_ms: 50,
                error_rate: 0.3,
                drop_rate: 0.3
            })
        );
        let one: FaultSetting = "mer_abc:drop_rate=1".parse().unwrap();
        assert_eq!(one.merchant_id.as_deref(), Some("mer_abc"));
        assert_eq!(one.faults.unwrap().drop_rate, 1.0);
        let off: FaultSetting = "mer_abc:off".parse().unwrap();
        assert_eq!(off.faults, None);
        for bad in [
            "",
            "off=1",
            "error_rate",
            "error_rate=2",
            "latency_ms=-1",
            "speed=3",
            ":error_rate=0.1",
            "error_rate=0.1,error_rate=0.2",
        ] {
            let e = bad.parse::<FaultSetting>().unwrap_err();
            assert!(!e.is_empty(), "{bad:?}");
        }
    }
}
