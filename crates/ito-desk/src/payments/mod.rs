//! The payments service behind the Payments and Webhooks screens: payment links and
//! the ledger for the desk's active profile; its webhook side is in [`crate::webhooks`].
//! Like the desk, it knows nothing of Tauri: it reports changes through a sink.

use std::sync::{Arc, RwLock};

use ito_api::Client;
use serde::{Deserialize, Serialize};
use specta::Type;

use crate::desk::{Desk, Language};
use crate::error::{Error, FieldErrors, Result};
use crate::exports::{self, ExportTarget};
use crate::profiles::{Mode, StoredProfile};
use crate::store::{Store, now_ms};
use crate::webhooks::events::{self as webhook_events, WebhookEventFilter, WebhookLogEntry};
use crate::webhooks::{LISTENER_SETTING, ListenerSettings, ListenerStatus, Running};

pub mod ledger;
pub mod links;

use ledger::{LedgerFilter, LedgerPage, LedgerPayment, LedgerStatus, TimelineEntry};
use links::{PaymentDefaults, PaymentLinkCreated, PaymentLinkDefaults, PaymentLinkInput};

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
pub(crate) struct Shared {
    pub(crate) desk: Arc<Desk>,
    pub(crate) events: PaymentEventSink,
    pub(crate) http: reqwest::Client,
    pub(crate) forward_to: RwLock<Option<url::Url>>,
}

pub struct Payments {
    pub(crate) shared: Arc<Shared>,
    pub(crate) running: tokio::sync::Mutex<Running>,
}

impl std::fmt::Debug for Payments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payments").finish_non_exhaustive()
    }
}

fn refused(message: &str) -> Error {
    Error::Validation {
        message: message.to_owned(),
        fields: FieldErrors::new(),
    }
}

impl Payments {
    /// Starts the service and its listener with the saved settings. A listener that
    /// cannot start (port taken) is reported in [`Payments::listener_status`], not fatal.
    /// `port` replaces the saved port for this run only (a second copy of the app,
    /// tests): 0 lets the system choose.
    pub async fn start(
        desk: Arc<Desk>,
        events: PaymentEventSink,
        port: Option<u16>,
    ) -> Result<Arc<Self>> {
        let mut settings = match desk.store().setting(LISTENER_SETTING).await? {
            Some(json) => serde_json::from_str(&json).unwrap_or_default(),
            None => ListenerSettings::default(),
        };
        if let Some(port) = port {
            settings.port = port;
        }
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
            running: tokio::sync::Mutex::new(Running::stopped(settings.clone())),
        });
        payments.restart_listener(settings).await;
        Ok(payments)
    }

    pub(crate) fn store(&self) -> &Store {
        self.shared.desk.store()
    }

    pub(crate) fn emit(&self, e: PaymentEvent) {
        (self.shared.events)(e);
    }

    pub(crate) async fn profile(&self) -> Result<(StoredProfile, Client)> {
        let profile = self.shared.desk.active_profile().await?;
        let client = self.shared.desk.client(&profile).await?;
        Ok((profile, client))
    }

    pub async fn link_defaults(&self) -> Result<PaymentLinkDefaults> {
        let profile = self.shared.desk.active_profile().await?;
        let saved = self.defaults(&profile).await?;
        let listener_url = self.listener_url(&profile.id).await;
        let (stand_in_success_url, stand_in_cancel_url) = self.stand_in_pages(&profile)?.unzip();
        Ok(PaymentLinkDefaults {
            custom: links::order_reference(self.store(), &profile.id).await?,
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
        let mut saved = links::defaults(self.store(), &profile.id).await?;
        if let Some((success, cancel)) = self.stand_in_pages(profile)? {
            saved.success_url.get_or_insert(success);
            saved.cancel_url.get_or_insert(cancel);
        }
        Ok(saved)
    }

    pub async fn set_link_defaults(&self, input: PaymentDefaults) -> Result<PaymentDefaults> {
        let profile = self.shared.desk.active_profile().await?;
        links::set_defaults(self.store(), &profile.id, &input).await
    }

    /// Checks the form, stores the payment with its idempotency key, then sends it.
    /// Submitting the same order again (double click, retry after an error, after a
    /// restart) reuses the stored key: the gateway creates the payment once.
    pub async fn create_link(&self, input: PaymentLinkInput) -> Result<PaymentLinkCreated> {
        let (profile, client) = self.profile().await?;
        let defaults = self.defaults(&profile).await?;
        let listener_url = self.listener_url(&profile.id).await;
        let request = links::check(
            &input,
            &defaults,
            listener_url.as_deref(),
            profile.mode == Mode::Active,
        )?;
        let draft = links::stage(self.store(), &profile.id, request).await?;
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
        let sent = links::send(self.store(), client, &profile.id, draft).await;
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
}

/// What an OS notification says of a paid payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub body: String,
}

/// The notification for a payment a webhook turned paid, in the app's language.
pub async fn paid_notice(desk: &Desk, payment: &LedgerPayment) -> Notice {
    let japanese = matches!(
        desk.settings().await.map(|s| s.language),
        Ok(Some(Language::Ja))
    );
    let amount = payment
        .amount
        .parse::<rust_decimal::Decimal>()
        .ok()
        .and_then(|a| ito_api::Money::new(a, ledger::api_currency(payment.currency)).ok())
        .map_or_else(|| payment.amount.clone(), |m| m.format());
    let title = if japanese {
        "入金がありました"
    } else {
        "Payment received"
    };
    Notice {
        title: title.to_owned(),
        body: format!("{amount} · {}", payment.custom),
    }
}
