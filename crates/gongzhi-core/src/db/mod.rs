//! Storage: one way to the database on SQLite (rusqlite, the C API, bundled) or PostgreSQL
//! (sqlx's PostgreSQL driver), portable SQL, migrations, and the write transaction that must
//! carry an audit entry before it may commit.
//!
//! Portable SQL here means: `$1…$n` placeholders, TEXT / BIGINT / DOUBLE PRECISION / BYTEA
//! columns only, times as Unix milliseconds, flags as 0/1. Parameters carry their type even
//! when NULL. No triggers, no advisory locks, random (UUID v4) keys where rows are created at a
//! high rate.

mod engine;
mod postgres;
mod sqlite;
mod value;

use std::sync::Arc;

pub use engine::{query, Conn, Executor, Pool, Query, Target, Tx, Unsynced};
pub use value::{Decode, Done, Encode, Param, Row, RowIndex, Value};

use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

fn backend_of(url: &str) -> Result<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(Error::invalid(
            "database_url",
            format!("unsupported database URL (want sqlite:// or postgres://): {url}"),
        ))
    }
}

/// `size` connections to `url`: SQLite's opened on the file (made with its directory if
/// missing), PostgreSQL's by sqlx. `writer`: the pool that writes go through.
async fn open_pool(url: &str, size: u32, writer: bool) -> Result<Pool> {
    match backend_of(url)? {
        Backend::Sqlite => {
            let path = sqlite_path(url).ok_or_else(|| {
                Error::invalid("database_url", format!("a SQLite URL names a file: {url}"))
            })?;
            if let Some(dir) = std::path::Path::new(&path).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        Error::internal(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
            }
            Pool::sqlite(&path, size as usize, writer)
        }
        Backend::Postgres => Pool::postgres(url, size).await,
    }
}

/// A migration owned by one module. Ids are global and never change once released.
pub struct Migration {
    pub id: &'static str,
    pub sql: &'static str,
}

impl Migration {
    /// Runs this migration's statements on `conn` (inside the caller's transaction); does not
    /// record it in `schema_migrations`.
    pub async fn apply(&self, conn: &mut Conn) -> Result<()> {
        for stmt in self.sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            query(stmt).execute(&mut *conn).await.map_err(|e| {
                Error::internal(format!("migration {} failed: {e}\n{stmt}", self.id))
            })?;
        }
        Ok(())
    }
}

#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// Writes get their own connections so they never queue behind a crowd of reads. On
    /// SQLite it is one connection (one writer at a time anyway): writers queue for it here, in
    /// order, instead of busy-waiting on the file.
    write_pool: Pool,
    backend: Backend,
    /// Per-database singletons of the modules (caches, write batchers), created on first use.
    extensions: Arc<std::sync::Mutex<axum::http::Extensions>>,
    /// The keys the audit chain is keyed and its anchors signed with, derived from the secret
    /// key outside the database; loaded once at open (`audit::use_keys`).
    pub(crate) audit_keys: AuditKeySlot,
    /// How many committed writes of this process moved each version counter (`cache` reads
    /// the counters again at once after one).
    moved_here: MovedHere,
}

/// Per version counter, how many committed writes of this process moved it.
type MovedHere = Arc<std::sync::Mutex<std::collections::HashMap<String, u64>>>;

impl Db {
    pub async fn connect(url: &str) -> Result<Db> {
        let backend = backend_of(url)?;
        let (reads, writes) = Self::pool_sizes(backend);
        Ok(Db {
            pool: open_pool(url, reads, false).await?,
            write_pool: open_pool(url, writes, true).await?,
            backend,
            extensions: Arc::default(),
            audit_keys: Arc::default(),
            moved_here: Arc::default(),
        })
    }

    /// How many connections this handle opens at most, reads and writes together.
    pub fn connections(&self) -> usize {
        let (reads, writes) = Self::pool_sizes(self.backend);
        (reads + writes) as usize
    }

