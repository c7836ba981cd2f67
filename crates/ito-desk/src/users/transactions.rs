//! A user's transactions: pages through the gateway's cursor with the filters mapped
//! to its query, totals of what is loaded, the balance over time they imply, and a
//! CSV export of every page that is written whole or not at all.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use ito_api::users::{Transaction, TransactionQuery, TransactionStatus, TransactionType};
use ito_api::{Client, Cursor, Money, Page, UserId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use specta::Type;
use tokio::sync::{mpsc, watch};

use crate::error::{Error, Result};
use crate::exports::{self, ExportTarget};
use crate::overview::Currency;
use crate::payments::ledger::{api_currency, currency_code};

/// The gateway's largest page.
pub const MAX_PAGE: u32 = 100;
const DEFAULT_PAGE: u32 = 50;
/// Transactions read for the balance chart; older ones are left out of it.
const MAX_HISTORY: usize = 5_000;
/// How often an export reports its progress.
const REPORT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    TopUp,
    CardSpend,
    Refund,
    Fee,
}

impl From<TransactionType> for TransactionKind {
    fn from(t: TransactionType) -> Self {
        match t {
            TransactionType::TopUp => Self::TopUp,
            TransactionType::CardSpend => Self::CardSpend,
            TransactionType::Refund => Self::Refund,
            TransactionType::Fee => Self::Fee,
        }
    }
}

impl From<TransactionKind> for TransactionType {
    fn from(t: TransactionKind) -> Self {
        match t {
            TransactionKind::TopUp => Self::TopUp,
            TransactionKind::CardSpend => Self::CardSpend,
            TransactionKind::Refund => Self::Refund,
            TransactionKind::Fee => Self::Fee,
        }
    }
}

impl TransactionKind {
    /// Money in (top-ups, refunds) rather than out (spending, fees).
    pub fn is_credit(self) -> bool {
        matches!(self, Self::TopUp | Self::Refund)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum SettlementStatus {
    /// Shown in `pending`, not yet in `available`.
    Pending,
    Completed,
}

/// One transaction as the Transactions tab shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct UserTransaction {
    pub id: String,
    pub kind: TransactionKind,
    pub status: SettlementStatus,
    /// Always positive, at the currency's scale; `kind` says which way it moved.
    pub amount: String,
    pub currency: Currency,
    pub description: String,
    /// RFC 3339.
    pub created_at: String,
}

impl From<&Transaction> for UserTransaction {
    fn from(t: &Transaction) -> Self {
        Self {
            id: t.id.as_str().to_owned(),
            kind: t.kind.into(),
            status: match t.status {
                TransactionStatus::Pending => SettlementStatus::Pending,
                TransactionStatus::Completed => SettlementStatus::Completed,
            },
            amount: t.amount.to_decimal_string(),
            currency: t.amount.currency().into(),
            description: t.description.clone(),
            created_at: t
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }
}

/// Which transactions to list or export; absent fields mean "any".
#[derive(Clone, Debug, Default, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TransactionFilter {
    pub kind: Option<TransactionKind>,
    pub currency: Option<Currency>,
    /// RFC 3339, inclusive (the start of the first local day chosen).
    pub from: Option<String>,
    /// RFC 3339, exclusive (the start of the day after the last one chosen).
    pub to: Option<String>,
}

/// Money in and out per currency, over some transactions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TransactionTotals {
    pub currency: Currency,
    pub count: u32,
    /// Top-ups and refunds.
    pub credits: String,
    /// Card spending and fees.
    pub debits: String,
    /// Credits less debits.
    pub net: String,
}

/// One page of a user's transactions, newest first. With a date range it may hold
/// fewer than asked (the gateway's pages cover whole UTC days; rows outside the
/// range are dropped here) while `next_cursor` says more follow.
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TransactionPage {
    pub items: Vec<UserTransaction>,
    /// Pass back as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
    /// The totals of every page loaded so far, this one included (the `loaded`
    /// passed in, plus this page).
    pub loaded_totals: Vec<TransactionTotals>,
}

