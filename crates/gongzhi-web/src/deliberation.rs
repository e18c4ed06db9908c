//! Deliberation pages: the hub (verification, topics, calls, consultations), the topic page with
//! its comments, meetings, vote and the steps this user may take now, the micro-project call with
//! proposals, reviews, the ballot and computed results, consultations and sortition panels. Every
//! form calls the module's own commands, so the rules and refusals are the API's.

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{html, Markup};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;

use gongzhi_core::http::AppState;
use gongzhi_core::identity::{authorize, Target};
use gongzhi_core::time::format_ms;
use gongzhi_core::Error;
use gongzhi_deliberation::rules::{TopicStatus, TopicStep, VoteRules, ALL_STEPS};
use gongzhi_deliberation::{budgets, consultations, moderation, panels, residents, topics};
use gongzhi_deliberation::{DELIBERATION_MANAGE, MODERATE};

use crate::i18n::Lang;
use crate::report::{read_multipart, upload_photos, Submitted};
use crate::session::Session;
use crate::{enc, error_box, notice, page};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route("/deliberation", get(hub))
        .route("/deliberation/do/{action}", post(hub_do))
        .route("/topics/{id}", get(topic_page))
        .route("/topics/{id}/do/{action}", post(topic_do))
        .route("/budgets/{id}", get(call_page))
        .route("/budgets/{id}/do/{action}", post(call_do))
        .route("/consultations/{id}", get(consultation_page))
        .route("/consultations/{id}/do/answer", post(consultation_do))
        .route("/panels/{id}", get(panel_page))
        .route("/panels/{id}/do/draw", post(panel_draw))
        .route("/deliberation/residents", get(residents_page))
        .route("/moderation", get(moderation_page))
        .route("/notices", get(notices))
}

/// Public notices (公示): resolutions and vote results, micro-project winners, consultations
/// whose results are out — readable without signing in.
async fn notices(
    State(state): State<AppState>,
    s: Option<Session>,
    crate::session::PageLang(lang): crate::session::PageLang,
) -> Response {
    let lang = s.as_ref().map(|s| s.lang).unwrap_or(lang);
    let at = now(&state);
    let mut published = Vec::new();
    for status in [
        TopicStatus::Published,
        TopicStatus::Executing,
        TopicStatus::Done,
    ] {
        let f = topics::TopicFilter {
            status: Some(status),
            ..Default::default()
        };
        published.extend(topics::list(&state.db, &f).await.unwrap_or_default());
    }
    let mut views = Vec::new();
    for t in published.iter().take(20) {
        if let Ok(v) = topics::view(
            &state.db,
            &state.sealer,
            &gongzhi_core::identity::Actor::anonymous(),
            &t.id,
        )
        .await
        {
            views.push(v);
        }
    }
    let calls: Vec<_> = budgets::list(&state.db, at)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|c| {
            matches!(
                c.phase,
                budgets::CallPhase::Result | budgets::CallPhase::Implementing
            )
        })
        .collect();
    let body = html! {
        section #notice-topics {
            h2 { (lang.t("议题决议公示", "Resolutions")) }
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
            ul { @for c in &calls { li { a href={"/budgets/" (c.id)} { (c.title) } " · " (c.ballots) (lang.t(" 张选票", " ballots")) " · " (rule_name(lang, c.rule.as_str())) } } }
        }
    };
    page(s.as_ref(), lang, lang.t("公示公告", "Public notices"), body).into_response()
}

/// The area a staff user works in: their first scoped assignment that may manage or verify.
fn staff_area(s: &Session) -> Option<String> {
    s.actor
        .assignments
        .iter()
        .filter(|a| {
            gongzhi_deliberation::DELIBERATION_MANAGE
                .roles
                .contains(&a.role)
                || gongzhi_deliberation::RESIDENT_VERIFY
                    .roles
                    .contains(&a.role)
                || MODERATE.roles.contains(&a.role)
        })
        .map(|a| a.area.clone().unwrap_or_default())
        .next()
}

fn may_manage(s: &Session, area: &str) -> bool {
    authorize(&s.actor, DELIBERATION_MANAGE, &Target::area(area)).is_ok()
}

fn may_verify(s: &Session, area: &str) -> bool {
    authorize(
        &s.actor,
        gongzhi_deliberation::RESIDENT_VERIFY,
        &Target::area(area),
    )
    .is_ok()
}

