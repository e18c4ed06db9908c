//! What the cases module's jobs read and write of a case.

use gongzhi_core::db::query;
use gongzhi_core::db::{opt_text, Db, WriteTx};
use gongzhi_core::Result;

/// A case as its due jobs see it.
pub(super) struct CaseNow {
    pub number: String,
    pub status: String,
    pub unit_code: Option<String>,
    pub street_code: Option<String>,
    pub handle_deadline: Option<i64>,
    pub reported_back: bool,
}

pub(super) async fn case_now(tx: &mut WriteTx, case_id: &str) -> Result<Option<CaseNow>> {
    let row = query("SELECT number, status, unit_code, street_code, handle_deadline, reported_back_at FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_optional(tx.conn())
        .await?;
    row.map(|r| {
        Ok(CaseNow {
            number: r.try_get("number")?,
            status: r.try_get("status")?,
            unit_code: opt_text(&r, "unit_code")?,
            street_code: opt_text(&r, "street_code")?,
            handle_deadline: r.try_get::<Option<i64>, _>("handle_deadline")?,
            reported_back: r.try_get::<Option<i64>, _>("reported_back_at")?.is_some(),
        })
    })
    .transpose()
}

/// Whether `unit` was summoned to the case and has not reported in.
pub(super) async fn summons_waiting(tx: &mut WriteTx, case_id: &str, unit: &str) -> Result<bool> {
    let r = query("SELECT reported_at FROM case_summons WHERE case_id = $1 AND unit_code = $2")
        .bind(case_id)
        .bind(unit)
        .fetch_optional(tx.conn())
        .await?;
    Ok(matches!(
        r.map(|r| r.try_get::<Option<i64>, _>(0)).transpose()?,
        Some(None)
    ))
}

/// The street's leaders now supervise the case.
pub(super) async fn supervise(tx: &mut WriteTx, case_id: &str) -> Result<()> {
    query("UPDATE cases SET supervised = 1 WHERE id = $1")
        .bind(case_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The case's number and its reporter's sealed phone.
pub(super) async fn reporter_of(
    db: &Db,
    case_id: &str,
) -> Result<Option<(String, Option<String>)>> {
    let row = query("SELECT number, reporter_phone FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| Ok((r.try_get("number")?, opt_text(&r, "reporter_phone")?)))
        .transpose()
}

/// The case named by its id or its number, as (id, number).
pub(super) async fn case_named(db: &Db, named: &str) -> Result<Option<(String, String)>> {
    let row = query("SELECT id, number FROM cases WHERE id = $1 OR number = $1")
        .bind(named)
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("number")?)))
        .transpose()
}
