//! The proof harness's gongzhi side (issue 6): intake against the engines' own fastest paths,
//! the ranking on a year of generated cases (exported for DuckDB), and the HTTP API under
//! open-loop load. `bench/run` drives these together with the other comparisons.

mod engine;
pub(crate) mod http;
mod intake_raw;
mod rankings;

use std::path::PathBuf;

use clap::Subcommand;
use gongzhi_core::Result;

#[derive(Subcommand)]
pub enum HarnessCommand {
    /// Intake against the engine's raw ceiling: the rows intake writes per case (case, event,
    /// audit entry) through each database's fastest path with the same durability, then
    /// gongzhi's intake through its service layer and through HTTP, with its batch sizes.
    IntakeRaw {
        /// Cases per run.
        #[arg(long, default_value_t = 5_000)]
        cases: usize,
        /// Concurrent callers in the concurrent runs.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Runs of each measurement (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Cases stored before each measurement starts (engine paths and gongzhi's alike).
        #[arg(long, default_value_t = 1_000_000)]
        history: i64,
        /// An administrative PostgreSQL URL; scratch databases are created and dropped.
        #[arg(long)]
        postgres: Option<String>,
        /// Markdown file to update.
        #[arg(long, default_value = "docs/benchmarks.md")]
        output: PathBuf,
    },
    /// Generates a year of cases over 343 streets into gongzhi, times the monthly ranking (and
    /// the scan it replaced), and writes the same cases as CSV for bench/rankings-duckdb.
    RankingsExport {
        /// Cases to generate (a Beijing year is 25,000,000).
        #[arg(long, default_value_t = 1_000_000)]
        cases: usize,
        /// The ranked period.
        #[arg(long, default_value = "2026-06")]
        period: String,
        /// Timed runs of the ranking.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Skip timing the full scan of the cases table (slow at tens of millions).
        #[arg(long)]
        no_scan: bool,
        /// Database (default: SQLite in --dir).
        #[arg(long)]
        database: Option<String>,
        /// Directory for the database, cases.csv and gongzhi.json.
        #[arg(long)]
        dir: PathBuf,
    },
    /// The HTTP API under mixed reads and writes at fixed request rates (open loop), with the
    /// server in its own process: latency percentiles, errors and resident memory.
    Http {
        /// Stored cases, comma separated (one server per size).
        #[arg(long, value_delimiter = ',', default_value = "1000000,10000000")]
        cases: Vec<i64>,
        /// Request rates per second, comma separated.
        #[arg(long, value_delimiter = ',', default_value = "1000,2000,3000,4000")]
        rates: Vec<u32>,
        /// Seconds at each rate.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// A PostgreSQL URL to run on instead of SQLite (a scratch database is created and dropped).
        #[arg(long)]
        postgres: Option<String>,
        /// The gongzhi binary that serves (default: `gongzhi` beside this binary).
        #[arg(long)]
        server: Option<PathBuf>,
        /// Keep the seeded stores in this directory and reuse them in later runs (each run
        /// works on a copy); PostgreSQL's seed is the database `http_seed_N`.
        #[arg(long)]
        seeded: Option<PathBuf>,
        /// Only seed the stores (with --seeded), measure nothing.
        #[arg(long, requires = "seeded")]
        seed_only: bool,
        /// Markdown file to update.
        #[arg(long, default_value = "docs/benchmarks.md")]
        output: PathBuf,
    },
}

pub async fn run(cmd: HarnessCommand) -> Result<()> {
    match cmd {
        HarnessCommand::IntakeRaw {
            cases,
            concurrency,
            runs,
            history,
            postgres,
            output,
        } => {
            intake_raw::run(
                cases,
                concurrency,
                runs,
                history,
                postgres.as_deref(),
                &output,
            )
            .await
        }
        HarnessCommand::RankingsExport {
            cases,
            period,
            runs,
            no_scan,
            database,
            dir,
        } => rankings::export(cases, &period, runs, !no_scan, database.as_deref(), &dir).await,
        HarnessCommand::Http {
            cases,
            rates,
            seconds,
            postgres,
            server,
            seeded,
            seed_only,
            output,
        } => {
            let server = match server {
                Some(s) => s,
                None => http::beside_this_binary()?,
            };
            let load = http::Rates {
                cases: &cases,
                rates: &rates,
                seconds,
                seeded: seeded.as_deref(),
                seed_only,
            };
            http::run(&load, &server, postgres.as_deref(), &output).await
        }
    }
}
