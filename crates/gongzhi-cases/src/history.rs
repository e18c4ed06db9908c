//! History import: years of past cases moved into gongzhi in one all-or-nothing transaction,
//! each located, given its timeline and its deadlines computed from `dispatched_at`.

use std::collections::{HashMap, HashSet};

use chrono::{FixedOffset, TimeZone};
use serde_json::json;
use sqlx::Row;

use crate::calendar::{TimeLimit, WorkCalendar};
use crate::model::catalog;
use crate::model::{Channel, Kind};
use crate::rules::workflow::Status;
use crate::store::reference::load_calendar;
use gongzhi_core::areas::locate::LocateIndex;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::{audit, Error, Result};

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
        let mut bad =
            |field: &str, why: String| problems.push(format!("line {line}: {field}: {why}"));
        let f = |name: &str| {
            rec[HEADER.iter().position(|h| *h == name).expect("known field")].to_string()
        };
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
        let kind = parse_enum::<Kind>(&f("kind"));
        if kind.is_none() {
            bad(
                "kind",
                format!(
                    "{:?} is not inquiry, help, complaint, report or suggestion",
                    f("kind")
                ),
            );
        }
        let channel = parse_enum::<Channel>(&f("channel"));
        if channel.is_none() {
            bad(
                "channel",
                format!(
                    "{:?} is not hotline, web, patrol, open311, api or import",
                    f("channel")
                ),
            );
        }
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
        let satisfaction = f("callback_satisfaction");
        let callback_satisfaction = match satisfaction.as_str() {
            "" => None,
            "satisfied" | "basically_satisfied" | "dissatisfied" => Some(satisfaction.clone()),
            v => {
                bad(
                    "callback_satisfaction",
                    format!("{v:?} is not satisfied, basically_satisfied or dissatisfied"),
                );
                None
            }
        };
        let rework_count = match f("rework_count").as_str() {
            "" => 0,
            v => v
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .unwrap_or_else(|| {
                    bad("rework_count", format!("{v:?} is not a whole number ≥ 0"));
                    0
                }),
        };
        let unit = Some(f("unit")).filter(|u| !u.is_empty());
        if let Some(c) = created_at {
            for (name, t) in [
                ("dispatched_at", dispatched_at),
                ("signed_at", signed_at),
                ("contacted_at", contacted_at),
                ("handled_at", handled_at),
                ("verified_at", verified_at),
                ("closed_at", closed_at),
                ("callback_at", callback_at),
            ] {
                if t.is_some_and(|t| t < c) {
                    bad(name, "is before created_at".into());
                }
            }
        }
        if dispatched_at.is_some() && unit.is_none() {
            bad("unit", "a dispatched case needs its unit".into());
        }
        if callback_at.is_some() != callback_contacted.is_some() && callback_at.is_none() {
            bad(
                "callback_at",
                "callback answers need the callback time".into(),
            );
        }
        if let (Some(kind), Some(channel), Some(created_at)) = (kind, channel, created_at) {
            out.push(PastCase {
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
            });
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
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

fn status_of(c: &PastCase) -> Status {
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

/// Stores past cases: all, or none with every problem listed.
pub async fn import(
    db: &Db,
    index: &LocateIndex,
    actor: &Actor,
    cases: &[PastCase],
) -> Result<usize> {
    authorize(actor, crate::permissions::CATALOG_MANAGE, &Target::global())?;
    let mut problems = Vec::new();
    let categories: HashMap<String, catalog::Category> = crate::store::catalog::list(db)
        .await?
        .into_iter()
        .map(|c| (c.code.clone(), c))
        .collect();
    let units: HashSet<String> = sqlx::query("SELECT code FROM units")
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<std::result::Result<_, _>>()?;
    let mut numbers = HashSet::new();
    let mut located = Vec::with_capacity(cases.len());
    for (i, c) in cases.iter().enumerate() {
        let line = i + 2;
        if !categories.contains_key(&c.category) {
            problems.push(format!(
                "line {line}: category: no category {:?}",
                c.category
            ));
        }
        if let Some(u) = &c.unit {
            if !units.contains(u) {
                problems.push(format!("line {line}: unit: no unit {u:?}"));
            }
        }
        if !numbers.insert(c.number.as_str()) {
            problems.push(format!(
                "line {line}: number: {} appears twice in the file",
                c.number
            ));
        }
        match index.locate(c.lat, c.lng) {
            Some(l) => located.push(Some(l.clone())),
            None => {
                problems.push(format!(
                    "line {line}: ({}, {}) is outside the jurisdiction",
                    c.lat, c.lng
                ));
                located.push(None);
            }
        }
    }
    for chunk in cases.chunks(gongzhi_core::db::rows_per_statement(1)) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT number FROM cases WHERE number IN ({})",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for c in chunk {
            q = q.bind(&c.number);
        }
        for r in q.fetch_all(db.pool()).await? {
            problems.push(format!(
                "number: {} is already stored",
                r.try_get::<String, _>(0)?
            ));
        }
    }
    if !problems.is_empty() {
        let n = problems.len();
        return Err(Error::invalid_with(
            "import_rejected",
            format!(
                "the import was rejected with {n} problem{}; nothing was changed",
                if n == 1 { "" } else { "s" }
            ),
            json!({"problems": problems.iter().map(|p| json!({"at": p.split(':').next().unwrap_or(""), "problem": p})).collect::<Vec<_>>()}),
        ));
    }
    let calendar = load_calendar(db).await?;
    let importer = actor.label();
    let mut tx = db.begin_write().await?;
    let mut counters = crate::rules::stats::CounterDelta::default();
    for (c, l) in cases.iter().zip(&located) {
        let l = l.as_ref().expect("located above");
        let cat = &categories[&c.category];
        let deadline = |limit| c.deadline(&calendar, limit);
        let id = uuid::Uuid::new_v4().to_string();
        let status = status_of(c);
        counters.add(
            &crate::rules::stats::CaseFigures {
                merged: status == Status::Merged,
                codes: [
                    Some(l.street.code.clone()),
                    Some(l.community.code.clone()),
                    Some(l.grid.code.clone()),
                    c.unit.clone(),
                ],
                callback_at: c.callback_at,
                callback_contacted: c.callback_contacted.map(i64::from),
                callback_resolved: c.callback_resolved.map(i64::from),
                callback_satisfaction: c.callback_satisfaction.clone(),
                dispatched_at: c.dispatched_at,
                reported_back_at: c.handled_at,
                handle_deadline: deadline(cat.handle_limit),
                closed_at: c.closed_at,
                close_deadline: deadline(cat.close_limit),
                rework_count: c.rework_count,
            },
            1,
        );
        sqlx::query(
            "INSERT INTO cases (id, number, kind, category_code, description, lat, lng, address, channel, reporter_name, reporter_phone, anonymous, \
             grid_code, community_code, street_code, district_code, unit_code, lead_unit, status, version, created_at, updated_at, \
             dispatched_at, signed_at, contacted_at, reported_back_at, verified_at, closed_at, callback_at, callback_contacted, callback_resolved, \
             callback_satisfaction, respond_deadline, handle_deadline, close_deadline, rework_count, supervised) \
             VALUES ($1, $2, $3, $4, $5, CAST($6 AS DOUBLE PRECISION), CAST($7 AS DOUBLE PRECISION), NULL, $8, NULL, NULL, 1, $9, $10, $11, $12, $13, $14, $15, 1, $16, $17, \
             $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, 0)",
        )
        .bind(&id)
        .bind(&c.number)
        .bind(serde_json::to_value(c.kind).ok().and_then(|v| v.as_str().map(String::from)))
        .bind(&c.category)
        .bind(&c.description)
        .bind(c.lat.to_string())
        .bind(c.lng.to_string())
        .bind(serde_json::to_value(c.channel).ok().and_then(|v| v.as_str().map(String::from)))
        .bind(&l.grid.code)
        .bind(&l.community.code)
        .bind(&l.street.code)
        .bind(&l.district.code)
        .bind(&c.unit)
        .bind(&c.unit)
        .bind(status.as_str())
        .bind(c.created_at)
        .bind([Some(c.created_at), c.dispatched_at, c.signed_at, c.handled_at, c.verified_at, c.closed_at, c.callback_at].into_iter().flatten().max())
        .bind(c.dispatched_at)
        .bind(c.signed_at)
        .bind(c.contacted_at)
        .bind(c.handled_at)
        .bind(c.verified_at)
        .bind(c.closed_at)
        .bind(c.callback_at)
        .bind(c.callback_contacted.map(i64::from))
        .bind(c.callback_resolved.map(i64::from))
        .bind(&c.callback_satisfaction)
        .bind(deadline(cat.respond_limit))
        .bind(deadline(cat.handle_limit))
        .bind(deadline(cat.close_limit))
        .bind(c.rework_count)
        .execute(tx.conn())
        .await?;
        let steps = [
            ("create", Some(c.created_at)),
            ("dispatch", c.dispatched_at),
            ("sign", c.signed_at),
            ("contact", c.contacted_at),
            ("report_back", c.handled_at),
            ("verify", c.verified_at),
            ("close", c.closed_at),
            ("call_back", c.callback_at),
        ];
        for (step, at) in steps {
            let Some(at) = at else { continue };
            sqlx::query("INSERT INTO case_events (id, case_id, at, actor, step, note, data) VALUES ($1, $2, $3, $4, $5, NULL, $6)")
                .bind(uuid::Uuid::new_v4().to_string())
                .bind(&id)
                .bind(at)
                .bind(&importer)
                .bind(step)
                .bind(json!({"imported": true}).to_string())
                .execute(tx.conn())
                .await?;
        }
        // Past Open311 requests were published by their client, as ours are.
        if c.channel == Channel::Open311 {
            let public = crate::store::publicity::AtIntake {
                case_id: &id,
                chosen_by: "open311",
                photos: &[],
            };
            crate::store::publicity::record_intake(&mut tx, &[public]).await?;
        }
    }
    counters.apply(&mut tx).await?;
    let digest: Vec<&str> = cases.iter().map(|c| c.number.as_str()).collect();
    audit::append(
        &mut tx,
        actor,
        "cases.import",
        &format!("cases:{}", cases.len()),
        &json!(digest),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(cases.len())
}
