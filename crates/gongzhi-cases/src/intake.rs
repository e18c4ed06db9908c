//! Intake through the one door, fast: everything that can be decided before writing (validate,
//! locate, route, deadlines, encrypt) is decided outside the transaction from cached reference
//! data, and concurrent intakes are written together — one transaction, multi-row inserts, one
//! audit entry per case in chain order, one durable commit (group commit).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::TimeZone;
use serde_json::json;
use sqlx::Row;
use tokio::sync::oneshot;

use crate::calendar::{shanghai, WorkCalendar};
use crate::catalog::{self, Category};
use crate::store::{
    duplicates, enum_str, find_by_key, get, load_calendar, AreaName, CaseView, Deadlines, NewCase,
    Reporter, CASE_CREATE,
};
use crate::workflow::Status;
use gongzhi_core::areas::locate::{gcj02_to_wgs84, LocateIndex, Located};
use gongzhi_core::audit::{self, NewEntry};
use gongzhi_core::db::{opt_text, Db};
use gongzhi_core::identity::{authorize, Actor, Role, Target};
use gongzhi_core::privacy::{mask_name, mask_phone, Sealer};
use gongzhi_core::time::{format_ms, now_ms};
use gongzhi_core::{Error, Result};

/// Categories, routing rules, units by area and the calendar, reloaded when their version moves.
struct Reference {
    versions: (i64, i64),
    categories: HashMap<String, Category>,
    rules: Vec<(Option<String>, Option<String>, String)>,
    /// (area code, kind) → first unit code.
    fallbacks: HashMap<(String, String), String>,
    calendar: WorkCalendar,
}

#[derive(Default)]
struct ReferenceCache(tokio::sync::Mutex<Option<(std::time::Instant, std::sync::Arc<Reference>)>>);

/// How long cached reference data is trusted before its version is checked again; changes made
/// by this process clear the cache at once ([`forget_reference`]), other processes' within this.
const RECHECK: std::time::Duration = std::time::Duration::from_millis(500);

/// Drops the cached reference data (after a change to the catalog, rules, calendar or units).
pub async fn forget_reference(db: &Db) {
    *db.extension(ReferenceCache::default).0.lock().await = None;
}

async fn reference(db: &Db) -> Result<std::sync::Arc<Reference>> {
    let cache = db.extension(ReferenceCache::default);
    if let Some((checked, r)) = cache.0.lock().await.as_ref() {
        if checked.elapsed() < RECHECK {
            return Ok(r.clone());
        }
    }
    let rows =
        sqlx::query("SELECT key, value FROM meta_versions WHERE key IN ('catalog', 'units')")
            .fetch_all(db.pool())
            .await?;
    let mut versions = (0, 0);
    for r in rows {
        let k: String = r.try_get(0)?;
        let v: i64 = r.try_get(1)?;
        if k == "catalog" {
            versions.0 = v;
        } else {
            versions.1 = v;
        }
    }
    let mut slot = cache.0.lock().await;
    if let Some((checked, r)) = slot.as_mut().filter(|(_, r)| r.versions == versions) {
        *checked = std::time::Instant::now();
        return Ok(r.clone());
    }
    let categories = catalog::list(db)
        .await?
        .into_iter()
        .map(|c| (c.code.clone(), c))
        .collect();
    let mut rules = Vec::new();
    for r in sqlx::query("SELECT category_code, area_code, unit_code FROM routing_rules")
        .fetch_all(db.pool())
        .await?
    {
        rules.push((
            opt_text(&r, "category_code")?,
            opt_text(&r, "area_code")?,
            r.try_get::<String, _>("unit_code")?,
        ));
    }
    let mut fallbacks = HashMap::new();
    for r in sqlx::query(
        "SELECT code, area_code, kind FROM units WHERE area_code IS NOT NULL ORDER BY code",
    )
    .fetch_all(db.pool())
    .await?
    {
        let key = (
            r.try_get::<String, _>("area_code")?,
            r.try_get::<String, _>("kind")?,
        );
        fallbacks
            .entry(key)
            .or_insert(r.try_get::<String, _>("code")?);
    }
    let fresh = std::sync::Arc::new(Reference {
        versions,
        categories,
        rules,
        fallbacks,
        calendar: load_calendar(db).await?,
    });
    *slot = Some((std::time::Instant::now(), fresh.clone()));
    Ok(fresh)
}

