//! Opening a consultation (专项征询) for the verified residents of a place: its questions and
//! the times it takes answers.

use crate::checks::check_area;
use crate::model::consultations::NewConsultation;
use crate::model::input::{place, text, time};
use crate::permissions::DELIBERATION_MANAGE;
use crate::rules::questions::check_questions;
use crate::store::consultations::{self, NewConsultationRow};
use gongzhi_core::audit;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::{Error, Result};

/// Opens the consultation; returns its id.
pub async fn open_consultation(db: &Db, actor: &Actor, c: &NewConsultation) -> Result<String> {
    let area = check_area(db, c.area.trim()).await?;
    authorize(actor, DELIBERATION_MANAGE, &Target::area(&area))?;
    let place = place(&c.place)?;
    let title = text("title", &c.title, 100)?;
    let (opens, closes) = (
        time("opens_at", &c.opens_at)?,
        time("closes_at", &c.closes_at)?,
    );
    if closes <= opens {
        return Err(Error::invalid(
            "invalid_period",
            "closes_at must be after opens_at",
        ));
    }
    check_questions(&c.questions)?;
    let id = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin_write().await?;
    consultations::insert(
        &mut tx,
        &NewConsultationRow {
            id: &id,
            input: c,
            title: &title,
            area: &area,
            place: &place,
            opens,
            closes,
            created_by: &actor.label(),
            at: gongzhi_core::time::now_ms(),
        },
    )
    .await?;
    audit::append(
        &mut tx,
        actor,
        "consultation.create",
        &format!("consultation:{id}"),
        &serde_json::to_value(c).map_err(Error::internal)?,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}
