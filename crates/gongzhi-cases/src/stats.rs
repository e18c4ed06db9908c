//! Measures and rankings: the three rates of 接诉即办 (响应率, 解决率, 满意率) over valid
//! callbacks and the GB/T 30428-style handling and closure rates over dispatched cases, per
//! street, community, grid or unit, for a period on a configurable monthly cycle.

use std::collections::BTreeMap;

use chrono::{NaiveDate, TimeZone};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

use crate::calendar::shanghai;
use gongzhi_core::db::{opt_text, Db};
use gongzhi_core::identity::{authorize, Action, Actor, Role, Target};
use gongzhi_core::{audit, Error, Result};

pub const STATS_READ: Action =
    Action::new("stats_read", &[Role::Dispatcher, Role::Leader, Role::Admin]);
pub const SETTINGS_MANAGE: Action = Action::new("case_settings_manage", &[Role::Admin]);

/// The knobs of the measures; stored as data, edited by administrators.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MeasureSettings {
    pub response_weight: f64,
    pub resolution_weight: f64,
    pub satisfaction_weight: f64,
    /// How much a 基本满意 counts towards satisfaction.
    pub basically_satisfied_factor: f64,
    /// Day of the month a period starts (1 = calendar month; Beijing uses 19).
    pub cycle_start_day: u32,
}

impl Default for MeasureSettings {
    fn default() -> Self {
        MeasureSettings {
            response_weight: 0.1,
            resolution_weight: 0.5,
            satisfaction_weight: 0.4,
            basically_satisfied_factor: 0.9,
            cycle_start_day: 1,
        }
    }
}

impl MeasureSettings {
    pub fn validate(&self) -> Result<()> {
        let w = [
            self.response_weight,
            self.resolution_weight,
            self.satisfaction_weight,
            self.basically_satisfied_factor,
        ];
        if w.iter().any(|v| !v.is_finite() || *v < 0.0 || *v > 1.0) {
            return Err(Error::invalid(
                "invalid_settings",
                "weights and the factor are between 0 and 1",
            ));
        }
        if !(1..=28).contains(&self.cycle_start_day) {
            return Err(Error::invalid(
                "invalid_settings",
                "cycle_start_day is 1–28",
            ));
        }
        Ok(())
    }
}

