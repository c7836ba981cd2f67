//! Credentials and tokens that must never reach a log, a panic message or the UI.

use std::fmt;

use serde::{Deserialize, Deserializer};
use subtle::ConstantTimeEq;

/// A secret string (API keys, client secrets, tokens, card numbers).
///
/// `Debug` and `Display` print `Secret(***)` / `***`; read the value with
/// [`Secret::expose`] only where it goes on the wire.
#[derive(Clone, Default)]
pub struct Secret(Box<str>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into().into_boxed_str())
    }

    /// The value itself, for signing and for the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `…3883`: the last four characters, the only form a screen may show.
    pub fn masked(&self) -> String {
        let tail: Vec<char> = self.0.chars().rev().take(4).collect();
        if self.0.chars().count() <= 8 {
            // Too short for a tail to be harmless.
            return "…".to_owned();
        }
        format!("…{}", tail.into_iter().rev().collect::<String>())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

// Deserialize only: secrets come in from configuration and the gateway, and are
// never serialised back out by accident.
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("sk_live_51a4bd18-5bc1-4eaa-97b0-c09323398883");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{:?}", Some(&s)), "Some(Secret(***))");
        assert_eq!(s.masked(), "…8883");
        assert_eq!(Secret::new("short").masked(), "…");
        assert_eq!(s, Secret::new(s.expose()));
        assert_ne!(s, Secret::new("other"));
    }
}
