//! Merging a duplicate into its primary case (合并): the duplicate ends, its reporter follows
//! the primary. The primary must be the caller's to read and to merge into, and open.

use serde_json::json;

use super::changes::{need, Changes};
use crate::model::ActionInput;
use crate::rules::workflow::{Status, Step};
use crate::store::cases::access;
use crate::store::{steps, SetValue};
use gongzhi_core::db::Row;
use gongzhi_core::db::{opt_text, Db, WriteTx};
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::{Error, Result};

pub async fn merge(
    db: &Db,
    tx: &mut WriteTx,
    actor: &Actor,
    r: &Row,
    input: &ActionInput,
) -> Result<Changes> {
    let into = need(&input.into, "into (the primary case)", Step::Merge)?;
    let case_id: String = r.try_get("id")?;
    let primary = steps::find(tx, into).await?;
    // The primary gets an event too: it must be the caller's to read and to merge into, or it
    // is as unknown as a wrong number.
    access(db, actor, &primary).await?;
    authorize(
        actor,
        Step::Merge.permission().0,
        &Target {
            area: opt_text(&primary, "grid_code")?,
            unit: None,
        },
    )
    .map_err(|_| Error::not_found("case"))?;
    let primary_id: String = primary.try_get("id")?;
    let primary_status =
        Status::parse(&primary.try_get::<String, _>("status")?).unwrap_or(Status::Cancelled);
    if primary_id == case_id {
        return Err(Error::refused(
            "merge_into_self",
            "a case merges into another open case, not into itself",
        ));
    }
    if primary_status == Status::Merged {
        return Err(Error::refused(
            "already_merged",
            "the primary case was itself merged into another; merge into that one",
        ));
    }
    if !primary_status.is_open() {
        return Err(Error::refused(
            "merge_target_closed",
            "a case merges into another open case",
        ));
    }
    Ok(Changes {
        sets: vec![("primary_id", SetValue::Text(Some(primary_id.clone())))],
        data: json!({"into": primary_id}),
    })
}
