//! Proposing a project to a call (proposing phase): a verified resident of its place, with a
//! cost estimate within the budget.

use serde_json::json;

use crate::checks::require_eligible;
use crate::common::add_event;
use crate::model::budgets::{CallPhase, NewProject};
use crate::model::input::text;
use crate::rules::calls::in_phase;
use crate::store::budgets::{self, NewProjectRow};
use gongzhi_core::audit;
use gongzhi_core::db::Db;
use gongzhi_core::identity::Actor;
use gongzhi_core::{Error, Result};

/// Adds the project; returns its id.
pub async fn propose_project(
    db: &Db,
    actor: &Actor,
    call: &str,
    p: &NewProject,
    now: i64,
) -> Result<String> {
    let c = budgets::find_call(db, call, now).await?;
    // Who may take part comes before the phase, which is for them to hear.
    let user = require_eligible(db, actor, &c.summary.area, &c.summary.place, None).await?;
    in_phase(&c.summary, &[CallPhase::Proposing], "proposing a project")?;
    let title = text("title", &p.title, 100)?;
    if p.cost_estimate <= 0 || p.cost_estimate > c.summary.budget {
        return Err(Error::invalid(
            "invalid_cost",
            format!(
                "the cost estimate must be between 1 and the budget ({})",
                c.summary.budget
            ),
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin_write().await?;
    let code = budgets::insert_project(
        &mut tx,
        &NewProjectRow {
            id: &id,
            call,
            title: &title,
            description: p.description.trim(),
            cost_estimate: p.cost_estimate,
            proposer: &user,
            at: now,
        },
    )
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
