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

/// One stored size: prepares the store, starts the server, warms it, then runs every rate;
/// returns the size's two tables.
async fn one_size(
    n: i64,
    load: &Rates<'_>,
    binary: &Path,
    postgres: Option<&str>,
) -> Result<[String; 2]> {
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("gz-bench-http-{pid}-{n}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(Error::internal)?;
    let name = format!("gz_bench_http_{pid}_{n}");
    let url = match postgres {
        Some(a) => Db::create_scratch_database(a, &name).await?,
        None => gongzhi_core::config::sqlite_url(&dir.join("gongzhi.db")),
    };
    let t = Instant::now();
    let (stored, case_ids) = prepare(&url, &dir, n).await?;
    let prepare_secs = t.elapsed().as_secs_f64();
    eprintln!("http: {stored} cases stored ({prepare_secs:.0} s)");
    let server = Server::start(binary, &dir, &url).await?;
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
        case_ids,
        created: Default::default(),
        period,
    });
    // Warm the caches (ranking, prepared statements) for a few seconds at a low rate.
    let _ = open_loop(requests.clone(), &server, 100, 3).await;
    let mut figures = Vec::new();
    for &rate in load.rates {
        let f = open_loop(requests.clone(), &server, rate, load.seconds).await;
        eprintln!(
            "http: {stored} cases, {rate}/s: p50 {:.1} ms, p99 {:.1} ms, errors {}, RSS max {:.0} MiB",
            f.p50, f.p99, f.errors, f.rss_max_mib
        );
        for (op, n, p50, p99, failed) in &f.per_op {
            eprintln!(
                "http:   {op:?}: {n} requests, p50 {p50:.1} ms, p99 {p99:.1} ms, failed {failed}"
            );
        }
        figures.push(f);
    }
    let rss_after = server.rss_kib().unwrap_or(0) as f64 / 1024.0;
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(a) = postgres {
        Db::drop_scratch_database(a, &name).await;
    }
    let backend = if postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    Ok([
        format!(
            "**{backend}**, {stored} cases stored (prepared in {prepare_secs:.0} s); server RSS idle after start {rss_idle:.0} MiB, after the runs {rss_after:.0} MiB.\n\n{}",
            rates_table(&figures)
        ),
        ops_table(&figures),
    ])
}

fn rates_table(figures: &[RateFigures]) -> String {
    format!(
        "| rate (req/s) | sent | rate achieved | p50 ms | p99 ms | max ms | errors (5xx, no answer in 10 s) | server RSS max (MiB) | p99 target < 50 ms |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---|\n{}\n",
        figures
            .iter()
            .map(|f| format!(
                "| {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} ({}, {}) | {:.0} | {} |",
                f.rate, f.sent, f.achieved, f.p50, f.p99, f.max, f.errors, f.server_errors, f.timeouts, f.rss_max_mib,
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
        "p50 / p99 ms by operation (failed requests in brackets):\n\n| rate | {} |\n|---:|{}\n{}\n",
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
        sections.extend(one_size(n, load, binary, postgres).await?);
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
    let body = format!(
        "## HTTP API under load\n\n\
         Command: `bench/run` (runs `gongzhi-bench http`, release build). Machine: {}. Date: {}. Load average before: {load_before}.\n\
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
