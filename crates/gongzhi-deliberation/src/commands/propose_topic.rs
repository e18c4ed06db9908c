//! Raising a topic (提出议题): a verified resident for their own place, or staff (grid workers,
//! organizations, the council) in their scope.

use serde_json::json;

use crate::checks::{check_area, require_eligible, signed_in};
use crate::common::add_event;
use crate::model::input::{place, text};
use crate::model::topics::{subject, NewTopic, ProposerKind};
use crate::permissions::TOPIC_PROPOSE;
use crate::rules::places::level_fits;
use crate::store::topics::{self, NewTopicRow};
use gongzhi_core::audit;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Role, Target};
use gongzhi_core::{Error, Result};

/// Raises a topic; returns its id and number.
pub async fn propose_topic(
    db: &Db,
    actor: &Actor,
    input: &NewTopic,
    now: i64,
) -> Result<(String, String)> {
    let title = text("title", &input.title, 100)?;
    let body = text("body", &input.body, 5000)?;
    let area = check_area(db, input.area.trim()).await?;
    let place = place(&input.place)?;
    if !level_fits(input.level, &place) {
        return Err(Error::invalid(
            "invalid_place",
            "a community topic has no place, a compound topic names the compound, a building topic names 小区/楼栋",
        ));
    }
    let user = signed_in(actor, "to raise a topic")?;
    let kind = if authorize(actor, TOPIC_PROPOSE, &Target::area(&area)).is_ok() {
        if actor.has_role(Role::GRID_WORKER) {
            ProposerKind::GridWorker
        } else if actor.has_role(crate::roles::ORGANIZATION) {
            ProposerKind::Organization
        } else {
            ProposerKind::Council
        }
    } else {
        require_eligible(db, actor, &area, &place, None).await?;
        ProposerKind::Resident
    };
    let id = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin_write().await?;
    let number = topics::insert(
        &mut tx,
        &NewTopicRow {
            id: &id,
            title: &title,
            body: &body,
            level: input.level,
            area: &area,
            place: &place,
            proposer: &user,
            proposer_kind: kind,
            at: now,
        },
    )
    .await?;
    topics::add_participant(&mut tx, &id, &user).await?;
    add_event(
        &mut tx,
        &subject(&id),
        now,
        actor,
        "propose",
        None,
        &json!({"kind": kind}),
    )
    .await?;
    audit::append(
        &mut tx,
        actor,
        "topic.propose",
        &subject(&id),
        &json!({"title": title, "area": area, "place": place, "level": input.level}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok((id, number))
}
