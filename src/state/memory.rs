//! What this process remembers between warm invocations: bounded caches with a time to live
//! (API answers, flood windows, task stops, deployment threads), and which parts of which events
//! it delivered (for redeliveries).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Locks a memory of this process. A poisoned lock only means another thread panicked
/// mid-update; the data stays usable.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Keeps at most `capacity` entries, forgetting the oldest first; entries older than `ttl`
/// are not returned. A key is stored once, shared by the map and the order.
#[derive(Debug)]
pub struct Cache<V> {
    capacity: usize,
    ttl: Option<Duration>,
    entries: HashMap<Arc<str>, (Instant, V)>,
    order: VecDeque<Arc<str>>,
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
        match self.entries.get_mut(key.as_str()) {
            Some(entry) => *entry = (Instant::now(), value),
            None => {
                let key: Arc<str> = key.into();
                self.entries
                    .insert(Arc::clone(&key), (Instant::now(), value));
                self.order.push_back(key);
            }
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
            .filter_map(|key| Some((key.to_string(), self.get(key)?)))
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
/// Bounded: the oldest keys are forgotten first. Each key holds its parts as bits, one per part
/// name seen (there are a handful).
#[derive(Debug)]
pub struct DeliveryLog {
    capacity: usize,
    names: Vec<&'static str>,
    parts: HashMap<Arc<str>, u16>,
    order: VecDeque<Arc<str>>,
}

impl DeliveryLog {
    /// A log that remembers at most `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            names: Vec::new(),
            parts: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The parts delivered under any of `keys` (an event is known by several keys).
    pub fn delivered(&self, keys: &[String]) -> BTreeSet<&'static str> {
        let bits = keys
            .iter()
            .filter_map(|key| self.parts.get(key.as_str()))
            .fold(0, |all, bits| all | bits);
        self.names
            .iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, name)| *name)
            .collect()
    }

    /// Records that `part` was delivered for the event known by `keys`.
    pub fn record(&mut self, keys: &[String], part: &'static str) {
        let bit = match self.names.iter().position(|n| *n == part) {
            Some(i) => 1 << i,
            None if self.names.len() < 16 => {
                self.names.push(part);
                1 << (self.names.len() - 1)
            }
            // More part names than bits: never the case (the sinks have four).
            None => return,
        };
        for key in keys {
            match self.parts.get_mut(key.as_str()) {
                Some(bits) => *bits |= bit,
                None => {
                    let key: Arc<str> = key.as_str().into();
                    self.parts.insert(Arc::clone(&key), bit);
                    self.order.push_back(key);
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
