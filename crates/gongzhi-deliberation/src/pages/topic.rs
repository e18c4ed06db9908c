//! A topic's page: the text, the vote with its rules and tally, the discussion with reports and
//! moderation, meetings, tasks, the steps this user may take now, and the whole history.

use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};

use gongzhi_core::identity::{authorize, Target};
use gongzhi_core::state::AppState;
use gongzhi_core::Error;
use gongzhi_web::form::{checked_form, Submitted};
use gongzhi_web::session::Session;
use gongzhi_web::{enc, notice, page};

use super::{actor_name, form, local_time, local_value, now, refused};
use crate::rules::{TopicStatus, TopicStep, VoteRules, ALL_STEPS};
use crate::{moderation, topics, DELIBERATION_MANAGE, MODERATE};

/// The steps of the loop this user may take now, each as a small form.
fn step_forms(s: &Session, t: &topics::TopicView, steward: bool) -> Markup {
    let lang = s.lang;
    let base = format!("/topics/{}/do/", t.id);
    let allowed: Vec<TopicStep> = ALL_STEPS
        .into_iter()
        .filter(|st| st.from_states().contains(&t.status))
        .filter(|st| match st.taker() {
            crate::rules::Taker::Council => steward,
            crate::rules::Taker::Resident => !steward,
        })
        .collect();
    let now = gongzhi_core::time::now_ms();
    html! {
        @for st in allowed {
            details.step-form open[matches!(st, TopicStep::OpenVote | TopicStep::CloseVote | TopicStep::Publish)] {
                summary { (lang.word(st.as_str())) }
                (form(s, &format!("{base}{}", st.as_str()), html! {
                    @match st {
                        TopicStep::Merge => { label for="into" { (lang.t("并入议题编号", "Merge into topic no.")) } input #into name="into" required; }
                        TopicStep::Decline => { label for="reason" { (lang.t("不予受理的理由（将公开）", "Reason (published)")) } textarea #reason name="reason" required {} }
                        TopicStep::ScheduleMeeting => {
                            label for="mode" { (lang.t("方式", "Mode")) }
                            select #mode name="mode" { option value="offline" { (lang.t("线下", "Offline")) } option value="online" { (lang.t("线上", "Online")) } }
                            label for="starts_at" { (lang.t("时间", "When")) }
                            input #starts_at type="datetime-local" name="starts_at" required;
                            label for="m-place" { (lang.t("地点或会议链接", "Place or link")) }
                            input #m-place name="place" required;
                        }
                        TopicStep::SignIn | TopicStep::RecordMinutes => {
                            label for={"meeting-" (st.as_str())} { (lang.t("会议", "Meeting")) }
                            select id={"meeting-" (st.as_str())} name="meeting_id" { @for m in &t.meetings { option value=(m.id) { (m.starts_at) " " (m.place) } } }
                            @if st == TopicStep::RecordMinutes { label for="minutes" { (lang.t("会议纪要", "Minutes")) } textarea #minutes name="minutes" required {} }
                        }
                        TopicStep::OpenVote => {
                            label for="quorum" { (lang.t("法定参与比例（%）", "Quorum (% of eligible)")) }
                            input #quorum type="number" name="quorum" min="1" max="100" value="50" required;
                            label for="pass" { (lang.t("通过门槛（赞成票超过投票数的 %）", "Passes when yes exceeds (% of ballots)")) }
                            input #pass type="number" name="pass_threshold" min="0" max="99" value="50" required;
                            label for="opens_at" { (lang.t("开始", "Opens")) }
                            input #opens_at type="datetime-local" name="opens_at" value=(local_value(now)) required;
                            label for="closes_at" { (lang.t("截止", "Closes")) }
                            input #closes_at type="datetime-local" name="closes_at" value=(local_value(now + 7 * 86_400_000)) required;
                            label { input type="checkbox" name="secret" value="true" checked; " " (lang.t("无记名投票", "Secret ballot")) }
                        }
                        TopicStep::Publish => {
                            @if t.tally.as_ref().is_some_and(|x| x.passed) {
                                label for="resolution" { (lang.t("决议内容", "Resolution")) }
                                textarea #resolution name="resolution" required {}
                            }
                            label for="objection_days" { (lang.t("公示天数", "Objection period (days)")) }
                            input #objection_days type="number" name="objection_days" min="0" max="30" value="7";
                        }
                        TopicStep::Object => { label for="objection" { (lang.t("异议内容", "Your objection")) } textarea #objection name="note" required {} }
                        TopicStep::AddTask => {
                            label for="task-title" { (lang.t("任务", "Task")) } input #task-title name="title" required;
                            label for="owner" { (lang.t("负责方", "Owner")) } input #owner name="owner" required;
                            label for="case_id" { (lang.t("关联诉求编号（可选）", "Linked case (optional)")) } input #case_id name="case_id";
                        }
                        TopicStep::Progress => {
                            label for="task_id" { (lang.t("任务", "Task")) }
                            select #task_id name="task_id" { @for k in &t.tasks { option value=(k.id) { (k.title) " (" (k.progress) "%)" } } }
                            label for="progress" { (lang.t("进度（%）", "Progress (%)")) } input #progress type="number" name="progress" min="0" max="100" required;
                            label for="p-note" { (lang.t("说明", "Note")) } input #p-note name="note";
                        }
                        _ => {}
                    }
                    button type="submit" { (lang.word(st.as_str())) }
                }))
            }
        }
    }
}

pub(super) async fn topic_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
) -> Response {
    let lang = s.lang;
    let t = match topics::view(&state.db, &state.sealer, &s.actor, &id).await {
        Ok(t) => t,
        Err(e) => return refused(&s, &e, "/deliberation"),
    };
    let steward = authorize(&s.actor, DELIBERATION_MANAGE, &Target::area(&t.area)).is_ok();
    let moderator = authorize(&s.actor, MODERATE, &Target::area(&t.area)).is_ok();
    let base = format!("/topics/{}/do/", t.id);
    let body = html! {
        p.meta { (t.number) " · " (lang.word(t.level.as_str())) " " (t.area) " " (t.place) " · " (lang.t("提出人", "Raised by")) " " (t.proposer) " · " span #topic-status .badge { (lang.word(t.status.as_str())) } }
        @if t.hidden { (notice(&format!("{}{}", lang.t("已隐藏：", "Hidden: "), t.hidden_reason.clone().unwrap_or_default()))) }
        p.body { (t.body) }
        @if let Some(r) = &t.decline_reason { p { strong { (lang.t("不予受理理由：", "Declined: ")) } (r) } }
        @if let Some(r) = &t.resolution { p #resolution { strong { (lang.t("决议：", "Resolution: ")) } (r) } }
        @if let Some(u) = &t.objection_until { p { (lang.t("公示期至 ", "Objections until ")) (u) } }
        @if let Some(r) = &t.rules {
            section #vote {
                h2 { (lang.t("表决", "The vote")) }
                p { (lang.t("规则：", "Rules: ")) (r.opens_at) " – " (r.closes_at) "; " (lang.t("法定参与比例 ", "quorum ")) (format!("{:.0}%", r.quorum * 100.0)) "; " (lang.t("通过门槛 ", "passes above ")) (format!("{:.0}%", r.pass_threshold * 100.0)) "; " (if r.secret { lang.t("无记名", "secret ballot") } else { lang.t("记名", "open ballot") }) "; " (lang.t("应参与人数 ", "eligible ")) (t.eligible.unwrap_or(0)) }
                @if let Some(x) = &t.tally {
                    p #tally { (lang.t("赞成 ", "Yes ")) (x.yes) " · " (lang.t("反对 ", "No ")) (x.no) " · " (lang.t("弃权 ", "Abstain ")) (x.abstain) " · " (lang.t("参与率 ", "Turnout ")) (format!("{:.0}%", x.turnout * 100.0)) " — " strong { (if x.passed { lang.t("通过", "passed") } else { lang.t("未通过", "not passed") }) } }
                    p.small { (x.reason) }
                }
                @if t.status == TopicStatus::Voting && !steward {
                    @if t.voted { p.ok #voted { (lang.t("您已投票。", "You have voted.")) } }
                    @else {
                        (form(&s, &format!("{base}vote"), html! {
                            fieldset {
                                legend { (lang.t("您的选择", "Your choice")) }
                                label { input type="radio" name="choice" value="yes" required; " " (lang.t("赞成", "Yes")) }
                                label { input type="radio" name="choice" value="no"; " " (lang.t("反对", "No")) }
                                label { input type="radio" name="choice" value="abstain"; " " (lang.t("弃权", "Abstain")) }
                            }
                            button #cast-vote type="submit" { (lang.t("投票", "Vote")) }
                        }))
                    }
                }
            }
        }
        section #comments {
            h2 { (lang.t("议事讨论", "Discussion")) }
            @for c in &t.comments {
                article.comment id={"c-" (c.id)} {
                    p.meta { (c.author) " · " span.badge { (lang.word(c.stance.as_str())) } " · " (c.created_at) @if c.parent_id.is_some() { " · " (lang.t("回复", "reply")) } }
                    @if c.hidden { p.small { (lang.t("已隐藏：", "Hidden: ")) (c.hidden_reason.clone().unwrap_or_default()) } }
                    p { (c.body) }
                    details { summary { (lang.t("举报", "Report")) }
                        (form(&s, &format!("{base}report"), html! {
                            input type="hidden" name="target" value={"comment:" (c.id)};
                            label for={"r-" (c.id)} { (lang.t("理由", "Reason")) } input id={"r-" (c.id)} name="reason" required;
                            button type="submit" { (lang.t("举报", "Report")) }
                        }))
                    }
                    @if moderator {
                        (form(&s, &format!("{base}{}", if c.hidden { "restore" } else { "hide" }), html! {
                            input type="hidden" name="target" value={"comment:" (c.id)};
                            input name="reason" required placeholder=(lang.t("处理理由", "Reason"));
                            button type="submit" { (if c.hidden { lang.t("恢复", "Restore") } else { lang.t("隐藏", "Hide") }) }
                        }))
                    }
                }
            }
            @if matches!(t.status, TopicStatus::Deliberating | TopicStatus::Voting) {
                (form(&s, &format!("{base}comment"), html! {
                    label for="stance" { (lang.t("立场", "Stance")) }
                    select #stance name="stance" { option value="for" { (lang.word("for")) } option value="against" { (lang.word("against")) } option value="neutral" { (lang.word("neutral")) } }
                    label for="comment-body" { (lang.t("意见", "Comment")) }
                    textarea #comment-body name="body" required rows="2" {}
                    button type="submit" { (lang.t("发表意见", "Comment")) }
                }))
            }
        }
        @if !t.meetings.is_empty() {
            section #meetings { h2 { (lang.t("议事会议", "Meetings")) }
                ul { @for m in &t.meetings { li { (m.starts_at) " · " (if m.mode.as_str() == "online" { lang.t("线上", "online") } else { lang.t("线下", "offline") }) " · " (m.place) " · " (lang.t("签到 ", "signed in ")) (m.attendees) @if let Some(x) = &m.minutes { p.small { (x) } } } } }
            }
        }
        @if !t.tasks.is_empty() {
            section #tasks { h2 { (lang.t("落实任务", "Tasks")) }
                ul { @for k in &t.tasks { li { (k.title) " · " (k.owner) " · " progress value=(k.progress) max="100" {} " " (k.progress) "%" } } }
            }
        }
        section #steps { (step_forms(&s, &t, steward)) }
        section #history { h2 { (lang.t("全过程记录", "History")) }
            ol.timeline { @for e in &t.history { li { time { (e.at) } " " strong { (lang.word(&e.step)) } " " (actor_name(lang, &e.actor)) @if let Some(n) = &e.note { " — " (n) } } } }
        }
    };
    page(Some(&s), lang, &t.title, body).into_response()
}

/// A percentage field as a fraction.
fn pct(f: &Submitted, k: &str) -> Result<f64, Error> {
    Ok(f.number::<f64>(k)? / 100.0)
}

pub(super) async fn topic_do(
    State(state): State<AppState>,
    s: Session,
    Path((id, action)): Path<(String, String)>,
    m: Multipart,
) -> Response {
    let back = format!("/topics/{id}");
    let f = match checked_form(&s, m).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    match topic_step(&state, &s, &id, &action, &f).await {
        Ok(()) => Redirect::to(&format!("{back}?done={}", enc(&action))).into_response(),
        Err(e) => refused(&s, &e, &back),
    }
}

/// One of the topic page's forms: a vote, a comment, a report, moderation or a step of the loop.
async fn topic_step(
    state: &AppState,
    s: &Session,
    id: &str,
    action: &str,
    f: &Submitted,
) -> Result<(), Error> {
    let (db, sealer, actor, at) = (&state.db, &state.sealer, &s.actor, now(state));
    match action {
        "vote" => {
            let choice = match f.get("choice") {
                "yes" => topics::Choice::Yes,
                "no" => topics::Choice::No,
                "abstain" => topics::Choice::Abstain,
                _ => return Err(Error::invalid("choice", "choose yes, no or abstain")),
            };
            topics::vote(db, sealer, actor, id, choice, at).await
        }
        "comment" => {
            let c = topics::NewComment {
                stance: crate::model::topics::Stance::from_input("stance", f.get("stance"))?,
                body: f.get("body").into(),
                parent_id: f.opt("parent_id"),
            };
            topics::comment(db, sealer, actor, id, &c, at)
                .await
                .map(|_| ())
        }
        "report" => {
            let r = moderation::ReportInput {
                target: f.get("target").into(),
                reason: f.get("reason").into(),
            };
            moderation::file_report(db, actor, &r, at).await.map(|_| ())
        }
        "hide" | "restore" => {
            let m = moderation::ModerateInput {
                target: f.get("target").into(),
                reason: f.get("reason").into(),
            };
            moderation::moderate(db, actor, &m, action == "hide").await
        }
        other => {
            let st = TopicStep::parse(other).ok_or_else(|| Error::not_found("action"))?;
            let input = step_input(st, f)?;
            topics::step(db, sealer, actor, id, st, &input, at).await
        }
    }
}

/// A step's form as the module's input.
fn step_input(st: TopicStep, f: &Submitted) -> Result<topics::StepInput, Error> {
    let rules = match st {
        TopicStep::OpenVote => Some(VoteRules {
            quorum: pct(f, "quorum")?,
            pass_threshold: pct(f, "pass_threshold")?,
            opens_at: local_time(f.get("opens_at")),
            closes_at: local_time(f.get("closes_at")),
            secret: f.get("secret") == "true",
        }),
        _ => None,
    };
    Ok(topics::StepInput {
        note: f.opt("note"),
        into: f.opt("into"),
        reason: f.opt("reason"),
        mode: f
            .opt("mode")
            .map(|m| crate::model::topics::MeetingMode::from_input("mode", &m))
            .transpose()?,
        starts_at: f.opt("starts_at").map(|v| local_time(&v)),
        place: f.opt("place"),
        meeting_id: f.opt("meeting_id"),
        minutes: f.opt("minutes"),
        rules,
        resolution: f.opt("resolution"),
        objection_days: f.opt_number("objection_days")?,
        title: f.opt("title"),
        owner: f.opt("owner"),
        case_id: f.opt("case_id"),
        project_id: f.opt("project_id"),
        task_id: f.opt("task_id"),
        progress: f.opt_number("progress")?,
    })
}
