//! Open311 GeoReport v2 over the cases module: any Open311 client can list services (the public
//! categories), submit requests (through the same intake as every channel: locate, route,
//! deadlines, audit) and follow them. JSON as bare arrays, XML with the specification's element
//! names, errors as `errors/error{code,description}`. Only public cases are listed or served, and
//! of them only what `gongzhi_cases::rules::publicity` makes public: the location rounded to a grid,
//! the description or staff's redaction of it, approved photos (without their metadata); the
//! address only when staff approved it, reporters' personal data never.

pub mod attributes;
pub mod demo;
pub mod form;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use sqlx::Row;
use utoipa_axum::router::OpenApiRouter;

use gongzhi_cases::model::catalog::Category;
use gongzhi_cases::model::publicity::{Original, Shown};
use gongzhi_cases::model::{Channel, Kind, NewCase};
use gongzhi_cases::rules::publicity::{public_photo, shown};
use gongzhi_cases::rules::workflow::Status;
use gongzhi_cases::store::catalog;
use gongzhi_cases::store::publicity::{self, PUBLIC_CASE_IDS};
use gongzhi_core::db::{opt_text, Db, Migration};
use gongzhi_core::http::AppState;
use gongzhi_core::identity::{Actor, ActorKind, Assignment, Role};
use gongzhi_core::module::{DemoFuture, Module};
use gongzhi_core::time::{format_ms, now_ms};

use form::{Params, RequestForm, RequestQuery, UpdateForm};
use gongzhi_core::{audit, Error, Result};

pub struct Open311;

impl Module for Open311 {
    fn name(&self) -> &'static str {
        "open311"
    }
    fn migrations(&self) -> &'static [Migration] {
        MIGRATIONS
    }
    fn demo<'a>(&'a self, demo: &'a gongzhi_core::demo::Demo<'a>) -> DemoFuture<'a> {
        Box::pin(demo::seed(demo))
    }
    fn error_shape(&self) -> Option<gongzhi_core::http::ErrorShape> {
        // What the router answers by itself (405, 413, a bad path) in GeoReport's error format.
        Some(gongzhi_core::http::ErrorShape {
            prefix: "/open311/",
            render: |path, status, message| {
                let f = if path.ends_with(".xml") {
                    Format::Xml
                } else {
                    Format::Json
                };
                error(f, status, status.as_str(), message)
            },
        })
    }
    fn api(&self) -> OpenApiRouter<AppState> {
        // The GeoReport paths are the specification's, not part of our OpenAPI document.
        OpenApiRouter::new()
            .route("/open311/v2/{file}", get(top).post(post_top))
            .route("/open311/v2/services/{file}", get(service_definition))
            .route("/open311/v2/requests/{file}", get(one_request))
            .route("/open311/v2/tokens/{file}", get(token))
            .route("/open311/v2/media/{id}", get(media))
            .route(
                "/api/v1/open311/services/{code}/attributes",
                axum::routing::put(put_attributes),
            )
            .layer(axum::extract::DefaultBodyLimit::max(
                gongzhi_core::attachments::MAX_BYTES + 64 * 1024,
            ))
    }
}

pub const MIGRATIONS: &[Migration] = &[OPEN311_0001, OPEN311_0002];

const OPEN311_0002: Migration = Migration {
    id: "open311-0002-attributes",
    sql: r#"
CREATE TABLE open311_attributes (service_code TEXT PRIMARY KEY, definition TEXT NOT NULL)
"#,
};

const OPEN311_0001: Migration = Migration {
    id: "open311-0001",
    sql: r#"
CREATE TABLE open311_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE TABLE open311_updates (
    update_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    status TEXT NOT NULL,
    description TEXT NOT NULL,
    media_url TEXT,
    updated_at BIGINT NOT NULL,
    client TEXT NOT NULL
)
"#,
};

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Json,
    Xml,
}

/// `services.json` → ("services", Json); anything else is a 404.
fn split(file: &str) -> std::result::Result<(&str, Format), Response> {
    if let Some(b) = file.strip_suffix(".json") {
        Ok((b, Format::Json))
    } else if let Some(b) = file.strip_suffix(".xml") {
        Ok((b, Format::Xml))
    } else {
        Err(error(
            Format::Json,
            StatusCode::NOT_FOUND,
            "404",
            "use .json or .xml",
        ))
    }
}

