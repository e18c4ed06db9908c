//! The council's side of the hub: verifying residents and handing out one-time codes, opening
//! micro-project calls, consultations and panels, revoking verifications and moderating.

use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use gongzhi_core::state::AppState;
use gongzhi_core::Error;
use gongzhi_web::form::Submitted;
use gongzhi_web::session::Session;
use gongzhi_web::{enc, page};

use super::{form, local_time, local_value, may_manage, may_verify, now, refused, rule_name};
use crate::{budgets, consultations, moderation, panels, residents};

/// The council's forms: verify residents, hand out codes, open a call, a consultation, a panel.
pub(super) fn forms(s: &Session, area: &str) -> Markup {
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
            let kind = parts.first().copied().ok_or_else(bad)?.to_string();
            let text = parts.get(1).copied().ok_or_else(bad)?.to_string();
            let third = parts.get(2).copied().unwrap_or("");
            let (options, min, max) = match kind.as_str() {
                "single" | "multiple" => (
                    third
                        .split('/')
                        .map(|o| o.trim().to_string())
                        .filter(|o| !o.is_empty())
                        .collect(),
                    None,
                    None,
                ),
                // A scale without bounds is 1 to 5; bounds that are not numbers are refused.
                "scale" => {
                    let (lo, hi) = third.split_once('-').unwrap_or(("1", "5"));
                    let bound = |b: &str| b.trim().parse().map(Some).map_err(|_| bad());
                    (vec![], bound(lo)?, bound(hi)?)
                }
                _ => (vec![], None, None),
            };
            Ok(consultations::Question {
                kind: crate::model::consultations::QuestionKind::from_input("kind", &kind)?,
                text,
                options,
                min,
                max,
            })
        })
        .collect()
}

/// Hands out one-time codes and shows them, once.
pub(super) async fn codes(state: &AppState, s: &Session, f: &Submitted) -> Response {
    let lang = s.lang;
    let issued = async {
        let input = residents::CodesInput {
            area: f.get("area").into(),
            place: f.get("place").into(),
            count: f.number("count")?,
            valid_days: None,
        };
        residents::issue(&state.db, &s.actor, &input, now(state)).await
    };
    match issued.await {
        Ok(c) => {
            let body = html! {
                p { (lang.t("请打印或抄写后当面发放；每个认证码只能使用一次，有效期至 ", "Print or copy and hand out in person; each code works once, until ")) (c.expires_at) }
                ol #codes { @for code in &c.codes { li { code { (code) } } } }
                p { a href="/deliberation" { (lang.t("返回", "Back")) } }
            };
            page(
                Some(s),
                lang,
                lang.t("一次性认证码", "One-time codes"),
                body,
            )
            .into_response()
        }
        Err(e) => refused(s, &e, "/deliberation"),
    }
}

/// One of the council's forms on the hub; where to go next.
pub(super) async fn act(
    state: &AppState,
    s: &Session,
    action: &str,
    f: &Submitted,
) -> Result<String, Error> {
    let (db, actor, at) = (&state.db, &s.actor, now(state));
    let residents_of = || format!("/deliberation/residents?area={}", enc(f.get("area")));
    match action {
        "verify" => {
            let input = residents::VerifyInput {
                username: f.get("username").into(),
                area: f.get("area").into(),
                place: f.get("place").into(),
            };
            residents::verify_resident(db, actor, &input, at).await?;
            Ok(residents_of())
        }
        "revoke" => {
            residents::revoke_verification(db, actor, f.get("id"), f.get("reason"), at).await?;
            Ok(residents_of())
        }
        "moderate" => {
            let input = moderation::ModerateInput {
                target: f.get("target").into(),
                reason: f.get("reason").into(),
            };
            moderation::moderate(db, actor, &input, f.get("action") == "hide").await?;
            Ok(format!("/moderation?area={}", enc(f.get("area"))))
        }
        "call" => {
            let id = budgets::create(db, actor, &new_call(f)?, at).await?;
            Ok(format!("/budgets/{id}"))
        }
        "consultation" => {
            let c = consultations::NewConsultation {
                title: f.get("title").into(),
                description: f.get("description").into(),
                area: f.get("area").into(),
                place: f.get("place").into(),
                opens_at: local_time(f.get("opens_at")),
                closes_at: local_time(f.get("closes_at")),
                questions: parse_questions(f.get("questions"))?,
            };
            let id = consultations::create(db, actor, &c).await?;
            Ok(format!("/consultations/{id}"))
        }
        "panel" => {
            let p = panels::NewPanel {
                title: f.get("title").into(),
                area: f.get("area").into(),
                seats: f.number("seats")?,
                candidates: f
                    .get("candidates")
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect(),
            };
            let id = panels::create(db, &state.sealer, actor, &p).await?;
            Ok(format!("/panels/{id}"))
        }
        _ => Err(Error::not_found("action")),
    }
}

fn new_call(f: &Submitted) -> Result<budgets::NewCall, Error> {
    Ok(budgets::NewCall {
        title: f.get("title").into(),
        description: f.get("description").into(),
        area: f.get("area").into(),
        place: f.get("place").into(),
        budget: f.number("budget")?,
        ballot: crate::model::budgets::BallotKind::from_input("ballot", f.get("ballot"))?,
        max_approvals: f.opt_number("max_approvals")?,
        rule: crate::model::budgets::WinnerRule::from_input("rule", f.get("rule"))?,
        completion: Some(crate::model::budgets::Completion::from_input(
            "completion",
            "add1_then_greedy",
        )?),
        proposing_from: local_time(f.get("proposing_from")),
        reviewing_from: local_time(f.get("reviewing_from")),
        voting_from: local_time(f.get("voting_from")),
        voting_until: local_time(f.get("voting_until")),
        implementing_from: local_time(f.get("implementing_from")),
    })
}
