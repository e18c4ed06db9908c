//! Cases in bulk, for seeded databases (the benchmarks): many rows written at once in the
//! caller's connection or transaction, the stored cases copied until there are enough, and the
//! counts the benchmarks report. Nothing here serves a request.

use serde::Serialize;

use crate::model::{Channel, Kind};
use crate::rules::workflow::Status;
use gongzhi_core::db::{query, Conn};
use gongzhi_core::db::{rows_per_statement, Db};
use gongzhi_core::identity::Actor;
use gongzhi_core::{audit, Error, Result};

/// A case row as a seed writes it: what intake writes, plus how far the case got.
#[derive(Clone, Debug)]
pub struct SeededCase {
    pub id: String,
    pub number: String,
    pub kind: Kind,
    pub category: String,
    pub description: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub address: Option<String>,
    pub channel: Channel,
    /// Sealed, as intake stores them.
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    pub anonymous: bool,
    /// Grid, community, street and district codes.
    pub grid: Option<String>,
    pub community: Option<String>,
    pub street: Option<String>,
    pub district: Option<String>,
    /// The handling unit, which also leads.
    pub unit: Option<String>,
    pub status: Status,
    pub created_at: i64,
    pub updated_at: i64,
    pub respond_deadline: Option<i64>,
    pub handle_deadline: Option<i64>,
    pub close_deadline: Option<i64>,
    pub dispatched_at: Option<i64>,
    pub reported_back_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub callback_at: Option<i64>,
    pub callback_contacted: Option<i64>,
    pub callback_resolved: Option<i64>,
    pub callback_satisfaction: Option<String>,
    pub rework_count: i64,
}

impl SeededCase {
    /// A case just reported at `now`: everything after intake empty.
    pub fn reported(id: String, number: String, now: i64) -> SeededCase {
        SeededCase {
            id,
            number,
            kind: Kind::Report,
            category: String::new(),
            description: String::new(),
            lat: None,
            lng: None,
            address: None,
            channel: Channel::Hotline,
            reporter_name: None,
            reporter_phone: None,
            anonymous: true,
            grid: None,
            community: None,
            street: None,
            district: None,
            unit: None,
            status: Status::Reported,
            created_at: now,
            updated_at: now,
            respond_deadline: None,
            handle_deadline: None,
            close_deadline: None,
            dispatched_at: None,
            reported_back_at: None,
            closed_at: None,
            callback_at: None,
            callback_contacted: None,
            callback_resolved: None,
            callback_satisfaction: None,
            rework_count: 0,
        }
    }
}

const SEEDED_COLUMNS: &str = "id, number, kind, category_code, description, lat, lng, address, channel, \
     reporter_name, reporter_phone, anonymous, grid_code, community_code, street_code, district_code, \
     unit_code, lead_unit, status, created_at, updated_at, respond_deadline, handle_deadline, close_deadline, \
     dispatched_at, reported_back_at, closed_at, callback_at, callback_contacted, callback_resolved, \
     callback_satisfaction, rework_count, version, supervised";
const SEEDED_BOUND: usize = 32;

fn word<T: Serialize>(v: T) -> Option<String> {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
}

