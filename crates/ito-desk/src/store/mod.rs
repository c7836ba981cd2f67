//! The local SQLite database in the app-data directory: embedded migrations, WAL, one writer.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use crate::error::{Error, Result};

/// Migrations in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_payments.sql"),
    include_str!("migrations/0003_payments_text_index.sql"),
    include_str!("migrations/0004_users.sql"),
    include_str!("migrations/0005_users_counts.sql"),
    include_str!("migrations/0006_kyc.sql"),
    include_str!("migrations/0007_user_sessions.sql"),
    include_str!("migrations/0008_card_access.sql"),
    include_str!("migrations/0009_kyc_side.sql"),
    include_str!("migrations/0010_kyc_bases.sql"),
    include_str!("migrations/0011_users_versions.sql"),
];

/// A cheap handle: one writer connection and one reader connection, each used from
/// blocking threads so the async runtime never waits on disk.
#[derive(Clone, Debug)]
pub struct Store {
    path: Arc<PathBuf>,
    writer: Arc<Mutex<Connection>>,
    reader: Arc<Mutex<Connection>>,
}

impl Store {
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::Storage(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        migrate(&mut writer)?;
        let reader = Connection::open(path)?;
        configure(&reader)?;
        Ok(Self {
            path: Arc::new(path.to_owned()),
            writer: Arc::new(Mutex::new(writer)),
            reader: Arc::new(Mutex::new(reader)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in a transaction on the single writer connection.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let writer = Arc::clone(&self.writer);
        tokio::task::spawn_blocking(move || {
            let mut conn = writer
                .lock()
                .map_err(|_| Error::Storage("writer lock poisoned".into()))?;
            let tx = conn.transaction()?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await?
    }

    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let reader = Arc::clone(&self.reader);
        tokio::task::spawn_blocking(move || {
            let conn = reader
                .lock()
                .map_err(|_| Error::Storage("reader lock poisoned".into()))?;
            f(&conn)
        })
        .await?
    }

    pub async fn setting(&self, key: &'static str) -> Result<Option<String>> {
        self.read(move |c| {
            use rusqlite::OptionalExtension;
            Ok(
                c.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
                .optional()?,
            )
        })
        .await
    }

    pub async fn set_setting(&self, key: &'static str, value: Option<String>) -> Result<()> {
        self.write(move |tx| {
            match value {
                Some(v) => tx.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, v),
                )?,
                None => tx.execute("DELETE FROM settings WHERE key = ?1", [key])?,
            };
            Ok(())
        })
        .await
    }
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a webhook is answered 2xx only once stored, so a commit must survive a
    // power cut, not only a crash of the app.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let done: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if done > MIGRATIONS.len() {
        return Err(Error::Storage(format!(
            "the database was written by a newer version of the app (schema {done}, this one knows {})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A stored unix-ms time as the UI receives times: RFC 3339, UTC, to the millisecond.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn migrates_once_and_uses_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("desk.db");
        let store = Store::open(&path).unwrap();
        store
            .set_setting("language", Some("ja".into()))
            .await
            .unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store.setting("language").await.unwrap().as_deref(),
            Some("ja")
        );
        let mode: String = store
            .read(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(mode, "wal");
    }

    /// A draft stored before its base moved to `kyc_bases` keeps its base and edits.
    #[test]
    fn a_kyc_draft_keeps_its_base_across_the_split() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("desk.db");
        let mut conn = Connection::open(&path).unwrap();
        let split = MIGRATIONS
            .iter()
            .position(|m| m.contains("CREATE TABLE kyc_bases"))
            .unwrap();
        {
            let tx = conn.transaction().unwrap();
            for m in &MIGRATIONS[..split] {
                tx.execute_batch(m).unwrap();
            }
            tx.pragma_update(None, "user_version", split).unwrap();
            tx.execute(
                "INSERT INTO kyc_forms (profile_id, user_id, gateway, local_values, state, unsent_since)
                 VALUES ('p', 'u', '{\"status\":\"draft\"}', '{\"city\":\"京都\"}', 'pending', 1)",
                [],
            )
            .unwrap();
            tx.commit().unwrap();
        }
        migrate(&mut conn).unwrap();
        let (gateway, local): (String, String) = conn
            .query_row(
                "SELECT b.gateway, f.local_values FROM kyc_forms f JOIN kyc_bases b USING (profile_id, user_id)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(gateway, r#"{"status":"draft"}"#);
        assert_eq!(local, r#"{"city":"京都"}"#);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("desk.db");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        assert!(matches!(Store::open(&path), Err(Error::Storage(_))));
    }
}
