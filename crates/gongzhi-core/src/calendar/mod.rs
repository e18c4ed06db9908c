//! Working calendars and deadline arithmetic, a platform service every module's deadlines use.
//! A calendar is data: working hours per day, and per-date overrides (`holiday`: a day off even
//! on a weekday; `workday`: a working day even on a weekend, 调休). The arithmetic is pure;
//! times are Asia/Shanghai. The overrides are stored in `calendar_days` (see `store`).

mod store;

pub use store::MIGRATION;

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Weekday};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::Db;
use crate::identity::{authorize, Action, Actor, Role, Target};
use crate::{audit, Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    Holiday,
    Workday,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LimitUnit {
    WorkHours,
    WorkDays,
    Hours,
    Days,
}

impl LimitUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitUnit::WorkHours => "work_hours",
            LimitUnit::WorkDays => "work_days",
            LimitUnit::Hours => "hours",
            LimitUnit::Days => "days",
        }
    }
    pub fn parse(s: &str) -> Option<LimitUnit> {
        [
            LimitUnit::WorkHours,
            LimitUnit::WorkDays,
            LimitUnit::Hours,
            LimitUnit::Days,
        ]
        .into_iter()
        .find(|u| u.as_str() == s)
    }
}

/// A time limit such as "3 work_days".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TimeLimit {
    pub amount: u32,
    pub unit: LimitUnit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkCalendar {
    /// Working periods of a working day, in order, not overlapping.
    pub periods: Vec<(NaiveTime, NaiveTime)>,
    pub overrides: BTreeMap<NaiveDate, DayKind>,
}

impl Default for WorkCalendar {
    /// Monday to Friday, 09:00–12:00 and 13:30–17:30 (seven working hours).
    fn default() -> Self {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("valid time");
        WorkCalendar {
            periods: vec![(t(9, 0), t(12, 0)), (t(13, 30), t(17, 30))],
            overrides: BTreeMap::new(),
        }
    }
}

pub fn shanghai() -> FixedOffset {
    crate::time::shanghai()
}

