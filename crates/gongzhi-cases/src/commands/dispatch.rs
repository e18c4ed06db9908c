//! Dispatch (派遣): the case goes to a unit (the routed one unless another is named), the first
//! unit becomes its lead (首接负责), and the clock starts on fresh deadlines.

use serde_json::json;

use super::changes::{unit_exists, Changes};
use crate::model::ActionInput;
use crate::rules::deadlines::deadlines_from;
use crate::store::reference::load_calendar;
use crate::store::SetValue;
use gongzhi_core::db::Row;
use gongzhi_core::db::{opt_text, Db, WriteTx};
use gongzhi_core::{Error, Result};

pub async fn dispatch(
    db: &Db,
    tx: &mut WriteTx,
    r: &Row,
    input: &ActionInput,
    now: i64,
) -> Result<Changes> {
    let unit = match input.unit.as_deref().filter(|u| !u.is_empty()) {
        Some(u) => u.to_string(),
        None => opt_text(r, "unit_code")?.ok_or_else(|| {
            Error::invalid("missing_field", "dispatch needs a unit: no route was found")
        })?,
    };
    unit_exists(tx, &unit).await?;
    let mut sets = vec![("unit_code", SetValue::Text(Some(unit.clone())))];
    if opt_text(r, "lead_unit")?.is_none() {
        sets.push(("lead_unit", SetValue::Text(Some(unit.clone()))));
    }
    sets.push(("dispatched_at", SetValue::Int(Some(now))));
    let category =
        crate::store::catalog::get(db, &r.try_get::<String, _>("category_code")?).await?;
    let (respond, handle, close) = deadlines_from(&load_calendar(db).await?, &category, now);
    sets.push(("respond_deadline", SetValue::Int(Some(respond))));
    sets.push(("handle_deadline", SetValue::Int(Some(handle))));
    sets.push(("close_deadline", SetValue::Int(Some(close))));
    Ok(Changes {
        sets,
        data: json!({"unit": unit}),
    })
}
