//! Publicity: which cases the public may see (through Open311) and what of them. A case is
//! public only when its reporter chose so at intake — an Open311 client always does, since
//! GeoReport v2 has no private request — or when staff published it after review. A public case
//! shows its location rounded to a grid, its description or staff's redaction of it, and only
//! the address and photos staff approved; names and phones never.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use utoipa::ToSchema;

use crate::store::{Channel, Kind};
use gongzhi_core::db::{opt_text, Db, Migration, WriteTx};
use gongzhi_core::identity::{authorize, Action, Actor, Role, Target};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::time::{format_ms, now_ms};
use gongzhi_core::{audit, Error, Result};

/// Publish or withdraw a case, redact its public text, approve its address and photos: the
/// desks that dispatch, within their area.
pub const CASE_PUBLISH: Action =
    Action::new("case_publish", &[crate::roles::DISPATCHER, Role::ADMIN]);

/// One row per case that was ever made public; photos approved one by one. Cases that came
/// through Open311 before this existed were published by their client (with the photo it sent);
/// every other existing case stays private.
pub(crate) const MIGRATION: Migration = Migration {
    id: "cases-0009-publication",
    sql: "CREATE TABLE case_publication (
    case_id TEXT PRIMARY KEY,
    public BIGINT NOT NULL,
    chosen_by TEXT NOT NULL,
    public_description TEXT,
    address_public BIGINT NOT NULL,
    decided_by TEXT,
    decided_at BIGINT
);
CREATE TABLE case_public_photos (
    attachment_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    approved_at BIGINT
);
CREATE INDEX case_public_photos_case ON case_public_photos (case_id);
INSERT INTO case_publication (case_id, public, chosen_by, public_description, address_public, decided_by, decided_at)
    SELECT id, 1, 'open311', NULL, 0, NULL, NULL FROM cases WHERE channel = 'open311';
INSERT INTO case_public_photos (attachment_id, case_id, approved_by, approved_at)
    SELECT a.id, c.id, 'open311', NULL FROM attachments a JOIN cases c ON a.owner = 'case:' || c.id
    WHERE c.channel = 'open311' AND a.step = 'create'",
};

/// The ids of public cases, for a query that lists them (`id IN (…)`).
pub const PUBLIC_CASE_IDS: &str = "SELECT case_id FROM case_publication WHERE public = 1";

// ---- the pure rules ----

/// Published when the reporter says nothing: complaints and reports (举报) often name
/// neighbours, a hotline caller is not asked in writing, and imported history was never asked.
pub fn public_by_default(kind: Kind, channel: Channel) -> bool {
    !matches!(kind, Kind::Complaint | Kind::Report)
        && !matches!(channel, Channel::Hotline | Channel::Import)
}

/// The choice made at intake: the reporter's answer, else the default for the kind and channel.
pub fn chosen_at_intake(kind: Kind, channel: Channel, asked: Option<bool>) -> bool {
    asked.unwrap_or_else(|| public_by_default(kind, channel))
}

/// Who made a choice at intake, as stored.
pub fn chooser(channel: Channel) -> &'static str {
    if channel == Channel::Open311 {
        "open311"
    } else {
        "reporter"
    }
}

/// A location snapped to the centre of its cell on a grid of `precision_m` metres: every point
/// of a cell gives the same answer, so the answer tells no more than the cell. Rows are
/// `precision_m` of latitude; each row's cells are `precision_m` wide at the row's centre.
pub fn round_to_grid(lat: f64, lng: f64, precision_m: f64) -> (f64, f64) {
    const M_PER_DEG: f64 = 111_320.0;
    let d_lat = precision_m / M_PER_DEG;
    let row = (lat / d_lat).floor();
    let lat_c = ((row + 0.5) * d_lat).clamp(-90.0, 90.0);
    let d_lng = d_lat / lat_c.to_radians().cos().max(0.01);
    let col = (lng / d_lng).floor();
    let lng_c = ((col + 0.5) * d_lng).clamp(-180.0, 180.0);
    // Six decimals (≈0.1 m) keep the figures short without moving them off the centre.
    let six = |v: f64| (v * 1e6).round() / 1e6;
    (six(lat_c), six(lng_c))
}

