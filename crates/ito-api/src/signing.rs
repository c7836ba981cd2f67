//! The gateway's signature: `hex(HMAC-SHA256(secret_key, "{timestamp}.{raw body}"))`,
//! over the exact bytes sent.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use std::collections::HashMap;
use std::sync::Mutex;

use crate::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &Secret, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = match HmacSha256::new_from_slice(secret.expose().as_bytes()) {
        Ok(mac) => mac,
        // HMAC is defined for keys of every length, so the error case does not exist.
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Lower-case hex signature of `body` at `timestamp` (Unix seconds).
pub fn sign(secret: &Secret, timestamp: i64, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
}

/// Whether `signature` (hex, with or without `sha256=`) signs `body` at `timestamp`.
/// The comparison is constant-time.
pub fn verify(secret: &Secret, timestamp: i64, body: &[u8], signature: &str) -> bool {
    let hex_sig = signature.trim();
    let hex_sig = hex_sig.strip_prefix("sha256=").unwrap_or(hex_sig);
    match hex::decode(hex_sig) {
        Ok(bytes) => mac(secret, timestamp, body).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

/// Signatures this client sent recently. The gateway refuses a (timestamp,
/// signature) pair it has seen, and two sends of the same body in the same second
/// (a quick retry, a repeated idempotent creation) would sign to the same pair; the
/// second one then moves its timestamp a second on instead.
#[derive(Default)]
pub(crate) struct RecentSignatures {
    sent: Mutex<Sent>,
}

#[derive(Default)]
struct Sent {
    by_signature: HashMap<String, i64>,
    /// Size at which the next prune runs; it grows with the load so that pruning
    /// stays a rare, amortised pass.
    prune_at: usize,
}

/// Entries are pruned once there are this many.
const PRUNE_AT: usize = 1024;

impl RecentSignatures {
    /// A fresh `(timestamp, signature)` for `body`, never one this client sent before.
    pub fn sign_fresh(&self, secret: &Secret, now: i64, body: &[u8]) -> (i64, String) {
        let mut sent = match self.sent.lock() {
            Ok(guard) => guard,
            // A panic elsewhere cannot leave this map inconsistent; keep using it.
            Err(poisoned) => poisoned.into_inner(),
        };
        if sent.by_signature.len() >= sent.prune_at.max(PRUNE_AT) {
            // Only pairs at `now` or later can collide with what is signed from now on.
            sent.by_signature.retain(|_, ts| *ts >= now);
            sent.prune_at = sent.by_signature.len() * 2;
        }
        let mut timestamp = now;
        loop {
            let signature = sign(secret, timestamp, body);
            if let std::collections::hash_map::Entry::Vacant(slot) =
                sent.by_signature.entry(signature)
            {
                let signature = slot.key().clone();
                slot.insert(timestamp);
                return (timestamp, signature);
            }
            timestamp += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn matches_an_independent_implementation() {
        // printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            sign(&Secret::new("secret"), 1_700_000_000, br#"{"a":1}"#),
            "49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
    }

    #[test]
    fn repeated_bodies_get_distinct_timestamps() {
        let recent = RecentSignatures::default();
        let key = Secret::new("k");
        let (t1, s1) = recent.sign_fresh(&key, 100, b"same");
        let (t2, s2) = recent.sign_fresh(&key, 100, b"same");
        let (t3, _) = recent.sign_fresh(&key, 100, b"other");
        assert_eq!((t1, t2, t3), (100, 101, 100));
        assert_ne!(s1, s2);
        assert!(verify(&key, t2, b"same", &s2));
    }

    proptest! {
        #[test]
        fn sign_then_verify_round_trips(
            key in ".{0,64}",
            ts in 0i64..4_000_000_000,
            body in proptest::collection::vec(any::<u8>(), 0..512),
            prefixed in any::<bool>(),
        ) {
            let secret = Secret::new(key);
            let sig = sign(&secret, ts, &body);
            let given = if prefixed { format!("sha256={sig}") } else { sig.clone() };
            prop_assert!(verify(&secret, ts, &body, &given));
            prop_assert!(verify(&secret, ts, &body, &sig.to_uppercase()));
            prop_assert!(!verify(&secret, ts + 1, &body, &sig));
            let mut other = body.clone();
            other.push(b' ');
            prop_assert!(!verify(&secret, ts, &other, &sig));
            let wrong = Secret::new(format!("{}x", secret.expose()));
            prop_assert!(!verify(&wrong, ts, &body, &sig));
        }
    }
}
