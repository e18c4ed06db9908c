//! The one way to the database: `query(sql).bind(…)` run on a pool, a connection or a
//! transaction, the same text on SQLite (rusqlite) and PostgreSQL (sqlx's PostgreSQL driver).

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::Postgres;

use super::value::{Done, Encode, Param, Row};
use super::{postgres, sqlite};
use crate::error::{StorageError, StorageKind};
use crate::{Error, Result};

/// A statement and its parameters, `$1…$n` in the text.
#[must_use = "a query does nothing until it is run"]
pub struct Query<'q> {
    sql: &'q str,
    params: Vec<Param>,
}

/// Starts a statement (portable SQL, see [`super`]).
pub fn query(sql: &str) -> Query<'_> {
    Query {
        sql,
        params: Vec::new(),
    }
}

impl<'q> Query<'q> {
    pub fn bind<T: Encode>(mut self, value: T) -> Self {
        self.params.push(value.param());
        self
    }

    pub async fn execute<'e>(self, on: impl Executor<'e>) -> Result<Done> {
        let rows_affected = self.run(on, None).await?;
        Ok(Done { rows_affected })
    }

    pub async fn fetch_all<'e>(self, on: impl Executor<'e>) -> Result<Vec<Row>> {
        let mut rows = Vec::new();
        self.run(
            on,
            Some(&mut |r| {
                rows.push(r);
                Ok(true)
            }),
        )
        .await?;
        Ok(rows)
    }

    pub async fn fetch_optional<'e>(self, on: impl Executor<'e>) -> Result<Option<Row>> {
        let mut first = None;
        self.run(
            on,
            Some(&mut |r| {
                first = Some(r);
                Ok(false)
            }),
        )
        .await?;
        Ok(first)
    }

    /// The first row; none is a storage error (the caller expected one to exist).
    pub async fn fetch_one<'e>(self, on: impl Executor<'e>) -> Result<Row> {
        let sql = self.sql;
        self.fetch_optional(on).await?.ok_or_else(|| {
            Error::Storage(StorageError {
                kind: StorageKind::NoRow,
                message: format!("no row returned by {sql}"),
            })
        })
    }

    /// Hands each row to `each` as it is read, without holding the whole result (exports,
    /// backups).
    pub async fn fetch_each<'e>(
        self,
        on: impl Executor<'e>,
        mut each: impl FnMut(Row) -> Result<()> + Send,
    ) -> Result<()> {
        self.run(
            on,
            Some(&mut |r| {
                each(r)?;
                Ok(true)
            }),
        )
        .await?;
        Ok(())
    }

    async fn run<'e>(
        self,
        on: impl Executor<'e>,
        sink: Option<&mut (dyn FnMut(Row) -> Result<bool> + Send)>,
    ) -> Result<u64> {
        match on.target() {
            Target::Pool(pool) => {
                let mut conn = pool.acquire().await?;
                conn.run(self.sql, self.params, sink).await
            }
            Target::Conn(conn) => conn.run(self.sql, self.params, sink).await,
        }
    }
}

/// Where a statement runs: a pool (any free connection) or one connection held.
pub enum Target<'e> {
    Pool(&'e Pool),
    Conn(&'e mut Conn),
}

pub trait Executor<'e>: Send {
    fn target(self) -> Target<'e>;
}

impl<'e> Executor<'e> for &'e Pool {
    fn target(self) -> Target<'e> {
        Target::Pool(self)
    }
}

impl<'e> Executor<'e> for &'e mut Conn {
    fn target(self) -> Target<'e> {
        Target::Conn(self)
    }
}

/// Connections to one database.
#[derive(Clone)]
pub struct Pool(PoolKind);

#[derive(Clone)]
enum PoolKind {
    Sqlite(Arc<sqlite::Pool>),
    Postgres(sqlx::PgPool),
}

impl Pool {
    /// `writer`: the pool writes go through (see [`sqlite`] on its durability).
    pub(super) fn sqlite(path: &str, size: usize, writer: bool) -> Result<Pool> {
        Ok(Pool(PoolKind::Sqlite(sqlite::Pool::new(
            path, size, writer,
        )?)))
    }

    pub(super) async fn postgres(url: &str, size: u32) -> Result<Pool> {
        Ok(Pool(PoolKind::Postgres(
            postgres::connect(url, size).await?,
        )))
    }

    /// One connection, held until dropped.
    pub async fn acquire(&self) -> Result<Conn> {
        Ok(Conn(match &self.0 {
            PoolKind::Sqlite(p) => ConnKind::Sqlite(p.acquire().await?),
            PoolKind::Postgres(p) => ConnKind::Postgres(p.acquire().await?),
        }))
    }

