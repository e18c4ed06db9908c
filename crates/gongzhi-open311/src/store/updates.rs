//! Updates: outside systems' updates on requests (`open311_updates`); the feed of every step
//! on public requests is the cases module's (`queries::published::feed`).

use gongzhi_core::db::WriteTx;
use gongzhi_core::Result;

use crate::model::records::NewUpdate;
use gongzhi_core::db::query;

/// Stores an update; a repeated `update_id` is the database's unique violation.
pub async fn insert(tx: &mut WriteTx, u: &NewUpdate<'_>) -> Result<()> {
    query("INSERT INTO open311_updates (update_id, case_id, status, description, media_url, updated_at, client) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(u.update_id)
        .bind(u.case_id)
        .bind(u.status)
        .bind(u.description)
        .bind(u.media_url)
        .bind(u.updated_at)
        .bind(u.client)
        .execute(tx.conn())
        .await?;
    Ok(())
}
