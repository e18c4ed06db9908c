//! The topic loop's types (议题): its closed sets, what the API takes and what it answers.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Event;

gongzhi_core::closed_set! {
    /// Where a topic is held.
    pub enum TopicLevel {
        /// 社区议事: the whole community (place empty).
        Community = "community",
        /// 小区议事: one compound (place `小区`).
        Compound = "compound",
        /// 楼栋议事: one building (place `小区/楼栋`).
        Building = "building",
    }
}

gongzhi_core::closed_set! {
    /// Where a topic stands (议题状态).
    pub enum TopicStatus {
        /// Raised, waiting for the council's screening.
        Proposed = "proposed",
        /// Accepted: comments and meetings.
        Deliberating = "deliberating",
        /// A vote with fixed rules is open (or scheduled to open).
        Voting = "voting",
        /// The vote is closed and tallied; the resolution is not yet published.
        Decided = "decided",
        /// 公示: the resolution and tally are published; objections may be raised until a date.
        Published = "published",
        /// The resolution is being carried out.
        Executing = "executing",
        /// Finished: carried out, or the vote failed and its result was published.
        Done = "done",
        /// Folded into another topic.
        Merged = "merged",
        /// Not taken up, with a published reason.
        Declined = "declined",
    }
}

pub const ALL_STATUSES: [TopicStatus; 9] = [
    TopicStatus::Proposed,
    TopicStatus::Deliberating,
    TopicStatus::Voting,
    TopicStatus::Decided,
    TopicStatus::Published,
    TopicStatus::Executing,
    TopicStatus::Done,
    TopicStatus::Merged,
    TopicStatus::Declined,
];

gongzhi_core::closed_set! {
    /// The steps of the loop, each an action at `POST /api/v1/topics/{id}/actions/{action}`.
    pub enum TopicStep {
        Accept = "accept",
        Merge = "merge",
        Decline = "decline",
        ScheduleMeeting = "schedule_meeting",
        SignIn = "sign_in",
        RecordMinutes = "record_minutes",
        OpenVote = "open_vote",
        CloseVote = "close_vote",
        Publish = "publish",
        Object = "object",
        Execute = "execute",
        AddTask = "add_task",
        Progress = "progress",
        Complete = "complete",
    }
}

pub const ALL_STEPS: [TopicStep; 14] = [
    TopicStep::Accept,
    TopicStep::Merge,
    TopicStep::Decline,
    TopicStep::ScheduleMeeting,
    TopicStep::SignIn,
    TopicStep::RecordMinutes,
    TopicStep::OpenVote,
    TopicStep::CloseVote,
    TopicStep::Publish,
    TopicStep::Object,
    TopicStep::Execute,
    TopicStep::AddTask,
    TopicStep::Progress,
    TopicStep::Complete,
];

/// How a topic is named in histories, audit entries and ballot boxes (`topic:ID`).
pub fn subject(id: &str) -> String {
    format!("topic:{id}")
}

/// Who may take a step: the council (and leaders) of the topic's area, or an eligible resident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taker {
    Council,
    Resident,
}

gongzhi_core::closed_set! {
    /// On whose behalf a topic was raised.
    pub enum ProposerKind {
        Resident = "resident",
        GridWorker = "grid_worker",
        Organization = "organization",
        Council = "council",
    }
}

gongzhi_core::closed_set! {
    /// Where a comment stands on the topic.
    pub enum Stance {
        For = "for",
        Against = "against",
        Neutral = "neutral",
    }
}

gongzhi_core::closed_set! {
    /// How a meeting is held.
    pub enum MeetingMode {
        Offline = "offline",
        Online = "online",
    }
}

gongzhi_core::closed_set! {
    /// A ballot in a topic's vote.
    pub enum Choice {
        Yes = "yes",
        No = "no",
        Abstain = "abstain",
    }
}

/// The rules of a vote, fixed before it opens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VoteRules {
    /// The share of eligible residents who must cast a ballot (0–1), e.g. 0.5.
    pub quorum: f64,
    /// The share of ballots cast that must be "yes" for the topic to pass: passes when
    /// yes > pass_threshold × ballots cast (0.5: 过半数).
    pub pass_threshold: f64,
    /// RFC 3339.
    pub opens_at: String,
    pub closes_at: String,
    /// Secret ballot: who voted is kept, what they chose is never linked to them.
    pub secret: bool,
}

