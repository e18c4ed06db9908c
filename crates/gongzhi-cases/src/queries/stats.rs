//! The measures and rankings as the caller may see them.

use std::collections::BTreeMap;

use crate::permissions::STATS_READ;
use crate::rules::stats::{period_bounds, rank, rates, StatsLevel, StatsRow};
use crate::store::stats as store;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::Result;

/// One row per area or unit with cases in the period, ranked. Read from the daily counters
/// (`case_stats_daily`), which every case write keeps in its own transaction; the answer is the
/// same as a scan of the cases table ([`scan_counts`]), at a cost that does not grow with it.
pub async fn compute(
    db: &Db,
    actor: &Actor,
    period: &str,
    level: StatsLevel,
) -> Result<Vec<StatsRow>> {
    authorize(actor, STATS_READ, &Target::global()).or_else(|e| {
        // Scoped leaders and dispatchers see the rows of their own subtree.
        if actor
            .assignments
            .iter()
            .any(|a| STATS_READ.roles.contains(&a.role))
        {
            Ok(())
        } else {
            Err(e)
        }
    })?;
    let settings = store::load_settings(db).await?;
    let (start, end) = period_bounds(period, settings.cycle_start_day)?;
    let counts = store::counter_counts(db, level, start, end).await?;
    let names = store::names_of(db, level, counts.keys()).await?;
    // A unit counts under the area it serves too: a district's leader ranks its departments.
    let unit_areas: BTreeMap<String, Option<String>> = if level == StatsLevel::Unit {
        store::unit_areas(db).await?
    } else {
        BTreeMap::new()
    };
    let mut rows: Vec<StatsRow> = counts
        .into_iter()
        .filter(|(code, _)| {
            let t = if level == StatsLevel::Unit {
                Target {
                    area: unit_areas.get(code).cloned().flatten(),
                    unit: Some(code.clone()),
                }
            } else {
                Target::area(code)
            };
            authorize(actor, STATS_READ, &t).is_ok()
        })
        .map(|(code, c)| {
            let name = names.get(&code).cloned().unwrap_or_default();
            rates(code, name, c, &settings)
        })
        .collect();
    rank(&mut rows);
    Ok(rows)
}
