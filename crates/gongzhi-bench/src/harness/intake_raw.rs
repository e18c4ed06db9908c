//! Intake against the engines' own limit: the rows one intake writes per case (the case row,
//! its first timeline event, its audit entry) through each database's fastest path
//! ([`super::engine`]), then gongzhi's intake through its service layer and over HTTP, each on a
//! fresh database with gongzhi's schema, with the group commits' batch sizes observed.

use std::path::{Path, PathBuf};
use std::time::Instant;

use gongzhi_cases::store::intake::{batch_sizes, BatchSizes, BATCH};
use gongzhi_core::db::Db;
use gongzhi_core::demo::DemoSize;
use gongzhi_core::{Error, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use super::engine::{self, CaseRows, PgPath};
use crate::report::{load_average, machine, median, now_utc, write_section};
use crate::setup::{api_token, config_for};

const SQLITE_PREPARED: &str =
    "engine: rusqlite, prepared single-row INSERTs (`prepare_cached`), one connection";
const PG_INSERT: &str = "engine: sqlx `PgConnection`, one multi-row INSERT per table";
const PG_COPY: &str =
    "engine: sqlx `PgConnection::copy_in_raw`, one `COPY … (FORMAT csv)` per table";
const SERVICE: &str = "gongzhi service layer (`create`)";
const HTTP: &str = "gongzhi HTTP (`POST /api/v1/cases`)";

/// One engine path at one shape: how it writes, callers, cases per transaction.
#[derive(Clone, Copy)]
enum RawPath {
    Sqlite,
    Pg(PgPath),
}

impl RawPath {
    fn label(self) -> &'static str {
        match self {
            RawPath::Sqlite => SQLITE_PREPARED,
            RawPath::Pg(PgPath::Insert) => PG_INSERT,
            RawPath::Pg(PgPath::Copy) => PG_COPY,
        }
    }
}

/// The engine paths measured on a backend, as (path, callers, cases per commit): one case per
/// commit, `concurrency` per commit (the most gongzhi's group commit can gather from that many
/// callers, each waiting for its own case) and its cap, [`BATCH`]. SQLite has one writer, so
/// its engine path runs on one connection whatever the callers.
fn raw_shapes(sqlite: bool, concurrency: usize) -> Vec<(RawPath, usize, usize)> {
    let mut out = Vec::new();
    let mut push = |s: (RawPath, usize, usize)| {
        if !out.iter().any(|o: &(RawPath, usize, usize)| {
            o.0.label() == s.0.label() && (o.1, o.2) == (s.1, s.2)
        }) {
            out.push(s);
        }
    };
    if sqlite {
        for per in [1, concurrency, BATCH] {
            push((RawPath::Sqlite, 1, per));
        }
    } else {
        push((RawPath::Pg(PgPath::Insert), 1, 1));
        for per in [1, concurrency, BATCH] {
            push((RawPath::Pg(PgPath::Insert), concurrency, per));
        }
        for per in [concurrency, BATCH] {
            push((RawPath::Pg(PgPath::Copy), concurrency, per));
        }
    }
    out
}

/// Intake over HTTP: `POST /api/v1/cases` by `callers` concurrent clients, server in-process.
/// Answers cases per second and the group commits made meanwhile.
async fn measure_http_intake(
    url: &str,
    dir: &Path,
    cases: usize,
    callers: usize,
) -> Result<(f64, BatchSizes)> {
    let config = config_for(url, dir);
    let (db, sealer) = gongzhi::server::open(&config).await?;
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
    let before = batch_sizes(&db);
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
    let batches = batch_sizes(&db).since(&before);
    running.stop();
    db.close().await;
    Ok((rate, batches))
}

/// Cases an engine measurement writes: `cases`, or enough for three full batches per caller
/// (64 callers at 200 per commit would otherwise commit less than a batch each).
fn rows_for(cases: usize, callers: usize, per_commit: usize) -> usize {
    cases.max(callers * per_commit * 3)
}

/// The engine path's name in the ratio table.
fn short(writer: &str) -> &str {
    match writer {
        SQLITE_PREPARED => "prepared INSERTs (rusqlite)",
        PG_INSERT => "multi-row INSERT",
        PG_COPY => "COPY (CSV)",
        other => other,
    }
}

/// One writer at one shape, over the runs.
struct Figure {
    backend: &'static str,
    writer: &'static str,
    callers: usize,
    /// Cases per commit of an engine path; gongzhi's are observed (`batches`).
    per_commit: Option<usize>,
    rates: Vec<f64>,
    batches: Vec<BatchSizes>,
}

