//! The cases module's durable jobs, done by the core's job runner (`gongzhi_core::jobs`):
//! reminders before a handling deadline, escalation after it (to the unit's leaders, then the
//! street's), summons report-in checks, and SMS to reporters. Each is about a case (subject
//! `case:ID`) and is done in one audited transaction that claims it. An SMS is claimed after it
//! went out, so two runners racing on one may both send it: at least once.

mod store;

use serde_json::{json, Value};

use gongzhi_core::db::WriteTx;
use gongzhi_core::identity::Actor;
use gongzhi_core::jobs;
use gongzhi_core::module::{Job, JobKind, SubjectKind};
use gongzhi_core::notify;
use gongzhi_core::state::AppState;
use gongzhi_core::time::format_ms;
use gongzhi_core::timeline::{self, Timeline};
use gongzhi_core::{audit, Result};

/// The kinds of job the module schedules.
pub const JOB_KINDS: &[JobKind] = &[
    JobKind {
        kind: "remind_handle",
        handler: |state, job| Box::pin(case_job(state, job)),
    },
    JobKind {
        kind: "escalate_unit",
        handler: |state, job| Box::pin(case_job(state, job)),
    },
    JobKind {
        kind: "escalate_street",
        handler: |state, job| Box::pin(case_job(state, job)),
    },
    JobKind {
        kind: "summon_overdue",
        handler: |state, job| Box::pin(case_job(state, job)),
    },
    JobKind {
        kind: "sms",
        handler: |state, job| Box::pin(deliver_sms(state, job)),
    },
];

/// A case is known to a person by its number.
pub const SUBJECTS: &[SubjectKind] = &[SubjectKind {
    prefix: "case",
    label: "案件编号",
    reference: |db, id| {
        Box::pin(async move {
            let case = store::case_named(db, id).await?;
            Ok(case
                .filter(|(found, _)| found == id)
                .map(|(_, number)| number))
        })
    },
    find: |db, named| {
        Box::pin(async move { Ok(store::case_named(db, named).await?.map(|(id, _)| id)) })
    },
}];

/// A case's history (`case_events`).
pub const TIMELINE: Timeline = Timeline {
    table: "case_events",
    subject_column: "case_id",
};

fn subject(case_id: &str) -> String {
    format!("case:{case_id}")
}

/// Queues a job about a case.
pub async fn schedule(
    tx: &mut WriteTx,
    kind: &str,
    case_id: Option<&str>,
    due_at: i64,
    payload: &Value,
) -> Result<()> {
    let subject = case_id.map(subject);
    jobs::schedule(tx, kind, subject.as_deref(), due_at, payload).await
}