/// What staff decided (or the reporter chose) about one case.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Publication {
    pub public: bool,
    /// `reporter`, `open311` or `staff`; none when nobody ever published the case.
    pub chosen_by: Option<String>,
    /// Shown instead of the description (staff's redaction); none shows the description.
    pub public_description: Option<String>,
    /// Staff approved showing the address text.
    pub address_public: bool,
    /// Photos approved to be public, one by one.
    pub photos_public: Vec<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

/// A case as stored, the parts publicity is about.
pub struct Original<'a> {
    pub description: &'a str,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub address: Option<&'a str>,
    /// Ids of the case's photos.
    pub photos: &'a [String],
}

/// What the public sees of a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub description: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub address: Option<String>,
    pub photos: Vec<String>,
}

/// The public part of a case, or none when it is not public.
pub fn shown(p: &Publication, o: &Original, precision_m: u32) -> Option<Shown> {
    if !p.public {
        return None;
    }
    let (lat, lng) = match (o.lat, o.lng) {
        (Some(a), Some(b)) => {
            let (a, b) = round_to_grid(a, b, f64::from(precision_m));
            (Some(a), Some(b))
        }
        _ => (None, None),
    };
    Some(Shown {
        description: p
            .public_description
            .clone()
            .unwrap_or_else(|| o.description.to_string()),
        lat,
        lng,
        address: o.address.filter(|_| p.address_public).map(String::from),
        // An approval counts only for a photo still on the case.
        photos: o
            .photos
            .iter()
            .filter(|id| p.photos_public.contains(id))
            .cloned()
            .collect(),
    })
}

/// A photo's bytes as the public gets them: without EXIF, XMP, comments or text chunks, which
/// carry the camera's exact position and time. GIFs carry none of these and pass as they are.
pub fn public_photo(content_type: &str, bytes: Vec<u8>) -> Result<Vec<u8>> {
    use img_parts::{jpeg, png, webp, ImageEXIF};
    let bad = |e: img_parts::Error| {
        Error::invalid("unpublishable_photo", format!("a damaged photo: {e}"))
    };
    Ok(match content_type {
        "image/jpeg" => {
            let mut j = jpeg::Jpeg::from_bytes(bytes.into()).map_err(bad)?;
            // APP1 holds EXIF and XMP; APP13 Photoshop's IPTC; COM free comments.
            j.segments_mut().retain(|s| {
                !matches!(
                    s.marker(),
                    jpeg::markers::APP1 | jpeg::markers::APP13 | jpeg::markers::COM
                )
            });
            j.encoder().bytes().to_vec()
        }
        "image/png" => {
            let mut p = png::Png::from_bytes(bytes.into()).map_err(bad)?;
            p.chunks_mut()
                .retain(|c| !matches!(&c.kind(), b"eXIf" | b"tEXt" | b"iTXt" | b"zTXt" | b"tIME"));
            p.encoder().bytes().to_vec()
        }
        "image/webp" => {
            let mut w = webp::WebP::from_bytes(bytes.into()).map_err(bad)?;
            w.set_exif(None);
            w.remove_chunks_by_id(webp::CHUNK_XMP);
            w.encoder().bytes().to_vec()
        }
        _ => bytes,
    })
}

// ---- storage ----

