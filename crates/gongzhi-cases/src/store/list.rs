//! Lists of cases within the caller's scope, and the scope itself as a condition on `cases`.

use super::cases::{names_for, view_of};
use super::{bind_all, SetValue};
use crate::model::{enum_str, CasePage, Channel, Kind, LIST_COUNT_CAP};
use crate::permissions::CASE_READ;
use crate::rules::workflow::Status;
use gongzhi_core::db::{like_prefix, Db};
use gongzhi_core::identity::{Actor, ActorKind};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::time::now_ms;
use gongzhi_core::{Error, Result};

/// A list asked for, parsed (`queries::case::list` reads it from a [`crate::model::CaseFilter`]).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub area: Option<String>,
    pub unit: Option<String>,
    pub category: Option<String>,
    pub kind: Option<Kind>,
    pub channel: Option<Channel>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub overdue: bool,
    pub page: u32,
    pub page_size: u32,
    /// Keyset paging: the rows after this (created_at, id) in the list's order, instead of an
    /// offset; it reaches past the counted cap and stays fast deep in the list.
    pub after: Option<(i64, String)>,
}

/// The cases an actor may read, as a condition on `cases` with its text arguments numbered
/// from `$first` (`clause` is `None` for every case): the union of what each assignment
/// reaches, plus the actor's own reports. An assignment whose role may not read cases adds
/// nothing (a resident role never widens a leader's street); a unit-only one adds that unit's
/// and its summons' cases. The case list and the dashboard's figures both count through it, so
/// a page can never show more than the API. Refused when nothing is readable.
pub struct ReadScope {
    pub clause: Option<String>,
    pub args: Vec<String>,
    /// Whether any assignment may read cases (else only the actor's own reports are in scope).
    pub reads: bool,
}

pub fn read_scope(actor: &Actor, first: usize) -> Result<ReadScope> {
    if matches!(actor.kind, ActorKind::System) {
        return Ok(ReadScope {
            clause: None,
            args: vec![],
            reads: true,
        });
    }
    let mut parts: Vec<String> = Vec::new();
    let mut args: Vec<String> = Vec::new();
    let arg = |v: String, args: &mut Vec<String>| {
        args.push(v);
        format!("${}", first + args.len() - 1)
    };
    let mut reads = false;
    for a in &actor.assignments {
        // An assignment always covers its own scope, so this is the one check asked of it alone.
        if !CASE_READ.roles.contains(&a.role) {
            continue;
        }
        reads = true;
        match (&a.area, &a.unit) {
            (None, None) => {
                return Ok(ReadScope {
                    clause: None,
                    args: vec![],
                    reads,
                })
            }
            (Some(area), None) => parts.push(format!(
                "grid_code LIKE {} ESCAPE '\\'",
                arg(like_prefix(area), &mut args)
            )),
            (None, Some(unit)) => {
                let p = arg(unit.clone(), &mut args);
                parts.push(format!("(unit_code = {p} OR id IN (SELECT case_id FROM case_summons WHERE unit_code = {p}))"));
            }
            (Some(area), Some(unit)) => {
                let a1 = arg(like_prefix(area), &mut args);
                let u1 = arg(unit.clone(), &mut args);
                parts.push(format!(
                    "(grid_code LIKE {a1} ESCAPE '\\' AND unit_code = {u1})"
                ));
            }
        }
    }
    if let (Some(uid), ActorKind::User) = (&actor.user_id, &actor.kind) {
        parts.push(format!("created_by = {}", arg(uid.clone(), &mut args)));
    }
    if parts.is_empty() {
        return Err(Error::Forbidden("your roles do not allow case_read".into()));
    }
    Ok(ReadScope {
        clause: Some(format!("({})", parts.join(" OR "))),
        args,
        reads,
    })
}

