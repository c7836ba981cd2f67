//! The Overview screen's figures for one profile, read through the SDK.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::{StreamExt, TryStreamExt, stream};
use ito_api::Client;
use ito_api::sandbox::SandboxPayment;
use rust_decimal::Decimal;
use serde::Serialize;
use specta::Type;

use crate::error::Result;
use crate::profiles::StoredProfile;
use crate::store::Store;
use crate::users::{self, balances, directory};

/// A currency as the UI formats it: `USD`, `JPY`, `SGP-USD`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize, Type,
)]
pub enum Currency {
    #[serde(rename = "USD")]
    Usd,
    #[serde(rename = "JPY")]
    Jpy,
    #[serde(rename = "SGP-USD")]
    SgpUsd,
}

impl From<ito_api::Currency> for Currency {
    fn from(c: ito_api::Currency) -> Self {
        match c {
            ito_api::Currency::Usd => Self::Usd,
            ito_api::Currency::Jpy => Self::Jpy,
            ito_api::Currency::SgpUsd => Self::SgpUsd,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Pending,
    Paid,
    Cancelled,
    Expired,
}

impl From<ito_api::PaymentStatus> for PaymentStatus {
    fn from(s: ito_api::PaymentStatus) -> Self {
        match s {
            ito_api::PaymentStatus::Pending => Self::Pending,
            ito_api::PaymentStatus::Paid => Self::Paid,
            ito_api::PaymentStatus::Cancelled => Self::Cancelled,
            ito_api::PaymentStatus::Expired => Self::Expired,
        }
    }
}

/// Amounts are decimal strings at the currency's scale (`"1200"`, `"280.00"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CurrencyBalance {
    pub currency: Currency,
    pub available: String,
    pub pending: String,
}

impl From<&ito_api::users::Balance> for CurrencyBalance {
    fn from(b: &ito_api::users::Balance) -> Self {
        Self {
            currency: b.currency.into(),
            available: b.available.to_decimal_string(),
            pending: b.pending.to_decimal_string(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct StatusCount {
    pub status: PaymentStatus,
    pub count: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct KycWaiting {
    pub user_id: String,
    pub name: String,
    pub email: String,
}

/// One webhook delivery of a payment notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    pub payment_id: String,
    /// RFC 3339.
    pub at: String,
    /// The receiver's HTTP status; absent when it could not be reached.
    pub http_status: Option<u16>,
    pub delivered: bool,
}

/// Paid volume of one day (UTC) in one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DayVolume {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub currency: Currency,
    pub amount: String,
    pub count: u32,
}

/// What this profile's gateway lets the Overview show. The real gateway has no
/// route to list payments; the sandbox's control API has. Users come from the local
/// directory, so their figures exist with every gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    pub users: bool,
    pub payments: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    pub profile_id: String,
    pub coverage: Coverage,
    pub user_count: u32,
    pub balances: Vec<CurrencyBalance>,
    pub payments_by_status: Vec<StatusCount>,
    /// The newest users waiting for KYC review (at most [`KYC_WAITING_SHOWN`]).
    pub kyc_waiting: Vec<KycWaiting>,
    /// How many users wait for KYC review in all.
    pub kyc_waiting_count: u32,
    pub recent_webhooks: Vec<WebhookEvent>,
    /// The last [`VOLUME_DAYS`] days, oldest first, one entry per day and currency.
    pub volume_by_day: Vec<DayVolume>,
    /// RFC 3339.
    pub generated_at: String,
}

pub const VOLUME_DAYS: i64 = 14;

/// Payments read for the counts and the chart; older ones are left out.
const MAX_PAYMENTS: usize = 5_000;
/// Up to this many users, the Overview fetches their balances afresh (and stores
/// them in the directory); beyond, it sums the balances the directory holds.
const LIVE_BALANCES_UP_TO: u32 = 1_000;
pub const KYC_WAITING_SHOWN: u32 = 20;
/// Paid payments whose webhook deliveries are listed.
const RECENT_WEBHOOK_PAYMENTS: usize = 8;
/// Balance requests in flight at once.
const CONCURRENCY: usize = 8;

/// Reads the figures: users from the directory (the embedded sandbox's demo users
/// are imported on first use), payments through the sandbox's control API, which
/// the real gateway lacks (that part stays empty and `coverage.payments` false).
pub async fn load(client: &Client, store: &Store, profile: &StoredProfile) -> Result<Overview> {
    users::import_demo_users(client, store, profile).await?;
    let (directory, payments) =
        tokio::join!(directory(client, store, &profile.id), payments(client));
    let (user_count, kyc_waiting_count, kyc_waiting, balances) = directory?;
    let payments = optional(payments)?;
    let mut overview = Overview {
        profile_id: profile.id.clone(),
        coverage: Coverage {
            users: true,
            payments: payments.is_some(),
        },
        user_count,
        balances,
        payments_by_status: Vec::new(),
        kyc_waiting,
        kyc_waiting_count,
        recent_webhooks: Vec::new(),
        volume_by_day: Vec::new(),
        generated_at: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    };
    if let Some(payments) = payments {
        overview.payments_by_status = status_counts(&payments);
        overview.volume_by_day = volume_by_day(&payments, Utc::now().date_naive());
        overview.recent_webhooks = recent_webhooks(client, &payments).await?;
    }
    Ok(overview)
}

/// The directory's figures: user count, KYC waiting (count and newest), balances.
async fn directory(
    client: &Client,
    store: &Store,
    profile_id: &str,
) -> Result<(u32, u32, Vec<KycWaiting>, Vec<CurrencyBalance>)> {
    let pid = profile_id.to_owned();
    let (summary, waiting) = store
        .read(move |c| {
            Ok((
                directory::summary(c, &pid)?,
                directory::waiting_for_review(c, &pid, KYC_WAITING_SHOWN)?,
            ))
        })
        .await?;
    if summary.users <= LIVE_BALANCES_UP_TO {
        let pid = profile_id.to_owned();
        let ids = store
            .read(move |c| directory::refresh_order(c, &pid, None))
            .await?;
        balances::refresh(client, store, profile_id, ids, &|_| {}).await?;
    }
    let pid = profile_id.to_owned();
    let totals = store
        .read(move |c| directory::balance_totals(c, &pid))
        .await?;
    let waiting = waiting
        .into_iter()
        .map(|u| KycWaiting {
            user_id: u.user_id,
            name: u.name,
            email: u.email,
        })
        .collect();
    Ok((summary.users, summary.waiting, waiting, totals))
}

/// A route this gateway does not have (404) is "not available", not a failure.
fn optional<T>(r: ito_api::Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == ito_api::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn payments(client: &Client) -> ito_api::Result<Vec<SandboxPayment>> {
    client
        .sandbox()
        .all_payments()
        .take(MAX_PAYMENTS)
        .try_collect()
        .await
}

fn scale(c: Currency) -> u32 {
    match c {
        Currency::Jpy => 0,
        Currency::Usd | Currency::SgpUsd => 2,
    }
}

pub(crate) fn at_scale(mut d: Decimal, c: Currency) -> String {
    d.rescale(scale(c));
    d.to_string()
}

fn status_counts(payments: &[SandboxPayment]) -> Vec<StatusCount> {
    [
        ito_api::PaymentStatus::Pending,
        ito_api::PaymentStatus::Paid,
        ito_api::PaymentStatus::Cancelled,
        ito_api::PaymentStatus::Expired,
    ]
    .into_iter()
    .map(|s| StatusCount {
        status: s.into(),
        count: u32::try_from(payments.iter().filter(|p| p.status == s).count()).unwrap_or(u32::MAX),
    })
    .collect()
}

/// Paid amounts per day (by payment time, UTC) and currency over the last
/// [`VOLUME_DAYS`] days up to `today`; days without payments count zero.
fn volume_by_day(payments: &[SandboxPayment], today: NaiveDate) -> Vec<DayVolume> {
    let first = today - chrono::Days::new(u64::try_from(VOLUME_DAYS - 1).unwrap_or(0));
    let mut sums: BTreeMap<(NaiveDate, Currency), (Decimal, u32)> = BTreeMap::new();
    let mut currencies: Vec<Currency> = Vec::new();
    for p in payments {
        let Some(paid_at) = p
            .paid_at
            .filter(|_| p.status == ito_api::PaymentStatus::Paid)
        else {
            continue;
        };
        let day = paid_at.date_naive();
        if day < first || day > today {
            continue;
        }
        let currency: Currency = p.amount.currency().into();
        if !currencies.contains(&currency) {
            currencies.push(currency);
        }
        let e = sums.entry((day, currency)).or_default();
        e.0 += p.amount.amount();
        e.1 += 1;
    }
    currencies.sort();
    first
        .iter_days()
        .take_while(|d| *d <= today)
        .flat_map(|day| {
            let sums = &sums;
            currencies.iter().map(move |&currency| {
                let (amount, count) = sums.get(&(day, currency)).copied().unwrap_or_default();
                DayVolume {
                    day: day.format("%Y-%m-%d").to_string(),
                    currency,
                    amount: at_scale(amount, currency),
                    count,
                }
            })
        })
        .collect()
}

/// The delivery attempts of the most recently paid payments, newest first.
async fn recent_webhooks(
    client: &Client,
    payments: &[SandboxPayment],
) -> Result<Vec<WebhookEvent>> {
    let mut paid: Vec<&SandboxPayment> = payments.iter().filter(|p| p.paid_at.is_some()).collect();
    paid.sort_by_key(|p| std::cmp::Reverse(p.paid_at));
    let requests: Vec<_> = paid
        .iter()
        .take(RECENT_WEBHOOK_PAYMENTS)
        .map(|p| {
            let (client, id) = (client.clone(), p.payment_id.clone());
            async move { client.sandbox().payment(&id).await }
        })
        .collect();
    let details: Vec<SandboxPayment> = stream::iter(requests)
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let mut events: Vec<(DateTime<Utc>, WebhookEvent)> = details
        .iter()
        .flat_map(|p| {
            p.webhook_attempts.iter().map(|a| {
                (
                    a.attempted_at,
                    WebhookEvent {
                        payment_id: p.payment_id.as_str().to_owned(),
                        at: a
                            .attempted_at
                            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                        http_status: a.status_code,
                        delivered: a.status_code.is_some_and(|s| (200..300).contains(&s)),
                    },
                )
            })
        })
        .collect();
    events.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    Ok(events.into_iter().take(20).map(|(_, e)| e).collect())
}
