//! Substring search over a profile's directory, in memory.
//!
//! Every search needs its matches counted per KYC status (the tabs), and a search of
//! one or two characters, or one that matches most users, would have SQLite read every
//! user's search text: 50–190 ms at 100 000 users. Here the profile's search texts sit
//! in one buffer that a SIMD substring search crosses in a few milliseconds. The
//! buffer is rebuilt when the profile's directory has changed in anything a search
//! reads: triggers count those changes in `users_versions` (migration 0011), and the
//! version is read before the rows, so a snapshot is never labelled newer than it is.

use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;

use super::directory::KycState;

/// Ends every user's text in the buffer: no search term holds it, so no match spans
/// two users.
const SEPARATOR: u8 = 0;

/// The matching users, and how many of them are in each KYC status (in
/// [`KycState::ALL`]'s order).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Matches {
    pub ids: Vec<i64>,
    pub counts: [i64; KycState::ALL.len()],
}

/// Narrows the matches as the list's other filters do.
#[derive(Clone, Copy, Debug, Default)]
pub struct Narrow<'a> {
    /// Upper case, as stored.
    pub country: Option<&'a str>,
    /// A bit of `users.held`.
    pub held: Option<i64>,
}

/// One profile's search texts as read at `version`.
#[derive(Debug)]
struct Snapshot {
    db: String,
    profile_id: String,
    version: i64,
    /// Every user's search text followed by [`SEPARATOR`].
    text: Vec<u8>,
    /// Where each user's text starts in `text`, in the order of `users`.
    starts: Vec<usize>,
    users: Vec<Entry>,
    /// The distinct countries, which entries point into.
    countries: Vec<String>,
}

#[derive(Debug)]
struct Entry {
    id: i64,
    status: usize,
    /// In `countries`.
    country: Option<usize>,
    held: i64,
}

/// The latest snapshots, newest first: staff search a profile or two at a time.
static LATEST: Mutex<Vec<Arc<Snapshot>>> = Mutex::new(Vec::new());
/// Snapshots kept (15–20 MB each at 100 000 users).
const KEPT: usize = 3;

/// The users of `profile_id` whose search text holds `term`, narrowed by `narrow`.
pub fn matches(
    conn: &Connection,
    profile_id: &str,
    term: &str,
    narrow: Narrow<'_>,
) -> Result<Matches> {
    let snapshot = snapshot(conn, profile_id)?;
    let mut found = Matches::default();
    if term.is_empty() || term.as_bytes().contains(&SEPARATOR) {
        return Ok(found);
    }
    let finder = memchr::memmem::Finder::new(term.as_bytes());
    let mut from = 0;
    while let Some(offset) = finder.find(&snapshot.text[from..]) {
        let at = from + offset;
        // The user whose text holds `at`; the next search starts after it, so each
        // user is counted once.
        let i = snapshot.starts.partition_point(|&s| s <= at) - 1;
        from = snapshot
            .starts
            .get(i + 1)
            .copied()
            .unwrap_or(snapshot.text.len());
        let user = &snapshot.users[i];
        let country = user.country.map(|c| snapshot.countries[c].as_str());
        if narrow.country.is_some_and(|c| country != Some(c))
            || narrow.held.is_some_and(|bit| user.held & bit == 0)
        {
            continue;
        }
        found.ids.push(user.id);
        found.counts[user.status] += 1;
    }
    Ok(found)
}

