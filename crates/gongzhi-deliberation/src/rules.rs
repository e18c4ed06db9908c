//! The pure rules of the topic loop: which step may follow which, who counts as eligible for a
//! place, and how a vote is decided. Plain functions over plain data, no I/O.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a topic stands (议题状态).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TopicStatus {
    /// Raised, waiting for the council's screening.
    Proposed,
    /// Accepted: comments and meetings.
    Deliberating,
    /// A vote with fixed rules is open (or scheduled to open).
    Voting,
    /// The vote is closed and tallied; the resolution is not yet published.
    Decided,
    /// 公示: the resolution and tally are published; objections may be raised until a date.
    Published,
    /// The resolution is being carried out.
    Executing,
    /// Finished: carried out, or the vote failed and its result was published.
    Done,
    /// Folded into another topic.
    Merged,
    /// Not taken up, with a published reason.
    Declined,
}

impl TopicStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TopicStatus::Proposed => "proposed",
            TopicStatus::Deliberating => "deliberating",
            TopicStatus::Voting => "voting",
            TopicStatus::Decided => "decided",
            TopicStatus::Published => "published",
            TopicStatus::Executing => "executing",
            TopicStatus::Done => "done",
            TopicStatus::Merged => "merged",
            TopicStatus::Declined => "declined",
        }
    }
    pub fn parse(s: &str) -> Option<TopicStatus> {
        ALL_STATUSES.into_iter().find(|t| t.as_str() == s)
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

/// The steps of the loop, each an action at `POST /api/v1/topics/{id}/actions/{action}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicStep {
    Accept,
    Merge,
    Decline,
    ScheduleMeeting,
    SignIn,
    RecordMinutes,
    OpenVote,
    CloseVote,
    Publish,
    Object,
    Execute,
    AddTask,
    Progress,
    Complete,
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

/// Who may take a step: the council (and leaders) of the topic's area, or an eligible resident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taker {
    Council,
    Resident,
}

impl TopicStep {
    pub fn as_str(self) -> &'static str {
        match self {
            TopicStep::Accept => "accept",
            TopicStep::Merge => "merge",
            TopicStep::Decline => "decline",
            TopicStep::ScheduleMeeting => "schedule_meeting",
            TopicStep::SignIn => "sign_in",
            TopicStep::RecordMinutes => "record_minutes",
            TopicStep::OpenVote => "open_vote",
            TopicStep::CloseVote => "close_vote",
            TopicStep::Publish => "publish",
            TopicStep::Object => "object",
            TopicStep::Execute => "execute",
            TopicStep::AddTask => "add_task",
            TopicStep::Progress => "progress",
            TopicStep::Complete => "complete",
        }
    }
    pub fn parse(s: &str) -> Option<TopicStep> {
        ALL_STEPS.into_iter().find(|t| t.as_str() == s)
    }
    pub fn taker(self) -> Taker {
        match self {
            TopicStep::SignIn | TopicStep::Object => Taker::Resident,
            _ => Taker::Council,
        }
    }
    /// The states this step may be taken from.
    pub fn from_states(self) -> &'static [TopicStatus] {
        use TopicStatus::*;
        match self {
            TopicStep::Accept | TopicStep::Decline => &[Proposed],
            TopicStep::Merge => &[Proposed, Deliberating],
            TopicStep::ScheduleMeeting
            | TopicStep::SignIn
            | TopicStep::RecordMinutes
            | TopicStep::OpenVote => &[Deliberating],
            TopicStep::CloseVote => &[Voting],
            TopicStep::Publish => &[Decided],
            TopicStep::Object | TopicStep::Execute => &[Published],
            TopicStep::AddTask | TopicStep::Progress => &[Published, Executing],
            TopicStep::Complete => &[Executing],
        }
    }
}

/// The state after `step` from `from`, or why not. `passed` is the vote's outcome (for publish).
pub fn next(from: TopicStatus, step: TopicStep, passed: bool) -> Result<TopicStatus, String> {
    if !step.from_states().contains(&from) {
        let allowed: Vec<&str> = step.from_states().iter().map(|s| s.as_str()).collect();
        return Err(format!(
            "{} is not allowed while the topic is {} (only when {})",
            step.as_str(),
            from.as_str(),
            allowed.join(" or ")
        ));
    }
    use TopicStatus::*;
    Ok(match step {
        TopicStep::Accept => Deliberating,
        TopicStep::Merge => Merged,
        TopicStep::Decline => Declined,
        TopicStep::OpenVote => Voting,
        TopicStep::CloseVote => Decided,
        // A failed vote ends with its published result; a passed one waits out objections.
        TopicStep::Publish => {
            if passed {
                Published
            } else {
                Done
            }
        }
        TopicStep::Execute => Executing,
        TopicStep::Complete => Done,
        TopicStep::ScheduleMeeting
        | TopicStep::SignIn
        | TopicStep::RecordMinutes
        | TopicStep::Object
        | TopicStep::AddTask
        | TopicStep::Progress => from,
    })
}

/// Is someone verified for (`v_area`, `v_place`) eligible where a topic, vote or consultation is
/// held for (`area`, `place`)? Area codes are hierarchical (a grid's code starts with its
/// community's); places are paths inside the area, `小区/楼栋`: a resident of building 3 of a
/// compound is eligible for the compound's and the building's matters, not another building's.
pub fn eligible(v_area: &str, v_place: &str, area: &str, place: &str) -> bool {
    let area_ok = v_area.starts_with(area);
    let place_ok = place.is_empty()
        || v_place == place
        || (v_place.starts_with(place) && v_place[place.len()..].starts_with('/'));
    area_ok && place_ok
}

