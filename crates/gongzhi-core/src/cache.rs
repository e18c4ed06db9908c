//! The one in-process cache: a value kept per database and key, computed from data whose
//! version counters (`meta_versions`: `catalog`, `areas`, `tokens`, …) every write to that data
//! moves in its own transaction (`WriteTx::bump_version`). A [`Policy`] names the counters a
//! value depends on and how long it is used before they are read again, which is how far behind
//! another server sharing the database it may be; writes committed by this process are seen at
//! once. Whether a kept value may be used is the pure [`freshness`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::db::Db;
use crate::Result;

/// What a cached value depends on and how stale it may be.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// The version counters the value is computed from.
    pub versions: &'static [&'static str],
    /// How long the counters, once read, are trusted without reading them again: a change
    /// committed by another server is seen within this. Zero: read on every use.
    pub trust: Duration,
    /// Recomputed once this old even if no counter moved: for values that follow the clock
    /// (overdue counts), or to bound a change made in the database by hand, which moves no
    /// counter.
    pub max_age: Option<Duration>,
    /// Whether a write committed by this process is seen at once (the counters are read again
    /// on the next use); when not, this process's writes wait for `trust` like any other's
    /// (figures costly to compute while cases change all the time).
    pub own_writes_at_once: bool,
    /// At most this many values kept (then the cache starts over).
    pub keys: usize,
}

/// What to do with a kept value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Use it.
    Use,
    /// Read the counters again, then decide again.
    ReadVersions,
    /// Compute it again.
    Recompute,
}

/// A kept value and the last reading of its counters, as [`freshness`] judges them.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    /// How long ago the value was computed.
    pub age: Duration,
    /// The counters' sum it was computed at.
    pub computed_at: i64,
    /// The counters' sum last read.
    pub read: i64,
    /// How long ago they were read.
    pub since_read: Duration,
    /// Whether this process committed a write that moved one of them since.
    pub moved_here: bool,
}

/// Whether the last reading of the counters may still stand for their current sum.
pub fn reading_stands(policy: &Policy, since_read: Duration, moved_here: bool) -> bool {
    !(moved_here && policy.own_writes_at_once) && since_read <= policy.trust
}

/// Whether a kept value may be used: never past `max_age`, never on a reading of the counters
/// older than `trust` (or made before this process moved one, if its own writes are seen at
/// once), never when they moved since the value was computed.
pub fn freshness(policy: &Policy, seen: &Seen) -> Freshness {
    if policy.max_age.is_some_and(|max| seen.age >= max) {
        Freshness::Recompute
    } else if !reading_stands(policy, seen.since_read, seen.moved_here) {
        Freshness::ReadVersions
    } else if seen.computed_at != seen.read {
        Freshness::Recompute
    } else {
        Freshness::Use
    }
}

struct Kept<T> {
    value: T,
    computed: Instant,
    version: i64,
}

struct Slots<T> {
    kept: Mutex<HashMap<String, Kept<T>>>,
    /// One computation per key at a time; the others wait for its value.
    computing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            kept: Mutex::default(),
            computing: Mutex::default(),
        }
    }
}

/// The last reading of each set of counters, shared by every value that depends on them.
#[derive(Default)]
struct Readings(Mutex<HashMap<&'static [&'static str], Reading>>);

