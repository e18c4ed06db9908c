//! What a step changes, and the input checks every step family shares.

use serde_json::{json, Value};

use crate::rules::workflow::Step;
use crate::store::catalog::{self, Coded};
use crate::store::SetValue;
use gongzhi_core::db::WriteTx;
use gongzhi_core::{Error, Result};

/// A step's column changes as (column, value) pairs, and its event's data.
pub struct Changes {
    pub sets: Vec<(&'static str, SetValue)>,
    pub data: Value,
}

impl Changes {
    pub fn set(sets: Vec<(&'static str, SetValue)>) -> Self {
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
