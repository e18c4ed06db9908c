//! The durable job runner. Jobs are rows, so they survive restarts; modules declare their job
//! kinds with handlers in their manifests (`Module::job_kinds`), and a runner in every server
//! reads due jobs, takes each one (`store::take`: moves its due time `LEASE_MS` ahead, an UPDATE
//! only one runner can win) and hands it to its kind's handler, which closes it (`claim`) in the
//! one audited transaction that does it. So with several servers on one database a job is done
//! once: a reminder posted once, an SMS or a mail sent once. A runner that dies while doing a job
//! leaves it taken; it is due again `LEASE_MS` later (then done at least once, not exactly once).

mod store;

use std::time::Duration;

use serde_json::Value;

use crate::audit;
use crate::db::WriteTx;
use crate::identity::Actor;
use crate::module::{job_kind, Job};
use crate::state::AppState;
use crate::Result;

pub use store::MIGRATION;

/// Queues a job of `kind` about `subject` (`kind:ID`), due at `due_at`.
pub async fn schedule(
    tx: &mut WriteTx,
    kind: &str,
    subject: Option<&str>,
    due_at: i64,
    payload: &Value,
) -> Result<()> {
    store::insert(tx, kind, subject, due_at, payload).await
}

/// Whether a job of `kind` about `subject` with this payload was ever queued (done or not).
pub async fn is_scheduled(
    tx: &mut WriteTx,
    kind: &str,
    subject: &str,
    payload: &Value,
) -> Result<bool> {
    store::exists(tx, kind, subject, payload).await
}

/// Claims a job inside `tx`, closing it with `outcome`; false when another runner already did.
pub async fn claim(tx: &mut WriteTx, id: &str, now: i64, outcome: &str) -> Result<bool> {
    store::claim(tx, id, now, outcome).await
}

/// Puts a failed attempt back in the queue, due again at `due_at`.
pub async fn retry_at(tx: &mut WriteTx, id: &str, due_at: i64, why: &str) -> Result<()> {
    store::retry_at(tx, id, due_at, why).await
}

/// Closes a job with an outcome and its audit entry, unless another runner already did; the
/// job was not done (false).
pub async fn settle(state: &AppState, job: &Job, why: &str) -> Result<bool> {
    let mut tx = state.db.begin_write().await?;
    if claim(&mut tx, &job.id, job.now, why).await? {
        audit::append(
            &mut tx,
            &Actor::system("scheduler"),
            &format!("job.{}", job.kind),
            &format!("job:{}", job.id),
            &serde_json::json!({"delivered": false}),
            Some(why),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(false)
}

/// How long a taken job is left to the runner that took it before another may try it.
pub const LEASE_MS: i64 = 120_000;

pub fn spawn_runner(state: AppState) -> tokio::task::JoinHandle<()> {
    let every = Duration::from_millis(state.config.jobs_poll_ms.max(10));
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = run_due(&state).await {
                tracing::warn!(error = %e, "job runner");
            }
        }
    })
}

/// Runs every job due by the state's clock; returns how many were done. A job of a kind no
/// registered module declares waits (a server with that module will do it).
pub async fn run_due(state: &AppState) -> Result<usize> {
    let now = state.clock.now_ms();
    let mut done = 0;
    for job in store::due(&state.db, now).await? {
        let Some(kind) = job_kind(&job.kind) else {
            tracing::warn!(job = %job.id, kind = %job.kind, "no module does this kind of job");
            continue;
        };
        if !store::take(&state.db, &job.id, now, now + LEASE_MS).await? {
            continue; // another runner took it first
        }
        match (kind.handler)(state, &job).await {
            Ok(true) => done += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(job = %job.id, error = %e, "job failed"),
        }
    }
    Ok(done)
}
