use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use gongzhi::server::{self, Running};
use gongzhi_core::config::{sqlite_url, Config};
use gongzhi_core::db::query;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{self, Actor, Assignment, NewUser, Role};
use gongzhi_core::privacy::Sealer;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs `async fn $name(Backend)` as two tests, `$name::sqlite` and `$name::postgres`.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::helpers::Backend::Postgres).await
            }
        }
    };
}

pub fn postgres_admin_url() -> String {
    std::env::var("GONGZHI_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh, empty database for one test.
pub async fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => sqlite_url(&dir.join("gongzhi.db")),
        Backend::Postgres => {
            let admin_url = postgres_admin_url();
            let admin = Db::connect(&admin_url)
                .await
                .expect("PostgreSQL is reachable (see scripts/test)");
            let name = format!("gz_test_{}", uuid_simple());
            query(&format!("CREATE DATABASE {name}"))
                .execute(admin.pool())
                .await
                .expect("create database");
            admin.pool().close().await;
            let base = admin_url
                .rsplit_once('/')
                .map(|(b, _)| b.to_string())
                .unwrap_or(admin_url);
            format!("{base}/{name}")
        }
    }
}

fn uuid_simple() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..16)
        .map(|_| format!("{:x}", rng.gen_range(0..16)))
        .collect()
}

pub const ADMIN_PASSWORD: &str = "admin-password";

pub struct TestApp {
    pub url: String,
    pub client: reqwest::Client,
    pub db: Db,
    pub db_url: String,
    pub sealer: Sealer,
    pub dir: tempfile::TempDir,
    pub running: Running,
    pub clock: Option<std::sync::Arc<gongzhi_core::time::ManualClock>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts the real server on a fresh database with one global admin (`admin`).
    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
        Self::start(backend, tweak, true).await
    }

    /// A server whose scheduler runs on `clock` (jobs polled every 50 ms).
    pub async fn spawn_with_clock(
        backend: Backend,
        tweak: impl FnOnce(&mut Config),
        clock: std::sync::Arc<gongzhi_core::time::ManualClock>,
    ) -> TestApp {
        let mut app = Self::start(
            backend,
            |c| {
                c.jobs_poll_ms = 50;
                tweak(c)
            },
            true,
        )
        .await;
        app.running.stop();
        app.clock = Some(clock.clone());
        app.running = app.serve_again(clock).await;
        app.url = app.running.url();
        app
    }

    /// Another server process on the same database and data dir (a restart), on `clock`.
    pub async fn serve_again(
        &self,
        clock: std::sync::Arc<gongzhi_core::time::ManualClock>,
    ) -> Running {
        let config = self.running.state.config.as_ref().clone();
        let (db, sealer) = server::open(&config).await.unwrap();
        let listener = server::bind("127.0.0.1:0").await.unwrap();
        server::start_with_clock(config, db, sealer, listener, clock)
            .await
            .unwrap()
    }

    /// A server on an empty database: no users at all.
    pub async fn spawn_bare(backend: Backend) -> TestApp {
        Self::start(backend, |_| {}, false).await
    }

    async fn start(backend: Backend, tweak: impl FnOnce(&mut Config), with_admin: bool) -> TestApp {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("warn")
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let db_url = fresh_database(backend, dir.path()).await;
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            database_url: db_url.clone(),
            listen: "127.0.0.1:0".into(),
            locate_per_second: 1_000_000,
            areas_poll_secs: 1,
            ..Config::default()
        };
        tweak(&mut config);
        let (db, sealer) = server::open(&config).await.unwrap();
        if with_admin {
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
        }
        let listener = server::bind("127.0.0.1:0").await.unwrap();
        let running = server::start(config, db.clone(), sealer.clone(), listener)
            .await
            .unwrap();
        TestApp {
            url: running.url(),
            client: reqwest::Client::new(),
            db,
            db_url,
            sealer,
            dir,
            running,
            clock: None,
        }
    }

    pub async fn token(&self, username: &str, password: &str) -> String {
        let (status, body) = self
            .post(
                "/api/v1/auth/token",
                None,
                &json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(status, 200, "sign in as {username}: {body}");
        body["token"].as_str().unwrap().to_string()
    }

    pub async fn admin(&self) -> String {
        self.token("admin", ADMIN_PASSWORD).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self.client.get(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut req = self.client.post(format!("{}{path}", self.url)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn post_text(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: &str,
    ) -> (u16, Value) {
        self.post_bytes(path, token, content_type, body.as_bytes().to_vec())
            .await
    }

    pub async fn post_bytes(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .post(format!("{}{path}", self.url))
            .header("content-type", content_type)
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        answer(req).await
    }

    pub async fn post_multipart(
        &self,
        path: &str,
        token: Option<&str>,
        form: reqwest::multipart::Form,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .post(format!("{}{path}", self.url))
            .multipart(form);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        answer(req).await
    }

    /// The raw bytes and content type at `path`.
    pub async fn get_bytes(&self, path: &str, token: Option<&str>) -> (u16, String, Vec<u8>) {
        let mut req = self.client.get(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, ct, resp.bytes().await.unwrap().to_vec())
    }

    /// Creates a user through the API as admin and returns a token for them.
    pub async fn user_with(
        &self,
        username: &str,
        role: &str,
        area: Option<&str>,
        unit: Option<&str>,
    ) -> String {
        let admin = self.admin().await;
        let password = format!("{username}-password");
        let (status, body) = self
            .post(
                "/api/v1/users",
                Some(&admin),
                &json!({"username": username, "password": password, "assignments": [{"role": role, "area": area, "unit": unit}]}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        self.token(username, &password).await
    }

    pub async fn count(&self, table: &str) -> i64 {
        query(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(self.db.pool())
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    }

    /// Runs the real `gongzhi` binary against this app's database and data dir.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        run_cli(&self.dir.path().to_path_buf(), &self.db_url, args, stdin)
    }
}

pub fn run_cli(data_dir: &PathBuf, db_url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gongzhi"));
    cmd.args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--database")
        .arg(db_url)
        .env_remove("GONGZHI_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

/// A small district outside Dongcheng to import: 西城区-like codes, two streets, two
/// communities each, as division CSV.
pub const OTHER_DIVISIONS: &str = "code,name,level,parent_code\n\
110102,西城区,district,\n\
110102001,西长安街街道,street,110102\n\
110102002,新街口街道,street,110102\n\
110102001001,府右街社区,community,110102001\n\
110102001002,钟声社区,community,110102001\n\
110102002001,西四北社区,community,110102002\n\
110102002002,新明社区,community,110102002\n";

/// Status and JSON (or text) of a request.
pub async fn answer(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The smallest valid PNG: one transparent pixel (its IDAT length was once 13 for 10 bytes,
/// which the metadata stripper of public photos rightly refuses).
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];
