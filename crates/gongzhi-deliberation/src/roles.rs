//! The roles deliberation introduces: the residents' council, content moderators and social
//! organizations (residents, grid workers, leaders and administrators are the platform's).

use gongzhi_core::identity::{Action, Role, RoleDef};

/// 议事会成员: screens topics, runs meetings, votes and micro-project calls in its scope.
pub const COUNCIL: Role = Role::new("council");
/// 内容审核员: hides or restores reported content.
pub const MODERATOR: Role = Role::new("moderator");
/// 社会组织: an organization's account; proposes topics in its scope.
pub const ORGANIZATION: Role = Role::new("organization");

pub const ROLES: &[RoleDef] = &[
    RoleDef {
        role: COUNCIL,
        zh: "议事会成员",
        en: "Council member",
        grants: &[Action::AREA_READ],
    },
    RoleDef {
        role: MODERATOR,
        zh: "内容审核员",
        en: "Moderator",
        grants: &[Action::AREA_READ],
    },
    RoleDef {
        role: ORGANIZATION,
        zh: "社会组织",
        en: "Organization",
        grants: &[Action::AREA_READ],
    },
];
