//! The HTTP front: shared state, the error shape `{"error":{"code","message","details"}}`,
//! extractors that turn bad input into that shape, metrics, and the app that mounts every
//! module's routes and documents them at `/api/openapi.json`.

mod headers;
pub mod params;
mod ratelimit;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

pub use ratelimit::Limiter;

use crate::areas::locate::LocateIndex;
use crate::config::Config;
use crate::db::Db;
use crate::identity::{actor_for_token, Actor};
use crate::module::Module;
use crate::privacy::Sealer;
use crate::{Error, Result};

/// Everything a request handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub sealer: Sealer,
    pub locate: Arc<ArcSwap<LocateIndex>>,
    locate_version: Arc<AtomicI64>,
    pub locate_limiter: Arc<Limiter>,
    /// What scheduled work (reminders, escalations) compares its due times with.
    pub clock: Arc<dyn crate::time::Clock>,
    /// What the modules registered beyond their routes; set once by [`app`].
    registered: Arc<std::sync::OnceLock<Registered>>,
}

/// What the modules registered with the app beyond their routes.
#[derive(Default)]
struct Registered {
    attachment_owners: Vec<crate::attachments::OwnerKind>,
    error_shapes: Vec<ErrorShape>,
    menu: Vec<crate::module::MenuEntry>,
    admin_sections: Vec<crate::module::AdminSection>,
}

impl AppState {
    pub async fn new(db: Db, config: Config, sealer: Sealer) -> Result<AppState> {
        Self::with_clock(db, config, sealer, Arc::new(crate::time::SystemClock)).await
    }

    pub async fn with_clock(
        db: Db,
        config: Config,
        sealer: Sealer,
        clock: Arc<dyn crate::time::Clock>,
    ) -> Result<AppState> {
        let state = AppState {
            clock,
            locate_limiter: Arc::new(Limiter::new(
                config.locate_per_second,
                Duration::from_secs(1),
            )),
            db,
            config: Arc::new(config),
            sealer,
            locate: Arc::new(ArcSwap::from_pointee(LocateIndex::default())),
            locate_version: Arc::new(AtomicI64::new(-1)),
            registered: Arc::default(),
        };
        state.refresh_locate().await?;
        Ok(state)
    }

    /// Rebuilds the locate index when the stored areas changed since the last build (by this
    /// process or another one sharing the database).
    pub async fn refresh_locate(&self) -> Result<bool> {
        let version = self.db.version("areas").await?;
        if version == self.locate_version.load(Ordering::Acquire) {
            return Ok(false);
        }
        let started = Instant::now();
        let index = crate::areas::build_locate_index(&self.db).await?;
        metrics::gauge!("gongzhi_locate_grids").set(index.len() as f64);
        tracing::info!(
            grids = index.len(),
            ms = started.elapsed().as_millis() as u64,
            "locate index built"
        );
        self.locate.store(Arc::new(index));
        self.locate_version.store(version, Ordering::Release);
        Ok(true)
    }

    /// Who may see photos linked to records of `kind` (see [`crate::attachments::OwnerKind`]).
    pub fn owner_kind(&self, kind: &str) -> Option<&crate::attachments::OwnerKind> {
        self.registered
            .get()?
            .attachment_owners
            .iter()
            .find(|k| k.kind == kind)
    }

    /// Every module's menu entries, in menu order (the page shell shows those a user may use).
    pub fn menu(&self) -> &[crate::module::MenuEntry] {
        self.registered.get().map_or(&[], |r| r.menu.as_slice())
    }

    /// Every module's sections of the administration page, in page order.
    pub fn admin_sections(&self) -> &[crate::module::AdminSection] {
        self.registered
            .get()
            .map_or(&[], |r| r.admin_sections.as_slice())
    }

    /// Keeps the locate index in step with storage until the process ends.
    pub fn spawn_locate_watcher(&self) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        let every = Duration::from_secs(self.config.areas_poll_secs.max(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = state.refresh_locate().await {
                    tracing::warn!(error = %e, "locate index refresh failed");
                }
            }
        })
    }
}

/// The error every endpoint answers with.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub details: Option<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    #[schema(value_type = ErrorCode)]
    pub code: String,
    pub message: String,
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
}

/// The stable codes of [`ErrorDetail::code`], documented from the catalogue
/// (`crate::error::catalogue`): the schema enumerates them and describes each one.
pub struct ErrorCode;

impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let catalogue = crate::error::catalogue::CATALOGUE;
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(catalogue.iter().map(|e| e.code)))
            .description(Some(format!(
                "A stable code a client can act on (the message is for people and may change).\n\n{}",
                crate::error::catalogue::markdown()
            )))
            .into()
    }
}

