//! Answers in the format a client asked for by the path's ending (`.json` or `.xml`), errors
//! as GeoReport's `errors/error{code,description}`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use gongzhi_core::Error;

use super::xml;

#[derive(Clone, Copy, PartialEq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// The format an error on `path` answers in: XML for a `.xml` path, else JSON.
    pub fn of_path(path: &str) -> Format {
        if path.ends_with(".xml") {
            Format::Xml
        } else {
            Format::Json
        }
    }
}

/// `services.json` → ("services", Json); anything else is none (answer [`wrong_ending`]).
pub fn split(file: &str) -> Option<(&str, Format)> {
    if let Some(b) = file.strip_suffix(".json") {
        Some((b, Format::Json))
    } else {
        file.strip_suffix(".xml").map(|b| (b, Format::Xml))
    }
}

/// The answer to a path that is neither `.json` nor `.xml`.
pub fn wrong_ending() -> Response {
    not_found(Format::Json, "use .json or .xml")
}

pub fn error(f: Format, status: StatusCode, code: &str, description: &str) -> Response {
    let items = vec![json!({"code": code, "description": description})];
    (status, render(f, "errors", "error", &items)).into_response()
}

pub fn not_found(f: Format, description: &str) -> Response {
    error(f, StatusCode::NOT_FOUND, "404", description)
}

pub fn from_error(f: Format, e: &Error) -> Response {
    let (status, code) = match e {
        Error::NotFound { .. } => (StatusCode::NOT_FOUND, "404"),
        Error::Forbidden(_) | Error::Unauthenticated(_) => (StatusCode::FORBIDDEN, "403"),
        Error::Storage(_) | Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "500"),
        _ => (StatusCode::BAD_REQUEST, "400"),
    };
    error(f, status, code, &e.to_string())
}

/// A list in the asked format: JSON as given (arrays stay bare), XML as `<root><item>…`.
pub fn render(f: Format, root: &str, item: &str, items: &[Value]) -> Response {
    match f {
        Format::Json => axum::Json(Value::Array(items.to_vec())).into_response(),
        Format::Xml => xml_response(xml::list(root, item, items)),
    }
}

/// One document in the asked format (discovery, a service definition).
pub fn render_one(f: Format, name: &str, v: &Value) -> Response {
    match f {
        Format::Json => axum::Json(v.clone()).into_response(),
        Format::Xml => xml_response(xml::document(name, v)),
    }
}

fn xml_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}
