//! Signing in and out, and the language toggle. A sign-in sends the user to where they start
//! (their menu's start page) or back to the page they were going to, never to another site.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Form;
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;

use gongzhi_core::identity::{revoke_token, sign_in};
use gongzhi_core::state::AppState;

use crate::i18n::Lang;
use crate::layout::page;
use crate::menu::{shown, start_page};
use crate::session::{
    cookie, set_cookie, PageLang, Session, LANG_COOKIE, LOGIN_COOKIE, SESSION_COOKIE,
};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/lang", get(switch_lang))
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
            // Where the user starts; the home page says what they may do when nothing is theirs.
            let to = match next {
                Some(n) => n,
                None => match gongzhi_core::identity::actor_for_token(&state.db, &t.token).await {
                    Ok(actor) => start_page(&shown(state.menu(), &actor))
                        .unwrap_or("/")
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
