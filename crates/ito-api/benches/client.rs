//! Client benchmarks: signing and serialising a payment request, verifying a
//! webhook, and end-to-end payment creations per second through the client beside
//! raw reqwest posts of the same signed bytes against an in-process sandbox.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::DateTime;
use criterion::Criterion;
use ito_api::webhook;
use ito_api::{
    Client, Credentials, Currency, Environment, Money, NewPayment, RetryPolicy, Secret, signing,
};
use reqwest::header::HeaderMap;

fn payment(custom: String) -> NewPayment {
    NewPayment {
        custom,
        amount: Money::from_minor(28_000, Currency::Usd),
        details: Some("Digital Product".into()),
        web_hook: "https://yoursite.com/web_hook.php".parse().unwrap(),
        cancel_url: "https://yoursite.com/cancel_url.php".parse().unwrap(),
        success_url: "https://yoursite.com/success_url.php".parse().unwrap(),
        customer_email: "customer@yoursite.com".into(),
    }
}

fn micro(c: &mut Criterion) {
    let secret = Secret::new("sk_bench_0123456789abcdef0123456789abcdef");
    let p = payment("DFU80XZIKS".into());
    c.bench_function("sign_and_serialize_payment", |b| {
        b.iter(|| {
            let body = black_box(&p).to_body().unwrap();
            black_box(signing::sign(&secret, 1_700_000_000, &body))
        })
    });

    let body = br#"{"code":200,"status":"ok","payment_id":"AIYmQIOAz0GlmsjfhgiOeu304","transaction":"AIYmQIOAz0G","amount":100.00,"charge":5.00,"currency":"USD","custom":"BVSUZ545XCS","date":"22-05-2022"}"#;
    let ts = 1_700_000_000;
    let mut headers = HeaderMap::new();
    headers.insert("x-timestamp", ts.into());
    headers.insert(
        "x-signature",
        webhook::signature_header(&secret, ts, body)
            .parse()
            .unwrap(),
    );
    let now = DateTime::from_timestamp(ts + 5, 0).unwrap();
    c.bench_function("verify_webhook", |b| {
        b.iter(|| {
            webhook::verify_at(
                &headers,
                black_box(body),
                &secret,
                Duration::from_secs(300),
                now,
            )
            .unwrap()
        })
    });
}

/// Payment creations per second through the client and through bare reqwest posts
/// of the same bytes (each signed afresh, with an idempotency key, as the client
/// does), over one sandbox on loopback; the best of a few rounds.
fn end_to_end() {
    const N: usize = 300;
    const ROUNDS: usize = 3;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ito_sandbox::Config::new("127.0.0.1:0".parse().unwrap(), dir.path().join("b.db"));
        config.write_demo_file = false;
        config.demo_data = false;
        let server = ito_sandbox::Server::start(config).await.unwrap();
        let m = server.demo_merchant().unwrap().clone();
        let url = server.url();
        let client = Client::builder(
            Environment::sandbox(&url).unwrap(),
            Credentials::new(m.access_key.as_str(), m.secret_key.as_str()),
        )
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
        let raw = reqwest::Client::new();
        let secret = Secret::new(m.secret_key.as_str());
        // Interleaved one by one, so that the database's growth and the machine's
        // other load fall on both sides alike.
        let (mut best_client, mut best_raw) = (0f64, 0f64);
        for round in 0..ROUNDS {
            let (mut in_client, mut in_raw) = (Duration::ZERO, Duration::ZERO);
            for i in 0..N {
                let p = payment(format!("C-{round}-{i}"));
                let started = Instant::now();
                client.create_payment(&p).await.unwrap();
                in_client += started.elapsed();

                let body = payment(format!("R-{round}-{i}")).to_body().unwrap();
                let started = Instant::now();
                let ts = chrono::Utc::now().timestamp();
                let sig = signing::sign(&secret, ts, &body);
                let res = raw
                    .post(format!("{url}/payment/process"))
                    .bearer_auth(&m.access_key)
                    .header("content-type", "application/json")
                    .header("accept", "application/json")
                    .header("x-timestamp", ts)
                    .header("x-signature", sig)
                    .header("idempotency-key", uuid::Uuid::new_v4().simple().to_string())
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert!(res.status().is_success());
                black_box(res.bytes().await.unwrap());
                in_raw += started.elapsed();
            }
            best_client = best_client.max(N as f64 / in_client.as_secs_f64());
            best_raw = best_raw.max(N as f64 / in_raw.as_secs_f64());
        }
        println!(
            "end_to_end payment creations/s: client {best_client:.0}, raw reqwest {best_raw:.0}, ratio client/raw {:.2}",
            best_client / best_raw
        );
        server.shutdown().await;
    });
}

fn main() {
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(50)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    micro(&mut c);
    end_to_end();
    c.final_summary();
}
