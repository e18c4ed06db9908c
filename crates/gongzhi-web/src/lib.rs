//! gongzhi's page shell: what every module's pages share — the layout and the menu built from
//! the modules' entries, sessions and CSRF, Chinese-first i18n, forms with photos, maps and
//! charts, static assets, sign-in, and the platform's administration (areas, units, users,
//! audit). It knows no module: each module's pages live in that module and use this crate, and
//! reach the menu and the administration page through their manifest.

pub mod admin;
pub mod form;
pub mod i18n;
pub mod layout;
pub mod map;
pub mod menu;
pub mod messages;
pub mod session;
mod signin;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use maud::html;

use gongzhi_core::module::Module;
use gongzhi_core::state::AppState;
use gongzhi_core::state::MenuEntry;

pub use layout::{enc, error_box, error_response, json_script, notice, page, refusal, status_of};
pub use signin::safe_next;

use session::{PageLang, Session};

/// The page shell as a module: its own pages (home, sign-in, assets, administration) and the
/// administration's menu entry.
pub struct Web;

impl Module for Web {
    fn name(&self) -> &'static str {
        "web"
    }
    fn pages(&self) -> Router<AppState> {
        Router::new()
            .route("/", get(home))
            .route("/static/{file}", get(asset))
            .merge(signin::routes())
            .merge(admin::routes())
    }
    fn menu(&self) -> &'static [MenuEntry] {
        admin::MENU
    }
}

async fn home(s: Option<Session>, PageLang(lang): PageLang) -> Response {
    if let Some(start) = s.as_ref().and_then(|s| menu::start_page(&s.menu)) {
        return Redirect::to(start).into_response();
    }
    page(
        s.as_ref(),
        lang,
        lang.t("共治：接诉即办，共建共治", "gongzhi: every request answered, governed together"),
        html! {
            p { (lang.t("居民反映诉求、网格员巡查上报、热线受理、派遣处置、核查结案、回访评价，一个闭环。",
                        "Residents' requests, grid patrols and hotline calls — dispatched, handled, verified, closed and called back in one loop.")) }
            @if s.is_none() { p { a.button href="/login" { (lang.t("登录", "Sign in")) } } }
            p { a href="/notices" { (lang.t("公示公告（议题决议、民生微实事结果）", "Public notices (resolutions, micro-project results)")) } }
        },
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
