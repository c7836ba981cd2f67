//! Fuzz targets on stable Rust (proptest): arbitrary bytes and strings, and near-valid
//! structured inputs, into every parser that reads what a client sends: request
//! signatures, the cursor codec, amounts, JSON, form-encoded and multipart bodies, the
//! payment request and the KYC and profile validators. Nothing may panic.
//!
//! `PROPTEST_CASES` sets the inputs per target (256 by default: CI's short pass);
//! `scripts/fuzz.sh` runs a million in all. The seed is fixed, so CI is repeatable,
//! unless `PROPTEST_RNG_SEED` gives another.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use proptest::test_runner::{RngSeed, TestRng, TestRunner};
use rust_decimal::Decimal;

use crate::fields::Fields;
use crate::money::{Currency, MAX_AMOUNT, parse_amount};
use crate::{kyc, pagination, payments, signing, users};

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

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(Currency::ALL.to_vec())
}

/// Timestamps near now and at the edges of `i64`.
fn timestamp(now: i64) -> impl Strategy<Value = i64> {
    prop_oneof![
        (-400i64..400).prop_map(move |d| now + d),
        any::<i64>(),
        Just(i64::MIN),
        Just(i64::MAX),
        Just(0),
    ]
}

/// A decimal's text as clients write it, with the edges that hurt: signs, leading
/// zeros, long fractions, exponents, blanks.
fn decimal_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[-+]?[0-9]{0,32}(\\.[0-9]{0,32})?([eE][-+]?[0-9]{1,6})?",
        "[0-9]{1,10}(\\.[0-9]{0,3})?",
        "[ 0-9.,eE+-]{0,24}",
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u128>().prop_map(|n| n.to_string()),
        Just("79228162514264337593543950335".to_owned()),
        Just("-79228162514264337593543950336".to_owned()),
        Just("1e28".to_owned()),
        Just("1e-28".to_owned()),
    ]
}

#[test]
fn fuzz_signature_verification() {
    let secret = "sk_fuzz";
    let now = 1_700_000_000;
    let header_text = prop_oneof![any::<String>(), "[0-9a-fA-F=sh -]{0,80}"];
    let arbitrary = (header_text.clone(), header_text, bytes(256));
    let near_valid = (
        timestamp(now),
        bytes(256),
        0usize..8,
        any::<prop::sample::Index>(),
    );
    run(
        "signature verification (sandbox)",
        prop_oneof![
            arbitrary.prop_map(|(t, s, body)| (t, s, body, false)),
            near_valid.prop_map(move |(ts, body, mutation, at)| {
                let sig = signing::sign(secret, ts, &body);
                let sig = match mutation {
                    0 => sig,
                    1 => format!("sha256={sig}"),
                    2 => sig.to_uppercase(),
                    3 => format!("  {sig}\t"),
                    4 => sig[..at.index(sig.len())].to_owned(),
                    5 => {
                        let mut s = sig.into_bytes();
                        let i = at.index(s.len());
                        s[i] = if s[i] == b'0' { b'1' } else { b'0' };
                        String::from_utf8_lossy(&s).into_owned()
                    }
                    6 => format!("sha256=sha256={sig}"),
                    _ => format!("{sig}0"),
                };
                (ts.to_string(), sig, body, mutation < 4)
            }),
        ],
        |(ts, sig, body, genuine)| {
            let mut headers = HeaderMap::new();
            for (name, value) in [("x-timestamp", &ts), ("x-signature", &sig)] {
                if let Ok(v) = HeaderValue::from_bytes(value.as_bytes()) {
                    headers.insert(name, v);
                }
            }
            let verified = signing::verify(&headers, &body, secret, now);
            let in_window = ts.parse::<i64>().is_ok_and(|t| now.abs_diff(t) <= 300);
            if genuine && in_window {
                assert!(verified.is_ok(), "{verified:?}");
            }
        },
    );
}

#[test]
fn fuzz_cursor_codec() {
    let kinds = prop::sample::select(vec!["payments", "users", "transactions", "", "payments:"]);
    run(
        "cursor codec",
        prop_oneof![
            any::<String>().prop_map(|s| (s, 0)),
            "[A-Za-z0-9_=-]{0,40}".prop_map(|s| (s, 0)),
            (kinds.clone(), decimal_text())
                .prop_map(|(k, n)| (URL_SAFE_NO_PAD.encode(format!("{k}:{n}")), 0)),
            (kinds, bytes(40)).prop_map(|(k, b)| {
                let mut raw = format!("{k}:").into_bytes();
                raw.extend(b);
                (URL_SAFE_NO_PAD.encode(raw), 0)
            }),
            (1i64..).prop_map(|n| (pagination::encode("payments", n), n)),
        ],
        |(cursor, seq)| {
            let decoded = pagination::decode("payments", &cursor);
            if seq > 0 {
                assert_eq!(decoded.ok(), Some(seq));
            } else if let Ok(n) = decoded {
                assert!(n > 0);
            }
        },
    );
}

#[test]
fn fuzz_money_parsing() {
    let text = prop_oneof![any::<String>(), decimal_text()];
    run(
        "money parsing (sandbox)",
        (text, any::<bool>(), currency()),
        |(text, exponent, currency)| {
            if let Ok(amount) = parse_amount(&text, exponent, currency) {
                assert!(amount > Decimal::ZERO && amount <= MAX_AMOUNT, "{amount}");
                assert_eq!(amount.scale(), currency.scale());
                let _ = currency.charge(amount);
                let _ = currency.format(amount);
            }
        },
    );
}

