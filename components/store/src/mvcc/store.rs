//! The MVCC key-value store: every write creates a new revision; reads see any revision not
//! yet compacted; watchers see every change in order. It is a pure state machine applied from
//! committed Raft entries (`apply`), plus reads (`range`) and watch registration.
//!
//! Follows etcd `server/storage/mvcc/kvstore.go`, `kvstore_txn.go` and
//! `server/etcdserver/apply/apply.go` (Txn compare/then/else, `checkRequestPut`). One write
//! request is one main revision; each change in it takes the next sub revision. A request
//! that changes nothing (a Delete of missing keys, a read-only Txn) does not create a
//! revision. Compaction keeps, for each key, the latest version at or before the compaction
//! revision (and drops keys deleted by then), as etcd does.
//!
//! The key index and the records are persistent ordered maps (`imbl::OrdMap`, a B+tree whose
//! nodes are shared between copies and copied on write), so that a Raft snapshot
//! ([`MvccStore::snapshot`], every `snapshot_count` entries on every member) shares the trees
//! with the live store instead of copying them: a copy of both trees was ~5% of the
//! process's peak heap at 300 workers. Ordered maps only: iteration order is the keys'.

use std::ops::Bound;
use std::sync::Arc;

use imbl::OrdMap;

use super::error::MvccError;
use super::key_index::KeyIndex;
use super::kv::{Bytes, Event, EventType, KeyValue, Value, in_range};
use super::lease::LeaseTable;
use super::request::*;
use super::revision::Revision;
use super::watch::{WatchRequest, WatchStart, WatcherHub};

/// Operations per Txn branch, as etcd's `--max-txn-ops` default.
pub const MAX_TXN_OPS: usize = 128;
/// Bytes charged per stored revision besides key and value, for the DB size estimate.
const RECORD_OVERHEAD_BYTES: usize = 64;

#[derive(Clone, Debug)]
struct Record<V> {
    kv: KeyValue<V>,
    tombstone: bool,
}

#[derive(Clone, Debug)]
pub struct MvccStore<V> {
    index: OrdMap<Bytes, KeyIndex>,
    /// The keys whose index is `dirty`: only they can have history to drop, so a compaction
    /// visits them rather than every key.
    dirty: Vec<Bytes>,
    records: OrdMap<Revision, Record<V>>,
    current_revision: i64,
    compact_revision: i64,
    leases: LeaseTable,
    watchers: WatcherHub<V>,
    size_bytes: usize,
}

impl<V: Value + Default> Default for MvccStore<V> {
    fn default() -> Self {
        Self::new()
    }
}

/// The changes of one write request in progress.
struct WriteTxn<V> {
    main: i64,
    sub: i64,
    events: Vec<Event<V>>,
}

impl<V> WriteTxn<V> {
    fn next_rev(&mut self) -> Revision {
        let r = Revision::new(self.main, self.sub);
        self.sub += 1;
        r
    }
}

impl<V: Value + Default> MvccStore<V> {
    pub fn new() -> Self {
        // etcd starts at revision 1 (the empty store's revision).
        MvccStore {
            index: OrdMap::new(),
            dirty: Vec::new(),
            records: OrdMap::new(),
            current_revision: 1,
            compact_revision: 0,
            leases: LeaseTable::default(),
            watchers: WatcherHub::default(),
            size_bytes: 0,
        }
    }

    pub fn current_revision(&self) -> i64 {
        self.current_revision
    }

    pub fn compact_revision(&self) -> i64 {
        self.compact_revision
    }

    pub fn leases(&self) -> &LeaseTable {
        &self.leases
    }

    pub fn watchers(&mut self) -> &mut WatcherHub<V> {
        &mut self.watchers
    }

    /// Estimated size of the data, as `Status` reports DB size.
    pub fn size_bytes(&self) -> usize {
        self.size_bytes
    }

    fn check_read_revision(&self, revision: i64) -> Result<i64, MvccError> {
        let at = if revision <= 0 {
            self.current_revision
        } else {
            revision
        };
        if at > self.current_revision {
            return Err(MvccError::FutureRevision {
                current_revision: self.current_revision,
            });
        }
        if at < self.compact_revision {
            return Err(MvccError::Compacted {
                compact_revision: self.compact_revision,
            });
        }
        Ok(at)
    }

    fn visible(&self, key: &Bytes, at: i64) -> Option<&KeyValue<V>> {
        visible_in(&self.records, self.index.get(key)?, at)
    }

