//! The reference data intake decides with — categories, routing rules, units by area and the
//! working calendar — read once and cached until their version moves.

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::catalog::Category;
use crate::rules::routing::Routing;
use gongzhi_core::cache::{cached, Policy};
use gongzhi_core::calendar::WorkCalendar;
use gongzhi_core::db::query;
use gongzhi_core::db::{opt_text, Db};
use gongzhi_core::Result;

/// The working calendar deadlines are computed on (named `default`).
pub async fn load_calendar(db: &Db) -> Result<WorkCalendar> {
    gongzhi_core::calendar::load(db, "default").await
}

/// Categories, routing rules, units by area and the calendar, reloaded when their version moves.
pub struct Reference {
    pub categories: HashMap<String, Category>,
    pub routing: Routing,
    pub calendar: WorkCalendar,
}

/// Every change to the catalog, the rules, the calendar or the units moves one of these
/// versions; intake reads them at most every 0.5 s, so another server's change is used for new
/// cases within that (this server's at once).
const REFERENCE: Policy = Policy {
    versions: &["catalog", "routing", "calendar", "units"],
    trust: std::time::Duration::from_millis(500),
    max_age: None,
    own_writes_at_once: true,
    keys: 1,
};

pub async fn reference(db: &Db) -> Result<Arc<Reference>> {
    cached(db, "reference", &REFERENCE, load(db)).await
}

async fn load(db: &Db) -> Result<Arc<Reference>> {
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
    for r in
        query("SELECT code, area_code, kind FROM units WHERE area_code IS NOT NULL ORDER BY code")
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
    Ok(Arc::new(Reference {
        categories,
        routing: Routing { rules, fallbacks },
        calendar: load_calendar(db).await?,
    }))
}
