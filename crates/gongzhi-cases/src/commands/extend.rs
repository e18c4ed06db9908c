//! Extensions (延期): a unit asks for a later handling deadline, the dispatch desk approves it;
//! the close deadline moves by as much.

use serde_json::json;

use super::changes::{need, Changes};
use crate::model::ActionInput;
use crate::rules::workflow::Step;
use crate::store::SetValue;
use gongzhi_core::db::Row;
use gongzhi_core::time::format_ms;
use gongzhi_core::{Error, Result};

pub fn extend(r: &Row, input: &ActionInput, now: i64) -> Result<Changes> {
    let step = Step::Extend;
    let until = need(&input.until, "until (RFC 3339)", step)?;
    let until = gongzhi_core::time::parse_rfc3339(until)
        .ok_or_else(|| Error::invalid("invalid_time", "until must be RFC 3339"))?;
    let handle = r
        .try_get::<Option<i64>, _>("handle_deadline")?
        .unwrap_or(now);
    if until <= handle.max(now) {
        return Err(Error::invalid(
            "invalid_time",
            "an extension must end after the current deadline",
        ));
    }
    need(&input.reason, "a reason", step)?;
    Ok(Changes {
        sets: vec![("extension_until", SetValue::Int(Some(until)))],
        data: json!({"until": format_ms(until)}),
    })
}

pub fn approve_extension(r: &Row) -> Result<Changes> {
    let until: i64 = r
        .try_get::<Option<i64>, _>("extension_until")?
        .ok_or_else(|| Error::internal("no extension"))?;
    let old_handle = r
        .try_get::<Option<i64>, _>("handle_deadline")?
        .unwrap_or(until);
    let old_close = r
        .try_get::<Option<i64>, _>("close_deadline")?
        .unwrap_or(until);
    Ok(Changes {
        sets: vec![
            ("handle_deadline", SetValue::Int(Some(until))),
            (
                "close_deadline",
                SetValue::Int(Some(old_close + (until - old_handle).max(0))),
            ),
            ("extension_until", SetValue::Int(None)),
        ],
        data: json!({"handle_deadline": format_ms(until)}),
    })
}