/// The publications of some cases (cases never published are absent).
pub async fn of(db: &Db, case_ids: &[String]) -> Result<HashMap<String, Publication>> {
    let mut out: HashMap<String, Publication> = HashMap::new();
    if case_ids.is_empty() {
        return Ok(out);
    }
    let marks = (1..=case_ids.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("SELECT case_id, public, chosen_by, public_description, address_public, decided_by, decided_at FROM case_publication WHERE case_id IN ({marks})");
    let mut q = sqlx::query(&sql);
    for id in case_ids {
        q = q.bind(id);
    }
    for r in q.fetch_all(db.pool()).await? {
        out.insert(
            r.try_get("case_id")?,
            Publication {
                public: r.try_get::<i64, _>("public")? != 0,
                chosen_by: opt_text(&r, "chosen_by")?,
                public_description: opt_text(&r, "public_description")?,
                address_public: r.try_get::<i64, _>("address_public")? != 0,
                photos_public: vec![],
                decided_by: opt_text(&r, "decided_by")?,
                decided_at: r.try_get::<Option<i64>, _>("decided_at")?.map(format_ms),
            },
        );
    }
    // Approvals of photos still on their case, oldest photo first.
    let sql = format!(
        "SELECT pp.case_id, pp.attachment_id FROM case_public_photos pp \
         JOIN attachments a ON a.id = pp.attachment_id AND a.owner = 'case:' || pp.case_id \
         WHERE pp.case_id IN ({marks}) ORDER BY a.created_at, a.id"
    );
    let mut q = sqlx::query(&sql);
    for id in case_ids {
        q = q.bind(id);
    }
    for r in q.fetch_all(db.pool()).await? {
        let case_id: String = r.try_get("case_id")?;
        if let Some(p) = out.get_mut(&case_id) {
            p.photos_public.push(r.try_get("attachment_id")?);
        }
    }
    Ok(out)
}

/// The case a photo belongs to, when the photo is approved and its case is public.
pub async fn public_photo_case(db: &Db, attachment_id: &str) -> Result<Option<String>> {
    let row = sqlx::query(
        "SELECT pp.case_id FROM case_public_photos pp \
         JOIN case_publication p ON p.case_id = pp.case_id AND p.public = 1 \
         JOIN attachments a ON a.id = pp.attachment_id AND a.owner = 'case:' || pp.case_id \
         WHERE pp.attachment_id = $1",
    )
    .bind(attachment_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|r| r.try_get::<String, _>(0)).transpose()?)
}

/// A case made public at intake, written in the intake's own transaction.
pub(crate) struct AtIntake<'a> {
    pub case_id: &'a str,
    pub chosen_by: &'static str,
    /// Photos public from the start (those an Open311 client sent); others wait for staff.
    pub photos: &'a [String],
}

pub(crate) async fn record_intake(tx: &mut WriteTx, cases: &[AtIntake<'_>]) -> Result<()> {
    const COLS: usize = 2;
    for chunk in cases.chunks(gongzhi_core::db::rows_per_statement(COLS)) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, 1, ${}, NULL, 0, NULL, NULL)", i * 2 + 1, i * 2 + 2))
            .collect();
        let sql = format!("INSERT INTO case_publication (case_id, public, chosen_by, public_description, address_public, decided_by, decided_at) VALUES {}", values.join(", "));
        let mut q = sqlx::query(&sql);
        for c in chunk {
            q = q.bind(c.case_id).bind(c.chosen_by);
        }
        q.execute(tx.conn()).await?;
    }
    for c in cases {
        for photo in c.photos {
            sqlx::query("INSERT INTO case_public_photos (attachment_id, case_id, approved_by, approved_at) VALUES ($1, $2, $3, NULL)")
                .bind(photo)
                .bind(c.case_id)
                .bind(c.chosen_by)
                .execute(tx.conn())
                .await?;
        }
    }
    Ok(())
}

/// What staff decide on review; the whole state, replacing the last decision.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicationInput {
    pub public: bool,
    /// The text the public sees instead of the description (1–4000 characters); none or the
    /// description itself shows the description. The description is never changed.
    pub public_description: Option<String>,
    /// Show the address text (off: only the rounded location).
    #[serde(default)]
    pub address_public: bool,
    /// Ids of the case's photos approved to be public; the others are not.
    #[serde(default)]
    pub photos_public: Vec<String>,
}

/// May the actor publish cases located in `grid` (for offering the form; [`set`] checks again)?
pub fn may_publish(actor: &Actor, grid: Option<&str>) -> bool {
    authorize(actor, CASE_PUBLISH, &target(grid)).is_ok()
}

fn target(grid: Option<&str>) -> Target {
    Target {
        area: grid.map(String::from),
        unit: None,
    }
}

