//! `gongzhi backup` and `gongzhi restore` through the real binary: a backup taken while cases
//! are being written restores into a fresh target (also SQLite → PostgreSQL) whose audit chain
//! verifies and whose API answers the same; every bad file, key or target is refused and
//! leaves the target as it was. And migrations run forward from the oldest schema.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use gongzhi::server;
use gongzhi_core::config::Config;
use gongzhi_core::db::{Db, Migration};
use gongzhi_core::identity::{self, Actor, Assignment, NewUser, Role};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::both;
use crate::cases::{desk_on, new_case, IN_STREET_1, IN_STREET_2};
use crate::helpers::*;
use gongzhi_core::db::query;

fn config_for(dir: &Path, db_url: &str) -> Config {
    Config {
        data_dir: dir.to_path_buf(),
        database_url: db_url.to_string(),
        listen: "127.0.0.1:0".into(),
        locate_per_second: 1_000_000,
        areas_poll_secs: 1,
        ..Config::default()
    }
}

/// A server on an existing database and data dir, as a `TestApp` (for its request helpers).
async fn serve(dir: tempfile::TempDir, db_url: &str) -> TestApp {
    let config = config_for(dir.path(), db_url);
    let (db, sealer) = server::open(&config).await.unwrap();
    let listener = server::bind("127.0.0.1:0").await.unwrap();
    let running = server::start(config, db.clone(), sealer.clone(), listener)
        .await
        .unwrap();
    TestApp {
        url: running.url(),
        client: reqwest::Client::new(),
        db,
        db_url: db_url.to_string(),
        sealer,
        dir,
        running,
        clock: None,
    }
}

/// A target data dir holding `key` (or none) and a fresh database on `backend`.
async fn target(backend: Backend, key: Option<&[u8]>) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    if let Some(k) = key {
        std::fs::write(dir.path().join("secret.key"), k).unwrap();
    }
    let url = fresh_database(backend, dir.path()).await;
    (dir, url)
}

/// How many tables the database at `url` holds (0: nothing was restored into it).
async fn tables_in(backend: Backend, url: &str) -> i64 {
    let db = Db::connect(url).await.unwrap();
    let sql = match backend {
        Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()"
        }
    };
    let n: i64 = query(sql)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    db.close().await;
    n
}

