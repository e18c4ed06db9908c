//! gongzhi's pages: server-rendered HTML for every role — residents, grid workers on their
//! phones, hotline operators and dispatchers, handling units, leaders, administrators. The pages
//! call the same service functions as the API, so the rules, refusals and audit are the same.
//! Chinese first, English when chosen (remembered in a cookie).

pub mod admin;
pub mod cases;
pub mod dashboard;
pub mod deliberation;
pub mod i18n;
pub mod messages;
pub mod report;
pub mod session;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Form;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;

use gongzhi_core::http::AppState;
use gongzhi_core::identity::{revoke_token, sign_in, Role};
use gongzhi_core::module::Module;

use i18n::Lang;
use session::{cookie, set_cookie, PageLang, Session, LANG_COOKIE, LOGIN_COOKIE, SESSION_COOKIE};

pub struct Web;

impl Module for Web {
    fn name(&self) -> &'static str {
        "web"
    }
    fn api(&self) -> OpenApiRouter<AppState> {
        // Pages are not part of the JSON API's OpenAPI document: plain routes.
        OpenApiRouter::new()
            .route("/", get(home))
            .route("/login", get(login_page).post(login))
            .route("/logout", axum::routing::post(logout))
            .route("/lang", get(switch_lang))
            .route("/static/{file}", get(asset))
            .merge(report::routes())
            .merge(cases::routes())
            .merge(dashboard::routes())
            .merge(admin::routes())
            .merge(deliberation::routes())
            .layer(axum::extract::DefaultBodyLimit::max(
                gongzhi_core::attachments::MAX_BYTES * 3 + 64 * 1024,
            ))
    }
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

