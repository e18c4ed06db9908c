//! The module's settings in storage (`deliberation_settings`, key → text).

use gongzhi_core::db::query;
use gongzhi_core::db::{Db, WriteTx};
use gongzhi_core::Result;

pub async fn get(db: &Db, key: &str) -> Result<Option<String>> {
    let r = query("SELECT value FROM deliberation_settings WHERE key = $1")
        .bind(key)
        .fetch_optional(db.pool())
        .await?;
    r.map(|r| Ok(r.try_get::<String, _>(0)?)).transpose()
}

pub async fn put(tx: &mut WriteTx, key: &str, value: &str) -> Result<()> {
    query("INSERT INTO deliberation_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2")
        .bind(key)
        .bind(value)
        .execute(tx.conn())
        .await?;
    Ok(())
}
