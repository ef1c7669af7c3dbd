//! How the apiserver keeps objects in etcd: the key layout, the stored value, and the
//! transactions it sends. All etcd access of the apiserver goes through the store's
//! `EtcdClient` with the requests built here, so a change in the store's API changes this
//! module only.
//!
//! Follows `staging/src/k8s.io/apiserver/pkg/storage/etcd3/store.go`: keys
//! `/registry/<resource>/<namespace>/<name>` (cluster-scoped `/registry/<resource>/<name>`);
//! create is `Txn(If ModRevision(key) == 0, Then Put)`; update and delete are guarded by
//! `ModRevision(key) == <revision the change was computed from>` and return the current value on
//! failure so the caller can recompute (`GuaranteedUpdate`). The resourceVersion is not stored
//! in the value: it is the key's mod revision, set on the way out.
//!
//! Simplifications: the value is the shared typed object itself (no protobuf encoding: see
//! DESIGN.md "Performance shape"); its size for etcd's DB SIZE is an estimate; services live at
//! `/registry/services/<ns>/<name>` (not `services/specs/`), and events.k8s.io Events, which
//! Kubernetes stores with core Events, have their own prefix `/registry/events.events.k8s.io/`
//! because they are a distinct type here.

use std::cmp::Ordering;
use std::sync::Arc;

use api::{Kind, Object, SharedObject};
use store::mvcc::{
    Bytes, Compare, CompareOp, CompareTarget, DeleteRangeRequest, KeyValue, PutRequest,
    RangeRequest, RequestOp, TxnRequest, Value, WriteRequest, prefix_end,
};

/// The key the compactors of several apiservers coordinate on (`compact_rev_key` in
/// `staging/src/k8s.io/apiserver/pkg/storage/etcd3/compact.go`; under `/registry/` here so that
/// the apiserver's one watch sees every revision).
pub const COMPACT_KEY: &str = "/registry/compact_rev_key";

/// The prefix every object key starts with; the apiserver's one etcd watch covers it.
pub const REGISTRY_PREFIX: &str = "/registry/";

/// What the apiserver stores in an etcd value.
#[derive(Clone, Debug)]
pub enum StoredValue {
    Object(SharedObject),
    /// The compactor's bookkeeping (the revision last compacted).
    Revision(i64),
    /// Bytes written by someone other than the apiserver (`etcdctl put`): kept as given. The
    /// apiserver does not decode them (a key under `/registry/` holding them is not an object).
    Raw(Bytes),
}

// etcd members need a default value (an empty placeholder before the first write).
impl Default for StoredValue {
    fn default() -> Self {
        StoredValue::Revision(0)
    }
}

impl PartialEq for StoredValue {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (StoredValue::Object(a), StoredValue::Object(b)) => Arc::ptr_eq(a, b) || a == b,
            (StoredValue::Revision(a), StoredValue::Revision(b)) => a == b,
            (StoredValue::Raw(a), StoredValue::Raw(b)) => a == b,
            _ => false,
        }
    }
}

impl Value for StoredValue {
    fn size_bytes(&self) -> usize {
        match self {
            StoredValue::Object(o) => estimated_size(o),
            StoredValue::Revision(_) => 8,
            StoredValue::Raw(b) => b.len(),
        }
    }

    // Kubernetes compares mod revisions, never values.
    fn compare_value(&self, other: &Self) -> Option<Ordering> {
        (self == other).then_some(Ordering::Equal)
    }
}

/// A rough protobuf size: a per-kind base plus the metadata strings, so that etcd's DB SIZE
/// grows with what is stored without encoding anything.
pub fn estimated_size(o: &Object) -> usize {
    let base = match o.kind() {
        Kind::Pod => 1_800,
        Kind::Node => 3_000,
        Kind::Deployment | Kind::ReplicaSet | Kind::DaemonSet | Kind::StatefulSet | Kind::Job => {
            1_500
        }
        Kind::EndpointSlice | Kind::Endpoints => 600,
        _ => 300,
    };
    let m = o.metadata();
    let strings: usize = m
        .labels
        .iter()
        .flatten()
        .map(|(k, v)| k.len() + v.len() + 4)
        .sum::<usize>()
        + m.annotations
            .iter()
            .flatten()
            .map(|(k, v)| k.len() + v.len() + 4)
            .sum::<usize>()
        + o.name().len()
        + o.namespace().len()
        + 36;
    base + strings
}

/// The resource segment of a kind's keys.
pub fn resource_segment(kind: Kind) -> String {
    match kind {
        Kind::EventsV1Event => "events.events.k8s.io".to_string(),
        k => k.info().plural.to_string(),
    }
}

