//! Reading consultations, and counting their mixed answers (the council of the area any time;
//! everyone after the close, when every answer is mixed first).

use crate::ballot_box::{self, BallotBox};
use crate::model::consultations::{ConsultationResults, ConsultationView};
use crate::permissions::DELIBERATION_MANAGE;
use crate::rules::questions::{count, state_at};
use crate::store::consultations::{self, ConsultationRecord};
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::time::format_ms;
use gongzhi_core::Result;

async fn view_of(
    db: &Db,
    actor: &Actor,
    c: ConsultationRecord,
    now: i64,
) -> Result<ConsultationView> {
    let answered = match &actor.user_id {
        Some(u) => consultations::has_answered(db, &c.id, u).await?,
        None => false,
    };
    Ok(ConsultationView {
        state: state_at(c.opens, c.closes, now),
        opens_at: format_ms(c.opens),
        closes_at: format_ms(c.closes),
        id: c.id,
        title: c.title,
        description: c.description,
        area: c.area,
        place: c.place,
        questions: c.questions,
        responses: c.respondents,
        answered,
    })
}

/// One consultation as `actor` sees it (whether they have answered).
pub async fn get(db: &Db, actor: &Actor, id: &str, now: i64) -> Result<ConsultationView> {
    view_of(db, actor, consultations::find(db, id).await?, now).await
}

/// Consultations, newest first (public).
pub async fn list(db: &Db, now: i64) -> Result<Vec<ConsultationView>> {
    let mut out = Vec::new();
    for id in consultations::recent_ids(db).await? {
        out.push(get(db, &Actor::anonymous(), &id, now).await?);
    }
    Ok(out)
}

/// Aggregates the mixed responses. While open, the figures move only by whole batches, so
/// comparing them before and after someone answered tells nothing about them.
pub async fn aggregate(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    id: &str,
    now: i64,
) -> Result<ConsultationResults> {
    let c = consultations::find(db, id).await?;
    let ballot_box = BallotBox::consultation(id);
    if now < c.closes {
        authorize(actor, DELIBERATION_MANAGE, &Target::area(&c.area))?;
    } else {
        ballot_box.settle(db, sealer, true, now).await?;
    }
    let mut all = consultations::responses(db, id).await?;
    // Sorting by content removes the order of arrival, which could link answers to people.
    all.sort_by_key(|v| v.to_string());
    Ok(ConsultationResults {
        id: c.id,
        title: c.title,
        responses: all.len() as i64,
        pending: ballot_box.pending(db).await?,
        batch: ballot_box::batch_size(db).await?,
        questions: count(&c.questions, &all),
        export: all,
    })
}
