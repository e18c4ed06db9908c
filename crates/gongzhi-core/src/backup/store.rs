//! The backup's SQL: the catalog (which tables and columns the migrations made), a table's rows
//! in a stable order inside one snapshot, and the restore's all-or-nothing load.

use super::{Column, Kind, Value};
use crate::db::{query, Conn, Row, Tx};
use crate::db::{Backend, Db, Migration};
use crate::{Error, Result};

/// A read transaction that sees one moment of the database while writers go on: SQLite's WAL
/// keeps the snapshot its first read takes; PostgreSQL's REPEATABLE READ keeps its first
/// statement's.
pub async fn begin_snapshot(db: &Db) -> Result<Tx> {
    Ok(match db.backend() {
        Backend::Sqlite => db.pool().begin_with("BEGIN").await?,
        Backend::Postgres => {
            db.pool()
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .await?
        }
    })
}

/// The transaction a restore loads everything in.
pub async fn begin_load(db: &Db) -> Result<Tx> {
    Ok(match db.backend() {
        Backend::Sqlite => db.pool().begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => db.pool().begin().await?,
    })
}

/// Every table in the database's own schema, by name.
pub async fn tables(conn: &mut Conn, backend: Backend) -> Result<Vec<String>> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        // Catalog names are a type of their own: read as text.
        Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        }
    };
    let rows = query(sql).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>(0)?))
        .collect()
}

/// A table's columns in their order, each with the kind of value it holds.
pub async fn columns(conn: &mut Conn, backend: Backend, table: &str) -> Result<Vec<Column>> {
    let sql = match backend {
        Backend::Sqlite => "SELECT name, type FROM pragma_table_info($1) ORDER BY cid",
        Backend::Postgres => {
            "SELECT CAST(column_name AS TEXT) AS name, CAST(data_type AS TEXT) AS type \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name = $1 ORDER BY ordinal_position"
        }
    };
    let rows = query(sql).bind(table).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            let name: String = r.try_get(0)?;
            let declared: String = r.try_get(1)?;
            let kind = Kind::of_declared(&declared).ok_or_else(|| {
                Error::internal(format!(
                    "{table}.{name} has type {declared}, which the backup does not carry"
                ))
            })?;
            Ok(Column { name, kind })
        })
        .collect()
}

/// The ids of the applied migrations.
pub async fn applied_migrations(conn: &mut Conn) -> Result<Vec<String>> {
    let rows = query("SELECT id FROM schema_migrations ORDER BY id")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>(0)?))
        .collect()
}

/// The last entry of the audit chain (sequence and hash), if any.
pub async fn audit_head(conn: &mut Conn) -> Result<Option<(i64, String)>> {
    let row = query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => Some((r.try_get(0)?, r.try_get(1)?)),
        None => None,
    })
}

/// Hands every row of `table` to `each`, ordered by all its columns (a stable order).
pub async fn each_row(
    conn: &mut Conn,
    table: &str,
    columns: &[Column],
    mut each: impl FnMut(Vec<Value>) -> Result<()> + Send,
) -> Result<()> {
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let order: Vec<String> = (1..=columns.len()).map(|i| i.to_string()).collect();
    let sql = format!(
        "SELECT {} FROM {table} ORDER BY {}",
        names.join(", "),
        order.join(", ")
    );
    query(&sql)
        .fetch_each(&mut *conn, |row| each(read_row(&row, columns)?))
        .await
}

fn read_row(row: &Row, columns: &[Column]) -> Result<Vec<Value>> {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Ok(match c.kind {
                Kind::Int => row.try_get::<Option<i64>, _>(i)?.map(Value::Int),
                Kind::Float => row.try_get::<Option<f64>, _>(i)?.map(Value::Float),
                Kind::Text => row.try_get::<Option<String>, _>(i)?.map(Value::Text),
                Kind::Bytes => row.try_get::<Option<Vec<u8>>, _>(i)?.map(Value::Bytes),
            }
            .unwrap_or(Value::Null))
        })
        .collect()
}

/// Applies `m` and records it, inside the load's transaction.
pub async fn apply_migration(conn: &mut Conn, m: &Migration) -> Result<()> {
    query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    m.apply(conn).await?;
    query("INSERT INTO schema_migrations (id, applied_at) VALUES ($1, $2)")
        .bind(m.id)
        .bind(crate::time::now_ms())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Empties `table` (the rows its migrations seeded), before the backup's rows go in.
pub async fn clear(conn: &mut Conn, table: &str) -> Result<()> {
    query(&format!("DELETE FROM {table}"))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Inserts `rows` into `table` in one statement, each value bound with its column's kind.
pub async fn insert_rows(
    conn: &mut Conn,
    table: &str,
    columns: &[Column],
    rows: Vec<Vec<Value>>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let mut n = 0;
    let tuples: Vec<String> = rows
        .iter()
        .map(|_| {
            let params: Vec<String> = columns
                .iter()
                .map(|_| {
                    n += 1;
                    format!("${n}")
                })
                .collect();
            format!("({})", params.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES {}",
        names.join(", "),
        tuples.join(", ")
    );
    let mut q = query(&sql);
    for row in rows {
        for (v, c) in row.into_iter().zip(columns) {
            q = match (c.kind, v) {
                (Kind::Int, Value::Int(i)) => q.bind(i),
                (Kind::Int, _) => q.bind(None::<i64>),
                (Kind::Float, Value::Float(f)) => q.bind(f),
                (Kind::Float, _) => q.bind(None::<f64>),
                (Kind::Text, Value::Text(t)) => q.bind(t),
                (Kind::Text, _) => q.bind(None::<String>),
                (Kind::Bytes, Value::Bytes(b)) => q.bind(b),
                (Kind::Bytes, _) => q.bind(None::<Vec<u8>>),
            };
        }
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

/// PostgreSQL: moves every sequence behind a column past the largest value restored into it.
/// (gongzhi's own schema keys rows by random ids and counters, so this finds nothing today.)
pub async fn reset_sequences(conn: &mut Conn) -> Result<()> {
    let rows = query(
        "SELECT CAST(table_name AS TEXT) AS t, CAST(column_name AS TEXT) AS c \
         FROM information_schema.columns WHERE table_schema = current_schema() \
         AND (column_default LIKE 'nextval(%' OR is_identity = 'YES')",
    )
    .fetch_all(&mut *conn)
    .await?;
    for r in rows {
        let table: String = r.try_get(0)?;
        let column: String = r.try_get(1)?;
        query(&format!(
            "SELECT CAST(setval(pg_get_serial_sequence('{table}', '{column}'), \
             COALESCE(MAX({column}), 0) + 1, false) AS BIGINT) FROM {table}"
        ))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
