//! A real `ito-sandbox serve` process for the benchmarks, stopped with SIGTERM on drop.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Serve {
    child: Child,
    pub url: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ito-sandbox"))
}

/// Starts a server on a free loopback port over `db`; also returns the time from
/// process start to its ready line.
pub fn serve(db: &std::path::Path) -> (Serve, Duration) {
    serve_with(db, &[])
}

/// [`serve`] with more arguments for `ito-sandbox serve`.
pub fn serve_with(db: &std::path::Path, args: &[&str]) -> (Serve, Duration) {
    let started = Instant::now();
    let mut child = bin()
        .args(["serve", "--addr", "127.0.0.1:0", "--db"])
        .arg(db)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready = started.elapsed();
    let url = line
        .trim()
        .strip_prefix("ito-sandbox listening on ")
        .unwrap()
        .to_owned();
    (Serve { child, url }, ready)
}
