//! The desk's services in a process of their own, for the tests and scripts that kill
//! them with SIGKILL (`crates/ito-desk/tests/reliability`). It opens a data directory
//! whose active profile the caller set up, starts the webhook listener on the given
//! port, prints `ready <listener base URL>`, and then, when asked, creates payment
//! links, exports the ledger, imports the user directory from the sandbox and edits a
//! user's KYC form in loops, printing each acknowledgement once the desk has returned
//! it (so it is committed). Its KYC service always runs, sending the forms left unsent:
//!
//! ```text
//! desk-harness --data-dir DIR --port N [--links PREFIX] [--exports DIR] [--imports]
//!              [--kyc USER:FIELD]
//!   link <order reference> <ledger id> <payment id>
//!   export <rows> <path>
//!   import <users> <added>
//!   kyc <n>            (FIELD now holds "Edit <n>")
//! ```
//!
//! The profile's secrets come as one JSON line on stdin (`profile_id`, `access_key`,
//! `secret_key`, `client_secret`) and go into an in-memory keychain, never onto the
//! command line. It runs until killed, or until stdin closes (its parent is gone).

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use ito_api::Secret;
use ito_desk::desk::{Desk, Options};
use ito_desk::exports::ExportTarget;
use ito_desk::kyc::{KycForms, Via};
use ito_desk::overview::Currency;
use ito_desk::payments::Payments;
use ito_desk::payments::ledger::LedgerFilter;
use ito_desk::payments::links::PaymentLinkInput;
use ito_desk::sessions::Sessions;
use ito_desk::users::Users;
use ito_desk::vault::{Field, Vault};
use serde::Deserialize;

type Failure = Box<dyn std::error::Error>;

#[derive(Deserialize)]
struct Secrets {
    profile_id: String,
    access_key: String,
    secret_key: String,
    client_secret: Option<String>,
}

#[derive(Default)]
struct Args {
    data_dir: Option<PathBuf>,
    port: Option<u16>,
    links: Option<String>,
    exports: Option<PathBuf>,
    imports: bool,
    kyc: Option<(String, String)>,
}

const USAGE: &str = "usage: desk-harness --data-dir DIR --port N [--links PREFIX] \
    [--exports DIR] [--imports] [--kyc USER:FIELD] < secrets.json";

fn args() -> Result<Args, Failure> {
    let mut args = Args::default();
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        if flag == "--imports" {
            args.imports = true;
            continue;
        }
        let value = given
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--data-dir" => args.data_dir = Some(value.into()),
            "--port" => args.port = Some(value.parse()?),
            "--links" => args.links = Some(value),
            "--exports" => args.exports = Some(value.into()),
            "--kyc" => {
                let (user, field) = value.split_once(':').ok_or("--kyc takes USER:FIELD")?;
                args.kyc = Some((user.to_owned(), field.to_owned()));
            }
            _ => return Err(format!("unknown argument {flag}").into()),
        }
    }
    Ok(args)
}

