//! The ballot box's settings API.

use axum::extract::State;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ballot_box;
use crate::commands;
use crate::model::moderation::BallotSettings;
use gongzhi_core::http::{ApiJson, ApiResult, Authed};
use gongzhi_core::state::AppState;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_settings, put_settings))
}

/// The ballot box settings.
#[utoipa::path(get, path = "/api/v1/deliberation/settings", tag = "deliberation", security(("bearer" = [])), responses((status = 200, body = BallotSettings)))]
async fn get_settings(
    State(state): State<AppState>,
    Authed(_actor): Authed,
) -> ApiResult<Json<BallotSettings>> {
    Ok(Json(BallotSettings {
        ballot_batch: ballot_box::batch_size(&state.db).await?,
    }))
}

/// Changes the ballot box settings (administrators without a scope).
#[utoipa::path(put, path = "/api/v1/deliberation/settings", tag = "deliberation", security(("bearer" = [])), request_body = BallotSettings,
    responses((status = 200, body = BallotSettings), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody)))]
async fn put_settings(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(s): ApiJson<BallotSettings>,
) -> ApiResult<Json<BallotSettings>> {
    commands::set_ballot_batch(&state.db, &actor, s.ballot_batch).await?;
    Ok(Json(s))
}
