//! What deliberation lets people do: its actions (permissions), granted to roles and checked in
//! the one permission check (`identity::authorize`). Verified residents take part without a
//! role, by the eligibility checks in `checks`.

use gongzhi_core::identity::{Action, Role};

/// Verify residents for a place, or revoke a verification (community staff).
pub const RESIDENT_VERIFY: Action = Action::new(
    "resident_verify",
    &[
        Role::GRID_WORKER,
        crate::roles::COUNCIL,
        Role::LEADER,
        Role::ADMIN,
    ],
);
/// Screen topics, run meetings and votes, publish and carry out resolutions; run micro-project
/// calls, consultations and panels (the community council and leaders).
pub const DELIBERATION_MANAGE: Action = Action::new(
    "deliberation_manage",
    &[crate::roles::COUNCIL, Role::LEADER, Role::ADMIN],
);
/// Raise a topic on behalf of one's work (grid workers, organizations, the council); verified
/// residents raise topics for their own place without a role.
pub const TOPIC_PROPOSE: Action = Action::new(
    "topic_propose",
    &[
        Role::GRID_WORKER,
        crate::roles::ORGANIZATION,
        crate::roles::COUNCIL,
        Role::LEADER,
        Role::ADMIN,
    ],
);
/// Hide or restore reported content.
pub const MODERATE: Action = Action::new("moderate", &[crate::roles::MODERATOR, Role::ADMIN]);
