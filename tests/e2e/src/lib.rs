//! Harness for driving the built app through `tauri-driver` and WebKitWebDriver:
//! processes started here are stopped when their guards drop.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

/// Values the gateway accepts for every required KYC field, in the form's order.
pub const COMPLETE_KYC: [(&str, &str); 13] = [
    ("legal_name", "山田 花子"),
    ("legal_name_kana", "ヤマダ ハナコ"),
    ("date_of_birth", "1985-04-12"),
    ("nationality", "JP"),
    ("occupation", "会社員"),
    ("purpose_of_use", "shopping"),
    ("postal_code", "100-0001"),
    ("prefecture", "tokyo"),
    ("city", "千代田区"),
    ("address_line1", "千代田1-1"),
    ("phone", "+81312345678"),
    ("id_document_type", "passport"),
    ("id_document_number", "TK1234567"),
];

pub type Result<T, E = Box<dyn std::error::Error + Send + Sync>> = std::result::Result<T, E>;

/// The workspace root (this crate lives in `tests/e2e`).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Where cargo puts builds: `$CARGO_TARGET_DIR` (relative to the workspace, as the
/// scripts run cargo from there), else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace().join("target"), |dir| workspace().join(dir))
}

/// A debug build of the workspace's binary `name`: `$var` when set, else under
/// [`target_dir`].
pub fn binary(var: &str, name: &str) -> Result<PathBuf> {
    built(var, "debug", name)
}

/// A binary `name` of the cargo `profile` (`debug`, `release`): `$var` when set, else
/// under [`target_dir`].
pub fn built(var: &str, profile: &str, name: &str) -> Result<PathBuf> {
    existing(var, target_dir().join(profile).join(name))
}

fn existing(var: &str, default: PathBuf) -> Result<PathBuf> {
    let path = std::env::var_os(var).map_or(default, PathBuf::from);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("{} not found (build it, or set {var})", path.display()).into())
    }
}

pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

fn wait_for_port(port: u16, within: Duration) -> Result<()> {
    let deadline = Instant::now() + within;
    while TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).is_err() {
        if Instant::now() > deadline {
            return Err(format!("nothing listens on port {port} after {within:?}").into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Every process id in `/proc`.
pub fn all_pids() -> Result<Vec<u32>> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        if let Some(pid) = entry?.file_name().to_str().and_then(|s| s.parse().ok()) {
            pids.push(pid);
        }
    }
    Ok(pids)
}

/// The running processes of the executable `app`.
pub fn pids_of(app: &Path) -> Result<Vec<u32>> {
    let want = std::fs::canonicalize(app)?;
    Ok(all_pids()?
        .into_iter()
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == want))
        .collect())
}

/// Set in the environment of every app started through [`tauri_driver`], so that the
/// harness can tell its own copies from one the user runs.
const STARTED_BY_HARNESS: (&str, &str) = ("ITO_DESK_E2E", "1");

/// The running copies of `app` that a window test started.
fn harness_pids(app: &Path) -> Result<Vec<u32>> {
    Ok(pids_of(app)?
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
                env.split(|b| *b == 0).any(|var| {
                    var == format!("{}={}", STARTED_BY_HARNESS.0, STARTED_BY_HARNESS.1).as_bytes()
                })
            })
        })
        .collect())
}

