//! Users, units, role assignments and API tokens in storage (one SQL for both backends).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::{authorize, Action, Actor, ActorKind, Assignment, Role, Target};
use crate::db::{opt_text, Db};
use crate::db::{query, Executor, Row, Tx, WriteTx};
use crate::privacy::{mask_email, mask_name, mask_phone, Sealer};
use crate::{audit, cache};
use crate::{Error, Result};

pub const UNIT_KINDS: [&str; 6] = [
    "command_center",
    "department",
    "street_office",
    "community_committee",
    "organization",
    "enterprise",
];

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Unit {
    /// e.g. `110101-cgw` (区城管委) or `110101001-jd` (a street office).
    pub code: String,
    pub name: String,
    /// command_center, department, street_office, community_committee, organization or enterprise.
    pub kind: String,
    /// The area the unit serves, when it has one.
    pub area_code: Option<String>,
}

pub async fn create_unit(db: &Db, actor: &Actor, unit: &Unit) -> Result<()> {
    let target = match &unit.area_code {
        Some(a) => Target::area(a),
        None => Target::global(),
    };
    authorize(actor, Action::UNIT_MANAGE, &target)?;
    crate::codes::UnitCode::parse(&unit.code)?;
    if unit.name.trim().is_empty() {
        return Err(Error::invalid("invalid_unit_name", "a unit needs a name"));
    }
    crate::names::check("unit", &unit.name)?;
    if !UNIT_KINDS.contains(&unit.kind.as_str()) {
        return Err(Error::invalid(
            "invalid_unit_kind",
            format!("unit kind must be one of {}", UNIT_KINDS.join(", ")),
        ));
    }
    let mut tx = db.begin_write().await?;
    if let Some(area) = &unit.area_code {
        let found = query("SELECT code FROM areas WHERE code = $1")
            .bind(area)
            .fetch_optional(tx.conn())
            .await?;
        if found.is_none() {
            return Err(Error::invalid(
                "unknown_area",
                format!("no area with code {area}"),
            ));
        }
    }
    let r = query(
        "INSERT INTO units (code, name, kind, area_code, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&unit.code)
    .bind(unit.name.trim())
    .bind(&unit.kind)
    .bind(&unit.area_code)
    .bind(crate::time::now_ms())
    .execute(tx.conn())
    .await;
    if let Err(e) = r {
        let e = Error::from(e);
        return Err(if e.is_unique_violation() {
            Error::refused("duplicate", format!("unit {} already exists", unit.code))
        } else {
            e
        });
    }
    tx.bump_version("units").await?;
    audit::append(
        &mut tx,
        actor,
        "unit.create",
        &format!("unit:{}", unit.code),
        &json!(unit),
        None,
    )
    .await?;
    tx.commit().await
}

pub async fn list_units(db: &Db) -> Result<Vec<Unit>> {
    let rows = query("SELECT code, name, kind, area_code FROM units ORDER BY code")
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Unit {
                code: r.try_get("code")?,
                name: r.try_get("name")?,
                kind: r.try_get("kind")?,
                area_code: opt_text(r, "area_code")?,
            })
        })
        .collect()
}

/// A new user as an administrator or the CLI describes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub assignments: Vec<Assignment>,
    pub full_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// A user as the API shows them: personal fields masked unless `revealed`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub full_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub revealed: bool,
    pub assignments: Vec<Assignment>,
    pub disabled: bool,
}

fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(Error::internal)?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(Error::internal)?
        .to_string())
}

fn validate_new_user(u: &NewUser) -> Result<()> {
    let name_ok = (3..=32).contains(&u.username.len())
        && u.username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !name_ok {
        return Err(Error::invalid(
            "invalid_username",
            "a user name is 3–32 letters, digits, '.', '_' or '-'",
        ));
    }
    if u.password.chars().count() < 8 {
        return Err(Error::invalid(
            "weak_password",
            "a password has at least 8 characters",
        ));
    }
    if u.assignments.is_empty() {
        return Err(Error::invalid("no_role", "a user needs at least one role"));
    }
    if let Some(n) = u.full_name.as_deref().filter(|n| !n.is_empty()) {
        crate::names::check("full_name", n)?;
    }
    if let Some(p) = &u.phone {
        if !p
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == '+')
            || p.len() < 5
        {
            return Err(Error::invalid("invalid_phone", "a phone number is digits"));
        }
    }
    Ok(())
}

