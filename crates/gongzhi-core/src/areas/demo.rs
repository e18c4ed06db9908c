//! The demo jurisdiction: Beijing Dongcheng (东城区, 110101) with its real 17 streets and 169
//! communities, generated street, community and grid polygons inside the real outline, the
//! district's departments, and one user for every role. The same seed gives the same areas.

use geo::{Area, BooleanOps, BoundingRect, Coord, LineString, MultiPolygon, Polygon};
use gongzhi_core::areas::{self, geometry};
use gongzhi_core::config::Config;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{self, Actor, Assignment, NewUser, Role, Unit};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::Result;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const DIVISIONS: &str = include_str!("../data/dongcheng-divisions.csv");
const OUTLINE: &str = include_str!("../data/dongcheng-district.geojson");
const SEED: u64 = 110101;
const CALENDAR: &str = include_str!("../data/calendar-2026.csv");

/// Rough real positions (lat, lng) of the street offices, so generated streets sit roughly
/// where the real ones are (north to south: 和平里 … 永定门外).
const STREET_ANCHORS: &[(&str, f64, f64)] = &[
    ("110101001", 39.915, 116.405),
    ("110101002", 39.928, 116.398),
    ("110101003", 39.940, 116.405),
    ("110101004", 39.950, 116.410),
    ("110101005", 39.943, 116.420),
    ("110101006", 39.930, 116.420),
    ("110101007", 39.925, 116.430),
    ("110101008", 39.908, 116.428),
    ("110101009", 39.943, 116.433),
    ("110101010", 39.962, 116.415),
    ("110101011", 39.895, 116.400),
    ("110101012", 39.897, 116.418),
    ("110101013", 39.893, 116.432),
    ("110101014", 39.880, 116.437),
    ("110101015", 39.881, 116.420),
    ("110101016", 39.876, 116.405),
    ("110101017", 39.862, 116.405),
];

/// Handling departments of the district (code suffix, name).
const DEPARTMENTS: &[(&str, &str)] = &[
    ("zhzx", "东城区城市服务管理指挥中心"),
    ("cgw", "东城区城市管理委员会"),
    ("cgzf", "东城区城市管理综合行政执法局"),
    ("sz", "东城区市政设施管理中心"),
    ("yllh", "东城区园林绿化局"),
    ("hw", "东城区环境卫生服务中心"),
    ("jt", "东城区交通委员会"),
    ("zjw", "东城区住房和城市建设委员会"),
    ("sw", "东城区水务局"),
    ("gr", "东城区供热管理中心"),
    ("scjg", "东城区市场监督管理局"),
    ("sthj", "东城区生态环境局"),
    ("mz", "东城区民政局"),
    ("wjw", "东城区卫生健康委员会"),
    ("fgj", "东城区房屋管理局"),
    ("gaj", "北京市公安局东城分局"),
];

pub struct DemoUser {
    pub username: &'static str,
    pub password: &'static str,
    pub role: Role,
    pub area: Option<&'static str>,
    pub unit: Option<&'static str>,
    pub name: &'static str,
    pub phone: &'static str,
}

/// One user for every role, with fixed demo passwords (printed at start).
pub const DEMO_USERS: &[DemoUser] = &[
    DemoUser {
        username: "admin",
        password: "admin-demo",
        role: Role::Admin,
        area: None,
        unit: None,
        name: "管理员",
        phone: "13800000001",
    },
    DemoUser {
        username: "leader",
        password: "leader-demo",
        role: Role::Leader,
        area: Some("110101"),
        unit: None,
        name: "李建国",
        phone: "13800000002",
    },
    DemoUser {
        username: "dispatcher",
        password: "dispatcher-demo",
        role: Role::Dispatcher,
        area: Some("110101"),
        unit: None,
        name: "王秀英",
        phone: "13800000003",
    },
    DemoUser {
        username: "operator",
        password: "operator-demo",
        role: Role::Operator,
        area: Some("110101"),
        unit: None,
        name: "张丽",
        phone: "13800000004",
    },
    DemoUser {
        username: "handler",
        password: "handler-demo",
        role: Role::Handler,
        area: None,
        unit: Some("110101-cgw"),
        name: "刘强",
        phone: "13800000005",
    },
    DemoUser {
        username: "gridworker",
        password: "gridworker-demo",
        role: Role::GridWorker,
        area: Some("110101001001"),
        unit: None,
        name: "陈静",
        phone: "13800000006",
    },
    DemoUser {
        username: "resident",
        password: "resident-demo",
        role: Role::Resident,
        area: None,
        unit: None,
        name: "赵小明",
        phone: "13800000007",
    },
    DemoUser {
        username: "council",
        password: "council-demo",
        role: Role::Council,
        area: Some("110101001001"),
        unit: None,
        name: "孙慧",
        phone: "13800000008",
    },
    DemoUser {
        username: "moderator",
        password: "moderator-demo",
        role: Role::Moderator,
        area: Some("110101001"),
        unit: None,
        name: "周敏",
        phone: "13800000009",
    },
];

