//! Summons (吹哨报到): oversight calls units to a case, each to report in (报到) within a time.

use serde_json::json;

use super::changes::{need, unit_exists, Changes};
use crate::model::ActionInput;
use crate::rules::workflow::Step;
use crate::store::steps;
use gongzhi_core::db::Row;
use gongzhi_core::db::WriteTx;
use gongzhi_core::{Error, Result};

pub async fn summon(tx: &mut WriteTx, r: &Row, input: &ActionInput, now: i64) -> Result<Changes> {
    if input.units.is_empty() {
        return Err(Error::invalid("missing_field", "summon needs units"));
    }
    let case_id: String = r.try_get("id")?;
    let minutes = input.report_within_minutes.unwrap_or(30).clamp(1, 24 * 60);
    for u in &input.units {
        unit_exists(tx, u).await?;
        let deadline = now + i64::from(minutes) * 60_000;
        steps::summon(tx, &case_id, u, deadline)
            .await
            .map_err(|e| {
                if e.is_unique_violation() {
                    Error::refused(
                        "already_summoned",
                        format!("{u} is already summoned to this case"),
                    )
                } else {
                    e
                }
            })?;
    }
    Ok(Changes {
        sets: vec![],
        data: json!({"units": input.units, "report_within_minutes": minutes}),
    })
}

pub async fn report_in(
    tx: &mut WriteTx,
    r: &Row,
    input: &ActionInput,
    now: i64,
) -> Result<Changes> {
    let unit = need(&input.unit, "the summoned unit", Step::ReportIn)?;
    let case_id: String = r.try_get("id")?;
    if !steps::report_in(tx, &case_id, unit, now).await? {
        return Err(Error::refused(
            "not_summoned",
            format!("{unit} has no open summons on this case"),
        ));
    }
    Ok(Changes {
        sets: vec![],
        data: json!({"unit": unit}),
    })
}
