//! Reporting a topic or comment with a reason (verified residents and staff). Enough open
//! reports hide it until a moderator decides.

use serde_json::json;

use crate::checks::signed_in;
use crate::model::input::text;
use crate::model::moderation::{ContentTarget, ReportInput, ReportOutcome};
use crate::queries::moderation::threshold;
use crate::store::{moderation, residents};
use gongzhi_core::audit;
use gongzhi_core::db::Db;
use gongzhi_core::identity::Actor;
use gongzhi_core::{Error, Result};

pub async fn report_content(
    db: &Db,
    actor: &Actor,
    input: &ReportInput,
    now: i64,
) -> Result<ReportOutcome> {
    let user = signed_in(actor, "to report")?;
    if residents::standing(db, &user).await?.is_none()
        && actor
            .assignments
            .iter()
            .all(|a| a.role == gongzhi_core::identity::Role::RESIDENT)
    {
        return Err(Error::Forbidden(
            "only verified residents and staff report content".into(),
        ));
    }
    let reason = text("reason", &input.reason, 500)?;
    let c = moderation::content(db, &ContentTarget::parse(&input.target)?).await?;
    let limit = threshold(db).await?;
    let mut tx = db.begin_write().await?;
    super::once(
        moderation::insert_report(&mut tx, &input.target, &user, &reason, now).await,
        "already_reported",
        "you have already reported this",
    )?;
    let open = moderation::open_report_count(&mut tx, &input.target).await?;
    let hide = !c.hidden && open >= limit;
    if hide {
        moderation::set_hidden(
            &mut tx,
            &c,
            true,
            &format!("被 {open} 位居民举报，待审核 (reported by {open} residents, under review)"),
        )
        .await?;
    }
    audit::append(
        &mut tx,
        actor,
        "content.report",
        &input.target,
        &json!({"open_reports": open, "auto_hidden": hide}),
        Some(&reason),
    )
    .await?;
    tx.commit().await?;
    Ok(ReportOutcome {
        open_reports: open,
        hidden: c.hidden || hide,
    })
}
