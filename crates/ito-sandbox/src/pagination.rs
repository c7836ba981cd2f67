//! Keyset pagination with opaque cursors. A cursor names the last row a page
//! returned, so pages neither skip nor repeat rows while new ones are added.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{Error, FieldErrors, Result};
use crate::fields;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;

/// The cursor pointing after the row `seq` of a listing named `kind`.
pub fn encode(kind: &str, seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{seq}"))
}

/// Reads a cursor made by [`encode`] for the same `kind`; anything else is a 400.
pub fn decode(kind: &str, cursor: &str) -> Result<i64> {
    let bad =
        || Error::BadRequest("The cursor is invalid; pass next_cursor exactly as returned.".into());
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (k, seq) = text.split_once(':').ok_or_else(bad)?;
    if k != kind {
        return Err(bad());
    }
    seq.parse::<i64>().ok().filter(|s| *s > 0).ok_or_else(bad)
}

/// Parses `limit` (1 to [`MAX_LIMIT`], default [`DEFAULT_LIMIT`]).
pub fn limit(raw: Option<&str>) -> Result<usize> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_LIMIT);
    };
    match raw.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => {
            let mut errors = FieldErrors::new();
            fields::push(
                &mut errors,
                "limit",
                format!("The limit must be a whole number from 1 to {MAX_LIMIT}."),
            );
            Err(Error::Validation(errors))
        }
    }
}

/// Query parameters shared by every listing.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

impl PageQuery {
    /// `(before, limit)`: fetch rows with a sequence number below `before`.
    pub fn parse(&self, kind: &str) -> Result<(Option<i64>, usize)> {
        let before = self
            .cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(|c| decode(kind, c))
            .transpose()?;
        Ok((before, limit(self.limit.as_deref())?))
    }
}

/// The next cursor for a page fetched with `limit + 1` rows: present when the extra
/// row came back, which is then dropped.
pub fn next_cursor<T>(
    kind: &str,
    rows: &mut Vec<T>,
    limit: usize,
    seq: impl Fn(&T) -> i64,
) -> Option<String> {
    if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|r| encode(kind, seq(r)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips_and_refuses_other_kinds() {
        let c = encode("payments", 42);
        assert_eq!(decode("payments", &c).unwrap(), 42);
        assert!(decode("transactions", &c).is_err());
    }

    proptest! {
        #[test]
        fn tampered_cursors_are_errors_not_panics(s in ".{0,64}") {
            if let Ok(seq) = decode("payments", &s) {
                prop_assert!(seq > 0);
            }
        }
    }
}
