//! The one in-process cache: a value kept per database and key, valid while the version it was
//! computed at is current (a `meta_versions` counter such as `areas`, so every process serving
//! the database sees a change). Modules say what a value depends on by the version they pass.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use crate::db::Db;
use crate::Result;

/// Values kept per key, at most this many per type (then the cache starts over).
const KEYS: usize = 256;

struct Slots<T>(Mutex<HashMap<String, (i64, T)>>);

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots(Mutex::new(HashMap::new()))
    }
}

/// The value kept for `key` if it was computed at `version`, else `compute`d now and kept. Two
/// callers missing at once may both compute; the later one's value is kept.
pub async fn cached<T, F>(db: &Db, key: &str, version: i64, compute: F) -> Result<T>
where
    T: Clone + Send + Sync + 'static,
    F: Future<Output = Result<T>>,
{
    let slots = db.extension(Slots::<T>::default);
    let hit = slots
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(key)
        .filter(|(v, _)| *v == version)
        .map(|(_, value)| value.clone());
    if let Some(value) = hit {
        return Ok(value);
    }
    let value = compute.await?;
    let mut map = slots.0.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= KEYS && !map.contains_key(key) {
        map.clear();
    }
    map.insert(key.to_string(), (version, value.clone()));
    Ok(value)
}