/// Routing: the most specific rule (area first, then category), then the category's default
/// unit (or its parent's), then the street office, then the district's command centre (兜底).
fn route(r: &Reference, category: &Category, grid: Option<&str>) -> Option<String> {
    let best = r
        .rules
        .iter()
        .filter(|(c, a, _)| {
            c.as_deref().is_none_or(|c| category.code.starts_with(c))
                && a.as_deref()
                    .is_none_or(|a| grid.is_some_and(|g| g.starts_with(a)))
        })
        .max_by_key(|(c, a, _)| {
            (
                a.as_ref().map_or(0, |a| a.len()),
                c.as_ref().map_or(0, |c| c.len()),
            )
        });
    if let Some((_, _, unit)) = best {
        return Some(unit.clone());
    }
    if let Some(u) = &category.default_unit {
        return Some(u.clone());
    }
    if let Some(u) = category
        .parent_code
        .as_ref()
        .and_then(|p| r.categories.get(p))
        .and_then(|p| p.default_unit.clone())
    {
        return Some(u);
    }
    let g = grid?;
    [(&g[..9], "street_office"), (&g[..6], "command_center")]
        .into_iter()
        .find_map(|(area, kind)| {
            r.fallbacks
                .get(&(area.to_string(), kind.to_string()))
                .cloned()
        })
}

/// A case decided and ready to write.
struct Prepared {
    id: String,
    day: String,
    kind: String,
    category: Category,
    description: String,
    lat: Option<f64>,
    lng: Option<f64>,
    address: Option<String>,
    channel: String,
    reporter_plain: Option<Reporter>,
    reporter_name: Option<String>,
    reporter_phone: Option<String>,
    located: Option<Located>,
    unit: Option<String>,
    now: i64,
    deadlines: (i64, i64, i64),
    idempotency_key: Option<String>,
    /// With a key: what the request said, so a reused key with another body is refused.
    request_hash: Option<String>,
    created_by: Option<String>,
    actor_label: String,
    input_kind: crate::store::Kind,
    input_channel: crate::store::Channel,
    photos: Vec<String>,
    extras: Vec<(String, String)>,
    public: bool,
    photos_public: bool,
}

async fn prepare(
    db: &Db,
    sealer: &Sealer,
    index: &LocateIndex,
    actor: &Actor,
    input: &NewCase,
    key: Option<&str>,
) -> Result<Prepared> {
    let description = input.description.trim();
    if description.is_empty() || description.chars().count() > 4000 {
        return Err(Error::invalid(
            "invalid_description",
            "the description is 1–4000 characters",
        ));
    }
    gongzhi_core::attachments::check_ids(&input.photos)?;
    let reference = reference(db).await?;
    let category = reference
        .categories
        .get(&input.category)
        .cloned()
        .ok_or_else(|| {
            Error::invalid(
                "unknown_category",
                format!("no category {}", input.category),
            )
        })?;
    let public_only = actor.assignments.iter().all(|a| a.role == Role::RESIDENT);
    if public_only && !category.public {
        return Err(Error::invalid(
            "unknown_category",
            format!("category {} is not offered to the public", category.code),
        ));
    }
    let address = input
        .address
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(String::from);
    let (lat, lng) = match &input.location {
        Some(l) => {
            if !l.lat.is_finite()
                || !l.lng.is_finite()
                || !(-90.0..=90.0).contains(&l.lat)
                || !(-180.0..=180.0).contains(&l.lng)
            {
                return Err(Error::invalid(
                    "invalid_coordinates",
                    "lat must be within ±90 and lng within ±180",
                ));
            }
            match l.crs.as_deref() {
                None | Some("wgs84") => (Some(l.lat), Some(l.lng)),
                Some("gcj02") => {
                    let (a, b) = gcj02_to_wgs84(l.lat, l.lng);
                    (Some(a), Some(b))
                }
                Some(other) => {
                    return Err(Error::invalid(
                        "invalid_crs",
                        format!("crs {other:?} is not wgs84 or gcj02"),
                    ))
                }
            }
        }
        None if address.is_some() => (None, None),
        None => {
            return Err(Error::invalid(
                "missing_location",
                "give a location {lat, lng} or an address",
            ))
        }
    };
    let located = match (lat, lng) {
        (Some(a), Some(b)) => Some(
            index
                .locate(a, b)
                .cloned()
                .ok_or(Error::OutsideJurisdiction)?,
        ),
        _ => None,
    };
    let reporter = input
        .reporter
        .as_ref()
        .map(|r| Reporter {
            name: r
                .name
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from),
            phone: r
                .phone
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from),
        })
        .filter(|r| r.name.is_some() || r.phone.is_some());
    if let Some(p) = reporter.as_ref().and_then(|r| r.phone.as_deref()) {
        if !p
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == '+')
            || p.len() < 5
            || p.len() > 20
        {
            return Err(Error::invalid(
                "invalid_phone",
                "a phone number is 5–20 digits",
            ));
        }
    }
    let now = now_ms();
    let start = shanghai()
        .timestamp_millis_opt(now)
        .single()
        .expect("valid time");
    let dl = |l| reference.calendar.deadline(start, l).timestamp_millis();
    let unit = route(
        &reference,
        &category,
        located.as_ref().map(|l| l.grid.code.as_str()),
    );
    Ok(Prepared {
        id: uuid::Uuid::new_v4().to_string(),
        day: start.format("%Y%m%d").to_string(),
        kind: enum_str(input.kind),
        description: description.to_string(),
        lat,
        lng,
        address,
        channel: enum_str(input.channel),
        reporter_name: reporter
            .as_ref()
            .and_then(|r| r.name.as_deref())
            .map(|s| sealer.seal(s)),
        reporter_phone: reporter
            .as_ref()
            .and_then(|r| r.phone.as_deref())
            .map(|s| sealer.seal(s)),
        reporter_plain: reporter,
        located,
        unit,
        now,
        deadlines: (
            dl(category.respond_limit),
            dl(category.handle_limit),
            dl(category.close_limit),
        ),
        category,
        idempotency_key: key.map(|k| format!("{}:{k}", actor.label())),
        request_hash: key.map(|_| request_hash(actor, input)),
        created_by: actor.user_id.clone(),
        actor_label: actor.label(),
        input_kind: input.kind,
        input_channel: input.channel,
        photos: input.photos.clone(),
        extras: input.extras.clone(),
        public: crate::publicity::chosen_at_intake(input.kind, input.channel, input.public),
        photos_public: input.photos_public,
    })
}

