//! The proof harness's gongzhi side (issue 6): intake against plain inserts into the raw
//! database, the ranking on a year of generated cases (exported for DuckDB), and the HTTP API
//! under open-loop load. `bench/run` drives these together with the other comparisons.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Subcommand;
use gongzhi_cases::stats::{self, CaseFigures, CounterDelta, StatsLevel};
use gongzhi_core::db::Db;
use gongzhi_core::identity::Actor;
use gongzhi_core::{audit, Error, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sqlx::Row;

use super::{drop_scratch, load_average, machine, median, scratch_postgres, write_section};

#[derive(Subcommand)]
pub enum HarnessCommand {
    /// Intake against the raw database: plain inserts of the same case rows with the same
    /// durability, then gongzhi's intake through its service layer and through HTTP.
    IntakeRaw {
        /// Cases per run.
        #[arg(long, default_value_t = 5_000)]
        cases: usize,
        /// Concurrent callers in the concurrent runs.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Runs of each measurement (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// An administrative PostgreSQL URL; scratch databases are created and dropped.
        #[arg(long)]
        postgres: Option<String>,
        /// Markdown file to update.
        #[arg(long, default_value = "docs/benchmarks.md")]
        output: PathBuf,
    },
    /// Generates a year of cases over 343 streets into gongzhi, times the monthly ranking (and
    /// the scan it replaced), and writes the same cases as CSV for bench/rankings-duckdb.
    RankingsExport {
        /// Cases to generate (a Beijing year is 25,000,000).
        #[arg(long, default_value_t = 1_000_000)]
        cases: usize,
        /// The ranked period.
        #[arg(long, default_value = "2026-06")]
        period: String,
        /// Timed runs of the ranking.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Skip timing the full scan of the cases table (slow at tens of millions).
        #[arg(long)]
        no_scan: bool,
        /// Database (default: SQLite in --dir).
        #[arg(long)]
        database: Option<String>,
        /// Directory for the database, cases.csv and gongzhi.json.
        #[arg(long)]
        dir: PathBuf,
    },
    /// The HTTP API under mixed reads and writes at fixed request rates (open loop), with the
    /// server in its own process: latency percentiles, errors and resident memory.
    Http {
        /// Stored cases, comma separated (one server per size).
        #[arg(long, value_delimiter = ',', default_value = "1000000,10000000")]
        cases: Vec<i64>,
        /// Request rates per second, comma separated.
        #[arg(long, value_delimiter = ',', default_value = "500,1000,2000")]
        rates: Vec<u32>,
        /// Seconds at each rate.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// A PostgreSQL URL to run on instead of SQLite (a scratch database is created and dropped).
        #[arg(long)]
        postgres: Option<String>,
        /// Markdown file to update.
        #[arg(long, default_value = "docs/benchmarks.md")]
        output: PathBuf,
    },
}

pub async fn run(cmd: HarnessCommand) -> Result<()> {
    match cmd {
        HarnessCommand::IntakeRaw {
            cases,
            concurrency,
            runs,
            postgres,
            output,
        } => intake_raw(cases, concurrency, runs, postgres.as_deref(), &output).await,
        HarnessCommand::RankingsExport {
            cases,
            period,
            runs,
            no_scan,
            database,
            dir,
        } => rankings_export(cases, &period, runs, !no_scan, database.as_deref(), &dir).await,
        HarnessCommand::Http {
            cases,
            rates,
            seconds,
            postgres,
            output,
        } => http(&cases, &rates, seconds, postgres.as_deref(), &output).await,
    }
}

fn now_utc() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string()
}

