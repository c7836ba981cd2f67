//! The app's webhook listener and its event log: where the listener listens, how a
//! delivery is verified, stored and applied to the ledger, replays and forwards.
//! It runs inside the payments service, whose ledger the deliveries update.

pub mod events;
pub mod listener;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use specta::Type;

use crate::error::poisoned;
use crate::error::{Error, FieldErrors, Result};
use crate::payments::ledger::{self, LedgerPayment};
use crate::payments::{PaymentEvent, Payments, Shared, links};
use crate::profiles;
use events::{Delivery, Verification, WebhookEventFilter, WebhookLogEntry};
use listener::{Listener, Receiver};

/// The listener's port unless configured: fixed, so the webhook URLs of payments
/// created before a restart still reach the app after it.
pub const DEFAULT_PORT: u16 = 47800;
pub(crate) const LISTENER_SETTING: &str = "webhook_listener";

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

/// The listener as it runs now, with the settings it was started on.
pub(crate) struct Running {
    settings: ListenerSettings,
    listener: Option<Listener>,
    error: Option<String>,
}

impl Running {
    pub(crate) fn stopped(settings: ListenerSettings) -> Self {
        Self {
            settings,
            listener: None,
            error: None,
        }
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
        Some(v) => match links::absolute_url(v) {
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
    pub(crate) async fn restart_listener(&self, settings: ListenerSettings) -> ListenerStatus {
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
            .map(|base| format!("{base}{}", listener::path(profile_id)))
    }

    pub async fn webhook_events(&self, filter: WebhookEventFilter) -> Result<Vec<WebhookLogEntry>> {
        let profile = self.shared.desk.active_profile().await?;
        self.store()
            .read(move |c| events::list(c, &profile.id, &filter))
            .await
    }

    /// Verifies a stored delivery again and applies it to the ledger.
    pub async fn replay_event(&self, event_id: i64) -> Result<LedgerPayment> {
        let (profile, client) = self.profile().await?;
        let secret = client.credentials().secret_key.clone();
        let row = events::replay(self.store(), &profile.id, event_id, &secret).await?;
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
            Some(u) => links::absolute_url(u)
                .ok_or_else(|| Error::field("url", "Enter an absolute http:// or https:// URL."))?,
            None => self
                .shared
                .forward_to
                .read()
                .map_err(poisoned)?
                .clone()
                .ok_or_else(|| Error::field("url", "No forward URL is configured."))?,
        };
        let entry = events::forward(
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
    let recorded = events::record(store, delivery, secret.as_ref()).await?;
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
            match events::forward(&store, &http, &profile_id, entry.id, &url).await {
                Ok(updated) => events(PaymentEvent::WebhookReceived(updated)),
                Err(e) => tracing::warn!(error = %e, "webhook not forwarded"),
            }
        });
    }
    Ok(answer)
}
