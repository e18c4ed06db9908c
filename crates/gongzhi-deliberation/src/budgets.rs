//! Micro-project calls (民生微实事, 三议三公开): a budget for a place and phases with dates —
//! proposing, reviewing, voting, result, implementing. Residents propose projects with a cost
//! estimate; reviewers record feasibility and cost (an explanation when unfeasible; the proposer
//! is told); verified residents vote once (approval up to N, or any set within the budget);
//! winners are computed by the call's rule (`pb::winners`), never picked; the call is exported in
//! the Pabulib format so anyone can recompute them; implementation is tracked with photos.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ballot_box::BallotBox;
use crate::common::{
    add_event, check_area, check_place, events, notify_users, require_eligible, text, time, Event,
    MaybeAuthed,
};
use crate::pb::{self, Completion, Outcome, Project, Rule};
use crate::DELIBERATION_MANAGE;
use gongzhi_core::attachments::{self, AttachmentRef};
use gongzhi_core::audit;
use gongzhi_core::db::{opt_text, Db};
use gongzhi_core::http::{ApiJson, ApiResult, AppState, Authed};
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::time::format_ms;
use gongzhi_core::{Error, Result};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_call, list_calls))
        .routes(routes!(get_call))
        .routes(routes!(propose))
        .routes(routes!(review))
        .routes(routes!(ballot))
        .routes(routes!(results))
        .routes(routes!(export_pb))
        .routes(routes!(progress))
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewCall {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Community code.
    pub area: String,
    #[serde(default)]
    pub place: String,
    /// Yuan.
    pub budget: i64,
    /// `approval` (up to `max_approvals` projects) or `knapsack` (any set within the budget).
    pub ballot: String,
    pub max_approvals: Option<i64>,
    /// `greedy` or `equal_shares`.
    pub rule: String,
    /// For equal_shares: `none`, `greedy`, `add1` or `add1_then_greedy` (default).
    pub completion: Option<String>,
    /// The phases' dates (RFC 3339), in order.
    pub proposing_from: String,
    pub reviewing_from: String,
    pub voting_from: String,
    pub voting_until: String,
    pub implementing_from: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallSummary {
    pub id: String,
    pub title: String,
    pub area: String,
    pub place: String,
    pub budget: i64,
    pub ballot: String,
    pub max_approvals: Option<i64>,
    pub rule: String,
    pub completion: String,
    /// upcoming, proposing, reviewing, voting, result or implementing (by the dates).
    pub phase: String,
    pub proposing_from: String,
    pub reviewing_from: String,
    pub voting_from: String,
    pub voting_until: String,
    pub implementing_from: String,
    /// How many residents have voted.
    pub ballots: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectView {
    pub id: String,
    /// P001…: the project's id in results and in the Pabulib export.
    pub code: String,
    pub title: String,
    pub description: String,
    pub cost_estimate: i64,
    /// The reviewed cost (what counts against the budget).
    pub cost: Option<i64>,
    /// proposed, feasible or unfeasible.
    pub status: String,
    pub review_note: Option<String>,
    pub progress: i64,
    pub photos: Vec<AttachmentRef>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallView {
    #[serde(flatten)]
    pub call: CallSummary,
    pub description: String,
    pub projects: Vec<ProjectView>,
    /// Whether the caller has cast a ballot.
    pub voted: bool,
    pub history: Vec<Event>,
}

/// The phase a call is in at `now`, by its dates.
pub fn phase_at(dates: [i64; 5], now: i64) -> &'static str {
    const NAMES: [&str; 5] = ["proposing", "reviewing", "voting", "result", "implementing"];
    let mut phase = "upcoming";
    for (d, name) in dates.iter().zip(NAMES) {
        if now >= *d {
            phase = name;
        }
    }
    phase
}

struct CallRow {
    summary: CallSummary,
    description: String,
}

fn parse_rule(rule: &str, completion: &str) -> Result<Rule> {
    let completion = match completion {
        "none" => Completion::None,
        "greedy" => Completion::Greedy,
        "add1" => Completion::Add1,
        "add1_then_greedy" => Completion::Add1ThenGreedy,
        other => {
            return Err(Error::invalid(
                "completion",
                format!("completion {other:?} is none, greedy, add1 or add1_then_greedy"),
            ))
        }
    };
    match rule {
        "greedy" => Ok(Rule::Greedy),
        "equal_shares" => Ok(Rule::EqualShares { completion }),
        other => Err(Error::invalid(
            "rule",
            format!("rule {other:?} is greedy or equal_shares"),
        )),
    }
}

async fn call_row(db: &Db, id: &str, now: i64) -> Result<CallRow> {
    let r = sqlx::query("SELECT c.*, (SELECT COUNT(*) FROM budget_voters b WHERE b.call_id = c.id) AS n_ballots FROM budget_calls c WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::not_found("call"))?;
    to_call(&r, now)
}

fn to_call(r: &AnyRow, now: i64) -> Result<CallRow> {
    let dates = [
        r.try_get("proposing_from")?,
        r.try_get("reviewing_from")?,
        r.try_get("voting_from")?,
        r.try_get("voting_until")?,
        r.try_get("implementing_from")?,
    ];
    Ok(CallRow {
        summary: CallSummary {
            id: r.try_get("id")?,
            title: r.try_get("title")?,
            area: r.try_get("area_code")?,
            place: r.try_get("place")?,
            budget: r.try_get("budget")?,
            ballot: r.try_get("ballot")?,
            max_approvals: r.try_get("max_approvals")?,
            rule: r.try_get("rule")?,
            completion: r.try_get("completion")?,
            phase: phase_at(dates, now).into(),
            proposing_from: format_ms(dates[0]),
            reviewing_from: format_ms(dates[1]),
            voting_from: format_ms(dates[2]),
            voting_until: format_ms(dates[3]),
            implementing_from: format_ms(dates[4]),
            ballots: r.try_get("n_ballots")?,
        },
        description: r.try_get("description")?,
    })
}

fn in_phase(c: &CallRow, allowed: &[&str], what: &str) -> Result<()> {
    if allowed.contains(&c.summary.phase.as_str()) {
        Ok(())
    } else {
        Err(Error::Conflict(format!(
            "{what} is possible while the call is {}; it is {}",
            allowed.join(" or "),
            c.summary.phase
        )))
    }
}

/// Opens a call (the council or leaders of its area).
pub async fn create(db: &Db, actor: &Actor, c: &NewCall, now: i64) -> Result<String> {
    let area = check_area(db, c.area.trim()).await?;
    authorize(actor, DELIBERATION_MANAGE, &Target::area(&area))?;
    let place = check_place(&c.place)?;
    let title = text("title", &c.title, 100)?;
    if c.budget <= 0 {
        return Err(Error::invalid("budget", "the budget must be positive"));
    }
    let completion = c.completion.as_deref().unwrap_or("add1_then_greedy");
    parse_rule(&c.rule, completion)?;
    let max = match c.ballot.as_str() {
        "approval" => Some(c.max_approvals.filter(|m| *m >= 1).ok_or_else(|| {
            Error::invalid(
                "max_approvals",
                "an approval ballot names max_approvals ≥ 1",
            )
        })?),
        "knapsack" => None,
        other => {
            return Err(Error::invalid(
                "ballot",
                format!("ballot {other:?} is approval or knapsack"),
            ))
        }
    };
    let dates = [
        time("proposing_from", &c.proposing_from)?,
        time("reviewing_from", &c.reviewing_from)?,
        time("voting_from", &c.voting_from)?,
        time("voting_until", &c.voting_until)?,
        time("implementing_from", &c.implementing_from)?,
    ];
    if dates.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::invalid(
            "dates",
            "the phases' dates must be in order: proposing, reviewing, voting, voting_until, implementing",
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin_write().await?;
    sqlx::query("INSERT INTO budget_calls (id, title, description, area_code, place, budget, ballot, max_approvals, rule, completion, proposing_from, reviewing_from, voting_from, voting_until, implementing_from, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)")
        .bind(&id)
        .bind(&title)
        .bind(c.description.trim())
        .bind(&area)
        .bind(&place)
        .bind(c.budget)
        .bind(&c.ballot)
        .bind(max)
        .bind(&c.rule)
        .bind(completion)
        .bind(dates[0])
        .bind(dates[1])
        .bind(dates[2])
        .bind(dates[3])
        .bind(dates[4])
        .bind(actor.label())
        .bind(now)
        .execute(tx.conn())
        .await?;
    add_event(
        &mut tx,
        &format!("call:{id}"),
        now,
        actor,
        "open_call",
        None,
        &json!({"budget": c.budget, "rule": c.rule, "ballot": c.ballot}),
    )
    .await?;
    audit::append(
        &mut tx,
        actor,
        "budget.create",
        &format!("call:{id}"),
        &serde_json::to_value(c).map_err(Error::internal)?,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Ok when the project `id` exists (of any call: calls and their projects are public).
pub async fn project_exists(db: &Db, id: &str) -> Result<()> {
    sqlx::query("SELECT id FROM budget_projects WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .map(|_| ())
        .ok_or_else(|| Error::not_found("project"))
}

async fn projects(db: &Db, call: &str) -> Result<Vec<ProjectView>> {
    let rows = sqlx::query("SELECT * FROM budget_projects WHERE call_id = $1 ORDER BY code")
        .bind(call)
        .fetch_all(db.pool())
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let id: String = r.try_get("id")?;
        out.push(ProjectView {
            photos: attachments::of(db, &format!("project:{id}")).await?,
            id,
            code: r.try_get("code")?,
            title: r.try_get("title")?,
            description: r.try_get("description")?,
            cost_estimate: r.try_get("cost_estimate")?,
            cost: r.try_get("cost")?,
            status: r.try_get("status")?,
            review_note: opt_text(&r, "review_note")?,
            progress: r.try_get("progress")?,
        });
    }
    Ok(out)
}

pub async fn view(db: &Db, actor: &Actor, id: &str, now: i64) -> Result<CallView> {
    let c = call_row(db, id, now).await?;
    let voted = match &actor.user_id {
        Some(u) => sqlx::query("SELECT 1 FROM budget_voters WHERE call_id = $1 AND voter_id = $2")
            .bind(id)
            .bind(u)
            .fetch_optional(db.pool())
            .await?
            .is_some(),
        None => false,
    };
    Ok(CallView {
        projects: projects(db, id).await?,
        history: events(db, &format!("call:{id}")).await?,
        description: c.description,
        call: c.summary,
        voted,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewProject {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Yuan.
    pub cost_estimate: i64,
}

pub async fn add_project(
    db: &Db,
    actor: &Actor,
    call: &str,
    p: &NewProject,
    now: i64,
) -> Result<String> {
    let c = call_row(db, call, now).await?;
    // Who may take part comes before the phase, which is for them to hear.
    let user = require_eligible(db, actor, &c.summary.area, &c.summary.place, None).await?;
    in_phase(&c, &["proposing"], "proposing a project")?;
    let title = text("title", &p.title, 100)?;
    if p.cost_estimate <= 0 || p.cost_estimate > c.summary.budget {
        return Err(Error::invalid(
            "cost_estimate",
            format!(
                "the cost estimate must be between 1 and the budget ({})",
                c.summary.budget
            ),
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin_write().await?;
    let n = tx.bump_counter(&format!("call.projects.{call}"), 1).await?;
    let code = format!("P{n:03}");
    sqlx::query("INSERT INTO budget_projects (id, call_id, code, title, description, cost_estimate, status, proposer_id, progress, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'proposed', $7, 0, $8)")
        .bind(&id)
        .bind(call)
        .bind(&code)
        .bind(&title)
        .bind(p.description.trim())
        .bind(p.cost_estimate)
        .bind(&user)
        .bind(now)
        .execute(tx.conn())
        .await?;
    add_event(
        &mut tx,
        &format!("call:{call}"),
        now,
        actor,
        "propose",
        None,
        &json!({"project": code, "title": title, "cost_estimate": p.cost_estimate}),
    )
    .await?;
    audit::append(
        &mut tx,
        actor,
        "budget.propose",
        &format!("project:{id}"),
        &json!({"call": call, "title": title, "cost_estimate": p.cost_estimate}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReviewInput {
    pub feasible: bool,
    /// The reviewed cost (default: the estimate).
    pub cost: Option<i64>,
    /// Required when unfeasible: why, in words the proposer can follow.
    pub note: Option<String>,
}

pub async fn review_project(
    db: &Db,
    actor: &Actor,
    call: &str,
    project: &str,
    r: &ReviewInput,
    now: i64,
) -> Result<()> {
    let c = call_row(db, call, now).await?;
    authorize(actor, DELIBERATION_MANAGE, &Target::area(&c.summary.area))?;
    in_phase(&c, &["proposing", "reviewing"], "reviewing a project")?;
    let row = sqlx::query("SELECT * FROM budget_projects WHERE id = $1 AND call_id = $2")
        .bind(project)
        .bind(call)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::not_found("project"))?;
    let estimate: i64 = row.try_get("cost_estimate")?;
    let proposer: String = row.try_get("proposer_id")?;
    let title: String = row.try_get("title")?;
    let note = r.note.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let cost = r.cost.unwrap_or(estimate);
    if !r.feasible && note.is_none() {
        return Err(Error::invalid(
            "note",
            "an unfeasible project needs an explanation",
        ));
    }
    if r.feasible && (cost <= 0 || cost > c.summary.budget) {
        return Err(Error::invalid(
            "cost",
            format!(
                "the cost must be between 1 and the budget ({})",
                c.summary.budget
            ),
        ));
    }
    let status = if r.feasible { "feasible" } else { "unfeasible" };
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE budget_projects SET status = $1, cost = $2, review_note = $3, reviewed_by = $4, reviewed_at = $5 WHERE id = $6")
        .bind(status)
        .bind(r.feasible.then_some(cost))
        .bind(note)
        .bind(actor.label())
        .bind(now)
        .bind(project)
        .execute(tx.conn())
        .await?;
    let body = match (r.feasible, note) {
        (true, _) => format!("经审核可行，核定费用 {cost} 元，将进入投票。"),
        (false, n) => format!("经审核不可行。说明：{}", n.unwrap_or("")),
    };
    notify_users(
        db,
        &mut tx,
        now,
        &[proposer],
        "project",
        &format!("项目审核结果：{title}"),
        &body,
    )
    .await?;
    add_event(
        &mut tx,
        &format!("call:{call}"),
        now,
        actor,
        "review",
        note,
        &json!({"project": project, "status": status, "cost": r.feasible.then_some(cost)}),
    )
    .await?;
    audit::append(
        &mut tx,
        actor,
        "budget.review",
        &format!("project:{project}"),
        &json!({"status": status, "cost": cost}),
        note,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BallotInput {
    /// Project ids or codes (P001…).
    pub projects: Vec<String>,
}

/// Casts a verified resident's one ballot: who voted at once, the ballot sealed in the call's
/// ballot box until it is mixed with others (`ballot_box`).
pub async fn cast(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    call: &str,
    b: &BallotInput,
    now: i64,
) -> Result<()> {
    let c = call_row(db, call, now).await?;
    let user = require_eligible(db, actor, &c.summary.area, &c.summary.place, None).await?;
    in_phase(&c, &["voting"], "voting")?;
    let all = projects(db, call).await?;
    let mut chosen: Vec<&ProjectView> = Vec::new();
    for want in &b.projects {
        let p = all
            .iter()
            .find(|p| &p.id == want || &p.code == want)
            .ok_or_else(|| {
                Error::invalid("projects", format!("no project {want:?} in this call"))
            })?;
        if p.status != "feasible" {
            return Err(Error::invalid(
                "projects",
                format!(
                    "{} is not on the ballot (it was not found feasible)",
                    p.code
                ),
            ));
        }
        if chosen.iter().any(|q| q.id == p.id) {
            return Err(Error::invalid(
                "projects",
                format!("{} is listed twice", p.code),
            ));
        }
        chosen.push(p);
    }
    if chosen.is_empty() {
        return Err(Error::invalid(
            "projects",
            "a ballot approves at least one project",
        ));
    }
    if let Some(max) = c.summary.max_approvals {
        if chosen.len() as i64 > max {
            return Err(Error::invalid(
                "projects",
                format!("approve at most {max} projects"),
            ));
        }
    } else {
        // In i128: reviewed costs are each within an i64 budget, their sum may not be.
        let total: i128 = chosen.iter().map(|p| p.cost.unwrap_or(0) as i128).sum();
        if total > c.summary.budget as i128 {
            return Err(Error::invalid(
                "projects",
                format!(
                    "the chosen projects cost {total}, more than the budget {}",
                    c.summary.budget
                ),
            ));
        }
    }
    let ids: Vec<&str> = chosen.iter().map(|p| p.id.as_str()).collect();
    let mut tx = db.begin_write().await?;
    let ok = sqlx::query("INSERT INTO budget_voters (call_id, voter_id) VALUES ($1, $2)")
        .bind(call)
        .bind(&user)
        .execute(tx.conn())
        .await;
    if let Err(e) = ok {
        let e = Error::from(e);
        return Err(if e.is_unique_violation() {
            Error::refused("already_voted", "you have already voted in this call")
        } else {
            e
        });
    }
    let ballot_box = BallotBox::call(call);
    ballot_box
        .drop_in(
            db,
            &mut tx,
            sealer,
            &serde_json::to_string(&ids).map_err(Error::internal)?,
        )
        .await?;
    audit::append(
        &mut tx,
        actor,
        "budget.ballot",
        &format!("call:{call}"),
        &json!({"voter": user}),
        None,
    )
    .await?;
    // Mixed once, when voting has closed (see `election`).
    tx.commit().await?;
    Ok(())
}

/// What the Method of Equal Shares or greedy needs: the feasible projects, the ballots as
/// indices into them — once voting has closed, every ballot mixed first.
async fn election(
    db: &Db,
    sealer: &Sealer,
    call: &str,
    now: i64,
) -> Result<(Vec<ProjectView>, Vec<Vec<usize>>)> {
    BallotBox::call(call).settle(db, sealer, true, now).await?;
    let ps: Vec<ProjectView> = projects(db, call)
        .await?
        .into_iter()
        .filter(|p| p.status == "feasible")
        .collect();
    let rows = sqlx::query("SELECT projects FROM budget_ballots WHERE call_id = $1")
        .bind(call)
        .fetch_all(db.pool())
        .await?;
    let mut ballots = Vec::with_capacity(rows.len());
    for r in rows {
        let ids: Vec<String> =
            serde_json::from_str(&r.try_get::<String, _>(0)?).map_err(Error::internal)?;
        ballots.push(
            ids.iter()
                .filter_map(|id| ps.iter().position(|p| &p.id == id))
                .collect(),
        );
    }
    Ok((ps, ballots))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResultRow {
    pub code: String,
    pub title: String,
    pub cost: i64,
    pub votes: usize,
    pub won: bool,
    pub reason: String,
    pub reason_zh: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Results {
    pub call: String,
    pub rule: String,
    pub completion: String,
    pub budget: i64,
    pub spent: i64,
    pub ballots: usize,
    /// Codes in the order they were chosen.
    pub winners: Vec<String>,
    pub projects: Vec<ResultRow>,
}

pub async fn compute(db: &Db, sealer: &Sealer, call: &str, now: i64) -> Result<Results> {
    let c = call_row(db, call, now).await?;
    in_phase(&c, &["result", "implementing"], "seeing the results")?;
    let (ps, ballots) = election(db, sealer, call, now).await?;
    let rule = parse_rule(&c.summary.rule, &c.summary.completion)?;
    let input: Vec<Project> = ps
        .iter()
        .map(|p| Project {
            id: p.code.clone(),
            cost: p.cost.unwrap_or(0),
        })
        .collect();
    let Outcome {
        winners,
        spent,
        projects: rows,
        ..
    } = pb::winners(c.summary.budget, &input, &ballots, rule);
    Ok(Results {
        call: call.into(),
        rule: c.summary.rule,
        completion: c.summary.completion,
        budget: c.summary.budget,
        spent,
        ballots: ballots.len(),
        winners,
        projects: rows
            .into_iter()
            .zip(&ps)
            .map(|(r, p)| ResultRow {
                code: r.id,
                title: p.title.clone(),
                cost: r.cost,
                votes: r.votes,
                won: r.won,
                reason: r.reason,
                reason_zh: r.reason_zh,
            })
            .collect(),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProgressInput {
    /// 0–100.
    pub progress: i64,
    pub note: Option<String>,
    /// Uploaded photo ids (POST /api/v1/attachments).
    #[serde(default)]
    pub photos: Vec<String>,
}

pub async fn record_progress(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    call: &str,
    project: &str,
    p: &ProgressInput,
    now: i64,
) -> Result<()> {
    let c = call_row(db, call, now).await?;
    authorize(actor, DELIBERATION_MANAGE, &Target::area(&c.summary.area))?;
    in_phase(&c, &["implementing"], "recording progress")?;
    let results = compute(db, sealer, call, now).await?;
    let code: String =
        sqlx::query("SELECT code FROM budget_projects WHERE id = $1 AND call_id = $2")
            .bind(project)
            .bind(call)
            .fetch_optional(db.pool())
            .await?
            .ok_or_else(|| Error::not_found("project"))?
            .try_get("code")?;
    if !results.winners.contains(&code) {
        return Err(Error::Conflict(format!(
            "{code} did not win; only winners are implemented"
        )));
    }
    if !(0..=100).contains(&p.progress) {
        return Err(Error::invalid("progress", "progress is 0–100"));
    }
    let note = p.note.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE budget_projects SET progress = $1 WHERE id = $2")
        .bind(p.progress)
        .bind(project)
        .execute(tx.conn())
        .await?;
    attachments::link(
        &mut tx,
        &actor.label(),
        &p.photos,
        &format!("project:{project}"),
        "progress",
    )
    .await?;
    add_event(
        &mut tx,
        &format!("call:{call}"),
        now,
        actor,
        "progress",
        note,
        &json!({"project": code, "progress": p.progress, "photos": p.photos}),
    )
    .await?;
    audit::append(
        &mut tx,
        actor,
        "budget.progress",
        &format!("project:{project}"),
        &json!({"progress": p.progress, "photos": p.photos}),
        note,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The call in the Pabulib format, voters anonymised (after voting closes).
pub async fn export(db: &Db, sealer: &Sealer, call: &str, now: i64) -> Result<String> {
    let c = call_row(db, call, now).await?;
    in_phase(&c, &["result", "implementing"], "exporting the ballots")?;
    let (ps, ballots) = election(db, sealer, call, now).await?;
    let rule = parse_rule(&c.summary.rule, &c.summary.completion)?;
    let projects: Vec<(Project, String)> = ps
        .iter()
        .map(|p| {
            (
                Project {
                    id: p.code.clone(),
                    cost: p.cost.unwrap_or(0),
                },
                p.title.clone(),
            )
        })
        .collect();
    Ok(crate::pabulib::export(&crate::pabulib::Call {
        description: &c.summary.title,
        unit: &c.summary.area,
        budget: c.summary.budget,
        rule,
        max_approvals: c.summary.max_approvals.map(|m| m as usize),
        projects: &projects,
        ballots: &ballots,
    }))
}

pub async fn list(db: &Db, now: i64) -> Result<Vec<CallSummary>> {
    let rows = sqlx::query("SELECT c.*, (SELECT COUNT(*) FROM budget_voters b WHERE b.call_id = c.id) AS n_ballots FROM budget_calls c ORDER BY voting_until DESC, id LIMIT 200")
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|r| Ok(to_call(r, now)?.summary)).collect()
}

/// Opens a micro-project call with its budget, rules and phase dates.
#[utoipa::path(post, path = "/api/v1/budgets", tag = "deliberation", security(("bearer" = [])), request_body = NewCall,
    responses((status = 201, body = CallView), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody)))]
async fn create_call(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(c): ApiJson<NewCall>,
) -> ApiResult<(StatusCode, Json<CallView>)> {
    let id = create(&state.db, &actor, &c, state.clock.now_ms()).await?;
    Ok((
        StatusCode::CREATED,
        Json(view(&state.db, &actor, &id, state.clock.now_ms()).await?),
    ))
}

/// The calls with their rule and phase (public: 三公开).
#[utoipa::path(get, path = "/api/v1/budgets", tag = "deliberation", responses((status = 200, body = Vec<CallSummary>)))]
async fn list_calls(State(state): State<AppState>) -> ApiResult<Json<Vec<CallSummary>>> {
    Ok(Json(list(&state.db, state.clock.now_ms()).await?))
}

/// One call with its projects, reviews, progress and history (public).
#[utoipa::path(get, path = "/api/v1/budgets/{id}", tag = "deliberation", params(("id" = String, Path)),
    responses((status = 200, body = CallView), (status = 404, body = gongzhi_core::http::ErrorBody)))]
async fn get_call(
    State(state): State<AppState>,
    MaybeAuthed(actor): MaybeAuthed,
    Path(id): Path<String>,
) -> ApiResult<Json<CallView>> {
    Ok(Json(
        view(&state.db, &actor, &id, state.clock.now_ms()).await?,
    ))
}

/// A verified resident proposes a project (proposing phase).
#[utoipa::path(post, path = "/api/v1/budgets/{id}/projects", tag = "deliberation", security(("bearer" = [])), params(("id" = String, Path)), request_body = NewProject,
    responses((status = 201, body = ProjectView), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn propose(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    ApiJson(p): ApiJson<NewProject>,
) -> ApiResult<(StatusCode, Json<ProjectView>)> {
    let pid = add_project(&state.db, &actor, &id, &p, state.clock.now_ms()).await?;
    let p = projects(&state.db, &id)
        .await?
        .into_iter()
        .find(|p| p.id == pid)
        .ok_or_else(|| Error::internal("project vanished"))?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// Records a project's review: feasible with its cost, or unfeasible with an explanation.
#[utoipa::path(post, path = "/api/v1/budgets/{id}/projects/{project}/review", tag = "deliberation", security(("bearer" = [])),
    params(("id" = String, Path), ("project" = String, Path)), request_body = ReviewInput,
    responses((status = 200, body = CallView), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn review(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path((id, project)): Path<(String, String)>,
    ApiJson(r): ApiJson<ReviewInput>,
) -> ApiResult<Json<CallView>> {
    let now = state.clock.now_ms();
    review_project(&state.db, &actor, &id, &project, &r, now).await?;
    Ok(Json(view(&state.db, &actor, &id, now).await?))
}

/// A verified resident's ballot (voting phase, once).
#[utoipa::path(post, path = "/api/v1/budgets/{id}/ballots", tag = "deliberation", security(("bearer" = [])), params(("id" = String, Path)), request_body = BallotInput,
    responses((status = 201, description = "counted"), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn ballot(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<BallotInput>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    cast(
        &state.db,
        &state.sealer,
        &actor,
        &id,
        &b,
        state.clock.now_ms(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"counted": true}))))
}

/// The computed winners with each project's votes, cost and why it won or lost (after voting).
#[utoipa::path(get, path = "/api/v1/budgets/{id}/results", tag = "deliberation", params(("id" = String, Path)),
    responses((status = 200, body = Results), (status = 404, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn results(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Results>> {
    Ok(Json(
        compute(&state.db, &state.sealer, &id, state.clock.now_ms()).await?,
    ))
}

/// The call in the Pabulib format (pabulib.org), voters anonymised (after voting).
#[utoipa::path(get, path = "/api/v1/budgets/{id}/export.pb", tag = "deliberation", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/plain", body = String), (status = 404, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn export_pb(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::response::Response> {
    let text = export(&state.db, &state.sealer, &id, state.clock.now_ms()).await?;
    Ok((
        [
            ("content-type", "text/plain; charset=utf-8".to_string()),
            (
                "content-disposition",
                format!("attachment; filename=\"call-{id}.pb\""),
            ),
        ],
        text,
    )
        .into_response())
}

/// Implementation progress of a winning project, with photos (implementing phase).
#[utoipa::path(post, path = "/api/v1/budgets/{id}/projects/{project}/progress", tag = "deliberation", security(("bearer" = [])),
    params(("id" = String, Path), ("project" = String, Path)), request_body = ProgressInput,
    responses((status = 200, body = CallView), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn progress(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path((id, project)): Path<(String, String)>,
    ApiJson(p): ApiJson<ProgressInput>,
) -> ApiResult<Json<CallView>> {
    let now = state.clock.now_ms();
    record_progress(&state.db, &state.sealer, &actor, &id, &project, &p, now).await?;
    Ok(Json(view(&state.db, &actor, &id, now).await?))
}
