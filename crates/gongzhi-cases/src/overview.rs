//! The figures of the cases a person may read, for the dashboard: open and overdue cases per
//! grid, and cases created and closed per day. They count exactly the cases `store::list` gives
//! the same person — each assignment counts only where the one permission check lets it read
//! cases — so a page can never show more than the API would.

use std::collections::HashMap;

use sqlx::Row;

use crate::store::CASE_READ;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, ActorKind, Target};
use gongzhi_core::{Error, Result};

const DAY_MS: i64 = 86_400_000;

/// Statuses that end a case's life: not open, never overdue.
const ENDED: &str = "('closed', 'called_back', 'cancelled', 'merged')";

/// Open and overdue cases of one grid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GridFigures {
    pub open: i64,
    pub overdue: i64,
}

/// Cases created and closed per day, oldest day first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trend {
    /// Each day's label, `MM-DD` in Beijing time.
    pub days: Vec<String>,
    pub created: Vec<i64>,
    pub closed: Vec<i64>,
}

/// The cases an actor may read, as a condition on `cases` with its text arguments (numbered
/// from `$first`); `None` is every case. The union of what each assignment reaches, like
/// `store::list`: an assignment whose role does not let it read cases adds nothing (a resident
/// role never widens a leader's street), and a unit-only one adds that unit's and its summons'
/// cases. Refused when no assignment may read cases at all.
struct Scope {
    clause: Option<String>,
    args: Vec<String>,
}

fn read_scope(actor: &Actor, first: usize) -> Result<Scope> {
    if actor.kind == ActorKind::System {
        return Ok(Scope {
            clause: None,
            args: vec![],
        });
    }
    let mut parts = Vec::new();
    let mut args: Vec<String> = Vec::new();
    let arg = |v: String, args: &mut Vec<String>| {
        args.push(v);
        format!("${}", first + args.len() - 1)
    };
    let mut reads = false;
    for a in &actor.assignments {
        // May this assignment read cases in its own scope? The one check, asked of it alone.
        let alone = Actor {
            assignments: vec![a.clone()],
            ..actor.clone()
        };
        let own = Target {
            area: a.area.clone(),
            unit: a.unit.clone(),
        };
        if authorize(&alone, CASE_READ, &own).is_err() {
            continue;
        }
        reads = true;
        match (&a.area, &a.unit) {
            (None, None) => {
                return Ok(Scope {
                    clause: None,
                    args: vec![],
                })
            }
            (Some(area), None) => parts.push(format!(
                "grid_code LIKE {}",
                arg(format!("{area}%"), &mut args)
            )),
            (None, Some(unit)) => {
                let p = arg(unit.clone(), &mut args);
                parts.push(format!(
                    "(unit_code = {p} OR id IN (SELECT case_id FROM case_summons WHERE unit_code = {p}))"
                ));
            }
            (Some(area), Some(unit)) => {
                let a1 = arg(format!("{area}%"), &mut args);
                let u1 = arg(unit.clone(), &mut args);
                parts.push(format!("(grid_code LIKE {a1} AND unit_code = {u1})"));
            }
        }
    }
    if !reads {
        return Err(authorize(actor, CASE_READ, &Target::global())
            .err()
            .unwrap_or_else(|| Error::Forbidden("your roles do not allow case_read".into())));
    }
    // Their own reports too, as in the list.
    if let (Some(uid), ActorKind::User) = (&actor.user_id, &actor.kind) {
        parts.push(format!("created_by = {}", arg(uid.clone(), &mut args)));
    }
    Ok(Scope {
        clause: Some(format!("({})", parts.join(" OR "))),
        args,
    })
}

impl Scope {
    /// ` AND (…)` to append to a `WHERE`.
    fn and(&self) -> String {
        self.clause
            .as_deref()
            .map(|c| format!(" AND {c}"))
            .unwrap_or_default()
    }
}

/// Open and overdue cases per grid, of the cases `actor` may read (cases without a grid are
/// not on the map).
pub async fn open_by_grid(
    db: &Db,
    actor: &Actor,
    now: i64,
) -> Result<HashMap<String, GridFigures>> {
    let scope = read_scope(actor, 2)?;
    let sql = format!(
        "SELECT grid_code, COUNT(*), SUM(CASE WHEN (reported_back_at IS NULL AND handle_deadline < $1) \
         OR (closed_at IS NULL AND close_deadline < $1) THEN 1 ELSE 0 END) FROM cases \
         WHERE status NOT IN {ENDED} AND grid_code IS NOT NULL{} GROUP BY grid_code",
        scope.and()
    );
    let mut q = sqlx::query(&sql).bind(now);
    for a in &scope.args {
        q = q.bind(a.clone());
    }
    let mut out = HashMap::new();
    for r in q.fetch_all(db.pool()).await? {
        out.insert(
            r.try_get::<String, _>(0)?,
            GridFigures {
                open: r.try_get(1)?,
                overdue: r.try_get::<Option<i64>, _>(2)?.unwrap_or(0),
            },
        );
    }
    Ok(out)
}

/// Cases created and closed per day over the `days` days before `now`, of the cases `actor`
/// may read. Counted by the database: a month can hold hundreds of thousands of cases.
pub async fn trend(db: &Db, actor: &Actor, now: i64, days: i64) -> Result<Trend> {
    let scope = read_scope(actor, 2)?;
    let days = days.max(1);
    let start = now - days * DAY_MS;
    let mut t = Trend {
        days: (0..days)
            .map(|i| {
                let at = chrono::DateTime::from_timestamp_millis(start + (i + 1) * DAY_MS)
                    .unwrap_or_default()
                    + chrono::Duration::hours(8);
                at.format("%m-%d").to_string()
            })
            .collect(),
        created: vec![0; days as usize],
        closed: vec![0; days as usize],
    };
    for (col, into) in [("created_at", &mut t.created), ("closed_at", &mut t.closed)] {
        let sql = format!(
            "SELECT ({col} - $1) / {DAY_MS} AS d, COUNT(*) FROM cases WHERE {col} >= $1{} GROUP BY ({col} - $1) / {DAY_MS}",
            scope.and()
        );
        let mut q = sqlx::query(&sql).bind(start);
        for a in &scope.args {
            q = q.bind(a.clone());
        }
        for r in q.fetch_all(db.pool()).await? {
            let i = (r.try_get::<i64, _>(0)?.max(0) as usize).min(into.len() - 1);
            into[i] += r.try_get::<i64, _>(1)?;
        }
    }
    Ok(t)
}
