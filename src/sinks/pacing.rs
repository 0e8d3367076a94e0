//! Pacing per destination, shared by the chat sinks: messages to one destination leave at least
//! a pace apart, in order; destinations are served at once; a warm process remembers when each
//! destination may next be posted to.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use futures::future::join_all;
use tokio::time::Instant;

use super::retry::SendError;

/// When each destination may next be posted to.
#[derive(Default)]
pub struct Pacer {
    next_slot: Mutex<HashMap<String, Instant>>,
}

impl Pacer {
    fn slot(&self, destination: &str) -> Instant {
        let slots = self.next_slot.lock().unwrap_or_else(|p| p.into_inner());
        slots.get(destination).copied().unwrap_or_else(Instant::now)
    }

    fn set_slot(&self, destination: String, at: Instant) {
        let mut slots = self.next_slot.lock().unwrap_or_else(|p| p.into_inner());
        if slots.len() > 1024 {
            let now = Instant::now();
            slots.retain(|_, t| *t > now);
        }
        slots.insert(destination, at);
    }

    /// Sends each queue's items with `send`, in order, at least `pace` apart per destination;
    /// an item whose turn comes at or past `deadline` fails unsent. The results, each with the
    /// index of its parcel.
    pub async fn send_all<T, R, F, Fut>(
        &self,
        queues: BTreeMap<String, Vec<(usize, T)>>,
        pace: Duration,
        deadline: Instant,
        send: F,
    ) -> Vec<(usize, Result<R, SendError>)>
    where
        F: Fn(usize, T) -> Fut,
        Fut: Future<Output = Result<R, SendError>>,
    {
        let send = &send;
        let sent = join_all(queues.into_iter().map(|(destination, queue)| async move {
            let mut done = Vec::new();
            let mut next = if pace.is_zero() {
                Instant::now()
            } else {
                self.slot(&destination).max(Instant::now())
            };
            for (i, item) in queue {
                if next >= deadline {
                    let late = SendError::Deadline {
                        attempts: 0,
                        last: "paced past the deadline".into(),
                    };
                    done.push((i, Err(late)));
                    continue;
                }
                // Only when pacing asks for it: a sleep rounds up to the timer's next tick.
                if next > Instant::now() {
                    tokio::time::sleep_until(next).await;
                }
                done.push((i, send(i, item).await));
                next = Instant::now() + pace;
            }
            if !pace.is_zero() {
                self.set_slot(destination, next);
            }
            done
        }))
        .await;
        sent.into_iter().flatten().collect()
    }
}
