//! Who may take part: a resident verified for a place (community, compound, building) by
//! community staff against the registry, or by a one-time code handed out in person. One
//! current verification per resident; revocable; every step audited.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::common::{check_area, check_place, display_name, text};
use crate::RESIDENT_VERIFY;
use gongzhi_core::audit;
use gongzhi_core::db::{opt_text, Db};
use gongzhi_core::http::{ApiJson, ApiQuery, ApiResult, AppState, Authed};
use gongzhi_core::identity::{authorize, user_id_by_name, Actor, Target};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::time::format_ms;
use gongzhi_core::{Error, Result};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(verify, list))
        .routes(routes!(revoke))
        .routes(routes!(issue_codes))
        .routes(routes!(redeem))
        .routes(routes!(mine))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyInput {
    /// The resident's user name.
    pub username: String,
    /// Community (or grid) code.
    pub area: String,
    /// `小区/楼栋` inside the area; empty for the whole community.
    #[serde(default)]
    pub place: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Verification {
    pub id: String,
    pub user_id: String,
    /// Masked (张*明).
    pub resident: String,
    pub area: String,
    pub place: String,
    /// `registry` (checked by staff) or `code` (a one-time code handed out in person).
    pub method: String,
    pub verified_at: String,
    pub revoked_at: Option<String>,
    pub revoke_reason: Option<String>,
}

/// Records a verification (`registry` by staff, `code` when `code_hash` is spent with it).
#[allow(clippy::too_many_arguments)]
pub async fn record(
    db: &Db,
    actor: &Actor,
    user_id: &str,
    area: &str,
    place: &str,
    method: &str,
    code_hash: Option<&str>,
    now: i64,
) -> Result<String> {
    let id = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin_write().await?;
    if let Some(h) = code_hash {
        // The code is spent in the same transaction: of two racing redeems one wins.
        let done = sqlx::query("UPDATE verification_codes SET used_by = $1, used_at = $2 WHERE code_hash = $3 AND used_by IS NULL AND expires_at > $2")
            .bind(user_id)
            .bind(now)
            .bind(h)
            .execute(tx.conn())
            .await?;
        if done.rows_affected() != 1 {
            return Err(Error::Conflict(
                "this code is unknown, already used or expired".into(),
            ));
        }
    }
    let ok = sqlx::query("INSERT INTO resident_verifications (id, user_id, area_code, place, method, verified_by, verified_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(&id)
        .bind(user_id)
        .bind(area)
        .bind(place)
        .bind(method)
        .bind(actor.label())
        .bind(now)
        .execute(tx.conn())
        .await;
    if let Err(e) = ok {
        let e = Error::from(e);
        return Err(if e.is_unique_violation() {
            Error::Conflict(
                "this resident is already verified for a place; revoke that first".into(),
            )
        } else {
            e
        });
    }
    audit::append(
        &mut tx,
        actor,
        "resident.verify",
        &format!("verification:{id}"),
        &json!({"user_id": user_id, "area": area, "place": place, "method": method}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

async fn load(db: &Db, sealer: &Sealer, id: &str) -> Result<Verification> {
    let r = sqlx::query("SELECT * FROM resident_verifications WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::not_found("verification"))?;
    row_to_view(db, sealer, &r).await
}

async fn row_to_view(db: &Db, sealer: &Sealer, r: &sqlx::any::AnyRow) -> Result<Verification> {
    let user_id: String = r.try_get("user_id")?;
    Ok(Verification {
        id: r.try_get("id")?,
        resident: display_name(db, sealer, &user_id).await?,
        user_id,
        area: r.try_get("area_code")?,
        place: r.try_get("place")?,
        method: r.try_get("method")?,
        verified_at: format_ms(r.try_get("verified_at")?),
        revoked_at: r.try_get::<Option<i64>, _>("revoked_at")?.map(format_ms),
        revoke_reason: opt_text(r, "revoke_reason")?,
    })
}

/// Verifies a resident for a place against the registry (community staff of that area).
#[utoipa::path(post, path = "/api/v1/residents/verifications", tag = "deliberation", security(("bearer" = [])), request_body = VerifyInput,
    responses((status = 201, body = Verification), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn verify(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<VerifyInput>,
) -> ApiResult<(StatusCode, Json<Verification>)> {
    let id = verify_resident(&state.db, &actor, &input, state.clock.now_ms()).await?;
    Ok((
        StatusCode::CREATED,
        Json(load(&state.db, &state.sealer, &id).await?),
    ))
}

/// Staff of the area verify a resident (by user name) for a place against the registry.
pub async fn verify_resident(
    db: &Db,
    actor: &Actor,
    input: &VerifyInput,
    now: i64,
) -> Result<String> {
    let area = check_area(db, input.area.trim()).await?;
    authorize(actor, RESIDENT_VERIFY, &Target::area(&area))?;
    let place = check_place(&input.place)?;
    let user = user_id_by_name(db, input.username.trim())
        .await?
        .ok_or_else(|| Error::invalid("unknown_user", "no user with that name"))?;
    record(db, actor, &user, &area, &place, "registry", None, now).await
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Area code; verifications in its subtree.
    area: String,
}

/// Verifications in an area (staff of that area); names masked.
#[utoipa::path(get, path = "/api/v1/residents/verifications", tag = "deliberation", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Vec<Verification>), (status = 403, body = gongzhi_core::http::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<Verification>>> {
    Ok(Json(
        list_in(&state.db, &state.sealer, &actor, &q.area).await?,
    ))
}

/// The latest 500 verifications in an area's subtree (staff of that area).
pub async fn list_in(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    area: &str,
) -> Result<Vec<Verification>> {
    authorize(actor, RESIDENT_VERIFY, &Target::area(area))?;
    let rows = sqlx::query("SELECT * FROM resident_verifications WHERE area_code LIKE $1 ESCAPE '\\' ORDER BY verified_at DESC LIMIT 500")
        .bind(gongzhi_core::db::like_prefix(area))
        .fetch_all(db.pool())
        .await?;
    let mut out = Vec::new();
    for r in &rows {
        out.push(row_to_view(db, sealer, r).await?);
    }
    Ok(out)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReasonInput {
    pub reason: String,
}

/// Revokes a verification with a reason (staff of its area). The resident no longer votes.
#[utoipa::path(post, path = "/api/v1/residents/verifications/{id}/revoke", tag = "deliberation", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ReasonInput,
    responses((status = 200, body = Verification), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn revoke(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReasonInput>,
) -> ApiResult<Json<Verification>> {
    revoke_verification(
        &state.db,
        &state.sealer,
        &actor,
        &id,
        &input.reason,
        state.clock.now_ms(),
    )
    .await?;
    Ok(Json(load(&state.db, &state.sealer, &id).await?))
}

/// Revokes a verification with a reason (staff of its area).
pub async fn revoke_verification(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    id: &str,
    reason: &str,
    now: i64,
) -> Result<()> {
    let v = load(db, sealer, id).await?;
    authorize(actor, RESIDENT_VERIFY, &Target::area(&v.area))?;
    let reason = text("reason", reason, 500)?;
    let mut tx = db.begin_write().await?;
    let done = sqlx::query("UPDATE resident_verifications SET revoked_at = $1, revoked_by = $2, revoke_reason = $3 WHERE id = $4 AND revoked_at IS NULL")
        .bind(now)
        .bind(actor.label())
        .bind(&reason)
        .bind(id)
        .execute(tx.conn())
        .await?;
    if done.rows_affected() != 1 {
        return Err(Error::Conflict(
            "this verification is already revoked".into(),
        ));
    }
    audit::append(
        &mut tx,
        actor,
        "resident.revoke",
        &format!("verification:{id}"),
        &json!({"user_id": v.user_id}),
        Some(&reason),
    )
    .await?;
    tx.commit().await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CodesInput {
    pub area: String,
    #[serde(default)]
    pub place: String,
    /// How many codes (1–500).
    pub count: u32,
    /// Valid for this many days (default 30).
    pub valid_days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedCodes {
    /// Shown once; only their hashes are stored.
    pub codes: Vec<String>,
    pub expires_at: String,
}

/// One-time codes to hand out in person (staff of the area); each verifies one resident.
#[utoipa::path(post, path = "/api/v1/residents/codes", tag = "deliberation", security(("bearer" = [])), request_body = CodesInput,
    responses((status = 201, body = IssuedCodes), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody)))]
async fn issue_codes(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<CodesInput>,
) -> ApiResult<(StatusCode, Json<IssuedCodes>)> {
    Ok((
        StatusCode::CREATED,
        Json(issue(&state.db, &actor, &input, state.clock.now_ms()).await?),
    ))
}

/// One-time codes for a place (staff of the area); only their hashes are stored.
pub async fn issue(db: &Db, actor: &Actor, input: &CodesInput, now: i64) -> Result<IssuedCodes> {
    let area = check_area(db, input.area.trim()).await?;
    authorize(actor, RESIDENT_VERIFY, &Target::area(&area))?;
    let place = check_place(&input.place)?;
    if !(1..=500).contains(&input.count) {
        return Err(Error::invalid("count", "count must be 1–500"));
    }
    let days = input.valid_days.unwrap_or(30).clamp(1, 365) as i64;
    let expires = now + days * 86_400_000;
    // No 0/O/1/I: codes are read aloud and typed from paper.
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let codes: Vec<String> = {
        let mut rng = rand::thread_rng();
        (0..input.count)
            .map(|_| {
                (0..10)
                    .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                    .collect()
            })
            .collect()
    };
    let mut tx = db.begin_write().await?;
    for c in &codes {
        sqlx::query("INSERT INTO verification_codes (code_hash, area_code, place, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(code_hash(c))
            .bind(&area)
            .bind(&place)
            .bind(actor.label())
            .bind(now)
            .bind(expires)
            .execute(tx.conn())
            .await?;
    }
    audit::append(
        &mut tx,
        actor,
        "resident.codes",
        &format!("area:{area}"),
        &json!({"place": place, "count": codes.len(), "expires_at": expires}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(IssuedCodes {
        codes,
        expires_at: format_ms(expires),
    })
}

/// Spends a one-time code for the caller: they are verified for the code's place.
pub async fn redeem_code(db: &Db, actor: &Actor, code: &str, now: i64) -> Result<String> {
    let user = actor
        .user_id
        .clone()
        .ok_or_else(|| Error::Unauthenticated("sign in first".into()))?;
    let h = code_hash(code);
    let row = sqlx::query("SELECT area_code, place FROM verification_codes WHERE code_hash = $1")
        .bind(&h)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::Conflict("this code is unknown, already used or expired".into()))?;
    let (area, place): (String, String) = (row.try_get("area_code")?, row.try_get("place")?);
    record(db, actor, &user, &area, &place, "code", Some(&h), now).await
}

fn code_hash(code: &str) -> String {
    hex::encode(Sha256::digest(
        code.trim().to_ascii_uppercase().replace(['-', ' '], ""),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RedeemInput {
    pub code: String,
}

/// A signed-in resident verifies themselves with a code handed out in person.
#[utoipa::path(post, path = "/api/v1/residents/redeem", tag = "deliberation", security(("bearer" = [])), request_body = RedeemInput,
    responses((status = 201, body = Verification), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn redeem(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<RedeemInput>,
) -> ApiResult<(StatusCode, Json<Verification>)> {
    let id = redeem_code(&state.db, &actor, &input.code, state.clock.now_ms()).await?;
    Ok((
        StatusCode::CREATED,
        Json(load(&state.db, &state.sealer, &id).await?),
    ))
}

/// The actor's own current verification, if any (what `/api/v1/me/verification` and the hub
/// page show).
pub async fn current(db: &Db, sealer: &Sealer, actor: &Actor) -> Result<Option<Verification>> {
    let Some(user) = &actor.user_id else {
        return Ok(None);
    };
    let row = sqlx::query(
        "SELECT id FROM resident_verifications WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user)
    .fetch_optional(db.pool())
    .await?;
    match row {
        Some(r) => Ok(Some(
            load(db, sealer, &r.try_get::<String, _>("id")?).await?,
        )),
        None => Ok(None),
    }
}

/// The caller's own current verification.
#[utoipa::path(get, path = "/api/v1/me/verification", tag = "deliberation", security(("bearer" = [])),
    responses((status = 200, body = Option<Verification>)))]
async fn mine(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<Option<Verification>>> {
    Ok(Json(current(&state.db, &state.sealer, &actor).await?))
}
