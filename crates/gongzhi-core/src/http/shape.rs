//! Errors in the shape of where they were asked: the API's JSON, a module's own format, or a
//! plain page. Used by the app's fallback and by load shedding.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::ApiError;
use crate::state::AppState;

/// An error in the shape of where it was asked: the API's JSON (with `code`) under `/api/`, a
/// module's own format under its prefix, an error page elsewhere.
pub(crate) fn shaped_error(
    state: &AppState,
    path: &str,
    status: StatusCode,
    code: &str,
    message: &str,
) -> Response {
    let mut shaped = if path.starts_with("/api/") {
        ApiError::new(status, code, message).into_response()
    } else if let Some(shape) = state
        .error_shapes()
        .iter()
        .find(|s| path.starts_with(s.prefix))
    {
        (shape.render)(path, status, message)
    } else {
        error_page(status, message)
    };
    *shaped.status_mut() = status;
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
        StatusCode::SERVICE_UNAVAILABLE => (
            "服务器繁忙，请稍后再试",
            "The server is busy; please try again in a moment",
        ),
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