    /// Read and write connections per backend: SQLite has one writer anyway.
    fn pool_sizes(backend: Backend) -> (u32, u32) {
        match backend {
            Backend::Sqlite => (4, 1),
            Backend::Postgres => (16, 4),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Whether the database answers (health checks).
    pub async fn ping(&self) -> Result<()> {
        query("SELECT 1").execute(&self.pool).await.map(|_| ())
    }

    /// The one `T` of this database (a module's cache or batcher), made by `init` on first use.
    pub fn extension<T: Send + Sync + 'static>(&self, init: impl FnOnce() -> T) -> Arc<T> {
        let mut ext = self.extensions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = ext.get::<Arc<T>>() {
            return v.clone();
        }
        let v = Arc::new(init());
        ext.insert(v.clone());
        v
    }

    /// Starts a write. The transaction refuses to commit unless an audit entry was appended.
    pub async fn begin_write(&self) -> Result<WriteTx> {
        let tx = match self.backend {
            // IMMEDIATE takes the write lock up front, so a read-then-write never fails late.
            Backend::Sqlite => self.write_pool.begin_with("BEGIN IMMEDIATE").await?,
            // Committed without waiting for the flush, which follows beside it
            // (`WriteTx::commit_unsynced`); said at the start, in the same round trip.
            Backend::Postgres => {
                self.write_pool
                    .begin_with("BEGIN; SET LOCAL synchronous_commit = off")
                    .await?
            }
        };
        Ok(WriteTx {
            tx,
            audited: false,
            audit_keys: self.audit_keys.clone(),
            bumped: Vec::new(),
            moved_here: self.moved_here.clone(),
            beside: match self.backend {
                Backend::Sqlite => None,
                Backend::Postgres => Some(self.pool.clone()),
            },
        })
    }

    /// How many write transactions are worth running at once: one on SQLite (it has one
    /// writer), the write connections on PostgreSQL.
    pub fn writers(&self) -> usize {
        Self::pool_sizes(self.backend).1 as usize
    }

    /// A transaction for counters that are not records (sign-in attempts): not audited, since
    /// an entry per attempt would let anyone flood the chain. Nothing else may use it.
    pub async fn begin_counters(&self) -> Result<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => self.write_pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.write_pool.begin().await?,
        })
    }

    /// Applies the migrations not yet applied, in order, each in its own transaction.
    pub async fn migrate(&self, migrations: &[&Migration]) -> Result<usize> {
        query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        let mut applied = 0;
        for m in migrations {
            let done = query("SELECT id FROM schema_migrations WHERE id = $1")
                .bind(m.id)
                .fetch_optional(&self.pool)
                .await?;
            if done.is_some() {
                continue;
            }
            let mut tx = self.pool.begin().await?;
            m.apply(&mut tx).await?;
            let ok = query("INSERT INTO schema_migrations (id, applied_at) VALUES ($1, $2)")
                .bind(m.id)
                .bind(crate::time::now_ms())
                .execute(&mut *tx)
                .await;
            match ok {
                Ok(_) => {
                    tx.commit().await?;
                    applied += 1;
                }
                // Another process applied it at the same moment: theirs stands.
                Err(e) => {
                    if !e.is_unique_violation() {
                        return Err(e);
                    }
                    tx.rollback().await?;
                }
            }
        }
        Ok(applied)
    }

    /// Has this migration been applied?
    pub async fn migration_applied(&self, id: &str) -> Result<bool> {
        query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        Ok(query("SELECT id FROM schema_migrations WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }

    /// The sum of the version counters `keys` (each moves whenever its data changes, in every
    /// process serving the database): it moves whenever one of them does, since counters only
    /// grow. No query for no keys.
    pub async fn versions_sum(&self, keys: &[&str]) -> Result<i64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "SELECT value FROM meta_versions WHERE key IN ({})",
            placeholders(1, keys.len())
        );
        let mut q = query(&sql);
        for k in keys {
            q = q.bind(*k);
        }
        let mut sum = 0i64;
        for r in q.fetch_all(&self.pool).await? {
            sum = sum.wrapping_add(r.try_get::<i64, _>(0)?);
        }
        Ok(sum)
    }

    /// How many committed writes of this process moved one of the counters `keys`.
    pub fn moved_here(&self, keys: &[&str]) -> u64 {
        let moved = self.moved_here.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter().filter_map(|k| moved.get(*k)).sum()
    }
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

/// Where the audit chain's keys travel with the storage handle and its transactions. Storage
/// carries them without knowing their type, so it does not depend on the audit chain above it.
pub(crate) type AuditKeySlot = Arc<std::sync::OnceLock<Arc<dyn std::any::Any + Send + Sync>>>;

/// A write in progress. Every module's command takes one of these, does its change and appends
/// its audit entry (`audit::append`) before `commit`.
pub struct WriteTx {
    tx: Tx,
    pub(crate) audited: bool,
    pub(crate) audit_keys: AuditKeySlot,
    /// The version counters this write moves at commit, told to this process's caches after.
    bumped: Vec<String>,
    moved_here: MovedHere,
    /// PostgreSQL: the pool for work beside this transaction — its numbers
    /// ([`WriteTx::take_numbers`]) and the flush after its commit ([`WriteTx::commit_unsynced`]).
    beside: Option<Pool>,
}

impl WriteTx {
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.tx
    }

    /// Moves `key`'s version counter (see [`Db::versions_sum`]): every write to data a cache
    /// depends on does this in its own transaction (see `cache`). The counters move at commit,
    /// last and in name order: a counter's row, which every writer of that data shares, is then
    /// locked only for the commit itself, and every write takes the shared rows in one order
    /// (the audit head at its append, then the counters by name), so two writes never wait for
    /// each other crosswise.
    pub async fn bump_version(&mut self, key: &str) -> Result<()> {
        if !self.bumped.iter().any(|k| k == key) {
            self.bumped.push(key.to_string());
        }
        Ok(())
    }

    /// Moves a counter by `by` and returns its new value; an upsert, so racing first uses of a
    /// key cannot collide.
    pub async fn bump_counter(&mut self, key: &str, by: i64) -> Result<i64> {
        counter_moved(key, by, &mut *self.tx, false).await
    }

    /// Takes `n` numbers from the counter `key` (case numbers) and answers the last of them.
    /// On SQLite inside this transaction (one writer anyway): the numbers of a write that rolls
    /// back are given back with it. On PostgreSQL in a short transaction of its own, so that
    /// concurrent writes do not wait for each other on the counter's row until they commit;
    /// numbers of a write that then fails are not reused (a gap). That transaction commits
    /// without waiting for the disk: it is in the write-ahead log before this write's commit,
    /// so it is durable whenever this write is.
    pub async fn take_numbers(&mut self, key: &str, n: i64) -> Result<i64> {
        let Some(beside) = &self.beside else {
            return self.bump_counter(key, n).await;
        };
        // One statement in a transaction of its own, told not to wait for the flush: one
        // round trip instead of four.
        counter_moved(key, n, beside, true).await
    }

    pub async fn commit(self) -> Result<()> {
        self.commit_unsynced().await?.synced().await
    }

    /// Commits, leaving the sync to the disk owed: for a caller that gives up its turn at
    /// writing before it waits for the disk (the intake batcher). Neither backend holds its
    /// locks through the disk's flush, so the next write runs while this one is synced:
    /// SQLite's writer syncs its log after the write lock is free ([`Tx::commit_unsynced`]);
    /// on PostgreSQL the transaction commits without waiting for its flush
    /// (`synchronous_commit = off` for it alone: its row locks, the audit head's among them,
    /// go at once), and [`Unsynced::synced`] then commits one tiny WAL record beside it with
    /// the server's own `synchronous_commit`. The log is flushed in order, so that record's
    /// flush is this commit's too, and concurrent writes share flushes (PostgreSQL's group
    /// commit) where before each waited for the one ahead of it at the head.
    pub async fn commit_unsynced(mut self) -> Result<Unsynced> {
        if !self.audited {
            // A write without its audit entry is a programming error; refuse to make it durable.
            return Err(Error::internal(
                "refusing to commit a write without an audit entry",
            ));
        }
        self.bumped.sort();
        counters_moved_once(&self.bumped, &mut self.tx).await?;
        let mut unsynced = self.tx.commit_unsynced().await?;
        if let Some(beside) = self.beside {
            unsynced = Unsynced::flush_on(beside);
        }
        let mut moved = self.moved_here.lock().unwrap_or_else(|e| e.into_inner());
        for k in self.bumped {
            *moved.entry(k).or_default() += 1;
        }
        Ok(unsynced)
    }
}