/// The filter as the gateway's query and the exact instants to keep. The gateway's
/// `from` and `to` are UTC dates, so the covering dates are asked for and rows outside
/// the instants (the local days' edges) are dropped here.
#[derive(Clone, Debug)]
pub struct Query {
    api: TransactionQuery,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

fn instant(field: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(v)
            .map(|d| Some(d.with_timezone(&Utc)))
            .map_err(|_| Error::field(field, "Not a date and time (RFC 3339).")),
    }
}

impl Query {
    pub fn new(filter: &TransactionFilter, limit: u32) -> Result<Self> {
        let from = instant("from", filter.from.as_deref())?;
        let to = instant("to", filter.to.as_deref())?;
        if let (Some(f), Some(t)) = (from, to)
            && t <= f
        {
            return Err(Error::field("to", "The end must come after the start."));
        }
        Ok(Self {
            api: TransactionQuery {
                limit: Some(limit.clamp(1, MAX_PAGE)),
                cursor: None,
                currency: filter.currency.map(api_currency),
                kind: filter.kind.map(Into::into),
                from: from.map(|f| f.date_naive()),
                // `to` is exclusive; the gateway's date is inclusive.
                to: to.map(|t| (t - chrono::Duration::milliseconds(1)).date_naive()),
            },
            from,
            to,
        })
    }

    fn keeps(&self, t: &Transaction) -> bool {
        self.from.is_none_or(|f| t.created_at >= f) && self.to.is_none_or(|e| t.created_at < e)
    }

    fn at(&self, cursor: Option<&str>) -> TransactionQuery {
        TransactionQuery {
            cursor: cursor.map(Cursor::new),
            ..self.api.clone()
        }
    }
}

/// One page through the gateway's cursor, as the merchant reads it.
pub async fn page(
    client: &Client,
    user: &UserId,
    filter: &TransactionFilter,
    cursor: Option<&str>,
    limit: Option<u32>,
    loaded: &[TransactionTotals],
) -> Result<TransactionPage> {
    page_with(filter, cursor, limit, loaded, |query| async move {
        Ok(client.merchant().transactions(user, &query).await?)
    })
    .await
}

/// One page read by `fetch` (the merchant's route or the user's own).
pub async fn page_with<F, Fut>(
    filter: &TransactionFilter,
    cursor: Option<&str>,
    limit: Option<u32>,
    loaded: &[TransactionTotals],
    fetch: F,
) -> Result<TransactionPage>
where
    F: FnOnce(TransactionQuery) -> Fut,
    Fut: Future<Output = Result<Page<Transaction>>>,
{
    let query = Query::new(filter, limit.unwrap_or(DEFAULT_PAGE))?;
    let page = fetch(query.at(cursor)).await?;
    let kept: Vec<&Transaction> = page.data.iter().filter(|t| query.keeps(t)).collect();
    Ok(TransactionPage {
        loaded_totals: add_totals(loaded, kept.iter().copied())?,
        items: kept.into_iter().map(UserTransaction::from).collect(),
        next_cursor: page.next_cursor.map(|c| c.as_str().to_owned()),
    })
}

fn add_totals<'a>(
    loaded: &[TransactionTotals],
    more: impl Iterator<Item = &'a Transaction>,
) -> Result<Vec<TransactionTotals>> {
    let bad = |what: &str| Error::field("loaded", format!("Not a decimal amount: {what}"));
    let mut sums: BTreeMap<Currency, (u32, Decimal, Decimal)> = BTreeMap::new();
    for t in loaded {
        let credits: Decimal = t.credits.parse().map_err(|_| bad(&t.credits))?;
        let debits: Decimal = t.debits.parse().map_err(|_| bad(&t.debits))?;
        let e = sums.entry(t.currency).or_default();
        e.0 += t.count;
        e.1 += credits;
        e.2 += debits;
    }
    for t in more {
        let e = sums.entry(t.amount.currency().into()).or_default();
        e.0 += 1;
        if TransactionKind::from(t.kind).is_credit() {
            e.1 += t.amount.amount();
        } else {
            e.2 += t.amount.amount();
        }
    }
    Ok(sums
        .into_iter()
        .map(|(currency, (count, credits, debits))| {
            let scale = api_currency(currency).scale();
            let text = |mut d: Decimal| {
                d.rescale(scale);
                d.to_string()
            };
            TransactionTotals {
                currency,
                count,
                credits: text(credits),
                debits: text(debits),
                net: text(credits - debits),
            }
        })
        .collect())
}

