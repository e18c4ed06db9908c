//! Past cases as a file gives them (CSV, one case a line), parsed and checked: every bad field
//! of every line is reported, so an import is all or nothing.

use chrono::{FixedOffset, TimeZone};

use crate::model::{Channel, Kind};
use crate::rules::workflow::Status;
use gongzhi_core::calendar::{TimeLimit, WorkCalendar};

pub const HEADER: [&str; 20] = [
    "number",
    "kind",
    "category",
    "description",
    "lat",
    "lng",
    "channel",
    "created_at",
    "dispatched_at",
    "unit",
    "signed_at",
    "contacted_at",
    "handled_at",
    "verified_at",
    "closed_at",
    "callback_at",
    "callback_contacted",
    "callback_resolved",
    "callback_satisfaction",
    "rework_count",
];

/// One past case, as parsed and checked.
#[derive(Debug, Clone)]
pub struct PastCase {
    pub number: String,
    pub kind: Kind,
    pub category: String,
    pub description: String,
    pub lat: f64,
    pub lng: f64,
    pub channel: Channel,
    pub created_at: i64,
    pub dispatched_at: Option<i64>,
    pub unit: Option<String>,
    pub signed_at: Option<i64>,
    pub contacted_at: Option<i64>,
    pub handled_at: Option<i64>,
    pub verified_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub callback_at: Option<i64>,
    pub callback_contacted: Option<bool>,
    pub callback_resolved: Option<bool>,
    pub callback_satisfaction: Option<String>,
    pub rework_count: i64,
}

fn parse_enum<T: for<'de> serde::Deserialize<'de>>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

