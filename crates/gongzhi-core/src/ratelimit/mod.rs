//! Fixed-window counters keyed by client address (the public locate endpoint), shared by every
//! server on the database. Sign-in has its own throttle, in the database (`identity::sign_in`).
//!
//! A request never waits on the database: each process counts locally and a flusher adds its
//! counts to the key's shared window row every `FLUSH_EVERY` (100 ms), reading the total of every
//! server back. Windows are aligned to the wall clock (`window_start`), so servers agree on them.
//!
//! **Bound.** A key is admitted while what this process last read of the shared total plus what
//! it counted since stays within the limit (`admits`). The total can go over the limit only by
//! what the servers admit for that key between two of their flushes (one flush interval plus one
//! database round trip each: with N servers, at most N × (that key's rate per server × ~100 ms)),
//! and never beyond N × the limit, since each server also counts its own hits. A key whose counts
//! could not be flushed (database unreachable, or more than `KEYS_PER_FLUSH` busy keys at once)
//! is limited per process until the next flush.

mod store;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::db::Db;
use crate::Result;

pub use store::MIGRATION;

/// How often a server adds its counts to the shared rows and reads the totals back.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// The busiest keys flushed at once; the rest wait for the next flush.
const KEYS_PER_FLUSH: usize = 2_000;

/// The start (ms since the epoch) of the fixed window `now_ms` falls in.
pub fn window_start(now_ms: i64, window_ms: i64) -> i64 {
    let w = window_ms.max(1);
    now_ms.div_euclid(w) * w
}

/// Whether one more hit is admitted when the shared total last read is `seen` and this process
/// counted `pending` since.
pub fn admits(seen: u64, pending: u64, limit: u32) -> bool {
    seen.saturating_add(pending) < u64::from(limit)
}

#[derive(Debug, Clone, Copy)]
struct Count {
    window: i64,
    /// The shared total as last read (every server's flushed hits, this one's included).
    seen: u64,
    /// Admitted here and not yet added to the shared row.
    pending: u64,
}

pub struct Limiter {
    /// Prefix of this limiter's keys in the shared table (`locate`).
    scope: &'static str,
    limit: u32,
    window_ms: i64,
    counts: Mutex<HashMap<String, Count>>,
    flushes: AtomicU32,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Limiter {
    pub fn new(scope: &'static str, limit: u32, window: Duration) -> Self {
        Limiter {
            scope,
            limit,
            window_ms: (window.as_millis() as i64).max(1),
            counts: Mutex::new(HashMap::new()),
            flushes: AtomicU32::new(0),
        }
    }

    /// Counts one request; false when the key is over its limit in this window.
    pub fn hit(&self, key: &str) -> bool {
        self.hit_at(key, now_ms())
    }

    fn hit_at(&self, key: &str, now: i64) -> bool {
        let window = window_start(now, self.window_ms);
        let mut map = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, c| c.window == window);
        }
        let c = map.entry(key.to_string()).or_insert(Count {
            window,
            seen: 0,
            pending: 0,
        });
        if c.window != window {
            *c = Count {
                window,
                seen: 0,
                pending: 0,
            };
        }
        let admitted = admits(c.seen, c.pending, self.limit);
        if admitted {
            c.pending += 1;
        }
        admitted
    }

    /// Adds this process's counts to the shared rows and reads every server's totals back;
    /// forgets the windows that ended.
    pub async fn flush(&self, db: &Db) -> Result<()> {
        let window = window_start(now_ms(), self.window_ms);
        let mut batch: Vec<(String, i64, u64)> = {
            let mut map = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            map.retain(|_, c| c.window == window);
            let mut busy: Vec<_> = map
                .iter()
                .filter(|(_, c)| c.pending > 0)
                .map(|(k, c)| (k.clone(), c.window, c.pending))
                .collect();
            busy.sort_unstable_by(|a, b| b.2.cmp(&a.2));
            busy.truncate(KEYS_PER_FLUSH);
            for (k, _, n) in &busy {
                if let Some(c) = map.get_mut(k) {
                    c.pending -= n;
                }
            }
            busy
        };
        if batch.is_empty() {
            return Ok(());
        }
        let rows: Vec<(String, i64, i64)> = batch
            .iter()
            .map(|(k, w, n)| (format!("{}:{k}", self.scope), *w, *n as i64))
            .collect();
        // Every 100th flush also forgets the windows that ended a minute of windows ago.
        let forget = (self.flushes.fetch_add(1, Ordering::Relaxed) % 100 == 0)
            .then_some(window - 60 * self.window_ms);
        let totals = match store::add(db, &rows, forget).await {
            Ok(t) => t,
            Err(e) => {
                // Put the counts back so the next flush carries them.
                let mut map = self.counts.lock().unwrap_or_else(|e| e.into_inner());
                for (k, w, n) in batch.drain(..) {
                    if let Some(c) = map.get_mut(&k).filter(|c| c.window == w) {
                        c.pending += n;
                    }
                }
                return Err(e);
            }
        };
        let mut map = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        for ((k, w, _), total) in batch.iter().zip(totals) {
            if let Some(c) = map.get_mut(k).filter(|c| c.window == *w) {
                c.seen = c.seen.max(total.max(0) as u64);
            }
        }
        Ok(())
    }
}

