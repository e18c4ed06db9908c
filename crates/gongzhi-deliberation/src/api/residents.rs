//! Verified residents' API: verify, list and revoke verifications, one-time codes, one's own.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::commands;
use crate::model::residents::{
    CodesInput, IssuedCodes, ReasonInput, RedeemInput, Verification, VerifyInput,
};
use crate::queries::residents;
use gongzhi_core::http::{ApiJson, ApiQuery, ApiResult, Authed};
use gongzhi_core::state::AppState;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(verify, list))
        .routes(routes!(revoke))
        .routes(routes!(issue_codes))
        .routes(routes!(redeem))
        .routes(routes!(mine))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Area code; verifications in its subtree.
    area: String,
}

/// Verifies a resident for a place against the registry (community staff of that area).
#[utoipa::path(post, path = "/api/v1/residents/verifications", tag = "deliberation", security(("bearer" = [])), request_body = VerifyInput,
    responses((status = 201, body = Verification), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn verify(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<VerifyInput>,
) -> ApiResult<(StatusCode, Json<Verification>)> {
    let id = commands::verify_resident(&state.db, &actor, &input, state.clock.now_ms()).await?;
    Ok((
        StatusCode::CREATED,
        Json(residents::get(&state.db, &state.sealer, &id).await?),
    ))
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
        residents::list_in(&state.db, &state.sealer, &actor, &q.area).await?,
    ))
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
    commands::revoke_verification(&state.db, &actor, &id, &input.reason, state.clock.now_ms())
        .await?;
    Ok(Json(residents::get(&state.db, &state.sealer, &id).await?))
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
        Json(commands::issue_codes(&state.db, &actor, &input, state.clock.now_ms()).await?),
    ))
}

/// A signed-in resident verifies themselves with a code handed out in person.
#[utoipa::path(post, path = "/api/v1/residents/redeem", tag = "deliberation", security(("bearer" = [])), request_body = RedeemInput,
    responses((status = 201, body = Verification), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn redeem(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<RedeemInput>,
) -> ApiResult<(StatusCode, Json<Verification>)> {
    let id = commands::redeem_code(&state.db, &actor, &input.code, state.clock.now_ms()).await?;
    Ok((
        StatusCode::CREATED,
        Json(residents::get(&state.db, &state.sealer, &id).await?),
    ))
}

/// The caller's own current verification.
#[utoipa::path(get, path = "/api/v1/me/verification", tag = "deliberation", security(("bearer" = [])),
    responses((status = 200, body = Option<Verification>)))]
async fn mine(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<Option<Verification>>> {
    Ok(Json(
        residents::current(&state.db, &state.sealer, &actor).await?,
    ))
}
