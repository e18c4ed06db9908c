//! Email notifications against a local SMTP listener the test starts itself.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use gongzhi_core::time::ManualClock;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::both;
use crate::cases::{desk_on, new_case, Desk, IN_STREET_1};
use crate::helpers::*;
use crate::platform::jobs::{dispatched, until};
use gongzhi_core::db::query;

/// One message as the relay received it.
#[derive(Debug, Clone)]
struct Received {
    from: String,
    to: Vec<String>,
    data: String,
}

impl Received {
    fn headers(&self) -> &str {
        self.data.split("\r\n\r\n").next().unwrap_or_default()
    }

    /// The header's value, unfolded and with RFC 2047 encoded words decoded.
    fn header(&self, name: &str) -> Option<String> {
        let mut value: Option<String> = None;
        for line in self.headers().split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(v) = value.as_mut() {
                    v.push_str(line);
                }
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case(name) {
                    value = Some(v.trim().to_string());
                }
            }
        }
        value.map(|v| decode_words(&v))
    }

    fn subject(&self) -> String {
        self.header("Subject").unwrap_or_default()
    }

    fn body(&self) -> String {
        let raw = self
            .data
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or("");
        match self
            .header("Content-Transfer-Encoding")
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str()
        {
            "base64" => {
                let joined: String = raw.split_whitespace().collect();
                String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(joined)
                        .unwrap(),
                )
                .unwrap()
            }
            "quoted-printable" => quoted_printable(raw),
            _ => raw.to_string(),
        }
    }
}

fn quoted_printable(s: &str) -> String {
    let s = s.replace("=\r\n", "");
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match (b[i], s.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16))) {
            (b'=', Some(Ok(byte))) => {
                out.push(byte);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// Decodes `=?utf-8?b?…?=` and `=?utf-8?q?…?=` words; the space between two encoded words goes.
fn decode_words(v: &str) -> String {
    let mut out = String::new();
    let mut last_encoded = false;
    for (i, word) in v.split_whitespace().enumerate() {
        let encoded = word
            .strip_prefix("=?")
            .and_then(|w| w.strip_suffix("?="))
            .and_then(|w| {
                let mut parts = w.splitn(3, '?');
                let (_charset, enc, text) = (parts.next()?, parts.next()?, parts.next()?);
                let bytes = match enc {
                    "b" | "B" => base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .ok()?,
                    "q" | "Q" => quoted_printable(&text.replace('_', " ")).into_bytes(),
                    _ => return None,
                };
                String::from_utf8(bytes).ok()
            });
        if i > 0 && !(last_encoded && encoded.is_some()) {
            out.push(' ');
        }
        last_encoded = encoded.is_some();
        out.push_str(&encoded.unwrap_or_else(|| word.to_string()));
    }
    out
}

/// A mail relay on loopback that speaks enough of RFC 5321 and keeps what it is given.
#[derive(Clone, Default)]
pub(crate) struct Relay {
    received: Arc<Mutex<Vec<Received>>>,
}

impl Relay {
    fn to(&self, address: &str) -> Vec<Received> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.to.iter().any(|t| t == address))
            .cloned()
            .collect()
    }
    pub(crate) fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

async fn relay_on(listener: TcpListener) -> Relay {
    let relay = Relay::default();
    let r = relay.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let r = r.clone();
            tokio::spawn(async move {
                let _ = session(stream, r).await;
            });
        }
    });
    relay
}

pub(crate) async fn relay() -> (Relay, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    (relay_on(listener).await, url)
}

fn address(arg: &str) -> String {
    let a = arg.trim();
    let a = a.split_once('>').map(|(a, _)| a).unwrap_or(a);
    a.trim_start_matches('<').to_string()
}