/// The profile's snapshot, read again when the directory changed since.
fn snapshot(conn: &Connection, profile_id: &str) -> Result<Arc<Snapshot>> {
    // An in-memory database has no name to tell it from another: never cached.
    let db = conn.path().unwrap_or_default().to_owned();
    let version: i64 = conn
        .prepare_cached("SELECT version FROM users_versions WHERE profile_id = ?1")?
        .query_row(params![profile_id], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    let cached = LATEST.lock().ok().and_then(|latest| {
        latest
            .iter()
            .find(|s| s.db == db && s.profile_id == profile_id && s.version == version)
            .cloned()
    });
    if let Some(s) = cached.filter(|_| !db.is_empty()) {
        return Ok(s);
    }
    let started = std::time::Instant::now();
    let mut snapshot = Snapshot {
        db,
        profile_id: profile_id.to_owned(),
        version,
        text: Vec::new(),
        starts: Vec::new(),
        users: Vec::new(),
        countries: Vec::new(),
    };
    // users_text holds every column read here: a scan of it, not of the table.
    let mut stmt = conn.prepare_cached(
        "SELECT id, kyc_status, country, held, search_text FROM users INDEXED BY users_text
         WHERE profile_id = ?1",
    )?;
    let mut rows = stmt.query(params![profile_id])?;
    while let Some(r) = rows.next()? {
        let status = match r.get_ref(1)? {
            rusqlite::types::ValueRef::Text(s) => KycState::ALL
                .iter()
                .position(|k| k.as_str().as_bytes() == s)
                .unwrap_or(0),
            _ => 0,
        };
        snapshot.starts.push(snapshot.text.len());
        if let rusqlite::types::ValueRef::Text(text) = r.get_ref(4)? {
            snapshot.text.extend_from_slice(text);
        }
        snapshot.text.push(SEPARATOR);
        let country = match r.get_ref(2)? {
            rusqlite::types::ValueRef::Text(c) => {
                let c = String::from_utf8_lossy(c);
                Some(
                    match snapshot.countries.iter().position(|known| *known == c) {
                        Some(i) => i,
                        None => {
                            snapshot.countries.push(c.into_owned());
                            snapshot.countries.len() - 1
                        }
                    },
                )
            }
            _ => None,
        };
        snapshot.users.push(Entry {
            id: r.get(0)?,
            status,
            country,
            held: r.get(3)?,
        });
    }
    tracing::debug!(
        users = snapshot.users.len(),
        bytes = snapshot.text.len(),
        version,
        took = ?started.elapsed(),
        "directory search snapshot read"
    );
    let snapshot = Arc::new(snapshot);
    if let (false, Ok(mut latest)) = (snapshot.db.is_empty(), LATEST.lock()) {
        latest.retain(|s| !(s.db == snapshot.db && s.profile_id == snapshot.profile_id));
        latest.insert(0, Arc::clone(&snapshot));
        latest.truncate(KEPT);
    }
    Ok(snapshot)
}

#[cfg(test)]
mod tests {
    use ito_api::kyc::KycStatus;
    use ito_api::users::User;

    use super::*;
    use crate::users::directory::{mark_gone, remove, set_kyc, upsert};

    fn user(i: usize) -> User {
        User {
            id: ito_api::UserId::new(format!("usr_{i:05}")),
            email: format!("user{i}@example.jp"),
            name: if i.is_multiple_of(2) {
                format!("佐藤 {i}")
            } else {
                format!("Emily Carter {i}")
            },
            phone: Some(format!("+8190{:08}", i * 7919)),
            country: Some(["JP", "SG", "US"][i % 3].to_owned()),
            kyc_status: KycStatus::ALL[i % 5],
            created_at: chrono::Utc::now(),
        }
    }

    /// What SQLite finds for the same term and filters, counted per status.
    fn by_sql(conn: &Connection, profile_id: &str, term: &str, narrow: Narrow<'_>) -> Matches {
        let mut stmt = conn
            .prepare(
                "SELECT id, kyc_status FROM users WHERE profile_id = ?1 AND instr(search_text, ?2) > 0
                 AND (?3 IS NULL OR country = ?3) AND (?4 IS NULL OR held & ?4 <> 0) ORDER BY id",
            )
            .unwrap();
        let mut found = Matches::default();
        let rows = stmt
            .query_map(
                params![profile_id, term, narrow.country, narrow.held],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )
            .unwrap();
        for row in rows {
            let (id, status) = row.unwrap();
            found.ids.push(id);
            found.counts[KycState::ALL
                .iter()
                .position(|k| k.as_str() == status)
                .unwrap()] += 1;
        }
        found
    }

    fn sorted(mut m: Matches) -> Matches {
        m.ids.sort_unstable();
        m
    }

    /// The snapshot answers as SQLite's own substring match would, and follows every
    /// kind of change to the directory without being told.
    #[tokio::test]
    async fn matches_equal_sqlite_through_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("desk.db")).unwrap();
        store
            .write(|tx| {
                for i in 0..300 {
                    upsert(tx, "prf_a", &user(i), 0)?;
                }
                upsert(tx, "prf_b", &user(7), 0)?;
                Ok(())
            })
            .await
            .unwrap();
        let terms = [
            "佐藤",
            "佐",
            "emily",
            "y c",
            "user1",
            "@example.jp",
            "usr_00042",
            "81900",
            "9007919",
            "nobody",
            "e",
            "\u{0}",
        ];
        // After "filled", each profile's snapshot is cached: "changed" must see the
        // changes through them.
        let check = |label: &'static str| {
            store.read(move |c| {
                for profile in ["prf_a", "prf_b", "prf_none"] {
                    for term in terms {
                        for narrow in [
                            Narrow::default(),
                            Narrow {
                                country: Some("SG"),
                                held: None,
                            },
                            Narrow {
                                country: None,
                                held: Some(1),
                            },
                        ] {
                            let ours = sorted(matches(c, profile, term, narrow)?);
                            let theirs = if term.contains('\u{0}') {
                                Matches::default()
                            } else {
                                by_sql(c, profile, term, narrow)
                            };
                            assert_eq!(ours, theirs, "{label}: {profile} {term:?} {narrow:?}");
                        }
                    }
                }
                Ok(())
            })
        };
        check("filled").await.unwrap();
        store
            .write(|tx| {
                // A new user, a renamed one, a status change, a removal, a user found
                // gone, and balances that change what the user holds.
                upsert(tx, "prf_a", &user(300), 0)?;
                let mut renamed = user(10);
                renamed.name = "佐藤 改名".into();
                upsert(tx, "prf_a", &renamed, 0)?;
                set_kyc(tx, "prf_a", "usr_00011", KycState::Approved, None)?;
                remove(tx, "prf_a", "usr_00012")?;
                mark_gone(tx, "prf_a", "usr_00013", 0)?;
                crate::users::directory::store_balances(
                    tx,
                    "prf_a",
                    "usr_00014",
                    &[ito_api::users::Balance {
                        currency: ito_api::Currency::Jpy,
                        available: ito_api::Money::from_minor(500, ito_api::Currency::Jpy),
                        pending: ito_api::Money::zero(ito_api::Currency::Jpy),
                    }],
                    0,
                )?;
                Ok(())
            })
            .await
            .unwrap();
        check("changed").await.unwrap();
    }
}
