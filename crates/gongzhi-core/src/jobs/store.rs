//! The job queue: one row per job, done when `done_at` is set.

use serde_json::Value;

use crate::db::query;
use crate::db::{opt_text, Db, Migration, WriteTx};
use crate::module::Job;
use crate::Result;

/// The job queue moved from the cases module into the core, and says what a job is about as a
/// `subject` (`case:ID`) instead of a case id. A database made before has the cases module's
/// table (`cases-0002`) with its rows; a new one gets that shape here first, so both take the
/// same steps (SQLite and PostgreSQL both rename columns).
pub const MIGRATION: Migration = Migration {
    id: "core-0007-jobs",
    sql: "CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    case_id TEXT,
    due_at BIGINT NOT NULL,
    payload TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    done_at BIGINT,
    outcome TEXT
);
ALTER TABLE jobs RENAME COLUMN case_id TO subject;
UPDATE jobs SET subject = 'case:' || subject WHERE subject IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (done_at, due_at)",
};

pub(super) async fn insert(
    tx: &mut WriteTx,
    kind: &str,
    subject: Option<&str>,
    due_at: i64,
    payload: &Value,
) -> Result<()> {
    query("INSERT INTO jobs (id, kind, subject, due_at, payload, attempts, done_at, outcome) VALUES ($1, $2, $3, $4, $5, 0, NULL, NULL)")
        .bind(crate::db::new_id())
        .bind(kind)
        .bind(subject)
        .bind(due_at)
        .bind(payload.to_string())
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub(super) async fn exists(
    tx: &mut WriteTx,
    kind: &str,
    subject: &str,
    payload: &Value,
) -> Result<bool> {
    Ok(
        query("SELECT id FROM jobs WHERE subject = $1 AND kind = $2 AND payload = $3")
            .bind(subject)
            .bind(kind)
            .bind(payload.to_string())
            .fetch_optional(tx.conn())
            .await?
            .is_some(),
    )
}

/// Up to 200 jobs due by `now`, oldest first.
pub(super) async fn due(db: &Db, now: i64) -> Result<Vec<Job>> {
    let rows = query("SELECT id, kind, subject, payload, attempts FROM jobs WHERE done_at IS NULL AND due_at <= $1 ORDER BY due_at, id LIMIT 200")
        .bind(now)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|j| {
            Ok(Job {
                id: j.try_get("id")?,
                kind: j.try_get("kind")?,
                subject: opt_text(j, "subject")?,
                payload: serde_json::from_str(&j.try_get::<String, _>("payload")?)
                    .unwrap_or(Value::Null),
                attempts: j.try_get("attempts")?,
                now,
            })
        })
        .collect()
}

/// Takes a due job for this runner until `until`: it is no longer due for any other runner, so
/// one runner alone does it (an outside delivery is not sent twice). The UPDATE's condition is
/// checked again on the row's latest version on PostgreSQL (READ COMMITTED) and under the one
/// writer on SQLite, so of two runners one wins. Not a record's change: no audit entry.
pub(super) async fn take(db: &Db, id: &str, now: i64, until: i64) -> Result<bool> {
    let mut tx = db.begin_counters().await?;
    let r = query("UPDATE jobs SET due_at = $1 WHERE id = $2 AND done_at IS NULL AND due_at <= $3")
        .bind(until)
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(r.rows_affected() == 1)
}

pub(super) async fn claim(tx: &mut WriteTx, id: &str, now: i64, outcome: &str) -> Result<bool> {
    let r = query("UPDATE jobs SET done_at = $1, outcome = $2 WHERE id = $3 AND done_at IS NULL")
        .bind(now)
        .bind(outcome)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(r.rows_affected() == 1)
}

pub(super) async fn retry_at(tx: &mut WriteTx, id: &str, due_at: i64, why: &str) -> Result<()> {
    query("UPDATE jobs SET attempts = attempts + 1, due_at = $1, outcome = $2 WHERE id = $3 AND done_at IS NULL")
        .bind(due_at)
        .bind(why)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}
