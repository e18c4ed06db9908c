//! The deliberation module's pages: the hub (taking part, topics, calls, consultations, panels,
//! and the council's forms), the topic page with its discussion, meetings, vote and the steps
//! this user may take now, the micro-project call with proposals, reviews, the ballot and
//! computed results, consultations, sortition panels, verified residents, moderation and the
//! public notices. Every form calls the module's own commands, so the rules and refusals are
//! the API's; no page reads a table.

mod budget;
mod consultation;
mod council;
mod hub;
mod notices;
mod panel;
mod people;
mod topic;

use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};

use gongzhi_core::identity::{authorize, Target};
use gongzhi_core::state::AppState;
use gongzhi_core::state::MenuEntry;
use gongzhi_core::time::format_ms;
use gongzhi_core::Error;
use gongzhi_web::i18n::Lang;
use gongzhi_web::session::Session;

use crate::{DELIBERATION_MANAGE, MODERATE, RESIDENT_VERIFY};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/deliberation", get(hub::hub))
        .route("/deliberation/do/{action}", post(hub::hub_do))
        .route("/topics/{id}", get(topic::topic_page))
        .route("/topics/{id}/do/{action}", post(topic::topic_do))
        .route("/budgets/{id}", get(budget::call_page))
        .route("/budgets/{id}/do/{action}", post(budget::call_do))
        .route("/consultations/{id}", get(consultation::consultation_page))
        .route(
            "/consultations/{id}/do/answer",
            post(consultation::consultation_do),
        )
        .route("/panels/{id}", get(panel::panel_page))
        .route("/panels/{id}/do/draw", post(panel::panel_draw))
        .route("/deliberation/residents", get(people::residents_page))
        .route("/moderation", get(people::moderation_page))
        .route("/notices", get(notices::notices))
}

/// Everyone with a place takes part (verified residents raise topics and vote without a role
/// of their own), so the hub and the notices are for every signed-in role that reads areas.
const TAKE_PART: gongzhi_core::identity::Action = gongzhi_core::identity::Action::AREA_READ;

pub const MENU: &[MenuEntry] = &[
    MenuEntry {
        href: "/deliberation",
        zh: "议事协商",
        en: "Deliberation",
        action: TAKE_PART,
        order: 80,
        start: Some(80),
    },
    MenuEntry {
        href: "/notices",
        zh: "公示公告",
        en: "Notices",
        action: TAKE_PART,
        order: 90,
        start: None,
    },
];

/// A refusal from a deliberation form, with the way back.
fn refused(s: &Session, e: &Error, back: &str) -> Response {
    gongzhi_web::refusal(s, e, s.lang.t("未能完成", "Not done"), back)
}

/// The area a staff user works in: their first scoped assignment that may manage or verify.
fn staff_area(s: &Session) -> Option<String> {
    s.actor
        .assignments
        .iter()
        .filter(|a| {
            DELIBERATION_MANAGE.roles.contains(&a.role)
                || RESIDENT_VERIFY.roles.contains(&a.role)
                || MODERATE.roles.contains(&a.role)
        })
        .map(|a| a.area.clone().unwrap_or_default())
        .next()
}

fn may_manage(s: &Session, area: &str) -> bool {
    authorize(&s.actor, DELIBERATION_MANAGE, &Target::area(area)).is_ok()
}

fn may_verify(s: &Session, area: &str) -> bool {
    authorize(&s.actor, crate::RESIDENT_VERIFY, &Target::area(area)).is_ok()
}

fn csrf(s: &Session) -> Markup {
    html! { input type="hidden" name="_csrf" value=(s.csrf()); }
}

/// A form posting to `action`, multipart like every form of the site.
fn form(s: &Session, action: &str, inner: Markup) -> Markup {
    html! {
        form.step method="post" action=(action) enctype="multipart/form-data" {
            (csrf(s)) (inner)
        }
    }
}

fn now(state: &AppState) -> i64 {
    state.clock.now_ms()
}

/// A `datetime-local` value is Beijing time without a zone.
fn local_time(v: &str) -> String {
    if v.len() == 16 {
        format!("{v}:00+08:00")
    } else {
        v.to_string()
    }
}

fn local_value(ms: i64) -> String {
    format_ms(ms).chars().take(16).collect()
}

/// History entries name residents only as 居民.
fn actor_name(lang: Lang, actor: &str) -> String {
    if actor == "resident" {
        lang.word("resident")
    } else {
        actor.to_string()
    }
}

fn rule_name(lang: Lang, rule: &str) -> &'static str {
    match rule {
        "greedy" => lang.t("按票数排序（贪心）", "greedy by votes"),
        _ => lang.t("平等份额法", "Method of Equal Shares"),
    }
}

fn state_name(lang: Lang, st: &str) -> &'static str {
    match st {
        "open" => lang.t("进行中", "open"),
        "upcoming" => lang.t("未开始", "upcoming"),
        _ => lang.t("已结束", "closed"),
    }
}
