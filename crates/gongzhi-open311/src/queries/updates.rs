//! Updates: each step of the loop and each outside system's update, on public requests.

use serde_json::Value;

use gongzhi_cases::queries::published;
use gongzhi_core::db::Db;
use gongzhi_core::time::now_ms;
use gongzhi_core::Result;

use super::services::names;
use crate::georeport::shapes;
use crate::model::form::{updates_window, Params};

pub async fn list(db: &Db, p: &Params) -> Result<Vec<Value>> {
    let (_, public) = names(db).await?;
    let (after, before) = updates_window(p, now_ms())?;
    let feed = published::feed(db, &public, after, before).await?;
    Ok(feed.iter().map(shapes::update).collect())
}
