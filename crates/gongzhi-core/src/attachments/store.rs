//! Photos in storage: the bytes with their type and digest, and what record they are linked to.

use super::{url, AttachmentRef};
use crate::db::query;
use crate::db::{opt_text, Db, WriteTx};
use crate::time::format_ms;
use crate::{Error, Result};

pub(super) async fn insert(
    tx: &mut WriteTx,
    id: &str,
    content_type: &str,
    sha256: &str,
    bytes: &[u8],
    uploaded_by: &str,
    now: i64,
) -> Result<()> {
    query(
        "INSERT INTO attachments (id, content_type, size, sha256, data, uploaded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(content_type)
    .bind(bytes.len() as i64)
    .bind(sha256)
    .bind(bytes.to_vec())
    .bind(uploaded_by)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Links one upload of `uploader` that is not linked yet; false when there is no such upload.
pub(super) async fn link_one(
    tx: &mut WriteTx,
    id: &str,
    owner: &str,
    step: &str,
    uploader: &str,
) -> Result<bool> {
    let done = query(
        "UPDATE attachments SET owner = $1, step = $2 \
         WHERE id = $3 AND owner IS NULL AND uploaded_by = $4",
    )
    .bind(owner)
    .bind(step)
    .bind(id)
    .bind(uploader)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The photos of `owner`, oldest first.
pub async fn of(db: &Db, owner: &str) -> Result<Vec<AttachmentRef>> {
    let rows = query(
        "SELECT id, content_type, size, sha256, step, created_at FROM attachments \
         WHERE owner = $1 ORDER BY created_at, id",
    )
    .bind(owner)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            Ok(AttachmentRef {
                url: url(&id),
                id,
                content_type: r.try_get("content_type")?,
                size: r.try_get("size")?,
                sha256: r.try_get("sha256")?,
                step: opt_text(r, "step")?,
                created_at: format_ms(r.try_get("created_at")?),
            })
        })
        .collect()
}

/// The bytes of a photo with its type and owner, unchecked: callers decide who may see it.
pub async fn read(db: &Db, id: &str) -> Result<(String, Option<String>, String, Vec<u8>)> {
    let r = query("SELECT content_type, owner, uploaded_by, data FROM attachments WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::not_found("attachment"))?;
    Ok((
        r.try_get("content_type")?,
        opt_text(&r, "owner")?,
        r.try_get("uploaded_by")?,
        r.try_get("data")?,
    ))
}
