//! The closed loop as a pure state machine: which action is allowed from which status, who may
//! take it, and where it leads (the seven steps of 数字城管 and the 12345 loop).

use gongzhi_core::identity::{Action, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Collected, waiting to be accepted (受理).
    Reported,
    /// Accepted, waiting to be filed (立案).
    Accepted,
    /// Filed, waiting for dispatch (派遣); also where a returned case comes back to.
    Filed,
    /// Sent to a unit, waiting for it to sign (签收). The clock runs from dispatch.
    Dispatched,
    /// Signed by the unit, being handled (处置); the unit contacts the reporter (响应).
    Signed,
    /// The unit reported back (反馈), waiting for verification on site (核查).
    ReportedBack,
    /// Verified, waiting to be closed (结案).
    Verified,
    /// Closed, waiting for the callback to the reporter (回访).
    Closed,
    /// Called back and evaluated: the loop is closed (it can be reopened if unsatisfied).
    CalledBack,
    /// Held (挂账): waiting on something outside the loop.
    OnHold,
    /// Cancelled (作废) with a reason.
    Cancelled,
    /// Merged into another case, which it follows.
    Merged,
}

pub const ALL_STATUSES: [Status; 12] = [
    Status::Reported,
    Status::Accepted,
    Status::Filed,
    Status::Dispatched,
    Status::Signed,
    Status::ReportedBack,
    Status::Verified,
    Status::Closed,
    Status::CalledBack,
    Status::OnHold,
    Status::Cancelled,
    Status::Merged,
];

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Reported => "reported",
            Status::Accepted => "accepted",
            Status::Filed => "filed",
            Status::Dispatched => "dispatched",
            Status::Signed => "signed",
            Status::ReportedBack => "reported_back",
            Status::Verified => "verified",
            Status::Closed => "closed",
            Status::CalledBack => "called_back",
            Status::OnHold => "on_hold",
            Status::Cancelled => "cancelled",
            Status::Merged => "merged",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        ALL_STATUSES.into_iter().find(|x| x.as_str() == s)
    }
    /// Still being worked on (counts as open for duplicates, reminders and overdue lists).
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            Status::CalledBack | Status::Cancelled | Status::Merged | Status::Closed
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Accept,
    File,
    Cancel,
    Dispatch,
    Sign,
    Contact,
    ReportBack,
    Verify,
    Close,
    CallBack,
    Return,
    Extend,
    ApproveExtension,
    Hold,
    Resume,
    Supervise,
    Remind,
    Reopen,
    Summon,
    ReportIn,
    Merge,
}

pub const ALL_STEPS: [Step; 21] = [
    Step::Accept,
    Step::File,
    Step::Cancel,
    Step::Dispatch,
    Step::Sign,
    Step::Contact,
    Step::ReportBack,
    Step::Verify,
    Step::Close,
    Step::CallBack,
    Step::Return,
    Step::Extend,
    Step::ApproveExtension,
    Step::Hold,
    Step::Resume,
    Step::Supervise,
    Step::Remind,
    Step::Reopen,
    Step::Summon,
    Step::ReportIn,
    Step::Merge,
];

const DISPATCH_DESK: &[Role] = &[crate::roles::DISPATCHER, Role::ADMIN];
const INTAKE_DESK: &[Role] = &[
    crate::roles::OPERATOR,
    crate::roles::DISPATCHER,
    Role::ADMIN,
];
const HANDLING_UNIT: &[Role] = &[crate::roles::HANDLER];
const VERIFIERS: &[Role] = &[Role::GRID_WORKER, crate::roles::DISPATCHER, Role::ADMIN];
const OVERSIGHT: &[Role] = &[crate::roles::DISPATCHER, Role::LEADER, Role::ADMIN];
const REMINDERS: &[Role] = &[
    crate::roles::OPERATOR,
    crate::roles::DISPATCHER,
    Role::LEADER,
    Role::ADMIN,
];

/// Whose scope a step is checked against: the case's area (desks, verifiers, oversight) or the
/// unit the case is assigned to (handling units; for `report_in`, the summoned unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    Area,
    Unit,
}

