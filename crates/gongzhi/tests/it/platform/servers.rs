//! Two real `gongzhi serve` processes on one PostgreSQL database behave as one: a revoke, a
//! role revoked and granted, a user disabled, a category, a routing rule, a calendar, a new case (on the dashboard) and an
//! area change made through one are honoured by the other; a due SMS is sent once; sign-in
//! throttling and the locate limit hold across both. PostgreSQL only (SQLite is one process
//! per data dir); skipped when `GONGZHI_TEST_POSTGRES` is unset.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::cases::{desk_on, new_case, Desk, IN_STREET_1, IN_STREET_2};
use crate::helpers::*;
use gongzhi_core::db::query;

const LOCATE_LIMIT: u32 = 100;
const LOGIN_FAILURES: u32 = 3;

/// A `gongzhi serve` child process, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn serve(dir: &Path, db_url: &str, webhook: &str) -> Server {
    let config = dir.join("gongzhi.toml");
    std::fs::write(
        &config,
        format!(
            "[limits]\nlocate_per_second = {LOCATE_LIMIT}\nlogin_failures = {LOGIN_FAILURES}\n\
             jobs_poll_ms = 20\nareas_poll_secs = 1\n\n[notify]\nwebhook_url = \"{webhook}\"\n"
        ),
    )
    .unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_gongzhi"))
        .args(["serve", "--listen", &listen, "--data-dir"])
        .arg(dir)
        .arg("--database")
        .arg(db_url)
        .env("GONGZHI_CONFIG", &config)
        .env_remove("GONGZHI_LISTEN")
        .env_remove("GONGZHI_DATA_DIR")
        .env_remove("GONGZHI_DATABASE_URL")
        .env("GONGZHI_LOG_FORMAT", "text")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        url: format!("http://{listen}"),
    };
    let up = until(30, || async {
        reqwest::get(format!("{}/healthz", server.url))
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    assert!(up, "gongzhi serve on {listen} answers");
    server
}

/// Polls `check` until it holds; false after 30 s (or `secs`). Never asserts on time itself.
async fn until<F: std::future::Future<Output = bool>>(
    secs: u64,
    mut check: impl FnMut() -> F,
) -> bool {
    for _ in 0..secs * 10 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// A loopback SMS gateway that counts what it is sent.
async fn gateway() -> (Arc<Mutex<Vec<Value>>>, String) {
    async fn sms(State(got): State<Arc<Mutex<Vec<Value>>>>, Json(b): Json<Value>) -> StatusCode {
        got.lock().unwrap().push(b);
        StatusCode::OK
    }
    let got = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .route("/sms", axum::routing::post(sms))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (got, url)
}

/// The desk's requests go to `server` from here on.
fn through(d: &mut Desk, server: &Server) {
    d.app.url = server.url.clone();
}

/// Open cases over every grid of the dashboard's map, as a signed-in browser sees them.
async fn open_cases(b: &mut super::web::Browser) -> i64 {
    let (s, _, grids) = b.get("/dashboard/grids.json").await;
    assert_eq!(s, 200, "{grids}");
    let grids: Value = serde_json::from_str(&grids).unwrap();
    grids["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["open"].as_i64().unwrap_or(0))
        .sum()
}

async fn status(d: &Desk, path: &str, token: &str) -> u16 {
    d.app.get(path, Some(token)).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_behave_as_one() {
    if std::env::var("GONGZHI_TEST_POSTGRES").is_err() {
        eprintln!("skipped: GONGZHI_TEST_POSTGRES is unset");
        return;
    }
    let (sms, webhook) = gateway().await;
    // Seed through an in-process server, then stop it: from here on only the two real
    // processes run (and run jobs).
    let mut d = desk_on(TestApp::spawn(Backend::Postgres).await).await;
    d.app.running.stop();
    let db_url = d.app.db_url.clone();
    let dir_b = tempfile::tempdir().unwrap();
    std::fs::copy(
        d.app.dir.path().join("secret.key"),
        dir_b.path().join("secret.key"),
    )
    .unwrap();
    let a = serve(d.app.dir.path(), &db_url, &webhook).await;
    let b = serve(dir_b.path(), &db_url, &webhook).await;

    // A token revoked through A is refused by B.
    through(&mut d, &a);
    let token = d.app.admin().await;
    through(&mut d, &b);
    assert_eq!(status(&d, "/api/v1/me", &token).await, 200);
    through(&mut d, &a);
    let (s, body) = answer(
        d.app
            .client
            .delete(format!("{}/api/v1/auth/token", a.url))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(s, 204, "{body}");
    through(&mut d, &b);
    assert!(
        until(30, || async {
            status(&d, "/api/v1/me", &token).await == 401
        })
        .await,
        "B refuses the token A revoked"
    );

    // A role revoked through A's API is honoured by B, which had the caller cached: a former
    // administrator can no longer list the users there. (The revoke moves the `tokens`
    // version; the cached caller's `max_age` alone is far longer than this test waits.)
    through(&mut d, &a);
    let second = d.app.user_with("admin2", "admin", None, None).await;
    through(&mut d, &b);
    assert_eq!(status(&d, "/api/v1/users", &second).await, 200);
    let (_, me) = d.app.get("/api/v1/me", Some(&second)).await;
    let second_id = me["id"].as_str().unwrap().to_string();
    let (s, body) = answer(
        d.app
            .client
            .delete(format!("{}/api/v1/users/{second_id}/roles/admin", a.url))
            .bearer_auth(&d.admin),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert!(
        until(30, || async {
            status(&d, "/api/v1/users", &second).await == 403
        })
        .await,
        "B honours the role A revoked"
    );
    // And one granted through A: B lets them list the users again.
    let (s, body) = answer(
        d.app
            .client
            .post(format!("{}/api/v1/users/{second_id}/roles", a.url))
            .bearer_auth(&d.admin)
            .json(&json!({"role": "admin"})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert!(
        until(30, || async {
            status(&d, "/api/v1/users", &second).await == 200
        })
        .await,
        "B honours the role A granted"
    );
    // A user disabled through A is refused by B.
    let (s, body) = answer(
        d.app
            .client
            .post(format!("{}/api/v1/users/{second_id}/disable", a.url))
            .bearer_auth(&d.admin),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert!(
        until(30, || async {
            status(&d, "/api/v1/me", &second).await == 401
        })
        .await,
        "B refuses the user A disabled"
    );

    // A catalog change through A routes B's next case: E0601 gets a default unit.
    let (_, c) = d.create(&d.operator, &new_case("E0601", IN_STREET_2)).await;
    assert_eq!(c["unit"], "110102002-jd", "{c}");
    let (_, cats) = d.app.get("/api/v1/categories", None).await;
    let mut e0601 = cats
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "E06")
        .and_then(|e| e["children"].as_array())
        .and_then(|ch| ch.iter().find(|c| c["code"] == "E0601"))
        .unwrap()
        .clone();
    e0601.as_object_mut().unwrap().remove("children");
    e0601["default_unit"] = json!("110102-cg");
    let (s, body) = answer(
        d.app
            .client
            .put(format!("{}/api/v1/categories/E0601", a.url))
            .bearer_auth(&d.admin)
            .json(&e0601),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert!(
        until(30, || async {
            let (_, c) = d.create(&d.operator, &new_case("E0601", IN_STREET_2)).await;
            c["unit"] == "110102-cg"
        })
        .await,
        "B routes by the category A changed"
    );

    // A routing rule added through A routes B's next case: C0101 in street 2 goes to the
    // water authority (the district's rule) until a rule for the street sends it elsewhere.
    let (_, c) = d.create(&d.operator, &new_case("C0101", IN_STREET_2)).await;
    assert_eq!(c["unit"], "110102-sw", "{c}");
    let (s, body) = answer(
        d.app
            .client
            .post(format!("{}/api/v1/routing-rules", a.url))
            .bearer_auth(&d.admin)
            .json(&json!({"category": "C01", "area": "110102002", "unit": "110102-cg"})),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    assert!(
        until(30, || async {
            let (_, c) = d.create(&d.operator, &new_case("C0101", IN_STREET_2)).await;
            c["unit"] == "110102-cg"
        })
        .await,
        "B routes by the rule A added"
    );

    // A calendar imported through A's admin page moves B's deadlines: with the next 40 days
    // holidays, a case due in one working day is due after them.
    let today = chrono::Utc::now()
        .with_timezone(&gongzhi_core::time::shanghai())
        .date_naive();
    let after_holidays = (today + chrono::Duration::days(40)).to_string();
    let handle_due = |c: &Value| c["deadlines"]["handle"].as_str().unwrap_or("").to_string();
    let (_, c) = d.create(&d.operator, &new_case("C0101", IN_STREET_2)).await;
    assert!(handle_due(&c) < after_holidays, "{c}");
    let mut csv = String::from("date,kind,note\n");
    for n in 0..40 {
        csv.push_str(&format!(
            "{},holiday,假期\n",
            today + chrono::Duration::days(n)
        ));
    }
    let mut admin_page = super::web::Browser::new(&a.url);
    admin_page.login("admin", ADMIN_PASSWORD).await;
    let (_, _, page) = admin_page.get("/admin").await;
    let form = reqwest::multipart::Form::new()
        .text("_csrf", super::web::hidden(&page, "_csrf"))
        .text("name", "default")
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.into_bytes())
                .file_name("cal.csv")
                .mime_str("text/csv")
                .unwrap(),
        );
    let (s, location, body) = admin_page.post_form("/admin/calendar", form).await;
    assert_eq!(s, 303, "{location} {body}");
    assert!(
        until(30, || async {
            let (_, c) = d.create(&d.operator, &new_case("C0101", IN_STREET_2)).await;
            handle_due(&c) >= after_holidays
        })
        .await,
        "B's deadlines follow the calendar A imported"
    );

    // The dashboard's figures on B follow a case created through A.
    let mut leader = super::web::Browser::new(&b.url);
    leader.login("disp", "disp-password").await;
    let before = open_cases(&mut leader).await;
    assert!(before > 0, "the cases so far are open on B's map");
    through(&mut d, &a);
    let (s, c) = d.create(&d.operator, &new_case("C0101", IN_STREET_2)).await;
    assert_eq!(s, 201, "{c}");
    let mut counted = false;
    for _ in 0..300 {
        if open_cases(&mut leader).await > before {
            counted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(counted, "B's dashboard counts the case A took in");

    // An area added through A is known to B.
    through(&mut d, &a);
    let (s, body) = d
        .app
        .post_text(
            "/api/v1/areas/import/divisions",
            Some(&d.admin),
            "text/csv",
            "code,name,level,parent_code\n110102001009,新社区,community,110102001\n",
        )
        .await;
    assert_eq!(s, 200, "{body}");
    through(&mut d, &b);
    assert!(
        until(30, || async {
            status(&d, "/api/v1/areas/110102001009", &d.admin).await == 200
        })
        .await,
        "B knows the area A added"
    );

    // A due SMS is sent once by the two runners together: a case dispatched with a
    // reporter's phone queues its progress message.
    let mut body = new_case("C0101", IN_STREET_1);
    body["channel"] = json!("web");
    body["reporter"] = json!({"name": "赵六", "phone": "13700002222"});
    let (s, c) = d.create(&d.resident, &body).await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    d.ok(&d.operator, &id, "accept", json!({})).await;
    d.ok(&d.operator, &id, "file", json!({})).await;
    through(&mut d, &a);
    d.ok(&d.dispatcher, &id, "dispatch", json!({})).await;
    let pool = d.app.db.pool().clone();
    let sms_jobs = || async {
        let r =
            query("SELECT COUNT(*), COUNT(done_at) FROM jobs WHERE kind = 'sms' AND subject = $1")
                .bind(format!("case:{id}"))
                .fetch_one(&pool)
                .await
                .unwrap();
        (
            r.try_get::<i64, _>(0).unwrap(),
            r.try_get::<i64, _>(1).unwrap(),
        )
    };
    assert!(
        until(30, || async {
            let (all, done) = sms_jobs().await;
            all > 0 && all == done
        })
        .await,
        "the SMS jobs are done"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (all, _) = sms_jobs().await;
    let sent = sms.lock().unwrap().clone();
    assert_eq!(sent.len() as i64, all, "each SMS sent once: {sent:?}");

    // Sign-in throttling holds across both: wrong passwords alternately on A and B are
    // throttled on whichever server once the account's failures (shared) reach the limit.
    let mut throttled = [false, false];
    let mut first = None;
    for attempt in 0..20 {
        let server = [&a, &b][attempt % 2];
        let (s, _) = answer(
            d.app
                .client
                .post(format!("{}/api/v1/auth/token", server.url))
                .json(&json!({"username": "admin", "password": "wrong"})),
        )
        .await;
        if s == 429 {
            throttled[attempt % 2] = true;
            first.get_or_insert(attempt + 1);
        }
        if throttled == [true, true] {
            break;
        }
    }
    assert_eq!(throttled, [true, true], "both servers throttle the account");
    // Per process, alternating, each server would first throttle after its own limit's worth.
    assert!(
        first.unwrap() <= LOGIN_FAILURES as usize + 2,
        "throttled after {first:?} attempts over both servers"
    );

    // The locate limit holds across both: A alone is driven past the limit, then B, within
    // the same window, refuses long before it admitted a limit's worth of its own. Windows are
    // wall-clock seconds; a round that straddles a window's end proves nothing and is tried
    // again.
    let locate = |url: &str| {
        let url = format!("{url}/api/v1/areas/locate?lat=39.9020&lng=116.3020");
        let client = d.app.client.clone();
        async move { client.get(url).send().await.unwrap().status().as_u16() }
    };
    let mut held = false;
    for _round in 0..8 {
        while gongzhi_core::time::now_ms() % 1000 > 50 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let started = gongzhi_core::time::now_ms() / 1000;
        let mut a_refused = false;
        for _ in 0..(3 * LOCATE_LIMIT) {
            if locate(&a.url).await == 429 {
                a_refused = true;
                break;
            }
        }
        let mut b_admitted = 0;
        let mut b_refused = false;
        while b_admitted < LOCATE_LIMIT {
            if locate(&b.url).await == 429 {
                b_refused = true;
                break;
            }
            b_admitted += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let same_window = gongzhi_core::time::now_ms() / 1000 == started;
        if a_refused && b_refused && same_window {
            held = true;
            break;
        }
        assert!(
            !(same_window && a_refused && !b_refused),
            "B admitted a full limit within the window A had used up"
        );
    }
    assert!(held, "the locate limit is shared by both servers");
    drop((a, b));
}
