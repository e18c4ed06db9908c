//! Changing the module's settings: the ballot box's batch size (administrators without a
//! scope) and the reports that hide content automatically (moderators without a scope).

use serde_json::json;

use crate::ballot_box::{BATCH_SETTING, MIN_BATCH};
use crate::permissions::{DELIBERATION_MANAGE, MODERATE};
use crate::queries::moderation::AUTO_HIDE_SETTING;
use crate::store::settings;
use gongzhi_core::audit;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::{Error, Result};

pub async fn set_ballot_batch(db: &Db, actor: &Actor, batch: i64) -> Result<()> {
    authorize(actor, DELIBERATION_MANAGE, &Target::global())?;
    if !(MIN_BATCH..=1000).contains(&batch) {
        return Err(Error::invalid_with(
            "invalid_settings",
            format!("ballot_batch is {MIN_BATCH}–1000"),
            json!({"field": "ballot_batch"}),
        ));
    }
    let mut tx = db.begin_write().await?;
    settings::put(&mut tx, BATCH_SETTING, &batch.to_string()).await?;
    audit::append(
        &mut tx,
        actor,
        "deliberation.settings",
        "deliberation_settings",
        &json!({"ballot_batch": batch}),
        None,
    )
    .await?;
    tx.commit().await
}

pub async fn set_auto_hide(db: &Db, actor: &Actor, reports: i64) -> Result<()> {
    authorize(actor, MODERATE, &Target::global())?;
    if !(1..=1000).contains(&reports) {
        return Err(Error::invalid_with(
            "invalid_settings",
            "auto_hide_reports is 1–1000",
            json!({"field": "auto_hide_reports"}),
        ));
    }
    let mut tx = db.begin_write().await?;
    settings::put(&mut tx, AUTO_HIDE_SETTING, &reports.to_string()).await?;
    audit::append(
        &mut tx,
        actor,
        "moderation.settings",
        "deliberation_settings",
        &json!({"auto_hide_reports": reports}),
        None,
    )
    .await?;
    tx.commit().await
}
