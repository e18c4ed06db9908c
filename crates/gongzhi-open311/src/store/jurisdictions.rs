//! Jurisdictions: the districts this deployment serves.

use gongzhi_core::db::query;
use gongzhi_core::db::Db;
use gongzhi_core::Result;

/// Is `code` one of our districts?
pub async fn is_district(db: &Db, code: &str) -> Result<bool> {
    let known = query("SELECT code FROM areas WHERE level = 'district' AND code = $1")
        .bind(code)
        .fetch_optional(db.pool())
        .await?;
    Ok(known.is_some())
}