/// The council's forms: verify residents, hand out codes, open a call, a consultation, a panel.
fn council_forms(s: &Session, area: &str) -> Markup {
    let lang = s.lang;
    let now = gongzhi_core::time::now_ms();
    let day = 86_400_000;
    html! {
        @if may_verify(s, area) {
            section #verify-residents {
                h2 { (lang.t("居民核验", "Verify residents")) }
                p { a href={"/deliberation/residents?area=" (area)} { (lang.t("已核验居民名单", "Verified residents")) } }
                (form(s, "/deliberation/do/verify", html! {
                    label for="v-user" { (lang.t("居民用户名", "Resident's user name")) } input #v-user name="username" required;
                    label for="v-area" { (lang.t("社区编码", "Community code")) } input #v-area name="area" value=(area) required;
                    label for="v-place" { (lang.t("小区/楼栋", "Compound/building")) } input #v-place name="place";
                    button type="submit" { (lang.t("核验通过", "Verify")) }
                }))
                (form(s, "/deliberation/do/codes", html! {
                    h3 { (lang.t("发放一次性认证码", "Hand out one-time codes")) }
                    label for="c-area" { (lang.t("社区编码", "Community code")) } input #c-area name="area" value=(area) required;
                    label for="c-place" { (lang.t("小区/楼栋", "Compound/building")) } input #c-place name="place";
                    label for="c-count" { (lang.t("数量", "How many")) } input #c-count type="number" name="count" min="1" max="500" value="10" required;
                    button type="submit" { (lang.t("生成认证码", "Make codes")) }
                }))
            }
        }
        @if may_manage(s, area) {
            section #new-call {
                h2 { (lang.t("发布民生微实事征集", "Open a micro-project call")) }
                (form(s, "/deliberation/do/call", html! {
                    label for="call-title" { (lang.t("名称", "Title")) } input #call-title name="title" required;
                    label for="call-desc" { (lang.t("说明", "Description")) } textarea #call-desc name="description" {}
                    label for="call-area" { (lang.t("社区编码", "Community code")) } input #call-area name="area" value=(area) required;
                    label for="call-budget" { (lang.t("预算（元）", "Budget (yuan)")) } input #call-budget type="number" name="budget" min="1" required;
                    label for="call-ballot" { (lang.t("投票方式", "Ballot")) }
                    select #call-ballot name="ballot" { option value="approval" { (lang.t("限选 N 项", "approve up to N")) } option value="knapsack" { (lang.t("总价不超预算", "any set within the budget")) } }
                    label for="call-max" { (lang.t("N（限选项数）", "N (approvals)")) } input #call-max type="number" name="max_approvals" min="1" value="3";
                    label for="call-rule" { (lang.t("计算规则", "Winner rule")) }
                    select #call-rule name="rule" { option value="equal_shares" { (rule_name(lang, "equal_shares")) } option value="greedy" { (rule_name(lang, "greedy")) } }
                    @for (name, zh, en, off) in [("proposing_from", "征集开始", "Proposals from", 0), ("reviewing_from", "审核开始", "Review from", 14), ("voting_from", "投票开始", "Voting from", 21), ("voting_until", "投票截止", "Voting until", 28), ("implementing_from", "实施开始", "Implementation from", 35)] {
                        label for={"call-" (name)} { (lang.t(zh, en)) }
                        input id={"call-" (name)} type="datetime-local" name=(name) value=(local_value(now + off * day)) required;
                    }
                    button type="submit" { (lang.t("发布", "Open the call")) }
                }))
            }
            section #new-consultation {
                h2 { (lang.t("发起专项征询", "Open a consultation")) }
                (form(s, "/deliberation/do/consultation", html! {
                    label for="cs-title" { (lang.t("名称", "Title")) } input #cs-title name="title" required;
                    label for="cs-area" { (lang.t("社区编码", "Community code")) } input #cs-area name="area" value=(area) required;
                    label for="cs-place" { (lang.t("小区/楼栋（可选）", "Compound/building (optional)")) } input #cs-place name="place";
                    label for="cs-opens" { (lang.t("开始", "Opens")) } input #cs-opens type="datetime-local" name="opens_at" value=(local_value(now)) required;
                    label for="cs-closes" { (lang.t("截止", "Closes")) } input #cs-closes type="datetime-local" name="closes_at" value=(local_value(now + 14 * day)) required;
                    label for="cs-q" { (lang.t("问题（每行一个：single|问题|选项1/选项2，multiple|…，scale|问题|1-5，text|问题）", "Questions, one per line: single|text|a/b, multiple|…, scale|text|1-5, text|text")) }
                    textarea #cs-q name="questions" rows="4" required {}
                    button type="submit" { (lang.t("发起", "Open")) }
                }))
            }
            section #new-panel {
                h2 { (lang.t("抽签产生代表", "Draw a panel by lot")) }
                (form(s, "/deliberation/do/panel", html! {
                    label for="pn-title" { (lang.t("名称", "Title")) } input #pn-title name="title" required;
                    label for="pn-area" { (lang.t("社区编码", "Community code")) } input #pn-area name="area" value=(area) required;
                    label for="pn-seats" { (lang.t("名额", "Seats")) } input #pn-seats type="number" name="seats" min="1" required;
                    label for="pn-c" { (lang.t("候选名单（每行一人，将公开）", "Candidates, one per line (published)")) } textarea #pn-c name="candidates" rows="5" required {}
                    button type="submit" { (lang.t("公布名单和种子承诺", "Publish the list and seed commitment")) }
                }))
            }
        }
    }
}