    fn keys_in<'a>(
        &'a self,
        key: &'a [u8],
        range_end: Option<&'a [u8]>,
    ) -> impl Iterator<Item = &'a Bytes> + 'a {
        let upper = match range_end {
            None => Bound::Included(key),
            Some([0]) => Bound::Unbounded,
            Some(end) => Bound::Excluded(end),
        };
        // An end at or before the key is an empty range, as in etcd.
        let empty = matches!(upper, Bound::Excluded(end) if end <= key);
        // (Included(k), Excluded(k)) is empty (std's BTreeMap::range panics on two Excluded(k)).
        let upper = if empty { Bound::Excluded(key) } else { upper };
        let bounds: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Included(key), upper);
        self.index.range::<_, [u8]>(bounds).map(|(k, _)| k)
    }

    pub fn range(&self, req: &RangeRequest) -> Result<RangeResponse<V>, MvccError> {
        if req.key.is_empty() {
            return Err(MvccError::EmptyKey);
        }
        let at = self.check_read_revision(req.revision)?;
        let mut kvs = Vec::new();
        let mut count = 0i64;
        let limit = if req.limit > 0 {
            req.limit as usize
        } else {
            usize::MAX
        };
        for key in self.keys_in(&req.key, req.range_end.as_deref()) {
            let Some(kv) = self.visible(key, at) else {
                continue;
            };
            count += 1;
            if req.count_only || kvs.len() >= limit {
                continue;
            }
            let mut kv = kv.clone();
            if req.keys_only {
                kv.value = V::default();
            }
            kvs.push(kv);
        }
        let more = (kvs.len() as i64) < count && !req.count_only;
        Ok(RangeResponse {
            revision: self.current_revision,
            kvs,
            count,
            more,
        })
    }

    /// Apply one committed write; every member gets the same result.
    pub fn apply(&mut self, req: &WriteRequest<V>) -> Result<WriteResponse<V>, MvccError> {
        match req {
            WriteRequest::Put(p) => {
                self.check_put(p)?;
                let mut w = self.begin();
                let resp = self.put(&mut w, p, None);
                self.commit(w);
                Ok(WriteResponse::Put(PutResponse {
                    revision: self.current_revision,
                    ..resp
                }))
            }
            WriteRequest::DeleteRange(d) => {
                if d.key.is_empty() {
                    return Err(MvccError::EmptyKey);
                }
                let mut w = self.begin();
                let resp = self.delete_range(&mut w, d);
                self.commit(w);
                Ok(WriteResponse::DeleteRange(DeleteRangeResponse {
                    revision: self.current_revision,
                    ..resp
                }))
            }
            WriteRequest::Txn(t) => self.txn(t).map(WriteResponse::Txn),
            WriteRequest::Compact { revision } => self
                .compact(*revision)
                .map(|revision| WriteResponse::Compact { revision }),
            WriteRequest::LeaseGrant { id, ttl_seconds } => {
                let (id, ttl) = self
                    .leases
                    .grant(*id, *ttl_seconds)
                    .ok_or(MvccError::LeaseExists)?;
                Ok(WriteResponse::LeaseGrant {
                    revision: self.current_revision,
                    id,
                    ttl_seconds: ttl,
                })
            }
            WriteRequest::LeaseRevoke { id } => {
                let lease = self.leases.remove(*id).ok_or(MvccError::LeaseNotFound)?;
                let mut w = self.begin();
                for key in lease.keys {
                    let d = DeleteRangeRequest {
                        key,
                        range_end: None,
                        prev_kv: false,
                    };
                    self.delete_range(&mut w, &d);
                }
                self.commit(w);
                Ok(WriteResponse::LeaseRevoke {
                    revision: self.current_revision,
                })
            }
        }
    }

    fn begin(&self) -> WriteTxn<V> {
        WriteTxn {
            main: self.current_revision + 1,
            sub: 0,
            events: Vec::new(),
        }
    }

    fn commit(&mut self, w: WriteTxn<V>) {
        if w.sub > 0 {
            self.current_revision = w.main;
        }
        self.watchers.notify(w.events);
    }

    fn check_put(&self, p: &PutRequest<V>) -> Result<(), MvccError> {
        if p.key.is_empty() {
            return Err(MvccError::EmptyKey);
        }
        if p.lease != 0 && !self.leases.contains(p.lease) {
            return Err(MvccError::LeaseNotFound);
        }
        Ok(())
    }

    /// `known`: the key's value now, when the caller has just read it.
    fn put(
        &mut self,
        w: &mut WriteTxn<V>,
        p: &PutRequest<V>,
        known: Option<Option<KeyValue<V>>>,
    ) -> PutResponse<V> {
        let rev = w.next_rev();
        // One search of the index for both the previous value and the new revision.
        let records = &self.records;
        let prev = match self.index.get_mut(&p.key) {
            Some(ki) => {
                let prev = match known {
                    Some(prev) => {
                        debug_assert_eq!(
                            prev.as_ref().map(|kv| kv.mod_revision),
                            visible_in(records, ki, i64::MAX).map(|kv| kv.mod_revision)
                        );
                        prev
                    }
                    None => visible_in(records, ki, i64::MAX).cloned(),
                };
                ki.put(rev);
                if !ki.dirty {
                    ki.dirty = true;
                    self.dirty.push(p.key.clone());
                }
                prev
            }
            None => {
                let mut ki = KeyIndex::default();
                ki.put(rev);
                ki.dirty = true;
                self.index.insert(p.key.clone(), ki);
                self.dirty.push(p.key.clone());
                None
            }
        };
        let (create_revision, version) = match &prev {
            Some(kv) => (kv.create_revision, kv.version + 1),
            None => (rev.main, 1),
        };
        let kv = KeyValue {
            key: p.key.clone(),
            create_revision,
            mod_revision: rev.main,
            version,
            value: p.value.clone(),
            lease: p.lease,
        };
        if let Some(old) = &prev
            && old.lease != p.lease
        {
            self.leases.detach(old.lease, &p.key);
        }
        if p.lease != 0 {
            self.leases.attach(p.lease, &p.key);
        }
        self.size_bytes += p.key.len() + p.value.size_bytes() + RECORD_OVERHEAD_BYTES;
        self.records.insert(
            rev,
            Record {
                kv: kv.clone(),
                tombstone: false,
            },
        );
        let reply_prev = if p.prev_kv { prev.clone() } else { None };
        w.events.push(Event {
            kind: EventType::Put,
            kv,
            prev_kv: prev,
        });
        PutResponse {
            revision: rev.main,
            prev_kv: reply_prev,
        }
    }

    fn delete_range(
        &mut self,
        w: &mut WriteTxn<V>,
        d: &DeleteRangeRequest,
    ) -> DeleteRangeResponse<V> {
        let keys: Vec<Bytes> = self
            .keys_in(&d.key, d.range_end.as_deref())
            .filter(|k| self.visible(k, i64::MAX).is_some())
            .cloned()
            .collect();
        let mut prev_kvs = Vec::new();
        for key in &keys {
            let Some(prev) = self.visible(key, i64::MAX).cloned() else {
                continue;
            };
            let rev = w.next_rev();
            if let Some(ki) = self.index.get_mut(key) {
                ki.tombstone(rev);
                if !ki.dirty {
                    ki.dirty = true;
                    self.dirty.push(key.clone());
                }
            }
            self.leases.detach(prev.lease, key);
            let tomb = KeyValue {
                key: key.clone(),
                create_revision: 0,
                mod_revision: rev.main,
                version: 0,
                value: prev.value.clone(),
                lease: 0,
            };
            self.size_bytes += key.len() + RECORD_OVERHEAD_BYTES;
            self.records.insert(
                rev,
                Record {
                    kv: tomb.clone(),
                    tombstone: true,
                },
            );
            let mut event_kv = tomb;
            event_kv.value = V::default();
            w.events.push(Event {
                kind: EventType::Delete,
                kv: event_kv,
                prev_kv: Some(prev.clone()),
            });
            if d.prev_kv {
                prev_kvs.push(prev);
            }
        }
        DeleteRangeResponse {
            revision: w.main,
            deleted: keys.len() as i64,
            prev_kvs,
        }
    }

    fn compare_holds(&self, c: &Compare<V>, at: i64) -> bool {
        match &c.range_end {
            // The usual case (a guarded update of one key): no vector.
            None => compare_one(c, self.visible(&c.key, at)),
            Some(end) => {
                let mut found = self
                    .keys_in(&c.key, Some(end))
                    .filter_map(|k| self.visible(k, at))
                    .peekable();
                if found.peek().is_none() {
                    compare_one(c, None)
                } else {
                    found.all(|kv| compare_one(c, Some(kv)))
                }
            }
        }
    }

    fn check_ops(&self, ops: &[RequestOp<V>]) -> Result<(), MvccError> {
        if ops.len() > MAX_TXN_OPS {
            return Err(MvccError::TooManyOps);
        }
        let mut put_keys: Vec<&Bytes> = Vec::new();
        for op in ops {
            match op {
                RequestOp::Put(p) => {
                    self.check_put(p)?;
                    if put_keys.contains(&&p.key) {
                        return Err(MvccError::DuplicateKey);
                    }
                    put_keys.push(&p.key);
                }
                RequestOp::Range(r) => {
                    if r.key.is_empty() {
                        return Err(MvccError::EmptyKey);
                    }
                    self.check_read_revision(r.revision)?;
                }
                RequestOp::DeleteRange(d) => {
                    if d.key.is_empty() {
                        return Err(MvccError::EmptyKey);
                    }
                }
            }
        }
        // etcd refuses a Put to a key that a Delete in the same Txn also covers.
        for op in ops {
            if let RequestOp::DeleteRange(d) = op
                && put_keys
                    .iter()
                    .any(|k| in_range(k, &d.key, d.range_end.as_deref()))
            {
                return Err(MvccError::DuplicateKey);
            }
        }
        Ok(())
    }

    fn txn(&mut self, t: &TxnRequest<V>) -> Result<TxnResponse<V>, MvccError> {
        if t.compare.len() > MAX_TXN_OPS {
            return Err(MvccError::TooManyOps);
        }
        self.check_ops(&t.success)?;
        self.check_ops(&t.failure)?;
        let at = self.current_revision;
        let (succeeded, mut known) = match t.compare.as_slice() {
            [c] if c.range_end.is_none() => {
                let kv = self.visible(&c.key, at);
                let succeeded = compare_one(c, kv);
                let ops = if succeeded { &t.success } else { &t.failure };
                // A guarded write (a compare of one key, then a put of it: the apiserver's
                // every update) reads the key once: what the compare saw at the current
                // revision is what the put replaces.
                let known = match ops.first() {
                    Some(RequestOp::Put(p)) if p.key == c.key => Some(kv.cloned()),
                    _ => None,
                };
                (succeeded, known)
            }
            compare => (compare.iter().all(|c| self.compare_holds(c, at)), None),
        };
        let ops = if succeeded { &t.success } else { &t.failure };
        let mut w = self.begin();
        let mut responses = Vec::with_capacity(ops.len());
        for op in ops {
            responses.push(match op {
                RequestOp::Range(r) => {
                    // Reads in a Txn see its earlier writes, at the Txn's revision.
                    let mut r = r.clone();
                    if r.revision == 0 && w.sub > 0 {
                        let saved = self.current_revision;
                        self.current_revision = w.main;
                        let res = self.range(&r);
                        self.current_revision = saved;
                        ResponseOp::Range(res?)
                    } else {
                        r.revision = r.revision.min(self.current_revision);
                        ResponseOp::Range(self.range(&r)?)
                    }
                }
                // Only the first op can use what the compare read: nothing is written yet.
                RequestOp::Put(p) => ResponseOp::Put(self.put(&mut w, p, known.take())),
                RequestOp::DeleteRange(d) => ResponseOp::DeleteRange(self.delete_range(&mut w, d)),
            });
        }
        self.commit(w);
        let revision = self.current_revision;
        for r in &mut responses {
            match r {
                ResponseOp::Range(x) => x.revision = revision,
                ResponseOp::Put(x) => x.revision = revision,
                ResponseOp::DeleteRange(x) => x.revision = revision,
            }
        }
        Ok(TxnResponse {
            revision,
            succeeded,
            responses,
        })
    }

    /// Drop every version older than the latest at or before `revision`.
    pub fn compact(&mut self, revision: i64) -> Result<i64, MvccError> {
        if revision <= self.compact_revision {
            return Err(MvccError::Compacted {
                compact_revision: self.compact_revision,
            });
        }
        if revision > self.current_revision {
            return Err(MvccError::FutureRevision {
                current_revision: self.current_revision,
            });
        }
        // A key not written since a compaction left it with one write at or before that
        // compaction's revision has nothing to drop now: only the dirty keys are visited.
        let mut dropped = Vec::new();
        let mut still_dirty = Vec::new();
        for key in std::mem::take(&mut self.dirty) {
            let Some(ki) = self.index.get_mut(&key) else {
                continue;
            };
            ki.compact(revision, &mut dropped);
            if ki.is_empty() {
                self.index.remove(&key);
            } else if ki.written_after(revision) {
                still_dirty.push(key);
            } else {
                ki.dirty = false;
            }
        }
        self.dirty = still_dirty;
        for r in dropped {
            if let Some(rec) = self.records.remove(&r) {
                let size = rec.kv.key.len()
                    + RECORD_OVERHEAD_BYTES
                    + if rec.tombstone {
                        0
                    } else {
                        rec.kv.value.size_bytes()
                    };
                self.size_bytes = self.size_bytes.saturating_sub(size);
            }
        }
        self.compact_revision = revision;
        Ok(revision)
    }

    /// Register a watcher; returns its id and the events since its start revision.
    pub fn watch(&mut self, req: &WatchRequest) -> Result<WatchStart<V>, MvccError> {
        if req.key.is_empty() {
            return Err(MvccError::EmptyKey);
        }
        if req.start_revision > 0 && req.start_revision <= self.compact_revision {
            return Err(MvccError::Compacted {
                compact_revision: self.compact_revision,
            });
        }
        let mut catch_up = Vec::new();
        if req.start_revision > 0 {
            for (rev, rec) in self.records.range(Revision::new(req.start_revision, 0)..) {
                if !in_range(&rec.kv.key, &req.key, req.range_end.as_deref()) {
                    continue;
                }
                let prev = if req.prev_kv {
                    self.visible(&rec.kv.key, rev.main - 1).cloned()
                } else {
                    None
                };
                let event = if rec.tombstone {
                    let mut kv = rec.kv.clone();
                    kv.value = V::default();
                    Event {
                        kind: EventType::Delete,
                        kv,
                        prev_kv: prev,
                    }
                } else {
                    Event {
                        kind: EventType::Put,
                        kv: rec.kv.clone(),
                        prev_kv: prev,
                    }
                };
                catch_up.push(Arc::new(event));
            }
        }
        let id = self
            .watchers
            .add(req, req.start_revision.max(self.current_revision() + 1));
        Ok(WatchStart { id, catch_up })
    }

    /// An independent copy for a Raft snapshot: same data, no watchers (they are per member).
    /// The trees are shared until either side writes (see the module's doc).
    pub fn snapshot(&self) -> Self {
        MvccStore {
            index: self.index.clone(),
            dirty: self.dirty.clone(),
            records: self.records.clone(),
            current_revision: self.current_revision,
            compact_revision: self.compact_revision,
            leases: self.leases.clone(),
            watchers: WatcherHub::default(),
            size_bytes: self.size_bytes,
        }
    }

    /// Load a snapshot, keeping this member's watchers (which must then resync: see server).
    pub fn restore(&mut self, snap: &Self) {
        let watchers = std::mem::take(&mut self.watchers);
        *self = snap.snapshot();
        self.watchers = watchers;
    }
}

