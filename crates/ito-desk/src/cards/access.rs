//! The `card_access` table: every reveal and copy of a card's number or CVV, kept
//! on this computer. It records who, when and which card, never the data.

use rusqlite::Connection;
use serde::Serialize;
use specta::Type;

use crate::error::{Error, Result};
use crate::store::rfc3339;

/// The latest entries a card shows.
const SHOWN: u32 = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum CardAction {
    /// The full number and CVV were shown.
    Revealed,
    CopiedNumber,
    CopiedCvv,
}

impl CardAction {
    fn as_str(self) -> &'static str {
        match self {
            Self::Revealed => "revealed",
            Self::CopiedNumber => "copied_number",
            Self::CopiedCvv => "copied_cvv",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "revealed" => Ok(Self::Revealed),
            "copied_number" => Ok(Self::CopiedNumber),
            "copied_cvv" => Ok(Self::CopiedCvv),
            other => Err(Error::Storage(format!("unknown card action {other:?}"))),
        }
    }
}

/// One recorded access to a card's sensitive data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CardAccess {
    pub card_id: String,
    pub action: CardAction,
    /// The OS account that ran the app.
    pub staff: String,
    /// RFC 3339.
    pub at: String,
}

#[derive(Debug)]
pub struct Entry<'a> {
    pub profile_id: &'a str,
    pub user_id: &'a str,
    pub card_id: &'a str,
    pub action: CardAction,
    pub staff: &'a str,
    pub at: i64,
}

pub fn record(conn: &Connection, e: &Entry<'_>) -> Result<()> {
    conn.execute(
        "INSERT INTO card_access (profile_id, user_id, card_id, action, staff, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        (
            e.profile_id,
            e.user_id,
            e.card_id,
            e.action.as_str(),
            e.staff,
            e.at,
        ),
    )?;
    Ok(())
}

/// A card's latest accesses on a profile, newest first.
pub fn latest(conn: &Connection, profile_id: &str, card_id: &str) -> Result<Vec<CardAccess>> {
    let mut stmt = conn.prepare_cached(
        "SELECT card_id, action, staff, at FROM card_access
         WHERE profile_id = ?1 AND card_id = ?2 ORDER BY at DESC, id DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map((profile_id, card_id, SHOWN), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    rows.map(|row| {
        let (card_id, action, staff, at) = row?;
        Ok(CardAccess {
            card_id,
            action: CardAction::parse(&action)?,
            staff,
            at: rfc3339(at),
        })
    })
    .collect()
}
