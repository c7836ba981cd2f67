//! The local directory of a profile's users: the only list there is, since the
//! gateway cannot list a merchant's users. Searched by name, email, id or phone,
//! filtered, sorted and paged by keyset for a virtualised list of 100 000 rows.

use ito_api::kyc::KycStatus;
use ito_api::users::{Balance, User};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params, params_from_iter};
use serde::{Deserialize, Serialize};
use specta::Type;

use crate::error::{Error, Result};
use crate::overview::{Currency, CurrencyBalance, at_scale};
use crate::payments::ledger::currency_code;
use crate::store::rfc3339;

use super::search;

const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 500;
const MAX_SEARCH_CHARS: usize = 255;
/// A search of this many digits or more, and nothing else of a phone number's, is a
/// phone number.
const MIN_PHONE_DIGITS: usize = 3;
/// Past this many matches a search is common: the newest rows are walked and
/// filtered, which finds a page sooner than collecting every match.
const DENSE_MATCHES: usize = 1000;

/// A user's KYC status, as the gateway names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum KycState {
    NotStarted,
    Draft,
    Submitted,
    Approved,
    Rejected,
}

impl KycState {
    pub const ALL: [KycState; 5] = [
        Self::NotStarted,
        Self::Draft,
        Self::Submitted,
        Self::Approved,
        Self::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .unwrap_or(Self::NotStarted)
    }

    /// The status tab the user is listed under.
    pub fn tab(self) -> UserTab {
        match self {
            Self::NotStarted | Self::Draft | Self::Rejected => UserTab::NeedsAction,
            Self::Submitted => UserTab::Waiting,
            Self::Approved => UserTab::Approved,
        }
    }
}

impl From<KycStatus> for KycState {
    fn from(s: KycStatus) -> Self {
        match s {
            KycStatus::NotStarted => Self::NotStarted,
            KycStatus::Draft => Self::Draft,
            KycStatus::Submitted => Self::Submitted,
            KycStatus::Approved => Self::Approved,
            KycStatus::Rejected => Self::Rejected,
        }
    }
}

/// The list's status tabs. `All` is the absence of a tab.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum UserTab {
    /// KYC not started, in draft, or rejected: staff should follow up.
    NeedsAction,
    /// Submitted, waiting for review.
    Waiting,
    Approved,
}

/// A row of the Users list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryUser {
    pub user_id: String,
    /// As given (Japanese names are not transliterated).
    pub name: String,
    pub email: String,
    /// E.164.
    pub phone: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub kyc_status: KycState,
    /// RFC 3339, the gateway's.
    pub created_at: String,
    /// Balances as last fetched, the currencies held (not zero) only.
    pub balances: Vec<CurrencyBalance>,
    /// When the balances were fetched; absent until they have been.
    pub balances_fetched_at: Option<String>,
    /// The gateway said this user is no longer the merchant's (404): offer to remove it.
    pub gone: bool,
}

/// How the list is sorted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum UserSortBy {
    #[default]
    CreatedAt,
    Name,
    /// The available balance in `UserSort::currency` (JPY when absent).
    Balance,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct UserSort {
    pub by: UserSortBy,
    pub currency: Option<Currency>,
    /// Newest, Z to A, largest first.
    pub descending: bool,
}

/// Which users to list. Every field is optional; absent means "any".
#[derive(Clone, Debug, Default, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct UserFilter {
    /// Part of the name, email, user id or phone (`090-1234`, `+8190…` and `9012` all
    /// find `+819012345678`); case-insensitive.
    pub search: Option<String>,
    pub tab: Option<UserTab>,
    pub kyc_status: Option<KycState>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// Users holding a balance (not zero) in this currency.
    pub currency: Option<Currency>,
}

/// How many users each tab holds under the current search and filters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TabCounts {
    pub all: u32,
    pub needs_action: u32,
    pub waiting: u32,
    pub approved: u32,
}

