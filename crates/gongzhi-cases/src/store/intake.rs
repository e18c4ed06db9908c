//! Writing intakes together: concurrent intakes wait for a writer, which writes all that are
//! waiting in one transaction — multi-row inserts, one audit entry per case in chain order, one
//! durable commit (group commit). SQLite has one writer; PostgreSQL runs as many at once as it
//! has write connections, their commits ordered by the audit head (taken last). What is written
//! was decided before (`commands::create`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde_json::json;
use tokio::sync::oneshot;

use crate::model::catalog::Category;
use crate::model::{Channel, Kind, Reporter};
use gongzhi_core::areas::locate::Located;
use gongzhi_core::audit::{self, NewEntry};
use gongzhi_core::db::query;
use gongzhi_core::db::{Db, WriteTx};
use gongzhi_core::timeline;
use gongzhi_core::Result;

/// A case decided and ready to write.
pub struct Prepared {
    pub id: String,
    pub day: String,
    pub kind: String,
    pub category: Category,
    pub description: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub address: Option<String>,
    pub channel: String,
    pub reporter_plain: Option<Reporter>,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    pub located: Option<Located>,
    pub unit: Option<String>,
    pub now: i64,
    pub deadlines: (i64, i64, i64),
    pub idempotency_key: Option<String>,
    /// With a key: what the request said, so a reused key with another body is refused.
    pub request_hash: Option<String>,
    pub created_by: Option<String>,
    pub actor_label: String,
    pub input_kind: Kind,
    pub input_channel: Channel,
    pub photos: Vec<String>,
    pub extras: Vec<(String, String)>,
    pub public: bool,
    pub photos_public: bool,
}

type Reply = oneshot::Sender<Result<String>>;

/// Intakes waiting to be written, and the rights to write them (one per writer).
struct Batcher {
    pending: Mutex<Vec<(Prepared, Reply)>>,
    writing: tokio::sync::Semaphore,
}

/// At most this many cases in one transaction.
pub const BATCH: usize = 200;

/// How large the group commits were: every committed intake transaction, counted since the
/// database was opened in this process (three atomics per commit; the benchmarks read it, and
/// `/metrics` has the histogram `gongzhi_intake_batch_cases`).
#[derive(Default)]
struct Committed {
    batches: AtomicU64,
    cases: AtomicU64,
    largest: AtomicU64,
}

/// The group commits so far: how many, how many cases they held, the largest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchSizes {
    pub batches: u64,
    pub cases: u64,
    pub largest: u64,
}

impl BatchSizes {
    /// Cases per commit on average (0 without a commit).
    pub fn mean(&self) -> f64 {
        if self.batches == 0 {
            0.0
        } else {
            self.cases as f64 / self.batches as f64
        }
    }

    /// The commits made after `earlier` was read. `largest` stays the largest since opening
    /// (a maximum cannot be taken apart), so read `earlier` before the commits of interest
    /// only when the ones before were smaller.
    pub fn since(&self, earlier: &BatchSizes) -> BatchSizes {
        BatchSizes {
            batches: self.batches - earlier.batches,
            cases: self.cases - earlier.cases,
            largest: self.largest,
        }
    }
}

/// The intake commits on `db` so far (see [`BatchSizes`]).
pub fn batch_sizes(db: &Db) -> BatchSizes {
    let c = db.extension(Committed::default);
    BatchSizes {
        batches: c.batches.load(Ordering::Relaxed),
        cases: c.cases.load(Ordering::Relaxed),
        largest: c.largest.load(Ordering::Relaxed),
    }
}

fn count_commit(db: &Db, cases: usize) {
    // For operators too: the same sizes on `/metrics`.
    metrics::histogram!("gongzhi_intake_batch_cases").record(cases as f64);
    let c = db.extension(Committed::default);
    c.batches.fetch_add(1, Ordering::Relaxed);
    c.cases.fetch_add(cases as u64, Ordering::Relaxed);
    c.largest.fetch_max(cases as u64, Ordering::Relaxed);
}

/// Writes `p` together with whatever else is waiting; returns its case number. The writing is
/// a task of its own: a caller that goes away (a client that hangs up) neither stops the batch
/// it was writing for the others nor leaves their cases unwritten.
pub async fn submit(db: &Db, p: Prepared) -> Result<String> {
    let batcher = db.extension(|| Batcher {
        pending: Mutex::default(),
        writing: tokio::sync::Semaphore::new(db.writers()),
    });
    let (tx, rx) = oneshot::channel();
    batcher
        .pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((p, tx));
    // One writer task per case: each writes whatever is waiting when its turn comes (often
    // nothing, when an earlier one took this case along), so no case is ever left behind.
    tokio::spawn(write_waiting(db.clone(), batcher));
    rx.await
        .map_err(|_| gongzhi_core::Error::internal("the intake writer stopped"))?
}