struct Division {
    code: String,
    name: String,
    level: String,
    parent: String,
}

fn divisions() -> Vec<Division> {
    DIVISIONS
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Division {
                code: f[0].into(),
                name: f[1].into(),
                level: f[2].into(),
                parent: f.get(3).unwrap_or(&"").to_string(),
            }
        })
        .collect()
}

/// The real outline, repaired: the published coordinates are quantised, which leaves two tiny
/// loops where the border doubles back on itself. Overlaying the ring with nothing resolves
/// them; slivers under 0.1% of the district are dropped.
fn outline() -> MultiPolygon<f64> {
    let doc: Value = serde_json::from_str(OUTLINE).expect("embedded outline is JSON");
    let ring: Vec<Coord<f64>> = doc["features"][0]["geometry"]["coordinates"][0]
        .as_array()
        .expect("a ring")
        .iter()
        .map(|p| Coord {
            x: p[0].as_f64().expect("lng"),
            y: p[1].as_f64().expect("lat"),
        })
        .collect();
    let raw = MultiPolygon(vec![Polygon::new(LineString(ring), vec![])]);
    let repaired = raw.union(&MultiPolygon::<f64>(vec![]));
    let total = repaired.unsigned_area();
    MultiPolygon(
        repaired
            .0
            .into_iter()
            .filter(|p| p.unsigned_area() > total * 0.001)
            .collect(),
    )
}

/// A piece to carve: its weight (share of the area) and an optional anchor (lng, lat).
struct Piece {
    id: usize,
    weight: f64,
    anchor: Option<(f64, f64)>,
}

