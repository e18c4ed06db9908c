//! Reading verifications: one, an area's, the caller's own. Names are masked.

use crate::model::residents::Verification;
use crate::permissions::RESIDENT_VERIFY;
use crate::store::residents::{self, VerificationRecord};
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, masked_name, Actor, Target};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::time::format_ms;
use gongzhi_core::Result;

async fn view_of(db: &Db, sealer: &Sealer, v: VerificationRecord) -> Result<Verification> {
    Ok(Verification {
        resident: masked_name(db, sealer, &v.user_id).await?,
        id: v.id,
        user_id: v.user_id,
        area: v.area,
        place: v.place,
        method: v.method,
        verified_at: format_ms(v.verified_at),
        revoked_at: v.revoked_at.map(format_ms),
        revoke_reason: v.revoke_reason,
    })
}

/// One verification.
pub async fn get(db: &Db, sealer: &Sealer, id: &str) -> Result<Verification> {
    view_of(db, sealer, residents::find(db, id).await?).await
}

/// The latest 500 verifications in an area's subtree (staff of that area).
pub async fn list_in(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    area: &str,
) -> Result<Vec<Verification>> {
    authorize(actor, RESIDENT_VERIFY, &Target::area(area))?;
    let mut out = Vec::new();
    for v in residents::list_in(db, area).await? {
        out.push(view_of(db, sealer, v).await?);
    }
    Ok(out)
}

/// The actor's own current verification, if any (what `/api/v1/me/verification` and the hub
/// page show).
pub async fn current(db: &Db, sealer: &Sealer, actor: &Actor) -> Result<Option<Verification>> {
    let Some(user) = &actor.user_id else {
        return Ok(None);
    };
    match residents::current_id(db, user).await? {
        Some(id) => Ok(Some(get(db, sealer, &id).await?)),
        None => Ok(None),
    }
}
