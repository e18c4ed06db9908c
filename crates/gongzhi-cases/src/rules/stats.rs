//! Measures and rankings: the three rates of 接诉即办 (响应率, 解决率, 满意率) over valid
//! callbacks and the GB/T 30428-style handling and closure rates over dispatched cases, per
//! street, community, grid or unit, for a period on a configurable monthly cycle.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, TimeZone};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use gongzhi_core::calendar::shanghai;
use gongzhi_core::db::opt_text;
use gongzhi_core::db::Row;
use gongzhi_core::{Error, Result};

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
    pub(crate) fn column(self) -> &'static str {
        match self {
            StatsLevel::Street => "street_code",
            StatsLevel::Community => "community_code",
            StatsLevel::Grid => "grid_code",
            StatsLevel::Unit => "unit_code",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Daily counters: per (level, Shanghai day, code), the counts a scan would find for that day.
// Callback counts sit on the callback's day, dispatch counts on the dispatch's day, so any
// period on any cycle start day is a sum of whole days. Every write that changes a case's
// figures applies the difference between its contribution before and after, in its own
// transaction, rows in key order (so concurrent writers lock them in the same order).
// ---------------------------------------------------------------------------------------------

/// The counter columns, in the order of [`Counts::values`].
pub const COUNTER_COLUMNS: [&str; 11] = [
    "valid_callbacks",
    "contacted",
    "resolved",
    "satisfied",
    "basically_satisfied",
    "dispatched",
    "reported_back",
    "reported_back_on_time",
    "closed",
    "closed_on_time",
    "reworked",
];

const DAY_MS: i64 = 86_400_000;
const SHANGHAI_OFFSET_MS: i64 = 8 * 3_600_000;

/// The Asia/Shanghai day number (days since 1970-01-01 there) of a Unix-ms moment.
pub fn day_of(ms: i64) -> i64 {
    (ms + SHANGHAI_OFFSET_MS).div_euclid(DAY_MS)
}

/// The day number of the first day of `day`'s calendar month (days as in [`day_of`]): the key
/// of the monthly roll-ups, so a month's rows are compared with days directly.
pub fn month_of(day: i64) -> i64 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date");
    let date = epoch + chrono::Duration::days(day);
    let first = date.with_day0(0).unwrap_or(date);
    (first - epoch).num_days()
}

/// The whole calendar months inside the days `[from, to)`, as `[first month, month after the
/// last)` in day numbers; None when no whole month fits (the roll-ups can't answer any of it).
pub fn whole_months(from: i64, to: i64) -> Option<(i64, i64)> {
    let first = if month_of(from) == from {
        from
    } else {
        next_month(from)
    };
    let after = month_of(to);
    (first < after).then_some((first, after))
}

/// The first day of the month after `day`'s.
fn next_month(day: i64) -> i64 {
    // 31 days after the first of a month always lands in the next one.
    month_of(month_of(day) + 31)
}

impl Counts {
    pub fn values(&self) -> [i64; 11] {
        [
            self.valid_callbacks,
            self.contacted,
            self.resolved,
            self.satisfied,
            self.basically_satisfied,
            self.dispatched,
            self.reported_back,
            self.reported_back_on_time,
            self.closed,
            self.closed_on_time,
            self.reworked,
        ]
    }

    pub(crate) fn from_values(v: [i64; 11]) -> Counts {
        Counts {
            valid_callbacks: v[0],
            contacted: v[1],
            resolved: v[2],
            satisfied: v[3],
            basically_satisfied: v[4],
            dispatched: v[5],
            reported_back: v[6],
            reported_back_on_time: v[7],
            closed: v[8],
            closed_on_time: v[9],
            reworked: v[10],
        }
    }

    /// `self + sign × other`, field by field.
    pub fn add(&mut self, other: &Counts, sign: i64) {
        let (a, b) = (self.values(), other.values());
        *self = Counts::from_values(std::array::from_fn(|i| a[i] + sign * b[i]));
    }

    pub fn is_zero(&self) -> bool {
        self.values().iter().all(|v| *v == 0)
    }
}

impl StatsLevel {
    pub const ALL: [StatsLevel; 4] = [
        StatsLevel::Street,
        StatsLevel::Community,
        StatsLevel::Grid,
        StatsLevel::Unit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StatsLevel::Street => "street",
            StatsLevel::Community => "community",
            StatsLevel::Grid => "grid",
            StatsLevel::Unit => "unit",
        }
    }
}

/// The columns of a case that its figures depend on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFigures {
    pub merged: bool,
    /// Street, community, grid and unit codes, in the order of [`StatsLevel::ALL`].
    pub codes: [Option<String>; 4],
    pub callback_at: Option<i64>,
    pub callback_contacted: Option<i64>,
    pub callback_resolved: Option<i64>,
    pub callback_satisfaction: Option<String>,
    pub dispatched_at: Option<i64>,
    pub reported_back_at: Option<i64>,
    pub handle_deadline: Option<i64>,
    pub closed_at: Option<i64>,
    pub close_deadline: Option<i64>,
    pub rework_count: i64,
}

