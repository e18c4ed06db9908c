//! The permission check: a role grants actions, and an assignment's scope limits where.

use super::roles::grants;
use super::{Action, Actor, Assignment, Role};
use crate::{Error, Result};

impl Action {
    /// Read area details and children.
    pub const AREA_READ: Action = Action::unscoped(
        "area_read",
        &[Role::RESIDENT, Role::GRID_WORKER, Role::LEADER, Role::ADMIN],
    );
    /// Import or change areas.
    pub const AREA_MANAGE: Action = Action::new("area_manage", &[Role::ADMIN]);
    pub const UNIT_READ: Action =
        Action::unscoped("unit_read", &[Role::GRID_WORKER, Role::LEADER, Role::ADMIN]);
    pub const UNIT_MANAGE: Action = Action::new("unit_manage", &[Role::ADMIN]);
    pub const USER_READ: Action = Action::new("user_read", &[Role::LEADER, Role::ADMIN]);
    pub const USER_MANAGE: Action = Action::new("user_manage", &[Role::ADMIN]);
    /// See someone else's personal fields unmasked.
    pub const PERSONAL_REVEAL: Action =
        Action::new("personal_reveal", &[Role::LEADER, Role::ADMIN]);
    pub const AUDIT_READ: Action = Action::new("audit_read", &[Role::ADMIN]);
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

/// As [`authorize`] for a reading that is the same wherever the actor's scope lies (the list of
/// roles): refused only when no assignment grants the action.
pub fn authorize_somewhere(actor: &Actor, action: Action) -> Result<()> {
    if may_somewhere(actor, action) {
        Ok(())
    } else {
        authorize(actor, action, &Target::global())
    }
}

/// May the actor do this somewhere, in any of its scopes? (Menus show what a user may open;
/// the page itself still checks its target.)
pub fn may_somewhere(actor: &Actor, action: Action) -> bool {
    actor.assignments.iter().any(|a| grants(a.role, action))
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
    use crate::identity::{register, registered, ActorKind, RoleDef};

    /// A role a module would declare, granted two of the platform's actions.
    const CLERK: Role = Role::new("test_clerk");

    fn with_clerk() -> Vec<Role> {
        register(
            &[RoleDef {
                role: CLERK,
                zh: "测试文员",
                en: "Test clerk",
                grants: &[Action::AREA_READ, Action::UNIT_READ],
            }],
            &[],
        );
        registered().into_iter().map(|d| d.role).collect()
    }

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
            (Role::RESIDENT, &["area_read"]),
            (CLERK, &["area_read", "unit_read"]),
            (Role::GRID_WORKER, &["area_read", "unit_read"]),
            (
                Role::LEADER,
                &["area_read", "unit_read", "user_read", "personal_reveal"],
            ),
            (
                Role::ADMIN,
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
        let roles = with_clerk();
        assert!(roles.contains(&CLERK) && roles.contains(&Role::ADMIN));
        let mut checked = 0;
        for role in roles.iter().copied() {
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
        assert_eq!(checked, roles.len() * 4 * ALL_ACTIONS.len() * 6);
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
            role: Role::ADMIN,
            area: Some("110101002".into()),
            unit: None,
        });
        assert!(authorize(&a, Action::AREA_MANAGE, &Target::area("110101001001")).is_err());
        a.assignments.push(Assignment {
            role: Role::ADMIN,
            area: Some("110101001".into()),
            unit: None,
        });
        assert!(authorize(&a, Action::AREA_MANAGE, &Target::area("110101001001")).is_ok());
    }
}