/// Takes a writer's turn and writes the cases waiting then, up to [`BATCH`]. The turn is given
/// back once the batch is committed, before its sync: the next batch is written while this
/// one goes to the disk.
async fn write_waiting(db: Db, batcher: std::sync::Arc<Batcher>) {
    let Ok(turn) = batcher.writing.acquire().await else {
        return;
    };
    let batch: Vec<(Prepared, Reply)> = {
        let mut q = batcher.pending.lock().unwrap_or_else(|e| e.into_inner());
        let n = q.len().min(BATCH);
        q.drain(..n).collect()
    };
    if batch.is_empty() {
        return;
    }
    let (items, replies): (Vec<Prepared>, Vec<Reply>) = batch.into_iter().unzip();
    match write_batch(&db, &items, Some(turn)).await {
        Ok(numbers) => {
            for (reply, n) in replies.into_iter().zip(numbers) {
                let _ = reply.send(Ok(n));
            }
        }
        // One bad case must not sink the others: write each on its own. Not after a failed
        // commit: the batch may be written, and a second write would be a duplicate.
        Err(Failed::Before(_)) if items.len() > 1 => {
            for (item, reply) in items.into_iter().zip(replies) {
                let r = write(&db, std::slice::from_ref(&item))
                    .await
                    .map(|mut v| v.remove(0));
                let _ = reply.send(r);
            }
        }
        Err(Failed::Before(e) | Failed::AtCommit(e)) => {
            let message = e.to_string();
            let mut first = Some(e);
            for reply in replies {
                let e = first
                    .take()
                    .unwrap_or_else(|| gongzhi_core::Error::internal(message.clone()));
                let _ = reply.send(Err(e));
            }
        }
    }
}

/// Why a batch was not (known to be) written: before its commit (nothing was written) or at it.
enum Failed {
    Before(gongzhi_core::Error),
    AtCommit(gongzhi_core::Error),
}

/// Case numbers: one counter per day, moved once per batch.
async fn numbers_for(tx: &mut WriteTx, items: &[Prepared]) -> Result<Vec<String>> {
    let mut numbers = Vec::with_capacity(items.len());
    let mut per_day: Vec<(&str, i64)> = Vec::new();
    for p in items {
        match per_day.iter_mut().find(|(d, _)| *d == p.day) {
            Some((_, n)) => *n += 1,
            None => per_day.push((&p.day, 1)),
        }
    }
    let mut next: HashMap<&str, i64> = HashMap::new();
    for (day, n) in &per_day {
        let last = tx.take_numbers(&format!("case_number:{day}"), *n).await?;
        next.insert(day, last - n + 1);
    }
    for p in items {
        let n = next.get_mut(p.day.as_str()).expect("counted");
        numbers.push(format!("{}{:06}", p.day, n));
        *n += 1;
    }
    Ok(numbers)
}

/// The cases' rows, many to a statement.
async fn insert_cases(tx: &mut WriteTx, items: &[Prepared], numbers: &[String]) -> Result<()> {
    const COLS: usize = 27;
    let per = gongzhi_core::db::rows_per_statement(COLS);
    for (ci, chunk) in items.chunks(per).enumerate() {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let ph = gongzhi_core::db::placeholders(i * COLS + 1, COLS);
                format!("({ph}, 'reported', 1, 0, 0)")
            })
            .collect();
        let sql = format!(
            "INSERT INTO cases (id, number, kind, category_code, description, lat, lng, address, channel, reporter_name, reporter_phone, \
             anonymous, grid_code, community_code, street_code, district_code, unit_code, lead_unit, created_at, updated_at, \
             respond_deadline, handle_deadline, close_deadline, idempotency_key, idempotency_hash, created_by, held_from, status, version, rework_count, supervised) VALUES {}",
            values.join(", ")
        );
        let mut q = query(&sql);
        for (i, p) in chunk.iter().enumerate() {
            let l = p.located.as_ref();
            q = q
                .bind(&p.id)
                .bind(&numbers[ci * per + i])
                .bind(&p.kind)
                .bind(&p.category.code)
                .bind(&p.description)
                .bind(p.lat)
                .bind(p.lng)
                .bind(&p.address)
                .bind(&p.channel)
                .bind(&p.reporter_name)
                .bind(&p.reporter_phone)
                .bind(i64::from(p.reporter_plain.is_none()))
                .bind(l.map(|l| l.grid.code.clone()))
                .bind(l.map(|l| l.community.code.clone()))
                .bind(l.map(|l| l.street.code.clone()))
                .bind(l.map(|l| l.district.code.clone()))
                .bind(&p.unit)
                .bind(&p.unit)
                .bind(p.now)
                .bind(p.now)
                .bind(p.deadlines.0)
                .bind(p.deadlines.1)
                .bind(p.deadlines.2)
                .bind(&p.idempotency_key)
                .bind(&p.request_hash)
                .bind(&p.created_by)
                .bind(None::<String>);
        }
        q.execute(tx.conn()).await?;
    }
    Ok(())
}

