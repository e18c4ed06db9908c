//! Issuing one-time verification codes for a place (staff of its area), to hand out in person.
//! Only their hashes are stored; the codes are shown once.

use rand::Rng;
use serde_json::json;

use super::redeem_code::code_hash;
use crate::checks::check_area;
use crate::model::input::place;
use crate::model::residents::{CodesInput, IssuedCodes};
use crate::permissions::RESIDENT_VERIFY;
use crate::store::residents::{self, NewCodeRow};
use gongzhi_core::audit;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::time::format_ms;
use gongzhi_core::{Error, Result};

/// No 0/O/1/I: codes are read aloud and typed from paper.
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

pub async fn issue_codes(
    db: &Db,
    actor: &Actor,
    input: &CodesInput,
    now: i64,
) -> Result<IssuedCodes> {
    let area = check_area(db, input.area.trim()).await?;
    authorize(actor, RESIDENT_VERIFY, &Target::area(&area))?;
    let place = place(&input.place)?;
    if !(1..=500).contains(&input.count) {
        return Err(Error::invalid("invalid_count", "count must be 1–500"));
    }
    let days = input.valid_days.unwrap_or(30).clamp(1, 365) as i64;
    let expires = now + days * 86_400_000;
    let codes: Vec<String> = {
        let mut rng = rand::thread_rng();
        (0..input.count)
            .map(|_| {
                (0..10)
                    .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                    .collect()
            })
            .collect()
    };
    let mut tx = db.begin_write().await?;
    let created_by = actor.label();
    for c in &codes {
        residents::insert_code(
            &mut tx,
            &NewCodeRow {
                hash: &code_hash(c),
                area: &area,
                place: &place,
                created_by: &created_by,
                at: now,
                expires_at: expires,
            },
        )
        .await?;
    }
    audit::append(
        &mut tx,
        actor,
        "resident.codes",
        &format!("area:{area}"),
        &json!({"place": place, "count": codes.len(), "expires_at": expires}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(IssuedCodes {
        codes,
        expires_at: format_ms(expires),
    })
}