impl WorkCalendar {
    pub fn is_workday(&self, d: NaiveDate) -> bool {
        match self.overrides.get(&d) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !matches!(d.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// Working time in one working day.
    pub fn day_length(&self) -> Duration {
        self.periods.iter().map(|(a, b)| *b - *a).sum()
    }

    /// The moment `limit` after `start`. Working time counts only working periods of working
    /// days; a working day is `day_length()` of working time, so "1 work day" from Friday 10:00
    /// is Monday 10:00 on the default calendar.
    pub fn deadline(
        &self,
        start: DateTime<FixedOffset>,
        limit: TimeLimit,
    ) -> DateTime<FixedOffset> {
        let amount = i64::from(limit.amount);
        match limit.unit {
            LimitUnit::Hours => start + Duration::hours(amount),
            LimitUnit::Days => start + Duration::days(amount),
            LimitUnit::WorkHours => self.add_working_time(start, Duration::hours(amount)),
            LimitUnit::WorkDays => self.add_working_time(start, self.day_length() * amount as i32),
        }
    }

    /// Walks forward through working periods until `work` has been spent.
    pub fn add_working_time(
        &self,
        start: DateTime<FixedOffset>,
        work: Duration,
    ) -> DateTime<FixedOffset> {
        let tz = start.timezone();
        let local = start.with_timezone(&shanghai()).naive_local();
        let mut left = work;
        let mut day = local.date();
        let mut from = local.time();
        if left <= Duration::zero() || self.periods.is_empty() {
            return start;
        }
        // Ten years of days at most: a calendar with no working days must not loop forever.
        for _ in 0..3660 {
            if self.is_workday(day) {
                for (a, b) in &self.periods {
                    let begin = if from > *a { from } else { *a };
                    if begin >= *b {
                        continue;
                    }
                    let span = *b - begin;
                    if span >= left {
                        let at = day.and_time(begin) + left;
                        return shanghai()
                            .from_local_datetime(&at)
                            .single()
                            .expect("fixed offset")
                            .with_timezone(&tz);
                    }
                    left -= span;
                }
            }
            day = day.succ_opt().expect("date in range");
            from = NaiveTime::MIN;
        }
        start + Duration::days(3660)
    }

    /// Working time between two moments (zero when `end` ≤ `start`).
    pub fn working_time_between(
        &self,
        start: DateTime<FixedOffset>,
        end: DateTime<FixedOffset>,
    ) -> Duration {
        if end <= start {
            return Duration::zero();
        }
        let s = start.with_timezone(&shanghai()).naive_local();
        let e = end.with_timezone(&shanghai()).naive_local();
        let mut total = Duration::zero();
        let mut day = s.date();
        while day <= e.date() {
            if self.is_workday(day) {
                for (a, b) in &self.periods {
                    let lo = day.and_time(*a).max(s);
                    let hi = day.and_time(*b).min(e);
                    if hi > lo {
                        total += hi - lo;
                    }
                }
            }
            day = day.succ_opt().expect("date in range");
        }
        total
    }
}

/// A calendar CSV line: `date,kind,note`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CalendarDay {
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    pub kind: DayKind,
    pub note: String,
}

/// Parses a calendar CSV (header `date,kind,note`); every bad line is reported.
pub fn parse_calendar_csv(text: &str) -> Result<Vec<CalendarDay>, Vec<(String, String)>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut problems = Vec::new();
    match reader.headers() {
        Ok(h) if h.iter().collect::<Vec<_>>() == ["date", "kind", "note"] => {}
        _ => {
            return Err(vec![(
                "line 1".into(),
                "the header must be date,kind,note".into(),
            )])
        }
    }
    let mut days: Vec<CalendarDay> = Vec::new();
    let mut seen = BTreeMap::new();
    for (i, rec) in reader.records().enumerate() {
        let at = format!("line {}", i + 2);
        let rec = match rec {
            Ok(r) if r.len() == 3 => r,
            Ok(r) => {
                problems.push((at, format!("expected 3 fields, found {}", r.len())));
                continue;
            }
            Err(e) => {
                problems.push((at, format!("malformed CSV: {e}")));
                continue;
            }
        };
        let date = match NaiveDate::parse_from_str(&rec[0], "%Y-%m-%d") {
            Ok(d) => d,
            Err(_) => {
                problems.push((at, format!("date {:?} is not YYYY-MM-DD", &rec[0])));
                continue;
            }
        };
        let kind = match &rec[1] {
            "holiday" => DayKind::Holiday,
            "workday" => DayKind::Workday,
            other => {
                problems.push((at, format!("kind {other:?} is not holiday or workday")));
                continue;
            }
        };
        if let Some(prev) = seen.insert(date, at.clone()) {
            problems.push((at, format!("{date} is listed twice (also at {prev})")));
            continue;
        }
        days.push(CalendarDay {
            date,
            kind,
            note: rec[2].to_string(),
        });
    }
    if problems.is_empty() {
        Ok(days)
    } else {
        Err(problems)
    }
}

/// Managing the working calendars: an administrator's task.
pub const CALENDAR_MANAGE: Action = Action::new("calendar_manage", &[Role::ADMIN]);

/// Stores a calendar's per-date overrides (a date already stored is replaced), all or nothing.
pub async fn import(db: &Db, actor: &Actor, name: &str, days: &[CalendarDay]) -> Result<usize> {
    authorize(actor, CALENDAR_MANAGE, &Target::global())?;
    if name.is_empty()
        || name.len() > 40
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::invalid(
            "invalid_calendar_name",
            "a calendar name is 1–40 letters, digits, '-' or '_'",
        ));
    }
    let mut tx = db.begin_write().await?;
    store::replace_days(&mut tx, name, days).await?;
    tx.bump_version("calendar").await?;
    audit::append(
        &mut tx,
        actor,
        "calendar.import",
        &format!("calendar:{name}"),
        &serde_json::json!(days),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(days.len())
}

/// The stored per-date overrides of every calendar from `since` on, at most `limit`, as
/// (calendar, day): working-time data, not personal, shown to administrators.
pub async fn overrides(
    db: &Db,
    since: NaiveDate,
    limit: i64,
) -> Result<Vec<(String, CalendarDay)>> {
    store::overrides(db, since, limit).await
}

/// The calendar named `name`: the default working week with its stored overrides.
pub async fn load(db: &Db, name: &str) -> Result<WorkCalendar> {
    Ok(WorkCalendar {
        overrides: store::days_of(db, name).await?,
        ..WorkCalendar::default()
    })
}