/// A place path as given: trimmed segments joined by `/`, empty segments refused.
pub fn normalize_place(place: &str) -> Result<String, String> {
    let place = place.trim();
    if place.is_empty() {
        return Ok(String::new());
    }
    let parts: Vec<&str> = place.split('/').map(str::trim).collect();
    if parts.iter().any(|p| p.is_empty()) || parts.len() > 3 || place.chars().count() > 100 {
        return Err(format!(
            "place {place:?} must be up to three non-empty names separated by '/' (小区/楼栋/单元)"
        ));
    }
    Ok(parts.join("/"))
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

/// Decides a vote. Quorum: cast ≥ quorum × eligible; pass: yes > pass_threshold × cast. Both
/// compared in exact integer arithmetic on the shares scaled to 1e-6.
pub fn tally(rules: &VoteRules, eligible: i64, yes: i64, no: i64, abstain: i64) -> Tally {
    let cast = yes + no + abstain;
    let scale = 1_000_000i128;
    let q = (rules.quorum * scale as f64).round() as i128;
    let p = (rules.pass_threshold * scale as f64).round() as i128;
    let quorum_met = eligible > 0 && (cast as i128) * scale >= q * eligible as i128;
    let majority = (yes as i128) * scale > p * cast as i128;
    let passed = quorum_met && majority;
    let reason = if !quorum_met {
        format!(
            "not passed: {cast} of {eligible} eligible voted, below the quorum of {:.0}%",
            rules.quorum * 100.0
        )
    } else if passed {
        format!(
            "passed: {yes} of {cast} ballots are yes, more than {:.0}%",
            rules.pass_threshold * 100.0
        )
    } else {
        format!(
            "not passed: {yes} of {cast} ballots are yes, not more than {:.0}%",
            rules.pass_threshold * 100.0
        )
    };
    Tally {
        eligible,
        yes,
        no,
        abstain,
        cast,
        turnout: if eligible > 0 {
            cast as f64 / eligible as f64
        } else {
            0.0
        },
        quorum_met,
        passed,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rules(quorum: f64, pass: f64) -> VoteRules {
        VoteRules {
            quorum,
            pass_threshold: pass,
            opens_at: "2026-12-01T09:00:00+08:00".into(),
            closes_at: "2026-12-08T09:00:00+08:00".into(),
            secret: true,
        }
    }

    #[test]
    fn a_tie_does_not_pass_a_majority_vote_and_quorum_counts_abstentions() {
        let r = rules(0.5, 0.5);
        assert!(!tally(&r, 10, 3, 3, 0).passed);
        assert!(tally(&r, 10, 3, 2, 0).passed);
        // 5 of 10 voted: quorum met exactly (以上 includes the number itself).
        assert!(tally(&r, 10, 3, 0, 2).quorum_met);
        assert!(!tally(&r, 10, 3, 0, 1).quorum_met);
        assert!(!tally(&r, 0, 0, 0, 0).passed);
    }

    #[test]
    fn places_nest_by_whole_names() {
        assert!(eligible(
            "110101001001",
            "和平小区/3号楼",
            "110101001001",
            "和平小区"
        ));
        assert!(eligible("110101001001", "和平小区/3号楼", "110101001", ""));
        assert!(!eligible(
            "110101001001",
            "和平小区/3号楼",
            "110101001001",
            "和平小区/3"
        ));
        assert!(!eligible(
            "110101001001",
            "和平小区",
            "110101001001",
            "和平小区/3号楼"
        ));
        assert!(!eligible("110101001002", "和平小区", "110101001001", ""));
        assert_eq!(
            normalize_place(" 和平小区 / 3号楼 ").unwrap(),
            "和平小区/3号楼"
        );
        assert!(normalize_place("a//b").is_err());
    }

    proptest! {
        #[test]
        fn tally_follows_its_definition(eligible in 0i64..500, yes in 0i64..200, no in 0i64..200, abstain in 0i64..200,
                                        q in 1u32..=100, p in 0u32..100) {
            let r = rules(q as f64 / 100.0, p as f64 / 100.0);
            let t = tally(&r, eligible, yes, no, abstain);
            let cast = yes + no + abstain;
            prop_assert_eq!(t.cast, cast);
            prop_assert_eq!(t.quorum_met, eligible > 0 && cast * 100 >= q as i64 * eligible);
            prop_assert_eq!(t.passed, t.quorum_met && yes * 100 > p as i64 * cast);
            // One more yes never turns a pass into a failure.
            let more = tally(&r, eligible.max(cast + 1), yes + 1, no, abstain);
            if t.passed && eligible > cast { prop_assert!(more.passed); }
        }

        #[test]
        fn every_step_either_moves_by_the_table_or_is_refused(from in 0usize..9, step in 0usize..14, passed: bool) {
            let from = ALL_STATUSES[from];
            let step = ALL_STEPS[step];
            match next(from, step, passed) {
                Ok(_) => prop_assert!(step.from_states().contains(&from)),
                Err(_) => prop_assert!(!step.from_states().contains(&from)),
            }
            // Ended topics take no step at all.
            if matches!(from, TopicStatus::Done | TopicStatus::Merged | TopicStatus::Declined) {
                prop_assert!(next(from, step, passed).is_err());
            }
        }
    }
}
