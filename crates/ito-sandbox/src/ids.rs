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

/// A payment id in the gateway's shape (`AIYmQIOAz0GlmsjfhgiOeu304`): the creation
/// time in milliseconds as 8 base-62 digits, then 17 random characters (101 bits). The
/// time prefix makes ids sort by creation, so inserting one appends to the id index
/// instead of writing a random page of it.
pub fn payment_id() -> String {
    let mut id = base62(u64::try_from(now_ms()).unwrap_or(0), 8);
    id.push_str(&alphanumeric(17));
    id
}

/// `n` as `width` base-62 digits in ASCII order (`0-9A-Za-z`), so that the text sorts
/// as the number does; the highest digits are dropped past `width`.
fn base62(mut n: u64, width: usize) -> String {
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(n % 62) as usize];
        n /= 62;
    }
    out.into_iter().map(char::from).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_ids_keep_the_gateway_shape_and_sort_by_creation() {
        let first = payment_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = payment_id();
        for id in [&first, &second] {
            assert_eq!(id.len(), 25);
            assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
        }
        assert!(first < second, "{first} then {second}");
        assert_ne!(first[8..], second[8..]);
    }

    #[test]
    fn base62_text_sorts_as_its_number() {
        let numbers = [
            0,
            9,
            10,
            35,
            36,
            61,
            62,
            3843,
            3844,
            1_764_500_000_000,
            62u64.pow(8) - 1,
        ];
        let texts: Vec<String> = numbers.iter().map(|n| base62(*n, 8)).collect();
        assert_eq!(texts[0], "00000000");
        assert_eq!(texts[2], "0000000A");
        assert_eq!(texts[10], "zzzzzzzz");
        assert!(texts.windows(2).all(|w| w[0] < w[1]), "{texts:?}");
    }
}
