//! Changing the measures' settings (administrators), audited.

use crate::permissions::SETTINGS_MANAGE;
use crate::rules::stats::MeasureSettings;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::{audit, Error, Result};

pub async fn save_settings(db: &Db, actor: &Actor, s: &MeasureSettings) -> Result<()> {
    authorize(actor, SETTINGS_MANAGE, &Target::global())?;
    s.validate()?;
    let text = serde_json::to_string(s).map_err(Error::internal)?;
    let mut tx = db.begin_write().await?;
    crate::store::stats::write_settings(&mut tx, &text).await?;
    audit::append(
        &mut tx,
        actor,
        "case_settings.update",
        "case_settings:measures",
        &serde_json::json!(s),
        None,
    )
    .await?;
    tx.commit().await
}