fn ok(out: &std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn refused(out: &std::process::Output, says: &str) {
    assert!(
        !out.status.success(),
        "should be refused: {}",
        text(&out.stdout)
    );
    let err = text(&out.stderr);
    assert!(err.contains(says), "expected {says:?} in: {err}");
}

async fn backup_while_writing_restores_the_same(backend: Backend) {
    let d = desk_on(TestApp::spawn(backend).await).await;
    let mut ids = Vec::new();
    for at in [IN_STREET_1, IN_STREET_2, IN_STREET_1] {
        let (s, case) = d.create(&d.operator, &new_case("C0101", at)).await;
        assert_eq!(s, 201, "{case}");
        ids.push(case["id"].as_str().unwrap().to_string());
    }
    d.ok(&d.operator, &ids[0], "accept", json!({})).await;
    d.ok(&d.operator, &ids[0], "file", json!({})).await;
    d.ok(&d.dispatcher, &ids[0], "dispatch", json!({})).await;

    // Cases keep arriving while the backup is taken.
    let file = d.app.dir.path().join("gongzhi.backup");
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (url, token, stop) = (d.app.url.clone(), d.operator.clone(), stop.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut made = 0;
            while !stop.load(Ordering::Relaxed) {
                let resp = client
                    .post(format!("{url}/api/v1/cases"))
                    .bearer_auth(&token)
                    .json(&new_case("C0101", IN_STREET_2))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status().as_u16(), 201);
                made += 1;
            }
            made
        })
    };
    let args = ["backup".to_string(), file.display().to_string()];
    let (dir, url) = (d.app.dir.path().to_path_buf(), d.app.db_url.clone());
    let out = tokio::task::spawn_blocking(move || {
        run_cli(&dir, &url, &[args[0].as_str(), args[1].as_str()], None)
    })
    .await
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    assert!(ok(&out, "backup").contains("backed up"));
    let backup = std::fs::read_to_string(&file).unwrap();
    assert!(
        !backup.contains("13812345678"),
        "the reporter's phone stays encrypted in the backup"
    );
    let key = std::fs::read(d.app.dir.path().join("secret.key")).unwrap();
    assert!(
        !backup.contains(String::from_utf8_lossy(&key).trim()),
        "the secret key is not in the backup"
    );

    let mut targets = vec![backend];
    if backend == Backend::Sqlite {
        targets.push(Backend::Postgres); // a move from SQLite to PostgreSQL
    }
    for to in targets {
        let (dir, url) = target(to, Some(&key)).await;
        let file = file.display().to_string();
        assert!(ok(
            &run_cli(&dir.path().to_path_buf(), &url, &["restore", &file], None),
            "restore"
        )
        .contains("restored"));
        let verified = ok(
            &run_cli(&dir.path().to_path_buf(), &url, &["audit", "verify"], None),
            "audit verify",
        );
        assert!(verified.contains("intact"), "{verified}");

        let restored = serve(dir, &url).await;
        let admin = restored.admin().await;
        let (s, list) = restored
            .get("/api/v1/cases?page_size=100", Some(&admin))
            .await;
        assert_eq!(s, 200, "{list}");
        let items = list["items"].as_array().unwrap();
        let listed: Vec<&str> = items.iter().map(|c| c["id"].as_str().unwrap()).collect();
        for id in &ids {
            assert!(
                listed.contains(&id.as_str()),
                "{id} was written before the backup"
            );
        }
        // Every restored case answers as it does on the original.
        for id in &listed {
            let path = format!("/api/v1/cases/{id}");
            let (s1, there) = d.app.get(&path, Some(&d.admin)).await;
            let (s2, here) = restored.get(&path, Some(&admin)).await;
            assert_eq!((s1, s2), (200, 200));
            assert_eq!(strip_volatile(there), strip_volatile(here), "{id}");
        }
        // Its personal fields open with the same key.
        let (_, revealed) = restored
            .get(
                &format!("/api/v1/cases/{}?reveal=true", ids[0]),
                Some(&admin),
            )
            .await;
        assert_eq!(revealed["reporter"]["phone"], "13812345678");
        restored.running.stop();
    }
}
both!(backup_while_writing_restores_the_same);

/// What an answer computes from the clock at the moment it is asked, not from what is stored.
fn strip_volatile(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("now");
    }
    v
}

