//! A host's disk: an ordered key→value store, and numbered logs, whose writes are pending until
//! fsync.
//!
//! Writes (put, delete, delete_range, and their log counterparts) apply at once to what reads
//! see, and are appended to a pending list. An fsync makes a prefix of that list durable:
//! [`Disk::sync`] at once, or [`crate::Ctx::fsync`] after the configured fsync latency with an
//! `on_fsync` callback, which is how a Raft member expresses "persist, then acknowledge". A
//! crash throws away every pending write (reads then see the durable state); [`crate::Fault::DiskLoss`]
//! wipes both.
//!
//! Values are `Arc<dyn Any>`: a component may store bytes (`Vec<u8>`) or its own typed records
//! without serializing them, and downcasts on recovery. Keys sort as strings; [`index_key`]
//! makes zero-padded keys that sort by index. A log (a WAL) is better kept with the `log_*`
//! methods: its entries are numbered, not named, so that appending one costs no key string
//! (a Raft member writes one per entry). A log's entries are apart from the keys: `scan_prefix`
//! and `range` do not see them.
//!
//! Only what is read is kept: the pending list holds, for each write not yet durable, what it
//! replaced, and a crash puts those back newest first; a sync just forgets them.
//!
//! Simplification: there are no files, sizes or torn writes; a write is atomic per key, and
//! pending writes become durable strictly in the order they were made (a real disk may reorder
//! unsynced writes before a crash).

use std::any::Any;
use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// A stored value: bytes or any typed record, shared.
pub type DiskValue = Arc<dyn Any>;

/// A key: a component's fixed keys (`&'static str`) are stored without a copy, since one
/// may be rewritten on every Raft round (etcd's hard state).
type Key = Cow<'static, str>;

/// How to take back one write that is not yet durable.
#[derive(Debug)]
enum Undo {
    /// The key held this value before (`None`: it held none).
    Key(Key, Option<DiskValue>),
    /// These keys were removed.
    Keys(BTreeMap<Key, DiskValue>),
    /// The entry `index` of log `log` (a position in `Disk::logs`) held this before.
    Entry(usize, u64, Option<DiskValue>),
    /// These entries of log `log` were removed.
    Entries(usize, BTreeMap<u64, DiskValue>),
}

/// One numbered log.
#[derive(Debug)]
struct Log {
    name: String,
    entries: BTreeMap<u64, DiskValue>,
}

/// One host's disk. Shared by the actors of the host; give keys a per-component prefix.
#[derive(Debug, Default)]
pub struct Disk {
    current: BTreeMap<Key, DiskValue>,
    /// The logs, in the order they were first written (a host has one or two).
    logs: Vec<Log>,
    /// Writes not yet durable, oldest first, each with its sequence number.
    pending: VecDeque<(u64, Undo)>,
    next_op: u64,
    writes: u64,
    syncs: u64,
}