/// One point of a balance chart: the available balance right after `at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BalancePoint {
    /// RFC 3339.
    pub at: String,
    pub available: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BalanceSeries {
    pub currency: Currency,
    /// Oldest first; the last point is the current balance, now.
    pub points: Vec<BalancePoint>,
}

/// The available balance over time per currency, for the Balances tab's chart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BalanceHistory {
    pub series: Vec<BalanceSeries>,
    /// False when the user has more transactions than the chart reads: it then
    /// starts at the oldest one read.
    pub complete: bool,
}

/// The balance over time, worked backwards from the current balances through the
/// completed transactions (pending ones do not move `available`), newest first.
pub async fn history(
    client: &Client,
    user: &UserId,
    current: &[ito_api::users::Balance],
) -> Result<BalanceHistory> {
    let mut walked: Vec<Transaction> = Vec::new();
    let mut all = std::pin::pin!(client.merchant().all_transactions(
        user.clone(),
        TransactionQuery {
            limit: Some(MAX_PAGE),
            ..TransactionQuery::default()
        }
    ));
    let mut complete = true;
    while let Some(t) = all.try_next().await? {
        if walked.len() == MAX_HISTORY {
            complete = false;
            break;
        }
        walked.push(t);
    }
    let now = Utc::now();
    let mut series = Vec::new();
    for b in current {
        let currency = b.currency;
        let mut balance = b.available.amount();
        let mut points = vec![(now, balance)];
        for t in walked
            .iter()
            .filter(|t| t.amount.currency() == currency && t.status == TransactionStatus::Completed)
        {
            points.push((t.created_at, balance));
            // Before this transaction the balance was what it added taken away.
            if TransactionKind::from(t.kind).is_credit() {
                balance -= t.amount.amount();
            } else {
                balance += t.amount.amount();
            }
        }
        if points.len() == 1 && balance.is_zero() {
            continue;
        }
        points.reverse();
        series.push(BalanceSeries {
            currency: currency.into(),
            points: points
                .into_iter()
                .map(|(at, available)| BalancePoint {
                    at: at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    available: Money::new(available, currency)
                        .map(|m| m.to_decimal_string())
                        .unwrap_or_else(|_| available.to_string()),
                })
                .collect(),
        });
    }
    Ok(BalanceHistory { series, complete })
}

/// How an export is going; reported about ten times a second, and once at the end.
#[derive(Clone, Debug, PartialEq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TransactionExportProgress {
    pub export_id: String,
    pub user_id: String,
    pub pages: u32,
    pub rows: u32,
    /// Rows per second since the export started.
    pub rows_per_second: u32,
    pub finished: bool,
}

/// How an export ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TransactionsExport {
    #[serde(rename_all = "camelCase")]
    Written { path: String, rows: u32, pages: u32 },
    /// Cancelled: nothing was written.
    #[serde(rename_all = "camelCase")]
    Cancelled { rows: u32, pages: u32 },
}

/// Header row of the CSV export.
pub const CSV_HEADER: [&str; 7] = [
    "transaction_id",
    "created_at",
    "type",
    "status",
    "amount",
    "currency",
    "description",
];

enum Chunk {
    Rows(Vec<Transaction>),
    End,
}

