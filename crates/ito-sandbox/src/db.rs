//! SQLite storage: one writer thread with group commit, a few readers, WAL,
//! embedded migrations.
//!
//! The single writer serialises every state change, which is what makes idempotency,
//! replay refusal and payment state transitions atomic without further locking.
//! Writes queued while a commit is under way run together in the next transaction,
//! each inside its own savepoint, so one commit (the expensive part) serves many
//! requests and a failing write still rolls back alone. Nobody hears back before
//! the commit that made their write durable.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use crate::error::{Error, Result};

/// Migrations in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_payments.sql"),
    include_str!("../migrations/0002_users_oauth_kyc_cards.sql"),
    include_str!("../migrations/0003_oauth_expiry_indexes.sql"),
    include_str!("../migrations/0004_faults.sql"),
    include_str!("../migrations/0005_signature_uses_by_time.sql"),
];

const READERS: usize = 4;
/// Most writes sharing one commit.
const MAX_BATCH: usize = 128;

/// Hands a write's outcome over once its transaction has committed (`None`) or failed.
type Deliver = Box<dyn FnOnce(Option<&rusqlite::Error>) + Send>;
/// A write: given the batch's transaction (or `None` when it could not begin), runs
/// and returns how to deliver its outcome.
type Job = Box<dyn FnOnce(Option<&Transaction<'_>>) -> Deliver + Send>;

#[derive(Clone, Debug)]
pub struct Db {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    durability: Durability,
    writer: Mutex<mpsc::Sender<Job>>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Merchants by access key. Merchants never change once created, so a hit is
    /// always right; a miss (say, one just created by the CLI) reads the database.
    merchants:
        std::sync::RwLock<std::collections::HashMap<String, crate::merchants::MerchantCredentials>>,
}

/// How hard a commit holds on to its data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    /// SQLite's `synchronous=NORMAL` in WAL mode: nothing committed is lost when the
    /// process dies; a power cut may lose the last commits, never the database.
    #[default]
    Normal,
    /// `synchronous=OFF`: nothing committed is lost when the process dies, but an OS crash
    /// or a power cut may corrupt the database. For throwaway sandboxes in CI: checkpoints
    /// no longer wait for the disk, which halves a commit's cost.
    Relaxed,
}

impl Durability {
    fn synchronous(self) -> &'static str {
        match self {
            Self::Normal => "NORMAL",
            Self::Relaxed => "OFF",
        }
    }
}

impl Db {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, Durability::default())
    }

    /// [`Db::open`] with the given durability for this process's connections.
    pub fn open_with(path: &Path, durability: Durability) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut writer = connect(path, OpenFlags::default(), durability)?;
        migrate(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| connect(path, OpenFlags::SQLITE_OPEN_READ_ONLY, durability).map(Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("ito-sandbox-db-writer".into())
            .spawn(move || write_loop(writer, &queue))?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                durability,
                writer: Mutex::new(jobs),
                readers,
                next_reader: AtomicUsize::new(0),
                merchants: Default::default(),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn submit<T, F>(&self, f: F) -> Result<oneshot::Receiver<Result<T>>>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let (reply, outcome) = oneshot::channel();
        let job: Job = Box::new(move |tx| {
            let result = match tx {
                Some(tx) => in_savepoint(tx, f),
                None => Err(Error::Internal("cannot begin a write transaction".into())),
            };
            Box::new(move |commit_error| {
                let result = match commit_error {
                    Some(e) => Err(Error::Internal(format!("commit failed: {e}"))),
                    None => result,
                };
                let _ = reply.send(result);
            })
        });
        self.inner
            .writer
            .lock()
            .map_err(|_| Error::Internal("writer queue poisoned".into()))?
            .send(job)
            .map_err(|_| Error::Internal("the database writer has stopped".into()))?;
        Ok(outcome)
    }

    /// Runs `f` as one atomic write; it takes effect only when `f` succeeds, and this
    /// returns once it is committed.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        self.submit(f)?
            .await
            .map_err(|_| Error::Internal("the database writer has stopped".into()))?
    }

    /// Runs `f` on a read-only connection.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let i = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            let conn = inner.readers[i]
                .lock()
                .map_err(|_| Error::Internal("reader lock poisoned".into()))?;
            f(&conn)
        })
        .await
        .map_err(|e| Error::Internal(format!("database task failed: {e}")))?
    }

    /// The merchant whose API access key is `key`, from memory when seen before.
    pub async fn merchant_by_access_key(
        &self,
        key: &str,
    ) -> Result<Option<crate::merchants::MerchantCredentials>> {
        if let Some(m) = self
            .inner
            .merchants
            .read()
            .ok()
            .and_then(|c| c.get(key).cloned())
        {
            return Ok(Some(m));
        }
        let owned = key.to_owned();
        let found = self
            .read(move |c| crate::merchants::by_access_key(c, &owned))
            .await?;
        if let (Some(m), Ok(mut cache)) = (&found, self.inner.merchants.write()) {
            cache.insert(key.to_owned(), m.clone());
        }
        Ok(found)
    }

    /// Synchronous write for command-line use outside a runtime, on a connection of
    /// its own: the CLI may write while a server (another process) runs.
    pub fn write_now<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = connect(
            &self.inner.path,
            OpenFlags::default(),
            self.inner.durability,
        )?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Synchronous read for command-line use outside a runtime.
    pub fn read_now<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.inner.readers[0]
            .lock()
            .map_err(|_| Error::Internal("reader lock poisoned".into()))?;
        f(&conn)
    }
}

