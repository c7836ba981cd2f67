//! What the reliability tests share: sizes from the environment (CI runs the defaults,
//! `scripts/soak-desk.sh` the full counts), a seeded random source, the sandbox and the
//! desk in-process, and the desk harness and `ito-sandbox serve` as processes that are
//! killed with SIGKILL and started again.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ito_api::{Client, Credentials, Environment};
use ito_desk::desk::{Desk, Options};
use ito_desk::payments::Payments;
use ito_desk::profiles::{Mode, ProfileInput};
use ito_desk::vault::Vault;
use ito_sandbox::{Config, MerchantCredentials, Server};
use keyring_core::{CredentialStore, mock};
use tokio::sync::mpsc;

/// A count from the environment (the soak script's full runs), else CI's default.
pub fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `DESK_SOAK_SEED`, or a fixed one so that CI runs the same schedule every time.
pub fn seed() -> u64 {
    count("DESK_SOAK_SEED", 15) as u64
}

/// SplitMix64: a few lines instead of a dependency, and the same schedule for a seed.
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }

    pub fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(self.range(lo, hi))
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `check` every 20 ms until it holds, failing the test after `within`.
pub async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The sandbox in this process on 127.0.0.1:0, with webhook retries in milliseconds.
pub async fn sandbox(db: &Path) -> Server {
    let mut config = Config::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), db.to_owned());
    config.write_demo_file = false;
    config.demo_data = false;
    config.webhook_retry_base = Duration::from_millis(50);
    config.webhook_retry_cap = Duration::from_millis(500);
    config.webhook_max_attempts = 100;
    config.webhook_timeout = Duration::from_secs(5);
    Server::start(config).await.unwrap()
}

