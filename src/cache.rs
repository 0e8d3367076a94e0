//! A small bounded cache with an optional time to live, for API answers kept across invocations.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

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

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
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
}
