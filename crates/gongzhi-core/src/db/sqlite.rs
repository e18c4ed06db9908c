//! SQLite through its C API (rusqlite, bundled): a small pool of connections, each keeping its
//! prepared statements. A statement runs on the calling thread — a point query takes
//! microseconds, less than handing it to another thread would — and only a commit steps aside
//! from the async runtime.
//!
//! **Durability of the writer.** An acknowledged write is on the disk, as with
//! `synchronous=FULL`, but the wait for the disk is taken after the write lock is given back:
//! the write connection commits with `synchronous=NORMAL` (the commit's frames written to the
//! write-ahead log, not yet synced), hands the connection to the next writer, and only then
//! syncs the log ([`WalSync`]) before its commit returns. The next write runs while the disk
//! works, and one sync covers every commit made before it started (group sync). Nothing is
//! lost that was acknowledged: a commit returns only after a sync that began after the commit's
//! frames were written; frames after the last synced commit are dropped by SQLite's own
//! recovery (checksummed frames, commit markers), and a checkpoint syncs the log before it
//! copies pages and the database after, so frames a later write reuses were durable first.
//!
//! **Checkpoints off the write path.** The writer does not checkpoint (`wal_autocheckpoint =
//! 0`): with a stored history every batch dirties index pages all over the file, and copying
//! them into the database inside a commit held the write lock for tens of milliseconds. After
//! a sync, a passive checkpoint (which waits for no reader or writer) runs on a connection of
//! its own in the background, at most one at a time and at most every [`CHECKPOINT_EVERY`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::value::{Param, Row, Value};
use crate::error::{StorageError, StorageKind};
use crate::{Error, Result};

/// Statements each connection keeps prepared (every module's queries fit).
const STATEMENTS_KEPT: usize = 512;

/// The writer's page cache (KiB): the upper levels of every index a write touches stay in
/// memory at tens of millions of rows (SQLite's default is 2 MiB per connection).
const WRITER_CACHE_KIB: i64 = 64 * 1024;

/// How often the background checkpoint may run under a steady stream of writes.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

pub(super) struct Pool {
    path: String,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
    /// The writer's pool syncs the write-ahead log itself, after each commit (see above).
    wal: Option<Arc<WalSync>>,
}

impl Pool {
    /// `size` connections; `writer`: the pool writes go through, whose commits sync the log
    /// outside the write lock (the others commit with `synchronous=FULL`).
    pub(super) fn new(path: &str, size: usize, writer: bool) -> Result<Arc<Pool>> {
        let pool = Arc::new(Pool {
            path: path.to_string(),
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(size)),
            wal: writer.then(|| {
                Arc::new(WalSync {
                    db: path.to_string(),
                    wal: PathBuf::from(format!("{path}-wal")),
                    committed: AtomicU64::new(0),
                    synced: tokio::sync::Mutex::new(0),
                    checkpointer: Mutex::new(Checkpointer::default()),
                })
            }),
        });
        // Open one now so a bad path fails at start, not at the first request.
        let first = pool.open()?;
        pool.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(first);
        Ok(pool)
    }

    /// Every connection's settings: WAL for concurrent readers; FULL so an acknowledged
    /// commit survives a crash, or on the writer NORMAL with the log synced after each commit.
    fn open(&self) -> Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        if self.wal.is_some() {
            conn.execute_batch(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -{WRITER_CACHE_KIB}"
            ))?;
        } else {
            conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL")?;
        }
        conn.set_prepared_statement_cache_capacity(STATEMENTS_KEPT);
        Ok(conn)
    }

    pub(super) async fn acquire(self: &Arc<Self>) -> Result<Lease> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::internal("the database is closed"))?;
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(c) => c,
            None => self.open()?,
        };
        Ok(Lease {
            conn: Some(conn),
            pool: self.clone(),
            in_tx: false,
            _permit: permit,
        })
    }

    pub(super) fn close(&self) {
        self.permits.close();
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
        if let Some(wal) = &self.wal {
            wal.checkpointer
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .conn = None;
        }
    }
}

/// A connection taken from the pool; back to it when dropped, rolled back if a transaction
/// was left open.
pub(super) struct Lease {
    conn: Option<Connection>,
    pool: Arc<Pool>,
    in_tx: bool,
    _permit: OwnedSemaphorePermit,
}

impl Lease {
    fn conn(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("a lease holds its connection until dropped")
    }

    pub(super) fn run(
        &mut self,
        sql: &str,
        params: &[Param],
        sink: &mut dyn FnMut(Row) -> Result<bool>,
    ) -> Result<u64> {
        run(self.conn(), sql, params, sink)
    }

    pub(super) fn begin(&mut self, sql: &str) -> Result<()> {
        self.conn().execute_batch(sql)?;
        self.in_tx = true;
        Ok(())
    }

