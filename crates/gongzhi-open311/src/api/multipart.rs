//! A multipart `POST requests`: its text fields with the query's, and the `media` file if any.

use axum::body::Bytes;
use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, Multipart};
use axum::http::HeaderMap;

use gongzhi_core::state::AppState;
use gongzhi_core::{Error, Result};

use crate::commands::submit_request::Media;
use crate::model::form::{field_text, Params};

pub async fn read(
    state: &AppState,
    query: Option<&str>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(Params, Option<Media>)> {
    let mut req = axum::http::Request::new(axum::body::Body::from(body));
    *req.headers_mut() = headers;
    let mut form = <Multipart as FromRequest<AppState>>::from_request(req, state)
        .await
        .map_err(|e| Error::invalid("invalid_multipart", e.body_text()))?;
    let mut params = Params::parse(query, b"", Some("none"))?;
    let mut media = None;
    let bad = |e: MultipartError| Error::invalid("invalid_multipart", e.body_text());
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        if name == "media" {
            let ct = field.content_type().map(String::from);
            // An empty `media` is refused with the other bad photos (attachments::check).
            media = Some((ct, field.bytes().await.map_err(bad)?));
        } else {
            let v = field_text(&field.bytes().await.map_err(bad)?)?;
            if !v.trim().is_empty() {
                params.0.push((name, v));
            }
        }
    }
    Ok((params, media))
}
