//! The cases module's demo: Dongcheng's routing (category → department), the 2026 working
//! calendar, one user for each of the module's roles, and months of generated history on the
//! platform's demo grids, written through the history import.

use chrono::{DateTime, Duration, FixedOffset};
use geo::{BoundingRect, Contains, Coord, MultiPolygon};
use gongzhi_core::areas::{self, geometry};
use gongzhi_core::demo::{Demo, DemoUser, CALENDAR_2026};
use gongzhi_core::identity::Role;
use gongzhi_core::Result;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::model::{Channel, Kind};
use crate::rules::history::PastCase;

/// The generated history's seed: the same `now` gives the same cases.
const HISTORY_SEED: u64 = 110_102;

/// One user for each of the module's roles, with fixed demo passwords (printed at start).
pub const USERS: &[DemoUser] = &[
    DemoUser {
        username: "leader",
        password: "leader-demo",
        role: Role::LEADER,
        area: Some("110101"),
        unit: None,
        name: "李建国",
        phone: "13800000002",
    },
    DemoUser {
        username: "dispatcher",
        password: "dispatcher-demo",
        role: crate::roles::DISPATCHER,
        area: Some("110101"),
        unit: None,
        name: "王秀英",
        phone: "13800000003",
    },
    DemoUser {
        username: "operator",
        password: "operator-demo",
        role: crate::roles::OPERATOR,
        area: Some("110101"),
        unit: None,
        name: "张丽",
        phone: "13800000004",
    },
    DemoUser {
        username: "handler",
        password: "handler-demo",
        role: crate::roles::HANDLER,
        area: None,
        unit: Some("110101-cgw"),
        name: "刘强",
        phone: "13800000005",
    },
    DemoUser {
        username: "gridworker",
        password: "gridworker-demo",
        role: Role::GRID_WORKER,
        area: Some("110101001001"),
        unit: None,
        name: "陈静",
        phone: "13800000006",
    },
];

/// Seeds routing, the calendar and `demo.size` of history.
pub async fn seed(demo: &Demo<'_>) -> Result<Vec<String>> {
    let actor = demo.actor();
    for (category, suffix) in ROUTES {
        crate::commands::add_rule(
            demo.db,
            &actor,
            Some(category),
            Some("110101"),
            &format!("110101-{suffix}"),
        )
        .await?;
    }
    let holidays = gongzhi_core::calendar::parse_calendar_csv(CALENDAR_2026)
        .map_err(|e| gongzhi_core::Error::internal(format!("demo calendar: {e:?}")))?;
    gongzhi_core::calendar::import(demo.db, &actor, "default", &holidays).await?;
    let index = areas::build_locate_index(demo.db).await?;
    let now = DateTime::from_timestamp_millis(demo.now_ms)
        .ok_or_else(|| gongzhi_core::Error::internal("the demo's moment is out of range"))?
        .with_timezone(&gongzhi_core::time::shanghai());
    let past = history(now, demo.size.days, demo.size.per_day);
    crate::commands::import_history(demo.db, &index, &actor, &past).await?;
    Ok(vec![])
}

/// Who handles what in Dongcheng: category (and its sub-categories) → department. What is not
/// listed falls to the street office (兜底).
const ROUTES: &[(&str, &str)] = &[
    ("C01", "sz"),
    ("C0101", "sw"),
    ("C0102", "sw"),
    ("C0103", "sw"),
    ("C02", "jt"),
    ("C03", "hw"),
    ("C0303", "cgw"),
    ("C04", "yllh"),
    ("C05", "zjw"),
    ("C06", "sz"),
    ("E01", "hw"),
    ("E0101", "cgzf"),
    ("E0106", "sthj"),
    ("E02", "cgzf"),
    ("E03", "zjw"),
    ("E0303", "cgzf"),
    ("E04", "sw"),
    ("E0403", "cgw"),
    ("E0406", "hw"),
    ("E05", "cgzf"),
    ("E0503", "jt"),
    ("E0601", "sthj"),
    ("R01", "gr"),
    ("R02", "fgj"),
    ("R03", "scjg"),
    ("R04", "jt"),
    ("R05", "zjw"),
    ("R07", "mz"),
    ("R09", "wjw"),
];

/// The unit the demo's routing would pick for a category in a street (for generated history).
fn unit_for(category: &str, street: &str) -> String {
    ROUTES
        .iter()
        .filter(|(c, _)| category.starts_with(c))
        .max_by_key(|(c, _)| c.len())
        .map(|(_, u)| format!("110101-{u}"))
        .unwrap_or_else(|| format!("{street}-jd"))
}

