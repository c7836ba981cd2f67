//! Profiles: one merchant account in one mode. The database row holds what is not
//! secret and the masked forms; the secrets go to the vault (or, for the embedded
//! sandbox without a keychain, to memory only).

use std::collections::BTreeMap;

use ito_api::{Credentials, Secret};
use rusqlite::{OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use specta::Type;

use crate::error::{Error, FieldErrors, Result};
use crate::store::{Store, now_ms, rfc3339};
use crate::vault::{Field, Vault};

/// `base_url` of the profile of the in-app sandbox, whose port changes between starts.
pub const EMBEDDED: &str = "embedded";

pub const MAX_NAME_CHARS: usize = 80;
const MAX_SECRET_CHARS: usize = 512;
const MAX_ID_CHARS: usize = 200;
/// Far beyond any gateway's address; longer text is a paste gone wrong.
const MAX_URL_CHARS: usize = 2048;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Test,
    Active,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Test => "test",
            Self::Active => "active",
        }
    }

    fn parse(s: &str) -> Self {
        if s == "active" {
            Self::Active
        } else {
            Self::Test
        }
    }
}

impl From<Mode> for ito_api::Mode {
    fn from(m: Mode) -> Self {
        match m {
            Mode::Test => Self::Test,
            Mode::Active => Self::Active,
        }
    }
}

/// Where a profile's secrets live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum SecretsIn {
    Keychain,
    /// Only for the embedded sandbox when no keychain works; gone when the app quits.
    Memory,
}

/// A profile as the UI sees it: secrets only masked (`••••3883`).
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub id: String,
    pub name: String,
    pub mode: Mode,
    /// The gateway's base URL; for the embedded sandbox, its current loopback URL.
    pub base_url: String,
    /// The in-app sandbox's profile.
    pub embedded: bool,
    pub access_key: String,
    pub secret_key: String,
    pub client_id: String,
    pub client_secret: String,
    pub public_client_id: String,
    pub secrets_in: SecretsIn,
    pub merchant_id: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
}

/// What the profile form sends. On edit, an absent or empty secret keeps the stored one.
#[derive(Clone, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ProfileInput {
    pub name: String,
    pub mode: Mode,
    pub base_url: String,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub public_client_id: String,
}

// Secrets must not reach a log through a derived Debug.
impl std::fmt::Debug for ProfileInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileInput")
            .field("name", &self.name)
            .field("mode", &self.mode)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// A stored profile row.
