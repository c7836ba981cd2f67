//! Cards (issue after KYC, reveal audit), fault injection as a client sees it, and
//! the seed command.
#![allow(clippy::unwrap_used)]

mod common;
mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::Sandbox;
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::*;

fn luhn(pan: &str) -> bool {
    let sum: u32 = pan
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0') * if i % 2 == 1 { 2 } else { 1 };
            if d > 9 { d - 9 } else { d }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[tokio::test]
async fn cards_need_approved_kyc_and_reveals_are_explicit_and_recorded() {
    let sb = Sandbox::start().await;
    let (user, ut, _) = signed_in_user(&sb).await;
    let id = user["id"].as_str().unwrap();

    let early = call(
        &sb,
        Method::POST,
        "/api/oauth/user/cards/issue",
        &ut,
        Some(json!({"currency": "JPY"})),
    )
    .await;
    assert_eq!(early.status, StatusCode::FORBIDDEN);
    assert!(early.json["message"].as_str().unwrap().contains("KYC"));

    call(
        &sb,
        Method::PUT,
        "/api/oauth/user/kyc",
        &ut,
        Some(json!({"values": complete_kyc()})),
    )
    .await;
    call(&sb, Method::POST, "/api/oauth/user/kyc/submit", &ut, None).await;
    let still = call(
        &sb,
        Method::POST,
        "/api/oauth/user/cards/issue",
        &ut,
        Some(json!({"currency": "JPY"})),
    )
    .await;
    assert_eq!(
        still.status,
        StatusCode::FORBIDDEN,
        "submitted is not approved"
    );
    let ak = sb.merchant.access_key.clone();
    call(
        &sb,
        Method::POST,
        &format!("/sandbox/users/{id}/kyc/approve"),
        &ak,
        None,
    )
    .await;

    let bad = call(
        &sb,
        Method::POST,
        "/api/oauth/user/cards/issue",
        &ut,
        Some(json!({"currency": "EUR"})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let card = call(
        &sb,
        Method::POST,
        "/api/oauth/user/cards/issue",
        &ut,
        Some(json!({"currency": "JPY"})),
    )
    .await;
    assert_eq!(card.status, StatusCode::CREATED, "{}", card.json);
    let card = card.json;
    assert_eq!(card["brand"], "visa");
    assert_eq!(card["status"], "active");
    assert_eq!(card["last4"].as_str().unwrap().len(), 4);
    assert!(card["exp_year"].as_i64().unwrap() >= 2028);
    assert!(card.get("pan").is_none() && card.get("cvv").is_none());
    let card_id = card["id"].as_str().unwrap();

    let mt = merchant_token(&sb).await;
    for (path, token) in [
        ("/api/oauth/user/cards".to_owned(), &ut),
        (format!("/api/oauth/merchant/users/{id}/cards"), &mt),
    ] {
        let list = call(&sb, Method::GET, &path, token, None).await;
        assert_eq!(list.status, StatusCode::OK);
        assert_eq!(list.json["data"][0]["id"], card_id);
        let text = list.json.to_string();
        assert!(
            !text.contains("\"pan\"") && !text.contains("\"cvv\""),
            "never a full number: {text}"
        );
    }

    let plain = call(
        &sb,
        Method::POST,
        "/api/oauth/user/cards/sensitive",
        &ut,
        Some(json!({"card_id": card_id})),
    )
    .await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(plain.json["last4"], card["last4"]);
    assert!(plain.json.get("pan").is_none() && plain.json.get("cvv").is_none());
    let reveals = call(
        &sb,
        Method::GET,
        &format!("/sandbox/users/{id}/card-reveals"),
        &ak,
        None,
    )
    .await;
    assert_eq!(reveals.json["data"], json!([]), "no reveal, no record");

    let full = call(
        &sb,
        Method::POST,
        "/api/oauth/user/cards/sensitive",
        &ut,
        Some(json!({"card_id": card_id, "reveal": ["pan", "cvv"]})),
    )
    .await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.headers["cache-control"], "no-store");
    let pan = full.json["pan"].as_str().unwrap();
    assert_eq!(pan.len(), 16);
    assert!(luhn(pan), "{pan}");
    assert!(pan.ends_with(card["last4"].as_str().unwrap()));
    assert_eq!(full.json["cvv"].as_str().unwrap().len(), 3);
    let reveals = call(
        &sb,
        Method::GET,
        &format!("/sandbox/users/{id}/card-reveals"),
        &ak,
        None,
    )
    .await;
    assert_eq!(reveals.json["data"][0]["card_id"], card_id);
    assert_eq!(reveals.json["data"][0]["fields"], json!(["pan", "cvv"]));
    assert_eq!(
        reveals.json["data"][0]["client_id"],
        sb.merchant.public_client_id.as_str()
    );

    let junk = call(
        &sb,
        Method::POST,
        "/api/oauth/user/cards/sensitive",
        &ut,
        Some(json!({"card_id": card_id, "reveal": ["pin"]})),
    )
    .await;
    assert_eq!(junk.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Someone else's card is not found.
    let (_, other_ut, _) = signed_in_user(&sb).await;
    let foreign = call(
        &sb,
        Method::POST,
        "/api/oauth/user/cards/sensitive",
        &other_ut,
        Some(json!({"card_id": card_id, "reveal": ["pan"]})),
    )
    .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}

async fn put_faults(sb: &Sandbox, key: &str, body: serde_json::Value) -> Reply {
    call(sb, Method::PUT, "/sandbox/faults", key, Some(body)).await
}

#[tokio::test]
async fn injected_errors_and_latency_apply_to_every_credential_of_the_merchant() {
    let sb = Sandbox::start().await;
    let (_, ut, _) = signed_in_user(&sb).await;
    let mt = merchant_token(&sb).await;
    let ak = sb.merchant.access_key.clone();
    let other = sb.server.db().create_merchant("Calm Shop").unwrap();

    let bad = put_faults(
        &sb,
        &ak,
        json!({"latency_ms": -3, "error_rate": 2, "drop_rate": "x"}),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json["errors"].as_object().unwrap().len(), 3);

    let set = put_faults(&sb, &ak, json!({"error_rate": 1})).await;
    assert_eq!(set.status, StatusCode::OK);
    assert_eq!(
        set.json["faults"],
        json!({"latency_ms": 0, "error_rate": 1.0, "drop_rate": 0.0})
    );
    for (path, token) in [
        ("/sandbox/users", &ak),
        ("/api/oauth/merchant/users/usr_x/balance", &mt),
        ("/api/oauth/user/me", &ut),
    ] {
        let r = call(&sb, Method::GET, path, token, None).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(r.json["code"], 503);
        assert_eq!(r.json["status"], "error");
    }
    // Other merchants, and the fault routes themselves, are untouched.
    assert_eq!(
        call(&sb, Method::GET, "/sandbox/users", &other.access_key, None)
            .await
            .status,
        StatusCode::OK
    );
    let shown = call(&sb, Method::GET, "/sandbox/faults", &ak, None).await;
    assert_eq!(shown.json["faults"]["error_rate"], 1.0);

    put_faults(&sb, &ak, json!({"latency_ms": 300})).await;
    let started = Instant::now();
    assert_eq!(
        call(&sb, Method::GET, "/api/oauth/user/me", &ut, None)
            .await
            .status,
        StatusCode::OK
    );
    assert!(started.elapsed() >= Duration::from_millis(300));

    let cleared = call(&sb, Method::DELETE, "/sandbox/faults", &ak, None).await;
    assert_eq!(cleared.json["faults"]["latency_ms"], 0);
    let started = Instant::now();
    assert_eq!(
        call(&sb, Method::GET, "/api/oauth/user/me", &ut, None)
            .await
            .status,
        StatusCode::OK
    );
    assert!(started.elapsed() < Duration::from_millis(300));

    // Rates in between fail some requests and not others.
    put_faults(&sb, &ak, json!({"error_rate": 0.5})).await;
    let mut statuses = HashSet::new();
    for _ in 0..60 {
        statuses.insert(
            call(&sb, Method::GET, "/sandbox/users?limit=1", &ak, None)
                .await
                .status,
        );
    }
    assert_eq!(
        statuses,
        HashSet::from([StatusCode::OK, StatusCode::SERVICE_UNAVAILABLE])
    );
}

#[tokio::test]
async fn a_dropped_request_closes_the_connection_without_an_answer() {
    let sb = Sandbox::start().await;
    let ak = sb.merchant.access_key.clone();
    put_faults(&sb, &ak, json!({"drop_rate": 1})).await;

    // A raw socket shows exactly what the client gets: the connection closes, no byte.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(sb.server.local_addr())
        .await
        .unwrap();
    let req =
        format!("GET /sandbox/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ak}\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf))
        .await
        .unwrap();
    assert!(read.is_ok() || buf.is_empty(), "{read:?}");
    assert!(
        buf.is_empty(),
        "got an answer: {}",
        String::from_utf8_lossy(&buf)
    );

    let err = sb
        .http
        .get(format!("{}/sandbox/users", sb.url))
        .bearer_auth(&ak)
        .send()
        .await
        .unwrap_err();
    assert!(err.status().is_none(), "{err:?}");
    assert!(
        err.is_request() || err.is_connect() || err.to_string().contains("connection"),
        "{err:?}"
    );

    // The fault routes still answer, and clearing the fault restores service.
    assert_eq!(
        call(&sb, Method::DELETE, "/sandbox/faults", &ak, None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        call(&sb, Method::GET, "/sandbox/users", &ak, None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_seed_command_fills_a_merchant_the_server_then_serves() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("sandbox.db");
    let merchant = ito_sandbox::Db::open(&db_path)
        .unwrap()
        .create_merchant("Seeded")
        .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ito-sandbox"))
        .args([
            "seed",
            "--users",
            "10",
            "--transactions-per-user",
            "40",
            "--merchant",
            &merchant.merchant_id,
            "--db",
        ])
        .arg(&db_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["merchant_id"], merchant.merchant_id.as_str());
    assert_eq!(report["users"], 10);
    assert_eq!(report["transactions"], 400);
    assert!(report["cards"].as_u64().unwrap() >= 2);

    let sb = Sandbox::start_with(dir, |_| {}).await;
    let users = call(
        &sb,
        Method::GET,
        "/sandbox/users?limit=100",
        &merchant.access_key,
        None,
    )
    .await;
    let users = users.json["data"].as_array().unwrap().clone();
    assert_eq!(users.len(), 10);
    let states: HashSet<&str> = users
        .iter()
        .map(|u| u["kyc_status"].as_str().unwrap())
        .collect();
    assert_eq!(states.len(), 5);
    let names: Vec<&str> = users.iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert!(
        names.iter().any(|n| n.is_ascii()) && names.iter().any(|n| !n.is_ascii()),
        "{names:?}"
    );

    let token = merchant_token_for(&sb, &merchant).await;
    let mut currencies = HashSet::new();
    for u in &users {
        let id = u["id"].as_str().unwrap();
        let mut cursor = String::new();
        let mut n = 0;
        loop {
            let page = call(
                &sb,
                Method::GET,
                &format!("/api/oauth/merchant/users/{id}/transactions?limit=7&cursor={cursor}"),
                &token,
                None,
            )
            .await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.json);
            for t in page.json["data"].as_array().unwrap() {
                currencies.insert(t["currency"].as_str().unwrap().to_owned());
                n += 1;
            }
            match page.json["next_cursor"].as_str() {
                Some(c) => cursor = c.to_owned(),
                None => break,
            }
        }
        assert_eq!(n, 40);
        let b = call(
            &sb,
            Method::GET,
            &format!("/api/oauth/merchant/users/{id}/balance"),
            &token,
            None,
        )
        .await;
        for bal in b.json["balances"].as_array().unwrap() {
            assert!(
                !bal["available"].as_str().unwrap().starts_with('-'),
                "no overdraft: {bal}"
            );
        }
    }
    assert_eq!(currencies.len(), 3, "mixed currencies: {currencies:?}");
}

async fn merchant_token_for(sb: &Sandbox, m: &ito_sandbox::MerchantCredentials) -> String {
    let r = token_request(
        sb,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &m.client_id),
            ("client_secret", &m.client_secret),
        ],
    )
    .await;
    r.json["access_token"].as_str().unwrap().to_owned()
}

/// `serve --kyc-auto-review-ms` as a user starts it: submitted forms get approved.
#[tokio::test]
async fn serve_with_kyc_auto_review_approves_submissions() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ito-sandbox"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--kyc-auto-review-ms",
            "150",
            "--db",
        ])
        .arg(dir.path().join("sandbox.db"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("ito-sandbox listening on ")
        .unwrap()
        .to_owned();
    let m: ito_sandbox::MerchantCredentials =
        serde_json::from_slice(&std::fs::read(dir.path().join("demo-merchant.json")).unwrap())
            .unwrap();
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{url}/oauth/token"))
        .basic_auth(&m.client_id, Some(&m.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap();
    let user: serde_json::Value = http
        .post(format!("{url}/api/oauth/merchant/users"))
        .bearer_auth(token)
        .json(&json!({"email": unique_email("cli"), "name": "CLI User"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kyc = format!(
        "{url}/api/oauth/merchant/users/{}/kyc",
        user["id"].as_str().unwrap()
    );
    let put = http
        .put(&kyc)
        .bearer_auth(token)
        .json(&json!({"values": complete_kyc()}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let sent = http
        .post(format!("{kyc}/submit"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        let k: serde_json::Value = http
            .get(&kyc)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if k["status"] != "submitted" || Instant::now() > deadline {
            break k["status"].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    assert!(child.wait().unwrap().success());
    assert_eq!(status, "approved");
}
