//! What each step changes on the case: the columns it sets and the data its timeline event
//! carries. The simple steps are here; a step family with rules of its own has its own file
//! (dispatch, call_back, extend, summon, merge); what they share is in `changes`.

use serde_json::json;

use super::changes::{need, Changes};
use crate::model::ActionInput;
use crate::rules::workflow::{Status, Step};
use crate::store::SetValue;
use gongzhi_core::db::Row;
use gongzhi_core::db::{Db, WriteTx};
use gongzhi_core::identity::Actor;
use gongzhi_core::Result;

fn now_at(column: &'static str, now: i64) -> (&'static str, SetValue) {
    (column, SetValue::Int(Some(now)))
}

/// The changes of `step` on the case `r` (already allowed from `from`).
#[allow(clippy::too_many_arguments)]
pub async fn changes(
    db: &Db,
    tx: &mut WriteTx,
    actor: &Actor,
    r: &Row,
    step: Step,
    input: &ActionInput,
    from: Status,
    now: i64,
) -> Result<Changes> {
    if matches!(
        step,
        Step::Cancel | Step::Return | Step::Hold | Step::Reopen
    ) {
        need(&input.reason, "a reason", step)?;
    }
    let rework = || -> Result<SetValue> {
        Ok(SetValue::Int(Some(
            r.try_get::<i64, _>("rework_count")? + 1,
        )))
    };
    Ok(match step {
        Step::Dispatch => super::dispatch::dispatch(db, tx, r, input, now).await?,
        Step::Sign => Changes::set(vec![now_at("signed_at", now)]),
        Step::Contact => Changes::set(vec![now_at("contacted_at", now)]),
        Step::ReportBack => {
            need(&input.note, "a note on what was done", step)?;
            Changes::set(vec![now_at("reported_back_at", now)])
        }
        Step::Verify => Changes {
            sets: if input.passed == Some(true) {
                vec![now_at("verified_at", now)]
            } else {
                vec![
                    ("rework_count", rework()?),
                    ("reported_back_at", SetValue::Int(None)),
                ]
            },
            data: json!({"passed": input.passed}),
        },
        Step::Close => Changes::set(vec![now_at("closed_at", now)]),
        Step::CallBack => super::call_back::call_back(input, now)?,
        Step::Return => Changes::set(vec![
            ("unit_code", SetValue::Text(None)),
            ("signed_at", SetValue::Int(None)),
        ]),
        Step::Extend => super::extend::extend(r, input, now)?,
        Step::ApproveExtension => super::extend::approve_extension(r)?,
        Step::Hold => Changes::set(vec![(
            "held_from",
            SetValue::Text(Some(from.as_str().into())),
        )]),
        Step::Resume => Changes::set(vec![("held_from", SetValue::Text(None))]),
        Step::Supervise => Changes::set(vec![("supervised", SetValue::Int(Some(1)))]),
        Step::Reopen => Changes::set(vec![
            ("callback_at", SetValue::Int(None)),
            ("callback_contacted", SetValue::Int(None)),
            ("callback_resolved", SetValue::Int(None)),
            ("callback_satisfaction", SetValue::Text(None)),
            ("closed_at", SetValue::Int(None)),
            ("verified_at", SetValue::Int(None)),
            ("reported_back_at", SetValue::Int(None)),
            ("signed_at", SetValue::Int(None)),
            ("rework_count", rework()?),
        ]),
        Step::Summon => super::summon::summon(tx, r, input, now).await?,
        Step::ReportIn => super::summon::report_in(tx, r, input, now).await?,
        Step::Merge => super::merge::merge(db, tx, actor, r, input).await?,
        Step::Accept | Step::File | Step::Cancel | Step::Remind => Changes::set(vec![]),
    })
}
