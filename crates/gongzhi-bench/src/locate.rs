//! Locate (point → grid): throughput and index build time on generated grids, checked against
//! a brute-force scan; and the export `bench/locate-postgis` compares with PostGIS.

use std::path::Path;
use std::time::Instant;

use geo::{Contains, Coord, Intersects, LineString, MultiPolygon, Polygon};
use gongzhi_core::areas::locate::{AreaRef, GridEntry, LocateIndex, LocateStats, Located};
use gongzhi_core::{Error, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::report::{machine, median, write_section};

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

pub struct LocateFigures {
    pub grids: usize,
    pub build_ms: f64,
    pub lookups_per_sec_1: f64,
    pub lookups_per_sec_2: f64,
    pub hit_share: f64,
    pub checked: usize,
    pub stats: LocateStats,
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
        stats: index.stats(),
    })
}

/// `gongzhi-bench locate`.
pub fn locate(sizes: &[usize], points: usize, output: &Path) -> Result<()> {
    let mut rows = Vec::new();
    for &n in sizes {
        eprintln!("locate: {n} grids, {points} points …");
        let f = measure_locate(n, points)?;
        let s = f.stats;
        let mib = s.index_bytes as f64 / (1024.0 * 1024.0);
        let covered = s.covered_cells as f64 / s.cells.max(1) as f64 * 100.0;
        let load = std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        eprintln!(
            "  build {:.1} ms, {:.0} lookups/s on 1 thread, {:.0} on 2 threads; {} cells \
             ({covered:.0}% covered by one grid), {} entries, {mib:.1} MiB; load {load}",
            f.build_ms, f.lookups_per_sec_1, f.lookups_per_sec_2, s.cells, s.entries
        );
        rows.push(format!(
            "| {} | {:.1} | {:.0} | {:.0} | {:.0}% | {} | {} ({covered:.0}%) | {mib:.1} | {load} |",
            f.grids,
            f.build_ms,
            f.lookups_per_sec_1,
            f.lookups_per_sec_2,
            f.hit_share * 100.0,
            f.checked,
            s.cells,
        ));
    }
    let body = format!(
        "## Locate (point → grid)\n\n\
         Command: `scripts/bench` (runs `gongzhi-bench locate`, release build). Machine: {}. Date: {}.\n\
         Generated grids: a jittered lattice of 8-vertex polygons sharing their edges (no gaps, no overlaps); \
         {points} uniformly random points over the lattice and a 5% margin; medians of 3 runs. \
         Cells: the lattice of the index; covered: cells wholly inside one grid, answered without a crossing test. \
         Index memory: cells, entries, edges and boxes (not the names returned). \
         Load average (1, 5, 15 min) when the size finished; the machine is shared. \
         Target: ≥ 2,000,000 lookups/s per core at 100,000 grids.\n\n\
         | grids | index build (ms) | lookups/s, 1 thread | lookups/s, 2 threads | points inside a grid | answers checked by brute force | cells (covered) | index memory (MiB) | load average |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---|\n{}\n",
        machine(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        rows.join("\n")
    );
    write_section(output, "locate", &body)?;
    eprintln!("wrote {}", output.display());
    Ok(())
}

/// `gongzhi-bench locate-export`: writes the grids and points `bench locate` uses, gongzhi's
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
        "index_bytes": index.stats().index_bytes,
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