async fn is_reporter(db: &Db, actor: &Actor, case_id: &str) -> Result<bool> {
    let Some(me) = &actor.user_id else {
        return Ok(false);
    };
    let row = sqlx::query("SELECT created_by FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(match row {
        Some(r) => opt_text(&r, "created_by")?.as_ref() == Some(me),
        None => false,
    })
}

/// The publication of a case the actor may read (unknown or unreadable: not found).
pub async fn get(db: &Db, sealer: &Sealer, actor: &Actor, id: &str) -> Result<Publication> {
    let case = crate::store::get(db, sealer, actor, id, false).await?;
    let mut p = of(db, std::slice::from_ref(&case.id))
        .await?
        .remove(&case.id)
        .unwrap_or_default();
    // Residents see that staff decided, not which of them.
    if actor.assignments.iter().all(|a| a.role == Role::RESIDENT) {
        p.decided_by = None;
    }
    Ok(p)
}

/// Staff's review: publish or withdraw, redact, approve the address and photos; audited, and
/// noted on the case's timeline so the reporter sees it. The reporter may withdraw their case
/// (consent can be taken back, PIPL art. 15), never publish it or approve anything. A case the
/// actor cannot read is not found; one they read but may not publish is forbidden.
pub async fn set(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    id: &str,
    input: &PublicationInput,
) -> Result<Publication> {
    let case = crate::store::get(db, sealer, actor, id, false).await?;
    let grid = case.grid.as_ref().map(|g| g.code.as_str());
    let withdrawal = !input.public
        && input.public_description.is_none()
        && !input.address_public
        && input.photos_public.is_empty();
    let by_reporter =
        withdrawal && !may_publish(actor, grid) && is_reporter(db, actor, &case.id).await?;
    if !by_reporter {
        authorize(actor, CASE_PUBLISH, &target(grid))?;
    }
    let chosen_by = if by_reporter { "reporter" } else { "staff" };
    let redacted = match input.public_description.as_deref().map(str::trim) {
        None => None,
        Some(t) if t == case.description.trim() => None,
        Some(t) if t.is_empty() || t.chars().count() > 4000 => {
            return Err(Error::invalid(
                "invalid_public_description",
                "the public description is 1–4000 characters",
            ))
        }
        Some(t) => Some(t.to_string()),
    };
    let mut photos: Vec<String> = Vec::new();
    for p in &input.photos_public {
        if !case.photos.iter().any(|x| &x.id == p) {
            return Err(Error::invalid(
                "unknown_photo",
                format!("photo {p} is not one of this case's"),
            ));
        }
        if !photos.contains(p) {
            photos.push(p.clone());
        }
    }
    // A photo whose metadata cannot be stripped is not published at all.
    for p in &photos {
        let (ct, _, _, bytes) = gongzhi_core::attachments::read(db, p).await?;
        if public_photo(&ct, bytes).is_err() {
            return Err(Error::invalid(
                "unpublishable_photo",
                format!("photo {p} is damaged: its metadata cannot be removed"),
            ));
        }
    }
    let now = now_ms();
    let by = actor.label();
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO case_publication (case_id, public, chosen_by, public_description, address_public, decided_by, decided_at) \
         VALUES ($1, $2, $7, $3, $4, $5, $6) ON CONFLICT (case_id) DO UPDATE SET public = excluded.public, \
         chosen_by = excluded.chosen_by, public_description = excluded.public_description, \
         address_public = excluded.address_public, decided_by = excluded.decided_by, decided_at = excluded.decided_at",
    )
    .bind(&case.id)
    .bind(i64::from(input.public))
    .bind(&redacted)
    .bind(i64::from(input.address_public))
    .bind(&by)
    .bind(now)
    .bind(chosen_by)
    .execute(tx.conn())
    .await?;
    sqlx::query("DELETE FROM case_public_photos WHERE case_id = $1")
        .bind(&case.id)
        .execute(tx.conn())
        .await?;
    for p in &photos {
        sqlx::query("INSERT INTO case_public_photos (attachment_id, case_id, approved_by, approved_at) VALUES ($1, $2, $3, $4)")
            .bind(p)
            .bind(&case.id)
            .bind(&by)
            .bind(now)
            .execute(tx.conn())
            .await?;
    }
    let change = json!({
        "public": input.public, "public_description": redacted,
        "address_public": input.address_public, "photos_public": photos,
    });
    crate::store::add_event(
        &mut tx,
        &case.id,
        now,
        actor,
        if input.public { "made_public" } else { "made_private" },
        None,
        &json!({"address_public": input.address_public, "photos_public": photos.len(), "redacted": redacted.is_some()}),
    )
    .await?;
    audit::append(
        &mut tx,
        actor,
        "case.publication",
        &format!("case:{}", case.id),
        &change,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Publication {
        public: input.public,
        chosen_by: Some(chosen_by.into()),
        public_description: redacted,
        address_public: input.address_public,
        photos_public: photos,
        decided_by: Some(by),
        decided_at: Some(format_ms(now)),
    })
}

