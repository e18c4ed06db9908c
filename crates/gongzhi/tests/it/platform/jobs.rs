use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gongzhi_core::time::ManualClock;
use serde_json::{json, Value};

use crate::both;
use crate::cases::{desk_on, new_case, Desk, IN_STREET_1};
use crate::helpers::*;
use gongzhi_core::db::query;

/// A local SMS gateway: records every request and fails the first `fail_first` of them.
#[derive(Clone, Default)]
struct Gateway {
    received: Arc<Mutex<Vec<Value>>>,
    fail_first: Arc<Mutex<usize>>,
}

async fn sms(State(g): State<Gateway>, Json(body): Json<Value>) -> StatusCode {
    g.received.lock().unwrap().push(body);
    let mut f = g.fail_first.lock().unwrap();
    if *f > 0 {
        *f -= 1;
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

async fn gateway(fail_first: usize) -> (Gateway, String) {
    let g = Gateway {
        fail_first: Arc::new(Mutex::new(fail_first)),
        ..Default::default()
    };
    let app = axum::Router::new()
        .route("/sms", axum::routing::post(sms))
        .with_state(g.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (g, url)
}

pub async fn until<F: std::future::Future<Output = bool>>(mut check: impl FnMut() -> F) -> bool {
    for _ in 0..100 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn inbox(d: &Desk, token: &str) -> Vec<Value> {
    d.app
        .get("/api/v1/me/notifications", Some(token))
        .await
        .1
        .as_array()
        .unwrap()
        .clone()
}

pub async fn dispatched(d: &Desk, body: &Value, token: &str) -> String {
    let (s, c) = d.create(token, body).await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    d.ok(&d.operator, &id, "accept", json!({})).await;
    d.ok(&d.operator, &id, "file", json!({})).await;
    d.ok(&d.dispatcher, &id, "dispatch", json!({})).await;
    id
}

async fn units_and_reporters_hear_and_sms_is_retried(backend: Backend) {
    let (gw, url) = gateway(1).await;
    let clock = Arc::new(ManualClock::new(gongzhi_core::time::now_ms()));
    let app =
        TestApp::spawn_with_clock(backend, |c| c.notify_webhook_url = Some(url), clock.clone())
            .await;
    let d = desk_on(app).await;
    let mut body = new_case("C0101", IN_STREET_1);
    body["channel"] = json!("web");
    body["reporter"] = json!({"name": "赵六", "phone": "13700002222"});
    let id = dispatched(&d, &body, &d.resident).await;
    let water = inbox(&d, &d.water).await;
    assert!(
        water
            .iter()
            .any(|n| n["kind"] == "dispatch" && n["case_id"] == id.as_str()),
        "{water:?}"
    );
    let mine = inbox(&d, &d.resident).await;
    assert!(
        mine.iter()
            .any(|n| n["kind"] == "progress" && n["body"].as_str().unwrap().contains("已派遣")),
        "{mine:?}"
    );
    assert!(
        inbox(&d, &d.urban).await.is_empty(),
        "other units hear nothing"
    );

    // The SMS is due now by the wall clock; the scheduler's clock catches up, the gateway fails
    // once, and the retry after the back-off delivers it.
    clock.advance_ms(60_000);
    assert!(
        until(|| async { gw.received.lock().unwrap().len() >= 1 }).await,
        "first attempt"
    );
    clock.advance_ms(10 * 60_000);
    assert!(
        until(|| async { gw.received.lock().unwrap().len() >= 2 }).await,
        "retry"
    );
    let got = gw.received.lock().unwrap().clone();
    assert_eq!(got[1]["to"], "13700002222");
    assert!(got[1]["text"].as_str().unwrap().contains("已派遣"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        gw.received.lock().unwrap().len(),
        2,
        "delivered once, not again"
    );
    let (_, log) = d.app.get("/api/v1/audit?limit=1000", Some(&d.admin)).await;
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"job.sms_retry") && actions.contains(&"job.sms"),
        "{actions:?}"
    );
}
both!(units_and_reporters_hear_and_sms_is_retried);

async fn reminders_and_escalations_survive_a_restart(backend: Backend) {
    let start = gongzhi_core::time::now_ms();
    let clock = Arc::new(ManualClock::new(start));
    let app = TestApp::spawn_with_clock(backend, |_| {}, clock.clone()).await;
    let d = desk_on(app).await;
    let unit_leader = d
        .app
        .user_with("lead_sw", "leader", None, Some("110102-sw"))
        .await;
    let street_leader = d
        .app
        .user_with("lead_s1", "leader", Some("110102001"), None)
        .await;
    let late = dispatched(&d, &new_case("C0101", IN_STREET_1), &d.operator).await;
    let on_time = dispatched(&d, &new_case("C0102", IN_STREET_1), &d.operator).await;
    d.ok(&d.water, &on_time, "sign", json!({})).await;
    d.ok(&d.water, &on_time, "report_back", json!({"note": "已处理"}))
        .await;

    // The server goes down; another comes up a month later on the same database.
    d.app.running.stop();
    let later = Arc::new(ManualClock::new(start + 30 * 24 * 3_600_000));
    let again = d.app.serve_again(later).await;
    let get = |id: String| {
        let client = d.app.client.clone();
        let url = format!("{}/api/v1/cases/{id}", again.url());
        let token = d.dispatcher.clone();
        async move {
            client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let escalated = until(|| {
        let f = get(late.clone());
        async move {
            f.await["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["step"] == "escalate" && e["data"]["level"] == 2)
        }
    })
    .await;
    assert!(escalated, "the street escalation ran after the restart");
    let case = get(late.clone()).await;
    let steps: Vec<&str> = case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["step"].as_str().unwrap())
        .collect();
    assert!(
        steps.contains(&"remind") && steps.iter().filter(|s| **s == "escalate").count() == 2,
        "{steps:?}"
    );
    assert_eq!(case["supervised"], true);
    let quiet = get(on_time.clone()).await;
    assert!(
        !quiet["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["step"] == "escalate"),
        "a case reported back in time is not escalated"
    );

    let read = |token: String| {
        let client = d.app.client.clone();
        let url = format!("{}/api/v1/me/notifications", again.url());
        async move {
            client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let water = read(d.water.clone()).await;
    let kinds: Vec<&str> = water
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"reminder") && kinds.contains(&"overdue"),
        "{kinds:?}"
    );
    let unit_lead = read(unit_leader).await;
    assert!(
        unit_lead
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "escalation" && n["case_id"] == late.as_str()),
        "{unit_lead}"
    );
    let street_lead = read(street_leader).await;
    assert!(
        street_lead
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["title"].as_str().unwrap().contains("街道")),
        "{street_lead}"
    );
    // Each job ran once even though two runners shared the database over the test.
    let escalations = case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["step"] == "escalate")
        .count();
    assert_eq!(escalations, 2);
    again.stop();
}
both!(reminders_and_escalations_survive_a_restart);

/// A database made while the cases module owned the job queue, the notifications and the
/// calendar (`cases-0001`, `cases-0002`) upgrades in place: the core's migrations take the
/// tables over with their rows, and a job queued then still runs.
async fn a_database_made_before_the_core_owned_jobs_upgrades_in_place(backend: Backend) {
    let start = gongzhi_core::time::now_ms();
    let clock = Arc::new(ManualClock::new(start));
    let app = TestApp::spawn_with_clock(backend, |_| {}, clock.clone()).await;
    let d = desk_on(app).await;
    let late = dispatched(&d, &new_case("C0101", IN_STREET_1), &d.operator).await;
    d.app.running.stop();
    let db = d.app.db.pool();
    query("INSERT INTO calendar_days (calendar, day, kind, note) VALUES ('old', '2026-10-01', 'holiday', '国庆节')")
        .execute(db)
        .await
        .unwrap();
    // Back to the schema before: the queue says `case_id`, and the core's migrations are new.
    for stmt in [
        "ALTER TABLE jobs RENAME COLUMN subject TO case_id",
        "UPDATE jobs SET case_id = substr(case_id, 6) WHERE case_id IS NOT NULL",
        "DELETE FROM schema_migrations WHERE id IN ('core-0006-calendar', 'core-0007-jobs', 'core-0008-notifications')",
        "INSERT INTO schema_migrations (id, applied_at) VALUES ('cases-0002-jobs-notifications', 0)",
    ] {
        query(stmt).execute(db).await.unwrap();
    }
    let (jobs, notices, days) = (
        d.app.count("jobs").await,
        d.app.count("notifications").await,
        d.app.count("calendar_days").await,
    );
    assert!(jobs > 0 && notices > 0, "{jobs} jobs, {notices} notices");
    let out = d.app.cli(&["migrate"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(d.app.count("jobs").await, jobs);
    assert_eq!(d.app.count("notifications").await, notices);
    assert_eq!(d.app.count("calendar_days").await, days);
    let subjects: i64 = query("SELECT COUNT(*) FROM jobs WHERE subject = $1")
        .bind(format!("case:{late}"))
        .fetch_one(db)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert!(subjects >= 2, "the case's jobs say what they are about");

    let again = d
        .app
        .serve_again(Arc::new(ManualClock::new(start + 30 * 24 * 3_600_000)))
        .await;
    let url = format!("{}/api/v1/cases/{late}", again.url());
    let escalated = until(|| {
        let req = d.app.client.get(&url).bearer_auth(&d.dispatcher);
        async move {
            let case = req.send().await.unwrap().json::<Value>().await.unwrap();
            case["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["step"] == "escalate" && e["data"]["level"] == 2)
        }
    })
    .await;
    assert!(escalated, "a job queued before the upgrade ran after it");
}
both!(a_database_made_before_the_core_owned_jobs_upgrades_in_place);
