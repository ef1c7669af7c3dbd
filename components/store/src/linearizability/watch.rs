//! Checks what one watcher received against what the store committed: a watch on a key prefix
//! from a start revision must deliver, in revision order, every committed change to a key
//! under the prefix at or after that revision, each exactly once (etcd's watch guarantees,
//! `Documentation/learning/api_guarantees.md`: ordered, reliable, atomic; events of one
//! multi-key transaction share a revision and keep their order).
//!
//! A delivered event must therefore be the next expected one. Anything else is classified:
//! a revision lower than the previous event's is out of order, the same (revision, key) twice
//! is a duplicate, a revision beyond the next expected one means that one was skipped, and an
//! event the store never committed is a phantom. Expected events not yet delivered when the
//! list ends are not an error (the watch may still be open); [`WatchSummary`] counts them.
//!
//! The committed log is either the store's own change log or, from a client history,
//! [`CommittedLog::from_history`]: writes that returned with a header revision are known
//! events; writes that timed out or returned without a revision are uncertain, and an
//! unexpected event that matches one of them (same key and effect, at a revision no known
//! event holds) is taken as that write surfacing. Simplification: a skipped uncertain write
//! cannot be detected, since nothing says it took effect.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::history::{Completion, History, Input, Output, TxnWrite};

/// What a change did to its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    Put { value: String },
    Delete,
}

/// One change as a watcher receives it (etcd `mvccpb.Event` with its kv's mod revision).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchEvent {
    pub revision: i64,
    pub key: String,
    pub kind: EventKind,
}

/// A committed change whose revision is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UncertainChange {
    pub key: String,
    pub kind: EventKind,
}

/// The changes the store committed, in revision order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommittedLog {
    pub events: Vec<WatchEvent>,
    pub uncertain: Vec<UncertainChange>,
}

impl CommittedLog {
    /// A log from the store's own record of changes; sorted by revision, keeping the order
    /// of changes that share one.
    pub fn from_events(mut events: Vec<WatchEvent>) -> Self {
        events.sort_by_key(|e| e.revision);
        CommittedLog {
            events,
            uncertain: Vec::new(),
        }
    }

    /// The changes a client history shows: writes that returned with a revision are known,
    /// writes that may have changed the key without saying at which revision are uncertain.
    pub fn from_history(history: &History) -> Self {
        let mut log = CommittedLog::default();
        for op in history.ops() {
            let write = match &op.input {
                Input::Get => None,
                Input::Put { value } => Some(EventKind::Put {
                    value: value.clone(),
                }),
                Input::Delete => Some(EventKind::Delete),
                Input::Txn { then, .. } => Some(match then {
                    TxnWrite::Put { value } => EventKind::Put {
                        value: value.clone(),
                    },
                    TxnWrite::Delete => EventKind::Delete,
                }),
            };
            let Some(kind) = write else { continue };
            let (changed, revision) = match &op.completion {
                Completion::Indeterminate => (true, None),
                Completion::Returned { response, .. } => {
                    let changed = match response.output {
                        Output::Delete { deleted } => deleted,
                        Output::Txn { succeeded } => succeeded,
                        Output::Put | Output::Get { .. } => true,
                    };
                    (changed, response.revision)
                }
            };
            if !changed {
                continue;
            }
            let key = op.key.clone();
            match revision {
                Some(revision) => log.events.push(WatchEvent {
                    revision,
                    key,
                    kind,
                }),
                None => log.uncertain.push(UncertainChange { key, kind }),
            }
        }
        log.events.sort_by_key(|e| e.revision);
        log
    }
}

/// What the watch was asked for: keys starting with `prefix`, from `start_revision` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchSpec {
    pub prefix: String,
    pub start_revision: i64,
}

/// A watch that kept its guarantees, and how far it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchSummary {
    pub delivered: usize,
    /// Expected events after the last delivered one (the watch may still be open).
    pub undelivered: usize,
}

