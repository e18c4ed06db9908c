//! The pure rules of a micro-project call: its phase by its dates, the winner rule it names,
//! and what a ballot may hold. No I/O.

use crate::model::budgets::{
    CallPhase, CallSummary, Completion, ProjectStatus, ProjectView, WinnerRule,
};
use crate::rules::pb::Rule;
use gongzhi_core::{Error, Result};

/// The phase a call is in at `now`, by its dates (proposing, reviewing, voting, voting_until,
/// implementing).
pub fn phase_at(dates: [i64; 5], now: i64) -> CallPhase {
    const PHASES: [CallPhase; 5] = [
        CallPhase::Proposing,
        CallPhase::Reviewing,
        CallPhase::Voting,
        CallPhase::Result,
        CallPhase::Implementing,
    ];
    let mut phase = CallPhase::Upcoming;
    for (d, p) in dates.iter().zip(PHASES) {
        if now >= *d {
            phase = p;
        }
    }
    phase
}

/// Ok while the call is in one of the `allowed` phases; else `wrong_state`, naming them.
pub fn in_phase(call: &CallSummary, allowed: &[CallPhase], what: &str) -> Result<()> {
    if allowed.contains(&call.phase) {
        return Ok(());
    }
    let names: Vec<&str> = allowed.iter().map(|p| p.as_str()).collect();
    Err(Error::refused(
        "wrong_state",
        format!(
            "{what} is possible while the call is {}; it is {}",
            names.join(" or "),
            call.phase
        ),
    ))
}

/// Whether the phases' dates are strictly in order.
pub fn dates_in_order(dates: &[i64; 5]) -> bool {
    dates.windows(2).all(|w| w[0] < w[1])
}

/// The rule `pb::winners` computes with.
pub fn winner_rule(rule: WinnerRule, completion: Completion) -> Rule {
    match rule {
        WinnerRule::Greedy => Rule::Greedy,
        WinnerRule::EqualShares => Rule::EqualShares { completion },
    }
}

/// The projects a ballot approves (named by id or code), or why it breaks the call's rules:
/// feasible projects only, each once, at least one, at most `max_approvals` (an approval
/// ballot) or within the budget (a knapsack ballot).
pub fn check_ballot<'a>(
    projects: &'a [ProjectView],
    wanted: &[String],
    budget: i64,
    max_approvals: Option<i64>,
) -> Result<Vec<&'a ProjectView>> {
    let bad = |m: String| Error::invalid("invalid_ballot", m);
    let mut chosen: Vec<&ProjectView> = Vec::new();
    for want in wanted {
        let p = projects
            .iter()
            .find(|p| &p.id == want || &p.code == want)
            .ok_or_else(|| bad(format!("no project {want:?} in this call")))?;
        if p.status != ProjectStatus::Feasible {
            return Err(bad(format!(
                "{} is not on the ballot (it was not found feasible)",
                p.code
            )));
        }
        if chosen.iter().any(|q| q.id == p.id) {
            return Err(bad(format!("{} is listed twice", p.code)));
        }
        chosen.push(p);
    }
    if chosen.is_empty() {
        return Err(bad("a ballot approves at least one project".into()));
    }
    if let Some(max) = max_approvals {
        if chosen.len() as i64 > max {
            return Err(bad(format!("approve at most {max} projects")));
        }
    } else {
        // In i128: reviewed costs are each within an i64 budget, their sum may not be.
        let total: i128 = chosen.iter().map(|p| p.cost.unwrap_or(0) as i128).sum();
        if total > budget as i128 {
            return Err(bad(format!(
                "the chosen projects cost {total}, more than the budget {budget}"
            )));
        }
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn project(code: &str, cost: i64, status: ProjectStatus) -> ProjectView {
        ProjectView {
            id: format!("id-{code}"),
            code: code.into(),
            title: code.into(),
            description: String::new(),
            cost_estimate: cost,
            cost: Some(cost),
            status,
            review_note: None,
            progress: 0,
            photos: vec![],
        }
    }

    #[test]
    fn ballots_follow_the_call() {
        let ps = [
            project("P001", 400, ProjectStatus::Feasible),
            project("P002", 700, ProjectStatus::Feasible),
            project("P003", 100, ProjectStatus::Unfeasible),
        ];
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            check_ballot(&ps, &v(&["P001", "id-P002"]), 1000, Some(2))
                .unwrap()
                .len(),
            2
        );
        for (wanted, max) in [
            (v(&["P003"]), Some(2)),
            (v(&["P001", "P001"]), Some(2)),
            (v(&[]), Some(2)),
            (v(&["P001", "P002"]), Some(1)),
            (v(&["P001", "P002"]), None),
            (v(&["P009"]), None),
        ] {
            let e = check_ballot(&ps, &wanted, 1000, max).unwrap_err();
            assert_eq!(e.code(), "invalid_ballot", "{wanted:?}");
        }
    }

    proptest! {
        /// Phases follow the dates: later moments are never in earlier phases.
        #[test]
        fn phases_move_forward(mut dates in proptest::array::uniform5(0i64..1000), a in -10i64..1100, b in -10i64..1100) {
            dates.sort();
            let (a, b) = (a.min(b), a.max(b));
            let order = |p: CallPhase| CallPhase::ALL.iter().position(|q| *q == p).unwrap();
            prop_assert!(order(phase_at(dates, a)) <= order(phase_at(dates, b)));
            prop_assert_eq!(phase_at(dates, dates[0] - 1), CallPhase::Upcoming);
            prop_assert_eq!(phase_at(dates, dates[4]), CallPhase::Implementing);
        }
    }
}
