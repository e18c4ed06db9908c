//! The GeoReport v2 handlers: discovery, services and their definitions, requests (listed,
//! one, by token, posted), updates (listed, posted) and public photos.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use serde_json::json;

use gongzhi_cases::rules::publicity::public_photo;
use gongzhi_cases::store::publicity;
use gongzhi_core::state::AppState;

use super::multipart;
use crate::commands::post_update::add_update;
use crate::commands::submit_request::create;
use crate::georeport::format::{
    from_error, not_found, render, render_one, split, wrong_ending, Format,
};
use crate::georeport::shapes;
use crate::model::form::Params;
use crate::queries::{self, check_jurisdiction, services};

/// A GET's resource and format from its path, and its query; or the answer to give instead.
async fn asked<'a>(
    state: &AppState,
    file: &'a str,
    q: Option<&str>,
    content_type: Option<&str>,
) -> Result<(&'a str, Format, Params), Response> {
    let (name, f) = split(file).ok_or_else(wrong_ending)?;
    let p = Params::parse(q, b"", content_type).map_err(|e| from_error(f, &e))?;
    check_jurisdiction(&state.db, &p)
        .await
        .map_err(|e| from_error(f, &e))?;
    Ok((name, f, p))
}

pub async fn top(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let (name, f, params) = match asked(&state, &file, q.as_deref(), None).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = match name {
        "discovery" => return render_one(f, "discovery", &shapes::discovery()),
        "services" => services::list(&state.db)
            .await
            .map(|s| render(f, "services", "service", &s)),
        "requests" => queries::requests::list(&state, &params)
            .await
            .map(|r| render(f, "service_requests", "request", &r)),
        "servicerequestupdates" => queries::updates::list(&state.db, &params)
            .await
            .map(|r| render(f, "service_request_updates", "request_update", &r)),
        _ => return not_found(f, "no such resource"),
    };
    result.unwrap_or_else(|e| from_error(f, &e))
}

pub async fn service_definition(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Response {
    let Some((code, f)) = split(&file) else {
        return wrong_ending();
    };
    match services::definition(&state.db, code).await {
        Ok(Some(d)) => render_one(f, "service_definition", &d),
        Ok(None) => not_found(f, &format!("no service {code}")),
        Err(e) => from_error(f, &e),
    }
}

pub async fn one_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let (id, f, mut p) = match asked(&state, &file, q.as_deref(), Some("none")).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    // The path names the request; it overrides any filter in the query.
    p.0.retain(|(k, _)| k == "extensions");
    p.0.push(("service_request_id".into(), id.to_string()));
    match queries::requests::list(&state, &p).await {
        Ok(items) if !items.is_empty() => render(f, "service_requests", "request", &items),
        Ok(_) => not_found(f, &format!("no request {id}")),
        Err(e) => from_error(f, &e),
    }
}

pub async fn token(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some((t, f)) = split(&file) else {
        return wrong_ending();
    };
    match queries::requests::number_of_token(&state.db, t).await {
        Ok(Some(number)) => render(
            f,
            "service_requests",
            "request",
            &[json!({"service_request_id": number, "token": t})],
        ),
        Ok(None) => not_found(f, "no such token"),
        Err(e) => from_error(f, &e),
    }
}

pub async fn post_top(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some((name, f)) = split(&file) else {
        return wrong_ending();
    };
    if name != "requests" && name != "servicerequestupdates" {
        return not_found(f, "no such resource");
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let read = if ct
        .as_deref()
        .is_some_and(|c| c.starts_with("multipart/form-data"))
    {
        multipart::read(&state, q.as_deref(), headers, body).await
    } else {
        Params::parse(q.as_deref(), &body, ct.as_deref()).map(|p| (p, None))
    };
    let (p, media) = match read {
        Ok(x) => x,
        Err(e) => return from_error(f, &e),
    };
    if let Err(e) = check_jurisdiction(&state.db, &p).await {
        return from_error(f, &e);
    }
    if name == "servicerequestupdates" {
        return match add_update(&state, &p).await {
            Ok(v) => render(f, "service_request_updates", "request_update", &[v]),
            Err(e) => from_error(f, &e),
        };
    }
    match create(&state, &p, media).await {
        Ok((number, token)) => render(
            f,
            "service_requests",
            "request",
            &[shapes::created(&number, &token)],
        ),
        Err(e) => from_error(f, &e),
    }
}

/// A photo approved to be public (or sent through Open311 to be seen) on a public request in a
/// public category, without its metadata; every other photo answers as unknown.
pub async fn media(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let unknown = || not_found(Format::Json, "no such media");
    let Ok(Some(case_id)) = publicity::public_photo_case(&state.db, &id).await else {
        return unknown();
    };
    let Ok((ct, _, _, bytes)) = gongzhi_core::attachments::read(&state.db, &id).await else {
        return unknown();
    };
    if !queries::requests::in_a_service(&state.db, &case_id)
        .await
        .unwrap_or(false)
    {
        return unknown();
    }
    // A photo whose metadata cannot be stripped is not served.
    match public_photo(&ct, bytes) {
        Ok(bytes) => gongzhi_core::attachments::respond(ct, bytes),
        Err(_) => unknown(),
    }
}