impl Step {
    pub const fn as_str(self) -> &'static str {
        match self {
            Step::Accept => "accept",
            Step::File => "file",
            Step::Cancel => "cancel",
            Step::Dispatch => "dispatch",
            Step::Sign => "sign",
            Step::Contact => "contact",
            Step::ReportBack => "report_back",
            Step::Verify => "verify",
            Step::Close => "close",
            Step::CallBack => "call_back",
            Step::Return => "return",
            Step::Extend => "extend",
            Step::ApproveExtension => "approve_extension",
            Step::Hold => "hold",
            Step::Resume => "resume",
            Step::Supervise => "supervise",
            Step::Remind => "remind",
            Step::Reopen => "reopen",
            Step::Summon => "summon",
            Step::ReportIn => "report_in",
            Step::Merge => "merge",
        }
    }
    pub fn parse(s: &str) -> Option<Step> {
        ALL_STEPS.into_iter().find(|x| x.as_str() == s)
    }

    /// The permission this step needs, and what its scope is checked against. A `const fn`, so
    /// a menu entry can be gated by the step its page offers.
    pub const fn permission(self) -> (Action, Over) {
        let (roles, over) = match self {
            Step::Accept | Step::File | Step::Cancel | Step::CallBack => (INTAKE_DESK, Over::Area),
            Step::Dispatch
            | Step::Close
            | Step::ApproveExtension
            | Step::Hold
            | Step::Resume
            | Step::Reopen
            | Step::Merge => (DISPATCH_DESK, Over::Area),
            Step::Summon | Step::Supervise => (OVERSIGHT, Over::Area),
            Step::Remind => (REMINDERS, Over::Area),
            Step::Verify => (VERIFIERS, Over::Area),
            Step::Sign
            | Step::Contact
            | Step::ReportBack
            | Step::Return
            | Step::Extend
            | Step::ReportIn => (HANDLING_UNIT, Over::Unit),
        };
        (Action::new(self.as_str(), roles), over)
    }
}

/// What the case is like now, as far as the rules need to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Facts {
    pub contacted: bool,
    pub extension_pending: bool,
    /// The callback said unresolved or dissatisfied.
    pub callback_unsatisfied: bool,
    /// The status before a hold.
    pub held_from: Option<Status>,
}

/// The outcome of a step that is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub to: Status,
}

/// Why a step is refused: a stable code (in the error catalogue) and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

