//! Recording a winning project's implementation progress, with photos (implementing phase).

use serde_json::json;

use crate::common::add_event;
use crate::model::budgets::{CallPhase, ProgressInput};
use crate::permissions::DELIBERATION_MANAGE;
use crate::queries::budgets::compute;
use crate::rules::calls::in_phase;
use crate::store::budgets;
use gongzhi_core::attachments;
use gongzhi_core::audit;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::{Error, Result};

pub async fn record_progress(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    call: &str,
    project: &str,
    p: &ProgressInput,
    now: i64,
) -> Result<()> {
    let c = budgets::find_call(db, call, now).await?;
    authorize(actor, DELIBERATION_MANAGE, &Target::area(&c.summary.area))?;
    in_phase(&c.summary, &[CallPhase::Implementing], "recording progress")?;
    let results = compute(db, sealer, call, now).await?;
    let code = budgets::project_code(db, call, project).await?;
    if !results.winners.contains(&code) {
        return Err(Error::refused(
            "not_a_winner",
            format!("{code} did not win; only winners are implemented"),
        ));
    }
    if !(0..=100).contains(&p.progress) {
        return Err(Error::invalid("invalid_progress", "progress is 0–100"));
    }
    let note = super::note(&p.note);
    let mut tx = db.begin_write().await?;
    budgets::set_progress(&mut tx, project, p.progress).await?;
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
