//! Intake against the raw database: plain inserts of the same case rows with the same
//! durability (through the cases module's bulk insert), then gongzhi's intake through its
//! service layer and through HTTP, each on a fresh database with gongzhi's schema.

use std::path::{Path, PathBuf};
use std::time::Instant;

use gongzhi_cases::store::bulk::{insert_seeded, SeededCase};
use gongzhi_core::db::Db;
use gongzhi_core::demo::DemoSize;
use gongzhi_core::{Error, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::report::{load_average, machine, median, now_utc, write_section};
use crate::setup::{api_token, config_for};

/// The rows of `n` cases inside the demo jurisdiction as intake would write them, made before
/// timing (located, reporter sealed).
async fn raw_rows(n: usize, seed: u64) -> Result<Vec<SeededCase>> {
    let dir = std::env::temp_dir().join(format!("gz-raw-rows-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (db, sealer) = gongzhi::server::open(&config_for(
        &gongzhi_core::config::sqlite_url(&dir.join("r.db")),
        &dir,
    ))
    .await?;
    let actor = gongzhi_core::identity::Actor::system("bench");
    let jurisdiction = gongzhi_core::areas::demo::jurisdiction().to_string();
    gongzhi_core::areas::import_geojson(&db, &actor, &jurisdiction).await?;
    let index = gongzhi_core::areas::build_locate_index(&db).await?;
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    let mut rng = StdRng::seed_from_u64(seed);
    let now = gongzhi_core::time::now_ms();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let (lat, lng) = (rng.gen_range(39.88..39.95), rng.gen_range(116.39..116.43));
        let Some(l) = index.locate(lat, lng) else {
            continue;
        };
        let i = out.len();
        let id = uuid::Uuid::new_v4().to_string();
        out.push(SeededCase {
            category: "C0101".into(),
            description: format!("压测案件 {i}"),
            lat: Some(lat),
            lng: Some(lng),
            reporter_name: Some(sealer.seal("王五")),
            reporter_phone: Some(sealer.seal("13800001234")),
            anonymous: false,
            grid: Some(l.grid.code.clone()),
            community: Some(l.community.code.clone()),
            street: Some(l.street.code.clone()),
            district: Some(l.district.code.clone()),
            unit: Some(format!("{}-jd", l.street.code)),
            respond_deadline: Some(now + 3_600_000),
            handle_deadline: Some(now + 86_400_000),
            close_deadline: Some(now + 3 * 86_400_000),
            ..SeededCase::reported(id, format!("R{seed}{i:09}"), now)
        });
    }
    Ok(out)
}

/// Plain inserts into a fresh database with gongzhi's schema (same table, same indexes, same
/// connection settings: SQLite WAL + synchronous=FULL, PostgreSQL defaults). `per_commit` rows
/// per transaction; `callers` concurrent callers (SQLite: one connection, it has one writer).
async fn measure_raw(
    url: &str,
    rows: &[SeededCase],
    callers: usize,
    per_commit: usize,
) -> Result<f64> {
    let sqlite = url.starts_with("sqlite");
    let connections = if sqlite {
        1
    } else {
        callers.clamp(1, 64) as u32
    };
    let pool = Db::bare_pool(url, connections).await?;
    let chunks: Vec<Vec<SeededCase>> = rows
        .chunks(rows.len().div_ceil(callers.max(1)))
        .map(|c| c.to_vec())
        .collect();
    let t = Instant::now();
    let mut tasks = Vec::new();
    for chunk in chunks {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for batch in chunk.chunks(per_commit) {
                if per_commit == 1 {
                    // Autocommit: one durable commit per row.
                    let mut conn = pool.acquire().await?;
                    insert_seeded(&mut conn, batch).await?;
                } else {
                    let mut tx = pool.begin().await?;
                    insert_seeded(&mut tx, batch).await?;
                    tx.commit().await?;
                }
            }
            Ok::<(), Error>(())
        }));
    }
    for t in tasks {
        t.await.map_err(Error::internal)??;
    }
    let rate = rows.len() as f64 / t.elapsed().as_secs_f64();
    pool.close().await;
    Ok(rate)
}