/// One page of the list. Pass `next` back as `cursor` for the following page.
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct UserPage {
    pub rows: Vec<DirectoryUser>,
    pub next: Option<String>,
    /// How many users match; on the first page only (no cursor).
    pub total: Option<u32>,
    /// The tabs' counts; on the first page only.
    pub tabs: Option<TabCounts>,
}

/// A filter as SQL conditions and their values. Only the conditions in use are
/// written, so SQLite can choose the index that fits.
#[derive(Clone)]
struct Bound {
    conditions: String,
    values: Vec<Value>,
    /// Some condition besides the profile's: the tabs must be counted from the rows.
    narrowed: bool,
}

impl Bound {
    fn new(profile_id: &str) -> Self {
        Self {
            conditions: "profile_id = ?1".to_owned(),
            values: vec![Value::Text(profile_id.to_owned())],
            narrowed: false,
        }
    }

    fn and(&mut self, condition: &str, value: Value) {
        self.narrowed = true;
        self.values.push(value);
        let n = self.values.len();
        self.conditions.push_str(&format!(
            " AND {}",
            condition.replace('?', &format!("?{n}"))
        ));
    }

    fn and_literal(&mut self, condition: &str) {
        self.narrowed = true;
        self.conditions.push_str(" AND ");
        self.conditions.push_str(condition);
    }
}

/// The bit of `held` for a currency.
pub fn held_bit(c: Currency) -> i64 {
    match c {
        Currency::Jpy => 1,
        Currency::Usd => 2,
        Currency::SgpUsd => 4,
    }
}

fn minor_column(c: Currency) -> &'static str {
    match c {
        Currency::Jpy => "jpy_minor",
        Currency::Usd => "usd_minor",
        Currency::SgpUsd => "sgp_usd_minor",
    }
}

/// The search term as matched: lower case, and a phone number as its digits.
fn search_term(raw: &str) -> Option<String> {
    let text: String = raw.trim().chars().take(MAX_SEARCH_CHARS).collect();
    if text.is_empty() {
        return None;
    }
    let phone_like = text
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        && text.chars().filter(char::is_ascii_digit).count() >= MIN_PHONE_DIGITS;
    if phone_like && !text.starts_with('+') {
        return Some(text.chars().filter(char::is_ascii_digit).collect());
    }
    if phone_like {
        return Some(format!(
            "+{}",
            text.chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
        ));
    }
    Some(text.to_lowercase())
}

/// What a user is found by: name, email, id and phone (as given, its digits, and for
/// Japanese numbers the national form `090…`), lower case, one per line.
pub fn search_text(user_id: &str, name: &str, email: &str, phone: Option<&str>) -> String {
    let mut text = format!(
        "{}\n{}\n{}",
        name.to_lowercase(),
        email.to_lowercase(),
        user_id.to_lowercase()
    );
    if let Some(phone) = phone {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        text.push('\n');
        text.push_str(phone);
        text.push('\n');
        text.push_str(&digits);
        if let Some(national) = digits.strip_prefix("81") {
            text.push_str("\n0");
            text.push_str(national);
        }
    }
    text
}

/// Users per KYC status, in no particular order.
type StatusCounts = Vec<(KycState, i64)>;

/// The conditions of `filter` but its KYC status and tab (the tabs' counts use them),
/// and those counts when a search counted them.
fn bind_common(
    conn: &Connection,
    profile_id: &str,
    filter: &UserFilter,
) -> Result<(Bound, Option<StatusCounts>)> {
    let mut b = Bound::new(profile_id);
    let country = filter
        .country
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_ascii_uppercase);
    if let Some(country) = &country {
        b.and("country = ?", Value::Text(country.clone()));
    }
    let held = filter.currency.map(held_bit);
    if let Some(bit) = held {
        b.and("held & ? <> 0", Value::Integer(bit));
    }
    let mut counted = None;
    if let Some(term) = filter.search.as_deref().and_then(search_term) {
        let narrow = search::Narrow {
            country: country.as_deref(),
            held,
        };
        let found = search::matches(conn, profile_id, &term, narrow)?;
        counted = Some(KycState::ALL.into_iter().zip(found.counts).collect());
        if found.ids.is_empty() {
            b.and_literal("0");
        } else if found.ids.len() <= DENSE_MATCHES {
            // Row ids are integers from the database: safe to write inline. The `+`
            // keeps SQLite from walking a profile index (users_newest for the page) and
            // testing each row against the list: it looks the listed rows up instead.
            b.conditions.insert(0, '+');
            b.and_literal(&format!(
                "id IN ({})",
                found
                    .ids
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ));
        } else {
            b.and("instr(search_text, ?) > 0", Value::Text(term));
        }
    }
    Ok((b, counted))
}