fn record(
    table: &mut Vec<Figure>,
    key: (&'static str, &'static str, usize, Option<usize>),
    rate: f64,
    batches: Option<BatchSizes>,
) {
    let (backend, writer, callers, per_commit) = key;
    let at = table.iter().position(|f| {
        (f.backend, f.writer, f.callers, f.per_commit) == (backend, writer, callers, per_commit)
    });
    let f = match at {
        Some(i) => &mut table[i],
        None => {
            table.push(Figure {
                backend,
                writer,
                callers,
                per_commit,
                rates: Vec::new(),
                batches: Vec::new(),
            });
            table.last_mut().expect("just pushed")
        }
    };
    f.rates.push(rate);
    f.batches.extend(batches);
}

/// `gongzhi-bench intake-raw`: every writer on SQLite and, with `postgres`, PostgreSQL.
pub async fn run(
    cases: usize,
    concurrency: usize,
    runs: usize,
    history: i64,
    postgres: Option<&str>,
    output: &Path,
) -> Result<()> {
    let runs = runs.max(1);
    let concurrency = concurrency.max(1);
    let mut backends: Vec<(&'static str, Option<&str>)> = vec![("SQLite", None)];
    if let Some(p) = postgres {
        backends.push(("PostgreSQL", Some(p)));
    }
    let mut table: Vec<Figure> = Vec::new();
    let load_before = load_average();
    let mut stored = Vec::new();
    for (backend, admin) in backends {
        let history = History::make(admin, history).await?;
        stored.push(format!("{backend} {}", history.cases));
        for run in 0..runs {
            let at = Run {
                backend,
                admin,
                run,
                cases,
                concurrency,
                history: &history,
            };
            at.measure(&mut table).await?;
        }
        history.remove(admin).await;
    }
    let load_after = load_average();
    let body = section(
        &table,
        (cases, concurrency, runs, &stored.join(", ")),
        (&load_before, &load_after),
    );
    write_section(output, "intake-raw", &body)?;
    eprintln!("wrote {}", output.display());
    Ok(())
}

/// A stored history that every measurement starts from (the engine paths read nothing, but
/// they write into indexes of the same size): the full demo with its cases copied back over
/// time until `cases` are stored, made once per backend and copied for each measurement, so the duplicate check and
/// every index work at a realistic size.
struct History {
    cases: i64,
    dir: PathBuf,
    /// On PostgreSQL, the database the copies are made from (`CREATE DATABASE … TEMPLATE`).
    template: Option<String>,
}

impl History {
    async fn make(admin: Option<&str>, cases: i64) -> Result<History> {
        let name = format!("gz_bench_intake_history_{}", std::process::id());
        let dir = std::env::temp_dir().join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(Error::internal)?;
        let url = match admin {
            Some(a) => Db::create_scratch_database(a, &name).await?,
            None => gongzhi_core::config::sqlite_url(&dir.join("gongzhi.db")),
        };
        eprintln!("intake-raw: storing a history of {cases} cases …");
        let t = Instant::now();
        let (db, sealer) = gongzhi::server::open(&config_for(&url, &dir)).await?;
        gongzhi::server::seed_demo(&db, &sealer, DemoSize::FULL).await?;
        let stored = gongzhi_cases::store::bulk::copy_cases(&db, cases, true).await?;
        db.analyze().await?;
        db.checkpoint().await?;
        db.close().await;
        eprintln!("  {stored} cases in {:.0} s", t.elapsed().as_secs_f64());
        Ok(History {
            cases: stored,
            dir,
            template: admin.map(|_| name),
        })
    }

    /// A copy for one measurement: the data dir (its key) and the database.
    async fn copy(&self, admin: Option<&str>, name: &str, dir: &Path) -> Result<String> {
        for entry in std::fs::read_dir(&self.dir).map_err(Error::internal)? {
            let entry = entry.map_err(Error::internal)?;
            std::fs::copy(entry.path(), dir.join(entry.file_name())).map_err(Error::internal)?;
        }
        match admin {
            Some(a) => Db::create_scratch_database_from(a, name, self.template.as_deref()).await,
            None => Ok(gongzhi_core::config::sqlite_url(&dir.join("gongzhi.db"))),
        }
    }

    async fn remove(&self, admin: Option<&str>) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let (Some(a), Some(t)) = (admin, &self.template) {
            Db::drop_scratch_database(a, t).await;
        }
    }
}

/// One run of every writer on one backend.
struct Run<'a> {
    backend: &'static str,
    admin: Option<&'a str>,
    run: usize,
    cases: usize,
    concurrency: usize,
    history: &'a History,
}

