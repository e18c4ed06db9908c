//! Durable jobs: reminders before a deadline, escalation after it (to the unit's leaders, then
//! the street's), summons report-in checks, and SMS and email deliveries. Jobs are rows, so they
//! survive restarts; a runner in every server claims due jobs one at a time (a claim is an UPDATE
//! that only one process can win) and does each in one audited transaction. A delivery is
//! claimed after it went out, so two runners racing on one may both send it: at least once.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::Row;

use crate::notify;
use gongzhi_core::db::{opt_text, WriteTx};
use gongzhi_core::identity::Actor;
use gongzhi_core::state::AppState;
use gongzhi_core::time::format_ms;
use gongzhi_core::{audit, Error, Result};

const MAX_ATTEMPTS: i64 = 8;

pub async fn schedule(
    tx: &mut WriteTx,
    kind: &str,
    case_id: Option<&str>,
    due_at: i64,
    payload: &Value,
) -> Result<()> {
    sqlx::query("INSERT INTO jobs (id, kind, case_id, due_at, payload, attempts, done_at, outcome) VALUES ($1, $2, $3, $4, $5, 0, NULL, NULL)")
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(kind)
        .bind(case_id)
        .bind(due_at)
        .bind(payload.to_string())
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The reminder and the two escalations for a handling deadline.
pub async fn schedule_deadline(
    tx: &mut WriteTx,
    case_id: &str,
    unit: &str,
    street: Option<&str>,
    from: i64,
    deadline: i64,
    street_after: i64,
) -> Result<()> {
    let payload = json!({"unit": unit, "deadline": deadline, "street": street});
    let remind_at = deadline - (deadline - from) / 4;
    if remind_at > from {
        schedule(tx, "remind_handle", Some(case_id), remind_at, &payload).await?;
    }
    schedule(tx, "escalate_unit", Some(case_id), deadline, &payload).await?;
    if street.is_some() {
        schedule(tx, "escalate_street", Some(case_id), street_after, &payload).await?;
    }
    Ok(())
}

pub fn spawn_runner(state: AppState) -> tokio::task::JoinHandle<()> {
    let every = Duration::from_millis(state.config.jobs_poll_ms.max(10));
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = run_due(&state).await {
                tracing::warn!(error = %e, "job runner");
            }
        }
    })
}

/// Runs every job due by the state's clock; returns how many were done.
pub async fn run_due(state: &AppState) -> Result<usize> {
    let now = state.clock.now_ms();
    let due = sqlx::query("SELECT id, kind, case_id, payload, attempts FROM jobs WHERE done_at IS NULL AND due_at <= $1 ORDER BY due_at, id LIMIT 200")
        .bind(now)
        .fetch_all(state.db.pool())
        .await?;
    let mut done = 0;
    for j in due {
        let id: String = j.try_get("id")?;
        let kind: String = j.try_get("kind")?;
        let case_id = opt_text(&j, "case_id")?;
        let payload: Value =
            serde_json::from_str(&j.try_get::<String, _>("payload")?).unwrap_or(Value::Null);
        let attempts: i64 = j.try_get("attempts")?;
        let result = if kind == "sms" {
            deliver_sms(state, &id, case_id.as_deref(), &payload, attempts, now).await
        } else if kind == "email" {
            deliver_email(state, &id, case_id.as_deref(), &payload, attempts, now).await
        } else {
            case_job(
                state,
                &id,
                &kind,
                case_id.as_deref().unwrap_or_default(),
                &payload,
                now,
            )
            .await
        };
        match result {
            Ok(true) => done += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(job = %id, error = %e, "job failed"),
        }
    }
    Ok(done)
}

/// Claims a job inside `tx`; false when another runner already did it.
async fn claim(tx: &mut WriteTx, id: &str, now: i64, outcome: &str) -> Result<bool> {
    let r =
        sqlx::query("UPDATE jobs SET done_at = $1, outcome = $2 WHERE id = $3 AND done_at IS NULL")
            .bind(now)
            .bind(outcome)
            .bind(id)
            .execute(tx.conn())
            .await?;
    Ok(r.rows_affected() == 1)
}

