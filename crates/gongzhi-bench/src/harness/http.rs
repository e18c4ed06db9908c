//! The HTTP API under mixed reads and writes at fixed request rates (open loop), with the
//! server (`gongzhi serve`) in its own process: latency percentiles, errors, resident memory.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gongzhi_cases::store::bulk;
use gongzhi_core::db::Db;
use gongzhi_core::demo::DemoSize;
use gongzhi_core::{Error, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::report::{load_average, machine, now_utc, write_section};
use crate::setup::{api_token, config_for};

/// The `gongzhi` binary beside this one (both are built into the same target directory).
pub fn beside_this_binary() -> Result<PathBuf> {
    let me = std::env::current_exe().map_err(Error::internal)?;
    let server = me.with_file_name(format!("gongzhi{}", std::env::consts::EXE_SUFFIX));
    if server.exists() {
        Ok(server)
    } else {
        Err(Error::invalid(
            "server",
            format!(
                "no gongzhi binary at {} (build it, or pass --server)",
                server.display()
            ),
        ))
    }
}

/// What `bench http` runs: stored case counts (one server each), request rates, seconds each.
pub struct Rates<'a> {
    pub cases: &'a [i64],
    pub rates: &'a [u32],
    pub seconds: u64,
    /// Where the seeded stores are kept between runs (SQLite: `DIR/sqlite-N`, copied for each
    /// run; PostgreSQL: the database `http_seed_N`, its data directory `DIR/pg-N`, cloned as a
    /// template for each run). Without it every run seeds a scratch store and drops it.
    pub seeded: Option<&'a Path>,
    /// Seed (or find) the stores and stop.
    pub seed_only: bool,
}

/// The server under test, in its own process (so its memory is its own).
struct Server {
    child: std::process::Child,
    base: String,
}

impl Server {
    async fn start(binary: &Path, dir: &Path, url: &str) -> Result<Server> {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(Error::internal)?;
            l.local_addr().map_err(Error::internal)?.port()
        };
        let child = std::process::Command::new(binary)
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
        self.status_kib("VmRSS:")
    }

    /// The server's peak resident memory since it started.
    fn hwm_kib(&self) -> Option<u64> {
        self.status_kib("VmHWM:")
    }

    fn status_kib(&self, field: &str) -> Option<u64> {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        s.lines()
            .find(|l| l.starts_with(field))
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
    /// Requests offered (started at their moment).
    sent: usize,
    achieved: f64,
    /// Answered with anything but 503 `overloaded`.
    accepted: usize,
    /// Answered 503 `overloaded` (load shed), and the p99 of those answers.
    shed: usize,
    shed_p99: f64,
    /// Of the accepted: latency percentiles.
    p50: f64,
    p99: f64,
    max: f64,
    /// Accepted but failed: an unexpected status (4xx, or a 5xx other than shedding).
    errors: usize,
    server_errors: usize,
    /// No answer within 10 s.
    timeouts: usize,
    rss_max_mib: f64,
    /// The server's VmHWM after the rate (its peak since start).
    hwm_mib: f64,
    /// The load generator's own CPU over the rate, in % of one core (user + system).
    generator_cpu: f64,
    /// The load average when the rate started (the machine is shared).
    load: String,
    /// Per operation: accepted requests, their p50, p99, failed and shed requests.
    per_op: Vec<(Op, usize, f64, f64, usize, usize)>,
}