type Reply = oneshot::Sender<Result<String>>;

/// Intakes waiting to be written, and the right to write them.
#[derive(Default)]
struct Batcher {
    pending: Mutex<Vec<(Prepared, Reply)>>,
    writing: tokio::sync::Mutex<()>,
}

/// At most this many cases in one transaction.
const BATCH: usize = 200;

/// Writes `p` together with whatever else is waiting; returns its case number.
async fn submit(db: &Db, p: Prepared) -> Result<String> {
    let batcher = db.extension(Batcher::default);
    let (tx, mut rx) = oneshot::channel();
    batcher
        .pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((p, tx));
    loop {
        let _turn = batcher.writing.lock().await;
        // A writer before us may already have written ours.
        if let Ok(r) = rx.try_recv() {
            return r;
        }
        let batch: Vec<(Prepared, Reply)> = {
            let mut q = batcher.pending.lock().unwrap_or_else(|e| e.into_inner());
            let n = q.len().min(BATCH);
            q.drain(..n).collect()
        };
        if batch.is_empty() {
            continue;
        }
        let (items, replies): (Vec<Prepared>, Vec<Reply>) = batch.into_iter().unzip();
        let written = write(db, &items).await;
        crate::store::changed(db);
        match written {
            Ok(numbers) => {
                for (reply, n) in replies.into_iter().zip(numbers) {
                    let _ = reply.send(Ok(n));
                }
            }
            // One bad case must not sink the others: write each on its own.
            Err(_) if items.len() > 1 => {
                for (item, reply) in items.into_iter().zip(replies) {
                    let r = write(db, std::slice::from_ref(&item))
                        .await
                        .map(|mut v| v.remove(0));
                    let _ = reply.send(r);
                }
            }
            Err(e) => {
                if let Some(reply) = replies.into_iter().next() {
                    let _ = reply.send(Err(e));
                }
            }
        }
        if let Ok(r) = rx.try_recv() {
            return r;
        }
    }
}

fn text_f64(v: Option<f64>) -> Option<String> {
    v.map(|f| f.to_string())
}