/// Moves each counter of `keys` by one, in one statement (rows locked in the order given).
async fn counters_moved_once(keys: &[String], conn: &mut Conn) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = (1..=keys.len()).map(|i| format!("(${i}, 1)")).collect();
    let sql = format!(
        "INSERT INTO meta_versions (key, value) VALUES {} \
         ON CONFLICT (key) DO UPDATE SET value = meta_versions.value + 1",
        rows.join(", ")
    );
    let mut q = query(&sql);
    for k in keys {
        q = q.bind(k);
    }
    q.execute(conn).await.map(|_| ())
}

/// Moves the counter `key` in `meta_versions` by `by`; its new value. `unsynced`: in a
/// statement of its own that commits without waiting for the flush (`set_config(…, true)`).
async fn counter_moved<'e>(
    key: &str,
    by: i64,
    on: impl Executor<'e>,
    unsynced: bool,
) -> Result<i64> {
    let source = if unsynced {
        "SELECT $1, $2 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS unsynced"
    } else {
        "VALUES ($1, $2)"
    };
    let row = query(&format!(
        "INSERT INTO meta_versions (key, value) {source} \
         ON CONFLICT (key) DO UPDATE SET value = meta_versions.value + $2 RETURNING value"
    ))
    .bind(key)
    .bind(by)
    .fetch_one(on)
    .await?;
    row.try_get::<i64, _>(0)
}

