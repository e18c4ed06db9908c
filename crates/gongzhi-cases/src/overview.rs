//! The figures of the cases a person may read, for the dashboard: open and overdue cases per
//! grid, and cases created and closed per day. They count exactly the cases `store::list` gives
//! the same person — each assignment counts only where the one permission check lets it read
//! cases — so a page can never show more than the API would.

use std::collections::HashMap;

use sqlx::Row;

use crate::permissions::CASE_READ;
use crate::store;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::{Error, Result};

const DAY_MS: i64 = 86_400_000;

/// Statuses that end a case's life: not open, never overdue.
const ENDED: &str = "('closed', 'called_back', 'cancelled', 'merged')";

/// Open and overdue cases of one grid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GridFigures {
    pub open: i64,
    pub overdue: i64,
}

/// Cases created and closed per day, oldest day first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trend {
    /// Each day's label, `MM-DD` in Beijing time.
    pub days: Vec<String>,
    pub created: Vec<i64>,
    pub closed: Vec<i64>,
}

/// The cases an actor may read (`store::read_scope`), for figures that only staff who may read
/// cases see: refused when no assignment reads cases (one's own reports are no dashboard).
struct Scope {
    clause: Option<String>,
    args: Vec<String>,
}

fn read_scope(actor: &Actor, first: usize) -> Result<Scope> {
    let scope = store::list::read_scope(actor, first)?;
    if !scope.reads {
        return Err(authorize(actor, CASE_READ, &Target::global())
            .err()
            .unwrap_or_else(|| Error::Forbidden("your roles do not allow case_read".into())));
    }
    Ok(Scope {
        clause: scope.clause,
        args: scope.args,
    })
}

impl Scope {
    /// ` AND (…)` to append to a `WHERE`.
    fn and(&self) -> String {
        self.clause
            .as_deref()
            .map(|c| format!(" AND {c}"))
            .unwrap_or_default()
    }
}

/// Open and overdue cases per grid, of the cases `actor` may read (cases without a grid are
/// not on the map).
pub async fn open_by_grid(
    db: &Db,
    actor: &Actor,
    now: i64,
) -> Result<HashMap<String, GridFigures>> {
    let scope = read_scope(actor, 2)?;
    let sql = format!(
        "SELECT grid_code, COUNT(*), SUM(CASE WHEN (reported_back_at IS NULL AND handle_deadline < $1) \
         OR (closed_at IS NULL AND close_deadline < $1) THEN 1 ELSE 0 END) FROM cases \
         WHERE status NOT IN {ENDED} AND grid_code IS NOT NULL{} GROUP BY grid_code",
        scope.and()
    );
    let mut q = sqlx::query(&sql).bind(now);
    for a in &scope.args {
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

/// Cases created and closed per day over the `days` days before `now`, of the cases `actor`
/// may read. Counted by the database: a month can hold hundreds of thousands of cases.
pub async fn trend(db: &Db, actor: &Actor, now: i64, days: i64) -> Result<Trend> {
    let scope = read_scope(actor, 2)?;
    let days = days.max(1);
    let start = now - days * DAY_MS;
    let mut t = Trend {
        days: (0..days)
            .map(|i| {
                let at = chrono::DateTime::from_timestamp_millis(start + (i + 1) * DAY_MS)
                    .unwrap_or_default()
                    + chrono::Duration::hours(8);
                at.format("%m-%d").to_string()
            })
            .collect(),
        created: vec![0; days as usize],
        closed: vec![0; days as usize],
    };
    for (col, into) in [("created_at", &mut t.created), ("closed_at", &mut t.closed)] {
        let sql = format!(
            "SELECT ({col} - $1) / {DAY_MS} AS d, COUNT(*) FROM cases WHERE {col} >= $1{} GROUP BY ({col} - $1) / {DAY_MS}",
            scope.and()
        );
        let mut q = sqlx::query(&sql).bind(start);
        for a in &scope.args {
            q = q.bind(a.clone());
        }
        for r in q.fetch_all(db.pool()).await? {
            let i = (r.try_get::<i64, _>(0)?.max(0) as usize).min(into.len() - 1);
            into[i] += r.try_get::<i64, _>(1)?;
        }
    }
    Ok(t)
}

/// What the leaders' dashboard shows: a period's ranking at one level and the trend of the
/// last [`TREND_DAYS`] days.
#[derive(Debug, Clone, Default)]
pub struct Dashboard {
    pub ranking: Vec<crate::rules::stats::StatsRow>,
    pub trend: Trend,
}

pub const TREND_DAYS: i64 = 30;

/// The dashboard of `actor`: refused unless one of their roles reads the figures
/// (`stats_read`), and then only of what their assignments reach — an area's subtree, or a
/// unit's own cases and row for a unit-only assignment, never the district's.
pub async fn dashboard(
    db: &Db,
    actor: &Actor,
    period: &str,
    level: crate::rules::stats::StatsLevel,
    now: i64,
) -> Result<Dashboard> {
    let ranking = crate::queries::stats::compute(db, actor, period, level).await?;
    let trend = trend(db, actor, now, TREND_DAYS).await?;
    Ok(Dashboard { ranking, trend })
}
