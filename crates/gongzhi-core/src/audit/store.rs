//! The audit chain in storage: the head row (the chain's last sequence number and hash, which
//! every append locks first) and the entries.

use super::{AuditEntry, NewEntry};
use crate::db::{query, Row};
use crate::db::{Db, WriteTx};
use crate::{Error, Result};

/// Moves the head on by `n` entries, taking its row lock: the last new sequence number and the
/// hash the first new entry links to.
pub(super) async fn advance_head(tx: &mut WriteTx, n: i64) -> Result<(i64, String)> {
    let head = query("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
        .bind(n)
        .fetch_one(tx.conn())
        .await?;
    Ok((head.try_get(0)?, head.try_get(1)?))
}

pub(super) async fn set_head_hash(tx: &mut WriteTx, hash: &str) -> Result<()> {
    query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(hash)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Takes the head row's lock without moving it.
pub(super) async fn lock_head(tx: &mut WriteTx) -> Result<()> {
    query("UPDATE audit_head SET seq = seq WHERE id = 1")
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The head as stored: its sequence number and hash.
pub(super) async fn head(db: &Db) -> Result<(i64, String)> {
    let head = query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::internal("audit head row is missing"))?;
    Ok((head.try_get(0)?, head.try_get(1)?))
}

pub(super) async fn head_seq(db: &Db) -> Result<i64> {
    Ok(query("SELECT seq FROM audit_head WHERE id = 1")
        .fetch_one(db.pool())
        .await?
        .try_get(0)?)
}

/// How many entries are keyed (or, with `keyed` false, were hashed before the chain was).
pub(super) async fn count_entries(tx: &mut WriteTx, keyed: bool) -> Result<i64> {
    Ok(query("SELECT COUNT(*) FROM audit_log WHERE keyed = $1")
        .bind(keyed as i64)
        .fetch_one(tx.conn())
        .await?
        .try_get(0)?)
}

/// Inserts keyed entries written at `at`, with their (seq, digest, prev_hash, hash) in `rows`,
/// as few statements as the backend's parameter limit allows.
pub(super) async fn insert_entries(
    tx: &mut WriteTx,
    at: i64,
    entries: &[NewEntry],
    rows: &[(i64, String, String, String)],
) -> Result<()> {
    let per = crate::db::rows_per_statement(9);
    for (chunk_i, chunk) in entries.chunks(per).enumerate() {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("({}, 1)", crate::db::placeholders(i * 9 + 1, 9)))
            .collect();
        let sql = format!(
            "INSERT INTO audit_log (seq, at, actor, action, entity, digest, reason, prev_hash, hash, keyed) VALUES {}",
            values.join(", ")
        );
        let mut q = query(&sql);
        for (i, e) in chunk.iter().enumerate() {
            let (seq, digest, prev_hash, hash) = &rows[chunk_i * per + i];
            q = q
                .bind(*seq)
                .bind(at)
                .bind(&e.actor)
                .bind(&e.action)
                .bind(&e.entity)
                .bind(digest)
                .bind(&e.reason)
                .bind(prev_hash)
                .bind(hash);
        }
        q.execute(tx.conn()).await?;
    }
    Ok(())
}

fn row_to_entry(r: &Row) -> Result<(AuditEntry, i64)> {
    let at: i64 = r.try_get("at")?;
    Ok((
        AuditEntry {
            seq: r.try_get("seq")?,
            at: crate::time::format_ms(at),
            actor: r.try_get("actor")?,
            action: r.try_get("action")?,
            entity: r.try_get("entity")?,
            digest: r.try_get("digest")?,
            reason: r.try_get("reason")?,
            prev_hash: r.try_get("prev_hash")?,
            hash: r.try_get("hash")?,
        },
        at,
    ))
}

/// Entries after `after_seq`, oldest first, at most `limit`.
pub async fn list(db: &Db, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>> {
    let rows = query(
        "SELECT seq, at, actor, action, entity, digest, reason, prev_hash, hash FROM audit_log \
         WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after_seq)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| row_to_entry(r).map(|(e, _)| e))
        .collect()
}

/// Up to `limit` entries from `from_seq` on, in order, each with its time (ms) and whether
/// it is keyed.
pub(super) async fn entries_from(
    db: &Db,
    from_seq: i64,
    limit: i64,
) -> Result<Vec<(AuditEntry, i64, bool)>> {
    let rows = query(
        "SELECT seq, at, actor, action, entity, digest, reason, prev_hash, hash, keyed FROM audit_log \
         WHERE seq >= $1 ORDER BY seq LIMIT $2",
    )
    .bind(from_seq)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let (e, at) = row_to_entry(r)?;
            Ok((e, at, r.try_get::<i64, _>("keyed")? != 0))
        })
        .collect()
}
