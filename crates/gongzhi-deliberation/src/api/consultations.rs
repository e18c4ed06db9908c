//! Consultations' API: open, list and read consultations, answer, see the results.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::commands;
use crate::model::consultations::{
    ConsultationResults, ConsultationView, NewConsultation, ResponseInput,
};
use crate::queries::consultations;
use gongzhi_core::http::MaybeAuthed;
use gongzhi_core::http::{ApiJson, ApiResult, Authed};
use gongzhi_core::state::AppState;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_consultation, list_consultations))
        .routes(routes!(get_consultation))
        .routes(routes!(respond))
        .routes(routes!(results))
}

/// Opens a consultation for the verified residents of a place.
#[utoipa::path(post, path = "/api/v1/consultations", tag = "deliberation", security(("bearer" = [])), request_body = NewConsultation,
    responses((status = 201, body = ConsultationView), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody)))]
async fn create_consultation(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(c): ApiJson<NewConsultation>,
) -> ApiResult<(StatusCode, Json<ConsultationView>)> {
    let id = commands::open_consultation(&state.db, &actor, &c).await?;
    Ok((
        StatusCode::CREATED,
        Json(consultations::get(&state.db, &actor, &id, state.clock.now_ms()).await?),
    ))
}

/// Consultations, newest first (public).
#[utoipa::path(get, path = "/api/v1/consultations", tag = "deliberation", responses((status = 200, body = Vec<ConsultationView>)))]
async fn list_consultations(
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<ConsultationView>>> {
    Ok(Json(
        consultations::list(&state.db, state.clock.now_ms()).await?,
    ))
}

/// One consultation with its questions.
#[utoipa::path(get, path = "/api/v1/consultations/{id}", tag = "deliberation", params(("id" = String, Path)),
    responses((status = 200, body = ConsultationView), (status = 404, body = gongzhi_core::http::ErrorBody)))]
async fn get_consultation(
    State(state): State<AppState>,
    MaybeAuthed(actor): MaybeAuthed,
    Path(id): Path<String>,
) -> ApiResult<Json<ConsultationView>> {
    Ok(Json(
        consultations::get(&state.db, &actor, &id, state.clock.now_ms()).await?,
    ))
}

/// A verified resident's one response.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/responses", tag = "deliberation", security(("bearer" = [])), params(("id" = String, Path)), request_body = ResponseInput,
    responses((status = 201, description = "recorded"), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn respond(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    ApiJson(r): ApiJson<ResponseInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    commands::answer_consultation(
        &state.db,
        &state.sealer,
        &actor,
        &id,
        &r.answers,
        state.clock.now_ms(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"recorded": true}))))
}

/// Aggregated results and the anonymised export (public once closed; the council any time).
#[utoipa::path(get, path = "/api/v1/consultations/{id}/results", tag = "deliberation", params(("id" = String, Path)),
    responses((status = 200, body = ConsultationResults), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 404, body = gongzhi_core::http::ErrorBody)))]
async fn results(
    State(state): State<AppState>,
    MaybeAuthed(actor): MaybeAuthed,
    Path(id): Path<String>,
) -> ApiResult<Json<ConsultationResults>> {
    Ok(Json(
        consultations::aggregate(&state.db, &state.sealer, &actor, &id, state.clock.now_ms())
            .await?,
    ))
}
