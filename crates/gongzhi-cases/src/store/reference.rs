//! The reference data intake decides with — categories, routing rules, units by area and the
//! working calendar — read once and cached until their version moves.

use std::collections::HashMap;


use crate::model::catalog::Category;
use crate::rules::routing::Routing;
use gongzhi_core::calendar::WorkCalendar;
use gongzhi_core::db::{opt_text, Db};
use gongzhi_core::Result;
use gongzhi_core::db::query;

/// The working calendar deadlines are computed on (named `default`).
pub async fn load_calendar(db: &Db) -> Result<WorkCalendar> {
    gongzhi_core::calendar::load(db, "default").await
}

/// Categories, routing rules, units by area and the calendar, reloaded when their version moves.
pub struct Reference {
    versions: (i64, i64),
    pub categories: HashMap<String, Category>,
    pub routing: Routing,
    pub calendar: WorkCalendar,
}

#[derive(Default)]
struct ReferenceCache(tokio::sync::Mutex<Option<(std::time::Instant, std::sync::Arc<Reference>)>>);

/// How long cached reference data is trusted before its version is checked again; changes made
/// by this process clear the cache at once ([`forget_reference`]), other processes' within this.
const RECHECK: std::time::Duration = std::time::Duration::from_millis(500);

/// Drops the cached reference data (after a change to the catalog, rules, calendar or units).
pub async fn forget_reference(db: &Db) {
    *db.extension(ReferenceCache::default).0.lock().await = None;
}

pub async fn reference(db: &Db) -> Result<std::sync::Arc<Reference>> {
    let cache = db.extension(ReferenceCache::default);
    if let Some((checked, r)) = cache.0.lock().await.as_ref() {
        if checked.elapsed() < RECHECK {
            return Ok(r.clone());
        }
    }
    let rows =
        query("SELECT key, value FROM meta_versions WHERE key IN ('catalog', 'units')")
            .fetch_all(db.pool())
            .await?;
    let mut versions = (0, 0);
    for r in rows {
        let k: String = r.try_get(0)?;
        let v: i64 = r.try_get(1)?;
        if k == "catalog" {
            versions.0 = v;
        } else {
            versions.1 = v;
        }
    }
    let mut slot = cache.0.lock().await;
    if let Some((checked, r)) = slot.as_mut().filter(|(_, r)| r.versions == versions) {
        *checked = std::time::Instant::now();
        return Ok(r.clone());
    }
    let categories = crate::store::catalog::list(db)
        .await?
        .into_iter()
        .map(|c| (c.code.clone(), c))
        .collect();
    let mut rules = Vec::new();
    for r in query("SELECT category_code, area_code, unit_code FROM routing_rules")
        .fetch_all(db.pool())
        .await?
    {
        rules.push((
            opt_text(&r, "category_code")?,
            opt_text(&r, "area_code")?,
            r.try_get::<String, _>("unit_code")?,
        ));
    }
    let mut fallbacks = HashMap::new();
    for r in query(
        "SELECT code, area_code, kind FROM units WHERE area_code IS NOT NULL ORDER BY code",
    )
    .fetch_all(db.pool())
    .await?
    {
        let key = (
            r.try_get::<String, _>("area_code")?,
            r.try_get::<String, _>("kind")?,
        );
        fallbacks
            .entry(key)
            .or_insert(r.try_get::<String, _>("code")?);
    }
    let fresh = std::sync::Arc::new(Reference {
        versions,
        categories,
        routing: Routing { rules, fallbacks },
        calendar: load_calendar(db).await?,
    });
    *slot = Some((std::time::Instant::now(), fresh.clone()));
    Ok(fresh)
}