/// This process's CPU time so far (user + system), in seconds, from /proc/self/stat.
fn own_cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the command name (which may hold spaces) closed by ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after ')'.
    let ticks = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // Linux reports them in USER_HZ, 100 per second on every architecture it runs on here.
    (ticks(11) + ticks(12)) / 100.0
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
    /// 503 `overloaded`: shed at once, nothing done.
    Shed,
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
            } else if status == 503 {
                Outcome::Shed
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
    let cpu_before = own_cpu_secs();
    let wall = Instant::now();
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
    let mut shed_lat = Vec::new();
    let mut by_op: std::collections::BTreeMap<Op, (Vec<f64>, usize, usize)> = Default::default();
    let (mut errors, mut server_errors, mut timeouts) = (0, 0, 0);
    while let Some((op, ms, outcome)) = rx.recv().await {
        let e = by_op.entry(op).or_default();
        match outcome {
            Outcome::Shed => {
                shed_lat.push(ms);
                e.2 += 1;
                continue;
            }
            Outcome::NoAnswer => {
                timeouts += 1;
                e.1 += 1;
                continue;
            }
            Outcome::Ok => {}
            Outcome::Unexpected | Outcome::ServerError => {
                errors += 1;
                server_errors += usize::from(outcome == Outcome::ServerError);
                e.1 += 1;
            }
        }
        lat.push(ms);
        e.0.push(ms);
    }
    let generator_cpu = (own_cpu_secs() - cpu_before) / wall.elapsed().as_secs_f64() * 100.0;
    rss_max = rss_max.max(server.rss_kib().unwrap_or(0));
    lat.sort_by(f64::total_cmp);
    shed_lat.sort_by(f64::total_cmp);
    let p = |q: f64| quantile(&lat, q);
    let per_op = by_op
        .into_iter()
        .map(|(op, (mut l, failed, shed))| {
            l.sort_by(f64::total_cmp);
            (
                op,
                l.len(),
                quantile(&l, 0.5),
                quantile(&l, 0.99),
                failed,
                shed,
            )
        })
        .collect();
    RateFigures {
        per_op,
        rate,
        sent: total,
        achieved: total as f64 / sent_for.max(1e-9),
        accepted: lat.len(),
        shed: shed_lat.len(),
        shed_p99: quantile(&shed_lat, 0.99),
        p50: p(0.5),
        p99: p(0.99),
        max: p(1.0),
        errors,
        server_errors,
        timeouts,
        rss_max_mib: rss_max as f64 / 1024.0,
        hwm_mib: server.hwm_kib().unwrap_or(0) as f64 / 1024.0,
        generator_cpu,
        load: String::new(),
    }
}

/// The demo with its cases copied (spread over time) until `n` are stored, analysed and
/// checkpointed; returns how many are stored and the newest 5,000 case ids.
async fn prepare(url: &str, dir: &Path, n: i64) -> Result<(i64, Vec<String>)> {
    let (db, sealer) = gongzhi::server::open(&config_for(url, dir)).await?;
    gongzhi::server::seed_demo(&db, &sealer, DemoSize::FULL).await?;
    let stored = bulk::copy_cases(&db, n, true).await?;
    db.analyze().await?;
    // Fold the copies' write-ahead log into the database now, so the server's first commit
    // does not inherit a checkpoint of the whole inflation.
    db.checkpoint().await?;
    let ids = bulk::newest_ids(&db, 5000).await?;
    db.close().await;
    Ok((stored, ids))
}

/// The store one size runs on: a fresh copy of the kept seed (seeding it first when missing),
/// or a scratch store seeded for this run alone.
pub(crate) struct RunStore {
    pub(crate) url: String,
    pub(crate) dir: PathBuf,
    pub(crate) stored: i64,
    pub(crate) case_ids: Vec<String>,
    /// Seconds spent seeding now (0 when a kept seed was copied) and copying it.
    pub(crate) prepare_secs: f64,
    pub(crate) copy_secs: f64,
    /// The PostgreSQL database to drop afterwards.
    pub(crate) scratch_db: Option<String>,
}

/// `ids.txt` beside a kept seed: the stored count, then the newest case ids, one a line.
fn read_marker(dir: &Path) -> Option<(i64, Vec<String>)> {
    let text = std::fs::read_to_string(dir.join("ids.txt")).ok()?;
    let mut lines = text.lines();
    let stored = lines.next()?.parse().ok()?;
    Some((stored, lines.map(String::from).collect()))
}

