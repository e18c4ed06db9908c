//! Service attribute definitions (`open311_attributes`, one JSON document per service).

use gongzhi_core::db::{Db, WriteTx};
use gongzhi_core::{Error, Result};

use crate::model::attributes::Attribute;
use gongzhi_core::db::query;

/// A service's attributes in their order; none when it has no definition.
pub async fn of(db: &Db, service: &str) -> Result<Vec<Attribute>> {
    let row = query("SELECT definition FROM open311_attributes WHERE service_code = $1")
        .bind(service)
        .fetch_optional(db.pool())
        .await?;
    match row {
        None => Ok(vec![]),
        Some(r) => {
            let mut v: Vec<Attribute> = serde_json::from_str(&r.try_get::<String, _>(0)?)
                .map_err(|e| Error::internal(format!("stored attributes: {e}")))?;
            v.sort_by_key(|a| a.order);
            Ok(v)
        }
    }
}

/// Services that have a definition (their `metadata` is true).
pub async fn defined(db: &Db) -> Result<Vec<String>> {
    let rows = query("SELECT service_code FROM open311_attributes")
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// Replaces a service's definition; an empty list removes it.
pub async fn replace(tx: &mut WriteTx, service: &str, attrs: &[Attribute]) -> Result<()> {
    query("DELETE FROM open311_attributes WHERE service_code = $1")
        .bind(service)
        .execute(tx.conn())
        .await?;
    if !attrs.is_empty() {
        query("INSERT INTO open311_attributes (service_code, definition) VALUES ($1, $2)")
            .bind(service)
            .bind(serde_json::to_string(attrs).map_err(Error::internal)?)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}