#[derive(Clone, Debug)]
pub struct StoredProfile {
    pub id: String,
    pub name: String,
    pub mode: Mode,
    pub base_url: String,
    pub client_id: String,
    pub public_client_id: String,
    pub access_key_mask: String,
    pub secret_key_mask: String,
    pub client_secret_mask: String,
    pub secrets_in: SecretsIn,
    pub merchant_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl StoredProfile {
    pub fn is_embedded(&self) -> bool {
        self.base_url == EMBEDDED
    }

    /// The UI's view; `embedded_url` is the running sandbox's URL, if it runs.
    pub fn view(&self, embedded_url: Option<&str>) -> Profile {
        let base_url = if self.is_embedded() {
            embedded_url.unwrap_or(EMBEDDED).to_owned()
        } else {
            self.base_url.clone()
        };
        Profile {
            id: self.id.clone(),
            name: self.name.clone(),
            mode: self.mode,
            base_url,
            embedded: self.is_embedded(),
            access_key: self.access_key_mask.clone(),
            secret_key: self.secret_key_mask.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret_mask.clone(),
            public_client_id: self.public_client_id.clone(),
            secrets_in: self.secrets_in,
            merchant_id: self.merchant_id.clone(),
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        }
    }
}

/// `••••3883`: the only form of a secret the UI receives. Short values show no tail.
pub fn mask(secret: &Secret) -> String {
    let chars: Vec<char> = secret.expose().chars().collect();
    if chars.len() <= 8 {
        return "••••".to_owned();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("••••{tail}")
}

/// The profile's secrets, as they go to the vault.
#[derive(Clone, Debug)]
pub struct Secrets {
    pub access_key: Secret,
    pub secret_key: Secret,
    pub client_secret: Secret,
}

impl Secrets {
    pub fn get(&self, field: Field) -> &Secret {
        match field {
            Field::AccessKey => &self.access_key,
            Field::SecretKey => &self.secret_key,
            Field::ClientSecret => &self.client_secret,
        }
    }

    /// SDK credentials for a profile.
    pub fn credentials(&self, profile: &StoredProfile) -> Credentials {
        let c = Credentials::new(self.access_key.clone(), self.secret_key.clone())
            .with_oauth(profile.client_id.clone(), self.client_secret.clone());
        if profile.public_client_id.is_empty() {
            c
        } else {
            c.with_public_client(profile.public_client_id.clone())
        }
    }
}

/// A checked input: trimmed fields, and the secrets that were given.
#[derive(Debug)]
pub struct Checked {
    pub name: String,
    pub mode: Mode,
    pub base_url: String,
    pub client_id: String,
    pub public_client_id: String,
    pub access_key: Option<Secret>,
    pub secret_key: Option<Secret>,
    pub client_secret: Option<Secret>,
}

/// Validates a form. `existing` is the profile being edited: its secrets may be kept,
/// and the embedded profile keeps its base URL and test mode.
pub fn check(input: &ProfileInput, existing: Option<&StoredProfile>) -> Result<Checked> {
    let mut fields = FieldErrors::new();
    let mut refuse = |field: &str, msg: &str| {
        fields
            .entry(field.to_owned())
            .or_default()
            .push(msg.to_owned());
    };
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        refuse(
            "name",
            &format!("The name must be 1 to {MAX_NAME_CHARS} characters."),
        );
    }
    let embedded = existing.is_some_and(StoredProfile::is_embedded);
    let (mode, base_url) = if embedded {
        (Mode::Test, EMBEDDED.to_owned())
    } else {
        let base_url = input.base_url.trim().trim_end_matches('/').to_owned();
        match url::Url::parse(&base_url) {
            _ if base_url.chars().count() > MAX_URL_CHARS => {
                refuse(
                    "baseUrl",
                    &format!("The base URL may not be longer than {MAX_URL_CHARS} characters."),
                );
            }
            Ok(u) if !matches!(u.scheme(), "http" | "https") || u.host().is_none() => {
                refuse(
                    "baseUrl",
                    "The base URL must be an http:// or https:// address.",
                );
            }
            Ok(u) if input.mode == Mode::Active && u.scheme() != "https" => {
                refuse(
                    "baseUrl",
                    "Active mode moves real money: the base URL must use https://.",
                );
            }
            Ok(u) if u.query().is_some() || u.fragment().is_some() => {
                refuse("baseUrl", "The base URL cannot have a query or a fragment.");
            }
            // The base URL is stored in the database in clear: a password in it would be
            // a secret on disk.
            Ok(u) if !u.username().is_empty() || u.password().is_some() => {
                refuse(
                    "baseUrl",
                    "The base URL cannot contain a user name or password; the keys have their own fields.",
                );
            }
            Ok(_) => {}
            Err(_) => refuse("baseUrl", "This is not a valid URL."),
        }
        (input.mode, base_url)
    };
    let client_id = input.client_id.trim().to_owned();
    if client_id.is_empty() || client_id.chars().count() > MAX_ID_CHARS {
        refuse("clientId", "The OAuth client id is required.");
    }
    let public_client_id = input.public_client_id.trim().to_owned();
    if public_client_id.chars().count() > MAX_ID_CHARS {
        refuse("publicClientId", "The public client id is too long.");
    }
    let mut secret = |field: &str, value: &Option<String>| -> Option<Secret> {
        let v = value.as_deref().map(str::trim).unwrap_or_default();
        if v.is_empty() {
            if existing.is_none() {
                refuse(field, "Required.");
            }
            None
        } else if v.chars().count() > MAX_SECRET_CHARS || v.chars().any(char::is_control) {
            refuse(field, "This value is not a valid key.");
            None
        } else {
            Some(Secret::new(v))
        }
    };
    let access_key = secret("accessKey", &input.access_key);
    let secret_key = secret("secretKey", &input.secret_key);
    let client_secret = secret("clientSecret", &input.client_secret);
    if !fields.is_empty() {
        return Err(Error::Validation {
            message: "Some fields need attention.".into(),
            fields,
        });
    }
    Ok(Checked {
        name,
        mode,
        base_url,
        client_id,
        public_client_id,
        access_key,
        secret_key,
        client_secret,
    })
}

const COLUMNS: &str = "id, name, mode, base_url, client_id, public_client_id, access_key_mask, \
    secret_key_mask, client_secret_mask, secrets_in, merchant_id, created_at, updated_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<StoredProfile> {
    let mode: String = r.get(2)?;
    let secrets_in: String = r.get(9)?;
    Ok(StoredProfile {
        id: r.get(0)?,
        name: r.get(1)?,
        mode: Mode::parse(&mode),
        base_url: r.get(3)?,
        client_id: r.get(4)?,
        public_client_id: r.get(5)?,
        access_key_mask: r.get(6)?,
        secret_key_mask: r.get(7)?,
        client_secret_mask: r.get(8)?,
        secrets_in: if secrets_in == "memory" {
            SecretsIn::Memory
        } else {
            SecretsIn::Keychain
        },
        merchant_id: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
    })
}

pub async fn list(store: &Store) -> Result<Vec<StoredProfile>> {
    store
        .read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM profiles ORDER BY created_at, id"
            ))?;
            let rows = stmt
                .query_map([], from_row)?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
}

pub async fn get(store: &Store, id: &str) -> Result<StoredProfile> {
    let id = id.to_owned();
    store
        .read(move |c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM profiles WHERE id = ?1"),
                [&id],
                from_row,
            )
            .optional()?
            .ok_or_else(|| Error::NotFound("This profile does not exist (any more).".into()))
        })
        .await
}

