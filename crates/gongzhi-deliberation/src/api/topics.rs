//! The topic loop's API: raise, list and read topics, take a step, comment, vote.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::commands;
use crate::model::topics::{
    CommentCreated, NewComment, NewTopic, StepInput, TopicFilter, TopicStep, TopicSummary,
    TopicView, VoteInput,
};
use crate::queries::topics;
use gongzhi_core::http::MaybeAuthed;
use gongzhi_core::http::{json_body, ApiError, ApiJson, ApiQuery, ApiResult, Authed};
use gongzhi_core::state::AppState;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_topic, list_topics))
        .routes(routes!(get_topic))
        .routes(routes!(act))
        .routes(routes!(add_comment))
        .routes(routes!(cast_vote))
}

/// Raises a topic (verified residents for their place; grid workers, organizations and the
/// council in their scope).
#[utoipa::path(post, path = "/api/v1/topics", tag = "deliberation", security(("bearer" = [])), request_body = NewTopic,
    responses((status = 201, body = TopicView), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody)))]
async fn create_topic(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<NewTopic>,
) -> ApiResult<(StatusCode, Json<TopicView>)> {
    let (id, _) = commands::propose_topic(&state.db, &actor, &input, state.clock.now_ms()).await?;
    Ok((
        StatusCode::CREATED,
        Json(topics::view(&state.db, &state.sealer, &actor, &id).await?),
    ))
}

/// Topics, newest first (public: 公开).
#[utoipa::path(get, path = "/api/v1/topics", tag = "deliberation", params(TopicFilter),
    responses((status = 200, body = Vec<TopicSummary>), (status = 400, body = gongzhi_core::http::ErrorBody)))]
async fn list_topics(
    State(state): State<AppState>,
    ApiQuery(f): ApiQuery<TopicFilter>,
) -> ApiResult<Json<Vec<TopicSummary>>> {
    Ok(Json(topics::list(&state.db, &f).await?))
}

/// One topic with its comments, meetings, vote rules and tally, tasks and whole history.
#[utoipa::path(get, path = "/api/v1/topics/{id}", tag = "deliberation", params(("id" = String, Path, description = "id or number")),
    responses((status = 200, body = TopicView), (status = 404, body = gongzhi_core::http::ErrorBody)))]
async fn get_topic(
    State(state): State<AppState>,
    MaybeAuthed(actor): MaybeAuthed,
    Path(id): Path<String>,
) -> ApiResult<Json<TopicView>> {
    Ok(Json(
        topics::view(&state.db, &state.sealer, &actor, &id).await?,
    ))
}

/// One step: accept, merge, decline, schedule_meeting, sign_in, record_minutes, open_vote,
/// close_vote, publish, object, execute, add_task, progress, complete. Wrong state or a lost
/// race → 409; wrong role or scope → 403.
#[utoipa::path(post, path = "/api/v1/topics/{id}/actions/{action}", tag = "deliberation", security(("bearer" = [])),
    params(("id" = String, Path), ("action" = String, Path)), request_body = StepInput,
    responses((status = 200, body = TopicView), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn act(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<TopicView>> {
    let s = TopicStep::parse(&action).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_action",
            format!("unknown action {action:?}"),
        )
    })?;
    let input: StepInput = if body.iter().all(u8::is_ascii_whitespace) {
        StepInput::default()
    } else {
        json_body(&body)?
    };
    commands::take_step(
        &state.db,
        &state.sealer,
        &actor,
        &id,
        s,
        &input,
        state.clock.now_ms(),
    )
    .await?;
    Ok(Json(
        topics::view(&state.db, &state.sealer, &actor, &id).await?,
    ))
}

/// A comment (for / against / neutral), or a reply to one.
#[utoipa::path(post, path = "/api/v1/topics/{id}/comments", tag = "deliberation", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = NewComment,
    responses((status = 201, body = CommentCreated), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn add_comment(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewComment>,
) -> ApiResult<(StatusCode, Json<CommentCreated>)> {
    let cid = commands::comment_on_topic(
        &state.db,
        &state.sealer,
        &actor,
        &id,
        &input,
        state.clock.now_ms(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(CommentCreated { id: cid })))
}

/// Casts a ballot. A second ballot by the same resident → 409; ineligible → 403.
#[utoipa::path(post, path = "/api/v1/topics/{id}/votes", tag = "deliberation", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = VoteInput,
    responses((status = 201, description = "counted"), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn cast_vote(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<VoteInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    commands::cast_vote(
        &state.db,
        &state.sealer,
        &actor,
        &id,
        input.choice,
        state.clock.now_ms(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"counted": true}))))
}
