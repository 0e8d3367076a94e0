//! What this process remembers between warm invocations: bounded caches with a time to live
//! (API answers, flood windows, task stops, deployment threads), and which parts of which events
//! it delivered (for redeliveries).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Locks a memory of this process. A poisoned lock only means another thread panicked
/// mid-update; the data stays usable.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Keeps at most `capacity` entries, forgetting the oldest first; entries older than `ttl`
/// are not returned.
#[derive(Debug)]
pub struct Cache<V> {
    capacity: usize,
    ttl: Option<Duration>,
    entries: HashMap<String, (Instant, V)>,
    order: VecDeque<String>,
}

impl<V: Clone> Cache<V> {
    pub fn new(capacity: usize, ttl: Option<Duration>) -> Self {
        Self {
            capacity: capacity.max(1),
            ttl,
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    pub fn get(&self, key: &str) -> Option<V> {
        let (at, value) = self.entries.get(key)?;
        match self.ttl {
            Some(ttl) if at.elapsed() > ttl => None,
            _ => Some(value.clone()),
        }
    }

    pub fn insert(&mut self, key: String, value: V) {
        if self
            .entries
            .insert(key.clone(), (Instant::now(), value))
            .is_none()
        {
            self.order.push_back(key);
        }
        while self.order.len() > self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.entries.remove(&oldest);
            }
        }
    }

    /// Every entry still fresh, oldest first.
    pub fn entries(&self) -> Vec<(String, V)> {
        self.order
            .iter()
            .filter_map(|key| Some((key.clone(), self.get(key)?)))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Remembers, for recent events, which parts (`slack`, `datadog.series`, …) were delivered.
/// Bounded: the oldest keys are forgotten first.
#[derive(Debug)]
pub struct DeliveryLog {
    capacity: usize,
    parts: HashMap<String, BTreeSet<&'static str>>,
    order: VecDeque<String>,
}

impl DeliveryLog {
    /// A log that remembers at most `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            parts: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The parts delivered under any of `keys` (an event is known by several keys).
    pub fn delivered(&self, keys: &[String]) -> BTreeSet<&'static str> {
        keys.iter()
            .filter_map(|key| self.parts.get(key))
            .flatten()
            .copied()
            .collect()
    }

    /// Records that `part` was delivered for the event known by `keys`.
    pub fn record(&mut self, keys: &[String], part: &'static str) {
        for key in keys {
            match self.parts.get_mut(key) {
                Some(parts) => {
                    parts.insert(part);
                }
                None => {
                    self.parts.insert(key.clone(), BTreeSet::from([part]));
                    self.order.push_back(key.clone());
                }
            }
        }
        while self.order.len() > self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.parts.remove(&oldest);
            }
        }
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_expiring() {
        let mut c = Cache::new(2, None);
        c.insert("a".into(), 1);
        c.insert("b".into(), 2);
        c.insert("a".into(), 3);
        assert_eq!(c.get("a"), Some(3));
        c.insert("c".into(), 4);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("a"), None, "oldest key forgotten");
        let mut t = Cache::new(2, Some(Duration::ZERO));
        t.insert("a".into(), 1);
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(t.get("a"), None);
    }

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn any_key_finds_the_delivery() {
        let mut log = DeliveryLog::new(10);
        log.record(&keys(&["id:1", "task:a#5"]), "slack");
        assert_eq!(
            log.delivered(&keys(&["id:2", "task:a#5"])),
            BTreeSet::from(["slack"])
        );
        assert_eq!(log.delivered(&keys(&["id:1"])), BTreeSet::from(["slack"]));
        assert!(log.delivered(&keys(&["id:3", "task:a#6"])).is_empty());
        log.record(&keys(&["id:1"]), "datadog.series");
        assert_eq!(log.delivered(&keys(&["id:1"])).len(), 2);
    }

    #[test]
    fn bounded() {
        let mut log = DeliveryLog::new(3);
        for i in 0..10 {
            log.record(&[format!("id:{i}")], "slack");
        }
        assert_eq!(log.len(), 3);
        assert!(log.delivered(&keys(&["id:0"])).is_empty());
        assert!(!log.delivered(&keys(&["id:9"])).is_empty());
    }
}
