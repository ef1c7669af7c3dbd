//! Watchers registered in the store: each names a key or range, the revision to start from,
//! and whether it wants the previous value. A new watcher first gets every event since its
//! start revision from the revision history (catch-up), then the events of every later write
//! as it is applied, so the stream is ordered and gap-free.
//!
//! Follows etcd `server/storage/mvcc/watchable_store.go` (synced/unsynced watchers,
//! `syncWatchers`) and `watcher_group.go`. Differences: catch-up happens at once when the
//! watcher is created (the whole history is in memory), and matching scans the watchers of the
//! store (the apiserver keeps few watches on etcd, one per resource, so no interval tree).
//! Each event is built once as an `Arc`; watchers that did not ask for `prev_kv` share a second
//! copy without it, built at most once per event.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::kv::{Bytes, Event, in_range};

#[derive(Clone, Debug, PartialEq)]
pub struct WatchRequest {
    pub key: Bytes,
    pub range_end: Option<Bytes>,
    /// First revision to report; 0 means "from the next write".
    pub start_revision: i64,
    pub prev_kv: bool,
}

#[derive(Clone, Debug)]
struct Watcher {
    key: Bytes,
    range_end: Option<Bytes>,
    prev_kv: bool,
    /// The lowest revision this watcher may see (etcd's `minRev`). A watch that starts past
    /// the store's revision, as a client resuming on a member that is behind does, must not
    /// get the writes the member applies while it catches up to that revision.
    min_revision: i64,
}

/// A new watcher: its id and the events between its start revision and now.
#[derive(Clone, Debug)]
pub struct WatchStart<V> {
    pub id: i64,
    pub catch_up: Vec<Arc<Event<V>>>,
}

/// Watch events produced by applying writes, per watcher, in revision order.
pub type WatchBatch<V> = Vec<(i64, Vec<Arc<Event<V>>>)>;

#[derive(Clone, Debug)]
pub struct WatcherHub<V> {
    watchers: BTreeMap<i64, Watcher>,
    next_id: i64,
    /// By watcher id, ascending: a write meets one or two watchers, and a vector taken whole
    /// by `drain` is one allocation where a map was a node and a vector more.
    pending: WatchBatch<V>,
}

impl<V> Default for WatcherHub<V> {
    fn default() -> Self {
        WatcherHub {
            watchers: BTreeMap::new(),
            next_id: 0,
            pending: Vec::new(),
        }
    }
}

impl<V: Clone> WatcherHub<V> {
    /// Registers a watcher that sees writes from `min_revision` on.
    pub(super) fn add(&mut self, req: &WatchRequest, min_revision: i64) -> i64 {
        self.next_id += 1;
        self.watchers.insert(
            self.next_id,
            Watcher {
                key: req.key.clone(),
                range_end: req.range_end.clone(),
                prev_kv: req.prev_kv,
                min_revision,
            },
        );
        self.next_id
    }

    pub fn cancel(&mut self, id: i64) -> bool {
        self.pending.retain(|(w, _)| *w != id);
        self.watchers.remove(&id).is_some()
    }

    pub fn len(&self) -> usize {
        self.watchers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.watchers.is_empty()
    }

    /// Route the events of one applied write to matching watchers.
    pub(super) fn notify(&mut self, events: Vec<Event<V>>) {
        if self.watchers.is_empty() {
            return;
        }
        for event in events {
            let full = Arc::new(event);
            let mut stripped: Option<Arc<Event<V>>> = None;
            for (id, w) in &self.watchers {
                if full.kv.mod_revision < w.min_revision
                    || !in_range(&full.kv.key, &w.key, w.range_end.as_deref())
                {
                    continue;
                }
                let e = if w.prev_kv || full.prev_kv.is_none() {
                    full.clone()
                } else {
                    stripped
                        .get_or_insert_with(|| {
                            Arc::new(Event {
                                kind: full.kind,
                                kv: full.kv.clone(),
                                prev_kv: None,
                            })
                        })
                        .clone()
                };
                match self.pending.binary_search_by_key(id, |(w, _)| *w) {
                    Ok(at) => self.pending[at].1.push(e),
                    Err(at) => self.pending.insert(at, (*id, vec![e])),
                }
            }
        }
    }

    /// Events produced since the last call, per watcher.
    pub fn drain(&mut self) -> WatchBatch<V> {
        std::mem::take(&mut self.pending)
    }
}