#[derive(Clone, Copy)]
struct Reading {
    sum: i64,
    at: Instant,
    /// `Db::moved_here` just before the reading.
    moved_mark: u64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Reads the counters of `policy` now and keeps the reading.
async fn read(db: &Db, readings: &Readings, policy: &Policy) -> Result<Reading> {
    let moved_mark = db.moved_here(policy.versions);
    let at = Instant::now();
    let sum = db.versions_sum(policy.versions).await?;
    let reading = Reading {
        sum,
        at,
        moved_mark,
    };
    lock(&readings.0).insert(policy.versions, reading);
    Ok(reading)
}

/// The reading of `policy`'s counters that stands now, read again if none does.
async fn current(db: &Db, readings: &Readings, policy: &Policy) -> Result<Reading> {
    let last = lock(&readings.0).get(policy.versions).copied();
    match last {
        Some(r)
            if reading_stands(
                policy,
                r.at.elapsed(),
                db.moved_here(policy.versions) != r.moved_mark,
            ) =>
        {
            Ok(r)
        }
        _ => read(db, readings, policy).await,
    }
}

/// The value kept for `key` if [`freshness`] says it may be used, else `compute`d now (after
/// reading the counters, so a write committed meanwhile is noticed next time) and kept. Callers
/// missing the same key at once wait for one computation.
pub async fn cached<T, F>(db: &Db, key: &str, policy: &Policy, compute: F) -> Result<T>
where
    T: Clone + Send + Sync + 'static,
    F: Future<Output = Result<T>>,
{
    let slots = db.extension(Slots::<T>::default);
    let readings = db.extension(Readings::default);
    if let Look::Found(value) = usable(db, &slots, &readings, key, policy).await? {
        return Ok(value);
    }
    let gate = lock(&slots.computing)
        .entry(key.to_string())
        .or_default()
        .clone();
    let _turn = gate.lock().await;
    // Computed by the caller this one waited for, and usable by the same rule.
    let reading = match usable(db, &slots, &readings, key, policy).await? {
        Look::Found(value) => return Ok(value),
        Look::Compute(Some(just_read)) => just_read,
        Look::Compute(None) => current(db, &readings, policy).await?,
    };
    let started = Instant::now();
    let value = compute.await?;
    let mut kept = lock(&slots.kept);
    if kept.len() >= policy.keys.max(1) && !kept.contains_key(key) {
        kept.clear();
        lock(&slots.computing).retain(|k, _| k == key);
    }
    kept.insert(
        key.to_string(),
        Kept {
            value: value.clone(),
            computed: started,
            version: reading.sum,
        },
    );
    Ok(value)
}

/// A kept value that may be used, or the need to compute it (with the reading of the counters
/// made on the way, if one was).
enum Look<T> {
    Found(T),
    Compute(Option<Reading>),
}

/// The kept value of `key` if it may be used, reading the counters once if need be.
async fn usable<T: Clone + Send + Sync + 'static>(
    db: &Db,
    slots: &Slots<T>,
    readings: &Readings,
    key: &str,
    policy: &Policy,
) -> Result<Look<T>> {
    let Some((computed, version)) = lock(&slots.kept).get(key).map(|k| (k.computed, k.version))
    else {
        return Ok(Look::Compute(None));
    };
    let seen = |r: &Reading, just_read: bool| Seen {
        age: computed.elapsed(),
        computed_at: version,
        read: r.sum,
        // A reading just made counts as made now, so it settles the decision.
        since_read: if just_read {
            Duration::ZERO
        } else {
            r.at.elapsed()
        },
        moved_here: db.moved_here(policy.versions) != r.moved_mark,
    };
    let last = lock(&readings.0).get(policy.versions).copied();
    let (decision, reading) = match last.map(|r| (freshness(policy, &seen(&r, false)), r)) {
        Some((Freshness::Use, r)) => (Freshness::Use, r),
        Some((Freshness::Recompute, _)) => return Ok(Look::Compute(None)),
        Some((Freshness::ReadVersions, _)) | None => {
            let r = read(db, readings, policy).await?;
            (freshness(policy, &seen(&r, true)), r)
        }
    };
    Ok(match decision {
        Freshness::Use => lock(&slots.kept)
            .get(key)
            .filter(|k| k.version == version)
            .map_or(Look::Compute(Some(reading)), |k| {
                Look::Found(k.value.clone())
            }),
        // Or this process moved a counter again while it was being read: compute.
        Freshness::Recompute | Freshness::ReadVersions => Look::Compute(Some(reading)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    proptest! {
        #[test]
        fn a_used_value_is_within_its_bounds(
            trust in 0u64..10_000,
            max_age in proptest::option::of(0u64..100_000),
            age in 0u64..200_000,
            computed_at in 0i64..5,
            read in 0i64..5,
            since_read in 0u64..20_000,
            moved_here: bool,
            at_once: bool,
        ) {
            let policy = Policy {
                versions: &["x"], trust: ms(trust), max_age: max_age.map(ms), own_writes_at_once: at_once, keys: 1,
            };
            let seen = Seen { age: ms(age), computed_at, read, since_read: ms(since_read), moved_here };
            let decision = freshness(&policy, &seen);
            if decision == Freshness::Use {
                // Computed at the counters read, no longer ago than trusted, none moved here since,
                // younger than max_age.
                prop_assert_eq!(computed_at, read);
                prop_assert!(since_read <= trust && !(moved_here && at_once));
                prop_assert!(max_age.is_none_or(|m| age < m));
            }
            // Nothing is recomputed needlessly: a value at the counters just read, younger than
            // max_age, is used.
            let stands = since_read <= trust && !(moved_here && at_once);
            if computed_at == read && stands && max_age.is_none_or(|m| age < m) {
                prop_assert_eq!(decision, Freshness::Use);
            }
            // A value past max_age is never read for: it is recomputed.
            if max_age.is_some_and(|m| age >= m) {
                prop_assert_eq!(decision, Freshness::Recompute);
            }
        }

        #[test]
        fn one_reading_settles_the_decision(
            trust in 0u64..10_000,
            max_age in proptest::option::of(0u64..100_000),
            age in 0u64..200_000,
            computed_at in 0i64..5,
            now in 0i64..5,
            at_once: bool,
        ) {
            // Just read (no time since, nothing moved): use or recompute, never read again,
            // and use exactly when the counters are where the value was computed.
            let policy = Policy {
                versions: &["x"], trust: ms(trust), max_age: max_age.map(ms), own_writes_at_once: at_once, keys: 1,
            };
            let seen = Seen { age: ms(age), computed_at, read: now, since_read: Duration::ZERO, moved_here: false };
            let decision = freshness(&policy, &seen);
            prop_assert_ne!(decision, Freshness::ReadVersions);
            let young = max_age.is_none_or(|m| age < m);
            prop_assert_eq!(decision == Freshness::Use, young && computed_at == now);
        }
    }
}
