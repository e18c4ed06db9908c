//! Cases in storage, read: one case with its timeline and summons, who may read it, likely
//! duplicates; and the timeline's writer.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::model::{
    enum_parse, Access, AreaName, CaseView, Deadlines, DuplicateRef, Reporter, SummonTask,
    TimelineEvent,
};
use crate::permissions::CASE_READ;
use crate::rules::nearby::{haversine_m, DUPLICATE_RADIUS_M, DUPLICATE_WINDOW_MS};
use crate::rules::workflow::Status;
use gongzhi_core::db::{opt_text, Db, WriteTx};
use gongzhi_core::db::{query, Row};
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::privacy::{mask_name, mask_phone, Sealer};
use gongzhi_core::time::{format_ms, now_ms};
use gongzhi_core::{Error, Result};

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
/// The case an idempotency key of `actor` created, with the hash of the request that created it.
pub async fn find_by_key(
    db: &Db,
    actor: &Actor,
    key: &str,
) -> Result<Option<(String, Option<String>)>> {
    let row = query("SELECT id, idempotency_hash FROM cases WHERE idempotency_key = $1")
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
    let rows = query(
        "SELECT id, number, lat, lng, status FROM cases WHERE category_code = $1 AND id <> $2 AND created_at >= $3 \
         AND lat BETWEEN $4 AND $5 \
         AND lng BETWEEN $6 AND $7",
    )
    .bind(category)
    .bind(id)
    .bind(now - DUPLICATE_WINDOW_MS)
    .bind(lat - d_lat)
    .bind(lat + d_lat)
    .bind(lng - d_lng)
    .bind(lng + d_lng)
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
pub fn case_target(r: &Row, unit_override: Option<&str>) -> Result<Target> {
    let area = opt_text(r, "grid_code")?;
    Ok(Target {
        area,
        unit: match unit_override {
            Some(u) => Some(u.to_string()),
            None => opt_text(r, "unit_code")?,
        },
    })
}

/// May the actor read this case, and as whom? Anyone else is told it does not exist: out of
/// scope answers exactly as an unknown number does, so numbers cannot be probed.
pub async fn access(db: &Db, actor: &Actor, r: &Row) -> Result<Access> {
    let id: String = r.try_get("id")?;
    if authorize(actor, CASE_READ, &case_target(r, None)?).is_ok() {
        return Ok(Access::Staff);
    }
    if actor
        .assignments
        .iter()
        .any(|a| CASE_READ.roles.contains(&a.role))
    {
        let summoned = query("SELECT unit_code FROM case_summons WHERE case_id = $1")
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

pub async fn fetch_row(db: &Db, id: &str) -> Result<Row> {
    query("SELECT * FROM cases WHERE id = $1 OR number = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::not_found("case"))
}

/// The names of the areas and categories some case rows refer to, read in one query (a page of
/// cases would otherwise ask four times per row).
#[derive(Default)]
pub struct Names {
    areas: HashMap<String, String>,
    categories: HashMap<String, String>,
}

pub async fn names_for(db: &Db, rows: &[Row]) -> Result<Names> {
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
    let marks = gongzhi_core::db::placeholders;
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
    let mut q = query(&sql);
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

pub fn view_of(names: &Names, sealer: &Sealer, r: &Row, reveal: bool) -> Result<CaseView> {
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

/// The view with timeline and summons, for a caller already allowed to see it.
pub async fn full_view(db: &Db, sealer: &Sealer, r: &Row, reveal: bool) -> Result<CaseView> {
    let case_id: String = r.try_get("id")?;
    let names = names_for(db, std::slice::from_ref(r)).await?;
    let mut view = view_of(&names, sealer, r, reveal)?;
    let events = query(
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
    let summons = query("SELECT unit_code, deadline, reported_at FROM case_summons WHERE case_id = $1 ORDER BY unit_code")
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
