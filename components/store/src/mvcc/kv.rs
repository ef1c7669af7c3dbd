//! Keys, values and the stored key-value record (etcd `mvccpb.KeyValue`), and watch events.
//!
//! Values are opaque to the store: the `Value` trait asks only for a size (for the DB size
//! estimate) and an ordering for Txn value comparisons. `Bytes` (`Arc<[u8]>`) is the plain
//! implementation; the apiserver can store a shared typed object instead, so that a watch event
//! is built once and shared by every watcher without encoding.

use std::cmp::Ordering;
use std::fmt::Debug;
use std::sync::Arc;

/// Opaque shared bytes: keys always, values by default.
pub type Bytes = Arc<[u8]>;

pub trait Value: Clone + Debug + PartialEq {
    /// Approximate encoded size, for `Status`' DB size.
    fn size_bytes(&self) -> usize;
    /// Ordering used by Txn `Compare` on values; `None` makes the comparison false.
    fn compare_value(&self, other: &Self) -> Option<Ordering>;
}

impl Value for Bytes {
    fn size_bytes(&self) -> usize {
        self.len()
    }
    fn compare_value(&self, other: &Self) -> Option<Ordering> {
        Some(self.as_ref().cmp(other.as_ref()))
    }
}

pub fn bytes(s: impl AsRef<[u8]>) -> Bytes {
    Arc::from(s.as_ref())
}

#[derive(Clone, Debug, PartialEq)]
pub struct KeyValue<V> {
    pub key: Bytes,
    pub create_revision: i64,
    pub mod_revision: i64,
    /// Number of writes since creation; a deletion resets it to 0.
    pub version: i64,
    pub value: V,
    /// Attached lease id, 0 for none.
    pub lease: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Put,
    Delete,
}

/// One change, as a watcher sees it. A Delete event's `kv` has the key, the deletion's
/// revision as `mod_revision`, and the last value; `create_revision` and `version` are 0 as in
/// etcd.
#[derive(Clone, Debug, PartialEq)]
pub struct Event<V> {
    pub kind: EventType,
    pub kv: KeyValue<V>,
    pub prev_kv: Option<KeyValue<V>>,
}

/// The key just after every key with prefix `key` (etcd `clientv3.GetPrefixRangeEnd`).
pub fn prefix_end(key: &[u8]) -> Bytes {
    let mut end = key.to_vec();
    while let Some(last) = end.last_mut() {
        if *last < 0xff {
            *last += 1;
            return Arc::from(end);
        }
        end.pop();
    }
    // All 0xff (or empty): every key from `key` on, etcd's "\0".
    Arc::from(&[0u8][..])
}

/// Whether `k` is in `[key, range_end)`, with etcd's conventions: no end means the one key,
/// an end of "\0" means every key from `key` on.
pub fn in_range(k: &[u8], key: &[u8], range_end: Option<&[u8]>) -> bool {
    match range_end {
        None => k == key,
        Some([0]) => k >= key,
        Some(end) => k >= key && k < end,
    }
}