fn error(f: Format, status: StatusCode, code: &str, description: &str) -> Response {
    let items = vec![json!({"code": code, "description": description})];
    (status, render(f, "errors", "error", &items)).into_response()
}

fn from_error(f: Format, e: &Error) -> Response {
    let (status, code) = match e {
        Error::NotFound { .. } => (StatusCode::NOT_FOUND, "404"),
        Error::Forbidden(_) | Error::Unauthenticated(_) => (StatusCode::FORBIDDEN, "403"),
        Error::Storage(_) | Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "500"),
        _ => (StatusCode::BAD_REQUEST, "400"),
    };
    error(f, status, code, &e.to_string())
}

/// A body in the asked format: JSON as given (arrays stay bare), XML as `<root><item>…`.
fn render(f: Format, root: &str, item: &str, items: &[Value]) -> Response {
    match f {
        Format::Json => axum::Json(Value::Array(items.to_vec())).into_response(),
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
            out.push_str(&format!("<{root}>"));
            for v in items {
                xml_element(&mut out, item, v);
            }
            out.push_str(&format!("</{root}>"));
            ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], out).into_response()
        }
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// One element; arrays become repeated children named by the singular the spec uses.
fn xml_element(out: &mut String, name: &str, v: &Value) {
    match v {
        Value::Null => out.push_str(&format!("<{name}/>")),
        Value::Object(m) => {
            out.push_str(&format!("<{name}>"));
            for (k, v) in m {
                xml_element(out, k, v);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Array(items) => {
            let child = match name {
                "attributes" => "attribute",
                "values" => "value",
                "endpoints" => "endpoint",
                "formats" => "format",
                "keywords" => "keyword",
                _ => "item",
            };
            out.push_str(&format!("<{name}>"));
            for i in items {
                xml_element(out, child, i);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(s) => out.push_str(&format!("<{name}>{}</{name}>", xml_escape(s))),
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

/// `jurisdiction_id`, when given, must be one of ours: a district's code.
async fn check_jurisdiction(db: &Db, p: &Params) -> Result<()> {
    let Some(j) = p.get("jurisdiction_id") else {
        return Ok(());
    };
    let known = sqlx::query("SELECT code FROM areas WHERE level = 'district' AND code = $1")
        .bind(j)
        .fetch_optional(db.pool())
        .await?;
    match known {
        Some(_) => Ok(()),
        None => Err(Error::invalid(
            "unknown_jurisdiction",
            format!("jurisdiction_id {j} is not served here"),
        )),
    }
}

fn category_is_service(c: &Category) -> bool {
    c.public && c.parent_code.is_some()
}

async fn services(db: &Db) -> Result<Vec<Value>> {
    let all = catalog::list(db).await?;
    let defined = attributes::defined(db).await?;
    Ok(all
        .iter()
        .filter(|c| category_is_service(c))
        .map(|c| {
            let group = all
                .iter()
                .find(|g| Some(&g.code) == c.parent_code.as_ref())
                .map(|g| g.name.clone())
                .unwrap_or_default();
            json!({
                "service_code": c.code, "service_name": c.name,
                "description": if c.filing_condition.is_empty() { c.name.clone() } else { c.filing_condition.clone() },
                "metadata": defined.contains(&c.code), "type": "realtime",
                "keywords": format!("{},{}", group, c.name), "group": group,
            })
        })
        .collect())
}

async fn top(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let (name, f) = match split(&file) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let params = match Params::parse(q.as_deref(), b"", None) {
        Ok(p) => p,
        Err(e) => return from_error(f, &e),
    };
    if let Err(e) = check_jurisdiction(&state.db, &params).await {
        return from_error(f, &e);
    }
    let result = match name {
        "discovery" => {
            let d = json!({
                "changeset": "2026-11-23T00:00:00+08:00", "contact": "gongzhi", "key_service": "gongzhi open311 key add --name NAME",
                "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2", "url": "/open311/v2",
                    "changeset": "2026-11-23T00:00:00+08:00", "type": "production", "formats": ["application/json", "text/xml"]}]
            });
            return match f {
                Format::Json => axum::Json(d).into_response(),
                Format::Xml => {
                    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
                    xml_element(&mut out, "discovery", &d);
                    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], out).into_response()
                }
            };
        }
        "services" => services(&state.db)
            .await
            .map(|s| render(f, "services", "service", &s)),
        "requests" => list_requests(&state, &params)
            .await
            .map(|r| render(f, "service_requests", "request", &r)),
        "servicerequestupdates" => list_updates(&state.db, &params)
            .await
            .map(|r| render(f, "service_request_updates", "request_update", &r)),
        _ => return error(f, StatusCode::NOT_FOUND, "404", "no such resource"),
    };
    result.unwrap_or_else(|e| from_error(f, &e))
}

async fn service_definition(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let (code, f) = match split(&file) {
        Ok(x) => x,
        Err(r) => return r,
    };
    match catalog::get(&state.db, code).await {
        Ok(c) if category_is_service(&c) => {
            let attrs = match attributes::of(&state.db, &c.code).await {
                Ok(a) => a,
                Err(e) => return from_error(f, &e),
            };
            let d = attributes::definition(&c.code, &attrs);
            match f {
                Format::Json => axum::Json(d).into_response(),
                Format::Xml => {
                    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
                    xml_element(&mut out, "service_definition", &d);
                    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], out).into_response()
                }
            }
        }
        _ => error(
            f,
            StatusCode::NOT_FOUND,
            "404",
            &format!("no service {code}"),
        ),
    }
}

