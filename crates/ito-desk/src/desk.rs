//! The app's services behind one handle: profiles with their vault, the local store,
//! the request log, the embedded sandbox and the per-profile SDK clients.
//! Nothing here knows Tauri; commands call these methods and `cargo test` does too.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use ito_api::Client;
use serde::{Deserialize, Serialize};
use specta::Type;
use tokio::sync::mpsc;

use crate::error::{Error, Result, poisoned};
use crate::overview::{self, Overview};
use crate::profiles::{
    self, Checked, Mode, Profile, ProfileInput, Secrets, SecretsIn, StoredProfile,
};
use crate::request_log::{self, Pending, RequestLogEntry, RequestLogFilter};
use crate::sandbox::Embedded;
use crate::store::Store;
use crate::vault::{KeychainStatus, Vault};

/// The local database's file in the app-data directory.
pub const DB_FILE: &str = "desk.db";
/// Overrides the app-data directory (tests, and running several copies side by side).
pub const DATA_DIR_ENV: &str = "ITO_DESK_DATA_DIR";
/// Overrides the webhook listener's saved port for one run (tests, a second copy).
pub const WEBHOOK_PORT_ENV: &str = "ITO_DESK_WEBHOOK_PORT";
const ACTIVE_PROFILE: &str = "active_profile";
const LANGUAGE: &str = "language";
const THEME: &str = "theme";
const ASK_EXPORT_PATH: &str = "export.ask_path";

/// What the services tell the window about, as it happens.
#[derive(Clone, Debug)]
pub enum DeskEvent {
    /// The active profile changed (or its settings did): every screen reloads.
    ProfileSwitched {
        profile_id: Option<String>,
    },
    /// Profiles were added, edited or removed.
    ProfilesChanged,
    RequestsLogged(Vec<RequestLogEntry>),
}

pub type EventSink = Arc<dyn Fn(DeskEvent) + Send + Sync>;

#[derive(Debug)]
struct Prefetched {
    profile_id: String,
    started: Instant,
    task: tokio::task::JoinHandle<Result<Overview>>,
}

/// How long prefetched Overview figures may wait for the window: a first screen other
/// than the Overview must not make a later visit show figures from the app's start.
const PREFETCH_FRESH_FOR: Duration = Duration::from_secs(20);

/// Everything the window needs at start and after each change of profile.
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DeskState {
    pub profiles: Vec<Profile>,
    pub active_profile_id: Option<String>,
    pub keychain: KeychainStatus,
    /// The embedded sandbox's URL while it runs.
    pub embedded_sandbox_url: Option<String>,
    pub settings: Settings,
    pub version: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    Ja,
    En,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    System,
    Light,
    Dark,
}

/// User preferences. An absent language means "follow the OS" (the UI decides).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub language: Option<Language>,
    pub theme: Theme,
    /// Exports ask for a file each time; otherwise they go straight to Downloads,
    /// as a browser's downloads do.
    pub ask_export_path: bool,
}

/// The answer of "Test connection".
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionTest {
    pub base_url: String,
    pub latency_ms: u32,
}

#[derive(Debug)]
pub struct Options {
    pub data_dir: PathBuf,
    /// Runs the embedded sandbox on first start (no profile) and for the embedded profile.
    pub embedded_sandbox: bool,
}

