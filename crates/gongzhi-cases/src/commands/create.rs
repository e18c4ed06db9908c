//! Creating a case through the one door (hotline, web, patrol, Open311, API, import all come
//! here), fast: everything that can be decided before writing (validate, locate, route,
//! deadlines, encrypt) is decided outside the transaction from cached reference data; the
//! write is shared with whatever other intakes are waiting (`store::intake`).

use chrono::TimeZone;

use crate::model::{enum_str, AreaName, CaseView, Deadlines, NewCase, Reporter};
use crate::permissions::CASE_CREATE;
use crate::queries::case::get;
use crate::rules::routing::route;
use crate::rules::workflow::Status;
use crate::store::intake::{self, Prepared};
use crate::store::{cases, reference::reference};
use gongzhi_core::areas::locate::{gcj02_to_wgs84, LocateIndex, Located};
use gongzhi_core::calendar::shanghai;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Role, Target};
use gongzhi_core::privacy::{mask_name, mask_phone, Sealer};
use gongzhi_core::time::{format_ms, now_ms};
use gongzhi_core::{Error, Result};

/// Creates a case: decided up front, written with whatever other intakes are waiting, answered
/// with its number, location, unit, deadlines and likely duplicates. With an idempotency key, a
/// retry answers with the case the first attempt created (`false`: not newly created).
pub async fn create_case(
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
        if let Some(earlier) = cases::find_by_key(db, actor, key).await? {
            return replay(db, sealer, actor, input, earlier).await;
        }
    }
    let p = prepare(db, sealer, index, actor, input, key).await?;
    let (mut v, now) = (view(&p, String::new()), p.now);
    match intake::submit(db, p).await {
        Ok(number) => {
            v.number = number;
            if !input.photos.is_empty() {
                v.photos = gongzhi_core::attachments::of(db, &format!("case:{}", v.id)).await?;
            }
            if let (Some(a), Some(b)) = (v.lat, v.lng) {
                v.possible_duplicates =
                    cases::duplicates(db, &v.id, &v.category, a, b, now).await?;
            }
            Ok((v, true))
        }
        Err(e) if e.is_unique_violation() && key.is_some() => {
            let earlier = cases::find_by_key(db, actor, key.unwrap_or_default())
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
    let (lat, lng) = coordinates(input, address.is_some())?;
    let located = match (lat, lng) {
        (Some(a), Some(b)) => Some(
            index
                .locate(a, b)
                .cloned()
                .ok_or(Error::OutsideJurisdiction)?,
        ),
        _ => None,
    };
    let reporter = reporter_of(input)?;
    let now = now_ms();
    let start = shanghai()
        .timestamp_millis_opt(now)
        .single()
        .expect("valid time");
    let dl = |l| reference.calendar.deadline(start, l).timestamp_millis();
    let unit = route(
        &reference.routing,
        &reference.categories,
        &category,
        located.as_ref().map(|l| l.grid.code.as_str()),
    );
    Ok(Prepared {
        id: gongzhi_core::db::new_id(),
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
        public: crate::rules::publicity::chosen_at_intake(input.kind, input.channel, input.public),
        photos_public: input.photos_public,
    })
}

/// The point reported, in WGS-84; none when only an address was given.
fn coordinates(input: &NewCase, has_address: bool) -> Result<(Option<f64>, Option<f64>)> {
    Ok(match &input.location {
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
        None if has_address => (None, None),
        None => {
            return Err(Error::invalid(
                "missing_location",
                "give a location {lat, lng} or an address",
            ))
        }
    })
}

/// The reporter's name and phone, trimmed; none for an anonymous report.
fn reporter_of(input: &NewCase) -> Result<Option<Reporter>> {
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
    Ok(reporter)
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
