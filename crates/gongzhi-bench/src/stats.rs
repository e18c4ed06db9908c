//! The month's measures and rankings at every level with many cases stored: the demo, its
//! cases copied in place until the stated count (SQLite, and PostgreSQL on a scratch database).

use std::path::Path;
use std::time::Instant;

use gongzhi_cases::store::bulk;
use gongzhi_core::demo::DemoSize;
use gongzhi_core::{Error, Result};

use crate::report::{load_average, machine, median, on_scratch_postgres, write_section};
use crate::setup::config_for;

/// One size of `bench stats`: the month's ranking at each level.
pub struct StatsFigures {
    pub cases: i64,
    /// Cases dispatched in the month and cases with a valid callback in it.
    pub dispatched_in_month: i64,
    pub callbacks_in_month: i64,
    pub inflate_secs: f64,
    /// (level, rows, first run ms, median ms)
    pub levels: Vec<(&'static str, usize, f64, f64)>,
}

/// The period `bench stats` ranks: last calendar month, wholly inside the demo's 120 days.
fn last_month() -> String {
    use chrono::Datelike;
    let now = chrono::Utc::now().with_timezone(&shanghai());
    let (y, m) = if now.month() == 1 {
        (now.year() - 1, 12)
    } else {
        (now.year(), now.month() - 1)
    };
    format!("{y:04}-{m:02}")
}

fn shanghai() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8")
}

/// Times `stats::compute` for one month at every level on the database as it stands: the first
/// run on a freshly opened pool, then the median of `runs` more.
async fn time_stats_levels(
    config: &gongzhi_core::config::Config,
    period: &str,
    runs: usize,
) -> Result<Vec<(&'static str, usize, f64, f64)>> {
    use gongzhi_cases::queries::stats::compute;
    use gongzhi_cases::rules::stats::StatsLevel;
    use gongzhi_core::identity::{Actor, ActorKind, Assignment, Role};
    let leader = Actor {
        kind: ActorKind::User,
        user_id: Some("bench".into()),
        username: "bench-leader".into(),
        assignments: vec![Assignment::global(Role::LEADER)],
    };
    let mut out = Vec::new();
    for (name, level) in [
        ("street", StatsLevel::Street),
        ("community", StatsLevel::Community),
        ("grid", StatsLevel::Grid),
        ("unit", StatsLevel::Unit),
    ] {
        // A fresh pool for each level, so its first run finds no statement or page cached.
        let (db, _) = gongzhi::server::open(config).await?;
        let t = Instant::now();
        let rows = compute(&db, &leader, period, level).await?;
        let first = t.elapsed().as_secs_f64() * 1000.0;
        if rows.is_empty() {
            return Err(Error::internal(format!(
                "no {name} rows for {period}: the benchmark's month holds no cases"
            )));
        }
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs.max(1) {
            let t = Instant::now();
            std::hint::black_box(compute(&db, &leader, period, level).await?);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let med = median(times);
        eprintln!(
            "  {name}: {} rows, first {first:.1} ms, median {med:.1} ms",
            rows.len()
        );
        out.push((name, rows.len(), first, med));
        db.pool().close().await;
    }
    Ok(out)
}

/// Measures every size in `sizes` (ascending) on one database, inflating it between sizes, and
/// rewrites the backend's section of `output` after each size (a long run keeps what it measured).
pub async fn measure_stats(
    db_url: &str,
    dir: &Path,
    sizes: &[i64],
    runs: usize,
    period: &str,
    output: &Path,
) -> Result<Vec<StatsFigures>> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(Error::internal)?;
    let config = config_for(db_url, dir);
    let (db, sealer) = gongzhi::server::open(&config).await?;
    gongzhi::server::seed_demo(&db, &sealer, DemoSize::FULL).await?;
    let backend = if db_url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let settings = gongzhi_cases::store::stats::load_settings(&db).await?;
    let (start, end) =
        gongzhi_cases::rules::stats::period_bounds(period, settings.cycle_start_day)?;
    let load_before = load_average();
    let mut out = Vec::new();
    for &n in sizes {
        eprintln!("stats: {backend}, inflating to {n} cases …");
        let started = Instant::now();
        let stored = bulk::copy_cases(&db, n, false).await?;
        db.analyze().await?;
        let inflate_secs = started.elapsed().as_secs_f64();
        let (dispatched_in_month, callbacks_in_month) = bulk::in_period(&db, start, end).await?;
        eprintln!(
            "  {stored} cases stored in {inflate_secs:.0} s; {period}: {dispatched_in_month} dispatched, {callbacks_in_month} valid callbacks"
        );
        let levels = time_stats_levels(&config, period, runs).await?;
        out.push(StatsFigures {
            cases: stored,
            dispatched_in_month,
            callbacks_in_month,
            inflate_secs,
            levels,
        });
        write_stats_section(output, backend, period, runs, &load_before, &out)?;
    }
    db.pool().close().await;
    Ok(out)
}

