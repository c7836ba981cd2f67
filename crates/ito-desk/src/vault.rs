//! Profile secrets in the OS keychain (keyring-core with the platform's store).
//!
//! Nothing here ever writes a secret anywhere else: when the keychain cannot be used
//! the vault says why ([`KeychainStatus`]) and refuses, and the caller decides whether
//! an in-memory credential is acceptable (only the embedded sandbox's).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ito_api::{Secret, TokenSet};
use keyring_core::{CredentialStore, Entry};
use serde::{Deserialize, Serialize};
use specta::Type;

use crate::error::{Error, Result};

/// The keychain service name every entry of the app is filed under.
pub const SERVICE: &str = "ito-merchant-desk";

/// The secret fields of a profile, each one keychain entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    AccessKey,
    SecretKey,
    ClientSecret,
}

impl Field {
    pub const ALL: [Field; 3] = [Field::AccessKey, Field::SecretKey, Field::ClientSecret];

    fn as_str(self) -> &'static str {
        match self {
            Self::AccessKey => "access_key",
            Self::SecretKey => "secret_key",
            Self::ClientSecret => "client_secret",
        }
    }
}

/// Why the keychain cannot be used, in terms the fix depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum KeychainProblem {
    /// No Secret Service / keychain answered (not installed, no session bus).
    NotAvailable,
    /// It answered but is locked, or access was denied.
    Locked,
    /// It answered with an error of another kind.
    Failed,
    /// This OS has no supported keychain.
    Unsupported,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum KeychainStatus {
    /// Secrets are stored in the named keychain.
    Available { backend: String },
    /// No secret can be stored; `detail` is the platform's own words.
    Unavailable {
        problem: KeychainProblem,
        detail: String,
    },
}

#[derive(Clone)]
pub struct Vault {
    store: Option<Arc<CredentialStore>>,
    status: KeychainStatus,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("status", &self.status)
            .finish()
    }
}

impl Vault {
    /// The platform's keychain, probed with a write and a delete so a locked or
    /// read-only keychain is found now rather than when a profile is saved. Blocking.
    pub fn platform() -> Self {
        match platform_store() {
            Ok(store) => Self::with_store(store),
            Err(status) => Self {
                store: None,
                status,
            },
        }
    }

    /// A vault over any store (the mock store in tests). Blocking: it probes the store.
    pub fn with_store(store: Arc<CredentialStore>) -> Self {
        let status = probe(&store);
        Self {
            store: matches!(status, KeychainStatus::Available { .. }).then_some(store),
            status,
        }
    }

    pub fn status(&self) -> &KeychainStatus {
        &self.status
    }

    pub fn is_available(&self) -> bool {
        self.store.is_some()
    }

    fn entry(&self, profile_id: &str, field: Field) -> Result<Entry> {
        self.entry_for(&account(profile_id, field))
    }

    fn entry_for(&self, account: &str) -> Result<Entry> {
        let store = self
            .store
            .as_ref()
            .ok_or_else(|| Error::KeychainUnavailable(unavailable_message(&self.status)))?;
        store.build(SERVICE, account, None).map_err(keychain_error)
    }

    /// Blocking.
    pub fn put(&self, profile_id: &str, field: Field, value: &Secret) -> Result<()> {
        self.entry(profile_id, field)?
            .set_password(value.expose())
            .map_err(keychain_error)
    }

    /// Blocking.
    pub fn get(&self, profile_id: &str, field: Field) -> Result<Secret> {
        match self.entry(profile_id, field)?.get_password() {
            Ok(v) => Ok(Secret::new(v)),
            Err(keyring_core::Error::NoEntry) => Err(Error::Keychain(format!(
                "the keychain has no {} for this profile; edit the profile to enter it again",
                field.as_str().replace('_', " ")
            ))),
            Err(e) => Err(keychain_error(e)),
        }
    }

    /// Removes every secret of a profile; missing entries are fine. Blocking.
    pub fn delete_profile(&self, profile_id: &str) -> Result<()> {
        for field in Field::ALL {
            match self.entry(profile_id, field)?.delete_credential() {
                Ok(()) | Err(keyring_core::Error::NoEntry) => {}
                Err(e) => return Err(keychain_error(e)),
            }
        }
        Ok(())
    }
}

fn account(profile_id: &str, field: Field) -> String {
    format!("{profile_id}/{}", field.as_str())
}

/// The keychain account of a user's sign-in on a profile.
pub fn user_tokens_account(profile_id: &str, user_id: &str) -> String {
    format!("{profile_id}/user/{user_id}/tokens")
}

/// A user's tokens as one keychain entry: a refresh replaces all of them in one
/// write, so the keychain never pairs a new access token with a spent refresh token,
/// and never holds no refresh token between the old one and the new one.
#[derive(Serialize)]
struct UserTokensOut<'a> {
    access_token: &'a str,
    refresh_token: Option<&'a str>,
    expires_at: DateTime<Utc>,
    scope: Option<&'a str>,
}

#[derive(Deserialize)]
struct UserTokensIn {
    access_token: Secret,
    refresh_token: Option<Secret>,
    expires_at: DateTime<Utc>,
    scope: Option<String>,
}

