//! The shared windows: one row per key and window, the hits every server added to it.

use crate::db::query;
use crate::db::{Db, Migration};
use crate::Result;

pub const MIGRATION: Migration = Migration {
    id: "core-0010-rate-windows",
    sql: "CREATE TABLE rate_windows (
    key TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
)",
};

/// Adds each `(key, window, hits)` to its shared row and returns the totals, in order; forgets
/// the windows that started before `forget_before`, if given. One short transaction, off the
/// request path.
pub(super) async fn add(
    db: &Db,
    rows: &[(String, i64, i64)],
    forget_before: Option<i64>,
) -> Result<Vec<i64>> {
    let mut tx = db.begin_counters().await?;
    let mut totals = Vec::with_capacity(rows.len());
    for (key, window, hits) in rows {
        let total: i64 = query(
            "INSERT INTO rate_windows (key, window_start, hits) VALUES ($1, $2, $3) \
             ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_windows.hits + excluded.hits \
             RETURNING hits",
        )
        .bind(key)
        .bind(*window)
        .bind(*hits)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        totals.push(total);
    }
    if let Some(before) = forget_before {
        query("DELETE FROM rate_windows WHERE window_start < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(totals)
}