/// `/registry/<resource>/` : every object of one kind.
pub fn kind_prefix(kind: Kind) -> String {
    format!("{REGISTRY_PREFIX}{}/", resource_segment(kind))
}

/// `/registry/<resource>/<namespace>/` (or the kind prefix when `namespace` is empty).
pub fn namespace_prefix(kind: Kind, namespace: &str) -> String {
    if namespace.is_empty() || !kind.info().namespaced {
        kind_prefix(kind)
    } else {
        format!("{}{namespace}/", kind_prefix(kind))
    }
}

pub fn key_string(kind: Kind, namespace: &str, name: &str) -> String {
    if kind.info().namespaced {
        format!("{}{namespace}/{name}", kind_prefix(kind))
    } else {
        format!("{}{name}", kind_prefix(kind))
    }
}

pub fn key(kind: Kind, namespace: &str, name: &str) -> Bytes {
    Arc::from(key_string(kind, namespace, name).as_bytes())
}

pub fn bytes_of(s: &str) -> Bytes {
    Arc::from(s.as_bytes())
}

/// The object in a stored key-value, with its resourceVersion set to the key's mod revision.
/// This clones the object once (the stored copy carries no resourceVersion).
pub fn object_of(kv: &KeyValue<StoredValue>) -> Option<SharedObject> {
    match &kv.value {
        StoredValue::Object(o) => Some(with_resource_version(o, kv.mod_revision)),
        StoredValue::Revision(_) | StoredValue::Raw(_) => None,
    }
}

/// A copy of `o` whose `metadata.resourceVersion` is `rv` (no copy if it already is).
pub fn with_resource_version(o: &SharedObject, rv: i64) -> SharedObject {
    let rv_s = rv.to_string();
    if o.resource_version() == rv_s {
        return o.clone();
    }
    let mut copy = Object::clone(o);
    copy.metadata_mut().resource_version = Some(rv_s);
    Arc::new(copy)
}

/// A linearizable read of one key.
pub fn get(key: Bytes) -> RangeRequest {
    RangeRequest {
        key,
        ..RangeRequest::default()
    }
}

/// Every key under `prefix` at `revision` (0: current).
pub fn range_prefix(prefix: &str, revision: i64) -> RangeRequest {
    let key = bytes_of(prefix);
    RangeRequest {
        range_end: Some(prefix_end(&key)),
        key,
        revision,
        ..RangeRequest::default()
    }
}

/// A count-only read: its header revision is etcd's current revision (a consistent list waits
/// for the watch cache to reach it).
pub fn current_revision(prefix: &str) -> RangeRequest {
    RangeRequest {
        count_only: true,
        ..range_prefix(prefix, 0)
    }
}

/// What a guarded write does when its compare holds.
#[derive(Clone, Debug)]
pub enum Mutation {
    Put(SharedObject),
    Delete,
}

/// `If ModRevision(key) == expected Then <mutation> Else Get(key)`. `expected == 0` means
/// "the key does not exist" (create).
pub fn guarded(key: Bytes, expected: i64, mutation: &Mutation) -> WriteRequest<StoredValue> {
    let success = match mutation {
        Mutation::Put(obj) => RequestOp::Put(PutRequest {
            key: key.clone(),
            value: StoredValue::Object(obj.clone()),
            lease: 0,
            prev_kv: false,
        }),
        Mutation::Delete => RequestOp::DeleteRange(DeleteRangeRequest {
            key: key.clone(),
            range_end: None,
            prev_kv: true,
        }),
    };
    WriteRequest::Txn(TxnRequest {
        compare: vec![Compare {
            key: key.clone(),
            range_end: None,
            op: CompareOp::Equal,
            target: CompareTarget::ModRevision(expected),
        }],
        success: vec![success],
        failure: vec![RequestOp::Range(get(key))],
    })
}

/// The compactor's claim: `If Version(compact_rev_key) == seen Then Put(compact_rev_key, rev)
/// Else Get(compact_rev_key)`, so that of several apiservers only one compacts per interval.
pub fn compact_claim(seen_version: i64, revision: i64) -> WriteRequest<StoredValue> {
    let key = bytes_of(COMPACT_KEY);
    WriteRequest::Txn(TxnRequest {
        compare: vec![Compare {
            key: key.clone(),
            range_end: None,
            op: CompareOp::Equal,
            target: CompareTarget::Version(seen_version),
        }],
        success: vec![RequestOp::Put(PutRequest {
            key: key.clone(),
            value: StoredValue::Revision(revision),
            lease: 0,
            prev_kv: false,
        })],
        failure: vec![RequestOp::Range(get(key))],
    })
}