/// Writes `cases` in multi-row inserts on `conn` (a pool connection or a transaction's): the
/// case rows only — their timeline, counters and audit entry are the caller's to write in the
/// same transaction. For seeding; intake writes through [`crate::store::create`].
pub async fn insert_seeded(conn: &mut Conn, cases: &[SeededCase]) -> Result<()> {
    for chunk in cases.chunks(rows_per_statement(SEEDED_BOUND)) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let ph = gongzhi_core::db::placeholders(i * SEEDED_BOUND + 1, SEEDED_BOUND);
                format!("({ph}, 1, 0)")
            })
            .collect();
        let sql = format!(
            "INSERT INTO cases ({SEEDED_COLUMNS}) VALUES {}",
            values.join(", ")
        );
        let mut q = query(&sql);
        for c in chunk {
            q = q
                .bind(&c.id)
                .bind(&c.number)
                .bind(word(c.kind))
                .bind(&c.category)
                .bind(&c.description)
                .bind(c.lat)
                .bind(c.lng)
                .bind(&c.address)
                .bind(word(c.channel))
                .bind(&c.reporter_name)
                .bind(&c.reporter_phone)
                .bind(i64::from(c.anonymous))
                .bind(&c.grid)
                .bind(&c.community)
                .bind(&c.street)
                .bind(&c.district)
                .bind(&c.unit)
                .bind(&c.unit)
                .bind(c.status.as_str())
                .bind(c.created_at)
                .bind(c.updated_at)
                .bind(c.respond_deadline)
                .bind(c.handle_deadline)
                .bind(c.close_deadline)
                .bind(c.dispatched_at)
                .bind(c.reported_back_at)
                .bind(c.closed_at)
                .bind(c.callback_at)
                .bind(c.callback_contacted)
                .bind(c.callback_resolved)
                .bind(&c.callback_satisfaction)
                .bind(c.rework_count);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Copies the stored cases (new ids and numbers, no idempotency keys) until there are `target`;
/// returns how many are stored. Each round is one audited transaction that also adds the
/// copies to the daily counters. With `spread`, round r moves its copies 2^r days back, so
/// after r rounds every original has copies at each whole day 0…2^r−1 before it — a long
/// history with a week's density a few times the original's, rather than thousands of
/// identical open cases at each spot.
pub async fn copy_cases(db: &Db, target: i64, spread: bool) -> Result<i64> {
    let row = query("SELECT * FROM cases LIMIT 1")
        .fetch_one(db.pool())
        .await?;
    let cols: Vec<String> = row.columns().map(str::to_string).collect();
    // Originals have a bare UUID (36 characters); copies carry suffixes.
    let originals: i64 = query("SELECT COUNT(*) FROM cases WHERE LENGTH(id) = 36")
        .fetch_one(db.pool())
        .await?
        .try_get(0)?;
    let indexes = db.drop_secondary_indexes("cases").await?;
    loop {
        let n = count(db).await?;
        if n >= target {
            db.create_indexes(&indexes).await?;
            return Ok(n);
        }
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
                // Times only: `held_from` is the status a held case came from, not a time.
                t if shift_ms > 0
                    && (t.ends_with("_at")
                        || t.ends_with("_deadline")
                        || t == "extension_until") =>
                {
                    format!("{t} - {shift_ms}")
                }
                other => other.to_string(),
            })
            .collect();
        let mut tx = db.begin_write().await?;
        let copied = query(&format!(
            "INSERT INTO cases ({}) SELECT {} FROM cases ORDER BY id LIMIT {}",
            cols.join(", "),
            exprs.join(", "),
            target - n
        ))
        .execute(tx.conn())
        .await?
        .rows_affected();
        crate::store::stats::contributions_of_copies(&mut tx, &format!("-{n}"))
            .await?
            .apply(&mut tx)
            .await?;
        super::cases_moved(&mut tx).await?;
        audit::append(
            &mut tx,
            &Actor::system("bench"),
            "bench.copy_cases",
            &format!("cases:{copied}"),
            &serde_json::json!({"marker": n, "copied": copied, "shift_ms": shift_ms}),
            Some("benchmark data: copies of the stored cases"),
        )
        .await?;
        tx.commit().await?;
    }
}

/// How many cases are stored.
pub async fn count(db: &Db) -> Result<i64> {
    Ok(query("SELECT COUNT(*) FROM cases")
        .fetch_one(db.pool())
        .await?
        .try_get(0)?)
}

/// How many rows the daily counters hold.
pub async fn counter_rows(db: &Db) -> Result<i64> {
    Ok(query("SELECT COUNT(*) FROM case_stats_daily")
        .fetch_one(db.pool())
        .await?
        .try_get(0)?)
}

/// The ids of the `n` newest cases, newest first.
pub async fn newest_ids(db: &Db, n: i64) -> Result<Vec<String>> {
    query("SELECT id FROM cases ORDER BY created_at DESC LIMIT $1")
        .bind(n)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>(0).map_err(Error::from))
        .collect()
}

/// Cases dispatched in `[start, end)`, and cases with a valid callback in it.
pub async fn in_period(db: &Db, start: i64, end: i64) -> Result<(i64, i64)> {
    let count = |sql: &'static str| async move {
        Ok::<i64, Error>(
            query(sql)
                .bind(start)
                .bind(end)
                .fetch_one(db.pool())
                .await?
                .try_get(0)?,
        )
    };
    Ok((
        count("SELECT COUNT(*) FROM cases WHERE dispatched_at >= $1 AND dispatched_at < $2")
            .await?,
        count("SELECT COUNT(*) FROM cases WHERE callback_at >= $1 AND callback_at < $2 AND callback_contacted IS NOT NULL")
            .await?,
    ))
}
