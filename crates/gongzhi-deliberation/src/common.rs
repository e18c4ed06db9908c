//! What every part of deliberation shares with the platform: the history
//! (timeline) of topics, calls, consultations and panels, and notices to participants.

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use utoipa::ToSchema;

use gongzhi_core::db::{opt_text, Db, WriteTx};
use gongzhi_core::identity::Actor;
use gongzhi_core::time::format_ms;
use gongzhi_core::Result;

/// One step in the history of a topic, call, consultation or panel.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    pub at: String,
    pub actor: String,
    pub step: String,
    pub note: Option<String>,
    #[schema(value_type = Object)]
    pub data: Value,
}

pub async fn add_event(
    tx: &mut WriteTx,
    subject: &str,
    at: i64,
    actor: &Actor,
    step: &str,
    note: Option<&str>,
    data: &Value,
) -> Result<()> {
    sqlx::query("INSERT INTO delib_events (id, subject, at, actor, step, note, data) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(subject)
        .bind(at)
        .bind(public_label(actor))
        .bind(step)
        .bind(note)
        .bind(data.to_string())
        .execute(tx.conn())
        .await?;
    Ok(())
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
    let rows = sqlx::query(
        "SELECT at, actor, step, note, data FROM delib_events WHERE subject = $1 ORDER BY at, id",
    )
    .bind(subject)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Event {
                at: format_ms(r.try_get("at")?),
                actor: r.try_get("actor")?,
                step: r.try_get("step")?,
                note: opt_text(r, "note")?,
                data: serde_json::from_str(&r.try_get::<String, _>("data")?).unwrap_or(Value::Null),
            })
        })
        .collect()
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
        gongzhi_cases::notify::post(db, tx, at, &format!("user:{u}"), None, kind, title, body)
            .await?;
    }
    Ok(())
}
