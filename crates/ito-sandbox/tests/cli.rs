//! The `ito-sandbox` binary: the ready line, graceful shutdown, merchants from the CLI.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use serde_json::Value;

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
