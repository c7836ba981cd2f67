//! The payments service behind the Payments and Webhooks screens: payment links, the
//! ledger, the webhook listener and its event log, for the desk's active profile.
//! Like the desk, it knows nothing of Tauri: it reports changes through a sink.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};

use ito_api::Client;
use serde::{Deserialize, Serialize};
use specta::Type;

use crate::desk::Desk;
use crate::error::{Error, FieldErrors, Result};
use crate::exports::{self, ExportTarget};
use crate::ledger::{self, LedgerFilter, LedgerPage, LedgerPayment, LedgerStatus, TimelineEntry};
use crate::payment_links::{
    self, PaymentDefaults, PaymentLinkCreated, PaymentLinkDefaults, PaymentLinkInput,
};
use crate::profiles::{self, Mode, StoredProfile};
use crate::store::{Store, now_ms};
use crate::webhook_events::{self, Delivery, Verification, WebhookEventFilter, WebhookLogEntry};
use crate::webhook_listener::{self, Listener, Receiver};

/// The listener's port unless configured: fixed, so the webhook URLs of payments
/// created before a restart still reach the app after it.
pub const DEFAULT_PORT: u16 = 47800;
const LISTENER_SETTING: &str = "webhook_listener";

/// What the service tells the window about, as it happens.
#[derive(Clone, Debug)]
pub enum PaymentEvent {
    /// A ledger row changed (created, confirmed, paid, checked, simulated).
    PaymentChanged {
        profile_id: String,
        payment: LedgerPayment,
    },
    /// A verified webhook turned a payment paid: worth a notification.
    PaymentPaid {
        profile_id: String,
        payment: LedgerPayment,
    },
    /// The listener received a delivery (whatever its verification result).
    WebhookReceived(WebhookLogEntry),
    ListenerChanged(ListenerStatus),
}

pub type PaymentEventSink = Arc<dyn Fn(PaymentEvent) + Send + Sync>;

/// Where the listener listens, and where it forwards deliveries to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ListenerSettings {
    /// An IP address: `127.0.0.1` (default) keeps it on this machine.
    pub bind: String,
    /// 0 lets the system choose (it then changes at every start).
    pub port: u16,
    /// Forward every verified first delivery, unchanged, to this URL.
    pub forward_to: Option<String>,
}

impl Default for ListenerSettings {
    fn default() -> Self {
        Self {
            bind: Ipv4Addr::LOCALHOST.to_string(),
            port: DEFAULT_PORT,
            forward_to: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ListenerStatus {
    pub settings: ListenerSettings,
    /// `http://127.0.0.1:47800` while it runs.
    pub base_url: Option<String>,
    /// Why it does not run (the port is taken, …).
    pub error: Option<String>,
    /// Bound to a loopback address: a gateway elsewhere needs a tunnel to reach it.
    pub loopback_only: bool,
}

/// A payment with everything its detail screen shows.
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PaymentDetail {
    pub payment: LedgerPayment,
    pub timeline: Vec<TimelineEntry>,
    /// Every delivery received for it, newest first.
    pub webhook_events: Vec<WebhookLogEntry>,
    /// The profile is in test mode: the simulate buttons apply.
    pub test_mode: bool,
}

/// An export written: where it landed and how many payments it holds.
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ExportedCsv {
    pub path: String,
    pub rows: u32,
}

/// What the test-mode simulate buttons do, through the sandbox's control API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum Simulation {
    Pay,
    Cancel,
    Expire,
    RedeliverWebhook,
}

/// What the listener's receiver shares with the service.
struct Shared {
    desk: Arc<Desk>,
    events: PaymentEventSink,
    http: reqwest::Client,
    forward_to: RwLock<Option<url::Url>>,
}

struct Running {
    settings: ListenerSettings,
    listener: Option<Listener>,
    error: Option<String>,
}

pub struct Payments {
    shared: Arc<Shared>,
    running: tokio::sync::Mutex<Running>,
}

impl std::fmt::Debug for Payments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payments").finish_non_exhaustive()
    }
}

fn poisoned<T>(_: T) -> Error {
    Error::Internal("a lock was poisoned by an earlier failure".into())
}

fn refused(message: &str) -> Error {
    Error::Validation {
        message: message.to_owned(),
        fields: FieldErrors::new(),
    }
}