/// The demo's grids with their polygons (the platform's demo imports the same).
fn demo_grids() -> Vec<(String, MultiPolygon<f64>)> {
    let doc = areas::demo::jurisdiction();
    doc["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| f["properties"]["level"] == "grid")
        .map(|f| {
            (
                f["properties"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                geometry::parse(&f["geometry"]).expect("valid"),
            )
        })
        .collect()
}

const CATEGORIES: &[&str] = &[
    "C0101", "C0102", "C0105", "C0203", "C0205", "C0301", "C0302", "C0402", "E0101", "E0102",
    "E0103", "E0104", "E0201", "E0301", "E0302", "E0404", "E0405", "E0501", "E0502", "E0503",
    "E0504", "E0601", "E0602", "R0101", "R0201", "R0202", "R0301", "R0401", "R0601", "R0701",
];

/// Channels in proportion (percent).
const CHANNELS: &[(Channel, u32)] = &[
    (Channel::Hotline, 55),
    (Channel::Patrol, 25),
    (Channel::Web, 12),
    (Channel::Open311, 3),
    (Channel::Api, 5),
];

fn pick_channel(r: u32) -> Channel {
    let mut acc = 0;
    CHANNELS
        .iter()
        .find(|(_, w)| {
            acc += w;
            r < acc
        })
        .map(|(c, _)| *c)
        .unwrap_or(Channel::Hotline)
}

/// `days` of generated history up to `now`, about `per_day` cases a day: channels, categories,
/// units, callbacks with a plausible mix of outcomes, some overdue, some reworked.
/// Deterministic for a given `now`.
pub fn history(now: DateTime<FixedOffset>, days: i64, per_day: usize) -> Vec<PastCase> {
    let mut rng = StdRng::seed_from_u64(HISTORY_SEED);
    let grids = demo_grids();
    let mut out = Vec::new();
    let start = now - Duration::days(days);
    for day in 0..days {
        for i in 0..per_day {
            let created =
                start + Duration::days(day) + Duration::minutes(rng.gen_range(7 * 60..22 * 60));
            if created >= now {
                continue;
            }
            let (grid, shape) = &grids[rng.gen_range(0..grids.len())];
            let number = format!(
                "DC{}{:04}",
                (start + Duration::days(day)).format("%Y%m%d"),
                i
            );
            out.push(past_case(&mut rng, now, created, grid, shape, number));
        }
    }
    out
}

/// One generated case at a random point of `shape`, created at `created`; steps after `now`
/// have not happened yet.
fn past_case(
    rng: &mut StdRng,
    now: DateTime<FixedOffset>,
    created: DateTime<FixedOffset>,
    grid: &str,
    shape: &MultiPolygon<f64>,
    number: String,
) -> PastCase {
    let rect = shape.bounding_rect().expect("bounded");
    let (lat, lng) = loop {
        let x = rng.gen_range(rect.min().x..rect.max().x);
        let y = rng.gen_range(rect.min().y..rect.max().y);
        if shape.contains(&Coord { x, y }) {
            break (y, x);
        }
    };
    let category = CATEGORIES[rng.gen_range(0..CATEGORIES.len())];
    let channel = pick_channel(rng.gen_range(0..100));
    let kind = if category.starts_with('R') {
        [Kind::Complaint, Kind::Help, Kind::Inquiry, Kind::Suggestion][rng.gen_range(0..4)]
    } else {
        Kind::Report
    };
    let h = |hours: f64| created + Duration::minutes((hours * 60.0) as i64);
    let ms = |t: DateTime<FixedOffset>| (t < now).then(|| t.timestamp_millis());
    let dispatched = rng.gen_bool(0.97).then(|| h(rng.gen_range(0.1..2.0)));
    let slow = rng.gen_bool(0.12);
    let handled = dispatched.filter(|_| rng.gen_bool(0.93)).map(|_| {
        h(if slow {
            rng.gen_range(60.0..200.0)
        } else {
            rng.gen_range(3.0..40.0)
        })
    });
    let reworked = handled.is_some() && rng.gen_bool(0.07);
    let verified = handled.map(|t| t + Duration::hours(rng.gen_range(1..8)));
    let closed = verified.map(|t| t + Duration::hours(rng.gen_range(1..6)));
    let callback = closed
        .filter(|_| rng.gen_bool(0.9))
        .map(|t| t + Duration::hours(rng.gen_range(12..72)));
    let satisfaction = match rng.gen_range(0..100) {
        0..=69 => "satisfied",
        70..=87 => "basically_satisfied",
        _ => "dissatisfied",
    };
    let callback_ms = callback.and_then(ms);
    let street = &grid[..9];
    PastCase {
        number,
        kind,
        category: category.into(),
        description: format!("{}（演示数据）", category),
        lat,
        lng,
        channel,
        created_at: created.timestamp_millis(),
        dispatched_at: dispatched.and_then(ms),
        unit: dispatched.and_then(ms).map(|_| unit_for(category, street)),
        signed_at: dispatched.and_then(|t| ms(t + Duration::minutes(rng.gen_range(5..90)))),
        contacted_at: dispatched
            .and_then(|t| ms(t + Duration::minutes(rng.gen_range(20..240))))
            .filter(|_| rng.gen_bool(0.95)),
        handled_at: handled.and_then(ms),
        verified_at: verified.and_then(ms),
        closed_at: closed.and_then(ms),
        callback_at: callback_ms,
        callback_contacted: callback_ms.map(|_| rng.gen_bool(0.93)),
        callback_resolved: callback_ms.map(|_| {
            rng.gen_bool(if satisfaction == "dissatisfied" {
                0.3
            } else {
                0.9
            })
        }),
        callback_satisfaction: callback_ms.map(|_| satisfaction.to_string()),
        rework_count: i64::from(reworked && handled.and_then(ms).is_some()),
    }
}