/// Each case's first timeline event (`create`).
async fn insert_first_events(tx: &mut WriteTx, items: &[Prepared]) -> Result<()> {
    let steps: Vec<timeline::Step> = items
        .iter()
        .map(|p| timeline::Step {
            subject: &p.id,
            at: p.now,
            who: &p.actor_label,
            step: "create",
            note: None,
            data: json!({"channel": p.channel, "unit": p.unit, "photos": p.photos}),
        })
        .collect();
    timeline::record_many(tx, &crate::jobs::TIMELINE, &steps).await
}

/// One transaction for a batch: numbers, cases, first timeline events, audit entries.
pub async fn write(db: &Db, items: &[Prepared]) -> Result<Vec<String>> {
    write_batch(db, items, None)
        .await
        .map_err(|(Failed::Before(e) | Failed::AtCommit(e))| e)
}

async fn write_batch(
    db: &Db,
    items: &[Prepared],
    turn: Option<tokio::sync::SemaphorePermit<'_>>,
) -> std::result::Result<Vec<String>, Failed> {
    let started = std::time::Instant::now();
    let (tx, numbers) = write_rows(db, items).await.map_err(Failed::Before)?;
    let written = started.elapsed();
    let unsynced = tx.commit_unsynced().await.map_err(Failed::AtCommit)?;
    drop(turn);
    unsynced.synced().await.map_err(Failed::AtCommit)?;
    count_commit(db, items.len());
    tracing::debug!(
        cases = items.len(),
        write_us = written.as_micros() as u64,
        total_us = started.elapsed().as_micros() as u64,
        "intake batch"
    );
    Ok(numbers)
}

/// Everything of a batch but its commit.
async fn write_rows(db: &Db, items: &[Prepared]) -> Result<(WriteTx, Vec<String>)> {
    let mut tx = db.begin_write().await?;
    let numbers = numbers_for(&mut tx, items).await?;
    insert_cases(&mut tx, items, &numbers).await?;
    insert_first_events(&mut tx, items).await?;
    for p in items.iter().filter(|p| !p.photos.is_empty()) {
        let owner = format!("case:{}", p.id);
        gongzhi_core::attachments::link(&mut tx, &p.actor_label, &p.photos, &owner, "create")
            .await?;
    }
    for p in items {
        for (kind, data) in &p.extras {
            query("INSERT INTO case_extras (case_id, kind, data) VALUES ($1, $2, $3)")
                .bind(&p.id)
                .bind(kind)
                .bind(data)
                .execute(tx.conn())
                .await?;
        }
    }
    let public: Vec<_> = items
        .iter()
        .filter(|p| p.public)
        .map(|p| super::publicity::AtIntake {
            case_id: &p.id,
            chosen_by: crate::rules::publicity::chooser(p.input_channel),
            photos: if p.photos_public { &p.photos } else { &[] },
        })
        .collect();
    super::publicity::record_intake(&mut tx, &public).await?;
    let entries: Vec<NewEntry> = items
        .iter()
        .zip(&numbers)
        .map(|(p, number)| NewEntry {
            actor: p.actor_label.clone(),
            action: "case.create".into(),
            entity: format!("case:{}", p.id),
            change: json!({"number": number, "category": p.category.code, "grid": p.located.as_ref().map(|l| &l.grid.code), "unit": p.unit, "channel": p.channel}),
            reason: None,
        })
        .collect();
    audit::append_many(&mut tx, &entries).await?;
    super::cases_moved(&mut tx).await?;
    Ok((tx, numbers))
}
