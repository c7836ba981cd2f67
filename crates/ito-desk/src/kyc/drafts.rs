//! The local copy of each KYC form (`kyc_forms`, its base in `kyc_bases`): the
//! gateway's form the edits are based on, the values as staff see them, and how
//! sending them is going. The three-way merge that finds conflicts lives here too,
//! apart from any I/O.

use std::collections::{BTreeSet, HashMap};

use ito_api::kyc::{Kyc, KycStatus, KycValues};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use specta::Type;

use super::Keep;
use crate::error::{Error, FieldErrors, Result};

/// How the local copy stands against the gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum SaveState {
    /// The gateway holds every edit.
    Saved,
    /// Edits are waiting for the pause after typing, or being sent.
    Pending,
    /// The gateway could not be reached; the edits are safe on this computer and
    /// are sent when it answers again.
    Offline,
    /// The gateway's form changed since the edits began: staff choose per field.
    Conflict,
    /// The gateway refused some values; they wait for a correction.
    Invalid,
}

impl SaveState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Saved => "saved",
            Self::Pending => "pending",
            Self::Offline => "offline",
            Self::Conflict => "conflict",
            Self::Invalid => "invalid",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "pending" => Self::Pending,
            "offline" => Self::Offline,
            "conflict" => Self::Conflict,
            "invalid" => Self::Invalid,
            _ => Self::Saved,
        }
    }
}

/// Which way a form's edits go to the gateway: the merchant's API, or the user's own
/// session (staff signed in as the user). Stored with the form, so that the sender
/// uses the side it was last edited through and never the other one silently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Merchant,
    User,
}

impl Side {
    fn as_str(self) -> &'static str {
        match self {
            Self::Merchant => "merchant",
            Self::User => "user",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "user" => Self::User,
            _ => Self::Merchant,
        }
    }
}

/// A field both staff and someone else changed: staff's value against the gateway's.
/// `None` is an empty field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct FieldConflict {
    pub field: String,
    pub yours: Option<String>,
    pub theirs: Option<String>,
}

/// The local copy of one user's form.
#[derive(Clone, Debug)]
pub struct Draft {
    pub profile_id: String,
    pub user_id: String,
    pub gateway: Kyc,
    pub local: KycValues,
    pub state: SaveState,
    pub conflicts: Vec<FieldConflict>,
    pub field_errors: FieldErrors,
    pub last_error: Option<String>,
    pub attempts: u32,
    pub next_attempt_at: Option<i64>,
    pub unsent_since: i64,
    pub side: Side,
}

impl Draft {
    /// A copy of the gateway's form with nothing unsent.
    pub fn fresh(profile_id: &str, user_id: &str, gateway: Kyc, side: Side, now: i64) -> Self {
        Self {
            profile_id: profile_id.to_owned(),
            user_id: user_id.to_owned(),
            local: gateway.values.clone(),
            gateway,
            state: SaveState::Saved,
            conflicts: Vec::new(),
            field_errors: FieldErrors::new(),
            last_error: None,
            attempts: 0,
            next_attempt_at: None,
            unsent_since: now,
            side,
        }
    }

    /// The fields whose local value differs from the gateway's, as a `PATCH` sends
    /// them: an emptied field as the empty string, which clears it. Values the
    /// gateway refused are held back until they are edited.
    pub fn changes(&self) -> KycValues {
        changed(&self.gateway.values, &self.local)
            .into_iter()
            .filter(|f| !self.field_errors.contains_key(f))
            .map(|f| {
                let v = self.local.get(&f).cloned().unwrap_or_default();
                (f, v)
            })
            .collect()
    }

    pub fn has_changes(&self) -> bool {
        !changed(&self.gateway.values, &self.local).is_empty()
    }

    /// Fields with unsent edits.
    pub fn unsent(&self) -> Vec<String> {
        changed(&self.gateway.values, &self.local)
            .into_iter()
            .collect()
    }

    /// Unsent edits of a user-side form whose user is not signed in: they stay here
    /// and are not tried again until staff act on the form or the app starts again.
    pub fn waits_for_sign_in(&self) -> bool {
        self.side == Side::User
            && self.state == SaveState::Offline
            && self.next_attempt_at.is_none()
    }

    /// The user's session is gone: nothing is sent, and `message` says why.
    pub fn wait_for_sign_in(&mut self, message: String) {
        self.state = SaveState::Offline;
        self.next_attempt_at = None;
        self.last_error = Some(message);
    }