pub const CORE_MIGRATIONS: &[Migration] = &[
    Migration {
        id: "core-0001-platform",
        sql: r#"
CREATE TABLE meta_versions (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    digest TEXT NOT NULL,
    reason TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE audit_head (id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE TABLE units (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    area_code TEXT,
    created_at BIGINT NOT NULL
);
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    full_name TEXT,
    phone TEXT,
    email TEXT,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE TABLE role_assignments (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    area_code TEXT,
    unit_code TEXT
);
CREATE INDEX role_assignments_user ON role_assignments (user_id);
CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
)
"#,
    },
    // Photos live in the database so that a record and its photos commit together and a backup
    // of the database is a backup of everything. BYTEA is a blob on both backends.
    Migration {
        id: "core-0002-attachments",
        sql: r#"
CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    data BYTEA NOT NULL,
    uploaded_by TEXT NOT NULL,
    owner TEXT,
    step TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX attachments_owner ON attachments (owner)
"#,
    },
    // Sign-in attempts per account and per client address, shared by every server on the
    // database (identity::sign_in); a row is a streak, forgotten after a quiet window.
    Migration {
        id: "core-0003-login-throttle",
        sql: r#"
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    delay_ms BIGINT NOT NULL
)
"#,
    },
    // Sign-in compares user names case-insensitively, so no two may differ only in case.
    Migration {
        id: "core-0004-username-canonical",
        sql: "CREATE UNIQUE INDEX users_username_canonical ON users (lower(username))",
    },
    // Entries written from now on are keyed (HMAC); the ones before stay as they were and are
    // vouched for by the keyed entry that follows them (audit::key_legacy_chain).
    Migration {
        id: AUDIT_KEYED_MIGRATION,
        sql: "ALTER TABLE audit_log ADD COLUMN keyed BIGINT NOT NULL DEFAULT 0",
    },
];

/// The migration that keys the audit chain; `audit::key_legacy_chain` runs right after it.
pub const AUDIT_KEYED_MIGRATION: &str = "core-0005-audit-keyed";

/// A new row id: a UUID v7, whose text sorts by creation time, so rows written at volume
/// (cases, their events, jobs) append to the right edge of their primary-key index — and of
/// every index that leads with the id, such as an event's case — instead of dirtying a random
/// page of a large index on every insert. The time in it is no more than the row's own
/// `created_at`; where even that must not show (an anonymous ballot) or the id is a secret
/// (a token), use `uuid::Uuid::new_v4`.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Rows per multi-row statement with `columns` bound values each: at most 999 values, the
/// oldest SQLite's limit (PostgreSQL takes 65,535).
pub fn rows_per_statement(columns: usize) -> usize {
    (999 / columns.max(1)).max(1)
}