/// How a watch broke its guarantees; `position` is the index of the offending received event.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WatchViolation {
    #[error("event {position} at revision {revision} came after revision {previous}: out of order")]
    OutOfOrder {
        position: usize,
        revision: i64,
        previous: i64,
    },
    #[error("event {position} repeats revision {revision} of key {key:?}")]
    Duplicate {
        position: usize,
        revision: i64,
        key: String,
    },
    #[error("event {position} at revision {received} skipped {missing:?}")]
    Skipped {
        position: usize,
        received: i64,
        missing: WatchEvent,
    },
    #[error("event {position} is {received:?}, expected {expected:?}")]
    Mismatch {
        position: usize,
        received: WatchEvent,
        expected: WatchEvent,
    },
    #[error(
        "event {position} is outside the watch (prefix {prefix:?}, from revision {start}): {event:?}"
    )]
    OutsideWatch {
        position: usize,
        event: WatchEvent,
        prefix: String,
        start: i64,
    },
    #[error("event {position} was never committed: {event:?}")]
    Phantom { position: usize, event: WatchEvent },
}

/// Checks `received`, in delivery order, against `log` for the watch `spec`.
pub fn check_watch(
    received: &[WatchEvent],
    log: &CommittedLog,
    spec: &WatchSpec,
) -> Result<WatchSummary, WatchViolation> {
    let expected: Vec<&WatchEvent> = log
        .events
        .iter()
        .filter(|e| e.key.starts_with(&spec.prefix) && e.revision >= spec.start_revision)
        .collect();
    let known_revisions: BTreeSet<i64> = log.events.iter().map(|e| e.revision).collect();
    let mut uncertain_used = vec![false; log.uncertain.len()];
    let mut next = 0;
    let mut previous: Option<&WatchEvent> = None;

    for (position, event) in received.iter().enumerate() {
        if let Some(previous) = previous {
            if event.revision < previous.revision {
                return Err(WatchViolation::OutOfOrder {
                    position,
                    revision: event.revision,
                    previous: previous.revision,
                });
            }
            if event.revision == previous.revision && event.key == previous.key {
                return Err(WatchViolation::Duplicate {
                    position,
                    revision: event.revision,
                    key: event.key.clone(),
                });
            }
        }
        if !event.key.starts_with(&spec.prefix) || event.revision < spec.start_revision {
            return Err(WatchViolation::OutsideWatch {
                position,
                event: event.clone(),
                prefix: spec.prefix.clone(),
                start: spec.start_revision,
            });
        }
        previous = Some(event);
        let want = expected.get(next).copied();
        if want == Some(event) {
            next += 1;
            continue;
        }
        if let Some(want) = want {
            if event.revision > want.revision {
                return Err(WatchViolation::Skipped {
                    position,
                    received: event.revision,
                    missing: want.clone(),
                });
            }
            if event.revision == want.revision {
                return Err(WatchViolation::Mismatch {
                    position,
                    received: event.clone(),
                    expected: want.clone(),
                });
            }
        }
        let surfaced = (!known_revisions.contains(&event.revision))
            .then(|| {
                log.uncertain
                    .iter()
                    .zip(&uncertain_used)
                    .position(|(u, used)| !used && u.key == event.key && u.kind == event.kind)
            })
            .flatten();
        match surfaced {
            Some(index) => uncertain_used[index] = true,
            None => {
                return Err(WatchViolation::Phantom {
                    position,
                    event: event.clone(),
                });
            }
        }
    }
    Ok(WatchSummary {
        delivered: received.len(),
        undelivered: expected.len() - next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(revision: i64, key: &str, value: &str) -> WatchEvent {
        WatchEvent {
            revision,
            key: key.to_string(),
            kind: EventKind::Put {
                value: value.to_string(),
            },
        }
    }

    fn delete(revision: i64, key: &str) -> WatchEvent {
        WatchEvent {
            revision,
            key: key.to_string(),
            kind: EventKind::Delete,
        }
    }

    /// Revisions 2..=7: /pods/a, /nodes/x, /pods/b, /pods/a deleted, a two-key txn at 6,
    /// /pods/c.
    fn store_log() -> CommittedLog {
        CommittedLog::from_events(vec![
            put(2, "/pods/a", "1"),
            put(3, "/nodes/x", "n"),
            put(4, "/pods/b", "1"),
            delete(5, "/pods/a"),
            put(6, "/pods/d", "1"),
            put(6, "/pods/e", "1"),
            put(7, "/pods/c", "1"),
        ])
    }

    fn pods_from(start_revision: i64) -> WatchSpec {
        WatchSpec {
            prefix: "/pods/".to_string(),
            start_revision,
        }
    }

    #[test]
    fn linearizability_watch_accepts_complete_ordered_stream() {
        let received = [
            put(2, "/pods/a", "1"),
            put(4, "/pods/b", "1"),
            delete(5, "/pods/a"),
            put(6, "/pods/d", "1"),
            put(6, "/pods/e", "1"),
            put(7, "/pods/c", "1"),
        ];
        let summary = check_watch(&received, &store_log(), &pods_from(1)).unwrap();
        assert_eq!(
            summary,
            WatchSummary {
                delivered: 6,
                undelivered: 0
            }
        );
    }

    #[test]
    fn linearizability_watch_accepts_late_start_and_open_tail() {
        let received = [delete(5, "/pods/a"), put(6, "/pods/d", "1")];
        let summary = check_watch(&received, &store_log(), &pods_from(5)).unwrap();
        assert_eq!(summary.undelivered, 2);
    }

    #[test]
    fn linearizability_watch_rejects_skipped_revision() {
        let received = [put(2, "/pods/a", "1"), delete(5, "/pods/a")];
        let err = check_watch(&received, &store_log(), &pods_from(1)).unwrap_err();
        assert_eq!(
            err,
            WatchViolation::Skipped {
                position: 1,
                received: 5,
                missing: put(4, "/pods/b", "1"),
            }
        );
    }

    #[test]
    fn linearizability_watch_rejects_out_of_order_delivery() {
        let received = [
            put(2, "/pods/a", "1"),
            delete(5, "/pods/a"),
            put(4, "/pods/b", "1"),
        ];
        let err = check_watch(&received, &store_log(), &pods_from(1)).unwrap_err();
        // The first wrong event already skips revision 4; reordering shows as that skip.
        assert!(matches!(err, WatchViolation::Skipped { position: 1, .. }));
        let swapped = [put(4, "/pods/b", "1"), put(2, "/pods/a", "1")];
        let err = check_watch(&swapped, &store_log(), &pods_from(3)).unwrap_err();
        assert_eq!(
            err,
            WatchViolation::OutOfOrder {
                position: 1,
                revision: 2,
                previous: 4
            }
        );
    }

    #[test]
    fn linearizability_watch_rejects_duplicate_and_phantom() {
        let received = [put(2, "/pods/a", "1"), put(2, "/pods/a", "1")];
        let err = check_watch(&received, &store_log(), &pods_from(1)).unwrap_err();
        assert!(matches!(
            err,
            WatchViolation::Duplicate {
                position: 1,
                revision: 2,
                ..
            }
        ));

        let received = [put(2, "/pods/a", "1"), put(3, "/pods/zz", "1")];
        let err = check_watch(&received, &store_log(), &pods_from(1)).unwrap_err();
        assert!(matches!(err, WatchViolation::Phantom { position: 1, .. }));

        let received = [put(2, "/pods/a", "2")];
        let err = check_watch(&received, &store_log(), &pods_from(1)).unwrap_err();
        assert!(matches!(err, WatchViolation::Mismatch { position: 0, .. }));

        let received = [put(3, "/nodes/x", "n")];
        let err = check_watch(&received, &store_log(), &pods_from(1)).unwrap_err();
        assert!(matches!(
            err,
            WatchViolation::OutsideWatch { position: 0, .. }
        ));
    }

    #[test]
    fn linearizability_watch_uncertain_write_may_surface_once() {
        let mut log = store_log();
        log.uncertain.push(UncertainChange {
            key: "/pods/t".to_string(),
            kind: EventKind::Put {
                value: "t".to_string(),
            },
        });
        let received = [put(4, "/pods/b", "1"), put(8, "/pods/t", "t")];
        // Revision 8 is beyond every known event, so 5, 6, 7 are skipped first.
        assert!(matches!(
            check_watch(&received, &log, &pods_from(3)),
            Err(WatchViolation::Skipped { position: 1, .. })
        ));
        let all = [
            put(7, "/pods/c", "1"),
            put(8, "/pods/t", "t"),
            put(9, "/pods/t", "t"),
        ];
        // Surfaces at 8; a second copy at 9 has no uncertain write left to explain it.
        assert!(matches!(
            check_watch(&all, &log, &pods_from(7)),
            Err(WatchViolation::Phantom { position: 2, .. })
        ));
        assert!(check_watch(&all[..2], &log, &pods_from(7)).is_ok());
    }
}