impl CaseFigures {
    /// From a `SELECT * FROM cases` row.
    pub fn of_row(r: &Row) -> Result<CaseFigures> {
        let int = |c: &str| -> Result<Option<i64>> { Ok(r.try_get::<Option<i64>, _>(c)?) };
        Ok(CaseFigures {
            merged: r.try_get::<String, _>("status")? == "merged",
            codes: [
                opt_text(r, "street_code")?,
                opt_text(r, "community_code")?,
                opt_text(r, "grid_code")?,
                opt_text(r, "unit_code")?,
            ],
            callback_at: int("callback_at")?,
            callback_contacted: int("callback_contacted")?,
            callback_resolved: int("callback_resolved")?,
            callback_satisfaction: opt_text(r, "callback_satisfaction")?,
            dispatched_at: int("dispatched_at")?,
            reported_back_at: int("reported_back_at")?,
            handle_deadline: int("handle_deadline")?,
            closed_at: int("closed_at")?,
            close_deadline: int("close_deadline")?,
            rework_count: r.try_get::<i64, _>("rework_count")?,
        })
    }

    /// What this case adds to the counters of its callback day and its dispatch day (pure; the
    /// same conditions as [`scan_counts`]).
    pub fn contribution(&self) -> (Option<(i64, Counts)>, Option<(i64, Counts)>) {
        if self.merged {
            return (None, None);
        }
        let callback = match (self.callback_at, self.callback_contacted) {
            (Some(at), Some(contacted)) => Some((
                day_of(at),
                Counts {
                    valid_callbacks: 1,
                    contacted: i64::from(contacted == 1),
                    resolved: i64::from(self.callback_resolved == Some(1)),
                    satisfied: i64::from(
                        self.callback_satisfaction.as_deref() == Some("satisfied"),
                    ),
                    basically_satisfied: i64::from(
                        self.callback_satisfaction.as_deref() == Some("basically_satisfied"),
                    ),
                    ..Default::default()
                },
            )),
            _ => None,
        };
        let by = |at: Option<i64>, deadline: Option<i64>| match (at, deadline) {
            (Some(a), Some(d)) => a <= d,
            _ => false,
        };
        let dispatch = self.dispatched_at.map(|at| {
            let back = self.reported_back_at.is_some();
            (
                day_of(at),
                Counts {
                    dispatched: 1,
                    reported_back: i64::from(back),
                    reported_back_on_time: i64::from(by(
                        self.reported_back_at,
                        self.handle_deadline,
                    )),
                    closed: i64::from(self.closed_at.is_some()),
                    closed_on_time: i64::from(by(self.closed_at, self.close_deadline)),
                    reworked: i64::from(back && self.rework_count > 0),
                    ..Default::default()
                },
            )
        });
        (callback, dispatch)
    }
}

/// Counter changes keyed by (level, day, code), in key order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CounterDelta(pub BTreeMap<(&'static str, i64, String), Counts>);

impl CounterDelta {
    /// Adds `sign ×` the contribution of `case`.
    pub fn add(&mut self, case: &CaseFigures, sign: i64) {
        let (callback, dispatch) = case.contribution();
        for (day, counts) in [callback, dispatch].into_iter().flatten() {
            for (level, code) in StatsLevel::ALL.iter().zip(&case.codes) {
                if let Some(code) = code {
                    self.0
                        .entry((level.as_str(), day, code.clone()))
                        .or_default()
                        .add(&counts, sign);
                }
            }
        }
    }

    /// The change from `before` (None: a new case) to `after`.
    pub fn between(before: Option<&CaseFigures>, after: &CaseFigures) -> CounterDelta {
        let mut d = CounterDelta::default();
        if before == Some(after) {
            return d;
        }
        if let Some(b) = before {
            d.add(b, -1);
        }
        d.add(after, 1);
        d
    }

    /// The same changes summed by calendar month (the key's day becomes [`month_of`] it).
    pub fn by_month(&self) -> CounterDelta {
        let mut m = CounterDelta::default();
        for ((level, day, code), c) in &self.0 {
            m.0.entry((*level, month_of(*day), code.clone()))
                .or_default()
                .add(c, 1);
        }
        m
    }

