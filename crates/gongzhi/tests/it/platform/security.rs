//! Security regressions: platform. Sign-in throttling (#9), the keyed and anchored audit chain
//! (#10), who may read and reveal a person with several assignments (#11), revoking a token,
//! `/metrics` kept private, and mail that insists on TLS when told to.

use std::sync::Arc;

use gongzhi_core::time::ManualClock;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::*;
use gongzhi_core::db::query;

const START: i64 = 1_800_000_000_000;

/// A server whose throttle runs on a clock that stands still unless moved.
async fn frozen(
    backend: Backend,
    tweak: impl FnOnce(&mut gongzhi_core::config::Config),
) -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(START));
    let app = TestApp::spawn_with_clock(backend, tweak, clock.clone()).await;
    (app, clock)
}

async fn add_user(app: &TestApp, username: &str, assignments: Value) -> String {
    let admin = app.admin().await;
    let (status, body) = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({"username": username, "password": format!("{username}-password"),
                    "assignments": assignments, "phone": "13812345678", "full_name": "张小明"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

/// One API sign-in attempt from `forwarded_for` (when given): status and `Retry-After`.
async fn attempt(
    app: &TestApp,
    username: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> (u16, Option<u64>) {
    let mut req = app
        .client
        .post(format!("{}/api/v1/auth/token", app.url))
        .json(&json!({"username": username, "password": password}));
    if let Some(f) = forwarded_for {
        req = req.header("x-forwarded-for", f);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    if status == 429 {
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "rate_limited", "{body}");
        assert!(after.is_some(), "429 without Retry-After");
    }
    (status, after)
}

/// Signs in through the web form; the status of the answer.
async fn web_login(app: &TestApp, username: &str, password: &str) -> u16 {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(format!("{}/login", app.url)).send().await.unwrap();
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = page.text().await.unwrap();
    let at = page.find("name=\"_csrf\" value=\"").unwrap() + 20;
    let csrf = &page[at..at + page[at..].find('"').unwrap()];
    http.post(format!("{}/login", app.url))
        .header("cookie", cookie)
        .form(&[
            ("_csrf", csrf),
            ("username", username),
            ("password", password),
            ("next", ""),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// 60 wrong passwords at once: only the limit are checked (401), the rest wait (429), and the
/// right password right after the burst is refused too. Waiting is a delay that doubles, never
/// a lock.
async fn a_burst_of_wrong_passwords_checks_at_most_the_limit(backend: Backend) {
    let (app, clock) = frozen(backend, |_| {}).await;
    add_user(&app, "mod2", json!([{"role": "moderator"}])).await;
    let mut tasks = Vec::new();
    for i in 0..60 {
        let client = app.client.clone();
        let url = format!("{}/api/v1/auth/token", app.url);
        let password = format!("wrong-{i}");
        tasks.push(tokio::spawn(async move {
            let status = client
                .post(url)
                .json(&json!({"username": "mod2", "password": password}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            (i, status)
        }));
    }
    let mut checked = 0;
    for t in tasks {
        match t.await.unwrap() {
            (_, 401) => checked += 1,
            (_, 429) => {}
            (i, s) => panic!("attempt {i}: {s}"),
        }
    }
    // The default limit: 10 attempts per account are checked, however they arrive.
    assert_eq!(checked, 10);
    let (status, after) = attempt(&app, "mod2", "mod2-password", None).await;
    assert_eq!((status, after), (429, Some(1)));
    // After the wait one more attempt is checked, and the next wait is twice as long.
    clock.advance_ms(1_000);
    assert_eq!(attempt(&app, "mod2", "wrong", None).await.0, 401);
    assert_eq!(
        attempt(&app, "mod2", "mod2-password", None).await,
        (429, Some(2))
    );
    clock.advance_ms(2_000);
    assert_eq!(attempt(&app, "mod2", "mod2-password", None).await.0, 200);
    // A success clears the account's count.
    assert_eq!(attempt(&app, "mod2", "wrong", None).await.0, 401);
    assert_eq!(attempt(&app, "mod2", "mod2-password", None).await.0, 200);
}
both!(a_burst_of_wrong_passwords_checks_at_most_the_limit);

/// `" mod2"`, `"mod2\t"`, `"MOD2"` … are one account for the throttle and for sign-in, through
/// the API and the web form alike.
async fn variants_of_a_name_share_one_bucket(backend: Backend) {
    let (app, clock) = frozen(backend, |c| c.login_failures = 3).await;
    add_user(&app, "mod2", json!([{"role": "moderator"}])).await;
    assert_eq!(attempt(&app, " mod2", "wrong", None).await.0, 401);
    assert_eq!(attempt(&app, "mod2\t", "wrong", None).await.0, 401);
    assert_eq!(web_login(&app, "MOD2", "wrong").await, 401);
    assert_eq!(web_login(&app, "\u{3000}Mod2 ", "mod2-password").await, 429);
    assert_eq!(attempt(&app, "mod2", "mod2-password", None).await.0, 429);
    clock.advance_ms(1_000);
    // The same normalisation signs in: the variant is the account.
    assert_eq!(attempt(&app, " MOD2\n", "mod2-password", None).await.0, 200);
    // And no second account can differ only in case.
    let admin = app.admin().await;
    let (status, _) = app
        .post("/api/v1/users", Some(&admin), &json!({"username": "Mod2", "password": "another-password", "assignments": [{"role": "moderator"}]}))
        .await;
    assert_eq!(status, 409);
}
both!(variants_of_a_name_share_one_bucket);

/// The counts live in the database: a second server on it refuses what the first one counted.
async fn a_second_server_sees_the_same_counts(backend: Backend) {
    let (app, clock) = frozen(backend, |c| c.login_failures = 3).await;
    add_user(&app, "mod2", json!([{"role": "moderator"}])).await;
    for _ in 0..3 {
        assert_eq!(attempt(&app, "mod2", "wrong", None).await.0, 401);
    }
    let second = app.serve_again(clock.clone()).await;
    let resp = app
        .client
        .post(format!("{}/api/v1/auth/token", second.url()))
        .json(&json!({"username": "mod2", "password": "mod2-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    second.stop();
}
both!(a_second_server_sees_the_same_counts);

/// One address may fail more often than one account (a shared office is not locked out by one
/// person), and a proxy's header names the client only when that proxy is configured as trusted.
async fn addresses_allow_more_and_proxy_headers_only_when_trusted(backend: Backend) {
    let limits = |c: &mut gongzhi_core::config::Config| {
        c.login_failures = 2;
        c.login_address_failures = 4;
    };
    let (app, _clock) = frozen(backend, limits).await;
    for u in ["usera", "userb", "userc"] {
        add_user(&app, u, json!([{"role": "moderator"}])).await;
    }
    assert_eq!(attempt(&app, "usera", "wrong", None).await.0, 401);
    assert_eq!(attempt(&app, "usera", "wrong", None).await.0, 401);
    assert_eq!(attempt(&app, "usera", "usera-password", None).await.0, 429);
    // The address still has attempts after the account ran out.
    assert_eq!(attempt(&app, "userb", "wrong", None).await.0, 401);
    assert_eq!(attempt(&app, "userb", "wrong", None).await.0, 401);
    // Now the address has used its four; a made-up X-Forwarded-For changes nothing.
    assert_eq!(
        attempt(&app, "userc", "userc-password", Some("203.0.113.9"))
            .await
            .0,
        429
    );

    let (app, _clock) = frozen(backend, |c| {
        limits(c);
        c.trusted_proxy_header = Some("X-Forwarded-For".into());
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    for u in ["usera", "userb", "userc"] {
        add_user(&app, u, json!([{"role": "moderator"}])).await;
    }
    let far = Some("198.51.100.1");
    for u in ["usera", "userb"] {
        assert_eq!(attempt(&app, u, "wrong", far).await.0, 401);
        assert_eq!(attempt(&app, u, "wrong", far).await.0, 401);
    }
    assert_eq!(attempt(&app, "userc", "userc-password", far).await.0, 429);
    // Prepending another address does not help: the proxy's own entry is the rightmost.
    assert_eq!(
        attempt(
            &app,
            "userc",
            "userc-password",
            Some("192.0.2.7, 198.51.100.1")
        )
        .await
        .0,
        429
    );
    // Another client behind the same proxy is another address.
    assert_eq!(
        attempt(&app, "userc", "userc-password", Some("198.51.100.2"))
            .await
            .0,
        200
    );
}
both!(addresses_allow_more_and_proxy_headers_only_when_trusted);

async fn seeded(
    backend: Backend,
    tweak: impl FnOnce(&mut gongzhi_core::config::Config),
) -> TestApp {
    let app = TestApp::spawn_with(backend, tweak).await;
    let admin = app.admin().await;
    for i in 0..4 {
        let (status, _) = app
            .post(
                "/api/v1/units",
                Some(&admin),
                &json!({"code": format!("unit-{i}"), "name": "单位", "kind": "department"}),
            )
            .await;
        assert_eq!(status, 201);
    }
    app
}

fn verify(app: &TestApp, anchors: &[&std::path::Path]) -> (bool, String) {
    let mut args = vec!["audit".to_string(), "verify".to_string()];
    for a in anchors {
        args.push("--anchor".into());
        args.push(a.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = app.cli(&args, None);
    (
        out.status.success(),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
    )
}

/// `gongzhi audit anchor` into a file, as an operator would keep it.
fn take_anchor(app: &TestApp, name: &str) -> std::path::PathBuf {
    let out = app.cli(&["audit", "anchor"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let path = app.dir.path().join(name);
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

/// Rewrites every entry's hash the way someone with the database but not the key can: with the
/// old unkeyed SHA-256, after changing one entry; `keyed` says what they claim the rows are.
async fn recompute_without_the_key(app: &TestApp, keyed: i64) {
    query("UPDATE audit_log SET entity = 'unit:forged' WHERE seq = 3")
        .execute(app.db.pool())
        .await
        .unwrap();
    let rows =
        query("SELECT seq, at, actor, action, entity, digest, reason FROM audit_log ORDER BY seq")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    let mut prev = gongzhi_core::audit::GENESIS_HASH.to_string();
    for r in &rows {
        let seq: i64 = r.try_get("seq").unwrap();
        let reason: Option<String> = r.try_get("reason").unwrap();
        let hash = gongzhi_core::audit::legacy_entry_hash(
            &prev,
            seq,
            r.try_get("at").unwrap(),
            &r.try_get::<String, _>("actor").unwrap(),
            &r.try_get::<String, _>("action").unwrap(),
            &r.try_get::<String, _>("entity").unwrap(),
            &r.try_get::<String, _>("digest").unwrap(),
            reason.as_deref(),
        );
        query("UPDATE audit_log SET prev_hash = $1, hash = $2, keyed = $3 WHERE seq = $4")
            .bind(&prev)
            .bind(&hash)
            .bind(keyed)
            .bind(seq)
            .execute(app.db.pool())
            .await
            .unwrap();
        prev = hash;
    }
    query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&prev)
        .execute(app.db.pool())
        .await
        .unwrap();
}

/// The tester's attack: alter an entry, recompute every hash, fix the head. Without the key the
/// hashes cannot be made right, whether the rows claim to be keyed or to predate keying.
async fn a_chain_recomputed_without_the_key_is_caught(backend: Backend) {
    let app = seeded(backend, |_| {}).await;
    assert!(verify(&app, &[]).0);
    recompute_without_the_key(&app, 1).await;
    let (ok, out) = verify(&app, &[]);
    assert!(
        !ok && out.contains("audit entry 1") && out.contains("altered"),
        "{out}"
    );

    let app = seeded(backend, |_| {}).await;
    recompute_without_the_key(&app, 0).await;
    let (ok, out) = verify(&app, &[]);
    assert!(
        !ok && out.contains("none of the") && out.contains("keyed"),
        "{out}"
    );
}
both!(a_chain_recomputed_without_the_key_is_caught);

/// History cut off at the end (head fixed to match) passes a plain verify but not an anchor
/// taken before the cut; an altered entry fails with its anchor; an intact chain passes with
/// its anchors, and the anchor's signature checks with the public key alone.
async fn anchors_catch_truncation_and_alteration(backend: Backend) {
    let app = seeded(backend, |_| {}).await;
    let early = take_anchor(&app, "early.anchor");
    let admin = app.admin().await;
    app.post(
        "/api/v1/units",
        Some(&admin),
        &json!({"code": "unit-late", "name": "单位", "kind": "department"}),
    )
    .await;
    let late = take_anchor(&app, "late.anchor");
    let (ok, out) = verify(&app, &[&early, &late]);
    assert!(ok && out.contains("extending all 2 anchor(s)"), "{out}");

    // Anyone can check an anchor with the published public key.
    let key = text(&app.cli(&["audit", "anchor", "--public-key"], None).stdout)
        .trim()
        .to_string();
    let anchor: gongzhi_core::audit::Anchor =
        serde_json::from_str(std::fs::read_to_string(&late).unwrap().trim()).unwrap();
    assert_eq!(anchor.public_key, key);
    assert_eq!(anchor.check_self_signed(), Ok(()));
    // A forged anchor (another head, the signature left as it was) is refused.
    let forged = app.dir.path().join("forged.anchor");
    let mut f = anchor.clone();
    f.seq -= 1;
    std::fs::write(&forged, serde_json::to_string(&f).unwrap()).unwrap();
    let (ok, out) = verify(&app, &[&forged]);
    assert!(!ok && out.contains("not ours"), "{out}");

    // Truncate behind the late anchor and make the head agree.
    let cut = anchor.seq - 2;
    query("DELETE FROM audit_log WHERE seq > $1")
        .bind(cut)
        .execute(app.db.pool())
        .await
        .unwrap();
    let hash: String = query("SELECT hash FROM audit_log WHERE seq = $1")
        .bind(cut)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(cut)
        .bind(&hash)
        .execute(app.db.pool())
        .await
        .unwrap();
    assert!(verify(&app, &[]).0, "a plain verify cannot see a clean cut");
    assert!(verify(&app, &[&early]).0);
    let (ok, out) = verify(&app, &[&early, &late]);
    assert!(!ok && out.contains("history deleted"), "{out}");

    // An alteration before the early anchor.
    query("UPDATE audit_log SET reason = 'forged' WHERE seq = 2")
        .execute(app.db.pool())
        .await
        .unwrap();
    let (ok, out) = verify(&app, &[&early]);
    assert!(
        !ok && out.contains("audit entry 2") && out.contains("altered"),
        "{out}"
    );
}
both!(anchors_catch_truncation_and_alteration);

/// With `[audit] anchor_file` the server appends signed heads to it; the file verifies.
async fn the_server_appends_anchors_to_its_file(backend: Backend) {
    let file = std::env::temp_dir().join(format!("gz-anchors-{}", rand::random::<u64>()));
    let path = file.clone();
    let app = seeded(backend, move |c| {
        c.audit_anchor_file = Some(path);
        c.audit_anchor_every_secs = 1;
    })
    .await;
    let mut lines = 0;
    for _ in 0..100 {
        lines = std::fs::read_to_string(&file)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(lines > 0, "no anchor written");
    let (ok, out) = verify(&app, &[&file]);
    assert!(ok, "{out}");
    std::fs::remove_file(&file).ok();
}
both!(the_server_appends_anchors_to_its_file);

/// A person is as visible as their widest assignment: a district admin who is also a grid
/// worker is out of a street leader's reach (read and reveal); a leader whose scope covers all
/// of a person's assignments may reveal them, and the user list follows the same rule.
async fn people_are_as_visible_as_their_widest_assignment(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let (status, _) = app
        .post_text(
            "/api/v1/areas/import/divisions",
            Some(&admin),
            "text/csv",
            OTHER_DIVISIONS,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .post(
            "/api/v1/units",
            Some(&admin),
            &json!({"code": "u-cg", "name": "城管", "kind": "department"}),
        )
        .await;
    assert_eq!(status, 201);
    // The tester's case: a global admin who is also a grid worker (the grid was the first scoped
    // assignment, so it used to count as the person's scope).
    let global_admin = add_user(
        &app,
        "gadmin",
        json!([{"role": "grid_worker", "area": "110102001001"}, {"role": "admin"}]),
    )
    .await;
    let district_admin = add_user(
        &app,
        "dadmin",
        json!([{"role": "grid_worker", "area": "110102001001"}, {"role": "admin", "area": "110102"}]),
    )
    .await;
    let worker = add_user(
        &app,
        "worker1",
        json!([{"role": "grid_worker", "area": "110102001001"}]),
    )
    .await;
    let two_streets = add_user(
        &app,
        "worker2",
        json!([
        {"role": "grid_worker", "area": "110102001001"},
        {"role": "grid_worker", "area": "110102002001"}]),
    )
    .await;
    let handler = add_user(
        &app,
        "handler1",
        json!([{"role": "handler", "unit": "u-cg"}]),
    )
    .await;
    let handler_and_more = add_user(
        &app,
        "handler2",
        json!([
        {"role": "handler", "unit": "u-cg"},
        {"role": "dispatcher", "area": "110102"}]),
    )
    .await;
    let street_leader = app
        .user_with("sleader", "leader", Some("110102001"), None)
        .await;
    let district_leader = app
        .user_with("dleader", "leader", Some("110102"), None)
        .await;
    let unit_leader = app.user_with("uleader", "leader", None, Some("u-cg")).await;
    let street_admin = app
        .user_with("sadmin", "admin", Some("110102001"), None)
        .await;

    let cases = [
        (&street_leader, &global_admin, false),
        (&district_leader, &global_admin, false),
        (&street_admin, &global_admin, false),
        (&admin, &global_admin, true),
        (&street_leader, &district_admin, false),
        (&street_leader, &two_streets, false),
        (&street_leader, &worker, true),
        (&district_leader, &district_admin, true),
        (&district_leader, &two_streets, true),
        (&street_admin, &district_admin, false),
        (&street_admin, &worker, true),
        (&unit_leader, &handler, true),
        (&unit_leader, &handler_and_more, false),
        (&unit_leader, &worker, false),
        (&admin, &district_admin, true),
    ];
    for (i, (token, id, allowed)) in cases.iter().enumerate() {
        let (read, body) = app.get(&format!("/api/v1/users/{id}"), Some(token)).await;
        let (reveal, revealed) = app
            .get(
                &format!("/api/v1/users/{id}?reveal=true&reason=check"),
                Some(token),
            )
            .await;
        if *allowed {
            assert_eq!((read, reveal), (200, 200), "case {i}: {body} {revealed}");
            assert_eq!(revealed["phone"], "13812345678", "case {i}");
            assert_eq!(body["phone"], "138****5678", "case {i}");
        } else {
            // Out of reach answers as unknown (issue 13 #13).
            assert_eq!((read, reveal), (404, 404), "case {i}: {body} {revealed}");
            assert_eq!(body["error"]["code"], "not_found", "case {i}");
        }
        let (status, list) = app.get("/api/v1/users", Some(token)).await;
        assert_eq!(status, 200);
        let listed = list.as_array().unwrap().iter().any(|u| u["id"] == **id);
        assert_eq!(listed, *allowed, "case {i} in the list");
    }
}
both!(people_are_as_visible_as_their_widest_assignment);

/// `DELETE /api/v1/auth/token` signs the caller out: the token stops working at once.
async fn a_revoked_token_stops_working_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.admin().await;
    let other = app.admin().await;
    assert_eq!(app.get("/api/v1/me", Some(&token)).await.0, 200);
    let revoke = |t: String| {
        let req = app
            .client
            .delete(format!("{}/api/v1/auth/token", app.url))
            .bearer_auth(t);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(revoke(token.clone()).await, 204);
    let (status, body) = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(revoke(token.clone()).await, 401);
    // Only that token: the caller's other sign-in still works.
    assert_eq!(app.get("/api/v1/me", Some(&other)).await.0, 200);
    let (_, doc) = app.get("/api/openapi.json", None).await;
    assert!(doc["paths"]["/api/v1/auth/token"]["delete"]["responses"]["204"].is_object());
    let (_, log) = app.get("/api/v1/audit?limit=1000", Some(&other)).await;
    assert!(log
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "auth.token_revoked"));
}
both!(a_revoked_token_stops_working_at_once);

#[tokio::test]
async fn metrics_need_their_token_or_their_own_listener() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, body) = app.get("/metrics", None).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");

    let token = "metrics-token-0123456789";
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.metrics_token = Some(token.into())).await;
    assert_eq!(app.get("/metrics", None).await.0, 401);
    assert_eq!(
        app.get("/metrics", Some("metrics-token-wrong-guess"))
            .await
            .0,
        401
    );
    assert_eq!(app.get("/metrics", Some(&app.admin().await)).await.0, 401);
    let (status, figures) = app.get("/metrics", Some(token)).await;
    assert_eq!(status, 200);
    assert!(figures
        .as_str()
        .unwrap()
        .contains("gongzhi_http_requests_total"));

    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.metrics_listen = Some("127.0.0.1:0".into())
    })
    .await;
    assert_eq!(app.get("/metrics", None).await.0, 404);
    let own = app.running.metrics_addr.expect("a metrics listener");
    let resp = reqwest::get(format!("http://{own}/metrics")).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.text().await.unwrap().contains("gongzhi_"));
    let resp = reqwest::get(format!("http://{own}/api/v1/me"))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}

/// A database from before the chain was keyed: its entries stay as they were, and the first
/// start of this version vouches for them with a keyed entry. Rewriting them later is caught.
async fn an_unkeyed_chain_is_keyed_once_at_migration(backend: Backend) {
    let app = seeded(backend, |_| {}).await;
    // Turn the database back into one written before keying: unkeyed hashes, no migration.
    recompute_unchanged(&app).await;
    query("DELETE FROM schema_migrations WHERE id = 'core-0005-audit-keyed'")
        .execute(app.db.pool())
        .await
        .unwrap();
    query("ALTER TABLE audit_log DROP COLUMN keyed")
        .execute(app.db.pool())
        .await
        .unwrap();
    let before = app.count("audit_log").await;
    let out = app.cli(&["migrate"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (ok, out) = verify(&app, &[]);
    assert!(ok, "{out}");
    assert!(out.contains(&format!("{} entries", before + 1)), "{out}");
    let last: String = query("SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(last, "audit.chain_keyed");
    // Another restart vouches for nothing more.
    assert!(app.cli(&["migrate"], None).status.success());
    assert_eq!(app.count("audit_log").await, before + 1);
    // Later keyed entries cannot be turned into unkeyed ones.
    recompute_unchanged(&app).await;
    let (ok, out) = verify(&app, &[]);
    assert!(!ok && out.contains("none of the"), "{out}");
}
both!(an_unkeyed_chain_is_keyed_once_at_migration);

/// Recomputes every hash without the key, changing nothing else, marking every row unkeyed.
async fn recompute_unchanged(app: &TestApp) {
    let rows =
        query("SELECT seq, at, actor, action, entity, digest, reason FROM audit_log ORDER BY seq")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    let mut prev = gongzhi_core::audit::GENESIS_HASH.to_string();
    for r in &rows {
        let seq: i64 = r.try_get("seq").unwrap();
        let reason: Option<String> = r.try_get("reason").unwrap();
        let hash = gongzhi_core::audit::legacy_entry_hash(
            &prev,
            seq,
            r.try_get("at").unwrap(),
            &r.try_get::<String, _>("actor").unwrap(),
            &r.try_get::<String, _>("action").unwrap(),
            &r.try_get::<String, _>("entity").unwrap(),
            &r.try_get::<String, _>("digest").unwrap(),
            reason.as_deref(),
        );
        query("UPDATE audit_log SET prev_hash = $1, hash = $2, keyed = 0 WHERE seq = $3")
            .bind(&prev)
            .bind(&hash)
            .bind(seq)
            .execute(app.db.pool())
            .await
            .unwrap();
        prev = hash;
    }
    query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&prev)
        .execute(app.db.pool())
        .await
        .unwrap();
}

/// `?tls=required` and `smtps://` never fall back to clear text: a relay that cannot do TLS
/// gets nothing, while plain `smtp://` to the same relay still delivers.
#[tokio::test]
async fn mail_that_must_be_encrypted_is_not_sent_in_clear() {
    use gongzhi_core::notify::{send_mail, Mail, Sent};
    let (relay, url) = crate::platform::mail::relay().await;
    let smtp = |url: String| {
        gongzhi_core::config::Config {
            notify_smtp_url: Some(url),
            notify_smtp_from: Some("noreply@gongzhi.test".into()),
            notify_smtp_username: Some("gongzhi".into()),
            notify_smtp_password: Some("relay-password".into()),
            ..Default::default()
        }
        .smtp()
        .unwrap()
        .unwrap()
    };
    let mail = Mail {
        to: "someone@example.test".into(),
        subject: "通知".into(),
        text: "住户的通知".into(),
    };
    for strict in [
        format!("{url}?tls=required"),
        url.replace("smtp://", "smtps://"),
    ] {
        let sent = send_mail(&smtp(strict.clone()), &mail).await;
        assert!(!matches!(sent, Sent::Delivered), "{strict}");
        assert_eq!(relay.count(), 0, "{strict} reached the relay in clear");
    }
    let plain = gongzhi_core::config::Config {
        notify_smtp_url: Some(url.clone()),
        notify_smtp_from: Some("noreply@gongzhi.test".into()),
        ..Default::default()
    }
    .smtp()
    .unwrap()
    .unwrap();
    assert!(matches!(send_mail(&plain, &mail).await, Sent::Delivered));
    assert_eq!(relay.count(), 1);
}

/// Over `limits.max_in_flight` a request is answered 503 `overloaded` with `Retry-After` at
/// once, before its body is read; when the request in flight ends, the next one is served. The
/// request in flight is a case intake whose body never finishes arriving (its handler waits for
/// it, holding the only permit).
async fn over_the_in_flight_limit_requests_are_shed_at_once(backend: Backend) {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::spawn_with(backend, |c| c.max_in_flight = Some(1)).await;
    let token = app.admin().await;
    let addr = app.url.trim_start_matches("http://").to_string();
    // A request that holds the one seat: its body never finishes arriving.
    let hold = || {
        let (addr, token) = (addr.clone(), token.clone());
        async move {
            let mut held = tokio::net::TcpStream::connect(&addr).await.unwrap();
            held.write_all(
                format!(
                "POST /api/v1/cases HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"kind\":"
            )
                .as_bytes(),
            )
            .await
            .unwrap();
            held.flush().await.unwrap();
            held
        }
    };
    let mut held = hold().await;
    // The held request reaches its handler on the server's own time: ask until it is shed. If
    // it came while a probe had the seat, it was itself shed (answered at once): hold anew.
    let mut shed = None;
    for _ in 0..1500 {
        let mut answered = [0u8; 1];
        if held.try_read(&mut answered).is_ok() {
            held = hold().await;
        }
        let resp = app
            .client
            .get(format!("{}/api/v1/cases?page=1", app.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if resp.status().as_u16() == 503 {
            shed = Some(resp);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let resp = shed.expect("a request over the limit was not shed");
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "overloaded", "{body}");
    // Health is never shed, even now.
    let (status, _) = app.get("/healthz", None).await;
    assert_eq!(status, 200);
    // The held request goes away; its permit comes back and the next request is served.
    drop(held);
    let mut served = false;
    for _ in 0..1500 {
        let (status, _) = app.get("/api/v1/cases?page=1", Some(&token)).await;
        if status == 200 {
            served = true;
            break;
        }
        assert_eq!(status, 503);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        served,
        "the permit of the request that went away never came back"
    );
}
both!(over_the_in_flight_limit_requests_are_shed_at_once);
