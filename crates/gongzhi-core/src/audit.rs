//! The audit chain: every write appends an entry in its own transaction, and each entry's hash
//! covers the previous entry's hash, so editing, deleting or reordering history is detectable.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::Row;
use utoipa::ToSchema;

use crate::db::{Db, WriteTx};
use crate::identity::Actor;
use crate::{Error, Result};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    /// RFC 3339, Asia/Shanghai.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    /// SHA-256 of the canonical JSON of what changed.
    pub digest: String,
    pub reason: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// SHA-256 (hex) of a JSON value as serialized (serde_json keeps object keys sorted).
pub fn digest_of(change: &Value) -> String {
    hex::encode(Sha256::digest(change.to_string().as_bytes()))
}

/// The entry hash: each field length-prefixed so no two field lists hash alike.
#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    prev_hash: &str,
    seq: i64,
    at: i64,
    actor: &str,
    action: &str,
    entity: &str,
    digest: &str,
    reason: Option<&str>,
) -> String {
    let mut h = Sha256::new();
    let seq = seq.to_string();
    let at = at.to_string();
    let fields: [&str; 8] = [
        prev_hash,
        &seq,
        &at,
        actor,
        action,
        entity,
        digest,
        reason.unwrap_or("\u{0}none"),
    ];
    for f in fields {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Appends one entry to the chain inside `tx`. The head row is updated first, which serializes
/// concurrent writers on PostgreSQL (row lock) exactly where the chain needs an order.
pub async fn append(
    tx: &mut WriteTx,
    actor: &Actor,
    action: &str,
    entity: &str,
    change: &Value,
    reason: Option<&str>,
) -> Result<i64> {
    let head = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_one(tx.conn())
        .await?;
    let seq: i64 = head.try_get(0)?;
    let prev_hash: String = head.try_get(1)?;
    let at = crate::time::now_ms();
    let digest = digest_of(change);
    let actor = actor.label();
    let hash = entry_hash(&prev_hash, seq, at, &actor, action, entity, &digest, reason);
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, action, entity, digest, reason, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(seq)
    .bind(at)
    .bind(&actor)
    .bind(action)
    .bind(entity)
    .bind(&digest)
    .bind(reason)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(tx.conn())
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&hash)
        .execute(tx.conn())
        .await?;
    tx.audited = true;
    Ok(seq)
}

/// One entry for [`append_many`].
pub struct NewEntry {
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub change: Value,
    pub reason: Option<String>,
}

/// Appends several entries in order with one head update and one insert: the chain is the same
/// as appending them one by one, at a fraction of the round trips (group commit).
pub async fn append_many(tx: &mut WriteTx, entries: &[NewEntry]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let n = entries.len() as i64;
    let head = sqlx::query("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
        .bind(n)
        .fetch_one(tx.conn())
        .await?;
    let last: i64 = head.try_get(0)?;
    let mut prev: String = head.try_get(1)?;
    let at = crate::time::now_ms();
    let mut rows = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let seq = last - n + 1 + i as i64;
        let digest = digest_of(&e.change);
        let hash = entry_hash(
            &prev,
            seq,
            at,
            &e.actor,
            &e.action,
            &e.entity,
            &digest,
            e.reason.as_deref(),
        );
        rows.push((seq, digest, prev.clone(), hash.clone()));
        prev = hash;
    }
    let per = crate::db::rows_per_statement(9);
    for (chunk_i, chunk) in entries.chunks(per).enumerate() {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 9;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8,
                    b + 9
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO audit_log (seq, at, actor, action, entity, digest, reason, prev_hash, hash) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
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
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&prev)
        .execute(tx.conn())
        .await?;
    tx.audited = true;
    Ok(())
}

fn row_to_entry(r: &sqlx::any::AnyRow) -> Result<(AuditEntry, i64)> {
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
    let rows = sqlx::query(
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

/// The latest `n` entries, oldest first, for those who may read the log (what `/admin` shows).
pub async fn latest(db: &Db, actor: &Actor, n: i64) -> Result<Vec<AuditEntry>> {
    use crate::identity::{authorize, Action, Target};
    authorize(actor, Action::AUDIT_READ, &Target::global())?;
    let head: i64 = sqlx::query("SELECT seq FROM audit_head WHERE id = 1")
        .fetch_one(db.pool())
        .await?
        .try_get(0)?;
    list(db, (head - n).max(0), n).await
}

/// Why the chain is broken, naming the first bad entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub seq: i64,
    pub problem: String,
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "audit entry {}: {}", self.seq, self.problem)
    }
}

