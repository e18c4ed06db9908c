//! Hiding or restoring content (moderators of its area), with a reason shown in its place:
//! hiding upholds its open reports, restoring rejects them.

use serde_json::json;

use crate::model::input::text;
use crate::model::moderation::{ContentTarget, ModerateInput, ReportState};
use crate::permissions::MODERATE;
use crate::store::moderation;
use gongzhi_core::audit;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::{Error, Result};

pub async fn moderate_content(
    db: &Db,
    actor: &Actor,
    input: &ModerateInput,
    hide: bool,
) -> Result<()> {
    let c = moderation::content(db, &ContentTarget::parse(&input.target)?).await?;
    authorize(actor, MODERATE, &Target::area(&c.area))?;
    let reason = text("reason", &input.reason, 500)?;
    if c.hidden == hide {
        return Err(Error::refused(
            "wrong_state",
            format!("it is already {}", if hide { "hidden" } else { "shown" }),
        ));
    }
    let mut tx = db.begin_write().await?;
    moderation::set_hidden(&mut tx, &c, hide, &reason).await?;
    let settled = if hide {
        ReportState::Upheld
    } else {
        ReportState::Rejected
    };
    moderation::settle_reports(&mut tx, &input.target, settled).await?;
    audit::append(
        &mut tx,
        actor,
        if hide {
            "content.hide"
        } else {
            "content.restore"
        },
        &input.target,
        &json!({}),
        Some(&reason),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
