//! Cases in storage: intake (locate, route, deadlines, audit in one transaction), the actions
//! of the loop with optimistic concurrency, the timeline, reads and lists within scope.

pub mod bulk;

use chrono::{DateTime, FixedOffset, TimeZone};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::{BTreeSet, HashMap};
use utoipa::ToSchema;

use crate::calendar::{shanghai, WorkCalendar};
use crate::catalog;
use crate::workflow::{self, Facts, Over, Status, Step};
use gongzhi_core::areas::locate::LocateIndex;
use gongzhi_core::db::{like_prefix, opt_text, Db, WriteTx};
use gongzhi_core::http::params;
use gongzhi_core::identity::{authorize, Action, Actor, ActorKind, Role, Target};
use gongzhi_core::privacy::{mask_name, mask_phone, Sealer};
use gongzhi_core::time::{format_ms, now_ms};
use gongzhi_core::{audit, Error, Result};

pub const CASE_CREATE: Action = Action::unscoped(
    "case_create",
    &[
        Role::RESIDENT,
        Role::GRID_WORKER,
        crate::roles::OPERATOR,
        crate::roles::DISPATCHER,
        Role::ADMIN,
    ],
);
pub const CASE_READ: Action = Action::new(
    "case_read",
    &[
        Role::GRID_WORKER,
        crate::roles::OPERATOR,
        crate::roles::DISPATCHER,
        crate::roles::HANDLER,
        Role::LEADER,
        Role::ADMIN,
    ],
);
/// See a reporter's name and phone unmasked (to call them back); audited.
pub const REPORTER_REVEAL: Action = Action::new(
    "reporter_reveal",
    &[
        crate::roles::OPERATOR,
        crate::roles::DISPATCHER,
        crate::roles::HANDLER,
        Role::ADMIN,
    ],
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// 咨询
    Inquiry,
    /// 求助
    Help,
    /// 投诉
    Complaint,
    /// 举报
    Report,
    /// 建议
    Suggestion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Hotline,
    Web,
    Patrol,
    Open311,
    Api,
    Import,
}

pub(crate) fn enum_str<T: Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// Refuses a filter value that names no `T` (an unknown kind or channel), as an unknown status is.
fn known<T: for<'de> Deserialize<'de>>(s: &str, code: &'static str, what: &str) -> Result<T> {
    serde_json::from_value(Value::String(s.to_string()))
        .map_err(|_| Error::invalid(code, format!("unknown {what} {s:?}")))
}