/// Intake over HTTP: `POST /api/v1/cases` by `callers` concurrent clients, server in-process.
async fn measure_http_intake(url: &str, dir: &Path, cases: usize, callers: usize) -> Result<f64> {
    let config = config_for(url, dir);
    let (db, sealer) = gongzhi::server::open(&config).await?;
    gongzhi::server::seed_demo(&db, &sealer, DemoSize::STRUCTURE).await?;
    let listener = gongzhi::server::bind("127.0.0.1:0").await?;
    let running = gongzhi::server::start(config, db.clone(), sealer, listener).await?;
    let base = running.url();
    let client = reqwest::Client::new();
    let token = api_token(&client, &base, "operator").await?;
    let mut rng = StdRng::seed_from_u64(17);
    let bodies: Vec<serde_json::Value> = (0..cases)
        .map(|i| {
            let category = ["C0101", "E0102", "E0503"][i % 3];
            json!({"kind": "report", "category": category,
                   "description": format!("压测案件 {i}"),
                   "location": {"lat": rng.gen_range(39.90..39.93), "lng": rng.gen_range(116.40..116.42)},
                   "channel": "hotline", "reporter": {"name": "王五", "phone": "13800001234"}})
        })
        .collect();
    let chunks: Vec<Vec<serde_json::Value>> = bodies
        .chunks(cases.div_ceil(callers.max(1)))
        .map(|c| c.to_vec())
        .collect();
    let t = Instant::now();
    let mut tasks = Vec::new();
    for chunk in chunks {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut created = 0usize;
            for body in &chunk {
                let resp = client
                    .post(format!("{base}/api/v1/cases"))
                    .bearer_auth(&token)
                    .json(body)
                    .send()
                    .await
                    .map_err(Error::internal)?;
                match resp.status().as_u16() {
                    201 => created += 1,
                    // Outside every grid (the demo district is not a rectangle).
                    404 => {}
                    s => {
                        return Err(Error::internal(format!(
                            "POST /api/v1/cases: {s} {}",
                            resp.text().await.unwrap_or_default()
                        )))
                    }
                }
            }
            Ok::<usize, Error>(created)
        }));
    }
    let mut created = 0;
    for t in tasks {
        created += t.await.map_err(Error::internal)??;
    }
    let rate = created as f64 / t.elapsed().as_secs_f64();
    running.stop();
    db.close().await;
    Ok(rate)
}

struct IntakeRow {
    backend: &'static str,
    path: &'static str,
    one: Option<Vec<f64>>,
    many: Vec<f64>,
}

/// `gongzhi-bench intake-raw`: every writer on SQLite and, with `postgres`, PostgreSQL.
pub async fn run(
    cases: usize,
    concurrency: usize,
    runs: usize,
    postgres: Option<&str>,
    output: &Path,
) -> Result<()> {
    let runs = runs.max(1);
    let mut backends: Vec<(&'static str, Option<&str>)> = vec![("SQLite", None)];
    if let Some(p) = postgres {
        backends.push(("PostgreSQL", Some(p)));
    }
    let mut table: Vec<IntakeRow> = Vec::new();
    let load_before = load_average();
    for (backend, admin) in backends {
        let mut rows: Vec<IntakeRow> = [
            "raw INSERT, one commit per case",
            "raw INSERT, 200 cases per commit",
            "gongzhi service layer (`create`)",
            "gongzhi HTTP (`POST /api/v1/cases`)",
        ]
        .into_iter()
        .map(|path| IntakeRow {
            backend,
            path,
            one: (!path.contains("200")).then(Vec::new),
            many: Vec::new(),
        })
        .collect();
        for run in 0..runs {
            let at = Run {
                backend,
                admin,
                run,
                cases,
                concurrency,
            };
            at.measure(&mut rows).await?;
        }
        table.extend(rows);
    }
    let body = section(&table, cases, concurrency, runs, &load_before);
    write_section(output, "intake-raw", &body)?;
    eprintln!("wrote {}", output.display());
    Ok(())
}

/// One run of every writer on one backend.
struct Run<'a> {
    backend: &'static str,
    admin: Option<&'a str>,
    run: usize,
    cases: usize,
    concurrency: usize,
}

