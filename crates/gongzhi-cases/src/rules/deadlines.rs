//! Deadline arithmetic on the working calendar: a case's three limits from a moment, and when
//! a missed handling deadline goes up to the street.

use chrono::{DateTime, FixedOffset, TimeZone};

use crate::model::catalog::Category;
use gongzhi_core::calendar::{shanghai, LimitUnit, TimeLimit, WorkCalendar};

/// A Unix-ms moment in Beijing time.
pub fn at_ms(ms: i64) -> DateTime<FixedOffset> {
    shanghai()
        .timestamp_millis_opt(ms)
        .single()
        .expect("valid time")
}

/// The respond, handle and close deadlines of a case of `category` started at `now`.
pub fn deadlines_from(cal: &WorkCalendar, category: &Category, now: i64) -> (i64, i64, i64) {
    let start = at_ms(now);
    let dl = |l| cal.deadline(start, l).timestamp_millis();
    (
        dl(category.respond_limit),
        dl(category.handle_limit),
        dl(category.close_limit),
    )
}

/// When a handling deadline missed goes up to the street: one working day after it.
pub fn street_escalation(cal: &WorkCalendar, deadline: i64) -> i64 {
    cal.deadline(
        at_ms(deadline),
        TimeLimit {
            amount: 1,
            unit: LimitUnit::WorkDays,
        },
    )
    .timestamp_millis()
}
