//! The monthly ranking on a generated year: cases of 2026 over 343 streets written into
//! gongzhi (with the daily counters every case write keeps), the ranking timed (and the scan it
//! replaced), and the same cases written as CSV for `bench/rankings-duckdb`.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use gongzhi_cases::queries::stats::compute;
use gongzhi_cases::rules::stats::{self, CaseFigures, CounterDelta, StatsLevel};
use gongzhi_cases::rules::workflow::Status;
use gongzhi_cases::store::bulk::{self, insert_seeded, SeededCase};
use gongzhi_cases::store::stats::{counter_counts, scan_counts};
use gongzhi_core::db::Db;
use gongzhi_core::identity::Actor;
use gongzhi_core::{audit, Error, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::report::{machine, median};
use crate::setup::config_for;

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
    status: Status,
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
        Status::Merged
    } else if callback.is_some() {
        Status::CalledBack
    } else if closed.is_some() {
        Status::Closed
    } else if back.is_some() {
        Status::ReportedBack
    } else if dispatched.is_some() {
        Status::Dispatched
    } else {
        Status::Filed
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

impl GenCase {
    /// The case's row, the `n`-th generated: ids in arrival order (UUID-shaped), so the key
    /// index grows at its end.
    fn row(&self, n: usize) -> SeededCase {
        let f = &self.f;
        SeededCase {
            category: self.category.into(),
            description: "生成案件".into(),
            street: f.codes[0].clone(),
            community: f.codes[1].clone(),
            grid: f.codes[2].clone(),
            district: Some(self.district.clone()),
            unit: f.codes[3].clone(),
            status: self.status,
            updated_at: self.updated,
            dispatched_at: f.dispatched_at,
            reported_back_at: f.reported_back_at,
            closed_at: f.closed_at,
            callback_at: f.callback_at,
            callback_contacted: f.callback_contacted,
            callback_resolved: f.callback_resolved,
            callback_satisfaction: f.callback_satisfaction.clone(),
            handle_deadline: f.handle_deadline,
            close_deadline: f.close_deadline,
            rework_count: f.rework_count,
            ..SeededCase::reported(
                format!("00000000-0000-4000-8000-{n:012x}"),
                format!("G{n:010}"),
                self.created,
            )
        }
    }
}

/// Writes one batch of generated cases with their counters and one audit entry, in one
/// transaction (the benchmark's bulk path: the same counters every case write keeps).
async fn write_generated(db: &Db, first: usize, batch: &[GenCase]) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let rows: Vec<SeededCase> = batch
        .iter()
        .enumerate()
        .map(|(i, c)| c.row(first + i))
        .collect();
    insert_seeded(tx.conn(), &rows).await?;
    let mut delta = CounterDelta::default();
    for c in batch {
        delta.add(&c.f, 1);
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

/// Generates `cases` cases of 2026 into `db` (written to `dir/cases.csv` as well), the
/// secondary indexes dropped for the load and built again after it.
async fn generate(db: &Db, cases: usize, dir: &Path) -> Result<()> {
    let io = |e: std::io::Error| Error::internal(format!("{}: {e}", dir.display()));
    let t = Instant::now();
    let streets = rankings_jurisdiction(db).await?;
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
    let indexes = db.drop_secondary_indexes("cases").await?;
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
        write_csv(&mut w, &batch).map_err(io)?;
        write_generated(db, written, &batch).await?;
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
    db.create_indexes(&indexes).await?;
    eprintln!(
        "rankings: {} indexes of the cases table built again ({:.0} s)",
        indexes.len(),
        t_index.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The batch's rows of `cases.csv` (what DuckDB ranks).
fn write_csv(w: &mut impl Write, batch: &[GenCase]) -> std::io::Result<()> {
    for c in batch {
        let f = &c.f;
        writeln!(
            w,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            c.status.as_str(),
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
        )?;
    }
    Ok(())
}

/// Times the ranking at every level (`runs` runs after a warm-up each): each level's rows and
/// each run's ms.
async fn time_rankings(
    db: &Db,
    period: &str,
    runs: usize,
) -> Result<Vec<(StatsLevel, Vec<stats::StatsRow>, Vec<f64>)>> {
    let admin = Actor::system("bench");
    let mut levels = Vec::new();
    for level in StatsLevel::ALL {
        let mut rows = compute(db, &admin, period, level).await?;
        let mut times = Vec::new();
        for _ in 0..runs.max(1) {
            let t = Instant::now();
            rows = compute(db, &admin, period, level).await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        levels.push((level, rows, times));
    }
    Ok(levels)
}

/// The scan the counters replaced, timed, and whether both agree at this size.
async fn time_scan(db: &Db, start: i64, end: i64) -> Result<serde_json::Value> {
    let t = Instant::now();
    let scanned = scan_counts(db, StatsLevel::Street, start, end).await?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let counted = counter_counts(db, StatsLevel::Street, start, end).await?;
    let agree = scanned == counted;
    eprintln!("rankings: the scan took {ms:.0} ms; counters agree with it: {agree}");
    if !agree {
        return Err(Error::internal(
            "the counters disagree with a scan of the cases",
        ));
    }
    Ok(json!({"ms": ms, "agree": agree}))
}

/// `gongzhi-bench rankings-export`: generates the year, times the ranking (and the scan it
/// replaced), and writes `gongzhi.json` beside `cases.csv` in `dir`.
pub async fn export(
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
    let (db, _) = gongzhi::server::open(&config_for(&url, dir)).await?;
    let t = Instant::now();
    generate(&db, cases, dir).await?;
    let generate_secs = t.elapsed().as_secs_f64();
    db.analyze().await?;
    let stored = bulk::count(&db).await?;
    let counter_rows = bulk::counter_rows(&db).await?;
    let levels = time_rankings(&db, period, runs).await?;
    let (start, end) = stats::period_bounds(period, 1)?;
    let scan_figures = if scan {
        time_scan(&db, start, end).await?
    } else {
        serde_json::Value::Null
    };
    let mut by_level = serde_json::Map::new();
    for (level, rows, times) in &levels {
        eprintln!(
            "rankings: {stored} cases, {} rows at {} level for {period}, {:.1} ms (median of {runs})",
            rows.len(),
            level.as_str(),
            median(times.clone())
        );
        by_level.insert(
            level.as_str().into(),
            json!({
                "runs_ms": times,
                "ms": median(times.clone()),
                "rows": rows.iter().map(|r| json!({
                    "rank": r.rank, "code": r.code, "counts": r.counts.values(), "score": r.score,
                })).collect::<Vec<_>>(),
            }),
        );
    }
    let figures = json!({
        "backend": if db.backend() == gongzhi_core::db::Backend::Sqlite { "SQLite" } else { "PostgreSQL" },
        "cases": stored,
        "generate_secs": generate_secs,
        "counter_rows": counter_rows,
        "period": period,
        "start_ms": start,
        "end_ms": end,
        "levels": by_level,
        "scan": scan_figures,
        "machine": machine(),
    });
    std::fs::write(
        dir.join("gongzhi.json"),
        serde_json::to_string_pretty(&figures).map_err(Error::internal)?,
    )
    .map_err(io)?;
    db.close().await;
    Ok(())
}
