//! The permission check: a role grants actions, and an assignment's scope limits where.

use serde::Serialize;

use super::{Actor, Assignment, Role};
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Read area details and children (geography is not secret, but the API is for members).
    AreaRead,
    /// Import, change or export areas.
    AreaManage,
    UnitRead,
    UnitManage,
    UserRead,
    UserManage,
    /// See personal fields of someone else unmasked.
    PersonalReveal,
    AuditRead,
}

pub const ALL_ACTIONS: [Action; 8] = [
    Action::AreaRead,
    Action::AreaManage,
    Action::UnitRead,
    Action::UnitManage,
    Action::UserRead,
    Action::UserManage,
    Action::PersonalReveal,
    Action::AuditRead,
];

/// What each role may do, wherever its scope reaches.
pub(crate) fn grants(role: Role, action: Action) -> bool {
    use Action::*;
    match role {
        Role::Admin => true,
        Role::Leader => matches!(action, AreaRead | UnitRead | UserRead | PersonalReveal),
        Role::Dispatcher | Role::Operator | Role::Handler | Role::GridWorker => {
            matches!(action, AreaRead | UnitRead)
        }
        Role::Resident => matches!(action, AreaRead),
    }
}

/// Directory reads: every member may read all of it (geography and the list of units are not
/// secret), so a scope does not limit them.
fn unscoped(action: Action) -> bool {
    matches!(action, Action::AreaRead | Action::UnitRead)
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
        .any(|a| grants(a.role, action) && (unscoped(action) || covers(a, target)))
    {
        return Ok(());
    }
    let any_role = actor.assignments.iter().any(|a| grants(a.role, action));
    let action_name = serde_json::to_value(action)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
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
        let table: &[(Role, &[Action])] = &[
            (Role::Resident, &[Action::AreaRead]),
            (Role::GridWorker, &[Action::AreaRead, Action::UnitRead]),
            (Role::Operator, &[Action::AreaRead, Action::UnitRead]),
            (Role::Dispatcher, &[Action::AreaRead, Action::UnitRead]),
            (Role::Handler, &[Action::AreaRead, Action::UnitRead]),
            (
                Role::Leader,
                &[
                    Action::AreaRead,
                    Action::UnitRead,
                    Action::UserRead,
                    Action::PersonalReveal,
                ],
            ),
            (Role::Admin, &ALL_ACTIONS),
        ];
        table
            .iter()
            .any(|(r, acts)| *r == role && acts.contains(&action))
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
                        let directory = matches!(action, Action::AreaRead | Action::UnitRead);
                        let want = expected(role, action) && (directory || (in_area && in_unit));
                        let got = authorize(&actor(a.clone()), action, t).is_ok();
                        assert_eq!(got, want, "{role:?} {a:?} {action:?} {t:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 7 * 4 * 8 * 6);
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
        assert!(authorize(&a, Action::AreaManage, &Target::area("110101001001")).is_err());
        a.assignments.push(Assignment {
            role: Role::Admin,
            area: Some("110101001".into()),
            unit: None,
        });
        assert!(authorize(&a, Action::AreaManage, &Target::area("110101001001")).is_ok());
    }
}