fn status_of(s: &str) -> &'static str {
    match Status::parse(s) {
        Some(st) if st.is_open() => "open",
        _ => "closed",
    }
}

/// A public request: `shown` is what publicity lets the public see of the case.
fn request_json(r: &sqlx::any::AnyRow, names: &Map<String, Value>, shown: &Shown) -> Result<Value> {
    let category: String = r.try_get("category_code")?;
    let status: String = r.try_get("status")?;
    // The client's own media URL, else our first approved photo.
    let media_url = opt_text(r, "media_url")?.or_else(|| {
        shown
            .photos
            .first()
            .map(|id| format!("/open311/v2/media/{id}"))
    });
    Ok(json!({
        "service_request_id": r.try_get::<String, _>("number")?,
        "status": status_of(&status),
        "status_notes": status,
        "service_name": names.get(&category).cloned().unwrap_or(Value::Null),
        "service_code": category,
        "description": shown.description,
        "agency_responsible": opt_text(r, "unit_code")?,
        "service_notice": Value::Null,
        "requested_datetime": format_ms(r.try_get("created_at")?),
        "updated_datetime": format_ms(r.try_get("updated_at")?),
        "expected_datetime": r.try_get::<Option<i64>, _>("handle_deadline")?.map(format_ms),
        "address": shown.address,
        "address_id": Value::Null,
        "zipcode": Value::Null,
        "lat": shown.lat,
        "long": shown.lng,
        "media_url": media_url,
    }))
}

/// What a request is made of, before publicity decides what of it is shown; `media_url` is the
/// Open311 client's own.
const REQUEST_COLUMNS: &str = "id, number, category_code, status, description, unit_code, created_at, updated_at, handle_deadline, address, \
    CAST(lat AS TEXT) AS lat_text, CAST(lng AS TEXT) AS lng_text, \
    (SELECT x.data FROM case_extras x WHERE x.case_id = cases.id AND x.kind = 'open311_media_url') AS media_url";

async fn names(db: &Db) -> Result<(Map<String, Value>, Vec<String>)> {
    let all = catalog::list(db).await?;
    let public: Vec<String> = all
        .iter()
        .filter(|c| category_is_service(c))
        .map(|c| c.code.clone())
        .collect();
    Ok((
        all.into_iter()
            .map(|c| (c.code, Value::String(c.name)))
            .collect(),
        public,
    ))
}

