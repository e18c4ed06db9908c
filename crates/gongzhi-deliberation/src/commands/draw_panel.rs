//! Drawing a panel: the sealed seed is revealed with the result, once.

use serde_json::json;

use crate::model::panels::PanelRecord;
use crate::permissions::DELIBERATION_MANAGE;
use crate::rules::sortition;
use crate::store::panels;
use gongzhi_core::audit;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::{Error, Result};

/// Makes the draw; returns the published record with its seed and result.
pub async fn draw_panel(db: &Db, sealer: &Sealer, actor: &Actor, id: &str) -> Result<PanelRecord> {
    let p = panels::record(db, id).await?;
    authorize(actor, DELIBERATION_MANAGE, &Target::area(&p.area))?;
    let seed = sealer.open(&panels::sealed_seed(db, id).await?)?;
    let result = sortition::draw(&p.candidates, &seed, p.k);
    let mut tx = db.begin_write().await?;
    if !panels::record_draw(&mut tx, id, &seed, &result, gongzhi_core::time::now_ms()).await? {
        return Err(Error::refused(
            "already_drawn",
            "this panel has already been drawn",
        ));
    }
    audit::append(
        &mut tx,
        actor,
        "panel.draw",
        &format!("panel:{id}"),
        &json!({"seed": seed, "result": result}),
        None,
    )
    .await?;
    tx.commit().await?;
    panels::record(db, id).await
}
