//! Web sessions: a sign-in issues the same kind of token as the API, kept in an HttpOnly,
//! SameSite=Lax cookie (Secure when configured) that expires with the token. Every form carries a
//! CSRF token derived from the session token, so a page from another site cannot forge one.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};

use gongzhi_core::identity::{actor_for_token, Actor, Role};
use gongzhi_core::state::AppState;
use gongzhi_core::state::MenuEntry;

use crate::i18n::Lang;

pub const SESSION_COOKIE: &str = "gz_session";
pub const LANG_COOKIE: &str = "gz_lang";
/// Before sign-in there is no session; the sign-in form is protected by a double-submit cookie.
pub const LOGIN_COOKIE: &str = "gz_login";

/// The signed-in user of a page.
pub struct Session {
    pub actor: Actor,
    pub token: String,
    pub lang: Lang,
    /// The menu entries this user may use (see [`crate::menu::shown`]).
    pub menu: Vec<MenuEntry>,
}

impl Session {
    pub fn new(state: &AppState, actor: Actor, token: String, lang: Lang) -> Session {
        let menu = crate::menu::shown(state.menu(), &actor);
        Session {
            actor,
            token,
            lang,
            menu,
        }
    }
    pub fn csrf(&self) -> String {
        csrf_of(&self.token)
    }
    /// Refuses a form whose CSRF token is not this session's.
    pub fn check(&self, sent: &str) -> Result<(), Response> {
        if !sent.is_empty() && sent == self.csrf() {
            Ok(())
        } else {
            Err((
                axum::http::StatusCode::FORBIDDEN,
                self.lang.t(
                    "表单已过期或来源不明，请刷新页面后重试。",
                    "The form expired or did not come from this site; reload the page and try again.",
                ),
            )
                .into_response())
        }
    }
    /// Only a resident: sees the public side.
    pub fn resident_only(&self) -> bool {
        self.actor
            .assignments
            .iter()
            .all(|a| a.role == Role::RESIDENT)
    }
}

pub fn csrf_of(token: &str) -> String {
    hex::encode(&Sha256::digest(format!("gongzhi-csrf:{token}").as_bytes())[..16])
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value; `max_age` 0 deletes it.
pub fn set_cookie(
    name: &str,
    value: &str,
    max_age_secs: i64,
    secure: bool,
    http_only: bool,
) -> String {
    format!(
        "{name}={value}; Path=/; Max-Age={max_age_secs}; SameSite=Lax{}{}",
        if http_only { "; HttpOnly" } else { "" },
        if secure { "; Secure" } else { "" }
    )
}

pub fn lang_of(headers: &HeaderMap) -> Lang {
    match cookie(headers, LANG_COOKIE).as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Zh,
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_login = || {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            Redirect::to(&format!("/login?next={}", crate::enc(next))).into_response()
        };
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or_else(to_login)?;
        // Only an unknown or expired token means "sign in again"; a failing database is said
        // as such (as text, which the app turns into its plain error page).
        let actor = actor_for_token(&state.db, &token)
            .await
            .map_err(|e| match e {
                gongzhi_core::Error::Unauthenticated(_) => to_login(),
                e => {
                    tracing::error!(error = %e, "a session could not be checked");
                    (
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        lang_of(&parts.headers).t(
                            "暂时无法确认您的登录状态，请稍后重试。",
                            "Your sign-in could not be checked just now; please try again shortly.",
                        ),
                    )
                        .into_response()
                }
            })?;
        Ok(Session::new(state, actor, token, lang_of(&parts.headers)))
    }
}

impl axum::extract::OptionalFromRequestParts<AppState> for Session {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(
            <Session as FromRequestParts<AppState>>::from_request_parts(parts, state)
                .await
                .ok(),
        )
    }
}

/// The language of a page that needs no sign-in.
pub struct PageLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for PageLang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PageLang(lang_of(&parts.headers)))
    }
}
