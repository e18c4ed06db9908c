//! The measures in storage: their settings, the daily counters every case write keeps, and the
//! scan of the cases table they are checked against.

use std::collections::BTreeMap;

use crate::rules::stats::{
    day_of, whole_months, CaseFigures, CounterDelta, Counts, MeasureSettings, StatsLevel,
    COUNTER_COLUMNS,
};
use gongzhi_core::db::{opt_text, Db, Migration, WriteTx};
use gongzhi_core::db::{query, Row};
use gongzhi_core::{Error, Result};

pub async fn load_settings(db: &Db) -> Result<MeasureSettings> {
    let row = query("SELECT value FROM case_settings WHERE key = 'measures'")
        .fetch_optional(db.pool())
        .await?;
    match row {
        Some(r) => serde_json::from_str(&r.try_get::<String, _>(0)?).map_err(Error::internal),
        None => Ok(MeasureSettings::default()),
    }
}

/// Stores the settings (the command checks and audits).
pub async fn write_settings(tx: &mut WriteTx, text: &str) -> Result<()> {
    let updated = query("UPDATE case_settings SET value = $1 WHERE key = 'measures'")
        .bind(text)
        .execute(tx.conn())
        .await?;
    if updated.rows_affected() == 0 {
        query("INSERT INTO case_settings (key, value) VALUES ('measures', $1)")
            .bind(text)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

/// The area each unit serves, by unit code.
pub async fn unit_areas(db: &Db) -> Result<BTreeMap<String, Option<String>>> {
    let mut m = BTreeMap::new();
    for r in query("SELECT code, area_code FROM units")
        .fetch_all(db.pool())
        .await?
    {
        m.insert(r.try_get::<String, _>(0)?, opt_text(&r, "area_code")?);
    }
    Ok(m)
}

/// The counts of a row of counters (or of an aggregate with the same columns).
fn counts_of_row(r: &Row) -> Result<Counts> {
    let mut v = [0i64; 11];
    for (i, c) in COUNTER_COLUMNS.iter().enumerate() {
        v[i] = r.try_get::<Option<i64>, _>(*c)?.unwrap_or(0);
    }
    Ok(Counts::from_values(v))
}

/// The counts of every area or unit in `[start, end)`: the whole calendar months inside from
/// the monthly roll-ups, the days around them from the daily counters. A code appears when it
/// has a valid callback or a dispatch in the period, as in a scan.
pub async fn counter_counts(
    db: &Db,
    level: StatsLevel,
    start: i64,
    end: i64,
) -> Result<BTreeMap<String, Counts>> {
    let (from, to) = (day_of(start), day_of(end));
    let mut sums = BTreeMap::new();
    match whole_months(from, to) {
        Some((first, after)) => {
            add_sums(db, &mut sums, "case_stats_daily", "day", level, from, first).await?;
            add_sums(
                db,
                &mut sums,
                "case_stats_monthly",
                "month",
                level,
                first,
                after,
            )
            .await?;
            add_sums(db, &mut sums, "case_stats_daily", "day", level, after, to).await?;
        }
        None => add_sums(db, &mut sums, "case_stats_daily", "day", level, from, to).await?,
    }
    sums.retain(|_, c: &mut Counts| c.valid_callbacks > 0 || c.dispatched > 0);
    Ok(sums)
}

/// Adds `table`'s rows of `level` with `period` in `[from, to)` to `sums`, by code.
async fn add_sums(
    db: &Db,
    sums: &mut BTreeMap<String, Counts>,
    table: &str,
    period: &str,
    level: StatsLevel,
    from: i64,
    to: i64,
) -> Result<()> {
    if from >= to {
        return Ok(());
    }
    let columns: Vec<String> = COUNTER_COLUMNS
        .iter()
        .map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}"))
        .collect();
    let rows = query(&format!(
        "SELECT code, {} FROM {table} WHERE level = $1 AND {period} >= $2 AND {period} < $3 GROUP BY code",
        columns.join(", ")
    ))
    .bind(level.as_str())
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    for r in rows {
        sums.entry(r.try_get::<String, _>("code")?)
            .or_default()
            .add(&counts_of_row(&r)?, 1);
    }
    Ok(())
}

/// The same counts by scanning the cases table (what `compute` did before the counters): the
/// reference the counters are checked against, and the benchmark's "before".
pub async fn scan_counts(
    db: &Db,
    level: StatsLevel,
    start: i64,
    end: i64,
) -> Result<BTreeMap<String, Counts>> {
    let col = level.column();
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    let callbacks = query(&format!(
        "SELECT {col} AS k, COUNT(*) AS valid, \
         SUM(CASE WHEN callback_contacted = 1 THEN 1 ELSE 0 END) AS contacted, \
         SUM(CASE WHEN callback_resolved = 1 THEN 1 ELSE 0 END) AS resolved, \
         SUM(CASE WHEN callback_satisfaction = 'satisfied' THEN 1 ELSE 0 END) AS satisfied, \
         SUM(CASE WHEN callback_satisfaction = 'basically_satisfied' THEN 1 ELSE 0 END) AS basically \
         FROM cases WHERE callback_at >= $1 AND callback_at < $2 AND callback_contacted IS NOT NULL AND {col} IS NOT NULL \
         AND status <> 'merged' GROUP BY {col}"
    ))
    .bind(start)
    .bind(end)
    .fetch_all(db.pool())
    .await?;
    for r in callbacks {
        let c = counts.entry(r.try_get("k")?).or_default();
        c.valid_callbacks = r.try_get("valid")?;
        c.contacted = r.try_get::<Option<i64>, _>("contacted")?.unwrap_or(0);
        c.resolved = r.try_get::<Option<i64>, _>("resolved")?.unwrap_or(0);
        c.satisfied = r.try_get::<Option<i64>, _>("satisfied")?.unwrap_or(0);
        c.basically_satisfied = r.try_get::<Option<i64>, _>("basically")?.unwrap_or(0);
    }
    let dispatched = query(&format!(
        "SELECT {col} AS k, COUNT(*) AS dispatched, \
         SUM(CASE WHEN reported_back_at IS NOT NULL THEN 1 ELSE 0 END) AS back, \
         SUM(CASE WHEN reported_back_at IS NOT NULL AND reported_back_at <= handle_deadline THEN 1 ELSE 0 END) AS back_on_time, \
         SUM(CASE WHEN closed_at IS NOT NULL THEN 1 ELSE 0 END) AS closed, \
         SUM(CASE WHEN closed_at IS NOT NULL AND closed_at <= close_deadline THEN 1 ELSE 0 END) AS closed_on_time, \
         SUM(CASE WHEN reported_back_at IS NOT NULL AND rework_count > 0 THEN 1 ELSE 0 END) AS reworked \
         FROM cases WHERE dispatched_at >= $1 AND dispatched_at < $2 AND {col} IS NOT NULL AND status <> 'merged' GROUP BY {col}"
    ))
    .bind(start)
    .bind(end)
    .fetch_all(db.pool())
    .await?;
    for r in dispatched {
        let c = counts.entry(r.try_get("k")?).or_default();
        let get = |k: &str| -> Result<i64> { Ok(r.try_get::<Option<i64>, _>(k)?.unwrap_or(0)) };
        c.dispatched = get("dispatched")?;
        c.reported_back = get("back")?;
        c.reported_back_on_time = get("back_on_time")?;
        c.closed = get("closed")?;
        c.closed_on_time = get("closed_on_time")?;
        c.reworked = get("reworked")?;
    }
    Ok(counts)
}

pub async fn names_of(
    db: &Db,
    level: StatsLevel,
    codes: impl Iterator<Item = &String>,
) -> Result<BTreeMap<String, String>> {
    let table = if level == StatsLevel::Unit {
        "units"
    } else {
        "areas"
    };
    let wanted: std::collections::BTreeSet<&String> = codes.collect();
    let mut out = BTreeMap::new();
    if wanted.is_empty() {
        return Ok(out);
    }
    // One read of the level's names instead of one query per code (343 streets, or a few
    // thousand grids); a code stored at another level is looked up on its own, as before.
    let all = if level == StatsLevel::Unit {
        query("SELECT code, name FROM units")
            .fetch_all(db.pool())
            .await?
    } else {
        query("SELECT code, name FROM areas WHERE level = $1")
            .bind(level.as_str())
            .fetch_all(db.pool())
            .await?
    };
    for r in all {
        let code: String = r.try_get(0)?;
        if wanted.contains(&code) {
            out.insert(code, r.try_get::<String, _>(1)?);
        }
    }
    for code in wanted {
        if out.contains_key(code) {
            continue;
        }
        if let Some(r) = query(&format!("SELECT name FROM {table} WHERE code = $1"))
            .bind(code)
            .fetch_optional(db.pool())
            .await?
        {
            out.insert(code.clone(), r.try_get::<String, _>(0)?);
        }
    }
    Ok(out)
}

impl CounterDelta {
    /// Writes the non-zero changes inside `tx`: the daily counters and their monthly roll-ups.
    pub async fn apply(&self, tx: &mut WriteTx) -> Result<()> {
        upsert(tx, "case_stats_daily", "day", self).await?;
        upsert(tx, "case_stats_monthly", "month", &self.by_month()).await
    }
}

/// Adds `delta`'s non-zero changes to `table`'s rows keyed by (level, `period`, code): upserts
/// in key order, so concurrent writers lock rows in the same order.
async fn upsert(tx: &mut WriteTx, table: &str, period: &str, delta: &CounterDelta) -> Result<()> {
    let rows: Vec<_> = delta.0.iter().filter(|(_, c)| !c.is_zero()).collect();
    const PER_ROW: usize = 3 + COUNTER_COLUMNS.len();
    let updates: Vec<String> = COUNTER_COLUMNS
        .iter()
        .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
        .collect();
    for chunk in rows.chunks(gongzhi_core::db::rows_per_statement(PER_ROW)) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                format!(
                    "({})",
                    gongzhi_core::db::placeholders(i * PER_ROW + 1, PER_ROW)
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO {table} (level, {period}, code, {}) VALUES {} \
             ON CONFLICT (level, {period}, code) DO UPDATE SET {}",
            COUNTER_COLUMNS.join(", "),
            values.join(", "),
            updates.join(", ")
        );
        let mut q = query(&sql);
        for ((level, day, code), c) in chunk {
            q = q.bind(*level).bind(*day).bind(code.as_str());
            for v in c.values() {
                q = q.bind(v);
            }
        }
        q.execute(tx.conn()).await?;
    }
    Ok(())
}

