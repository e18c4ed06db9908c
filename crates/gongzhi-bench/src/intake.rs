//! Benchmarks that write their figures to `docs/benchmarks.md`, each in its own marked section
//! so other benchmarks can share the file. Numbers are medians of several runs.

pub mod harness;

use std::path::Path;
use std::time::Instant;

use geo::{Contains, Coord, Intersects, LineString, MultiPolygon, Polygon};
use gongzhi_core::areas::locate::{AreaRef, GridEntry, LocateIndex, Located};
use gongzhi_core::{Error, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CELL: f64 = 0.004;
const ORIGIN: (f64, f64) = (116.0, 39.6);

/// `n` grids (rounded to a square) as a jittered lattice of 8-vertex cells sharing their edges,
/// so they tile the plane without gaps or overlaps like real grids.
pub fn generated_grids(n: usize, seed: u64) -> Vec<GridEntry> {
    let side = (n as f64).sqrt().ceil() as usize;
    let mut rng = StdRng::seed_from_u64(seed);
    let node = {
        let mut nodes = vec![Coord { x: 0.0, y: 0.0 }; (side + 1) * (side + 1)];
        for j in 0..=side {
            for i in 0..=side {
                let border = i == 0 || j == 0 || i == side || j == side;
                let (jx, jy) = if border {
                    (0.0, 0.0)
                } else {
                    (rng.gen_range(-0.25..0.25), rng.gen_range(-0.25..0.25))
                };
                nodes[j * (side + 1) + i] = Coord {
                    x: ORIGIN.0 + (i as f64 + jx) * CELL,
                    y: ORIGIN.1 + (j as f64 + jy) * CELL,
                };
            }
        }
        nodes
    };
    let at = |i: usize, j: usize| node[j * (side + 1) + i];
    // One bend per edge, shared by the two cells on either side.
    let bend = |a: Coord<f64>, b: Coord<f64>, rng: &mut StdRng| {
        let m = (a + b) / 2.0;
        let d = b - a;
        let k = rng.gen_range(-0.12..0.12);
        Coord {
            x: m.x - d.y * k,
            y: m.y + d.x * k,
        }
    };
    let mut h = vec![Coord { x: 0.0, y: 0.0 }; side * (side + 1)];
    let mut v = vec![Coord { x: 0.0, y: 0.0 }; (side + 1) * side];
    for j in 0..=side {
        for i in 0..side {
            h[j * side + i] = bend(at(i, j), at(i + 1, j), &mut rng);
        }
    }
    for j in 0..side {
        for i in 0..=side {
            v[j * (side + 1) + i] = bend(at(i, j), at(i, j + 1), &mut rng);
        }
    }
    let mut out = Vec::with_capacity(side * side);
    for j in 0..side {
        for i in 0..side {
            if out.len() == n {
                break;
            }
            let ring = vec![
                at(i, j),
                h[j * side + i],
                at(i + 1, j),
                v[j * (side + 1) + i + 1],
                at(i + 1, j + 1),
                h[(j + 1) * side + i],
                at(i, j + 1),
                v[j * (side + 1) + i],
                at(i, j),
            ];
            let code = format!("{:015}", 110_101_001_001_001u64 + out.len() as u64);
            let r = |c: &str| AreaRef {
                code: c.to_string(),
                name: c.to_string(),
            };
            out.push(GridEntry {
                polygon: MultiPolygon(vec![Polygon::new(LineString(ring), vec![])]),
                located: Located {
                    grid: r(&code),
                    community: r(&code[..12]),
                    street: r(&code[..9]),
                    district: r(&code[..6]),
                },
            });
        }
    }
    out
}

/// `points` uniformly random (lat, lng) points over the lattice of `generated_grids(n, _)` plus a
/// 5% margin, so some fall outside every grid.
pub fn generated_points(n: usize, points: usize, seed: u64) -> Vec<(f64, f64)> {
    let side = (n as f64).sqrt().ceil();
    let mut rng = StdRng::seed_from_u64(seed);
    let span = side * CELL;
    (0..points)
        .map(|_| {
            (
                ORIGIN.1 - 0.05 * span + rng.gen::<f64>() * span * 1.1,
                ORIGIN.0 - 0.05 * span + rng.gen::<f64>() * span * 1.1,
            )
        })
        .collect()
}

fn clone_entries(g: &[GridEntry]) -> Vec<GridEntry> {
    g.iter()
        .map(|e| GridEntry {
            polygon: e.polygon.clone(),
            located: e.located.clone(),
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub struct LocateFigures {
    pub grids: usize,
    pub build_ms: f64,
    pub lookups_per_sec_1: f64,
    pub lookups_per_sec_2: f64,
    pub hit_share: f64,
    pub checked: usize,
}

/// Measures one size: build time, single-thread and two-thread lookups, and checks a sample of
/// answers against a brute-force point-in-polygon scan.
pub fn measure_locate(n: usize, points: usize) -> Result<LocateFigures> {
    const RUNS: usize = 3;
    let grids = generated_grids(n, 42);
    let pts = generated_points(n, points, 7);
    let mut builds = Vec::new();
    let mut index = LocateIndex::default();
    for _ in 0..RUNS {
        let entries = clone_entries(&grids);
        let t = Instant::now();
        index = LocateIndex::build(entries);
        builds.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let run = |slice: &[(f64, f64)]| -> usize {
        slice
            .iter()
            .filter(|(lat, lng)| std::hint::black_box(index.locate(*lat, *lng)).is_some())
            .count()
    };
    let mut single = Vec::new();
    let mut hits = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        hits = run(&pts);
        single.push(points as f64 / t.elapsed().as_secs_f64());
    }
    let mut double = Vec::new();
    for _ in 0..RUNS {
        let (a, b) = pts.split_at(points / 2);
        let t = Instant::now();
        std::thread::scope(|s| {
            let ha = s.spawn(|| run(a));
            let hb = s.spawn(|| run(b));
            std::hint::black_box(ha.join().unwrap() + hb.join().unwrap());
        });
        double.push(points as f64 / t.elapsed().as_secs_f64());
    }
    // Independent check: scan every grid for a sample of points.
    let checked = points.min(2_000);
    for (lat, lng) in &pts[..checked] {
        let p = Coord { x: *lng, y: *lat };
        let inside: Vec<&str> = grids
            .iter()
            .filter(|g| g.polygon.contains(&p) || g.polygon.intersects(&p))
            .map(|g| g.located.grid.code.as_str())
            .collect();
        let got = index.locate(*lat, *lng).map(|l| l.grid.code.as_str());
        if got != inside.iter().min().copied() {
            return Err(Error::internal(format!(
                "locate disagrees with brute force at ({lat}, {lng}): {got:?} vs {inside:?}"
            )));
        }
    }
    Ok(LocateFigures {
        grids: grids.len(),
        build_ms: median(builds),
        lookups_per_sec_1: median(single),
        lookups_per_sec_2: median(double),
        hit_share: hits as f64 / points as f64,
        checked,
    })
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| format!("{:.0} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {mem}")
}

/// Replaces (or appends) the section between `<!-- NAME:start -->` and `<!-- NAME:end -->`.
pub fn write_section(path: &Path, name: &str, body: &str) -> Result<()> {
    let start = format!("<!-- {name}:start -->");
    let end = format!("<!-- {name}:end -->");
    let old = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n\nWritten by the benchmark commands; do not edit the marked sections by hand.\n".into());
    let section = format!("{start}\n{body}\n{end}");
    let new = match (old.find(&start), old.find(&end)) {
        (Some(a), Some(b)) if b > a => format!("{}{}{}", &old[..a], section, &old[b + end.len()..]),
        _ => format!("{}\n{}\n", old.trim_end(), section),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(Error::internal)?;
    }
    std::fs::write(path, new)
        .map_err(|e| Error::internal(format!("cannot write {}: {e}", path.display())))
}

/// `gongzhi bench locate`.
pub fn locate(sizes: &[usize], points: usize, output: &Path) -> Result<()> {
    let mut rows = Vec::new();
    for &n in sizes {
        eprintln!("locate: {n} grids, {points} points …");
        let f = measure_locate(n, points)?;
        eprintln!(
            "  build {:.1} ms, {:.0} lookups/s on 1 thread, {:.0} on 2 threads",
            f.build_ms, f.lookups_per_sec_1, f.lookups_per_sec_2
        );
        rows.push(format!(
            "| {} | {:.1} | {:.0} | {:.0} | {:.0}% | {} |",
            f.grids,
            f.build_ms,
            f.lookups_per_sec_1,
            f.lookups_per_sec_2,
            f.hit_share * 100.0,
            f.checked
        ));
    }
    let body = format!(
        "## Locate (point → grid)\n\n\
         Command: `scripts/bench` (runs `gongzhi bench locate`, release build). Machine: {}. Date: {}.\n\
         Generated grids: a jittered lattice of 8-vertex polygons sharing their edges (no gaps, no overlaps); \
         {points} uniformly random points over the lattice and a 5% margin; medians of 3 runs. \
         Target: ≥ 1,000,000 lookups/s per core at 100,000 grids.\n\n\
         | grids | index build (ms) | lookups/s, 1 thread | lookups/s, 2 threads | points inside a grid | answers checked by brute force |\n\
         |---:|---:|---:|---:|---:|---:|\n{}\n",
        machine(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        rows.join("\n")
    );
    write_section(output, "locate", &body)?;
    eprintln!("wrote {}", output.display());
    Ok(())
}

/// `gongzhi bench locate-export`: writes the grids and points `bench locate` uses, gongzhi's
/// answer for every point and its timing, for `bench/locate-postgis` to compare with PostGIS.
/// Files in `dir`: `grids.tsv` (code, WKT; COPY text format), `points.csv` (id, lng, lat),
/// `gongzhi.csv` (id, grid code or empty) and `gongzhi.json` (figures). Coordinates are written
/// in Rust's shortest round-trip form, so PostGIS parses exactly the same doubles.
pub fn locate_export(n: usize, points: usize, runs: usize, dir: &Path) -> Result<()> {
    use std::io::Write;
    let io = |e: std::io::Error| Error::internal(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let grids = generated_grids(n, 42);
    let pts = generated_points(n, points, 7);
    let create = |name: &str| -> Result<std::io::BufWriter<std::fs::File>> {
        Ok(std::io::BufWriter::new(
            std::fs::File::create(dir.join(name)).map_err(io)?,
        ))
    };
    let mut w = create("grids.tsv")?;
    for g in &grids {
        write!(w, "{}\tMULTIPOLYGON(", g.located.grid.code).map_err(io)?;
        for (pi, p) in g.polygon.0.iter().enumerate() {
            w.write_all(if pi == 0 { b"((" } else { b",((" })
                .map_err(io)?;
            for (ri, ring) in std::iter::once(p.exterior())
                .chain(p.interiors())
                .enumerate()
            {
                if ri > 0 {
                    w.write_all(b"),(").map_err(io)?;
                }
                for (ci, c) in ring.coords().enumerate() {
                    let sep = if ci == 0 { "" } else { "," };
                    write!(w, "{sep}{} {}", c.x, c.y).map_err(io)?;
                }
            }
            w.write_all(b"))").map_err(io)?;
        }
        w.write_all(b")\n").map_err(io)?;
    }
    w.flush().map_err(io)?;
    let mut w = create("points.csv")?;
    for (i, (lat, lng)) in pts.iter().enumerate() {
        writeln!(w, "{i},{lng},{lat}").map_err(io)?;
    }
    w.flush().map_err(io)?;

    let t = Instant::now();
    let index = LocateIndex::build(grids);
    let build_ms = t.elapsed().as_secs_f64() * 1000.0;
    // Each run collects every answer, as a batch of PostGIS queries returns every row.
    let mut rates = Vec::new();
    let mut answers: Vec<Option<&Located>> = Vec::new();
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        answers = pts
            .iter()
            .map(|(lat, lng)| index.locate(*lat, *lng))
            .collect();
        std::hint::black_box(&answers);
        rates.push(points as f64 / t.elapsed().as_secs_f64());
    }
    let mut w = create("gongzhi.csv")?;
    let mut hits = 0;
    for (i, a) in answers.iter().enumerate() {
        let code = a.map(|l| l.grid.code.as_str()).unwrap_or("");
        hits += usize::from(a.is_some());
        writeln!(w, "{i},{code}").map_err(io)?;
    }
    w.flush().map_err(io)?;
    let figures = serde_json::json!({
        "grids": index.len(),
        "points": points,
        "hits": hits,
        "build_ms": build_ms,
        "runs_lookups_per_sec": rates,
        "lookups_per_sec": median(rates.clone()),
        "threads": 1,
        "machine": machine(),
    });
    std::fs::write(
        dir.join("gongzhi.json"),
        serde_json::to_string_pretty(&figures).map_err(Error::internal)?,
    )
    .map_err(io)?;
    eprintln!(
        "locate-export: {} grids, {points} points, {:.0} lookups/s (1 thread, median of {}), wrote {}",
        index.len(),
        median(rates),
        runs.max(1),
        dir.display()
    );
    Ok(())
}

/// One intake backend's figures.
pub struct IntakeFigures {
    pub backend: String,
    pub cases: usize,
    pub sequential_per_sec: f64,
    pub concurrent_per_sec: f64,
    pub concurrency: usize,
}

/// Case intake through the service layer (validate, locate, route, deadlines, number, timeline,
/// audit, durable commit) on a fresh demo jurisdiction.
pub async fn measure_intake(
    database_url: &str,
    data_dir: &Path,
    cases: usize,
    concurrency: usize,
) -> Result<IntakeFigures> {
    use gongzhi_cases::store::{create, Channel, Kind, Location, NewCase, Reporter};
    use gongzhi_core::identity::{Actor, Assignment, Role};
    let config = gongzhi_core::config::Config {
        data_dir: data_dir.to_path_buf(),
        database_url: database_url.to_string(),
        ..Default::default()
    };
    let (db, sealer) = crate::server::open(&config).await?;
    crate::demo::seed_with_history(&db, &sealer, 0, 0).await?;
    let index = std::sync::Arc::new(gongzhi_core::areas::build_locate_index(&db).await?);
    let operator = Actor {
        kind: gongzhi_core::identity::ActorKind::User,
        user_id: Some("bench".into()),
        username: "bench-operator".into(),
        assignments: vec![Assignment::global(Role::Operator)],
    };
    let mut rng = StdRng::seed_from_u64(3);
    let categories = ["C0101", "E0102", "E0503", "R0101", "E0601", "C0302"];
    let inputs: Vec<NewCase> = (0..cases * 2)
        .map(|i| NewCase {
            kind: Kind::Report,
            category: categories[i % categories.len()].into(),
            description: format!("压测案件 {i}"),
            location: Some(Location {
                lat: rng.gen_range(39.88..39.95),
                lng: rng.gen_range(116.39..116.43),
                crs: None,
            }),
            address: None,
            channel: Channel::Hotline,
            reporter: Some(Reporter {
                name: Some("王五".into()),
                phone: Some("13800001234".into()),
            }),
            photos: vec![],
            public: None,
            photos_public: false,
            extras: vec![],
        })
        .collect();
    let outside = |r: &Result<(gongzhi_cases::store::CaseView, bool)>| {
        matches!(r, Err(Error::OutsideJurisdiction))
    };
    // Sequential: one request after another.
    let t = Instant::now();
    let mut done = 0;
    for input in &inputs[..cases] {
        let r = create(&db, &sealer, &index, &operator, input, None).await;
        if !outside(&r) {
            r?;
            done += 1;
        }
    }
    let sequential = done as f64 / t.elapsed().as_secs_f64();
    // Concurrent: `concurrency` callers at once, as a busy hotline would be.
    let t = Instant::now();
    let chunks: Vec<Vec<NewCase>> = inputs[cases..]
        .chunks(cases.div_ceil(concurrency))
        .map(|c| c.to_vec())
        .collect();
    let mut tasks = Vec::new();
    for chunk in chunks {
        let (db, sealer, index, operator) =
            (db.clone(), sealer.clone(), index.clone(), operator.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            for input in &chunk {
                match create(&db, &sealer, &index, &operator, input, None).await {
                    Ok(_) => n += 1,
                    Err(Error::OutsideJurisdiction) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(n)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.map_err(Error::internal)??;
    }
    let concurrent = total as f64 / t.elapsed().as_secs_f64();
    Ok(IntakeFigures {
        backend: if database_url.starts_with("postgres") {
            "PostgreSQL".into()
        } else {
            "SQLite".into()
        },
        cases,
        sequential_per_sec: sequential,
        concurrent_per_sec: concurrent,
        concurrency,
    })
}

/// `gongzhi bench intake`: SQLite in a temporary directory, and PostgreSQL when a URL is given
/// (a fresh database is created and dropped).
pub async fn intake(
    cases: usize,
    concurrency: usize,
    postgres: Option<&str>,
    output: &Path,
) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("gongzhi-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut rows = Vec::new();
    let sqlite = gongzhi_core::config::sqlite_url(&dir.join("gongzhi.db"));
    eprintln!("intake: SQLite, {cases} cases …");
    rows.push(measure_intake(&sqlite, &dir, cases, concurrency).await?);
    if let Some(admin_url) = postgres {
        let dir_ref = dir.as_path();
        eprintln!("intake: PostgreSQL, {cases} cases …");
        rows.push(
            on_scratch_postgres(admin_url, "intake", |url| async move {
                measure_intake(&url, dir_ref, cases, concurrency).await
            })
            .await?,
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    for r in &rows {
        eprintln!(
            "  {}: {:.0}/s one at a time, {:.0}/s with {} callers",
            r.backend, r.sequential_per_sec, r.concurrent_per_sec, r.concurrency
        );
    }
    let body = format!(
        "## Case intake through the service layer\n\n\
         Command: `scripts/bench` (runs `gongzhi bench intake`, release build). Machine: {}. Date: {}.\n\
         Each case: validate, locate, route, deadlines on the working calendar, case number, encrypted reporter, \
         first timeline event, audit entry, one durable commit (SQLite WAL with synchronous=FULL; PostgreSQL defaults). \
         Target: ≥ 5,000 cases/s.\n\n\
         | backend | cases | cases/s, one caller | cases/s, {} callers |\n|---|---:|---:|---:|\n{}\n",
        machine(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        concurrency,
        rows.iter().map(|r| format!("| {} | {} | {:.0} | {:.0} |", r.backend, r.cases, r.sequential_per_sec, r.concurrent_per_sec)).collect::<Vec<_>>().join("\n")
    );
    write_section(output, "intake", &body)
}

/// Server time of each main page (loopback round trip, one request at a time) with `cases`
/// stored: the demo seed, then its cases copied until there are enough.
pub struct PageFigures {
    pub backend: &'static str,
    pub cases: i64,
    pub inflate_secs: f64,
    /// (page, first request ms, p50 ms, p95 ms)
    pub pages: Vec<(String, f64, f64, f64)>,
}

/// Copies the stored cases (new ids and numbers, no idempotency keys) until there are `target`.
/// Each round is one audited transaction that also adds the copies to the daily counters.
pub(crate) async fn inflate_cases(
    db: &gongzhi_core::db::Db,
    target: i64,
    spread: bool,
) -> Result<i64> {
    use sqlx::{Column, Row};
    let row = sqlx::query("SELECT * FROM cases LIMIT 1")
        .fetch_one(db.pool())
        .await?;
    let cols: Vec<String> = row.columns().iter().map(|c| c.name().to_string()).collect();
    // Originals have a bare UUID (36 characters); copies carry suffixes.
    let originals: i64 = sqlx::query("SELECT COUNT(*) FROM cases WHERE LENGTH(id) = 36")
        .fetch_one(db.pool())
        .await?
        .try_get(0)?;
    let indexes = drop_secondary_indexes(db, "cases").await?;
    loop {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM cases")
            .fetch_one(db.pool())
            .await?
            .try_get(0)?;
        if n >= target {
            create_indexes(db, &indexes).await?;
            return Ok(n);
        }
        // Spread: round r moves its copies 2^r days back, so after r rounds every original has
        // copies at each whole day 0…2^r−1 before it — a long history with a week's density a
        // few times the demo's, rather than thousands of identical open cases at each spot.
        let shift_ms = if spread {
            let round = (n / originals.max(1)).max(1).ilog2();
            (1i64 << round.min(40)) * 86_400_000
        } else {
            0
        };
        // The count so far marks this round's copies: unique across rounds and across calls.
        let exprs: Vec<String> = cols
            .iter()
            .map(|c| match c.as_str() {
                "id" => format!("id || '-{n}'"),
                "number" => format!("number || '-{n}'"),
                "idempotency_key" => "NULL".into(),
                t if shift_ms > 0
                    && (t.ends_with("_at")
                        || t.ends_with("_deadline")
                        || t == "held_from"
                        || t == "extension_until") =>
                {
                    format!("{t} - {shift_ms}")
                }
                other => other.to_string(),
            })
            .collect();
        let mut tx = db.begin_write().await?;
        let copied = sqlx::query(&format!(
            "INSERT INTO cases ({}) SELECT {} FROM cases ORDER BY id LIMIT {}",
            cols.join(", "),
            exprs.join(", "),
            target - n
        ))
        .execute(tx.conn())
        .await?
        .rows_affected();
        gongzhi_cases::stats::contributions_of_copies(&mut tx, &format!("-{n}"))
            .await?
            .apply(&mut tx)
            .await?;
        gongzhi_core::audit::append(
            &mut tx,
            &gongzhi_core::identity::Actor::system("bench"),
            "bench.copy_cases",
            &format!("cases:{copied}"),
            &serde_json::json!({"marker": n, "copied": copied, "shift_ms": shift_ms}),
            Some("benchmark data: copies of the stored cases"),
        )
        .await?;
        tx.commit().await?;
    }
}

/// Drops the secondary indexes of `table` (not those behind its keys) and returns the
/// statements that make them: a bulk load followed by one sorted build of each index is many
/// times faster than keeping every index up to date row by row. The same indexes come back.
pub(crate) async fn drop_secondary_indexes(
    db: &gongzhi_core::db::Db,
    table: &str,
) -> Result<Vec<String>> {
    use sqlx::Row;
    let sql = match db.backend() {
        gongzhi_core::db::Backend::Sqlite => {
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL"
        }
        gongzhi_core::db::Backend::Postgres => {
            "SELECT indexname AS name, indexdef AS sql FROM pg_indexes WHERE tablename = $1 \
             AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        }
    };
    let mut made = Vec::new();
    for r in sqlx::query(sql).bind(table).fetch_all(db.pool()).await? {
        let name: String = r.try_get("name")?;
        sqlx::query(&format!("DROP INDEX {name}"))
            .execute(db.pool())
            .await?;
        made.push(r.try_get("sql")?);
    }
    Ok(made)
}

pub(crate) async fn create_indexes(db: &gongzhi_core::db::Db, statements: &[String]) -> Result<()> {
    for s in statements {
        sqlx::query(s).execute(db.pool()).await?;
    }
    Ok(())
}

async fn sign_in(client: &reqwest::Client, base: &str, user: &str) -> Result<String> {
    let err = |e: reqwest::Error| Error::internal(e);
    let resp = client
        .get(format!("{base}/login"))
        .send()
        .await
        .map_err(err)?;
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .to_string();
    let page = resp.text().await.map_err(err)?;
    let csrf = page
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or("")
        .to_string();
    let resp = client
        .post(format!("{base}/login"))
        .header("cookie", cookie)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", user),
            ("password", &format!("{user}-demo")),
            ("next", ""),
        ])
        .send()
        .await
        .map_err(err)?;
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("gz_session="))
        .and_then(|v| v.split(';').next())
        .map(String::from)
        .ok_or_else(|| Error::internal(format!("{user} could not sign in")))
}

pub async fn measure_pages(
    db_url: &str,
    dir: &Path,
    cases: i64,
    requests: usize,
) -> Result<PageFigures> {
    use sqlx::Row;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(Error::internal)?;
    let mut config = gongzhi_core::config::Config::default();
    config.data_dir = dir.to_path_buf();
    config.database_url = db_url.to_string();
    let (db, sealer) = crate::server::open(&config).await?;
    crate::demo::seed(&db, &sealer).await?;
    let started = std::time::Instant::now();
    let stored = inflate_cases(&db, cases, false).await?;
    sqlx::query("ANALYZE").execute(db.pool()).await?;
    let inflate_secs = started.elapsed().as_secs_f64();
    let case_id: String = sqlx::query("SELECT id FROM cases ORDER BY created_at DESC, id LIMIT 1")
        .fetch_one(db.pool())
        .await?
        .try_get(0)?;
    let listener = crate::server::bind("127.0.0.1:0").await?;
    let running = crate::server::start(config, db.clone(), sealer, listener).await?;
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

/// Runs `measure` on a scratch PostgreSQL database made beside `admin_url` and dropped after,
/// whatever the outcome.
pub async fn on_scratch_postgres<T, F, Fut>(admin_url: &str, label: &str, measure: F) -> Result<T>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let name = format!("gongzhi_bench_{label}_{}", std::process::id());
    let r = measure(scratch_postgres(admin_url, &name).await?).await;
    drop_scratch(admin_url, &name).await;
    r
}

/// Creates the scratch PostgreSQL database `name` (dropping a leftover of that name first) and
/// returns its URL; [`drop_scratch`] removes it.
pub(crate) async fn scratch_postgres(admin_url: &str, name: &str) -> Result<String> {
    let admin = gongzhi_core::db::Db::connect(admin_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(admin.pool())
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(admin.pool())
        .await?;
    admin.pool().close().await;
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap_or_default();
    Ok(format!("{base}/{name}"))
}

pub(crate) async fn drop_scratch(admin_url: &str, name: &str) {
    if let Ok(admin) = gongzhi_core::db::Db::connect(admin_url).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(admin.pool())
            .await;
    }
}

/// `gongzhi bench pages`: every main page's server time with many cases stored.
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
         Command: `scripts/bench` (runs `gongzhi bench pages`, release build). Machine: {}. Date: {}.\n\
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

/// `gongzhi bench mes`: winners of a generated call (costs 10,000–500,000 yuan, budget a third
/// of the total, each voter approving 1–10 projects with popularity skewed) by each rule.
pub fn mes(projects: usize, voters: usize, output: &Path) -> Result<()> {
    use gongzhi_deliberation::pb::{winners, Completion, Project, Rule};
    let mut rng = StdRng::seed_from_u64(7);
    let ps: Vec<Project> = (0..projects)
        .map(|i| Project {
            id: format!("p{i:03}"),
            cost: rng.gen_range(10..=500) * 1000,
        })
        .collect();
    let budget = ps.iter().map(|p| p.cost).sum::<i64>() / 3;
    let ballots: Vec<Vec<usize>> = (0..voters)
        .map(|_| {
            let n = rng.gen_range(1..=10usize.min(projects));
            // Squaring a uniform number favours low indices: some projects are popular.
            (0..n)
                .map(|_| ((rng.gen::<f64>().powi(2)) * projects as f64) as usize)
                .collect()
        })
        .collect();
    let mut rows = Vec::new();
    for (name, rule) in [
        ("greedy", Rule::Greedy),
        (
            "equal shares",
            Rule::EqualShares {
                completion: Completion::None,
            },
        ),
        (
            "equal shares + greedy completion",
            Rule::EqualShares {
                completion: Completion::Greedy,
            },
        ),
    ] {
        let mut times = Vec::new();
        let mut won = 0;
        for _ in 0..3 {
            let t = std::time::Instant::now();
            let o = winners(budget, &ps, &ballots, rule);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            won = o.winners.len();
        }
        let ms = median(times);
        eprintln!("  {name}: {ms:.0} ms, {won} winners");
        rows.push(format!("| {name} | {ms:.0} | {won} |"));
    }
    let body = format!(
        "## Participatory budget winners\n\n\
         Command: `gongzhi bench mes` (release build). Machine: {}. Date: {}.\n\
         {projects} projects, {voters} approval ballots (1–10 projects each, skewed popularity), budget a third of the total cost; \
         median of 3 runs, one thread. Target: the Method of Equal Shares for 100 projects and 100,000 voters.\n\n\
         | rule | ms | winners |\n|---|---:|---:|\n{}\n",
        machine(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        rows.join("\n")
    );
    write_section(output, "mes", &body)
}

/// One size of `bench stats`: the month's ranking at each level.
pub struct StatsFigures {
    pub backend: &'static str,
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
    use gongzhi_cases::stats::{compute, StatsLevel};
    use gongzhi_core::identity::{Actor, ActorKind, Assignment, Role};
    let leader = Actor {
        kind: ActorKind::User,
        user_id: Some("bench".into()),
        username: "bench-leader".into(),
        assignments: vec![Assignment::global(Role::Leader)],
    };
    let mut out = Vec::new();
    for (name, level) in [
        ("street", StatsLevel::Street),
        ("community", StatsLevel::Community),
        ("grid", StatsLevel::Grid),
        ("unit", StatsLevel::Unit),
    ] {
        // A fresh pool for each level, so its first run finds no statement or page cached.
        let (db, _) = crate::server::open(config).await?;
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
    use sqlx::Row;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(Error::internal)?;
    let mut config = gongzhi_core::config::Config::default();
    config.data_dir = dir.to_path_buf();
    config.database_url = db_url.to_string();
    let (db, sealer) = crate::server::open(&config).await?;
    crate::demo::seed(&db, &sealer).await?;
    let backend = if db_url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let settings = gongzhi_cases::stats::load_settings(&db).await?;
    let (start, end) = gongzhi_cases::stats::period_bounds(period, settings.cycle_start_day)?;
    let load_before = load_average();
    let mut out = Vec::new();
    for &n in sizes {
        eprintln!("stats: {backend}, inflating to {n} cases …");
        let started = Instant::now();
        let stored = inflate_cases(&db, n, false).await?;
        sqlx::query("ANALYZE").execute(db.pool()).await?;
        let inflate_secs = started.elapsed().as_secs_f64();
        let count = |sql: &'static str| {
            let db = db.clone();
            async move {
                Ok::<i64, Error>(
                    sqlx::query(sql)
                        .bind(start)
                        .bind(end)
                        .fetch_one(db.pool())
                        .await?
                        .try_get(0)?,
                )
            }
        };
        let dispatched_in_month =
            count("SELECT COUNT(*) FROM cases WHERE dispatched_at >= $1 AND dispatched_at < $2")
                .await?;
        let callbacks_in_month = count("SELECT COUNT(*) FROM cases WHERE callback_at >= $1 AND callback_at < $2 AND callback_contacted IS NOT NULL").await?;
        eprintln!(
            "  {stored} cases stored in {inflate_secs:.0} s; {period}: {dispatched_in_month} dispatched, {callbacks_in_month} valid callbacks"
        );
        let levels = time_stats_levels(&config, period, runs).await?;
        out.push(StatsFigures {
            backend,
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

pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
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
         Command: `scripts/bench` (runs `gongzhi bench stats`, release build). Machine: {}. Date: {}. \
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

/// `gongzhi bench stats`: the month's ranking at every level with many cases stored, on SQLite
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
