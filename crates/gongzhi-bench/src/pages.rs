//! Page server time: each main page requested one after another by a signed-in user of its
//! role, with the demo's cases copied until many are stored.

use std::path::Path;

use gongzhi_cases::store::bulk;
use gongzhi_core::demo::DemoSize;
use gongzhi_core::{Error, Result};

use crate::report::{machine, on_scratch_postgres, write_section};
use crate::setup::{config_for, sign_in};

/// Server time of each main page (loopback round trip, one request at a time) with `cases`
/// stored: the demo seed, then its cases copied until there are enough.
pub struct PageFigures {
    pub backend: &'static str,
    pub cases: i64,
    pub inflate_secs: f64,
    /// (page, first request ms, p50 ms, p95 ms)
    pub pages: Vec<(String, f64, f64, f64)>,
}

/// Every main page's server time on `db_url`, as a user of its role.
pub async fn measure_pages(
    db_url: &str,
    dir: &Path,
    cases: i64,
    requests: usize,
) -> Result<PageFigures> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(Error::internal)?;
    let config = config_for(db_url, dir);
    let (db, sealer) = gongzhi::server::open(&config).await?;
    gongzhi::server::seed_demo(&db, &sealer, DemoSize::FULL).await?;
    let started = std::time::Instant::now();
    let stored = bulk::copy_cases(&db, cases, false).await?;
    db.analyze().await?;
    let inflate_secs = started.elapsed().as_secs_f64();
    let case_id = bulk::newest_ids(&db, 1)
        .await?
        .pop()
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
        let mut first = 0.0;
        for i in 0..requests + 3 {
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
            if i == 0 {
                first = t.elapsed().as_secs_f64() * 1000.0;
            }
            // The first few warm caches (prepared statements, the catalog, the dashboard's figures).
            if i >= 3 {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
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
    Ok(PageFigures {
        backend: if db_url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        cases: stored,
        inflate_secs,
        pages: out,
    })
}

/// `gongzhi-bench pages`: every main page's server time with many cases stored.
pub async fn pages(
    cases: i64,
    requests: usize,
    postgres: Option<&str>,
    output: &Path,
) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("gongzhi-bench-pages-{}", std::process::id()));
    let mut runs = Vec::new();
    eprintln!("pages: SQLite, {cases} cases …");
    runs.push(
        measure_pages(
            &gongzhi_core::config::sqlite_url(&dir.join("gongzhi.db")),
            &dir,
            cases,
            requests,
        )
        .await?,
    );
    if let Some(admin_url) = postgres {
        let dir_ref = dir.as_path();
        eprintln!("pages: PostgreSQL, {cases} cases …");
        runs.push(
            on_scratch_postgres(admin_url, "pages", |url| async move {
                measure_pages(&url, dir_ref, cases, requests).await
            })
            .await?,
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mut body = format!(
        "## Page server time\n\n\
         Command: `scripts/bench` (runs `gongzhi-bench pages`, release build). Machine: {}. Date: {}.\n\
         The Dongcheng demo (≈600 grids), its cases copied until the stated count, `ANALYZE`d; each page requested \
         {requests} times one after another over loopback by a signed-in user of its role (times include the round trip; \
         the first request is shown apart: it fills the caches, e.g. the dashboard's figures, recomputed at most every 5 s after changes). \
         Target: p95 < 50 ms with 1,000,000 cases.\n",
        machine(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
    );
    for r in &runs {
        body.push_str(&format!(
            "\n**{}**, {} cases (copying took {:.0} s)\n\n| page (role) | first request ms | p50 ms | p95 ms |\n|---|---:|---:|---:|\n{}\n",
            r.backend,
            r.cases,
            r.inflate_secs,
            r.pages.iter().map(|(p, f, a, b)| format!("| {p} | {f:.1} | {a:.1} | {b:.1} |")).collect::<Vec<_>>().join("\n")
        ));
    }
    write_section(output, "pages", &body)
}