fn config_for(url: &str, dir: &Path) -> gongzhi_core::config::Config {
    gongzhi_core::config::Config {
        data_dir: dir.to_path_buf(),
        database_url: url.to_string(),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Intake against the raw database
// ---------------------------------------------------------------------------------------------

/// One case row as intake writes it (the same 26 bound columns and constants).
#[derive(Clone)]
struct RawRow {
    id: String,
    number: String,
    description: String,
    lat: f64,
    lng: f64,
    name: String,
    phone: String,
    codes: [String; 4],
    unit: Option<String>,
    now: i64,
    deadlines: (i64, i64, i64),
}

const RAW_INSERT_HEAD: &str = "INSERT INTO cases (id, number, kind, category_code, description, lat, lng, address, channel, reporter_name, reporter_phone, \
     anonymous, grid_code, community_code, street_code, district_code, unit_code, lead_unit, created_at, updated_at, \
     respond_deadline, handle_deadline, close_deadline, idempotency_key, created_by, held_from, status, version, rework_count, supervised) VALUES ";

fn raw_values(n: usize) -> String {
    (0..n)
        .map(|i| {
            let b = i * 18;
            format!(
                "(${}, ${}, 'report', 'C0101', ${}, CAST(${} AS DOUBLE PRECISION), CAST(${} AS DOUBLE PRECISION), NULL, 'hotline', ${}, ${}, 0, \
                 ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, NULL, NULL, NULL, 'reported', 1, 0, 0)",
                b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9, b + 10, b + 11, b + 12, b + 13, b + 14,
                b + 15, b + 16, b + 17, b + 18
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn raw_insert(conn: &mut sqlx::AnyConnection, rows: &[RawRow]) -> Result<()> {
    for chunk in rows.chunks(gongzhi_core::db::rows_per_statement(18)) {
        let sql = format!("{RAW_INSERT_HEAD}{}", raw_values(chunk.len()));
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(&r.id)
                .bind(&r.number)
                .bind(&r.description)
                .bind(r.lat.to_string())
                .bind(r.lng.to_string())
                .bind(&r.name)
                .bind(&r.phone)
                .bind(&r.codes[0])
                .bind(&r.codes[1])
                .bind(&r.codes[2])
                .bind(&r.codes[3])
                .bind(&r.unit)
                .bind(&r.unit)
                .bind(r.now)
                .bind(r.now)
                .bind(r.deadlines.0)
                .bind(r.deadlines.1)
                .bind(r.deadlines.2);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The rows of `n` cases inside the demo jurisdiction, made before timing (locate, seal).
async fn raw_rows(n: usize, seed: u64) -> Result<Vec<RawRow>> {
    let dir = std::env::temp_dir().join(format!("gz-raw-rows-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (db, sealer) = crate::server::open(&config_for(
        &gongzhi_core::config::sqlite_url(&dir.join("r.db")),
        &dir,
    ))
    .await?;
    let actor = Actor::system("bench");
    gongzhi_core::areas::import_geojson(&db, &actor, &crate::demo::jurisdiction().to_string())
        .await?;
    let index = gongzhi_core::areas::build_locate_index(&db).await?;
    db.pool().close().await;
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
        out.push(RawRow {
            id: uuid::Uuid::new_v4().to_string(),
            number: format!("R{seed}{i:09}"),
            description: format!("压测案件 {i}"),
            lat,
            lng,
            name: sealer.seal("王五"),
            phone: sealer.seal("13800001234"),
            codes: [
                l.grid.code.clone(),
                l.community.code.clone(),
                l.street.code.clone(),
                l.district.code.clone(),
            ],
            unit: Some(format!("{}-jd", l.street.code)),
            now,
            deadlines: (now + 3_600_000, now + 86_400_000, now + 3 * 86_400_000),
        });
    }
    Ok(out)
}

/// Plain inserts into a fresh database with gongzhi's schema (same table, same indexes, same
/// connection settings: SQLite WAL + synchronous=FULL, PostgreSQL defaults). `per_commit` rows
/// per transaction; `callers` concurrent callers (SQLite: one connection, it has one writer).
async fn measure_raw(url: &str, rows: &[RawRow], callers: usize, per_commit: usize) -> Result<f64> {
    sqlx::any::install_default_drivers();
    let sqlite = url.starts_with("sqlite");
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(if sqlite {
            1
        } else {
            callers.clamp(1, 64) as u32
        })
        .after_connect(move |conn, _| {
            Box::pin(async move {
                use sqlx::Executor;
                if sqlite {
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await?;
    let chunks: Vec<Vec<RawRow>> = rows
        .chunks(rows.len().div_ceil(callers.max(1)))
        .map(|c| c.to_vec())
        .collect();
    let t = Instant::now();
    let mut tasks = Vec::new();
    for chunk in chunks {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for batch in chunk.chunks(per_commit) {
                let mut conn = pool.acquire().await?;
                if per_commit == 1 {
                    // Autocommit: one durable commit per row.
                    raw_insert(&mut conn, batch).await?;
                } else {
                    use sqlx::Connection;
                    let mut tx = conn.begin().await?;
                    raw_insert(&mut tx, batch).await?;
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
    let (db, sealer) = crate::server::open(&config).await?;
    crate::demo::seed_with_history(&db, &sealer, 0, 0).await?;
    let listener = crate::server::bind("127.0.0.1:0").await?;
    let running = crate::server::start(config, db.clone(), sealer, listener).await?;
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
    db.pool().close().await;
    Ok(rate)
}

async fn api_token(client: &reqwest::Client, base: &str, user: &str) -> Result<String> {
    let resp = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"username": user, "password": format!("{user}-demo")}))
        .send()
        .await
        .map_err(Error::internal)?;
    let body: serde_json::Value = resp.json().await.map_err(Error::internal)?;
    body["token"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| Error::internal(format!("{user} could not get a token: {body}")))
}

struct IntakeRow {
    backend: &'static str,
    path: &'static str,
    one: Option<Vec<f64>>,
    many: Vec<f64>,
}

async fn intake_raw(
    cases: usize,
    concurrency: usize,
    runs: usize,
    postgres: Option<&str>,
    output: &Path,
) -> Result<()> {
    let runs = runs.max(1);
    let pid = std::process::id();
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
            let mut scratch = 0;
            let mut fresh = || {
                scratch += 1;
                format!("gz_bench_intake_{pid}_{run}_{scratch}")
            };
            // Each measurement on a fresh database with gongzhi's schema.
            let url_for = |name: String| {
                let admin = admin.map(String::from);
                async move {
                    let dir = std::env::temp_dir().join(&name);
                    let _ = std::fs::remove_dir_all(&dir);
                    std::fs::create_dir_all(&dir).map_err(Error::internal)?;
                    let url = match &admin {
                        Some(a) => scratch_postgres(a, &name).await?,
                        None => gongzhi_core::config::sqlite_url(&dir.join("gongzhi.db")),
                    };
                    let (db, _) = crate::server::open(&config_for(&url, &dir)).await?;
                    db.pool().close().await;
                    Ok::<(String, PathBuf, String), Error>((url, dir, name))
                }
            };
            let data = raw_rows(cases * 2, run as u64 + 1).await?;
            let mut cleanup = Vec::new();
            for (i, (callers, per_commit)) in [(1, 1), (concurrency, 1), (concurrency, 200)]
                .into_iter()
                .enumerate()
            {
                let (url, dir, name) = url_for(fresh()).await?;
                let slice = if callers == 1 {
                    &data[..cases]
                } else {
                    &data[cases..]
                };
                eprintln!("intake-raw: {backend}, run {}, raw {callers} callers, {per_commit} per commit …", run + 1);
                let r = measure_raw(&url, slice, callers, per_commit).await?;
                eprintln!("  {r:.0} rows/s");
                match i {
                    0 => rows[0].one.as_mut().expect("one").push(r),
                    1 => rows[0].many.push(r),
                    _ => rows[1].many.push(r),
                }
                cleanup.push((dir, name));
            }
            let (url, dir, name) = url_for(fresh()).await?;
            eprintln!("intake-raw: {backend}, run {}, service layer …", run + 1);
            let f = super::measure_intake(&url, &dir, cases, concurrency).await?;
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
                let (url, dir, name) = url_for(fresh()).await?;
                eprintln!(
                    "intake-raw: {backend}, run {}, HTTP with {callers} clients …",
                    run + 1
                );
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
                if let Some(a) = admin {
                    drop_scratch(a, &name).await;
                }
            }
        }
        table.extend(rows);
    }
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
            lines.push(format!(
                "| {backend} | {} | {} | {} | {} | {} | {} |",
                r.path,
                one.map(fmt).unwrap_or_else(|| "—".into()),
                one.map(|v| format!("{:.2}×", v / raw_one))
                    .unwrap_or_else(|| "—".into()),
                fmt(many),
                format!("{:.2}×", many / raw_many),
                format!("{:.2}×", many / raw_batched),
            ));
        }
    }
    let body = format!(
        "## Intake vs the raw database\n\n\
         Command: `bench/run` (runs `gongzhi bench intake-raw`, release build). Machine: {}. Date: {}. \
         Load average before the run: {load_before}.\n\
         {cases} cases per measurement, each on a fresh database with gongzhi's schema (the same `cases` table and indexes), \
         medians of {runs} runs. The same durability everywhere: SQLite in WAL mode with synchronous=FULL, PostgreSQL with its \
         defaults (fsync on, synchronous_commit on). **Raw**: the case rows intake writes (same 30 columns, values made \
         beforehand: located, reporter sealed), inserted directly with sqlx — one caller, or {concurrency} callers \
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
    );
    write_section(output, "intake-raw", &body)?;
    eprintln!("wrote {}", output.display());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The monthly ranking on a generated year
// ---------------------------------------------------------------------------------------------

const STREETS: usize = 343;
const DISTRICTS: usize = 16;
const COMMUNITIES_PER_STREET: usize = 20;
const GRIDS_PER_COMMUNITY: usize = 5;
const DEPARTMENTS_PER_DISTRICT: usize = 8;

/// 16 districts, 343 streets, 20 communities a street, 5 grids a community (codes only: the
/// ranking needs no polygons); a street office per street and 8 departments per district.
async fn rankings_jurisdiction(db: &Db) -> Result<Vec<(String, Vec<String>)>> {
    let actor = Actor::system("bench");
    let mut csv = String::from("code,name,level,parent_code\n");
    let mut streets = Vec::new();
    for d in 0..DISTRICTS {
        let district = format!("1101{:02}", d + 1);
        csv.push_str(&format!("{district},区{:02},district,\n", d + 1));
        let n = STREETS / DISTRICTS + usize::from(d < STREETS % DISTRICTS);
        for s in 0..n {
            let street = format!("{district}{:03}", s + 1);
            csv.push_str(&format!(
                "{street},{district}街道{:03},street,{district}\n",
                s + 1
            ));
            let mut grids = Vec::new();
            for c in 0..COMMUNITIES_PER_STREET {
                let community = format!("{street}{:03}", c + 1);
                csv.push_str(&format!("{community},社区{community},community,{street}\n"));
                for g in 0..GRIDS_PER_COMMUNITY {
                    let grid = format!("{community}{:03}", g + 1);
                    csv.push_str(&format!("{grid},网格{grid},grid,{community}\n"));
                    grids.push(grid);
                }
            }
            streets.push((street, grids));
        }
    }
    gongzhi_core::areas::import_divisions(db, &actor, &csv).await?;
    for (street, _) in &streets {
        gongzhi_core::identity::create_unit(
            db,
            &actor,
            &gongzhi_core::identity::Unit {
                code: format!("{street}-jd"),
                name: format!("{street}街道办事处"),
                kind: "street_office".into(),
                area_code: Some(street.clone()),
            },
        )
        .await?;
    }
    for d in 0..DISTRICTS {
        for k in 0..DEPARTMENTS_PER_DISTRICT {
            let district = format!("1101{:02}", d + 1);
            gongzhi_core::identity::create_unit(
                db,
                &actor,
                &gongzhi_core::identity::Unit {
                    code: format!("{district}-d{k}"),
                    name: format!("{district}委办局{k}"),
                    kind: "department".into(),
                    area_code: Some(district),
                },
            )
            .await?;
        }
    }
    Ok(streets)
}

/// One generated case: its figures and the rest of its row.
struct GenCase {
    f: CaseFigures,
    district: String,
    status: &'static str,
    created: i64,
    updated: i64,
    category: &'static str,
}

fn gen_case(
    rng: &mut StdRng,
    streets: &[(String, Vec<String>)],
    weights: &[f64],
    created: i64,
) -> GenCase {
    const H: i64 = 3_600_000;
    let total = weights.last().copied().unwrap_or(1.0);
    let x = rng.gen::<f64>() * total;
    let si = weights.partition_point(|w| *w < x).min(streets.len() - 1);
    let (street, grids) = &streets[si];
    let grid = &grids[rng.gen_range(0..grids.len())];
    let district = street[..6].to_string();
    let unit = if rng.gen_bool(0.6) {
        format!("{street}-jd")
    } else {
        format!("{district}-d{}", rng.gen_range(0..DEPARTMENTS_PER_DISTRICT))
    };
    let merged = rng.gen_bool(0.01);
    let dispatched =
        (!merged && rng.gen_bool(0.95)).then(|| created + rng.gen_range(H / 12..4 * H));
    let handle_deadline = dispatched.map(|d| d + rng.gen_range(1..=5) * 24 * H);
    let close_deadline = handle_deadline.map(|d| d + 2 * 24 * H);
    let back = dispatched
        .filter(|_| rng.gen_bool(0.88))
        .map(|d| d + rng.gen_range(H..6 * 24 * H));
    let rework = if back.is_some() && rng.gen_bool(0.15) {
        rng.gen_range(1..=2)
    } else {
        0
    };
    let closed = back
        .filter(|_| rng.gen_bool(0.92))
        .map(|b| b + rng.gen_range(H..3 * 24 * H));
    let callback = closed
        .filter(|_| rng.gen_bool(0.9))
        .map(|c| c + rng.gen_range(H..3 * 24 * H));
    // A few callbacks never reached anyone (no answer recorded): not valid callbacks.
    let contacted =
        callback.and_then(|_| (!rng.gen_bool(0.02)).then(|| i64::from(rng.gen_bool(0.93))));
    let (resolved, satisfaction) = match contacted {
        Some(1) => {
            let s = rng.gen::<f64>();
            (
                Some(i64::from(rng.gen_bool(0.78))),
                Some(
                    if s < 0.65 {
                        "satisfied"
                    } else if s < 0.85 {
                        "basically_satisfied"
                    } else {
                        "dissatisfied"
                    }
                    .to_string(),
                ),
            )
        }
        Some(_) => (Some(0), None),
        None => (None, None),
    };
    let status = if merged {
        "merged"
    } else if callback.is_some() {
        "called_back"
    } else if closed.is_some() {
        "closed"
    } else if back.is_some() {
        "reported_back"
    } else if dispatched.is_some() {
        "dispatched"
    } else {
        "filed"
    };
    let updated = [Some(created), dispatched, back, closed, callback]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(created);
    GenCase {
        f: CaseFigures {
            merged,
            codes: [
                Some(street.clone()),
                Some(grid[..12].to_string()),
                Some(grid.clone()),
                dispatched.map(|_| unit),
            ],
            callback_at: callback,
            callback_contacted: contacted,
            callback_resolved: resolved,
            callback_satisfaction: satisfaction,
            dispatched_at: dispatched,
            reported_back_at: back,
            handle_deadline,
            closed_at: closed,
            close_deadline,
            rework_count: rework,
        },
        district,
        status,
        created,
        updated,
        category: ["C0101", "E0102", "E0503", "R0101", "E0601", "C0302"][rng.gen_range(0..6)],
    }
}

const GEN_COLS: usize = 23;

/// Writes one batch of generated cases with their counters and one audit entry, in one
/// transaction (the benchmark's bulk path: the same counters every case write keeps).
async fn write_generated(db: &Db, first: usize, batch: &[GenCase]) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let mut delta = CounterDelta::default();
    let per = gongzhi_core::db::rows_per_statement(GEN_COLS);
    for chunk_start in (0..batch.len()).step_by(per) {
        let chunk = &batch[chunk_start..(chunk_start + per).min(batch.len())];
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let ph: Vec<String> = (1..=GEN_COLS)
                    .map(|k| format!("${}", i * GEN_COLS + k))
                    .collect();
                format!(
                    "({}, 'report', 'hotline', 1, NULL, NULL, 1, 0)",
                    ph.join(", ")
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO cases (id, number, category_code, description, grid_code, community_code, street_code, district_code, unit_code, lead_unit, \
             status, created_at, updated_at, dispatched_at, reported_back_at, closed_at, callback_at, callback_contacted, callback_resolved, \
             callback_satisfaction, handle_deadline, close_deadline, rework_count, kind, channel, anonymous, lat, lng, version, supervised) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (i, c) in chunk.iter().enumerate() {
            let f = &c.f;
            q = q
                // Ids in arrival order (UUID-shaped): the key index grows at its end.
                .bind(format!(
                    "00000000-0000-4000-8000-{:012x}",
                    first + chunk_start + i
                ))
                .bind(format!("G{:010}", first + chunk_start + i))
                .bind(c.category)
                .bind("生成案件")
                .bind(f.codes[2].clone())
                .bind(f.codes[1].clone())
                .bind(f.codes[0].clone())
                .bind(c.district.clone())
                .bind(f.codes[3].clone())
                .bind(f.codes[3].clone())
                .bind(c.status)
                .bind(c.created)
                .bind(c.updated)
                .bind(f.dispatched_at)
                .bind(f.reported_back_at)
                .bind(f.closed_at)
                .bind(f.callback_at)
                .bind(f.callback_contacted)
                .bind(f.callback_resolved)
                .bind(f.callback_satisfaction.clone())
                .bind(f.handle_deadline)
                .bind(f.close_deadline)
                .bind(f.rework_count);
            delta.add(f, 1);
        }
        q.execute(tx.conn()).await?;
    }
    delta.apply(&mut tx).await?;
    audit::append(
        &mut tx,
        &Actor::system("bench"),
        "bench.generate_cases",
        &format!("cases:{}", batch.len()),
        &json!({"first": first, "cases": batch.len()}),
        Some("benchmark data: generated cases"),
    )
    .await?;
    tx.commit().await
}

fn csv_opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map(|x| x.to_string()).unwrap_or_default()
}

async fn rankings_export(
    cases: usize,
    period: &str,
    runs: usize,
    scan: bool,
    database: Option<&str>,
    dir: &Path,
) -> Result<()> {
    let io = |e: std::io::Error| Error::internal(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let url = database
        .map(String::from)
        .unwrap_or_else(|| gongzhi_core::config::sqlite_url(&dir.join("gongzhi.db")));
    let (db, _) = crate::server::open(&config_for(&url, dir)).await?;
    let t = Instant::now();
    let streets = rankings_jurisdiction(&db).await?;
    let mut rng = StdRng::seed_from_u64(2025);
    // Busier streets and quieter ones: weights 0.3–1.7.
    let mut acc = 0.0;
    let weights: Vec<f64> = streets
        .iter()
        .map(|_| {
            acc += rng.gen_range(0.3..1.7);
            acc
        })
        .collect();
    let year_start = stats::period_bounds("2026-01", 1)?.0;
    let year_end = stats::period_bounds("2026-12", 1)?.1;
    let step = (year_end - year_start) as f64 / cases as f64;
    let mut w = std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(dir.join("cases.csv")).map_err(io)?,
    );
    writeln!(w, "status,street_code,community_code,grid_code,unit_code,callback_at,callback_contacted,callback_resolved,callback_satisfaction,dispatched_at,reported_back_at,handle_deadline,closed_at,close_deadline,rework_count").map_err(io)?;
    const BATCH: usize = 100_000;
    let indexes = super::drop_secondary_indexes(&db, "cases").await?;
    let mut written = 0;
    while written < cases {
        let n = BATCH.min(cases - written);
        let batch: Vec<GenCase> = (0..n)
            .map(|i| {
                // In arrival order over the year, a little jitter.
                let at = year_start + ((written + i) as f64 * step) as i64 + rng.gen_range(0..1000);
                gen_case(&mut rng, &streets, &weights, at)
            })
            .collect();
        for c in &batch {
            let f = &c.f;
            writeln!(
                w,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                c.status,
                csv_opt(&f.codes[0]),
                csv_opt(&f.codes[1]),
                csv_opt(&f.codes[2]),
                csv_opt(&f.codes[3]),
                csv_opt(&f.callback_at),
                csv_opt(&f.callback_contacted),
                csv_opt(&f.callback_resolved),
                csv_opt(&f.callback_satisfaction),
                csv_opt(&f.dispatched_at),
                csv_opt(&f.reported_back_at),
                csv_opt(&f.handle_deadline),
                csv_opt(&f.closed_at),
                csv_opt(&f.close_deadline),
                f.rework_count
            )
            .map_err(io)?;
        }
        write_generated(&db, written, &batch).await?;
        written += n;
        if written % 1_000_000 < BATCH || written == cases {
            eprintln!(
                "rankings: {written} cases stored ({:.0} s, {:.0}/s)",
                t.elapsed().as_secs_f64(),
                written as f64 / t.elapsed().as_secs_f64()
            );
        }
    }
    w.flush().map_err(io)?;
    let t_index = Instant::now();
    super::create_indexes(&db, &indexes).await?;
    eprintln!(
        "rankings: {} indexes of the cases table built again ({:.0} s)",
        indexes.len(),
        t_index.elapsed().as_secs_f64()
    );
    let generate_secs = t.elapsed().as_secs_f64();
    sqlx::query("ANALYZE").execute(db.pool()).await?;
    let stored: i64 = sqlx::query("SELECT COUNT(*) FROM cases")
        .fetch_one(db.pool())
        .await?
        .try_get(0)?;
    let counter_rows: i64 = sqlx::query("SELECT COUNT(*) FROM case_stats_daily")
        .fetch_one(db.pool())
        .await?
        .try_get(0)?;
    let admin = Actor::system("bench");
    // Warm-up, then the timed runs.
    let mut rows = stats::compute(&db, &admin, period, StatsLevel::Street).await?;
    let mut times = Vec::new();
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        rows = stats::compute(&db, &admin, period, StatsLevel::Street).await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let mut other_levels = serde_json::Map::new();
    for level in [StatsLevel::Community, StatsLevel::Grid, StatsLevel::Unit] {
        let _ = stats::compute(&db, &admin, period, level).await?;
        let mut ts = Vec::new();
        let mut n = 0;
        for _ in 0..3 {
            let t = Instant::now();
            n = stats::compute(&db, &admin, period, level).await?.len();
            ts.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        other_levels.insert(level.as_str().into(), json!({"ms": median(ts), "rows": n}));
    }
    // The scan the counters replaced, and whether both agree at this size.
    let (start, end) = stats::period_bounds(period, 1)?;
    let scan_figures = if scan {
        let t = Instant::now();
        let scanned = stats::scan_counts(&db, StatsLevel::Street, start, end).await?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let counted = stats::counter_counts(&db, StatsLevel::Street, start, end).await?;
        let agree = scanned == counted;
        eprintln!("rankings: the scan took {ms:.0} ms; counters agree with it: {agree}");
        if !agree {
            return Err(Error::internal(
                "the counters disagree with a scan of the cases",
            ));
        }
        json!({"ms": ms, "agree": agree})
    } else {
        serde_json::Value::Null
    };
    eprintln!(
        "rankings: {stored} cases, {} streets ranked for {period}, {:.1} ms (median of {runs})",
        rows.len(),
        median(times.clone())
    );
    let figures = json!({
        "backend": if db.backend() == gongzhi_core::db::Backend::Sqlite { "SQLite" } else { "PostgreSQL" },
        "cases": stored,
        "generate_secs": generate_secs,
        "counter_rows": counter_rows,
        "period": period,
        "start_ms": start,
        "end_ms": end,
        "runs_ms": times,
        "ms": median(times.clone()),
        "other_levels": other_levels,
        "scan": scan_figures,
        "machine": machine(),
        "rows": rows.iter().map(|r| json!({
            "rank": r.rank, "code": r.code, "counts": r.counts.values(), "score": r.score,
            "response_rate": r.response_rate, "resolution_rate": r.resolution_rate, "satisfaction_rate": r.satisfaction_rate,
        })).collect::<Vec<_>>(),
    });
    std::fs::write(
        dir.join("gongzhi.json"),
        serde_json::to_string_pretty(&figures).map_err(Error::internal)?,
    )
    .map_err(io)?;
    db.pool().close().await;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// HTTP under open-loop load
// ---------------------------------------------------------------------------------------------

/// The server under test, in its own process (so its memory is its own).
struct Server {
    child: std::process::Child,
    base: String,
}

impl Server {
    async fn start(dir: &Path, url: &str) -> Result<Server> {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(Error::internal)?;
            l.local_addr().map_err(Error::internal)?.port()
        };
        let child = std::process::Command::new(std::env::current_exe().map_err(Error::internal)?)
            .args(["--data-dir"])
            .arg(dir)
            .args([
                "--database",
                url,
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            // The public locate endpoint is rate limited per client; the load comes from one.
            .env("GONGZHI_LOCATE_PER_SECOND", "1000000")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .map_err(Error::internal)?;
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if client
                .get(format!("{base}/api/openapi.json"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(Server { child, base });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(Error::internal("the server did not start"))
    }

    fn rss_kib(&self) -> Option<u64> {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        s.lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Op {
    GetCase,
    ListCases,
    Locate,
    Ranking,
    Create,
    Accept,
}

const CATEGORIES: [&str; 3] = ["C0101", "E0102", "E0503"];

/// The mix: 75% reads, 25% writes.
const MIX: [(Op, u32); 6] = [
    (Op::GetCase, 35),
    (Op::ListCases, 20),
    (Op::Locate, 15),
    (Op::Ranking, 5),
    (Op::Create, 20),
    (Op::Accept, 5),
];

struct RateFigures {
    rate: u32,
    sent: usize,
    achieved: f64,
    p50: f64,
    p99: f64,
    max: f64,
    errors: usize,
    /// Of the errors: 5xx answers and requests that got no answer within 10 s.
    server_errors: usize,
    timeouts: usize,
    rss_max_mib: f64,
    /// Per operation: requests, p50, p99 and failed requests.
    per_op: Vec<(Op, usize, f64, f64, usize)>,
}

/// The `q` quantile of sorted latencies.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}

struct Load {
    client: reqwest::Client,
    base: String,
    operator: String,
    dispatcher: String,
    case_ids: Vec<String>,
    created: std::sync::Mutex<Vec<String>>,
    period: String,
}

/// How a request ended.
#[derive(Clone, Copy, PartialEq)]
enum Outcome {
    Ok,
    Unexpected,
    ServerError,
    NoAnswer,
}

async fn one_request(load: &Load, op: Op, rng_seed: u64) -> Outcome {
    let mut rng = StdRng::seed_from_u64(rng_seed);
    let base = &load.base;
    let req = match op {
        Op::GetCase => load
            .client
            .get(format!("{base}/api/v1/cases/{}", load.case_ids[rng.gen_range(0..load.case_ids.len())]))
            .bearer_auth(&load.dispatcher),
        Op::ListCases => load
            .client
            .get(format!(
                "{base}/api/v1/cases?status={}&page={}",
                ["dispatched", "signed", "reported_back", "closed"][rng.gen_range(0..4)],
                rng.gen_range(1..20)
            ))
            .bearer_auth(&load.dispatcher),
        Op::Locate => load.client.get(format!(
            "{base}/api/v1/areas/locate?lat={}&lng={}",
            rng.gen_range(39.88..39.95),
            rng.gen_range(116.39..116.43)
        )),
        Op::Ranking => load
            .client
            .get(format!("{base}/api/v1/stats/cases?period={}&level=street", load.period))
            .bearer_auth(&load.dispatcher),
        Op::Create => load
            .client
            .post(format!("{base}/api/v1/cases"))
            .bearer_auth(&load.operator)
            .json(&json!({"kind": "report", "category": CATEGORIES[rng.gen_range(0..3)],
                          "description": "负载测试案件",
                          "location": {"lat": rng.gen_range(39.90..39.93), "lng": rng.gen_range(116.40..116.42)},
                          "channel": "hotline", "reporter": {"name": "王五", "phone": "13800001234"}})),
        Op::Accept => {
            let id = load.created.lock().unwrap_or_else(|e| e.into_inner()).pop();
            match id {
                Some(id) => load
                    .client
                    .post(format!("{base}/api/v1/cases/{id}/actions/accept"))
                    .bearer_auth(&load.dispatcher)
                    .json(&json!({})),
                None => load
                    .client
                    .get(format!("{base}/api/v1/cases/{}", load.case_ids[0]))
                    .bearer_auth(&load.dispatcher),
            }
        }
    };
    match req.timeout(Duration::from_secs(10)).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let ok = match op {
                // A point outside the district is a 404 answer, not an error.
                Op::Locate => status == 200 || status == 404,
                // Outside every grid (the district is not a rectangle): a 404 answer.
                Op::Create => status == 201 || status == 404,
                _ => (200..300).contains(&status),
            };
            let body = resp.bytes().await;
            let outcome = if ok {
                Outcome::Ok
            } else if status >= 500 {
                Outcome::ServerError
            } else {
                Outcome::Unexpected
            };
            if matches!(op, Op::Create) && status == 201 {
                if let Some(id) = body
                    .ok()
                    .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                    .and_then(|v| v["id"].as_str().map(String::from))
                {
                    load.created
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(id);
                }
            }
            outcome
        }
        Err(_) => Outcome::NoAnswer,
    }
}

/// Sends requests at `rate`/s for `seconds` whatever the latency (each request is started at its
/// scheduled moment; latency counts from that moment, so queueing at the client counts too).
async fn open_loop(
    load: std::sync::Arc<Load>,
    server: &Server,
    rate: u32,
    seconds: u64,
) -> RateFigures {
    let total = rate as usize * seconds as usize;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let weights: u32 = MIX.iter().map(|(_, w)| w).sum();
    let start = tokio::time::Instant::now() + Duration::from_millis(50);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Op, f64, Outcome)>();
    let mut rng = StdRng::seed_from_u64(rate as u64);
    let mut rss_max = 0u64;
    let mut last_rss = Instant::now();
    for i in 0..total {
        let due = start + interval * i as u32;
        if tokio::time::Instant::now() < due {
            tokio::time::sleep_until(due).await;
        }
        if last_rss.elapsed() > Duration::from_millis(200) {
            rss_max = rss_max.max(server.rss_kib().unwrap_or(0));
            last_rss = Instant::now();
        }
        let mut pick = rng.gen_range(0..weights);
        let op = MIX
            .iter()
            .find(|(_, w)| {
                if pick < *w {
                    true
                } else {
                    pick -= w;
                    false
                }
            })
            .map(|(o, _)| *o)
            .unwrap_or(Op::GetCase);
        let (load, tx, seed) = (load.clone(), tx.clone(), rng.gen::<u64>());
        tokio::spawn(async move {
            let ok = one_request(&load, op, seed).await;
            let ms = (tokio::time::Instant::now() - due).as_secs_f64() * 1000.0;
            let _ = tx.send((op, ms, ok));
        });
    }
    let sent_for = (tokio::time::Instant::now() - start).as_secs_f64();
    drop(tx);
    let mut lat = Vec::with_capacity(total);
    let mut by_op: std::collections::BTreeMap<Op, (Vec<f64>, usize)> = Default::default();
    let (mut errors, mut server_errors, mut timeouts) = (0, 0, 0);
    while let Some((op, ms, outcome)) = rx.recv().await {
        lat.push(ms);
        let e = by_op.entry(op).or_default();
        e.0.push(ms);
        e.1 += usize::from(outcome != Outcome::Ok);
        errors += usize::from(outcome != Outcome::Ok);
        server_errors += usize::from(outcome == Outcome::ServerError);
        timeouts += usize::from(outcome == Outcome::NoAnswer);
    }
    rss_max = rss_max.max(server.rss_kib().unwrap_or(0));
    lat.sort_by(f64::total_cmp);
    let p = |q: f64| quantile(&lat, q);
    let per_op = by_op
        .into_iter()
        .map(|(op, (mut l, failed))| {
            l.sort_by(f64::total_cmp);
            (op, l.len(), quantile(&l, 0.5), quantile(&l, 0.99), failed)
        })
        .collect();
    RateFigures {
        per_op,
        rate,
        sent: total,
        achieved: total as f64 / sent_for.max(1e-9),
        p50: p(0.5),
        p99: p(0.99),
        max: p(1.0),
        errors,
        server_errors,
        timeouts,
        rss_max_mib: rss_max as f64 / 1024.0,
    }
}

async fn http(
    cases: &[i64],
    rates: &[u32],
    seconds: u64,
    postgres: Option<&str>,
    output: &Path,
) -> Result<()> {
    let pid = std::process::id();
    let mut sections = Vec::new();
    let load_before = load_average();
    for &n in cases {
        let dir = std::env::temp_dir().join(format!("gz-bench-http-{pid}-{n}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(Error::internal)?;
        let name = format!("gz_bench_http_{pid}_{n}");
        let url = match postgres {
            Some(a) => scratch_postgres(a, &name).await?,
            None => gongzhi_core::config::sqlite_url(&dir.join("gongzhi.db")),
        };
        let t = Instant::now();
        let (stored, case_ids) = {
            let (db, sealer) = crate::server::open(&config_for(&url, &dir)).await?;
            crate::demo::seed(&db, &sealer).await?;
            let stored = super::inflate_cases(&db, n, true).await?;
            sqlx::query("ANALYZE").execute(db.pool()).await?;
            if db.backend() == gongzhi_core::db::Backend::Sqlite {
                // Fold the copies' write-ahead log into the database now, so the server's first
                // commit does not inherit a checkpoint of the whole inflation.
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(db.pool())
                    .await?;
            }
            let ids: Vec<String> =
                sqlx::query("SELECT id FROM cases ORDER BY created_at DESC LIMIT 5000")
                    .fetch_all(db.pool())
                    .await?
                    .iter()
                    .map(|r| r.try_get::<String, _>(0))
                    .collect::<std::result::Result<_, _>>()?;
            db.pool().close().await;
            (stored, ids)
        };
        let prepare_secs = t.elapsed().as_secs_f64();
        eprintln!("http: {stored} cases stored ({prepare_secs:.0} s)");
        let server = Server::start(&dir, &url).await?;
        let rss_idle = server.rss_kib().unwrap_or(0) as f64 / 1024.0;
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(4096)
            .build()
            .map_err(Error::internal)?;
        let period = chrono::Utc::now()
            .with_timezone(&gongzhi_cases::calendar::shanghai())
            .format("%Y-%m")
            .to_string();
        let load = std::sync::Arc::new(Load {
            operator: api_token(&client, &server.base, "operator").await?,
            dispatcher: api_token(&client, &server.base, "dispatcher").await?,
            client,
            base: server.base.clone(),
            case_ids,
            created: Default::default(),
            period,
        });
        // Warm the caches (ranking, prepared statements) for a few seconds at a low rate.
        let _ = open_loop(load.clone(), &server, 100, 3).await;
        let mut figures = Vec::new();
        for &rate in rates {
            let f = open_loop(load.clone(), &server, rate, seconds).await;
            eprintln!(
                "http: {stored} cases, {rate}/s: p50 {:.1} ms, p99 {:.1} ms, errors {}, RSS max {:.0} MiB",
                f.p50, f.p99, f.errors, f.rss_max_mib
            );
            for (op, n, p50, p99, failed) in &f.per_op {
                eprintln!("http:   {op:?}: {n} requests, p50 {p50:.1} ms, p99 {p99:.1} ms, failed {failed}");
            }
            figures.push(f);
        }
        let rss_after = server.rss_kib().unwrap_or(0) as f64 / 1024.0;
        server.stop();
        let _ = std::fs::remove_dir_all(&dir);
        if let Some(a) = postgres {
            drop_scratch(a, &name).await;
        }
        sections.push(format!(
            "**{}**, {stored} cases stored (prepared in {prepare_secs:.0} s); server RSS idle after start {rss_idle:.0} MiB, after the runs {rss_after:.0} MiB.\n\n\
             | rate (req/s) | sent | rate achieved | p50 ms | p99 ms | max ms | errors (5xx, no answer in 10 s) | server RSS max (MiB) | p99 target < 50 ms |\n\
             |---:|---:|---:|---:|---:|---:|---:|---:|---|\n{}\n",
            if postgres.is_some() { "PostgreSQL" } else { "SQLite" },
            figures
                .iter()
                .map(|f| format!(
                    "| {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} ({}, {}) | {:.0} | {} |",
                    f.rate, f.sent, f.achieved, f.p50, f.p99, f.max, f.errors, f.server_errors, f.timeouts, f.rss_max_mib,
                    if f.p99 < 50.0 { "met" } else { "**missed**" }
                ))
                .collect::<Vec<_>>()
                .join("\n"),
        ));
        // Which operations make the tail: p50 / p99 (ms) of each at each rate.
        let ops: Vec<Op> = figures
            .first()
            .map(|f| f.per_op.iter().map(|o| o.0).collect())
            .unwrap_or_default();
        sections.push(format!(
            "p50 / p99 ms by operation (failed requests in brackets):\n\n| rate | {} |\n|---:|{}\n{}\n",
            ops.iter().map(|o| format!("{o:?}")).collect::<Vec<_>>().join(" | "),
            "---:|".repeat(ops.len()),
            figures
                .iter()
                .map(|f| format!(
                    "| {} | {} |",
                    f.rate,
                    f.per_op
                        .iter()
                        .map(|(_, _, p50, p99, failed)| if *failed > 0 {
                            format!("{p50:.1} / {p99:.1} ({failed})")
                        } else {
                            format!("{p50:.1} / {p99:.1}")
                        })
                        .collect::<Vec<_>>()
                        .join(" | ")
                ))
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    let mix: Vec<String> = MIX
        .iter()
        .map(|(op, w)| {
            let what = match op {
                Op::GetCase => "`GET /api/v1/cases/{id}`",
                Op::ListCases => "`GET /api/v1/cases?status=…&page=…`",
                Op::Locate => "`GET /api/v1/areas/locate`",
                Op::Ranking => "`GET /api/v1/stats/cases?level=street` (this month)",
                Op::Create => "`POST /api/v1/cases`",
                Op::Accept => {
                    "`POST /api/v1/cases/{id}/actions/accept` (on a case created in the run)"
                }
            };
            format!("{w}% {what}")
        })
        .collect();
    let body = format!(
        "## HTTP API under load\n\n\
         Command: `bench/run` (runs `gongzhi bench http`, release build). Machine: {}. Date: {}. Load average before: {load_before}.\n\
         The Dongcheng demo, its cases copied until the stated count (each round of copies moved back a whole number \
         of days — 1, 2, 4, … — so the store holds a long history at the demo's places, a few times the demo's density in \
         any week; the secondary indexes dropped for the copying and built again after it; `ANALYZE`d); the server (`gongzhi serve`) in its own process, the load \
         generator in another on the same 2 cores. Open loop: requests start at their scheduled moment at a fixed rate whatever \
         the latency (latency counts from that moment), {seconds} s per rate after a 3 s warm-up, bearer tokens of the demo \
         operator and dispatcher. Mix: {}. An error is a failed request, a timeout (10 s) or an unexpected status. \
         Resident memory is the server's VmRSS from /proc, sampled every 200 ms. Targets: p99 < 50 ms at 2,000 requests/s; \
         < 512 MB resident with 10 million cases.\n\n{}",
        machine(),
        now_utc(),
        mix.join(", "),
        sections.join("\n")
    );
    write_section(output, "http", &body)?;
    eprintln!("wrote {}", output.display());
    Ok(())
}
