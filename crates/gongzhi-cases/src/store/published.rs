//! Published cases for other modules (Open311): public cases by filters, number or a client's
//! token, their timelines and the feed of their steps. Only cases in `publicity::PUBLIC_CASE_IDS`
//! are read, except a case's category (asked of a case already found public).

use std::collections::HashMap;

use super::publicity::PUBLIC_CASE_IDS;
use crate::model::published::{PublicFilter, PublishedCase, PublishedStep, PublishedStepOf};
use crate::rules::workflow::ALL_STATUSES;
use gongzhi_core::db::{opt_text, Db};
use gongzhi_core::db::{query, Query, Row};
use gongzhi_core::Result;

/// What a published case is made of, before publicity decides what of it is shown.
const CASE_COLUMNS: &str = "id, number, category_code, status, description, unit_code, created_at, updated_at, handle_deadline, address, \
    CAST(lat AS TEXT) AS lat_text, CAST(lng AS TEXT) AS lng_text, \
    (SELECT x.data FROM case_extras x WHERE x.case_id = cases.id AND x.kind = 'open311_media_url') AS media_url";

enum Arg {
    Int(i64),
    Text(String),
}

/// Binds values in order, answering their placeholders.
#[derive(Default)]
struct Args(Vec<Arg>);

impl Args {
    fn push(&mut self, v: Arg) -> String {
        self.0.push(v);
        format!("${}", self.0.len())
    }
    fn texts(&mut self, values: &[String]) -> String {
        let marks: Vec<String> = values
            .iter()
            .map(|v| self.push(Arg::Text(v.clone())))
            .collect();
        if marks.is_empty() {
            "NULL".into()
        } else {
            marks.join(", ")
        }
    }
    fn query<'q>(self, sql: &'q str) -> Query<'q> {
        let mut q = query(sql);
        for a in self.0 {
            q = match a {
                Arg::Int(n) => q.bind(n),
                Arg::Text(s) => q.bind(s),
            };
        }
        q
    }
}

/// The statuses a closed case has, as SQL's `IN` list (the workflow's, never user input).
fn closed_statuses() -> String {
    let closed: Vec<String> = ALL_STATUSES
        .iter()
        .filter(|s| !s.is_open())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    format!("({})", closed.join(", "))
}

/// Public cases the filter asks for, newest first, in one query.
pub async fn list(db: &Db, f: &PublicFilter) -> Result<Vec<PublishedCase>> {
    let mut args = Args::default();
    let mut clauses = vec![
        format!("category_code IN ({})", args.texts(&f.categories)),
        format!("id IN ({PUBLIC_CASE_IDS})"),
    ];
    if let Some(numbers) = &f.numbers {
        clauses.push(format!("number IN ({})", args.texts(numbers)));
    } else {
        let bounds = [
            ("created_at >=", f.created_from),
            ("created_at <=", f.created_to),
            ("updated_at >", f.updated_after),
            ("updated_at <", f.updated_before),
        ];
        for (column, at) in bounds {
            if let Some(at) = at {
                clauses.push(format!("{column} {}", args.push(Arg::Int(at))));
            }
        }
        match f.open {
            Some(true) => clauses.push(format!("status NOT IN {}", closed_statuses())),
            Some(false) => clauses.push(format!("status IN {}", closed_statuses())),
            None => {}
        }
    }
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM cases WHERE {} ORDER BY created_at DESC, number LIMIT {} OFFSET {}",
        clauses.join(" AND "),
        f.limit,
        f.offset
    );
    let rows = args.query(&sql).fetch_all(db.pool()).await?;
    rows.iter().map(case_of).collect()
}

fn case_of(r: &Row) -> Result<PublishedCase> {
    let coordinate =
        |k: &str| -> Result<Option<f64>> { Ok(opt_text(r, k)?.and_then(|v| v.parse().ok())) };
    Ok(PublishedCase {
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

/// The timelines of some cases, each in order, in one query (cases without steps are absent).
pub async fn steps_of(db: &Db, case_ids: &[String]) -> Result<HashMap<String, Vec<PublishedStep>>> {
    let mut out: HashMap<String, Vec<PublishedStep>> = HashMap::new();
    if case_ids.is_empty() {
        return Ok(out);
    }
    let mut args = Args::default();
    let sql = format!(
        "SELECT case_id, id, step, at, note FROM case_events WHERE case_id IN ({}) ORDER BY at, id",
        args.texts(case_ids)
    );
    for r in args.query(&sql).fetch_all(db.pool()).await? {
        out.entry(r.try_get("case_id")?)
            .or_default()
            .push(step_of(&r)?);
    }
    Ok(out)
}

fn step_of(r: &Row) -> Result<PublishedStep> {
    Ok(PublishedStep {
        id: r.try_get("id")?,
        step: r.try_get("step")?,
        at: r.try_get("at")?,
        note: opt_text(r, "note")?,
    })
}

/// Steps on public cases in `categories` within `[after, before]`, the first 1000.
pub async fn feed(
    db: &Db,
    categories: &[String],
    after: i64,
    before: i64,
) -> Result<Vec<PublishedStepOf>> {
    let mut args = Args::default();
    let (a, b) = (args.push(Arg::Int(after)), args.push(Arg::Int(before)));
    let sql = format!(
        "SELECT e.id, e.step, e.at, e.note, c.number FROM case_events e JOIN cases c ON c.id = e.case_id \
         WHERE c.category_code IN ({}) AND c.id IN ({PUBLIC_CASE_IDS}) AND e.at >= {a} AND e.at <= {b} ORDER BY e.at, e.id LIMIT 1000",
        args.texts(categories)
    );
    let rows = args.query(&sql).fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok(PublishedStepOf {
                step: step_of(r)?,
                number: r.try_get("number")?,
            })
        })
        .collect()
}

/// The number of the public case whose extra of `kind` holds `data` (a client's token; a
/// withdrawn case's answers like an unknown one).
pub async fn number_by_extra(db: &Db, kind: &str, data: &str) -> Result<Option<String>> {
    let row = query(&format!(
        "SELECT c.number FROM case_extras x JOIN cases c ON c.id = x.case_id WHERE x.kind = $1 AND x.data = $2 AND c.id IN ({PUBLIC_CASE_IDS})",
    ))
    .bind(kind)
    .bind(data)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| Ok(r.try_get(0)?)).transpose()
}

/// A public case by its number: (id, category).
pub async fn by_number(db: &Db, number: &str) -> Result<Option<(String, String)>> {
    let row = query(&format!(
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
    let row = query("SELECT category_code FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| Ok(r.try_get(0)?)).transpose()
}