pub struct Desk {
    data_dir: PathBuf,
    store: Store,
    vault: RwLock<Arc<Vault>>,
    embedded: tokio::sync::Mutex<Option<Embedded>>,
    embedded_url: RwLock<Option<String>>,
    /// Secrets held only in memory: the embedded profile's, when no keychain works.
    memory: Mutex<HashMap<String, Secrets>>,
    /// One client per profile, so its OAuth token cache lives as long as the app. An
    /// async lock held while one is built: two built at once would each sign a double
    /// submit in the same second to the same (refused) signature.
    clients: tokio::sync::Mutex<HashMap<String, Client>>,
    /// The active profile's Overview, computed while the window loads.
    first_overview: tokio::sync::Mutex<Option<Prefetched>>,
    log: mpsc::UnboundedSender<Pending>,
    events: EventSink,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

fn not_found_is_success<T>(r: ito_api::Result<T>) -> Result<()> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ito_api::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

impl Desk {
    /// Opens the store, and on a first start creates the "Sandbox" profile on the
    /// embedded sandbox. `vault` is already probed (probing blocks; see [`Vault::platform`]).
    pub async fn open(options: Options, vault: Vault, events: EventSink) -> Result<Arc<Self>> {
        let store = {
            let path = options.data_dir.join(DB_FILE);
            tokio::task::spawn_blocking(move || Store::open(&path)).await??
        };
        let log_events = Arc::clone(&events);
        let log = request_log::start_writer(store.clone(), move |rows| {
            if !rows.is_empty() {
                log_events(DeskEvent::RequestsLogged(rows));
            }
        });
        let desk = Arc::new(Self {
            data_dir: options.data_dir,
            store,
            vault: RwLock::new(Arc::new(vault)),
            embedded: tokio::sync::Mutex::new(None),
            embedded_url: RwLock::new(None),
            memory: Mutex::new(HashMap::new()),
            clients: tokio::sync::Mutex::new(HashMap::new()),
            first_overview: tokio::sync::Mutex::new(None),
            log,
            events,
        });
        if options.embedded_sandbox {
            desk.start_embedded().await?;
        }
        desk.prefetch_overview().await;
        Ok(desk)
    }

