//! Sets a service's attributes (those who manage the catalog); an empty list removes the
//! definition.

use serde_json::json;

use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::{audit, Result};

use crate::model::attributes::Attribute;
use crate::rules::attributes::check_definition;
use crate::store;

pub async fn save(db: &Db, actor: &Actor, service: &str, attrs: &[Attribute]) -> Result<()> {
    authorize(
        actor,
        gongzhi_cases::permissions::CATALOG_MANAGE,
        &Target::global(),
    )?;
    gongzhi_cases::store::catalog::get(db, service).await?;
    check_definition(attrs)?;
    let mut tx = db.begin_write().await?;
    store::attributes::replace(&mut tx, service, attrs).await?;
    audit::append(
        &mut tx,
        actor,
        "open311.attributes",
        &format!("category:{service}"),
        &json!(attrs),
        None,
    )
    .await?;
    tx.commit().await
}
