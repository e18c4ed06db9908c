//! Cases over HTTP: the catalog, routing rules, intake, the actions of the loop, reads.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::catalog::{tree, Category, CategoryNode, RoutingRule};
use crate::model::{ActionInput, CaseFilter, CasePage, CaseView, NewCase};
use crate::rules::workflow::Step;
use crate::{commands, queries, store};
use gongzhi_core::http::{ApiError, ApiJson, ApiQuery, ApiResult, Authed};
use gongzhi_core::identity::{authorize, Target};
use gongzhi_core::state::AppState;
use gongzhi_core::Error;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_categories))
        .routes(routes!(save_category))
        .routes(routes!(list_rules, add_rule))
        .routes(routes!(create_case, list_cases))
        .routes(routes!(get_case))
        .routes(routes!(act))
        .routes(routes!(case_stats))
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(my_notifications))
        .routes(routes!(get_publication, put_publication))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct InboxQuery {
    /// At most this many, newest first (default 50, 1–500).
    limit: Option<i64>,
}

/// A notice in the caller's inbox; `case_id` names the case when the notice is about one.
#[derive(Serialize, ToSchema)]
struct InboxNotice {
    #[serde(flatten)]
    notice: gongzhi_core::notify::Notification,
    case_id: Option<String>,
}

/// The caller's inbox: their own notices, their units', and as a leader their scopes'.
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "auth", security(("bearer" = [])), params(InboxQuery),
    responses((status = 200, body = Vec<InboxNotice>)))]
async fn my_notifications(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> ApiResult<Json<Vec<InboxNotice>>> {
    let notices = gongzhi_core::notify::for_actor(
        &state.db,
        &actor,
        gongzhi_core::http::params::count("limit", q.limit, 50, 500)?,
    )
    .await?;
    Ok(Json(
        notices
            .into_iter()
            .map(|notice| InboxNotice {
                case_id: notice
                    .subject
                    .as_deref()
                    .and_then(|s| s.strip_prefix("case:"))
                    .map(String::from),
                notice,
            })
            .collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct StatsQuery {
    /// `YYYY-MM`, on the configured monthly cycle.
    period: String,
    #[param(inline)]
    level: crate::rules::stats::StatsLevel,
    /// json (default), csv (UTF-8 with BOM) or xlsx.
    format: Option<String>,
}

/// The monthly ranking: three rates over valid callbacks and GB/T handling and closure rates
/// over dispatched cases, one row per street, community, grid or unit.
#[utoipa::path(get, path = "/api/v1/stats/cases", tag = "stats", security(("bearer" = [])), params(StatsQuery),
    responses((status = 200, body = Vec<crate::rules::stats::StatsRow>), (status = 400, body = gongzhi_core::http::ErrorBody)))]
async fn case_stats(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let rows = crate::queries::stats::compute(&state.db, &actor, &q.period, q.level).await?;
    let name = format!("case-stats-{}", q.period);
    Ok(match q.format.as_deref().unwrap_or("json") {
        "json" => Json(rows).into_response(),
        "csv" => (
            [
                ("content-type", "text/csv; charset=utf-8".to_string()),
                (
                    "content-disposition",
                    format!("attachment; filename=\"{name}.csv\""),
                ),
            ],
            crate::rules::stats::to_csv(&rows),
        )
            .into_response(),
        "xlsx" => (
            [
                (
                    "content-type",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
                ),
                (
                    "content-disposition",
                    format!("attachment; filename=\"{name}.xlsx\""),
                ),
            ],
            crate::rules::stats::to_xlsx(&rows)?,
        )
            .into_response(),
        other => {
            return Err(Error::invalid(
                "invalid_format",
                format!("format {other:?} is not json, csv or xlsx"),
            )
            .into())
        }
    })
}

/// The measure settings: weights of the three rates, the 基本满意 factor, the cycle start day.
#[utoipa::path(get, path = "/api/v1/stats/settings", tag = "stats", security(("bearer" = [])), responses((status = 200, body = crate::rules::stats::MeasureSettings)))]
async fn get_settings(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<crate::rules::stats::MeasureSettings>> {
    authorize(&actor, crate::permissions::STATS_READ, &Target::global()).or_else(|e| {
        if actor
            .assignments
            .iter()
            .any(|a| crate::permissions::STATS_READ.roles.contains(&a.role))
        {
            Ok(())
        } else {
            Err(e)
        }
    })?;
    Ok(Json(crate::store::stats::load_settings(&state.db).await?))
}

/// Changes the measure settings (administrators).
#[utoipa::path(put, path = "/api/v1/stats/settings", tag = "stats", security(("bearer" = [])), request_body = crate::rules::stats::MeasureSettings,
    responses((status = 200, body = crate::rules::stats::MeasureSettings), (status = 400, body = gongzhi_core::http::ErrorBody)))]
async fn put_settings(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(s): ApiJson<crate::rules::stats::MeasureSettings>,
) -> ApiResult<Json<crate::rules::stats::MeasureSettings>> {
    crate::commands::save_settings(&state.db, &actor, &s).await?;
    Ok(Json(s))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct CategoryQuery {
    /// Only what residents and Open311 clients may pick.
    public: Option<bool>,
}

/// The category tree with each category's code and time limits.
#[utoipa::path(get, path = "/api/v1/categories", tag = "cases", params(CategoryQuery), responses((status = 200, body = Vec<CategoryNode>)))]
async fn list_categories(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<CategoryQuery>,
) -> ApiResult<Json<Vec<CategoryNode>>> {
    Ok(Json(tree(
        store::catalog::list(&state.db).await?,
        q.public.unwrap_or(false),
    )))
}

/// Creates or replaces a category (administrators).
#[utoipa::path(put, path = "/api/v1/categories/{code}", tag = "cases", security(("bearer" = [])),
    params(("code" = String, Path)), request_body = Category,
    responses((status = 200, body = Category), (status = 201, body = Category), (status = 400, body = gongzhi_core::http::ErrorBody)))]