    /// A transaction started by `BEGIN`.
    pub async fn begin(&self) -> Result<Tx> {
        self.begin_with("BEGIN").await
    }

    /// A transaction started by `begin` (`BEGIN IMMEDIATE`, an isolation level …); rolled back
    /// if dropped before [`Tx::commit`].
    pub async fn begin_with(&self, begin: &'static str) -> Result<Tx> {
        Ok(Tx {
            conn: Conn(match &self.0 {
                PoolKind::Sqlite(p) => {
                    let mut lease = p.acquire().await?;
                    lease.begin(begin)?;
                    ConnKind::Sqlite(lease)
                }
                PoolKind::Postgres(p) => ConnKind::PostgresTx(p.begin_with(begin).await?),
            }),
        })
    }

    pub async fn close(&self) {
        match &self.0 {
            PoolKind::Sqlite(p) => p.close(),
            PoolKind::Postgres(p) => p.close().await,
        }
    }
}

/// One connection held (from [`Pool::acquire`], or inside a [`Tx`]).
pub struct Conn(ConnKind);

enum ConnKind {
    Sqlite(sqlite::Lease),
    Postgres(PoolConnection<Postgres>),
    PostgresTx(sqlx::Transaction<'static, Postgres>),
}

impl Conn {
    async fn run(
        &mut self,
        sql: &str,
        params: Vec<Param>,
        sink: Option<&mut (dyn FnMut(Row) -> Result<bool> + Send)>,
    ) -> Result<u64> {
        match &mut self.0 {
            ConnKind::Sqlite(lease) => match sink {
                Some(sink) => lease.run(sql, &params, sink),
                None => lease.run(sql, &params, &mut |_| Ok(true)),
            },
            ConnKind::Postgres(c) => postgres::run(c, sql, params, sink).await,
            ConnKind::PostgresTx(t) => postgres::run(t, sql, params, sink).await,
        }
    }
}

/// A transaction: statements run on it through `&mut *tx`; it commits only when told to.
pub struct Tx {
    conn: Conn,
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        self.commit_unsynced().await?.synced().await
    }

    /// Commits and gives the connection back, leaving the commit's sync owed (SQLite's writer
    /// syncs its log after the lock is free, so the next write runs meanwhile); the commit is
    /// durable once [`Unsynced::synced`] returns.
    pub async fn commit_unsynced(self) -> Result<Unsynced> {
        match self.conn.0 {
            ConnKind::Sqlite(mut lease) => {
                let owed = lease.finish("COMMIT")?;
                drop(lease);
                Ok(Unsynced(owed.map_or(Owing::Nothing, Owing::Sqlite)))
            }
            ConnKind::PostgresTx(t) => {
                t.commit().await?;
                Ok(Unsynced(Owing::Nothing))
            }
            ConnKind::Postgres(_) => Err(Error::internal("commit outside a transaction")),
        }
    }

    pub async fn rollback(self) -> Result<()> {
        match self.conn.0 {
            ConnKind::Sqlite(mut lease) => lease.finish("ROLLBACK").map(|_| ()),
            ConnKind::PostgresTx(t) => Ok(t.rollback().await?),
            ConnKind::Postgres(_) => Err(Error::internal("rollback outside a transaction")),
        }
    }
}

/// A commit made, perhaps not yet on the disk: nothing that waits on it may be told it is
/// done before [`Unsynced::synced`] returns.
#[must_use = "a commit is durable only once it is synced"]
pub struct Unsynced(Owing);

enum Owing {
    Nothing,
    /// SQLite's writer: the sync of its log.
    Sqlite(sqlite::Owed),
    /// PostgreSQL, a commit made without waiting for its flush: a durable commit beside it,
    /// on this pool (see `WriteTx::commit_unsynced`).
    Postgres(Pool),
}

impl Unsynced {
    pub(super) fn flush_on(pool: Pool) -> Unsynced {
        Unsynced(Owing::Postgres(pool))
    }

    /// Returns once the commit is on the disk.
    pub async fn synced(self) -> Result<()> {
        match self.0 {
            Owing::Nothing => Ok(()),
            Owing::Sqlite(owed) => owed.paid().await,
            // A transactional message takes a transaction id, so its commit is flushed (as
            // the server's synchronous_commit says), and with it the log before it.
            Owing::Postgres(pool) => query("SELECT pg_logical_emit_message(true, 'gongzhi', '')")
                .execute(&pool)
                .await
                .map(|_| ()),
        }
    }
}

impl Deref for Tx {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}