/// Flushes `limiter` every `FLUSH_EVERY` for the life of the server.
pub fn spawn_flusher(limiter: Arc<Limiter>, db: Db) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(FLUSH_EVERY).await;
            if let Err(e) = limiter.flush(&db).await {
                tracing::warn!(error = %e, scope = limiter.scope, "rate counts could not be shared");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn limits_per_key_and_window() {
        let l = Limiter::new("t", 3, Duration::from_millis(200));
        assert!(l.hit_at("a", 1_000) && l.hit_at("a", 1_010) && l.hit_at("a", 1_199));
        assert!(!l.hit_at("a", 1_199));
        assert!(l.hit_at("b", 1_199));
        assert!(l.hit_at("a", 1_200));
    }

    proptest! {
        #[test]
        fn a_window_holds_its_instant(now in -1_000_000_000_000i64..4_000_000_000_000, w in 1i64..10_000_000) {
            let s = window_start(now, w);
            prop_assert!(s <= now && now < s + w);
            prop_assert_eq!(s.rem_euclid(w), 0);
            prop_assert_eq!(window_start(s, w), s);
            prop_assert_eq!(window_start(s + w - 1, w), s);
        }

        #[test]
        fn admitted_hits_never_pass_the_limit(seen in 0u64..1_000, limit in 0u32..1_000, tries in 0usize..3_000) {
            // One process alone: what it admits plus what it saw never exceeds the limit.
            let mut pending = 0u64;
            for _ in 0..tries {
                if admits(seen, pending, limit) {
                    pending += 1;
                }
            }
            prop_assert!(pending <= u64::from(limit).saturating_sub(seen));
            prop_assert!(seen >= u64::from(limit) || pending == (u64::from(limit) - seen).min(tries as u64));
        }

        #[test]
        fn servers_together_stay_within_the_bound(
            limit in 1u32..200,
            // Per flush round, how many hits each of two servers receives.
            rounds in proptest::collection::vec((0u64..50, 0u64..50), 1..40),
        ) {
            // Two servers counting locally, flushing after every round: the shared total is
            // over the limit by at most what both admitted in the round that crossed it.
            let (mut total, mut seen) = (0u64, [0u64; 2]);
            let mut worst_round = 0u64;
            for (a, b) in rounds {
                let mut admitted = [0u64; 2];
                for (i, n) in [a, b].into_iter().enumerate() {
                    for _ in 0..n {
                        if admits(seen[i], admitted[i], limit) {
                            admitted[i] += 1;
                        }
                    }
                }
                worst_round = worst_round.max(admitted[0] + admitted[1]);
                total += admitted[0] + admitted[1];
                seen = [total, total];
            }
            prop_assert!(total <= u64::from(limit) + worst_round);
            prop_assert!(total <= 2 * u64::from(limit));
        }
    }
}