impl Vault {
    /// Stores (or replaces) the tokens of `user_id`'s sign-in on a profile. Blocking.
    pub fn put_user_tokens(
        &self,
        profile_id: &str,
        user_id: &str,
        tokens: &TokenSet,
    ) -> Result<()> {
        let json = serde_json::to_string(&UserTokensOut {
            access_token: tokens.access_token.expose(),
            refresh_token: tokens.refresh_token.as_ref().map(Secret::expose),
            expires_at: tokens.expires_at,
            scope: tokens.scope.as_deref(),
        })
        .map_err(|e| Error::Internal(format!("cannot encode a sign-in: {e}")))?;
        self.entry_for(&user_tokens_account(profile_id, user_id))?
            .set_password(&json)
            .map_err(keychain_error)
    }

    /// The tokens of `user_id`'s sign-in on a profile, if it has one. Blocking.
    pub fn user_tokens(&self, profile_id: &str, user_id: &str) -> Result<Option<TokenSet>> {
        let json = match self
            .entry_for(&user_tokens_account(profile_id, user_id))?
            .get_password()
        {
            Ok(json) => json,
            Err(keyring_core::Error::NoEntry) => return Ok(None),
            Err(e) => return Err(keychain_error(e)),
        };
        // The parser's message could quote the entry, so it is not passed on.
        let stored: UserTokensIn = serde_json::from_str(&json).map_err(|_| {
            Error::Keychain(format!(
                "the keychain's sign-in of user {user_id} is unreadable; sign in as the user again"
            ))
        })?;
        Ok(Some(TokenSet {
            access_token: stored.access_token,
            refresh_token: stored.refresh_token,
            expires_at: stored.expires_at,
            scope: stored.scope,
        }))
    }

    /// Forgets `user_id`'s sign-in on a profile; a missing entry is fine. Blocking.
    pub fn delete_user_tokens(&self, profile_id: &str, user_id: &str) -> Result<()> {
        match self
            .entry_for(&user_tokens_account(profile_id, user_id))?
            .delete_credential()
        {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(keychain_error(e)),
        }
    }
}

fn probe(store: &Arc<CredentialStore>) -> KeychainStatus {
    let backend = store.vendor();
    // A unique account, so concurrent probes (tests, two windows) never collide.
    let account = format!("probe/{}", uuid::Uuid::new_v4().simple());
    let result = store
        .build(SERVICE, &account, None)
        .and_then(|e| e.set_password("probe").and_then(|()| e.delete_credential()));
    match result {
        Ok(()) => KeychainStatus::Available { backend },
        Err(e) => unavailable(&e),
    }
}

fn unavailable(e: &keyring_core::Error) -> KeychainStatus {
    let problem = match e {
        keyring_core::Error::PlatformFailure(_) | keyring_core::Error::NoDefaultStore => {
            KeychainProblem::NotAvailable
        }
        keyring_core::Error::NoStorageAccess(_) => KeychainProblem::Locked,
        _ => KeychainProblem::Failed,
    };
    KeychainStatus::Unavailable {
        problem,
        detail: e.to_string(),
    }
}

fn unavailable_message(status: &KeychainStatus) -> String {
    match status {
        KeychainStatus::Available { .. } => "the keychain is available".into(),
        KeychainStatus::Unavailable { problem, detail } => {
            let what = match problem {
                KeychainProblem::NotAvailable => "No keychain (Secret Service) is running",
                KeychainProblem::Locked => "The keychain is locked or denied access",
                KeychainProblem::Failed => "The keychain failed",
                KeychainProblem::Unsupported => "This system has no supported keychain",
            };
            format!("{what}: {detail}. Secrets cannot be saved until it works.")
        }
    }
}

fn keychain_error(e: keyring_core::Error) -> Error {
    match e {
        keyring_core::Error::PlatformFailure(_)
        | keyring_core::Error::NoStorageAccess(_)
        | keyring_core::Error::NoDefaultStore => {
            Error::KeychainUnavailable(unavailable_message(&unavailable(&e)))
        }
        other => Error::Keychain(other.to_string()),
    }
}

#[cfg(target_os = "linux")]
fn platform_store() -> std::result::Result<Arc<CredentialStore>, KeychainStatus> {
    zbus_secret_service_keyring_store::Store::new()
        .map(|s| s as Arc<CredentialStore>)
        .map_err(|e| unavailable(&e))
}

#[cfg(target_os = "macos")]
fn platform_store() -> std::result::Result<Arc<CredentialStore>, KeychainStatus> {
    apple_native_keyring_store::keychain::Store::new()
        .map(|s| s as Arc<CredentialStore>)
        .map_err(|e| unavailable(&e))
}

#[cfg(target_os = "windows")]
fn platform_store() -> std::result::Result<Arc<CredentialStore>, KeychainStatus> {
    windows_native_keyring_store::Store::new()
        .map(|s| s as Arc<CredentialStore>)
        .map_err(|e| unavailable(&e))
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn platform_store() -> std::result::Result<Arc<CredentialStore>, KeychainStatus> {
    Err(KeychainStatus::Unavailable {
        problem: KeychainProblem::Unsupported,
        detail: std::env::consts::OS.to_owned(),
    })
}
