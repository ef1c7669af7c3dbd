//! A host's disk: an ordered key→value store whose writes are pending until fsync.
//!
//! Writes (put, delete, delete_range) apply at once to what reads see, and are appended to a
//! pending list. An fsync makes a prefix of that list durable: [`Disk::sync`] at once, or
//! [`crate::Ctx::fsync`] after the configured fsync latency with an `on_fsync` callback, which
//! is how a Raft member expresses "persist, then acknowledge". A crash throws away every pending
//! write (reads then see the durable state); [`crate::Fault::DiskLoss`] wipes both.
//!
//! Values are `Arc<dyn Any>`: a component may store bytes (`Vec<u8>`) or its own typed records
//! without serializing them, and downcasts on recovery. Keys sort as strings; [`index_key`]
//! makes zero-padded keys for logs so that they sort by index.
//!
//! Simplification: there are no files, sizes or torn writes; a write is atomic per key, and
//! pending writes become durable strictly in the order they were made (a real disk may reorder
//! unsynced writes before a crash).

use std::any::Any;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// A stored value: bytes or any typed record, shared.
pub type DiskValue = Arc<dyn Any>;

#[derive(Debug)]
enum Op {
    Put(String, DiskValue),
    Delete(String),
    DeleteRange(String, String),
}

/// One host's disk. Shared by the actors of the host; give keys a per-component prefix.
#[derive(Debug, Default)]
pub struct Disk {
    current: BTreeMap<String, DiskValue>,
    durable: BTreeMap<String, DiskValue>,
    /// Writes not yet durable, each with its sequence number.
    pending: VecDeque<(u64, Op)>,
    next_op: u64,
    writes: u64,
    syncs: u64,
}

/// `prefix/` followed by `index` zero-padded to 20 digits, so log keys sort by index.
pub fn index_key(prefix: &str, index: u64) -> String {
    // By hand: a Raft log writes one per entry, and `format!` with padding cost more than the
    // disk's own insert.
    let mut digits = [b'0'; 20];
    let mut n = index;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut key = String::with_capacity(prefix.len() + 21);
    key.push_str(prefix);
    key.push('/');
    key.extend(digits.iter().map(|&d| char::from(d)));
    key
}

impl Disk {
    /// An empty disk.
    pub fn new() -> Disk {
        Disk::default()
    }

    /// Stores `value` under `key` (pending until synced).
    pub fn put<T: Any>(&mut self, key: impl Into<String>, value: T) {
        self.put_shared(key, Arc::new(value));
    }

    /// Stores an already shared value under `key` (pending until synced).
    pub fn put_shared(&mut self, key: impl Into<String>, value: DiskValue) {
        let key = key.into();
        self.current.insert(key.clone(), value.clone());
        self.log(Op::Put(key, value));
    }

    /// Removes `key` (pending until synced).
    pub fn delete(&mut self, key: &str) {
        if self.current.remove(key).is_some() {
            self.log(Op::Delete(key.to_owned()));
        }
    }

    /// Removes every key in `[start, end)` (pending until synced): log truncation and compaction.
    pub fn delete_range(&mut self, start: &str, end: &str) {
        if start >= end {
            return;
        }
        remove_range(&mut self.current, start, end);
        self.log(Op::DeleteRange(start.to_owned(), end.to_owned()));
    }

    /// The value under `key` if it is a `T` (pending writes included).
    pub fn get<T: Any>(&self, key: &str) -> Option<&T> {
        self.current.get(key).and_then(|v| v.downcast_ref::<T>())
    }

    /// The shared value under `key` (pending writes included).
    pub fn get_shared(&self, key: &str) -> Option<&DiskValue> {
        self.current.get(key)
    }

    /// Whether `key` holds a value.
    pub fn contains(&self, key: &str) -> bool {
        self.current.contains_key(key)
    }