/// `single|问题|选项1/选项2`, `multiple|…`, `scale|问题|1-5`, `text|问题`, one per line.
fn parse_questions(text: &str) -> Result<Vec<consultations::Question>, Error> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, l)| {
            let parts: Vec<&str> = l.split('|').map(str::trim).collect();
            let bad = || {
                Error::invalid(
                    "questions",
                    format!("line {}: write kind|question|options", i + 1),
                )
            };
            let kind = consultations::QuestionKind::from_input(
                "kind",
                parts.first().copied().ok_or_else(bad)?,
            )?;
            let text = parts.get(1).copied().ok_or_else(bad)?.to_string();
            let third = parts.get(2).copied().unwrap_or("");
            let (options, min, max) = match kind {
                consultations::QuestionKind::Single | consultations::QuestionKind::Multiple => (
                    third
                        .split('/')
                        .map(|o| o.trim().to_string())
                        .filter(|o| !o.is_empty())
                        .collect(),
                    None,
                    None,
                ),
                consultations::QuestionKind::Scale => {
                    let (lo, hi) = third.split_once('-').unwrap_or(("1", "5"));
                    (vec![], lo.trim().parse().ok(), hi.trim().parse().ok())
                }
                consultations::QuestionKind::Text => (vec![], None, None),
            };
            Ok(consultations::Question {
                kind,
                text,
                options,
                min,
                max,
            })
        })
        .collect()
}

fn refusal(lang: Lang, s: &Session, e: &Error, back: &str) -> Response {
    let code = match e {
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::Conflict(_) | Error::Refused { .. } => StatusCode::CONFLICT,
        Error::NotFound { .. } => StatusCode::NOT_FOUND,
        Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        _ => StatusCode::BAD_REQUEST,
    };
    let body = html! {
        (error_box(lang, e))
        p { a href=(back) { (lang.t("返回", "Back")) } }
    };
    (
        code,
        page(Some(s), lang, lang.t("未能完成", "Not done"), body),
    )
        .into_response()
}

/// A submitted form whose CSRF token is this session's; else the refusal to send back.
async fn checked_form(s: &Session, m: Multipart, back: &str) -> Result<Submitted, Response> {
    let f = read_multipart(m)
        .await
        .map_err(|e| refusal(s.lang, s, &e, back))?;
    s.check(f.get("_csrf"))?;
    Ok(f)
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

async fn hub(State(state): State<AppState>, s: Session) -> Response {
    let lang = s.lang;
    let mine = residents::current(&state.db, &state.sealer, &s.actor)
        .await
        .ok()
        .flatten();
    let topics = topics::list(&state.db, &topics::TopicFilter::default())
        .await
        .unwrap_or_default();
    let calls = budgets::list(&state.db, now(&state))
        .await
        .unwrap_or_default();
    let consults = consultations::list(&state.db, now(&state))
        .await
        .unwrap_or_default();
    let panel_rows = panels::recent(&state.db, 20).await.unwrap_or_default();
    let staff = staff_area(&s);
    let body = html! {
        @if let Some(area) = &staff {
            @if MODERATE.roles.iter().any(|r| s.has(*r)) { p { a href={"/moderation?area=" (area)} { (lang.t("待审核的举报", "Reports to review")) } } }
        }
        section #verification {
            h2 { (lang.t("参与资格", "Taking part")) }
            @match &mine {
                Some(r) => p.ok {
                    (lang.t("您已认证为本地居民：", "You are verified as a resident of: "))
                    strong { (r.area) " " (r.place) }
                },
                None => {
                    p { (lang.t("认证后才能提出议题、投票和参与征询。请向社区工作人员核验，或输入社区发放的一次性认证码。", "Verify to raise topics, vote and answer consultations: ask community staff, or enter the one-time code they gave you.")) }
                    (form(&s, "/deliberation/do/redeem", html! {
                        label for="code" { (lang.t("认证码", "Code")) }
                        input #code name="code" required autocomplete="off";
                        button type="submit" { (lang.t("认证", "Verify")) }
                    }))
                }
            }
        }
        section #new-topic {
            h2 { (lang.t("提出议题", "Raise a topic")) }
            (form(&s, "/deliberation/do/propose", html! {
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
                input #t-area name="area" required value=(mine.as_ref().map(|r| r.area.as_str()).unwrap_or_default());
                label for="t-place" { (lang.t("小区/楼栋（如 多福巷小区/3号楼）", "Compound/building (e.g. 多福巷小区/3号楼)")) }
                input #t-place name="place" value=(mine.as_ref().map(|r| r.place.as_str()).unwrap_or_default());
                button type="submit" { (lang.t("提交议题", "Submit")) }
            }))
        }
        section #topics {
            h2 { (lang.t("议题", "Topics")) }
            table {
                thead { tr { th { (lang.t("编号", "No.")) } th { (lang.t("议题", "Topic")) } th { (lang.t("范围", "Level")) } th { (lang.t("状态", "Status")) } } }
                tbody {
                    @for t in &topics {
                        tr {
                            td { (t.number) }
                            td { a href={"/topics/" (t.id)} { (t.title) } }
                            td { (lang.word(t.level.as_str())) " " (t.place) }
                            td { span.badge { (lang.word(t.status.as_str())) } }
                        }
                    }
                }
            }
        }
        section #calls {
            h2 { (lang.t("民生微实事", "Micro-projects")) }
            ul {
                @for c in &calls {
                    li { a href={"/budgets/" (c.id)} { (c.title) } " · " span.badge { (lang.word(c.phase.as_str())) } " · " (c.budget) (lang.t(" 元", " yuan")) " · " (rule_name(lang, c.rule.as_str())) }
                }
            }
        }
        section #consultations {
            h2 { (lang.t("专项征询", "Consultations")) }
            ul {
                @for c in &consults {
                    li { a href={"/consultations/" (c.id)} { (c.title) } " · " (state_name(lang, c.state.as_str())) }
                }
            }
        }
        section #panels {
            h2 { (lang.t("抽签产生的代表", "Panels drawn by lot")) }
            ul {
                @for r in &panel_rows {
                    li { a href={"/panels/" (r.id)} { (r.title) } }
                }
            }
        }
        @if let Some(area) = &staff { (council_forms(&s, area)) }
    };
    page(Some(&s), lang, lang.t("议事协商", "Deliberation"), body).into_response()
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

