//! Reading topics: one with everything on it, or a page of them.

use crate::checks::is_steward;
use crate::common;
use crate::model::topics::{subject, TopicFilter, TopicSummary, TopicView};
use crate::permissions::MODERATE;
use crate::store::topics;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, masked_name, Actor, Target};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::time::format_ms;
use gongzhi_core::{Error, Result};

/// One topic (by id or number) with its comments, meetings, vote, tasks and history, as
/// `actor` may see it: hidden text only for moderators and the council.
pub async fn view(db: &Db, sealer: &Sealer, actor: &Actor, id: &str) -> Result<TopicView> {
    let t = topics::find(db, id).await?;
    let show_hidden =
        authorize(actor, MODERATE, &Target::area(&t.area)).is_ok() || is_steward(actor, &t.area);
    let mut comments = topics::comments(db, &t.id).await?;
    for c in &mut comments {
        if c.hidden && !show_hidden {
            c.body.clear();
        }
    }
    let voted = match &actor.user_id {
        Some(u) => topics::has_voted(db, &t.id, u).await?,
        None => false,
    };
    Ok(TopicView {
        proposer: masked_name(db, sealer, &t.proposer).await?,
        meetings: topics::meetings(db, &t.id).await?,
        tasks: topics::tasks(db, &t.id).await?,
        history: common::events(db, &subject(&t.id)).await?,
        body: if t.hidden && !show_hidden {
            String::new()
        } else {
            t.body
        },
        objection_until: t.objection_until.map(format_ms),
        created_at: format_ms(t.created_at),
        id: t.id,
        number: t.number,
        title: t.title,
        level: t.level,
        area: t.area,
        place: t.place,
        proposer_kind: t.proposer_kind,
        status: t.status,
        merged_into: t.merged_into,
        decline_reason: t.decline_reason,
        rules: t.rules,
        eligible: t.eligible,
        tally: t.tally,
        resolution: t.resolution,
        hidden: t.hidden,
        hidden_reason: t.hidden_reason,
        version: t.version,
        voted,
        comments,
    })
}

/// Topics, newest first, 50 a page (public: 公开).
pub async fn list(db: &Db, f: &TopicFilter) -> Result<Vec<TopicSummary>> {
    let page = f.page.unwrap_or(1);
    if !(1..=100_000).contains(&page) {
        return Err(Error::invalid("invalid_page", "page is 1–100000"));
    }
    topics::list(db, f.area.as_deref().unwrap_or(""), f.status, page).await
}
