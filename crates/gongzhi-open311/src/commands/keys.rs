//! `gongzhi open311 key add | revoke`: an Open311 client's API key, shown once and stored as
//! its hash, and its revocation.

use serde_json::json;

use gongzhi_core::db::Db;
use gongzhi_core::identity::Actor;
use gongzhi_core::{audit, Error, Result};

use crate::rules::requests::key_hash;
use crate::store;

/// A new key for the client `name`; the key itself, which is not kept.
pub async fn add_key(db: &Db, actor: &Actor, name: &str) -> Result<String> {
    if name.trim().is_empty() {
        return Err(Error::invalid("invalid_name", "a key needs a name"));
    }
    let key = hex::encode(rand::random::<[u8; 24]>());
    let id = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin_write().await?;
    store::keys::insert(&mut tx, &id, name.trim(), &key_hash(&key)).await?;
    audit::append(
        &mut tx,
        actor,
        "open311.key_add",
        &format!("open311_key:{id}"),
        &json!({"name": name}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(key)
}

pub async fn revoke_key(db: &Db, actor: &Actor, id: &str) -> Result<()> {
    let mut tx = db.begin_write().await?;
    if !store::keys::revoke(&mut tx, id).await? {
        return Err(Error::not_found("open311 key"));
    }
    audit::append(
        &mut tx,
        actor,
        "open311.key_revoke",
        &format!("open311_key:{id}"),
        &json!({}),
        None,
    )
    .await?;
    tx.commit().await
}