async fn hub_do(
    State(state): State<AppState>,
    s: Session,
    Path(action): Path<String>,
    m: Multipart,
) -> Response {
    let lang = s.lang;
    let f = match checked_form(&s, m, "/deliberation").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let result = match action.as_str() {
        "redeem" => residents::redeem_code(&state.db, &s.actor, f.get("code"), now(&state))
            .await
            .map(|_| "/deliberation".to_string()),
        "propose" => {
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
            topics::create(&state.db, &s.actor, &input, now(&state))
                .await
                .map(|(id, _)| format!("/topics/{id}"))
        }
        "verify" => residents::verify_resident(
            &state.db,
            &s.actor,
            &residents::VerifyInput {
                username: f.get("username").into(),
                area: f.get("area").into(),
                place: f.get("place").into(),
            },
            now(&state),
        )
        .await
        .map(|_| format!("/deliberation/residents?area={}", enc(f.get("area")))),
        "moderate" => moderation::moderate(
            &state.db,
            &s.actor,
            &moderation::ModerateInput {
                target: f.get("target").into(),
                reason: f.get("reason").into(),
            },
            f.get("action") == "hide",
        )
        .await
        .map(|_| format!("/moderation?area={}", enc(f.get("area")))),
        "revoke" => residents::revoke_verification(
            &state.db,
            &s.actor,
            f.get("id"),
            f.get("reason"),
            now(&state),
        )
        .await
        .map(|_| format!("/deliberation/residents?area={}", enc(f.get("area")))),
        "codes" => {
            let input = residents::CodesInput {
                area: f.get("area").into(),
                place: f.get("place").into(),
                count: f.get("count").parse().unwrap_or(0),
                valid_days: None,
            };
            return match residents::issue(&state.db, &s.actor, &input, now(&state)).await {
                Ok(c) => {
                    let body = html! {
                        p { (lang.t("请打印或抄写后当面发放；每个认证码只能使用一次，有效期至 ", "Print or copy and hand out in person; each code works once, until ")) (c.expires_at) }
                        ol #codes { @for code in &c.codes { li { code { (code) } } } }
                        p { a href="/deliberation" { (lang.t("返回", "Back")) } }
                    };
                    page(
                        Some(&s),
                        lang,
                        lang.t("一次性认证码", "One-time codes"),
                        body,
                    )
                    .into_response()
                }
                Err(e) => refusal(lang, &s, &e, "/deliberation"),
            };
        }
        "call" => {
            async {
                let c = budgets::NewCall {
                    title: f.get("title").into(),
                    description: f.get("description").into(),
                    area: f.get("area").into(),
                    place: f.get("place").into(),
                    budget: f.get("budget").parse().unwrap_or(0),
                    ballot: budgets::BallotKind::from_input("ballot", f.get("ballot"))?,
                    max_approvals: f.get("max_approvals").parse().ok(),
                    rule: budgets::WinnerRule::from_input("rule", f.get("rule"))?,
                    completion: Some(budgets::Completion::Add1ThenGreedy),
                    proposing_from: local_time(f.get("proposing_from")),
                    reviewing_from: local_time(f.get("reviewing_from")),
                    voting_from: local_time(f.get("voting_from")),
                    voting_until: local_time(f.get("voting_until")),
                    implementing_from: local_time(f.get("implementing_from")),
                };
                budgets::create(&state.db, &s.actor, &c, now(&state))
                    .await
                    .map(|id| format!("/budgets/{id}"))
            }
            .await
        }
        "consultation" => match parse_questions(f.get("questions")) {
            Ok(questions) => {
                let c = consultations::NewConsultation {
                    title: f.get("title").into(),
                    description: f.get("description").into(),
                    area: f.get("area").into(),
                    place: f.get("place").into(),
                    opens_at: local_time(f.get("opens_at")),
                    closes_at: local_time(f.get("closes_at")),
                    questions,
                };
                consultations::create(&state.db, &s.actor, &c)
                    .await
                    .map(|id| format!("/consultations/{id}"))
            }
            Err(e) => Err(e),
        },
        "panel" => {
            let p = panels::NewPanel {
                title: f.get("title").into(),
                area: f.get("area").into(),
                seats: f.get("seats").parse().unwrap_or(0),
                candidates: f
                    .get("candidates")
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect(),
            };
            panels::create(&state.db, &state.sealer, &s.actor, &p)
                .await
                .map(|id| format!("/panels/{id}"))
        }
        _ => Err(Error::not_found("action")),
    };
    match result {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(e) => refusal(lang, &s, &e, "/deliberation"),
    }
}

