//! The inboxes' notices, and the addresses mail goes to.

use super::Notification;
use crate::db::query;
use crate::db::{opt_text, Db, Migration, WriteTx};
use crate::time::format_ms;
use crate::Result;

/// Notifications moved from the cases module into the core. A database made before has the
/// cases module's table (`cases-0002`) with its rows, and keeps them.
pub const MIGRATION: Migration = Migration {
    id: "core-0008-notifications",
    sql: "CREATE TABLE IF NOT EXISTS notifications (
    id TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    case_id TEXT,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX IF NOT EXISTS notifications_recipient ON notifications (recipient, created_at)",
};

/// A notice names the record it is about by a subject reference (`case:ID`), like jobs and
/// the audit, instead of a case id: any module's records can be the subject.
pub const SUBJECT_MIGRATION: Migration = Migration {
    id: "core-0009-notification-subject",
    sql: "ALTER TABLE notifications ADD COLUMN subject TEXT;
UPDATE notifications SET subject = 'case:' || case_id WHERE case_id IS NOT NULL;
ALTER TABLE notifications DROP COLUMN case_id",
};

pub(super) async fn insert(
    tx: &mut WriteTx,
    at: i64,
    recipient: &str,
    subject: Option<&str>,
    kind: &str,
    title: &str,
    body: &str,
) -> Result<()> {
    query("INSERT INTO notifications (id, recipient, subject, kind, title, body, created_at, read_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)")
        .bind(crate::db::new_id())
        .bind(recipient)
        .bind(subject)
        .bind(kind)
        .bind(title)
        .bind(body)
        .bind(at)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The enabled users behind an inbox who have an email address on record.
pub(super) async fn with_email(tx: &mut WriteTx, recipient: &str) -> Result<Vec<String>> {
    let (sql, key) = match recipient.split_once(':') {
        Some(("user", id)) => (
            "SELECT id FROM users WHERE id = $1 AND email IS NOT NULL AND disabled = 0",
            id,
        ),
        Some(("unit", code)) => (
            "SELECT DISTINCT u.id FROM users u JOIN role_assignments a ON a.user_id = u.id \
             WHERE a.unit_code = $1 AND u.email IS NOT NULL AND u.disabled = 0 ORDER BY u.id",
            code,
        ),
        Some(("leaders", code)) => (
            "SELECT DISTINCT u.id FROM users u JOIN role_assignments a ON a.user_id = u.id \
             WHERE a.role = 'leader' AND (a.area_code = $1 OR a.unit_code = $1) \
             AND u.email IS NOT NULL AND u.disabled = 0 ORDER BY u.id",
            code,
        ),
        _ => return Ok(vec![]),
    };
    let rows = query(sql).bind(key).fetch_all(tx.conn()).await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>(0)?))
        .collect()
}

/// An enabled user's sealed email address, if on record.
pub(super) async fn email_of(db: &Db, user: &str) -> Result<Option<String>> {
    Ok(
        query("SELECT email FROM users WHERE id = $1 AND disabled = 0")
            .bind(user)
            .fetch_optional(db.pool())
            .await?
            .map(|r| opt_text(&r, "email"))
            .transpose()?
            .flatten(),
    )
}

/// The newest `limit` notices in any of `boxes` (not empty).
pub(super) async fn in_inboxes(db: &Db, boxes: &[String], limit: i64) -> Result<Vec<Notification>> {
    let sql = format!(
        "SELECT id, subject, kind, title, body, created_at, read_at FROM notifications WHERE recipient IN ({}) ORDER BY created_at DESC, id LIMIT {limit}",
        crate::db::placeholders(1, boxes.len()),
    );
    let mut q = query(&sql);
    for b in boxes {
        q = q.bind(b);
    }
    let rows = q.fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok(Notification {
                id: r.try_get("id")?,
                subject: opt_text(r, "subject")?,
                kind: r.try_get("kind")?,
                title: r.try_get("title")?,
                body: r.try_get("body")?,
                created_at: format_ms(r.try_get("created_at")?),
                read: r.try_get::<Option<i64>, _>("read_at")?.is_some(),
            })
        })
        .collect()
}
