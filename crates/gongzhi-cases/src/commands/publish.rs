//! Reviewing a case's publication (三公开 through Open311): publish or withdraw, redact,
//! approve the address and photos.

use serde_json::json;

use crate::model::publicity::{Publication, PublicationInput};
use crate::permissions::CASE_PUBLISH;
use crate::queries::publicity::{may_publish, publish_target};
use crate::rules::publicity::public_photo;
use crate::store::publicity::{self, Decision};
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::time::{format_ms, now_ms};
use gongzhi_core::{audit, Error, Result};

async fn is_reporter(db: &Db, actor: &Actor, case_id: &str) -> Result<bool> {
    let Some(me) = &actor.user_id else {
        return Ok(false);
    };
    Ok(publicity::reporter_of(db, case_id).await?.as_ref() == Some(me))
}

/// Staff's review: publish or withdraw, redact, approve the address and photos; audited, and
/// noted on the case's timeline so the reporter sees it. The reporter may withdraw their case
/// (consent can be taken back, PIPL art. 15), never publish it or approve anything. A case the
/// actor cannot read is not found; one they read but may not publish is forbidden.
pub async fn set_publication(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    id: &str,
    input: &PublicationInput,
) -> Result<Publication> {
    let case = crate::queries::case::get(db, sealer, actor, id, false).await?;
    let grid = case.grid.as_ref().map(|g| g.code.as_str());
    let withdrawal = !input.public
        && input.public_description.is_none()
        && !input.address_public
        && input.photos_public.is_empty();
    let by_reporter =
        withdrawal && !may_publish(actor, grid) && is_reporter(db, actor, &case.id).await?;
    if !by_reporter {
        authorize(actor, CASE_PUBLISH, &publish_target(grid))?;
    }
    let chosen_by = if by_reporter { "reporter" } else { "staff" };
    let redacted = match input.public_description.as_deref().map(str::trim) {
        None => None,
        Some(t) if t == case.description.trim() => None,
        Some(t) if t.is_empty() || t.chars().count() > 4000 => {
            return Err(Error::invalid(
                "invalid_public_description",
                "the public description is 1–4000 characters",
            ))
        }
        Some(t) => Some(t.to_string()),
    };
    let mut photos: Vec<String> = Vec::new();
    for p in &input.photos_public {
        if !case.photos.iter().any(|x| &x.id == p) {
            return Err(Error::invalid(
                "unknown_photo",
                format!("photo {p} is not one of this case's"),
            ));
        }
        if !photos.contains(p) {
            photos.push(p.clone());
        }
    }
    // A photo whose metadata cannot be stripped is not published at all.
    for p in &photos {
        let (ct, _, _, bytes) = gongzhi_core::attachments::read(db, p).await?;
        if public_photo(&ct, bytes).is_err() {
            return Err(Error::invalid(
                "unpublishable_photo",
                format!("photo {p} is damaged: its metadata cannot be removed"),
            ));
        }
    }
    let now = now_ms();
    let by = actor.label();
    let mut tx = db.begin_write().await?;
    publicity::decide(
        &mut tx,
        &Decision {
            case_id: &case.id,
            public: input.public,
            chosen_by,
            public_description: redacted.as_deref(),
            address_public: input.address_public,
            photos: &photos,
            by: &by,
            at: now,
        },
    )
    .await?;
    let change = json!({
        "public": input.public, "public_description": redacted,
        "address_public": input.address_public, "photos_public": photos,
    });
    crate::store::cases::add_event(
        &mut tx,
        &case.id,
        now,
        actor,
        if input.public { "made_public" } else { "made_private" },
        None,
        &json!({"address_public": input.address_public, "photos_public": photos.len(), "redacted": redacted.is_some()}),
    )
    .await?;
    audit::append(
        &mut tx,
        actor,
        "case.publication",
        &format!("case:{}", case.id),
        &change,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Publication {
        public: input.public,
        chosen_by: Some(chosen_by.into()),
        public_description: redacted,
        address_public: input.address_public,
        photos_public: photos,
        decided_by: Some(by),
        decided_at: Some(format_ms(now)),
    })
}
