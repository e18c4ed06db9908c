//! Open311 clients: who is behind an API key, and the keys there are.

use gongzhi_core::db::Db;
use gongzhi_core::identity::{Actor, ActorKind, Assignment, Role};
use gongzhi_core::time::format_ms;
use gongzhi_core::{Error, Result};

use crate::rules::requests::key_hash;
use crate::store;

/// The client behind an API key, as an actor that may report in public categories only.
pub async fn client_of(db: &Db, key: Option<&str>) -> Result<Actor> {
    let key = key.ok_or_else(|| Error::Forbidden("api_key is required".into()))?;
    let name = store::keys::client_name(db, &key_hash(key))
        .await?
        .ok_or_else(|| Error::Forbidden("the api_key is unknown or revoked".into()))?;
    Ok(Actor {
        kind: ActorKind::System,
        user_id: None,
        username: format!("open311:{name}"),
        assignments: vec![Assignment {
            role: Role::RESIDENT,
            area: None,
            unit: None,
        }],
    })
}

/// `gongzhi open311 key list`: keys as (id, name, created, revoked).
pub async fn list_keys(db: &Db) -> Result<Vec<(String, String, String, Option<String>)>> {
    Ok(store::keys::list(db)
        .await?
        .into_iter()
        .map(|k| {
            (
                k.id,
                k.name,
                format_ms(k.created_at),
                k.revoked_at.map(format_ms),
            )
        })
        .collect())
}