/// Inserts a new profile whose secrets are already stored where `secrets_in` says.
pub async fn insert(
    store: &Store,
    checked: &Checked,
    secrets: &Secrets,
    secrets_in: SecretsIn,
    merchant_id: Option<String>,
) -> Result<StoredProfile> {
    let now = now_ms();
    let p = StoredProfile {
        id: format!("prf_{}", uuid::Uuid::new_v4().simple()),
        name: checked.name.clone(),
        mode: checked.mode,
        base_url: checked.base_url.clone(),
        client_id: checked.client_id.clone(),
        public_client_id: checked.public_client_id.clone(),
        access_key_mask: mask(&secrets.access_key),
        secret_key_mask: mask(&secrets.secret_key),
        client_secret_mask: mask(&secrets.client_secret),
        secrets_in,
        merchant_id,
        created_at: now,
        updated_at: now,
    };
    let row = p.clone();
    store
        .write(move |tx| {
            tx.execute(
                &format!(
                    "INSERT INTO profiles ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
                ),
                rusqlite::params![
                    row.id,
                    row.name,
                    row.mode.as_str(),
                    row.base_url,
                    row.client_id,
                    row.public_client_id,
                    row.access_key_mask,
                    row.secret_key_mask,
                    row.client_secret_mask,
                    secrets_in_str(row.secrets_in),
                    row.merchant_id,
                    row.created_at,
                    row.updated_at
                ],
            )?;
            Ok(())
        })
        .await?;
    Ok(p)
}

fn secrets_in_str(s: SecretsIn) -> &'static str {
    match s {
        SecretsIn::Keychain => "keychain",
        SecretsIn::Memory => "memory",
    }
}

/// Saves an edit; the masks of the secrets that were replaced are updated.
pub async fn update(store: &Store, id: &str, checked: &Checked) -> Result<StoredProfile> {
    let id = id.to_owned();
    let name = checked.name.clone();
    let mode = checked.mode.as_str();
    let base_url = checked.base_url.clone();
    let client_id = checked.client_id.clone();
    let public_client_id = checked.public_client_id.clone();
    let masks: BTreeMap<&'static str, String> = [
        ("access_key_mask", &checked.access_key),
        ("secret_key_mask", &checked.secret_key),
        ("client_secret_mask", &checked.client_secret),
    ]
    .into_iter()
    .filter_map(|(col, s)| s.as_ref().map(|s| (col, mask(s))))
    .collect();
    let row_id = id.clone();
    store
        .write(move |tx| {
            let n = tx.execute(
                "UPDATE profiles SET name = ?2, mode = ?3, base_url = ?4, client_id = ?5,
                 public_client_id = ?6, updated_at = ?7 WHERE id = ?1",
                rusqlite::params![
                    row_id,
                    name,
                    mode,
                    base_url,
                    client_id,
                    public_client_id,
                    now_ms()
                ],
            )?;
            if n == 0 {
                return Err(Error::NotFound(
                    "This profile does not exist (any more).".into(),
                ));
            }
            for (col, m) in masks {
                // `col` comes from the fixed list above, never from input.
                tx.execute(
                    &format!("UPDATE profiles SET {col} = ?2 WHERE id = ?1"),
                    (&row_id, m),
                )?;
            }
            Ok(())
        })
        .await?;
    get(store, &id).await
}

pub async fn set_secrets_in(store: &Store, id: &str, secrets_in: SecretsIn) -> Result<()> {
    let id = id.to_owned();
    store
        .write(move |tx| {
            tx.execute(
                "UPDATE profiles SET secrets_in = ?2 WHERE id = ?1",
                (id, secrets_in_str(secrets_in)),
            )?;
            Ok(())
        })
        .await
}

pub async fn delete(store: &Store, id: &str) -> Result<()> {
    let id = id.to_owned();
    store
        .write(move |tx| {
            // Nothing of a removed profile stays behind: its ledger (with the timeline),
            // webhook log and link defaults go with it.
            for table in [
                "request_log",
                "payments",
                "webhook_events",
                "payment_defaults",
                "users",
                "user_creates",
                "user_imports",
                "kyc_forms",
                "kyc_bases",
                "user_sessions",
                "card_access",
            ] {
                tx.execute(&format!("DELETE FROM {table} WHERE profile_id = ?1"), [&id])?;
            }
            tx.execute("DELETE FROM profiles WHERE id = ?1", [&id])?;
            Ok(())
        })
        .await
}

/// Stores a profile's secrets in the keychain. Blocking.
pub fn store_secrets(vault: &Vault, id: &str, secrets: &Secrets) -> Result<()> {
    for field in Field::ALL {
        if let Err(e) = vault.put(id, field, secrets.get(field)) {
            // Leave no half-stored profile behind.
            let _ = vault.delete_profile(id);
            return Err(e);
        }
    }
    Ok(())
}

/// Reads a profile's secrets from the keychain. Blocking.
pub fn load_secrets(vault: &Vault, id: &str) -> Result<Secrets> {
    Ok(Secrets {
        access_key: vault.get(id, Field::AccessKey)?,
        secret_key: vault.get(id, Field::SecretKey)?,
        client_secret: vault.get(id, Field::ClientSecret)?,
    })
}