impl VoteRules {
    /// The rules' opening and closing times, or why they cannot hold.
    pub fn check(&self) -> Result<(i64, i64), String> {
        if !(self.quorum > 0.0 && self.quorum <= 1.0) {
            return Err(format!("quorum {} must be in (0, 1]", self.quorum));
        }
        if !(self.pass_threshold >= 0.0 && self.pass_threshold < 1.0) {
            return Err(format!(
                "pass_threshold {} must be in [0, 1)",
                self.pass_threshold
            ));
        }
        let opens = gongzhi_core::time::parse_rfc3339(&self.opens_at)
            .ok_or_else(|| format!("opens_at {:?} is not an RFC 3339 time", self.opens_at))?;
        let closes = gongzhi_core::time::parse_rfc3339(&self.closes_at)
            .ok_or_else(|| format!("closes_at {:?} is not an RFC 3339 time", self.closes_at))?;
        if closes <= opens {
            return Err("closes_at must be after opens_at".into());
        }
        Ok((opens, closes))
    }
}

/// A vote's result, computed by the server from the ballots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Tally {
    pub eligible: i64,
    pub yes: i64,
    pub no: i64,
    pub abstain: i64,
    pub cast: i64,
    pub turnout: f64,
    pub quorum_met: bool,
    pub passed: bool,
    /// The outcome in words a resident can check.
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewTopic {
    pub title: String,
    pub body: String,
    pub level: TopicLevel,
    /// Community code.
    pub area: String,
    /// `小区` for a compound, `小区/楼栋` for a building; empty for the community.
    #[serde(default)]
    pub place: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct StepInput {
    /// A note for the history (any step).
    pub note: Option<String>,
    /// merge: the topic (id or number) this one joins.
    pub into: Option<String>,
    /// decline: the published reason.
    pub reason: Option<String>,
    /// schedule_meeting: how; when (RFC 3339); where (address or link).
    pub mode: Option<MeetingMode>,
    pub starts_at: Option<String>,
    pub place: Option<String>,
    /// sign_in, record_minutes: the meeting.
    pub meeting_id: Option<String>,
    pub minutes: Option<String>,
    /// open_vote: the rules, fixed from now on.
    pub rules: Option<VoteRules>,
    /// publish: the resolution (required when the vote passed) and the objection period.
    pub resolution: Option<String>,
    pub objection_days: Option<i64>,
    /// add_task: title, owner (a unit, organization or person's role), optional links.
    pub title: Option<String>,
    pub owner: Option<String>,
    pub case_id: Option<String>,
    pub project_id: Option<String>,
    /// progress: the task and its progress (0–100).
    pub task_id: Option<String>,
    pub progress: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewComment {
    pub stance: Stance,
    pub body: String,
    /// A reply to this comment.
    pub parent_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VoteInput {
    pub choice: Choice,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TopicFilter {
    /// Area code; topics in its subtree.
    pub area: Option<String>,
    pub status: Option<TopicStatus>,
    /// 1-based, 50 a page.
    pub page: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Comment {
    pub id: String,
    pub parent_id: Option<String>,
    pub author: String,
    pub stance: Stance,
    /// Empty when hidden.
    pub body: String,
    pub hidden: bool,
    pub hidden_reason: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Meeting {
    pub id: String,
    pub mode: MeetingMode,
    pub starts_at: String,
    /// Where (an address, or a meeting link).
    pub place: String,
    pub minutes: Option<String>,
    pub attendees: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Task {
    pub id: String,
    pub title: String,
    pub owner: String,
    pub progress: i64,
    pub case_id: Option<String>,
    pub project_id: Option<String>,
    pub note: Option<String>,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TopicView {
    pub id: String,
    pub number: String,
    pub title: String,
    /// Empty when hidden by moderators.
    pub body: String,
    pub level: TopicLevel,
    pub area: String,
    pub place: String,
    pub proposer: String,
    pub proposer_kind: ProposerKind,
    pub status: TopicStatus,
    pub merged_into: Option<String>,
    pub decline_reason: Option<String>,
    pub rules: Option<VoteRules>,
    /// The roll fixed when the vote opened.
    pub eligible: Option<i64>,
    pub tally: Option<Tally>,
    pub resolution: Option<String>,
    pub objection_until: Option<String>,
    pub hidden: bool,
    pub hidden_reason: Option<String>,
    pub version: i64,
    pub created_at: String,
    /// Whether the caller has voted (never what they chose).
    pub voted: bool,
    pub comments: Vec<Comment>,
    pub meetings: Vec<Meeting>,
    pub tasks: Vec<Task>,
    pub history: Vec<Event>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TopicSummary {
    pub id: String,
    pub number: String,
    pub title: String,
    pub level: TopicLevel,
    pub area: String,
    pub place: String,
    pub status: TopicStatus,
    pub created_at: String,
    pub closes_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentCreated {
    pub id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_step_and_status_lists_are_the_closed_sets() {
        assert_eq!(&ALL_STEPS[..], TopicStep::ALL);
        assert_eq!(&ALL_STATUSES[..], TopicStatus::ALL);
    }
}
