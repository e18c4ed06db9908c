//! Requests are cases: what Open311 reads of the cases the public may see (through
//! `publicity::PUBLIC_CASE_IDS`), and of their timelines.

use sqlx::any::AnyRow;
use sqlx::Row;

use gongzhi_cases::store::publicity::PUBLIC_CASE_IDS;
use gongzhi_core::db::{opt_text, Db};
use gongzhi_core::Result;

use super::in_list;
use crate::model::form::RequestQuery;
use crate::model::records::{RequestRecord, StepRecord};
use crate::rules::requests::CLOSED_STATUSES;

/// What a request is made of, before publicity decides what of it is shown; `media_url` is the
/// Open311 client's own.
const REQUEST_COLUMNS: &str = "id, number, category_code, status, description, unit_code, created_at, updated_at, handle_deadline, address, \
    CAST(lat AS TEXT) AS lat_text, CAST(lng AS TEXT) AS lng_text, \
    (SELECT x.data FROM case_extras x WHERE x.case_id = cases.id AND x.kind = 'open311_media_url') AS media_url";

enum Arg {
    Int(i64),
    Text(String),
}

/// Public cases in the `public` categories that the query asks for, newest first.
pub async fn list(db: &Db, public: &[String], query: &RequestQuery) -> Result<Vec<RequestRecord>> {
    let mut clauses = vec![
        format!("category_code IN ({})", in_list(public)),
        format!("id IN ({PUBLIC_CASE_IDS})"),
    ];
    let mut args: Vec<Arg> = Vec::new();
    let bind = |v: Arg, args: &mut Vec<Arg>| {
        args.push(v);
        format!("${}", args.len())
    };
    if let Some(numbers) = &query.numbers {
        let ph: Vec<String> = numbers
            .iter()
            .map(|i| bind(Arg::Text(i.clone()), &mut args))
            .collect();
        clauses.push(format!("number IN ({})", ph.join(", ")));
    } else {
        if !query.service_codes.is_empty() {
            let ph: Vec<String> = query
                .service_codes
                .iter()
                .map(|s| bind(Arg::Text(s.clone()), &mut args))
                .collect();
            clauses.push(format!("category_code IN ({})", ph.join(", ")));
        }
        let bounds = [
            ("created_at >=", query.created_from),
            ("created_at <=", query.created_to),
            ("updated_at >", query.updated_after),
            ("updated_at <", query.updated_before),
        ];
        for (column, at) in bounds {
            if let Some(at) = at {
                clauses.push(format!("{column} {}", bind(Arg::Int(at), &mut args)));
            }
        }
        match query.open {
            Some(true) => clauses.push(format!("status NOT IN {CLOSED_STATUSES}")),
            Some(false) => clauses.push(format!("status IN {CLOSED_STATUSES}")),
            None => {}
        }
    }
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM cases WHERE {} ORDER BY created_at DESC, number LIMIT {} OFFSET {}",
        clauses.join(" AND "),
        query.limit,
        query.offset
    );
    let mut q = sqlx::query(&sql);
    for a in args {
        q = match a {
            Arg::Int(n) => q.bind(n),
            Arg::Text(s) => q.bind(s),
        };
    }
    let rows = q.fetch_all(db.pool()).await?;
    rows.iter().map(request_of).collect()
}

fn request_of(r: &AnyRow) -> Result<RequestRecord> {
    let coordinate =
        |k: &str| -> Result<Option<f64>> { Ok(opt_text(r, k)?.and_then(|v| v.parse().ok())) };
    Ok(RequestRecord {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        category_code: r.try_get("category_code")?,
        status: r.try_get("status")?,
        description: r.try_get("description")?,
        unit_code: opt_text(r, "unit_code")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        handle_deadline: r.try_get("handle_deadline")?,
        address: opt_text(r, "address")?,
        lat: coordinate("lat_text")?,
        lng: coordinate("lng_text")?,
        media_url: opt_text(r, "media_url")?,
    })
}

/// A case's timeline in order.
pub async fn steps(db: &Db, case_id: &str) -> Result<Vec<StepRecord>> {
    let rows = sqlx::query(
        "SELECT id, step, at, note FROM case_events WHERE case_id = $1 ORDER BY at, id",
    )
    .bind(case_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(step_of).collect()
}

pub(super) fn step_of(r: &AnyRow) -> Result<StepRecord> {
    Ok(StepRecord {
        id: r.try_get("id")?,
        step: r.try_get("step")?,
        at: r.try_get("at")?,
        note: opt_text(r, "note")?,
    })
}

/// The number of the public request a client's token belongs to (a withdrawn request's token
/// answers like an unknown one).
pub async fn number_of_token(db: &Db, token: &str) -> Result<Option<String>> {
    let row = sqlx::query(&format!(
        "SELECT c.number FROM case_extras x JOIN cases c ON c.id = x.case_id WHERE x.kind = 'open311_token' AND x.data = $1 AND c.id IN ({PUBLIC_CASE_IDS})",
    ))
    .bind(token)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| Ok(r.try_get(0)?)).transpose()
}

/// A public case by its number: (id, category).
pub async fn public_case(db: &Db, number: &str) -> Result<Option<(String, String)>> {
    let row = sqlx::query(&format!(
        "SELECT id, category_code FROM cases WHERE number = $1 AND id IN ({PUBLIC_CASE_IDS})"
    ))
    .bind(number)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("category_code")?)))
        .transpose()
}

/// A case's category.
pub async fn category_of(db: &Db, case_id: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT category_code FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| Ok(r.try_get(0)?)).transpose()
}