fn write_marker(dir: &Path, stored: i64, ids: &[String]) -> Result<()> {
    let mut text = format!("{stored}\n");
    for id in ids {
        text.push_str(id);
        text.push('\n');
    }
    std::fs::write(dir.join("ids.txt"), text).map_err(Error::internal)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(to);
    let ok = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .map_err(Error::internal)?
        .success();
    if ok {
        Ok(())
    } else {
        Err(Error::internal(format!(
            "cp -a {} {} failed",
            from.display(),
            to.display()
        )))
    }
}

pub(crate) async fn run_store(
    n: i64,
    postgres: Option<&str>,
    seeded: Option<&Path>,
) -> Result<RunStore> {
    let pid = std::process::id();
    let Some(keep) = seeded else {
        let dir =
            std::env::temp_dir().join(format!("gz-bench-http-{pid}-{n}-{}", postgres.is_some()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(Error::internal)?;
        let name = format!("gz_bench_http_{pid}_{n}");
        let url = match postgres {
            Some(a) => Db::create_scratch_database(a, &name).await?,
            None => gongzhi_core::config::sqlite_url(&dir.join("gongzhi.db")),
        };
        let t = Instant::now();
        let (stored, case_ids) = prepare(&url, &dir, n).await?;
        return Ok(RunStore {
            url,
            dir,
            stored,
            case_ids,
            prepare_secs: t.elapsed().as_secs_f64(),
            copy_secs: 0.0,
            scratch_db: postgres.map(|_| name),
        });
    };
    let kind = if postgres.is_some() { "pg" } else { "sqlite" };
    let seed_dir = keep.join(format!("{kind}-{n}"));
    let seed_db = format!("http_seed_{n}");
    let t = Instant::now();
    let (stored, case_ids) = match read_marker(&seed_dir) {
        Some(found) => {
            // A seed kept by an older build: its migrations brought up to this one's (once, on
            // the seed, not on every copy; the server's start then has nothing to do).
            let url = match postgres {
                Some(a) => format!("{}/{seed_db}", a.rsplit_once('/').map_or("", |(b, _)| b)),
                None => gongzhi_core::config::sqlite_url(&seed_dir.join("gongzhi.db")),
            };
            let (db, _) = gongzhi::server::open(&config_for(&url, &seed_dir)).await?;
            if postgres.is_none() {
                db.checkpoint().await?;
            }
            db.close().await;
            found
        }
        None => {
            let _ = std::fs::remove_dir_all(&seed_dir);
            std::fs::create_dir_all(&seed_dir).map_err(Error::internal)?;
            let url = match postgres {
                Some(a) => Db::create_scratch_database(a, &seed_db).await?,
                None => gongzhi_core::config::sqlite_url(&seed_dir.join("gongzhi.db")),
            };
            let (stored, ids) = prepare(&url, &seed_dir, n).await?;
            write_marker(&seed_dir, stored, &ids)?;
            (stored, ids)
        }
    };
    let prepare_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let dir = keep.join(format!("run-{kind}-{n}-{pid}"));
    copy_dir(&seed_dir, &dir)?;
    let run_db = format!("http_run_{n}_{pid}");
    let url = match postgres {
        Some(a) => Db::create_scratch_database_from(a, &run_db, Some(&seed_db)).await?,
        None => gongzhi_core::config::sqlite_url(&dir.join("gongzhi.db")),
    };
    Ok(RunStore {
        url,
        dir,
        stored,
        case_ids,
        prepare_secs,
        copy_secs: t.elapsed().as_secs_f64(),
        scratch_db: postgres.map(|_| run_db),
    })
}

impl RunStore {
    /// Removes the run's copy (its directory, its PostgreSQL database).
    pub(crate) async fn remove(&self, postgres: Option<&str>) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let (Some(a), Some(name)) = (postgres, &self.scratch_db) {
            Db::drop_scratch_database(a, name).await;
        }
    }
}

/// One stored size: prepares the store, starts the server, warms it, then runs every rate;
/// returns the size's two tables.
async fn one_size(
    n: i64,
    load: &Rates<'_>,
    binary: &Path,
    postgres: Option<&str>,
) -> Result<Option<[String; 2]>> {
    let store = run_store(n, postgres, load.seeded).await?;
    let (stored, prepare_secs, copy_secs) = (store.stored, store.prepare_secs, store.copy_secs);
    eprintln!(
        "http: {stored} cases stored (seeded in {prepare_secs:.0} s, copied in {copy_secs:.0} s)"
    );
    if load.seed_only {
        store.remove(postgres).await;
        return Ok(None);
    }
    let server = Server::start(binary, &store.dir, &store.url).await?;
    let rss_idle = server.rss_kib().unwrap_or(0) as f64 / 1024.0;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(4096)
        .build()
        .map_err(Error::internal)?;
    let period = chrono::Utc::now()
        .with_timezone(&gongzhi_core::time::shanghai())
        .format("%Y-%m")
        .to_string();
    let requests = std::sync::Arc::new(Load {
        operator: api_token(&client, &server.base, "operator").await?,
        dispatcher: api_token(&client, &server.base, "dispatcher").await?,
        client,
        base: server.base.clone(),
        case_ids: store.case_ids.clone(),
        created: Default::default(),
        period,
    });
    // Warm the caches (ranking, prepared statements) for a few seconds at a low rate.
    let _ = open_loop(requests.clone(), &server, 100, 3).await;
    let mut figures = Vec::new();
    for &rate in load.rates {
        let load_before = load_average();
        let mut f = open_loop(requests.clone(), &server, rate, load.seconds).await;
        f.load = load_before;
        eprintln!(
            "http: {stored} cases, {rate}/s: accepted {}, shed {}, p50 {:.1} ms, p99 {:.1} ms, errors {}, no answer {}, RSS max {:.0} MiB, HWM {:.0} MiB, generator CPU {:.0}%, load {}",
            f.accepted, f.shed, f.p50, f.p99, f.errors, f.timeouts, f.rss_max_mib, f.hwm_mib, f.generator_cpu, f.load
        );
        for (op, n, p50, p99, failed, shed) in &f.per_op {
            eprintln!(
                "http:   {op:?}: {n} accepted, p50 {p50:.1} ms, p99 {p99:.1} ms, failed {failed}, shed {shed}"
            );
        }
        figures.push(f);
        // Let the writes of one rate settle (checkpoints, batches) before the next.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let rss_after = server.rss_kib().unwrap_or(0) as f64 / 1024.0;
    server.stop();
    store.remove(postgres).await;
    let backend = if postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let seeded = if copy_secs > 0.0 || load.seeded.is_some() {
        format!("a kept seed copied in {copy_secs:.0} s")
    } else {
        format!("seeded in {prepare_secs:.0} s")
    };
    Ok(Some([
        format!(
            "**{backend}**, {stored} cases stored ({seeded}); server RSS idle after start {rss_idle:.0} MiB, after the runs {rss_after:.0} MiB.\n\n{}",
            rates_table(&figures)
        ),
        ops_table(&figures),
    ]))
}

fn rates_table(figures: &[RateFigures]) -> String {
    format!(
        "| rate (req/s) | offered | rate achieved | accepted | shed (503) | other errors (5xx, no answer in 10 s) | accepted p50 ms | accepted p99 ms | accepted max ms | shed p99 ms | server RSS max / HWM (MiB) | generator CPU (% of a core) | load average at start | p99 < 50 ms |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n{}\n",
        figures
            .iter()
            .map(|f| format!(
                "| {} | {} | {:.0} | {} | {} | {} ({}, {}) | {:.1} | {:.1} | {:.1} | {} | {:.0} / {:.0} | {:.0} | {} | {} |",
                f.rate, f.sent, f.achieved, f.accepted, f.shed, f.errors + f.timeouts, f.server_errors, f.timeouts,
                f.p50, f.p99, f.max,
                if f.shed > 0 { format!("{:.1}", f.shed_p99) } else { "–".into() },
                f.rss_max_mib, f.hwm_mib, f.generator_cpu, f.load,
                if f.p99 < 50.0 { "met" } else { "**missed**" }
            ))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// Which operations make the tail: p50 / p99 (ms) of each at each rate.
fn ops_table(figures: &[RateFigures]) -> String {
    let ops: Vec<Op> = figures
        .first()
        .map(|f| f.per_op.iter().map(|o| o.0).collect())
        .unwrap_or_default();
    format!(
        "Accepted requests' p50 / p99 ms by operation (failed, shed in brackets):\n\n| rate | {} |\n|---:|{}\n{}\n",
        ops.iter()
            .map(|o| format!("{o:?}"))
            .collect::<Vec<_>>()
            .join(" | "),
        "---:|".repeat(ops.len()),
        figures
            .iter()
            .map(|f| format!(
                "| {} | {} |",
                f.rate,
                f.per_op
                    .iter()
                    .map(|(_, _, p50, p99, failed, shed)| if *failed > 0 || *shed > 0 {
                        format!("{p50:.1} / {p99:.1} ({failed}, {shed})")
                    } else {
                        format!("{p50:.1} / {p99:.1}")
                    })
                    .collect::<Vec<_>>()
                    .join(" | ")
            ))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

/// `gongzhi-bench http`: every stored size at every rate, served by `binary`.
pub async fn run(
    load: &Rates<'_>,
    binary: &Path,
    postgres: Option<&str>,
    output: &Path,
) -> Result<()> {
    let mut sections = Vec::new();
    let load_before = load_average();
    for &n in load.cases {
        sections.extend(
            one_size(n, load, binary, postgres)
                .await?
                .into_iter()
                .flatten(),
        );
    }
    if load.seed_only {
        return Ok(());
    }
    let seconds = load.seconds;
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
    let (backend, section, target) = if postgres.is_some() {
        (
            "PostgreSQL",
            "http-postgresql",
            "≥ 2,000 requests/s with p99 < 50 ms at 1,000,000 cases",
        )
    } else {
        (
            "SQLite",
            "http-sqlite",
            "3,000 requests/s with p99 < 50 ms at 10,000,000 cases",
        )
    };
    let body = format!(
        "## HTTP API under load: {backend}\n\n\
         Command: `bench/run` (runs `gongzhi-bench http`, release build). Machine: {}. Date: {}. Load average before: {load_before} \
         (the machine is shared with other work; each rate's load average at its start is in its row).\n\
         The Dongcheng demo, its cases copied until the stated count (each round of copies moved back a whole number \
         of days — 1, 2, 4, … — so the store holds a long history at the demo's places, a few times the demo's density in \
         any week; the secondary indexes dropped for the copying and built again after it; `ANALYZE`d); the server (`gongzhi serve`) in its own process, the load \
         generator in another on the same 2 cores (its own CPU, user + system from /proc/self/stat over the rate, is in the table). \
         Open loop: requests start at their scheduled moment at a fixed rate whatever \
         the latency (latency counts from that moment), {seconds} s per rate after a 3 s warm-up, bearer tokens of the demo \
         operator and dispatcher. Mix: {}. **Accepted** is every request answered with anything but 503 `overloaded`; \
         **shed** is a 503 `overloaded` with `Retry-After` (the in-flight limit, `limits.max_in_flight`); the latency percentiles \
         are of the accepted requests. Other errors are unexpected statuses, other 5xx and requests with no answer in 10 s. \
         Resident memory is the server's VmRSS from /proc sampled every 200 ms, and its VmHWM (peak since start) after each rate. \
         Targets: {target}; < 512 MB resident; overload shed, not queued.\n\n{}",
        machine(),
        now_utc(),
        mix.join(", "),
        sections.join("\n")
    );
    write_section(output, section, &body)?;
    eprintln!("wrote {}", output.display());
    Ok(())
}
