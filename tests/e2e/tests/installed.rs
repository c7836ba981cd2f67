//! The packages as users get them: the app's `.deb` installed with apt-get, its files
//! where a desktop looks for them, the installed binary started as a brand-new user in
//! Japanese, then removed without a trace; the `.rpm`'s contents; the sandbox's `.deb`;
//! and the CI job in the sandbox's README run as written against its tarball.
//!
//! Run with `scripts/test-packages.sh`, which builds the packages and provides root (or
//! sudo), Xvfb, a private D-Bus session with an unlocked keyring and the Japanese locale.

use std::ffi::{OsStr, OsString};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::Client;
use ito_desk::desk::WEBHOOK_PORT_ENV;
use ito_desk_e2e::{
    Result, find, free_port, screenshot, session, tauri_driver, testid, until, wait_gone, workspace,
};

const APP_PACKAGE: &str = "ito-merchant-desk";
const APP_BINARY: &str = "/usr/bin/ito-merchant-desk";
const APP_DESKTOP_ENTRY: &str = "/usr/share/applications/ITO Merchant Desk.desktop";
/// Every size in tauri.conf.json's icon list, each filed under hicolor at its size.
const ICON_SIZES: [u32; 8] = [16, 24, 32, 48, 64, 128, 256, 512];
const SANDBOX_PACKAGE: &str = "ito-sandbox";

#[tokio::test]
#[ignore = "installs packages system-wide: run scripts/test-packages.sh"]
async fn app_deb_installs_starts_as_a_new_user_in_japanese_and_removes_cleanly() -> Result<()> {
    let deb = artefact("ITO_DESK_DEB")?;
    let version = deb_field(&deb, "Version")?;
    let installed = Installed::deb(&deb, APP_PACKAGE)?;

    assert_eq!(
        on_path("ito-merchant-desk"),
        Some(PathBuf::from(APP_BINARY))
    );
    let depends = installed.field("Depends")?;
    for dependency in ["libwebkit2gtk-4.1-0", "gnome-keyring | keepassxc"] {
        assert!(
            depends.contains(dependency),
            "Depends lacks {dependency}: {depends}"
        );
    }
    let entry = desktop_entry(Path::new(APP_DESKTOP_ENTRY))?;
    for (key, value) in [
        ("Type", "Application"),
        ("Name", "ITO Merchant Desk"),
        ("Name[ja]", "ITO マーチャントデスク"),
        ("Exec", "ito-merchant-desk"),
        ("Icon", "ito-merchant-desk"),
    ] {
        assert_eq!(
            entry_value(&entry, key),
            Some(value),
            "{key} in the desktop entry"
        );
    }
    assert!(
        entry_value(&entry, "Categories").is_some_and(|c| c.split(';').any(|c| c == "Finance")),
        "the desktop entry is not in Finance: {entry}"
    );
    run(Command::new("desktop-file-validate").arg(APP_DESKTOP_ENTRY))?;
    let files = installed.files()?;
    for size in ICON_SIZES {
        let icon = PathBuf::from(format!(
            "/usr/share/icons/hicolor/{size}x{size}/apps/ito-merchant-desk.png"
        ));
        assert!(
            files.contains(&icon),
            "the package has no {}",
            icon.display()
        );
        assert_eq!(png_size(&icon)?, (size, size), "{}", icon.display());
    }
    assert!(files.contains(&PathBuf::from("/usr/share/doc/ito-merchant-desk/copyright")));

    let outcome = first_start_in_japanese(&version).await;
    installed.remove()?;
    outcome
}