    /// Starts loading the active profile's Overview now, so the first screen does not
    /// wait for the keychain and the gateway after the webview has loaded.
    async fn prefetch_overview(self: &Arc<Self>) {
        let Ok(profile) = self.active_profile().await else {
            return;
        };
        let desk = Arc::clone(self);
        let profile_id = profile.id.clone();
        let task = tokio::spawn(async move {
            let client = desk.client(&profile).await?;
            overview::load(&client, desk.store(), &profile).await
        });
        *self.first_overview.lock().await = Some(Prefetched {
            profile_id,
            started: Instant::now(),
            task,
        });
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn vault(&self) -> Result<Arc<Vault>> {
        Ok(Arc::clone(&*self.vault.read().map_err(poisoned)?))
    }

    fn emit(&self, e: DeskEvent) {
        (self.events)(e);
    }

    /// Starts the embedded sandbox when there is no profile yet (creating the
    /// "Sandbox" profile for its demo merchant) or when the embedded profile exists.
    async fn start_embedded(&self) -> Result<()> {
        let all = profiles::list(&self.store).await?;
        let embedded_profile = all.iter().find(|p| p.is_embedded()).cloned();
        if !all.is_empty() && embedded_profile.is_none() {
            return Ok(());
        }
        let sandbox = Embedded::start(&self.data_dir).await?;
        *self.embedded_url.write().map_err(poisoned)? = Some(sandbox.url());
        let profile = match embedded_profile {
            Some(p) => p,
            None => self.create_embedded_profile(&sandbox).await?,
        };
        if profile.secrets_in == SecretsIn::Memory {
            self.recover_memory_secrets(&sandbox, &profile).await?;
        }
        *self.embedded.lock().await = Some(sandbox);
        if all.is_empty() {
            self.store
                .set_setting(ACTIVE_PROFILE, Some(profile.id.clone()))
                .await?;
        }
        Ok(())
    }

    async fn create_embedded_profile(&self, sandbox: &Embedded) -> Result<StoredProfile> {
        let merchant = sandbox.demo_merchant()?;
        let checked = Checked {
            name: "Sandbox".into(),
            mode: Mode::Test,
            base_url: profiles::EMBEDDED.into(),
            client_id: merchant.client_id.clone(),
            public_client_id: merchant.public_client_id.clone(),
            access_key: None,
            secret_key: None,
            client_secret: None,
        };
        let vault = self.vault()?;
        let secrets_in = if vault.is_available() {
            SecretsIn::Keychain
        } else {
            SecretsIn::Memory
        };
        let profile = profiles::insert(
            &self.store,
            &checked,
            &merchant.secrets,
            secrets_in,
            Some(merchant.merchant_id.clone()),
        )
        .await?;
        if secrets_in == SecretsIn::Keychain {
            let (id, secrets) = (profile.id.clone(), merchant.secrets.clone());
            let stored =
                tokio::task::spawn_blocking(move || profiles::store_secrets(&vault, &id, &secrets))
                    .await?;
            if let Err(e) = stored {
                profiles::delete(&self.store, &profile.id).await?;
                return Err(e);
            }
        } else {
            self.memory
                .lock()
                .map_err(poisoned)?
                .insert(profile.id.clone(), merchant.secrets);
        }
        Ok(profile)
    }

    /// The embedded profile's secrets were held in memory last time: take them again
    /// from the sandbox's own database, and into the keychain if it works now.
    async fn recover_memory_secrets(
        &self,
        sandbox: &Embedded,
        profile: &StoredProfile,
    ) -> Result<()> {
        let merchant_id = profile
            .merchant_id
            .as_deref()
            .ok_or_else(|| Error::Sandbox("the Sandbox profile names no merchant".into()))?;
        let secrets = sandbox.merchant(merchant_id)?.secrets;
        let vault = self.vault()?;
        if vault.is_available() {
            let (id, s) = (profile.id.clone(), secrets.clone());
            tokio::task::spawn_blocking(move || profiles::store_secrets(&vault, &id, &s)).await??;
            profiles::set_secrets_in(&self.store, &profile.id, SecretsIn::Keychain).await?;
        } else {
            self.memory
                .lock()
                .map_err(poisoned)?
                .insert(profile.id.clone(), secrets);
        }
        Ok(())
    }

    /// The embedded sandbox's base URL while it runs.
    pub fn embedded_url(&self) -> Result<Option<String>> {
        Ok(self.embedded_url.read().map_err(poisoned)?.clone())
    }

    pub async fn state(&self) -> Result<DeskState> {
        let url = self.embedded_url()?;
        let profiles = profiles::list(&self.store)
            .await?
            .iter()
            .map(|p| p.view(url.as_deref()))
            .collect();
        Ok(DeskState {
            profiles,
            active_profile_id: self.active_profile_id().await?,
            keychain: self.vault()?.status().clone(),
            embedded_sandbox_url: url,
            settings: self.settings().await?,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        })
    }

    /// The active profile's id: the one chosen last, or the first one.
    pub async fn active_profile_id(&self) -> Result<Option<String>> {
        let all = profiles::list(&self.store).await?;
        let chosen = self.store.setting(ACTIVE_PROFILE).await?;
        Ok(chosen
            .filter(|id| all.iter().any(|p| &p.id == id))
            .or_else(|| all.first().map(|p| p.id.clone())))
    }

    pub async fn active_profile(&self) -> Result<StoredProfile> {
        let id = self
            .active_profile_id()
            .await?
            .ok_or_else(|| Error::NotFound("No profile yet: add one in Settings.".into()))?;
        profiles::get(&self.store, &id).await
    }

    pub async fn add_profile(&self, input: ProfileInput) -> Result<Profile> {
        let checked = profiles::check(&input, None)?;
        let vault = self.vault()?;
        if !vault.is_available() {
            // Never a plaintext fallback: without a keychain no new profile is saved.
            return Err(Error::KeychainUnavailable(
                "The keychain is not available, so the profile's secrets cannot be saved. \
                 Fix the keychain (see the banner), then add the profile again."
                    .into(),
            ));
        }
        let secrets = match (
            &checked.access_key,
            &checked.secret_key,
            &checked.client_secret,
        ) {
            (Some(a), Some(s), Some(c)) => Secrets {
                access_key: a.clone(),
                secret_key: s.clone(),
                client_secret: c.clone(),
            },
            _ => return Err(Error::field("accessKey", "Required.")),
        };
        let profile =
            profiles::insert(&self.store, &checked, &secrets, SecretsIn::Keychain, None).await?;
        let id = profile.id.clone();
        let stored =
            tokio::task::spawn_blocking(move || profiles::store_secrets(&vault, &id, &secrets))
                .await?;
        if let Err(e) = stored {
            profiles::delete(&self.store, &profile.id).await?;
            return Err(e);
        }
        self.emit(DeskEvent::ProfilesChanged);
        Ok(profile.view(self.embedded_url()?.as_deref()))
    }

    pub async fn update_profile(&self, id: &str, input: ProfileInput) -> Result<Profile> {
        let existing = profiles::get(&self.store, id).await?;
        let checked = profiles::check(&input, Some(&existing))?;
        let replaced = [
            &checked.access_key,
            &checked.secret_key,
            &checked.client_secret,
        ]
        .iter()
        .any(|s| s.is_some());
        if replaced {
            self.replace_secrets(&existing, &checked).await?;
        }
        let updated = profiles::update(&self.store, id, &checked).await?;
        self.forget_client(id).await;
        self.emit(DeskEvent::ProfilesChanged);
        if self.active_profile_id().await?.as_deref() == Some(id) {
            self.emit(DeskEvent::ProfileSwitched {
                profile_id: Some(id.to_owned()),
            });
        }
        Ok(updated.view(self.embedded_url()?.as_deref()))
    }

    async fn replace_secrets(&self, existing: &StoredProfile, checked: &Checked) -> Result<()> {
        let current = self.secrets(existing).await?;
        let secrets = Secrets {
            access_key: checked.access_key.clone().unwrap_or(current.access_key),
            secret_key: checked.secret_key.clone().unwrap_or(current.secret_key),
            client_secret: checked
                .client_secret
                .clone()
                .unwrap_or(current.client_secret),
        };
        match existing.secrets_in {
            SecretsIn::Keychain => {
                let vault = self.vault()?;
                let id = existing.id.clone();
                tokio::task::spawn_blocking(move || profiles::store_secrets(&vault, &id, &secrets))
                    .await?
            }
            SecretsIn::Memory => {
                self.memory
                    .lock()
                    .map_err(poisoned)?
                    .insert(existing.id.clone(), secrets);
                Ok(())
            }
        }
    }

    pub async fn remove_profile(&self, id: &str) -> Result<()> {
        let existing = profiles::get(&self.store, id).await?;
        let was_active = self.active_profile_id().await?.as_deref() == Some(id);
        let vault = self.vault()?;
        if vault.is_available() {
            // Users signed in on it leave no tokens behind either.
            crate::sessions::forget_profile(&self.store, &vault, id).await?;
            if existing.secrets_in == SecretsIn::Keychain {
                let pid = id.to_owned();
                tokio::task::spawn_blocking(move || vault.delete_profile(&pid)).await??;
            }
        }
        self.memory.lock().map_err(poisoned)?.remove(id);
        profiles::delete(&self.store, id).await?;
        self.forget_client(id).await;
        self.emit(DeskEvent::ProfilesChanged);
        if was_active {
            let next = self.active_profile_id().await?;
            self.store.set_setting(ACTIVE_PROFILE, next.clone()).await?;
            self.emit(DeskEvent::ProfileSwitched { profile_id: next });
        }
        Ok(())
    }

    pub async fn switch_profile(&self, id: &str) -> Result<Profile> {
        let profile = profiles::get(&self.store, id).await?;
        self.store
            .set_setting(ACTIVE_PROFILE, Some(profile.id.clone()))
            .await?;
        self.emit(DeskEvent::ProfileSwitched {
            profile_id: Some(profile.id.clone()),
        });
        Ok(profile.view(self.embedded_url()?.as_deref()))
    }

    /// Checks both credentials the gateway verifies without moving money: the OAuth
    /// client (a fresh client-credentials token) and the access key (check-validity of
    /// a payment that cannot exist). Anything else than success is the exact failure.
    pub async fn test_connection(&self, id: &str) -> Result<ConnectionTest> {
        let profile = profiles::get(&self.store, id).await?;
        let client = self.client(&profile).await?;
        let started = Instant::now();
        client.fetch_merchant_token().await?;
        let probe_payment = ito_api::PaymentId::new("connection_check");
        not_found_is_success(client.check_validity(&probe_payment).await)?;
        Ok(ConnectionTest {
            base_url: client.environment().base_url().to_string(),
            latency_ms: u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX),
        })
    }

