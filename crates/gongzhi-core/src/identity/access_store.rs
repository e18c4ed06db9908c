//! Changing what a user may do: a role granted or revoked within its scope, a user disabled or
//! enabled. Each is one audited write that also moves the `tokens` version, so every server's
//! cached caller (`store::TOKENS`) is read again: at once here, within its `trust` elsewhere.
//!
//! A change that would change nothing (a role already held, one not held, a user already
//! disabled or enabled) is refused with its own 409 code rather than passed over, so a client
//! acting on a stale view of the user learns so; nothing is written or audited then.

use serde_json::json;

use super::roles::grants;
use super::store::{
    assignment_rows, authorize_over_person, check_scope, fetch_user, insert_assignment,
    load_assignments, view,
};
use super::{authorize, authorize_somewhere, Action, Actor, Assignment, Target, UserView};
use crate::db::{query, Db, WriteTx};
use crate::privacy::Sealer;
use crate::{audit, Error, Result};

/// What is being done to the user, for the audit log and the checks particular to each.
enum Change<'a> {
    Grant(&'a Assignment),
    Revoke(&'a Assignment),
    Disable,
    Enable,
}

fn target(a: &Assignment) -> Target {
    Target {
        area: a.area.clone(),
        unit: a.unit.clone(),
    }
}

/// Grants `assignment` to the user. Refused: 403 to a caller who may not manage users there,
/// 404 for a user unknown or out of the caller's reach, 400 `unknown_area` / `unknown_unit`,
/// 409 `already_assigned` when the user holds exactly this role and scope.
pub async fn grant_role(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    user_id: &str,
    assignment: &Assignment,
) -> Result<UserView> {
    change(db, sealer, actor, user_id, Change::Grant(assignment)).await
}

/// Revokes the assignment with exactly this role and scope. As [`grant_role`], and 409
/// `not_assigned` when the user does not hold it, 409 `last_admin_role` when the caller would
/// take away their own administration of that scope (another administrator may).
pub async fn revoke_role(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    user_id: &str,
    assignment: &Assignment,
) -> Result<UserView> {
    change(db, sealer, actor, user_id, Change::Revoke(assignment)).await
}

/// Disables the user: they cannot sign in, and every token and web session of theirs is
/// deleted (re-enabling does not bring them back). 409 `already_disabled`, 409
/// `cannot_disable_self`.
pub async fn disable_user(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    user_id: &str,
) -> Result<UserView> {
    change(db, sealer, actor, user_id, Change::Disable).await
}

/// Lets a disabled user sign in again. 409 `not_disabled`.
pub async fn enable_user(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    user_id: &str,
) -> Result<UserView> {
    change(db, sealer, actor, user_id, Change::Enable).await
}

async fn change(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    user_id: &str,
    change: Change<'_>,
) -> Result<UserView> {
    // The role first, the same answer for every id (as reading a user).
    authorize_somewhere(actor, Action::USER_MANAGE)?;
    let mut tx = db.begin_write().await?;
    // Changes to one user wait for each other here (a row lock on PostgreSQL; SQLite has one
    // writer), so two grants of the same role cannot both find it missing.
    let disabled = lock_user(&mut tx, user_id).await?;
    let held = assignment_rows(tx.conn(), user_id).await?;
    let current: Vec<Assignment> = held.iter().map(|(_, a)| a.clone()).collect();
    authorize_over_person(actor, Action::USER_MANAGE, &current)
        .map_err(|_| Error::not_found("user"))?;
    let is_self = actor.user_id.as_deref() == Some(user_id);
    let (action, digest) = match change {
        Change::Grant(a) => {
            authorize(actor, Action::USER_MANAGE, &target(a))?;
            check_scope(&mut tx, a).await?;
            if current.contains(a) {
                return Err(Error::refused(
                    "already_assigned",
                    format!("the user already holds {} here", a.role),
                ));
            }
            insert_assignment(&mut tx, user_id, a).await?;
            ("role.grant", json!(a))
        }
        Change::Revoke(a) => {
            authorize(actor, Action::USER_MANAGE, &target(a))?;
            let Some((row, _)) = held.iter().find(|(_, h)| h == a) else {
                return Err(Error::refused(
                    "not_assigned",
                    format!("the user does not hold {} with this scope", a.role),
                ));
            };
            if is_self && grants(a.role, Action::USER_MANAGE) {
                let remaining = Actor {
                    assignments: held
                        .iter()
                        .filter(|(r, _)| r != row)
                        .map(|(_, h)| h.clone())
                        .collect(),
                    ..actor.clone()
                };
                if authorize(&remaining, Action::USER_MANAGE, &target(a)).is_err() {
                    return Err(Error::refused(
                        "last_admin_role",
                        "this is your last role that administers this scope; another administrator may remove it",
                    ));
                }
            }
            query("DELETE FROM role_assignments WHERE id = $1")
                .bind(row)
                .execute(tx.conn())
                .await?;
            ("role.revoke", json!(a))
        }
        Change::Disable => {
            if is_self {
                return Err(Error::refused(
                    "cannot_disable_self",
                    "you cannot disable yourself; another administrator may",
                ));
            }
            if disabled {
                return Err(Error::refused(
                    "already_disabled",
                    "the user is already disabled",
                ));
            }
            set_disabled(&mut tx, user_id, true).await?;
            let ended = query("DELETE FROM api_tokens WHERE user_id = $1")
                .bind(user_id)
                .execute(tx.conn())
                .await?
                .rows_affected();
            ("user.disable", json!({"tokens_ended": ended}))
        }
        Change::Enable => {
            if !disabled {
                return Err(Error::refused("not_disabled", "the user is not disabled"));
            }
            set_disabled(&mut tx, user_id, false).await?;
            ("user.enable", json!({}))
        }
    };
    audit::append(
        &mut tx,
        actor,
        action,
        &format!("user:{user_id}"),
        &digest,
        None,
    )
    .await?;
    tx.bump_version("tokens").await?;
    tx.commit().await?;
    let stored = fetch_user(db, user_id).await?;
    let assignments = load_assignments(db, user_id).await?;
    view(sealer, stored, assignments, false)
}

/// Holds the user's row for the rest of the transaction and says whether they are disabled;
/// 404 for an unknown user.
async fn lock_user(tx: &mut WriteTx, user_id: &str) -> Result<bool> {
    let row = query("UPDATE users SET disabled = disabled WHERE id = $1 RETURNING disabled")
        .bind(user_id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| Error::not_found("user"))?;
    Ok(row.try_get::<i64, _>(0)? != 0)
}

async fn set_disabled(tx: &mut WriteTx, user_id: &str, disabled: bool) -> Result<()> {
    query("UPDATE users SET disabled = $1 WHERE id = $2")
        .bind(i64::from(disabled))
        .bind(user_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}