/// May the actor do `action` to this person? Only over all of their assignments: a person is as
/// visible as their widest role, so a district admin who is also a grid worker stays out of a
/// street leader's reach. Someone with no assignment counts as global.
pub(super) fn authorize_over_person(
    actor: &Actor,
    action: Action,
    assignments: &[Assignment],
) -> Result<()> {
    if assignments.is_empty() {
        return authorize(actor, action, &Target::global());
    }
    for a in assignments {
        authorize(
            actor,
            action,
            &Target {
                area: a.area.clone(),
                unit: a.unit.clone(),
            },
        )?;
    }
    Ok(())
}

pub async fn create_user(db: &Db, sealer: &Sealer, actor: &Actor, u: &NewUser) -> Result<String> {
    validate_new_user(u)?;
    for a in &u.assignments {
        authorize(
            actor,
            Action::USER_MANAGE,
            &Target {
                area: a.area.clone(),
                unit: a.unit.clone(),
            },
        )?;
    }
    let password = u.password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(Error::internal)??;
    let id = uuid::Uuid::new_v4().to_string();
    let seal = |v: &Option<String>| {
        v.as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| sealer.seal(s))
    };
    let mut tx = db.begin_write().await?;
    for a in &u.assignments {
        check_scope(&mut tx, a).await?;
    }
    let r = query(
        "INSERT INTO users (id, username, password_hash, full_name, phone, email, disabled, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
    )
    .bind(&id)
    .bind(&u.username)
    .bind(&hash)
    .bind(seal(&u.full_name))
    .bind(seal(&u.phone))
    .bind(seal(&u.email))
    .bind(crate::time::now_ms())
    .execute(tx.conn())
    .await;
    if let Err(e) = r {
        let e = Error::from(e);
        return Err(if e.is_unique_violation() {
            Error::refused("duplicate", format!("user name {} is taken", u.username))
        } else {
            e
        });
    }
    for a in &u.assignments {
        insert_assignment(&mut tx, &id, a).await?;
    }
    // The digest covers who and which roles, never the personal fields themselves.
    audit::append(
        &mut tx,
        actor,
        "user.create",
        &format!("user:{id}"),
        &json!({"username": u.username, "assignments": u.assignments}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The area and unit an assignment names exist (400 `unknown_area`, `unknown_unit`).
pub(super) async fn check_scope(tx: &mut WriteTx, a: &Assignment) -> Result<()> {
    if let Some(area) = &a.area {
        if query("SELECT code FROM areas WHERE code = $1")
            .bind(area)
            .fetch_optional(tx.conn())
            .await?
            .is_none()
        {
            return Err(Error::invalid(
                "unknown_area",
                format!("no area with code {area}"),
            ));
        }
    }
    if let Some(unit) = &a.unit {
        if query("SELECT code FROM units WHERE code = $1")
            .bind(unit)
            .fetch_optional(tx.conn())
            .await?
            .is_none()
        {
            return Err(Error::invalid(
                "unknown_unit",
                format!("no unit with code {unit}"),
            ));
        }
    }
    Ok(())
}

pub(super) async fn insert_assignment(
    tx: &mut WriteTx,
    user_id: &str,
    a: &Assignment,
) -> Result<()> {
    query(
        "INSERT INTO role_assignments (id, user_id, role, area_code, unit_code) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(user_id)
    .bind(a.role.as_str())
    .bind(&a.area)
    .bind(&a.unit)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A user's assignments with their row ids, in a stable order.
pub(super) async fn assignment_rows<'e>(
    on: impl Executor<'e>,
    user_id: &str,
) -> Result<Vec<(String, Assignment)>> {
    let rows = query(
        "SELECT id, role, area_code, unit_code FROM role_assignments WHERE user_id = $1 ORDER BY role, area_code, unit_code",
    )
    .bind(user_id)
    .fetch_all(on)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<String, _>("id")?, assignment_of(r)?)))
        .collect()
}

fn assignment_of(r: &Row) -> Result<Assignment> {
    Ok(Assignment {
        role: Role::parse(&r.try_get::<String, _>("role")?)?,
        area: opt_text(r, "area_code")?,
        unit: opt_text(r, "unit_code")?,
    })
}

