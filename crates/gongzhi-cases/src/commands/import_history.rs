//! Importing past cases (CLI and demo): years of cases moved in one all-or-nothing
//! transaction, each located, given its timeline and its deadlines computed from `dispatched_at`.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use crate::model::catalog::Category;
use crate::model::Channel;
use crate::permissions::CATALOG_MANAGE;
use crate::rules::history::{status_of, PastCase};
use crate::rules::stats::{CaseFigures, CounterDelta};
use crate::rules::workflow::Status;
use crate::store::history as store;
use crate::store::reference::load_calendar;
use gongzhi_core::areas::locate::{LocateIndex, Located};
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::{audit, Error, Result};

/// Stores past cases: all, or none with every problem listed.
pub async fn import_history(
    db: &Db,
    index: &LocateIndex,
    actor: &Actor,
    cases: &[PastCase],
) -> Result<usize> {
    authorize(actor, CATALOG_MANAGE, &Target::global())?;
    let categories: HashMap<String, Category> = crate::store::catalog::list(db)
        .await?
        .into_iter()
        .map(|c| (c.code.clone(), c))
        .collect();
    let units = store::unit_codes(db).await?;
    let (mut problems, located) = check(index, cases, &categories, &units);
    for n in store::stored_numbers(db, cases).await? {
        problems.push(format!("number: {n} is already stored"));
    }
    if !problems.is_empty() {
        let n = problems.len();
        return Err(Error::invalid_with(
            "import_rejected",
            format!(
                "the import was rejected with {n} problem{}; nothing was changed",
                if n == 1 { "" } else { "s" }
            ),
            json!({"problems": problems.iter().map(|p| json!({"at": p.split(':').next().unwrap_or(""), "problem": p})).collect::<Vec<_>>()}),
        ));
    }
    let calendar = load_calendar(db).await?;
    let importer = actor.label();
    let mut tx = db.begin_write().await?;
    let mut counters = CounterDelta::default();
    for (c, l) in cases.iter().zip(&located) {
        let l = l.as_ref().expect("located above");
        let cat = &categories[&c.category];
        let deadline = |limit| c.deadline(&calendar, limit);
        let deadlines = (
            deadline(cat.respond_limit),
            deadline(cat.handle_limit),
            deadline(cat.close_limit),
        );
        let id = gongzhi_core::db::new_id();
        let status = status_of(c);
        counters.add(&figures(c, l, status, deadlines), 1);
        store::insert_case(&mut tx, &id, c, l, status, deadlines).await?;
        store::insert_events(&mut tx, &id, c, &importer).await?;
        // Past Open311 requests were published by their client, as ours are.
        if c.channel == Channel::Open311 {
            let public = crate::store::publicity::AtIntake {
                case_id: &id,
                chosen_by: "open311",
                photos: &[],
            };
            crate::store::publicity::record_intake(&mut tx, &[public]).await?;
        }
    }
    counters.apply(&mut tx).await?;
    crate::store::cases_moved(&mut tx).await?;
    let digest: Vec<&str> = cases.iter().map(|c| c.number.as_str()).collect();
    audit::append(
        &mut tx,
        actor,
        "cases.import",
        &format!("cases:{}", cases.len()),
        &json!(digest),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(cases.len())
}

/// Every problem of the file against the catalog, the units and the map, with each case's place.
fn check(
    index: &LocateIndex,
    cases: &[PastCase],
    categories: &HashMap<String, Category>,
    units: &HashSet<String>,
) -> (Vec<String>, Vec<Option<Located>>) {
    let mut problems = Vec::new();
    let mut numbers = HashSet::new();
    let mut located = Vec::with_capacity(cases.len());
    for (i, c) in cases.iter().enumerate() {
        let line = i + 2;
        if !categories.contains_key(&c.category) {
            problems.push(format!(
                "line {line}: category: no category {:?}",
                c.category
            ));
        }
        if let Some(u) = &c.unit {
            if !units.contains(u) {
                problems.push(format!("line {line}: unit: no unit {u:?}"));
            }
        }
        if !numbers.insert(c.number.as_str()) {
            problems.push(format!(
                "line {line}: number: {} appears twice in the file",
                c.number
            ));
        }
        match index.locate(c.lat, c.lng) {
            Some(l) => located.push(Some(l.clone())),
            None => {
                problems.push(format!(
                    "line {line}: ({}, {}) is outside the jurisdiction",
                    c.lat, c.lng
                ));
                located.push(None);
            }
        }
    }
    (problems, located)
}

/// What a past case counts for in the measures.
fn figures(
    c: &PastCase,
    l: &Located,
    status: Status,
    (_, handle, close): store::PastDeadlines,
) -> CaseFigures {
    CaseFigures {
        merged: status == Status::Merged,
        codes: [
            Some(l.street.code.clone()),
            Some(l.community.code.clone()),
            Some(l.grid.code.clone()),
            c.unit.clone(),
        ],
        callback_at: c.callback_at,
        callback_contacted: c.callback_contacted.map(i64::from),
        callback_resolved: c.callback_resolved.map(i64::from),
        callback_satisfaction: c.callback_satisfaction.clone(),
        dispatched_at: c.dispatched_at,
        reported_back_at: c.handled_at,
        handle_deadline: handle,
        closed_at: c.closed_at,
        close_deadline: close,
        rework_count: c.rework_count,
    }
}