// ---- HTTP (registered beside the cases API) ----

pub(crate) fn api() -> utoipa_axum::router::OpenApiRouter<gongzhi_core::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(get_publication, put_publication))
}

/// What of a case is public through Open311, and who decided.
#[utoipa::path(get, path = "/api/v1/cases/{id}/publication", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path, description = "case id or number")),
    responses((status = 200, body = Publication), (status = 404, body = gongzhi_core::http::ErrorBody)))]
async fn get_publication(
    axum::extract::State(state): axum::extract::State<gongzhi_core::state::AppState>,
    gongzhi_core::http::Authed(actor): gongzhi_core::http::Authed,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> gongzhi_core::http::ApiResult<axum::Json<Publication>> {
    Ok(axum::Json(
        get(&state.db, &state.sealer, &actor, &id).await?,
    ))
}

/// Review: publish or withdraw a case, redact its public text, approve its address and its
/// photos one by one (dispatchers and administrators of its area; audited). Replaces the last
/// decision whole.
#[utoipa::path(put, path = "/api/v1/cases/{id}/publication", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path, description = "case id or number")), request_body = PublicationInput,
    responses((status = 200, body = Publication), (status = 400, body = gongzhi_core::http::ErrorBody),
              (status = 403, body = gongzhi_core::http::ErrorBody), (status = 404, body = gongzhi_core::http::ErrorBody)))]
