//! Open311 clients' API keys (`open311_keys`), kept as hashes.

use gongzhi_core::db::{Db, WriteTx};
use gongzhi_core::time::now_ms;
use gongzhi_core::Result;

use crate::model::records::KeyRecord;
use gongzhi_core::db::query;

pub async fn insert(tx: &mut WriteTx, id: &str, name: &str, key_hash: &str) -> Result<()> {
    query("INSERT INTO open311_keys (id, name, key_hash, created_at) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(name)
        .bind(key_hash)
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The name of the client whose key has this hash, unless it was revoked.
pub async fn client_name(db: &Db, key_hash: &str) -> Result<Option<String>> {
    let row = query("SELECT name FROM open311_keys WHERE key_hash = $1 AND revoked_at IS NULL")
        .bind(key_hash)
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| Ok(r.try_get(0)?)).transpose()
}

pub async fn list(db: &Db) -> Result<Vec<KeyRecord>> {
    let rows =
        query("SELECT id, name, created_at, revoked_at FROM open311_keys ORDER BY created_at")
            .fetch_all(db.pool())
            .await?;
    rows.iter()
        .map(|r| {
            Ok(KeyRecord {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                created_at: r.try_get("created_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .collect()
}

/// Revokes a key not yet revoked; whether there was one.
pub async fn revoke(tx: &mut WriteTx, id: &str) -> Result<bool> {
    let done =
        query("UPDATE open311_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(id)
            .execute(tx.conn())
            .await?;
    Ok(done.rows_affected() > 0)
}
