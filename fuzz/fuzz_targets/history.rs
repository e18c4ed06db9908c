//! Case history CSV (`gongzhi import cases`): parsed, then each accepted case's deadlines
//! computed on the default working calendar as the import does. Must never panic.
#![no_main]

use gongzhi_core::calendar::{LimitUnit, TimeLimit, WorkCalendar};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cases) = gongzhi_cases::rules::history::parse(text) else {
        return;
    };
    let calendar = WorkCalendar::default();
    let limits = [
        TimeLimit {
            amount: 2,
            unit: LimitUnit::WorkHours,
        },
        TimeLimit {
            amount: 15,
            unit: LimitUnit::WorkDays,
        },
        TimeLimit {
            amount: 30,
            unit: LimitUnit::Days,
        },
    ];
    for c in &cases {
        assert!(!c.number.is_empty() && c.number.len() <= 40);
        assert!(c.lat.is_finite() && c.lng.is_finite());
        for limit in limits {
            if let (Some(d), Some(due)) = (c.dispatched_at, c.deadline(&calendar, limit)) {
                assert!(due >= d, "a deadline before the dispatch");
            }
        }
    }
});
