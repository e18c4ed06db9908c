//! Photos attached to records (a case's intake, a report back, a verification): checked at the
//! door — the type is read from the content, not trusted from the header, and the size is
//! bounded — stored with their SHA-256, and linked to their record in the record's transaction.
//! An upload belongs to its uploader until it is linked; it can be linked once. Once linked, a
//! photo is seen by whoever may read its record, as the record's module decides ([`crate::state::OwnerKind`]).

use axum::body::Bytes;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

mod store;

pub use store::{of, read};

use crate::audit;
use crate::db::{Db, WriteTx};
use crate::http::{ApiError, Authed, MaybeAuthed};
use crate::identity::{Actor, ActorKind};
use crate::state::AppState;
use crate::time::{format_ms, now_ms};
use crate::{Error, Result};

/// Largest accepted photo.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// Most photos on one record.
pub const MAX_PER_RECORD: usize = 9;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentRef {
    pub id: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    /// The step of the record it was attached at (`intake`, `report_back`, …), once linked.
    pub step: Option<String>,
    pub url: String,
    pub created_at: String,
}

/// The image type of `bytes` by its signature, or `None` when it is not an accepted image.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else {
        None
    }
}

/// Checks an upload: not empty, not too large, an accepted image whose content agrees with the
/// declared type (when one is declared). Answers the content type.
pub fn check(declared: Option<&str>, bytes: &[u8]) -> Result<&'static str> {
    if bytes.is_empty() {
        return Err(Error::invalid("empty_upload", "the upload is empty"));
    }
    if bytes.len() > MAX_BYTES {
        return Err(Error::invalid(
            "payload_too_large",
            format!("a photo is at most {} MiB", MAX_BYTES / 1024 / 1024),
        ));
    }
    let sniffed = sniff(bytes).ok_or_else(|| {
        Error::invalid(
            "unsupported_media_type",
            "photos are JPEG, PNG, WebP or GIF images",
        )
    })?;
    let declared = declared
        .map(|d| {
            d.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|d| !d.is_empty() && d != "application/octet-stream");
    if let Some(d) = declared {
        let d = if d == "image/jpg" {
            "image/jpeg".into()
        } else {
            d
        };
        if d != sniffed {
            return Err(Error::invalid(
                "unsupported_media_type",
                format!("declared {d} but the content is {sniffed}"),
            ));
        }
    }
    Ok(sniffed)
}

/// Stores a checked upload for `actor`; audited.
pub async fn upload(
    db: &Db,
    actor: &Actor,
    declared: Option<&str>,
    bytes: &[u8],
) -> Result<AttachmentRef> {
    let content_type = check(declared, bytes)?;
    let id = uuid::Uuid::new_v4().to_string();
    let sha256 = hex::encode(Sha256::digest(bytes));
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    store::insert(
        &mut tx,
        &id,
        content_type,
        &sha256,
        bytes,
        &actor.label(),
        now,
    )
    .await?;
    audit::append(
        &mut tx,
        actor,
        "attachment.upload",
        &format!("attachment:{id}"),
        &serde_json::json!({"content_type": content_type, "size": bytes.len(), "sha256": sha256}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(AttachmentRef {
        url: url(&id),
        id,
        content_type: content_type.into(),
        size: bytes.len() as i64,
        sha256,
        step: None,
        created_at: format_ms(now),
    })
}

fn url(id: &str) -> String {
    format!("/api/v1/attachments/{id}")
}

/// Checks the ids a request wants to attach: at most [`MAX_PER_RECORD`], no repeats.
pub fn check_ids(ids: &[String]) -> Result<()> {
    if ids.len() > MAX_PER_RECORD {
        return Err(Error::invalid(
            "too_many_photos",
            format!("at most {MAX_PER_RECORD} photos"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if !ids.iter().all(|i| seen.insert(i)) {
        return Err(Error::invalid("invalid_photos", "a photo is listed twice"));
    }
    Ok(())
}

/// Links the uploads `ids` of `uploader` to `owner` (e.g. `case:ID`) at `step`, inside the
/// record's transaction. Refused when an upload is unknown, someone else's, or already linked.
pub async fn link(
    tx: &mut WriteTx,
    uploader: &str,
    ids: &[String],
    owner: &str,
    step: &str,
) -> Result<()> {
    check_ids(ids)?;
    for id in ids {
        if !store::link_one(tx, id, owner, step, uploader).await? {
            return Err(Error::invalid(
                "unknown_attachment",
                format!("no unattached upload {id} of yours"),
            ));
        }
    }
    Ok(())
}

/// May `actor` see a photo? Its uploader may until it is linked; then whoever may read the
/// record it is linked to, as the record's module decides. A kind no module registered is
/// seen by no one.
pub async fn may_see(
    state: &AppState,
    actor: &Actor,
    owner: Option<&str>,
    uploaded_by: &str,
) -> bool {
    let Some(owner) = owner else {
        return actor.kind != ActorKind::Anonymous && actor.label() == uploaded_by;
    };
    let Some((kind, id)) = owner.split_once(':') else {
        return false;
    };
    match state.owner_kind(kind) {
        Some(k) => (k.may_read)(state, actor, id).await.is_ok(),
        None => false,
    }
}

/// A photo for `actor`, or not found (a photo they may not see does not exist for them).
pub async fn serve(state: &AppState, actor: &Actor, id: &str) -> Result<Response> {
    let (content_type, owner, uploaded_by, bytes) = read(&state.db, id).await?;
    if !may_see(state, actor, owner.as_deref(), &uploaded_by).await {
        // Not found rather than forbidden: whether a photo exists is not for everyone to know.
        return Err(Error::not_found("attachment"));
    }
    Ok(respond(content_type, bytes))
}

/// Serves a photo's bytes, refusing sniffing and shared caches.
pub fn respond(content_type: String, bytes: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
            (header::CACHE_CONTROL, "private, max-age=86400".into()),
        ],
        bytes,
    )
        .into_response()
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload_photo))
        .routes(routes!(get_photo))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BYTES + 64 * 1024))
}

