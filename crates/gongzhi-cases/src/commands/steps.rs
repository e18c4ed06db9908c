//! What each step changes on the case: the columns it sets and the data its timeline event
//! carries. The simple steps are here; a step family with rules of its own has its own file
//! (dispatch, call_back, extend, summon, merge).

use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::model::ActionInput;
use crate::rules::workflow::{Status, Step};
use crate::store::catalog::{self, Coded};
use crate::store::SetValue;
use gongzhi_core::db::{Db, WriteTx};
use gongzhi_core::identity::Actor;
use gongzhi_core::{Error, Result};

/// A step's column changes as (column, value) pairs, and its event's data.
pub struct Changes {
    pub sets: Vec<(&'static str, SetValue)>,
    pub data: Value,
}

impl Changes {
    fn set(sets: Vec<(&'static str, SetValue)>) -> Self {
        Changes {
            sets,
            data: json!({}),
        }
    }
}

/// A trimmed, non-empty text field a step needs.
pub fn need<'a>(v: &'a Option<String>, what: &str, step: Step) -> Result<&'a str> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::invalid("missing_field", format!("{} needs {what}", step.as_str())))
}

/// Refuses a unit code that names no unit.
pub async fn unit_exists(tx: &mut WriteTx, unit: &str) -> Result<()> {
    if !catalog::exists(tx, Coded::Units, unit).await? {
        return Err(Error::invalid("unknown_unit", format!("no unit {unit}")));
    }
    Ok(())
}

fn now_at(column: &'static str, now: i64) -> (&'static str, SetValue) {
    (column, SetValue::Int(Some(now)))
}

/// The changes of `step` on the case `r` (already allowed from `from`).
#[allow(clippy::too_many_arguments)]
pub async fn changes(
    db: &Db,
    tx: &mut WriteTx,
    actor: &Actor,
    r: &AnyRow,
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
