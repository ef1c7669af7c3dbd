//! Controller expectations: how many creations and which deletions a controller is still
//! waiting to see in its informer cache before it trusts the cache enough to act again.
//!
//! Follows `pkg/controller/controller_utils.go` (`ControllerExpectations`,
//! `UIDTrackingControllerExpectations`): `expect_creations(key, n)` / `expect_deletions(key,
//! pod keys)` before the writes; every pod add seen (or failed create) lowers the count, every
//! pod deletion seen (or failed delete) removes its key; a key is satisfied when nothing is
//! outstanding, when no expectation was ever recorded, or when the record is older than
//! `ExpectationsTimeout` (5 min), so a lost watch event cannot block a controller for ever.
//! Deletions are tracked by pod key rather than uid (keys are what the informer reports).

use std::collections::{BTreeMap, BTreeSet};

use sim::{Duration, Time};

/// `ExpectationsTimeout`.
pub const EXPECTATIONS_TIMEOUT: Duration = Duration::from_mins(5);

#[derive(Clone, Debug, Default)]
struct Record {
    adds: i64,
    deletes: BTreeSet<String>,
    set_at: Time,
}

#[derive(Clone, Debug, Default)]
pub struct Expectations {
    records: BTreeMap<String, Record>,
}

impl Expectations {
    /// `SatisfiedExpectations`.
    pub fn satisfied(&self, key: &str, now: Time) -> bool {
        match self.records.get(key) {
            None => true,
            Some(r) => {
                (r.adds <= 0 && r.deletes.is_empty())
                    || now.saturating_since(r.set_at) > EXPECTATIONS_TIMEOUT
            }
        }
    }

    pub fn expect_creations(&mut self, key: &str, n: i64, now: Time) {
        self.records.insert(
            key.to_string(),
            Record {
                adds: n,
                deletes: BTreeSet::new(),
                set_at: now,
            },
        );
    }

    pub fn expect_deletions(&mut self, key: &str, pods: Vec<String>, now: Time) {
        self.records.insert(
            key.to_string(),
            Record {
                adds: 0,
                deletes: pods.into_iter().collect(),
                set_at: now,
            },
        );
    }

    /// `SetExpectations(key, adds, dels)`: both kinds at once (the DaemonSet and Job
    /// controllers create and delete in the same sync).
    pub fn expect(&mut self, key: &str, adds: i64, deletes: Vec<String>, now: Time) {
        self.records.insert(
            key.to_string(),
            Record {
                adds,
                deletes: deletes.into_iter().collect(),
                set_at: now,
            },
        );
    }

    /// A pod add for `key` was seen, or a create failed.
    pub fn creation_observed(&mut self, key: &str) {
        if let Some(r) = self.records.get_mut(key) {
            r.adds -= 1;
        }
    }

    /// `pod` was seen going away (or its delete failed).
    pub fn deletion_observed(&mut self, key: &str, pod: &str) {
        if let Some(r) = self.records.get_mut(key) {
            r.deletes.remove(pod);
        }
    }

    /// The owner is gone.
    pub fn forget(&mut self, key: &str) {
        self.records.remove(key);
    }

    pub fn clear(&mut self) {
        self.records.clear();
    }

    /// (creations, deletions) still expected, for tests.
    pub fn pending(&self, key: &str) -> (i64, usize) {
        self.records
            .get(key)
            .map_or((0, 0), |r| (r.adds.max(0), r.deletes.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn satisfied_after_observations_or_timeout() {
        let mut e = Expectations::default();
        let t0 = Time::from_secs(10);
        assert!(e.satisfied("ns/rs", t0), "no record");
        e.expect_creations("ns/rs", 2, t0);
        assert!(!e.satisfied("ns/rs", t0));
        e.creation_observed("ns/rs");
        assert!(!e.satisfied("ns/rs", t0));
        e.creation_observed("ns/rs");
        assert!(e.satisfied("ns/rs", t0));
        e.expect_deletions("ns/rs", vec!["ns/a".into(), "ns/b".into()], t0);
        e.deletion_observed("ns/rs", "ns/a");
        assert!(!e.satisfied("ns/rs", t0));
        assert!(e.satisfied("ns/rs", t0.saturating_add(Duration::from_secs(301))));
        e.deletion_observed("ns/rs", "ns/b");
        assert!(e.satisfied("ns/rs", t0));
    }
}
