//! Services: the public sub-categories of the catalog, with their attribute definitions.

use serde_json::{Map, Value};

use gongzhi_cases::model::catalog::Category;
use gongzhi_cases::store::catalog;
use gongzhi_core::db::Db;
use gongzhi_core::{Error, Result};

use crate::georeport::shapes;
use crate::model::attributes::Attribute;
use crate::rules::requests::is_service;
use crate::store;

/// Every service, in the catalog's order.
pub async fn list(db: &Db) -> Result<Vec<Value>> {
    let all = catalog::list(db).await?;
    let defined = store::attributes::defined(db).await?;
    Ok(all
        .iter()
        .filter(|c| is_service(c))
        .map(|c| {
            let group = all
                .iter()
                .find(|g| Some(&g.code) == c.parent_code.as_ref())
                .map(|g| g.name.clone())
                .unwrap_or_default();
            shapes::service(c, &group, defined.contains(&c.code))
        })
        .collect())
}

/// A service by its code; not found when the category is not a service.
pub async fn get(db: &Db, code: &str) -> Result<Category> {
    catalog::get(db, code)
        .await
        .ok()
        .filter(is_service)
        .ok_or_else(|| Error::not_found(format!("service {code}")))
}

/// A service's definition document; none when the code names no service.
pub async fn definition(db: &Db, code: &str) -> Result<Option<Value>> {
    let Ok(c) = get(db, code).await else {
        return Ok(None);
    };
    let attrs = store::attributes::of(db, &c.code).await?;
    Ok(Some(shapes::definition(&c.code, &attrs)))
}

/// A service's attributes in their order.
pub async fn attributes(db: &Db, code: &str) -> Result<Vec<Attribute>> {
    store::attributes::of(db, code).await
}

/// Every category's name by code, and the codes that are services.
pub async fn names(db: &Db) -> Result<(Map<String, Value>, Vec<String>)> {
    let all = catalog::list(db).await?;
    let public: Vec<String> = all
        .iter()
        .filter(|c| is_service(c))
        .map(|c| c.code.clone())
        .collect();
    Ok((
        all.into_iter()
            .map(|c| (c.code, Value::String(c.name)))
            .collect(),
        public,
    ))
}