    /// Ends the transaction (`COMMIT` or `ROLLBACK`), off the async workers when they are many
    /// (a commit may wait for the disk, or run a checkpoint). On the writer, a commit answers
    /// the sync still owed: await it ([`Owed::paid`]) after giving the connection back.
    pub(super) fn finish(&mut self, sql: &str) -> Result<Option<Owed>> {
        let conn = self.conn();
        let done = blocking(|| conn.execute_batch(sql));
        // On failure SQLite may have kept the transaction open; the drop rolls it back.
        if done.is_ok() || conn.is_autocommit() {
            self.in_tx = false;
        }
        done?;
        Ok(match &self.pool.wal {
            Some(wal) if sql == "COMMIT" => Some(Owed {
                ticket: wal.committed.fetch_add(1, Ordering::SeqCst) + 1,
                wal: wal.clone(),
            }),
            _ => None,
        })
    }
}

/// The writer's syncs of the write-ahead log: commits are counted in the order they are made
/// (one writer), and a sync covers every commit counted before it started.
pub(super) struct WalSync {
    db: String,
    wal: PathBuf,
    committed: AtomicU64,
    /// The last commit known to be on the disk; held while a sync runs, so syncs queue and a
    /// commit covered by the sync before it returns without another.
    synced: tokio::sync::Mutex<u64>,
    checkpointer: Mutex<Checkpointer>,
}

/// The background checkpoint's connection (opened at its first run) and when it last started.
#[derive(Default)]
struct Checkpointer {
    conn: Option<Connection>,
    running: bool,
    started: Option<std::time::Instant>,
}

impl WalSync {
    /// Starts a passive checkpoint in the background unless one runs or ran just now.
    fn checkpoint_soon(self: &Arc<Self>) {
        {
            let mut c = self.checkpointer.lock().unwrap_or_else(|e| e.into_inner());
            if c.running || c.started.is_some_and(|t| t.elapsed() < CHECKPOINT_EVERY) {
                return;
            }
            c.running = true;
            c.started = Some(std::time::Instant::now());
        }
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = this.checkpointer.lock().unwrap_or_else(|e| e.into_inner());
            let conn = match c.conn.take() {
                Some(conn) => Ok(conn),
                None => Connection::open_with_flags(
                    &this.db,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .and_then(|conn| {
                    conn.busy_timeout(Duration::from_secs(1))?;
                    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 0")?;
                    Ok(conn)
                }),
            };
            drop(c);
            // Best effort: a checkpoint that fails now is made by the next one.
            let conn = conn.ok().inspect(|conn| {
                if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
                    tracing::warn!("background checkpoint: {e}");
                }
            });
            let mut c = this.checkpointer.lock().unwrap_or_else(|e| e.into_inner());
            c.conn = conn;
            c.running = false;
        });
    }
}

/// A commit made but not yet synced.
#[must_use = "a commit is durable only once its sync is paid"]
pub(super) struct Owed {
    ticket: u64,
    wal: Arc<WalSync>,
}

impl Owed {
    /// Returns once the commit is on the disk.
    pub(super) async fn paid(self) -> Result<()> {
        let mut synced = self.wal.synced.lock().await;
        if *synced >= self.ticket {
            return Ok(());
        }
        let covered = self.wal.committed.load(Ordering::SeqCst);
        let path = self.wal.wal.clone();
        let sync = move || match std::fs::File::open(&path) {
            Ok(f) => f.sync_data(),
            // No log left: the last connection checkpointed it into the database and synced.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        };
        tokio::task::spawn_blocking(sync)
            .await
            .map_err(Error::internal)?
            .map_err(|e| Error::internal(format!("syncing the write-ahead log: {e}")))?;
        *synced = covered;
        drop(synced);
        self.wal.checkpoint_soon();
        Ok(())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if self.in_tx && !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            if !self.pool.permits.is_closed() {
                self.pool
                    .idle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(conn);
            }
        }
    }
}

fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

impl ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Param::Int(Some(i)) => ValueRef::Integer(*i),
            Param::Real(Some(f)) => ValueRef::Real(*f),
            Param::Text(Some(s)) => ValueRef::Text(s.as_bytes()),
            Param::Blob(Some(b)) => ValueRef::Blob(b),
            _ => ValueRef::Null,
        }))
    }
}

/// Runs one statement with `params` for `$1…$n` (by number, wherever they appear), handing
/// each row to `sink` until it says stop; answers the rows changed.
fn run(
    conn: &Connection,
    sql: &str,
    params: &[Param],
    sink: &mut dyn FnMut(Row) -> Result<bool>,
) -> Result<u64> {
    // `$N` becomes `?N`, which SQLite numbers by N itself: binding is then by position. (Asking
    // SQLite for each `$N`'s name walks a list, which made a 999-parameter insert quadratic.)
    let numbered = numbered(sql);
    let mut stmt = conn
        .prepare_cached(&numbered)
        .map_err(|e| with_sql(e, sql))?;
    let wanted = stmt.parameter_count();
    if wanted != params.len() {
        return Err(Error::internal(format!(
            "{} values bound to a statement with {wanted} parameters: {sql}",
            params.len()
        )));
    }
    for (i, p) in params.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, p)?;
    }
    let width = stmt.column_count();
    let columns: Arc<[Box<str>]> = stmt.column_names().into_iter().map(Box::from).collect();
    let mut rows = stmt.raw_query();
    while let Some(r) = rows.next().map_err(|e| with_sql(e, sql))? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(match r.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(i) => Value::Int(i),
                ValueRef::Real(f) => Value::Real(f),
                ValueRef::Text(t) => Value::Text(
                    std::str::from_utf8(t)
                        .map_err(|e| Error::internal(format!("text column is not UTF-8: {e}")))?
                        .to_string(),
                ),
                ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            });
        }
        if !sink(Row {
            columns: columns.clone(),
            values,
        })? {
            break;
        }
    }
    drop(rows);
    Ok(conn.changes())
}

