//! Publishing a resident panel before its draw (docs/sortition.md): the candidate list, its
//! hash and a commitment to a random seed the server keeps sealed.

use rand::RngCore;
use serde_json::json;

use crate::checks::check_area;
use crate::model::input::text;
use crate::model::panels::NewPanel;
use crate::permissions::DELIBERATION_MANAGE;
use crate::rules::sortition;
use crate::store::panels::{self, NewPanelRow};
use gongzhi_core::audit;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::{Error, Result};

/// Publishes the panel; returns its id.
pub async fn publish_panel(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    p: &NewPanel,
) -> Result<String> {
    let area = check_area(db, p.area.trim()).await?;
    authorize(actor, DELIBERATION_MANAGE, &Target::area(&area))?;
    let title = text("title", &p.title, 100)?;
    let candidates = candidates(&p.candidates)?;
    if p.seats == 0 || p.seats > candidates.len() {
        return Err(Error::invalid(
            "invalid_seats",
            "seats must be between 1 and the number of candidates",
        ));
    }
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let seed = hex::encode(raw);
    let id = uuid::Uuid::new_v4().to_string();
    let list_hash = sortition::list_hash(&candidates);
    let commitment = sortition::commitment(&seed);
    let mut tx = db.begin_write().await?;
    panels::insert(
        &mut tx,
        &NewPanelRow {
            id: &id,
            title: &title,
            area: &area,
            seats: p.seats,
            candidates: &candidates,
            list_hash: &list_hash,
            commitment: &commitment,
            sealed_seed: &sealer.seal(&seed),
            created_by: &actor.label(),
            at: gongzhi_core::time::now_ms(),
        },
    )
    .await?;
    audit::append(
        &mut tx,
        actor,
        "panel.publish",
        &format!("panel:{id}"),
        &json!({"list_hash": list_hash, "commitment": commitment, "seats": p.seats}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The published list: 1–100,000 trimmed names, none empty, on two lines or repeated.
fn candidates(given: &[String]) -> Result<Vec<String>> {
    let candidates: Vec<String> = given.iter().map(|c| c.trim().to_string()).collect();
    if candidates.is_empty() || candidates.len() > 100_000 {
        return Err(Error::invalid(
            "invalid_candidates",
            "a panel has 1–100,000 candidates",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(c) = candidates
        .iter()
        .find(|c| c.is_empty() || c.contains('\n') || !seen.insert(c.as_str()))
    {
        return Err(Error::invalid(
            "invalid_candidates",
            format!("candidate {c:?} is empty, has a line break or is listed twice"),
        ));
    }
    Ok(candidates)
}
