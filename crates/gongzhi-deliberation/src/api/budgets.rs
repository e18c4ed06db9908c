//! Micro-project calls' API: open and read calls, propose and review projects, vote, see the
//! computed results and the Pabulib export, record progress.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::commands;
use crate::model::budgets::{
    BallotInput, CallSummary, CallView, NewCall, NewProject, ProgressInput, ProjectView, Results,
    ReviewInput,
};
use crate::queries::budgets;
use gongzhi_core::http::MaybeAuthed;
use gongzhi_core::http::{ApiJson, ApiResult, Authed};
use gongzhi_core::state::AppState;
use gongzhi_core::Error;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_call, list_calls))
        .routes(routes!(get_call))
        .routes(routes!(propose))
        .routes(routes!(review))
        .routes(routes!(ballot))
        .routes(routes!(results))
        .routes(routes!(export_pb))
        .routes(routes!(progress))
}

/// Opens a micro-project call with its budget, rules and phase dates.
#[utoipa::path(post, path = "/api/v1/budgets", tag = "deliberation", security(("bearer" = [])), request_body = NewCall,
    responses((status = 201, body = CallView), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody)))]
async fn create_call(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(c): ApiJson<NewCall>,
) -> ApiResult<(StatusCode, Json<CallView>)> {
    let id = commands::open_call(&state.db, &actor, &c, state.clock.now_ms()).await?;
    Ok((
        StatusCode::CREATED,
        Json(budgets::view(&state.db, &actor, &id, state.clock.now_ms()).await?),
    ))
}

/// The calls with their rule and phase (public: 三公开).
#[utoipa::path(get, path = "/api/v1/budgets", tag = "deliberation", responses((status = 200, body = Vec<CallSummary>)))]
async fn list_calls(State(state): State<AppState>) -> ApiResult<Json<Vec<CallSummary>>> {
    Ok(Json(budgets::list(&state.db, state.clock.now_ms()).await?))
}

/// One call with its projects, reviews, progress and history (public).
#[utoipa::path(get, path = "/api/v1/budgets/{id}", tag = "deliberation", params(("id" = String, Path)),
    responses((status = 200, body = CallView), (status = 404, body = gongzhi_core::http::ErrorBody)))]
async fn get_call(
    State(state): State<AppState>,
    MaybeAuthed(actor): MaybeAuthed,
    Path(id): Path<String>,
) -> ApiResult<Json<CallView>> {
    Ok(Json(
        budgets::view(&state.db, &actor, &id, state.clock.now_ms()).await?,
    ))
}

/// A verified resident proposes a project (proposing phase).
#[utoipa::path(post, path = "/api/v1/budgets/{id}/projects", tag = "deliberation", security(("bearer" = [])), params(("id" = String, Path)), request_body = NewProject,
    responses((status = 201, body = ProjectView), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn propose(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    ApiJson(p): ApiJson<NewProject>,
) -> ApiResult<(StatusCode, Json<ProjectView>)> {
    let pid = commands::propose_project(&state.db, &actor, &id, &p, state.clock.now_ms()).await?;
    let p = budgets::project(&state.db, &id, &pid)
        .await?
        .ok_or_else(|| Error::internal("project vanished"))?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// Records a project's review: feasible with its cost, or unfeasible with an explanation.
#[utoipa::path(post, path = "/api/v1/budgets/{id}/projects/{project}/review", tag = "deliberation", security(("bearer" = [])),
    params(("id" = String, Path), ("project" = String, Path)), request_body = ReviewInput,
    responses((status = 200, body = CallView), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn review(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path((id, project)): Path<(String, String)>,
    ApiJson(r): ApiJson<ReviewInput>,
) -> ApiResult<Json<CallView>> {
    let now = state.clock.now_ms();
    commands::review_project(&state.db, &actor, &id, &project, &r, now).await?;
    Ok(Json(budgets::view(&state.db, &actor, &id, now).await?))
}

/// A verified resident's ballot (voting phase, once).
#[utoipa::path(post, path = "/api/v1/budgets/{id}/ballots", tag = "deliberation", security(("bearer" = [])), params(("id" = String, Path)), request_body = BallotInput,
    responses((status = 201, description = "counted"), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn ballot(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<BallotInput>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    commands::cast_ballot(
        &state.db,
        &state.sealer,
        &actor,
        &id,
        &b,
        state.clock.now_ms(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"counted": true}))))
}

/// The computed winners with each project's votes, cost and why it won or lost (after voting).
#[utoipa::path(get, path = "/api/v1/budgets/{id}/results", tag = "deliberation", params(("id" = String, Path)),
    responses((status = 200, body = Results), (status = 404, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn results(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Results>> {
    Ok(Json(
        budgets::compute(&state.db, &state.sealer, &id, state.clock.now_ms()).await?,
    ))
}

/// The call in the Pabulib format (pabulib.org), voters anonymised (after voting).
#[utoipa::path(get, path = "/api/v1/budgets/{id}/export.pb", tag = "deliberation", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/plain", body = String), (status = 404, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn export_pb(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::response::Response> {
    let text = budgets::export(&state.db, &state.sealer, &id, state.clock.now_ms()).await?;
    Ok((
        [
            ("content-type", "text/plain; charset=utf-8".to_string()),
            (
                "content-disposition",
                format!("attachment; filename=\"call-{id}.pb\""),
            ),
        ],
        text,
    )
        .into_response())
}

/// Implementation progress of a winning project, with photos (implementing phase).
#[utoipa::path(post, path = "/api/v1/budgets/{id}/projects/{project}/progress", tag = "deliberation", security(("bearer" = [])),
    params(("id" = String, Path), ("project" = String, Path)), request_body = ProgressInput,
    responses((status = 200, body = CallView), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn progress(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path((id, project)): Path<(String, String)>,
    ApiJson(p): ApiJson<ProgressInput>,
) -> ApiResult<Json<CallView>> {
    let now = state.clock.now_ms();
    commands::record_progress(&state.db, &state.sealer, &actor, &id, &project, &p, now).await?;
    Ok(Json(budgets::view(&state.db, &actor, &id, now).await?))
}
