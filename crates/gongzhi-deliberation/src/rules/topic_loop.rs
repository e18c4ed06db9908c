//! The pure rules of the topic loop: which step may follow which, who takes it, and how a vote
//! is decided. Plain functions over plain data, no I/O.

use crate::model::topics::{Taker, Tally, TopicStatus, TopicStep, VoteRules};

impl TopicStep {
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
    use crate::model::topics::{ALL_STATUSES, ALL_STEPS};
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