/// `sql` with each `$N` placeholder written `?N` (outside quoted text); borrowed when it has none.
fn numbered(sql: &str) -> std::borrow::Cow<'_, str> {
    if !sql.contains('$') {
        return std::borrow::Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    out.push(c);
                }
                '$' if chars.peek().is_some_and(char::is_ascii_digit) => out.push('?'),
                _ => out.push(c),
            },
        }
    }
    std::borrow::Cow::Owned(out)
}

fn with_sql(e: rusqlite::Error, sql: &str) -> Error {
    StorageError::from(e).in_statement(sql)
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        let kind = match &e {
            rusqlite::Error::SqliteFailure(f, _) => match f.extended_code {
                // SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY
                2067 | 1555 => StorageKind::Unique,
                _ if f.code == rusqlite::ErrorCode::DatabaseBusy
                    || f.code == rusqlite::ErrorCode::DatabaseLocked =>
                {
                    StorageKind::Busy
                }
                _ => StorageKind::Other,
            },
            _ => StorageKind::Other,
        };
        StorageError {
            kind,
            message: e.to_string(),
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Storage(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::numbered;
    use proptest::prelude::*;

    /// The writer commits without SQLite's own sync and pays it after: every commit returns
    /// only once a sync that started after it has finished; a rollback owes none.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_syncs_each_commit_before_it_returns() {
        let dir = std::env::temp_dir().join(format!("gz-walsync-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.db").to_string_lossy().to_string();
        let writer = super::Pool::new(&path, 1, true).unwrap();
        let reader = super::Pool::new(&path, 1, false).unwrap();
        let synchronous = |pool: &std::sync::Arc<super::Pool>| {
            let p = pool.clone();
            async move {
                let lease = p.acquire().await.unwrap();
                lease
                    .conn()
                    .query_row("PRAGMA synchronous", [], |r| r.get::<_, i64>(0))
                    .unwrap()
            }
        };
        // NORMAL (1) on the writer, FULL (2) elsewhere.
        assert_eq!(synchronous(&writer).await, 1);
        assert_eq!(synchronous(&reader).await, 2);
        let lease = writer.acquire().await.unwrap();
        lease
            .conn()
            .execute_batch("CREATE TABLE t (n INTEGER)")
            .unwrap();
        drop(lease);
        let mut tasks = Vec::new();
        for n in 0..40i64 {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                let mut lease = writer.acquire().await.unwrap();
                lease.begin("BEGIN IMMEDIATE").unwrap();
                lease
                    .conn()
                    .execute("INSERT INTO t (n) VALUES (?1)", [n])
                    .unwrap();
                let owed = lease
                    .finish("COMMIT")
                    .unwrap()
                    .expect("the writer owes a sync");
                let ticket = owed.ticket;
                drop(lease);
                let wal = owed.wal.clone();
                owed.paid().await.unwrap();
                assert!(
                    *wal.synced.lock().await >= ticket,
                    "returned before its sync"
                );
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let wal = writer.wal.clone().unwrap();
        assert_eq!(wal.committed.load(super::Ordering::SeqCst), 40);
        assert_eq!(*wal.synced.lock().await, 40);
        // A rollback owes nothing.
        let mut lease = writer.acquire().await.unwrap();
        lease.begin("BEGIN IMMEDIATE").unwrap();
        assert!(lease.finish("ROLLBACK").unwrap().is_none());
        drop(lease);
        let lease = reader.acquire().await.unwrap();
        let rows: i64 = lease
            .conn()
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 40);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn placeholders_are_numbered_outside_quotes() {
        assert_eq!(
            numbered("SELECT $2, '$1', \"a$3\" FROM t WHERE x = $1 AND y = $10"),
            "SELECT ?2, '$1', \"a$3\" FROM t WHERE x = ?1 AND y = ?10"
        );
        assert_eq!(numbered("SELECT 1"), "SELECT 1");
    }

    proptest! {
        /// Only a `$` before a digit outside quotes changes, and only into `?`.
        #[test]
        fn numbering_changes_nothing_else(sql in "[a-z $?'0-9,=]{0,60}") {
            let out = numbered(&sql);
            prop_assert_eq!(out.len(), sql.len());
            for (a, b) in sql.chars().zip(out.chars()) {
                prop_assert!(a == b || (a == '$' && b == '?'));
            }
            if !sql.contains('\'') {
                prop_assert!(!out.chars().zip(out.chars().skip(1)).any(|(a, b)| a == '$' && b.is_ascii_digit()));
            }
        }
    }
}
