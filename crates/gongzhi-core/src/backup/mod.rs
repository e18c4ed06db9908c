//! Backup and restore (docs/backup.md): one portable file for both backends, written from one
//! snapshot while the server runs, and restored all or nothing into an empty database. Every
//! table the migrations made is in it, found from the catalog; encrypted fields travel as the
//! ciphertext they are, and the secret key never does (the header names its fingerprint).
//!
//! The file is JSON lines: a header, then per table a line naming it and its columns followed
//! by one array per row, then a trailer with the counts and the SHA-256 of every line before it.

pub mod store;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};

use crate::db::{rows_per_statement, Backend, Db, Migration};
use crate::{Error, Result};

/// What the first line says, so that nothing else is mistaken for a backup.
pub const FORMAT: &str = "gongzhi-backup";
/// The version of the file's layout this gongzhi writes and reads.
pub const VERSION: u32 = 1;

/// The kind of value a column holds (gongzhi's portable SQL has these four).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Int,
    Float,
    Text,
    Bytes,
}

impl Kind {
    /// The kind behind a declared column type, as SQLite's affinity rules read it (and
    /// PostgreSQL's `data_type` names: bigint, double precision, text, bytea).
    fn of_declared(declared: &str) -> Option<Kind> {
        let t = declared.to_ascii_lowercase();
        Some(if t.contains("int") {
            Kind::Int
        } else if t.contains("char") || t.contains("text") || t.contains("clob") {
            Kind::Text
        } else if t.contains("doub") || t.contains("real") || t.contains("floa") {
            Kind::Float
        } else if t.contains("bytea") || t.contains("blob") {
            Kind::Bytes
        } else {
            return None;
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
}

/// One stored value. In the file: integers as numbers, floats as their shortest exact decimal
/// text, text as strings, bytes as base64, NULL as null.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Value {
    fn to_json(&self) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::Int(i) => json!(i),
            Value::Float(f) => json!(f.to_string()),
            Value::Text(t) => json!(t),
            Value::Bytes(b) => json!(B64.encode(b)),
        }
    }

    fn from_json(v: &Json, kind: Kind) -> Option<Value> {
        if v.is_null() {
            return Some(Value::Null);
        }
        Some(match kind {
            Kind::Int => Value::Int(v.as_i64()?),
            Kind::Float => Value::Float(v.as_str()?.parse().ok()?),
            Kind::Text => Value::Text(v.as_str()?.to_string()),
            Kind::Bytes => Value::Bytes(B64.decode(v.as_str()?).ok()?),
        })
    }
}

/// The last entry of the audit chain when the snapshot was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
}

