//! Casting a ballot in a topic's vote (表决): only while the vote is open, only for residents on
//! its roll, once. A secret ballot goes into the topic's ballot box (`ballot_box`), counted
//! once mixed; an open ballot is stored with its voter.

use serde_json::json;

use crate::ballot_box::BallotBox;
use crate::checks::require_eligible;
use crate::model::topics::{subject, Choice, TopicStatus};
use crate::store::topics;
use gongzhi_core::audit;
use gongzhi_core::db::Db;
use gongzhi_core::identity::Actor;
use gongzhi_core::privacy::Sealer;
use gongzhi_core::time::format_ms;
use gongzhi_core::{Error, Result};

pub async fn cast_vote(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    id: &str,
    choice: Choice,
    now: i64,
) -> Result<()> {
    let t = topics::find(db, id).await?;
    // Who may vote comes first: the state of a vote is for those on its roll.
    let roll = topics::roll_fixed_at(db, &subject(&t.id)).await?;
    let user = require_eligible(db, actor, &t.area, &t.place, roll).await?;
    if t.status != TopicStatus::Voting {
        return Err(Error::refused(
            "wrong_state",
            format!(
                "votes are taken while the topic is voting; it is {}",
                t.status
            ),
        ));
    }
    let rules = t
        .rules
        .as_ref()
        .ok_or_else(|| Error::internal("a voting topic without rules"))?;
    let (opens, closes) = rules.check().map_err(Error::internal)?;
    if now < opens || now >= t.closes_at.unwrap_or(closes) {
        return Err(Error::refused(
            "wrong_state",
            format!(
                "the vote is open from {} until {}",
                format_ms(opens),
                format_ms(closes)
            ),
        ));
    }
    let mut tx = db.begin_write().await?;
    // The key (topic, voter) makes a second or racing ballot fail here, before counting.
    super::once(
        topics::add_voter(&mut tx, &t.id, &user).await,
        "already_voted",
        "you have already voted on this topic",
    )?;
    let ballot_box = BallotBox::topic(&t.id);
    if rules.secret {
        ballot_box
            .drop_in(db, &mut tx, sealer, choice.as_str())
            .await?;
    } else {
        ballot_box.hold_open(db, &mut tx).await?;
        topics::insert_open_ballot(&mut tx, &t.id, choice, &user).await?;
    }
    topics::add_participant(&mut tx, &t.id, &user).await?;
    // The audit entry records that a ballot was cast, never its choice.
    audit::append(
        &mut tx,
        actor,
        "topic.vote",
        &subject(&t.id),
        &json!({"voter": user}),
        None,
    )
    .await?;
    // Mixed once, at the close: no result is shown before it, so nothing is gained by
    // mixing earlier and every ballot hides among all the others.
    tx.commit().await?;
    Ok(())
}