/// Upload a photo: the raw image as the body with its `Content-Type`, or `multipart/form-data`
/// with the image in the first file field. Attach it by listing its id in `photos` of a case or
/// an action.
#[utoipa::path(post, path = "/api/v1/attachments", tag = "cases", security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 201, body = AttachmentRef), (status = 400, description = "empty, too large or not an accepted image")))]
async fn upload_photo(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> std::result::Result<(StatusCode, axum::Json<AttachmentRef>), ApiError> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (declared, bytes) = if declared
        .as_deref()
        .is_some_and(|d| d.starts_with("multipart/form-data"))
    {
        let mut form =
            <Multipart as axum::extract::FromRequest<AppState>>::from_request(request, &state)
                .await
                .map_err(|e| ApiError::from(Error::invalid("invalid_multipart", e.body_text())))?;
        first_file(&mut form).await?
    } else {
        let bytes = <Bytes as axum::extract::FromRequest<AppState>>::from_request(request, &state)
            .await
            .map_err(|e| {
                let code = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    "payload_too_large"
                } else {
                    "invalid_body"
                };
                ApiError::from(Error::invalid(code, e.body_text()))
            })?;
        (declared, bytes)
    };
    let a = upload(&state.db, &actor, declared.as_deref(), &bytes).await?;
    Ok((StatusCode::CREATED, axum::Json(a)))
}

/// The first file field of a multipart form, with its declared type.
pub async fn first_file(form: &mut Multipart) -> Result<(Option<String>, Bytes)> {
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| Error::invalid("invalid_multipart", e.body_text()))?
    {
        if field.file_name().is_some() {
            let declared = field.content_type().map(str::to_string);
            let bytes = field
                .bytes()
                .await
                .map_err(|e| Error::invalid("invalid_multipart", e.body_text()))?;
            return Ok((declared, bytes));
        }
    }
    Err(Error::invalid("empty_upload", "the form holds no file"))
}

/// A photo's bytes, for its uploader until it is attached, then for whoever may read its record
/// (a case's photos for the case's readers; a micro-project's for everyone).
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "cases", security((), ("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "the image"), (status = 404, description = "no such photo, or not yours to see")))]
async fn get_photo(
    State(state): State<AppState>,
    MaybeAuthed(actor): MaybeAuthed,
    Path(id): Path<String>,
) -> std::result::Result<Response, ApiError> {
    Ok(serve(&state, &actor, &id).await?)
}
