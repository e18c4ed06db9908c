//! The deliberation hub: whether one may take part (verified for a place, or a one-time code),
//! raising a topic, the topics, micro-project calls, consultations and panels, and — for staff
//! — the council's forms.

use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};

use gongzhi_core::identity::may_somewhere;
use gongzhi_core::state::AppState;
use gongzhi_core::Error;
use gongzhi_web::form::{checked_form, Submitted};
use gongzhi_web::i18n::Lang;
use gongzhi_web::session::Session;
use gongzhi_web::{error_box, page};

use super::{council, form, now, refused, rule_name, staff_area, state_name};
use crate::residents::Verification;
use crate::{budgets, consultations, panels, residents, topics, MODERATE};

pub(super) async fn hub(State(state): State<AppState>, s: Session) -> Response {
    let lang = s.lang;
    let mine = residents::current(&state.db, &state.sealer, &s.actor).await;
    let staff = staff_area(&s);
    let body = html! {
        @if let Some(area) = &staff {
            @if may_somewhere(&s.actor, MODERATE) { p { a href={"/moderation?area=" (area)} { (lang.t("待审核的举报", "Reports to review")) } } }
        }
        (taking_part(&s, &mine))
        (new_topic(&s, mine.as_ref().ok().and_then(|m| m.as_ref())))
        (lists(&state, lang).await)
        @if let Some(area) = &staff { (council::forms(&s, area)) }
    };
    page(Some(&s), lang, lang.t("议事协商", "Deliberation"), body).into_response()
}

/// Whether the user is verified for a place, else how to be.
fn taking_part(s: &Session, mine: &Result<Option<Verification>, Error>) -> Markup {
    let lang = s.lang;
    html! {
        section #verification {
            h2 { (lang.t("参与资格", "Taking part")) }
            @match mine {
                Err(e) => (error_box(lang, e)),
                Ok(Some(r)) => p.ok {
                    (lang.t("您已认证为本地居民：", "You are verified as a resident of: "))
                    strong { (r.area) " " (r.place) }
                },
                Ok(None) => {
                    p { (lang.t("认证后才能提出议题、投票和参与征询。请向社区工作人员核验，或输入社区发放的一次性认证码。", "Verify to raise topics, vote and answer consultations: ask community staff, or enter the one-time code they gave you.")) }
                    (form(s, "/deliberation/do/redeem", html! {
                        label for="code" { (lang.t("认证码", "Code")) }
                        input #code name="code" required autocomplete="off";
                        button type="submit" { (lang.t("认证", "Verify")) }
                    }))
                }
            }
        }
    }
}

fn new_topic(s: &Session, mine: Option<&Verification>) -> Markup {
    let lang = s.lang;
    html! {
        section #new-topic {
            h2 { (lang.t("提出议题", "Raise a topic")) }
            (form(s, "/deliberation/do/propose", html! {
                label for="t-title" { (lang.t("标题", "Title")) }
                input #t-title name="title" required maxlength="100";
                label for="t-body" { (lang.t("内容", "What and why")) }
                textarea #t-body name="body" required rows="3" {}
                label for="t-level" { (lang.t("范围", "Level")) }
                select #t-level name="level" {
                    option value="community" { (lang.word("community")) }
                    option value="compound" { (lang.word("compound")) }
                    option value="building" { (lang.word("building")) }
                }
                label for="t-area" { (lang.t("社区编码", "Community code")) }
                input #t-area name="area" required value=(mine.map_or("", |r| r.area.as_str()));
                label for="t-place" { (lang.t("小区/楼栋（如 多福巷小区/3号楼）", "Compound/building (e.g. 多福巷小区/3号楼)")) }
                input #t-place name="place" value=(mine.map_or("", |r| r.place.as_str()));
                button type="submit" { (lang.t("提交议题", "Submit")) }
            }))
        }
    }
}

/// Topics, calls, consultations and panels, each with its own failure shown.
async fn lists(state: &AppState, lang: Lang) -> Markup {
    let at = now(state);
    let topics = topics::list(&state.db, &topics::TopicFilter::default()).await;
    let calls = budgets::list(&state.db, at).await;
    let consults = consultations::list(&state.db, at).await;
    let panel_rows = panels::recent(&state.db, 20).await;
    html! {
        section #topics {
            h2 { (lang.t("议题", "Topics")) }
            @match &topics {
                Err(e) => (error_box(lang, e)),
                Ok(topics) => table {
                    thead { tr { th { (lang.t("编号", "No.")) } th { (lang.t("议题", "Topic")) } th { (lang.t("范围", "Level")) } th { (lang.t("状态", "Status")) } } }
                    tbody {
                        @for t in topics {
                            tr {
                                td { (t.number) }
                                td { a href={"/topics/" (t.id)} { (t.title) } }
                                td { (lang.word(t.level.as_str())) " " (t.place) }
                                td { span.badge { (lang.word(t.status.as_str())) } }
                            }
                        }
                    }
                },
            }
        }
        section #calls {
            h2 { (lang.t("民生微实事", "Micro-projects")) }
            @match &calls {
                Err(e) => (error_box(lang, e)),
                Ok(calls) => ul {
                    @for c in calls {
                        li { a href={"/budgets/" (c.id)} { (c.title) } " · " span.badge { (lang.word(c.phase.as_str())) } " · " (c.budget) (lang.t(" 元", " yuan")) " · " (rule_name(lang, c.rule.as_str())) }
                    }
                },
            }
        }
        section #consultations {
            h2 { (lang.t("专项征询", "Consultations")) }
            @match &consults {
                Err(e) => (error_box(lang, e)),
                Ok(consults) => ul {
                    @for c in consults {
                        li { a href={"/consultations/" (c.id)} { (c.title) } " · " (state_name(lang, c.state.as_str())) }
                    }
                },
            }
        }
        section #panels {
            h2 { (lang.t("抽签产生的代表", "Panels drawn by lot")) }
            @match &panel_rows {
                Err(e) => (error_box(lang, e)),
                Ok(rows) => ul { @for r in rows { li { a href={"/panels/" (r.id)} { (r.title) } } } },
            }
        }
    }
}

pub(super) async fn hub_do(
    State(state): State<AppState>,
    s: Session,
    Path(action): Path<String>,
    m: Multipart,
) -> Response {
    let f = match checked_form(&s, m).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let result = match action.as_str() {
        "redeem" => residents::redeem_code(&state.db, &s.actor, f.get("code"), now(&state))
            .await
            .map(|_| "/deliberation".to_string()),
        "propose" => propose(&state, &s, &f).await,
        // One-time codes are shown once, on their own page.
        "codes" => return council::codes(&state, &s, &f).await,
        other => council::act(&state, &s, other, &f).await,
    };
    match result {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(e) => refused(&s, &e, "/deliberation"),
    }
}

/// Raises a topic; where to go next.
async fn propose(state: &AppState, s: &Session, f: &Submitted) -> Result<String, Error> {
    let level = match f.get("level") {
        "compound" => topics::TopicLevel::Compound,
        "building" => topics::TopicLevel::Building,
        _ => topics::TopicLevel::Community,
    };
    let input = topics::NewTopic {
        title: f.get("title").into(),
        body: f.get("body").into(),
        level,
        area: f.get("area").into(),
        place: f.get("place").into(),
    };
    topics::create(&state.db, &s.actor, &input, now(state))
        .await
        .map(|(id, _)| format!("/topics/{id}"))
}
