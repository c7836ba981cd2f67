//! The `ito-sandbox` binary: the ready line, graceful shutdown, merchants from the CLI,
//! `--version`, fault settings that outlive a restart, and relaxed durability.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ito-sandbox"))
}

#[test]
fn serve_prints_one_ready_line_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/sandbox.db");
    let mut child = bin()
        .args(["serve", "--addr", "127.0.0.1:0", "--db"])
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line
        .trim_end()
        .strip_prefix("ito-sandbox listening on http://127.0.0.1:")
        .unwrap();
    assert!(url.parse::<u16>().unwrap() > 0, "{line}");

    // The demo merchant exists in the file beside the database and through the CLI,
    // which also works while the server runs.
    let demo: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("data/demo-merchant.json")).unwrap())
            .unwrap();
    for key in [
        "merchant_id",
        "access_key",
        "secret_key",
        "client_id",
        "client_secret",
        "public_client_id",
    ] {
        assert!(demo[key].as_str().is_some_and(|v| !v.is_empty()), "{key}");
    }
    let created = bin()
        .args(["merchant", "create", "--name", "Kyoto Tea", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let created: Value = serde_json::from_slice(&created.stdout).unwrap();
    assert_eq!(created["name"], "Kyoto Tea");
    let listed = bin()
        .args(["merchant", "list", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let listed: Vec<Value> = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["access_key"], demo["access_key"]);
    assert_eq!(listed[1]["merchant_id"], created["merchant_id"]);

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "stdout has exactly one line");
}

#[test]
fn bad_arguments_are_clear_errors() {
    let out = bin()
        .args(["merchant", "create", "--name", "  "])
        .current_dir(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("name"));
    let out = bin()
        .args(["serve", "--addr", "not-an-address"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin()
        .args(["serve", "--durability", "none"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("normal, relaxed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let out = bin()
        .args([
            "serve",
            "--addr",
            &taken.local_addr().unwrap().to_string(),
            "--db",
        ])
        .arg(dir.path().join("s.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("in use"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn version_prints_the_crate_version() {
    let out = bin().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("ito-sandbox {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// A `serve` process on a free port, killed when dropped.
struct Served {
    child: Child,
    url: String,
}

impl Served {
    fn start(db: &Path, extra: &[&str]) -> Self {
        let mut child = bin()
            .args(["serve", "--addr", "127.0.0.1:0", "--db"])
            .arg(db)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim_end()
            .strip_prefix("ito-sandbox listening on ")
            .unwrap_or_else(|| panic!("no ready line: {line:?}"))
            .to_owned();
        Self { child, url }
    }

    /// Ends the process as a crash would: no chance to tidy up.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
    ) -> reqwest::Result<(u16, Value)> {
        self.send(
            reqwest::Client::new().request(method, format!("{}{path}", self.url)),
            key,
        )
        .await
    }

    async fn put_faults(&self, key: &str, body: Value) -> (u16, Value) {
        let req = reqwest::Client::new()
            .put(format!("{}/sandbox/faults", self.url))
            .json(&body);
        self.send(req, key).await.unwrap()
    }

    async fn send(&self, req: reqwest::RequestBuilder, key: &str) -> reqwest::Result<(u16, Value)> {
        let res = req.bearer_auth(key).send().await?;
        let status = res.status().as_u16();
        Ok((status, res.json().await.unwrap_or(Value::Null)))
    }

    async fn faults(&self, key: &str) -> Value {
        let (status, body) = self
            .call(reqwest::Method::GET, "/sandbox/faults", key)
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
        body["faults"].clone()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn merchant(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("demo-merchant.json")).unwrap()).unwrap()
}

#[tokio::test]
async fn fault_settings_survive_a_restart_and_serve_faults_sets_them() {
    use reqwest::Method;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sandbox.db");

    // --faults without a merchant id applies to every merchant, the demo one made at
    // this very start included.
    let served = Served::start(&db, &["--faults", "error_rate=1,latency_ms=5"]);
    let demo = merchant(dir.path());
    let key = demo["access_key"].as_str().unwrap().to_owned();
    let (status, body) = served
        .call(Method::GET, "/sandbox/users", &key)
        .await
        .unwrap();
    assert_eq!((status, &body["code"]), (503, &json!(503)), "{body}");
    assert_eq!(
        served.faults(&key).await,
        json!({"latency_ms": 5, "error_rate": 1.0, "drop_rate": 0.0})
    );

    // Killed and started again without the flag: still in force.
    served.kill();
    let served = Served::start(&db, &[]);
    assert_eq!(served.faults(&key).await["error_rate"], 1.0);
    let (status, _) = served
        .call(Method::GET, "/sandbox/users", &key)
        .await
        .unwrap();
    assert_eq!(status, 503);

    // A change over HTTP is kept too.
    let (status, body) = served.put_faults(&key, json!({"latency_ms": 20})).await;
    assert_eq!(status, 200, "{body}");
    served.kill();
    let served = Served::start(&db, &[]);
    assert_eq!(
        served.faults(&key).await,
        json!({"latency_ms": 20, "error_rate": 0.0, "drop_rate": 0.0})
    );
    let (status, _) = served
        .call(Method::GET, "/sandbox/users", &key)
        .await
        .unwrap();
    assert_eq!(status, 200);

    // And so is clearing them.
    let (status, _) = served
        .call(Method::DELETE, "/sandbox/faults", &key)
        .await
        .unwrap();
    assert_eq!(status, 200);
    served.kill();
    let served = Served::start(&db, &[]);
    assert_eq!(
        served.faults(&key).await,
        json!({"latency_ms": 0, "error_rate": 0.0, "drop_rate": 0.0})
    );
    served.kill();

    // In order: every merchant, then one by id (its setting replaces the first), then
    // `off` for the demo merchant: only the other one's requests are dropped.
    let other: Value = serde_json::from_slice(
        &bin()
            .args(["merchant", "create", "--name", "Osaka Ramen", "--db"])
            .arg(&db)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let other_key = other["access_key"].as_str().unwrap();
    let only = format!("{}:drop_rate=1", other["merchant_id"].as_str().unwrap());
    let demo_off = format!("{}:off", demo["merchant_id"].as_str().unwrap());
    let served = Served::start(
        &db,
        &[
            "--faults",
            "error_rate=0.5",
            "--faults",
            &only,
            "--faults",
            &demo_off,
        ],
    );
    assert_eq!(
        served.faults(&key).await,
        json!({"latency_ms": 0, "error_rate": 0.0, "drop_rate": 0.0})
    );
    let (status, _) = served
        .call(Method::GET, "/sandbox/users", &key)
        .await
        .unwrap();
    assert_eq!(status, 200);
    let dropped = served.call(Method::GET, "/sandbox/users", other_key).await;
    assert!(dropped.is_err(), "{dropped:?}");
    served.kill();
    let served = Served::start(&db, &[]);
    assert_eq!(
        served.faults(other_key).await,
        json!({"latency_ms": 0, "error_rate": 0.0, "drop_rate": 1.0})
    );
    drop(served);

    // A merchant that does not exist, or a bad value, stops the start with a clear error.
    let out = bin()
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--faults",
            "mer_nobody:error_rate=1",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mer_nobody"));
    let out = bin()
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--faults",
            "error_rate=2",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("error_rate"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `--durability relaxed` gives up safety against an OS crash only: whatever the
/// sandbox answered before it was killed is there after a restart, and payment ids
/// still sort by creation time.
#[tokio::test]
async fn relaxed_durability_keeps_every_answered_write_when_the_process_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sandbox.db");
    let served = Served::start(&db, &["--durability", "relaxed"]);
    let demo = merchant(dir.path());
    let (key, secret) = (
        demo["access_key"].as_str().unwrap(),
        demo["secret_key"].as_str().unwrap(),
    );
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for i in 0..20 {
        let body = json!({
            "custom": format!("RELAXED-{i}"), "currency_code": "JPY", "amount": "1000",
            "web_hook": "https://example.com/h", "cancel_url": "https://example.com/c",
            "success_url": "https://example.com/s", "customer_email": "relaxed@example.com",
        })
        .to_string();
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let res = http
            .post(format!("{}/payment/process", served.url))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .header("x-timestamp", ts.to_string())
            .header(
                "x-signature",
                ito_sandbox::sign(secret, ts, body.as_bytes()),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let created: Value = res.json().await.unwrap();
        ids.push(created["payment_id"].as_str().unwrap().to_owned());
    }
    let (status, _) = served.put_faults(key, json!({"latency_ms": 7})).await;
    assert_eq!(status, 200);
    served.kill();

    let served = Served::start(&db, &[]);
    assert_eq!(served.faults(key).await["latency_ms"], 7);
    for id in &ids {
        let (status, body) = served
            .call(
                reqwest::Method::GET,
                &format!("/sandbox/payments/{id}"),
                key,
            )
            .await
            .unwrap();
        assert_eq!(status, 200, "{id}: {body}");
    }
    // Two ids made in the same millisecond share their time part.
    assert!(ids.windows(2).all(|w| w[0][..8] <= w[1][..8]), "{ids:?}");
}
