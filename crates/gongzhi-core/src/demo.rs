//! The demo: what a module's demo seed is given ([`Demo`]), the demo users a module declares
//! ([`DemoUser`]), and the platform's own part — the Dongcheng jurisdiction and its units.
//! `gongzhi demo` walks the module list and, module by module, creates its demo users and runs
//! its seed (`module::seed_demo`); a later module reaches an earlier one's data
//! through its public functions (e.g. [`crate::identity::user_id_by_name`]), never its tables.

use crate::areas;
use crate::db::Db;
use crate::identity::{self, Actor, Assignment, NewUser, Role, Unit};
use crate::privacy::Sealer;
use crate::Result;

/// A working calendar for 2026 (public holidays and adjusted working days), as the CSV that
/// `gongzhi import calendar` reads. Demo data: see `crates/gongzhi-core/data/README.md`.
pub const CALENDAR_2026: &str = include_str!("../data/calendar-2026.csv");

/// Everything a module's demo seed needs.
pub struct Demo<'a> {
    pub db: &'a Db,
    pub sealer: &'a Sealer,
    /// The moment the demo is seeded at: generated history ends here.
    pub now_ms: i64,
    pub size: DemoSize,
}

impl Demo<'_> {
    /// Who writes the demo (its audit entries name it).
    pub fn actor(&self) -> Actor {
        Actor::system("demo-seed")
    }
}

/// How much generated activity the seeds add; the structure (areas, units, users, routing,
/// definitions) is always seeded whole. Zero everywhere seeds the structure alone.
#[derive(Clone, Copy, Debug)]
pub struct DemoSize {
    /// Days of past activity (cases: history up to now).
    pub days: i64,
    /// Activity per day (cases: about this many a day).
    pub per_day: usize,
    /// Generated people taking part (deliberation: verified residents who vote).
    pub people: usize,
}

impl DemoSize {
    /// What `gongzhi demo` seeds: 120 days of about 60 cases a day, 150 voting residents.
    pub const FULL: DemoSize = DemoSize {
        days: 120,
        per_day: 60,
        people: 150,
    };
    /// The structure only, no generated activity (benchmarks that bring their own).
    pub const STRUCTURE: DemoSize = DemoSize {
        days: 0,
        per_day: 0,
        people: 0,
    };
}

/// A demo user with one assignment and a fixed password.
pub struct DemoUser {
    pub username: &'static str,
    pub password: &'static str,
    pub role: Role,
    pub area: Option<&'static str>,
    pub unit: Option<&'static str>,
    pub name: &'static str,
    pub phone: &'static str,
}

/// Creates `users` (what a module declares as its demo users).
pub async fn add_users(demo: &Demo<'_>, users: &[DemoUser]) -> Result<()> {
    let actor = demo.actor();
    for u in users {
        identity::create_user(
            demo.db,
            demo.sealer,
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
    Ok(())
}

/// The platform's users: the administrator and a resident (the modules add their roles' users).
pub const PLATFORM_USERS: &[DemoUser] = &[
    DemoUser {
        username: "admin",
        password: "admin-demo",
        role: Role::ADMIN,
        area: None,
        unit: None,
        name: "管理员",
        phone: "13800000001",
    },
    DemoUser {
        username: "resident",
        password: "resident-demo",
        role: Role::RESIDENT,
        area: None,
        unit: None,
        name: "赵小明",
        phone: "13800000007",
    },
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

/// Units: the district's departments (`110101-SUFFIX`), each street office (`STREET-jd`) and
/// police station (`STREET-pcs`), each community committee (`COMMUNITY-jwh`).
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
    for d in areas::demo::divisions() {
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

/// The platform's demo: the Dongcheng jurisdiction (areas and grids) and its units. It runs
/// first, since every module's demo (and its users' scopes) stands on areas and units.
pub async fn seed_platform(demo: &Demo<'_>) -> Result<Vec<String>> {
    let actor = demo.actor();
    areas::import_geojson(demo.db, &actor, &areas::demo::jurisdiction().to_string()).await?;
    for u in units() {
        identity::create_unit(demo.db, &actor, &u).await?;
    }
    Ok(vec![])
}