/// `prefix/` followed by `index` zero-padded to 20 digits, so that numbered keys sort by
/// number (numbered entries of a log are cheaper in a log: see the `log_*` methods).
pub fn index_key(prefix: &str, index: u64) -> String {
    // By hand: `format!` with padding cost more than the disk's own insert.
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
    pub fn put<T: Any>(&mut self, key: impl Into<Cow<'static, str>>, value: T) {
        self.put_shared(key, Arc::new(value));
    }

    /// Stores an already shared value under `key` (pending until synced).
    pub fn put_shared(&mut self, key: impl Into<Cow<'static, str>>, value: DiskValue) {
        let key = key.into();
        let old = self.current.insert(key.clone(), value);
        self.log(Undo::Key(key, old));
    }

    /// Removes `key` (pending until synced).
    pub fn delete(&mut self, key: &str) {
        if let Some((key, old)) = self.current.remove_entry::<str>(key) {
            self.log(Undo::Key(key, Some(old)));
        }
    }

    /// Removes every key in `[start, end)` (pending until synced).
    pub fn delete_range(&mut self, start: &str, end: &str) {
        if start >= end {
            return;
        }
        let removed = remove_range(&mut self.current, start, end);
        self.log(Undo::Keys(removed));
    }

    /// The value under `key` if it is a `T` (pending writes included).
    pub fn get<T: Any>(&self, key: &str) -> Option<&T> {
        self.current
            .get::<str>(key)
            .and_then(|v| v.downcast_ref::<T>())
    }

    /// The shared value under `key` (pending writes included).
    pub fn get_shared(&self, key: &str) -> Option<&DiskValue> {
        self.current.get::<str>(key)
    }

    /// Whether `key` holds a value.
    pub fn contains(&self, key: &str) -> bool {
        self.current.contains_key::<str>(key)
    }

    /// Entries with keys in `[start, end)`, in key order.
    pub fn range<'a>(
        &'a self,
        start: &str,
        end: &str,
    ) -> impl Iterator<Item = (&'a str, &'a DiskValue)> + 'a {
        let valid = start < end;
        // std's range panics on start > end; an empty range then instead.
        let end = if valid { end } else { start };
        let bounds = (
            std::ops::Bound::Included(start),
            std::ops::Bound::Excluded(end),
        );
        self.current
            .range::<str, _>(bounds)
            .filter(move |_| valid)
            .map(|(k, v)| (k.as_ref(), v))
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
            .map(|(k, v)| (k.as_ref(), v))
    }

    /// Stores `value` as entry `index` of the log `log` (pending until synced).
    pub fn log_put<T: Any>(&mut self, log: &str, index: u64, value: T) {
        self.log_put_shared(log, index, Arc::new(value));
    }

    /// Stores an already shared value as entry `index` of the log `log` (pending until synced).
    pub fn log_put_shared(&mut self, log: &str, index: u64, value: DiskValue) {
        let l = self.log_position(log);
        let old = self.logs[l].entries.insert(index, value);
        self.log(Undo::Entry(l, index, old));
    }

    /// Whether the log `log` has an entry `index`.
    pub fn log_contains(&self, log: &str, index: u64) -> bool {
        self.log_entries(log)
            .is_some_and(|entries| entries.contains_key(&index))
    }

    /// Entry `index` of the log `log` if it is a `T` (pending writes included).
    pub fn log_get<T: Any>(&self, log: &str, index: u64) -> Option<&T> {
        self.log_entries(log)?
            .get(&index)
            .and_then(|v| v.downcast_ref::<T>())
    }

    /// The entries of the log `log` numbered from `from` on, in order.
    pub fn log_from<'a>(
        &'a self,
        log: &str,
        from: u64,
    ) -> impl Iterator<Item = (u64, &'a DiskValue)> + 'a {
        self.log_entries(log)
            .into_iter()
            .flat_map(move |entries| entries.range(from..))
            .map(|(i, v)| (*i, v))
    }

    /// Removes the entries of the log `log` numbered from `from` on (pending until synced): a
    /// log overwritten from there.
    pub fn log_truncate(&mut self, log: &str, from: u64) {
        let l = self.log_position(log);
        let removed = self.logs[l].entries.split_off(&from);
        self.log(Undo::Entries(l, removed));
    }

    /// Removes the entries of the log `log` numbered below `before` (pending until synced): a
    /// log released after a snapshot.
    pub fn log_release(&mut self, log: &str, before: u64) {
        let l = self.log_position(log);
        let entries = &mut self.logs[l].entries;
        let kept = entries.split_off(&before);
        let removed = std::mem::replace(entries, kept);
        self.log(Undo::Entries(l, removed));
    }

    /// Number of keys and log entries (pending writes included).
    pub fn len(&self) -> usize {
        self.current.len() + self.logs.iter().map(|l| l.entries.len()).sum::<usize>()
    }

    /// Whether the disk holds no keys and no log entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
            self.pending.pop_front();
        }
    }

    /// A crash: pending writes are lost; reads see the durable state again.
    pub(crate) fn crash(&mut self) {
        while let Some((_, undo)) = self.pending.pop_back() {
            match undo {
                Undo::Key(key, Some(old)) => {
                    self.current.insert(key, old);
                }
                Undo::Key(key, None) => {
                    self.current.remove::<str>(&key);
                }
                Undo::Keys(mut removed) => self.current.append(&mut removed),
                Undo::Entry(l, index, Some(old)) => {
                    self.logs[l].entries.insert(index, old);
                }
                Undo::Entry(l, index, None) => {
                    self.logs[l].entries.remove(&index);
                }
                Undo::Entries(l, mut removed) => self.logs[l].entries.append(&mut removed),
            }
        }
    }

    /// Disk loss: nothing survives.
    pub(crate) fn wipe(&mut self) {
        self.pending.clear();
        self.current.clear();
        self.logs.clear();
    }

    fn log(&mut self, undo: Undo) {
        self.writes += 1;
        self.pending.push_back((self.next_op, undo));
        self.next_op += 1;
    }

    fn log_entries(&self, log: &str) -> Option<&BTreeMap<u64, DiskValue>> {
        self.logs.iter().find(|l| l.name == log).map(|l| &l.entries)
    }

    /// The position of the log `log` in `logs`, made if it is new. Positions never change
    /// while writes are pending (only a wipe, which drops them, removes logs).
    fn log_position(&mut self, log: &str) -> usize {
        if let Some(i) = self.logs.iter().position(|l| l.name == log) {
            return i;
        }
        self.logs.push(Log {
            name: log.to_owned(),
            entries: BTreeMap::new(),
        });
        self.logs.len() - 1
    }
}

