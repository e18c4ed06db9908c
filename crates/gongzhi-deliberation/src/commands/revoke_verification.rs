//! Revoking a verification with a reason (staff of its area): the resident no longer takes part.

use serde_json::json;

use crate::model::input::text;
use crate::permissions::RESIDENT_VERIFY;
use crate::store::residents;
use gongzhi_core::audit;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::{Error, Result};

pub async fn revoke_verification(
    db: &Db,
    actor: &Actor,
    id: &str,
    reason: &str,
    now: i64,
) -> Result<()> {
    let v = residents::find(db, id).await?;
    authorize(actor, RESIDENT_VERIFY, &Target::area(&v.area))?;
    let reason = text("reason", reason, 500)?;
    let mut tx = db.begin_write().await?;
    if !residents::revoke(&mut tx, id, &actor.label(), &reason, now).await? {
        return Err(Error::refused(
            "already_revoked",
            "this verification is already revoked",
        ));
    }
    audit::append(
        &mut tx,
        actor,
        "resident.revoke",
        &format!("verification:{id}"),
        &json!({"user_id": v.user_id}),
        Some(&reason),
    )
    .await?;
    tx.commit().await
}