    /// The active profile's Overview.
    pub async fn overview(&self) -> Result<Overview> {
        let profile = self.active_profile().await?;
        // The prefetched figures serve the first request only, and only if they are
        // for this profile, recent, and were read without error.
        if let Some(p) = self.first_overview.lock().await.take()
            && p.profile_id == profile.id
            && p.started.elapsed() < PREFETCH_FRESH_FOR
            && let Ok(Ok(overview)) = p.task.await
        {
            return Ok(overview);
        }
        let client = self.client(&profile).await?;
        overview::load(&client, &self.store, &profile).await
    }

    async fn secrets(&self, profile: &StoredProfile) -> Result<Secrets> {
        match profile.secrets_in {
            SecretsIn::Memory => self
                .memory
                .lock()
                .map_err(poisoned)?
                .get(&profile.id)
                .cloned()
                .ok_or_else(|| {
                    Error::KeychainUnavailable(
                        "This profile's secrets were held in memory only and are gone.".into(),
                    )
                }),
            SecretsIn::Keychain => {
                let vault = self.vault()?;
                let id = profile.id.clone();
                tokio::task::spawn_blocking(move || profiles::load_secrets(&vault, &id)).await?
            }
        }
    }

    /// The profile's SDK client, built once (secrets read from the keychain then).
    pub async fn client(&self, profile: &StoredProfile) -> Result<Client> {
        let mut clients = self.clients.lock().await;
        if let Some(c) = clients.get(&profile.id) {
            return Ok(c.clone());
        }
        let base_url = if profile.is_embedded() {
            self.embedded_url()?
                .ok_or_else(|| Error::Sandbox("the embedded sandbox is not running".into()))?
        } else {
            profile.base_url.clone()
        };
        let secrets = self.secrets(profile).await?;
        let env = ito_api::Environment::new(profile.mode.into(), &base_url)?;
        let log = self.log.clone();
        let profile_id = profile.id.clone();
        let client = Client::builder(env, secrets.credentials(profile))
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .user_agent(concat!("ito-merchant-desk/", env!("CARGO_PKG_VERSION")))
            .observer(move |record: &ito_api::RequestRecord| {
                let _ = log.send(Pending {
                    profile_id: profile_id.clone(),
                    record: record.clone(),
                });
            })
            .build()?;
        clients.insert(profile.id.clone(), client.clone());
        Ok(client)
    }

