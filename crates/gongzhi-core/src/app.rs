//! The app: every module's API routes documented at `/api/openapi.json`, their pages, what
//! they register with the state, health and metrics, and the layers every request passes
//! (error shapes, load shedding, security headers, body limits, metrics, tracing).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::config::Config;
use crate::http::headers::{security_headers, SecurityHeaders};
use crate::http::{ApiError, ErrorBody, ErrorCode, ErrorDetail};
use crate::module::Module;
use crate::state::{AppState, Registered};
use crate::Error;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "gongzhi (共治) API", description = "Grassroots co-governance platform. Errors are {\"error\":{\"code\",\"message\",\"details\"}}; every code, with its status and when it happens, is listed in the `ErrorCode` schema."),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody, ErrorDetail, ErrorCode))
)]
struct ApiDoc;

fn metrics_handle() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .expect("the metrics recorder is installed once")
        })
        .clone()
}

async fn track_metrics(req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let started = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("gongzhi_http_requests_total", "method" => method.clone(), "path" => path.clone(), "status" => status).increment(1);
    metrics::histogram!("gongzhi_http_request_seconds", "method" => method, "path" => path)
        .record(started.elapsed().as_secs_f64());
    resp
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(_) => (
            StatusCode::OK,
            Json(json!({"status": "ok", "grids": state.locate.load().len()})),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: the database does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "reason": e.to_string()})),
            )
                .into_response()
        }
    }
}

/// Unknown paths: a bare 404, shaped by [`shape_errors`] for where it was asked.
async fn not_found() -> (StatusCode, &'static str) {
    (StatusCode::NOT_FOUND, "no such endpoint")
}

/// Gives the errors that the router and extractors answer by themselves (405 with `Allow`, 413,
/// an undecodable path, a page's bare status) the shape of where they were asked: the API's JSON
/// under `/api/`, a module's own format under its prefix, an error page elsewhere. A response
/// that already has a shape (JSON, XML, a page) passes unchanged.
async fn shape_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    let status = resp.status();
    let bare = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.starts_with("text/plain"));
    if !bare || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase()
    } else {
        text
    };
    let code = match status {
        StatusCode::BAD_REQUEST if message.starts_with("Invalid URL") => "invalid_path",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "invalid_request",
    };
    let mut shaped = crate::http::shape::shaped_error(&state, &path, status, code, &message);
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        shaped.headers_mut().insert(header::ALLOW, allow.clone());
    }
    shaped
}

/// `/metrics` on the main listener: only with `[metrics] token`, as a bearer token (the figures
/// tell an outsider how busy each endpoint is); otherwise not served here.
async fn metrics_on_main(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    let Some(expected) = state.config.metrics_token.as_deref() else {
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
            .into_response();
    };
    metrics_with_token(expected, &headers)
}

fn metrics_with_token(expected: &str, headers: &axum::http::HeaderMap) -> Response {
    use subtle::ConstantTimeEq;
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        return (
            [(header::WWW_AUTHENTICATE, "Bearer")],
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "metrics need Authorization: Bearer with the metrics token",
            ),
        )
            .into_response();
    }
    metrics_handle().render().into_response()
}

/// The router for `[metrics] listen`: `/metrics` alone (behind the token too, when one is set).
pub fn metrics_app(config: Arc<Config>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(move |headers: axum::http::HeaderMap| async move {
                match config.metrics_token.as_deref() {
                    Some(t) => metrics_with_token(t, &headers),
                    None => metrics_handle().render().into_response(),
                }
            }),
        )
        .fallback(not_found)
}

/// Default request body limit; imports set their own, larger one.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// What a page's form may carry: a few photos and the fields around them.
pub const PAGE_BODY_LIMIT: usize = crate::attachments::MAX_BYTES * 3 + 64 * 1024;

/// Runs each request in its own task, so a client that goes away cannot cancel a write half-way
/// (a batch of other callers' intakes may ride in the same transaction): the request finishes,
/// commits or rolls back.
async fn run_to_completion(req: Request, next: Next) -> Response {
    match tokio::spawn(next.run(req)).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::error!(error = %e, "request task failed");
            ApiError::from(Error::internal("the request failed")).into_response()
        }
    }
}

/// The whole HTTP app: every module's API, its OpenAPI document, its pages, health and metrics.
pub fn app(state: AppState, modules: &[&dyn Module]) -> (Router, utoipa::openapi::OpenApi) {
    crate::module::register(modules);
    let mut api = OpenApiRouter::with_openapi(ApiDoc::openapi());
    let mut pages = Router::new();
    let mut registered = Registered::default();
    for m in modules {
        api = api.merge(m.api());
        pages = pages.merge(m.pages());
        registered
            .attachment_owners
            .extend_from_slice(m.attachment_owners());
        registered.error_shapes.extend(m.error_shape());
        registered.menu.extend_from_slice(m.menu());
        registered
            .admin_sections
            .extend_from_slice(m.admin_sections());
    }
    // Stable sorts: entries of equal place keep the modules' order.
    registered.menu.sort_by_key(|e| e.order);
    registered.admin_sections.sort_by_key(|s| s.order);
    state.register(registered);
    let (api_router, openapi) = api.split_for_parts();
    let doc = openapi.clone();
    // Installs the recorder, so figures are kept from the first request on.
    metrics_handle();
    let router = api_router
        .merge(pages.layer(axum::extract::DefaultBodyLimit::max(PAGE_BODY_LIMIT)))
        .route("/api/openapi.json", get(move || async move { Json(doc) }))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_on_main))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            shape_errors,
        ))
        .layer(axum::middleware::from_fn_with_state(
            crate::http::shed::Shed::new(state.clone()),
            crate::http::shed::shed,
        ))
        .layer(axum::middleware::from_fn(run_to_completion))
        .layer(axum::middleware::from_fn(track_metrics))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(SecurityHeaders::from_config(&state.config)),
            security_headers,
        ))
        .layer(
            tower_http::trace::TraceLayer::new_for_http().on_failure(
                |class: tower_http::classify::ServerErrorsFailureClass,
                 latency: std::time::Duration,
                 _: &tracing::Span| {
                    // A 503 is a shed request (counted in gongzhi_http_shed_total): a log line for
                    // each would be more work exactly when the server has none to spare. The few
                    // other 503s log where they are made.
                    if !matches!(class, tower_http::classify::ServerErrorsFailureClass::StatusCode(s)
                        if s == StatusCode::SERVICE_UNAVAILABLE)
                    {
                        tracing::error!(classification = %class, latency_ms = latency.as_millis() as u64, "response failed");
                    }
                },
            ),
        )
        .with_state(state);
    (router, openapi)
}