/// Where `step` leads from `from`, or why it is refused. `passed` is the verification result.
pub fn next(
    from: Status,
    step: Step,
    facts: Facts,
    passed: Option<bool>,
) -> Result<Outcome, Refusal> {
    use Status as S;
    let to = match (step, from) {
        (Step::Accept, S::Reported) => S::Accepted,
        (Step::File, S::Accepted) => S::Filed,
        (Step::Cancel, S::Reported | S::Accepted | S::Filed) => S::Cancelled,
        (Step::Merge, S::Reported | S::Accepted | S::Filed) => S::Merged,
        (Step::Dispatch, S::Filed) => S::Dispatched,
        (Step::Sign, S::Dispatched) => S::Signed,
        (Step::Contact, S::Signed) if facts.contacted => {
            return Err(Refusal::new(
                "already_contacted",
                "the reporter was already contacted",
            ))
        }
        (Step::Contact, S::Signed) => S::Signed,
        (Step::ReportBack, S::Signed) => S::ReportedBack,
        (Step::Verify, S::ReportedBack) => match passed {
            Some(true) => S::Verified,
            // Rework: back to the unit, which keeps the case it signed for.
            Some(false) => S::Signed,
            None => {
                return Err(Refusal::new(
                    "missing_verification_result",
                    "verify needs passed: true or false",
                ))
            }
        },
        (Step::Close, S::Verified) => S::Closed,
        (Step::CallBack, S::Closed) => S::CalledBack,
        (Step::Return, S::Dispatched | S::Signed) => S::Filed,
        (Step::Extend, S::Dispatched | S::Signed) if facts.extension_pending => {
            return Err(Refusal::new(
                "extension_pending",
                "an extension is already waiting for approval",
            ))
        }
        (Step::Extend, S::Dispatched | S::Signed) => from,
        (Step::ApproveExtension, S::Dispatched | S::Signed) if facts.extension_pending => from,
        (Step::ApproveExtension, S::Dispatched | S::Signed) => {
            return Err(Refusal::new(
                "no_extension_pending",
                "no extension is waiting for approval",
            ))
        }
        (Step::Hold, S::Filed | S::Dispatched | S::Signed) => S::OnHold,
        (Step::Resume, S::OnHold) => facts.held_from.ok_or(Refusal::new(
            "wrong_state",
            "the status before the hold is unknown",
        ))?,
        (Step::Supervise | Step::Remind, s) if s.is_open() && s != S::Reported => s,
        (Step::Reopen, S::CalledBack) if facts.callback_unsatisfied => S::Dispatched,
        (Step::Reopen, S::CalledBack) => {
            return Err(Refusal::new(
                "not_reopenable",
                "only a case whose callback was unresolved or dissatisfied is reopened",
            ))
        }
        (Step::Summon, S::Dispatched | S::Signed) => from,
        (Step::ReportIn, S::Dispatched | S::Signed | S::ReportedBack) => from,
        (step, from) => {
            return Err(Refusal::new(
                "wrong_state",
                format!(
                    "{} is not allowed while the case is {}",
                    step.as_str(),
                    from.as_str()
                ),
            ));
        }
    };
    Ok(Outcome { to })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_whole_loop() {
        let f = Facts::default();
        let mut s = Status::Reported;
        for (step, passed) in [
            (Step::Accept, None),
            (Step::File, None),
            (Step::Dispatch, None),
            (Step::Sign, None),
            (Step::Contact, None),
            (Step::ReportBack, None),
            (Step::Verify, Some(false)),
            (Step::ReportBack, None),
            (Step::Verify, Some(true)),
            (Step::Close, None),
            (Step::CallBack, None),
        ] {
            s = next(s, step, f, passed)
                .unwrap_or_else(|e| panic!("{step:?} from {s:?}: {e:?}"))
                .to;
        }
        assert_eq!(s, Status::CalledBack);
        assert!(next(s, Step::Reopen, f, None).is_err());
        let unhappy = Facts {
            callback_unsatisfied: true,
            ..f
        };
        assert_eq!(
            next(s, Step::Reopen, unhappy, None).unwrap().to,
            Status::Dispatched
        );
    }

    #[test]
    fn refusals_say_why() {
        let f = Facts::default();
        let e = next(Status::Reported, Step::Dispatch, f, None).unwrap_err();
        assert_eq!(e.code, "wrong_state");
        assert!(
            e.message
                .contains("dispatch is not allowed while the case is reported"),
            "{e:?}"
        );
        assert!(next(
            Status::Signed,
            Step::Contact,
            Facts {
                contacted: true,
                ..f
            },
            None
        )
        .is_err());
        assert!(next(Status::Signed, Step::ApproveExtension, f, None).is_err());
        assert!(next(Status::ReportedBack, Step::Verify, f, None).is_err());
    }

    proptest! {
        /// Final states stay final: nothing but a reopen after an unhappy callback leaves them.
        #[test]
        fn final_states_are_final(si in 0usize..12, ti in 0usize..21, c in any::<bool>(), x in any::<bool>(), u in any::<bool>()) {
            let from = ALL_STATUSES[si];
            let step = ALL_STEPS[ti];
            let facts = Facts { contacted: c, extension_pending: x, callback_unsatisfied: u, held_from: Some(Status::Signed) };
            if let Ok(o) = next(from, step, facts, Some(true)) {
                prop_assert!(!matches!(from, Status::Cancelled | Status::Merged));
                if from == Status::CalledBack {
                    prop_assert_eq!(step, Step::Reopen);
                    prop_assert!(u);
                    prop_assert_eq!(o.to, Status::Dispatched);
                }
                // Only dispatch and reopen put a case in a unit's hands without a unit step.
                if o.to == Status::Dispatched && from != Status::Dispatched {
                    prop_assert!(matches!(step, Step::Dispatch | Step::Reopen));
                }
            }
        }
    }
}
