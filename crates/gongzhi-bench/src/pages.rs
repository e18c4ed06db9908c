//! Page server time: each main page requested one after another by a signed-in user of its
//! role, with the demo's cases copied until many are stored.

use std::path::Path;

use gongzhi_core::{Error, Result};

use crate::report::{load_average, machine, write_section};
use crate::setup::{config_for, sign_in};

/// Server time of each main page (loopback round trip, one request at a time) with `cases`
/// stored: the demo seed, then its cases copied (spread over time) until there are enough.
pub struct PageFigures {
    pub backend: &'static str,
    pub cases: i64,
    /// What preparing the store took: seeding, or copying a kept seed.
    pub prepared: String,
    /// (page, first request ms, p50 ms, p95 ms of every request including the first)
    pub pages: Vec<(String, f64, f64, f64)>,
}

/// Every main page's server time on the store of `cases` (seeded now, or a copy of the seed kept
/// in `seeded`; the same stores `gongzhi-bench http` keeps), as a user of its role. The server
/// starts on the store just opened, so each page's first request meets cold caches of the
/// server's own (the operating system's file cache is warm from the copy).
pub async fn measure_pages(
    cases: i64,
    requests: usize,
    postgres: Option<&str>,
    seeded: Option<&Path>,
) -> Result<PageFigures> {
    let store = crate::harness::http::run_store(cases, postgres, seeded).await?;
    let prepared = if seeded.is_some() {
        format!("a kept seed copied in {:.0} s", store.copy_secs)
    } else {
        format!("seeded in {:.0} s", store.prepare_secs)
    };
    let figures = pages_on(&store.url, &store.dir, requests, &store.case_ids).await;
    store.remove(postgres).await;
    let pages = figures?;
    Ok(PageFigures {
        backend: if postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        cases: store.stored,
        prepared,
        pages,
    })
}

async fn pages_on(
    db_url: &str,
    dir: &Path,
    requests: usize,
    case_ids: &[String],
) -> Result<Vec<(String, f64, f64, f64)>> {
    let config = config_for(db_url, dir);
    let (db, sealer) = gongzhi::server::open(&config).await?;
    let case_id = case_ids
        .first()
        .cloned()
        .ok_or_else(|| Error::internal("the demo stored no case"))?;
    let listener = gongzhi::server::bind("127.0.0.1:0").await?;
    let running = gongzhi::server::start(config, db.clone(), sealer, listener).await?;
    let base = running.url();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(Error::internal)?;
    let pages: Vec<(&str, String)> = vec![
        ("resident", "/my".into()),
        ("resident", "/report".into()),
        ("gridworker", "/tasks".into()),
        ("dispatcher", "/queue".into()),
        ("dispatcher", "/cases".into()),
        ("dispatcher", "/cases?status=&page=50".into()),
        ("dispatcher", format!("/cases/{case_id}")),
        ("handler", "/inbox".into()),
        ("leader", "/dashboard".into()),
        ("leader", "/dashboard/grids.json".into()),
        ("admin", "/admin".into()),
    ];
    let mut out = Vec::new();
    for (user, path) in pages {
        let cookie = sign_in(&client, &base, user).await?;
        let mut times = Vec::with_capacity(requests);
        for _ in 0..requests.max(1) {
            let t = std::time::Instant::now();
            let resp = client
                .get(format!("{base}{path}"))
                .header("cookie", &cookie)
                .send()
                .await
                .map_err(Error::internal)?;
            let status = resp.status();
            let _ = resp.bytes().await;
            if !status.is_success() {
                return Err(Error::internal(format!("{path} as {user}: {status}")));
            }
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let first = times[0];
        times.sort_by(|a, b| a.total_cmp(b));
        let p =
            |q: f64| times[((q * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1];
        eprintln!(
            "  {path} ({user}): first {first:.1} ms, p50 {:.1} ms, p95 {:.1} ms",
            p(0.5),
            p(0.95)
        );
        out.push((
            format!("`{}` ({user})", path.replace(&case_id, "{id}")),
            first,
            p(0.5),
            p(0.95),
        ));
    }
    running.stop();
    db.close().await;
    Ok(out)
}

/// `gongzhi-bench pages`: every main page's server time at each stored size, on SQLite and,
/// with `postgres`, on PostgreSQL.
pub async fn pages(
    cases: &[i64],
    requests: usize,
    postgres: Option<&str>,
    seeded: Option<&Path>,
    output: &Path,
) -> Result<()> {
    let mut runs = Vec::new();
    let backends: Vec<Option<&str>> = std::iter::once(None).chain(postgres.map(Some)).collect();
    let load_before = load_average();
    for backend in backends {
        for &n in cases {
            eprintln!(
                "pages: {}, {n} cases …",
                if backend.is_some() {
                    "PostgreSQL"
                } else {
                    "SQLite"
                }
            );
            let load = load_average();
            runs.push((measure_pages(n, requests, backend, seeded).await?, load));
        }
    }
    let mut body = format!(
        "## Page server time\n\n\
         Command: `scripts/bench` (runs `gongzhi-bench pages`, release build). Machine: {}. Date: {}. Load average before: {load_before} \
         (the machine is shared with other work).\n\
         The Dongcheng demo (≈600 grids), its cases copied until the stated count (spread over time, as for the HTTP benchmark, \
         whose kept seeds it can reuse), `ANALYZE`d; the server started on the store just opened, then each page requested \
         {requests} times one after another over loopback by a signed-in user of its role (times include the round trip). \
         The first request of each page is shown apart and is **counted in p50 and p95**: it meets the server's cold caches \
         (prepared statements, the dashboard's figures, recomputed at most every 5 s after changes); the operating system's \
         file cache is warm. Target: p95 < 50 ms for every page, first load included.\n",
        machine(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
    );
    for (r, load) in &runs {
        body.push_str(&format!(
            "\n**{}**, {} cases ({}; load average at start {load})\n\n| page (role) | first request ms | p50 ms | p95 ms | p95 < 50 ms |\n|---|---:|---:|---:|---|\n{}\n",
            r.backend,
            r.cases,
            r.prepared,
            r.pages
                .iter()
                .map(|(p, f, a, b)| format!(
                    "| {p} | {f:.1} | {a:.1} | {b:.1} | {} |",
                    if *b < 50.0 { "met" } else { "**missed**" }
                ))
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    write_section(output, "pages", &body)
}
