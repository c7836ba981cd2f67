//! Random identifiers and credentials, and the clock.

use rand::Rng;
use rand::distr::Alphanumeric;

/// `len` random characters from `[A-Za-z0-9]`, from the OS-seeded CSPRNG.
pub fn alphanumeric(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// `prefix` followed by `len` random characters.
pub fn prefixed(prefix: &str, len: usize) -> String {
    format!("{prefix}{}", alphanumeric(len))
}

/// A payment id in the gateway's shape (`AIYmQIOAz0GlmsjfhgiOeu304`).
pub fn payment_id() -> String {
    alphanumeric(25)
}

/// A transaction id in the gateway's shape (`AIYmQIOAz0G`).
pub fn transaction_id() -> String {
    alphanumeric(11)
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// RFC 3339 UTC text for a Unix-milliseconds instant.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `serialize_with` form of [`rfc3339`] for Unix-millisecond fields.
pub fn serialize_rfc3339<S: serde::Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*ms))
}

/// [`serialize_rfc3339`] for optional instants (`null` when absent).
pub fn serialize_rfc3339_opt<S: serde::Serializer>(
    ms: &Option<i64>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => serialize_rfc3339(ms, s),
        None => s.serialize_none(),
    }
}