fn enum_parse<T: for<'de> Deserialize<'de>>(s: &str) -> Result<T> {
    serde_json::from_value(Value::String(s.to_string()))
        .map_err(|_| Error::internal(format!("bad stored value {s}")))
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Location {
    pub lat: f64,
    pub lng: f64,
    /// `wgs84` (default) or `gcj02`.
    pub crs: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Reporter {
    pub name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewCase {
    pub kind: Kind,
    /// Category code as `GET /api/v1/categories` lists it.
    pub category: String,
    pub description: String,
    pub location: Option<Location>,
    pub address: Option<String>,
    pub channel: Channel,
    /// Name and phone (personal data), or nothing for an anonymous report.
    pub reporter: Option<Reporter>,
    /// Ids of photos uploaded first to `POST /api/v1/attachments` (at most 9).
    #[serde(default)]
    pub photos: Vec<String>,
    /// Show the case to the public (Open311): its description, its location rounded, and the
    /// photos staff approve; never the reporter. Default: yes for inquiries, help and
    /// suggestions; no for complaints, reports (举报), hotline calls and imports.
    #[serde(default)]
    pub public: Option<bool>,
    /// The photos are public from the start: only the Open311 door sets this (its client sent
    /// them to be published). Not settable through the API.
    #[serde(skip)]
    pub photos_public: bool,
    /// What a channel carries beyond the case (kind, text), written in the case's own
    /// transaction (e.g. Open311's token and attribute values). Not settable through the API.
    #[serde(skip)]
    pub extras: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AreaName {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Deadlines {
    pub respond: Option<String>,
    pub handle: Option<String>,
    pub close: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineEvent {
    pub at: String,
    pub actor: String,
    pub step: String,
    pub note: Option<String>,
    #[schema(value_type = Object)]
    pub data: Value,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SummonTask {
    pub unit: String,
    pub deadline: String,
    pub reported_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseView {
    pub id: String,
    /// Human case number, e.g. `20261122000017`.
    pub number: String,
    pub kind: Kind,
    pub category: String,
    pub category_name: String,
    pub description: String,
    pub status: Status,
    pub channel: Channel,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub address: Option<String>,
    pub grid: Option<AreaName>,
    pub community: Option<AreaName>,
    pub street: Option<AreaName>,
    /// The unit handling the case now.
    pub unit: Option<String>,
    /// The first unit that received the case (首接负责).
    pub lead_unit: Option<String>,
    pub anonymous: bool,
    /// Masked unless revealed.
    pub reporter: Option<Reporter>,
    pub deadlines: Deadlines,
    pub overdue: bool,
    pub rework_count: i64,
    pub supervised: bool,
    pub extension_requested_until: Option<String>,
    pub merged_into: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub version: i64,
    /// Open cases nearby in the same category (on intake only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub possible_duplicates: Vec<DuplicateRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<TimelineEvent>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub summons: Vec<SummonTask>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<gongzhi_core::attachments::AttachmentRef>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DuplicateRef {
    pub id: String,
    pub number: String,
    pub distance_m: f64,
}

/// The working calendar deadlines are computed on (named `default`).
pub async fn load_calendar(db: &Db) -> Result<WorkCalendar> {
    crate::calendar::load(db, "default").await
}

fn at_ms(ms: i64) -> DateTime<FixedOffset> {
    shanghai()
        .timestamp_millis_opt(ms)
        .single()
        .expect("valid time")
}

pub fn haversine_m(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    let r = 6_371_000.0;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lng2 - lng1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * r * a.sqrt().asin()
}

/// How near and how recent an open case must be to count as a likely duplicate.
pub const DUPLICATE_RADIUS_M: f64 = 100.0;
pub const DUPLICATE_WINDOW_MS: i64 = 72 * 3_600_000;

/// Adds a routing rule: category (and its sub-categories) × area (and its subtree) → unit.
pub async fn add_rule(
    db: &Db,
    actor: &Actor,
    category: Option<&str>,
    area: Option<&str>,
    unit: &str,
) -> Result<String> {
    authorize(actor, catalog::CATALOG_MANAGE, &Target::global())?;
    let mut tx = db.begin_write().await?;
    for (table, value, what) in [
        ("units", Some(unit), "unit"),
        ("categories", category, "category"),
        ("areas", area, "area"),
    ] {
        if let Some(v) = value {
            let found = sqlx::query(&format!("SELECT code FROM {table} WHERE code = $1"))
                .bind(v)
                .fetch_optional(tx.conn())
                .await?;
            if found.is_none() {
                return Err(Error::invalid(
                    "unknown_reference",
                    format!("no {what} {v}"),
                ));
            }
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query("INSERT INTO routing_rules (id, category_code, area_code, unit_code, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(category)
        .bind(area)
        .bind(unit)
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
    audit::append(
        &mut tx,
        actor,
        "routing_rule.create",
        &format!("routing_rule:{id}"),
        &json!({"category": category, "area": area, "unit": unit}),
        None,
    )
    .await?;
    tx.commit().await?;
    crate::intake::forget_reference(db).await;
    Ok(id)
}

pub async fn add_event(
    tx: &mut WriteTx,
    case_id: &str,
    at: i64,
    actor: &Actor,
    step: &str,
    note: Option<&str>,
    data: &Value,
) -> Result<()> {
    let who = actor.label();
    gongzhi_core::timeline::record(
        tx,
        &crate::jobs::TIMELINE,
        case_id,
        at,
        &who,
        step,
        note,
        data,
    )
    .await
}

/// Creates a case through the one door (see [`crate::intake`]).
pub async fn create(
    db: &Db,
    sealer: &Sealer,
    index: &LocateIndex,
    actor: &Actor,
    input: &NewCase,
    idempotency_key: Option<&str>,
) -> Result<(CaseView, bool)> {
    crate::intake::create(db, sealer, index, actor, input, idempotency_key).await
}

/// The case an idempotency key of `actor` created, with the hash of the request that created it.
pub(crate) async fn find_by_key(
    db: &Db,
    actor: &Actor,
    key: &str,
) -> Result<Option<(String, Option<String>)>> {
    let row = sqlx::query("SELECT id, idempotency_hash FROM cases WHERE idempotency_key = $1")
        .bind(format!("{}:{key}", actor.label()))
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| Ok((r.try_get("id")?, opt_text(&r, "idempotency_hash")?)))
        .transpose()
}

pub async fn duplicates(
    db: &Db,
    id: &str,
    category: &str,
    lat: f64,
    lng: f64,
    now: i64,
) -> Result<Vec<DuplicateRef>> {
    let d_lat = DUPLICATE_RADIUS_M / 111_000.0;
    let d_lng = d_lat / lat.to_radians().cos().max(0.01);
    // The week of the category from the (category, created_at, lat, lng) index, the box checked
    // in the index before any row is read. Numbers sort by time.
    let rows = sqlx::query(
        "SELECT id, number, lat, lng, status FROM cases WHERE category_code = $1 AND id <> $2 AND created_at >= $3 \
         AND lat BETWEEN CAST($4 AS DOUBLE PRECISION) AND CAST($5 AS DOUBLE PRECISION) \
         AND lng BETWEEN CAST($6 AS DOUBLE PRECISION) AND CAST($7 AS DOUBLE PRECISION)",
    )
    .bind(category)
    .bind(id)
    .bind(now - DUPLICATE_WINDOW_MS)
    .bind((lat - d_lat).to_string())
    .bind((lat + d_lat).to_string())
    .bind((lng - d_lng).to_string())
    .bind((lng + d_lng).to_string())
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let status: String = r.try_get("status")?;
        if !Status::parse(&status).is_some_and(Status::is_open) {
            continue;
        }
        let (a, b): (f64, f64) = (r.try_get("lat")?, r.try_get("lng")?);
        let d = haversine_m(lat, lng, a, b);
        if d <= DUPLICATE_RADIUS_M {
            out.push(DuplicateRef {
                id: r.try_get("id")?,
                number: r.try_get("number")?,
                distance_m: (d * 10.0).round() / 10.0,
            });
        }
    }
    out.sort_by(|a, b| a.number.cmp(&b.number));
    Ok(out)
}

/// The target a case counts under for permissions: its grid (or street, district) and unit.
fn case_target(r: &AnyRow, unit_override: Option<&str>) -> Result<Target> {
    let area = opt_text(r, "grid_code")?;
    Ok(Target {
        area,
        unit: match unit_override {
            Some(u) => Some(u.to_string()),
            None => opt_text(r, "unit_code")?,
        },
    })
}

/// How a caller may read a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Staff within scope, or a handler of its unit or a summoned unit: the whole case.
    Staff,
    /// The resident who reported it: the public timeline (see [`as_reporter_sees`]).
    Reporter,
}

/// May the actor read this case, and as whom? Anyone else is told it does not exist: out of
/// scope answers exactly as an unknown number does, so numbers cannot be probed.
async fn access(db: &Db, actor: &Actor, r: &AnyRow) -> Result<Access> {
    let id: String = r.try_get("id")?;
    if authorize(actor, CASE_READ, &case_target(r, None)?).is_ok() {
        return Ok(Access::Staff);
    }
    if actor
        .assignments
        .iter()
        .any(|a| CASE_READ.roles.contains(&a.role))
    {
        let summoned = sqlx::query("SELECT unit_code FROM case_summons WHERE case_id = $1")
            .bind(&id)
            .fetch_all(db.pool())
            .await?;
        for s in summoned {
            let unit: String = s.try_get(0)?;
            if authorize(actor, CASE_READ, &case_target(r, Some(&unit))?).is_ok() {
                return Ok(Access::Staff);
            }
        }
    }
    if actor.user_id.is_some() && opt_text(r, "created_by")? == actor.user_id {
        return Ok(Access::Reporter);
    }
    Err(Error::not_found("case"))
}

/// May the actor read the case `id` (id or number)? The check photos of a case go through.
pub async fn may_read(db: &Db, actor: &Actor, id: &str) -> Result<Access> {
    access(db, actor, &fetch_row(db, id).await?).await
}

/// What a reporter sees of their own case, as Open311 shows a request: each step and when,
/// their own words and outside systems' updates; not who on the staff took a step, not staff
/// notes, not the units' side of the work (which unit, summons, extension requests).
pub fn as_reporter_sees(mut v: CaseView, actor: &Actor) -> CaseView {
    let me = actor.label();
    for e in &mut v.timeline {
        let own = e.actor == me;
        if !own {
            e.actor = "staff".into();
            if e.step != "open311_update" {
                e.note = None;
            }
        }
        // Only the photos of a step: its other data (units, the case merged in) is internal.
        e.data = match e.data.get("photos") {
            Some(p) => json!({"photos": p}),
            None => json!({}),
        };
    }
    v.unit = None;
    v.lead_unit = None;
    v.summons.clear();
    v.extension_requested_until = None;
    v
}

async fn fetch_row(db: &Db, id: &str) -> Result<AnyRow> {
    sqlx::query("SELECT * FROM cases WHERE id = $1 OR number = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::not_found("case"))
}

/// The names of the areas and categories some case rows refer to, read in one query (a page of
/// cases would otherwise ask four times per row).
#[derive(Default)]
struct Names {
    areas: HashMap<String, String>,
    categories: HashMap<String, String>,
}

async fn names_for(db: &Db, rows: &[AnyRow]) -> Result<Names> {
    if rows.is_empty() {
        return Ok(Names::default());
    }
    let (mut areas, mut categories) = (BTreeSet::new(), BTreeSet::new());
    for r in rows {
        for c in ["grid_code", "community_code", "street_code"] {
            areas.extend(opt_text(r, c)?);
        }
        categories.insert(r.try_get::<String, _>("category_code")?);
    }
    // One query for both: a page of cases asks once.
    let marks = |from: usize, n: usize| -> String {
        (from..from + n)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sql = format!(
        "SELECT 'a' AS t, code, name FROM areas WHERE code IN ({}) \
         UNION ALL SELECT 'c' AS t, code, name FROM categories WHERE code IN ({})",
        if areas.is_empty() {
            "NULL".into()
        } else {
            marks(1, areas.len())
        },
        marks(areas.len() + 1, categories.len())
    );
    let mut q = sqlx::query(&sql);
    for c in areas.iter().chain(&categories) {
        q = q.bind(c.as_str());
    }
    let mut names = Names::default();
    for r in q.fetch_all(db.pool()).await? {
        let map = if r.try_get::<String, _>("t")? == "a" {
            &mut names.areas
        } else {
            &mut names.categories
        };
        map.insert(r.try_get("code")?, r.try_get("name")?);
    }
    Ok(names)
}

impl Names {
    fn area(&self, code: Option<String>) -> Option<AreaName> {
        code.map(|code| AreaName {
            name: self.areas.get(&code).cloned().unwrap_or_default(),
            code,
        })
    }
}

fn view_of(names: &Names, sealer: &Sealer, r: &AnyRow, reveal: bool) -> Result<CaseView> {
    let now = now_ms();
    let status = Status::parse(&r.try_get::<String, _>("status")?)
        .ok_or_else(|| Error::internal("bad status"))?;
    let ms = |c: &str| -> Result<Option<i64>> { Ok(r.try_get::<Option<i64>, _>(c)?) };
    let open = |c: &str, mask: fn(&str) -> String| -> Result<Option<String>> {
        opt_text(r, c)?
            .map(|s| sealer.open(&s).map(|p| if reveal { p } else { mask(&p) }))
            .transpose()
    };
    let handle = ms("handle_deadline")?;
    let close = ms("close_deadline")?;
    let overdue = status.is_open()
        && ((ms("reported_back_at")?.is_none() && handle.is_some_and(|d| d < now))
            || (ms("closed_at")?.is_none() && close.is_some_and(|d| d < now)));
    let category: String = r.try_get("category_code")?;
    let category_name = names.categories.get(&category).cloned().unwrap_or_default();
    let name = open("reporter_name", mask_name)?;
    let phone = open("reporter_phone", mask_phone)?;
    let anonymous = r.try_get::<i64, _>("anonymous")? != 0;
    Ok(CaseView {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        kind: enum_parse(&r.try_get::<String, _>("kind")?)?,
        category,
        category_name,
        description: r.try_get("description")?,
        status,
        channel: enum_parse(&r.try_get::<String, _>("channel")?)?,
        lat: r.try_get("lat")?,
        lng: r.try_get("lng")?,
        address: opt_text(r, "address")?,
        grid: names.area(opt_text(r, "grid_code")?),
        community: names.area(opt_text(r, "community_code")?),
        street: names.area(opt_text(r, "street_code")?),
        unit: opt_text(r, "unit_code")?,
        lead_unit: opt_text(r, "lead_unit")?,
        anonymous,
        reporter: (!anonymous).then_some(Reporter { name, phone }),
        deadlines: Deadlines {
            respond: ms("respond_deadline")?.map(format_ms),
            handle: handle.map(format_ms),
            close: close.map(format_ms),
        },
        overdue,
        rework_count: r.try_get("rework_count")?,
        supervised: r.try_get::<i64, _>("supervised")? != 0,
        extension_requested_until: ms("extension_until")?.map(format_ms),
        merged_into: opt_text(r, "primary_id")?,
        created_at: format_ms(r.try_get("created_at")?),
        updated_at: format_ms(r.try_get("updated_at")?),
        version: r.try_get("version")?,
        possible_duplicates: vec![],
        timeline: vec![],
        summons: vec![],
        photos: vec![],
    })
}

/// One case with its timeline and summons. `reveal` shows the reporter unmasked (audited).
pub async fn get(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    id: &str,
    reveal: bool,
) -> Result<CaseView> {
    let r = fetch_row(db, id).await?;
    let access = access(db, actor, &r).await?;
    let case_id: String = r.try_get("id")?;
    if reveal {
        // Reporters see their own details; staff who took a call do not count as the reporter.
        let staff = actor
            .assignments
            .iter()
            .any(|a| REPORTER_REVEAL.roles.contains(&a.role));
        let mine =
            !staff && actor.user_id.is_some() && opt_text(&r, "created_by")? == actor.user_id;
        if !mine {
            authorize(actor, REPORTER_REVEAL, &case_target(&r, None)?)?;
            let mut tx = db.begin_write().await?;
            audit::append(
                &mut tx,
                actor,
                "personal.reveal",
                &format!("case:{case_id}"),
                &json!({"fields": ["reporter"]}),
                None,
            )
            .await?;
            tx.commit().await?;
        }
    }
    let view = full_view(db, sealer, &r, reveal).await?;
    Ok(match access {
        Access::Staff => view,
        Access::Reporter => as_reporter_sees(view, actor),
    })
}

/// The view with timeline and summons, for a caller already allowed to see it.
async fn full_view(db: &Db, sealer: &Sealer, r: &AnyRow, reveal: bool) -> Result<CaseView> {
    let case_id: String = r.try_get("id")?;
    let names = names_for(db, std::slice::from_ref(r)).await?;
    let mut view = view_of(&names, sealer, r, reveal)?;
    let events = sqlx::query(
        "SELECT at, actor, step, note, data FROM case_events WHERE case_id = $1 ORDER BY at, id",
    )
    .bind(&case_id)
    .fetch_all(db.pool())
    .await?;
    for e in events {
        view.timeline.push(TimelineEvent {
            at: format_ms(e.try_get("at")?),
            actor: e.try_get("actor")?,
            step: e.try_get("step")?,
            note: opt_text(&e, "note")?,
            data: serde_json::from_str(&e.try_get::<String, _>("data")?).unwrap_or(Value::Null),
        });
    }
    let summons = sqlx::query("SELECT unit_code, deadline, reported_at FROM case_summons WHERE case_id = $1 ORDER BY unit_code")
        .bind(&case_id)
        .fetch_all(db.pool())
        .await?;
    for s in summons {
        view.summons.push(SummonTask {
            unit: s.try_get("unit_code")?,
            deadline: format_ms(s.try_get("deadline")?),
            reported_at: s.try_get::<Option<i64>, _>("reported_at")?.map(format_ms),
        });
    }
    view.photos = gongzhi_core::attachments::of(db, &format!("case:{case_id}")).await?;
    Ok(view)
}

/// What an action carries; each action reads the fields it needs. A field no action knows is
/// refused: a misspelt `reason` must not pass as an action without one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionInput {
    pub note: Option<String>,
    pub reason: Option<String>,
    /// dispatch: the unit (default: the routed one); report_in: the summoned unit.
    pub unit: Option<String>,
    /// summon: the units called (吹哨报到).
    #[serde(default)]
    pub units: Vec<String>,
    pub report_within_minutes: Option<u32>,
    /// verify
    pub passed: Option<bool>,
    /// call_back
    pub contacted: Option<bool>,
    pub resolved: Option<bool>,
    /// call_back: satisfied, basically_satisfied or dissatisfied.
    pub satisfaction: Option<String>,
    /// extend: RFC 3339.
    pub until: Option<String>,
    /// merge: the primary case (id or number).
    pub into: Option<String>,
    /// Ids of uploaded photos to attach at this step (report_back, verify, …).
    #[serde(default)]
    pub photos: Vec<String>,
}

fn need<'a>(v: &'a Option<String>, what: &str, step: Step) -> Result<&'a str> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::invalid("missing_field", format!("{} needs {what}", step.as_str())))
}

async fn unit_exists(tx: &mut WriteTx, unit: &str) -> Result<()> {
    if sqlx::query("SELECT code FROM units WHERE code = $1")
        .bind(unit)
        .fetch_optional(tx.conn())
        .await?
        .is_none()
    {
        return Err(Error::invalid("unknown_unit", format!("no unit {unit}")));
    }
    Ok(())
}

/// Takes one step of the loop. Refused with 404 when the caller may not read the case (as for
/// an unknown one), 403 for a readable case outside the step's role or scope, 409 for the wrong
/// state, and 409 when another action changed the case first.
pub async fn act(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    id: &str,
    step: Step,
    input: &ActionInput,
) -> Result<CaseView> {
    let mut tx = db.begin_write().await?;
    let r = sqlx::query("SELECT * FROM cases WHERE id = $1 OR number = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| Error::not_found("case"))?;
    // Who may not read the case learns nothing of it: not its state, not whether it exists.
    let seen_as = access(db, actor, &r).await?;
    let case_id: String = r.try_get("id")?;
    let version: i64 = r.try_get("version")?;
    let from = Status::parse(&r.try_get::<String, _>("status")?)
        .ok_or_else(|| Error::internal("bad status"))?;
    let (permission, over) = step.permission();
    let unit_for_check = if step == Step::ReportIn {
        Some(need(&input.unit, "the summoned unit", step)?)
    } else {
        None
    };
    let target = match over {
        Over::Area => Target {
            area: opt_text(&r, "grid_code")?,
            unit: None,
        },
        Over::Unit => case_target(&r, unit_for_check)?,
    };
    // The reporter answers the callback on their own case (the resident portal's 评价).
    let own_callback = step == Step::CallBack
        && actor.user_id.is_some()
        && opt_text(&r, "created_by")? == actor.user_id;
    if !own_callback {
        authorize(actor, permission, &target)?;
    }
    let facts = Facts {
        contacted: r.try_get::<Option<i64>, _>("contacted_at")?.is_some(),
        extension_pending: r.try_get::<Option<i64>, _>("extension_until")?.is_some(),
        callback_unsatisfied: r.try_get::<Option<i64>, _>("callback_resolved")? == Some(0)
            || opt_text(&r, "callback_satisfaction")?.as_deref() == Some("dissatisfied"),
        held_from: opt_text(&r, "held_from")?.and_then(|s| Status::parse(&s)),
    };
    let outcome = workflow::next(from, step, facts, input.passed)
        .map_err(|m| Error::refused("wrong_state", m))?;
    let now = now_ms();
    let note = input
        .note
        .as_deref()
        .or(input.reason.as_deref())
        .map(str::trim)
        .filter(|s| !s.is_empty());
    // Column changes as (column, value) pairs; values are i64 or text.
    let mut sets: Vec<(&str, SetValue)> =
        vec![("status", SetValue::Text(Some(outcome.to.as_str().into())))];
    let mut data = json!({});
    match step {
        Step::Cancel | Step::Return | Step::Hold | Step::Reopen => {
            need(&input.reason, "a reason", step)?;
        }
        _ => {}
    }
    match step {
        Step::Dispatch => {
            let unit = match input.unit.as_deref().filter(|u| !u.is_empty()) {
                Some(u) => u.to_string(),
                None => opt_text(&r, "unit_code")?.ok_or_else(|| {
                    Error::invalid("missing_field", "dispatch needs a unit: no route was found")
                })?,
            };
            unit_exists(&mut tx, &unit).await?;
            sets.push(("unit_code", SetValue::Text(Some(unit.clone()))));
            if opt_text(&r, "lead_unit")?.is_none() {
                sets.push(("lead_unit", SetValue::Text(Some(unit.clone()))));
            }
            sets.push(("dispatched_at", SetValue::Int(Some(now))));
            sets.extend(fresh_deadlines(db, &r.try_get::<String, _>("category_code")?, now).await?);
            data = json!({"unit": unit});
        }
        Step::Sign => sets.push(("signed_at", SetValue::Int(Some(now)))),
        Step::Contact => sets.push(("contacted_at", SetValue::Int(Some(now)))),
        Step::ReportBack => {
            need(&input.note, "a note on what was done", step)?;
            sets.push(("reported_back_at", SetValue::Int(Some(now))));
        }
        Step::Verify => {
            data = json!({"passed": input.passed});
            if input.passed == Some(true) {
                sets.push(("verified_at", SetValue::Int(Some(now))));
            } else {
                sets.push((
                    "rework_count",
                    SetValue::Int(Some(r.try_get::<i64, _>("rework_count")? + 1)),
                ));
                sets.push(("reported_back_at", SetValue::Int(None)));
            }
        }
        Step::Close => sets.push(("closed_at", SetValue::Int(Some(now)))),
        Step::CallBack => {
            // `contacted`: the reporter confirms the unit contacted them (响应); every answer
            // of a reached reporter is a valid callback for the three rates.
            let contacted = input
                .contacted
                .ok_or_else(|| Error::invalid("missing_field", "call_back needs contacted"))?;
            let satisfaction = match input.satisfaction.as_deref() {
                Some(s @ ("satisfied" | "basically_satisfied" | "dissatisfied")) => {
                    Some(s.to_string())
                }
                None => None,
                Some(_) => {
                    return Err(Error::invalid(
                        "invalid_satisfaction",
                        "satisfaction is satisfied, basically_satisfied or dissatisfied",
                    ))
                }
            };
            sets.push(("callback_at", SetValue::Int(Some(now))));
            sets.push((
                "callback_contacted",
                SetValue::Int(Some(i64::from(contacted))),
            ));
            sets.push((
                "callback_resolved",
                SetValue::Int(input.resolved.map(i64::from)),
            ));
            sets.push((
                "callback_satisfaction",
                SetValue::Text(satisfaction.clone()),
            ));
            data = json!({"contacted": contacted, "resolved": input.resolved, "satisfaction": satisfaction});
        }
        Step::Return => {
            sets.push(("unit_code", SetValue::Text(None)));
            sets.push(("signed_at", SetValue::Int(None)));
        }
        Step::Extend => {
            let until = need(&input.until, "until (RFC 3339)", step)?;
            let until = gongzhi_core::time::parse_rfc3339(until)
                .ok_or_else(|| Error::invalid("invalid_time", "until must be RFC 3339"))?;
            let handle = r
                .try_get::<Option<i64>, _>("handle_deadline")?
                .unwrap_or(now);
            if until <= handle.max(now) {
                return Err(Error::invalid(
                    "invalid_time",
                    "an extension must end after the current deadline",
                ));
            }
            need(&input.reason, "a reason", step)?;
            sets.push(("extension_until", SetValue::Int(Some(until))));
            data = json!({"until": format_ms(until)});
        }
        Step::ApproveExtension => {
            let until: i64 = r
                .try_get::<Option<i64>, _>("extension_until")?
                .ok_or_else(|| Error::internal("no extension"))?;
            let old_handle = r
                .try_get::<Option<i64>, _>("handle_deadline")?
                .unwrap_or(until);
            let old_close = r
                .try_get::<Option<i64>, _>("close_deadline")?
                .unwrap_or(until);
            sets.push(("handle_deadline", SetValue::Int(Some(until))));
            sets.push((
                "close_deadline",
                SetValue::Int(Some(old_close + (until - old_handle).max(0))),
            ));
            sets.push(("extension_until", SetValue::Int(None)));
            data = json!({"handle_deadline": format_ms(until)});
        }
        Step::Hold => sets.push(("held_from", SetValue::Text(Some(from.as_str().into())))),
        Step::Resume => sets.push(("held_from", SetValue::Text(None))),
        Step::Supervise => sets.push(("supervised", SetValue::Int(Some(1)))),
        Step::Reopen => {
            sets.push(("callback_at", SetValue::Int(None)));
            sets.push(("callback_contacted", SetValue::Int(None)));
            sets.push(("callback_resolved", SetValue::Int(None)));
            sets.push(("callback_satisfaction", SetValue::Text(None)));
            sets.push(("closed_at", SetValue::Int(None)));
            sets.push(("verified_at", SetValue::Int(None)));
            sets.push(("reported_back_at", SetValue::Int(None)));
            sets.push(("signed_at", SetValue::Int(None)));
            sets.push((
                "rework_count",
                SetValue::Int(Some(r.try_get::<i64, _>("rework_count")? + 1)),
            ));
        }
        Step::Summon => {
            if input.units.is_empty() {
                return Err(Error::invalid("missing_field", "summon needs units"));
            }
            let minutes = input.report_within_minutes.unwrap_or(30).clamp(1, 24 * 60);
            for u in &input.units {
                unit_exists(&mut tx, u).await?;
                let inserted = sqlx::query("INSERT INTO case_summons (id, case_id, unit_code, deadline, reported_at) VALUES ($1, $2, $3, $4, NULL)")
                    .bind(uuid::Uuid::new_v4().to_string())
                    .bind(&case_id)
                    .bind(u)
                    .bind(now + i64::from(minutes) * 60_000)
                    .execute(tx.conn())
                    .await;
                if let Err(e) = inserted {
                    let e = Error::from(e);
                    return Err(if e.is_unique_violation() {
                        Error::Conflict(format!("{u} is already summoned to this case"))
                    } else {
                        e
                    });
                }
            }
            data = json!({"units": input.units, "report_within_minutes": minutes});
        }
        Step::ReportIn => {
            let unit = need(&input.unit, "the summoned unit", step)?;
            let updated = sqlx::query("UPDATE case_summons SET reported_at = $1 WHERE case_id = $2 AND unit_code = $3 AND reported_at IS NULL")
                .bind(now)
                .bind(&case_id)
                .bind(unit)
                .execute(tx.conn())
                .await?;
            if updated.rows_affected() == 0 {
                return Err(Error::Conflict(format!(
                    "{unit} has no open summons on this case"
                )));
            }
            data = json!({"unit": unit});
        }
        Step::Merge => {
            let into = need(&input.into, "into (the primary case)", step)?;
            let primary = sqlx::query("SELECT * FROM cases WHERE id = $1 OR number = $1")
                .bind(into)
                .fetch_optional(tx.conn())
                .await?
                .ok_or_else(|| Error::not_found("case"))?;
            // The primary gets an event too: it must be the caller's to read and to merge
            // into, or it is as unknown as a wrong number.
            access(db, actor, &primary).await?;
            authorize(
                actor,
                permission,
                &Target {
                    area: opt_text(&primary, "grid_code")?,
                    unit: None,
                },
            )
            .map_err(|_| Error::not_found("case"))?;
            let primary_id: String = primary.try_get("id")?;
            let primary_status = Status::parse(&primary.try_get::<String, _>("status")?)
                .unwrap_or(Status::Cancelled);
            if primary_id == case_id || !primary_status.is_open() {
                return Err(Error::Conflict(
                    "a case merges into another open case".into(),
                ));
            }
            sets.push(("primary_id", SetValue::Text(Some(primary_id.clone()))));
            data = json!({"into": primary_id});
        }
        Step::Accept | Step::File | Step::Cancel | Step::Remind => {}
    }
    sets.push(("updated_at", SetValue::Int(Some(now))));
    sets.push(("version", SetValue::Int(Some(version + 1))));
    let assignments: Vec<String> = sets
        .iter()
        .enumerate()
        .map(|(i, (c, _))| format!("{c} = ${}", i + 1))
        .collect();
    let sql = format!(
        "UPDATE cases SET {} WHERE id = ${} AND version = ${}",
        assignments.join(", "),
        sets.len() + 1,
        sets.len() + 2
    );
    let values: Vec<SetValue> = sets.into_iter().map(|(_, v)| v).collect();
    let done = bind_all(&sql, &values)
        .bind(&case_id)
        .bind(version)
        .execute(tx.conn())
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::Conflict(
            "the case was changed by someone else first; reload and try again".into(),
        ));
    }
    crate::stats::record_change(&mut tx, Some(&r), &case_id).await?;
    follow_up(db, &mut tx, &case_id, step, now).await?;
    if step == Step::Merge {
        // The duplicate's reporter hears about the primary's progress through the primary.
        let primary_id = data["into"].as_str().unwrap_or_default().to_string();
        add_event(
            &mut tx,
            &primary_id,
            now,
            actor,
            "merged_in",
            None,
            &json!({"case": case_id}),
        )
        .await?;
    }
    if !input.photos.is_empty() {
        gongzhi_core::attachments::link(
            &mut tx,
            &actor.label(),
            &input.photos,
            &format!("case:{case_id}"),
            step.as_str(),
        )
        .await?;
        data["photos"] = json!(input.photos);
    }
    add_event(&mut tx, &case_id, now, actor, step.as_str(), note, &data).await?;
    audit::append(
        &mut tx,
        actor,
        &format!("case.{}", step.as_str()),
        &format!("case:{case_id}"),
        &json!({"from": from, "to": outcome.to, "data": data}),
        note,
    )
    .await?;
    tx.commit().await?;
    changed(db);
    // The actor may no longer read the case (a unit that returned it): answer with it anyway.
    let view = full_view(db, sealer, &fetch_row(db, &case_id).await?, false).await?;
    Ok(match seen_as {
        Access::Staff => view,
        Access::Reporter => as_reporter_sees(view, actor),
    })
}

/// Deadlines from `now` on the working calendar for a category.
async fn fresh_deadlines(
    db: &Db,
    category: &str,
    now: i64,
) -> Result<Vec<(&'static str, SetValue)>> {
    let category = catalog::get(db, category).await?;
    let cal = load_calendar(db).await?;
    let start = at_ms(now);
    Ok(vec![
        (
            "respond_deadline",
            SetValue::Int(Some(
                cal.deadline(start, category.respond_limit)
                    .timestamp_millis(),
            )),
        ),
        (
            "handle_deadline",
            SetValue::Int(Some(
                cal.deadline(start, category.handle_limit)
                    .timestamp_millis(),
            )),
        ),
        (
            "close_deadline",
            SetValue::Int(Some(
                cal.deadline(start, category.close_limit).timestamp_millis(),
            )),
        ),
    ])
}

/// What follows a step: inbox notices, SMS to the reporter, reminders and escalations.
async fn follow_up(db: &Db, tx: &mut WriteTx, case_id: &str, step: Step, now: i64) -> Result<()> {
    let r = sqlx::query("SELECT * FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(tx.conn())
        .await?;
    let number: String = r.try_get("number")?;
    let unit = opt_text(&r, "unit_code")?;
    let street = opt_text(&r, "street_code")?;
    let handle = r.try_get::<Option<i64>, _>("handle_deadline")?;
    let tell_reporter = |text: String| {
        let channel: String = r.try_get("channel").unwrap_or_default();
        let reporter_user = opt_text(&r, "created_by")
            .ok()
            .flatten()
            .filter(|_| matches!(channel.as_str(), "web" | "patrol"));
        let has_phone = opt_text(&r, "reporter_phone").ok().flatten().is_some();
        (text, reporter_user, has_phone)
    };
    let notices = match step {
        Step::Dispatch | Step::Reopen => {
            if let (Some(unit), Some(deadline)) = (&unit, handle) {
                let what = if step == Step::Dispatch {
                    "新派遣案件"
                } else {
                    "案件重新办理"
                };
                crate::notify::post(
                    db,
                    tx,
                    now,
                    &format!("unit:{unit}"),
                    Some(case_id),
                    "dispatch",
                    &format!("{what} {number}"),
                    &format!("处置时限 {}", format_ms(deadline)),
                )
                .await?;
                let cal = load_calendar(db).await?;
                let street_after = cal
                    .deadline(
                        at_ms(deadline),
                        crate::calendar::TimeLimit {
                            amount: 1,
                            unit: crate::calendar::LimitUnit::WorkDays,
                        },
                    )
                    .timestamp_millis();
                crate::jobs::schedule_deadline(
                    tx,
                    case_id,
                    unit,
                    street.as_deref(),
                    now,
                    deadline,
                    street_after,
                )
                .await?;
            }
            (step == Step::Dispatch)
                .then(|| tell_reporter(format!("您的诉求（编号 {number}）已派遣至承办单位办理。")))
        }
        Step::ApproveExtension => {
            if let (Some(unit), Some(deadline)) = (&unit, handle) {
                let cal = load_calendar(db).await?;
                let street_after = cal
                    .deadline(
                        at_ms(deadline),
                        crate::calendar::TimeLimit {
                            amount: 1,
                            unit: crate::calendar::LimitUnit::WorkDays,
                        },
                    )
                    .timestamp_millis();
                crate::jobs::schedule_deadline(
                    tx,
                    case_id,
                    unit,
                    street.as_deref(),
                    now,
                    deadline,
                    street_after,
                )
                .await?;
                crate::notify::post(
                    db,
                    tx,
                    now,
                    &format!("unit:{unit}"),
                    Some(case_id),
                    "extension",
                    &format!("案件 {number} 延期已批准"),
                    &format!("新的处置时限 {}", format_ms(deadline)),
                )
                .await?;
            }
            None
        }
        Step::Summon => {
            let rows = sqlx::query("SELECT unit_code, deadline FROM case_summons WHERE case_id = $1 AND reported_at IS NULL").bind(case_id).fetch_all(tx.conn()).await?;
            for s in rows {
                let u: String = s.try_get(0)?;
                let d: i64 = s.try_get(1)?;
                let existing =
                    crate::jobs::is_scheduled(tx, "summon_overdue", case_id, &json!({"unit": u}))
                        .await?;
                if !existing {
                    crate::jobs::schedule(
                        tx,
                        "summon_overdue",
                        Some(case_id),
                        d,
                        &json!({"unit": u}),
                    )
                    .await?;
                    crate::notify::post(
                        db,
                        tx,
                        now,
                        &format!("unit:{u}"),
                        Some(case_id),
                        "summons",
                        &format!("吹哨报到：案件 {number}"),
                        &format!("请于 {} 前报到。", format_ms(d)),
                    )
                    .await?;
                }
            }
            None
        }
        Step::Close => Some(tell_reporter(format!(
            "您的诉求（编号 {number}）已办结，稍后将有工作人员回访。"
        ))),
        Step::CallBack => Some(tell_reporter(format!(
            "感谢您对诉求（编号 {number}）办理情况的评价。"
        ))),
        _ => None,
    };
    if let Some((text, user, has_phone)) = notices {
        if let Some(user) = user {
            crate::notify::post(
                db,
                tx,
                now,
                &format!("user:{user}"),
                Some(case_id),
                "progress",
                &format!("诉求 {number} 办理进展"),
                &text,
            )
            .await?;
        }
        if has_phone {
            crate::jobs::queue_sms(tx, now, case_id, &text).await?;
        }
    }
    Ok(())
}

enum SetValue {
    Int(Option<i64>),
    Text(Option<String>),
}

fn bind_all<'q>(
    sql: &'q str,
    args: &'q [SetValue],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let mut q = sqlx::query(sql);
    for v in args {
        q = match v {
            SetValue::Int(i) => q.bind(*i),
            SetValue::Text(t) => q.bind(t.clone()),
        };
    }
    q
}

/// Filters for `GET /api/v1/cases`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseFilter {
    pub status: Option<String>,
    /// Area code: cases in its subtree.
    pub area: Option<String>,
    pub unit: Option<String>,
    /// Category code: the category and its sub-categories.
    pub category: Option<String>,
    pub kind: Option<String>,
    pub channel: Option<String>,
    /// Created from (RFC 3339 or YYYY-MM-DD).
    pub from: Option<String>,
    /// Created before (RFC 3339 or YYYY-MM-DD).
    pub to: Option<String>,
    pub overdue: Option<bool>,
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CasePage {
    pub items: Vec<CaseView>,
    pub page: u32,
    pub page_size: u32,
    /// Cases that match, counted up to the cap ([`LIST_COUNT_CAP`] in the API).
    pub total: i64,
    /// More than `total` cases match: counting stopped at the cap.
    pub total_capped: bool,
}

/// Lists count at most this many matches: an exact count of millions of rows on every page
/// would cost more than the page itself. Narrow the filter to count further.
pub const LIST_COUNT_CAP: i64 = 1_000;

fn parse_day_or_time(s: &str) -> Option<i64> {
    gongzhi_core::time::parse_rfc3339(s).or_else(|| {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| {
                shanghai()
                    .from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
                    .single()
            })
            .map(|t| t.timestamp_millis())
    })
}

/// Cases the actor may see, filtered and paginated, newest first.
/// How many times this process changed cases: caches of figures compare it to know they may be
/// stale (changes by other processes reach them through their time limit).
#[derive(Default)]
struct Changes(std::sync::atomic::AtomicU64);

pub fn changed(db: &Db) {
    db.extension(Changes::default)
        .0
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

pub fn generation(db: &Db) -> u64 {
    db.extension(Changes::default)
        .0
        .load(std::sync::atomic::Ordering::Relaxed)
}

/// The cases an actor may read, as a condition on `cases` with its text arguments numbered
/// from `$first` (`clause` is `None` for every case): the union of what each assignment
/// reaches, plus the actor's own reports. An assignment whose role may not read cases adds
/// nothing (a resident role never widens a leader's street); a unit-only one adds that unit's
/// and its summons' cases. The case list and the dashboard's figures both count through it, so
/// a page can never show more than the API. Refused when nothing is readable.
pub(crate) struct ReadScope {
    pub clause: Option<String>,
    pub args: Vec<String>,
    /// Whether any assignment may read cases (else only the actor's own reports are in scope).
    pub reads: bool,
}

pub(crate) fn read_scope(actor: &Actor, first: usize) -> Result<ReadScope> {
    if matches!(actor.kind, ActorKind::System) {
        return Ok(ReadScope {
            clause: None,
            args: vec![],
            reads: true,
        });
    }
    let mut parts: Vec<String> = Vec::new();
    let mut args: Vec<String> = Vec::new();
    let arg = |v: String, args: &mut Vec<String>| {
        args.push(v);
        format!("${}", first + args.len() - 1)
    };
    let mut reads = false;
    for a in &actor.assignments {
        // An assignment always covers its own scope, so this is the one check asked of it alone.
        if !CASE_READ.roles.contains(&a.role) {
            continue;
        }
        reads = true;
        match (&a.area, &a.unit) {
            (None, None) => {
                return Ok(ReadScope {
                    clause: None,
                    args: vec![],
                    reads,
                })
            }
            (Some(area), None) => parts.push(format!(
                "grid_code LIKE {} ESCAPE '\\'",
                arg(like_prefix(area), &mut args)
            )),
            (None, Some(unit)) => {
                let p = arg(unit.clone(), &mut args);
                parts.push(format!("(unit_code = {p} OR id IN (SELECT case_id FROM case_summons WHERE unit_code = {p}))"));
            }
            (Some(area), Some(unit)) => {
                let a1 = arg(like_prefix(area), &mut args);
                let u1 = arg(unit.clone(), &mut args);
                parts.push(format!(
                    "(grid_code LIKE {a1} ESCAPE '\\' AND unit_code = {u1})"
                ));
            }
        }
    }
    if let (Some(uid), ActorKind::User) = (&actor.user_id, &actor.kind) {
        parts.push(format!("created_by = {}", arg(uid.clone(), &mut args)));
    }
    if parts.is_empty() {
        return Err(Error::Forbidden("your roles do not allow case_read".into()));
    }
    Ok(ReadScope {
        clause: Some(format!("({})", parts.join(" OR "))),
        args,
        reads,
    })
}

/// Cases in the caller's scope, filtered, newest first, a page at a time; matches are counted
/// up to [`LIST_COUNT_CAP`].
pub async fn list(db: &Db, sealer: &Sealer, actor: &Actor, f: &CaseFilter) -> Result<CasePage> {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<SetValue> = Vec::new();
    let arg = |v: SetValue, args: &mut Vec<SetValue>| {
        args.push(v);
        format!("${}", args.len())
    };
    let scope = read_scope(actor, 1)?;
    args.extend(scope.args.into_iter().map(|a| SetValue::Text(Some(a))));
    clauses.extend(scope.clause);
    if let Some(s) = f.status.as_deref().filter(|s| !s.is_empty()) {
        if Status::parse(s).is_none() {
            return Err(Error::invalid(
                "invalid_status",
                format!("unknown status {s:?}"),
            ));
        }
        clauses.push(format!(
            "status = {}",
            arg(SetValue::Text(Some(s.into())), &mut args)
        ));
    }
    if let Some(a) = f.area.as_deref().filter(|s| !s.is_empty()) {
        clauses.push(format!(
            "grid_code LIKE {} ESCAPE '\\'",
            arg(SetValue::Text(Some(like_prefix(a))), &mut args)
        ));
    }
    if let Some(u) = f.unit.as_deref().filter(|s| !s.is_empty()) {
        clauses.push(format!(
            "unit_code = {}",
            arg(SetValue::Text(Some(u.into())), &mut args)
        ));
    }
    if let Some(c) = f.category.as_deref().filter(|s| !s.is_empty()) {
        clauses.push(format!(
            "category_code LIKE {} ESCAPE '\\'",
            arg(SetValue::Text(Some(like_prefix(c))), &mut args)
        ));
    }
    if let Some(k) = f.kind.as_deref().filter(|s| !s.is_empty()) {
        known::<Kind>(k, "invalid_kind", "kind")?;
        clauses.push(format!(
            "kind = {}",
            arg(SetValue::Text(Some(k.into())), &mut args)
        ));
    }
    if let Some(c) = f.channel.as_deref().filter(|s| !s.is_empty()) {
        known::<Channel>(c, "invalid_channel", "channel")?;
        clauses.push(format!(
            "channel = {}",
            arg(SetValue::Text(Some(c.into())), &mut args)
        ));
    }
    for (v, op) in [(&f.from, ">="), (&f.to, "<")] {
        if let Some(s) = v.as_deref().filter(|s| !s.is_empty()) {
            let t = parse_day_or_time(s).ok_or_else(|| {
                Error::invalid(
                    "invalid_time",
                    format!("{s:?} is not RFC 3339 or YYYY-MM-DD"),
                )
            })?;
            clauses.push(format!(
                "created_at {op} {}",
                arg(SetValue::Int(Some(t)), &mut args)
            ));
        }
    }
    if f.overdue == Some(true) {
        let now = arg(SetValue::Int(Some(now_ms())), &mut args);
        clauses.push(format!(
            "status NOT IN ('closed', 'called_back', 'cancelled', 'merged') AND ((reported_back_at IS NULL AND handle_deadline < {now}) OR (closed_at IS NULL AND close_deadline < {now}))"
        ));
    }
    let page = params::page(f.page.map(i64::from), i64::from(u32::MAX))? as u32;
    let page_size = params::count("page_size", f.page_size.map(i64::from), 20, 200)? as u32;
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let count_sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM cases {where_sql} LIMIT {}) capped",
        LIST_COUNT_CAP + 1
    );
    let counted: i64 = bind_all(&count_sql, &args)
        .fetch_one(db.pool())
        .await?
        .try_get(0)?;
    let page_sql = format!(
        "SELECT * FROM cases {where_sql} ORDER BY created_at DESC, id LIMIT {page_size} OFFSET {}",
        // In u64: a page near u32::MAX times the page size overflows u32 (schemathesis).
        u64::from(page - 1) * u64::from(page_size)
    );
    let rows = bind_all(&page_sql, &args).fetch_all(db.pool()).await?;
    let names = names_for(db, &rows).await?;
    let items = rows
        .iter()
        .map(|r| view_of(&names, sealer, r, false))
        .collect::<Result<Vec<_>>>()?;
    Ok(CasePage {
        items,
        page,
        page_size,
        total: counted.min(LIST_COUNT_CAP),
        total_capped: counted > LIST_COUNT_CAP,
    })
}