    /// Staff act on the form through `side` (an edit, a resolved conflict): later
    /// sends go that way, and a form that waited for its user's sign-in is sent again.
    pub fn through(&mut self, side: Side, now: i64) {
        let waited = self.waits_for_sign_in();
        self.side = side;
        if waited {
            self.state = SaveState::Pending;
            self.last_error = None;
            self.restate(now);
        }
    }

    /// Records one edit: an empty value clears the field. It answers any conflict on
    /// the field and any refusal of its old value, and falls due at `due`.
    pub fn edit(&mut self, field: &str, value: String, now: i64, due: i64) {
        if !self.has_changes() {
            self.unsent_since = now;
        }
        if value.trim().is_empty() {
            self.local.remove(field);
        } else {
            self.local.insert(field.to_owned(), value);
        }
        self.field_errors.remove(field);
        self.conflicts.retain(|c| c.field != field);
        if self.state == SaveState::Invalid && self.field_errors.is_empty() {
            self.last_error = None;
        }
        self.restate(due);
    }

    /// Takes the gateway's newer form as the base. Fields only the gateway changed
    /// are taken; fields only staff changed are kept; fields both changed to
    /// different values become conflicts, and nothing is overwritten.
    pub fn rebase(&mut self, newer: Kyc, now: i64) {
        let base = &self.gateway.values;
        let mut conflicts = Vec::new();
        let fields: BTreeSet<String> = base
            .keys()
            .chain(self.local.keys())
            .chain(newer.values.keys())
            .cloned()
            .collect();
        for f in fields {
            let (b, l, t) = (
                value(base, &f),
                value(&self.local, &f),
                value(&newer.values, &f),
            );
            if l == b {
                set(&mut self.local, &f, t);
            } else if t != b && t != l {
                conflicts.push(FieldConflict {
                    field: f.clone(),
                    yours: l.map(str::to_owned),
                    theirs: t.map(str::to_owned),
                });
            }
        }
        self.gateway = newer;
        self.conflicts = conflicts;
        self.restate(now);
    }

    /// Staff's choice for each conflict; every one must be answered.
    pub fn resolve(&mut self, keep: &HashMap<String, Keep>, now: i64) -> Result<()> {
        if self.conflicts.is_empty() {
            return Err(Error::refused("This form has no conflict to resolve."));
        }
        for c in &self.conflicts {
            let chosen = match keep.get(&c.field) {
                Some(Keep::Yours) => &c.yours,
                Some(Keep::Theirs) => &c.theirs,
                None => {
                    return Err(Error::field(
                        &c.field,
                        "Choose your value or the gateway's for this field.",
                    ));
                }
            };
            set(&mut self.local, &c.field, chosen.as_deref());
        }
        self.conflicts.clear();
        self.restate(now);
        Ok(())
    }

    /// After the gateway accepted `sent`: it is the new base, and a sent field staff
    /// did not edit again takes the gateway's normalised value (trimmed, upper case).
    pub fn accepted(&mut self, sent: &KycValues, answer: Kyc) {
        for (f, v) in sent {
            if self.local.get(f).map_or(v.is_empty(), |l| l == v) {
                set(&mut self.local, f, value(&answer.values, f));
            }
        }
        self.gateway = answer;
        self.attempts = 0;
        self.last_error = None;
        let due = self.next_attempt_at.unwrap_or(self.unsent_since);
        self.restate(due);
    }

    /// After the gateway refused some of `sent`: those values wait for a correction
    /// and the rest is sent again at once.
    pub fn refused(&mut self, sent: &KycValues, fields: FieldErrors, message: String, now: i64) {
        let before = self.field_errors.len();
        self.field_errors
            .extend(fields.into_iter().filter(|(f, _)| sent.contains_key(f)));
        if self.field_errors.len() == before {
            // A refusal that names no field it was sent holds back everything sent.
            for f in sent.keys() {
                self.field_errors.insert(f.clone(), vec![message.clone()]);
            }
        }
        self.last_error = Some(message);
        self.restate(now);
    }

    /// Puts the state in line with the facts: a locked gateway form or a conflict
    /// stops sending; nothing unsent is saved; only refused values left is invalid;
    /// anything else waits to be sent at `due`.
    fn restate(&mut self, due: i64) {
        let unsent = self.has_changes();
        if unsent && self.gateway.status.is_locked() {
            self.state = SaveState::Conflict;
            self.last_error = Some(locked_message(self.gateway.status));
            self.next_attempt_at = None;
        } else if !self.conflicts.is_empty() {
            self.state = SaveState::Conflict;
            self.next_attempt_at = None;
        } else if !unsent {
            self.state = SaveState::Saved;
            self.field_errors.clear();
            self.attempts = 0;
            self.next_attempt_at = None;
            self.last_error = None;
        } else if self.changes().is_empty() {
            self.state = SaveState::Invalid;
            self.next_attempt_at = None;
        } else {
            if !matches!(self.state, SaveState::Pending | SaveState::Offline) {
                self.state = SaveState::Pending;
            }
            self.next_attempt_at = Some(due);
        }
    }
}