/// The installed binary started the way a new user starts it from the menu: an empty
/// home and `LANG=ja_JP.UTF-8` only, with the session's real Secret Service.
async fn first_start_in_japanese(version: &str) -> Result<()> {
    let app = Path::new(APP_BINARY);
    let home = tempfile::Builder::new()
        .prefix("ito-desk-new-user-")
        .tempdir()?;
    let vars: [(&str, OsString); 8] = [
        ("HOME", home.path().into()),
        ("XDG_DATA_HOME", home.path().join(".local/share").into()),
        ("XDG_CONFIG_HOME", home.path().join(".config").into()),
        ("XDG_CACHE_HOME", home.path().join(".cache").into()),
        ("LANG", "ja_JP.UTF-8".into()),
        // Empty is unset for the C library and GLib: only LANG decides, as for a new user.
        ("LC_ALL", "".into()),
        ("LANGUAGE", "".into()),
        (WEBHOOK_PORT_ENV, free_port()?.to_string().into()),
    ];
    let env: Vec<(&str, &OsStr)> = vars.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
    let (driver, port) = tauri_driver(&env)?;
    let client = session(port, app).await?;
    let outcome = new_user_scenario(&client, version).await;
    if outcome.is_err() {
        let _ = screenshot(&client, "failure-installed").await;
    }
    let closed = client.close().await;
    let gone = wait_gone(app, Duration::from_secs(30)).await;
    drop(driver);
    drop(home);
    outcome?;
    closed?;
    gone
}

async fn new_user_scenario(c: &Client, version: &str) -> Result<()> {
    // The demo Overview of the embedded sandbox; had the keychain failed, a screen
    // explaining it would stand in its way.
    find(c, "overview-balances", 60).await?;
    until(
        c,
        "demo balances",
        &format!(
            "document.querySelector('{}')?.textContent.match(/[0-9]/)",
            testid("overview-balances")
        ),
        30,
    )
    .await?;
    until(c, "Japanese", "document.documentElement.lang === 'ja'", 10).await?;
    assert_eq!(find(c, "nav-overview", 5).await?.text().await?, "概要");
    let banner = find(c, "mode-banner", 5).await?;
    assert_eq!(banner.attr("data-mode").await?.as_deref(), Some("test"));
    screenshot(c, "installed-01-ja-overview").await?;

    // About: this build's version and commit, and the licences shipped inside it.
    find(c, "nav-settings", 5).await?.click().await?;
    assert_eq!(find(c, "about-version", 10).await?.text().await?, version);
    let commit = find(c, "about-commit", 5).await?.text().await?;
    assert!(
        commit.len() >= 7 && commit.chars().all(|ch| ch.is_ascii_hexdigit()),
        "no commit in About: {commit:?}"
    );
    find(c, "about-licences-show", 5).await?.click().await?;
    for (source, at_least) in [("rust", 100), ("npm", 2)] {
        until(
            c,
            &format!("the {source} licences"),
            &format!(
                "Number(document.querySelector('{}')?.dataset.components) >= {at_least}",
                testid(&format!("about-licences-{source}"))
            ),
            15,
        )
        .await?;
    }
    c.execute(
        &format!(
            "document.querySelector('{}').scrollIntoView();",
            testid("about-licences-rust")
        ),
        vec![],
    )
    .await?;
    screenshot(c, "installed-02-ja-about").await?;
    Ok(())
}

#[test]
#[ignore = "needs the built packages: run scripts/test-packages.sh"]
fn app_rpm_holds_the_binary_desktop_entry_icons_and_dependencies() -> Result<()> {
    let rpm = artefact("ITO_DESK_RPM")?;
    let files: Vec<String> = lines(&run(Command::new("rpm").arg("-qlp").arg(&rpm))?);
    let mut expected = vec![
        APP_BINARY.to_owned(),
        APP_DESKTOP_ENTRY.to_owned(),
        "/usr/share/licenses/ito-merchant-desk/LICENSE".to_owned(),
    ];
    expected.extend(
        ICON_SIZES.map(|s| format!("/usr/share/icons/hicolor/{s}x{s}/apps/ito-merchant-desk.png")),
    );
    for file in &expected {
        assert!(files.contains(file), "the .rpm has no {file}: {files:#?}");
    }
    let identity = run(Command::new("rpm")
        .args(["-qp", "--queryformat", "%{NAME} %{LICENSE}"])
        .arg(&rpm))?;
    assert_eq!(identity, "ito-merchant-desk MIT");
    let requires = run(Command::new("rpm").args(["-qp", "--requires"]).arg(&rpm))?;
    for dependency in [
        "libwebkit2gtk-4.1.so.0()(64bit)",
        "(gnome-keyring or keepassxc)",
    ] {
        assert!(
            requires.contains(dependency),
            "Requires lacks {dependency}: {requires}"
        );
    }
    Ok(())
}

