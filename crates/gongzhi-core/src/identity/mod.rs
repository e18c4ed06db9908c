//! Identity: users, units, roles with scopes, and the one permission check every path uses
//! (API, web, Open311, CLI).

mod api;
mod permissions;
mod signin;
mod store;

pub use api::api;
pub use permissions::{authorize, may_somewhere, Action, Target, ALL_ACTIONS};
pub use signin::{
    canonical_username, forget_old_attempts, sign_in, spawn_attempts_sweeper, Throttled,
};
pub use store::*;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Resident,
    GridWorker,
    Operator,
    Dispatcher,
    Handler,
    Leader,
    Admin,
    /// 议事会成员: screens topics, runs meetings, votes and micro-project calls in its scope.
    Council,
    /// 内容审核: hides or restores reported content.
    Moderator,
    /// 社会组织: an organization's account; proposes topics in its scope.
    Organization,
}

pub const ALL_ROLES: [Role; 10] = [
    Role::Resident,
    Role::GridWorker,
    Role::Operator,
    Role::Dispatcher,
    Role::Handler,
    Role::Leader,
    Role::Admin,
    Role::Council,
    Role::Moderator,
    Role::Organization,
];

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::GridWorker => "grid_worker",
            Role::Operator => "operator",
            Role::Dispatcher => "dispatcher",
            Role::Handler => "handler",
            Role::Leader => "leader",
            Role::Admin => "admin",
            Role::Council => "council",
            Role::Moderator => "moderator",
            Role::Organization => "organization",
        }
    }
    pub fn parse(s: &str) -> Result<Role> {
        ALL_ROLES
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "unknown_role",
                    format!(
                        "unknown role {s:?}; roles are {}",
                        ALL_ROLES.map(|r| r.as_str()).join(", ")
                    ),
                )
            })
    }
}

/// A role held within a scope: an area subtree and/or a unit. No scope means everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Assignment {
    pub role: Role,
    /// Area code whose subtree the role covers.
    pub area: Option<String>,
    /// Unit code the role acts for.
    pub unit: Option<String>,
}

impl Assignment {
    pub fn global(role: Role) -> Self {
        Assignment {
            role,
            area: None,
            unit: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorKind {
    User,
    /// The machine operator running the CLI, or the system itself (seed, jobs).
    System,
    Anonymous,
}

/// Who is acting. Every command takes one; it names the actor in the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub kind: ActorKind,
    pub user_id: Option<String>,
    pub username: String,
    pub assignments: Vec<Assignment>,
}

impl Actor {
    pub fn system(name: &str) -> Actor {
        Actor {
            kind: ActorKind::System,
            user_id: None,
            username: name.to_string(),
            assignments: vec![Assignment::global(Role::Admin)],
        }
    }
    pub fn anonymous() -> Actor {
        Actor {
            kind: ActorKind::Anonymous,
            user_id: None,
            username: String::new(),
            assignments: vec![],
        }
    }
    /// How the audit log names this actor.
    pub fn label(&self) -> String {
        match self.kind {
            ActorKind::User => format!("user:{}", self.username),
            ActorKind::System => format!("system:{}", self.username),
            ActorKind::Anonymous => "anonymous".into(),
        }
    }
    pub fn has_role(&self, role: Role) -> bool {
        self.assignments.iter().any(|a| a.role == role)
    }
}
