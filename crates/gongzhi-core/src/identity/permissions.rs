//! The permission check: a role grants actions, and an assignment's scope limits where.

use super::{Actor, Assignment, Role};
use crate::{Error, Result};

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

    /// Read area details and children.
    pub const AREA_READ: Action = Action::unscoped(
        "area_read",
        &[
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
        ],
    );
    /// Import or change areas.
    pub const AREA_MANAGE: Action = Action::new("area_manage", &[Role::Admin]);
    pub const UNIT_READ: Action = Action::unscoped(
        "unit_read",
        &[
            Role::GridWorker,
            Role::Operator,
            Role::Dispatcher,
            Role::Handler,
            Role::Leader,
            Role::Admin,
        ],
    );
    pub const UNIT_MANAGE: Action = Action::new("unit_manage", &[Role::Admin]);
    pub const USER_READ: Action = Action::new("user_read", &[Role::Leader, Role::Admin]);
    pub const USER_MANAGE: Action = Action::new("user_manage", &[Role::Admin]);
    /// See someone else's personal fields unmasked.
    pub const PERSONAL_REVEAL: Action =
        Action::new("personal_reveal", &[Role::Leader, Role::Admin]);
    pub const AUDIT_READ: Action = Action::new("audit_read", &[Role::Admin]);
}

pub const ALL_ACTIONS: [Action; 8] = [
    Action::AREA_READ,
    Action::AREA_MANAGE,
    Action::UNIT_READ,
    Action::UNIT_MANAGE,
    Action::USER_READ,
    Action::USER_MANAGE,
    Action::PERSONAL_REVEAL,
    Action::AUDIT_READ,
];

/// Does the role grant the action (wherever its scope reaches)?
pub(crate) fn grants(role: Role, action: Action) -> bool {
    action.roles.contains(&role)
}

/// Where an action applies: an area (by code) and/or a unit. A target with neither is global.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    pub area: Option<String>,
    pub unit: Option<String>,
}

impl Target {
    pub fn global() -> Self {
        Target::default()
    }
    pub fn area(code: &str) -> Self {
        Target {
            area: Some(code.to_string()),
            unit: None,
        }
    }
    pub fn unit(code: &str) -> Self {
        Target {
            area: None,
            unit: Some(code.to_string()),
        }
    }
}

/// Does this assignment's scope reach the target? An area scope covers its subtree (codes are
/// hierarchical: a child's code starts with its parent's); a unit scope covers that unit.
/// A scoped assignment never reaches a global target.
fn covers(a: &Assignment, t: &Target) -> bool {
    let area_ok = match (&a.area, &t.area) {
        (None, _) => true,
        (Some(scope), Some(area)) => area.starts_with(scope.as_str()),
        (Some(_), None) => false,
    };
    let unit_ok = match (&a.unit, &t.unit) {
        (None, _) => true,
        (Some(scope), Some(unit)) => scope == unit,
        (Some(_), None) => false,
    };
    area_ok && unit_ok
}

/// The one permission check. Refusals say why, without leaking anything about the target.
pub fn authorize(actor: &Actor, action: Action, target: &Target) -> Result<()> {
    if actor
        .assignments
        .iter()
        .any(|a| grants(a.role, action) && (action.unscoped || covers(a, target)))
    {
        return Ok(());
    }
    let any_role = actor.assignments.iter().any(|a| grants(a.role, action));
    let action_name = action.name;
    Err(Error::Forbidden(if actor.assignments.is_empty() {
        format!("{action_name} needs a signed-in user with a role")
    } else if any_role {
        format!("{action_name} is outside your scope")
    } else {
        format!("your roles do not allow {action_name}")
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{ActorKind, ALL_ROLES};

    fn actor(a: Assignment) -> Actor {
        Actor {
            kind: ActorKind::User,
            user_id: Some("u".into()),
            username: "u".into(),
            assignments: vec![a],
        }
    }

    /// The expected matrix, written out independently of `grants`.
    fn expected(role: Role, action: Action) -> bool {
        let table: &[(Role, &[&str])] = &[
            (Role::Resident, &["area_read"]),
            (Role::Council, &["area_read"]),
            (Role::Moderator, &["area_read"]),
            (Role::Organization, &["area_read"]),
            (Role::GridWorker, &["area_read", "unit_read"]),
            (Role::Operator, &["area_read", "unit_read"]),
            (Role::Dispatcher, &["area_read", "unit_read"]),
            (Role::Handler, &["area_read", "unit_read"]),
            (
                Role::Leader,
                &["area_read", "unit_read", "user_read", "personal_reveal"],
            ),
            (
                Role::Admin,
                &[
                    "area_read",
                    "area_manage",
                    "unit_read",
                    "unit_manage",
                    "user_read",
                    "user_manage",
                    "personal_reveal",
                    "audit_read",
                ],
            ),
        ];
        table
            .iter()
            .any(|(r, acts)| *r == role && acts.contains(&action.name))
    }

    #[test]
    fn roles_by_scopes_by_actions() {
        let street = "110101001";
        let other_street = "110101002";
        let scopes = [
            (None, None),
            (Some(street), None),
            (None, Some("u-cg")),
            (Some(street), Some("u-cg")),
        ];
        let targets = [
            Target::global(),
            Target::area("110101001001"),
            Target::area(other_street),
            Target::unit("u-cg"),
            Target::unit("u-other"),
            Target {
                area: Some("110101001001001".into()),
                unit: Some("u-cg".into()),
            },
        ];
        let mut checked = 0;
        for role in ALL_ROLES {
            for (area, unit) in scopes {
                let a = Assignment {
                    role,
                    area: area.map(String::from),
                    unit: unit.map(String::from),
                };
                for action in ALL_ACTIONS {
                    for t in &targets {
                        let in_area = match area {
                            None => true,
                            Some(s) => t.area.as_deref().is_some_and(|c| c.starts_with(s)),
                        };
                        let in_unit = match unit {
                            None => true,
                            Some(u) => t.unit.as_deref() == Some(u),
                        };
                        let directory = matches!(action.name, "area_read" | "unit_read");
                        let want = expected(role, action) && (directory || (in_area && in_unit));
                        let got = authorize(&actor(a.clone()), action, t).is_ok();
                        assert_eq!(got, want, "{role:?} {a:?} {action:?} {t:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, ALL_ROLES.len() * 4 * ALL_ACTIONS.len() * 6);
    }

    #[test]
    fn anonymous_may_do_nothing_guarded() {
        for action in ALL_ACTIONS {
            let err = authorize(&Actor::anonymous(), action, &Target::global()).unwrap_err();
            assert!(matches!(err, Error::Forbidden(_)));
        }
    }

    #[test]
    fn any_matching_assignment_suffices() {
        let mut a = actor(Assignment {
            role: Role::Admin,
            area: Some("110101002".into()),
            unit: None,
        });
        assert!(authorize(&a, Action::AREA_MANAGE, &Target::area("110101001001")).is_err());
        a.assignments.push(Assignment {
            role: Role::Admin,
            area: Some("110101001".into()),
            unit: None,
        });
        assert!(authorize(&a, Action::AREA_MANAGE, &Target::area("110101001001")).is_ok());
    }
}

/// Does any of the actor's roles grant the action, wherever its scope reaches? What a menu
/// offers: the page itself then checks the scope of what it shows.
pub fn may_somewhere(actor: &Actor, action: Action) -> bool {
    actor.assignments.iter().any(|a| grants(a.role, action))
}
