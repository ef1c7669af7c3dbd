//! Per-key exponential back-off: what delays a crashed container's restart (CrashLoopBackOff)
//! and a failed image pull's retry (ImagePullBackOff).
//!
//! Follows client-go `util/flowcontrol/backoff.go` as the kubelet uses it (F29, F30):
//! `Next(key, eventTime)` starts an entry at the initial delay or doubles it up to the cap,
//! stamping `lastUpdate = now`; an entry whose event is more than 2 × max (10 min with the
//! 300 s cap) after its last update has expired and starts over — the "reset after 10 minutes
//! running" rule. `IsInBackOffSince(key, eventTime)`: `now - eventTime < backoff`.
//! With the kubelet's `doBackOff` this gives an immediate first restart, then waits of 10, 20,
//! 40, 80, 160, 300, 300 … s after each crash. Simplification: no jitter (upstream has none
//! here either); expired entries are dropped when touched, not by a GC loop.

use std::collections::BTreeMap;

use sim::{Duration, Time};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    backoff: Duration,
    last_update: Time,
}

/// Back-off state by key.
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    entries: BTreeMap<String, Entry>,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            entries: BTreeMap::new(),
        }
    }

    fn expired(&self, event: Time, e: &Entry) -> bool {
        event.saturating_since(e.last_update) > self.max.saturating_mul(2)
    }

    /// `Next`: records a failure at `event` (seen at `now`).
    pub fn next(&mut self, key: &str, event: Time, now: Time) {
        let fresh = Entry {
            backoff: self.initial,
            last_update: now,
        };
        let entry = match self.entries.get(key) {
            Some(e) if !self.expired(event, e) => Entry {
                backoff: e.backoff.saturating_mul(2).min(self.max),
                last_update: now,
            },
            _ => fresh,
        };
        self.entries.insert(key.to_string(), entry);
    }

    /// `IsInBackOffSince`: until when the thing that failed at `event` must wait, if it must.
    pub fn in_backoff_since(&self, key: &str, event: Time, now: Time) -> Option<Time> {
        let e = self.entries.get(key)?;
        if self.expired(event, e) {
            return None;
        }
        let until = event.saturating_add(e.backoff);
        (now < until).then_some(until)
    }

    /// `IsInBackOffSinceUpdate`: the image puller's check, from the last update.
    pub fn in_backoff_since_update(&self, key: &str, now: Time) -> Option<Time> {
        let e = self.entries.get(key)?;
        let until = e.last_update.saturating_add(e.backoff);
        (now < until).then_some(until)
    }

    /// The current delay for `key`.
    pub fn get(&self, key: &str) -> Option<Duration> {
        self.entries.get(key).map(|e| e.backoff)
    }

    /// Forgets `key` (its pod is gone).
    pub fn remove_prefix(&mut self, prefix: &str) {
        let keys: Vec<String> = self
            .entries
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            self.entries.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A container that crashes 5 s after each start: restarts come 0, 10, 20, 40, 80, 160,
    /// 300, 300 s after each crash.
    #[test]
    fn crash_loop_delays_double_to_the_cap() {
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(300));
        let mut now = Time::from_secs(5);
        let mut waits = Vec::new();
        for _ in 0..8 {
            let crashed = now;
            let wait = match b.in_backoff_since("c", crashed, now) {
                Some(until) => until.saturating_since(now),
                None => Duration::ZERO,
            };
            now = now.saturating_add(wait);
            assert!(b.in_backoff_since("c", crashed, now).is_none());
            b.next("c", crashed, now);
            waits.push(wait.as_secs());
            now = now.saturating_add(Duration::from_secs(5));
        }
        assert_eq!(waits, vec![0, 10, 20, 40, 80, 160, 300, 300]);
    }

    #[test]
    fn ten_minutes_without_a_failure_resets_it() {
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(300));
        b.next("c", Time::ZERO, Time::ZERO);
        b.next("c", Time::from_secs(20), Time::from_secs(20));
        assert_eq!(b.get("c"), Some(Duration::from_secs(20)));
        let later = Time::from_secs(20 + 601);
        assert!(b.in_backoff_since("c", later, later).is_none());
        b.next("c", later, later);
        assert_eq!(b.get("c"), Some(Duration::from_secs(10)));
    }
}