/// One backend's section (`stats-sqlite`, `stats-postgresql`), so a run on one backend or at
/// other sizes leaves the other's figures alone.
fn write_stats_section(
    output: &Path,
    backend: &str,
    period: &str,
    runs: usize,
    load_before: &str,
    figures: &[StatsFigures],
) -> Result<()> {
    let mut body = format!(
        "## Monthly measures and rankings: {backend}\n\n\
         Command: `scripts/bench` (runs `gongzhi-bench stats`, release build). Machine: {}. Date: {}. \
         Load average (1, 5, 15 min) at the start: {load_before}; at the end: {}.\n\
         `stats::compute` (what `GET /api/v1/stats/cases` runs) for the month {period} at every level, as a global leader. \
         The Dongcheng demo (120 days, ≈600 grids), its cases copied in place until the stated count and `ANALYZE`d: \
         the copies keep their times, so the month holds about a quarter of everything stored — the worst case, \
         not a city's years of history spread over many months. \
         Each level's first run is on a freshly opened connection pool (the operating system's file cache is warm from the copying); \
         the median is of the {runs} runs after it.\n\n\
         | stored cases | dispatched in the month | valid callbacks in the month | level | rows | first run ms | median ms |\n\
         |---:|---:|---:|---|---:|---:|---:|\n",
        machine(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        load_average(),
    );
    for f in figures {
        for (level, rows, first, med) in &f.levels {
            body.push_str(&format!(
                "| {} | {} | {} | {level} | {rows} | {first:.1} | {med:.1} |\n",
                f.cases, f.dispatched_in_month, f.callbacks_in_month
            ));
        }
    }
    body.push('\n');
    for f in figures {
        body.push_str(&format!(
            "Copying to {} cases took {:.0} s.  \n",
            f.cases, f.inflate_secs
        ));
    }
    write_section(
        output,
        &format!("stats-{}", backend.to_ascii_lowercase()),
        body.trim_end(),
    )
}

/// `gongzhi-bench stats`: the month's ranking at every level with many cases stored, on SQLite
/// and, with `postgres`, on PostgreSQL (a scratch database is created and dropped) at the sizes
/// `postgres_cases` (default: the same sizes).
pub async fn stats(
    sizes: &[i64],
    postgres_sizes: Option<&[i64]>,
    runs: usize,
    postgres: Option<&str>,
    output: &Path,
) -> Result<()> {
    let clean = |sizes: &[i64]| -> Result<Vec<i64>> {
        if sizes.is_empty() || sizes.iter().any(|&n| n < 1) {
            return Err(Error::invalid(
                "cases",
                "--cases wants one or more positive counts, e.g. 1000000,10000000",
            ));
        }
        let mut sizes = sizes.to_vec();
        sizes.sort_unstable();
        sizes.dedup();
        Ok(sizes)
    };
    let sizes = clean(sizes)?;
    let postgres_sizes = clean(postgres_sizes.unwrap_or(&sizes))?;
    let period = last_month();
    let dir = std::env::temp_dir().join(format!("gongzhi-bench-stats-{}", std::process::id()));
    let sqlite = measure_stats(
        &gongzhi_core::config::sqlite_url(&dir.join("gongzhi.db")),
        &dir,
        &sizes,
        runs,
        &period,
        output,
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    sqlite?;
    if let Some(admin_url) = postgres {
        let (dir_ref, sizes_ref, period_ref) = (dir.as_path(), &postgres_sizes, &period);
        let pg = on_scratch_postgres(admin_url, "stats", |url| async move {
            measure_stats(&url, dir_ref, sizes_ref, runs, period_ref, output).await
        })
        .await;
        let _ = std::fs::remove_dir_all(&dir);
        pg?;
    }
    eprintln!("wrote {}", output.display());
    Ok(())
}