/// The half-open period `[start, end)` in Unix ms for `YYYY-MM` on a cycle starting on day `d`:
/// with d = 1 the calendar month; with d > 1, day d of the previous month to day d of the month.
pub fn period_bounds(period: &str, d: u32) -> Result<(i64, i64)> {
    let bad = || {
        Error::invalid(
            "invalid_period",
            format!("period {period:?} is not YYYY-MM"),
        )
    };
    let (y, m) = period.split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let (y, m): (i32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let first = NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(bad)?;
    let (start, end) = if d <= 1 {
        let next = if m == 12 {
            NaiveDate::from_ymd_opt(y + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(y, m + 1, 1)
        };
        (first, next.ok_or_else(bad)?)
    } else {
        let prev = if m == 1 {
            NaiveDate::from_ymd_opt(y - 1, 12, d)
        } else {
            NaiveDate::from_ymd_opt(y, m - 1, d)
        };
        (
            prev.ok_or_else(bad)?,
            NaiveDate::from_ymd_opt(y, m, d).ok_or_else(bad)?,
        )
    };
    let ms = |day: NaiveDate| {
        shanghai()
            .from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight"))
            .single()
            .expect("fixed offset")
            .timestamp_millis()
    };
    Ok((ms(start), ms(end)))
}

/// Raw counts for one area or unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Counts {
    pub valid_callbacks: i64,
    pub contacted: i64,
    pub resolved: i64,
    pub satisfied: i64,
    pub basically_satisfied: i64,
    pub dispatched: i64,
    pub reported_back: i64,
    pub reported_back_on_time: i64,
    pub closed: i64,
    pub closed_on_time: i64,
    pub reworked: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StatsRow {
    pub rank: usize,
    pub code: String,
    pub name: String,
    #[serde(flatten)]
    pub counts: Counts,
    pub response_rate: Option<f64>,
    pub resolution_rate: Option<f64>,
    pub satisfaction_rate: Option<f64>,
    pub score: Option<f64>,
    pub handling_rate: Option<f64>,
    pub on_time_handling_rate: Option<f64>,
    pub closure_rate: Option<f64>,
    pub on_time_closure_rate: Option<f64>,
    pub rework_rate: Option<f64>,
}

fn ratio(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// The rates of one row from its counts (pure).
pub fn rates(code: String, name: String, c: Counts, s: &MeasureSettings) -> StatsRow {
    let response = ratio(c.contacted, c.valid_callbacks);
    let resolution = ratio(c.resolved, c.valid_callbacks);
    let satisfaction = (c.valid_callbacks > 0).then(|| {
        (c.satisfied as f64 + s.basically_satisfied_factor * c.basically_satisfied as f64)
            / c.valid_callbacks as f64
    });
    let score = match (response, resolution, satisfaction) {
        (Some(a), Some(b), Some(c)) => Some(
            100.0 * (s.response_weight * a + s.resolution_weight * b + s.satisfaction_weight * c),
        ),
        _ => None,
    };
    StatsRow {
        rank: 0,
        code,
        name,
        counts: c,
        response_rate: response,
        resolution_rate: resolution,
        satisfaction_rate: satisfaction,
        score,
        handling_rate: ratio(c.reported_back, c.dispatched),
        on_time_handling_rate: ratio(c.reported_back_on_time, c.dispatched),
        closure_rate: ratio(c.closed, c.dispatched),
        on_time_closure_rate: ratio(c.closed_on_time, c.dispatched),
        rework_rate: ratio(c.reworked, c.reported_back),
    }
}

/// Ranks by score (rows without a score last), then by volume (valid callbacks), then by code.
pub fn rank(rows: &mut [StatsRow]) {
    rows.sort_by(|a, b| {
        let sa = a.score.unwrap_or(f64::NEG_INFINITY);
        let sb = b.score.unwrap_or(f64::NEG_INFINITY);
        sb.total_cmp(&sa)
            .then(b.counts.valid_callbacks.cmp(&a.counts.valid_callbacks))
            .then(a.code.cmp(&b.code))
    });
    for (i, r) in rows.iter_mut().enumerate() {
        r.rank = i + 1;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatsLevel {
    Street,
    Community,
    Grid,
    Unit,
}

impl StatsLevel {
    fn column(self) -> &'static str {
        match self {
            StatsLevel::Street => "street_code",
            StatsLevel::Community => "community_code",
            StatsLevel::Grid => "grid_code",
            StatsLevel::Unit => "unit_code",
        }
    }
}

pub async fn load_settings(db: &Db) -> Result<MeasureSettings> {
    let row = sqlx::query("SELECT value FROM case_settings WHERE key = 'measures'")
        .fetch_optional(db.pool())
        .await?;
    match row {
        Some(r) => serde_json::from_str(&r.try_get::<String, _>(0)?).map_err(Error::internal),
        None => Ok(MeasureSettings::default()),
    }
}

pub async fn save_settings(db: &Db, actor: &Actor, s: &MeasureSettings) -> Result<()> {
    authorize(actor, SETTINGS_MANAGE, &Target::global())?;
    s.validate()?;
    let text = serde_json::to_string(s).map_err(Error::internal)?;
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query("UPDATE case_settings SET value = $1 WHERE key = 'measures'")
        .bind(&text)
        .execute(tx.conn())
        .await?;
    if updated.rows_affected() == 0 {
        sqlx::query("INSERT INTO case_settings (key, value) VALUES ('measures', $1)")
            .bind(&text)
            .execute(tx.conn())
            .await?;
    }
    audit::append(
        &mut tx,
        actor,
        "case_settings.update",
        "case_settings:measures",
        &serde_json::json!(s),
        None,
    )
    .await?;
    tx.commit().await
}

/// One row per area or unit with cases in the period, ranked.
pub async fn compute(
    db: &Db,
    actor: &Actor,
    period: &str,
    level: StatsLevel,
) -> Result<Vec<StatsRow>> {
    authorize(actor, STATS_READ, &Target::global()).or_else(|e| {
        // Scoped leaders and dispatchers see the rows of their own subtree.
        if actor
            .assignments
            .iter()
            .any(|a| STATS_READ.roles.contains(&a.role))
        {
            Ok(())
        } else {
            Err(e)
        }
    })?;
    let settings = load_settings(db).await?;
    let (start, end) = period_bounds(period, settings.cycle_start_day)?;
    let col = level.column();
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    let callbacks = sqlx::query(&format!(
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
    let dispatched = sqlx::query(&format!(
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
    let names = names_of(db, level, counts.keys()).await?;
    // A unit counts under the area it serves too: a district's leader ranks its departments.
    let unit_areas: BTreeMap<String, Option<String>> = if level == StatsLevel::Unit {
        let mut m = BTreeMap::new();
        for r in sqlx::query("SELECT code, area_code FROM units")
            .fetch_all(db.pool())
            .await?
        {
            m.insert(r.try_get::<String, _>(0)?, opt_text(&r, "area_code")?);
        }
        m
    } else {
        BTreeMap::new()
    };
    let mut rows: Vec<StatsRow> = counts
        .into_iter()
        .filter(|(code, _)| {
            let t = if level == StatsLevel::Unit {
                Target {
                    area: unit_areas.get(code).cloned().flatten(),
                    unit: Some(code.clone()),
                }
            } else {
                Target::area(code)
            };
            authorize(actor, STATS_READ, &t).is_ok()
        })
        .map(|(code, c)| {
            let name = names.get(&code).cloned().unwrap_or_default();
            rates(code, name, c, &settings)
        })
        .collect();
    rank(&mut rows);
    Ok(rows)
}

async fn names_of(
    db: &Db,
    level: StatsLevel,
    codes: impl Iterator<Item = &String>,
) -> Result<BTreeMap<String, String>> {
    let table = if level == StatsLevel::Unit {
        "units"
    } else {
        "areas"
    };
    let mut out = BTreeMap::new();
    for code in codes {
        if let Some(r) = sqlx::query(&format!("SELECT name FROM {table} WHERE code = $1"))
            .bind(code)
            .fetch_optional(db.pool())
            .await?
        {
            out.insert(code.clone(), r.try_get::<String, _>(0)?);
        }
    }
    Ok(out)
}

const HEADERS: [&str; 22] = [
    "排名 rank",
    "代码 code",
    "名称 name",
    "有效回访 valid_callbacks",
    "已联系 contacted",
    "已解决 resolved",
    "满意 satisfied",
    "基本满意 basically_satisfied",
    "派遣 dispatched",
    "已反馈 reported_back",
    "按期反馈 reported_back_on_time",
    "结案 closed",
    "按期结案 closed_on_time",
    "返工 reworked",
    "响应率 response_rate",
    "解决率 resolution_rate",
    "满意率 satisfaction_rate",
    "综合得分 score",
    "处置率 handling_rate",
    "按期处置率 on_time_handling_rate",
    "结案率 closure_rate",
    "按期结案率 on_time_closure_rate",
];

fn cells(r: &StatsRow) -> Vec<String> {
    let f = |v: Option<f64>| v.map(|x| format!("{x:.6}")).unwrap_or_default();
    let c = &r.counts;
    let mut out = vec![r.rank.to_string(), r.code.clone(), r.name.clone()];
    out.extend(
        [
            c.valid_callbacks,
            c.contacted,
            c.resolved,
            c.satisfied,
            c.basically_satisfied,
            c.dispatched,
            c.reported_back,
            c.reported_back_on_time,
            c.closed,
            c.closed_on_time,
            c.reworked,
        ]
        .iter()
        .map(|n| n.to_string()),
    );
    out.extend(
        [
            r.response_rate,
            r.resolution_rate,
            r.satisfaction_rate,
            r.score,
            r.handling_rate,
            r.on_time_handling_rate,
            r.closure_rate,
            r.on_time_closure_rate,
        ]
        .map(f),
    );
    out
}

/// CSV with a UTF-8 BOM so Excel opens the Chinese headers.
pub fn to_csv(rows: &[StatsRow]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    let mut headers = HEADERS.to_vec();
    headers.push("返工率 rework_rate");
    w.write_record(&headers).expect("in-memory CSV");
    for r in rows {
        let mut c = cells(r);
        c.push(r.rework_rate.map(|x| format!("{x:.6}")).unwrap_or_default());
        w.write_record(&c).expect("in-memory CSV");
    }
    w.into_inner().expect("in-memory CSV")
}

pub fn to_xlsx(rows: &[StatsRow]) -> Result<Vec<u8>> {
    use rust_xlsxwriter::Workbook;
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let mut headers = HEADERS.to_vec();
    headers.push("返工率 rework_rate");
    for (i, h) in headers.iter().enumerate() {
        sheet
            .write_string(0, i as u16, *h)
            .map_err(Error::internal)?;
    }
    for (ri, r) in rows.iter().enumerate() {
        let row = (ri + 1) as u32;
        let mut c = cells(r);
        c.push(r.rework_rate.map(|x| format!("{x:.6}")).unwrap_or_default());
        for (ci, v) in c.iter().enumerate() {
            match (ci >= 3, v.parse::<f64>()) {
                (true, Ok(n)) => sheet.write_number(row, ci as u16, n),
                _ => sheet.write_string(row, ci as u16, v),
            }
            .map_err(Error::internal)?;
        }
    }
    book.save_to_buffer().map_err(Error::internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(s: &str) -> i64 {
        gongzhi_core::time::parse_rfc3339(&format!("{s}T00:00:00+08:00")).unwrap()
    }

    #[test]
    fn periods_follow_the_cycle() {
        assert_eq!(
            period_bounds("2026-10", 1).unwrap(),
            (day("2026-10-01"), day("2026-11-01"))
        );
        assert_eq!(
            period_bounds("2026-12", 1).unwrap(),
            (day("2026-12-01"), day("2027-01-01"))
        );
        assert_eq!(
            period_bounds("2026-10", 19).unwrap(),
            (day("2026-09-19"), day("2026-10-19"))
        );
        assert_eq!(
            period_bounds("2026-01", 19).unwrap(),
            (day("2025-12-19"), day("2026-01-19"))
        );
        for bad in ["2026-13", "2026-1", "26-10", "2026/10", ""] {
            assert!(period_bounds(bad, 1).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_three_rates_and_the_score() {
        let c = Counts {
            valid_callbacks: 10,
            contacted: 9,
            resolved: 7,
            satisfied: 6,
            basically_satisfied: 2,
            dispatched: 8,
            reported_back: 6,
            reported_back_on_time: 5,
            closed: 4,
            closed_on_time: 3,
            reworked: 3,
        };
        let r = rates("x".into(), "x".into(), c, &MeasureSettings::default());
        assert_eq!(r.response_rate, Some(0.9));
        assert_eq!(r.resolution_rate, Some(0.7));
        assert!((r.satisfaction_rate.unwrap() - 0.78).abs() < 1e-12);
        assert!((r.score.unwrap() - 100.0 * (0.1 * 0.9 + 0.5 * 0.7 + 0.4 * 0.78)).abs() < 1e-9);
        assert_eq!(r.handling_rate, Some(0.75));
        assert_eq!(r.rework_rate, Some(0.5));
        let empty = rates(
            "y".into(),
            "y".into(),
            Counts::default(),
            &MeasureSettings::default(),
        );
        assert_eq!((empty.score, empty.closure_rate), (None, None));
    }

    proptest! {
        #[test]
        fn consecutive_periods_tile_time(y in 2000i32..2100, m in 1u32..=12, d in 1u32..=28) {
            let this = format!("{y:04}-{m:02}");
            let next = if m == 12 { format!("{:04}-01", y + 1) } else { format!("{y:04}-{:02}", m + 1) };
            let (a, b) = period_bounds(&this, d).unwrap();
            let (c, _) = period_bounds(&next, d).unwrap();
            prop_assert!(a < b);
            prop_assert_eq!(b, c);
        }

        #[test]
        fn ranking_is_by_score_then_volume_then_code(scores in proptest::collection::vec((0i64..5, 0i64..5, 1i64..5), 1..30)) {
            let mut rows: Vec<StatsRow> = scores.iter().enumerate().map(|(i, (res, sat, valid))| {
                let c = Counts { valid_callbacks: *valid, contacted: *valid, resolved: (*res).min(*valid), satisfied: (*sat).min(*valid), ..Default::default() };
                rates(format!("{i:03}"), String::new(), c, &MeasureSettings::default())
            }).collect();
            rank(&mut rows);
            for w in rows.windows(2) {
                let (a, b) = (&w[0], &w[1]);
                prop_assert!(a.score >= b.score);
                if a.score == b.score {
                    prop_assert!(a.counts.valid_callbacks > b.counts.valid_callbacks || (a.counts.valid_callbacks == b.counts.valid_callbacks && a.code < b.code));
                }
                prop_assert_eq!(a.rank + 1, b.rank);
            }
        }
    }
}