/// A proxy in front of `upstream` that loses the answer to a share `loss` of requests:
/// it passes the request on, and when the answer starts it closes the client's
/// connection instead. The gateway acted; the desk does not know.
pub async fn lossy_proxy(upstream: SocketAddr, loss: f64, seed: u64) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let rng = Arc::new(Mutex::new(Rng::new(seed)));
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let rng = Arc::clone(&rng);
            tokio::spawn(async move {
                let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut in_read, mut in_write) = inbound.split();
                let (mut out_read, mut out_write) = outbound.split();
                let (mut up, mut down) = ([0u8; 16384], [0u8; 16384]);
                let mut losing = false;
                loop {
                    tokio::select! {
                        n = in_read.read(&mut up) => {
                            let Ok(n @ 1..) = n else { return };
                            // Decided per request, also on a kept-alive connection.
                            let draw = rng.lock().unwrap().next() as f64 / u64::MAX as f64;
                            losing = losing || draw < loss;
                            if out_write.write_all(&up[..n]).await.is_err() {
                                return;
                            }
                        }
                        n = out_read.read(&mut down) => {
                            let Ok(n @ 1..) = n else { return };
                            if losing || in_write.write_all(&down[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

/// The test's own SDK client for the merchant, straight to the gateway.
pub fn client(base_url: &str, m: &MerchantCredentials) -> Client {
    Client::new(
        Environment::sandbox(base_url).unwrap(),
        Credentials::new(m.access_key.clone(), m.secret_key.clone()),
    )
    .unwrap()
}

/// The desk's services on `dir`, as the app opens them; `port` is the listener's.
pub async fn open_desk(
    dir: &Path,
    keyring: &Arc<CredentialStore>,
    port: u16,
) -> (Arc<Desk>, Arc<Payments>) {
    let options = Options {
        data_dir: dir.to_owned(),
        embedded_sandbox: false,
    };
    let vault = Vault::with_store(Arc::clone(keyring));
    let desk = Desk::open(options, vault, Arc::new(|_| {})).await.unwrap();
    let payments = Payments::start(Arc::clone(&desk), Arc::new(|_| {}), Some(port))
        .await
        .unwrap();
    (desk, payments)
}

pub async fn close_desk(desk: Arc<Desk>, payments: Arc<Payments>) {
    payments.shutdown().await;
    desk.shutdown().await;
}

/// A fresh mock keychain (the in-memory store of keyring-core).
pub fn keyring() -> Arc<CredentialStore> {
    mock::Store::new().unwrap()
}

/// Adds the merchant's test-mode profile on `base_url` and makes it the active one.
pub async fn add_profile(desk: &Desk, base_url: &str, m: &MerchantCredentials) -> String {
    let profile = desk
        .add_profile(ProfileInput {
            name: "Soak shop".into(),
            mode: Mode::Test,
            base_url: base_url.to_owned(),
            access_key: Some(m.access_key.clone()),
            secret_key: Some(m.secret_key.clone()),
            client_id: m.client_id.clone(),
            client_secret: Some(m.client_secret.clone()),
            public_client_id: m.public_client_id.clone(),
        })
        .await
        .unwrap();
    desk.switch_profile(&profile.id).await.unwrap();
    profile.id
}

/// The secrets line the desk harness reads on stdin.
pub fn secrets_line(profile_id: &str, m: &MerchantCredentials) -> String {
    serde_json::json!({
        "profile_id": profile_id,
        "access_key": m.access_key,
        "secret_key": m.secret_key,
        "client_secret": m.client_secret,
    })
    .to_string()
}

/// A child process whose stdout lines are collected as they come.
#[derive(Debug)]
pub struct Process {
    child: Child,
    /// Held open: the desk harness exits when it closes.
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    /// The first stdout line (the ready line).
    pub ready: String,
}

impl Process {
    /// Starts `command` and waits for its first stdout line. `None` when it exits
    /// before (a port still held: the caller tries again).
    async fn start(mut command: Command, stdin_line: Option<&str>) -> Option<Self> {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().unwrap();
        let mut stdin = child.stdin.take();
        if let (Some(line), Some(pipe)) = (stdin_line, stdin.as_mut()) {
            writeln!(pipe, "{line}").unwrap();
            pipe.flush().unwrap();
        }
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (first_tx, mut first) = mpsc::unbounded_channel();
        let collected = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = first_tx.send(line.clone());
                collected.lock().unwrap().push(line);
            }
        });
        let ready = tokio::time::timeout(Duration::from_secs(60), first.recv())
            .await
            .expect("the process printed nothing within 60 s");
        let mut process = Self {
            child,
            stdin,
            lines,
            reader: Some(reader),
            ready: String::new(),
        };
        match ready {
            Some(line) => {
                process.ready = line;
                Some(process)
            }
            None => {
                process.stop();
                None
            }
        }
    }

    /// SIGKILL, then waits for the exit (waitpid) and for its last lines.
    pub fn kill(mut self) -> Vec<String> {
        let _ = self.child.kill();
        self.stop()
    }

    fn stop(&mut self) -> Vec<String> {
        drop(self.stdin.take());
        self.child.wait().unwrap();
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        std::mem::take(&mut *self.lines.lock().unwrap())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.child.kill();
            self.stop();
        }
    }
}

/// Starts a process that binds a port reused from an earlier run, trying again while
/// the port is still held (at most 10 s).
async fn start_on_port(make: impl Fn() -> Command, stdin_line: Option<&str>) -> Process {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(p) = Process::start(make(), stdin_line).await {
            return p;
        }
        assert!(Instant::now() < deadline, "the process would not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The desk harness (`src/bin/desk-harness.rs`) on `data_dir`, its listener on `port`.
pub async fn desk_harness(data_dir: &Path, port: u16, secrets: &str, extra: &[&str]) -> Process {
    let make = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_desk-harness"));
        c.arg("--data-dir")
            .arg(data_dir)
            .args(["--port", &port.to_string()])
            .args(extra);
        c
    };
    let p = start_on_port(make, Some(secrets)).await;
    assert!(p.ready.starts_with("ready http://"), "{}", p.ready);
    p
}

/// `ito-sandbox serve` on `port` with `db`, webhook retries from 50 ms, attempts of 1 s at most.
pub async fn sandbox_process(db: &Path, port: u16) -> Process {
    let make = || {
        let mut c = Command::new(sandbox_binary());
        c.args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--db"])
            .arg(db)
            .args([
                "--webhook-retry-base-ms",
                "50",
                "--webhook-max-attempts",
                "100",
                // The listener is on loopback: a second is plenty, and a delivery cut by
                // a kill is retried 2 s later instead of 20.
                "--webhook-timeout-ms",
                "1000",
            ]);
        c
    };
    let p = start_on_port(make, None).await;
    assert!(
        p.ready.starts_with("ito-sandbox listening on "),
        "{}",
        p.ready
    );
    p
}

/// A merchant created by the sandbox's CLI (its credentials as JSON).
pub fn sandbox_merchant(db: &Path) -> MerchantCredentials {
    let out = Command::new(sandbox_binary())
        .args(["merchant", "create", "--name", "Soak shop", "--db"])
        .arg(db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The `ito-sandbox` binary: `ITO_SANDBOX_BIN`, else the workspace's build beside this
/// test's (`cargo build --workspace --bins`, as CI does first), else built now.
/// `CARGO_BIN_EXE_*` only names binaries of this package.
pub fn sandbox_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            if let Some(path) = std::env::var_os("ITO_SANDBOX_BIN") {
                return path.into();
            }
            // This test runs from target/<profile>/deps.
            let exe = std::env::current_exe().unwrap();
            let profile_dir = exe.parent().and_then(Path::parent).unwrap();
            let bin = profile_dir.join(format!("ito-sandbox{}", std::env::consts::EXE_SUFFIX));
            if !bin.is_file() {
                let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
                let status = Command::new(cargo)
                    .args(["build", "-p", "ito-sandbox", "--bin", "ito-sandbox"])
                    .status()
                    .unwrap();
                assert!(status.success(), "building ito-sandbox failed");
            }
            bin
        })
        .clone()
}
