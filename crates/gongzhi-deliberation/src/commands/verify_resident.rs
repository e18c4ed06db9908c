//! Verifying a resident for a place: by community staff against the registry, or (through
//! `redeem_code`) by a one-time code. One current verification per resident.

use serde_json::json;

use crate::checks::check_area;
use crate::model::input::place;
use crate::model::residents::{VerificationMethod, VerifyInput};
use crate::permissions::RESIDENT_VERIFY;
use crate::store::residents::{self, NewVerificationRow};
use gongzhi_core::audit;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, user_id_by_name, Actor, Target};
use gongzhi_core::{Error, Result};

/// Staff of the area verify a resident (by user name) for a place against the registry;
/// returns the verification's id.
pub async fn verify_resident(
    db: &Db,
    actor: &Actor,
    input: &VerifyInput,
    now: i64,
) -> Result<String> {
    let area = check_area(db, input.area.trim()).await?;
    authorize(actor, RESIDENT_VERIFY, &Target::area(&area))?;
    let place = place(&input.place)?;
    let user = user_id_by_name(db, input.username.trim())
        .await?
        .ok_or_else(|| Error::invalid("unknown_user", "no user with that name"))?;
    record_verification(
        db,
        actor,
        &user,
        &area,
        &place,
        VerificationMethod::Registry,
        None,
        now,
    )
    .await
}

/// Records a verification (`Registry` by staff, `Code` when `code_hash` is spent with it) in
/// one transaction with its audit entry; returns its id.
#[allow(clippy::too_many_arguments)]
pub async fn record_verification(
    db: &Db,
    actor: &Actor,
    user_id: &str,
    area: &str,
    place: &str,
    method: VerificationMethod,
    code_hash: Option<&str>,
    now: i64,
) -> Result<String> {
    let id = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin_write().await?;
    if let Some(h) = code_hash {
        // The code is spent in the same transaction: of two racing redeems one wins.
        if !residents::spend_code(&mut tx, h, user_id, now).await? {
            return Err(unusable_code());
        }
    }
    super::once(
        residents::insert(
            &mut tx,
            &NewVerificationRow {
                id: &id,
                user: user_id,
                area,
                place,
                method,
                verified_by: &actor.label(),
                at: now,
            },
        )
        .await,
        "already_verified",
        "this resident is already verified for a place; revoke that first",
    )?;
    audit::append(
        &mut tx,
        actor,
        "resident.verify",
        &format!("verification:{id}"),
        &json!({"user_id": user_id, "area": area, "place": place, "method": method}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub(super) fn unusable_code() -> Error {
    Error::refused(
        "unusable_code",
        "this code is unknown, already used or expired",
    )
}