async fn event(tx: &mut WriteTx, case_id: &str, now: i64, step: &str, data: &Value) -> Result<()> {
    sqlx::query("INSERT INTO case_events (id, case_id, at, actor, step, note, data) VALUES ($1, $2, $3, 'system:scheduler', $4, NULL, $5)")
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(case_id)
        .bind(now)
        .bind(step)
        .bind(data.to_string())
        .execute(tx.conn())
        .await?;
    Ok(())
}

async fn case_job(
    state: &AppState,
    id: &str,
    kind: &str,
    case_id: &str,
    p: &Value,
    now: i64,
) -> Result<bool> {
    let mut tx = state.db.begin_write().await?;
    let case = sqlx::query("SELECT number, status, unit_code, street_code, handle_deadline, reported_back_at FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_optional(tx.conn())
        .await?;
    let Some(case) = case else {
        claim(&mut tx, id, now, "case gone").await?;
        audit::append(
            &mut tx,
            &Actor::system("scheduler"),
            &format!("job.{kind}"),
            &format!("job:{id}"),
            p,
            Some("case gone"),
        )
        .await?;
        return tx.commit().await.map(|_| false);
    };
    let number: String = case.try_get("number")?;
    let status: String = case.try_get("status")?;
    let unit = p["unit"].as_str().unwrap_or_default();
    let open_for_unit = matches!(status.as_str(), "dispatched" | "signed" | "on_hold")
        && opt_text(&case, "unit_code")?.as_deref() == Some(unit)
        && case
            .try_get::<Option<i64>, _>("reported_back_at")?
            .is_none();
    let current_deadline = case.try_get::<Option<i64>, _>("handle_deadline")?;
    let deadline = p["deadline"].as_i64();
    let relevant = match kind {
        "remind_handle" | "escalate_unit" | "escalate_street" => {
            open_for_unit && current_deadline == deadline
        }
        "summon_overdue" => {
            let r = sqlx::query(
                "SELECT reported_at FROM case_summons WHERE case_id = $1 AND unit_code = $2",
            )
            .bind(case_id)
            .bind(unit)
            .fetch_optional(tx.conn())
            .await?;
            matches!(
                r.map(|r| r.try_get::<Option<i64>, _>(0)).transpose()?,
                Some(None)
            )
        }
        _ => false,
    };
    if !claim(&mut tx, id, now, if relevant { "done" } else { "moot" }).await? {
        return Ok(false);
    }
    if relevant {
        let when = deadline.map(format_ms).unwrap_or_default();
        match kind {
            "remind_handle" => {
                notify::post(
                    &state.db,
                    &mut tx,
                    now,
                    &format!("unit:{unit}"),
                    Some(case_id),
                    "reminder",
                    &format!("案件 {number} 即将到期"),
                    &format!("处置时限 {when}，请及时处置并反馈。"),
                )
                .await?;
                event(
                    &mut tx,
                    case_id,
                    now,
                    "remind",
                    &json!({"by": "scheduler", "deadline": when}),
                )
                .await?;
            }
            "escalate_unit" => {
                notify::post(
                    &state.db,
                    &mut tx,
                    now,
                    &format!("unit:{unit}"),
                    Some(case_id),
                    "overdue",
                    &format!("案件 {number} 已超期"),
                    &format!("处置时限 {when} 已过。"),
                )
                .await?;
                notify::post(
                    &state.db,
                    &mut tx,
                    now,
                    &format!("leaders:{unit}"),
                    Some(case_id),
                    "escalation",
                    &format!("超期升级：案件 {number}"),
                    &format!("本单位案件已超过处置时限 {when}。"),
                )
                .await?;
                event(
                    &mut tx,
                    case_id,
                    now,
                    "escalate",
                    &json!({"level": 1, "to": format!("leaders:{unit}")}),
                )
                .await?;
            }
            "escalate_street" => {
                let street = p["street"].as_str().unwrap_or_default();
                notify::post(
                    &state.db,
                    &mut tx,
                    now,
                    &format!("leaders:{street}"),
                    Some(case_id),
                    "escalation",
                    &format!("超期升级至街道：案件 {number}"),
                    &format!("{unit} 超过处置时限 {when} 仍未反馈。"),
                )
                .await?;
                sqlx::query("UPDATE cases SET supervised = 1 WHERE id = $1")
                    .bind(case_id)
                    .execute(tx.conn())
                    .await?;
                event(
                    &mut tx,
                    case_id,
                    now,
                    "escalate",
                    &json!({"level": 2, "to": format!("leaders:{street}")}),
                )
                .await?;
            }
            "summon_overdue" => {
                notify::post(
                    &state.db,
                    &mut tx,
                    now,
                    &format!("unit:{unit}"),
                    Some(case_id),
                    "summons_overdue",
                    &format!("吹哨报到超时：案件 {number}"),
                    "请立即报到。",
                )
                .await?;
                if let Some(street) = opt_text(&case, "street_code")? {
                    notify::post(
                        &state.db,
                        &mut tx,
                        now,
                        &format!("leaders:{street}"),
                        Some(case_id),
                        "summons_overdue",
                        &format!("吹哨报到超时：案件 {number}"),
                        &format!("{unit} 未按时报到。"),
                    )
                    .await?;
                }
                event(
                    &mut tx,
                    case_id,
                    now,
                    "summons_overdue",
                    &json!({"unit": unit}),
                )
                .await?;
            }
            _ => {}
        }
    }
    audit::append(
        &mut tx,
        &Actor::system("scheduler"),
        &format!("job.{kind}"),
        &format!("case:{case_id}"),
        p,
        (!relevant).then_some("moot"),
    )
    .await?;
    tx.commit().await?;
    Ok(relevant)
}

/// Sends one SMS through the webhook; a failure is retried later with a growing delay.
async fn deliver_sms(
    state: &AppState,
    id: &str,
    case_id: Option<&str>,
    p: &Value,
    attempts: i64,
    now: i64,
) -> Result<bool> {
    let Some(url) = state.config.notify_webhook_url.clone() else {
        return settle(state, id, "sms", now, "no webhook configured").await;
    };
    let row = sqlx::query("SELECT number, reporter_phone FROM cases WHERE id = $1")
        .bind(case_id.unwrap_or_default())
        .fetch_optional(state.db.pool())
        .await?;
    let (number, phone) = match row {
        Some(r) => (
            r.try_get::<String, _>("number")?,
            opt_text(&r, "reporter_phone")?
                .map(|s| state.sealer.open(&s))
                .transpose()?,
        ),
        None => (String::new(), None),
    };
    let Some(phone) = phone else {
        return settle(state, id, "sms", now, "no phone").await;
    };
    let body = json!({"to": phone, "text": p["text"], "case_number": number});
    let sent = reqwest::Client::new()
        .post(&url)
        .timeout(Duration::from_secs(10))
        .json(&body)
        .send()
        .await;
    let sent = match sent {
        Ok(r) if r.status().is_success() => notify::Sent::Delivered,
        Ok(r) => notify::Sent::Transient(format!("gateway answered {}", r.status())),
        Err(e) => notify::Sent::Transient(e.to_string()),
    };
    delivered(
        state,
        Delivery {
            id,
            kind: "sms",
            attempts,
            now,
            data: json!({"case": case_id}),
        },
        sent,
    )
    .await
}

/// Closes a job with an outcome and its audit entry, unless another runner already did.
async fn settle(state: &AppState, id: &str, kind: &str, now: i64, why: &str) -> Result<bool> {
    let mut tx = state.db.begin_write().await?;
    if claim(&mut tx, id, now, why).await? {
        audit::append(
            &mut tx,
            &Actor::system("scheduler"),
            &format!("job.{kind}"),
            &format!("job:{id}"),
            &json!({"delivered": false}),
            Some(why),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(false)
}

/// Mails one notice to one user; the address is decrypted here, at send time, and never logged.
async fn deliver_email(
    state: &AppState,
    id: &str,
    case_id: Option<&str>,
    p: &Value,
    attempts: i64,
    now: i64,
) -> Result<bool> {
    let smtp = match state.config.smtp() {
        Ok(Some(smtp)) => smtp,
        Ok(None) => return settle(state, id, "email", now, "no smtp configured").await,
        Err(e) => return settle(state, id, "email", now, &e.to_string()).await,
    };
    let user = p["user"].as_str().unwrap_or_default();
    let address = sqlx::query("SELECT email FROM users WHERE id = $1 AND disabled = 0")
        .bind(user)
        .fetch_optional(state.db.pool())
        .await?
        .map(|r| opt_text(&r, "email"))
        .transpose()?
        .flatten()
        .map(|sealed| state.sealer.open(&sealed))
        .transpose()?;
    let Some(to) = address else {
        return settle(state, id, "email", now, "no email on record").await;
    };
    let number = match case_id {
        Some(c) => sqlx::query("SELECT number FROM cases WHERE id = $1")
            .bind(c)
            .fetch_optional(state.db.pool())
            .await?
            .map(|r| r.try_get::<String, _>(0))
            .transpose()?,
        None => None,
    };
    let subject = p["subject"].as_str().unwrap_or_default();
    let mut text = p["text"].as_str().unwrap_or_default().to_string();
    if let Some(n) = &number {
        text.push_str(&format!("\n\n案件编号：{n}"));
    }
    text.push_str("\n\n请登录共治平台查看详情。此邮件由系统自动发送，请勿直接回复。\n");
    let mail = notify::Mail {
        to,
        subject: format!("【共治】{subject}"),
        text,
    };
    let sent = notify::send_mail(&smtp, &mail).await;
    delivered(
        state,
        Delivery {
            id,
            kind: "email",
            attempts,
            now,
            data: json!({"case": case_id, "user": user}),
        },
        sent,
    )
    .await
}

/// One attempt at an outside delivery (SMS, email).
struct Delivery<'a> {
    id: &'a str,
    kind: &'a str,
    attempts: i64,
    now: i64,
    /// What the audit entry records (never the phone number or address).
    data: Value,
}

/// Records how an attempt went: done when delivered or hopeless, otherwise retried later with
/// a growing delay, up to `MAX_ATTEMPTS`.
async fn delivered(state: &AppState, d: Delivery<'_>, sent: notify::Sent) -> Result<bool> {
    let actor = Actor::system("scheduler");
    let Delivery {
        id,
        kind,
        attempts,
        now,
        mut data,
    } = d;
    let entity = format!("job:{id}");
    let mut tx = state.db.begin_write().await?;
    let gave_up = match sent {
        notify::Sent::Delivered => None,
        notify::Sent::Permanent(why) => Some(format!("gave up: {why}")),
        notify::Sent::Transient(why) if attempts + 1 >= MAX_ATTEMPTS => {
            Some(format!("gave up after {} attempts: {why}", attempts + 1))
        }
        notify::Sent::Transient(why) => {
            let delay = 30_000 * (1_i64 << attempts.min(10));
            sqlx::query("UPDATE jobs SET attempts = attempts + 1, due_at = $1, outcome = $2 WHERE id = $3 AND done_at IS NULL")
                .bind(now + delay)
                .bind(&why)
                .bind(id)
                .execute(tx.conn())
                .await?;
            audit::append(
                &mut tx,
                &actor,
                &format!("job.{kind}_retry"),
                &entity,
                &json!({"attempt": attempts + 1}),
                Some(&why),
            )
            .await?;
            tx.commit().await?;
            return Err(Error::internal(format!(
                "{kind} delivery failed, retrying: {why}"
            )));
        }
    };
    let outcome = gave_up.as_deref().unwrap_or("delivered");
    if !claim(&mut tx, id, now, outcome).await? {
        return Ok(false);
    }
    data["delivered"] = json!(gave_up.is_none());
    audit::append(
        &mut tx,
        &actor,
        &format!("job.{kind}"),
        &entity,
        &data,
        gave_up.as_deref(),
    )
    .await?;
    tx.commit().await?;
    Ok(gave_up.is_none())
}
