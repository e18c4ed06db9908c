//! Taking one step of the loop: who may, whether the state allows it (`rules::workflow`), the
//! step's own changes (`steps`), the follow-ups, the timeline event and the audit entry, all in
//! one transaction under optimistic concurrency.

use serde_json::json;

use super::changes::{need, Changes};
use super::follow_up::follow_up;
use super::steps::changes;
use crate::model::{Access, ActionInput, CaseView};
use crate::queries::case::as_reporter_sees;
use crate::rules::workflow::{self, Facts, Over, Status, Step};
use crate::store::cases::{access, add_event, case_target, fetch_row, full_view};
use crate::store::{self, steps, SetValue};
use gongzhi_core::db::Row;
use gongzhi_core::db::{opt_text, Db};
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::time::now_ms;
use gongzhi_core::{audit, Error, Result};

/// Takes one step of the loop. Refused with 404 when the caller may not read the case (as for
/// an unknown one), 403 for a readable case outside the step's role or scope, 409 with the
/// step's refusal code for the wrong state, and 409 `lost_race` when another action changed
/// the case first.
pub async fn act(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    id: &str,
    step: Step,
    input: &ActionInput,
) -> Result<CaseView> {
    let mut tx = db.begin_write().await?;
    let r = steps::find(&mut tx, id).await?;
    // Who may not read the case learns nothing of it: not its state, not whether it exists.
    let seen_as = access(db, actor, &r).await?;
    let case_id: String = r.try_get("id")?;
    let version: i64 = r.try_get("version")?;
    let from = Status::parse(&r.try_get::<String, _>("status")?)
        .ok_or_else(|| Error::internal("bad status"))?;
    may_take(actor, &r, step, input)?;
    let outcome = workflow::next(from, step, facts_of(&r)?, input.passed)
        .map_err(|refusal| Error::refused(refusal.code, refusal.message))?;
    let now = now_ms();
    let note = input
        .note
        .as_deref()
        .or(input.reason.as_deref())
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let Changes { mut sets, mut data } =
        changes(db, &mut tx, actor, &r, step, input, from, now).await?;
    sets.insert(
        0,
        ("status", SetValue::Text(Some(outcome.to.as_str().into()))),
    );
    sets.push(("updated_at", SetValue::Int(Some(now))));
    sets.push(("version", SetValue::Int(Some(version + 1))));
    if !steps::update(&mut tx, sets, &case_id, version).await? {
        return Err(Error::refused(
            "lost_race",
            "the case was changed by someone else first; reload and try again",
        ));
    }
    crate::store::stats::record_change(&mut tx, Some(&r), &case_id).await?;
    follow_up(db, &mut tx, &case_id, step, now).await?;
    if step == Step::Merge {
        // The duplicate's reporter hears about the primary's progress through the primary.
        let primary_id = data["into"].as_str().unwrap_or_default().to_string();
        add_event(
            &mut tx,
            &primary_id,
            now,
            actor,
            "merged_in",
            None,
            &json!({"case": case_id}),
        )
        .await?;
    }
    if !input.photos.is_empty() {
        gongzhi_core::attachments::link(
            &mut tx,
            &actor.label(),
            &input.photos,
            &format!("case:{case_id}"),
            step.as_str(),
        )
        .await?;
        data["photos"] = json!(input.photos);
    }
    add_event(&mut tx, &case_id, now, actor, step.as_str(), note, &data).await?;
    audit::append(
        &mut tx,
        actor,
        &format!("case.{}", step.as_str()),
        &format!("case:{case_id}"),
        &json!({"from": from, "to": outcome.to, "data": data}),
        note,
    )
    .await?;
    store::cases_moved(&mut tx).await?;
    tx.commit().await?;
    // The actor may no longer read the case (a unit that returned it): answer with it anyway.
    let view = full_view(db, sealer, &fetch_row(db, &case_id).await?, false).await?;
    Ok(match seen_as {
        Access::Staff => view,
        Access::Reporter => as_reporter_sees(view, actor),
    })
}

/// The one permission check of a step: its permission over the case's area or unit (for
/// `report_in`, the summoned unit's); the reporter answers the callback on their own case
/// (the resident portal's 评价).
fn may_take(actor: &Actor, r: &Row, step: Step, input: &ActionInput) -> Result<()> {
    let (permission, over) = step.permission();
    let unit_for_check = if step == Step::ReportIn {
        Some(need(&input.unit, "the summoned unit", step)?)
    } else {
        None
    };
    let target = match over {
        Over::Area => Target {
            area: opt_text(r, "grid_code")?,
            unit: None,
        },
        Over::Unit => case_target(r, unit_for_check)?,
    };
    let own_callback = step == Step::CallBack
        && actor.user_id.is_some()
        && opt_text(r, "created_by")? == actor.user_id;
    if !own_callback {
        authorize(actor, permission, &target)?;
    }
    Ok(())
}

/// What the rules need to know of the case as stored.
fn facts_of(r: &Row) -> Result<Facts> {
    Ok(Facts {
        contacted: r.try_get::<Option<i64>, _>("contacted_at")?.is_some(),
        extension_pending: r.try_get::<Option<i64>, _>("extension_until")?.is_some(),
        callback_unsatisfied: r.try_get::<Option<i64>, _>("callback_resolved")? == Some(0)
            || opt_text(r, "callback_satisfaction")?.as_deref() == Some("dissatisfied"),
        held_from: opt_text(r, "held_from")?.and_then(|s| Status::parse(&s)),
    })
}