/// Parses the CSV; every bad field of every line is reported (`line N: …`).
pub fn parse(text: &str) -> std::result::Result<Vec<PastCase>, Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    match reader.headers() {
        Ok(h) if h.iter().collect::<Vec<_>>() == HEADER => {}
        _ => {
            return Err(vec![format!(
                "line 1: the header must be {}",
                HEADER.join(",")
            )])
        }
    }
    let mut problems = Vec::new();
    let mut out = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        let rec = match rec {
            Ok(r) if r.len() == HEADER.len() => r,
            Ok(r) => {
                problems.push(format!(
                    "line {line}: expected {} fields, found {}",
                    HEADER.len(),
                    r.len()
                ));
                continue;
            }
            Err(e) => {
                problems.push(format!("line {line}: malformed CSV: {e}"));
                continue;
            }
        };
        if let Some(c) = parse_record(&rec, line, &mut problems) {
            out.push(c);
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// One line of the file: the past case, or none with its problems added to `problems`.
fn parse_record(
    rec: &csv::StringRecord,
    line: usize,
    problems: &mut Vec<String>,
) -> Option<PastCase> {
    let mut bad = |field: &str, why: String| problems.push(format!("line {line}: {field}: {why}"));
    let f =
        |name: &str| rec[HEADER.iter().position(|h| *h == name).expect("known field")].to_string();
    let time = |name: &str, bad: &mut dyn FnMut(&str, String)| -> Option<i64> {
        let v = f(name);
        if v.is_empty() {
            return None;
        }
        let t = gongzhi_core::time::parse_rfc3339(&v);
        if t.is_none() {
            bad(name, format!("{v:?} is not an RFC 3339 time"));
        }
        t
    };
    let boolean = |name: &str, bad: &mut dyn FnMut(&str, String)| -> Option<bool> {
        match f(name).as_str() {
            "" => None,
            "true" => Some(true),
            "false" => Some(false),
            v => {
                bad(name, format!("{v:?} is not true or false"));
                None
            }
        }
    };
    let number = f("number");
    if number.is_empty() || number.len() > 40 {
        bad("number", "1–40 characters".into());
    }
    let kind = enum_field::<Kind>(
        "kind",
        &f("kind"),
        "inquiry, help, complaint, report or suggestion",
        &mut bad,
    );
    let channel = enum_field::<Channel>(
        "channel",
        &f("channel"),
        "hotline, web, patrol, open311, api or import",
        &mut bad,
    );
    let description = f("description");
    if description.is_empty() {
        bad("description", "empty".into());
    }
    let coord = |name: &str, range: f64, bad: &mut dyn FnMut(&str, String)| -> f64 {
        match f(name).parse::<f64>() {
            Ok(v) if v.is_finite() && v.abs() <= range => v,
            _ => {
                bad(name, format!("{:?} is not a coordinate", f(name)));
                0.0
            }
        }
    };
    let lat = coord("lat", 90.0, &mut bad);
    let lng = coord("lng", 180.0, &mut bad);
    let created_at = time("created_at", &mut bad);
    if f("created_at").is_empty() {
        bad("created_at", "required".into());
    }
    let dispatched_at = time("dispatched_at", &mut bad);
    let signed_at = time("signed_at", &mut bad);
    let contacted_at = time("contacted_at", &mut bad);
    let handled_at = time("handled_at", &mut bad);
    let verified_at = time("verified_at", &mut bad);
    let closed_at = time("closed_at", &mut bad);
    let callback_at = time("callback_at", &mut bad);
    let callback_contacted = boolean("callback_contacted", &mut bad);
    let callback_resolved = boolean("callback_resolved", &mut bad);
    let callback_satisfaction = satisfaction_of(&f("callback_satisfaction"), &mut bad);
    let rework_count = rework_of(&f("rework_count"), &mut bad);
    let unit = Some(f("unit")).filter(|u| !u.is_empty());
    let times = [
        ("dispatched_at", dispatched_at),
        ("signed_at", signed_at),
        ("contacted_at", contacted_at),
        ("handled_at", handled_at),
        ("verified_at", verified_at),
        ("closed_at", closed_at),
        ("callback_at", callback_at),
    ];
    across_fields(
        created_at,
        &times,
        unit.is_some(),
        callback_contacted,
        &mut bad,
    );
    let (Some(kind), Some(channel), Some(created_at)) = (kind, channel, created_at) else {
        return None;
    };
    Some(PastCase {
        number,
        kind,
        category: f("category"),
        description,
        lat,
        lng,
        channel,
        created_at,
        dispatched_at,
        unit,
        signed_at,
        contacted_at,
        handled_at,
        verified_at,
        closed_at,
        callback_at,
        callback_contacted,
        callback_resolved,
        callback_satisfaction,
        rework_count,
    })
}

/// What no field tells alone: every time after creation, a unit for a dispatched case, the
/// callback's time for its answers. `times` runs from `dispatched_at` to `callback_at`.
fn across_fields(
    created_at: Option<i64>,
    times: &[(&str, Option<i64>); 7],
    has_unit: bool,
    callback_contacted: Option<bool>,
    bad: &mut dyn FnMut(&str, String),
) {
    if let Some(c) = created_at {
        after_creation(c, times, bad);
    }
    if times[0].1.is_some() && !has_unit {
        bad("unit", "a dispatched case needs its unit".into());
    }
    let callback_at = times[6].1;
    if callback_at.is_some() != callback_contacted.is_some() && callback_at.is_none() {
        bad(
            "callback_at",
            "callback answers need the callback time".into(),
        );
    }
}

/// A field of a closed set, or none with the values it takes.
fn enum_field<T: for<'de> serde::Deserialize<'de>>(
    name: &str,
    v: &str,
    expected: &str,
    bad: &mut dyn FnMut(&str, String),
) -> Option<T> {
    let parsed = parse_enum::<T>(v);
    if parsed.is_none() {
        bad(name, format!("{v:?} is not {expected}"));
    }
    parsed
}

fn satisfaction_of(v: &str, bad: &mut dyn FnMut(&str, String)) -> Option<String> {
    match v {
        "" => None,
        "satisfied" | "basically_satisfied" | "dissatisfied" => Some(v.to_string()),
        v => {
            bad(
                "callback_satisfaction",
                format!("{v:?} is not satisfied, basically_satisfied or dissatisfied"),
            );
            None
        }
    }
}

fn rework_of(v: &str, bad: &mut dyn FnMut(&str, String)) -> i64 {
    match v {
        "" => 0,
        v => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .unwrap_or_else(|| {
                bad("rework_count", format!("{v:?} is not a whole number ≥ 0"));
                0
            }),
    }
}

/// Every step's time comes after the case's creation.
fn after_creation(created: i64, times: &[(&str, Option<i64>)], bad: &mut dyn FnMut(&str, String)) {
    for (name, t) in times {
        if t.is_some_and(|t| t < created) {
            bad(name, "is before created_at".into());
        }
    }
}

impl PastCase {
    /// A deadline of the case, counted on `calendar` from its dispatch (none if never dispatched).
    pub fn deadline(&self, calendar: &WorkCalendar, limit: TimeLimit) -> Option<i64> {
        let tz = FixedOffset::east_opt(8 * 3600).expect("offset");
        self.dispatched_at.map(|d| {
            calendar
                .deadline(tz.timestamp_millis_opt(d).single().expect("time"), limit)
                .timestamp_millis()
        })
    }
}

pub fn status_of(c: &PastCase) -> Status {
    if c.callback_at.is_some() {
        Status::CalledBack
    } else if c.closed_at.is_some() {
        Status::Closed
    } else if c.verified_at.is_some() {
        Status::Verified
    } else if c.handled_at.is_some() {
        Status::ReportedBack
    } else if c.signed_at.is_some() {
        Status::Signed
    } else if c.dispatched_at.is_some() {
        Status::Dispatched
    } else {
        Status::Filed
    }
}
