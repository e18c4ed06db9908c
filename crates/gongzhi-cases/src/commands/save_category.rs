//! Saving a category of the catalog (administrators), and seeding an empty catalog.

use serde_json::json;

use crate::model::catalog::{seed_categories, validate, Category};
use crate::permissions::CATALOG_MANAGE;
use crate::store::catalog::{self, Coded};
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::{audit, Error, Result};

/// Creates or replaces a category; `true` when it is new.
pub async fn save_category(db: &Db, actor: &Actor, c: &Category) -> Result<bool> {
    authorize(actor, CATALOG_MANAGE, &Target::global())?;
    validate(c)?;
    let mut tx = db.begin_write().await?;
    if let Some(p) = &c.parent_code {
        if !catalog::exists(&mut tx, Coded::Categories, p).await? {
            return Err(Error::invalid("unknown_parent", format!("no category {p}")));
        }
    }
    if let Some(u) = &c.default_unit {
        if !catalog::exists(&mut tx, Coded::Units, u).await? {
            return Err(Error::invalid("unknown_unit", format!("no unit {u}")));
        }
    }
    let exists = catalog::exists(&mut tx, Coded::Categories, &c.code).await?;
    catalog::write(&mut tx, c, !exists).await?;
    tx.bump_version("catalog").await?;
    audit::append(
        &mut tx,
        actor,
        if exists {
            "category.update"
        } else {
            "category.create"
        },
        &format!("category:{}", c.code),
        &json!(c),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(!exists)
}

/// Loads the seed catalog into an empty table (one audited transaction).
pub async fn seed_if_empty(db: &Db) -> Result<()> {
    if catalog::count(db).await? > 0 {
        return Ok(());
    }
    let cats = seed_categories();
    let mut tx = db.begin_write().await?;
    for c in &cats {
        catalog::write(&mut tx, c, true).await?;
    }
    tx.bump_version("catalog").await?;
    audit::append(
        &mut tx,
        &Actor::system("seed"),
        "catalog.seed",
        &format!("categories:{}", cats.len()),
        &json!(cats),
        None,
    )
    .await?;
    tx.commit().await
}