async fn put_publication(
    axum::extract::State(state): axum::extract::State<gongzhi_core::state::AppState>,
    gongzhi_core::http::Authed(actor): gongzhi_core::http::Authed,
    axum::extract::Path(id): axum::extract::Path<String>,
    gongzhi_core::http::ApiJson(input): gongzhi_core::http::ApiJson<PublicationInput>,
) -> gongzhi_core::http::ApiResult<axum::Json<Publication>> {
    Ok(axum::Json(
        set(&state.db, &state.sealer, &actor, &id, &input).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
        crate::store::haversine_m(a.0, a.1, b.0, b.1)
    }

    #[test]
    fn defaults_keep_complaints_reports_and_hotline_calls_private() {
        use Channel::*;
        use Kind::*;
        for kind in [Inquiry, Help, Complaint, Report, Suggestion] {
            for channel in [Hotline, Web, Patrol, Open311, Api, Import] {
                let sensitive = matches!(kind, Complaint | Report);
                let unasked = matches!(channel, Hotline | Import);
                assert_eq!(
                    chosen_at_intake(kind, channel, None),
                    !sensitive && !unasked,
                    "{kind:?} by {channel:?}"
                );
                // The reporter's own answer always wins.
                assert!(chosen_at_intake(kind, channel, Some(true)));
                assert!(!chosen_at_intake(kind, channel, Some(false)));
            }
        }
    }

    #[test]
    fn what_a_public_case_shows() {
        let photos = vec!["p1".to_string(), "p2".to_string()];
        let o = Original {
            description: "3号楼王某家门口井盖丢了",
            lat: Some(39.912_345_6),
            lng: Some(116.401_234_5),
            address: Some("东城区某胡同 3 号楼"),
            photos: &photos,
        };
        assert_eq!(shown(&Publication::default(), &o, 100), None);
        let chosen = Publication {
            public: true,
            ..Default::default()
        };
        let s = shown(&chosen, &o, 100).unwrap();
        assert_eq!(s.description, o.description);
        assert_eq!(s.address, None, "the address waits for staff");
        assert!(s.photos.is_empty(), "photos wait for staff");
        assert_ne!(s.lat, o.lat);
        assert!(
            metres(
                (s.lat.unwrap(), s.lng.unwrap()),
                (39.912_345_6, 116.401_234_5)
            ) < 75.0
        );
        let reviewed = Publication {
            public: true,
            public_description: Some("井盖丢失".into()),
            address_public: true,
            photos_public: vec!["p2".into(), "gone".into()],
            ..Default::default()
        };
        let s = shown(&reviewed, &o, 100).unwrap();
        assert_eq!(s.description, "井盖丢失");
        assert_eq!(s.address.as_deref(), o.address);
        assert_eq!(s.photos, vec!["p2".to_string()]);
    }

    #[test]
    fn stripped_photos_lose_their_metadata() {
        use img_parts::jpeg::{markers, Jpeg, JpegSegment};
        // A JPEG with an EXIF segment naming a position and a comment.
        let mut jpeg = vec![0xFF, 0xD8];
        let exif = b"Exif\0\0GPS 39.9123N 116.4012E";
        jpeg.extend([0xFF, 0xE1, 0, (exif.len() + 2) as u8]);
        jpeg.extend(exif);
        jpeg.extend([0xFF, 0xFE, 0, 9]);
        jpeg.extend(b"comment");
        jpeg.extend([0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0, 1, 2, 3, 0xFF, 0xD9]);
        let parsed = Jpeg::from_bytes(jpeg.clone().into()).unwrap();
        assert!(parsed
            .segments()
            .iter()
            .any(|s| s.marker() == markers::APP1));
        let out = public_photo("image/jpeg", jpeg).unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(!text.contains("GPS") && !text.contains("comment"), "{text}");
        let again = Jpeg::from_bytes(out.into()).unwrap();
        assert!(again
            .segments()
            .iter()
            .all(|s: &JpegSegment| s.marker() != markers::APP1));
    }

    #[test]
    fn png_text_chunks_are_stripped_and_the_image_kept() {
        use img_parts::png::{Png, PngChunk};
        // One transparent pixel, with a text chunk naming a place.
        const PNG: &[u8] = &[
            0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48,
            0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
            0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78,
            0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00,
            0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
        ];
        assert_eq!(public_photo("image/png", PNG.to_vec()).unwrap(), PNG);
        let mut p = Png::from_bytes(PNG.to_vec().into()).unwrap();
        p.chunks_mut()
            .insert(1, PngChunk::new(*b"tEXt", "Location\0GPS 39.9N".into()));
        let tagged = p.encoder().bytes().to_vec();
        assert_eq!(public_photo("image/png", tagged).unwrap(), PNG);
    }

    proptest! {
        #[test]
        fn rounding_stays_near_and_tells_only_the_cell(
            lat in -80.0f64..80.0, lng in -179.0f64..179.0,
            precision in 10u32..5000, dx in 0.0f64..1.0, dy in 0.0f64..1.0,
        ) {
            let p = f64::from(precision);
            let r = round_to_grid(lat, lng, p);
            // Within half a cell's diagonal (plus the spherical approximation's slack).
            prop_assert!(metres((lat, lng), r) <= p * 0.75 + 1.0, "{:?} → {:?}", (lat, lng), r);
            // Rounding again changes nothing.
            prop_assert_eq!(round_to_grid(r.0, r.1, p), r);
            // Any other point of the same cell gives the same answer.
            let d_lat = p / 111_320.0;
            let row = (lat / d_lat).floor();
            let lat2 = (row + 0.02 + 0.96 * dy) * d_lat;
            let d_lng = d_lat / ((row + 0.5) * d_lat).to_radians().cos();
            let col = (lng / d_lng).floor();
            let lng2 = (col + 0.02 + 0.96 * dx) * d_lng;
            prop_assert_eq!(round_to_grid(lat2, lng2, p), r);
        }
    }
}
