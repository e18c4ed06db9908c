//! The engines' own fastest paths for intake's rows, with nothing of gongzhi between: SQLite
//! through its C API (rusqlite: prepared single-row INSERTs, one transaction per batch, one
//! connection) and PostgreSQL through sqlx's bare connection (multi-row INSERT or COPY in CSV,
//! one transaction per batch, each caller on its own connection). The rows are those intake
//! writes per case: the case row, its first timeline event, its audit entry.

use std::time::{Duration, Instant};

use gongzhi_core::{Error, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sqlx::{Connection, PgConnection};

use crate::setup::config_for;

/// One case as intake writes it, every value made before timing (located, reporter sealed,
/// event data and audit digest serialized, the chain's hashes computed).
#[derive(Clone)]
pub struct CaseRows {
    pub id: String,
    pub number: String,
    pub category: String,
    pub description: String,
    pub lat: f64,
    pub lng: f64,
    pub reporter_name: String,
    pub reporter_phone: String,
    pub grid: String,
    pub community: String,
    pub street: String,
    pub district: String,
    pub unit: String,
    pub at: i64,
    pub deadlines: (i64, i64, i64),
    pub event_id: String,
    pub event_data: String,
    /// Position in the audit chain from 1; offset by the entries already stored.
    pub seq: i64,
    pub entity: String,
    pub digest: String,
    pub prev_hash: String,
    pub hash: String,
}

const ACTOR: &str = "user:bench-operator";
const CREATED_BY: &str = "bench";

/// The case row's columns as intake's `insert_cases` writes them (31).
const CASE_COLUMNS: &str = "id, number, kind, category_code, description, lat, lng, address, channel, \
     reporter_name, reporter_phone, anonymous, grid_code, community_code, street_code, district_code, \
     unit_code, lead_unit, created_at, updated_at, respond_deadline, handle_deadline, close_deadline, \
     idempotency_key, idempotency_hash, created_by, held_from, status, version, rework_count, supervised";
const CASE_WIDTH: usize = 31;
const EVENT_COLUMNS: &str = "id, case_id, at, actor, step, note, data";
const EVENT_WIDTH: usize = 7;
const AUDIT_COLUMNS: &str =
    "seq, at, actor, action, entity, digest, reason, prev_hash, hash, keyed";
const AUDIT_WIDTH: usize = 10;

/// `n` cases inside the demo jurisdiction, chained in order.
pub async fn case_rows(n: usize, seed: u64) -> Result<Vec<CaseRows>> {
    let dir = std::env::temp_dir().join(format!("gz-raw-rows-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (db, sealer) = gongzhi::server::open(&config_for(
        &gongzhi_core::config::sqlite_url(&dir.join("r.db")),
        &dir,
    ))
    .await?;
    let actor = gongzhi_core::identity::Actor::system("bench");
    let jurisdiction = gongzhi_core::areas::demo::jurisdiction().to_string();
    gongzhi_core::areas::import_geojson(&db, &actor, &jurisdiction).await?;
    let index = gongzhi_core::areas::build_locate_index(&db).await?;
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    let mut rng = StdRng::seed_from_u64(seed);
    let now = gongzhi_core::time::now_ms();
    let mut prev_hash = gongzhi_core::audit::GENESIS_HASH.to_string();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let (lat, lng) = (rng.gen_range(39.88..39.95), rng.gen_range(116.39..116.43));
        let Some(l) = index.locate(lat, lng) else {
            continue;
        };
        let i = out.len();
        let id = gongzhi_core::db::new_id();
        let number = format!("R{seed}{i:09}");
        let unit = format!("{}-jd", l.street.code);
        let entity = format!("case:{id}");
        let digest = gongzhi_core::audit::digest_of(&json!({"number": number, "category": "C0101",
            "grid": l.grid.code, "unit": unit, "channel": "hotline"}));
        let seq = i as i64 + 1;
        let hash = gongzhi_core::audit::legacy_entry_hash(
            &prev_hash,
            seq,
            now,
            ACTOR,
            "case.create",
            &entity,
            &digest,
            None,
        );
        out.push(CaseRows {
            event_id: gongzhi_core::db::new_id(),
            event_data: json!({"channel": "hotline", "unit": unit, "photos": []}).to_string(),
            id,
            number,
            category: "C0101".into(),
            description: format!("压测案件 {i}"),
            lat,
            lng,
            reporter_name: sealer.seal("王五"),
            reporter_phone: sealer.seal("13800001234"),
            grid: l.grid.code.clone(),
            community: l.community.code.clone(),
            street: l.street.code.clone(),
            district: l.district.code.clone(),
            unit,
            at: now,
            deadlines: (now + 3_600_000, now + 86_400_000, now + 3 * 86_400_000),
            seq,
            entity,
            digest,
            prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
            hash,
        });
    }
    Ok(out)
}

