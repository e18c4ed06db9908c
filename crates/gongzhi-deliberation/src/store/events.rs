//! The history (timeline) of topics, calls, consultations and panels.

use serde_json::Value;
use sqlx::Row;

use crate::model::Event;
use gongzhi_core::db::{opt_text, Db, WriteTx};
use gongzhi_core::time::format_ms;
use gongzhi_core::Result;

/// Adds one step to `subject`'s history, inside the caller's transaction; `actor` as the
/// history names them.
pub async fn add(
    tx: &mut WriteTx,
    subject: &str,
    at: i64,
    actor: &str,
    step: &str,
    note: Option<&str>,
    data: &Value,
) -> Result<()> {
    sqlx::query("INSERT INTO delib_events (id, subject, at, actor, step, note, data) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(subject)
        .bind(at)
        .bind(actor)
        .bind(step)
        .bind(note)
        .bind(data.to_string())
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The history of `subject`, oldest first.
pub async fn list(db: &Db, subject: &str) -> Result<Vec<Event>> {
    let rows = sqlx::query(
        "SELECT at, actor, step, note, data FROM delib_events WHERE subject = $1 ORDER BY at, id",
    )
    .bind(subject)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Event {
                at: format_ms(r.try_get("at")?),
                actor: r.try_get("actor")?,
                step: r.try_get("step")?,
                note: opt_text(r, "note")?,
                data: serde_json::from_str(&r.try_get::<String, _>("data")?).unwrap_or(Value::Null),
            })
        })
        .collect()
}
