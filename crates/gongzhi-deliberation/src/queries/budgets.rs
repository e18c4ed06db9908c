//! Reading micro-project calls: a call with its projects, the computed results and the Pabulib
//! export (once voting has closed, every ballot mixed first).

use crate::ballot_box::BallotBox;
use crate::common;
use crate::model::budgets::{
    CallPhase, CallSummary, CallView, ProjectStatus, ProjectView, ResultRow, Results,
};
use crate::rules::calls::{in_phase, winner_rule};
use crate::rules::pabulib;
use crate::rules::pb::{self, Outcome, Project};
use crate::store::budgets;
use gongzhi_core::db::Db;
use gongzhi_core::identity::Actor;
use gongzhi_core::privacy::Sealer;
use gongzhi_core::Result;

/// One call with its projects, reviews, progress and history (public), and whether `actor`
/// has voted.
pub async fn view(db: &Db, actor: &Actor, id: &str, now: i64) -> Result<CallView> {
    let c = budgets::find_call(db, id, now).await?;
    let voted = match &actor.user_id {
        Some(u) => budgets::has_voted(db, id, u).await?,
        None => false,
    };
    Ok(CallView {
        projects: budgets::projects(db, id).await?,
        history: common::events(db, &format!("call:{id}")).await?,
        description: c.description,
        call: c.summary,
        voted,
    })
}

/// The calls with their rule and phase (public: 三公开).
pub async fn list(db: &Db, now: i64) -> Result<Vec<CallSummary>> {
    budgets::list_calls(db, now).await
}

/// One project of a call.
pub async fn project(db: &Db, call: &str, id: &str) -> Result<Option<ProjectView>> {
    Ok(budgets::projects(db, call)
        .await?
        .into_iter()
        .find(|p| p.id == id))
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
    let ps: Vec<ProjectView> = budgets::projects(db, call)
        .await?
        .into_iter()
        .filter(|p| p.status == ProjectStatus::Feasible)
        .collect();
    let ballots = budgets::ballots(db, call)
        .await?
        .iter()
        .map(|ids| {
            ids.iter()
                .filter_map(|id| ps.iter().position(|p| &p.id == id))
                .collect()
        })
        .collect();
    Ok((ps, ballots))
}

fn as_input(ps: &[ProjectView]) -> Vec<Project> {
    ps.iter()
        .map(|p| Project {
            id: p.code.clone(),
            cost: p.cost.unwrap_or(0),
        })
        .collect()
}

/// The computed winners with each project's votes, cost and why it won or lost (after voting).
pub async fn compute(db: &Db, sealer: &Sealer, call: &str, now: i64) -> Result<Results> {
    let c = budgets::find_call(db, call, now).await?.summary;
    in_phase(
        &c,
        &[CallPhase::Result, CallPhase::Implementing],
        "seeing the results",
    )?;
    let (ps, ballots) = election(db, sealer, call, now).await?;
    let Outcome {
        winners,
        spent,
        projects: rows,
        ..
    } = pb::winners(
        c.budget,
        &as_input(&ps),
        &ballots,
        winner_rule(c.rule, c.completion),
    );
    Ok(Results {
        call: call.into(),
        rule: c.rule,
        completion: c.completion,
        budget: c.budget,
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

/// The call in the Pabulib format, voters anonymised (after voting closes).
pub async fn export(db: &Db, sealer: &Sealer, call: &str, now: i64) -> Result<String> {
    let c = budgets::find_call(db, call, now).await?.summary;
    in_phase(
        &c,
        &[CallPhase::Result, CallPhase::Implementing],
        "exporting the ballots",
    )?;
    let (ps, ballots) = election(db, sealer, call, now).await?;
    let projects: Vec<(Project, String)> = as_input(&ps)
        .into_iter()
        .zip(&ps)
        .map(|(input, p)| (input, p.title.clone()))
        .collect();
    Ok(pabulib::export(&pabulib::Call {
        description: &c.title,
        unit: &c.area,
        budget: c.budget,
        rule: winner_rule(c.rule, c.completion),
        max_approvals: c.max_approvals.map(|m| m as usize),
        projects: &projects,
        ballots: &ballots,
    }))
}