fn placeholders(width: usize, dollar: bool, first: usize) -> String {
    let p: Vec<String> = (first..first + width)
        .map(|k| {
            if dollar {
                format!("${k}")
            } else {
                format!("?{k}")
            }
        })
        .collect();
    format!("({})", p.join(", "))
}

/// SQLite: every batch of `per_commit` cases in one `BEGIN IMMEDIATE` transaction, each row a
/// prepared INSERT, on one connection in WAL mode with synchronous=FULL (each commit synced before
/// it returns, as gongzhi's commits are; gongzhi syncs outside the write lock). Blocking;
/// answers cases per second.
pub fn sqlite_prepared(path: &str, rows: &[CaseRows], per_commit: usize) -> Result<f64> {
    use rusqlite::{params, TransactionBehavior};
    let mut conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // The page cache of gongzhi's writer (64 MiB), so both write into the same stored
    // history on equal terms.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -65536",
    )?;
    let offset: i64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM audit_log", [], |r| {
        r.get(0)
    })?;
    let case_sql = format!(
        "INSERT INTO cases ({CASE_COLUMNS}) VALUES {}",
        placeholders(CASE_WIDTH, false, 1)
    );
    let event_sql = format!(
        "INSERT INTO case_events ({EVENT_COLUMNS}) VALUES {}",
        placeholders(EVENT_WIDTH, false, 1)
    );
    let audit_sql = format!(
        "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES {}",
        placeholders(AUDIT_WIDTH, false, 1)
    );
    let none = None::<&str>;
    let t = Instant::now();
    for batch in rows.chunks(per_commit.max(1)) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut case = tx.prepare_cached(&case_sql)?;
            let mut event = tx.prepare_cached(&event_sql)?;
            let mut audit = tx.prepare_cached(&audit_sql)?;
            for r in batch {
                let (respond, handle, close) = r.deadlines;
                case.execute(params![
                    r.id,
                    r.number,
                    "report",
                    r.category,
                    r.description,
                    r.lat,
                    r.lng,
                    none,
                    "hotline",
                    r.reporter_name,
                    r.reporter_phone,
                    0i64,
                    r.grid,
                    r.community,
                    r.street,
                    r.district,
                    r.unit,
                    r.unit,
                    r.at,
                    r.at,
                    respond,
                    handle,
                    close,
                    none,
                    none,
                    CREATED_BY,
                    none,
                    "reported",
                    1i64,
                    0i64,
                    0i64
                ])?;
                event.execute(params![
                    r.event_id,
                    r.id,
                    r.at,
                    ACTOR,
                    "create",
                    none,
                    r.event_data
                ])?;
                audit.execute(params![
                    r.seq + offset,
                    r.at,
                    ACTOR,
                    "case.create",
                    r.entity,
                    r.digest,
                    none,
                    r.prev_hash,
                    r.hash,
                    1i64
                ])?;
            }
        }
        tx.commit()?;
    }
    Ok(rows.len() as f64 / t.elapsed().as_secs_f64())
}

/// How PostgreSQL is written to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PgPath {
    /// One multi-row INSERT per table per batch, values bound with their types.
    Insert,
    /// One `COPY … FROM STDIN (FORMAT csv)` per table per batch.
    Copy,
}