/// Public requests in public categories (only those are services), newest first.
async fn list_requests(state: &AppState, p: &Params) -> Result<Vec<Value>> {
    let db = &state.db;
    let (names, public) = names(db).await?;
    let mut clauses = vec![
        format!(
            "category_code IN ({})",
            public
                .iter()
                .map(|c| format!("'{}'", c.replace('\'', "")))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!("id IN ({PUBLIC_CASE_IDS})"),
    ];
    let query = RequestQuery::parse(p, now_ms())?;
    let mut args: Vec<Value> = Vec::new();
    let bind = |v: Value, args: &mut Vec<Value>| {
        args.push(v);
        format!("${}", args.len())
    };
    if let Some(numbers) = &query.numbers {
        let ph: Vec<String> = numbers.iter().map(|i| bind(json!(i), &mut args)).collect();
        clauses.push(format!("number IN ({})", ph.join(", ")));
    } else {
        if !query.service_codes.is_empty() {
            let ph: Vec<String> = query
                .service_codes
                .iter()
                .map(|s| bind(json!(s), &mut args))
                .collect();
            clauses.push(format!("category_code IN ({})", ph.join(", ")));
        }
        if let Some(s) = query.created_from {
            clauses.push(format!("created_at >= {}", bind(json!(s), &mut args)));
        }
        if let Some(e) = query.created_to {
            clauses.push(format!("created_at <= {}", bind(json!(e), &mut args)));
        }
        if let Some(u) = query.updated_after {
            clauses.push(format!("updated_at > {}", bind(json!(u), &mut args)));
        }
        if let Some(u) = query.updated_before {
            clauses.push(format!("updated_at < {}", bind(json!(u), &mut args)));
        }
        let closed_set = "('closed', 'called_back', 'cancelled', 'merged')";
        match query.open {
            Some(true) => clauses.push(format!("status NOT IN {closed_set}")),
            Some(false) => clauses.push(format!("status IN {closed_set}")),
            None => {}
        }
    }
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM cases WHERE {} ORDER BY created_at DESC, number LIMIT {} OFFSET {}",
        clauses.join(" AND "),
        query.limit,
        query.offset
    );
    let mut q = sqlx::query(&sql);
    for a in &args {
        q = match a {
            Value::Number(n) => q.bind(n.as_i64()),
            other => q.bind(other.as_str().unwrap_or("").to_string()),
        };
    }
    let rows = q.fetch_all(db.pool()).await?;
    let ids = rows
        .iter()
        .map(|r| r.try_get::<String, _>("id"))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let publications = publicity::of(db, &ids).await?;
    let precision = state.config.open311_public_precision_m;
    let extensions = query.extensions;
    let mut out = Vec::with_capacity(rows.len());
    for (r, id) in rows.iter().zip(&ids) {
        let coordinate =
            |k: &str| -> Result<Option<f64>> { Ok(opt_text(r, k)?.and_then(|v| v.parse().ok())) };
        let description: String = r.try_get("description")?;
        let address = opt_text(r, "address")?;
        let Some(publication) = publications.get(id) else {
            continue;
        };
        let original = Original {
            description: &description,
            lat: coordinate("lat_text")?,
            lng: coordinate("lng_text")?,
            address: address.as_deref(),
            photos: &publication.photos_public,
        };
        let Some(shown) = shown(publication, &original, precision) else {
            continue;
        };
        let mut v = request_json(r, &names, &shown)?;
        if extensions {
            v["extended_attributes"] =
                json!({"notes": notes(db, &r.try_get::<String, _>("id")?).await?});
        }
        out.push(v);
    }
    Ok(out)
}

/// The public timeline of a case: steps and their times (notes of staff and reporters are not
/// public; outside systems' updates are).
async fn notes(db: &Db, case_id: &str) -> Result<Vec<Value>> {
    let rows =
        sqlx::query("SELECT step, at, note FROM case_events WHERE case_id = $1 ORDER BY at, id")
            .bind(case_id)
            .fetch_all(db.pool())
            .await?;
    rows.iter()
        .map(|r| {
            let step: String = r.try_get("step")?;
            let note = if step == "open311_update" {
                opt_text(r, "note")?
            } else {
                None
            };
            Ok(json!({"step": step, "at": format_ms(r.try_get("at")?), "note": note}))
        })
        .collect()
}

/// Updates: each step of the loop and each outside system's update, on public requests.
async fn list_updates(db: &Db, p: &Params) -> Result<Vec<Value>> {
    let (_, public) = names(db).await?;
    let (after, before) = form::updates_window(p, now_ms())?;
    let in_list = public
        .iter()
        .map(|c| format!("'{}'", c.replace('\'', "")))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(&format!(
        "SELECT e.id, e.step, e.at, e.note, c.number, c.status, c.id AS case_id FROM case_events e JOIN cases c ON c.id = e.case_id \
         WHERE c.category_code IN ({in_list}) AND c.id IN ({PUBLIC_CASE_IDS}) AND e.at >= $1 AND e.at <= $2 ORDER BY e.at, e.id LIMIT 1000"
    ))
    .bind(after)
    .bind(before)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let step: String = r.try_get("step")?;
            let closed = matches!(step.as_str(), "close" | "call_back" | "cancel" | "merge");
            let description = if step == "open311_update" {
                opt_text(r, "note")?.unwrap_or_default()
            } else {
                step.clone()
            };
            Ok(json!({
                "update_id": r.try_get::<String, _>("id")?,
                "service_request_id": r.try_get::<String, _>("number")?,
                "status": if closed { "closed" } else { "open" },
                "updated_datetime": format_ms(r.try_get("at")?),
                "description": description,
                "media_url": Value::Null,
            }))
        })
        .collect()
}