/// One transaction for a batch: numbers, cases, first timeline events, audit entries.
async fn write(db: &Db, items: &[Prepared]) -> Result<Vec<String>> {
    let started = std::time::Instant::now();
    let mut tx = db.begin_write().await?;
    // Case numbers: one counter per day, moved once per batch.
    let mut numbers = Vec::with_capacity(items.len());
    let mut per_day: Vec<(&str, i64)> = Vec::new();
    for p in items {
        match per_day.iter_mut().find(|(d, _)| *d == p.day) {
            Some((_, n)) => *n += 1,
            None => per_day.push((&p.day, 1)),
        }
    }
    let mut next: HashMap<&str, i64> = HashMap::new();
    for (day, n) in &per_day {
        let last = tx.bump_counter(&format!("case_number:{day}"), *n).await?;
        next.insert(day, last - n + 1);
    }
    for p in items {
        let n = next.get_mut(p.day.as_str()).expect("counted");
        numbers.push(format!("{}{:06}", p.day, n));
        *n += 1;
    }
    const COLS: usize = 27;
    let per = gongzhi_core::db::rows_per_statement(COLS);
    for (ci, chunk) in items.chunks(per).enumerate() {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * COLS;
                let ph: Vec<String> = (1..=COLS)
                    .map(|k| match k {
                        6 | 7 => format!("CAST(${} AS DOUBLE PRECISION)", b + k),
                        _ => format!("${}", b + k),
                    })
                    .collect();
                format!("({}, 'reported', 1, 0, 0)", ph.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO cases (id, number, kind, category_code, description, lat, lng, address, channel, reporter_name, reporter_phone, \
             anonymous, grid_code, community_code, street_code, district_code, unit_code, lead_unit, created_at, updated_at, \
             respond_deadline, handle_deadline, close_deadline, idempotency_key, idempotency_hash, created_by, held_from, status, version, rework_count, supervised) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (i, p) in chunk.iter().enumerate() {
            let l = p.located.as_ref();
            q = q
                .bind(&p.id)
                .bind(&numbers[ci * per + i])
                .bind(&p.kind)
                .bind(&p.category.code)
                .bind(&p.description)
                .bind(text_f64(p.lat))
                .bind(text_f64(p.lng))
                .bind(&p.address)
                .bind(&p.channel)
                .bind(&p.reporter_name)
                .bind(&p.reporter_phone)
                .bind(i64::from(p.reporter_plain.is_none()))
                .bind(l.map(|l| l.grid.code.clone()))
                .bind(l.map(|l| l.community.code.clone()))
                .bind(l.map(|l| l.street.code.clone()))
                .bind(l.map(|l| l.district.code.clone()))
                .bind(&p.unit)
                .bind(&p.unit)
                .bind(p.now)
                .bind(p.now)
                .bind(p.deadlines.0)
                .bind(p.deadlines.1)
                .bind(p.deadlines.2)
                .bind(&p.idempotency_key)
                .bind(&p.request_hash)
                .bind(&p.created_by)
                .bind(None::<String>);
        }
        q.execute(tx.conn()).await?;
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                format!(
                    "(${}, ${}, ${}, ${}, 'create', NULL, ${})",
                    i * 5 + 1,
                    i * 5 + 2,
                    i * 5 + 3,
                    i * 5 + 4,
                    i * 5 + 5
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO case_events (id, case_id, at, actor, step, note, data) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for p in chunk {
            q = q
                .bind(uuid::Uuid::new_v4().to_string())
                .bind(&p.id)
                .bind(p.now)
                .bind(&p.actor_label)
                .bind(
                    json!({"channel": p.channel, "unit": p.unit, "photos": p.photos}).to_string(),
                );
        }
        q.execute(tx.conn()).await?;
    }
    for p in items.iter().filter(|p| !p.photos.is_empty()) {
        let owner = format!("case:{}", p.id);
        gongzhi_core::attachments::link(&mut tx, &p.actor_label, &p.photos, &owner, "create")
            .await?;
    }
    for p in items {
        for (kind, data) in &p.extras {
            sqlx::query("INSERT INTO case_extras (case_id, kind, data) VALUES ($1, $2, $3)")
                .bind(&p.id)
                .bind(kind)
                .bind(data)
                .execute(tx.conn())
                .await?;
        }
    }
    let public: Vec<_> = items
        .iter()
        .filter(|p| p.public)
        .map(|p| crate::publicity::AtIntake {
            case_id: &p.id,
            chosen_by: crate::publicity::chooser(p.input_channel),
            photos: if p.photos_public { &p.photos } else { &[] },
        })
        .collect();
    crate::publicity::record_intake(&mut tx, &public).await?;
    let entries: Vec<NewEntry> = items
        .iter()
        .zip(&numbers)
        .map(|(p, number)| NewEntry {
            actor: p.actor_label.clone(),
            action: "case.create".into(),
            entity: format!("case:{}", p.id),
            change: json!({"number": number, "category": p.category.code, "grid": p.located.as_ref().map(|l| &l.grid.code), "unit": p.unit, "channel": p.channel}),
            reason: None,
        })
        .collect();
    audit::append_many(&mut tx, &entries).await?;
    let written = started.elapsed();
    tx.commit().await?;
    tracing::debug!(
        cases = items.len(),
        write_us = written.as_micros() as u64,
        total_us = started.elapsed().as_micros() as u64,
        "intake batch"
    );
    Ok(numbers)
}

fn view(p: &Prepared, number: String) -> CaseView {
    let area = |f: fn(&Located) -> &gongzhi_core::areas::locate::AreaRef| {
        p.located.as_ref().map(|l| AreaName {
            code: f(l).code.clone(),
            name: f(l).name.clone(),
        })
    };
    CaseView {
        id: p.id.clone(),
        number,
        kind: p.input_kind,
        category: p.category.code.clone(),
        category_name: p.category.name.clone(),
        description: p.description.clone(),
        status: Status::Reported,
        channel: p.input_channel,
        lat: p.lat,
        lng: p.lng,
        address: p.address.clone(),
        grid: area(|l| &l.grid),
        community: area(|l| &l.community),
        street: area(|l| &l.street),
        unit: p.unit.clone(),
        lead_unit: p.unit.clone(),
        anonymous: p.reporter_plain.is_none(),
        reporter: p.reporter_plain.as_ref().map(|r| Reporter {
            name: r.name.as_deref().map(mask_name),
            phone: r.phone.as_deref().map(mask_phone),
        }),
        deadlines: Deadlines {
            respond: Some(format_ms(p.deadlines.0)),
            handle: Some(format_ms(p.deadlines.1)),
            close: Some(format_ms(p.deadlines.2)),
        },
        overdue: false,
        rework_count: 0,
        supervised: false,
        extension_requested_until: None,
        merged_into: None,
        created_at: format_ms(p.now),
        updated_at: format_ms(p.now),
        version: 1,
        possible_duplicates: vec![],
        timeline: vec![],
        summons: vec![],
        photos: vec![],
    }
}

/// Creates a case: decided up front, written with whatever other intakes are waiting, answered
/// with its number, location, unit, deadlines and likely duplicates. With an idempotency key, a
/// retry answers with the case the first attempt created (`false`: not newly created).
pub async fn create(
    db: &Db,
    sealer: &Sealer,
    index: &LocateIndex,
    actor: &Actor,
    input: &NewCase,
    key: Option<&str>,
) -> Result<(CaseView, bool)> {
    authorize(actor, CASE_CREATE, &Target::global())?;
    if let Some(key) = key {
        if key.is_empty() || key.len() > 200 {
            return Err(Error::invalid(
                "invalid_idempotency_key",
                "Idempotency-Key is 1–200 characters",
            ));
        }
        if let Some(earlier) = find_by_key(db, actor, key).await? {
            return replay(db, sealer, actor, input, earlier).await;
        }
    }
    let p = prepare(db, sealer, index, actor, input, key).await?;
    let (mut v, now) = (view(&p, String::new()), p.now);
    match submit(db, p).await {
        Ok(number) => {
            v.number = number;
            if !input.photos.is_empty() {
                v.photos = gongzhi_core::attachments::of(db, &format!("case:{}", v.id)).await?;
            }
            if let (Some(a), Some(b)) = (v.lat, v.lng) {
                v.possible_duplicates = duplicates(db, &v.id, &v.category, a, b, now).await?;
            }
            Ok((v, true))
        }
        Err(e) if e.is_unique_violation() && key.is_some() => {
            let earlier = find_by_key(db, actor, key.unwrap_or_default())
                .await?
                .ok_or(e)?;
            replay(db, sealer, actor, input, earlier).await
        }
        Err(e) => Err(e),
    }
}

/// The answer to a retry: the case the key created, when the request is the same one. The same
/// key with another request is refused (the IETF idempotency-key draft's 422): answering with
/// the first case would lose the second report silently. Cases stored before requests were
/// hashed have no hash and count as the same request.
async fn replay(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    input: &NewCase,
    (id, stored): (String, Option<String>),
) -> Result<(CaseView, bool)> {
    if stored.is_some_and(|h| h != request_hash(actor, input)) {
        return Err(Error::invalid(
            "idempotency_key_reused",
            "this Idempotency-Key was used for another request; send a new key for a new report",
        ));
    }
    Ok((get(db, sealer, actor, &id, false).await?, false))
}

/// SHA-256 of the caller and the request as parsed, in canonical JSON (fields in one order, no
/// whitespace): the same report sent twice hashes the same however its JSON was spaced.
fn request_hash(actor: &Actor, input: &NewCase) -> String {
    use sha2::{Digest, Sha256};
    let body = serde_json::to_string(input).expect("a parsed request serializes");
    hex::encode(Sha256::digest(format!("{}\n{body}", actor.label())))
}
