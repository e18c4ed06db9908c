//! What every part of deliberation shares with the platform: the history
//! (timeline) of topics, calls, consultations and panels, and notices to participants.

use serde_json::Value;

use gongzhi_core::db::{Db, WriteTx};
use gongzhi_core::identity::Actor;
use gongzhi_core::timeline::{self, Timeline};
use gongzhi_core::Result;

use crate::model::Event;

/// Deliberation's timeline: topics, calls, consultations and panels by subject.
const TIMELINE: Timeline = Timeline {
    table: "delib_events",
    subject_column: "subject",
};

pub async fn add_event(
    tx: &mut WriteTx,
    subject: &str,
    at: i64,
    actor: &Actor,
    step: &str,
    note: Option<&str>,
    data: &Value,
) -> Result<()> {
    timeline::record(
        tx,
        &TIMELINE,
        subject,
        at,
        &public_label(actor),
        step,
        note,
        data,
    )
    .await
}

/// How a history names who acted: staff by their account (they act in office), residents only
/// as "resident" — the audit log keeps who it was.
fn public_label(actor: &Actor) -> String {
    if actor
        .assignments
        .iter()
        .all(|a| a.role == gongzhi_core::identity::Role::RESIDENT)
        && actor.kind == gongzhi_core::identity::ActorKind::User
    {
        "resident".into()
    } else {
        actor.label()
    }
}

pub async fn events(db: &Db, subject: &str) -> Result<Vec<Event>> {
    timeline::read(db, &TIMELINE, subject).await
}

/// Puts the same notice in several users' inboxes, inside the caller's transaction.
pub async fn notify_users(
    db: &Db,
    tx: &mut WriteTx,
    at: i64,
    users: &[String],
    kind: &str,
    title: &str,
    body: &str,
) -> Result<()> {
    for u in users {
        gongzhi_core::notify::post(db, tx, at, &format!("user:{u}"), None, kind, title, body)
            .await?;
    }
    Ok(())
}
