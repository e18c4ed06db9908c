//! The dashboard's counts, over the cases a read scope (`list::read_scope`) lets through.

use std::collections::HashMap;

use crate::model::overview::GridFigures;
use gongzhi_core::db::query;
use gongzhi_core::db::Db;
use gongzhi_core::Result;

pub const DAY_MS: i64 = 86_400_000;

/// Statuses that end a case's life: not open, never overdue.
const ENDED: &str = "('closed', 'called_back', 'cancelled', 'merged')";

/// ` AND (…)` to append to a `WHERE`, from a read scope's clause (its arguments from `$2`).
fn and(clause: Option<&str>) -> String {
    clause.map(|c| format!(" AND {c}")).unwrap_or_default()
}

/// Open and overdue cases per grid (cases without a grid are not on the map).
pub async fn open_by_grid(
    db: &Db,
    clause: Option<&str>,
    args: &[String],
    now: i64,
) -> Result<HashMap<String, GridFigures>> {
    let sql = format!(
        "SELECT grid_code, COUNT(*), SUM(CASE WHEN (reported_back_at IS NULL AND handle_deadline < $1) \
         OR (closed_at IS NULL AND close_deadline < $1) THEN 1 ELSE 0 END) FROM cases \
         WHERE status NOT IN {ENDED} AND grid_code IS NOT NULL{} GROUP BY grid_code",
        and(clause)
    );
    let mut q = query(&sql).bind(now);
    for a in args {
        q = q.bind(a.clone());
    }
    let mut out = HashMap::new();
    for r in q.fetch_all(db.pool()).await? {
        out.insert(
            r.try_get::<String, _>(0)?,
            GridFigures {
                open: r.try_get(1)?,
                overdue: r.try_get::<Option<i64>, _>(2)?.unwrap_or(0),
            },
        );
    }
    Ok(out)
}

/// Which time column a day's count reads.
#[derive(Debug, Clone, Copy)]
pub enum DayCount {
    Created,
    Closed,
}

/// Cases per day since `start` by `what`, as (day index from `start`, count). Counted by the
/// database: a month can hold hundreds of thousands of cases.
pub async fn per_day(
    db: &Db,
    what: DayCount,
    clause: Option<&str>,
    args: &[String],
    start: i64,
) -> Result<Vec<(i64, i64)>> {
    let col = match what {
        DayCount::Created => "created_at",
        DayCount::Closed => "closed_at",
    };
    let sql = format!(
        "SELECT ({col} - $1) / {DAY_MS} AS d, COUNT(*) FROM cases WHERE {col} >= $1{} GROUP BY ({col} - $1) / {DAY_MS}",
        and(clause)
    );
    let mut q = query(&sql).bind(start);
    for a in args {
        q = q.bind(a.clone());
    }
    q.fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}