/// Removes the keys in `[start, end)` from `map` and returns them.
fn remove_range(
    map: &mut BTreeMap<Key, DiskValue>,
    start: &str,
    end: &str,
) -> BTreeMap<Key, DiskValue> {
    let mut tail = map.split_off::<str>(start);
    let mut rest = tail.split_off::<str>(end);
    map.append(&mut rest);
    tail
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
    fn a_crash_takes_back_pending_log_writes_newest_first() {
        let mut d = Disk::new();
        for i in 1..=5u64 {
            d.log_put("wal", i, i);
        }
        d.put("hard", 1u64);
        d.sync();
        d.log_release("wal", 3);
        d.log_truncate("wal", 4);
        d.log_put("wal", 4, 40u64);
        d.log_put("wal", 5, 50u64);
        d.put("hard", 2u64);
        d.delete_range("a", "z");
        let seen = |d: &Disk| -> Vec<(u64, u64)> {
            d.log_from("wal", 0)
                .map(|(i, v)| (i, *v.downcast_ref::<u64>().unwrap()))
                .collect()
        };
        assert_eq!(seen(&d), [(3, 3), (4, 40), (5, 50)]);
        assert!(d.log_contains("wal", 3) && !d.log_contains("wal", 2));
        assert_eq!(d.log_get::<u64>("wal", 4), Some(&40));
        assert!(!d.is_empty() && d.get::<u64>("hard").is_none());
        d.crash();
        assert_eq!(seen(&d), [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]);
        assert_eq!(d.get::<u64>("hard"), Some(&1));
        assert_eq!(d.len(), 6);
    }

    #[test]
    fn synced_log_writes_survive_a_crash() {
        let mut d = Disk::new();
        d.log_put("wal", 7, 7u64);
        let mark = d.sync_mark();
        d.log_put("wal", 8, 8u64);
        d.sync_upto(mark);
        d.crash();
        assert_eq!(d.log_from("wal", 0).count(), 1);
        assert_eq!(d.log_get::<u64>("wal", 7), Some(&7));
        assert_eq!(d.log_from("other", 0).count(), 0);
        d.wipe();
        assert!(d.is_empty());
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