async fn save_category(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(code): Path<String>,
    ApiJson(c): ApiJson<Category>,
) -> ApiResult<(StatusCode, Json<Category>)> {
    if c.code != code {
        return Err(
            Error::invalid("code_mismatch", "the code in the path and the body differ").into(),
        );
    }
    let created = commands::save_category(&state.db, &actor, &c).await?;
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(c),
    ))
}

/// Routing rules: category × area → unit; the most specific rule wins.
#[utoipa::path(get, path = "/api/v1/routing-rules", tag = "cases", security(("bearer" = [])), responses((status = 200, body = Vec<RoutingRule>)))]
async fn list_rules(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<Vec<RoutingRule>>> {
    Ok(Json(
        queries::catalog::routing_rules(&state.db, &actor).await?,
    ))
}

/// Adds a routing rule (administrators).
#[utoipa::path(post, path = "/api/v1/routing-rules", tag = "cases", security(("bearer" = [])), request_body = RoutingRule,
    responses((status = 201, body = RoutingRule), (status = 400, body = gongzhi_core::http::ErrorBody)))]
async fn add_rule(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(rule): ApiJson<RoutingRule>,
) -> ApiResult<(StatusCode, Json<RoutingRule>)> {
    let id = commands::add_rule(
        &state.db,
        &actor,
        rule.category.as_deref(),
        rule.area.as_deref(),
        &rule.unit,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(RoutingRule {
            id: Some(id),
            ..rule
        }),
    ))
}

/// Takes a request through the one door: locate, route, deadlines, likely duplicates.
/// Send `Idempotency-Key` to make retries safe (a replay answers 200 with the same case).
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", security(("bearer" = [])), request_body = NewCase,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = CaseView), (status = 200, description = "replayed", body = CaseView),
              (status = 400, body = gongzhi_core::http::ErrorBody), (status = 404, description = "outside_jurisdiction", body = gongzhi_core::http::ErrorBody)))]
async fn create_case(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    ApiJson(input): ApiJson<NewCase>,
) -> ApiResult<(StatusCode, Json<CaseView>)> {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    let index = state.locate.load();
    let (view, created) =
        commands::create_case(&state.db, &state.sealer, &index, &actor, &input, key).await?;
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(view),
    ))
}

