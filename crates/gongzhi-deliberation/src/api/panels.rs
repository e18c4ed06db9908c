//! Panels' API: publish, read, draw and verify a sortition.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::commands;
use crate::model::panels::{NewPanel, PanelRecord, Verdict};
use crate::queries::panels;
use gongzhi_core::http::{ApiJson, ApiResult, Authed};
use gongzhi_core::state::AppState;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_panel))
        .routes(routes!(get_panel))
        .routes(routes!(draw))
        .routes(routes!(verify))
}

/// Publishes a panel's candidates, list hash and seed commitment (before the draw).
#[utoipa::path(post, path = "/api/v1/panels", tag = "deliberation", security(("bearer" = [])), request_body = NewPanel,
    responses((status = 201, body = PanelRecord), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody)))]
async fn create_panel(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(p): ApiJson<NewPanel>,
) -> ApiResult<(StatusCode, Json<PanelRecord>)> {
    let id = commands::publish_panel(&state.db, &state.sealer, &actor, &p).await?;
    Ok((
        StatusCode::CREATED,
        Json(panels::record(&state.db, &id).await?),
    ))
}

/// The published record (public). Once drawn it carries the seed and result to re-run.
#[utoipa::path(get, path = "/api/v1/panels/{id}", tag = "deliberation", params(("id" = String, Path)),
    responses((status = 200, body = PanelRecord), (status = 404, body = gongzhi_core::http::ErrorBody)))]
async fn get_panel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<PanelRecord>> {
    Ok(Json(panels::record(&state.db, &id).await?))
}

/// Makes the draw: reveals the seed and the result (once).
#[utoipa::path(post, path = "/api/v1/panels/{id}/draw", tag = "deliberation", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = PanelRecord), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn draw(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<PanelRecord>> {
    Ok(Json(
        commands::draw_panel(&state.db, &state.sealer, &actor, &id).await?,
    ))
}

/// Re-runs the draw from the published record and says whether it holds (public).
#[utoipa::path(get, path = "/api/v1/panels/{id}/verify", tag = "deliberation", params(("id" = String, Path)),
    responses((status = 200, body = Verdict), (status = 404, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn verify(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Verdict>> {
    Ok(Json(panels::verify(&state.db, &id).await?))
}
