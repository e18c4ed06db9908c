//! Lists of cases within the caller's scope, and the scope itself as a condition on `cases`.

use sqlx::Row;

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
    let (page, page_size) = (f.page, f.page_size);
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let count_sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM cases {where_sql} LIMIT {}) capped",
        LIST_COUNT_CAP + 1
    );
    let counted: i64 = bind_all(&count_sql, &args)
        .fetch_one(db.pool())
        .await?
        .try_get(0)?;
    let page_sql = format!(
        "SELECT * FROM cases {where_sql} ORDER BY created_at DESC, id LIMIT {page_size} OFFSET {}",
        // In u64: a page near u32::MAX times the page size overflows u32 (schemathesis).
        u64::from(page - 1) * u64::from(page_size)
    );
    let rows = bind_all(&page_sql, &args).fetch_all(db.pool()).await?;
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
    })
}