/// The first line of a backup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// The backend it was taken from (a restore may go to the other one).
    pub backend: String,
    pub created_at: i64,
    /// Names the secret key the encrypted fields and the audit chain need, without revealing it.
    pub key_fingerprint: String,
    pub audit_head: Option<AuditHead>,
    /// The applied migrations: the schema the rows fit.
    pub migrations: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TableLine {
    table: String,
    columns: Vec<Column>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Trailer {
    tables: u64,
    rows: u64,
    sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TrailerLine {
    end: Trailer,
}

/// What a backup or restore moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub tables: u64,
    pub rows: u64,
    pub audit_seq: i64,
}

/// The fingerprint of a secret key that a backup's header carries.
pub fn key_fingerprint(key: &[u8; 32]) -> String {
    let mut h = Sha256::new();
    h.update(b"gongzhi backup key fingerprint v1\0");
    h.update(key);
    hex::encode(&h.finalize()[..16])
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::internal(format!("{}: {e}", path.display()))
}

/// Lines written through one hash, so the trailer can vouch for all of them.
struct HashedWriter {
    out: BufWriter<std::fs::File>,
    hash: Sha256,
    path: PathBuf,
}

impl HashedWriter {
    fn line(&mut self, value: &impl Serialize) -> Result<()> {
        let mut text = serde_json::to_vec(value).map_err(Error::internal)?;
        text.push(b'\n');
        self.hash.update(&text);
        self.out.write_all(&text).map_err(|e| io(&self.path, e))
    }
}

/// Writes a backup of `db` to `path` from one snapshot (writes may go on meanwhile). The file
/// appears under its name only when complete.
pub async fn write(db: &Db, key: &[u8; 32], path: &Path) -> Result<Summary> {
    let partial = PathBuf::from(format!("{}.partial", path.display()));
    let file = std::fs::File::create(&partial).map_err(|e| io(&partial, e))?;
    let mut w = HashedWriter {
        out: BufWriter::new(file),
        hash: Sha256::new(),
        path: partial.clone(),
    };
    let backend = db.backend();
    let mut tx = store::begin_snapshot(db).await?;
    let tables = store::tables(&mut tx, backend).await?;
    let head = store::audit_head(&mut tx).await?;
    w.line(&Header {
        format: FORMAT.into(),
        version: VERSION,
        backend: match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
        .into(),
        created_at: crate::time::now_ms(),
        key_fingerprint: key_fingerprint(key),
        audit_head: head.clone().map(|(seq, hash)| AuditHead { seq, hash }),
        migrations: store::applied_migrations(&mut tx).await?,
    })?;
    let mut rows = 0u64;
    for table in &tables {
        let columns = store::columns(&mut tx, backend, table).await?;
        w.line(&TableLine {
            table: table.clone(),
            columns: columns.clone(),
        })?;
        store::each_row(&mut tx, table, &columns, |row| {
            rows += 1;
            w.line(&Json::Array(row.iter().map(Value::to_json).collect()))
        })
        .await?;
    }
    tx.rollback().await?;
    let sha256 = hex::encode(w.hash.clone().finalize());
    let tables = tables.len() as u64;
    w.line(&TrailerLine {
        end: Trailer {
            tables,
            rows,
            sha256,
        },
    })?;
    let file = w
        .out
        .into_inner()
        .map_err(|e| io(&partial, e.into_error()))?;
    file.sync_all().map_err(|e| io(&partial, e))?;
    std::fs::rename(&partial, path).map_err(|e| io(path, e))?;
    Ok(Summary {
        tables,
        rows,
        audit_seq: head.map(|h| h.0).unwrap_or(0),
    })
}

/// Restores the backup at `path` into the empty database at `database_url`, with `key` (the
/// secret key the backup was made with) and `known` (this gongzhi's migrations, in order).
/// Everything is checked before the target is touched; the load is one transaction.
pub async fn restore(
    database_url: &str,
    key: &[u8; 32],
    known: &[&Migration],
    path: &Path,
) -> Result<Summary> {
    let header = check(path)?;
    if header.key_fingerprint != key_fingerprint(key) {
        return Err(Error::invalid(
            "backup_wrong_key",
            "the secret key is not the one this backup was made with (its fingerprint differs): \
             restore with the original secret.key or security.secret_key",
        ));
    }
    let plan = migrations_to_apply(&header, known)?;
    let db = Db::connect(database_url).await?;
    let result = load(&db, &header, &plan, path).await;
    db.close().await;
    result
}

/// Reads the whole file once: a backup's header first, a trailer last whose checksum and
/// counts match what lies between.
pub fn check(path: &Path) -> Result<Header> {
    let not_a_backup = |why: &str| {
        Error::invalid(
            "not_a_backup",
            format!("{} is not a gongzhi backup: {why}", path.display()),
        )
    };
    let truncated = |why: &str| {
        Error::invalid(
            "backup_truncated",
            format!("{} is truncated or altered: {why}", path.display()),
        )
    };
    let file = std::fs::File::open(path)
        .map_err(|e| Error::invalid("file", format!("cannot read {}: {e}", path.display())))?;
    let mut lines = Lines::new(BufReader::new(file));
    let first = lines
        .next(path)?
        .ok_or_else(|| not_a_backup("it is empty"))?;
    let header: Header = serde_json::from_slice(&first)
        .ok()
        .filter(|h: &Header| h.format == FORMAT)
        .ok_or_else(|| not_a_backup("its first line is not a gongzhi backup header"))?;
    if header.version != VERSION {
        return Err(not_a_backup(&format!(
            "its format version is {}, this gongzhi reads version {VERSION}",
            header.version
        )));
    }
    let mut hash = Sha256::new();
    hash.update(&first);
    let (mut tables, mut rows) = (0u64, 0u64);
    let mut pending: Option<Vec<u8>> = None;
    while let Some(line) = lines.next(path)? {
        if let Some(prev) = pending.take() {
            hash.update(&prev);
            match prev.first() {
                Some(b'[') => rows += 1,
                Some(b'{') => tables += 1,
                _ => return Err(truncated("a line that is neither a table nor a row")),
            }
        }
        pending = Some(line);
    }
    let last = pending.ok_or_else(|| truncated("it ends after its header"))?;
    let trailer: TrailerLine =
        serde_json::from_slice(&last).map_err(|_| truncated("its last line is not the trailer"))?;
    let t = trailer.end;
    if t.sha256 != hex::encode(hash.finalize()) || t.tables != tables || t.rows != rows {
        return Err(truncated(
            "its checksum or counts do not match its contents",
        ));
    }
    Ok(header)
}

/// Lines with their newline, and a refusal for a last line without one (a cut in the middle).
struct Lines<R> {
    inner: R,
}

impl<R: BufRead> Lines<R> {
    fn new(inner: R) -> Self {
        Lines { inner }
    }

    fn next(&mut self, path: &Path) -> Result<Option<Vec<u8>>> {
        let mut buf = Vec::new();
        let n = self
            .inner
            .read_until(b'\n', &mut buf)
            .map_err(|e| io(path, e))?;
        if n == 0 {
            return Ok(None);
        }
        if buf.last() != Some(&b'\n') {
            return Err(Error::invalid(
                "backup_truncated",
                format!("{} is truncated: its last line is cut off", path.display()),
            ));
        }
        Ok(Some(buf))
    }
}

/// This gongzhi's migrations that the backup had applied, in this gongzhi's order; a backup
/// with migrations unknown here is from a newer gongzhi.
fn migrations_to_apply<'a>(header: &Header, known: &[&'a Migration]) -> Result<Vec<&'a Migration>> {
    let known_ids: BTreeSet<&str> = known.iter().map(|m| m.id).collect();
    let newer: Vec<&str> = header
        .migrations
        .iter()
        .map(String::as_str)
        .filter(|id| !known_ids.contains(id))
        .collect();
    if !newer.is_empty() {
        return Err(Error::invalid(
            "backup_newer_schema",
            format!(
                "the backup is from a newer schema (migrations {} are unknown here): restore it with a gongzhi at least as new",
                newer.join(", ")
            ),
        ));
    }
    let wanted: BTreeSet<&str> = header.migrations.iter().map(String::as_str).collect();
    Ok(known
        .iter()
        .copied()
        .filter(|m| wanted.contains(m.id))
        .collect())
}