/// A page of the site: header with navigation for the signed-in user's roles, the language
/// toggle, and the body.
pub fn page(s: Option<&Session>, lang: Lang, title: &str, body: Markup) -> Markup {
    let nav = s.map(|s| nav_items(s)).unwrap_or_default();
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
                        @for (href, zh, en) in &nav {
                            a href=(href) { (lang.t(zh, en)) }
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

/// What each role works with, in the order of their day.
fn nav_items(s: &Session) -> Vec<(&'static str, &'static str, &'static str)> {
    let mut v: Vec<(&str, &str, &str)> = Vec::new();
    let mut add = |item: (&'static str, &'static str, &'static str)| {
        if !v.contains(&item) {
            v.push(item);
        }
    };
    for r in s.roles() {
        match r {
            Role::RESIDENT => {
                add(("/report", "我要反映", "Report a problem"));
                add(("/my", "我的诉求", "My requests"));
                add(("/deliberation", "议事协商", "Deliberation"));
                add(("/notices", "公示公告", "Notices"));
            }
            Role::GRID_WORKER => {
                add(("/report", "巡查上报", "Report a finding"));
                add(("/tasks", "我的任务", "My tasks"));
            }
            gongzhi_cases::roles::OPERATOR => {
                add(("/report", "热线受理", "Hotline intake"));
                add(("/cases", "案件", "Cases"));
            }
            gongzhi_cases::roles::DISPATCHER => {
                add(("/queue", "待派遣", "Dispatch queue"));
                add(("/cases", "案件", "Cases"));
                add(("/dashboard", "看板", "Dashboard"));
            }
            gongzhi_cases::roles::HANDLER => add(("/inbox", "待办", "Inbox")),
            Role::LEADER => {
                add(("/dashboard", "看板", "Dashboard"));
                add(("/cases", "案件", "Cases"));
            }
            gongzhi_deliberation::roles::COUNCIL
            | gongzhi_deliberation::roles::MODERATOR
            | gongzhi_deliberation::roles::ORGANIZATION => {
                add(("/deliberation", "议事协商", "Deliberation"));
            }
            Role::ADMIN => {
                add(("/cases", "案件", "Cases"));
                add(("/dashboard", "看板", "Dashboard"));
                add(("/admin", "管理", "Administration"));
            }
            _ => {}
        }
    }
    v
}

/// Where each role starts.
fn start_of(s: &Session) -> &'static str {
    let roles = s.roles();
    let first = |r: Role| roles.contains(&r);
    if first(Role::ADMIN) {
        "/admin"
    } else if first(Role::LEADER) {
        "/dashboard"
    } else if first(gongzhi_cases::roles::DISPATCHER) {
        "/queue"
    } else if first(gongzhi_cases::roles::OPERATOR) {
        "/report"
    } else if first(gongzhi_cases::roles::HANDLER) {
        "/inbox"
    } else if first(Role::GRID_WORKER) {
        "/tasks"
    } else if first(gongzhi_deliberation::roles::COUNCIL)
        || first(gongzhi_deliberation::roles::MODERATOR)
        || first(gongzhi_deliberation::roles::ORGANIZATION)
    {
        "/deliberation"
    } else {
        "/my"
    }
}

/// An error shown in the page's language (`Error` messages are English; the code leads).
pub fn error_box(lang: Lang, e: &gongzhi_core::Error) -> Markup {
    html! {
        div.error role="alert" {
            strong { (lang.t("未能完成：", "Not done: ")) }
            (e.to_string())
            // Imports report every problem with its line or feature.
            @if let gongzhi_core::Error::Invalid { details: Some(d), .. } = e {
                @if let Some(list) = d.get("problems").and_then(|p| p.as_array()) {
                    ul { @for p in list.iter().take(50) { li { (p["at"].as_str().unwrap_or("")) " " (p["code"].as_str().unwrap_or("")) " " (p["problem"].as_str().unwrap_or("")) } } }
                }
            }
        }
    }
}

pub fn notice(text: &str) -> Markup {
    html! { div.notice role="status" { (text) } }
}

async fn home(s: Option<Session>, PageLang(lang): PageLang) -> Response {
    if let Some(s) = s {
        return Redirect::to(start_of(&s)).into_response();
    }
    page(
        None,
        lang,
        lang.t("共治：接诉即办，共建共治", "gongzhi: every request answered, governed together"),
        html! {
            p { (lang.t("居民反映诉求、网格员巡查上报、热线受理、派遣处置、核查结案、回访评价，一个闭环。",
                        "Residents' requests, grid patrols and hotline calls — dispatched, handled, verified, closed and called back in one loop.")) }
            p { a.button href="/login" { (lang.t("登录", "Sign in")) } }
            p { a href="/notices" { (lang.t("公示公告（议题决议、民生微实事结果）", "Public notices (resolutions, micro-project results)")) } }
        },
    )
    .into_response()
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only a path on this site: a sign-in (or the language toggle) must not send anyone to another
/// one. A single leading `/` and URL characters only — no control characters, whitespace or
/// backslash (browsers drop or turn them into `/`, making `/\t/evil.example` off-site) and no
/// `//`, also when percent-decoded; anything else goes to the home page.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    fn plain(s: &[u8]) -> bool {
        s.first() == Some(&b'/')
            && !s.windows(2).any(|w| w == b"//")
            && s.iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%#".contains(&b))
    }
    let n = next?;
    let bytes = n.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                decoded.push(b);
                i += 3;
            }
            (b, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    // Decoded, it may hold UTF-8 (a Chinese query), but still nothing that could make it a
    // path to another host if something on the way decodes it.
    let decoded_ok = !decoded.windows(2).any(|w| w == b"//")
        && !decoded
            .iter()
            .any(|&b| b.is_ascii_control() || b == b' ' || b == b'\\');
    (n.len() <= 2048 && plain(bytes) && decoded_ok).then(|| n.to_string())
}

fn login_form(lang: Lang, next: &str, csrf: &str, error: Option<&str>) -> Markup {
    page(
        None,
        lang,
        lang.t("登录", "Sign in"),
        html! {
            @if let Some(e) = error { div.error role="alert" { (e) } }
            form.card method="post" action="/login" {
                input type="hidden" name="_csrf" value=(csrf);
                input type="hidden" name="next" value=(next);
                label for="username" { (lang.t("用户名", "User name")) }
                input #username name="username" autocomplete="username" required autofocus;
                label for="password" { (lang.t("密码", "Password")) }
                input #password name="password" type="password" autocomplete="current-password" required;
                button type="submit" { (lang.t("登录", "Sign in")) }
            }
        },
    )
}

