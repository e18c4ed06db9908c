//! Case intake through the service layer: one caller, then many at once, on a fresh demo
//! jurisdiction (SQLite, and PostgreSQL on a scratch database).

use std::path::Path;
use std::time::Instant;

use gongzhi_cases::store::intake::{batch_sizes, BatchSizes};
use gongzhi_core::demo::DemoSize;
use gongzhi_core::{Error, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::report::{machine, on_scratch_postgres, write_section};

/// One intake backend's figures.
pub struct IntakeFigures {
    pub backend: String,
    pub cases: usize,
    pub sequential_per_sec: f64,
    pub concurrent_per_sec: f64,
    pub concurrency: usize,
    /// The group commits of the one caller's run and of the concurrent run.
    pub sequential_batches: BatchSizes,
    pub concurrent_batches: BatchSizes,
}

/// Case intake through the service layer (validate, locate, route, deadlines, number, timeline,
/// audit, durable commit) on a fresh demo jurisdiction.
pub async fn measure_intake(
    database_url: &str,
    data_dir: &Path,
    cases: usize,
    concurrency: usize,
    seed: bool,
) -> Result<IntakeFigures> {
    use gongzhi_cases::commands::create_case as create;
    use gongzhi_cases::model::{Channel, Kind, Location, NewCase, Reporter};
    use gongzhi_core::identity::{Actor, Assignment};
    let config = gongzhi_core::config::Config {
        data_dir: data_dir.to_path_buf(),
        database_url: database_url.to_string(),
        ..Default::default()
    };
    let (db, sealer) = gongzhi::server::open(&config).await?;
    if seed {
        gongzhi::server::seed_demo(&db, &sealer, DemoSize::STRUCTURE).await?;
    }
    let index = std::sync::Arc::new(gongzhi_core::areas::build_locate_index(&db).await?);
    let operator = Actor {
        kind: gongzhi_core::identity::ActorKind::User,
        user_id: Some("bench".into()),
        username: "bench-operator".into(),
        assignments: vec![Assignment::global(gongzhi_cases::roles::OPERATOR)],
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
    let outside = |r: &Result<(gongzhi_cases::model::CaseView, bool)>| {
        matches!(r, Err(Error::OutsideJurisdiction))
    };
    // Sequential: one request after another.
    let before = batch_sizes(&db);
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
    let after_sequential = batch_sizes(&db);
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
    let after_concurrent = batch_sizes(&db);
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
        sequential_batches: after_sequential.since(&before),
        concurrent_batches: after_concurrent.since(&after_sequential),
    })
}

/// `gongzhi-bench intake`: SQLite in a temporary directory, and PostgreSQL when a URL is given
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
    rows.push(measure_intake(&sqlite, &dir, cases, concurrency, true).await?);
    if let Some(admin_url) = postgres {
        let dir_ref = dir.as_path();
        eprintln!("intake: PostgreSQL, {cases} cases …");
        rows.push(
            on_scratch_postgres(admin_url, "intake", |url| async move {
                measure_intake(&url, dir_ref, cases, concurrency, true).await
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
         Command: `scripts/bench` (runs `gongzhi-bench intake`, release build). Machine: {}. Date: {}.\n\
         Each case: validate, locate, route, deadlines on the working calendar, case number, encrypted reporter, \
         first timeline event, audit entry, one durable commit (SQLite WAL, the log synced before the commit returns; PostgreSQL defaults). \
         Target: ≥ 5,000 cases/s.\n\n\
         | backend | cases | cases/s, one caller | cases/s, {} callers |\n|---|---:|---:|---:|\n{}\n",
        machine(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        concurrency,
        rows.iter().map(|r| format!("| {} | {} | {:.0} | {:.0} |", r.backend, r.cases, r.sequential_per_sec, r.concurrent_per_sec)).collect::<Vec<_>>().join("\n")
    );
    write_section(output, "intake", &body)
}