/// Refuses a target with tables; then, in one transaction: the migrations, every table's rows
/// in place of what the migrations seeded, the sequences, and a check of the audit head.
async fn load(db: &Db, header: &Header, plan: &[&Migration], path: &Path) -> Result<Summary> {
    let backend = db.backend();
    let mut tx = store::begin_load(db).await?;
    let existing = store::tables(&mut tx, backend).await?;
    if !existing.is_empty() {
        return Err(Error::invalid(
            "restore_target_not_empty",
            format!(
                "the target database is not empty: it has {} table(s) ({}…); restore only into an empty data dir or database",
                existing.len(),
                existing[0]
            ),
        ));
    }
    for m in plan {
        store::apply_migration(&mut tx, m).await?;
    }
    let file = std::fs::File::open(path).map_err(|e| io(path, e))?;
    let mut lines = Lines::new(BufReader::new(file));
    lines.next(path)?; // the header, read by `check`
    let (mut tables, mut rows) = (0u64, 0u64);
    let mut current: Option<TableLine> = None;
    let mut batch: Vec<Vec<Value>> = Vec::new();
    while let Some(line) = lines.next(path)? {
        let parsed: Json = serde_json::from_slice(&line).map_err(Error::internal)?;
        match &parsed {
            Json::Array(values) => {
                let table = current
                    .as_ref()
                    .ok_or_else(|| Error::internal("a row before any table"))?;
                batch.push(parse_row(table, values)?);
                rows += 1;
                if batch.len() >= rows_per_statement(table.columns.len()) {
                    store::insert_rows(
                        &mut tx,
                        &table.table,
                        &table.columns,
                        std::mem::take(&mut batch),
                    )
                    .await?;
                }
            }
            Json::Object(o) if o.contains_key("table") => {
                if let Some(t) = current.take() {
                    store::insert_rows(&mut tx, &t.table, &t.columns, std::mem::take(&mut batch))
                        .await?;
                }
                let t: TableLine =
                    serde_json::from_value(parsed.clone()).map_err(Error::internal)?;
                store::clear(&mut tx, &t.table).await?;
                tables += 1;
                current = Some(t);
            }
            _ => break, // the trailer
        }
    }
    if let Some(t) = current.take() {
        store::insert_rows(&mut tx, &t.table, &t.columns, batch).await?;
    }
    if backend == Backend::Postgres {
        store::reset_sequences(&mut tx).await?;
    }
    let head = store::audit_head(&mut tx)
        .await?
        .map(|(seq, hash)| AuditHead { seq, hash });
    if head != header.audit_head {
        return Err(Error::internal(
            "the restored audit chain does not end where the backup's header says",
        ));
    }
    tx.commit().await?;
    Ok(Summary {
        tables,
        rows,
        audit_seq: head.map(|h| h.seq).unwrap_or(0),
    })
}

fn parse_row(table: &TableLine, values: &[Json]) -> Result<Vec<Value>> {
    let bad = || Error::internal(format!("a row of {} does not fit its columns", table.table));
    if values.len() != table.columns.len() {
        return Err(bad());
    }
    values
        .iter()
        .zip(&table.columns)
        .map(|(v, c)| Value::from_json(v, c.kind).ok_or_else(bad))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_map_to_kinds() {
        assert_eq!(Kind::of_declared("BIGINT"), Some(Kind::Int));
        assert_eq!(Kind::of_declared("double precision"), Some(Kind::Float));
        assert_eq!(Kind::of_declared("TEXT"), Some(Kind::Text));
        assert_eq!(Kind::of_declared("bytea"), Some(Kind::Bytes));
        assert_eq!(Kind::of_declared("jsonb"), None);
    }

    #[test]
    fn values_round_trip_through_json() {
        for (v, k) in [
            (Value::Int(-7), Kind::Int),
            (Value::Float(116.30201234567), Kind::Float),
            (Value::Float(1e-7), Kind::Float),
            (Value::Text("张*明".into()), Kind::Text),
            (Value::Bytes(vec![0, 255, 10]), Kind::Bytes),
            (Value::Null, Kind::Text),
        ] {
            assert_eq!(Value::from_json(&v.to_json(), k), Some(v));
        }
    }
}