/// Splits `shape` into one part per piece with areas in proportion to the weights, by
/// recursive cuts along slightly tilted lines across the longer side. Parts never overlap and
/// together make the whole, so children always lie inside their parent.
fn partition(
    shape: &MultiPolygon<f64>,
    mut pieces: Vec<Piece>,
    rng: &mut StdRng,
) -> Vec<(usize, MultiPolygon<f64>)> {
    if pieces.len() == 1 {
        return vec![(pieces[0].id, shape.clone())];
    }
    let rect = shape.bounding_rect().expect("non-empty shape");
    let lat0 = rect.center().y.to_radians();
    let wide = rect.width() * lat0.cos() > rect.height();
    let tilt = rng.gen_range(-0.25..0.25);
    let theta: f64 = if wide {
        tilt
    } else {
        std::f64::consts::FRAC_PI_2 + tilt
    };
    let normal = (theta.cos(), theta.sin());
    let project = |x: f64, y: f64| x * normal.0 + y * normal.1;
    if pieces.iter().all(|p| p.anchor.is_some()) {
        pieces.sort_by(|a, b| {
            let (ax, ay) = a.anchor.unwrap();
            let (bx, by) = b.anchor.unwrap();
            project(ax, ay)
                .total_cmp(&project(bx, by))
                .then(a.id.cmp(&b.id))
        });
    }
    let right = pieces.split_off(pieces.len() / 2);
    let left_weight: f64 = pieces.iter().map(|p| p.weight).sum();
    let total = left_weight + right.iter().map(|p| p.weight).sum::<f64>();
    let target = shape.unsigned_area() * left_weight / total;
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for p in shape.0.iter().flat_map(|p| p.exterior().coords()) {
        let v = project(p.x, p.y);
        lo = lo.min(v);
        hi = hi.max(v);
    }
    for _ in 0..50 {
        let mid = (lo + hi) / 2.0;
        if shape
            .intersection(&half_plane(normal, mid, -1.0, rect))
            .unsigned_area()
            < target
        {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let cut = (lo + hi) / 2.0;
    let a = shape.intersection(&half_plane(normal, cut, -1.0, rect));
    let b = shape.intersection(&half_plane(normal, cut, 1.0, rect));
    let mut out = partition(&a, pieces, rng);
    out.extend(partition(&b, right, rng));
    out
}

/// The side of the line `p·normal = offset` given by `side` (−1: below, +1: above), as a
/// polygon that covers everything of `around` on that side.
fn half_plane(normal: (f64, f64), offset: f64, side: f64, around: geo::Rect<f64>) -> Polygon<f64> {
    let far = 2.0 * (around.width() + around.height());
    let m = around.center();
    // The point of the line nearest the shape's centre.
    let shift = offset - (m.x * normal.0 + m.y * normal.1);
    let c = Coord {
        x: m.x + normal.0 * shift,
        y: m.y + normal.1 * shift,
    };
    let d = Coord {
        x: -normal.1,
        y: normal.0,
    };
    let n = Coord {
        x: normal.0 * side,
        y: normal.1 * side,
    };
    let ring = vec![
        c + d * far,
        c - d * far,
        c - d * far + n * far,
        c + d * far + n * far,
        c + d * far,
    ];
    Polygon::new(LineString(ring), vec![])
}

/// The whole demo jurisdiction as a GeoJSON FeatureCollection: district, streets, communities
/// and grids with polygons and attributes. Pure and deterministic.
pub fn jurisdiction() -> Value {
    let mut rng = StdRng::seed_from_u64(SEED);
    let divs = divisions();
    let district = divs
        .iter()
        .find(|d| d.level == "district")
        .expect("a district");
    let streets: Vec<&Division> = divs.iter().filter(|d| d.level == "street").collect();
    let communities = |street: &str| -> Vec<&Division> {
        divs.iter()
            .filter(|d| d.level == "community" && d.parent == street)
            .collect()
    };
    // About 600 grids: three or four per community (Dongcheng runs 589).
    let grids_of: Vec<(String, usize)> = divs
        .iter()
        .filter(|d| d.level == "community")
        .map(|d| (d.code.clone(), if rng.gen_bool(0.55) { 4 } else { 3 }))
        .collect();
    let grid_count = |community: &str| {
        grids_of
            .iter()
            .find(|(c, _)| c == community)
            .map(|(_, n)| *n)
            .unwrap_or(3)
    };

    let shape = outline();
    let mut features = vec![feature(
        &district.code,
        &district.name,
        "district",
        None,
        &shape,
        json!({}),
    )];
    let street_pieces = streets
        .iter()
        .enumerate()
        .map(|(i, s)| Piece {
            id: i,
            weight: communities(&s.code)
                .iter()
                .map(|c| grid_count(&c.code) as f64)
                .sum::<f64>()
                .max(1.0),
            anchor: STREET_ANCHORS
                .iter()
                .find(|(c, _, _)| *c == s.code)
                .map(|(_, lat, lng)| (*lng, *lat)),
        })
        .collect();
    for (si, street_shape) in partition(&shape, street_pieces, &mut rng) {
        let street = streets[si];
        features.push(feature(
            &street.code,
            &street.name,
            "street",
            Some(&district.code),
            &street_shape,
            json!({}),
        ));
        let comms = communities(&street.code);
        let pieces = comms
            .iter()
            .enumerate()
            .map(|(i, c)| Piece {
                id: i,
                weight: grid_count(&c.code) as f64,
                anchor: None,
            })
            .collect();
        for (ci, community_shape) in partition(&street_shape, pieces, &mut rng) {
            let community = comms[ci];
            features.push(feature(
                &community.code,
                &community.name,
                "community",
                Some(&street.code),
                &community_shape,
                json!({}),
            ));
            let n = grid_count(&community.code);
            let pieces = (0..n)
                .map(|i| Piece {
                    id: i,
                    weight: 1.0,
                    anchor: None,
                })
                .collect();
            for (gi, grid_shape) in partition(&community_shape, pieces, &mut rng) {
                let households: i64 = rng.gen_range(300..=500);
                let population = (households as f64 * rng.gen_range(2.2..2.8)).round() as i64;
                let code = format!("{}{:03}", community.code, gi + 1);
                let name = format!(
                    "{}第{}网格",
                    community.name.trim_end_matches("居委会"),
                    gi + 1
                );
                let grid_type = if rng.gen_bool(0.04) {
                    "专属"
                } else {
                    "基础"
                };
                features.push(feature(
                    &code,
                    &name,
                    "grid",
                    Some(&community.code),
                    &grid_shape,
                    json!({"households": households, "population": population, "grid_type": grid_type}),
                ));
            }
        }
    }
    json!({"type": "FeatureCollection", "features": features})
}

fn feature(
    code: &str,
    name: &str,
    level: &str,
    parent: Option<&str>,
    shape: &MultiPolygon<f64>,
    extra: Value,
) -> Value {
    let mut props = json!({"code": code, "name": name, "level": level, "parent_code": parent});
    if let Value::Object(m) = extra {
        for (k, v) in m {
            props[k] = v;
        }
    }
    json!({"type": "Feature", "properties": props, "geometry": geometry::to_geojson(shape)})
}

/// Units: the district's departments, each street office and police station, each community
/// committee.
fn units() -> Vec<Unit> {
    let mut out: Vec<Unit> = DEPARTMENTS
        .iter()
        .map(|(suffix, name)| Unit {
            code: format!("110101-{suffix}"),
            name: name.to_string(),
            kind: "department".into(),
            area_code: Some("110101".into()),
        })
        .collect();
    for d in divisions() {
        match d.level.as_str() {
            "street" => {
                let short = d.name.trim_end_matches("街道");
                out.push(Unit {
                    code: format!("{}-jd", d.code),
                    name: format!("{}街道办事处", short),
                    kind: "street_office".into(),
                    area_code: Some(d.code.clone()),
                });
                out.push(Unit {
                    code: format!("{}-pcs", d.code),
                    name: format!("{}派出所", short),
                    kind: "department".into(),
                    area_code: Some(d.code.clone()),
                });
            }
            "community" => out.push(Unit {
                code: format!("{}-jwh", d.code),
                name: format!("{}居委会", d.name),
                kind: "community_committee".into(),
                area_code: Some(d.code.clone()),
            }),
            _ => {}
        }
    }
    out
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

/// Months of generated history up to `now`: channels, categories, units, callbacks with a
/// plausible mix of outcomes, some overdue, some reworked. Deterministic for a given `now`.
pub fn history(
    now: chrono::DateTime<chrono::FixedOffset>,
    days: i64,
    per_day: usize,
) -> Vec<gongzhi_cases::history::PastCase> {
    use geo::{BoundingRect, Contains};
    use gongzhi_cases::store::{Channel, Kind};
    let mut rng = StdRng::seed_from_u64(SEED + 1);
    let doc = jurisdiction();
    let grids: Vec<(String, MultiPolygon<f64>)> = doc["features"]
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
        .collect();
    let categories: Vec<&str> = vec![
        "C0101", "C0102", "C0105", "C0203", "C0205", "C0301", "C0302", "C0402", "E0101", "E0102",
        "E0103", "E0104", "E0201", "E0301", "E0302", "E0404", "E0405", "E0501", "E0502", "E0503",
        "E0504", "E0601", "E0602", "R0101", "R0201", "R0202", "R0301", "R0401", "R0601", "R0701",
    ];
    let channels = [
        (Channel::Hotline, 55),
        (Channel::Patrol, 25),
        (Channel::Web, 12),
        (Channel::Open311, 3),
        (Channel::Api, 5),
    ];
    let pick_channel = |r: u32| {
        let mut acc = 0;
        channels
            .iter()
            .find(|(_, w)| {
                acc += w;
                r < acc
            })
            .map(|(c, _)| *c)
            .unwrap_or(Channel::Hotline)
    };
    let mut out = Vec::new();
    let start = now - chrono::Duration::days(days);
    for day in 0..days {
        for i in 0..per_day {
            let created = start
                + chrono::Duration::days(day)
                + chrono::Duration::minutes(rng.gen_range(7 * 60..22 * 60));
            if created >= now {
                continue;
            }
            let (grid, shape) = &grids[rng.gen_range(0..grids.len())];
            let rect = shape.bounding_rect().expect("bounded");
            let (lat, lng) = loop {
                let x = rng.gen_range(rect.min().x..rect.max().x);
                let y = rng.gen_range(rect.min().y..rect.max().y);
                if shape.contains(&Coord { x, y }) {
                    break (y, x);
                }
            };
            let category = categories[rng.gen_range(0..categories.len())];
            let channel = pick_channel(rng.gen_range(0..100));
            let kind = if category.starts_with('R') {
                [Kind::Complaint, Kind::Help, Kind::Inquiry, Kind::Suggestion][rng.gen_range(0..4)]
            } else {
                Kind::Report
            };
            let h = |hours: f64| created + chrono::Duration::minutes((hours * 60.0) as i64);
            let ms =
                |t: chrono::DateTime<chrono::FixedOffset>| (t < now).then(|| t.timestamp_millis());
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
            let verified = handled.map(|t| t + chrono::Duration::hours(rng.gen_range(1..8)));
            let closed = verified.map(|t| t + chrono::Duration::hours(rng.gen_range(1..6)));
            let callback = closed
                .filter(|_| rng.gen_bool(0.9))
                .map(|t| t + chrono::Duration::hours(rng.gen_range(12..72)));
            let satisfaction = match rng.gen_range(0..100) {
                0..=69 => "satisfied",
                70..=87 => "basically_satisfied",
                _ => "dissatisfied",
            };
            let callback_ms = callback.and_then(ms);
            let street = &grid[..9];
            out.push(gongzhi_cases::history::PastCase {
                number: format!(
                    "DC{}{:04}",
                    (start + chrono::Duration::days(day)).format("%Y%m%d"),
                    i
                ),
                kind,
                category: category.into(),
                description: format!("{}（演示数据）", category),
                lat,
                lng,
                channel,
                created_at: created.timestamp_millis(),
                dispatched_at: dispatched.and_then(ms),
                unit: dispatched.and_then(ms).map(|_| unit_for(category, street)),
                signed_at: dispatched
                    .and_then(|t| ms(t + chrono::Duration::minutes(rng.gen_range(5..90)))),
                contacted_at: dispatched
                    .and_then(|t| ms(t + chrono::Duration::minutes(rng.gen_range(20..240))))
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
            });
        }
    }
    out
}

/// Seeds an empty database with the demo jurisdiction, units, routing, calendar, users and
/// 120 days of history (about 60 cases a day), and the deliberation of one community.
pub async fn seed(db: &Db, sealer: &Sealer) -> Result<()> {
    seed_with_history(db, sealer, 120, 60).await?;
    crate::demo_deliberation::seed(db, sealer, 150).await
}

pub async fn seed_with_history(db: &Db, sealer: &Sealer, days: i64, per_day: usize) -> Result<()> {
    let actor = Actor::system("demo-seed");
    let doc = jurisdiction();
    areas::import_geojson(db, &actor, &doc.to_string()).await?;
    for u in units() {
        identity::create_unit(db, &actor, &u).await?;
    }
    for (category, suffix) in ROUTES {
        gongzhi_cases::store::add_rule(
            db,
            &actor,
            Some(category),
            Some("110101"),
            &format!("110101-{suffix}"),
        )
        .await?;
    }
    let holidays = gongzhi_cases::calendar::parse_calendar_csv(CALENDAR)
        .map_err(|e| gongzhi_core::Error::internal(format!("demo calendar: {e:?}")))?;
    gongzhi_cases::calendar::import(db, &actor, "default", &holidays).await?;
    for u in DEMO_USERS {
        identity::create_user(
            db,
            sealer,
            &actor,
            &NewUser {
                username: u.username.into(),
                password: u.password.into(),
                assignments: vec![Assignment {
                    role: u.role,
                    area: u.area.map(String::from),
                    unit: u.unit.map(String::from),
                }],
                full_name: Some(u.name.into()),
                phone: Some(u.phone.into()),
                email: None,
            },
        )
        .await?;
    }
    let index = areas::build_locate_index(db).await?;
    let now = chrono::Utc::now().with_timezone(&gongzhi_core::time::shanghai());
    gongzhi_cases::history::import(db, &index, &actor, &history(now, days, per_day)).await?;
    open311_definitions(db, &actor).await?;
    Ok(())
}

/// Two Open311 service definitions, so that clients see attributes at once.
async fn open311_definitions(db: &Db, actor: &Actor) -> Result<()> {
    use gongzhi_open311::attributes::{save, Attribute, AttributeValue};
    let v = |k: &str, n: &str| AttributeValue {
        key: k.into(),
        name: n.into(),
    };
    let a = |code: &str,
             datatype: &str,
             required: bool,
             description: &str,
             order: i64,
             values: Vec<AttributeValue>| Attribute {
        code: code.into(),
        datatype: datatype.into(),
        required,
        description: description.into(),
        datatype_description: String::new(),
        order,
        values,
    };
    save(
        db,
        actor,
        "C0101",
        &[
            a(
                "hurt",
                "singlevaluelist",
                true,
                "是否有人受伤 / Is anyone hurt?",
                1,
                vec![v("yes", "是"), v("no", "否")],
            ),
            a(
                "missing",
                "multivaluelist",
                false,
                "缺失部件 / Missing parts",
                2,
                vec![v("lid", "井盖"), v("frame", "井座")],
            ),
        ],
    )
    .await?;
    save(
        db,
        actor,
        "E0503",
        &[
            a(
                "plate",
                "string",
                false,
                "车牌号（可选）/ Plate (optional)",
                1,
                vec![],
            ),
            a(
                "since",
                "datetime",
                false,
                "停放开始时间 / Parked since",
                2,
                vec![],
            ),
        ],
    )
    .await
}

/// `gongzhi demo`: seed when empty, then serve and say how to sign in.
pub async fn run(config: Config) -> Result<()> {
    let (db, sealer) = crate::server::open(&config).await?;
    if areas::count_areas(&db).await? == 0 {
        eprintln!(
            "seeding the Dongcheng demo into {} …",
            config.data_dir.display()
        );
        seed(&db, &sealer).await?;
        let key = gongzhi_open311::add_key(&db, &Actor::system("demo-seed"), "demo").await?;
        println!("  Open311 API key for the demo (shown once): {key}");
    }
    let listener = crate::server::bind(&config.listen).await?;
    let running = crate::server::start(config, db, sealer, listener).await?;
    let url = running.url();
    println!("gongzhi demo (东城区) is serving on {url}");
    println!("  try: curl '{url}/api/v1/areas/locate?lat=39.915&lng=116.405'");
    println!("  demo users (user name / password / role):");
    for u in DEMO_USERS {
        println!(
            "    {:<11} {:<16} {}",
            u.username,
            u.password,
            u.role.as_str()
        );
    }
    println!("  open in a browser: {url}/  ·  Open311: {url}/open311/v2/services.json");
    println!("  sign in: curl -X POST {url}/api/v1/auth/token -H 'content-type: application/json' -d '{{\"username\":\"admin\",\"password\":\"admin-demo\"}}'");
    running.wait().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Validation;

    #[test]
    fn the_repaired_outline_is_valid() {
        let o = outline();
        assert!(o.is_valid(), "{:?}", o.validation_errors());
        // Dongcheng covers about 41.8 km².
        let km2 = geometry::area_m2(&o) / 1e6;
        assert!((35.0..48.0).contains(&km2), "{km2}");
    }
}
