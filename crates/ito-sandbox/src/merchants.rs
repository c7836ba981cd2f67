//! Merchant accounts and their credentials.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use crate::db::Db;
use crate::error::{Error, Result};
use crate::ids;

/// A merchant's identity and every credential the gateway issues to it. The sandbox
/// keeps secrets in its own database because it must sign webhooks and check
/// signatures; it is a development tool, never a place for live credentials.
#[derive(Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct MerchantCredentials {
    pub merchant_id: String,
    pub name: String,
    pub access_key: String,
    pub secret_key: String,
    pub client_id: String,
    pub client_secret: String,
    pub public_client_id: String,
}

impl std::fmt::Debug for MerchantCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerchantCredentials")
            .field("merchant_id", &self.merchant_id)
            .field("name", &self.name)
            .field("client_id", &self.client_id)
            .field("public_client_id", &self.public_client_id)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str =
    "id, name, access_key, secret_key, client_id, client_secret, public_client_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<MerchantCredentials> {
    Ok(MerchantCredentials {
        merchant_id: r.get(0)?,
        name: r.get(1)?,
        access_key: r.get(2)?,
        secret_key: r.get(3)?,
        client_id: r.get(4)?,
        client_secret: r.get(5)?,
        public_client_id: r.get(6)?,
    })
}

pub const MAX_NAME_CHARS: usize = 100;

/// Creates a merchant with freshly generated credentials.
pub fn create(conn: &Connection, name: &str, is_demo: bool) -> Result<MerchantCredentials> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::field(
            "name",
            format!("The name must be 1 to {MAX_NAME_CHARS} characters."),
        ));
    }
    let m = MerchantCredentials {
        merchant_id: ids::prefixed("mer_", 16),
        name: name.to_owned(),
        access_key: uuid::Uuid::new_v4().to_string(),
        secret_key: ids::prefixed("sk_", 40),
        client_id: ids::prefixed("mc_", 20),
        client_secret: ids::alphanumeric(48),
        public_client_id: ids::prefixed("pc_", 20),
    };
    conn.execute(
        &format!("INSERT INTO merchants ({COLUMNS}, is_demo, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
        params![
            m.merchant_id,
            m.name,
            m.access_key,
            m.secret_key,
            m.client_id,
            m.client_secret,
            m.public_client_id,
            is_demo,
            ids::now_ms()
        ],
    )?;
    Ok(m)
}

pub fn list(conn: &Connection) -> Result<Vec<MerchantCredentials>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM merchants ORDER BY created_at, id"
    ))?;
    let rows = stmt
        .query_map([], from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub fn by_access_key(conn: &Connection, access_key: &str) -> Result<Option<MerchantCredentials>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM merchants WHERE access_key = ?1"
    ))?;
    Ok(stmt.query_row([access_key], from_row).optional()?)
}

pub fn by_id(conn: &Connection, id: &str) -> Result<Option<MerchantCredentials>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM merchants WHERE id = ?1"))?;
    Ok(stmt.query_row([id], from_row).optional()?)
}

pub fn is_empty(conn: &Connection) -> Result<bool> {
    Ok(
        conn.query_row("SELECT NOT EXISTS (SELECT 1 FROM merchants)", [], |r| {
            r.get(0)
        })?,
    )
}

impl Db {
    /// Creates a merchant; usable while a server runs on the same database.
    pub fn create_merchant(&self, name: &str) -> Result<MerchantCredentials> {
        let name = name.to_owned();
        self.write_now(move |tx| create(tx, &name, false))
    }

    pub fn list_merchants(&self) -> Result<Vec<MerchantCredentials>> {
        self.read_now(list)
    }
}
