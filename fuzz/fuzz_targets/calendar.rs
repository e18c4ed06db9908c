//! Calendar CSV (`gongzhi import calendar`): parsed; the accepted days become a working
//! calendar's overrides and a deadline is computed across them. Must never panic.
#![no_main]

use chrono::{DateTime, Duration};
use gongzhi_core::calendar::{DayKind, LimitUnit, TimeLimit, WorkCalendar};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(days) = gongzhi_core::calendar::parse_calendar_csv(text) else {
        return;
    };
    let mut calendar = WorkCalendar::default();
    for d in &days {
        assert!(d.kind == DayKind::Holiday || d.kind == DayKind::Workday);
        assert!(
            calendar.overrides.insert(d.date, d.kind).is_none(),
            "a date accepted twice"
        );
    }
    // A case dispatched in the demo's year: its deadline spends exactly the working time asked.
    let start = DateTime::parse_from_rfc3339("2026-09-30T16:30:00+08:00").expect("time");
    let limit = TimeLimit {
        amount: 10,
        unit: LimitUnit::WorkHours,
    };
    let due = calendar.deadline(start, limit);
    assert!(due >= start);
    if due < start + Duration::days(3660) {
        assert_eq!(
            calendar.working_time_between(start, due),
            Duration::hours(10)
        );
    }
});