/// Why a locked form cannot take edits.
pub fn locked_message(status: KycStatus) -> String {
    match status {
        KycStatus::Approved => "This KYC form is approved; it cannot be changed.".into(),
        _ => "This KYC form is submitted and locked for review; it can be edited again only if the review rejects it.".into(),
    }
}

/// A value, with an empty one the same as none.
fn value<'a>(values: &'a KycValues, field: &str) -> Option<&'a str> {
    values
        .get(field)
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
}

fn set(values: &mut KycValues, field: &str, v: Option<&str>) {
    match v {
        Some(v) => values.insert(field.to_owned(), v.to_owned()),
        None => values.remove(field),
    };
}

fn changed(base: &KycValues, local: &KycValues) -> BTreeSet<String> {
    base.keys()
        .chain(local.keys())
        .filter(|f| value(base, f) != value(local, f))
        .cloned()
        .collect()
}

fn json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Internal(format!("encoding a KYC form: {e}")))
}

fn parse<T: for<'de> Deserialize<'de>>(s: &str) -> rusqlite::Result<T> {
    serde_json::from_str(s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// A draft's own columns; its base is in `kyc_bases`.
const COLUMNS: &str = "profile_id, user_id, local_values, state, conflicts, field_errors, \
    last_error, attempts, next_attempt_at, unsent_since, side";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Draft> {
    Ok(Draft {
        profile_id: r.get(0)?,
        user_id: r.get(1)?,
        local: parse(&r.get::<_, String>(2)?)?,
        state: SaveState::parse(&r.get::<_, String>(3)?),
        conflicts: parse(&r.get::<_, String>(4)?)?,
        field_errors: parse(&r.get::<_, String>(5)?)?,
        last_error: r.get(6)?,
        attempts: r.get(7)?,
        next_attempt_at: r.get(8)?,
        unsent_since: r.get(9)?,
        side: Side::parse(&r.get::<_, String>(10)?),
        gateway: parse(&r.get::<_, String>(11)?)?,
    })
}

pub fn get(conn: &Connection, profile_id: &str, user_id: &str) -> Result<Option<Draft>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS}, b.gateway FROM kyc_forms JOIN kyc_bases b USING (profile_id, user_id)
             WHERE profile_id = ?1 AND user_id = ?2"
        ))?
        .query_row(params![profile_id, user_id], from_row)
        .optional()?)
}

/// Stores the draft. Its base is written only when it differs from the stored one, so
/// an edit commits the draft's row alone.
pub fn put(tx: &Transaction<'_>, d: &Draft) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO kyc_bases (profile_id, user_id, gateway) VALUES (?1, ?2, ?3)
         ON CONFLICT (profile_id, user_id) DO UPDATE SET gateway = excluded.gateway
         WHERE gateway IS NOT excluded.gateway",
    )?
    .execute(params![d.profile_id, d.user_id, json(&d.gateway)?])?;
    tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO kyc_forms ({COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))?
    .execute(params![
        d.profile_id,
        d.user_id,
        json(&d.local)?,
        d.state.as_str(),
        json(&d.conflicts)?,
        json(&d.field_errors)?,
        d.last_error,
        d.attempts,
        d.next_attempt_at,
        d.unsent_since,
        d.side.as_str()
    ])?;
    Ok(())
}

pub fn delete(tx: &Transaction<'_>, profile_id: &str, user_id: &str) -> Result<()> {
    for table in ["kyc_forms", "kyc_bases"] {
        tx.prepare_cached(&format!(
            "DELETE FROM {table} WHERE profile_id = ?1 AND user_id = ?2"
        ))?
        .execute(params![profile_id, user_id])?;
    }
    Ok(())
}

/// When the next form falls due to be sent, if any is waiting.
pub fn next_due(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT MIN(next_attempt_at) FROM kyc_forms")?
        .query_row([], |r| r.get(0))?)
}

