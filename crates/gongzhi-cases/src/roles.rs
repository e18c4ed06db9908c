//! The roles the cases module introduces: the hotline desk, the dispatch desk and the
//! handling units (grid workers, leaders and administrators are the platform's).

use gongzhi_core::identity::{Action, Role, RoleDef};

/// 话务员: takes hotline calls and records them as cases.
pub const OPERATOR: Role = Role::new("operator");
/// 派遣员: files, dispatches, verifies and closes cases.
pub const DISPATCHER: Role = Role::new("dispatcher");
/// 处置单位: a handling unit's account; signs for, handles and reports back on cases.
pub const HANDLER: Role = Role::new("handler");

/// Each reads the map and the directory of units, to place a case and choose where it goes.
const DIRECTORY: &[Action] = &[Action::AREA_READ, Action::UNIT_READ];

pub const ROLES: &[RoleDef] = &[
    RoleDef {
        role: OPERATOR,
        zh: "话务员",
        en: "Hotline operator",
        grants: DIRECTORY,
    },
    RoleDef {
        role: DISPATCHER,
        zh: "派遣员",
        en: "Dispatcher",
        grants: DIRECTORY,
    },
    RoleDef {
        role: HANDLER,
        zh: "处置单位",
        en: "Handling unit",
        grants: DIRECTORY,
    },
];
