//! Notifications: units and people hear about what is theirs. An in-app inbox for everyone; email
//! over SMTP (when configured) to every user behind an inbox who has an address on record; and a
//! webhook for an SMS gateway to reach reporters who are not users. Mail and SMS are durable jobs
//! written with the notice and delivered by the job runner, retried until they go through.
//! Recipients are `user:ID`, `unit:CODE` (the people assigned to it) or `leaders:CODE` (leaders
//! scoped to that area or unit).

use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use utoipa::ToSchema;

use gongzhi_core::db::{opt_text, Db, WriteTx};
use gongzhi_core::identity::{Actor, Role};
use gongzhi_core::time::format_ms;
use gongzhi_core::Result;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Notification {
    pub id: String,
    pub case_id: Option<String>,
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
    case_id: Option<&str>,
    kind: &str,
    title: &str,
    body: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO notifications (id, recipient, case_id, kind, title, body, created_at, read_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)")
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(recipient)
        .bind(case_id)
        .bind(kind)
        .bind(title)
        .bind(body)
        .bind(at)
        .execute(tx.conn())
        .await?;
    if mailing(db) {
        for user in with_email(tx, recipient).await? {
            crate::jobs::schedule(
                tx,
                "email",
                case_id,
                at,
                &json!({"user": user, "subject": title, "text": body}),
            )
            .await?;
        }
    }
    Ok(())
}

/// The enabled users behind an inbox who have an email address on record.
async fn with_email(tx: &mut WriteTx, recipient: &str) -> Result<Vec<String>> {
    let (sql, key) = match recipient.split_once(':') {
        Some(("user", id)) => (
            "SELECT id FROM users WHERE id = $1 AND email IS NOT NULL AND disabled = 0",
            id,
        ),
        Some(("unit", code)) => (
            "SELECT DISTINCT u.id FROM users u JOIN role_assignments a ON a.user_id = u.id \
             WHERE a.unit_code = $1 AND u.email IS NOT NULL AND u.disabled = 0 ORDER BY u.id",
            code,
        ),
        Some(("leaders", code)) => (
            "SELECT DISTINCT u.id FROM users u JOIN role_assignments a ON a.user_id = u.id \
             WHERE a.role = 'leader' AND (a.area_code = $1 OR a.unit_code = $1) \
             AND u.email IS NOT NULL AND u.disabled = 0 ORDER BY u.id",
            code,
        ),
        _ => return Ok(vec![]),
    };
    let rows = sqlx::query(sql).bind(key).fetch_all(tx.conn()).await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>(0)?))
        .collect()
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
pub async fn send_mail(smtp: &gongzhi_core::config::Smtp, mail: &Mail) -> Sent {
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
    use gongzhi_core::config::SmtpTls;
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

/// Queues an SMS to the case's reporter through the webhook (the phone is read, decrypted, only
/// when the message is sent).
pub async fn queue_sms(tx: &mut WriteTx, at: i64, case_id: &str, text: &str) -> Result<()> {
    crate::jobs::schedule(tx, "sms", Some(case_id), at, &json!({"text": text})).await
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
    let placeholders: Vec<String> = (1..=boxes.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT id, case_id, kind, title, body, created_at, read_at FROM notifications WHERE recipient IN ({}) ORDER BY created_at DESC, id LIMIT {}",
        placeholders.join(", "),
        limit.clamp(1, 500)
    );
    let mut q = sqlx::query(&sql);
    for b in &boxes {
        q = q.bind(b);
    }
    let rows = q.fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok(Notification {
                id: r.try_get("id")?,
                case_id: opt_text(r, "case_id")?,
                kind: r.try_get("kind")?,
                title: r.try_get("title")?,
                body: r.try_get("body")?,
                created_at: format_ms(r.try_get("created_at")?),
                read: r.try_get::<Option<i64>, _>("read_at")?.is_some(),
            })
        })
        .collect()
}