async fn login_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    Query(q): Query<NextQuery>,
) -> Response {
    let csrf = hex::encode(rand::random::<[u8; 16]>());
    let next = safe_next(q.next.as_deref()).unwrap_or_default();
    (
        [(
            header::SET_COOKIE,
            set_cookie(LOGIN_COOKIE, &csrf, 3600, state.config.secure_cookies, true),
        )],
        login_form(lang, &next, &csrf, None),
    )
        .into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    _csrf: String,
    username: String,
    password: String,
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    headers: HeaderMap,
    client: gongzhi_core::http::ClientAddr,
    Form(f): Form<LoginForm>,
) -> Response {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || expected != f._csrf {
        return (
            StatusCode::FORBIDDEN,
            lang.t(
                "登录表单已过期，请重新打开登录页。",
                "The sign-in form expired; open the sign-in page again.",
            ),
        )
            .into_response();
    }
    let next = safe_next(f.next.as_deref());
    let refused = |msg: &str| {
        (
            StatusCode::UNAUTHORIZED,
            login_form(lang, next.as_deref().unwrap_or(""), &expected, Some(msg)),
        )
            .into_response()
    };
    let ttl = state.config.session_hours;
    match sign_in(&state, &f.username, &f.password, &client.0, ttl).await {
        Ok(Err(wait)) => {
            let mut resp = refused(lang.t(
                "尝试次数过多，请稍后再试。",
                "Too many attempts; try again later.",
            ));
            *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            let after = header::HeaderValue::from(wait.retry_after_secs);
            resp.headers_mut().insert(header::RETRY_AFTER, after);
            resp
        }
        Ok(Ok(t)) => {
            let to = match next {
                Some(n) => n,
                None => match gongzhi_core::identity::actor_for_token(&state.db, &t.token).await {
                    Ok(actor) => start_of(&Session {
                        actor,
                        token: t.token.clone(),
                        lang,
                    })
                    .to_string(),
                    Err(_) => "/".into(),
                },
            };
            let secure = state.config.secure_cookies;
            let mut resp = Redirect::to(&to).into_response();
            let h = resp.headers_mut();
            for c in [
                set_cookie(
                    SESSION_COOKIE,
                    &t.token,
                    state.config.session_hours * 3600,
                    secure,
                    true,
                ),
                set_cookie(LOGIN_COOKIE, "", 0, secure, true),
            ] {
                h.append(header::SET_COOKIE, c.parse().expect("cookie header"));
            }
            resp
        }
        Err(_) => refused(lang.t("用户名或密码错误。", "Wrong user name or password.")),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    _csrf: String,
}

async fn logout(State(state): State<AppState>, s: Session, Form(f): Form<CsrfForm>) -> Response {
    if let Err(r) = s.check(&f._csrf) {
        return r;
    }
    if let Err(e) = revoke_token(&state.db, &s.actor, &s.token).await {
        tracing::warn!(error = %e, "sign-out could not revoke the session");
    }
    (
        [(
            header::SET_COOKIE,
            set_cookie(SESSION_COOKIE, "", 0, state.config.secure_cookies, true),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}

#[derive(Deserialize)]
struct LangQuery {
    to: String,
}

/// Switches the language and goes back to the page it was asked from.
async fn switch_lang(headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let to = if q.to == "en" { "en" } else { "zh" };
    let back = headers
        .get(header::REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.find("://").map(|i| &r[i + 3..]))
        .and_then(|r| r.find('/').map(|i| r[i..].to_string()))
        .and_then(|p| safe_next(Some(&p)))
        .unwrap_or_else(|| "/".into());
    (
        [(
            header::SET_COOKIE,
            set_cookie(LANG_COOKIE, to, 365 * 24 * 3600, false, false),
        )],
        Redirect::to(&back),
    )
        .into_response()
}

macro_rules! out_file {
    ($name:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $name)).as_slice()
    };
}

async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let (body, ct): (&'static [u8], &str) = match file.as_str() {
        "leaflet.js" => (out_file!("leaflet.js"), "text/javascript"),
        "leaflet.css" => (out_file!("leaflet.css"), "text/css"),
        "echarts.min.js" => (out_file!("echarts.min.js"), "text/javascript"),
        "app.css" => (include_bytes!("../assets/static/app.css"), "text/css"),
        "app.js" => (include_bytes!("../assets/static/app.js"), "text/javascript"),
        "map.js" => (include_bytes!("../assets/static/map.js"), "text/javascript"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, format!("{ct}; charset=utf-8")),
            (header::CACHE_CONTROL, "public, max-age=3600".into()),
        ],
        body,
    )
        .into_response()
}

/// Inline JSON for a page's script, safe inside `<script>`.
pub fn json_script(id: &str, v: &serde_json::Value) -> Markup {
    let text = v.to_string().replace('<', "\\u003c");
    html! { script type="application/json" id=(id) { (PreEscaped(text)) } }
}