    async fn forget_client(&self, id: &str) {
        self.clients.lock().await.remove(id);
    }

    pub async fn request_log(&self, filter: RequestLogFilter) -> Result<Vec<RequestLogEntry>> {
        let profile = self.active_profile().await?;
        request_log::query(&self.store, &profile.id, filter).await
    }

    pub async fn clear_request_log(&self) -> Result<()> {
        let profile = self.active_profile().await?;
        request_log::clear(&self.store, &profile.id).await
    }

    /// Probes the keychain again (after the user unlocked or installed one). Moves the
    /// embedded profile's in-memory secrets into it when it works now.
    pub async fn recheck_keychain(&self, vault: Vault) -> Result<KeychainStatus> {
        let status = vault.status().clone();
        *self.vault.write().map_err(poisoned)? = Arc::new(vault);
        if matches!(status, KeychainStatus::Available { .. }) {
            let in_memory: Vec<(String, Secrets)> = self
                .memory
                .lock()
                .map_err(poisoned)?
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            for (id, secrets) in in_memory {
                let vault = self.vault()?;
                let pid = id.clone();
                tokio::task::spawn_blocking(move || {
                    profiles::store_secrets(&vault, &pid, &secrets)
                })
                .await??;
                profiles::set_secrets_in(&self.store, &id, SecretsIn::Keychain).await?;
                self.memory.lock().map_err(poisoned)?.remove(&id);
            }
            self.emit(DeskEvent::ProfilesChanged);
        }
        Ok(status)
    }

    pub async fn settings(&self) -> Result<Settings> {
        let language = match self.store.setting(LANGUAGE).await?.as_deref() {
            Some("ja") => Some(Language::Ja),
            Some("en") => Some(Language::En),
            _ => None,
        };
        let theme = match self.store.setting(THEME).await?.as_deref() {
            Some("light") => Theme::Light,
            Some("dark") => Theme::Dark,
            _ => Theme::System,
        };
        let ask_export_path = self.store.setting(ASK_EXPORT_PATH).await?.as_deref() == Some("1");
        Ok(Settings {
            language,
            theme,
            ask_export_path,
        })
    }

    pub async fn set_settings(&self, settings: Settings) -> Result<Settings> {
        let language = settings.language.map(|l| match l {
            Language::Ja => "ja".to_owned(),
            Language::En => "en".to_owned(),
        });
        let theme = match settings.theme {
            Theme::System => None,
            Theme::Light => Some("light".to_owned()),
            Theme::Dark => Some("dark".to_owned()),
        };
        self.store.set_setting(LANGUAGE, language).await?;
        self.store.set_setting(THEME, theme).await?;
        let ask = settings.ask_export_path.then(|| "1".to_owned());
        self.store.set_setting(ASK_EXPORT_PATH, ask).await?;
        self.settings().await
    }

    /// Stops the embedded sandbox (lets in-flight webhook attempts finish).
    pub async fn shutdown(&self) {
        if let Some(sandbox) = self.embedded.lock().await.take() {
            sandbox.shutdown().await;
        }
    }
}