    /// Entries with keys in `[start, end)`, in key order.
    pub fn range<'a>(
        &'a self,
        start: &str,
        end: &str,
    ) -> impl Iterator<Item = (&'a str, &'a DiskValue)> + 'a {
        let bounds = (
            std::ops::Bound::Included(start.to_owned()),
            std::ops::Bound::Excluded(end.to_owned()),
        );
        let valid = start < end;
        self.current
            .range(bounds)
            .filter(move |_| valid)
            .map(|(k, v)| (k.as_str(), v))
    }

    /// Entries whose keys start with `prefix`, in key order.
    pub fn scan_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a DiskValue)> + 'a {
        self.current
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v))
    }

    /// Number of keys (pending writes included).
    pub fn len(&self) -> usize {
        self.current.len()
    }

    /// Whether the disk holds no keys.
    pub fn is_empty(&self) -> bool {
        self.current.is_empty()
    }

    /// Makes every write so far durable, at once (a zero-latency fsync).
    pub fn sync(&mut self) {
        self.sync_upto(self.next_op);
    }

    /// Number of writes not yet durable.
    pub fn pending_writes(&self) -> usize {
        self.pending.len()
    }

    /// Writes made and fsyncs completed since the simulation started (for reports).
    pub fn counters(&self) -> (u64, u64) {
        (self.writes, self.syncs)
    }

    /// The mark an fsync issued now will make durable up to (exclusive).
    pub(crate) fn sync_mark(&self) -> u64 {
        self.next_op
    }

    /// Makes the writes numbered below `mark` durable, in order.
    pub(crate) fn sync_upto(&mut self, mark: u64) {
        self.syncs += 1;
        while self.pending.front().is_some_and(|(seq, _)| *seq < mark) {
            let Some((_, op)) = self.pending.pop_front() else {
                break;
            };
            match op {
                Op::Put(k, v) => {
                    self.durable.insert(k, v);
                }
                Op::Delete(k) => {
                    self.durable.remove(&k);
                }
                Op::DeleteRange(a, b) => remove_range(&mut self.durable, &a, &b),
            }
        }
    }

    /// A crash: pending writes are lost; reads see the durable state again.
    pub(crate) fn crash(&mut self) {
        self.pending.clear();
        self.current = self.durable.clone();
    }

    /// Disk loss: nothing survives.
    pub(crate) fn wipe(&mut self) {
        self.pending.clear();
        self.current.clear();
        self.durable.clear();
    }

    fn log(&mut self, op: Op) {
        self.writes += 1;
        self.pending.push_back((self.next_op, op));
        self.next_op += 1;
    }
}

fn remove_range(map: &mut BTreeMap<String, DiskValue>, start: &str, end: &str) {
    let mut tail = map.split_off(start);
    let mut rest = tail.split_off(end);
    map.append(&mut rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_keeps_only_synced_writes() {
        let mut d = Disk::new();
        d.put("a", 1u64);
        d.sync();
        d.put("b", 2u64);
        d.delete("a");
        assert_eq!(d.get::<u64>("b"), Some(&2));
        assert!(!d.contains("a"));
        d.crash();
        assert_eq!(d.get::<u64>("a"), Some(&1));
        assert!(!d.contains("b"));
    }

    #[test]
    fn partial_sync_marks_a_prefix() {
        let mut d = Disk::new();
        d.put("a", 1u64);
        let mark = d.sync_mark();
        d.put("b", 2u64);
        d.sync_upto(mark);
        d.crash();
        assert!(d.contains("a"));
        assert!(!d.contains("b"));
    }

    #[test]
    fn delete_range_truncates_a_log() {
        let mut d = Disk::new();
        for i in 1..=5 {
            d.put(index_key("log", i), i);
        }
        d.delete_range(&index_key("log", 3), &index_key("log", u64::MAX));
        let keys: Vec<_> = d.scan_prefix("log/").map(|(k, _)| k.to_owned()).collect();
        assert_eq!(keys, [index_key("log", 1), index_key("log", 2)]);
        d.sync();
        d.crash();
        assert_eq!(d.len(), 2);
        assert_eq!(
            d.range(&index_key("log", 2), &index_key("log", 9)).count(),
            1
        );
    }

    #[test]
    fn index_keys_are_zero_padded_to_20_digits() {
        for i in [0, 1, 9, 10, 12_345, u64::MAX / 7, u64::MAX] {
            assert_eq!(index_key("etcd/wal", i), format!("etcd/wal/{i:020}"));
        }
    }

    #[test]
    fn wipe_loses_everything() {
        let mut d = Disk::new();
        d.put("a", vec![1u8, 2]);
        d.sync();
        d.wipe();
        assert!(d.is_empty());
    }
}
