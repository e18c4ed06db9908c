//! The working calendars' per-date overrides, one row per calendar and day.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{CalendarDay, DayKind};
use crate::db::query;
use crate::db::{Db, Migration, WriteTx};
use crate::{Error, Result};

/// The calendar moved from the cases module into the core. The cases module created this table
/// (`cases-0001`) before the core took it over; a database made then keeps its table and rows.
pub const MIGRATION: Migration = Migration {
    id: "core-0006-calendar",
    sql: "CREATE TABLE IF NOT EXISTS calendar_days (
    calendar TEXT NOT NULL,
    day TEXT NOT NULL,
    kind TEXT NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (calendar, day)
)",
};

fn kind_of(s: &str) -> DayKind {
    if s == "holiday" {
        DayKind::Holiday
    } else {
        DayKind::Workday
    }
}

/// Writes `days` into calendar `name`, replacing a date already stored.
pub(super) async fn replace_days(tx: &mut WriteTx, name: &str, days: &[CalendarDay]) -> Result<()> {
    for d in days {
        let day = d.date.format("%Y-%m-%d").to_string();
        query("DELETE FROM calendar_days WHERE calendar = $1 AND day = $2")
            .bind(name)
            .bind(&day)
            .execute(tx.conn())
            .await?;
        query("INSERT INTO calendar_days (calendar, day, kind, note) VALUES ($1, $2, $3, $4)")
            .bind(name)
            .bind(&day)
            .bind(d.kind.as_str())
            .bind(&d.note)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

pub(super) async fn overrides(
    db: &Db,
    since: NaiveDate,
    limit: i64,
) -> Result<Vec<(String, CalendarDay)>> {
    let rows = query(
        "SELECT calendar, day, kind, note FROM calendar_days WHERE day >= $1 ORDER BY calendar, day LIMIT $2",
    )
    .bind(since.format("%Y-%m-%d").to_string())
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let day: String = r.try_get(1)?;
        let kind: String = r.try_get(2)?;
        out.push((
            r.try_get(0)?,
            CalendarDay {
                date: NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(Error::internal)?,
                kind: kind_of(&kind),
                note: r.try_get(3)?,
            },
        ));
    }
    Ok(out)
}

/// Every override of calendar `name`; a malformed stored date is skipped.
pub(super) async fn days_of(db: &Db, name: &str) -> Result<BTreeMap<NaiveDate, DayKind>> {
    let rows = query("SELECT day, kind FROM calendar_days WHERE calendar = $1")
        .bind(name)
        .fetch_all(db.pool())
        .await?;
    let mut out = BTreeMap::new();
    for r in rows {
        let day: String = r.try_get(0)?;
        let kind: String = r.try_get(1)?;
        if let Ok(d) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") {
            out.insert(d, kind_of(&kind));
        }
    }
    Ok(out)
}
