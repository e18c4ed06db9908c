//! What every benchmark shares: the machine and load it states, medians, the marked sections
//! of `docs/benchmarks.md` it rewrites, and scratch PostgreSQL databases.

use std::path::Path;

use gongzhi_core::db::Db;
use gongzhi_core::{Error, Result};

/// The median (the upper one of an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The machine, as each section states it: CPU, cores, memory.
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

/// Runs `measure` on a scratch PostgreSQL database made beside `admin_url` and dropped after,
/// whatever the outcome.
pub async fn on_scratch_postgres<T, F, Fut>(admin_url: &str, label: &str, measure: F) -> Result<T>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let name = format!("gongzhi_bench_{label}_{}", std::process::id());
    let r = measure(Db::create_scratch_database(admin_url, &name).await?).await;
    Db::drop_scratch_database(admin_url, &name).await;
    r
}

/// The load average over 1, 5 and 15 minutes (the machine is shared).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

pub fn now_utc() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string()
}
