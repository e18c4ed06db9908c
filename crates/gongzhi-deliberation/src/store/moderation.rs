//! Moderation in storage: reports, and the hidden flag of topics and comments (portable SQL).

use crate::model::moderation::{Content, ContentKind, ContentTarget, ReportState};
use gongzhi_core::db::query;
use gongzhi_core::db::{Db, WriteTx};
use gongzhi_core::{Error, Result};

/// The reported content with its area (a comment's is its topic's).
pub async fn content(db: &Db, target: &ContentTarget) -> Result<Content> {
    let sql = match target.kind {
        ContentKind::Topic => "SELECT area_code, hidden FROM topics WHERE id = $1",
        ContentKind::Comment => "SELECT t.area_code, c.hidden FROM topic_comments c JOIN topics t ON t.id = c.topic_id WHERE c.id = $1",
    };
    let r = query(sql)
        .bind(&target.id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::not_found(target.kind.as_str()))?;
    Ok(Content {
        target: target.clone(),
        area: r.try_get(0)?,
        hidden: r.try_get::<i64, _>(1)? != 0,
    })
}

/// Hides content with a reason shown in its place, or shows it again.
pub async fn set_hidden(tx: &mut WriteTx, c: &Content, hidden: bool, reason: &str) -> Result<()> {
    let table = match c.target.kind {
        ContentKind::Topic => "topics",
        ContentKind::Comment => "topic_comments",
    };
    query(&format!(
        "UPDATE {table} SET hidden = $1, hidden_reason = $2 WHERE id = $3"
    ))
    .bind(hidden as i64)
    .bind(hidden.then_some(reason))
    .bind(&c.target.id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Stores an open report; a second one by the same person fails on the key (the caller says so).
pub async fn insert_report(
    tx: &mut WriteTx,
    target: &str,
    reporter: &str,
    reason: &str,
    at: i64,
) -> Result<()> {
    query("INSERT INTO content_reports (id, target, reporter_id, reason, state, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(target)
        .bind(reporter)
        .bind(reason)
        .bind(ReportState::Open.as_str())
        .bind(at)
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub async fn open_report_count(tx: &mut WriteTx, target: &str) -> Result<i64> {
    Ok(
        query("SELECT COUNT(*) FROM content_reports WHERE target = $1 AND state = $2")
            .bind(target)
            .bind(ReportState::Open.as_str())
            .fetch_one(tx.conn())
            .await?
            .try_get(0)?,
    )
}

/// Closes the target's open reports as upheld or rejected.
pub async fn settle_reports(tx: &mut WriteTx, target: &str, state: ReportState) -> Result<()> {
    query("UPDATE content_reports SET state = $1 WHERE target = $2 AND state = $3")
        .bind(state.as_str())
        .bind(target)
        .bind(ReportState::Open.as_str())
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// One open report: its target, reason and time.
pub struct OpenReport {
    pub target: String,
    pub reason: String,
    pub at: i64,
}

/// Every open report, by target and time.
pub async fn open_reports(db: &Db) -> Result<Vec<OpenReport>> {
    let rows = query("SELECT target, reason, created_at FROM content_reports WHERE state = $1 ORDER BY target, created_at")
        .bind(ReportState::Open.as_str())
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(OpenReport {
                target: r.try_get(0)?,
                reason: r.try_get(1)?,
                at: r.try_get(2)?,
            })
        })
        .collect()
}
