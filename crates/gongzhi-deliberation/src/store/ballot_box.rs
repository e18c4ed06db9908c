//! The ballot boxes in storage: each box's open/closed row, the pool of sealed ballots, and the
//! counted tables mixed ballots land in (why it is built so: the ballot box service, `ballot_box.rs`).

use gongzhi_core::db::query;
use gongzhi_core::db::{Backend, Db, WriteTx};
use gongzhi_core::Result;

/// Whose ballots a box holds, and so where its mixed ballots are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoxKind {
    Topic,
    Call,
    Consultation,
}

impl BoxKind {
    /// The prefix of the box's key (`topic:ID` …).
    pub fn prefix(self) -> &'static str {
        match self {
            BoxKind::Topic => "topic",
            BoxKind::Call => "call",
            BoxKind::Consultation => "consultation",
        }
    }
    /// The counted table, its owner column and its content column.
    fn counted(self) -> (&'static str, &'static str, &'static str) {
        match self {
            BoxKind::Topic => ("topic_ballots", "topic_id", "choice"),
            BoxKind::Call => ("budget_ballots", "call_id", "projects"),
            BoxKind::Consultation => ("consultation_responses", "consultation_id", "answers"),
        }
    }
}

/// When the box was closed, if it was; creates its row first. On PostgreSQL the row stays held
/// (shared) until the caller commits, so a closing mix waits for ballots in flight.
pub async fn hold(db: &Db, tx: &mut WriteTx, key: &str) -> Result<Option<i64>> {
    query("INSERT INTO ballot_boxes (box, closed_at) VALUES ($1, NULL) ON CONFLICT DO NOTHING")
        .bind(key)
        .execute(tx.conn())
        .await?;
    let lock = match db.backend() {
        Backend::Postgres => " FOR SHARE",
        Backend::Sqlite => "",
    };
    Ok(query(&format!(
        "SELECT closed_at FROM ballot_boxes WHERE box = $1{lock}"
    ))
    .bind(key)
    .fetch_one(tx.conn())
    .await?
    .try_get(0)?)
}

pub async fn pool(tx: &mut WriteTx, key: &str, sealed: &str) -> Result<()> {
    query("INSERT INTO ballot_pool (id, box, sealed) VALUES ($1, $2, $3)")
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(key)
        .bind(sealed)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// SQLite: zero deleted rows from now on in this connection; returns the setting it had
/// (None on PostgreSQL, which needs nothing).
pub async fn secure_delete_on(db: &Db, tx: &mut WriteTx) -> Result<Option<i64>> {
    match db.backend() {
        Backend::Sqlite => {
            let was = query("PRAGMA secure_delete")
                .fetch_one(tx.conn())
                .await?
                .try_get(0)?;
            query("PRAGMA secure_delete = 1").execute(tx.conn()).await?;
            Ok(Some(was))
        }
        Backend::Postgres => Ok(None),
    }
}

/// Puts back the setting [`secure_delete_on`] found.
pub async fn secure_delete_restore(tx: &mut WriteTx, was: Option<i64>) -> Result<()> {
    if let Some(was) = was {
        query(&format!("PRAGMA secure_delete = {was}"))
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

/// Closes the box (taking its row first waits for voters still holding it) and deletes every
/// pooled ballot, returning them sealed.
pub async fn close_and_take_all(tx: &mut WriteTx, key: &str, now: i64) -> Result<Vec<String>> {
    query(
        "INSERT INTO ballot_boxes (box, closed_at) VALUES ($1, $2) \
         ON CONFLICT (box) DO UPDATE SET closed_at = COALESCE(ballot_boxes.closed_at, $2)",
    )
    .bind(key)
    .bind(now)
    .execute(tx.conn())
    .await?;
    query("DELETE FROM ballot_pool WHERE box = $1 RETURNING sealed")
        .bind(key)
        .fetch_all(tx.conn())
        .await?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

pub async fn pooled_in(tx: &mut WriteTx, key: &str) -> Result<i64> {
    Ok(query("SELECT COUNT(*) FROM ballot_pool WHERE box = $1")
        .bind(key)
        .fetch_one(tx.conn())
        .await?
        .try_get(0)?)
}

/// Deletes `k` pooled ballots (pool ids are random, so the first `k` by id are a random `k`)
/// and returns them sealed; fewer when a racing mix took some.
pub async fn take(tx: &mut WriteTx, key: &str, k: i64) -> Result<Vec<String>> {
    query(
        "DELETE FROM ballot_pool WHERE id IN \
         (SELECT id FROM ballot_pool WHERE box = $1 ORDER BY id LIMIT $2) RETURNING sealed",
    )
    .bind(key)
    .bind(k)
    .fetch_all(tx.conn())
    .await?
    .iter()
    .map(|r| Ok(r.try_get(0)?))
    .collect()
}

/// Adds a mixed ballot to the counted table, with no id, time or voter.
pub async fn count(tx: &mut WriteTx, kind: BoxKind, owner: &str, ballot: &str) -> Result<()> {
    let (table, owner_col, content) = kind.counted();
    query(&format!(
        "INSERT INTO {table} ({owner_col}, {content}) VALUES ($1, $2)"
    ))
    .bind(owner)
    .bind(ballot)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Whether the box was closed, and how many ballots are still pooled (None: no box yet).
pub async fn status(db: &Db, key: &str) -> Result<Option<(Option<i64>, i64)>> {
    let r = query("SELECT closed_at, (SELECT COUNT(*) FROM ballot_pool p WHERE p.box = b.box) AS n FROM ballot_boxes b WHERE box = $1")
        .bind(key)
        .fetch_optional(db.pool())
        .await?;
    r.map(|r| Ok((r.try_get("closed_at")?, r.try_get("n")?)))
        .transpose()
}

/// Ballots pooled and not yet mixed.
pub async fn pending(db: &Db, key: &str) -> Result<i64> {
    Ok(query("SELECT COUNT(*) FROM ballot_pool WHERE box = $1")
        .bind(key)
        .fetch_one(db.pool())
        .await?
        .try_get(0)?)
}