#[test]
#[ignore = "installs packages system-wide: run scripts/test-packages.sh"]
fn sandbox_deb_installs_answers_its_version_and_removes_cleanly() -> Result<()> {
    let deb = artefact("ITO_SANDBOX_DEB")?;
    let version = deb_field(&deb, "Version")?;
    let installed = Installed::deb(&deb, SANDBOX_PACKAGE)?;
    assert_eq!(
        on_path("ito-sandbox"),
        Some(PathBuf::from("/usr/bin/ito-sandbox"))
    );
    assert_eq!(
        run(Command::new("/usr/bin/ito-sandbox").arg("--version"))?,
        format!("ito-sandbox {version}")
    );
    let files = installed.files()?;
    for doc in ["README.md", "copyright", "THIRD-PARTY-LICENSES.txt"] {
        let path = Path::new("/usr/share/doc/ito-sandbox").join(doc);
        assert!(
            files.contains(&path),
            "the package has no {}",
            path.display()
        );
    }
    installed.remove()
}

#[test]
#[ignore = "needs the sandbox's tarball: run scripts/test-packages.sh"]
fn sandbox_readme_ci_job_runs_as_written_against_the_tarball() -> Result<()> {
    let tarball = artefact("ITO_SANDBOX_TARBALL")?;
    let listing = lines(&run(Command::new("tar").arg("-tzf").arg(&tarball))?);
    let top = listing
        .first()
        .and_then(|l| l.split('/').next())
        .ok_or("the tarball is empty")?
        .to_owned();
    for file in [
        "ito-sandbox",
        "README.md",
        "LICENSE",
        "THIRD-PARTY-LICENSES.txt",
    ] {
        assert!(
            listing.contains(&format!("{top}/{file}")),
            "the tarball has no {top}/{file}: {listing:?}"
        );
    }
    let readme_path = workspace().join("packaging/sandbox/README.md");
    let readme = std::fs::read_to_string(&readme_path)?;
    let shipped = run(Command::new("tar")
        .arg("-xzOf")
        .arg(&tarball)
        .arg(format!("{top}/README.md")))?;
    assert_eq!(
        shipped.trim_end(),
        readme.trim_end(),
        "the tarball ships another README"
    );

    let job = CiJob::parse(&readme)?;
    let names: Vec<&str> = job.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Install ito-sandbox",
            "Start the sandbox",
            "Create a merchant",
            "A signed payment, paid and verified",
            "Stop the sandbox",
        ],
        "the README's CI job changed: update this test with it"
    );
    assert!(job.env.iter().any(|(k, _)| k == "ITO_SANDBOX_TARBALL"));
    let url = format!("file://{}", tarball.display());
    job.run(&[("ITO_SANDBOX_TARBALL", url.as_str())])
}

/// The job in the README's yaml block, as far as this test runs it: the job's `env`, and
/// the `run` steps with their names and whether they run `if: always()`. `uses` steps
/// (the checkout) are GitHub's, not ours.
#[derive(Debug)]
struct CiJob {
    env: Vec<(String, String)>,
    steps: Vec<CiStep>,
}

#[derive(Debug)]
struct CiStep {
    name: String,
    always: bool,
    script: String,
}