impl ToSchema for ErrorCode {
    fn name() -> std::borrow::Cow<'static, str> {
        "ErrorCode".into()
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            details: None,
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        // The status and code come from the catalogue (`error::catalogue`), the one list.
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let code = e.code();
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %e, "internal error");
            "something went wrong on our side; it has been logged".to_string()
        } else {
            e.to_string()
        };
        let details = match e {
            Error::Invalid { details, .. } => details,
            _ => None,
        };
        ApiError {
            status,
            code: code.to_string(),
            message,
            details,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            json!({"error": {"code": self.code, "message": self.message, "details": self.details}});
        (self.status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = std::result::Result<T, ApiError>;

/// JSON body whose rejections (malformed JSON, wrong types, unknown fields where the type
/// refuses them, nesting deeper than [`JSON_DEPTH`], wrong content type) are API errors.
pub struct ApiJson<T>(pub T);

/// The deepest nesting of arrays and objects a JSON body may have: far beyond any request of
/// ours (GeoJSON polygons nest six deep), far below what could exhaust a parser's stack.
pub const JSON_DEPTH: usize = 64;

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> std::result::Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as Content-Type: application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| {
                if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(r.status(), "payload_too_large", r.body_text())
                } else {
                    ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", r.body_text())
                }
            })?;
        json_body(&bytes).map(ApiJson)
    }
}

/// `application/json` or any `application/…+json`, as axum's own `Json` accepts.
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence
        .strip_prefix("application/")
        .is_some_and(|sub| sub == "json" || sub.ends_with("+json"))
}

/// Whether arrays and objects in `json` nest deeper than `limit` (brackets inside strings do
/// not count). One pass over the bytes, before any parsing.
fn nesting_exceeds(json: &[u8], limit: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in json {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

fn json_rejection(r: JsonRejection) -> ApiError {
    let text = r.body_text();
    match &r {
        JsonRejection::JsonSyntaxError(_) => {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", text)
        }
        JsonRejection::JsonDataError(_) if names_unknown_value(&text) => unknown_value(text),
        _ => ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", text),
    }
}

/// Whether a deserializer's message is about a value outside a closed set (serde's words for
/// an enum that has no such variant).
fn names_unknown_value(message: &str) -> bool {
    message.contains("unknown variant `")
}

fn unknown_value(message: String) -> ApiError {
    ApiError::from(Error::invalid("unknown_value", message))
}

/// A JSON body read from bytes by hand (e.g. a body that may be empty), refused as
/// [`ApiJson`] refuses: nesting, syntax, shape, unknown values.
pub fn json_body<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    if nesting_exceeds(bytes, JSON_DEPTH) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body nests deeper than {JSON_DEPTH} levels"),
        ));
    }
    Json::<T>::from_bytes(bytes)
        .map(|Json(v)| v)
        .map_err(json_rejection)
}

/// Query string whose rejections are API errors.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> std::result::Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(r) => Err(query_rejection(r)),
        }
    }
}

fn query_rejection(r: QueryRejection) -> ApiError {
    let text = r.body_text();
    if names_unknown_value(&text) {
        return unknown_value(text);
    }
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", text)
}

fn bearer(parts: &Parts) -> std::result::Result<String, ApiError> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .ok_or_else(|| {
            ApiError::from(Error::Unauthenticated(
                "send Authorization: Bearer TOKEN".into(),
            ))
        })
}

/// The signed-in caller (bearer token); 401 when missing or invalid.
pub struct Authed(pub Actor);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> std::result::Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        Ok(Authed(actor_for_token(&state.db, &token).await?))
    }
}

/// The caller when a bearer token is sent (401 when it is invalid), else anonymous: for routes
/// that answer everyone but show more to some.
pub struct MaybeAuthed(pub Actor);

impl FromRequestParts<AppState> for MaybeAuthed {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> std::result::Result<Self, Self::Rejection> {
        if parts.headers.get(header::AUTHORIZATION).is_none() {
            return Ok(MaybeAuthed(Actor::anonymous()));
        }
        let Authed(actor) = Authed::from_request_parts(parts, state).await?;
        Ok(MaybeAuthed(actor))
    }
}

/// The bearer token itself (to revoke it); 401 when missing.
pub struct BearerToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        _: &S,
    ) -> std::result::Result<Self, Self::Rejection> {
        Ok(BearerToken(bearer(parts)?))
    }
}