impl Run<'_> {
    /// A fresh database with gongzhi's schema for one measurement: its URL and data dir.
    async fn fresh(&self, k: usize) -> Result<(String, PathBuf, String)> {
        let name = format!("gz_bench_intake_{}_{}_{k}", std::process::id(), self.run);
        let dir = std::env::temp_dir().join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(Error::internal)?;
        let url = match self.admin {
            Some(a) => Db::create_scratch_database(a, &name).await?,
            None => gongzhi_core::config::sqlite_url(&dir.join("gongzhi.db")),
        };
        let (db, _) = gongzhi::server::open(&config_for(&url, &dir)).await?;
        db.close().await;
        Ok((url, dir, name))
    }

    /// Raw inserts (one caller, many, many in batches), the service layer, then HTTP (one
    /// client, many); each figure pushed to its row of `rows`.
    async fn measure(&self, rows: &mut [IntakeRow]) -> Result<()> {
        let (backend, run, cases, concurrency) =
            (self.backend, self.run + 1, self.cases, self.concurrency);
        let data = raw_rows(cases * 2, run as u64).await?;
        let mut cleanup = Vec::new();
        for (i, (callers, per_commit)) in [(1, 1), (concurrency, 1), (concurrency, 200)]
            .into_iter()
            .enumerate()
        {
            let (url, dir, name) = self.fresh(cleanup.len() + 1).await?;
            let slice = if callers == 1 {
                &data[..cases]
            } else {
                &data[cases..]
            };
            eprintln!("intake-raw: {backend}, run {run}, raw {callers} callers, {per_commit} per commit …");
            let r = measure_raw(&url, slice, callers, per_commit).await?;
            eprintln!("  {r:.0} rows/s");
            match i {
                0 => rows[0].one.as_mut().expect("one").push(r),
                1 => rows[0].many.push(r),
                _ => rows[1].many.push(r),
            }
            cleanup.push((dir, name));
        }
        let (url, dir, name) = self.fresh(cleanup.len() + 1).await?;
        eprintln!("intake-raw: {backend}, run {run}, service layer …");
        let f = crate::intake::measure_intake(&url, &dir, cases, concurrency).await?;
        eprintln!(
            "  {:.0}/s one caller, {:.0}/s {concurrency} callers",
            f.sequential_per_sec, f.concurrent_per_sec
        );
        rows[2]
            .one
            .as_mut()
            .expect("one")
            .push(f.sequential_per_sec);
        rows[2].many.push(f.concurrent_per_sec);
        cleanup.push((dir, name));
        for (i, callers) in [1, concurrency].into_iter().enumerate() {
            let (url, dir, name) = self.fresh(cleanup.len() + 1).await?;
            eprintln!("intake-raw: {backend}, run {run}, HTTP with {callers} clients …");
            let r = measure_http_intake(&url, &dir, cases, callers).await?;
            eprintln!("  {r:.0}/s");
            if i == 0 {
                rows[3].one.as_mut().expect("one").push(r);
            } else {
                rows[3].many.push(r);
            }
            cleanup.push((dir, name));
        }
        for (dir, name) in cleanup {
            let _ = std::fs::remove_dir_all(&dir);
            if let Some(a) = self.admin {
                Db::drop_scratch_database(a, &name).await;
            }
        }
        Ok(())
    }
}

/// The section: each writer's medians and its ratios to the raw inserts.
fn section(
    table: &[IntakeRow],
    cases: usize,
    concurrency: usize,
    runs: usize,
    load_before: &str,
) -> String {
    let fmt = |v: f64| format!("{:.0}", v);
    let mut lines = Vec::new();
    for backend in ["SQLite", "PostgreSQL"] {
        let rows: Vec<&IntakeRow> = table.iter().filter(|r| r.backend == backend).collect();
        if rows.is_empty() {
            continue;
        }
        let raw_one = median(rows[0].one.clone().unwrap_or_default());
        let raw_many = median(rows[0].many.clone());
        let raw_batched = median(rows[1].many.clone());
        for r in &rows {
            let one = r.one.clone().map(median);
            let many = median(r.many.clone());
            let one_text = one.map(fmt).unwrap_or_else(|| "—".into());
            let one_ratio = one
                .map(|v| format!("{:.2}×", v / raw_one))
                .unwrap_or_else(|| "—".into());
            lines.push(format!(
                "| {backend} | {} | {one_text} | {one_ratio} | {} | {:.2}× | {:.2}× |",
                r.path,
                fmt(many),
                many / raw_many,
                many / raw_batched,
            ));
        }
    }
    format!(
        "## Intake vs the raw database\n\n\
         Command: `bench/run` (runs `gongzhi-bench intake-raw`, release build). Machine: {}. Date: {}. \
         Load average before the run: {load_before}.\n\
         {cases} cases per measurement, each on a fresh database with gongzhi's schema (the same `cases` table and indexes), \
         medians of {runs} runs. The same durability everywhere: SQLite in WAL mode with synchronous=FULL, PostgreSQL with its \
         defaults (fsync on, synchronous_commit on). **Raw**: the case rows intake writes (intake's columns, as the cases \
         module's bulk insert `store::bulk::insert_seeded` writes them — 34 in all, three rows a statement as intake's own; \
         values made beforehand: located, reporter sealed), inserted directly with sqlx — one caller, or {concurrency} callers \
         (PostgreSQL: {concurrency} connections; SQLite: its one writer connection), one commit per case or 200 cases per commit \
         (the batch gongzhi's group commit uses). **gongzhi**: validate, locate, route, deadlines on the working calendar, \
         case number, encrypted reporter, the case row plus its first timeline event and its audit entry, one durable commit \
         per batch of waiting intakes; through the service layer (`create`, as `bench intake`) and over HTTP \
         (`POST /api/v1/cases` with a bearer token, server in the same process, clients over loopback). \
         Ratios are against the raw inserts at the same concurrency.\n\n\
         | backend | writer | cases/s, one caller | vs raw | cases/s, {concurrency} callers | vs raw, one commit per case | vs raw, 200 per commit |\n\
         |---|---|---:|---:|---:|---:|---:|\n{}\n",
        machine(),
        now_utc(),
        lines.join("\n")
    )
}