    /// Adds counts read back from storage (e.g. an aggregate over copied rows).
    pub fn add_counts(&mut self, level: &'static str, day: i64, code: String, c: &Counts) {
        self.0.entry((level, day, code)).or_default().add(c, 1);
    }
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

/// CSV with a UTF-8 BOM so Excel opens the Chinese headers; text cells cannot run as formulas.
pub fn to_csv(rows: &[StatsRow]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    let mut headers = HEADERS.to_vec();
    headers.push("返工率 rework_rate");
    w.write_record(&headers).expect("in-memory CSV");
    for r in rows {
        let mut c = cells(r);
        c.push(r.rework_rate.map(|x| format!("{x:.6}")).unwrap_or_default());
        // Code and name are text (an area's name is whatever an admin typed); the rest are
        // numbers and stay as they are.
        for text in &mut c[1..=2] {
            *text = gongzhi_core::export::csv_text(text).into_owned();
        }
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

    fn figures() -> impl Strategy<Value = CaseFigures> {
        let t = proptest::option::of(1_700_000_000_000i64..1_700_000_000_000 + 90 * DAY_MS);
        let code =
            |p: &'static str| proptest::option::of((0..3u8).prop_map(move |i| format!("{p}{i}")));
        (
            (any::<bool>(), code("s"), code("c"), code("g"), code("u")),
            (
                t.clone(),
                proptest::option::of(0i64..2),
                proptest::option::of(0i64..2),
            ),
            proptest::option::of(prop_oneof![
                Just("satisfied"),
                Just("basically_satisfied"),
                Just("dissatisfied")
            ]),
            (t.clone(), t.clone(), t.clone(), t.clone(), t, 0i64..3),
        )
            .prop_map(
                |(
                    (merged, s, c, g, u),
                    (cb, contacted, resolved),
                    sat,
                    (d, back, hd, closed, cd, rework),
                )| CaseFigures {
                    merged,
                    codes: [s, c, g, u],
                    callback_at: cb,
                    callback_contacted: contacted,
                    callback_resolved: resolved,
                    callback_satisfaction: sat.map(String::from),
                    dispatched_at: d,
                    reported_back_at: back,
                    handle_deadline: hd,
                    closed_at: closed,
                    close_deadline: cd,
                    rework_count: rework,
                },
            )
    }

    proptest! {
        /// Applying the delta of every change in turn leaves exactly the last state's
        /// contribution, whatever moved (codes, days, outcomes, merging): the counters of a
        /// case never drift from what a scan of its current row finds.
        #[test]
        fn counter_deltas_add_up_to_the_current_state(states in proptest::collection::vec(figures(), 1..8)) {
            let mut total = CounterDelta::default();
            let mut prev: Option<&CaseFigures> = None;
            for s in &states {
                for (k, v) in CounterDelta::between(prev, s).0 {
                    total.0.entry(k).or_default().add(&v, 1);
                }
                prev = Some(s);
                prop_assert!(total.0.values().all(|c| c.values().iter().all(|v| *v >= 0)));
            }
            let mut want = CounterDelta::default();
            want.add(states.last().unwrap(), 1);
            total.0.retain(|_, c| !c.is_zero());
            want.0.retain(|_, c| !c.is_zero());
            prop_assert_eq!(total, want);
        }
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
        fn a_month_starts_on_its_first_day(day in 0i64..60_000) {
            let m = month_of(day);
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
            let (d, first) = (epoch + chrono::Duration::days(day), epoch + chrono::Duration::days(m));
            prop_assert_eq!(first.day(), 1);
            prop_assert_eq!((first.year(), first.month()), (d.year(), d.month()));
            prop_assert_eq!(month_of(m), m);
            prop_assert!(next_month(day) > day && month_of(next_month(day)) == next_month(day));
        }

        #[test]
        fn whole_months_lie_inside_and_leave_less_than_a_month_out(from in 0i64..60_000, len in 0i64..800) {
            let to = from + len;
            match whole_months(from, to) {
                Some((a, b)) => {
                    prop_assert!(from <= a && a < b && b <= to);
                    prop_assert_eq!(month_of(a), a);
                    prop_assert_eq!(month_of(b), b);
                    // What is left on either side is less than a month.
                    prop_assert!(a - from < 31 && to - b < 31);
                }
                // No whole month fits: the first month starting at or after `from` ends after `to`.
                None => {
                    let first = if month_of(from) == from { from } else { next_month(from) };
                    prop_assert!(next_month(first) > to);
                }
            }
        }

        #[test]
        fn monthly_changes_sum_the_daily_ones(changes in proptest::collection::vec((0i64..800, 0usize..3, -3i64..4), 0..40)) {
            let mut d = CounterDelta::default();
            for (day, code, n) in &changes {
                d.add_counts("grid", *day + 20_000, format!("g{code}"), &Counts { dispatched: *n, ..Default::default() });
            }
            let m = d.by_month();
            let mut want: BTreeMap<(i64, String), i64> = BTreeMap::new();
            for ((_, day, code), c) in &d.0 {
                *want.entry((month_of(*day), code.clone())).or_default() += c.dispatched;
            }
            let got: BTreeMap<(i64, String), i64> = m.0.iter().map(|((_, mo, code), c)| ((*mo, code.clone()), c.dispatched)).collect();
            prop_assert_eq!(got, want);
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
