//! The timeline tables: `(id, <subject>, at, actor, step, note, data)`, one per module.

use serde_json::Value;

use super::{Event, Step, Timeline};
use crate::db::query;
use crate::db::{opt_text, Db, WriteTx};
use crate::time::format_ms;
use crate::Result;

#[allow(clippy::too_many_arguments)]
pub(super) async fn insert(
    tx: &mut WriteTx,
    t: &Timeline,
    subject: &str,
    at: i64,
    who: &str,
    step: &str,
    note: Option<&str>,
    data: &Value,
) -> Result<()> {
    let sql = format!(
        "INSERT INTO {} (id, {}, at, actor, step, note, data) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        t.table, t.subject_column
    );
    query(&sql)
        .bind(crate::db::new_id())
        .bind(subject)
        .bind(at)
        .bind(who)
        .bind(step)
        .bind(note)
        .bind(data.to_string())
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub(super) async fn insert_many(tx: &mut WriteTx, t: &Timeline, steps: &[Step<'_>]) -> Result<()> {
    for chunk in steps.chunks(crate::db::rows_per_statement(7)) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let n = i * 7;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4,
                    n + 5,
                    n + 6,
                    n + 7
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO {} (id, {}, at, actor, step, note, data) VALUES {}",
            t.table,
            t.subject_column,
            values.join(", ")
        );
        let mut q = query(&sql);
        for s in chunk {
            q = q
                .bind(crate::db::new_id())
                .bind(s.subject)
                .bind(s.at)
                .bind(s.who)
                .bind(s.step)
                .bind(s.note)
                .bind(s.data.to_string());
        }
        q.execute(tx.conn()).await?;
    }
    Ok(())
}

pub(super) async fn of(db: &Db, t: &Timeline, subject: &str) -> Result<Vec<Event>> {
    let sql = format!(
        "SELECT at, actor, step, note, data FROM {} WHERE {} = $1 ORDER BY at, id",
        t.table, t.subject_column
    );
    let rows = query(&sql).bind(subject).fetch_all(db.pool()).await?;
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
