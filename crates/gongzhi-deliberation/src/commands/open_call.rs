//! Opening a micro-project call (民生微实事): its budget, ballot, winner rule and phase dates,
//! by the council or leaders of its area.

use serde_json::json;

use crate::checks::check_area;
use crate::common::add_event;
use crate::model::budgets::{BallotKind, NewCall};
use crate::model::input::{place, text, time};
use crate::permissions::DELIBERATION_MANAGE;
use crate::rules::calls::dates_in_order;
use crate::store::budgets::{self, NewCallRow};
use gongzhi_core::audit;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::{Error, Result};

/// Opens the call; returns its id.
pub async fn open_call(db: &Db, actor: &Actor, c: &NewCall, now: i64) -> Result<String> {
    let area = check_area(db, c.area.trim()).await?;
    authorize(actor, DELIBERATION_MANAGE, &Target::area(&area))?;
    let place = place(&c.place)?;
    let title = text("title", &c.title, 100)?;
    if c.budget <= 0 {
        return Err(Error::invalid(
            "invalid_budget",
            "the budget must be positive",
        ));
    }
    let max_approvals = match c.ballot {
        BallotKind::Approval => Some(c.max_approvals.filter(|m| *m >= 1).ok_or_else(|| {
            Error::invalid(
                "invalid_max_approvals",
                "an approval ballot names max_approvals ≥ 1",
            )
        })?),
        BallotKind::Knapsack => None,
    };
    let dates = [
        time("proposing_from", &c.proposing_from)?,
        time("reviewing_from", &c.reviewing_from)?,
        time("voting_from", &c.voting_from)?,
        time("voting_until", &c.voting_until)?,
        time("implementing_from", &c.implementing_from)?,
    ];
    if !dates_in_order(&dates) {
        return Err(Error::invalid(
            "invalid_period",
            "the phases' dates must be in order: proposing, reviewing, voting, voting_until, implementing",
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin_write().await?;
    budgets::insert_call(
        &mut tx,
        &NewCallRow {
            id: &id,
            call: c,
            title: &title,
            area: &area,
            place: &place,
            max_approvals,
            dates,
            created_by: &actor.label(),
            at: now,
        },
    )
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