/// Cases within the caller's scope, filtered and paginated.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", security(("bearer" = [])), params(CaseFilter), responses((status = 200, body = CasePage)))]
async fn list_cases(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(f): ApiQuery<CaseFilter>,
) -> ApiResult<Json<CasePage>> {
    Ok(Json(
        queries::case::list(&state.db, &state.sealer, &actor, &f).await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct RevealQuery {
    /// Show the reporter unmasked (operators, dispatchers, handlers; audited).
    reveal: Option<bool>,
}

/// One case with its timeline (every step, who, when, note) and summons.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path, description = "case id or number"), RevealQuery),
    responses((status = 200, body = CaseView), (status = 404, body = gongzhi_core::http::ErrorBody)))]
async fn get_case(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<RevealQuery>,
) -> ApiResult<Json<CaseView>> {
    Ok(Json(
        queries::case::get(
            &state.db,
            &state.sealer,
            &actor,
            &id,
            q.reveal.unwrap_or(false),
        )
        .await?,
    ))
}

/// One step of the loop: accept, file, cancel, dispatch, sign, contact, report_back, verify,
/// close, call_back, return, extend, approve_extension, hold, resume, supervise, remind, reopen,
/// summon, report_in, merge. A JSON body (`{}` when the step needs nothing). A case the caller
/// may not read → 404, as an unknown one; wrong role or scope on a readable case → 403; wrong
/// state or a lost race → 409.
#[utoipa::path(post, path = "/api/v1/cases/{id}/actions/{action}", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path), ("action" = String, Path)), request_body = ActionInput,
    responses((status = 200, body = CaseView), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 404, body = gongzhi_core::http::ErrorBody),
              (status = 409, body = gongzhi_core::http::ErrorBody), (status = 415, body = gongzhi_core::http::ErrorBody)))]
async fn act(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path((id, action)): Path<(String, String)>,
    ApiJson(input): ApiJson<ActionInput>,
) -> ApiResult<Json<CaseView>> {
    let step = Step::parse(&action).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_action",
            format!("unknown action {action:?}"),
        )
    })?;
    Ok(Json(
        commands::act(&state.db, &state.sealer, &actor, &id, step, &input).await?,
    ))
}

/// What of a case is public through Open311, and who decided.
#[utoipa::path(get, path = "/api/v1/cases/{id}/publication", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path, description = "case id or number")),
    responses((status = 200, body = crate::model::publicity::Publication), (status = 404, body = gongzhi_core::http::ErrorBody)))]
async fn get_publication(
    axum::extract::State(state): axum::extract::State<gongzhi_core::state::AppState>,
    gongzhi_core::http::Authed(actor): gongzhi_core::http::Authed,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> gongzhi_core::http::ApiResult<axum::Json<crate::model::publicity::Publication>> {
    Ok(axum::Json(
        queries::publicity::publication(&state.db, &state.sealer, &actor, &id).await?,
    ))
}

/// Review: publish or withdraw a case, redact its public text, approve its address and its
/// photos one by one (dispatchers and administrators of its area; audited). Replaces the last
/// decision whole.
#[utoipa::path(put, path = "/api/v1/cases/{id}/publication", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path, description = "case id or number")), request_body = crate::model::publicity::PublicationInput,
    responses((status = 200, body = crate::model::publicity::Publication), (status = 400, body = gongzhi_core::http::ErrorBody),
              (status = 403, body = gongzhi_core::http::ErrorBody), (status = 404, body = gongzhi_core::http::ErrorBody)))]
async fn put_publication(
    axum::extract::State(state): axum::extract::State<gongzhi_core::state::AppState>,
    gongzhi_core::http::Authed(actor): gongzhi_core::http::Authed,
    axum::extract::Path(id): axum::extract::Path<String>,
    gongzhi_core::http::ApiJson(input): gongzhi_core::http::ApiJson<
        crate::model::publicity::PublicationInput,
    >,
) -> gongzhi_core::http::ApiResult<axum::Json<crate::model::publicity::Publication>> {
    Ok(axum::Json(
        commands::set_publication(&state.db, &state.sealer, &actor, &id, &input).await?,
    ))
}
