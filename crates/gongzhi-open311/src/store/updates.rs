//! Updates: outside systems' updates on requests (`open311_updates`), and the feed of every
//! step on public requests.

use sqlx::Row;

use gongzhi_cases::store::publicity::PUBLIC_CASE_IDS;
use gongzhi_core::db::{Db, WriteTx};
use gongzhi_core::Result;

use super::in_list;
use super::requests::step_of;
use crate::model::records::{NewUpdate, UpdateRecord};

/// Stores an update; a repeated `update_id` is the database's unique violation.
pub async fn insert(tx: &mut WriteTx, u: &NewUpdate<'_>) -> Result<()> {
    sqlx::query("INSERT INTO open311_updates (update_id, case_id, status, description, media_url, updated_at, client) VALUES ($1, $2, $3, $4, $5, $6, $7)")
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

/// Steps on public requests in the `public` categories within `[after, before]`, the first 1000.
pub async fn feed(
    db: &Db,
    public: &[String],
    after: i64,
    before: i64,
) -> Result<Vec<UpdateRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT e.id, e.step, e.at, e.note, c.number FROM case_events e JOIN cases c ON c.id = e.case_id \
         WHERE c.category_code IN ({}) AND c.id IN ({PUBLIC_CASE_IDS}) AND e.at >= $1 AND e.at <= $2 ORDER BY e.at, e.id LIMIT 1000",
        in_list(public)
    ))
    .bind(after)
    .bind(before)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(UpdateRecord {
                step: step_of(r)?,
                number: r.try_get("number")?,
            })
        })
        .collect()
}