pub(super) async fn load_assignments(db: &Db, user_id: &str) -> Result<Vec<Assignment>> {
    Ok(assignment_rows(db.pool(), user_id)
        .await?
        .into_iter()
        .map(|(_, a)| a)
        .collect())
}

pub(super) struct StoredUser {
    id: String,
    username: String,
    full_name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    disabled: bool,
}

pub(super) async fn fetch_user(db: &Db, id: &str) -> Result<StoredUser> {
    let r =
        query("SELECT id, username, full_name, phone, email, disabled FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await?
            .ok_or_else(|| Error::not_found("user"))?;
    stored_user(&r)
}

fn stored_user(r: &Row) -> Result<StoredUser> {
    Ok(StoredUser {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        full_name: opt_text(r, "full_name")?,
        phone: opt_text(r, "phone")?,
        email: opt_text(r, "email")?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
    })
}

pub(super) fn view(
    sealer: &Sealer,
    u: StoredUser,
    assignments: Vec<Assignment>,
    reveal: bool,
) -> Result<UserView> {
    let open = |v: &Option<String>, mask: fn(&str) -> String| -> Result<Option<String>> {
        v.as_deref()
            .map(|s| sealer.open(s).map(|p| if reveal { p } else { mask(&p) }))
            .transpose()
    };
    Ok(UserView {
        full_name: open(&u.full_name, mask_name)?,
        phone: open(&u.phone, mask_phone)?,
        email: open(&u.email, mask_email)?,
        id: u.id,
        username: u.username,
        revealed: reveal,
        assignments,
        disabled: u.disabled,
    })
}

/// One user. `reveal` asks for the personal fields unmasked: allowed to the user themself and
/// to roles with `PersonalReveal` over every one of the user's assignments; a reveal of someone
/// else is audited.
pub async fn get_user(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    id: &str,
    reveal: bool,
    reason: Option<&str>,
) -> Result<UserView> {
    let is_self = actor.user_id.as_deref() == Some(id);
    // The role first, the same answer for every id; then a person out of reach answers as one
    // who does not exist (no telling staff of other streets from ids never issued).
    if !is_self
        && !actor
            .assignments
            .iter()
            .any(|a| Action::USER_READ.roles.contains(&a.role))
    {
        authorize(actor, Action::USER_READ, &Target::global())?;
    }
    let stored = fetch_user(db, id).await?;
    let assignments = load_assignments(db, id).await?;
    if !is_self {
        authorize_over_person(actor, Action::USER_READ, &assignments)
            .map_err(|_| Error::not_found("user"))?;
    }
    if reveal && !is_self {
        authorize_over_person(actor, Action::PERSONAL_REVEAL, &assignments)?;
        let mut tx = db.begin_write().await?;
        audit::append(
            &mut tx,
            actor,
            "personal.reveal",
            &format!("user:{id}"),
            &json!({"fields": ["full_name", "phone", "email"]}),
            reason,
        )
        .await?;
        tx.commit().await?;
    }
    view(sealer, stored, assignments, reveal)
}

/// Users the actor may read, masked, ordered by user name.
pub async fn list_users(db: &Db, sealer: &Sealer, actor: &Actor) -> Result<Vec<UserView>> {
    if !actor
        .assignments
        .iter()
        .any(|a| super::roles::grants(a.role, Action::USER_READ))
    {
        return Err(Error::Forbidden("your roles do not allow user_read".into()));
    }
    // Two statements for the whole list, not two per user: on PostgreSQL each is a round trip,
    // and 159 users took the admin page to 60 ms.
    let users = query(
        "SELECT id, username, full_name, phone, email, disabled FROM users ORDER BY username",
    )
    .fetch_all(db.pool())
    .await?;
    let mut assignments: std::collections::HashMap<String, Vec<Assignment>> =
        std::collections::HashMap::new();
    for r in query(
        "SELECT user_id, role, area_code, unit_code FROM role_assignments ORDER BY user_id, role, area_code, unit_code",
    )
    .fetch_all(db.pool())
    .await?
    {
        assignments
            .entry(r.try_get("user_id")?)
            .or_default()
            .push(assignment_of(&r)?);
    }
    let mut out = Vec::new();
    for r in &users {
        let user = stored_user(r)?;
        let theirs = assignments.remove(&user.id).unwrap_or_default();
        if authorize_over_person(actor, Action::USER_READ, &theirs).is_ok() {
            out.push(view(sealer, user, theirs, false)?);
        }
    }
    Ok(out)
}

/// An API token: shown once, stored only as its SHA-256.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuedToken {
    pub token: String,
    /// RFC 3339, Asia/Shanghai.
    pub expires_at: String,
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Checks a user name (canonical, see `canonical_username`) and password and issues a token;
/// only `sign_in` calls it, after counting the attempt. Any failure is the same error, so a
/// caller cannot learn which part was wrong; unknown users cost as much time as known ones.
pub(super) async fn issue_token(
    db: &Db,
    canonical_name: &str,
    password: &str,
    ttl_hours: i64,
) -> Result<IssuedToken> {
    let bad = || Error::Unauthenticated("wrong user name or password".into());
    let row =
        query("SELECT id, username, password_hash, disabled FROM users WHERE lower(username) = $1")
            .bind(canonical_name)
            .fetch_optional(db.pool())
            .await?;
    let (user_id, username, stored_hash, disabled) = match row {
        Some(r) => (
            Some(r.try_get::<String, _>("id")?),
            r.try_get::<String, _>("username")?,
            r.try_get::<String, _>("password_hash")?,
            r.try_get::<i64, _>("disabled")? != 0,
        ),
        None => (None, String::new(), dummy_hash().to_string(), false),
    };
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored_hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .map_err(Error::internal)?;
    let user_id = match user_id {
        Some(id) if ok && !disabled => id,
        _ => return Err(bad()),
    };
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let token = hex::encode(raw);
    let now = crate::time::now_ms();
    let expires = now + ttl_hours * 3_600_000;
    let mut tx = db.begin_write().await?;
    query("INSERT INTO api_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash(&token))
        .bind(&user_id)
        .bind(now)
        .bind(expires)
        .execute(tx.conn())
        .await?;
    audit::append(
        &mut tx,
        &Actor {
            kind: ActorKind::User,
            user_id: Some(user_id.clone()),
            username,
            assignments: vec![],
        },
        "auth.token_issued",
        &format!("user:{user_id}"),
        &json!({"expires_at": expires}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(IssuedToken {
        token,
        expires_at: crate::time::format_ms(expires),
    })
}

/// An argon2 hash of a random password, computed once, to spend the same time on unknown users.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password(&uuid::Uuid::new_v4().to_string()).expect("hashing works"))
}

/// The actor behind a bearer token, if the token is known, unexpired and its user enabled.
pub async fn actor_for_token(db: &Db, token: &str) -> Result<Actor> {
    let bad = || Error::Unauthenticated("the token is unknown or expired".into());
    let hash = token_hash(token);
    let (actor, expires) = cache::cached(db, &hash, &TOKENS, async {
        let row = query(
            "SELECT u.id, u.username, u.disabled, t.expires_at FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(bad)?;
        if row.try_get::<i64, _>("disabled")? != 0 {
            return Err(bad());
        }
        let id: String = row.try_get("id")?;
        let actor = Actor {
            kind: ActorKind::User,
            assignments: load_assignments(db, &id).await?,
            username: row.try_get("username")?,
            user_id: Some(id),
        };
        Ok((actor, row.try_get::<i64, _>("expires_at")?))
    })
    .await?;
    if expires <= crate::time::now_ms() {
        return Err(bad());
    }
    Ok(actor)
}

/// Signed-in callers by token hash: every API request would otherwise read its token and its
/// roles, a third of what a typical request asks of the database. A sign-out, a role granted or
/// revoked and a user disabled or enabled each move `tokens` (`access_store`), so the change
/// holds through this server at once and through another one sharing the database within
/// `trust`. `max_age` only bounds a change made in the database by hand, which moves nothing.
const TOKENS: cache::Policy = cache::Policy {
    versions: &["tokens"],
    trust: std::time::Duration::from_secs(2),
    max_age: Some(std::time::Duration::from_secs(300)),
    own_writes_at_once: true,
    keys: 10_000,
};

/// Ends a token's life now (sign-out); audited. Unknown tokens change nothing.
pub async fn revoke_token(db: &Db, actor: &Actor, token: &str) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let done = query("DELETE FROM api_tokens WHERE token_hash = $1")
        .bind(token_hash(token))
        .execute(tx.conn())
        .await?;
    if done.rows_affected() == 0 {
        return Ok(());
    }
    let entity = format!("user:{}", actor.user_id.as_deref().unwrap_or("-"));
    audit::append(
        &mut tx,
        actor,
        "auth.token_revoked",
        &entity,
        &json!({}),
        None,
    )
    .await?;
    tx.bump_version("tokens").await?;
    tx.commit().await
}

/// The user signing in as `username` would be (the same canonical comparison).
pub async fn user_id_by_name(db: &Db, username: &str) -> Result<Option<String>> {
    Ok(query("SELECT id FROM users WHERE lower(username) = $1")
        .bind(super::canonical_username(username))
        .fetch_optional(db.pool())
        .await?
        .map(|r| r.try_get::<String, _>(0))
        .transpose()?)
}

/// A user as others see them: the masked name (张*明, from the sealed full name, else the user
/// name), never the name itself; `?` for an unknown user.
pub async fn masked_name(db: &Db, sealer: &Sealer, user_id: &str) -> Result<String> {
    let row = query("SELECT username, full_name FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(db.pool())
        .await?;
    let Some(row) = row else {
        return Ok("?".into());
    };
    Ok(match opt_text(&row, "full_name")? {
        Some(sealed) => mask_name(&sealer.open(&sealed)?),
        None => mask_name(&row.try_get::<String, _>("username")?),
    })
}

/// Counts one sign-in attempt under `key`, unless the key is still waiting (then false and
/// nothing is counted). The streak starts over after a quiet window beyond the last wait; from
/// the `attempts`-th attempt on each one sets a wait of 1 s, 2 s, 4 s … up to the longest.
pub(super) async fn count_attempt(
    tx: &mut Tx,
    key: &str,
    now: i64,
    first_delay_ms: i64,
    (window_ms, attempts, max_delay_ms): (i64, i64, i64),
) -> Result<bool> {
    let counted = query(
        "INSERT INTO login_throttle (key, failures, last_at, delay_ms) VALUES ($1, 1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN $2 - login_throttle.last_at - login_throttle.delay_ms >= $4 THEN 1 \
                           ELSE login_throttle.failures + 1 END, \
           delay_ms = CASE WHEN $2 - login_throttle.last_at - login_throttle.delay_ms >= $4 THEN $3 \
                           WHEN login_throttle.failures + 1 < $5 THEN 0 \
                           WHEN login_throttle.delay_ms = 0 THEN 1000 \
                           WHEN login_throttle.delay_ms * 2 > $6 THEN $6 \
                           ELSE login_throttle.delay_ms * 2 END, \
           last_at = $2 \
         WHERE login_throttle.last_at + login_throttle.delay_ms <= $2 \
         RETURNING failures",
    )
    .bind(key)
    .bind(now)
    .bind(first_delay_ms)
    .bind(window_ms)
    .bind(attempts)
    .bind(max_delay_ms)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(counted.is_some())
}

/// When a waiting key may try again (ms).
pub(super) async fn waiting_until(tx: &mut Tx, key: &str) -> Result<i64> {
    Ok(
        query("SELECT last_at + delay_ms FROM login_throttle WHERE key = $1")
            .bind(key)
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?,
    )
}

/// A sign-in succeeded: the account's streak ends, the address's counts one fewer.
pub(super) async fn succeeded(db: &Db, account: &str, address: &str) -> Result<()> {
    let mut tx = db.begin_counters().await?;
    query("DELETE FROM login_throttle WHERE key = $1")
        .bind(account)
        .execute(&mut *tx)
        .await?;
    query("UPDATE login_throttle SET failures = failures - 1 WHERE key = $1 AND failures > 0")
        .bind(address)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Forgets streaks that ended a window ago (a flood of made-up names would otherwise pile up).
pub async fn forget_old_attempts(db: &Db, now: i64, window_secs: u64) -> Result<u64> {
    let mut tx = db.begin_counters().await?;
    let done = query("DELETE FROM login_throttle WHERE last_at + delay_ms + $1 < $2")
        .bind(window_secs as i64 * 1000)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}
