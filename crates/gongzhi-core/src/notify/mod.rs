//! Notifications, a platform service: people hear about what is theirs. An in-app inbox for
//! everyone; email over SMTP (when configured) to every user behind an inbox who has an address
//! on record; and a webhook for an SMS gateway (the cases module reaches reporters who are not
//! users through it). Mail and SMS are durable jobs written with the notice and delivered by the
//! job runner, retried until they go through. Recipients are `user:ID`, `unit:CODE` (the people
//! assigned to it) or `leaders:CODE` (leaders scoped to that area or unit).

mod store;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::db::{Db, WriteTx};
use crate::identity::{Actor, Role};
use crate::module::{subject_kind, Job, JobKind};
use crate::state::AppState;
use crate::{audit, jobs, Error, Result};

pub use store::{MIGRATION, SUBJECT_MIGRATION};

/// A delivery is given up after this many failed attempts.
const MAX_ATTEMPTS: i64 = 8;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Notification {
    pub id: String,
    /// The record the notice is about, as `prefix:id` (a module's declared subject kind,
    /// e.g. `case:…`); the module that owns it says what it is.
    pub subject: Option<String>,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub created_at: String,
    pub read: bool,
}

/// Whether this database's notices are also mailed: set once by the server that starts the job
/// runner, from its configuration (commands like `import` never mail).
#[derive(Default)]
struct Mailing(AtomicBool);

pub fn set_mailing(db: &Db, on: bool) {
    db.extension(Mailing::default)
        .0
        .store(on, Ordering::Relaxed);
}

fn mailing(db: &Db) -> bool {
    db.extension(Mailing::default).0.load(Ordering::Relaxed)
}

/// Puts a notification in an inbox inside the caller's transaction and, when mail is on, queues
/// one email per person behind that inbox who has an address on record (the address itself is
/// read and decrypted only when the mail is sent).
#[allow(clippy::too_many_arguments)]
pub async fn post(
    db: &Db,
    tx: &mut WriteTx,
    at: i64,
    recipient: &str,
    subject: Option<&str>,
    kind: &str,
    title: &str,
    body: &str,
) -> Result<()> {
    store::insert(tx, at, recipient, subject, kind, title, body).await?;
    if mailing(db) {
        for user in store::with_email(tx, recipient).await? {
            jobs::schedule(
                tx,
                "email",
                subject,
                at,
                &json!({"user": user, "subject": title, "text": body}),
            )
            .await?;
        }
    }
    Ok(())
}

/// The job kinds notifications bring: mailing a notice.
pub const JOB_KINDS: &[JobKind] = &[JobKind {
    kind: "email",
    handler: |state, job| Box::pin(deliver_email(state, job)),
}];

/// Switches mail on when the relay is configured (the server that runs the job runner).
pub fn start_mailing(state: &AppState) {
    let mailing = match state.config.smtp() {
        Ok(smtp) => smtp.is_some(),
        Err(e) => {
            tracing::error!(error = %e, "email notifications are off");
            false
        }
    };
    set_mailing(&state.db, mailing);
}

/// Mails one notice to one user; the address is decrypted here, at send time, and never logged.
/// A notice about a record ends with the record's reference (the case number).
async fn deliver_email(state: &AppState, job: &Job) -> Result<bool> {
    let smtp = match state.config.smtp() {
        Ok(Some(smtp)) => smtp,
        Ok(None) => return jobs::settle(state, job, "no smtp configured").await,
        Err(e) => return jobs::settle(state, job, &e.to_string()).await,
    };
    let p = &job.payload;
    let user = p["user"].as_str().unwrap_or_default();
    let address = store::email_of(&state.db, user)
        .await?
        .map(|sealed| state.sealer.open(&sealed))
        .transpose()?;
    let Some(to) = address else {
        return jobs::settle(state, job, "no email on record").await;
    };
    let reference = match job.subject.as_deref().and_then(subject_kind) {
        Some((kind, id)) => (kind.reference)(&state.db, id)
            .await?
            .map(|r| format!("\n\n{}：{r}", kind.label)),
        None => None,
    };
    let subject = p["subject"].as_str().unwrap_or_default();
    let mut text = p["text"].as_str().unwrap_or_default().to_string();
    text.push_str(&reference.unwrap_or_default());
    text.push_str("\n\n请登录共治平台查看详情。此邮件由系统自动发送，请勿直接回复。\n");
    let mail = Mail {
        to,
        subject: format!("【共治】{subject}"),
        text,
    };
    let sent = send_mail(&smtp, &mail).await;
    let case = job.subject.as_deref().and_then(|s| s.strip_prefix("case:"));
    delivered(state, job, json!({"case": case, "user": user}), sent).await
}

