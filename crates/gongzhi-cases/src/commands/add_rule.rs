//! Adding a routing rule: category (and its sub-categories) × area (and its subtree) → unit.

use serde_json::json;

use crate::permissions::CATALOG_MANAGE;
use crate::store::catalog::{self, Coded};
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::{audit, Error, Result};

pub async fn add_rule(
    db: &Db,
    actor: &Actor,
    category: Option<&str>,
    area: Option<&str>,
    unit: &str,
) -> Result<String> {
    authorize(actor, CATALOG_MANAGE, &Target::global())?;
    let mut tx = db.begin_write().await?;
    for (table, value, what) in [
        (Coded::Units, Some(unit), "unit"),
        (Coded::Categories, category, "category"),
        (Coded::Areas, area, "area"),
    ] {
        if let Some(v) = value {
            if !catalog::exists(&mut tx, table, v).await? {
                return Err(Error::invalid(
                    "unknown_reference",
                    format!("no {what} {v}"),
                ));
            }
        }
    }
    let id = catalog::insert_rule(&mut tx, category, area, unit).await?;
    tx.bump_version("routing").await?;
    audit::append(
        &mut tx,
        actor,
        "routing_rule.create",
        &format!("routing_rule:{id}"),
        &json!({"category": category, "area": area, "unit": unit}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}
