use serde_json::json;

use crate::both;
use crate::helpers::*;
use gongzhi_core::db::query;

async fn audit_verify(app: &TestApp) -> (bool, String) {
    let out = app.cli(&["audit", "verify"], None);
    (
        out.status.success(),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
    )
}

async fn seeded(backend: Backend) -> TestApp {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    app.post_text(
        "/api/v1/areas/import/divisions",
        Some(&admin),
        "text/csv",
        OTHER_DIVISIONS,
    )
    .await;
    for i in 0..5 {
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

async fn every_write_is_in_the_chain(backend: Backend) {
    let app = seeded(backend).await;
    let admin = app.admin().await;
    let (status, log) = app.get("/api/v1/audit?limit=1000", Some(&admin)).await;
    assert_eq!(status, 200);
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // user.create (the test admin), two sign-ins, the import, five units.
    assert_eq!(actions.iter().filter(|a| **a == "user.create").count(), 1);
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "areas.import_divisions")
            .count(),
        1
    );
    assert_eq!(actions.iter().filter(|a| **a == "unit.create").count(), 5);
    assert!(
        actions
            .iter()
            .filter(|a| **a == "auth.token_issued")
            .count()
            >= 2
    );
    for pair in log.as_array().unwrap().windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"]);
        assert_eq!(
            pair[1]["seq"].as_i64().unwrap(),
            pair[0]["seq"].as_i64().unwrap() + 1
        );
    }
    let (ok, out) = audit_verify(&app).await;
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("{} entries", log.as_array().unwrap().len())),
        "{out}"
    );
}
both!(every_write_is_in_the_chain);

async fn tampering_is_detected(backend: Backend) {
    // Altered content.
    let app = seeded(backend).await;
    query("UPDATE audit_log SET entity = 'unit:forged' WHERE seq = 4")
        .execute(app.db.pool())
        .await
        .unwrap();
    let (ok, out) = audit_verify(&app).await;
    assert!(!ok);
    assert!(
        out.contains("audit entry 4") && out.contains("altered"),
        "{out}"
    );

    // A row deleted in the middle.
    let app = seeded(backend).await;
    query("DELETE FROM audit_log WHERE seq = 3")
        .execute(app.db.pool())
        .await
        .unwrap();
    let (ok, out) = audit_verify(&app).await;
    assert!(!ok);
    assert!(
        out.contains("audit entry 3") && out.contains("missing"),
        "{out}"
    );

    // The newest row deleted.
    let app = seeded(backend).await;
    query("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)")
        .execute(app.db.pool())
        .await
        .unwrap();
    let (ok, out) = audit_verify(&app).await;
    assert!(!ok, "{out}");
    assert!(out.contains("deleted at the end"), "{out}");

    // Two rows swapped (reordered history).
    let app = seeded(backend).await;
    query("UPDATE audit_log SET seq = -1 WHERE seq = 5")
        .execute(app.db.pool())
        .await
        .unwrap();
    query("UPDATE audit_log SET seq = 5 WHERE seq = 6")
        .execute(app.db.pool())
        .await
        .unwrap();
    query("UPDATE audit_log SET seq = 6 WHERE seq = -1")
        .execute(app.db.pool())
        .await
        .unwrap();
    let (ok, out) = audit_verify(&app).await;
    assert!(!ok);
    assert!(out.contains("audit entry 5"), "{out}");
}
both!(tampering_is_detected);

async fn a_write_without_an_audit_entry_cannot_commit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut tx = app.db.begin_write().await.unwrap();
    query(
        "INSERT INTO units (code, name, kind, created_at) VALUES ('sneaky', 'x', 'department', 0)",
    )
    .execute(tx.conn())
    .await
    .unwrap();
    let err = tx.commit().await.unwrap_err();
    assert!(err.to_string().contains("audit"), "{err}");
    assert_eq!(app.count("units").await, 0);
}
both!(a_write_without_an_audit_entry_cannot_commit);

async fn concurrent_writers_keep_one_chain(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let client = app.client.clone();
        let url = format!("{}/api/v1/units", app.url);
        let token = admin.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"code": format!("c-{i}"), "name": "并发", "kind": "organization"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    let n = app.count("audit_log").await;
    let verified = gongzhi_core::audit::verify(&app.db).await.unwrap();
    assert_eq!(verified, Ok(n));
}
both!(concurrent_writers_keep_one_chain);

