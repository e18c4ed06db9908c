//! `gongzhi-bench votes`: one topic, `voters` verified residents, every one casting a ballot
//! through the service layer (eligibility on the fixed roll, one-ballot check, secret ballot
//! sealed into the ballot box and mixed in batches, audit entry, durable commit), then the tally; on SQLite and, when given, PostgreSQL.

use std::path::Path;
use std::time::Instant;

use gongzhi_core::db::Db;
use gongzhi_core::identity::{Actor, ActorKind, Assignment, Role};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::Result;
use gongzhi_deliberation::rules::{TopicStep, VoteRules};
use gongzhi_deliberation::{residents, topics};

use crate::report::{machine, on_scratch_postgres, write_section};
use crate::setup::config_for;

const COMMUNITY: &str = "110101001001";

struct Figures {
    backend: &'static str,
    verify_per_sec: f64,
    votes_per_sec: f64,
    tally_ms: f64,
    cast: i64,
}

fn resident(i: usize) -> Actor {
    Actor {
        kind: ActorKind::User,
        user_id: Some(format!("bench-voter-{i}")),
        username: format!("voter{i}"),
        assignments: vec![Assignment::global(Role::RESIDENT)],
    }
}

/// Runs `work(i)` for i in 0..n on `concurrency` tasks; the elapsed seconds.
async fn spread<F, Fut>(n: usize, concurrency: usize, work: F) -> Result<f64>
where
    F: Fn(usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let t = Instant::now();
    let mut tasks = Vec::new();
    for k in 0..concurrency {
        let work = work.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = k;
            while i < n {
                work(i).await?;
                i += concurrency;
            }
            Ok::<(), gongzhi_core::Error>(())
        }));
    }
    for t in tasks {
        t.await.map_err(gongzhi_core::Error::internal)??;
    }
    Ok(t.elapsed().as_secs_f64())
}

/// The council's topic, accepted and open for a secret vote from `start` to `closes`.
async fn open_topic(
    db: &Db,
    sealer: &Sealer,
    council: &Actor,
    start: i64,
    closes: i64,
) -> Result<String> {
    let (topic, _) = topics::create(
        db,
        council,
        &topics::NewTopic {
            title: "压测议题".into(),
            body: "十万居民投票".into(),
            level: topics::TopicLevel::Community,
            area: COMMUNITY.into(),
            place: String::new(),
        },
        start,
    )
    .await?;
    topics::step(
        db,
        sealer,
        council,
        &topic,
        TopicStep::Accept,
        &Default::default(),
        start,
    )
    .await?;
    let rules = VoteRules {
        quorum: 0.5,
        pass_threshold: 0.5,
        opens_at: gongzhi_core::time::format_ms(start),
        closes_at: gongzhi_core::time::format_ms(closes),
        secret: true,
    };
    topics::step(
        db,
        sealer,
        council,
        &topic,
        TopicStep::OpenVote,
        &topics::StepInput {
            rules: Some(rules),
            ..Default::default()
        },
        start,
    )
    .await?;
    Ok(topic)
}

