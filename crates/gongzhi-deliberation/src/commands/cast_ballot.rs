//! Casting a ballot in a micro-project call (voting phase): a verified resident's one ballot,
//! within the call's rules. Who voted is recorded at once; the ballot is sealed in the call's
//! ballot box until it is mixed with others (`ballot_box`).

use serde_json::json;

use crate::ballot_box::BallotBox;
use crate::checks::require_eligible;
use crate::model::budgets::{BallotInput, CallPhase};
use crate::rules::calls::check_ballot;
use crate::rules::calls::in_phase;
use crate::store::budgets;
use gongzhi_core::audit;
use gongzhi_core::db::Db;
use gongzhi_core::identity::Actor;
use gongzhi_core::privacy::Sealer;
use gongzhi_core::{Error, Result};

pub async fn cast_ballot(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    call: &str,
    b: &BallotInput,
    now: i64,
) -> Result<()> {
    let c = budgets::find_call(db, call, now).await?;
    let user = require_eligible(db, actor, &c.summary.area, &c.summary.place, None).await?;
    in_phase(&c.summary, &[CallPhase::Voting], "voting")?;
    let all = budgets::projects(db, call).await?;
    let chosen = check_ballot(&all, &b.projects, c.summary.budget, c.summary.max_approvals)?;
    let ids: Vec<&str> = chosen.iter().map(|p| p.id.as_str()).collect();
    let mut tx = db.begin_write().await?;
    super::once(
        budgets::add_voter(&mut tx, call, &user).await,
        "already_voted",
        "you have already voted in this call",
    )?;
    BallotBox::call(call)
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
    // Mixed once, when voting has closed (see `queries::budgets::election`).
    tx.commit().await?;
    Ok(())
}