async fn one_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let (id, f) = match split(&file) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut p = match Params::parse(q.as_deref(), b"", Some("none")) {
        Ok(p) => p,
        Err(e) => return from_error(f, &e),
    };
    if let Err(e) = check_jurisdiction(&state.db, &p).await {
        return from_error(f, &e);
    }
    // The path names the request; it overrides any filter in the query.
    p.0.retain(|(k, _)| k == "extensions");
    p.0.push(("service_request_id".into(), id.to_string()));
    match list_requests(&state, &p).await {
        Ok(items) if !items.is_empty() => render(f, "service_requests", "request", &items),
        Ok(_) => error(f, StatusCode::NOT_FOUND, "404", &format!("no request {id}")),
        Err(e) => from_error(f, &e),
    }
}

async fn token(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let (t, f) = match split(&file) {
        Ok(x) => x,
        Err(r) => return r,
    };
    // A withdrawn request's token answers like an unknown one.
    let row = sqlx::query(&format!(
        "SELECT c.number FROM case_extras x JOIN cases c ON c.id = x.case_id WHERE x.kind = 'open311_token' AND x.data = $1 AND c.id IN ({PUBLIC_CASE_IDS})",
    ))
    .bind(t)
    .fetch_optional(state.db.pool())
    .await;
    match row {
        Ok(Some(r)) => {
            let number: String = r.try_get(0).unwrap_or_default();
            render(
                f,
                "service_requests",
                "request",
                &[json!({"service_request_id": number, "token": t})],
            )
        }
        Ok(None) => error(f, StatusCode::NOT_FOUND, "404", "no such token"),
        Err(e) => from_error(f, &e.into()),
    }
}

fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(format!("open311:{key}").as_bytes()))
}

/// The client behind an API key, as an actor that may report in public categories only.
async fn client_of(db: &Db, key: Option<&str>) -> Result<Actor> {
    let key = key.ok_or_else(|| Error::Forbidden("api_key is required".into()))?;
    let row =
        sqlx::query("SELECT name FROM open311_keys WHERE key_hash = $1 AND revoked_at IS NULL")
            .bind(key_hash(key))
            .fetch_optional(db.pool())
            .await?
            .ok_or_else(|| Error::Forbidden("the api_key is unknown or revoked".into()))?;
    let name: String = row.try_get(0)?;
    Ok(Actor {
        kind: ActorKind::System,
        user_id: None,
        username: format!("open311:{name}"),
        assignments: vec![Assignment {
            role: Role::RESIDENT,
            area: None,
            unit: None,
        }],
    })
}

async fn post_top(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (name, f) = match split(&file) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if name != "requests" && name != "servicerequestupdates" {
        return error(f, StatusCode::NOT_FOUND, "404", "no such resource");
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let (p, media) = if ct
        .as_deref()
        .is_some_and(|c| c.starts_with("multipart/form-data"))
    {
        match multipart(&state, q.as_deref(), headers, body).await {
            Ok(x) => x,
            Err(e) => return from_error(f, &e),
        }
    } else {
        match Params::parse(q.as_deref(), &body, ct.as_deref()) {
            Ok(p) => (p, None),
            Err(e) => return from_error(f, &e),
        }
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
            &[
                json!({"service_request_id": number, "token": token, "service_notice": Value::Null, "account_id": Value::Null}),
            ],
        ),
        Err(e) => from_error(f, &e),
    }
}