/// `n` placeholders from `$first` on, comma separated (`$3, $4, $5`): a row of a multi-row
/// insert or an `IN (…)` list.
pub fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads an optional text column as `Option<String>`.
pub fn opt_text(row: &Row, col: &str) -> Result<Option<String>> {
    row.try_get::<Option<String>, _>(col)
}

/// `LIKE` pattern for "starts with `prefix`", its own `%`, `_` and `\` matched literally: use it
/// as `col LIKE $n ESCAPE '\'` (both backends take the clause; SQLite has no default escape).
pub fn like_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

// Maintenance for bulk loads and scratch databases (the benchmarks and their seeded data).
impl Db {
    pub async fn close(&self) {
        self.pool.close().await;
        self.write_pool.close().await;
    }

    /// Refreshes the query planner's statistics (after a bulk load).
    pub async fn analyze(&self) -> Result<()> {
        query("ANALYZE").execute(&self.pool).await?;
        Ok(())
    }

    /// SQLite: folds the write-ahead log into the database file now, so the next writer does
    /// not inherit a checkpoint of a whole bulk load. PostgreSQL: nothing to do.
    pub async fn checkpoint(&self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Drops the secondary indexes of `table` (not those behind its keys) and returns the
    /// statements that make them again ([`Db::create_indexes`]): a bulk load followed by one
    /// sorted build of each index is many times faster than keeping every index up to date.
    pub async fn drop_secondary_indexes(&self, table: &str) -> Result<Vec<String>> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL"
            }
            Backend::Postgres => {
                "SELECT CAST(indexname AS TEXT) AS name, indexdef AS sql FROM pg_indexes WHERE tablename = $1 \
                 AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            }
        };
        let mut made = Vec::new();
        for r in query(sql).bind(table).fetch_all(&self.pool).await? {
            let name: String = r.try_get("name")?;
            query(&format!("DROP INDEX {name}"))
                .execute(&self.pool)
                .await?;
            made.push(r.try_get("sql")?);
        }
        Ok(made)
    }

    /// Makes the indexes [`Db::drop_secondary_indexes`] dropped.
    pub async fn create_indexes(&self, statements: &[String]) -> Result<()> {
        for s in statements {
            query(s).execute(&self.pool).await?;
        }
        Ok(())
    }

    /// PostgreSQL, on an administrative connection: creates the database `name` (dropping a
    /// leftover of that name first) and returns its URL beside this one's.
    pub async fn create_scratch_database(admin_url: &str, name: &str) -> Result<String> {
        Db::create_scratch_database_from(admin_url, name, None).await
    }

    /// As [`Db::create_scratch_database`]; with `template`, the new database is a copy of that
    /// one (which nobody may be connected to).
    pub async fn create_scratch_database_from(
        admin_url: &str,
        name: &str,
        template: Option<&str>,
    ) -> Result<String> {
        let admin = Db::connect(admin_url).await?;
        query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&admin.pool)
            .await?;
        let from = template
            .map(|t| format!(" TEMPLATE {t}"))
            .unwrap_or_default();
        query(&format!("CREATE DATABASE {name}{from}"))
            .execute(&admin.pool)
            .await?;
        admin.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .unwrap_or_default();
        Ok(format!("{base}/{name}"))
    }

    /// Drops the scratch database `name` made by [`Db::create_scratch_database`], whoever is
    /// still connected to it; best effort.
    pub async fn drop_scratch_database(admin_url: &str, name: &str) {
        if let Ok(admin) = Db::connect(admin_url).await {
            let _ = query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&admin.pool)
                .await;
            admin.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_count_on_from_the_first() {
        assert_eq!(super::placeholders(3, 3), "$3, $4, $5");
        assert_eq!(super::placeholders(1, 1), "$1");
        assert_eq!(super::placeholders(1, 0), "");
    }
}