/// Runs `f` so that its changes are undone, alone, when it fails.
fn in_savepoint<T>(
    tx: &Transaction<'_>,
    f: impl FnOnce(&Transaction<'_>) -> Result<T>,
) -> Result<T> {
    // Cached: parsing these two on every write was a visible share of the writer's time.
    tx.prepare_cached("SAVEPOINT job")?.execute([])?;
    match f(tx) {
        Ok(v) => {
            tx.prepare_cached("RELEASE job")?.execute([])?;
            Ok(v)
        }
        Err(e) => {
            tx.execute_batch("ROLLBACK TO job; RELEASE job")?;
            Err(e)
        }
    }
}

/// The writer thread: takes every queued job, runs them in one transaction, commits
/// once, then answers them all. Ends when every `Db` handle is gone.
fn write_loop(mut conn: Connection, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(tx) => tx,
            Err(e) => {
                tracing::error!(error = %e, "cannot begin a write transaction");
                for job in batch {
                    job(None)(None);
                }
                continue;
            }
        };
        let delivers: Vec<Deliver> = batch.into_iter().map(|job| job(Some(&tx))).collect();
        let committed = tx.commit();
        for deliver in delivers {
            deliver(committed.as_ref().err());
        }
    }
}

fn connect(path: &Path, flags: OpenFlags, durability: Durability) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, flags)?;
    // Another process (`ito-sandbox merchant create`) may write while a server runs.
    conn.busy_timeout(Duration::from_secs(5))?;
    if !flags.contains(OpenFlags::SQLITE_OPEN_READ_ONLY) {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    conn.pragma_update(None, "synchronous", durability.synchronous())?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
    let done: usize = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if done > MIGRATIONS.len() {
        return Err(Error::Config(format!(
            "database schema version {done} is newer than this ito-sandbox ({})",
            MIGRATIONS.len()
        )));
    }
    for sql in &MIGRATIONS[done..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len())?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_idempotent_and_refuse_newer_schemas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        drop(Db::open(&path).unwrap());
        drop(Db::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        drop(conn);
        assert!(matches!(Db::open(&path), Err(Error::Config(_))));
    }

    #[test]
    fn replay_records_survive_their_move_to_a_time_first_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let conn = Connection::open(&path).unwrap();
        for sql in &MIGRATIONS[..4] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 4).unwrap();
        conn.execute(
            "INSERT INTO signature_uses (merchant_id, signature, timestamp) VALUES ('m1', 'abc', 1700000000)",
            [],
        )
        .unwrap();
        drop(conn);
        let db = Db::open(&path).unwrap();
        let replayed = db
            .write_now(|tx| {
                Ok(tx.execute(
                    "INSERT OR IGNORE INTO signature_uses (merchant_id, signature, timestamp) VALUES ('m1', 'abc', 1700000000)",
                    [],
                )?)
            })
            .unwrap();
        assert_eq!(replayed, 0, "the moved record still refuses its replay");
    }
}
