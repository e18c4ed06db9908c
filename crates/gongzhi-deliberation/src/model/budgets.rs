//! Micro-project calls' types (民生微实事): the call's closed sets (ballot, rule, completion,
//! phase, a project's status), what the API takes and what it answers.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Event;
use gongzhi_core::attachments::AttachmentRef;

gongzhi_core::closed_set! {
    /// How a ballot is filled in.
    pub enum BallotKind {
        /// Up to `max_approvals` projects.
        Approval = "approval",
        /// Any set of projects within the budget.
        Knapsack = "knapsack",
    }
}

gongzhi_core::closed_set! {
    /// How the winners are computed (`rules::pb`).
    pub enum WinnerRule {
        /// Most votes first, skipping what no longer fits.
        Greedy = "greedy",
        /// The Method of Equal Shares.
        EqualShares = "equal_shares",
    }
}

gongzhi_core::closed_set! {
    /// How Equal Shares spends what its rounds leave.
    pub enum Completion {
        None = "none",
        Greedy = "greedy",
        Add1 = "add1",
        Add1ThenGreedy = "add1_then_greedy",
    }
}

gongzhi_core::closed_set! {
    /// The phase a call is in, by its dates.
    pub enum CallPhase {
        Upcoming = "upcoming",
        Proposing = "proposing",
        Reviewing = "reviewing",
        Voting = "voting",
        Result = "result",
        Implementing = "implementing",
    }
}

gongzhi_core::closed_set! {
    /// A project's review.
    pub enum ProjectStatus {
        Proposed = "proposed",
        Feasible = "feasible",
        Unfeasible = "unfeasible",
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewCall {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Community code.
    pub area: String,
    #[serde(default)]
    pub place: String,
    /// Yuan.
    pub budget: i64,
    pub ballot: BallotKind,
    /// For an approval ballot: how many projects a ballot may approve (≥ 1).
    pub max_approvals: Option<i64>,
    pub rule: WinnerRule,
    /// For equal_shares (default add1_then_greedy).
    pub completion: Option<Completion>,
    /// The phases' dates (RFC 3339), in order.
    pub proposing_from: String,
    pub reviewing_from: String,
    pub voting_from: String,
    pub voting_until: String,
    pub implementing_from: String,
}

impl NewCall {
    /// The completion the call runs with.
    pub fn completion(&self) -> Completion {
        self.completion.unwrap_or(Completion::Add1ThenGreedy)
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallSummary {
    pub id: String,
    pub title: String,
    pub area: String,
    pub place: String,
    pub budget: i64,
    pub ballot: BallotKind,
    pub max_approvals: Option<i64>,
    pub rule: WinnerRule,
    pub completion: Completion,
    pub phase: CallPhase,
    pub proposing_from: String,
    pub reviewing_from: String,
    pub voting_from: String,
    pub voting_until: String,
    pub implementing_from: String,
    /// How many residents have voted.
    pub ballots: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectView {
    pub id: String,
    /// P001…: the project's id in results and in the Pabulib export.
    pub code: String,
    pub title: String,
    pub description: String,
    pub cost_estimate: i64,
    /// The reviewed cost (what counts against the budget).
    pub cost: Option<i64>,
    pub status: ProjectStatus,
    pub review_note: Option<String>,
    pub progress: i64,
    pub photos: Vec<AttachmentRef>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallView {
    #[serde(flatten)]
    pub call: CallSummary,
    pub description: String,
    pub projects: Vec<ProjectView>,
    /// Whether the caller has cast a ballot.
    pub voted: bool,
    pub history: Vec<Event>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewProject {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Yuan.
    pub cost_estimate: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReviewInput {
    pub feasible: bool,
    /// The reviewed cost (default: the estimate).
    pub cost: Option<i64>,
    /// Required when unfeasible: why, in words the proposer can follow.
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BallotInput {
    /// Project ids or codes (P001…).
    pub projects: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResultRow {
    pub code: String,
    pub title: String,
    pub cost: i64,
    pub votes: usize,
    pub won: bool,
    pub reason: String,
    pub reason_zh: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Results {
    pub call: String,
    pub rule: WinnerRule,
    pub completion: Completion,
    pub budget: i64,
    pub spent: i64,
    pub ballots: usize,
    /// Codes in the order they were chosen.
    pub winners: Vec<String>,
    pub projects: Vec<ResultRow>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProgressInput {
    /// 0–100.
    pub progress: i64,
    pub note: Option<String>,
    /// Uploaded photo ids (POST /api/v1/attachments).
    #[serde(default)]
    pub photos: Vec<String>,
}