/// Walks the whole chain. `Ok(Ok(n))` when intact with `n` entries.
pub async fn verify(db: &Db) -> Result<std::result::Result<i64, ChainBreak>> {
    const PAGE: i64 = 10_000;
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS_HASH.to_string();
    loop {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, entity, digest, reason, prev_hash, hash FROM audit_log \
             WHERE seq >= $1 ORDER BY seq LIMIT $2",
        )
        .bind(expected_seq)
        .bind(PAGE)
        .fetch_all(db.pool())
        .await?;
        let n = rows.len() as i64;
        for r in &rows {
            let (e, at) = row_to_entry(r)?;
            if e.seq != expected_seq {
                return Ok(Err(ChainBreak {
                    seq: expected_seq,
                    problem: format!("missing (next stored entry is {})", e.seq),
                }));
            }
            if e.prev_hash != prev_hash {
                return Ok(Err(ChainBreak {
                    seq: e.seq,
                    problem: "does not link to the entry before it (deleted or reordered history)"
                        .into(),
                }));
            }
            let hash = entry_hash(
                &e.prev_hash,
                e.seq,
                at,
                &e.actor,
                &e.action,
                &e.entity,
                &e.digest,
                e.reason.as_deref(),
            );
            if hash != e.hash {
                return Ok(Err(ChainBreak {
                    seq: e.seq,
                    problem: "content does not match its hash (altered)".into(),
                }));
            }
            prev_hash = e.hash;
            expected_seq += 1;
        }
        if n < PAGE {
            break;
        }
    }
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::internal("audit head row is missing"))?;
    let head_seq: i64 = head.try_get(0)?;
    let head_hash: String = head.try_get(1)?;
    let count = expected_seq - 1;
    if head_seq != count || head_hash != prev_hash {
        return Ok(Err(ChainBreak {
            seq: count + 1,
            problem: format!(
                "the chain ends at entry {count} but its head records entry {head_seq} (history deleted at the end)"
            ),
        }));
    }
    Ok(Ok(count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_every_field() {
        let base = entry_hash("p", 1, 2, "a", "b", "c", "d", Some("r"));
        assert_ne!(base, entry_hash("q", 1, 2, "a", "b", "c", "d", Some("r")));
        assert_ne!(base, entry_hash("p", 2, 2, "a", "b", "c", "d", Some("r")));
        assert_ne!(base, entry_hash("p", 1, 3, "a", "b", "c", "d", Some("r")));
        assert_ne!(base, entry_hash("p", 1, 2, "ab", "", "c", "d", Some("r")));
        assert_ne!(base, entry_hash("p", 1, 2, "a", "b", "c", "d", None));
        assert_ne!(base, entry_hash("p", 1, 2, "a", "b", "c", "d", Some("")));
        assert_eq!(base, entry_hash("p", 1, 2, "a", "b", "c", "d", Some("r")));
    }
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Entries after this sequence number (default 0).
    after: Option<i64>,
    /// At most this many (default 100, 1–1000).
    limit: Option<i64>,
}

/// The audit log, oldest first, for administrators.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<AuditEntry>), (status = 403, body = crate::http::ErrorBody)))]
async fn list_entries(
    axum::extract::State(state): axum::extract::State<crate::http::AppState>,
    crate::http::Authed(actor): crate::http::Authed,
    crate::http::ApiQuery(q): crate::http::ApiQuery<ListQuery>,
) -> crate::http::ApiResult<axum::Json<Vec<AuditEntry>>> {
    use crate::identity::{authorize, Action, Target};
    authorize(&actor, Action::AUDIT_READ, &Target::global())?;
    let limit = crate::http::params::count("limit", q.limit, 100, 1000)?;
    let after = crate::http::params::position("after", q.after)?;
    Ok(axum::Json(list(&state.db, after, limit).await?))
}

pub fn api() -> utoipa_axum::router::OpenApiRouter<crate::http::AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(list_entries))
}
