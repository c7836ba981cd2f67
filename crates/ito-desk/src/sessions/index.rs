//! The `user_sessions` table: which users are signed in on which profile, and until
//! when their access token runs. Nothing secret: the tokens are in the keychain.

use rusqlite::{Connection, OptionalExtension, Row};

use crate::error::Result;

/// One signed-in user, as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    pub profile_id: String,
    pub user_id: String,
    /// Unix ms.
    pub expires_at: i64,
    pub scope: Option<String>,
    /// Unix ms.
    pub signed_in_at: i64,
}

const COLUMNS: &str = "profile_id, user_id, expires_at, scope, signed_in_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        profile_id: r.get(0)?,
        user_id: r.get(1)?,
        expires_at: r.get(2)?,
        scope: r.get(3)?,
        signed_in_at: r.get(4)?,
    })
}

/// Records a new sign-in, replacing an earlier one of the same user.
pub fn put(conn: &Connection, row: &SessionRow) -> Result<()> {
    conn.execute(
        "INSERT INTO user_sessions (profile_id, user_id, expires_at, scope, signed_in_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (profile_id, user_id) DO UPDATE SET
            expires_at = excluded.expires_at, scope = excluded.scope,
            signed_in_at = excluded.signed_in_at",
        (
            &row.profile_id,
            &row.user_id,
            row.expires_at,
            &row.scope,
            row.signed_in_at,
        ),
    )?;
    Ok(())
}

/// After a refresh: the new expiry and scope. `None` when the row is gone.
pub fn refreshed(
    conn: &Connection,
    profile_id: &str,
    user_id: &str,
    expires_at: i64,
    scope: Option<&str>,
) -> Result<Option<SessionRow>> {
    conn.execute(
        "UPDATE user_sessions SET expires_at = ?3, scope = ?4
         WHERE profile_id = ?1 AND user_id = ?2",
        (profile_id, user_id, expires_at, scope),
    )?;
    get(conn, profile_id, user_id)
}

pub fn get(conn: &Connection, profile_id: &str, user_id: &str) -> Result<Option<SessionRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM user_sessions WHERE profile_id = ?1 AND user_id = ?2"
        ))?
        .query_row((profile_id, user_id), from_row)
        .optional()?)
}

/// A profile's signed-in users, the latest sign-in first.
pub fn list(conn: &Connection, profile_id: &str) -> Result<Vec<SessionRow>> {
    let rows = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM user_sessions WHERE profile_id = ?1
             ORDER BY signed_in_at DESC, user_id"
        ))?
        .query_map([profile_id], from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub fn delete(conn: &Connection, profile_id: &str, user_id: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM user_sessions WHERE profile_id = ?1 AND user_id = ?2",
        (profile_id, user_id),
    )?;
    Ok(())
}
