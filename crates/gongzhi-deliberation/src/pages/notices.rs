//! Public notices (公示): resolutions and vote results, micro-project winners — readable
//! without signing in.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

use gongzhi_core::identity::Actor;
use gongzhi_core::state::AppState;
use gongzhi_core::Error;
use gongzhi_web::session::{PageLang, Session};
use gongzhi_web::{error_box, page};

use super::{now, rule_name};
use crate::{budgets, topics};

/// Public notices (公示): resolutions and vote results, micro-project winners, consultations
/// whose results are out — readable without signing in.
pub(super) async fn notices(
    State(state): State<AppState>,
    s: Option<Session>,
    PageLang(lang): PageLang,
) -> Response {
    let lang = s.as_ref().map(|s| s.lang).unwrap_or(lang);
    let at = now(&state);
    let (views, problems) = resolutions(&state).await;
    let calls = budgets::list(&state.db, at).await.map(|calls| {
        calls
            .into_iter()
            .filter(|c| matches!(c.phase.as_str(), "result" | "implementing"))
            .collect::<Vec<_>>()
    });
    let body = html! {
        section #notice-topics {
            h2 { (lang.t("议题决议公示", "Resolutions")) }
            @for e in &problems { (error_box(lang, e)) }
            @for v in &views {
                article.card {
                    h3 { a href={"/topics/" (v.id)} { (v.title) } } " " span.badge { (lang.word(v.status.as_str())) }
                    @if let Some(x) = &v.tally { p { (lang.t("赞成 ", "Yes ")) (x.yes) " · " (lang.t("反对 ", "No ")) (x.no) " · " (lang.t("弃权 ", "Abstain ")) (x.abstain) " — " (if x.passed { lang.t("通过", "passed") } else { lang.t("未通过", "not passed") }) } }
                    @if let Some(r) = &v.resolution { p { (r) } }
                    @if let Some(u) = &v.objection_until { p.small { (lang.t("公示期至 ", "Objections until ")) (u) } }
                }
            }
        }
        section #notice-calls {
            h2 { (lang.t("民生微实事结果公示", "Micro-project results")) }
            @match &calls {
                Err(e) => (error_box(lang, e)),
                Ok(calls) => ul { @for c in calls { li { a href={"/budgets/" (c.id)} { (c.title) } " · " (c.ballots) (lang.t(" 张选票", " ballots")) " · " (rule_name(lang, c.rule.as_str())) } } },
            }
        }
    };
    page(s.as_ref(), lang, lang.t("公示公告", "Public notices"), body).into_response()
}

/// The latest published topics as the public sees them (a topic hidden since is not shown),
/// and what could not be read.
async fn resolutions(state: &AppState) -> (Vec<topics::TopicView>, Vec<Error>) {
    let (mut views, mut problems) = (Vec::new(), Vec::new());
    let mut published = Vec::new();
    for status in [
        crate::model::topics::TopicStatus::Published,
        crate::model::topics::TopicStatus::Executing,
        crate::model::topics::TopicStatus::Done,
    ] {
        let f = topics::TopicFilter {
            status: Some(status),
            ..Default::default()
        };
        match topics::list(&state.db, &f).await {
            Ok(list) => published.extend(list),
            Err(e) => problems.push(e),
        }
    }
    for t in published.iter().take(20) {
        match topics::view(&state.db, &state.sealer, &Actor::anonymous(), &t.id).await {
            Ok(v) => views.push(v),
            Err(Error::NotFound { .. } | Error::Forbidden(_)) => {}
            Err(e) => problems.push(e),
        }
    }
    (views, problems)
}
