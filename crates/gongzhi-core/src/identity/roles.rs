//! Roles are registered data, not a closed list: the platform declares the roles every
//! deployment has (resident, grid worker, leader, administrator) and each module declares the
//! roles it introduces in its manifest, with labels and the other modules' actions they are
//! granted. The registry is filled once when the server wires its modules.

use std::sync::RwLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

/// A role's identifier, as stored in assignments and sent in the API (`grid_worker`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Role(&'static str);

impl Role {
    /// Declares a role constant; a module registers it with [`RoleDef`] in its manifest.
    pub const fn new(id: &'static str) -> Role {
        Role(id)
    }
    pub fn as_str(self) -> &'static str {
        self.0
    }
    /// A registered role by its identifier; anything else is refused with the list of roles.
    pub fn parse(s: &str) -> Result<Role> {
        // Read on every assignment loaded: look under the lock, no copy of the registry.
        if let Some(d) = find(|d| d.role.0 == s) {
            return Ok(d.role);
        }
        let known: Vec<&str> = registered().iter().map(|d| d.role.0).collect();
        Err(Error::invalid(
            "unknown_role",
            format!("unknown role {s:?}; roles are {}", known.join(", ")),
        ))
    }

    /// 居民: raises requests, follows them, takes part in deliberation where verified.
    pub const RESIDENT: Role = Role("resident");
    /// 网格员: patrols a grid; the grid is the platform's, so every module may use this role.
    pub const GRID_WORKER: Role = Role("grid_worker");
    /// 领导: oversees a community, street or district.
    pub const LEADER: Role = Role("leader");
    /// 管理员: administers the platform within its scope.
    pub const ADMIN: Role = Role("admin");
}

impl std::fmt::Debug for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Role {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Role, D::Error> {
        let s = String::deserialize(d)?;
        // Worded as serde words an unknown enum variant, so the API answers an undeclared role
        // as every value outside a closed set: 422 `unknown_value`.
        Role::parse(&s).map_err(|_| {
            let known: Vec<String> = registered()
                .iter()
                .map(|r| format!("`{}`", r.role.0))
                .collect();
            serde::de::Error::custom(format!(
                "unknown variant `{s}`, expected one of {}",
                known.join(", ")
            ))
        })
    }
}

impl utoipa::PartialSchema for Role {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "A registered role: resident, grid_worker, leader, admin, and the roles the \
                 modules declare (GET /api/v1/roles lists them).",
            ))
            .examples(["grid_worker"])
            .into()
    }
}

impl utoipa::ToSchema for Role {}

/// Something a user may do. Each module declares its actions as data — the roles that may do
/// it — so the one check below serves every module (like a Decidim component's permissions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Action {
    pub name: &'static str,
    pub roles: &'static [Role],
    /// Directory reads (geography, the list of units) are not limited by scope.
    pub unscoped: bool,
}

impl Action {
    pub const fn new(name: &'static str, roles: &'static [Role]) -> Action {
        Action {
            name,
            roles,
            unscoped: false,
        }
    }
    pub const fn unscoped(name: &'static str, roles: &'static [Role]) -> Action {
        Action {
            name,
            roles,
            unscoped: true,
        }
    }
}

/// A role as a module declares it.
#[derive(Debug, Clone, Copy)]
pub struct RoleDef {
    pub role: Role,
    pub zh: &'static str,
    pub en: &'static str,
    /// Actions declared by earlier modules (or the platform) that this role is granted, e.g. a
    /// dispatcher reads the unit directory. A module's own actions name their roles themselves.
    pub grants: &'static [Action],
}

/// The platform's own roles.
pub const PLATFORM_ROLES: &[RoleDef] = &[
    RoleDef {
        role: Role::RESIDENT,
        zh: "居民",
        en: "Resident",
        grants: &[],
    },
    RoleDef {
        role: Role::GRID_WORKER,
        zh: "网格员",
        en: "Grid worker",
        grants: &[],
    },
    RoleDef {
        role: Role::LEADER,
        zh: "领导",
        en: "Leader",
        grants: &[],
    },
    RoleDef {
        role: Role::ADMIN,
        zh: "管理员",
        en: "Administrator",
        grants: &[],
    },
];

struct Registry {
    roles: Vec<RoleDef>,
    actions: Vec<Action>,
}

static REGISTRY: RwLock<Registry> = RwLock::new(Registry {
    roles: Vec::new(),
    actions: Vec::new(),
});

/// Registers roles and actions (the platform's are always there). Registering the same role
/// again is a no-op, so servers and tests in one process may wire the same modules twice; a
/// second, different declaration of a role identifier is a wiring bug and panics at startup.
pub fn register(roles: &[RoleDef], actions: &[Action]) {
    let mut r = REGISTRY.write().unwrap_or_else(|p| p.into_inner());
    for d in roles {
        match r.roles.iter().find(|x| x.role == d.role) {
            Some(x) => assert!(
                x.zh == d.zh && x.en == d.en,
                "role {} is declared twice, differently",
                d.role
            ),
            None => r.roles.push(*d),
        }
    }
    for a in actions {
        match r.actions.iter().find(|x| x.name == a.name) {
            Some(x) => assert!(x == a, "action {} is declared twice, differently", a.name),
            None => r.actions.push(*a),
        }
    }
}

/// Every registered role, the platform's first, then in module order.
pub fn registered() -> Vec<RoleDef> {
    let r = REGISTRY.read().unwrap_or_else(|p| p.into_inner());
    let mut out: Vec<RoleDef> = PLATFORM_ROLES.to_vec();
    out.extend(
        r.roles
            .iter()
            .filter(|d| !PLATFORM_ROLES.iter().any(|p| p.role == d.role)),
    );
    out
}

/// Every registered action, in module order (the platform's are registered by its manifest).
pub fn registered_actions() -> Vec<Action> {
    let r = REGISTRY.read().unwrap_or_else(|p| p.into_inner());
    r.actions.clone()
}

/// The role's labels, or its identifier when it is not registered.
pub fn label(role: Role) -> (&'static str, &'static str) {
    find(|d| d.role == role)
        .map(|d| (d.zh, d.en))
        .unwrap_or((role.0, role.0))
}

/// The first declared role matching `pick`, the platform's first.
fn find(pick: impl Fn(&RoleDef) -> bool) -> Option<RoleDef> {
    let r = REGISTRY.read().unwrap_or_else(|p| p.into_inner());
    PLATFORM_ROLES
        .iter()
        .chain(r.roles.iter())
        .find(|d| pick(d))
        .copied()
}

/// Is the role granted the action: named by the action, or granted by the role's declaration.
pub(crate) fn grants(role: Role, action: Action) -> bool {
    if action.roles.contains(&role) {
        return true;
    }
    let r = REGISTRY.read().unwrap_or_else(|p| p.into_inner());
    PLATFORM_ROLES
        .iter()
        .chain(r.roles.iter())
        .any(|d| d.role == role && d.grants.iter().any(|g| g.name == action.name))
}