/// One line on stdout, flushed at once: the parent may kill this process any time after.
fn say(line: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

fn main() -> ExitCode {
    let args = match args() {
        Ok(a) if a.data_dir.is_some() && a.port.is_some() => a,
        Ok(_) => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("desk-harness: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let run = tokio::runtime::Runtime::new().map_err(Failure::from);
    match run.and_then(|rt| rt.block_on(run_desk(args))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("desk-harness: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run_desk(args: Args) -> Result<(), Failure> {
    let (Some(data_dir), Some(port)) = (args.data_dir, args.port) else {
        return Err(USAGE.into());
    };
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let secrets: Secrets = serde_json::from_str(&line)?;
    let vault = Vault::with_store(keyring_core::mock::Store::new()?);
    let id = &secrets.profile_id;
    vault.put(id, Field::AccessKey, &Secret::new(secrets.access_key))?;
    vault.put(id, Field::SecretKey, &Secret::new(secrets.secret_key))?;
    if let Some(s) = secrets.client_secret {
        vault.put(id, Field::ClientSecret, &Secret::new(s))?;
    }
    let options = Options {
        data_dir,
        embedded_sandbox: false,
    };
    let desk = Desk::open(options, vault, Arc::new(|_| {})).await?;
    let payments = Payments::start(Arc::clone(&desk), Arc::new(|_| {}), Some(port)).await?;
    let status = payments.listener_status().await;
    let Some(url) = status.base_url else {
        // Exit so the parent can try again (the port may still be held for a moment).
        return Err(status
            .error
            .unwrap_or_else(|| "the listener did not start".into())
            .into());
    };
    let sessions = Sessions::new(Arc::clone(&desk), Arc::new(|_| {}));
    let kyc = KycForms::start(Arc::clone(&desk), sessions, Arc::new(|_| {}));
    say(&format!("ready {url}"))?;
    let mut work = tokio::task::JoinSet::new();
    if let Some((user, field)) = args.kyc {
        work.spawn(edit_kyc(Arc::clone(&kyc), user, field));
    }
    if let Some(prefix) = args.links {
        work.spawn(create_links(Arc::clone(&payments), prefix));
    }
    if let Some(dir) = args.exports {
        work.spawn(export_ledger(Arc::clone(&payments), dir));
    }
    if args.imports {
        work.spawn(import_users(Users::new(
            Arc::clone(&desk),
            Arc::new(|_| {}),
        )));
    }
    // The parent holds stdin open while it wants this process; EOF means it is gone.
    work.spawn_blocking(|| {
        let mut rest = String::new();
        while std::io::stdin()
            .lock()
            .read_line(&mut rest)
            .is_ok_and(|n| n > 0)
        {
            rest.clear();
        }
        Ok(())
    });
    let ended = work.join_next().await;
    kyc.shutdown().await;
    payments.shutdown().await;
    desk.shutdown().await;
    match ended {
        Some(Ok(r)) => r.map_err(|e| e.to_string().into()),
        Some(Err(e)) => Err(e.into()),
        None => Ok(()),
    }
}

type Looped = Result<(), String>;

/// Creates links one after another; a failed one is left for its retry, as the window
/// would leave it, and the loop goes on.
async fn create_links(payments: Arc<Payments>, prefix: String) -> Looped {
    for n in 1u64.. {
        let custom = format!("{prefix}-{n}");
        let input = PaymentLinkInput {
            amount: format!("{}", 500 + n % 7 * 100),
            currency: Currency::Jpy,
            details: Some("抹茶セット".into()),
            customer_email: "hanako@example.jp".into(),
            custom: custom.clone(),
            success_url: Some("https://shop.example/thanks".into()),
            cancel_url: Some("https://shop.example/cancel".into()),
            webhook_url: None,
            confirm_active: false,
        };
        match payments.create_link(input).await {
            Ok(created) => {
                let payment_id = created.payment.payment_id.unwrap_or_default();
                say(&format!(
                    "link {custom} {} {payment_id}",
                    created.payment.id
                ))
                .map_err(|e| e.to_string())?;
            }
            Err(e) => eprintln!("desk-harness: {custom} not created: {e}"),
        }
    }
    Ok(())
}

async fn export_ledger(payments: Arc<Payments>, dir: PathBuf) -> Looped {
    loop {
        let target = ExportTarget::Folder {
            dir: dir.clone(),
            name: "payments.csv".into(),
        };
        let done = payments
            .export_csv(LedgerFilter::default(), target)
            .await
            .map_err(|e| e.to_string())?;
        say(&format!("export {} {}", done.rows, done.path)).map_err(|e| e.to_string())?;
    }
}

/// Imports the directory again and again; each import also starts a balance refresh,
/// whose writes then run beside the next import's.
async fn import_users(users: Arc<Users>) -> Looped {
    loop {
        let report = users
            .import_from_sandbox()
            .await
            .map_err(|e| e.to_string())?;
        say(&format!("import {} {}", report.users, report.added)).map_err(|e| e.to_string())?;
    }
}

/// Edits one field of a form again and again, as fast as the desk commits the edits.
async fn edit_kyc(kyc: Arc<KycForms>, user: String, field: String) -> Looped {
    for n in 1u64.. {
        kyc.edit(&Via::Merchant, &user, &field, format!("Edit {n}"))
            .await
            .map_err(|e| e.to_string())?;
        say(&format!("kyc {n}")).map_err(|e| e.to_string())?;
    }
    Ok(())
}