async fn measure(url: &str, dir: &Path, voters: usize, concurrency: usize) -> Result<Figures> {
    let (db, sealer) = gongzhi::server::open(&config_for(url, dir)).await?;
    let system = Actor::system("bench");
    gongzhi_core::areas::import_divisions(
        &db,
        &system,
        "code,name,level,parent_code\n110101,东城区,district,\n110101001,东华门街道,street,110101\n110101001001,多福巷社区,community,110101001\n",
    )
    .await?;
    let council = Actor {
        kind: ActorKind::User,
        user_id: Some("bench-council".into()),
        username: "bench-council".into(),
        assignments: vec![Assignment {
            role: gongzhi_deliberation::roles::COUNCIL,
            area: Some(COMMUNITY.into()),
            unit: None,
        }],
    };
    let start = gongzhi_core::time::now_ms() - 3_600_000;
    let verify_secs = {
        let (db, council) = (db.clone(), council.clone());
        spread(voters, concurrency, move |i| {
            let (db, council) = (db.clone(), council.clone());
            async move {
                let a = resident(i);
                residents::record(
                    &db,
                    &council,
                    a.user_id.as_deref().unwrap(),
                    COMMUNITY,
                    "",
                    residents::VerificationMethod::Registry,
                    None,
                    start - 1000,
                )
                .await
                .map(|_| ())
            }
        })
        .await?
    };
    let closes = start + 30 * 86_400_000;
    let topic = open_topic(&db, &sealer, &council, start, closes).await?;
    let vote_secs = {
        let (db, sealer, topic) = (db.clone(), sealer.clone(), topic.clone());
        spread(voters, concurrency, move |i| {
            let (db, sealer, topic) = (db.clone(), sealer.clone(), topic.clone());
            async move {
                let choice = match i % 5 {
                    0..=2 => topics::Choice::Yes,
                    3 => topics::Choice::No,
                    _ => topics::Choice::Abstain,
                };
                topics::vote(&db, &sealer, &resident(i), &topic, choice, start + 1000).await
            }
        })
        .await?
    };
    let t = Instant::now();
    topics::step(
        &db,
        &sealer,
        &council,
        &topic,
        TopicStep::CloseVote,
        &Default::default(),
        closes + 1,
    )
    .await?;
    let tally_ms = t.elapsed().as_secs_f64() * 1000.0;
    let v = topics::view(&db, &sealer, &council, &topic).await?;
    let cast = v.tally.map(|t| t.cast).unwrap_or(0);
    db.close().await;
    Ok(Figures {
        backend: if url.starts_with("sqlite") {
            "SQLite"
        } else {
            "PostgreSQL"
        },
        verify_per_sec: voters as f64 / verify_secs,
        votes_per_sec: voters as f64 / vote_secs,
        tally_ms,
        cast,
    })
}

pub async fn votes(
    voters: usize,
    concurrency: usize,
    postgres: Option<&str>,
    output: &Path,
) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("gongzhi-bench-votes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut rows = Vec::new();
    eprintln!("votes: SQLite, {voters} voters …");
    rows.push(
        measure(
            &gongzhi_core::config::sqlite_url(&dir.join("gongzhi.db")),
            &dir,
            voters,
            concurrency,
        )
        .await?,
    );
    if let Some(admin_url) = postgres {
        let dir_ref = dir.as_path();
        eprintln!("votes: PostgreSQL, {voters} voters …");
        rows.push(
            on_scratch_postgres(admin_url, "votes", |url| async move {
                measure(&url, dir_ref, voters, concurrency).await
            })
            .await?,
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    for r in &rows {
        if r.cast != voters as i64 {
            return Err(gongzhi_core::Error::internal(format!(
                "{}: {} ballots tallied, not {voters}",
                r.backend, r.cast
            )));
        }
        eprintln!(
            "  {}: {:.0} votes/s, tally {:.0} ms",
            r.backend, r.votes_per_sec, r.tally_ms
        );
    }
    let body = format!(
        "## Votes on one topic\n\n\
         Command: `gongzhi-bench votes` (release build). Machine: {}. Date: {}.\n\
         {voters} residents verified for one community, then each casts one ballot on one topic through the service layer \
         ({concurrency} callers): vote window and roll checked, one ballot per resident (primary key), secret ballot sealed into \
         the ballot box and mixed in batches, audit entry, durable commit. The tally is the close_vote step (mixing the ballots still pooled, counting every ballot, deciding quorum and \
         threshold); every ballot was counted.\n\n\
         | backend | verifications/s | votes/s | tally ms |\n|---|---:|---:|---:|\n{}\n",
        machine(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        rows.iter().map(|r| format!("| {} | {:.0} | {:.0} | {:.0} |", r.backend, r.verify_per_sec, r.votes_per_sec, r.tally_ms)).collect::<Vec<_>>().join("\n")
    );
    write_section(output, "votes", &body)
}