/// Applies the change of one case's row (`before` as read in `tx`, `after` re-read in `tx`).
pub async fn record_change(tx: &mut WriteTx, before: Option<&Row>, case_id: &str) -> Result<()> {
    let after = query("SELECT * FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(tx.conn())
        .await?;
    let before = before.map(CaseFigures::of_row).transpose()?;
    CounterDelta::between(before.as_ref(), &CaseFigures::of_row(&after)?)
        .apply(tx)
        .await
}

/// The counters of the cases matching `$filter` (an SQL condition over `cases`), aggregated by
/// (level, day, code) with the same conditions as [`CaseFigures::contribution`]; a literal, so
/// the migration that creates the counters and bulk copies share one text.
macro_rules! contributions_sql {
    ($filter:literal) => {
        concat!(
            "SELECT level, day, code, CAST(SUM(valid_callbacks) AS BIGINT) AS valid_callbacks, \
             CAST(SUM(contacted) AS BIGINT) AS contacted, CAST(SUM(resolved) AS BIGINT) AS resolved, \
             CAST(SUM(satisfied) AS BIGINT) AS satisfied, CAST(SUM(basically_satisfied) AS BIGINT) AS basically_satisfied, \
             CAST(SUM(dispatched) AS BIGINT) AS dispatched, CAST(SUM(reported_back) AS BIGINT) AS reported_back, \
             CAST(SUM(reported_back_on_time) AS BIGINT) AS reported_back_on_time, CAST(SUM(closed) AS BIGINT) AS closed, \
             CAST(SUM(closed_on_time) AS BIGINT) AS closed_on_time, CAST(SUM(reworked) AS BIGINT) AS reworked FROM (",
            contributions_sql!(@level "street", "street_code", $filter),
            " UNION ALL ",
            contributions_sql!(@level "community", "community_code", $filter),
            " UNION ALL ",
            contributions_sql!(@level "grid", "grid_code", $filter),
            " UNION ALL ",
            contributions_sql!(@level "unit", "unit_code", $filter),
            ") contributions GROUP BY level, day, code"
        )
    };
    (@level $level:literal, $col:literal, $filter:literal) => {
        concat!(
            "SELECT '", $level, "' AS level, (callback_at + 28800000) / 86400000 AS day, ", $col, " AS code, \
             1 AS valid_callbacks, \
             CASE WHEN callback_contacted = 1 THEN 1 ELSE 0 END AS contacted, \
             CASE WHEN callback_resolved = 1 THEN 1 ELSE 0 END AS resolved, \
             CASE WHEN callback_satisfaction = 'satisfied' THEN 1 ELSE 0 END AS satisfied, \
             CASE WHEN callback_satisfaction = 'basically_satisfied' THEN 1 ELSE 0 END AS basically_satisfied, \
             0 AS dispatched, 0 AS reported_back, 0 AS reported_back_on_time, 0 AS closed, 0 AS closed_on_time, 0 AS reworked \
             FROM cases WHERE (", $filter, ") AND callback_at IS NOT NULL AND callback_contacted IS NOT NULL AND ", $col,
            " IS NOT NULL AND status <> 'merged' UNION ALL \
             SELECT '", $level, "', (dispatched_at + 28800000) / 86400000, ", $col, ", 0, 0, 0, 0, 0, 1, \
             CASE WHEN reported_back_at IS NOT NULL THEN 1 ELSE 0 END, \
             CASE WHEN reported_back_at IS NOT NULL AND reported_back_at <= handle_deadline THEN 1 ELSE 0 END, \
             CASE WHEN closed_at IS NOT NULL THEN 1 ELSE 0 END, \
             CASE WHEN closed_at IS NOT NULL AND closed_at <= close_deadline THEN 1 ELSE 0 END, \
             CASE WHEN reported_back_at IS NOT NULL AND rework_count > 0 THEN 1 ELSE 0 END \
             FROM cases WHERE (", $filter, ") AND dispatched_at IS NOT NULL AND ", $col, " IS NOT NULL AND status <> 'merged'"
        )
    };
}

/// The daily counters, filled from the cases already stored (times are Unix ms after 1970, so
/// SQL's integer division is the floor [`day_of`] takes).
pub const MIGRATION: Migration = Migration {
    id: "cases-0006-stats-daily",
    sql: concat!(
        "CREATE TABLE case_stats_daily (level TEXT NOT NULL, day BIGINT NOT NULL, code TEXT NOT NULL, \
         valid_callbacks BIGINT NOT NULL, contacted BIGINT NOT NULL, resolved BIGINT NOT NULL, \
         satisfied BIGINT NOT NULL, basically_satisfied BIGINT NOT NULL, dispatched BIGINT NOT NULL, \
         reported_back BIGINT NOT NULL, reported_back_on_time BIGINT NOT NULL, closed BIGINT NOT NULL, \
         closed_on_time BIGINT NOT NULL, reworked BIGINT NOT NULL, PRIMARY KEY (level, day, code));
         INSERT INTO case_stats_daily (level, day, code, valid_callbacks, contacted, resolved, satisfied, \
         basically_satisfied, dispatched, reported_back, reported_back_on_time, closed, closed_on_time, reworked) ",
        contributions_sql!("1 = 1")
    ),
};

/// The counters of the cases whose id ends with `suffix` (a bulk copy's new rows), read inside
/// `tx`, to [`CounterDelta::apply`] in the same transaction.
pub async fn contributions_of_copies(tx: &mut WriteTx, suffix: &str) -> Result<CounterDelta> {
    let mut d = CounterDelta::default();
    for r in query(contributions_sql!("id LIKE $1"))
        .bind(format!("%{suffix}"))
        .fetch_all(tx.conn())
        .await?
    {
        let level = StatsLevel::ALL
            .into_iter()
            .find(|l| {
                r.try_get::<String, _>("level")
                    .is_ok_and(|v| v == l.as_str())
            })
            .ok_or_else(|| Error::internal("bad counter level"))?;
        d.add_counts(
            level.as_str(),
            r.try_get("day")?,
            r.try_get("code")?,
            &counts_of_row(&r)?,
        );
    }
    Ok(d)
}

/// The monthly roll-ups of the daily counters (keyed by the month's first day, as
/// [`crate::rules::stats::month_of`]), filled from the daily counters: a month's ranking at the
/// grid level reads one row per grid instead of one per grid and day. The month of a day number
/// is the civil-from-days arithmetic in integers (all positive here), so both backends agree.
pub const MONTHLY_MIGRATION: Migration = Migration {
    id: "cases-0009-stats-monthly",
    sql: "CREATE TABLE case_stats_monthly (level TEXT NOT NULL, month BIGINT NOT NULL, code TEXT NOT NULL, \
         valid_callbacks BIGINT NOT NULL, contacted BIGINT NOT NULL, resolved BIGINT NOT NULL, \
         satisfied BIGINT NOT NULL, basically_satisfied BIGINT NOT NULL, dispatched BIGINT NOT NULL, \
         reported_back BIGINT NOT NULL, reported_back_on_time BIGINT NOT NULL, closed BIGINT NOT NULL, \
         closed_on_time BIGINT NOT NULL, reworked BIGINT NOT NULL, PRIMARY KEY (level, month, code));
         INSERT INTO case_stats_monthly (level, month, code, valid_callbacks, contacted, resolved, satisfied, \
         basically_satisfied, dispatched, reported_back, reported_back_on_time, closed, closed_on_time, reworked) \
         SELECT level, day - doy + (153 * ((5 * doy + 2) / 153) + 2) / 5 AS month, code, \
         CAST(SUM(valid_callbacks) AS BIGINT), CAST(SUM(contacted) AS BIGINT), CAST(SUM(resolved) AS BIGINT), \
         CAST(SUM(satisfied) AS BIGINT), CAST(SUM(basically_satisfied) AS BIGINT), CAST(SUM(dispatched) AS BIGINT), \
         CAST(SUM(reported_back) AS BIGINT), CAST(SUM(reported_back_on_time) AS BIGINT), CAST(SUM(closed) AS BIGINT), \
         CAST(SUM(closed_on_time) AS BIGINT), CAST(SUM(reworked) AS BIGINT) FROM ( \
         SELECT y.*, doe - (365 * yoe + yoe / 4 - yoe / 100) AS doy FROM ( \
         SELECT e.*, (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365 AS yoe FROM ( \
         SELECT d.*, (day + 719468) - ((day + 719468) / 146097) * 146097 AS doe FROM case_stats_daily d) e) y) z \
         GROUP BY level, day - doy + (153 * ((5 * doy + 2) / 153) + 2) / 5, code",
};
