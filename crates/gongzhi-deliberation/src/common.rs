//! What every part of deliberation shares: the optional caller, history events, eligibility of
//! verified residents, notices to participants, input checks.

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use utoipa::ToSchema;

use gongzhi_core::db::{opt_text, Db, WriteTx};
use gongzhi_core::identity::Actor;
use gongzhi_core::privacy::{mask_name, Sealer};
use gongzhi_core::time::format_ms;
use gongzhi_core::{Error, Result};

/// What is published (公示, 三公开) is readable by anyone: the caller is optional.
pub use gongzhi_core::http::MaybeAuthed;

/// One step in the history of a topic, call, consultation or panel.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    pub at: String,
    pub actor: String,
    pub step: String,
    pub note: Option<String>,
    #[schema(value_type = Object)]
    pub data: Value,
}

pub async fn add_event(
    tx: &mut WriteTx,
    subject: &str,
    at: i64,
    actor: &Actor,
    step: &str,
    note: Option<&str>,
    data: &Value,
) -> Result<()> {
    sqlx::query("INSERT INTO delib_events (id, subject, at, actor, step, note, data) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(subject)
        .bind(at)
        .bind(public_label(actor))
        .bind(step)
        .bind(note)
        .bind(data.to_string())
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// How a history names who acted: staff by their account (they act in office), residents only
/// as "resident" — the audit log keeps who it was.
fn public_label(actor: &Actor) -> String {
    if actor
        .assignments
        .iter()
        .all(|a| a.role == gongzhi_core::identity::Role::RESIDENT)
        && actor.kind == gongzhi_core::identity::ActorKind::User
    {
        "resident".into()
    } else {
        actor.label()
    }
}

pub async fn events(db: &Db, subject: &str) -> Result<Vec<Event>> {
    let rows = sqlx::query(
        "SELECT at, actor, step, note, data FROM delib_events WHERE subject = $1 ORDER BY at, id",
    )
    .bind(subject)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Event {
                at: format_ms(r.try_get("at")?),
                actor: r.try_get("actor")?,
                step: r.try_get("step")?,
                note: opt_text(r, "note")?,
                data: serde_json::from_str(&r.try_get::<String, _>("data")?).unwrap_or(Value::Null),
            })
        })
        .collect()
}

/// A user as others see them: the masked name (张*明), never the name itself.
pub async fn display_name(db: &Db, sealer: &Sealer, user_id: &str) -> Result<String> {
    let row = sqlx::query("SELECT username, full_name FROM users WHERE id = $1")
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

/// The caller's current verification: (area code, place).
pub async fn verification_of(db: &Db, user_id: &str) -> Result<Option<(String, String)>> {
    let row = sqlx::query(
        "SELECT area_code, place FROM resident_verifications WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(match row {
        Some(r) => Some((r.try_get("area_code")?, r.try_get("place")?)),
        None => None,
    })
}

/// The caller's user id when they are a resident verified for (`area`, `place`) — verified
/// before `roll_closed_at` when a vote's roll was fixed then; else why not.
pub async fn require_eligible(
    db: &Db,
    actor: &Actor,
    area: &str,
    place: &str,
    roll_closed_at: Option<i64>,
) -> Result<String> {
    let Some(user) = actor.user_id.clone() else {
        return Err(Error::Unauthenticated(
            "sign in as a verified resident".into(),
        ));
    };
    // One read of the current verification answers place and roll alike (votes run this).
    let row = sqlx::query("SELECT area_code, place, verified_at FROM resident_verifications WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(&user)
        .fetch_optional(db.pool())
        .await?;
    let Some(r) = row else {
        return Err(Error::Forbidden(
            "only residents verified for this place take part (ask your community to verify you)"
                .into(),
        ));
    };
    let (a, p): (String, String) = (r.try_get("area_code")?, r.try_get("place")?);
    if !crate::rules::eligible(&a, &p, area, place) {
        return Err(Error::Forbidden(
            "you are verified for another place: only residents of this place take part".into(),
        ));
    }
    if roll_closed_at.is_some_and(|t| r.try_get::<i64, _>("verified_at").is_ok_and(|v| v > t)) {
        return Err(Error::Forbidden(
            "you were verified after this vote opened: its roll was fixed then".into(),
        ));
    }
    Ok(user)
}

/// How many residents are verified for (`area`, `place`) now.
pub async fn count_eligible(db: &Db, area: &str, place: &str) -> Result<i64> {
    let rows = sqlx::query(
        "SELECT area_code, place FROM resident_verifications WHERE revoked_at IS NULL AND area_code LIKE $1",
    )
    .bind(format!("{area}%"))
    .fetch_all(db.pool())
    .await?;
    let mut n = 0;
    for r in rows {
        let (a, p): (String, String) = (r.try_get("area_code")?, r.try_get("place")?);
        if crate::rules::eligible(&a, &p, area, place) {
            n += 1;
        }
    }
    Ok(n)
}

/// Checks that an area exists and returns its code.
pub async fn check_area(db: &Db, code: &str) -> Result<String> {
    let row = sqlx::query("SELECT code FROM areas WHERE code = $1")
        .bind(code)
        .fetch_optional(db.pool())
        .await?;
    row.map(|_| code.to_string())
        .ok_or_else(|| Error::invalid("unknown_area", format!("no area with code {code:?}")))
}

pub fn check_place(place: &str) -> Result<String> {
    crate::rules::normalize_place(place).map_err(|m| Error::invalid("invalid_place", m))
}

/// A required text of at most `max` characters, trimmed.
pub fn text(field: &'static str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::invalid(field, format!("{field} must not be empty")));
    }
    if v.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("{field} is longer than {max} characters"),
        ));
    }
    Ok(v.to_string())
}

pub fn time(field: &'static str, value: &str) -> Result<i64> {
    gongzhi_core::time::parse_rfc3339(value).ok_or_else(|| {
        Error::invalid(
            field,
            format!("{field} {value:?} is not an RFC 3339 time (e.g. 2026-12-01T09:00:00+08:00)"),
        )
    })
}

/// Puts the same notice in several users' inboxes, inside the caller's transaction.
pub async fn notify_users(
    db: &Db,
    tx: &mut WriteTx,
    at: i64,
    users: &[String],
    kind: &str,
    title: &str,
    body: &str,
) -> Result<()> {
    for u in users {
        gongzhi_cases::notify::post(db, tx, at, &format!("user:{u}"), None, kind, title, body)
            .await?;
    }
    Ok(())
}