fn check_settings(s: &ListenerSettings) -> Result<(SocketAddr, Option<url::Url>)> {
    let mut fields = FieldErrors::new();
    let ip: Option<IpAddr> = s.bind.trim().parse().ok();
    if ip.is_none() {
        fields.insert(
            "bind".into(),
            vec!["Enter an IP address, like 127.0.0.1.".into()],
        );
    }
    let forward = match s
        .forward_to
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => None,
        Some(v) => match payment_links::absolute_url(v) {
            Some(u) => Some(u),
            None => {
                fields.insert(
                    "forwardTo".into(),
                    vec!["Enter an absolute http:// or https:// URL.".into()],
                );
                None
            }
        },
    };
    match ip {
        Some(ip) if fields.is_empty() => Ok((SocketAddr::new(ip, s.port), forward)),
        _ => Err(Error::Validation {
            message: "Some fields need attention.".into(),
            fields,
        }),
    }
}

impl Payments {
    /// Starts the service and its listener with the saved settings. A listener that
    /// cannot start (port taken) is reported in [`Payments::listener_status`], not fatal.
    pub async fn start(desk: Arc<Desk>, events: PaymentEventSink) -> Result<Arc<Self>> {
        let settings = match desk.store().setting(LISTENER_SETTING).await? {
            Some(json) => serde_json::from_str(&json).unwrap_or_default(),
            None => ListenerSettings::default(),
        };
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| Error::Internal(format!("HTTP client: {e}")))?;
        let payments = Arc::new(Self {
            shared: Arc::new(Shared {
                desk,
                events,
                http,
                forward_to: RwLock::new(None),
            }),
            running: tokio::sync::Mutex::new(Running {
                settings: settings.clone(),
                listener: None,
                error: None,
            }),
        });
        payments.restart_listener(settings).await;
        Ok(payments)
    }

    fn store(&self) -> &Store {
        self.shared.desk.store()
    }

    fn emit(&self, e: PaymentEvent) {
        (self.shared.events)(e);
    }

    async fn profile(&self) -> Result<(StoredProfile, Client)> {
        let profile = self.shared.desk.active_profile().await?;
        let client = self.shared.desk.client(&profile).await?;
        Ok((profile, client))
    }

    async fn restart_listener(&self, settings: ListenerSettings) -> ListenerStatus {
        let mut running = self.running.lock().await;
        if let Some(old) = running.listener.take() {
            old.stop().await;
        }
        running.settings = settings.clone();
        running.error = None;
        match check_settings(&settings) {
            Ok((addr, forward)) => {
                if let Ok(mut f) = self.shared.forward_to.write() {
                    *f = forward;
                }
                match Listener::start(addr, receiver(Arc::clone(&self.shared))).await {
                    Ok(l) => running.listener = Some(l),
                    Err(e) => running.error = Some(e.to_string()),
                }
            }
            Err(e) => running.error = Some(e.to_string()),
        }
        let status = status_of(&running);
        drop(running);
        self.emit(PaymentEvent::ListenerChanged(status.clone()));
        status
    }

    pub async fn listener_status(&self) -> ListenerStatus {
        status_of(&*self.running.lock().await)
    }

    /// Saves new listener settings and restarts it on them.
    pub async fn set_listener(&self, settings: ListenerSettings) -> Result<ListenerStatus> {
        check_settings(&settings)?;
        let json = serde_json::to_string(&settings)
            .map_err(|e| Error::Internal(format!("settings not serialisable: {e}")))?;
        self.store()
            .set_setting(LISTENER_SETTING, Some(json))
            .await?;
        Ok(self.restart_listener(settings).await)
    }

    /// Stops the listener (until [`Payments::start_listener`] or new settings).
    pub async fn stop_listener(&self) -> ListenerStatus {
        let mut running = self.running.lock().await;
        if let Some(l) = running.listener.take() {
            l.stop().await;
        }
        let status = status_of(&running);
        drop(running);
        self.emit(PaymentEvent::ListenerChanged(status.clone()));
        status
    }

    pub async fn start_listener(&self) -> ListenerStatus {
        let settings = self.running.lock().await.settings.clone();
        self.restart_listener(settings).await
    }

    /// The listener's URL for a profile's deliveries, while it runs.
    pub async fn listener_url(&self, profile_id: &str) -> Option<String> {
        let running = self.running.lock().await;
        status_of(&running)
            .base_url
            .map(|base| format!("{base}{}", webhook_listener::path(profile_id)))
    }

    pub async fn link_defaults(&self) -> Result<PaymentLinkDefaults> {
        let profile = self.shared.desk.active_profile().await?;
        let saved = self.defaults(&profile).await?;
        let listener_url = self.listener_url(&profile.id).await;
        let (stand_in_success_url, stand_in_cancel_url) = self.stand_in_pages(&profile)?.unzip();
        Ok(PaymentLinkDefaults {
            custom: payment_links::order_reference(self.store(), &profile.id).await?,
            success_url: saved.success_url,
            cancel_url: saved.cancel_url,
            webhook_url: saved.webhook_url.or_else(|| listener_url.clone()),
            listener_url,
            stand_in_success_url,
            stand_in_cancel_url,
        })
    }

    /// The embedded sandbox's stand-in success and cancel pages, for its own profile.
    fn stand_in_pages(&self, profile: &StoredProfile) -> Result<Option<(String, String)>> {
        if !profile.is_embedded() {
            return Ok(None);
        }
        Ok(self.shared.desk.embedded_url()?.map(|base| {
            let base = base.trim_end_matches('/');
            (
                format!("{base}{}", ito_sandbox::RETURN_PAID),
                format!("{base}{}", ito_sandbox::RETURN_CANCELLED),
            )
        }))
    }

    /// The profile's saved defaults, with the stand-in pages where none is saved.
    async fn defaults(&self, profile: &StoredProfile) -> Result<PaymentDefaults> {
        let mut saved = payment_links::defaults(self.store(), &profile.id).await?;
        if let Some((success, cancel)) = self.stand_in_pages(profile)? {
            saved.success_url.get_or_insert(success);
            saved.cancel_url.get_or_insert(cancel);
        }
        Ok(saved)
    }

    pub async fn set_link_defaults(&self, input: PaymentDefaults) -> Result<PaymentDefaults> {
        let profile = self.shared.desk.active_profile().await?;
        payment_links::set_defaults(self.store(), &profile.id, &input).await
    }

    /// Checks the form, stores the payment with its idempotency key, then sends it.
    /// Submitting the same order again (double click, retry after an error, after a
    /// restart) reuses the stored key: the gateway creates the payment once.
    pub async fn create_link(&self, input: PaymentLinkInput) -> Result<PaymentLinkCreated> {
        let (profile, client) = self.profile().await?;
        let defaults = self.defaults(&profile).await?;
        let listener_url = self.listener_url(&profile.id).await;
        let request = payment_links::check(
            &input,
            &defaults,
            listener_url.as_deref(),
            profile.mode == Mode::Active,
        )?;
        let draft = payment_links::stage(self.store(), &profile.id, request).await?;
        self.send(&profile, &client, draft).await
    }

    /// Sends an unconfirmed payment again, with the same body and key.
    pub async fn retry_link(&self, id: i64) -> Result<PaymentLinkCreated> {
        let (profile, client) = self.profile().await?;
        let pid = profile.id.clone();
        let draft = self
            .store()
            .read(move |c| ledger::draft(c, &pid, id))
            .await?;
        self.send(&profile, &client, draft).await
    }

    async fn send(
        &self,
        profile: &StoredProfile,
        client: &Client,
        draft: ledger::Draft,
    ) -> Result<PaymentLinkCreated> {
        let id = draft.id;
        let sent = payment_links::send(self.store(), client, &profile.id, draft).await;
        // The row changed either way (confirmed, or its last error); a discarded one is gone.
        let pid = profile.id.clone();
        if let Ok(payment) = self.store().read(move |c| ledger::get(c, &pid, id)).await {
            self.emit(PaymentEvent::PaymentChanged {
                profile_id: profile.id.clone(),
                payment,
            });
        }
        sent
    }

    pub async fn list(
        &self,
        filter: LedgerFilter,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<LedgerPage> {
        let profile = self.shared.desk.active_profile().await?;
        self.store()
            .read(move |c| ledger::page(c, &profile.id, &filter, cursor.as_deref(), limit))
            .await
    }

    pub async fn detail(&self, id: i64) -> Result<PaymentDetail> {
        let profile = self.shared.desk.active_profile().await?;
        let test_mode = profile.mode == Mode::Test;
        self.store()
            .read(move |c| {
                let payment = ledger::get(c, &profile.id, id)?;
                let webhook_events = match &payment.payment_id {
                    Some(pid) => webhook_events::list(
                        c,
                        &profile.id,
                        &WebhookEventFilter {
                            payment_id: Some(pid.clone()),
                            ..WebhookEventFilter::default()
                        },
                    )?,
                    None => Vec::new(),
                };
                Ok(PaymentDetail {
                    timeline: ledger::timeline_of(c, id)?,
                    payment,
                    webhook_events,
                    test_mode,
                })
            })
            .await
    }

    async fn observed(
        &self,
        profile: &StoredProfile,
        id: i64,
        seen: ledger::Observed,
        kind: &'static str,
        detail: String,
    ) -> Result<LedgerPayment> {
        let pid = profile.id.clone();
        let payment = self
            .store()
            .write(move |tx| {
                ledger::observe(tx, id, &seen, kind, &detail, now_ms())?;
                ledger::get(tx, &pid, id)
            })
            .await?;
        self.emit(PaymentEvent::PaymentChanged {
            profile_id: profile.id.clone(),
            payment: payment.clone(),
        });
        Ok(payment)
    }

    /// "Verify now": asks the gateway (check-validity) and records its answer.
    pub async fn verify(&self, id: i64) -> Result<LedgerPayment> {
        let (profile, client) = self.profile().await?;
        let pid = profile.id.clone();
        let payment_id = self
            .store()
            .read(move |c| ledger::payment_id(c, &pid, id))
            .await?;
        let (seen, detail) = match client.check_validity(&payment_id).await? {
            ito_api::Validity::Valid { transaction, .. } => (
                ledger::Observed {
                    status: Some(LedgerStatus::Paid),
                    transaction: transaction.as_ref().map(ToString::to_string),
                    ..ledger::Observed::default()
                },
                match transaction {
                    Some(t) => format!("Valid: paid (transaction {t})."),
                    None => "Valid: paid.".to_owned(),
                },
            ),
            ito_api::Validity::NotPaid { payment_status } => {
                let status = LedgerStatus::from(payment_status);
                (
                    ledger::Observed {
                        status: Some(status),
                        ..ledger::Observed::default()
                    },
                    format!("Not paid: {}.", status.as_str()),
                )
            }
        };
        self.observed(&profile, id, seen, "validity_check", detail)
            .await
    }

    /// The test-mode simulate buttons, through the sandbox's control API.
    pub async fn simulate(&self, id: i64, action: Simulation) -> Result<LedgerPayment> {
        let (profile, client) = self.profile().await?;
        if profile.mode != Mode::Test {
            return Err(refused(
                "Simulations only exist in test mode; this profile moves real money.",
            ));
        }
        let pid = profile.id.clone();
        let payment_id = self
            .store()
            .read(move |c| ledger::payment_id(c, &pid, id))
            .await?;
        let sandbox = client.sandbox();
        match action {
            Simulation::Pay => sandbox.complete(&payment_id).await?,
            Simulation::Cancel => sandbox.cancel(&payment_id).await?,
            Simulation::Expire => sandbox.expire(&payment_id).await?,
            Simulation::RedeliverWebhook => {
                let delivery = sandbox.redeliver(&payment_id).await?;
                return self
                    .observed(
                        &profile,
                        id,
                        ledger::Observed::default(),
                        "simulated",
                        format!("Webhook redelivery queued (delivery {delivery})."),
                    )
                    .await;
            }
        };
        // The full view carries the fee and net the action's answer leaves out.
        let done = sandbox.payment(&payment_id).await?;
        let status = LedgerStatus::from(done.status);
        let seen = ledger::Observed {
            status: Some(status),
            charge: done.charge,
            net: done.net,
            transaction: done.transaction.map(|t| t.to_string()),
            paid_at: done.paid_at,
        };
        self.observed(
            &profile,
            id,
            seen,
            "simulated",
            format!("Simulated in the sandbox: now {}.", status.as_str()),
        )
        .await
    }

    /// Writes the payments matching `filter` as CSV to `target`.
    pub async fn export_csv(
        &self,
        filter: LedgerFilter,
        target: ExportTarget,
    ) -> Result<ExportedCsv> {
        let profile = self.shared.desk.active_profile().await?;
        self.store()
            .read(move |c| {
                let (path, rows) = exports::write(&target, |out| {
                    ledger::export_csv(c, &profile.id, &filter, out)
                })?;
                Ok(ExportedCsv {
                    path: path.to_string_lossy().into_owned(),
                    rows: u32::try_from(rows).unwrap_or(u32::MAX),
                })
            })
            .await
    }

    pub async fn webhook_events(&self, filter: WebhookEventFilter) -> Result<Vec<WebhookLogEntry>> {
        let profile = self.shared.desk.active_profile().await?;
        self.store()
            .read(move |c| webhook_events::list(c, &profile.id, &filter))
            .await
    }

    /// Verifies a stored delivery again and applies it to the ledger.
    pub async fn replay_event(&self, event_id: i64) -> Result<LedgerPayment> {
        let (profile, client) = self.profile().await?;
        let secret = client.credentials().secret_key.clone();
        let row = webhook_events::replay(self.store(), &profile.id, event_id, &secret).await?;
        let pid = profile.id.clone();
        let id = row.ok_or_else(|| Error::NotFound("The event matched no payment.".into()))?;
        let payment = self.store().read(move |c| ledger::get(c, &pid, id)).await?;
        self.emit(PaymentEvent::PaymentChanged {
            profile_id: profile.id.clone(),
            payment: payment.clone(),
        });
        Ok(payment)
    }

    /// Forwards a stored delivery to `url`, or to the configured forward URL.
    pub async fn forward_event(
        &self,
        event_id: i64,
        url: Option<String>,
    ) -> Result<WebhookLogEntry> {
        let profile = self.shared.desk.active_profile().await?;
        let target = match url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            Some(u) => payment_links::absolute_url(u)
                .ok_or_else(|| Error::field("url", "Enter an absolute http:// or https:// URL."))?,
            None => self
                .shared
                .forward_to
                .read()
                .map_err(poisoned)?
                .clone()
                .ok_or_else(|| Error::field("url", "No forward URL is configured."))?,
        };
        let entry = webhook_events::forward(
            self.store(),
            &self.shared.http,
            &profile.id,
            event_id,
            &target,
        )
        .await?;
        self.emit(PaymentEvent::WebhookReceived(entry.clone()));
        Ok(entry)
    }

    /// Stops the listener; in-flight deliveries finish first.
    pub async fn shutdown(&self) {
        if let Some(l) = self.running.lock().await.listener.take() {
            l.stop().await;
        }
    }
}

