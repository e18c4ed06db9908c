//! Reading a case's publication, and whether the actor may publish.

use crate::model::publicity::Publication;
use crate::permissions::CASE_PUBLISH;
use crate::store;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Role, Target};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::Result;

/// May the actor publish cases located in `grid` (for offering the form; the command checks
/// again)?
pub fn may_publish(actor: &Actor, grid: Option<&str>) -> bool {
    authorize(actor, CASE_PUBLISH, &publish_target(grid)).is_ok()
}

/// What publishing a case in `grid` is checked against.
pub fn publish_target(grid: Option<&str>) -> Target {
    Target {
        area: grid.map(String::from),
        unit: None,
    }
}

/// The publication of a case the actor may read (unknown or unreadable: not found).
pub async fn publication(db: &Db, sealer: &Sealer, actor: &Actor, id: &str) -> Result<Publication> {
    let case = super::case::get(db, sealer, actor, id, false).await?;
    let mut p = store::publicity::of(db, std::slice::from_ref(&case.id))
        .await?
        .remove(&case.id)
        .unwrap_or_default();
    // Residents see that staff decided, not which of them.
    if actor.assignments.iter().all(|a| a.role == Role::RESIDENT) {
        p.decided_by = None;
    }
    Ok(p)
}