/// Whether the compare `c` holds for one key's visible value (`None`: the key is absent).
fn compare_one<V: Value>(c: &Compare<V>, kv: Option<&KeyValue<V>>) -> bool {
    let ord = match (&c.target, kv) {
        (CompareTarget::Value(v), Some(kv)) => kv.value.compare_value(v),
        (CompareTarget::Value(_), None) => None,
        (CompareTarget::Version(x), kv) => Some(kv.map_or(0, |k| k.version).cmp(x)),
        (CompareTarget::CreateRevision(x), kv) => Some(kv.map_or(0, |k| k.create_revision).cmp(x)),
        (CompareTarget::ModRevision(x), kv) => Some(kv.map_or(0, |k| k.mod_revision).cmp(x)),
        (CompareTarget::Lease(x), kv) => Some(kv.map_or(0, |k| k.lease).cmp(x)),
    };
    let Some(ord) = ord else { return false };
    match c.op {
        CompareOp::Equal => ord.is_eq(),
        CompareOp::NotEqual => ord.is_ne(),
        CompareOp::Less => ord.is_lt(),
        CompareOp::Greater => ord.is_gt(),
    }
}

/// The value of the key indexed by `ki` visible at `at`, unless deleted by then.
fn visible_in<'a, V>(
    records: &'a OrdMap<Revision, Record<V>>,
    ki: &KeyIndex,
    at: i64,
) -> Option<&'a KeyValue<V>> {
    let found = ki.get(at)?;
    records
        .get(&found.modified)
        .filter(|r| !r.tombstone)
        .map(|r| &r.kv)
}