impl CiJob {
    fn parse(readme: &str) -> Result<Self> {
        let yaml = readme
            .split_once("```yaml\n")
            .and_then(|(_, rest)| rest.split_once("\n```"))
            .map(|(yaml, _)| yaml)
            .ok_or("the README has no ```yaml block")?;
        if !yaml.contains("shell: bash") {
            return Err("the job does not run its steps with `shell: bash`".into());
        }
        let lines: Vec<&str> = yaml.lines().collect();
        let indent = |l: &str| l.len() - l.trim_start().len();
        let mut job = Self {
            env: Vec::new(),
            steps: Vec::new(),
        };
        let mut i = 0;
        while let Some(line) = lines.get(i) {
            let text = line.trim();
            i += 1;
            if text == "env:" && job.steps.is_empty() {
                while let Some(l) = lines.get(i).filter(|l| indent(l) > indent(line)) {
                    i += 1;
                    if let Some((k, v)) = l.trim().split_once(": ")
                        && !k.starts_with('#')
                    {
                        job.env.push((k.to_owned(), v.to_owned()));
                    }
                }
            } else if let Some(name) = text.strip_prefix("- name: ") {
                job.steps.push(CiStep {
                    name: name.to_owned(),
                    always: false,
                    script: String::new(),
                });
            } else if text == "if: always()" {
                job.steps.last_mut().ok_or("`if` outside a step")?.always = true;
            } else if text == "run: |" {
                let mut block = Vec::new();
                while let Some(l) = lines
                    .get(i)
                    .filter(|l| l.trim().is_empty() || indent(l) > indent(line))
                {
                    block.push(*l);
                    i += 1;
                }
                while block.last().is_some_and(|l| l.trim().is_empty()) {
                    block.pop();
                }
                let strip = block.first().map_or(0, |l| indent(l));
                let step = job.steps.last_mut().ok_or("`run` outside a named step")?;
                step.script = block
                    .iter()
                    .map(|l| l.get(strip..).unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join("\n");
            }
        }
        if let Some(step) = job.steps.iter().find(|s| s.script.is_empty()) {
            return Err(format!("the step {:?} has no `run: |` block", step.name).into());
        }
        Ok(job)
    }

    /// Runs the steps as a GitHub runner does with `shell: bash`: each in its own
    /// `bash --noprofile --norc -eo pipefail`, with `$GITHUB_ENV` and `$GITHUB_PATH`
    /// carried to the next, and after a failure only the `if: always()` ones.
    fn run(&self, overrides: &[(&str, &str)]) -> Result<()> {
        let runner = tempfile::Builder::new().prefix("ito-ci-job-").tempdir()?;
        let temp = runner.path().join("temp");
        std::fs::create_dir(&temp)?;
        let github_env = runner.path().join("github_env");
        let github_path = runner.path().join("github_path");
        std::fs::write(&github_env, "")?;
        std::fs::write(&github_path, "")?;
        let mut failed: Option<String> = None;
        for step in &self.steps {
            if failed.is_some() && !step.always {
                continue;
            }
            let mut cmd = Command::new("bash");
            cmd.args([
                "--noprofile",
                "--norc",
                "-eo",
                "pipefail",
                "-c",
                &step.script,
            ])
            .env("RUNNER_TEMP", &temp)
            .env("GITHUB_ENV", &github_env)
            .env("GITHUB_PATH", &github_path)
            .stdin(Stdio::null());
            for (k, v) in &self.env {
                cmd.env(k, v);
            }
            for (k, v) in overrides {
                cmd.env(k, v);
            }
            for (k, v) in std::fs::read_to_string(&github_env)?
                .lines()
                .filter_map(|l| l.split_once('='))
            {
                cmd.env(k, v);
            }
            let mut path: Vec<PathBuf> = std::fs::read_to_string(&github_path)?
                .lines()
                .rev()
                .map(PathBuf::from)
                .collect();
            path.extend(std::env::split_paths(
                &std::env::var_os("PATH").unwrap_or_default(),
            ));
            cmd.env("PATH", std::env::join_paths(path)?);
            let out = cmd.output()?;
            println!(
                "--- step {:?}: {}\n{}{}",
                step.name,
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if !out.status.success() && failed.is_none() {
                failed = Some(format!("the step {:?} failed: {}", step.name, out.status));
            }
        }
        // The job started the sandbox in the background; it must be gone now.
        let sandbox_pid = std::fs::read_to_string(&github_env)?
            .lines()
            .find_map(|l| l.strip_prefix("SANDBOX_PID="))
            .map(str::parse::<u32>)
            .transpose()?;
        if let Some(pid) = sandbox_pid
            && let Err(e) = wait_exited(pid, Duration::from_secs(30))
        {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            failed.get_or_insert(e.to_string());
        }
        failed.map_or(Ok(()), |e| Err(e.into()))
    }
}

/// Waits until `pid` has exited: gone, or a zombie whose parent, the step's shell, has
/// itself ended, so only init can reap it.
fn wait_exited(pid: u32, within: Duration) -> Result<()> {
    let deadline = Instant::now() + within;
    loop {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.chars().next()));
        if matches!(state, None | Some(Some('Z' | 'X'))) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("the sandbox (pid {pid}) still runs after {within:?}").into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A package installed with apt-get; purged when dropped unless the test removed it.
#[derive(Debug)]
struct Installed {
    package: &'static str,
    removed: bool,
}

impl Installed {
    fn deb(deb: &Path, package: &'static str) -> Result<Self> {
        if Self::is_installed(package)? {
            return Err(format!(
                "{package} is already installed on this machine; the test would remove it \
                 (apt-get purge {package} first)"
            )
            .into());
        }
        run(as_root("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "--no-install-recommends"])
            .arg(deb))?;
        Ok(Self {
            package,
            removed: false,
        })
    }

    fn is_installed(package: &str) -> Result<bool> {
        let out = Command::new("dpkg-query")
            .args(["-W", "-f", "${db:Status-Status}", package])
            .output()?;
        Ok(out.status.success() && String::from_utf8_lossy(&out.stdout) == "installed")
    }

    fn field(&self, field: &str) -> Result<String> {
        run(Command::new("dpkg-query")
            .args(["-W", "-f", &format!("${{{field}}}")])
            .arg(self.package))
    }

    /// The package's files (not its directories).
    fn files(&self) -> Result<Vec<PathBuf>> {
        let listed = run(Command::new("dpkg").arg("-L").arg(self.package))?;
        Ok(lines(&listed)
            .into_iter()
            .map(PathBuf::from)
            .filter(|p| p.symlink_metadata().is_ok_and(|m| !m.is_dir()))
            .collect())
    }

    /// Purges the package and checks that none of its files is left.
    fn remove(mut self) -> Result<()> {
        let files = self.files()?;
        run(as_root("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["purge", "-y", self.package]))?;
        self.removed = true;
        if Self::is_installed(self.package)? {
            return Err(format!("{} is still installed after purge", self.package).into());
        }
        let left: Vec<&PathBuf> = files
            .iter()
            .filter(|f| f.symlink_metadata().is_ok())
            .collect();
        if !left.is_empty() {
            return Err(format!("purging {} left {left:?}", self.package).into());
        }
        Ok(())
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        if !self.removed {
            let _ = as_root("apt-get")
                .env("DEBIAN_FRONTEND", "noninteractive")
                .args(["purge", "-y", self.package])
                .status();
        }
    }
}

/// `program` as root: directly when the test is root, else through sudo.
fn as_root(program: &str) -> Command {
    if std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
        Command::new(program)
    } else {
        let mut cmd = Command::new("sudo");
        cmd.arg(program);
        cmd
    }
}

/// A package the script built, named by `$var`, as an absolute path (apt-get takes a
/// local file only as a path).
fn artefact(var: &str) -> Result<PathBuf> {
    let path = std::env::var_os(var)
        .ok_or_else(|| format!("{var} is not set: run scripts/test-packages.sh"))?;
    Ok(std::fs::canonicalize(&path)
        .map_err(|e| format!("{var}={}: {e}", Path::new(&path).display()))?)
}

fn deb_field(deb: &Path, field: &str) -> Result<String> {
    run(Command::new("dpkg-deb").arg("--field").arg(deb).arg(field))
}

/// Runs `cmd` to success and returns its trimmed stdout.
fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd.stdin(Stdio::null()).output()?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_owned).collect()
}

/// Where a shell would find `name` on this process's PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The `[Desktop Entry]` group of a desktop file.
fn desktop_entry(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let group = text
        .split_once("[Desktop Entry]\n")
        .map(|(_, rest)| rest.split("\n[").next().unwrap_or(rest))
        .ok_or_else(|| format!("{} has no [Desktop Entry] group", path.display()))?;
    Ok(group.to_owned())
}

fn entry_value<'a>(entry: &'a str, key: &str) -> Option<&'a str> {
    entry
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

/// Width and height from a PNG's header.
fn png_size(path: &Path) -> Result<(u32, u32)> {
    let bytes = std::fs::read(path)?;
    let header = bytes
        .get(..24)
        .filter(|h| h.starts_with(b"\x89PNG\r\n\x1a\n"))
        .ok_or_else(|| format!("{} is not a PNG", path.display()))?;
    let word = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    Ok((word(16), word(20)))
}
