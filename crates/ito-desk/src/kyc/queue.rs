//! The KYC queue: the profile's users grouped by what KYC needs from staff, with
//! counts, read from the directory.

use std::collections::HashMap;

use rusqlite::{Connection, params};
use serde::Serialize;
use specta::Type;

use crate::error::Result;
use crate::users::directory::{self, DirectoryUser, KycState};

/// Users listed per group; the counts cover them all.
pub const GROUP_LIMIT: u32 = 200;

#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct QueueUser {
    pub user: DirectoryUser,
    /// RFC 3339; when the form was submitted, once the desk has read it.
    pub submitted_at: Option<String>,
    /// Staff's edits to this form are not all on the gateway yet.
    pub unsent: bool,
}

#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct QueueGroup {
    /// Every user in the group, listed or not.
    pub total: u32,
    /// The first [`GROUP_LIMIT`] users, in the group's order.
    pub users: Vec<QueueUser>,
}

#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct KycQueue {
    /// Not started, draft or rejected: rejected first, then drafts, newest first.
    pub needs_action: QueueGroup,
    /// Submitted: the longest waiting first.
    pub waiting: QueueGroup,
    /// Newest first.
    pub approved: QueueGroup,
    /// Users per status, every status listed.
    pub counts: Vec<KycCount>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Type)]
pub struct KycCount {
    pub status: KycState,
    pub count: u32,
}

const NEEDS_ACTION: &str = "kyc_status IN ('rejected', 'draft', 'not_started')
    ORDER BY CASE kyc_status WHEN 'rejected' THEN 0 WHEN 'draft' THEN 1 ELSE 2 END,
        created_at DESC, user_id";
const WAITING: &str = "kyc_status = 'submitted'
    ORDER BY kyc_submitted_at IS NULL, kyc_submitted_at, created_at, user_id";
const APPROVED: &str = "kyc_status = 'approved' ORDER BY created_at DESC, user_id";

fn group(conn: &Connection, profile_id: &str, condition: &str, total: u32) -> Result<QueueGroup> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT u.user_id, u.kyc_submitted_at, EXISTS (SELECT 1 FROM kyc_forms f
            WHERE f.profile_id = u.profile_id AND f.user_id = u.user_id AND f.state != 'saved')
         FROM users u WHERE u.profile_id = ?1 AND u.gone_at IS NULL AND {condition} LIMIT ?2"
    ))?;
    let listed = stmt
        .query_map(params![profile_id, GROUP_LIMIT], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, bool>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let ids: Vec<String> = listed.iter().map(|(id, ..)| id.clone()).collect();
    let mut rows: HashMap<String, DirectoryUser> = directory::get_many(conn, profile_id, &ids)?
        .into_iter()
        .map(|u| (u.user_id.clone(), u))
        .collect();
    let users = listed
        .into_iter()
        .filter_map(|(id, submitted, unsent)| {
            Some(QueueUser {
                user: rows.remove(&id)?,
                submitted_at: submitted
                    .and_then(chrono::DateTime::from_timestamp_millis)
                    .map(|t| t.to_rfc3339()),
                unsent,
            })
        })
        .collect();
    Ok(QueueGroup { total, users })
}

pub fn queue(conn: &Connection, profile_id: &str) -> Result<KycQueue> {
    let mut counts: HashMap<String, i64> = conn
        .prepare_cached(
            "SELECT kyc_status, COUNT(*) FROM users WHERE profile_id = ?1 AND gone_at IS NULL
             GROUP BY kyc_status",
        )?
        .query_map([profile_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let counts: Vec<KycCount> = KycState::ALL
        .into_iter()
        .map(|status| KycCount {
            status,
            count: u32::try_from(counts.remove(status.as_str()).unwrap_or(0)).unwrap_or(u32::MAX),
        })
        .collect();
    let sum = |states: &[KycState]| {
        counts
            .iter()
            .filter(|c| states.contains(&c.status))
            .map(|c| c.count)
            .sum()
    };
    Ok(KycQueue {
        needs_action: group(
            conn,
            profile_id,
            NEEDS_ACTION,
            sum(&[KycState::NotStarted, KycState::Draft, KycState::Rejected]),
        )?,
        waiting: group(conn, profile_id, WAITING, sum(&[KycState::Submitted]))?,
        approved: group(conn, profile_id, APPROVED, sum(&[KycState::Approved]))?,
        counts,
    })
}

/// Users waiting for review whose submission time the desk has not read yet.
pub fn waiting_unknown(conn: &Connection, profile_id: &str, limit: u32) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT user_id FROM users WHERE profile_id = ?1 AND gone_at IS NULL
            AND kyc_status = 'submitted' AND kyc_submitted_at IS NULL
         ORDER BY created_at LIMIT ?2",
    )?;
    let ids = stmt.query_map(params![profile_id, limit], |r| r.get(0))?;
    Ok(ids.collect::<rusqlite::Result<_>>()?)
}