fn status_of(running: &Running) -> ListenerStatus {
    let bind: Option<IpAddr> = running.settings.bind.trim().parse().ok();
    let base_url = running.listener.as_ref().map(|l| {
        let addr = l.addr();
        // A wildcard bind is reached through loopback from this machine.
        let host = if addr.ip().is_unspecified() {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        } else {
            addr
        };
        format!("http://{host}")
    });
    ListenerStatus {
        settings: running.settings.clone(),
        base_url,
        error: running.error.clone(),
        loopback_only: bind.is_none_or(|ip| ip.is_loopback()),
    }
}

/// The listener's receiver: finds the profile's secret, verifies and stores the
/// delivery, then tells the window and forwards it. Answers 503 when the secret
/// cannot be read (a locked keychain), so that the gateway tries again later.
fn receiver(shared: Arc<Shared>) -> Receiver {
    Arc::new(move |delivery: Delivery| {
        let shared = Arc::clone(&shared);
        Box::pin(async move {
            match receive(&shared, delivery).await {
                Ok((verification, reason)) => (verification.status_code(), reason),
                Err(e) => {
                    tracing::warn!(error = %e, "webhook delivery not stored");
                    (503, "not stored; try again".to_owned())
                }
            }
        })
    })
}

async fn receive(shared: &Shared, delivery: Delivery) -> Result<(Verification, String)> {
    let store = shared.desk.store();
    let secret = match profiles::get(store, &delivery.profile_id).await {
        Ok(profile) => Some(
            shared
                .desk
                .client(&profile)
                .await?
                .credentials()
                .secret_key
                .clone(),
        ),
        Err(Error::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let profile_id = delivery.profile_id.clone();
    let recorded = webhook_events::record(store, delivery, secret.as_ref()).await?;
    let entry = recorded.entry;
    let answer = (entry.verification, entry.reason.clone().unwrap_or_default());
    (shared.events)(PaymentEvent::WebhookReceived(entry.clone()));
    if let Some((id, newly_paid)) = recorded.payment {
        let pid = profile_id.clone();
        let payment = store.read(move |c| ledger::get(c, &pid, id)).await?;
        if newly_paid {
            (shared.events)(PaymentEvent::PaymentPaid {
                profile_id: profile_id.clone(),
                payment: payment.clone(),
            });
        }
        (shared.events)(PaymentEvent::PaymentChanged {
            profile_id: profile_id.clone(),
            payment,
        });
    }
    let forward = shared.forward_to.read().map_err(poisoned)?.clone();
    // Only first deliveries: a forward URL pointing back at this listener then ends
    // in one duplicate instead of a loop.
    if let Some(url) = forward
        && entry.verification == Verification::Verified
    {
        // After the answer is decided: the merchant's backend must not delay it.
        let (store, http, events) = (
            store.clone(),
            shared.http.clone(),
            Arc::clone(&shared.events),
        );
        tokio::spawn(async move {
            match webhook_events::forward(&store, &http, &profile_id, entry.id, &url).await {
                Ok(updated) => events(PaymentEvent::WebhookReceived(updated)),
                Err(e) => tracing::warn!(error = %e, "webhook not forwarded"),
            }
        });
    }
    Ok(answer)
}
