//! Part-2 figures on loopback against a real `ito-sandbox serve` process: the time
//! `ito-sandbox seed` takes for 100 000 transactions, OAuth token issuance per second
//! and a paginated read of those 100 000 transactions (pages of 100), each beside
//! `GET /healthz` of the same server as a ratio. Prints figures; asserts nothing.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde_json::Value;
use support::{bin, serve};

mod support;

const CONCURRENCY: usize = 16;
const REQUESTS: u64 = 6_000;
const TRANSACTIONS: usize = 100_000;
const PAGE: usize = 100;

/// Requests per second of `REQUESTS` requests from `CONCURRENCY` tasks.
async fn rate<F, Fut>(requests: u64, send: F) -> f64
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let send = Arc::new(send);
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (send, next) = (send.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= requests {
                        return;
                    }
                    send(i).await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    requests as f64 / started.elapsed().as_secs_f64()
}

/// Reads every page of a user's transactions; returns (rows, pages).
async fn walk(http: &reqwest::Client, url: &str, token: &str) -> (usize, usize) {
    let (mut rows, mut pages) = (0, 0);
    let mut cursor = String::new();
    loop {
        let page: Value = http
            .get(format!("{url}&cursor={cursor}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        rows += page["data"].as_array().unwrap().len();
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => return (rows, pages),
        }
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("part2.db");

    // The seed, as a user runs it: a fresh process on an empty database.
    let started = Instant::now();
    let out = bin()
        .args([
            "seed",
            "--users",
            "1",
            "--transactions-per-user",
            &TRANSACTIONS.to_string(),
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    let seed_wall = started.elapsed();
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let started = Instant::now();
    let out = bin()
        .args([
            "seed",
            "--users",
            "1000",
            "--transactions-per-user",
            "100",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    let seed_many_wall = started.elapsed();
    assert!(out.status.success());

    let merchants: Value = serde_json::from_slice(
        &bin()
            .args(["merchant", "list", "--db"])
            .arg(&db)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let m = merchants[0].clone();
    let (server, _) = serve(&db);
    let url = server.url.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(CONCURRENCY)
            .build()
            .unwrap();
        // The 100 000-transaction user is the oldest one.
        let mut cursor = String::new();
        let user_id = loop {
            let page: Value = http
                .get(format!("{url}/sandbox/users?limit=100&cursor={cursor}"))
                .bearer_auth(m["access_key"].as_str().unwrap())
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            match page["next_cursor"].as_str() {
                Some(c) => cursor = c.to_owned(),
                None => {
                    break page["data"].as_array().unwrap().last().unwrap()["id"]
                        .as_str()
                        .unwrap()
                        .to_owned();
                }
            }
        };

        let healthz = {
            let (http, url) = (http.clone(), url.clone());
            rate(REQUESTS, move |_| {
                let (http, url) = (http.clone(), url.clone());
                async move {
                    let r = http.get(format!("{url}/healthz")).send().await.unwrap();
                    assert!(r.status().is_success());
                    r.bytes().await.unwrap();
                }
            })
            .await
        };
        let tokens = {
            let (http, url) = (http.clone(), url.clone());
            let form = [
                ("grant_type", "client_credentials".to_owned()),
                ("client_id", m["client_id"].as_str().unwrap().to_owned()),
                ("client_secret", m["client_secret"].as_str().unwrap().to_owned()),
            ];
            rate(REQUESTS, move |_| {
                let (http, url, form) = (http.clone(), url.clone(), form.clone());
                async move {
                    let r = http.post(format!("{url}/oauth/token")).form(&form).send().await.unwrap();
                    assert!(r.status().is_success());
                    r.bytes().await.unwrap();
                }
            })
            .await
        };

        let token: Value = http
            .post(format!("{url}/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", m["client_id"].as_str().unwrap()),
                ("client_secret", m["client_secret"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["access_token"].as_str().unwrap().to_owned();
        let list = format!("{url}/api/oauth/merchant/users/{user_id}/transactions?limit={PAGE}");

        // One client walking all 1 000 pages, then CONCURRENCY clients walking at once.
        let started = Instant::now();
        let (rows, pages) = walk(&http, &list, &token).await;
        let one_walk = started.elapsed();
        assert_eq!(rows, TRANSACTIONS);
        let started = Instant::now();
        let walkers: Vec<_> = (0..CONCURRENCY)
            .map(|_| {
                let (http, list, token) = (http.clone(), list.clone(), token.clone());
                tokio::spawn(async move { walk(&http, &list, &token).await })
            })
            .collect();
        let mut concurrent_pages = 0;
        for w in walkers {
            concurrent_pages += w.await.unwrap().1;
        }
        let pages_per_second = concurrent_pages as f64 / started.elapsed().as_secs_f64();

        println!("ito-sandbox part 2, loopback, {CONCURRENCY} concurrent clients");
        println!(
            "seed {TRANSACTIONS} transactions (1 user): {:.2} s wall incl. process start, {} ms inside",
            seed_wall.as_secs_f64(),
            report["elapsed_ms"]
        );
        println!(
            "seed 1000 users x 100 transactions: {:.2} s wall",
            seed_many_wall.as_secs_f64()
        );
        println!("GET /healthz: {healthz:.0} req/s");
        println!(
            "POST /oauth/token (client_credentials): {tokens:.0} req/s, ratio to healthz {:.2}",
            tokens / healthz
        );
        println!(
            "paginated read, pages of {PAGE}: {pages_per_second:.0} pages/s ({:.0} rows/s), ratio to healthz {:.2}",
            pages_per_second * PAGE as f64,
            pages_per_second / healthz
        );
        println!(
            "one client reading all {TRANSACTIONS} rows in {pages} pages: {:.2} s",
            one_walk.as_secs_f64()
        );
    });
    drop(server);
}
