//! The callback (回访): the reporter is asked whether the unit contacted them (响应), whether
//! the problem was solved and how satisfied they are — the three rates are counted from it.

use serde_json::json;

use super::changes::Changes;
use crate::model::ActionInput;
use crate::store::SetValue;
use gongzhi_core::{Error, Result};

pub fn call_back(input: &ActionInput, now: i64) -> Result<Changes> {
    // Every answer of a reached reporter is a valid callback for the three rates.
    let contacted = input
        .contacted
        .ok_or_else(|| Error::invalid("missing_field", "call_back needs contacted"))?;
    let satisfaction = match input.satisfaction.as_deref() {
        Some(s @ ("satisfied" | "basically_satisfied" | "dissatisfied")) => Some(s.to_string()),
        None => None,
        Some(_) => {
            return Err(Error::invalid(
                "invalid_satisfaction",
                "satisfaction is satisfied, basically_satisfied or dissatisfied",
            ))
        }
    };
    Ok(Changes {
        sets: vec![
            ("callback_at", SetValue::Int(Some(now))),
            (
                "callback_contacted",
                SetValue::Int(Some(i64::from(contacted))),
            ),
            (
                "callback_resolved",
                SetValue::Int(input.resolved.map(i64::from)),
            ),
            (
                "callback_satisfaction",
                SetValue::Text(satisfaction.clone()),
            ),
        ],
        data: json!({"contacted": contacted, "resolved": input.resolved, "satisfaction": satisfaction}),
    })
}