#[derive(serde::Deserialize)]
struct AreaQuery {
    area: Option<String>,
}

async fn residents_page(
    State(state): State<AppState>,
    s: Session,
    axum::extract::Query(q): axum::extract::Query<AreaQuery>,
) -> Response {
    let lang = s.lang;
    let area = q.area.or_else(|| staff_area(&s)).unwrap_or_default();
    let list = match residents::list_in(&state.db, &state.sealer, &s.actor, &area).await {
        Ok(l) => l,
        Err(e) => return refusal(lang, &s, &e, "/deliberation"),
    };
    let body = html! {
        table #verified {
            thead { tr { th { (lang.t("居民", "Resident")) } th { (lang.t("社区", "Community")) } th { (lang.t("小区/楼栋", "Place")) } th { (lang.t("方式", "How")) } th { (lang.t("核验时间", "Verified")) } th {} } }
            tbody {
                @for v in &list {
                    tr {
                        td { (v.resident) } td { (v.area) } td { (v.place) }
                        td { (if v.method == residents::VerificationMethod::Code { lang.t("认证码", "code") } else { lang.t("登记核验", "registry") }) }
                        td { (v.verified_at) }
                        td {
                            @if let Some(r) = &v.revoke_reason { (lang.t("已撤销：", "Revoked: ")) (r) }
                            @else {
                                (form(&s, "/deliberation/do/revoke", html! {
                                    input type="hidden" name="id" value=(v.id);
                                    input type="hidden" name="area" value=(area);
                                    input name="reason" required aria-label=(lang.t("撤销理由", "Reason")) placeholder=(lang.t("撤销理由", "Reason"));
                                    button type="submit" { (lang.t("撤销", "Revoke")) }
                                }))
                            }
                        }
                    }
                }
            }
        }
    };
    page(
        Some(&s),
        lang,
        lang.t("已核验居民", "Verified residents"),
        body,
    )
    .into_response()
}

async fn moderation_page(
    State(state): State<AppState>,
    s: Session,
    axum::extract::Query(q): axum::extract::Query<AreaQuery>,
) -> Response {
    let lang = s.lang;
    let area = q.area.or_else(|| staff_area(&s)).unwrap_or_default();
    let items = match moderation::open_reports(&state.db, &s.actor, &area).await {
        Ok(l) => l,
        Err(e) => return refusal(lang, &s, &e, "/deliberation"),
    };
    let body = html! {
        @if items.is_empty() { p.empty { (lang.t("没有待审核的举报。", "No reports to review.")) } }
        table #reports {
            thead { tr { th { (lang.t("内容", "Content")) } th { (lang.t("举报数", "Reports")) } th { (lang.t("理由", "Reasons")) } th { (lang.t("状态", "State")) } th {} } }
            tbody {
                @for i in &items {
                    tr {
                        td { (i.target) } td { (i.open_reports) } td { (i.reasons.join("；")) }
                        td { (if i.hidden { lang.t("已自动隐藏", "hidden") } else { lang.t("显示中", "shown") }) }
                        td {
                            @for (action, zh, en) in [("hide", "隐藏", "Hide"), ("restore", "恢复（驳回举报）", "Restore (reject the reports)")] {
                                (form(&s, "/deliberation/do/moderate", html! {
                                    input type="hidden" name="target" value=(i.target);
                                    input type="hidden" name="action" value=(action);
                                    input type="hidden" name="area" value=(area);
                                    input name="reason" required aria-label=(lang.t("处理理由", "Reason")) placeholder=(lang.t("处理理由（将显示）", "Reason (shown)"));
                                    button type="submit" { (lang.t(zh, en)) }
                                }))
                            }
                        }
                    }
                }
            }
        }
    };
    page(
        Some(&s),
        lang,
        lang.t("举报审核", "Reports to review"),
        body,
    )
    .into_response()
}

