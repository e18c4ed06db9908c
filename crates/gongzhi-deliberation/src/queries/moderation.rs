//! Reading moderation: the queue of reported content, and the auto-hide threshold.

use crate::model::moderation::{ContentTarget, QueueItem};
use crate::permissions::MODERATE;
use crate::store::{moderation, settings};
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::time::format_ms;
use gongzhi_core::Result;

/// The setting that holds how many open reports hide content.
pub const AUTO_HIDE_SETTING: &str = "auto_hide_reports";

/// Open reports that hide content automatically (default 3).
pub async fn threshold(db: &Db) -> Result<i64> {
    Ok(settings::get(db, AUTO_HIDE_SETTING)
        .await?
        .map_or(3, |v| v.parse().unwrap_or(3)))
}

/// Content with open reports in an area's subtree, one item per target (moderators).
pub async fn open_reports(db: &Db, actor: &Actor, area: &str) -> Result<Vec<QueueItem>> {
    authorize(actor, MODERATE, &Target::area(area))?;
    let mut out: Vec<QueueItem> = Vec::new();
    let mut skipped: Option<String> = None;
    for r in moderation::open_reports(db).await? {
        if skipped.as_deref() == Some(r.target.as_str()) {
            continue;
        }
        match out.last_mut() {
            Some(item) if item.target == r.target => {
                item.open_reports += 1;
                item.reasons.push(r.reason);
                item.last_report_at = format_ms(r.at);
            }
            _ => {
                let content = match ContentTarget::parse(&r.target) {
                    Ok(t) => moderation::content(db, &t).await,
                    Err(e) => Err(e),
                };
                match content {
                    Ok(c) if c.area.starts_with(area) => out.push(QueueItem {
                        target: r.target,
                        open_reports: 1,
                        reasons: vec![r.reason],
                        hidden: c.hidden,
                        last_report_at: format_ms(r.at),
                    }),
                    _ => skipped = Some(r.target),
                }
            }
        }
    }
    Ok(out)
}