/// Waits until no copy of `app` started by a window test runs: a closed session ends
/// the app, but not at once. A copy the user runs is not waited for.
pub async fn wait_gone(app: &Path, within: Duration) -> Result<()> {
    let deadline = Instant::now() + within;
    while !harness_pids(app)?.is_empty() {
        if Instant::now() > deadline {
            return Err(format!("{} still runs after {within:?}", app.display()).into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// A child process stopped with SIGTERM on drop (SIGKILL would orphan WebKitWebDriver,
/// which then keeps its port).
#[derive(Debug)]
pub struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `tauri-driver` on free ports, with `env` (and the harness's marker) added to what
/// the app will inherit.
pub fn tauri_driver(env: &[(&str, &OsStr)]) -> Result<(Process, u16)> {
    let driver = existing("TAURI_DRIVER", workspace().join(".tools/bin/tauri-driver"))?;
    let port = free_port()?;
    let native = free_port()?;
    let mut cmd = Command::new(driver);
    cmd.args([
        "--port",
        &port.to_string(),
        "--native-port",
        &native.to_string(),
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::inherit())
    .env(STARTED_BY_HARNESS.0, STARTED_BY_HARNESS.1);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = Process(cmd.spawn()?);
    wait_for_port(port, Duration::from_secs(20))?;
    Ok((child, port))
}

/// Opens a session, which starts the app.
pub async fn session(port: u16, app: &Path) -> Result<Client> {
    let caps = serde_json::json!({
        "tauri:options": { "application": app, "args": [] }
    });
    let serde_json::Value::Object(caps) = caps else {
        return Err("capabilities are an object".into());
    };
    let url = format!("http://127.0.0.1:{port}");
    // tauri-driver accepts connections before its WebKitWebDriver is ready, and then
    // drops the first request on a loaded machine: try again a few times.
    let mut attempt = 0;
    loop {
        attempt += 1;
        match ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return Ok(client),
            Err(e) if attempt < 5 => {
                eprintln!("new session failed ({e}); trying again");
                tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The app's first start: a session on its window, the driver that started it, and
/// the empty home it started in (removed on drop, after the app has stopped).
#[derive(Debug)]
pub struct FirstStart {
    pub client: Client,
    app: PathBuf,
    driver: Process,
    home: tempfile::TempDir,
    webhook_port: u16,
}

/// The program the app opens sign-in pages with instead of a browser: it notes each
/// URL in [`BROWSER_LOG`] under the home, where [`FirstStart::browser_sign_in`] plays the
/// browser (the issue drives the browser step by posting the form).
const PLAYED_BROWSER: &str = ".played-browser";
const BROWSER_LOG: &str = "opened-urls";

fn install_played_browser(home: &Path) -> Result<()> {
    let script = home.join(PLAYED_BROWSER);
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" >> \"{}\"\n",
            home.join(BROWSER_LOG).display()
        ),
    )?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// The environment the app runs in: its own home, a fixed webhook port, and the
/// played browser.
fn app_env(home: &Path, webhook_port: u16) -> Vec<(&'static str, std::ffi::OsString)> {
    vec![
        ("HOME", home.as_os_str().to_owned()),
        ("ITO_DESK_BROWSER", home.join(PLAYED_BROWSER).into()),
        ("XDG_DATA_HOME", home.join(".local/share").into()),
        ("XDG_CONFIG_HOME", home.join(".config").into()),
        ("XDG_CACHE_HOME", home.join(".cache").into()),
        (
            ito_desk::desk::WEBHOOK_PORT_ENV,
            webhook_port.to_string().into(),
        ),
    ]
}

/// `tauri-driver` for an app in `home` that keeps its data in `data` (the benchmarks
/// fill or read that database themselves), its webhook listener on a free port.
pub fn driver_with_data(home: &Path, data: &Path) -> Result<(Process, u16)> {
    let mut vars = app_env(home, free_port()?);
    vars.push((ito_desk::desk::DATA_DIR_ENV, data.into()));
    let env: Vec<(&str, &OsStr)> = vars.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
    tauri_driver(&env)
}

/// `tauri-driver` for the app in `home`, and a session on the window it starts.
async fn start_app(app: &Path, home: &Path, webhook_port: u16) -> Result<(Client, Process)> {
    let vars = app_env(home, webhook_port);
    let env: Vec<(&str, &OsStr)> = vars.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
    let (driver, port) = tauri_driver(&env)?;
    let client = session(port, app).await?;
    Ok((client, driver))
}

impl FirstStart {
    /// Starts the debug build of the app with an empty home: no data directory, no
    /// profile, so it starts its embedded sandbox in test mode. Its webhook listener
    /// takes a free port, so that nothing else on the machine can be in its way.
    pub async fn new() -> Result<Self> {
        let app = binary("ITO_DESK_APP", "ito-merchant-desk")?;
        // An app a failed test left behind would still hold its resources.
        wait_gone(&app, Duration::from_secs(30)).await?;
        let home = tempfile::Builder::new().prefix("ito-desk-e2e-").tempdir()?;
        install_played_browser(home.path())?;
        let webhook_port = free_port()?;
        let (client, driver) = start_app(&app, home.path(), webhook_port).await?;
        Ok(Self {
            client,
            app,
            driver,
            home,
            webhook_port,
        })
    }

    /// Kills the app with SIGKILL, as a crash or a power cut would, waits for it to
    /// be gone, and starts it again on the same home with a new session.
    pub async fn crash_and_restart(&mut self) -> Result<()> {
        for pid in harness_pids(&self.app)? {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        wait_gone(&self.app, Duration::from_secs(30)).await?;
        let (client, driver) = start_app(&self.app, self.home.path(), self.webhook_port).await?;
        self.driver = driver;
        self.client = client;
        Ok(())
    }

    /// Launches the app a second time, as a user would, with the first one's home and
    /// display, and waits up to `within` for that second copy to exit.
    pub async fn launch_again(&self, within: Duration) -> Result<std::process::ExitStatus> {
        let home = self.home.path();
        let mut child = Command::new(&self.app)
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env(STARTED_BY_HARNESS.0, STARTED_BY_HARNESS.1)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("the second copy still runs after {within:?}").into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Plays the browser for the app's latest sign-in page: waits for the app to
    /// open it, posts the gateway's authorize form as `email` with `decision`
    /// (`approve` or `deny`), and follows the redirect to the app's listener. The
    /// page the listener answered with.
    pub async fn browser_sign_in(
        &self,
        email: &str,
        password: &str,
        decision: &str,
    ) -> Result<String> {
        let log = self.home.path().join(BROWSER_LOG);
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = loop {
            let opened = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(last) = opened.lines().last() {
                break url::Url::parse(last)?;
            }
            if Instant::now() > deadline {
                return Err("the app opened no sign-in page".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        std::fs::remove_file(&log)?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let page = http.get(url.clone()).send().await?.error_for_status()?;
        if !page.text().await?.contains("decision") {
            return Err("the authorize page has no form".into());
        }
        let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        form.extend([
            ("email".to_owned(), email.to_owned()),
            ("password".to_owned(), password.to_owned()),
            ("decision".to_owned(), decision.to_owned()),
        ]);
        let action = url.join("/oauth/authorize")?;
        let answer = http.post(action).form(&form).send().await?;
        let Some(to) = answer.headers().get("location") else {
            let status = answer.status();
            let page = answer.text().await?;
            return Err(
                format!("the authorize form answered {status}, no redirect: {page}").into(),
            );
        };
        let to = to.to_str()?.to_owned();
        Ok(http.get(to).send().await?.text().await?)
    }

    /// The port the app's webhook listener was given.
    pub fn webhook_port(&self) -> u16 {
        self.webhook_port
    }

    /// Ends the run with the scenario's `outcome`: a `failure-<name>` screenshot when
    /// it failed, then the app stops before its home goes.
    pub async fn finish(self, name: &str, outcome: Result<()>) -> Result<()> {
        self.stop(name, outcome).await.map(drop)
    }

    /// As [`FirstStart::finish`], but hands back the home the app stopped in, for
    /// looking at what it left on disk.
    pub async fn stop(self, name: &str, outcome: Result<()>) -> Result<tempfile::TempDir> {
        if outcome.is_err() {
            let _ = screenshot(&self.client, &format!("failure-{name}")).await;
        }
        let Self {
            client,
            app,
            driver,
            home,
            ..
        } = self;
        let closed = client.close().await;
        let gone = wait_gone(&app, Duration::from_secs(30)).await;
        drop(driver);
        outcome?;
        closed?;
        gone?;
        Ok(home)
    }
}

/// `ito-sandbox serve` on a free port with its own database, and a merchant created
/// with `ito-sandbox merchant create`: its credentials as JSON.
pub fn separate_sandbox(dir: &Path) -> Result<(Process, String, serde_json::Value)> {
    let bin = binary("ITO_SANDBOX_BIN", "ito-sandbox")?;
    let db = dir.join("separate-sandbox.db");
    let out = Command::new(&bin)
        .args(["merchant", "create", "--name", "E2E Shop 大阪"])
        .arg("--db")
        .arg(&db)
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "merchant create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let merchant: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let mut child = Command::new(&bin)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .arg("--db")
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let server = Process(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://"))
        .ok_or_else(|| format!("unexpected first line from serve: {line:?}"))?
        .to_owned();
    Ok((server, url, merchant))
}

/// Adds a profile for `merchant` (as `merchant create` prints it) on the gateway at
/// `url` through Settings' form, as staff would, and gives its id once its row shows.
pub async fn add_profile(
    c: &Client,
    name: &str,
    url: &str,
    merchant: &serde_json::Value,
) -> Result<String> {
    find(c, "nav-settings", 5).await?.click().await?;
    let before = c
        .find_all(Locator::Css(&testid("profile-row")))
        .await?
        .len();
    find(c, "profile-add", 10).await?.click().await?;
    let field = |k: &str| merchant[k].as_str().unwrap_or_default().to_owned();
    for (id, value) in [
        ("profile-name", name.to_owned()),
        ("profile-base-url", url.to_owned()),
        ("profile-access-key", field("access_key")),
        ("profile-secret-key", field("secret_key")),
        ("profile-client-id", field("client_id")),
        ("profile-client-secret", field("client_secret")),
        ("profile-public-client-id", field("public_client_id")),
    ] {
        let input = find(c, id, 5).await?;
        input.clear().await?;
        input.send_keys(&value).await?;
    }
    find(c, "profile-save", 5).await?.click().await?;
    until(
        c,
        "the new profile's row",
        &format!(
            "document.querySelectorAll('{}').length === {}",
            testid("profile-row"),
            before + 1
        ),
        15,
    )
    .await?;
    let id = c
        .execute(
            &format!(
                "return [...document.querySelectorAll('{}')].map(r => r.dataset.profileId)\
                 .find(id => document.querySelector('{} option[value=\"' + id + '\"]')?.textContent.includes(arguments[0]));",
                testid("profile-row"),
                testid("profile-switcher")
            ),
            vec![serde_json::Value::from(name)],
        )
        .await?
        .as_str()
        .ok_or("the new profile has no row")?
        .to_owned();
    Ok(id)
}

/// Makes profile `id` the current one and waits for its Overview.
pub async fn switch_profile(c: &Client, id: &str) -> Result<()> {
    find(c, "profile-switcher", 5)
        .await?
        .select_by_value(id)
        .await?;
    find(c, "nav-overview", 5).await?.click().await?;
    find(c, "overview-balances", 30).await?;
    until(
        c,
        "the switcher shows the profile",
        &format!(
            "document.querySelector('{}').value === '{id}'",
            testid("profile-switcher")
        ),
        10,
    )
    .await
}

pub fn testid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

/// Waits up to `secs` for an element.
pub async fn find(c: &Client, id: &str, secs: u64) -> Result<fantoccini::elements::Element> {
    let css = testid(id);
    Ok(c.wait()
        .at_most(Duration::from_secs(secs))
        .for_element(Locator::Css(&css))
        .await
        .map_err(|e| format!("{id}: {e}"))?)
}

/// Waits until `script` (a JS expression) is truthy.
pub async fn until(c: &Client, what: &str, script: &str, secs: u64) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let v = c.execute(&format!("return !!({script});"), vec![]).await?;
        if v.as_bool() == Some(true) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The id of the first demo user whose KYC is `status`, from the KYC queue (a first
/// start's demo users hold every status).
pub async fn demo_user_with_kyc(c: &Client, status: &str) -> Result<String> {
    find(c, "nav-kyc", 5).await?.click().await?;
    find(c, "kyc-queue", 30).await?;
    let row = format!("{}[data-kyc-status=\"{status}\"]", testid("kyc-queue-user"));
    until(
        c,
        "a demo user in the queue",
        &format!("document.querySelector('{row}')"),
        30,
    )
    .await?;
    Ok(c.execute(
        &format!("return document.querySelector('{row}').dataset.userId;"),
        vec![],
    )
    .await?
    .as_str()
    .ok_or("the queue row has no user id")?
    .to_owned())
}

/// Shows the window in `lang` (`en`, `ja`) through the top bar's switch.
pub async fn language(c: &Client, lang: &str) -> Result<()> {
    find(c, "language-switch", 5)
        .await?
        .select_by_value(lang)
        .await?;
    until(
        c,
        "the language",
        &format!("document.documentElement.lang === '{lang}'"),
        10,
    )
    .await
}

/// Saves a PNG of the window under `artifacts/e2e/`.
pub async fn screenshot(c: &Client, name: &str) -> Result<PathBuf> {
    let dir = workspace().join("artifacts/e2e");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}.png"));
    // WebKitWebDriver may answer the first capture from a stale snapshot of the
    // window; a second one shows what is on screen.
    c.screenshot().await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::write(&path, c.screenshot().await?)?;
    Ok(path)
}

/// Helpers of the window benchmarks (`src/bin/bench-*.rs`).
pub mod bench {
    use std::future::Future;
    use std::process::ExitCode;

    use fantoccini::Client;

    use super::{Result, find};

    /// A benchmark's `main`: runs `run` on a runtime and reports its error as `name: …`.
    pub fn main<F: Future<Output = Result<()>>>(name: &str, run: impl FnOnce() -> F) -> ExitCode {
        let outcome = tokio::runtime::Runtime::new()
            .map_err(Into::into)
            .and_then(|rt| rt.block_on(run()));
        match outcome {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{name}: {e}");
                ExitCode::FAILURE
            }
        }
    }

    /// The id of the profile the window has active.
    pub async fn active_profile(c: &Client) -> Result<String> {
        Ok(find(c, "profile-switcher", 10)
            .await?
            .prop("value")
            .await?
            .filter(|id| !id.is_empty())
            .ok_or("no active profile")?)
    }

    /// Runs `script` asynchronously in the page with `args`; it answers a time in ms.
    pub async fn timed(c: &Client, script: &str, args: &[&str]) -> Result<f64> {
        let args = args.iter().map(|a| serde_json::json!(a)).collect();
        let answer = c.execute_async(script, args).await?;
        answer
            .as_f64()
            .ok_or_else(|| format!("the page answered {answer} instead of a time").into())
    }

    pub fn median(v: &[f64]) -> f64 {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
    }

    /// Every run, rounded to whole ms, for the figures' detail.
    pub fn runs(v: &[f64]) -> String {
        v.iter()
            .map(|x| format!("{x:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
