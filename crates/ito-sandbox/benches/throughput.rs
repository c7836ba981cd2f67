//! Loopback throughput of a real `ito-sandbox serve` process: signed payment
//! creations beside `GET /healthz` of the same server (ratio), and the time from
//! process start to the ready line. Prints figures; asserts nothing.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Serve, serve, serve_with};

mod support;

const CONCURRENCY: usize = 16;
const REQUESTS: u64 = 6_000;
const ROUNDS: usize = 3;

struct Figures {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// Runs `REQUESTS` requests from `CONCURRENCY` tasks; `send(i)` performs request `i`.
async fn load<F, Fut>(send: F) -> Figures
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let send = Arc::new(send);
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (send, next) = (send.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= REQUESTS {
                    return latencies;
                }
                let t = Instant::now();
                send(i).await;
                latencies.push(t.elapsed());
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort();
    Figures {
        per_second: REQUESTS as f64 / elapsed.as_secs_f64(),
        p50: all[all.len() / 2],
        p99: all[all.len() * 99 / 100],
    }
}

/// `REQUESTS` signed payment creations against `server`, whose demo merchant's
/// credentials are in `dir`.
async fn create_payments(http: &reqwest::Client, server: &Serve, dir: &std::path::Path) -> Figures {
    let merchant: Value =
        serde_json::from_slice(&std::fs::read(dir.join("demo-merchant.json")).unwrap()).unwrap();
    let access_key = merchant["access_key"].as_str().unwrap().to_owned();
    let secret_key = merchant["secret_key"].as_str().unwrap().to_owned();
    let process_url = format!("{}/payment/process", server.url);
    let http = http.clone();
    load(move |i| {
        let (client, url, key, secret) = (http.clone(), process_url.clone(), access_key.clone(), secret_key.clone());
        async move {
            let body = format!(
                r#"{{"custom":"BENCH-{i}","currency_code":"USD","amount":"280.00","web_hook":"https://example.com/h","cancel_url":"https://example.com/c","success_url":"https://example.com/s","customer_email":"bench@example.com"}}"#
            );
            let ts = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
            let sig = ito_sandbox::sign(&secret, ts, body.as_bytes());
            let res = client
                .post(url)
                .bearer_auth(key)
                .header("content-type", "application/json")
                .header("x-timestamp", ts.to_string())
                .header("x-signature", sig)
                .body(body)
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success(), "{}", res.status());
        }
    })
    .await
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut ready_fresh = Vec::new();
    let mut ready_existing = Vec::new();
    for i in 0..5 {
        let db = dir.path().join(format!("ready-{i}.db"));
        ready_fresh.push(serve(&db).1);
        ready_existing.push(serve(&db).1);
    }
    ready_fresh.sort();
    ready_existing.sort();

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();

    println!(
        "ito-sandbox throughput on loopback ({REQUESTS} requests, {CONCURRENCY} concurrent, release build), {ROUNDS} interleaved rounds"
    );
    let mut ratios = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let normal_dir = dir.path().join(format!("normal-{round}"));
        let (server, _) = serve(&normal_dir.join("load.db"));
        let health_url = format!("{}/healthz", server.url);
        let client = http.clone();
        let health = rt.block_on(load(move |_| {
            let (client, url) = (client.clone(), health_url.clone());
            async move {
                let res = client.get(url).send().await.unwrap();
                assert!(res.status().is_success());
            }
        }));
        let payments = rt.block_on(create_payments(&http, &server, &normal_dir));
        drop(server);

        let relaxed_dir = dir.path().join(format!("relaxed-{round}"));
        let (server, _) = serve_with(&relaxed_dir.join("load.db"), &["--durability", "relaxed"]);
        let relaxed = rt.block_on(create_payments(&http, &server, &relaxed_dir));
        drop(server);

        println!("  round {}", round + 1);
        for (name, f) in [
            ("GET /healthz", &health),
            ("POST /payment/process", &payments),
            ("  the same, --durability relaxed", &relaxed),
        ] {
            println!(
                "    {name:<34}{:>8.0} req/s   p50 {:>7.2?}   p99 {:>7.2?}",
                f.per_second, f.p50, f.p99
            );
        }
        ratios.0.push(payments.per_second / health.per_second);
        ratios.1.push(relaxed.per_second / health.per_second);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "  ratio payments / healthz, median: {:.2}; with --durability relaxed {:.2}  (aim >= 0.50)",
        median(&mut ratios.0),
        median(&mut ratios.1)
    );
    println!(
        "  start to ready line: median {:.1?} on an empty database (demo merchant created), {:.1?} on an existing one  (aim < 100 ms)",
        ready_fresh[ready_fresh.len() / 2],
        ready_existing[ready_existing.len() / 2]
    );
}
