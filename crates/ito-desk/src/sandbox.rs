//! The sandbox the app runs in-process, so a first start needs no account and no network.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use ito_api::Secret;
use ito_sandbox::{Config, Server};

use crate::error::{Error, Result};
use crate::profiles::Secrets;

/// The file of the embedded sandbox's database in the app-data directory.
pub const DB_FILE: &str = "sandbox.db";

#[derive(Debug)]
pub struct Embedded {
    server: Server,
}

/// The embedded sandbox's merchant, as the app needs it for a profile.
#[derive(Debug)]
pub struct Merchant {
    pub merchant_id: String,
    pub name: String,
    pub client_id: String,
    pub public_client_id: String,
    pub secrets: Secrets,
}

impl Embedded {
    /// Starts on a loopback port chosen by the OS, on its database in `data_dir`.
    pub async fn start(data_dir: &Path) -> Result<Self> {
        let mut config = Config::new(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            data_dir.join(DB_FILE),
        );
        // The credentials go to the keychain; no plaintext copy beside the database.
        config.write_demo_file = false;
        let server = Server::start(config).await?;
        Ok(Self { server })
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The demo merchant: the one this start created, or else the oldest merchant
    /// (a database kept from before, whose profile was removed).
    pub fn demo_merchant(&self) -> Result<Merchant> {
        if let Some(m) = self.server.demo_merchant() {
            return Ok(merchant(m));
        }
        self.server
            .db()
            .list_merchants()?
            .first()
            .map(merchant)
            .ok_or_else(|| Error::Sandbox("the embedded sandbox has no merchant".into()))
    }

    /// A merchant of the sandbox's own database, to recover the embedded profile's
    /// secrets when they could only be held in memory.
    pub fn merchant(&self, merchant_id: &str) -> Result<Merchant> {
        self.server
            .db()
            .list_merchants()?
            .iter()
            .find(|m| m.merchant_id == merchant_id)
            .map(merchant)
            .ok_or_else(|| {
                Error::Sandbox(format!(
                    "the embedded sandbox has no merchant {merchant_id}; remove the Sandbox profile to start afresh"
                ))
            })
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

fn merchant(m: &ito_sandbox::MerchantCredentials) -> Merchant {
    Merchant {
        merchant_id: m.merchant_id.clone(),
        name: m.name.clone(),
        client_id: m.client_id.clone(),
        public_client_id: m.public_client_id.clone(),
        secrets: Secrets {
            access_key: Secret::new(m.access_key.clone()),
            secret_key: Secret::new(m.secret_key.clone()),
            client_secret: Secret::new(m.client_secret.clone()),
        },
    }
}
