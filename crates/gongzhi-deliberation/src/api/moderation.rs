//! Moderation's API: report content, hide or restore it, the queue, the settings.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::commands;
use crate::model::moderation::{
    ModerateInput, ModerationSettings, QueueItem, ReportInput, ReportOutcome,
};
use crate::queries::moderation;
use gongzhi_core::http::{ApiJson, ApiQuery, ApiResult, Authed};
use gongzhi_core::state::AppState;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report))
        .routes(routes!(hide))
        .routes(routes!(restore))
        .routes(routes!(queue))
        .routes(routes!(get_settings, put_settings))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct QueueQuery {
    /// Area code (the moderator's scope).
    area: String,
}

/// Reports a topic or comment. Enough open reports hide it until a moderator decides.
#[utoipa::path(post, path = "/api/v1/reports", tag = "deliberation", security(("bearer" = [])), request_body = ReportInput,
    responses((status = 200, body = ReportOutcome), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn report(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<ReportInput>,
) -> ApiResult<Json<ReportOutcome>> {
    Ok(Json(
        commands::report_content(&state.db, &actor, &input, state.clock.now_ms()).await?,
    ))
}

/// Hides content with a reason shown in its place (moderators); upholds its open reports.
#[utoipa::path(post, path = "/api/v1/moderation/hide", tag = "deliberation", security(("bearer" = [])), request_body = ModerateInput,
    responses((status = 200, description = "hidden"), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn hide(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<ModerateInput>,
) -> ApiResult<Json<serde_json::Value>> {
    commands::moderate_content(&state.db, &actor, &input, true).await?;
    Ok(Json(json!({"hidden": true})))
}

/// Restores content (moderators); its open reports are rejected.
#[utoipa::path(post, path = "/api/v1/moderation/restore", tag = "deliberation", security(("bearer" = [])), request_body = ModerateInput,
    responses((status = 200, description = "restored"), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn restore(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<ModerateInput>,
) -> ApiResult<Json<serde_json::Value>> {
    commands::moderate_content(&state.db, &actor, &input, false).await?;
    Ok(Json(json!({"hidden": false})))
}

/// Content with open reports in an area (moderators).
#[utoipa::path(get, path = "/api/v1/moderation/queue", tag = "deliberation", security(("bearer" = [])), params(QueueQuery),
    responses((status = 200, body = Vec<QueueItem>), (status = 403, body = gongzhi_core::http::ErrorBody)))]
async fn queue(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> ApiResult<Json<Vec<QueueItem>>> {
    Ok(Json(
        moderation::open_reports(&state.db, &actor, &q.area).await?,
    ))
}

/// The moderation settings.
#[utoipa::path(get, path = "/api/v1/moderation/settings", tag = "deliberation", security(("bearer" = [])), responses((status = 200, body = ModerationSettings)))]
async fn get_settings(
    State(state): State<AppState>,
    Authed(_actor): Authed,
) -> ApiResult<Json<ModerationSettings>> {
    Ok(Json(ModerationSettings {
        auto_hide_reports: moderation::threshold(&state.db).await?,
    }))
}

/// Changes the moderation settings (moderators and administrators without a scope).
#[utoipa::path(put, path = "/api/v1/moderation/settings", tag = "deliberation", security(("bearer" = [])), request_body = ModerationSettings,
    responses((status = 200, body = ModerationSettings), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody)))]
async fn put_settings(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(s): ApiJson<ModerationSettings>,
) -> ApiResult<Json<ModerationSettings>> {
    commands::set_auto_hide(&state.db, &actor, s.auto_hide_reports).await?;
    Ok(Json(s))
}
