//! A micro-project call: its phases, proposals, the council's reviews, the ballot, the computed
//! results (三公开) and the winners' progress.

use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use gongzhi_core::identity::{authorize, Target};
use gongzhi_core::state::AppState;
use gongzhi_core::Error;
use gongzhi_web::form::{checked_form, upload_photos, Submitted};
use gongzhi_web::i18n::Lang;
use gongzhi_web::session::Session;
use gongzhi_web::{enc, error_box, page};

use super::{actor_name, form, now, refused, rule_name};
use crate::{budgets, DELIBERATION_MANAGE};

pub(super) async fn call_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
) -> Response {
    let lang = s.lang;
    let at = now(&state);
    let c = match budgets::view(&state.db, &s.actor, &id, at).await {
        Ok(c) => c,
        Err(e) => return refused(&s, &e, "/deliberation"),
    };
    let steward = authorize(&s.actor, DELIBERATION_MANAGE, &Target::area(&c.call.area)).is_ok();
    let base = format!("/budgets/{id}/do/");
    let phase = c.call.phase.as_str();
    // Results exist from the result phase on; before, there are none to show.
    let results = match phase {
        "result" | "implementing" => {
            Some(budgets::compute(&state.db, &state.sealer, &id, at).await)
        }
        _ => None,
    };
    let (results, results_error) = match results {
        Some(Err(e)) => (None, Some(e)),
        Some(Ok(r)) => (Some(r), None),
        None => (None, None),
    };
    let body = html! {
        p.meta { span #call-phase .badge { (lang.word(phase)) } " · " (lang.t("预算 ", "Budget ")) (c.call.budget) (lang.t(" 元", " yuan")) " · " (rule_name(lang, c.call.rule.as_str()))
            " · " (if c.call.ballot.as_str() == "approval" { format!("{}{}", lang.t("每票最多选 ", "approve up to "), c.call.max_approvals.unwrap_or(0)) } else { lang.t("所选项目总价不超过预算", "any set within the budget").to_string() }) }
        p { (c.description) }
        p.small { (lang.t("征集 ", "Proposals ")) (c.call.proposing_from) " · " (lang.t("审核 ", "Review ")) (c.call.reviewing_from) " · " (lang.t("投票 ", "Voting ")) (c.call.voting_from) " – " (c.call.voting_until) " · " (lang.t("实施 ", "Implementation ")) (c.call.implementing_from) }
        @if let Some(e) = &results_error { (error_box(lang, e)) }
        @if let Some(r) = &results {
            section #results {
                h2 { (lang.t("计算结果（三公开）", "Computed results (published)")) }
                p { (lang.t("有效选票 ", "Ballots ")) (r.ballots) " · " (lang.t("已用预算 ", "Spent ")) (r.spent) " / " (r.budget) " · " a href={"/api/v1/budgets/" (id) "/export.pb"} { (lang.t("下载 Pabulib 数据（可自行复算）", "Download the Pabulib file (recompute it yourself)")) } }
                table {
                    thead { tr { th { (lang.t("项目", "Project")) } th { (lang.t("费用", "Cost")) } th { (lang.t("票数", "Votes")) } th { (lang.t("结果", "Result")) } th { (lang.t("原因", "Why")) } } }
                    tbody { @for p in &r.projects { tr.won[p.won] { td { (p.code) " " (p.title) } td { (p.cost) } td { (p.votes) } td { (if p.won { lang.t("入选", "won") } else { lang.t("未入选", "not chosen") }) } td.small { (if lang == Lang::Zh { &p.reason_zh } else { &p.reason }) } } } }
                }
            }
        }
        section #projects {
            h2 { (lang.t("项目", "Projects")) }
            @if phase == "voting" && !c.voted && !steward {
                (form(&s, &format!("{base}ballot"), html! {
                    fieldset { legend { (lang.t("选择您支持的项目", "Choose the projects you support")) }
                        @for p in c.projects.iter().filter(|p| p.status.as_str() == "feasible") {
                            label { input type="checkbox" name="projects" value=(p.code); " " (p.code) " " (p.title) " · " (p.cost.unwrap_or(0)) (lang.t(" 元", " yuan")) }
                        }
                    }
                    button #cast-ballot type="submit" { (lang.t("提交选票", "Cast the ballot")) }
                }))
            }
            @if c.voted { p.ok #ballot-cast { (lang.t("您已投票。", "You have voted.")) } }
            table {
                thead { tr { th { (lang.t("项目", "Project")) } th { (lang.t("估算", "Estimate")) } th { (lang.t("核定", "Reviewed")) } th { (lang.t("审核", "Review")) } th { (lang.t("进度", "Progress")) } } }
                tbody {
                    @for p in &c.projects {
                        tr {
                            td { (p.code) " " (p.title) }
                            td { (p.cost_estimate) }
                            td { (p.cost.map(|x| x.to_string()).unwrap_or_default()) }
                            td { (lang.word(p.status.as_str())) @if let Some(n) = &p.review_note { br; span.small { (n) } } }
                            td { @if p.progress > 0 { progress value=(p.progress) max="100" {} " " (p.progress) "%" } @for ph in &p.photos { " " a href=(ph.url) { "📷" } } }
                        }
                        @if steward && (phase == "proposing" || phase == "reviewing") {
                            tr { td colspan="5" { (form(&s, &format!("{base}review"), html! {
                                input type="hidden" name="project" value=(p.id);
                                label { input type="radio" name="feasible" value="true" required; " " (lang.word("feasible")) }
                                label { input type="radio" name="feasible" value="false"; " " (lang.word("unfeasible")) }
                                input name="cost" type="number" min="1" placeholder=(lang.t("核定费用", "Reviewed cost")) aria-label=(lang.t("核定费用", "Reviewed cost"));
                                input name="note" placeholder=(lang.t("说明（不可行时必填）", "Note (required if not feasible)")) aria-label=(lang.t("说明", "Note"));
                                button type="submit" { (lang.t("审核", "Review")) }
                            })) } }
                        }
                        @if steward && phase == "implementing" && results.as_ref().is_some_and(|r| r.winners.contains(&p.code)) {
                            tr { td colspan="5" { (form(&s, &format!("{base}progress"), html! {
                                input type="hidden" name="project" value=(p.id);
                                input name="progress" type="number" min="0" max="100" required aria-label=(lang.t("进度", "Progress"));
                                input name="note" aria-label=(lang.t("说明", "Note")) placeholder=(lang.t("说明", "Note"));
                                input type="file" name="photos" accept="image/*" multiple aria-label=(lang.t("照片", "Photos"));
                                button type="submit" { (lang.t("更新进度", "Update")) }
                            })) } }
                        }
                    }
                }
            }
            @if phase == "proposing" && !steward {
                (form(&s, &format!("{base}propose"), html! {
                    h3 { (lang.t("提出项目", "Propose a project")) }
                    label for="p-title" { (lang.t("项目名称", "Title")) } input #p-title name="title" required;
                    label for="p-desc" { (lang.t("说明", "Description")) } textarea #p-desc name="description" {}
                    label for="p-cost" { (lang.t("估算费用（元）", "Estimated cost (yuan)")) } input #p-cost type="number" name="cost_estimate" min="1" required;
                    button type="submit" { (lang.t("提交", "Submit")) }
                }))
            }
        }
        section #history { h2 { (lang.t("全过程记录", "History")) }
            ol.timeline { @for e in &c.history { li { time { (e.at) } " " strong { (lang.word(&e.step)) } " " (actor_name(lang, &e.actor)) @if let Some(n) = &e.note { " — " (n) } } } }
        }
    };
    page(Some(&s), lang, &c.call.title, body).into_response()
}

