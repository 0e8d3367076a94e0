//! What this process has already delivered, per event, so a redelivery does not post twice.

use std::collections::{BTreeSet, HashMap, VecDeque};

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