/// A JSON object with members of every kind, numbers written in odd ways included.
fn json_object() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        prop::sample::select(vec![
            "amount",
            "currency_code",
            "custom",
            "details",
            "web_hook",
            "cancel_url",
            "success_url",
            "customer_email",
            "payment_id",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
    ];
    let value = prop_oneof![
        decimal_text(),
        any::<String>().prop_map(|s| serde_json::Value::String(s).to_string()),
        prop::sample::select(vec![
            "null",
            "true",
            "[]",
            "{}",
            "\"USD\"",
            "\"JPY\"",
            "\"https://example.com/hook\"",
            "\"a@example.com\"",
        ])
        .prop_map(str::to_owned),
    ];
    prop::collection::vec((key, value), 0..10).prop_map(|members| {
        let inner: Vec<String> = members
            .into_iter()
            .map(|(k, v)| format!("{}:{v}", serde_json::Value::String(k)))
            .collect();
        format!("{{{}}}", inner.join(","))
    })
}

fn read_every_field(f: &Fields) {
    let mut errors = crate::error::FieldErrors::new();
    for name in [
        "amount",
        "custom",
        "payment_id",
        "latency_ms",
        "error_rate",
        "",
    ] {
        let _ = f.get(name);
        let _ = f.text(name, &mut errors);
        let _ = f.required(name, &mut errors);
    }
    let _ = payments::validate(f);
}

#[test]
fn fuzz_json_bodies() {
    run(
        "JSON bodies and the payment request",
        prop_oneof![
            bytes(512),
            json_object().prop_map(String::into_bytes),
            any::<String>().prop_map(String::into_bytes),
        ],
        |body| {
            if let Ok(f) = Fields::from_json(&body) {
                read_every_field(&f);
            }
        },
    );
}

#[test]
fn fuzz_form_bodies() {
    let pair = (
        "[a-z_%+&=0-9A-F]{0,16}",
        prop_oneof!["[a-z0-9%+&=.@:/-]{0,24}", decimal_text(), any::<String>()],
    );
    run(
        "form-encoded bodies",
        prop_oneof![
            bytes(512),
            prop::collection::vec(pair, 0..10).prop_map(|pairs| {
                pairs
                    .into_iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&")
                    .into_bytes()
            }),
        ],
        |body| read_every_field(&Fields::from_form(&body)),
    );
}

/// A multipart body around the parts, cut or corrupted as `damage` says.
fn multipart(boundary: &str, parts: &[(String, String)], damage: (u8, usize)) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in parts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let at = damage.1 % (body.len() + 1);
    match damage.0 % 4 {
        0 => {}
        1 => body.truncate(at),
        2 => body.insert(at, b'\n'),
        _ => body
            .splice(at..at, b"\r\n--".iter().copied())
            .for_each(drop),
    }
    body
}

#[test]
fn fuzz_multipart_bodies() {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
        panic!("no runtime for the multipart target");
    };
    let boundary = prop_oneof![Just("XyZ".to_owned()), "[ -~]{0,20}"];
    let part = ("[ -~]{0,12}", prop_oneof![decimal_text(), any::<String>()]);
    run(
        "multipart bodies",
        prop_oneof![
            (boundary.clone(), bytes(512)),
            (
                boundary,
                prop::collection::vec(part, 0..6),
                (any::<u8>(), any::<usize>())
            )
                .prop_map(|(b, parts, damage)| {
                    let body = multipart(&b, &parts, damage);
                    (b, body)
                }),
        ],
        |(boundary, body)| {
            let mut headers = HeaderMap::new();
            if let Ok(ct) =
                HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}"))
            {
                headers.insert(header::CONTENT_TYPE, ct);
            }
            if let Ok(f) = runtime.block_on(Fields::from_body(&headers, body.into())) {
                read_every_field(&f);
            }
        },
    );
}

fn kyc_ids() -> Vec<String> {
    let mut ids: Vec<String> = kyc::schema()["sections"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["fields"].as_array().into_iter().flatten())
        .filter_map(|f| f["id"].as_str().map(str::to_owned))
        .collect();
    ids.push("not_a_field".into());
    ids
}

/// Values shaped like what each KYC field wants, and just off.
fn kyc_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        "[0-9-]{0,12}",
        "[ァ-ヺー・ 　]{0,20}",
        "\\+?[0-9]{0,18}",
        "[A-Za-z]{2}",
        "[A-Za-z0-9]{0,24}",
        prop::sample::select(vec![
            "tokyo",
            "shopping",
            "passport",
            "0000-02-29",
            "2000-02-30",
            "+0000000000",
            "100-0001",
        ])
        .prop_map(str::to_owned),
    ]
}

#[test]
fn fuzz_kyc_and_profile_validators() {
    let ids = kyc_ids();
    let id = prop::sample::select(ids.clone());
    let values_body = prop::collection::vec(
        (
            prop::sample::select(ids),
            prop_oneof![kyc_value().prop_map(Some), Just(None)],
        ),
        0..14,
    )
    .prop_map(|members| {
        let values: serde_json::Map<String, serde_json::Value> = members
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    v.map_or(serde_json::Value::Null, serde_json::Value::String),
                )
            })
            .collect();
        serde_json::json!({ "values": values })
            .to_string()
            .into_bytes()
    });
    run(
        "KYC and profile validators",
        (
            id,
            kyc_value(),
            prop_oneof![bytes(256), values_body],
            any::<bool>(),
        ),
        |(id, value, body, partial)| {
            if let Ok(normalised) = kyc::check(&id, &value) {
                assert_eq!(kyc::check(&id, &normalised), Ok(normalised.clone()));
            }
            let _ = kyc::parse_values(&body, partial);
            let _ = users::check_name(&value);
            let _ = users::check_email(&value);
            let _ = users::check_phone(&value);
            let _ = users::check_country(&value);
            let _ = users::check_password(&value);
            let _ = payments::valid_email(&value);
        },
    );
}