/// Posts one SMS to the gateway's webhook as `body` (JSON).
pub async fn send_sms(url: &str, body: &Value) -> Sent {
    let sent = reqwest::Client::new()
        .post(url)
        .timeout(Duration::from_secs(10))
        .json(body)
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => Sent::Delivered,
        Ok(r) => Sent::Transient(format!("gateway answered {}", r.status())),
        Err(e) => Sent::Transient(e.to_string()),
    }
}

/// Records how an attempt at an outside delivery (SMS, email) went: done when delivered or
/// hopeless, otherwise retried later with a growing delay, up to `MAX_ATTEMPTS`. `data` is what
/// the audit entry records (never the phone number or address).
pub async fn delivered(state: &AppState, job: &Job, mut data: Value, sent: Sent) -> Result<bool> {
    let actor = Actor::system("scheduler");
    let (id, kind, attempts, now) = (&job.id, &job.kind, job.attempts, job.now);
    let entity = format!("job:{id}");
    let mut tx = state.db.begin_write().await?;
    let gave_up = match sent {
        Sent::Delivered => None,
        Sent::Permanent(why) => Some(format!("gave up: {why}")),
        Sent::Transient(why) if attempts + 1 >= MAX_ATTEMPTS => {
            Some(format!("gave up after {} attempts: {why}", attempts + 1))
        }
        Sent::Transient(why) => {
            let delay = 30_000 * (1_i64 << attempts.min(10));
            jobs::retry_at(&mut tx, id, now + delay, &why).await?;
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
    if !jobs::claim(&mut tx, id, now, outcome).await? {
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

/// An email ready for the relay: the sender and recipient as configured and on record.
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// What became of one attempt at the relay.
pub enum Sent {
    Delivered,
    /// Worth trying again later (relay down, busy, 4xx).
    Transient(String),
    /// Will never go through as it stands (bad address, 5xx).
    Permanent(String),
}

/// Hands one email to the relay, over TLS when the URL asks for it (see `Config::notify_smtp_url`).
pub async fn send_mail(smtp: &crate::config::Smtp, mail: &Mail) -> Sent {
    use lettre::message::header::ContentType;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let parse = |what: &str, v: &str| {
        v.parse::<lettre::message::Mailbox>()
            .map_err(|e| format!("{what} is not a mailbox ({e})"))
    };
    let message = parse("the sender", &smtp.from).and_then(|from| {
        let to = parse("the recipient's address", &mail.to)?;
        Message::builder()
            .from(from)
            .to(to)
            .subject(mail.subject.as_str())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.text.clone())
            .map_err(|e| e.to_string())
    });
    let message = match message {
        Ok(m) => m,
        Err(why) => return Sent::Permanent(why),
    };
    use crate::config::SmtpTls;
    use lettre::transport::smtp::client::{Tls, TlsParameters};
    let tls = match smtp.tls {
        SmtpTls::None => Ok(Tls::None),
        SmtpTls::Opportunistic => TlsParameters::new(smtp.host.clone()).map(Tls::Opportunistic),
        SmtpTls::StartTls => TlsParameters::new(smtp.host.clone()).map(Tls::Required),
        SmtpTls::Wrapper => TlsParameters::new(smtp.host.clone()).map(Tls::Wrapper),
    };
    let tls = match tls {
        Ok(t) => t,
        Err(e) => return Sent::Permanent(format!("the relay's TLS settings: {e}")),
    };
    let mut relay = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
        .port(smtp.port)
        .tls(tls)
        .timeout(Some(std::time::Duration::from_secs(20)));
    if let Some((user, password)) = &smtp.credentials {
        relay = relay.credentials(Credentials::new(user.clone(), password.clone()));
    }
    match relay.build().send(message).await {
        Ok(_) => Sent::Delivered,
        Err(e) if e.is_permanent() => Sent::Permanent(format!("the relay refused: {e}")),
        Err(e) => Sent::Transient(format!("the relay: {e}")),
    }
}

/// The inboxes an actor reads: their own, their units', and as a leader their scopes'.
fn inboxes(actor: &Actor) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(id) = &actor.user_id {
        out.push(format!("user:{id}"));
    }
    for a in &actor.assignments {
        if let Some(u) = &a.unit {
            out.push(format!("unit:{u}"));
        }
        if a.role == Role::LEADER {
            for scope in [&a.area, &a.unit].into_iter().flatten() {
                out.push(format!("leaders:{scope}"));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

pub async fn for_actor(db: &Db, actor: &Actor, limit: i64) -> Result<Vec<Notification>> {
    let boxes = inboxes(actor);
    if boxes.is_empty() {
        return Ok(vec![]);
    }
    store::in_inboxes(db, &boxes, limit.clamp(1, 500)).await
}