/// Verifying while writes land is never a break: the chain read after the head always reaches
/// it (CI once saw "history deleted at the end" when a write committed between the two reads).
async fn verifying_during_writes_finds_the_chain_intact(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let writer = {
        let (client, url, token) = (
            app.client.clone(),
            format!("{}/api/v1/units", app.url),
            admin,
        );
        tokio::spawn(async move {
            for i in 0..60 {
                let status = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(
                        &json!({"code": format!("w-{i}"), "name": "写入", "kind": "organization"}),
                    )
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_eq!(status.as_u16(), 201);
            }
        })
    };
    let mut walks = 0;
    while !writer.is_finished() {
        let verified = gongzhi_core::audit::verify(&app.db).await.unwrap();
        assert!(verified.is_ok(), "{verified:?}");
        walks += 1;
    }
    writer.await.unwrap();
    assert!(walks > 0);
    let n = app.count("audit_log").await;
    assert_eq!(gongzhi_core::audit::verify(&app.db).await.unwrap(), Ok(n));
}
both!(verifying_during_writes_finds_the_chain_intact);

/// Appends one test entry to `tx`.
async fn appended(tx: &mut gongzhi_core::db::WriteTx, what: &str) -> gongzhi_core::Result<()> {
    let who = gongzhi_core::identity::Actor::system("test");
    gongzhi_core::audit::append(tx, &who, what, "test:1", &json!({}), None)
        .await
        .map(|_| ())
}

/// Two writes that share the audit head and a version counter, interleaved so that each
/// touches one first: they must both commit. (A scheduled job moved the `cases` counter before
/// appending while an action appended first; on PostgreSQL the two deadlocked. Counters now
/// move at commit, after the append, so every write takes the shared rows in one order.) On
/// SQLite one writer runs at a time, so the two run one after the other.
async fn writes_sharing_rows_never_wait_crosswise(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before = app.db.versions_sum(&["crosswise"]).await.unwrap();
    let mut a = app.db.begin_write().await.unwrap();
    a.bump_version("crosswise").await.unwrap();
    let first = if backend == Backend::Postgres {
        let mut b = app.db.begin_write().await.unwrap();
        appended(&mut b, "test.b").await.unwrap();
        // A now appends and waits for B's hold on the head, while B goes on to the counter.
        let first = tokio::spawn(async move {
            appended(&mut a, "test.a").await?;
            a.commit().await
        });
        b.bump_version("crosswise").await.unwrap();
        b.commit().await.unwrap();
        first.await.unwrap()
    } else {
        appended(&mut a, "test.a").await.unwrap();
        a.commit().await.unwrap();
        let mut b = app.db.begin_write().await.unwrap();
        appended(&mut b, "test.b").await.unwrap();
        b.bump_version("crosswise").await.unwrap();
        b.commit().await
    };
    first.unwrap();
    let after = app.db.versions_sum(&["crosswise"]).await.unwrap();
    assert_eq!(after - before, 2, "each write moved the counter once");
    let (ok, out) = audit_verify(&app).await;
    assert!(ok, "{out}");
}
both!(writes_sharing_rows_never_wait_crosswise);

/// On PostgreSQL a write commits without waiting for the flush — its own setting, said at its
/// `BEGIN`, never the session's — and is answered only after the durable commit made beside it
/// (`scripts/crash --crash-postgres` checks that against a crashed server). Every connection
/// plans each execution for its own values: at 10 M cases a generic plan made the dispatcher's
/// queue scan every case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_writes_flush_beside_and_plans_are_per_execution() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let show = |rows: Vec<gongzhi_core::db::Row>| rows[0].try_get::<String, _>(0).unwrap();
    let mut w = app.db.begin_write().await.unwrap();
    let inside = query("SHOW synchronous_commit")
        .fetch_all(w.conn())
        .await
        .unwrap();
    assert_eq!(show(inside), "off", "the write's own commit does not wait");
    appended(&mut w, "test.flush").await.unwrap();
    w.commit().await.unwrap();
    let after = query("SHOW synchronous_commit")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    assert_eq!(show(after), "on", "the setting stays with the write");
    let plans = query("SHOW plan_cache_mode")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    assert_eq!(show(plans), "force_custom_plan");
    let (ok, out) = audit_verify(&app).await;
    assert!(ok && out.contains("intact"), "{out}");
}
