//! The HTTP edge every module's handlers share: the error shape
//! `{"error":{"code","message","details"}}`, the extractors that turn bad input into that shape
//! or name the caller, and the security headers. The app that mounts the modules' routes lives
//! in `app.rs`, the state every handler is given in `state.rs`.

pub mod headers;
pub mod params;
pub(crate) mod shape;
pub mod shed;

use std::net::SocketAddr;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::config::Config;
use crate::identity::{actor_for_token, Actor};
use crate::state::AppState;
use crate::Error;

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