/// Whether a job of `kind` about the case with this payload was ever queued.
pub async fn is_scheduled(
    tx: &mut WriteTx,
    kind: &str,
    case_id: &str,
    payload: &Value,
) -> Result<bool> {
    jobs::is_scheduled(tx, kind, &subject(case_id), payload).await
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

/// Queues an SMS to the case's reporter through the webhook (the phone is read, decrypted, only
/// when the message is sent).
pub async fn queue_sms(tx: &mut WriteTx, at: i64, case_id: &str, text: &str) -> Result<()> {
    schedule(tx, "sms", Some(case_id), at, &json!({"text": text})).await
}

fn case_of(job: &Job) -> &str {
    job.subject
        .as_deref()
        .and_then(|s| s.strip_prefix("case:"))
        .unwrap_or_default()
}

/// One notice of a case job: (inbox, kind, title, body).
type Notice = (String, &'static str, String, String);

/// What a due reminder, escalation or summons check tells whom, and the case history's step.
fn notices(kind: &str, case: &store::CaseNow, p: &Value) -> (Vec<Notice>, &'static str, Value) {
    let number = &case.number;
    let unit = p["unit"].as_str().unwrap_or_default();
    let when = p["deadline"].as_i64().map(format_ms).unwrap_or_default();
    match kind {
        "remind_handle" => (
            vec![(
                format!("unit:{unit}"),
                "reminder",
                format!("案件 {number} 即将到期"),
                format!("处置时限 {when}，请及时处置并反馈。"),
            )],
            "remind",
            json!({"by": "scheduler", "deadline": when}),
        ),
        "escalate_unit" => (
            vec![
                (
                    format!("unit:{unit}"),
                    "overdue",
                    format!("案件 {number} 已超期"),
                    format!("处置时限 {when} 已过。"),
                ),
                (
                    format!("leaders:{unit}"),
                    "escalation",
                    format!("超期升级：案件 {number}"),
                    format!("本单位案件已超过处置时限 {when}。"),
                ),
            ],
            "escalate",
            json!({"level": 1, "to": format!("leaders:{unit}")}),
        ),
        "escalate_street" => {
            let street = p["street"].as_str().unwrap_or_default();
            (
                vec![(
                    format!("leaders:{street}"),
                    "escalation",
                    format!("超期升级至街道：案件 {number}"),
                    format!("{unit} 超过处置时限 {when} 仍未反馈。"),
                )],
                "escalate",
                json!({"level": 2, "to": format!("leaders:{street}")}),
            )
        }
        _ => {
            let title = format!("吹哨报到超时：案件 {number}");
            let mut v = vec![(
                format!("unit:{unit}"),
                "summons_overdue",
                title.clone(),
                "请立即报到。".to_string(),
            )];
            if let Some(street) = &case.street_code {
                v.push((
                    format!("leaders:{street}"),
                    "summons_overdue",
                    title,
                    format!("{unit} 未按时报到。"),
                ));
            }
            (v, "summons_overdue", json!({"unit": unit}))
        }
    }
}

/// A reminder, escalation or summons check: done when the case still waits on what it is
/// about, moot otherwise.
async fn case_job(state: &AppState, job: &Job) -> Result<bool> {
    let (id, kind, p, now) = (&job.id, job.kind.as_str(), &job.payload, job.now);
    let case_id = case_of(job);
    let mut tx = state.db.begin_write().await?;
    let Some(case) = store::case_now(&mut tx, case_id).await? else {
        jobs::claim(&mut tx, id, now, "case gone").await?;
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
    let unit = p["unit"].as_str().unwrap_or_default();
    let open_for_unit = matches!(case.status.as_str(), "dispatched" | "signed" | "on_hold")
        && case.unit_code.as_deref() == Some(unit)
        && !case.reported_back;
    let relevant = match kind {
        "remind_handle" | "escalate_unit" | "escalate_street" => {
            open_for_unit && case.handle_deadline == p["deadline"].as_i64()
        }
        "summon_overdue" => store::summons_waiting(&mut tx, case_id, unit).await?,
        _ => false,
    };
    if !jobs::claim(&mut tx, id, now, if relevant { "done" } else { "moot" }).await? {
        return Ok(false);
    }
    if relevant {
        let (notices, step, data) = notices(kind, &case, p);
        for (to, what, title, body) in notices {
            notify::post(
                &state.db,
                &mut tx,
                now,
                &to,
                Some(&format!("case:{case_id}")),
                what,
                &title,
                &body,
            )
            .await?;
        }
        if kind == "escalate_street" {
            store::supervise(&mut tx, case_id).await?;
        }
        let who = "system:scheduler";
        timeline::record(&mut tx, &TIMELINE, case_id, now, who, step, None, &data).await?;
        crate::store::cases_moved(&mut tx).await?;
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
async fn deliver_sms(state: &AppState, job: &Job) -> Result<bool> {
    let Some(url) = state.config.notify_webhook_url.clone() else {
        return jobs::settle(state, job, "no webhook configured").await;
    };
    let case_id = case_of(job);
    let (number, phone) = match store::reporter_of(&state.db, case_id).await? {
        Some((number, sealed)) => (number, sealed.map(|s| state.sealer.open(&s)).transpose()?),
        None => (String::new(), None),
    };
    let Some(phone) = phone else {
        return jobs::settle(state, job, "no phone").await;
    };
    let body = json!({"to": phone, "text": job.payload["text"], "case_number": number});
    let sent = notify::send_sms(&url, &body).await;
    let case = job.subject.as_ref().map(|_| case_id);
    notify::delivered(state, job, json!({"case": case}), sent).await
}
