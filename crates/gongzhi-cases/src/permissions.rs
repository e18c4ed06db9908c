//! Who may do what in cases: the module's own permissions (each workflow step's is declared by
//! the step, `rules::workflow::Step::permission`). The manifest lists them all.

use gongzhi_core::identity::{Action, Role};

pub const CASE_CREATE: Action = Action::unscoped(
    "case_create",
    &[
        Role::RESIDENT,
        Role::GRID_WORKER,
        crate::roles::OPERATOR,
        crate::roles::DISPATCHER,
        Role::ADMIN,
    ],
);
pub const CASE_READ: Action = Action::new(
    "case_read",
    &[
        Role::GRID_WORKER,
        crate::roles::OPERATOR,
        crate::roles::DISPATCHER,
        crate::roles::HANDLER,
        Role::LEADER,
        Role::ADMIN,
    ],
);
/// See a reporter's name and phone unmasked (to call them back); audited.
pub const REPORTER_REVEAL: Action = Action::new(
    "reporter_reveal",
    &[
        crate::roles::OPERATOR,
        crate::roles::DISPATCHER,
        crate::roles::HANDLER,
        Role::ADMIN,
    ],
);

/// Edit the catalog and the routing rules, import past cases.
pub const CATALOG_MANAGE: Action = Action::new("catalog_manage", &[Role::ADMIN]);

/// Publish or withdraw a case, redact its public text, approve its address and photos: the
/// desks that dispatch, within their area.
pub const CASE_PUBLISH: Action =
    Action::new("case_publish", &[crate::roles::DISPATCHER, Role::ADMIN]);

/// Read the measures and rankings (within scope).
pub const STATS_READ: Action = Action::new(
    "stats_read",
    &[crate::roles::DISPATCHER, Role::LEADER, Role::ADMIN],
);
/// Change the measures' settings.
pub const SETTINGS_MANAGE: Action = Action::new("case_settings_manage", &[Role::ADMIN]);
