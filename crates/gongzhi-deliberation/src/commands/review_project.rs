//! Reviewing a project (proposing or reviewing phase): feasible with its cost, or unfeasible
//! with an explanation the proposer is sent.

use serde_json::json;

use crate::common::{add_event, notify_users};
use crate::model::budgets::{CallPhase, ProjectStatus, ReviewInput};
use crate::permissions::DELIBERATION_MANAGE;
use crate::rules::calls::in_phase;
use crate::store::budgets;
use gongzhi_core::audit;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::{Error, Result};

pub async fn review_project(
    db: &Db,
    actor: &Actor,
    call: &str,
    project: &str,
    r: &ReviewInput,
    now: i64,
) -> Result<()> {
    let c = budgets::find_call(db, call, now).await?;
    authorize(actor, DELIBERATION_MANAGE, &Target::area(&c.summary.area))?;
    in_phase(
        &c.summary,
        &[CallPhase::Proposing, CallPhase::Reviewing],
        "reviewing a project",
    )?;
    let p = budgets::project_for_review(db, call, project).await?;
    let note = super::note(&r.note);
    let cost = r.cost.unwrap_or(p.cost_estimate);
    if !r.feasible && note.is_none() {
        return Err(Error::invalid_with(
            "missing_field",
            "an unfeasible project needs an explanation",
            json!({"field": "note"}),
        ));
    }
    if r.feasible && (cost <= 0 || cost > c.summary.budget) {
        return Err(Error::invalid(
            "invalid_cost",
            format!(
                "the cost must be between 1 and the budget ({})",
                c.summary.budget
            ),
        ));
    }
    let status = if r.feasible {
        ProjectStatus::Feasible
    } else {
        ProjectStatus::Unfeasible
    };
    let mut tx = db.begin_write().await?;
    budgets::review(
        &mut tx,
        project,
        status,
        r.feasible.then_some(cost),
        note,
        &actor.label(),
        now,
    )
    .await?;
    let body = match (r.feasible, note) {
        (true, _) => format!("经审核可行，核定费用 {cost} 元，将进入投票。"),
        (false, n) => format!("经审核不可行。说明：{}", n.unwrap_or("")),
    };
    notify_users(
        db,
        &mut tx,
        now,
        &[p.proposer],
        "project",
        &format!("项目审核结果：{}", p.title),
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