/// PostgreSQL: `callers` concurrent callers, each on its own connection (opened before the
/// clock starts) with its share of `rows`, every `per_commit` of them in one transaction;
/// fsync and synchronous_commit as the server has them (on by default). Cases per second.
pub async fn postgres(
    url: &str,
    path: PgPath,
    rows: &[CaseRows],
    callers: usize,
    per_commit: usize,
) -> Result<f64> {
    let mut conns = Vec::new();
    for _ in 0..callers.max(1) {
        conns.push(PgConnection::connect(url).await?);
    }
    let (offset,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(seq), 0) FROM audit_log")
        .fetch_one(&mut conns[0])
        .await?;
    let shares: Vec<Vec<CaseRows>> = rows
        .chunks(rows.len().div_ceil(callers.max(1)))
        .map(|c| c.to_vec())
        .collect();
    let t = Instant::now();
    let mut tasks = Vec::new();
    for (mut conn, share) in conns.into_iter().zip(shares) {
        tasks.push(tokio::spawn(async move {
            for batch in share.chunks(per_commit.max(1)) {
                let mut tx = conn.begin().await?;
                match path {
                    PgPath::Insert => insert_batch(&mut tx, batch, offset).await?,
                    PgPath::Copy => copy_batch(&mut tx, batch, offset).await?,
                }
                tx.commit().await?;
            }
            conn.close().await?;
            Ok::<(), Error>(())
        }));
    }
    for task in tasks {
        task.await.map_err(Error::internal)??;
    }
    Ok(rows.len() as f64 / t.elapsed().as_secs_f64())
}

/// `INSERT INTO table (columns) VALUES (…), (…)` for `n` rows of `width` values each.
fn multi_row(table: &str, columns: &str, width: usize, n: usize) -> String {
    let values: Vec<String> = (0..n)
        .map(|i| placeholders(width, true, i * width + 1))
        .collect();
    format!(
        "INSERT INTO {table} ({columns}) VALUES {}",
        values.join(", ")
    )
}

/// Rows per statement within PostgreSQL's 65,535 bound values.
fn per_statement(width: usize) -> usize {
    65_535 / width
}

