//! Reading the routing rules (the catalog itself is public: `store::catalog::list`).

use crate::model::catalog::RoutingRule;
use crate::permissions::CATALOG_MANAGE;
use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::Result;

/// Every routing rule, for those who may change them (the whole district's routing).
pub async fn routing_rules(db: &Db, actor: &Actor) -> Result<Vec<RoutingRule>> {
    authorize(actor, CATALOG_MANAGE, &Target::global())?;
    crate::store::catalog::routing_rules(db).await
}