async fn panel_draw(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    m: Multipart,
) -> Response {
    let lang = s.lang;
    let back = format!("/panels/{id}");
    if let Err(r) = checked_form(&s, m, &back).await {
        return r;
    }
    match panels::make_draw(&state.db, &state.sealer, &s.actor, &id).await {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(e) => refusal(lang, &s, &e, &back),
    }
}

/// The steps of the loop this user may take now, each as a small form.
fn step_forms(s: &Session, t: &topics::TopicView, steward: bool) -> Markup {
    let lang = s.lang;
    let base = format!("/topics/{}/do/", t.id);
    let allowed: Vec<TopicStep> = ALL_STEPS
        .into_iter()
        .filter(|st| st.from_states().contains(&t.status))
        .filter(|st| match st.taker() {
            gongzhi_deliberation::rules::Taker::Council => steward,
            gongzhi_deliberation::rules::Taker::Resident => !steward,
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

async fn topic_page(State(state): State<AppState>, s: Session, Path(id): Path<String>) -> Response {
    let lang = s.lang;
    let t = match topics::view(&state.db, &state.sealer, &s.actor, &id).await {
        Ok(t) => t,
        Err(e) => return refusal(lang, &s, &e, "/deliberation"),
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
                ul { @for m in &t.meetings { li { (m.starts_at) " · " (if m.mode == topics::MeetingMode::Online { lang.t("线上", "online") } else { lang.t("线下", "offline") }) " · " (m.place) " · " (lang.t("签到 ", "signed in ")) (m.attendees) @if let Some(x) = &m.minutes { p.small { (x) } } } } }
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

fn pct(f: &Submitted, k: &str) -> f64 {
    f.get(k).parse::<f64>().unwrap_or(-1.0) / 100.0
}

async fn topic_do(
    State(state): State<AppState>,
    s: Session,
    Path((id, action)): Path<(String, String)>,
    m: Multipart,
) -> Response {
    let lang = s.lang;
    let back = format!("/topics/{id}");
    let f = match checked_form(&s, m, &back).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let at = now(&state);
    let result: Result<(), Error> = match action.as_str() {
        "vote" => {
            let choice = match f.get("choice") {
                "yes" => Ok(topics::Choice::Yes),
                "no" => Ok(topics::Choice::No),
                "abstain" => Ok(topics::Choice::Abstain),
                _ => Err(Error::invalid("choice", "choose yes, no or abstain")),
            };
            match choice {
                Ok(c) => topics::vote(&state.db, &state.sealer, &s.actor, &id, c, at).await,
                Err(e) => Err(e),
            }
        }
        "comment" => match topics::Stance::from_input("stance", f.get("stance")) {
            Ok(stance) => topics::comment(
                &state.db,
                &state.sealer,
                &s.actor,
                &id,
                &topics::NewComment {
                    stance,
                    body: f.get("body").into(),
                    parent_id: f.opt("parent_id"),
                },
                at,
            )
            .await
            .map(|_| ()),
            Err(e) => Err(e),
        },
        "report" => moderation::file_report(
            &state.db,
            &s.actor,
            &moderation::ReportInput {
                target: f.get("target").into(),
                reason: f.get("reason").into(),
            },
            at,
        )
        .await
        .map(|_| ()),
        "hide" | "restore" => {
            moderation::moderate(
                &state.db,
                &s.actor,
                &moderation::ModerateInput {
                    target: f.get("target").into(),
                    reason: f.get("reason").into(),
                },
                action == "hide",
            )
            .await
        }
        other => match TopicStep::parse(other) {
            None => Err(Error::not_found("action")),
            Some(st) => {
                async {
                    let mode = f
                        .opt("mode")
                        .map(|m| topics::MeetingMode::from_input("mode", &m))
                        .transpose()?;
                    let rules = (st == TopicStep::OpenVote).then(|| VoteRules {
                        quorum: pct(&f, "quorum"),
                        pass_threshold: pct(&f, "pass_threshold"),
                        opens_at: local_time(f.get("opens_at")),
                        closes_at: local_time(f.get("closes_at")),
                        secret: f.get("secret") == "true",
                    });
                    let input = topics::StepInput {
                        note: f.opt("note"),
                        into: f.opt("into"),
                        reason: f.opt("reason"),
                        mode,
                        starts_at: f.opt("starts_at").map(|v| local_time(&v)),
                        place: f.opt("place"),
                        meeting_id: f.opt("meeting_id"),
                        minutes: f.opt("minutes"),
                        rules,
                        resolution: f.opt("resolution"),
                        objection_days: f.get("objection_days").parse().ok(),
                        title: f.opt("title"),
                        owner: f.opt("owner"),
                        case_id: f.opt("case_id"),
                        project_id: f.opt("project_id"),
                        task_id: f.opt("task_id"),
                        progress: f.get("progress").parse().ok(),
                    };
                    topics::step(&state.db, &state.sealer, &s.actor, &id, st, &input, at).await
                }
                .await
            }
        },
    };
    match result {
        Ok(()) => Redirect::to(&format!("{back}?done={}", enc(&action))).into_response(),
        Err(e) => refusal(lang, &s, &e, &back),
    }
}

async fn call_page(State(state): State<AppState>, s: Session, Path(id): Path<String>) -> Response {
    let lang = s.lang;
    let at = now(&state);
    let c = match budgets::view(&state.db, &s.actor, &id, at).await {
        Ok(c) => c,
        Err(e) => return refusal(lang, &s, &e, "/deliberation"),
    };
    let steward = authorize(&s.actor, DELIBERATION_MANAGE, &Target::area(&c.call.area)).is_ok();
    let results = budgets::compute(&state.db, &state.sealer, &id, at)
        .await
        .ok();
    let base = format!("/budgets/{id}/do/");
    let phase = c.call.phase.as_str();
    let body = html! {
        p.meta { span #call-phase .badge { (lang.word(phase)) } " · " (lang.t("预算 ", "Budget ")) (c.call.budget) (lang.t(" 元", " yuan")) " · " (rule_name(lang, c.call.rule.as_str()))
            " · " (if c.call.ballot == budgets::BallotKind::Approval { format!("{}{}", lang.t("每票最多选 ", "approve up to "), c.call.max_approvals.unwrap_or(0)) } else { lang.t("所选项目总价不超过预算", "any set within the budget").to_string() }) }
        p { (c.description) }
        p.small { (lang.t("征集 ", "Proposals ")) (c.call.proposing_from) " · " (lang.t("审核 ", "Review ")) (c.call.reviewing_from) " · " (lang.t("投票 ", "Voting ")) (c.call.voting_from) " – " (c.call.voting_until) " · " (lang.t("实施 ", "Implementation ")) (c.call.implementing_from) }
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
                        @for p in c.projects.iter().filter(|p| p.status == budgets::ProjectStatus::Feasible) {
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

async fn call_do(
    State(state): State<AppState>,
    s: Session,
    Path((id, action)): Path<(String, String)>,
    m: Multipart,
) -> Response {
    let lang = s.lang;
    let back = format!("/budgets/{id}");
    let f = match checked_form(&s, m, &back).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let at = now(&state);
    let result: Result<(), Error> = match action.as_str() {
        "ballot" => {
            budgets::cast(
                &state.db,
                &state.sealer,
                &s.actor,
                &id,
                &budgets::BallotInput {
                    projects: f.all("projects"),
                },
                at,
            )
            .await
        }
        "propose" => budgets::add_project(
            &state.db,
            &s.actor,
            &id,
            &budgets::NewProject {
                title: f.get("title").into(),
                description: f.get("description").into(),
                cost_estimate: f.get("cost_estimate").parse().unwrap_or(0),
            },
            at,
        )
        .await
        .map(|_| ()),
        "review" => {
            budgets::review_project(
                &state.db,
                &s.actor,
                &id,
                f.get("project"),
                &budgets::ReviewInput {
                    feasible: f.get("feasible") == "true",
                    cost: f.get("cost").parse().ok(),
                    note: f.opt("note"),
                },
                at,
            )
            .await
        }
        "progress" => match upload_photos(&state, &s, &f).await {
            Ok(photos) => {
                budgets::record_progress(
                    &state.db,
                    &state.sealer,
                    &s.actor,
                    &id,
                    f.get("project"),
                    &budgets::ProgressInput {
                        progress: f.get("progress").parse().unwrap_or(-1),
                        note: f.opt("note"),
                        photos,
                    },
                    at,
                )
                .await
            }
            Err(e) => Err(e),
        },
        _ => Err(Error::not_found("action")),
    };
    match result {
        Ok(()) => Redirect::to(&format!("{back}?done={}", enc(&action))).into_response(),
        Err(e) => refusal(lang, &s, &e, &back),
    }
}

async fn consultation_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
) -> Response {
    let lang = s.lang;
    let at = now(&state);
    let c = match consultations::get(&state.db, &s.actor, &id, at).await {
        Ok(c) => c,
        Err(e) => return refusal(lang, &s, &e, "/deliberation"),
    };
    let results = consultations::aggregate(&state.db, &state.sealer, &s.actor, &id, at)
        .await
        .ok();
    let answered = c.answered;
    let body = html! {
        p.meta { (state_name(lang, c.state.as_str())) " · " (c.opens_at) " – " (c.closes_at) " · " (c.area) " " (c.place) " · " (lang.t("已收到 ", "responses ")) (c.responses) }
        p { (c.description) }
        @if answered { p.ok #answered { (lang.t("您已提交意见，感谢参与。", "Thank you: your response is recorded.")) } }
        @else if c.state == consultations::ConsultationState::Open {
            (form(&s, &format!("/consultations/{id}/do/answer"), html! {
                @for (i, q) in c.questions.iter().enumerate() {
                    fieldset {
                        legend { (i + 1) ". " (q.text) }
                        @match q.kind.as_str() {
                            "single" => { @for (k, o) in q.options.iter().enumerate() { label { input type="radio" name={"q" (i)} value=(k); " " (o) } } }
                            "multiple" => { @for (k, o) in q.options.iter().enumerate() { label { input type="checkbox" name={"q" (i)} value=(k); " " (o) } } }
                            "scale" => { input type="number" name={"q" (i)} min=(q.min.unwrap_or(1)) max=(q.max.unwrap_or(5)) aria-label=(q.text); }
                            _ => { textarea name={"q" (i)} aria-label=(q.text) {} }
                        }
                    }
                }
                button #answer type="submit" { (lang.t("提交", "Submit")) }
            }))
        }
        @if let Some(r) = &results {
            section #consultation-results { h2 { (lang.t("征询结果（匿名汇总）", "Results (anonymous)")) }
                @for q in &r.questions {
                    h3 { (q.text) }
                    ul { @for o in &q.counts { li { (o.label) ": " (o.count) } } }
                    @if let Some(mean) = q.mean { p { (lang.t("平均 ", "Mean ")) (format!("{mean:.2}")) } }
                    @if !q.texts.is_empty() { ul { @for t in &q.texts { li { (t) } } } }
                }
            }
        }
    };
    page(Some(&s), lang, &c.title, body).into_response()
}

async fn consultation_do(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    m: Multipart,
) -> Response {
    let lang = s.lang;
    let back = format!("/consultations/{id}");
    let f = match checked_form(&s, m, &back).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let at = now(&state);
    let qs = match consultations::get(&state.db, &s.actor, &id, at).await {
        Ok(c) => c.questions,
        Err(e) => return refusal(lang, &s, &e, "/deliberation"),
    };
    // Form fields become the API's answers: an index, a list of indices, a number or a text.
    let answers: Vec<Value> = qs
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let k = format!("q{i}");
            match q.kind.as_str() {
                "multiple" => Value::Array(
                    f.all(&k)
                        .iter()
                        .filter_map(|v| v.parse::<u64>().ok())
                        .map(Value::from)
                        .collect(),
                ),
                "single" | "scale" => f
                    .get(&k)
                    .parse::<i64>()
                    .map(Value::from)
                    .unwrap_or(Value::Null),
                _ => f.opt(&k).map(Value::from).unwrap_or(Value::Null),
            }
        })
        .collect();
    match consultations::answer(&state.db, &state.sealer, &s.actor, &id, &answers, at).await {
        Ok(()) => Redirect::to(&back).into_response(),
        Err(e) => refusal(lang, &s, &e, &back),
    }
}

async fn panel_page(State(state): State<AppState>, s: Session, Path(id): Path<String>) -> Response {
    let lang = s.lang;
    let p = match panels::record(&state.db, &id).await {
        Ok(p) => p,
        Err(e) => return refusal(lang, &s, &e, "/deliberation"),
    };
    let verdict = match (&p.seed, &p.result) {
        (Some(seed), Some(result)) => Some(gongzhi_deliberation::sortition::verify(
            &p.candidates,
            &p.list_hash,
            &p.commitment,
            seed,
            p.k,
            result,
        )),
        _ => None,
    };
    let body = html! {
        p { (lang.t("抽签前公布候选名单的哈希值和随机种子的承诺值；抽签时公开种子，任何人都可以复算。", "Before the draw the list's hash and a commitment to the seed are published; the draw reveals the seed so anyone can re-run it.")) }
        dl {
            dt { (lang.t("名单哈希", "List hash")) } dd { code { (p.list_hash) } }
            dt { (lang.t("种子承诺", "Seed commitment")) } dd { code { (p.commitment) } }
            dt { (lang.t("种子", "Seed")) } dd { code { (p.seed.clone().unwrap_or_else(|| lang.t("尚未抽签", "not drawn yet").into())) } }
        }
        @if let Some(r) = &p.result { h2 { (lang.t("抽签结果", "Drawn")) } ol #drawn { @for c in r { li { (c) } } } }
        @else if may_manage(&s, &p.area) {
            (form(&s, &format!("/panels/{id}/do/draw"), html! { button #draw type="submit" { (lang.t("抽签（公开种子）", "Draw (reveal the seed)")) } }))
        }
        @match &verdict {
            Some(Ok(())) => p.ok #verdict { (lang.t("复算通过：结果与公布的名单和种子一致。", "Re-run: the result matches the published list and seed.")) },
            Some(Err(m)) => p.error #verdict { (m) },
            None => {},
        }
        p { a href={"/api/v1/panels/" (id)} { (lang.t("下载公布记录（gongzhi sortition verify 可复算）", "Download the record (gongzhi sortition verify re-runs it)")) } }
        details { summary { (lang.t("候选名单", "Candidates")) " (" (p.candidates.len()) ")" } ol { @for c in &p.candidates { li { (c) } } } }
    };
    page(Some(&s), lang, &p.title, body).into_response()
}