/// Cases in the caller's scope, filtered, newest first, a page at a time; matches are counted
/// up to [`LIST_COUNT_CAP`].
pub async fn page(db: &Db, sealer: &Sealer, actor: &Actor, f: &ListQuery) -> Result<CasePage> {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<SetValue> = Vec::new();
    let arg = |v: SetValue, args: &mut Vec<SetValue>| {
        args.push(v);
        format!("${}", args.len())
    };
    let scope = read_scope(actor, 1)?;
    args.extend(scope.args.into_iter().map(|a| SetValue::Text(Some(a))));
    clauses.extend(scope.clause);
    if let Some(s) = f.status {
        clauses.push(format!(
            "status = {}",
            arg(SetValue::Text(Some(s.as_str().into())), &mut args)
        ));
    }
    if let Some(a) = &f.area {
        clauses.push(format!(
            "grid_code LIKE {} ESCAPE '\\'",
            arg(SetValue::Text(Some(like_prefix(a))), &mut args)
        ));
    }
    if let Some(u) = &f.unit {
        clauses.push(format!(
            "unit_code = {}",
            arg(SetValue::Text(Some(u.clone())), &mut args)
        ));
    }
    if let Some(c) = &f.category {
        clauses.push(format!(
            "category_code LIKE {} ESCAPE '\\'",
            arg(SetValue::Text(Some(like_prefix(c))), &mut args)
        ));
    }
    if let Some(k) = f.kind {
        clauses.push(format!(
            "kind = {}",
            arg(SetValue::Text(Some(enum_str(k))), &mut args)
        ));
    }
    if let Some(c) = f.channel {
        clauses.push(format!(
            "channel = {}",
            arg(SetValue::Text(Some(enum_str(c))), &mut args)
        ));
    }
    for (v, op) in [(f.from, ">="), (f.to, "<")] {
        if let Some(t) = v {
            clauses.push(format!(
                "created_at {op} {}",
                arg(SetValue::Int(Some(t)), &mut args)
            ));
        }
    }
    if f.overdue {
        let now = arg(SetValue::Int(Some(now_ms())), &mut args);
        clauses.push(format!(
            "status NOT IN ('closed', 'called_back', 'cancelled', 'merged') AND ((reported_back_at IS NULL AND handle_deadline < {now}) OR (closed_at IS NULL AND close_deadline < {now}))"
        ));
    }
    let where_of = |clauses: &[String]| {
        if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        }
    };
    // Counted over the whole filter, the cursor aside: the total is the list's, not the rest's.
    let count_sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM cases {} LIMIT {}) capped",
        where_of(&clauses),
        LIST_COUNT_CAP + 1
    );
    let counted: i64 = bind_all(&count_sql, &args)
        .fetch_one(db.pool())
        .await?
        .try_get(0)?;
    if let Some((at, id)) = &f.after {
        let (a, b) = (
            arg(SetValue::Int(Some(*at)), &mut args),
            arg(SetValue::Text(Some(id.clone())), &mut args),
        );
        clauses.push(format!(
            "(created_at < {a} OR (created_at = {a} AND id > {b}))"
        ));
    }
    let (page, page_size) = (f.page, f.page_size);
    // After a cursor the page number is only a label: the cursor says where the page starts.
    let offset = if f.after.is_some() {
        0
    } else {
        // In u64: a page near u32::MAX times the page size overflows u32 (schemathesis).
        u64::from(page - 1) * u64::from(page_size)
    };
    let where_sql = where_of(&clauses);
    let page_sql = format!(
        "SELECT * FROM cases {where_sql} ORDER BY created_at DESC, id LIMIT {page_size} OFFSET {offset}"
    );
    let rows = bind_all(&page_sql, &args).fetch_all(db.pool()).await?;
    let next = match rows.last() {
        Some(last) if rows.len() as u64 == u64::from(page_size) => Some(cursor(
            last.try_get("created_at")?,
            &last.try_get::<String, _>("id")?,
        )),
        _ => None,
    };
    let names = names_for(db, &rows).await?;
    let items = rows
        .iter()
        .map(|r| view_of(&names, sealer, r, false))
        .collect::<Result<Vec<_>>>()?;
    Ok(CasePage {
        items,
        page,
        page_size,
        total: counted.min(LIST_COUNT_CAP),
        total_capped: counted > LIST_COUNT_CAP,
        next,
    })
}

/// The cursor naming a row of the list: `<created_at ms>.<id>`.
pub fn cursor(created_at: i64, id: &str) -> String {
    format!("{created_at}.{id}")
}

/// The row a cursor names, if it is one.
pub fn parse_cursor(s: &str) -> Option<(i64, String)> {
    let (at, id) = s.split_once('.')?;
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    Some((at.parse().ok()?, id.to_string())).filter(|_| ok)
}