impl DayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Holiday => "holiday",
            DayKind::Workday => "workday",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }
    fn wh(n: u32) -> TimeLimit {
        TimeLimit {
            amount: n,
            unit: LimitUnit::WorkHours,
        }
    }

    #[test]
    fn working_days_skip_weekends_holidays_and_count_adjusted_saturdays() {
        let mut cal = WorkCalendar::default();
        // Friday 2026-09-25 10:00 + 1 work day → Monday 10:00.
        let friday = at("2026-09-25T10:00:00+08:00");
        assert_eq!(
            cal.deadline(
                friday,
                TimeLimit {
                    amount: 1,
                    unit: LimitUnit::WorkDays
                }
            ),
            at("2026-09-28T10:00:00+08:00")
        );
        // National Day week: Oct 1–7 off, Saturday Oct 10 a working day (调休).
        for d in 1..=7 {
            cal.overrides.insert(
                NaiveDate::from_ymd_opt(2026, 10, d).unwrap(),
                DayKind::Holiday,
            );
        }
        cal.overrides.insert(
            NaiveDate::from_ymd_opt(2026, 10, 10).unwrap(),
            DayKind::Workday,
        );
        let sept30 = at("2026-09-30T16:30:00+08:00");
        // One hour left on the 30th, then the next working day is Thursday Oct 8.
        assert_eq!(cal.deadline(sept30, wh(2)), at("2026-10-08T10:00:00+08:00"));
        // Three work days from the 30th 16:30: Oct 8, Oct 9, Sat Oct 10 → Sat 16:30.
        assert_eq!(
            cal.deadline(
                sept30,
                TimeLimit {
                    amount: 3,
                    unit: LimitUnit::WorkDays
                }
            ),
            at("2026-10-10T16:30:00+08:00")
        );
        // Lunch is not working time.
        assert_eq!(
            cal.deadline(at("2026-10-08T11:30:00+08:00"), wh(1)),
            at("2026-10-08T14:00:00+08:00")
        );
        // Clock units ignore the calendar.
        assert_eq!(
            cal.deadline(
                sept30,
                TimeLimit {
                    amount: 24,
                    unit: LimitUnit::Hours
                }
            ),
            at("2026-10-01T16:30:00+08:00")
        );
        assert_eq!(
            cal.deadline(
                sept30,
                TimeLimit {
                    amount: 2,
                    unit: LimitUnit::Days
                }
            ),
            at("2026-10-02T16:30:00+08:00")
        );
        // Starting at night counts from the next morning.
        assert_eq!(
            cal.deadline(at("2026-10-08T22:00:00+08:00"), wh(1)),
            at("2026-10-09T10:00:00+08:00")
        );
    }

    #[test]
    fn calendar_csv_is_all_or_nothing() {
        let ok = parse_calendar_csv(
            "date,kind,note\n2026-10-01,holiday,国庆节\n2026-10-10,workday,调休\n",
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        let bad = parse_calendar_csv("date,kind,note\n2026-13-01,holiday,x\n2026-10-01,party,x\n2026-10-02,holiday\n2026-10-03,holiday,a\n2026-10-03,workday,b\n").unwrap_err();
        let lines: Vec<&str> = bad.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(lines, ["line 2", "line 3", "line 4", "line 6"]);
        assert!(parse_calendar_csv("day,kind\n").is_err());
    }

    fn any_calendar() -> impl Strategy<Value = WorkCalendar> {
        proptest::collection::vec((0u32..60, prop::bool::ANY), 0..20).prop_map(|days| {
            let mut cal = WorkCalendar::default();
            for (offset, holiday) in days {
                let d =
                    NaiveDate::from_ymd_opt(2026, 9, 20).unwrap() + Duration::days(offset as i64);
                cal.overrides.insert(
                    d,
                    if holiday {
                        DayKind::Holiday
                    } else {
                        DayKind::Workday
                    },
                );
            }
            cal
        })
    }

    proptest! {
        #[test]
        fn deadlines_are_monotonic_and_spend_exactly_the_working_time(
            cal in any_calendar(),
            minutes in 0i64..(40 * 24 * 60),
            a in 0u32..40,
            b in 0u32..40,
        ) {
            let start = at("2026-09-20T00:00:00+08:00") + Duration::minutes(minutes);
            let da = cal.deadline(start, wh(a));
            let db = cal.deadline(start, wh(a + b));
            prop_assert!(da >= start);
            prop_assert!(db >= da);
            // The working time between start and the deadline is exactly what was asked for.
            prop_assert_eq!(cal.working_time_between(start, db), Duration::hours((a + b) as i64));
            // Adding in two steps is the same as adding at once.
            prop_assert_eq!(cal.deadline(da, wh(b)), db);
        }
    }
}
