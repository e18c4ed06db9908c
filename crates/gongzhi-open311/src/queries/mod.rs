//! What Open311 reads: services, requests and their updates as the public may see them, and
//! the client behind an API key.

pub mod keys;
pub mod requests;
pub mod services;
pub mod updates;

use gongzhi_core::db::Db;
use gongzhi_core::{Error, Result};

use crate::model::form::Params;

/// `jurisdiction_id`, when given, must be one of ours: a district's code.
pub async fn check_jurisdiction(db: &Db, p: &Params) -> Result<()> {
    let Some(j) = p.get("jurisdiction_id") else {
        return Ok(());
    };
    if crate::store::jurisdictions::is_district(db, j).await? {
        Ok(())
    } else {
        Err(Error::invalid(
            "unknown_jurisdiction",
            format!("jurisdiction_id {j} is not served here"),
        ))
    }
}