/// Makes every waiting form due now: a new run tries at once rather than finishing
/// the back-off of the last one, and tries again the forms that waited for their
/// user's sign-in (the user may have been signed in since).
pub fn all_due(tx: &Transaction<'_>, now: i64) -> Result<()> {
    tx.prepare_cached(
        "UPDATE kyc_forms SET next_attempt_at = ?1
         WHERE next_attempt_at > ?1
            OR (side = 'user' AND state = 'offline' AND next_attempt_at IS NULL)",
    )?
    .execute([now])?;
    Ok(())
}

/// The forms to send now, in the order their unsent edits began: every form due by
/// `now`, and before them any waiting form whose edits are older, even if its own
/// back-off or pause has not ended. No form's edits overtake an older form's.
pub fn due(conn: &Connection, now: i64) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT profile_id, user_id FROM kyc_forms
         WHERE next_attempt_at IS NOT NULL AND unsent_since <= (
            SELECT MAX(unsent_since) FROM kyc_forms WHERE next_attempt_at <= ?1)
         ORDER BY unsent_since, user_id",
    )?;
    let rows = stmt.query_map([now], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ito_api::kyc::KycSchema;

    fn kyc(values: &[(&str, &str)]) -> Kyc {
        Kyc {
            status: KycStatus::Draft,
            schema: KycSchema { sections: vec![] },
            values: values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            missing: vec![],
            updated_at: None,
            submitted_at: None,
            reviewed_at: None,
            rejection_reason: None,
        }
    }

    fn draft(base: &[(&str, &str)], local: &[(&str, &str)]) -> Draft {
        let mut d = Draft::fresh("p", "u", kyc(base), Side::Merchant, 0);
        d.local = kyc(local).values;
        d
    }

    #[test]
    fn changes_carry_edits_and_clears_only() {
        let d = draft(&[("a", "1"), ("b", "2")], &[("a", "1"), ("c", "3")]);
        let c = d.changes();
        assert_eq!(c.get("b").map(String::as_str), Some(""));
        assert_eq!(c.get("c").map(String::as_str), Some("3"));
        assert!(!c.contains_key("a"));
    }

    #[test]
    fn rebase_takes_theirs_keeps_yours_and_flags_both() {
        let mut d = draft(
            &[
                ("same", "x"),
                ("theirs", "1"),
                ("yours", "1"),
                ("both", "1"),
            ],
            &[
                ("same", "x"),
                ("theirs", "1"),
                ("yours", "2"),
                ("both", "2"),
            ],
        );
        d.rebase(
            kyc(&[
                ("same", "x"),
                ("theirs", "9"),
                ("yours", "1"),
                ("both", "3"),
                ("new", "n"),
            ]),
            0,
        );
        assert_eq!(d.local["theirs"], "9");
        assert_eq!(d.local["yours"], "2");
        assert_eq!(d.local["new"], "n");
        assert_eq!(d.local["both"], "2", "nothing overwritten silently");
        assert_eq!(
            d.conflicts,
            [FieldConflict {
                field: "both".into(),
                yours: Some("2".into()),
                theirs: Some("3".into())
            }]
        );
        assert_eq!(d.state, SaveState::Conflict);
    }

    #[test]
    fn the_same_change_on_both_sides_is_no_conflict() {
        let mut d = draft(&[("a", "1")], &[("a", "2")]);
        d.rebase(kyc(&[("a", "2")]), 0);
        assert!(d.conflicts.is_empty());
        assert_eq!(d.state, SaveState::Saved);
    }

    #[test]
    fn a_form_waiting_for_its_users_sign_in_goes_again_once_edited() {
        let mut d = draft(&[], &[("city", "港区")]);
        d.through(Side::User, 0);
        d.edit("city", "京都市".into(), 0, 5);
        assert_eq!((d.state, d.next_attempt_at), (SaveState::Pending, Some(5)));
        d.wait_for_sign_in("signed out".into());
        assert!(d.waits_for_sign_in());
        d.through(Side::Merchant, 7);
        assert!(!d.waits_for_sign_in());
        assert_eq!(d.side, Side::Merchant);
        assert_eq!((d.state, d.next_attempt_at), (SaveState::Pending, Some(7)));
        assert_eq!(d.last_error, None);
    }

    #[test]
    fn accepted_values_take_the_gateways_normal_form() {
        let mut d = draft(&[], &[("nationality", "jp"), ("city", "Chiyoda")]);
        let sent = d.changes();
        d.local.insert("city".into(), "Minato".into());
        d.accepted(&sent, kyc(&[("nationality", "JP"), ("city", "Chiyoda")]));
        assert_eq!(d.local["nationality"], "JP");
        assert_eq!(d.local["city"], "Minato", "a later edit is kept");
        assert_eq!(d.unsent(), ["city"]);
    }
}
