//! The `ito-sandbox` command line.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use ito_sandbox::{Config, Db, Durability, FaultSetting, SeedOptions, Server};

#[derive(Parser)]
#[command(
    name = "ito-sandbox",
    version,
    about = "A local, stateful emulator of the ITO-Japan payment gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct DbArg {
    /// SQLite database file (created when missing).
    #[arg(long, env = "ITO_SANDBOX_DB", default_value = "ito-sandbox.db")]
    db: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the gateway until Ctrl-C or SIGTERM.
    Serve {
        /// Address to listen on; port 0 picks a free one.
        #[arg(long, default_value = "127.0.0.1:8787")]
        addr: SocketAddr,
        #[command(flatten)]
        db: DbArg,
        /// Base URL for links the sandbox hands out (default: the listening address).
        #[arg(long)]
        public_url: Option<url::Url>,
        /// First webhook retry delay in milliseconds; later ones double (default 30 s).
        #[arg(long, default_value_t = 30_000)]
        webhook_retry_base_ms: u64,
        /// Attempts per webhook delivery before giving up.
        #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=100))]
        webhook_max_attempts: u32,
        /// How long one webhook attempt may take, in milliseconds; a delivery that was
        /// being attempted when the sandbox stopped is retried after twice this.
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
        webhook_timeout_ms: u64,
        /// Seconds a pending payment stays payable.
        #[arg(long, default_value_t = 86_400)]
        payment_ttl_secs: u64,
        /// Approve submitted KYC forms after this many milliseconds (off by default).
        #[arg(long)]
        kyc_auto_review_ms: Option<u64>,
        /// Store fault settings at start, kept across restarts like `PUT /sandbox/faults`:
        /// `[MERCHANT_ID:]latency_ms=N,error_rate=R,drop_rate=R` (absent ones are 0) or
        /// `[MERCHANT_ID:]off`; without an id, every merchant. Repeatable, applied in order.
        #[arg(long, value_name = "[MERCHANT_ID:]FAULTS")]
        faults: Vec<FaultSetting>,
        /// `normal`: nothing committed is lost when the process dies, and a power cut
        /// loses at most the last commits. `relaxed`: the same for the process, but an OS
        /// crash or a power cut may corrupt the database; for throwaway sandboxes in CI,
        /// where it makes commits about twice as cheap.
        #[arg(long, value_enum, default_value_t = Durability::Normal)]
        durability: Durability,
    },
    /// Fill a merchant with realistic users, KYC forms, cards and transactions.
    Seed {
        #[arg(long, default_value_t = 20)]
        users: usize,
        #[arg(long, default_value_t = 50)]
        transactions_per_user: usize,
        /// Merchant to fill (default: the first one; an empty database gets a demo merchant).
        #[arg(long)]
        merchant: Option<String>,
        #[command(flatten)]
        db: DbArg,
    },
    /// Manage merchant accounts (works while a server runs on the same database).
    Merchant {
        #[command(subcommand)]
        command: MerchantCommand,
    },
}

#[derive(Subcommand)]
enum MerchantCommand {
    /// Create a merchant and print its credentials as JSON.
    Create {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// Print every merchant's credentials as a JSON array.
    List {
        #[command(flatten)]
        db: DbArg,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ITO_SANDBOX_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ito-sandbox: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_json(value: &impl serde::Serialize) -> Result<(), Box<dyn std::error::Error>> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Merchant {
            command: MerchantCommand::Create { name, db },
        } => print_json(&Db::open(&db.db)?.create_merchant(&name)?),
        Command::Merchant {
            command: MerchantCommand::List { db },
        } => print_json(&Db::open(&db.db)?.list_merchants()?),
        Command::Seed {
            users,
            transactions_per_user,
            merchant,
            db,
        } => print_json(&Db::open(&db.db)?.seed(
            merchant.as_deref(),
            SeedOptions {
                users,
                transactions_per_user,
            },
        )?),
        Command::Serve {
            addr,
            db,
            public_url,
            webhook_retry_base_ms,
            webhook_max_attempts,
            webhook_timeout_ms,
            payment_ttl_secs,
            kyc_auto_review_ms,
            faults,
            durability,
        } => {
            let mut config = Config::new(addr, db.db);
            config.public_url = public_url.map(|u| u.to_string());
            config.webhook_retry_base = Duration::from_millis(webhook_retry_base_ms.max(1));
            config.webhook_max_attempts = webhook_max_attempts;
            config.webhook_timeout = Duration::from_millis(webhook_timeout_ms);
            config.payment_ttl = Duration::from_secs(payment_ttl_secs);
            config.kyc_auto_review = kyc_auto_review_ms.map(Duration::from_millis);
            config.faults = faults;
            config.durability = durability;
            tokio::runtime::Runtime::new()?.block_on(serve(config))
        }
    }
}

async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::start(config).await?;
    if let Some(m) = server.demo_merchant() {
        eprintln!(
            "ito-sandbox: created the demo merchant (also written to demo-merchant.json beside the database):\n{}",
            serde_json::to_string_pretty(m)?
        );
    }
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "ito-sandbox listening on {}", server.url())?;
        out.flush()?;
    }
    shutdown_signal().await?;
    server.shutdown().await;
    Ok(())
}

async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