/// `file`'s lines with the header changed by `edit` and the trailer's checksum made to match.
fn rewrite_header(file: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut lines: Vec<String> = file.lines().map(str::to_string).collect();
    let mut header: Value = serde_json::from_str(&lines[0]).unwrap();
    edit(&mut header);
    lines[0] = header.to_string();
    let body: String = lines[..lines.len() - 1]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    let mut trailer: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    trailer["end"]["sha256"] = json!(hex_of(&Sha256::digest(body.as_bytes())));
    format!("{body}{trailer}\n")
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn restore_refuses_bad_files_keys_and_targets(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let file = app.dir.path().join("gongzhi.backup");
    ok(
        &app.cli(&["backup", &file.display().to_string()], None),
        "backup",
    );
    let good = std::fs::read_to_string(&file).unwrap();
    let key = std::fs::read(app.dir.path().join("secret.key")).unwrap();
    let (dir, url) = target(backend, Some(&key)).await;
    let data_dir = dir.path().to_path_buf();
    let try_restore = |name: &str, contents: &str| {
        let path = app.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        run_cli(
            &data_dir,
            &url,
            &["restore", &path.display().to_string()],
            None,
        )
    };

    let lines: Vec<&str> = good.lines().collect();
    let mut half = good.len() / 2;
    while !good.is_char_boundary(half) {
        half += 1;
    }
    let cut_in_a_line = &good[..half];
    let cut_at_a_line: String = lines[..lines.len() - 1]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    let altered = good.replacen("\"admin\"", "\"admim\"", 1);
    assert_ne!(altered, good);
    for (name, contents, says) in [
        ("cut.backup", cut_in_a_line, "truncated"),
        ("short.backup", cut_at_a_line.as_str(), "truncated"),
        ("altered.backup", altered.as_str(), "truncated or altered"),
        ("notes.txt", "some notes\n", "not a gongzhi backup"),
        ("empty.backup", "", "not a gongzhi backup"),
    ] {
        refused(&try_restore(name, contents), says);
        assert_eq!(
            tables_in(backend, &url).await,
            0,
            "{name} changed the target"
        );
    }
    let newer = rewrite_header(&good, |h| {
        h["migrations"]
            .as_array_mut()
            .unwrap()
            .push(json!("core-9999-from-the-future"));
    });
    refused(&try_restore("newer.backup", &newer), "newer schema");
    let later_format = rewrite_header(&good, |h| h["version"] = json!(99));
    refused(&try_restore("v99.backup", &later_format), "format version");
    assert_eq!(tables_in(backend, &url).await, 0);

    // Without the key, or with another one.
    let path = file.display().to_string();
    let keyless = tempfile::tempdir().unwrap();
    let keyless_url = fresh_database(backend, keyless.path()).await;
    refused(
        &run_cli(
            &keyless.path().to_path_buf(),
            &keyless_url,
            &["restore", &path],
            None,
        ),
        "no secret key",
    );
    assert!(
        !keyless.path().join("secret.key").exists(),
        "no key is made up in its place"
    );
    assert_eq!(tables_in(backend, &keyless_url).await, 0);
    let (other, other_url) = target(backend, Some(&[b'7'; 64])).await;
    refused(
        &run_cli(
            &other.path().to_path_buf(),
            &other_url,
            &["restore", &path],
            None,
        ),
        "not the one this backup was made with",
    );
    assert_eq!(tables_in(backend, &other_url).await, 0);

    // A target that holds data: the original itself.
    let audit_before = app.count("audit_log").await;
    refused(&app.cli(&["restore", &path], None), "not empty");
    assert_eq!(app.count("audit_log").await, audit_before);

    // The refusals left the target as it was: the good file still restores into it.
    ok(
        &run_cli(&data_dir, &url, &["restore", &path], None),
        "restore",
    );
    ok(
        &run_cli(&data_dir, &url, &["audit", "verify"], None),
        "audit verify",
    );
}
both!(restore_refuses_bad_files_keys_and_targets);

/// A database made by the first migration of every module (the oldest schema) migrates to
/// the newest, and the platform then works on it.
async fn migrations_run_forward_from_the_oldest_schema(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(backend, dir.path()).await;
    let modules = server::modules();
    let oldest: Vec<&Migration> = modules
        .iter()
        .filter_map(|m| m.migrations().first())
        .collect();
    let newest: usize = modules.iter().map(|m| m.migrations().len()).sum();
    assert!(oldest.len() < newest, "there are later migrations to run");
    let db = Db::connect(&url).await.unwrap();
    assert_eq!(db.migrate(&oldest).await.unwrap(), oldest.len());
    db.close().await;

    let config = config_for(dir.path(), &url);
    let (db, sealer, applied) = server::open_counting(&config).await.unwrap();
    assert_eq!(applied, newest - oldest.len());
    identity::create_user(
        &db,
        &sealer,
        &Actor::system("test"),
        &NewUser {
            username: "admin".into(),
            password: ADMIN_PASSWORD.into(),
            assignments: vec![Assignment::global(Role::ADMIN)],
            full_name: Some("管理员".into()),
            phone: Some("13900000000".into()),
            email: None,
        },
    )
    .await
    .unwrap();
    db.close().await;
    let app = serve(dir, &url).await;
    let d = desk_on(app).await;
    let (s, case) = d.create(&d.operator, &new_case("C0101", IN_STREET_1)).await;
    assert_eq!(s, 201, "{case}");
    let id = case["id"].as_str().unwrap();
    d.ok(&d.operator, id, "accept", json!({})).await;
    d.ok(&d.operator, id, "file", json!({})).await;
    let dispatched = d.ok(&d.dispatcher, id, "dispatch", json!({})).await;
    assert_eq!(dispatched["status"], "dispatched");
    let verified = ok(&d.app.cli(&["audit", "verify"], None), "audit verify");
    assert!(verified.contains("intact"), "{verified}");
}
both!(migrations_run_forward_from_the_oldest_schema);
