//! Fuzz targets on stable Rust (proptest): arbitrary bytes and strings, and near-valid
//! structured inputs, into everything the SDK reads from outside: signatures, webhook
//! deliveries, amounts and the KYC form. Nothing may panic.
//!
//! `PROPTEST_CASES` sets the inputs per target (256 by default: CI's short pass);
//! `scripts/fuzz.sh` runs a million in all. The seed is fixed, so CI is repeatable,
//! unless `PROPTEST_RNG_SEED` gives another.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::DateTime;
use proptest::prelude::*;
use proptest::test_runner::{RngSeed, TestRng, TestRunner};
use reqwest::header::{HeaderMap, HeaderValue};

use crate::kyc::Kyc;
use crate::{Currency, Money, Secret, is_valid_email, signing, webhook};

/// Runs `test` on inputs drawn from `strategy`, printing how many it tried; a panic
/// fails the target with the smallest input found.
fn run<S: Strategy>(target: &str, strategy: S, test: impl Fn(S::Value))
where
    S::Value: std::fmt::Debug,
{
    let config = ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = match config.rng_seed {
        RngSeed::Random => {
            let rng = TestRng::deterministic_rng(config.rng_algorithm);
            TestRunner::new_with_rng(config, rng)
        }
        RngSeed::Fixed(_) => TestRunner::new(config),
    };
    let inputs = AtomicU64::new(0);
    let outcome = runner.run(&strategy, |value| {
        inputs.fetch_add(1, Ordering::Relaxed);
        test(value);
        Ok(())
    });
    let inputs = inputs.into_inner();
    match outcome {
        Ok(()) => eprintln!("fuzz target {target}: {inputs} inputs, 0 panics"),
        Err(e) => {
            eprintln!("fuzz target {target}: {inputs} inputs, 1 panic");
            panic!("fuzz target {target} panicked: {e}");
        }
    }
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

fn currency_code() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["USD", "JPY", "SGP-USD", "usd", "EUR", ""])
            .prop_map(str::to_owned),
        any::<String>(),
    ]
}

/// A decimal's text with the edges that hurt: signs, long fractions, exponents, the
/// largest `Decimal`s.
fn decimal_text() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => "-?[0-9]{1,30}(\\.[0-9]{0,30})?",
        1 => "[-+]?[0-9]{0,12}(\\.[0-9]{0,4})?([eE][-+]?[0-9]{1,4})?",
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<u128>().prop_map(|n| n.to_string()),
        2 => prop::sample::select(vec![
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "7922816251426433759354395033.5",
            "0.0000000000000000000000000001",
            "1.",
            ".5",
        ])
        .prop_map(str::to_owned),
    ]
}

#[test]
fn fuzz_signature_verification() {
    let secret = Secret::new("sk_fuzz");
    run(
        "signature verification (SDK)",
        prop_oneof![
            (any::<i64>(), bytes(256), any::<String>()).prop_map(|(t, b, s)| (t, b, s, false)),
            (
                any::<i64>(),
                bytes(256),
                0u8..5,
                any::<prop::sample::Index>()
            )
                .prop_map(move |(ts, body, mutation, at)| {
                    let sig = signing::sign(&Secret::new("sk_fuzz"), ts, &body);
                    let sig = match mutation {
                        0 => sig,
                        1 => format!(" sha256={sig} "),
                        2 => sig[..at.index(sig.len())].to_owned(),
                        3 => format!("sha256={}", &sig[1..]),
                        _ => format!("{sig}ff"),
                    };
                    (ts, body, sig, mutation < 2)
                }),
        ],
        move |(ts, body, sig, genuine)| {
            let ok = signing::verify(&secret, ts, &body, &sig);
            if genuine {
                assert!(ok);
            }
        },
    );
}

/// A webhook body shaped like the gateway's, each member possibly off.
fn event_body() -> impl Strategy<Value = String> {
    let amount = prop_oneof![
        decimal_text(),
        decimal_text().prop_map(|d| format!("\"{d}\"")),
        Just("null".to_owned()),
    ];
    let date = prop_oneof![
        4 => (1u32..=31, 1u32..=12, 1970u32..2100)
            .prop_map(|(d, m, y)| format!("{d:02}-{m:02}-{y:04}")),
        1 => "[0-9]{2}-[0-9]{2}-[0-9]{4}",
        1 => "[0-9-]{0,12}",
        1 => any::<String>(),
    ];
    let currency = prop_oneof![
        4 => prop::sample::select(vec!["USD", "JPY", "SGP-USD"]).prop_map(str::to_owned),
        1 => currency_code(),
    ];
    // The charge: its own value, or the amount's negation or copy (the edges of `net`).
    let charge = (amount.clone(), 0u8..3);
    (
        amount,
        charge,
        currency,
        date,
        "[A-Za-z0-9]{0,30}",
        any::<String>(),
    )
        .prop_map(|(amount, (charge, how), currency, date, id, custom)| {
            let charge = match how {
                0 => charge,
                1 => amount
                    .strip_prefix('-')
                    .map_or_else(|| format!("-{amount}"), str::to_owned),
                _ => amount.clone(),
            };
            serde_json::json!({"code": 200, "status": "ok", "payment_id": id, "transaction": "T1",
                "currency": currency, "custom": custom, "date": date})
            .to_string()
            .replacen(
                '{',
                &format!("{{\"amount\":{amount},\"charge\":{charge},"),
                1,
            )
        })
}