/// A multipart body: its text fields with the query's, and the `media` file if any.
async fn multipart(
    state: &AppState,
    query: Option<&str>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(Params, Option<(Option<String>, Bytes)>)> {
    let mut req = axum::http::Request::new(axum::body::Body::from(body));
    *req.headers_mut() = headers;
    let mut form =
        <axum::extract::Multipart as axum::extract::FromRequest<AppState>>::from_request(
            req, state,
        )
        .await
        .map_err(|e| Error::invalid("invalid_multipart", e.body_text()))?;
    let mut params = Params::parse(query, b"", Some("none"))?;
    let mut media = None;
    let bad = |e: axum::extract::multipart::MultipartError| {
        Error::invalid("invalid_multipart", e.body_text())
    };
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        if name == "media" {
            let ct = field.content_type().map(String::from);
            // An empty `media` is refused with the other bad photos (attachments::check).
            media = Some((ct, field.bytes().await.map_err(bad)?));
        } else {
            let v = form::field_text(&field.bytes().await.map_err(bad)?)?;
            if !v.trim().is_empty() {
                params.0.push((name, v));
            }
        }
    }
    Ok((params, media))
}

async fn create(
    state: &AppState,
    p: &Params,
    media: Option<(Option<String>, Bytes)>,
) -> Result<(String, String)> {
    let actor = client_of(&state.db, p.get("api_key")).await?;
    let form = RequestForm::parse(p)?;
    let category = catalog::get(&state.db, &form.service_code)
        .await
        .ok()
        .filter(category_is_service)
        .ok_or_else(|| {
            Error::invalid(
                "unknown_service",
                format!("no service {}", form.service_code),
            )
        })?;
    let attribute_values =
        attributes::check_values(&attributes::of(&state.db, &category.code).await?, &p.0)?;
    // The photo is checked before anything is stored, and stored before the case that uses it.
    if let Some((ct, bytes)) = &media {
        gongzhi_core::attachments::check(ct.as_deref(), bytes)?;
    }
    let input = NewCase {
        kind: Kind::Report,
        category: category.code.clone(),
        description: if form.description.is_empty() {
            category.name.clone()
        } else {
            form.description
        },
        location: form.location,
        address: form.address,
        channel: Channel::Open311,
        reporter: Some(form.reporter),
        photos: vec![],
        // GeoReport v2 has no private request: whatever a client posts, every client reads
        // back. Posting is publishing, the photo included (see `publicity`).
        public: Some(true),
        photos_public: true,
        extras: vec![],
    };
    let mut input = input;
    if let Some((ct, bytes)) = &media {
        input.photos = vec![
            gongzhi_core::attachments::upload(&state.db, &actor, ct.as_deref(), bytes)
                .await?
                .id,
        ];
    }
    // The token, the client's media URL and the attribute values are written in the case's own
    // transaction: a request is whole or absent.
    let token = uuid::Uuid::new_v4().to_string();
    input.extras.push(("open311_token".into(), token.clone()));
    if let Some(u) = &form.media_url {
        input.extras.push(("open311_media_url".into(), u.clone()));
    }
    if !attribute_values.is_empty() {
        input.extras.push((
            "open311_attributes".into(),
            attributes::values_json(&attribute_values),
        ));
    }
    let index = state.locate.load();
    let (case, _) = gongzhi_cases::commands::create_case(
        &state.db,
        &state.sealer,
        &index,
        &actor,
        &input,
        None,
    )
    .await?;
    Ok((case.number, token))
}