impl Run<'_> {
    /// A copy of the stored history for one measurement: its URL, data dir and name.
    async fn fresh(&self, k: usize) -> Result<(String, PathBuf, String)> {
        let name = format!("gz_bench_intake_{}_{}_{k}", std::process::id(), self.run);
        let dir = std::env::temp_dir().join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(Error::internal)?;
        let url = self.history.copy(self.admin, &name, &dir).await?;
        Ok((url, dir, name))
    }

    async fn drop_fresh(&self, (dir, name): (PathBuf, String)) {
        let _ = std::fs::remove_dir_all(&dir);
        if let Some(a) = self.admin {
            Db::drop_scratch_database(a, &name).await;
        }
    }

    /// The engine paths, then gongzhi's service layer and HTTP (one caller, many); each figure
    /// recorded in `table`.
    async fn measure(&self, table: &mut Vec<Figure>) -> Result<()> {
        let (backend, run, cases, concurrency) =
            (self.backend, self.run + 1, self.cases, self.concurrency);
        let shapes = raw_shapes(self.admin.is_none(), concurrency);
        let most = shapes.iter().map(|&(_, c, p)| rows_for(cases, c, p)).max();
        let data = engine::case_rows(most.unwrap_or(cases), run as u64).await?;
        let mut k = 0;
        for (path, callers, per_commit) in shapes {
            k += 1;
            // On the same stored history as gongzhi's own runs: the same index sizes.
            let (url, dir, name) = self.fresh(k).await?;
            let rows = &data[..rows_for(cases, callers, per_commit)];
            eprintln!(
                "intake-raw: {backend}, run {run}, {}, {callers} callers, {per_commit} per commit, {} cases …",
                path.label(),
                rows.len()
            );
            let r = self
                .raw(path, &url, &dir, rows, callers, per_commit)
                .await?;
            eprintln!("  {r:.0} cases/s");
            record(
                table,
                (backend, path.label(), callers, Some(per_commit)),
                r,
                None,
            );
            self.drop_fresh((dir, name)).await;
        }
        k += 1;
        let (url, dir, name) = self.fresh(k).await?;
        eprintln!("intake-raw: {backend}, run {run}, service layer …");
        let f = crate::intake::measure_intake(&url, &dir, cases, concurrency, false).await?;
        eprintln!(
            "  {:.0}/s one caller, {:.0}/s {concurrency} callers (commits of {:.1} cases on average, at most {})",
            f.sequential_per_sec,
            f.concurrent_per_sec,
            f.concurrent_batches.mean(),
            f.concurrent_batches.largest
        );
        let key = |callers| (backend, SERVICE, callers, None);
        record(
            table,
            key(1),
            f.sequential_per_sec,
            Some(f.sequential_batches),
        );
        record(
            table,
            key(concurrency),
            f.concurrent_per_sec,
            Some(f.concurrent_batches),
        );
        self.drop_fresh((dir, name)).await;
        for callers in [1, concurrency] {
            k += 1;
            let (url, dir, name) = self.fresh(k).await?;
            eprintln!("intake-raw: {backend}, run {run}, HTTP with {callers} clients …");
            let (r, b) = measure_http_intake(&url, &dir, cases, callers).await?;
            eprintln!(
                "  {r:.0}/s (commits of {:.1} cases on average, at most {})",
                b.mean(),
                b.largest
            );
            record(table, (backend, HTTP, callers, None), r, Some(b));
            self.drop_fresh((dir, name)).await;
        }
        Ok(())
    }

    async fn raw(
        &self,
        path: RawPath,
        url: &str,
        dir: &Path,
        data: &[CaseRows],
        callers: usize,
        per_commit: usize,
    ) -> Result<f64> {
        match path {
            RawPath::Sqlite => {
                let (file, data) = (dir.join("gongzhi.db"), data.to_vec());
                tokio::task::spawn_blocking(move || {
                    engine::sqlite_prepared(&file.to_string_lossy(), &data, per_commit)
                })
                .await
                .map_err(Error::internal)?
            }
            RawPath::Pg(p) => engine::postgres(url, p, data, callers, per_commit).await,
        }
    }
}

/// Group commits over the runs: mean cases per commit and the largest.
fn batch_text(batches: &[BatchSizes]) -> String {
    let (n, cases, largest) = batches.iter().fold((0, 0, 0), |(n, c, l), b| {
        (n + b.batches, c + b.cases, l.max(b.largest))
    });
    if n == 0 {
        return "—".into();
    }
    format!(
        "observed: mean {:.1}, max {largest}",
        cases as f64 / n as f64
    )
}

