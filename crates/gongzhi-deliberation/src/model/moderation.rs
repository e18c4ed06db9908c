//! Moderation's and the module's settings' types: reports, what they target, the queue.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use gongzhi_core::{Error, Result};

gongzhi_core::closed_set! {
    /// Where a report stands.
    pub enum ReportState {
        /// Waiting for a moderator.
        Open = "open",
        /// The content was hidden.
        Upheld = "upheld",
        /// The content was restored.
        Rejected = "rejected",
    }
}

gongzhi_core::closed_set! {
    /// What can be reported.
    pub enum ContentKind {
        Topic = "topic",
        Comment = "comment",
    }
}

/// Reported content, as `topic:ID` or `comment:ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentTarget {
    pub kind: ContentKind,
    pub id: String,
}

impl ContentTarget {
    pub fn parse(target: &str) -> Result<ContentTarget> {
        let bad = || Error::invalid("invalid_target", "target is topic:ID or comment:ID");
        let (kind, id) = target.split_once(':').ok_or_else(bad)?;
        let kind = ContentKind::parse(kind).ok_or_else(bad)?;
        Ok(ContentTarget {
            kind,
            id: id.to_string(),
        })
    }
    /// How reports name it (`topic:ID`).
    pub fn key(&self) -> String {
        format!("{}:{}", self.kind, self.id)
    }
}

/// Reported content as moderation sees it: its area and whether it is hidden.
#[derive(Debug, Clone)]
pub struct Content {
    pub target: ContentTarget,
    pub area: String,
    pub hidden: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReportInput {
    /// topic:ID or comment:ID.
    pub target: String,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportOutcome {
    pub open_reports: i64,
    /// Whether the content is now hidden.
    pub hidden: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ModerateInput {
    pub target: String,
    /// Shown with the content.
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueItem {
    pub target: String,
    pub open_reports: i64,
    pub reasons: Vec<String>,
    pub hidden: bool,
    pub last_report_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ModerationSettings {
    /// Open reports that hide content automatically (≥ 1).
    pub auto_hide_reports: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BallotSettings {
    /// Consultation answers mixed together at least (`k`) while a consultation is open: a
    /// batch is mixed when `2k` are pooled, the rest at the close. 5–1000.
    pub ballot_batch: i64,
}