#[test]
fn fuzz_webhook_parsing() {
    let now: i64 = 1_700_000_000;
    let tolerance = Duration::from_secs(300);
    let header_value = prop_oneof![
        any::<String>(),
        (now - 400..now + 400).prop_map(|t| t.to_string()),
        any::<i64>().prop_map(|t| t.to_string())
    ];
    run(
        "webhook parsing",
        prop_oneof![
            // Unsigned junk: headers and body as they come.
            1 => (header_value.clone(), any::<String>(), bytes(512))
                .prop_map(|(t, s, body)| (t, Some(s), body)),
            // Correctly signed, so the body parser is reached.
            1 => (header_value, bytes(512)).prop_map(|(t, body)| (t, None, body)),
            3 => ((now - 300..now + 300).prop_map(|t| t.to_string()), event_body())
                .prop_map(|(t, body)| (t, None, body.into_bytes())),
        ],
        move |(ts, signature, body): (String, Option<String>, Vec<u8>)| {
            let secret = Secret::new("whsec_fuzz");
            let signature = signature.unwrap_or_else(|| {
                let t = ts.trim().parse().unwrap_or(0);
                webhook::signature_header(&secret, t, &body)
            });
            let mut headers = HeaderMap::new();
            for (name, value) in [("x-timestamp", &ts), ("x-signature", &signature)] {
                if let Ok(v) = HeaderValue::from_bytes(value.as_bytes()) {
                    headers.insert(name, v);
                }
            }
            let at = DateTime::from_timestamp(now, 0).unwrap_or_default();
            if let Ok(e) = webhook::verify_at(&headers, &body, &secret, tolerance, at) {
                let _ = (e.net().format(), e.amount.format(), e.charge.format());
                let _ = serde_json::to_string(&e);
            }
        },
    );
}

#[test]
fn fuzz_money_parsing() {
    let currency = prop::sample::select(Currency::ALL.to_vec());
    run(
        "money parsing (SDK)",
        (
            prop_oneof![any::<String>(), decimal_text()],
            currency,
            currency_code(),
        ),
        |(text, currency, code)| {
            if let Ok(m) = Money::parse(&text, currency) {
                // The type's promise: always at the currency's scale.
                assert_eq!(m.amount().scale(), currency.scale(), "{m:?}");
                assert_eq!(Money::parse(&m.to_decimal_string(), currency), Ok(m));
                let _ = (m.format(), m.is_positive(), m.checked_add(m));
                let json = serde_json::to_string(&m).unwrap_or_default();
                assert_eq!(serde_json::from_str::<Money>(&json).ok(), Some(m));
            }
            let wire = serde_json::json!({"amount": text, "currency": code}).to_string();
            let _ = serde_json::from_str::<Money>(&wire);
            let _ = text.parse::<Currency>();
            let _ = is_valid_email(&text);
        },
    );
}

/// A KYC state as the gateway sends it, with labels in either form and odd members.
fn kyc_body() -> impl Strategy<Value = String> {
    let label = prop_oneof![
        any::<String>().prop_map(serde_json::Value::String),
        (any::<String>(), any::<String>())
            .prop_map(|(en, ja)| serde_json::json!({"en": en, "ja": ja})),
        Just(serde_json::json!("氏名 / Legal name")),
        Just(serde_json::json!(" / ")),
    ];
    let field = (any::<String>(), label.clone(), prop::sample::select(vec!["text", "date", "tel", "country", "select", "?"]), any::<bool>(), prop::option::of(any::<i64>()))
        .prop_map(|(id, label, kind, required, max)| {
            serde_json::json!({"id": id, "label": label, "type": kind, "required": required, "max_length": max,
                "options": [{"value": "a", "label": "A / エー"}]})
        });
    let section = (label, prop::collection::vec(field, 0..4)).prop_map(
        |(title, fields)| serde_json::json!({"id": "s", "title": title, "fields": fields}),
    );
    let status = prop::sample::select(vec![
        "not_started",
        "draft",
        "submitted",
        "approved",
        "rejected",
        "other",
    ]);
    let when = prop_oneof![
        Just(serde_json::Value::Null),
        any::<String>().prop_map(serde_json::Value::String),
        Just(serde_json::json!("2026-01-01T00:00:00Z")),
        Just(serde_json::json!("+262143-12-31T23:59:59Z"))
    ];
    (
        status,
        prop::collection::vec(section, 0..3),
        prop::collection::btree_map(any::<String>(), any::<String>(), 0..4),
        when,
    )
        .prop_map(|(status, sections, values, updated_at)| {
            serde_json::json!({"status": status, "schema": {"sections": sections}, "values": values,
                "missing": [], "updated_at": updated_at})
            .to_string()
        })
}

#[test]
fn fuzz_kyc_form() {
    run(
        "KYC form (SDK)",
        prop_oneof![bytes(512), kyc_body().prop_map(String::into_bytes)],
        |body| {
            if let Ok(k) = serde_json::from_slice::<Kyc>(&body) {
                let _ = k.status.is_locked();
                for s in &k.schema.sections {
                    let _ = (s.title.text("ja"), s.title.text("en"));
                    for f in &s.fields {
                        let _ = (f.label.text("ja-JP"), f.label.text(""));
                    }
                }
                let _ = serde_json::to_string(&k);
            }
        },
    );
}
