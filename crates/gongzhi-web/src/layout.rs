//! What every page shares: the layout with the menu and the language toggle, the error box and
//! notices, and the answer to a refused or failed request (an error page with its reason and
//! the status the API would give).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use gongzhi_core::Error;

use crate::i18n::Lang;
use crate::session::Session;

/// A page of the site: header with the user's menu, the language toggle, and the body.
pub fn page(s: Option<&Session>, lang: Lang, title: &str, body: Markup) -> Markup {
    let menu = s.map(|s| s.menu.as_slice()).unwrap_or(&[]);
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (lang.t("共治", "gongzhi")) }
                link rel="stylesheet" href="/static/app.css";
            }
            body {
                header.top {
                    a.brand href="/" { (lang.t("共治 · 基层治理", "gongzhi · co-governance")) }
                    nav aria-label=(lang.t("主导航", "Main")) {
                        @for e in menu {
                            a href=(e.href) { (lang.t(e.zh, e.en)) }
                        }
                    }
                    div.tools {
                        @match lang {
                            Lang::Zh => a #lang-toggle href="/lang?to=en" hreflang="en" { "English" },
                            Lang::En => a #lang-toggle href="/lang?to=zh" hreflang="zh-CN" { "中文" },
                        }
                        @if let Some(s) = s {
                            span.who { (s.actor.username) }
                            form.inline method="post" action="/logout" {
                                input type="hidden" name="_csrf" value=(s.csrf());
                                button.link type="submit" { (lang.t("退出", "Sign out")) }
                            }
                        } @else {
                            a href="/login" { (lang.t("登录", "Sign in")) }
                        }
                    }
                }
                main { h1 { (title) } (body) }
                script src="/static/app.js" {}
            }
        }
    }
}

/// An error shown in the page's language (`Error` messages are English; the code leads).
pub fn error_box(lang: Lang, e: &Error) -> Markup {
    html! {
        div.error role="alert" {
            strong { (lang.t("未能完成：", "Not done: ")) }
            (shown_message(e))
            // Imports report every problem with its line or feature.
            @if let Error::Invalid { details: Some(d), .. } = e {
                @if let Some(list) = d.get("problems").and_then(|p| p.as_array()) {
                    ul { @for p in list.iter().take(50) { li { (p["at"].as_str().unwrap_or("")) " " (p["code"].as_str().unwrap_or("")) " " (p["problem"].as_str().unwrap_or("")) } } }
                }
            }
        }
    }
}

/// What a user is told of an error: its message, except for our own failures (storage,
/// internal), which are logged and named only as such — as the API does.
fn shown_message(e: &Error) -> String {
    match e {
        Error::Storage(_) | Error::Internal(_) => {
            tracing::error!(error = %e, "a page could not be completed");
            "something went wrong on our side; it has been logged".into()
        }
        _ => e.to_string(),
    }
}

pub fn notice(text: &str) -> Markup {
    html! { div.notice role="status" { (text) } }
}

/// The status an error answers with: the API's (403 refused, 404 unknown, 409 a step or a
/// race refused, 413 too large, 500 ours).
pub fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::Invalid { code, .. } => match *code {
            "payload_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
            "unsupported_media_type" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "idempotency_key_reused" => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::BAD_REQUEST,
        },
        Error::NotFound { .. } | Error::OutsideJurisdiction => StatusCode::NOT_FOUND,
        Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::Conflict(_) | Error::Refused { .. } => StatusCode::CONFLICT,
        Error::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        Error::Storage(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A refusal or failure inside the site's layout: the error with its reason, a way back, and
/// the error's status.
pub fn refusal(s: &Session, e: &Error, title: &str, back: &str) -> Response {
    let lang = s.lang;
    let body = html! {
        (error_box(lang, e))
        p { a href=(back) { (lang.t("返回", "Back")) } }
    };
    (status_of(e), page(Some(s), lang, title, body)).into_response()
}

/// An error where there is no page to show it in (a form that could not be read, a JSON
/// answer): its status with its reason as text, which the app turns into its plain error page.
pub fn error_response(e: &Error) -> Response {
    (status_of(e), shown_message(e)).into_response()
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Inline JSON for a page's script, safe inside `<script>`.
pub fn json_script(id: &str, v: &serde_json::Value) -> Markup {
    let text = v.to_string().replace('<', "\\u003c");
    html! { script type="application/json" id=(id) { (PreEscaped(text)) } }
}