async fn session(stream: TcpStream, relay: Relay) -> std::io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 relay.test ESMTP\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = Vec::new();
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let cmd = String::from_utf8_lossy(&line).trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-relay.test\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("HELO") {
            b"250 relay.test\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&cmd[10..]);
            to.clear();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&cmd[8..]));
            b"250 OK\r\n"
        } else if upper == "DATA" {
            w.write_all(b"354 end with .\r\n").await?;
            let mut data = Vec::new();
            loop {
                line.clear();
                if r.read_until(b'\n', &mut line).await? == 0 {
                    return Ok(());
                }
                if line == b".\r\n" {
                    break;
                }
                let l = if line.starts_with(b"..") {
                    &line[1..]
                } else {
                    &line[..]
                };
                data.extend_from_slice(l);
            }
            relay.received.lock().unwrap().push(Received {
                from: from.clone(),
                to: std::mem::take(&mut to),
                data: String::from_utf8_lossy(&data).to_string(),
            });
            b"250 OK queued\r\n"
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 OK\r\n"
        } else if upper == "QUIT" {
            w.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 not implemented\r\n"
        };
        w.write_all(reply).await?;
    }
}

const FROM: &str = "共治平台 <noreply@gongzhi.test>";

/// A user with an email address on record, created through the API; returns a token.
async fn user_with_email(
    app: &TestApp,
    username: &str,
    role: &str,
    unit: Option<&str>,
    email: &str,
) -> String {
    let admin = app.admin().await;
    let password = format!("{username}-password");
    let (status, body) = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({"username": username, "password": password, "email": email,
                    "assignments": [{"role": role, "area": null, "unit": unit}]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    app.token(username, &password).await
}

async fn number_of(d: &Desk, id: &str) -> String {
    let (_, c) = d
        .app
        .get(&format!("/api/v1/cases/{id}"), Some(&d.admin))
        .await;
    c["number"].as_str().unwrap().to_string()
}

async fn audit_actions(d: &Desk) -> Vec<String> {
    let (_, log) = d.app.get("/api/v1/audit?limit=1000", Some(&d.admin)).await;
    log.as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

async fn email_reaches_the_unit_and_the_reporter_at_each_step(backend: Backend) {
    let (relay, url) = relay().await;
    let clock = Arc::new(ManualClock::new(gongzhi_core::time::now_ms()));
    let app = TestApp::spawn_with_clock(
        backend,
        |c| {
            c.notify_smtp_url = Some(url);
            c.notify_smtp_from = Some(FROM.into());
        },
        clock.clone(),
    )
    .await;
    let d = desk_on(app).await;
    user_with_email(
        &d.app,
        "water_mail",
        "handler",
        Some("110102-sw"),
        "water@sw.test",
    )
    .await;
    user_with_email(
        &d.app,
        "urban_mail",
        "handler",
        Some("110102-cg"),
        "urban@cg.test",
    )
    .await;
    let resident = user_with_email(&d.app, "res_mail", "resident", None, "res@example.test").await;
    let mut body = new_case("C0101", IN_STREET_1);
    body["channel"] = json!("web");
    let id = dispatched(&d, &body, &resident).await;
    let number = number_of(&d, &id).await;

    // Steps take the wall clock; the scheduler's clock catches up and the mail goes out.
    clock.advance_ms(60_000);
    assert!(
        until(|| async { relay.count() >= 2 }).await,
        "the unit's handler and the reporter are mailed at dispatch"
    );
    let water = relay.to("water@sw.test");
    assert_eq!(water.len(), 1, "{water:?}");
    assert_eq!(water[0].from, "noreply@gongzhi.test");
    assert_eq!(water[0].subject(), format!("【共治】新派遣案件 {number}"));
    assert!(water[0].body().contains("处置时限"), "{}", water[0].body());
    assert!(water[0].body().contains(&format!("案件编号：{number}")));
    let mine = relay.to("res@example.test");
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0].subject(), format!("【共治】诉求 {number} 办理进展"));
    assert!(mine[0].body().contains("已派遣"), "{}", mine[0].body());
    assert!(
        relay.to("urban@cg.test").is_empty(),
        "another unit hears nothing"
    );

    d.ok(&d.water, &id, "sign", json!({})).await;
    d.ok(&d.water, &id, "report_back", json!({"note": "已更换井盖"}))
        .await;
    d.ok(&d.grid_worker, &id, "verify", json!({"passed": true}))
        .await;
    d.ok(&d.dispatcher, &id, "close", json!({})).await;
    clock.advance_ms(60_000);
    assert!(
        until(|| async { relay.to("res@example.test").len() >= 2 }).await,
        "the reporter is mailed at completion"
    );
    assert!(relay.to("res@example.test")[1].body().contains("已办结"));

    d.ok(
        &d.operator,
        &id,
        "call_back",
        json!({"contacted": true, "resolved": true, "satisfaction": "satisfied"}),
    )
    .await;
    clock.advance_ms(60_000);
    assert!(
        until(|| async { relay.to("res@example.test").len() >= 3 }).await,
        "the reporter is mailed at the callback"
    );
    let mine = relay.to("res@example.test");
    assert!(mine[2].body().contains("感谢您"), "{}", mine[2].body());
    assert!(mine
        .iter()
        .all(|m| m.subject() == format!("【共治】诉求 {number} 办理进展")));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(relay.to("res@example.test").len(), 3, "each mailed once");
    assert_eq!(relay.to("water@sw.test").len(), 1);
    assert_eq!(relay.count(), 4, "nobody else is mailed");
    let actions = audit_actions(&d).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "job.email").count(),
        4,
        "{actions:?}"
    );
    let out = d.app.cli(&["audit", "verify"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
both!(email_reaches_the_unit_and_the_reporter_at_each_step);

async fn nothing_is_mailed_without_smtp(backend: Backend) {
    let (relay, _url) = relay().await;
    let clock = Arc::new(ManualClock::new(gongzhi_core::time::now_ms()));
    let app = TestApp::spawn_with_clock(backend, |_| {}, clock.clone()).await;
    let d = desk_on(app).await;
    user_with_email(
        &d.app,
        "water_mail",
        "handler",
        Some("110102-sw"),
        "water@sw.test",
    )
    .await;
    let resident = user_with_email(&d.app, "res_mail", "resident", None, "res@example.test").await;
    let mut body = new_case("C0101", IN_STREET_1);
    body["channel"] = json!("web");
    let id = dispatched(&d, &body, &resident).await;
    clock.advance_ms(60_000);
    let water = d
        .app
        .get("/api/v1/me/notifications", Some(&d.water))
        .await
        .1;
    assert!(
        water
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["case_id"] == id.as_str()),
        "the inbox still hears: {water}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(relay.count(), 0);
    let queued: i64 = query("SELECT COUNT(*) FROM jobs WHERE kind = 'email'")
        .fetch_one(d.app.db.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(queued, 0, "no email is even queued");
}
both!(nothing_is_mailed_without_smtp);

async fn a_relay_that_is_down_gets_the_mail_when_it_is_back(backend: Backend) {
    // A port with nothing listening on it, for now.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let clock = Arc::new(ManualClock::new(gongzhi_core::time::now_ms()));
    let app = TestApp::spawn_with_clock(
        backend,
        |c| {
            c.notify_smtp_url = Some(format!("smtp://{addr}"));
            c.notify_smtp_from = Some(FROM.into());
        },
        clock.clone(),
    )
    .await;
    let d = desk_on(app).await;
    let unit_lead = user_with_email(
        &d.app,
        "sw_lead",
        "leader",
        Some("110102-sw"),
        "lead@sw.test",
    )
    .await;
    let id = dispatched(&d, &new_case("C0101", IN_STREET_1), &d.operator).await;
    let number = number_of(&d, &id).await;
    clock.advance_ms(60_000);
    let retried = until(|| async {
        audit_actions(&d)
            .await
            .iter()
            .any(|a| a == "job.email_retry")
    })
    .await;
    assert!(retried, "the first attempt failed and a retry is due");

    let relay = relay_on(tokio::net::TcpListener::bind(addr).await.unwrap()).await;
    clock.advance_ms(10 * 60_000);
    assert!(
        until(|| async { !relay.to("lead@sw.test").is_empty() }).await,
        "delivered once the relay is up"
    );
    let got = relay.to("lead@sw.test");
    assert_eq!(got[0].subject(), format!("【共治】新派遣案件 {number}"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        relay.to("lead@sw.test").len(),
        1,
        "delivered once, not again"
    );
    let inbox = d
        .app
        .get("/api/v1/me/notifications", Some(&unit_lead))
        .await
        .1;
    assert_eq!(inbox.as_array().unwrap().len(), 1, "{inbox}");
}
both!(a_relay_that_is_down_gets_the_mail_when_it_is_back);