fn statuses(filter: &UserFilter) -> Vec<KycState> {
    KycState::ALL
        .into_iter()
        .filter(|s| filter.tab.is_none_or(|t| s.tab() == t))
        .filter(|s| filter.kyc_status.is_none_or(|k| k == *s))
        .collect()
}

fn with_statuses(mut b: Bound, filter: &UserFilter) -> Bound {
    if filter.tab.is_none() && filter.kyc_status.is_none() {
        return b;
    }
    let list = statuses(filter)
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(",");
    if list.is_empty() {
        // A tab and a status that exclude each other.
        b.and_literal("0");
    } else {
        b.and_literal(&format!("kyc_status IN ({list})"));
    }
    b
}

const COLUMNS: &str = "id, user_id, name, email, phone, country, kyc_status, created_at, \
    balances_fetched_at, gone_at";

struct Listed {
    row: i64,
    user: DirectoryUser,
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Listed> {
    let kyc: String = r.get(6)?;
    let fetched: Option<i64> = r.get(8)?;
    let gone: Option<i64> = r.get(9)?;
    Ok(Listed {
        row: r.get(0)?,
        user: DirectoryUser {
            user_id: r.get(1)?,
            name: r.get(2)?,
            email: r.get(3)?,
            phone: r.get(4)?,
            country: r.get(5)?,
            kyc_status: KycState::parse(&kyc),
            created_at: rfc3339(r.get(7)?),
            balances: Vec::new(),
            balances_fetched_at: fetched.map(rfc3339),
            gone: gone.is_some(),
        },
    })
}

/// The sort's key column and its value for a row, as the cursor carries it.
fn sort_key(sort: &UserSort) -> (&'static str, bool) {
    match sort.by {
        UserSortBy::CreatedAt => ("created_at", true),
        UserSortBy::Name => ("sort_name", false),
        UserSortBy::Balance => (minor_column(sort.currency.unwrap_or(Currency::Jpy)), true),
    }
}

/// Cursor text: `<row id>:<sort key>` of the last row of the page before.
fn parse_cursor(cursor: Option<&str>, numeric: bool) -> Result<Option<(i64, Value)>> {
    let Some(c) = cursor else { return Ok(None) };
    let bad = || Error::field("cursor", "This page cursor is not valid.");
    let (id, key) = c.split_once(':').ok_or_else(bad)?;
    let id: i64 = id.parse().map_err(|_| bad())?;
    let key = if numeric {
        Value::Integer(key.parse().map_err(|_| bad())?)
    } else {
        Value::Text(key.to_owned())
    };
    Ok(Some((id, key)))
}

/// One page of the profile's users matching `filter`, sorted by `sort`.
pub fn page(
    conn: &Connection,
    profile_id: &str,
    filter: &UserFilter,
    sort: &UserSort,
    cursor: Option<&str>,
    limit: Option<u32>,
) -> Result<UserPage> {
    let (key, numeric) = sort_key(sort);
    let after = parse_cursor(cursor, numeric)?;
    let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let (common, counted) = bind_common(conn, profile_id, filter)?;
    let mut b = with_statuses(common.clone(), filter);
    let descending = sort.descending;
    let (cmp, dir) = if descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some((id, value)) = after {
        // The leading bound lets SQLite seek in the index; the row value then orders ties.
        let lead = if descending { "<=" } else { ">=" };
        b.and(&format!("{key} {lead} ?"), value.clone());
        b.values.push(value);
        b.values.push(Value::Integer(id));
        let n = b.values.len();
        b.conditions
            .push_str(&format!(" AND ({key}, id) {cmp} (?{}, ?{n})", n - 1));
    }
    b.values.push(Value::Integer(i64::from(limit)));
    let key_select = format!("{COLUMNS}, {key}");
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {key_select} FROM users WHERE {} ORDER BY {key} {dir}, id {dir} LIMIT ?{}",
        b.conditions,
        b.values.len()
    ))?;
    let listed: Vec<(Listed, Value)> = stmt
        .query_map(params_from_iter(b.values.iter()), |r| {
            Ok((from_row(r)?, r.get::<_, Value>(10)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let next = if listed.len() == limit as usize {
        listed.last().map(|(l, key)| match key {
            Value::Integer(n) => format!("{}:{n}", l.row),
            Value::Text(t) => format!("{}:{t}", l.row),
            _ => format!("{}:", l.row),
        })
    } else {
        None
    };
    let mut rows: Vec<Listed> = listed.into_iter().map(|(l, _)| l).collect();
    attach_balances(conn, &mut rows)?;
    let (total, tabs) = if cursor.is_none() {
        let tabs = tab_counts(conn, &common, filter, counted)?;
        (Some(tabs.1), Some(tabs.0))
    } else {
        (None, None)
    };
    Ok(UserPage {
        rows: rows.into_iter().map(|l| l.user).collect(),
        next,
        total,
        tabs,
    })
}

/// The counts of every tab, and of the rows the filter's own tab and status select.
/// `counted` are those counts when the search's scan already took them.
fn tab_counts(
    conn: &Connection,
    common: &Bound,
    filter: &UserFilter,
    counted: Option<StatusCounts>,
) -> Result<(TabCounts, u32)> {
    let counts = match counted {
        Some(counts) => counts,
        None => {
            // Unfiltered, the counts kept by triggers (user_counts) stand for a count of
            // every row of the profile.
            let sql = if common.narrowed {
                format!(
                    "SELECT kyc_status, COUNT(*) FROM users WHERE {} GROUP BY kyc_status",
                    common.conditions
                )
            } else {
                "SELECT kyc_status, n FROM user_counts WHERE profile_id = ?1".to_owned()
            };
            let mut stmt = conn.prepare_cached(&sql)?;
            stmt.query_map(params_from_iter(common.values.iter()), |r| {
                Ok((KycState::parse(&r.get::<_, String>(0)?), r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?
        }
    };
    let wanted = statuses(filter);
    let mut tabs = TabCounts::default();
    let mut total = 0u32;
    for (status, n) in counts {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        tabs.all += n;
        match status.tab() {
            UserTab::NeedsAction => tabs.needs_action += n,
            UserTab::Waiting => tabs.waiting += n,
            UserTab::Approved => tabs.approved += n,
        }
        if wanted.contains(&status) {
            total += n;
        }
    }
    Ok((tabs, total))
}

fn attach_balances(conn: &Connection, rows: &mut [Listed]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids = rows
        .iter()
        .map(|l| l.row.to_string())
        .collect::<Vec<_>>()
        .join(",");
    // Row ids are integers from the database: safe to write inline.
    let mut stmt = conn.prepare(&format!(
        "SELECT user_row, currency, available, pending FROM user_balances
         WHERE user_row IN ({ids}) ORDER BY user_row, currency"
    ))?;
    let found = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    for f in found {
        let (row, currency, available, pending) = f?;
        if is_zero(&available) && is_zero(&pending) {
            continue;
        }
        if let (Some(l), Ok(c)) = (
            rows.iter_mut().find(|l| l.row == row),
            currency.parse::<ito_api::Currency>(),
        ) {
            l.user.balances.push(CurrencyBalance {
                currency: c.into(),
                available,
                pending,
            });
        }
    }
    Ok(())
}

fn is_zero(amount: &str) -> bool {
    amount
        .parse::<rust_decimal::Decimal>()
        .is_ok_and(|d| d.is_zero())
}

/// Every balance stored for a user, all currencies the gateway reported.
pub fn balances(
    conn: &Connection,
    profile_id: &str,
    user_id: &str,
) -> Result<Vec<CurrencyBalance>> {
    let mut stmt = conn.prepare_cached(
        "SELECT b.currency, b.available, b.pending FROM user_balances b
         JOIN users u ON u.id = b.user_row
         WHERE u.profile_id = ?1 AND u.user_id = ?2 ORDER BY b.currency",
    )?;
    let rows = stmt
        .query_map(params![profile_id, user_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(c, available, pending)| {
            let currency = c.parse::<ito_api::Currency>().ok()?.into();
            Some(CurrencyBalance {
                currency,
                available,
                pending,
            })
        })
        .collect())
}

/// One user of the directory, with the balances it holds.
pub fn get(conn: &Connection, profile_id: &str, user_id: &str) -> Result<Option<DirectoryUser>> {
    let listed = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM users WHERE profile_id = ?1 AND user_id = ?2"
        ))?
        .query_row(params![profile_id, user_id], from_row)
        .optional()?;
    let Some(listed) = listed else {
        return Ok(None);
    };
    let mut rows = [listed];
    attach_balances(conn, &mut rows)?;
    let [listed] = rows;
    Ok(Some(listed.user))
}

/// The directory's rows of these users, in no particular order.
pub fn get_many(
    conn: &Connection,
    profile_id: &str,
    user_ids: &[String],
) -> Result<Vec<DirectoryUser>> {
    let mut rows = Vec::with_capacity(user_ids.len());
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM users WHERE profile_id = ?1 AND user_id = ?2"
    ))?;
    for id in user_ids {
        if let Some(l) = stmt
            .query_row(params![profile_id, id], from_row)
            .optional()?
        {
            rows.push(l);
        }
    }
    attach_balances(conn, &mut rows)?;
    Ok(rows.into_iter().map(|l| l.user).collect())
}

/// The user with this email, if the directory holds one.
pub fn by_email(conn: &Connection, profile_id: &str, email: &str) -> Result<Option<DirectoryUser>> {
    let user_id: Option<String> = conn
        .prepare_cached("SELECT user_id FROM users WHERE profile_id = ?1 AND email = ?2")?
        .query_row(params![profile_id, email], |r| r.get(0))
        .optional()?;
    match user_id {
        Some(id) => get(conn, profile_id, &id),
        None => Ok(None),
    }
}

/// Adds the user or updates its profile fields from what the gateway said; a user
/// the gateway answered for is not gone. Returns whether it was new.
pub fn upsert(tx: &Transaction<'_>, profile_id: &str, user: &User, now: i64) -> Result<bool> {
    let id = user.id.as_str();
    let existed = tx
        .prepare_cached("SELECT 1 FROM users WHERE profile_id = ?1 AND user_id = ?2")?
        .exists(params![profile_id, id])?;
    tx.prepare_cached(
        "INSERT INTO users (profile_id, user_id, email, name, phone, country, kyc_status,
            created_at, sort_name, search_text, added_at, synced_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)
         ON CONFLICT (profile_id, user_id) DO UPDATE SET email = excluded.email,
            name = excluded.name, phone = excluded.phone, country = excluded.country,
            kyc_status = excluded.kyc_status, created_at = excluded.created_at,
            sort_name = excluded.sort_name, search_text = excluded.search_text,
            synced_at = excluded.synced_at, gone_at = NULL",
    )?
    .execute(params![
        profile_id,
        id,
        user.email,
        user.name,
        user.phone,
        user.country,
        KycState::from(user.kyc_status).as_str(),
        user.created_at.timestamp_millis(),
        user.name.to_lowercase(),
        search_text(id, &user.name, &user.email, user.phone.as_deref()),
        now
    ])?;
    Ok(!existed)
}

/// Records the user's KYC status and submission time as the gateway gave them.
/// Returns the row when it changed.
pub fn set_kyc(
    tx: &Transaction<'_>,
    profile_id: &str,
    user_id: &str,
    status: KycState,
    submitted_at: Option<i64>,
) -> Result<Option<DirectoryUser>> {
    let changed = tx
        .prepare_cached(
            "UPDATE users SET kyc_status = ?3, kyc_submitted_at = ?4
             WHERE profile_id = ?1 AND user_id = ?2
                AND (kyc_status IS NOT ?3 OR kyc_submitted_at IS NOT ?4)",
        )?
        .execute(params![profile_id, user_id, status.as_str(), submitted_at])?;
    if changed == 0 {
        return Ok(None);
    }
    get(tx, profile_id, user_id)
}

/// Stores a user's balances as fetched now, with the sort keys and `held` bits.
/// Returns false when the directory no longer holds the user.
pub fn store_balances(
    tx: &Transaction<'_>,
    profile_id: &str,
    user_id: &str,
    balances: &[Balance],
    now: i64,
) -> Result<bool> {
    let row: Option<i64> = tx
        .prepare_cached("SELECT id FROM users WHERE profile_id = ?1 AND user_id = ?2")?
        .query_row(params![profile_id, user_id], |r| r.get(0))
        .optional()?;
    let Some(row) = row else { return Ok(false) };
    tx.prepare_cached("DELETE FROM user_balances WHERE user_row = ?1")?
        .execute([row])?;
    let mut minor = [0i64; 3];
    let mut held = 0;
    for b in balances {
        let currency: Currency = b.currency.into();
        tx.prepare_cached(
            "INSERT INTO user_balances (user_row, currency, available, pending, fetched_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            row,
            currency_code(currency),
            b.available.to_decimal_string(),
            b.pending.to_decimal_string(),
            now
        ])?;
        let slot = match currency {
            Currency::Jpy => 0,
            Currency::Usd => 1,
            Currency::SgpUsd => 2,
        };
        minor[slot] = minor_units(&b.available);
        if !b.available.amount().is_zero() || !b.pending.amount().is_zero() {
            held |= held_bit(currency);
        }
    }
    tx.prepare_cached(
        "UPDATE users SET jpy_minor = ?2, usd_minor = ?3, sgp_usd_minor = ?4, held = ?5,
            balances_fetched_at = ?6, gone_at = NULL WHERE id = ?1",
    )?
    .execute(params![row, minor[0], minor[1], minor[2], held, now])?;
    Ok(true)
}

/// An amount in its currency's minor units (exact: money is at its currency's scale).
fn minor_units(m: &ito_api::Money) -> i64 {
    let mut d = m.amount();
    d.rescale(m.currency().scale());
    i64::try_from(d.mantissa()).unwrap_or(if d.is_sign_negative() {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// Marks the user as no longer the merchant's (the gateway answered 404).
pub fn mark_gone(tx: &Transaction<'_>, profile_id: &str, user_id: &str, now: i64) -> Result<()> {
    tx.prepare_cached("UPDATE users SET gone_at = ?3 WHERE profile_id = ?1 AND user_id = ?2")?
        .execute(params![profile_id, user_id, now])?;
    Ok(())
}

/// Removes a user from the directory (its balances go with it). Returns whether it was there.
pub fn remove(tx: &Transaction<'_>, profile_id: &str, user_id: &str) -> Result<bool> {
    let n = tx
        .prepare_cached("DELETE FROM users WHERE profile_id = ?1 AND user_id = ?2")?
        .execute(params![profile_id, user_id])?;
    // The KYC values kept on this computer go with the user.
    for table in ["user_creates", "kyc_forms", "kyc_bases"] {
        tx.prepare_cached(&format!(
            "DELETE FROM {table} WHERE profile_id = ?1 AND user_id = ?2"
        ))?
        .execute(params![profile_id, user_id])?;
    }
    Ok(n > 0)
}

/// What the list's filters offer, and what the directory holds.
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryInfo {
    pub total: u32,
    /// Countries of the directory's users, for the country filter.
    pub countries: Vec<String>,
    /// When it was last imported from the sandbox (RFC 3339).
    pub imported_at: Option<String>,
    /// The profile is in test mode: "Import from sandbox", top-ups and added
    /// transactions apply.
    pub test_mode: bool,
}

pub fn info(conn: &Connection, profile_id: &str, test_mode: bool) -> Result<DirectoryInfo> {
    let total: i64 = conn
        .prepare_cached("SELECT COALESCE(SUM(n), 0) FROM user_counts WHERE profile_id = ?1")?
        .query_row([profile_id], |r| r.get(0))?;
    let countries = conn
        .prepare_cached(
            "SELECT DISTINCT country FROM users
             WHERE profile_id = ?1 AND country IS NOT NULL ORDER BY country",
        )?
        .query_map([profile_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(DirectoryInfo {
        total: u32::try_from(total).unwrap_or(u32::MAX),
        countries,
        imported_at: imported_at(conn, profile_id)?.map(rfc3339),
        test_mode,
    })
}

pub fn imported_at(conn: &Connection, profile_id: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT imported_at FROM user_imports WHERE profile_id = ?1")?
        .query_row([profile_id], |r| r.get(0))
        .optional()?)
}

pub fn record_import(tx: &Transaction<'_>, profile_id: &str, users: u32, now: i64) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO user_imports (profile_id, imported_at, users) VALUES (?1, ?2, ?3)
         ON CONFLICT (profile_id) DO UPDATE SET imported_at = ?2, users = ?3",
    )?
    .execute(params![profile_id, now, users])?;
    Ok(())
}

/// Users whose balances to refresh: those of `only` the directory holds, or else
/// all, those never fetched or fetched longest ago first. Users found gone are left out.
pub fn refresh_order(
    conn: &Connection,
    profile_id: &str,
    only: Option<&[String]>,
) -> Result<Vec<String>> {
    if let Some(only) = only {
        let mut known = conn.prepare_cached(
            "SELECT 1 FROM users WHERE profile_id = ?1 AND user_id = ?2 AND gone_at IS NULL",
        )?;
        let mut ids = Vec::with_capacity(only.len());
        for id in only {
            if known.exists(params![profile_id, id])? && !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        return Ok(ids);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT user_id FROM users WHERE profile_id = ?1 AND gone_at IS NULL
         ORDER BY balances_fetched_at IS NOT NULL, balances_fetched_at, id",
    )?;
    let all = stmt
        .query_map([profile_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(all)
}

/// How many users the directory holds, and how many of them wait for KYC review.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    pub users: u32,
    pub waiting: u32,
}

pub fn summary(conn: &Connection, profile_id: &str) -> Result<Summary> {
    let (users, waiting): (i64, i64) = conn
        .prepare_cached(
            "SELECT COALESCE(SUM(n), 0), COALESCE(SUM(n * (kyc_status = 'submitted')), 0)
             FROM user_counts WHERE profile_id = ?1",
        )?
        .query_row([profile_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(Summary {
        users: u32::try_from(users).unwrap_or(u32::MAX),
        waiting: u32::try_from(waiting).unwrap_or(u32::MAX),
    })
}

/// The newest users waiting for KYC review, for the Overview.
pub fn waiting_for_review(
    conn: &Connection,
    profile_id: &str,
    limit: u32,
) -> Result<Vec<DirectoryUser>> {
    let filter = UserFilter {
        tab: Some(UserTab::Waiting),
        ..UserFilter::default()
    };
    Ok(page(
        conn,
        profile_id,
        &filter,
        &UserSort {
            descending: true,
            ..UserSort::default()
        },
        None,
        Some(limit),
    )?
    .rows)
}

/// The sum of the stored balances of the profile's users, per currency.
pub fn balance_totals(conn: &Connection, profile_id: &str) -> Result<Vec<CurrencyBalance>> {
    let mut stmt = conn.prepare_cached(
        "SELECT b.currency, b.available, b.pending FROM user_balances b
         JOIN users u ON u.id = b.user_row WHERE u.profile_id = ?1 AND u.gone_at IS NULL",
    )?;
    let mut sums: std::collections::BTreeMap<
        Currency,
        (rust_decimal::Decimal, rust_decimal::Decimal),
    > = std::collections::BTreeMap::new();
    let rows = stmt.query_map([profile_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    for row in rows {
        let (c, a, p) = row?;
        let (Ok(c), Ok(a), Ok(p)) = (
            c.parse::<ito_api::Currency>(),
            a.parse::<rust_decimal::Decimal>(),
            p.parse::<rust_decimal::Decimal>(),
        ) else {
            continue;
        };
        let e = sums.entry(c.into()).or_default();
        e.0 += a;
        e.1 += p;
    }
    Ok(sums
        .into_iter()
        .map(|(currency, (a, p))| CurrencyBalance {
            currency,
            available: at_scale(a, currency),
            pending: at_scale(p, currency),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(i: usize, status: KycStatus) -> User {
        User {
            id: ito_api::UserId::new(format!("usr_{i:04}")),
            email: format!("user{i}@example.jp"),
            name: format!("User {i}"),
            phone: None,
            country: Some(if i.is_multiple_of(2) { "JP" } else { "SG" }.to_owned()),
            kyc_status: status,
            created_at: chrono::Utc::now(),
        }
    }

    /// The tab counts kept by triggers (used when nothing narrows the list) equal a
    /// count of the rows through adds, status changes, re-imports and removals.
    #[tokio::test]
    async fn kept_tab_counts_equal_counted_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("desk.db")).unwrap();
        store
            .write(move |tx| {
                for i in 0..40 {
                    upsert(tx, "prf_a", &user(i, KycStatus::ALL[i % 5]), 0)?;
                }
                upsert(tx, "prf_b", &user(0, KycStatus::Submitted), 0)?;
                // A status change, the same user again unchanged, and removals.
                upsert(tx, "prf_a", &user(1, KycStatus::Approved), 0)?;
                upsert(tx, "prf_a", &user(2, KycStatus::Submitted), 0)?;
                remove(tx, "prf_a", "usr_0003")?;
                remove(tx, "prf_a", "usr_0007")?;
                remove(tx, "prf_a", "usr_0404")?;
                Ok(())
            })
            .await
            .unwrap();
        for profile in ["prf_a", "prf_b", "prf_none"] {
            let (kept, counted, short, info, summary) = store
                .read(move |c| {
                    let kept = page(
                        c,
                        profile,
                        &UserFilter::default(),
                        &UserSort::default(),
                        None,
                        Some(5),
                    )?;
                    // A filter that selects every row: counted from the rows.
                    let counted = page(
                        c,
                        profile,
                        &UserFilter {
                            search: Some("@example.jp".into()),
                            ..UserFilter::default()
                        },
                        &UserSort::default(),
                        None,
                        Some(5),
                    )?;
                    // Two characters: found and counted in memory like any search.
                    let short = page(
                        c,
                        profile,
                        &UserFilter {
                            search: Some("us".into()),
                            ..UserFilter::default()
                        },
                        &UserSort::default(),
                        None,
                        Some(5),
                    )?;
                    Ok((
                        kept.tabs,
                        counted.tabs,
                        short.tabs,
                        info(c, profile, true)?,
                        summary(c, profile)?,
                    ))
                })
                .await
                .unwrap();
            assert_eq!(kept, counted, "{profile}");
            assert_eq!(kept, short, "{profile}");
            let tabs = kept.unwrap();
            assert_eq!(info.total, tabs.all, "{profile}");
            assert_eq!(
                summary,
                Summary {
                    users: tabs.all,
                    waiting: tabs.waiting
                },
                "{profile}"
            );
        }
        let a = store
            .read(|c| {
                page(
                    c,
                    "prf_a",
                    &UserFilter::default(),
                    &UserSort::default(),
                    None,
                    None,
                )
            })
            .await
            .unwrap()
            .tabs
            .unwrap();
        // 40 users, 8 of each status; removed: user 3 (approved) and user 7 (submitted);
        // user 1 draft -> approved; user 2 submitted as before.
        assert_eq!(a.all, 38);
        assert_eq!(a.waiting, 8 - 1);
        assert_eq!(a.approved, 8 - 1 + 1);
        assert_eq!(a.needs_action, 38 - 7 - 8);
    }
}
