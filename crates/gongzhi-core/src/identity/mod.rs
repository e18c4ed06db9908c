//! Identity: users, units, roles with scopes, and the one permission check every path uses
//! (API, web, Open311, CLI).

mod access_store;
mod api;
mod permissions;
mod roles;
mod signin;
mod store;

pub use access_store::{disable_user, enable_user, grant_role, revoke_role};
pub use api::api;
pub use permissions::{authorize, authorize_somewhere, may_somewhere, Target, ALL_ACTIONS};
pub use roles::{
    label as role_label, register, registered, registered_actions, Action, Role, RoleDef,
    PLATFORM_ROLES,
};
pub use signin::{canonical_username, sign_in, spawn_attempts_sweeper, Throttled};
pub use store::*;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
            assignments: vec![Assignment::global(Role::ADMIN)],
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