/// The section: every writer's median, then gongzhi's against the engine paths at the same
/// batch size.
fn section(
    table: &[Figure],
    (cases, concurrency, runs, history): (usize, usize, usize, &str),
    (load_before, load_after): (&str, &str),
) -> String {
    let mut lines = Vec::new();
    for f in table {
        let per = match f.per_commit {
            Some(n) => n.to_string(),
            None => batch_text(&f.batches),
        };
        lines.push(format!(
            "| {} | {} | {} | {per} | {:.0} |",
            f.backend,
            f.writer,
            f.callers,
            median(f.rates.clone())
        ));
    }
    let mut ratios = Vec::new();
    for g in table.iter().filter(|f| f.per_commit.is_none()) {
        // One caller commits one case at a time; many callers at most one case each.
        let same = if g.callers == 1 { 1 } else { concurrency };
        for r in table.iter().filter(|r| {
            r.backend == g.backend
                && matches!(r.per_commit, Some(p) if p == same || (g.callers > 1 && p == BATCH))
                && (r.backend == "SQLite" || r.callers == g.callers)
        }) {
            let (gv, rv) = (median(g.rates.clone()), median(r.rates.clone()));
            ratios.push(format!(
                "| {} | {} | {} | {} | {} | {:.0} | {:.0} | {:.0}% |",
                g.backend,
                g.writer,
                g.callers,
                short(r.writer),
                r.per_commit.unwrap_or(0),
                gv,
                rv,
                100.0 * gv / rv
            ));
        }
    }
    format!(
        "## Intake vs the engine's raw ceiling\n\n\
         Command: `bench/run` (runs `gongzhi-bench intake-raw`, release build). Machine: {}. Date: {}. \
         Load average before the run: {load_before}; after: {load_after}.\n\
         {cases} cases per measurement, each on its own copy of one stored history ({history} cases, below) with \
         gongzhi's schema (the same tables and indexes), medians of {runs} runs. The same durability everywhere — a case is acknowledged only once it is on the disk: \
         SQLite in WAL mode, the engine path with synchronous=FULL (the log synced inside each commit) and gongzhi's \
         writer with synchronous=NORMAL plus its own sync of the log after each commit, outside the write lock, before \
         the commit returns (`gongzhi-core/src/db/sqlite.rs`); PostgreSQL with fsync and synchronous_commit on (its \
         defaults).\n\n\
         **Engine** paths write the rows one intake writes per case — the 31-column case row, its first timeline event \
         (`case_events`) and its audit entry (`audit_log`, its chain hashes computed beforehand) — with every value made \
         before the clock starts (located, reporter sealed), one transaction per batch of the stated size, nothing of \
         gongzhi between: SQLite through its C API (rusqlite, `BEGIN IMMEDIATE`, one cached prepared INSERT per table \
         executed per row, one connection: SQLite has one writer); PostgreSQL through sqlx's bare `PgConnection`, each \
         caller on its own connection opened before timing, with one multi-row INSERT per table per batch or one \
         `COPY … FROM STDIN (FORMAT csv)` per table per batch. Each engine measurement writes {cases} cases or, when \
         more, three full batches per caller. Batch sizes: 1, {concurrency} (the most a group commit \
         can gather from {concurrency} callers who each wait for their case) and {BATCH} (gongzhi's cap per commit). \
         The engine paths move no counters and no audit head (gongzhi's per-batch extras).\n\n\
         **gongzhi**: validate, locate, route, deadlines on the working calendar, case number, encrypted reporter, the \
         case row plus its first timeline event and its audit entry, one durable commit per batch of waiting intakes \
         (group commit, batch sizes observed by counting the commits), each measurement on a copy of a stored \
         history of cases — {history} stored: the full demo's cases copied back over time, indexes and statistics as in \
         service, so the duplicate check reads real weeks — through the service layer (`create`, as \
         `bench intake`) and over HTTP (`POST /api/v1/cases` with a bearer token, server in the same process, clients \
         over loopback).\n\n\
         | backend | writer | callers | cases per commit | cases/s |\n\
         |---|---|---:|---|---:|\n{}\n\n\
         gongzhi ÷ engine at the same batch size (one caller: 1 per commit; {concurrency} callers: {concurrency} per \
         commit, and {BATCH} for reference). Target: ≥ 50%.\n\n\
         | backend | gongzhi | callers | engine path | per commit | gongzhi cases/s | engine cases/s | gongzhi ÷ engine |\n\
         |---|---|---:|---|---:|---:|---:|---:|\n{}\n",
        machine(),
        now_utc(),
        lines.join("\n"),
        ratios.join("\n")
    )
}
