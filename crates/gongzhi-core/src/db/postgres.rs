//! PostgreSQL through sqlx's own PostgreSQL driver (no `Any` layer): parameters bound with
//! their types, statements prepared once per connection, rows read into [`Row`]s.

use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Arguments, Decode, Postgres, Row as _, TypeInfo, ValueRef};

use super::value::{Param, Row, Value};
use crate::error::{StorageError, StorageKind};
use crate::{Error, Result};

pub(super) async fn connect(url: &str, size: u32) -> Result<PgPool> {
    // A plan for each execution's own values. After five runs of a prepared statement
    // PostgreSQL may switch to one generic plan for any values, and with skewed columns that
    // plan can be ruinous: at 10 M cases the dispatcher's queue (`status = $3 … ORDER BY
    // created_at DESC LIMIT 20`) was planned as a backward scan of every case filtered by
    // status — over 27 s for a rare status — where the plan for the actual status reads 20
    // rows of its index in half a millisecond. Planning each time costs about 0.1 ms.
    let options = url
        .parse::<PgConnectOptions>()?
        .options([("plan_cache_mode", "force_custom_plan")]);
    Ok(PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await?)
}

fn arguments(params: Vec<Param>) -> Result<PgArguments> {
    let mut args = PgArguments::default();
    for p in params {
        match p {
            Param::Int(v) => args.add(v),
            Param::Real(v) => args.add(v),
            Param::Text(v) => args.add(v),
            Param::Blob(v) => args.add(v),
        }
        .map_err(|e| Error::internal(format!("cannot bind a parameter: {e}")))?;
    }
    Ok(args)
}

/// Runs one statement on `conn`: its rows handed to `sink` until it says stop, or, without a
/// sink, only the count of rows it changed.
pub(super) async fn run(
    conn: &mut PgConnection,
    sql: &str,
    params: Vec<Param>,
    sink: Option<&mut (dyn FnMut(Row) -> Result<bool> + Send)>,
) -> Result<u64> {
    let query = sqlx::query_with(sql, arguments(params)?);
    let Some(sink) = sink else {
        let done = query
            .execute(&mut *conn)
            .await
            .map_err(|e| with_sql(e, sql))?;
        return Ok(done.rows_affected());
    };
    let mut columns: Option<Arc<[Box<str>]>> = None;
    let mut stream = query.fetch(&mut *conn);
    while let Some(pg) = stream.try_next().await.map_err(|e| with_sql(e, sql))? {
        let columns = columns
            .get_or_insert_with(|| {
                pg.columns()
                    .iter()
                    .map(|c| Box::from(sqlx::Column::name(c)))
                    .collect()
            })
            .clone();
        if !sink(read(&pg, columns)?)? {
            break;
        }
    }
    Ok(0)
}

fn read(pg: &PgRow, columns: Arc<[Box<str>]>) -> Result<Row> {
    let mut values = Vec::with_capacity(columns.len());
    for i in 0..columns.len() {
        let raw = pg.try_get_raw(i)?;
        if raw.is_null() {
            values.push(Value::Null);
            continue;
        }
        let kind = raw.type_info().name().to_string();
        let bad =
            |e: sqlx::error::BoxDynError| Error::internal(format!("column {}: {e}", columns[i]));
        values.push(match kind.as_str() {
            "INT8" => Value::Int(<i64 as Decode<Postgres>>::decode(raw).map_err(bad)?),
            "INT4" => Value::Int(<i32 as Decode<Postgres>>::decode(raw).map_err(bad)?.into()),
            "INT2" => Value::Int(<i16 as Decode<Postgres>>::decode(raw).map_err(bad)?.into()),
            "BOOL" => Value::Int(<bool as Decode<Postgres>>::decode(raw).map_err(bad)?.into()),
            "FLOAT8" => Value::Real(<f64 as Decode<Postgres>>::decode(raw).map_err(bad)?),
            "FLOAT4" => Value::Real(<f32 as Decode<Postgres>>::decode(raw).map_err(bad)?.into()),
            "TEXT" | "VARCHAR" | "NAME" | "BPCHAR" | "CHAR" => {
                Value::Text(<String as Decode<Postgres>>::decode(raw).map_err(bad)?)
            }
            "BYTEA" => Value::Blob(<Vec<u8> as Decode<Postgres>>::decode(raw).map_err(bad)?),
            other => {
                // NUMERIC (a SUM of BIGINT) and the like: the query casts to a portable type.
                return Err(Error::internal(format!(
                    "column {} has type {other}; cast it to BIGINT, DOUBLE PRECISION or TEXT",
                    columns[i]
                )));
            }
        });
    }
    Ok(Row { columns, values })
}

fn with_sql(e: sqlx::Error, sql: &str) -> Error {
    StorageError::from(e).in_statement(sql)
}

impl From<sqlx::Error> for StorageError {
    fn from(e: sqlx::Error) -> Self {
        let kind = match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StorageKind::Unique,
            // serialization_failure, deadlock_detected, lock_not_available
            sqlx::Error::Database(d)
                if matches!(d.code().as_deref(), Some("40001" | "40P01" | "55P03")) =>
            {
                StorageKind::Busy
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StorageKind::Busy
            }
            _ => StorageKind::Other,
        };
        StorageError {
            kind,
            message: e.to_string(),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Storage(e.into())
    }
}
