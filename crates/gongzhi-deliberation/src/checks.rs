//! Who may take part, checked before a command writes: residents verified for a place (and on a
//! vote's roll), the council of an area, areas that exist.

use crate::permissions::DELIBERATION_MANAGE;
use crate::rules::places::eligible;
use crate::store;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::{Error, Result};

/// Whether the actor runs deliberation in `area` (the council and leaders there).
pub fn is_steward(actor: &Actor, area: &str) -> bool {
    authorize(actor, DELIBERATION_MANAGE, &Target::area(area)).is_ok()
}

/// The signed-in user's id, or why they must sign in first (`doing`: "to comment" …).
pub fn signed_in(actor: &Actor, doing: &str) -> Result<String> {
    actor
        .user_id
        .clone()
        .ok_or_else(|| Error::Unauthenticated(format!("sign in {doing}")))
}

/// The caller's user id when they are a resident verified for (`area`, `place`) — verified
/// before `roll_closed_at` when a vote's roll was fixed then; else why not.
pub async fn require_eligible(
    db: &Db,
    actor: &Actor,
    area: &str,
    place: &str,
    roll_closed_at: Option<i64>,
) -> Result<String> {
    let Some(user) = actor.user_id.clone() else {
        return Err(Error::Unauthenticated(
            "sign in as a verified resident".into(),
        ));
    };
    let Some(standing) = store::residents::standing(db, &user).await? else {
        return Err(Error::Forbidden(
            "only residents verified for this place take part (ask your community to verify you)"
                .into(),
        ));
    };
    if !eligible(&standing.area, &standing.place, area, place) {
        return Err(Error::Forbidden(
            "you are verified for another place: only residents of this place take part".into(),
        ));
    }
    if roll_closed_at.is_some_and(|t| standing.verified_at > t) {
        return Err(Error::Forbidden(
            "you were verified after this vote opened: its roll was fixed then".into(),
        ));
    }
    Ok(user)
}

/// Checks that an area exists and returns its code.
pub async fn check_area(db: &Db, code: &str) -> Result<String> {
    if gongzhi_core::areas::area_exists(db, code).await? {
        Ok(code.to_string())
    } else {
        Err(Error::invalid(
            "unknown_area",
            format!("no area with code {code:?}"),
        ))
    }
}
