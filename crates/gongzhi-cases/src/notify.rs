//! Notifications: units and people hear about what is theirs. An in-app inbox for everyone, and
//! a webhook for an SMS gateway (delivered by the job runner, retried until it succeeds) to
//! reach reporters who are not users. Recipients are `user:ID`, `unit:CODE` (its handlers) or
//! `leaders:CODE` (leaders scoped to that area or unit).

use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use utoipa::ToSchema;

use gongzhi_core::db::{opt_text, Db, WriteTx};
use gongzhi_core::identity::{Actor, Role};
use gongzhi_core::time::format_ms;
use gongzhi_core::Result;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Notification {
    pub id: String,
    pub case_id: Option<String>,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub created_at: String,
    pub read: bool,
}

/// Puts a notification in an inbox inside the caller's transaction.
pub async fn post(
    tx: &mut WriteTx,
    at: i64,
    recipient: &str,
    case_id: Option<&str>,
    kind: &str,
    title: &str,
    body: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO notifications (id, recipient, case_id, kind, title, body, created_at, read_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)")
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(recipient)
        .bind(case_id)
        .bind(kind)
        .bind(title)
        .bind(body)
        .bind(at)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Queues an SMS to the case's reporter through the webhook (the phone is read, decrypted, only
/// when the message is sent).
pub async fn queue_sms(tx: &mut WriteTx, at: i64, case_id: &str, text: &str) -> Result<()> {
    crate::jobs::schedule(tx, "sms", Some(case_id), at, &json!({"text": text})).await
}

/// The inboxes an actor reads: their own, their units', and as a leader their scopes'.
fn inboxes(actor: &Actor) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(id) = &actor.user_id {
        out.push(format!("user:{id}"));
    }
    for a in &actor.assignments {
        if let Some(u) = &a.unit {
            out.push(format!("unit:{u}"));
        }
        if a.role == Role::Leader {
            for scope in [&a.area, &a.unit].into_iter().flatten() {
                out.push(format!("leaders:{scope}"));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

pub async fn for_actor(db: &Db, actor: &Actor, limit: i64) -> Result<Vec<Notification>> {
    let boxes = inboxes(actor);
    if boxes.is_empty() {
        return Ok(vec![]);
    }
    let placeholders: Vec<String> = (1..=boxes.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT id, case_id, kind, title, body, created_at, read_at FROM notifications WHERE recipient IN ({}) ORDER BY created_at DESC, id LIMIT {}",
        placeholders.join(", "),
        limit.clamp(1, 500)
    );
    let mut q = sqlx::query(&sql);
    for b in &boxes {
        q = q.bind(b);
    }
    let rows = q.fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok(Notification {
                id: r.try_get("id")?,
                case_id: opt_text(r, "case_id")?,
                kind: r.try_get("kind")?,
                title: r.try_get("title")?,
                body: r.try_get("body")?,
                created_at: format_ms(r.try_get("created_at")?),
                read: r.try_get::<Option<i64>, _>("read_at")?.is_some(),
            })
        })
        .collect()
}