async fn insert_batch(conn: &mut PgConnection, batch: &[CaseRows], offset: i64) -> Result<()> {
    let none = None::<String>;
    for chunk in batch.chunks(per_statement(CASE_WIDTH)) {
        let sql = multi_row("cases", CASE_COLUMNS, CASE_WIDTH, chunk.len());
        let mut q = sqlx::query(&sql);
        for r in chunk {
            let (respond, handle, close) = r.deadlines;
            q = q
                .bind(&r.id)
                .bind(&r.number)
                .bind("report")
                .bind(&r.category)
                .bind(&r.description)
                .bind(r.lat)
                .bind(r.lng)
                .bind(none.clone())
                .bind("hotline")
                .bind(&r.reporter_name)
                .bind(&r.reporter_phone)
                .bind(0i64)
                .bind(&r.grid)
                .bind(&r.community)
                .bind(&r.street)
                .bind(&r.district)
                .bind(&r.unit)
                .bind(&r.unit)
                .bind(r.at)
                .bind(r.at)
                .bind(respond)
                .bind(handle)
                .bind(close)
                .bind(none.clone())
                .bind(none.clone())
                .bind(CREATED_BY)
                .bind(none.clone())
                .bind("reported")
                .bind(1i64)
                .bind(0i64)
                .bind(0i64);
        }
        q.execute(&mut *conn).await?;
    }
    for chunk in batch.chunks(per_statement(EVENT_WIDTH)) {
        let sql = multi_row("case_events", EVENT_COLUMNS, EVENT_WIDTH, chunk.len());
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(&r.event_id)
                .bind(&r.id)
                .bind(r.at)
                .bind(ACTOR)
                .bind("create")
                .bind(none.clone())
                .bind(&r.event_data);
        }
        q.execute(&mut *conn).await?;
    }
    for chunk in batch.chunks(per_statement(AUDIT_WIDTH)) {
        let sql = multi_row("audit_log", AUDIT_COLUMNS, AUDIT_WIDTH, chunk.len());
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(r.seq + offset)
                .bind(r.at)
                .bind(ACTOR)
                .bind("case.create")
                .bind(&r.entity)
                .bind(&r.digest)
                .bind(none.clone())
                .bind(&r.prev_hash)
                .bind(&r.hash)
                .bind(1i64);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// One CSV field: text quoted (quotes doubled), numbers bare, NULL as nothing.
enum Field<'a> {
    Text(&'a str),
    Int(i64),
    Real(f64),
    Null,
}

/// One CSV line of `fields` onto `out`.
fn csv_line(out: &mut Vec<u8>, fields: &[Field<'_>]) {
    use std::io::Write;
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match f {
            Field::Text(s) => {
                out.push(b'"');
                for b in s.bytes() {
                    if b == b'"' {
                        out.push(b'"');
                    }
                    out.push(b);
                }
                out.push(b'"');
            }
            Field::Int(v) => {
                let _ = write!(out, "{v}");
            }
            // Rust writes the shortest text that reads back as the same double.
            Field::Real(v) => {
                let _ = write!(out, "{v}");
            }
            Field::Null => {}
        }
    }
    out.push(b'\n');
}

/// The batch's three tables as CSV, in the order of [`CASE_COLUMNS`], [`EVENT_COLUMNS`] and
/// [`AUDIT_COLUMNS`].
fn csv_of(batch: &[CaseRows], offset: i64) -> [Vec<u8>; 3] {
    use Field::{Int, Null, Real, Text};
    let (mut cases, mut events, mut audit) = (
        Vec::with_capacity(batch.len() * 700),
        Vec::with_capacity(batch.len() * 160),
        Vec::with_capacity(batch.len() * 300),
    );
    for r in batch {
        let (respond, handle, close) = r.deadlines;
        csv_line(
            &mut cases,
            &[
                Text(&r.id),
                Text(&r.number),
                Text("report"),
                Text(&r.category),
                Text(&r.description),
                Real(r.lat),
                Real(r.lng),
                Null,
                Text("hotline"),
                Text(&r.reporter_name),
                Text(&r.reporter_phone),
                Int(0),
                Text(&r.grid),
                Text(&r.community),
                Text(&r.street),
                Text(&r.district),
                Text(&r.unit),
                Text(&r.unit),
                Int(r.at),
                Int(r.at),
                Int(respond),
                Int(handle),
                Int(close),
                Null,
                Null,
                Text(CREATED_BY),
                Null,
                Text("reported"),
                Int(1),
                Int(0),
                Int(0),
            ],
        );
        csv_line(
            &mut events,
            &[
                Text(&r.event_id),
                Text(&r.id),
                Int(r.at),
                Text(ACTOR),
                Text("create"),
                Null,
                Text(&r.event_data),
            ],
        );
        csv_line(
            &mut audit,
            &[
                Int(r.seq + offset),
                Int(r.at),
                Text(ACTOR),
                Text("case.create"),
                Text(&r.entity),
                Text(&r.digest),
                Null,
                Text(&r.prev_hash),
                Text(&r.hash),
                Int(1),
            ],
        );
    }
    [cases, events, audit]
}

async fn copy_batch(conn: &mut PgConnection, batch: &[CaseRows], offset: i64) -> Result<()> {
    let tables = [
        ("cases", CASE_COLUMNS),
        ("case_events", EVENT_COLUMNS),
        ("audit_log", AUDIT_COLUMNS),
    ];
    for ((table, columns), data) in tables.into_iter().zip(csv_of(batch, offset)) {
        let mut copy = conn
            .copy_in_raw(&format!("COPY {table} ({columns}) FROM STDIN (FORMAT csv)"))
            .await?;
        copy.send(data).await?;
        copy.finish().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_text_and_leaves_null_empty() {
        let mut out = Vec::new();
        csv_line(
            &mut out,
            &[
                Field::Text(r#"{"a": "b,c"}"#),
                Field::Null,
                Field::Int(-3),
                Field::Real(39.9),
                Field::Text(""),
            ],
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"{\"\"a\"\": \"\"b,c\"\"}\",,-3,39.9,\"\"\n"
        );
    }
}