/// The client's address for rate limits: the peer's, or on a connection from a trusted proxy
/// the one that proxy reports in `trusted_proxy_header` — the rightmost address there that is
/// not itself a trusted proxy, since everything left of it the client could have written.
pub fn client_addr(parts: &Parts, config: &Config) -> String {
    let Some(peer) = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_canonical())
    else {
        return "unknown".into();
    };
    let trusted = |ip: &std::net::IpAddr| config.trusted_proxies.iter().any(|n| n.contains(ip));
    let Some(name) = config.trusted_proxy_header.as_deref() else {
        return peer.to_string();
    };
    if !trusted(&peer) {
        return peer.to_string();
    }
    let reported: Vec<&str> = parts
        .headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in reported.iter().rev() {
        match hop.parse::<std::net::IpAddr>() {
            Ok(ip) if trusted(&ip.to_canonical()) => client = ip.to_canonical(),
            Ok(ip) => return ip.to_canonical().to_string(),
            // A malformed hop: the last trusted one is the best we know.
            Err(_) => break,
        }
    }
    client.to_string()
}

pub struct ClientAddr(pub String);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> std::result::Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_addr(parts, &state.config)))
    }
}

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
    match sqlx::query("SELECT 1").execute(state.db.pool()).await {
        Ok(_) => (
            StatusCode::OK,
            Json(json!({"status": "ok", "grids": state.locate.load().len()})),
        )
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "reason": e.to_string()})),
        )
            .into_response(),
    }
}

/// Unknown paths: a bare 404, shaped by [`shape_errors`] for where it was asked.
async fn not_found() -> (StatusCode, &'static str) {
    (StatusCode::NOT_FOUND, "no such endpoint")
}

/// How a module answers errors under its own paths (Open311 has its own error format).
#[derive(Clone, Copy)]
pub struct ErrorShape {
    /// Paths that start with this are the module's.
    pub prefix: &'static str,
    pub render: fn(path: &str, status: StatusCode, message: &str) -> Response,
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
    let shapes = state.registered.get().map(|r| r.error_shapes.as_slice());
    let mut shaped = if path.starts_with("/api/") {
        let code = match status {
            StatusCode::BAD_REQUEST if message.starts_with("Invalid URL") => "invalid_path",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            s if s.is_server_error() => "internal",
            _ => "invalid_request",
        };
        ApiError::new(status, code, message).into_response()
    } else if let Some(shape) = shapes
        .unwrap_or_default()
        .iter()
        .find(|s| path.starts_with(s.prefix))
    {
        (shape.render)(&path, status, &message)
    } else {
        error_page(status, &message)
    };
    *shaped.status_mut() = status;
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        shaped.headers_mut().insert(header::ALLOW, allow.clone());
    }
    shaped
}

/// A plain error page in Chinese and English, with what went wrong (escaped) for a client error;
/// no script and no inline style, so it stands under the pages' Content-Security-Policy.
fn error_page(status: StatusCode, detail: &str) -> Response {
    let (zh, en) = match status {
        StatusCode::NOT_FOUND => ("页面不存在", "There is no such page"),
        StatusCode::METHOD_NOT_ALLOWED => ("不支持此操作", "This page does not accept that method"),
        StatusCode::PAYLOAD_TOO_LARGE => ("提交的内容过大", "What was sent is too large"),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ("无权访问", "You may not see this"),
        s if s.is_server_error() => (
            "服务器出错，已记录",
            "Something went wrong on our side; it has been logged",
        ),
        _ => ("请求有误", "The request could not be understood"),
    };
    let code = status.as_u16();
    // What the router or a page said (a form's missing field, an import's bad row), as text.
    let detail = if status.is_client_error() {
        let mut escaped = String::with_capacity(detail.len());
        for c in detail.chars() {
            match c {
                '<' => escaped.push_str("&lt;"),
                '>' => escaped.push_str("&gt;"),
                '&' => escaped.push_str("&amp;"),
                '"' => escaped.push_str("&quot;"),
                '\'' => escaped.push_str("&#39;"),
                c => escaped.push(c),
            }
        }
        format!("<p><code>{escaped}</code></p>")
    } else {
        String::new()
    };
    let html = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{code} {zh}</title><link rel=\"stylesheet\" href=\"/static/app.css\"></head>\
         <body><main><h1>{zh}</h1><p lang=\"en\">{en} ({code})</p>{detail}\
         <p><a href=\"/\">返回首页</a> · <a href=\"/\" lang=\"en\">Home</a></p></main></body></html>"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
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

/// Runs each request in its own task, so a client that goes away cannot cancel a write half-way:
/// a cancelled transaction can leave a pooled SQLite connection inside it (an upstream sqlx
/// cancel-safety gap), failing later writes. The request finishes, commits or rolls back.
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
    // A second app on the same state registers the same modules: the first set stands.
    let _ = state.registered.set(registered);
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
        .layer(axum::middleware::from_fn(run_to_completion))
        .layer(axum::middleware::from_fn(track_metrics))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(headers::SecurityHeaders::from_config(&state.config)),
            headers::security_headers,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state);
    (router, openapi)
}