/// An outside system's update on a request (FixMyStreet's extension): a note on the case's
/// timeline; a repeated `update_id` is refused.
async fn add_update(state: &AppState, p: &Params) -> Result<Value> {
    let actor = client_of(&state.db, p.get("api_key")).await?;
    let UpdateForm {
        service_request_id: number,
        update_id,
        status,
        updated_at: at,
        description,
        media_url,
    } = UpdateForm::parse(p)?;
    let (update_id, description) = (update_id.as_str(), description.as_str());
    let (_, public) = names(&state.db).await?;
    let row = sqlx::query(&format!(
        "SELECT id, category_code FROM cases WHERE number = $1 AND id IN ({PUBLIC_CASE_IDS})"
    ))
    .bind(&number)
    .fetch_optional(state.db.pool())
    .await?
    .filter(|r| {
        r.try_get::<String, _>("category_code")
            .is_ok_and(|c| public.contains(&c))
    })
    .ok_or_else(|| Error::not_found(format!("request {number}")))?;
    let case_id: String = row.try_get("id")?;
    let mut tx = state.db.begin_write().await?;
    let inserted = sqlx::query("INSERT INTO open311_updates (update_id, case_id, status, description, media_url, updated_at, client) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(update_id)
        .bind(&case_id)
        .bind(&status)
        .bind(description)
        .bind(&media_url)
        .bind(at)
        .bind(actor.label())
        .execute(tx.conn())
        .await;
    if let Err(e) = inserted {
        let e: Error = e.into();
        return Err(if e.is_unique_violation() {
            Error::invalid(
                "duplicate_update_id",
                format!("update_id {update_id} was already received"),
            )
        } else {
            e
        });
    }
    let now = now_ms();
    gongzhi_cases::store::cases::add_event(
        &mut tx,
        &case_id,
        now,
        &actor,
        "open311_update",
        Some(description),
        &json!({"update_id": update_id, "status": status}),
    )
    .await?;
    audit::append(
        &mut tx,
        &actor,
        "open311.update",
        &format!("case:{case_id}"),
        &json!({"update_id": update_id, "status": status}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(
        json!({"update_id": update_id, "service_request_id": number, "status": status,
              "updated_datetime": format_ms(at), "description": description, "media_url": media_url}),
    )
}

/// A photo approved to be public (or sent through Open311 to be seen) on a public request in a
/// public category, without its metadata; every other photo answers as unknown.
async fn media(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let not_found = || error(Format::Json, StatusCode::NOT_FOUND, "404", "no such media");
    let Ok(Some(case_id)) = publicity::public_photo_case(&state.db, &id).await else {
        return not_found();
    };
    let Ok((ct, _, _, bytes)) = gongzhi_core::attachments::read(&state.db, &id).await else {
        return not_found();
    };
    let public = match (
        sqlx::query("SELECT category_code FROM cases WHERE id = $1")
            .bind(&case_id)
            .fetch_optional(state.db.pool())
            .await,
        names(&state.db).await,
    ) {
        (Ok(Some(r)), Ok((_, public))) => {
            r.try_get::<String, _>(0).is_ok_and(|c| public.contains(&c))
        }
        _ => false,
    };
    if !public {
        return not_found();
    }
    // A photo whose metadata cannot be stripped is not served.
    match public_photo(&ct, bytes) {
        Ok(bytes) => gongzhi_core::attachments::respond(ct, bytes),
        Err(_) => not_found(),
    }
}

/// Sets a service's attributes (administrators); an empty list removes the definition.
async fn put_attributes(
    State(state): State<AppState>,
    gongzhi_core::http::Authed(actor): gongzhi_core::http::Authed,
    Path(code): Path<String>,
    gongzhi_core::http::ApiJson(attrs): gongzhi_core::http::ApiJson<Vec<attributes::Attribute>>,
) -> std::result::Result<axum::Json<Vec<attributes::Attribute>>, gongzhi_core::http::ApiError> {
    attributes::save(&state.db, &actor, &code, &attrs).await?;
    Ok(axum::Json(attributes::of(&state.db, &code).await?))
}

/// `gongzhi open311 key add`: a new key, shown once, stored as its hash.
pub async fn add_key(db: &Db, actor: &Actor, name: &str) -> Result<String> {
    if name.trim().is_empty() {
        return Err(Error::invalid("invalid_name", "a key needs a name"));
    }
    let key = hex::encode(rand::random::<[u8; 24]>());
    let id = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO open311_keys (id, name, key_hash, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&id)
    .bind(name.trim())
    .bind(key_hash(&key))
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    audit::append(
        &mut tx,
        actor,
        "open311.key_add",
        &format!("open311_key:{id}"),
        &json!({"name": name}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(key)
}

/// Keys as (id, name, created, revoked).
pub async fn list_keys(db: &Db) -> Result<Vec<(String, String, String, Option<String>)>> {
    let rows = sqlx::query(
        "SELECT id, name, created_at, revoked_at FROM open311_keys ORDER BY created_at",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("name")?,
                format_ms(r.try_get("created_at")?),
                r.try_get::<Option<i64>, _>("revoked_at")?.map(format_ms),
            ))
        })
        .collect()
}

pub async fn revoke_key(db: &Db, actor: &Actor, id: &str) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let done =
        sqlx::query("UPDATE open311_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(id)
            .execute(tx.conn())
            .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found("open311 key"));
    }
    audit::append(
        &mut tx,
        actor,
        "open311.key_revoke",
        &format!("open311_key:{id}"),
        &json!({}),
        None,
    )
    .await?;
    tx.commit().await
}
