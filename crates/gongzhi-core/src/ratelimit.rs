//! Fixed-window counters keyed by client address, in memory and per process: enough to blunt
//! floods on public endpoints (locate). Sign-in has its own throttle, in the database and shared
//! by every server (`identity::sign_in`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Limiter {
    limit: u32,
    window: Duration,
    counts: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Limiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Limiter {
            limit,
            window,
            counts: Mutex::new(HashMap::new()),
        }
    }

    fn with_entry<R>(&self, key: &str, f: impl FnOnce(&mut u32) -> R) -> R {
        let now = Instant::now();
        let mut map = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = map.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        f(&mut entry.1)
    }

    /// Counts one request; false when the key is over its limit in this window.
    pub fn hit(&self, key: &str) -> bool {
        self.with_entry(key, |n| {
            *n = n.saturating_add(1);
            *n <= self.limit
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_and_window() {
        let l = Limiter::new(3, Duration::from_millis(200));
        assert!(l.hit("a") && l.hit("a") && l.hit("a"));
        assert!(!l.hit("a"));
        assert!(l.hit("b"));
        std::thread::sleep(Duration::from_millis(250));
        assert!(l.hit("a"));
    }
}
