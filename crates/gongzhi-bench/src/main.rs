//! `gongzhi-bench`: the benchmarks, each writing its figures to its own marked section of
//! `docs/benchmarks.md` (medians of several runs). A binary of its own, so that the served
//! binary carries no benchmark; it starts gongzhi through the `gongzhi` library crate (and
//! `gongzhi serve` as a process where the server's own memory is measured).

mod harness;
mod intake;
mod locate;
mod mes;
mod pages;
mod report;
mod setup;
mod stats;
mod votes;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gongzhi_core::Error;

#[derive(Parser)]
#[command(
    name = "gongzhi-bench",
    version,
    about = "gongzhi (共治) benchmarks: figures for docs/benchmarks.md"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Votes on one topic through the service layer, then the tally (SQLite, and PostgreSQL with --postgres).
    Votes {
        #[arg(long, default_value_t = 100_000)]
        voters: usize,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Also measure on PostgreSQL (an admin URL; a scratch database is created and dropped).
        #[arg(long)]
        postgres: Option<String>,
        /// Markdown file to update.
        #[arg(long, default_value = "docs/benchmarks.md")]
        output: PathBuf,
    },
    /// The proof harness's comparisons (bench/run): intake-raw, rankings-export, http.
    #[command(flatten)]
    Harness(harness::HarnessCommand),
    /// The Method of Equal Shares and greedy approval on generated ballots.
    Mes {
        #[arg(long, default_value_t = 100)]
        projects: usize,
        #[arg(long, default_value_t = 100_000)]
        voters: usize,
        /// Markdown file to update.
        #[arg(long, default_value = "docs/benchmarks.md")]
        output: PathBuf,
    },
    /// Locate throughput and index build time at 1,000, 10,000 and 100,000 generated grids.
    Locate {
        /// Grid counts to measure, comma separated.
        #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
        sizes: Vec<usize>,
        /// Random points per run.
        #[arg(long, default_value_t = 1_000_000)]
        points: usize,
        /// Markdown file to update.
        #[arg(long, default_value = "docs/benchmarks.md")]
        output: PathBuf,
    },
    /// Writes generated grids, points, gongzhi's answers and its locate timing to a directory
    /// (for bench/locate-postgis, which compares them with PostGIS).
    LocateExport {
        /// Generated grids.
        #[arg(long, default_value_t = 100_000)]
        grids: usize,
        /// Random points.
        #[arg(long, default_value_t = 1_000_000)]
        points: usize,
        /// Timed runs over every point (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Directory for grids.tsv, points.csv, gongzhi.csv and gongzhi.json.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Every main page's server time with many cases stored (SQLite, and PostgreSQL with --postgres).
    Pages {
        /// Cases stored while measuring, comma separated (one store each).
        #[arg(long, value_delimiter = ',', default_value = "1000000")]
        cases: Vec<i64>,
        /// Requests per page (the first, on cold caches, counted in the percentiles).
        #[arg(long, default_value_t = 40)]
        requests: usize,
        /// An administrative PostgreSQL URL; a scratch database is created and dropped.
        #[arg(long)]
        postgres: Option<String>,
        /// Keep the seeded stores here and reuse them (the same as `http --seeded`).
        #[arg(long)]
        seeded: Option<PathBuf>,
        /// Markdown file to update.
        #[arg(long, default_value = "docs/benchmarks.md")]
        output: PathBuf,
    },
    /// The month's measures and rankings at every level with many cases stored (SQLite, and
    /// PostgreSQL with --postgres).
    Stats {
        /// Stored case counts to measure, comma separated (one database, grown between sizes).
        #[arg(long, value_delimiter = ',', default_value = "1000000,10000000")]
        cases: Vec<i64>,
        /// Timed runs per level after the first (the median is reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// An administrative PostgreSQL URL; a scratch database is created and dropped.
        #[arg(long)]
        postgres: Option<String>,
        /// Case counts on PostgreSQL (default: the same as --cases).
        #[arg(long, value_delimiter = ',')]
        postgres_cases: Option<Vec<i64>>,
        /// Markdown file to update.
        #[arg(long, default_value = "docs/benchmarks.md")]
        output: PathBuf,
    },
    /// Case intake through the service layer on SQLite (and PostgreSQL with --postgres).
    Intake {
        /// Cases per run.
        #[arg(long, default_value_t = 5_000)]
        cases: usize,
        /// Concurrent callers in the second run.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// An administrative PostgreSQL URL; a scratch database is created and dropped.
        #[arg(long)]
        postgres: Option<String>,
        /// Markdown file to update.
        #[arg(long, default_value = "docs/benchmarks.md")]
        output: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // sqlx warns of each statement over a second, with its whole text: the benchmarks' bulk
    // inserts and database copies are slow on purpose.
    let filter = tracing_subscriber::EnvFilter::try_from_env("GONGZHI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,sqlx::query=error"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .compact()
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(execute(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.to_string().replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

async fn execute(command: Command) -> Result<(), Error> {
    match command {
        Command::Votes {
            voters,
            concurrency,
            postgres,
            output,
        } => {
            votes::votes(voters, concurrency, postgres.as_deref(), &output).await?;
        }
        Command::Harness(cmd) => harness::run(cmd).await?,
        Command::Mes {
            projects,
            voters,
            output,
        } => {
            mes::mes(projects, voters, &output)?;
        }
        Command::Locate {
            sizes,
            points,
            output,
        } => {
            locate::locate(&sizes, points, &output)?;
        }
        Command::LocateExport {
            grids,
            points,
            runs,
            dir,
        } => {
            locate::locate_export(grids, points, runs, &dir)?;
        }
        Command::Pages {
            cases,
            requests,
            postgres,
            seeded,
            output,
        } => {
            pages::pages(
                &cases,
                requests,
                postgres.as_deref(),
                seeded.as_deref(),
                &output,
            )
            .await?;
        }
        Command::Stats {
            cases,
            runs,
            postgres,
            postgres_cases,
            output,
        } => {
            stats::stats(
                &cases,
                postgres_cases.as_deref(),
                runs,
                postgres.as_deref(),
                &output,
            )
            .await?;
        }
        Command::Intake {
            cases,
            concurrency,
            postgres,
            output,
        } => {
            intake::intake(cases, concurrency, postgres.as_deref(), &output).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_command_parses() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