pub(super) async fn call_do(
    State(state): State<AppState>,
    s: Session,
    Path((id, action)): Path<(String, String)>,
    m: Multipart,
) -> Response {
    let back = format!("/budgets/{id}");
    let f = match checked_form(&s, m).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    match call_step(&state, &s, &id, &action, &f).await {
        Ok(()) => Redirect::to(&format!("{back}?done={}", enc(&action))).into_response(),
        Err(e) => refused(&s, &e, &back),
    }
}

/// One of the call's forms: a ballot, a proposal, a review, the progress of a winner.
async fn call_step(
    state: &AppState,
    s: &Session,
    id: &str,
    action: &str,
    f: &Submitted,
) -> Result<(), Error> {
    let (db, sealer, actor, at) = (&state.db, &state.sealer, &s.actor, now(state));
    match action {
        "ballot" => {
            let ballot = budgets::BallotInput {
                projects: f.all("projects"),
            };
            budgets::cast(db, sealer, actor, id, &ballot, at).await
        }
        "propose" => {
            let p = budgets::NewProject {
                title: f.get("title").into(),
                description: f.get("description").into(),
                cost_estimate: f.number("cost_estimate")?,
            };
            budgets::add_project(db, actor, id, &p, at)
                .await
                .map(|_| ())
        }
        "review" => {
            let r = budgets::ReviewInput {
                feasible: f.get("feasible") == "true",
                cost: f.opt_number("cost")?,
                note: f.opt("note"),
            };
            budgets::review_project(db, actor, id, f.get("project"), &r, at).await
        }
        "progress" => {
            let progress = f.number("progress")?;
            let p = budgets::ProgressInput {
                progress,
                note: f.opt("note"),
                photos: upload_photos(state, actor, f).await?,
            };
            budgets::record_progress(db, sealer, actor, id, f.get("project"), &p, at).await
        }
        _ => Err(Error::not_found("action")),
    }
}
