//! Redeeming a one-time code handed out in person: the signed-in resident is verified for the
//! code's place.

use sha2::{Digest, Sha256};

use super::verify_resident::{record_verification, unusable_code};
use crate::checks::signed_in;
use crate::model::residents::VerificationMethod;
use crate::store::residents;
use gongzhi_core::db::Db;
use gongzhi_core::identity::Actor;
use gongzhi_core::Result;

/// Spends the code for the caller; returns the verification's id.
pub async fn redeem_code(db: &Db, actor: &Actor, code: &str, now: i64) -> Result<String> {
    let user = signed_in(actor, "first")?;
    let h = code_hash(code);
    let (area, place) = residents::code_place(db, &h)
        .await?
        .ok_or_else(unusable_code)?;
    record_verification(
        db,
        actor,
        &user,
        &area,
        &place,
        VerificationMethod::Code,
        Some(&h),
        now,
    )
    .await
}

/// How a code is stored: its hash, read as typed from paper (any case, dashes, spaces).
pub(super) fn code_hash(code: &str) -> String {
    hex::encode(Sha256::digest(
        code.trim().to_ascii_uppercase().replace(['-', ' '], ""),
    ))
}
