//! Commenting on a topic (for, against, neutral), or replying to a comment: while it is
//! deliberated or voted, by residents of its place and staff in its scope.

use serde_json::json;

use crate::checks::{is_steward, require_eligible, signed_in};
use crate::model::input::text;
use crate::model::topics::{NewComment, TopicStatus};
use crate::permissions::TOPIC_PROPOSE;
use crate::store::topics::{self, NewCommentRow};
use gongzhi_core::audit;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, masked_name, Actor, Target};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::{Error, Result};

/// Adds the comment; returns its id.
pub async fn comment_on_topic(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    id: &str,
    input: &NewComment,
    now: i64,
) -> Result<String> {
    let t = topics::find(db, id).await?;
    let user = if is_steward(actor, &t.area)
        || authorize(actor, TOPIC_PROPOSE, &Target::area(&t.area)).is_ok()
    {
        signed_in(actor, "to comment")?
    } else {
        require_eligible(db, actor, &t.area, &t.place, None).await?
    };
    if !matches!(t.status, TopicStatus::Deliberating | TopicStatus::Voting) {
        return Err(Error::refused(
            "wrong_state",
            format!(
                "comments are taken while the topic is deliberated or voted; it is {}",
                t.status
            ),
        ));
    }
    let body = text("body", &input.body, 2000)?;
    if let Some(p) = &input.parent_id {
        if !topics::comment_exists(db, &t.id, p).await? {
            return Err(Error::invalid(
                "unknown_parent",
                "no such comment on this topic",
            ));
        }
    }
    let label = masked_name(db, sealer, &user).await?;
    let cid = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin_write().await?;
    topics::insert_comment(
        &mut tx,
        &NewCommentRow {
            id: &cid,
            topic: &t.id,
            parent: input.parent_id.as_deref(),
            author: &user,
            author_label: &label,
            stance: input.stance,
            body: &body,
            at: now,
        },
    )
    .await?;
    topics::add_participant(&mut tx, &t.id, &user).await?;
    audit::append(
        &mut tx,
        actor,
        "topic.comment",
        &format!("comment:{cid}"),
        &json!({"topic": t.id, "stance": input.stance}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(cid)
}
