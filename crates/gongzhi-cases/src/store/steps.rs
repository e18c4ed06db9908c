//! The writes of the loop's steps: the case row under optimistic concurrency (its `version`),
//! summons, and what the follow-ups read back in the same transaction.

use serde_json::json;

use super::{bind_all, SetValue};
use gongzhi_core::db::WriteTx;
use gongzhi_core::db::{query, Row};
use gongzhi_core::{Error, Result};

/// The case `id` (id or number), read in the step's transaction.
pub async fn find(tx: &mut WriteTx, id: &str) -> Result<Row> {
    query("SELECT * FROM cases WHERE id = $1 OR number = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| Error::not_found("case"))
}

/// The case `id` as the step left it.
pub async fn reread(tx: &mut WriteTx, case_id: &str) -> Result<Row> {
    Ok(query("SELECT * FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(tx.conn())
        .await?)
}

/// Sets the columns of the case at `version`; `false` when another step changed it first.
pub async fn update(
    tx: &mut WriteTx,
    sets: Vec<(&str, SetValue)>,
    case_id: &str,
    version: i64,
) -> Result<bool> {
    let assignments: Vec<String> = sets
        .iter()
        .enumerate()
        .map(|(i, (c, _))| format!("{c} = ${}", i + 1))
        .collect();
    let sql = format!(
        "UPDATE cases SET {} WHERE id = ${} AND version = ${}",
        assignments.join(", "),
        sets.len() + 1,
        sets.len() + 2
    );
    let values: Vec<SetValue> = sets.into_iter().map(|(_, v)| v).collect();
    let done = bind_all(&sql, &values)
        .bind(case_id)
        .bind(version)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Calls a unit to the case (吹哨); a unit already called fails on the unique key.
pub async fn summon(tx: &mut WriteTx, case_id: &str, unit: &str, deadline: i64) -> Result<()> {
    query("INSERT INTO case_summons (id, case_id, unit_code, deadline, reported_at) VALUES ($1, $2, $3, $4, NULL)")
        .bind(gongzhi_core::db::new_id())
        .bind(case_id)
        .bind(unit)
        .bind(deadline)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// A summoned unit reports in (报到); `false` when it has no open summons on the case.
pub async fn report_in(tx: &mut WriteTx, case_id: &str, unit: &str, now: i64) -> Result<bool> {
    let updated = query("UPDATE case_summons SET reported_at = $1 WHERE case_id = $2 AND unit_code = $3 AND reported_at IS NULL")
        .bind(now)
        .bind(case_id)
        .bind(unit)
        .execute(tx.conn())
        .await?;
    Ok(updated.rows_affected() > 0)
}

/// The summons not yet reported in, as (unit, deadline).
pub async fn open_summons(tx: &mut WriteTx, case_id: &str) -> Result<Vec<(String, i64)>> {
    let rows = query(
        "SELECT unit_code, deadline FROM case_summons WHERE case_id = $1 AND reported_at IS NULL",
    )
    .bind(case_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|s| Ok((s.try_get(0)?, s.try_get(1)?)))
        .collect()
}

/// Is the overdue check of a unit's summons already scheduled?
pub async fn summons_check_scheduled(tx: &mut WriteTx, case_id: &str, unit: &str) -> Result<bool> {
    crate::jobs::is_scheduled(tx, "summon_overdue", case_id, &json!({"unit": unit})).await
}
