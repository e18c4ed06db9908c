//! The figures of the cases a person may read, for the dashboard: open and overdue cases per
//! grid, and cases created and closed per day. They count exactly the cases `store::list` gives
//! the same person — each assignment counts only where the one permission check lets it read
//! cases — so a page can never show more than the API would.

use std::collections::HashMap;

use crate::model::overview::{Dashboard, GridFigures, Trend, TREND_DAYS};
use crate::permissions::CASE_READ;
use crate::store::list::read_scope;
use crate::store::overview::{self as counts, DayCount, DAY_MS};
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::{Error, Result};

/// The cases an actor may read, for figures that only staff who may read cases see: refused
/// when no assignment reads cases (one's own reports are no dashboard). Arguments from `$2`.
fn staff_scope(actor: &Actor) -> Result<(Option<String>, Vec<String>)> {
    let scope = read_scope(actor, 2)?;
    if !scope.reads {
        return Err(authorize(actor, CASE_READ, &Target::global())
            .err()
            .unwrap_or_else(|| Error::Forbidden("your roles do not allow case_read".into())));
    }
    Ok((scope.clause, scope.args))
}

/// Open and overdue cases per grid, of the cases `actor` may read.
pub async fn open_by_grid(
    db: &Db,
    actor: &Actor,
    now: i64,
) -> Result<HashMap<String, GridFigures>> {
    let (clause, args) = staff_scope(actor)?;
    counts::open_by_grid(db, clause.as_deref(), &args, now).await
}

/// Cases created and closed per day over the `days` days before `now`, of the cases `actor`
/// may read.
pub async fn trend(db: &Db, actor: &Actor, now: i64, days: i64) -> Result<Trend> {
    let (clause, args) = staff_scope(actor)?;
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
    for (what, into) in [
        (DayCount::Created, &mut t.created),
        (DayCount::Closed, &mut t.closed),
    ] {
        for (day, n) in counts::per_day(db, what, clause.as_deref(), &args, start).await? {
            let last = into.len() - 1;
            into[(day.max(0) as usize).min(last)] += n;
        }
    }
    Ok(t)
}

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