/// Writes every page of the filter's transactions as CSV (UTF-8 with a BOM, CRLF,
/// amounts as decimal strings). Pages are fetched while the previous one is written;
/// a cancel (through `cancel`) or a failure leaves no file behind.
pub async fn export(
    client: &Client,
    user: &UserId,
    filter: &TransactionFilter,
    target: ExportTarget,
    mut cancel: watch::Receiver<bool>,
    progress: &(dyn Fn(TransactionExportProgress) + Send + Sync),
    export_id: &str,
) -> Result<TransactionsExport> {
    let query = Query::new(filter, MAX_PAGE)?;
    let (tx, mut rx) = mpsc::channel::<Chunk>(4);
    let writer = tokio::task::spawn_blocking(move || {
        exports::write(&target, |out| {
            let io = |e: std::io::Error| Error::File(format!("cannot write the export: {e}"));
            out.write_all("\u{feff}".as_bytes()).map_err(io)?;
            exports::write_record(out, CSV_HEADER.iter().map(|s| (*s).to_owned())).map_err(io)?;
            let mut rows = 0u64;
            while let Some(chunk) = rx.blocking_recv() {
                match chunk {
                    Chunk::Rows(page) => {
                        for t in &page {
                            exports::write_record(
                                out,
                                [
                                    t.id.as_str().to_owned(),
                                    t.created_at
                                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                                    t.kind.as_str().to_owned(),
                                    match t.status {
                                        TransactionStatus::Pending => "pending",
                                        TransactionStatus::Completed => "completed",
                                    }
                                    .to_owned(),
                                    t.amount.to_decimal_string(),
                                    currency_code(t.amount.currency().into()).to_owned(),
                                    exports::inert(t.description.clone()),
                                ]
                                .into_iter(),
                            )
                            .map_err(io)?;
                        }
                        rows += page.len() as u64;
                    }
                    Chunk::End => return Ok(rows),
                }
            }
            // The sender went away before the end: cancelled or failed, so the
            // temporary file is dropped instead of taking the export's name.
            Err(Error::Internal(
                "the export stopped before its last page".into(),
            ))
        })
    });
    let started = Instant::now();
    let mut last_report = started;
    let (mut pages, mut rows) = (0u32, 0u32);
    let mut cursor: Option<String> = None;
    let report = |pages: u32, rows: u32, finished: bool| {
        let secs = started.elapsed().as_secs_f64();
        progress(TransactionExportProgress {
            export_id: export_id.to_owned(),
            user_id: user.as_str().to_owned(),
            pages,
            rows,
            // A rate for display only: money never goes through this float.
            rows_per_second: if secs > 0.0 {
                (f64::from(rows) / secs) as u32
            } else {
                0
            },
            finished,
        });
    };
    let walked: Result<bool> = async {
        loop {
            let q = query.at(cursor.as_deref());
            let merchant = client.merchant();
            let fetched = tokio::select! {
                page = merchant.transactions(user, &q) => page?,
                _ = cancel.wait_for(|c| *c) => return Ok(false),
            };
            let kept: Vec<Transaction> = fetched
                .data
                .into_iter()
                .filter(|t| query.keeps(t))
                .collect();
            pages += 1;
            rows += u32::try_from(kept.len()).unwrap_or(u32::MAX);
            if tx.send(Chunk::Rows(kept)).await.is_err() {
                // The writer failed; its error is the one to report.
                return Ok(true);
            }
            if last_report.elapsed() >= REPORT_EVERY {
                last_report = Instant::now();
                report(pages, rows, false);
            }
            match fetched.next_cursor {
                Some(next) => cursor = Some(next.as_str().to_owned()),
                None => {
                    let _ = tx.send(Chunk::End).await;
                    return Ok(true);
                }
            }
        }
    }
    .await;
    drop(tx);
    let written = writer.await?;
    report(pages, rows, true);
    match walked {
        Ok(true) => {
            let (path, _) = written?;
            Ok(TransactionsExport::Written {
                path: path.to_string_lossy().into_owned(),
                rows,
                pages,
            })
        }
        Ok(false) => Ok(TransactionsExport::Cancelled { rows, pages }),
        Err(e) => Err(e),
    }
}
