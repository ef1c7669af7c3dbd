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
//! The value is the object encoded once, when the apiserver writes it ([`Encoded`]): etcd's
//! Raft log, WAL and MVCC history share those bytes, as a real etcd holds the bytes
//! kube-apiserver sent, and etcd's DB size counts them exactly. A read or a watch event decodes
//! them once, setting the resourceVersion as it does (`storage.Versioner` upstream sets it from
//! the mod revision on each decoded object). The writer's typed object skips the decode: the
//! value keeps a weak reference to it, readers that arrive while the write is in flight copy
//! it, and once the write commits its stamped reply is what every reader of that revision
//! shares ([`Encoded::stamp_written`], `own_writes`). This relies on the encoding being exact
//! for what components write (a timestamp finer than its type's wire precision would differ).
//!
//! The encoding is MessagePack with field names (`rmp-serde`'s `to_vec_named`), not
//! Kubernetes' protobuf: k8s-openapi types have serde impls only, and protobuf would need the
//! generated schema. Measured on this machine (pod of a Deployment, Running: 2,251 bytes as
//! JSON, 11.4 KB decoded): MessagePack 1,907 bytes, decode 9–14 µs against JSON's 16–17 µs, and
//! encode about the same (6 µs); CBOR (`ciborium`) was as small but decoded 2× slower than JSON;
//! non-self-describing formats (bincode, postcard) cannot drive k8s-openapi's visitors.
//!
//! Simplifications: services live at
//! `/registry/services/<ns>/<name>` (not `services/specs/`), and events.k8s.io Events, which
//! Kubernetes stores with core Events, have their own prefix `/registry/events.events.k8s.io/`
//! because they are a distinct type here.

use std::cmp::Ordering;
use std::sync::{Arc, Mutex, Weak};

use api::{Kind, Object, SharedObject};
use store::mvcc::{
    Bytes, Compare, CompareOp, CompareTarget, DeleteRangeRequest, KeyValue, PutRequest,
    RangeRequest, RequestOp, TxnRequest, Value, WriteRequest, prefix_end,
};

use crate::delta::Patch;

/// The key the compactors of several apiservers coordinate on (`compact_rev_key` in
/// `staging/src/k8s.io/apiserver/pkg/storage/etcd3/compact.go`; under `/registry/` here so that
/// the apiserver's one watch sees every revision).
pub const COMPACT_KEY: &str = "/registry/compact_rev_key";

/// The prefix every object key starts with; the apiserver's one etcd watch covers it.
pub const REGISTRY_PREFIX: &str = "/registry/";

/// What the apiserver stores in an etcd value.
#[derive(Clone, Debug)]
pub enum StoredValue {
    /// An object, encoded (without its resourceVersion).
    Object(Encoded),
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
            (StoredValue::Object(a), StoredValue::Object(b)) => a == b,
            (StoredValue::Revision(a), StoredValue::Revision(b)) => a == b,
            (StoredValue::Raw(a), StoredValue::Raw(b)) => a == b,
            _ => false,
        }
    }
}

impl Value for StoredValue {
    fn size_bytes(&self) -> usize {
        match self {
            StoredValue::Object(o) => o.len(),
            StoredValue::Revision(_) => 8,
            StoredValue::Raw(b) => b.len(),
        }
    }

    // Kubernetes compares mod revisions, never values.
    fn compare_value(&self, other: &Self) -> Option<Ordering> {
        (self == other).then_some(Ordering::Equal)
    }
}

/// An object as etcd holds it: its kind and its encoding, shared by every copy of the value
/// (Raft log, WAL, MVCC history, watch events, range replies).
///
/// A revision starts whole; when the next revision of the same object is written against it
/// ([`Encoded::encode_after`]), it becomes a [`Patch`] against that newer revision (see
/// [`crate::delta`]), so that etcd's history holds one whole copy and small patches rather
/// than every revision whole. A run of patches ends in a whole revision once its patches
/// add up to a multiple of the object's size ([`RUN_BYTES_PER_SIZE`]), so that whole copies
/// cost less than the patches between them whatever the object's size, or once
/// [`MAX_PATCH_RUN`] patches, which bounds the cost of rebuilding an old revision.
#[derive(Clone)]
pub struct Encoded {
    kind: Kind,
    len: usize,
    node: Arc<Node>,
}

/// The most revisions in a row kept as patches before one is kept whole: rebuilding the
/// oldest of a run copies the object this many times (~2 ms for an Endpoints object of
/// 1,000 addresses, a watch replaying a revision that far back).
pub const MAX_PATCH_RUN: u16 = 128;

/// A run of patches ends (the revision they lead to is kept whole) once their bytes reach
/// this many times the object's size, so a whole copy costs at most about half of the
/// patches it ends, whatever the object's size. A count of revisions alone would keep the
/// legacy Endpoints object of a Service of 1,000 pods (~145 KB, patches of a few hundred
/// bytes to a few KB when a sync moves many addresses) whole far more often than its patches
/// warrant; a small object with large patches (a Pod's status writes) gets a whole copy every
/// few revisions, where rebuilding is cheap.
const RUN_BYTES_PER_SIZE: usize = 2;

/// What a revision kept as a patch costs besides its patch's own bytes (its node, the
/// patch's header and allocations), for the byte count of a run.
const PATCH_OVERHEAD: usize = 160;

/// Only values at least this long are kept as patches (a Lease is a few hundred bytes).
const PATCH_MIN_LEN: usize = 512;

struct Node {
    /// Whole bytes, or a patch against a newer revision. Behind a lock only because a value
    /// shared by etcd's history turns into a patch when its successor is written; nothing
    /// runs concurrently.
    repr: Mutex<Repr>,
    /// The revisions just before this one kept as patches (against their successors).
    run: Run,
    /// The object last decoded from this value, with the revision it was stamped with
    /// (`None`: the object the writer encoded, not stamped yet). Three apiservers' watch
    /// caches and the cluster invariants each read every revision; the first decodes it (or
    /// copies the writer's object while the write is in flight) and the others share that
    /// object for as long as anyone holds it. Weak: etcd's history holds every revision's
    /// value for minutes, and a decoded object is ~6× its encoding.
    decoded: Mutex<Option<(Option<i64>, Weak<Object>)>>,
}

/// A run of revisions kept as patches: how many, and what they hold.
#[derive(Clone, Copy, Default)]
struct Run {
    len: u16,
    bytes: u32,
}

enum Repr {
    Whole(Bytes),
    Patched { newer: Encoded, patch: Arc<Patch> },
}

/// Why an object could not be encoded or decoded (never expected: the apiserver decodes only
/// what it encoded).
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("encoding a {kind}: {source}")]
    Encode {
        kind: &'static str,
        source: rmp_serde::encode::Error,
    },
    #[error("decoding a {kind}: {source}")]
    Decode {
        kind: &'static str,
        source: rmp_serde::decode::Error,
    },
}

impl Encoded {
    pub fn encode(o: &Object) -> Result<Encoded, CodecError> {
        Self::encode_after(o, None)
    }

    /// Encodes `o`, the revision written after `previous` (the object's current revision, if
    /// the caller has it): `previous` is then kept as a patch against the new bytes when that
    /// saves memory. Either way both decode exactly as before.
    pub fn encode_after(o: &Object, previous: Option<&Encoded>) -> Result<Encoded, CodecError> {
        // Sized from the revision before: a write rarely changes an object's length much, and
        // growing from empty reallocates about eight times for a Lease.
        let mut bytes = Vec::with_capacity(previous.map_or(0, |p| p.len + p.len / 8));
        rmp_serde::encode::write_named(&mut bytes, o).map_err(|source| CodecError::Encode {
            kind: o.info().name,
            source,
        })?;
        let bytes: Bytes = Arc::from(bytes);
        let patch = previous.and_then(|p| p.patch_to(o.kind(), &bytes));
        let encoded = Encoded {
            kind: o.kind(),
            len: bytes.len(),
            node: Arc::new(Node {
                repr: Mutex::new(Repr::Whole(bytes)),
                run: patch.as_ref().map_or(Run::default(), |(run, _)| *run),
                decoded: Mutex::new(None),
            }),
        };
        if let (Some(previous), Some((_, patch))) = (previous, patch) {
            *previous.node.repr.lock().unwrap_or_else(|e| e.into_inner()) = Repr::Patched {
                newer: encoded.clone(),
                patch: Arc::new(patch),
            };
        }
        Ok(encoded)
    }

    /// The patch that rebuilds this revision from `newer`, its successor, with the run of
    /// patches the successor will end; `None` when this revision stays whole (small, already
    /// a patch, the end of a run, or not worth it).
    fn patch_to(&self, kind: Kind, newer: &[u8]) -> Option<(Run, Patch)> {
        let run = self.node.run;
        if self.kind != kind || self.len < PATCH_MIN_LEN || run.len >= MAX_PATCH_RUN {
            return None;
        }
        let repr = self.node.repr.lock().unwrap_or_else(|e| e.into_inner());
        // Already a patch: a write that lost its race was encoded after this revision.
        let Repr::Whole(mine) = &*repr else {
            return None;
        };
        let patch = Patch::between(newer, mine)?;
        let bytes = run.bytes as usize + patch.heap_bytes() + PATCH_OVERHEAD;
        if bytes > self.len * RUN_BYTES_PER_SIZE {
            return None;
        }
        let run = Run {
            len: run.len + 1,
            // Under the object's size, itself under etcd's request limit.
            bytes: u32::try_from(bytes).unwrap_or(u32::MAX),
        };
        Some((run, patch))
    }

    /// The bytes, rebuilt from the newer revisions when this one is a patch: the patches up
    /// to the first whole revision are collected, then applied from it, oldest last, into two
    /// buffers in turn. No lock is held while another revision is read, nor once they are
    /// returned: a caller may read another revision whose chain passes through this one.
    fn bytes(&self) -> Bytes {
        let mut patches: Vec<Arc<Patch>> = Vec::new();
        let mut next: Option<Encoded> = None;
        let whole = loop {
            let node = next.as_ref().map_or(&self.node, |e| &e.node);
            let newer = match &*node.repr.lock().unwrap_or_else(|e| e.into_inner()) {
                Repr::Whole(b) => break b.clone(),
                Repr::Patched { newer, patch } => {
                    patches.push(patch.clone());
                    newer.clone()
                }
            };
            next = Some(newer);
        };
        let Some((last, rest)) = patches.split_first() else {
            return whole;
        };
        let (mut from, mut to) = (Vec::new(), Vec::new());
        for (i, p) in rest.iter().rev().enumerate() {
            p.apply_into(if i == 0 { &whole } else { &from }, &mut to);
            std::mem::swap(&mut from, &mut to);
        }
        let source: &[u8] = if rest.is_empty() { &whole } else { &from };
        let mut out = Vec::with_capacity(last.target_len());
        last.apply_into(source, &mut out);
        Arc::from(out)
    }

    /// The object as it was written (no resourceVersion).
    pub fn decode(&self) -> Result<Object, CodecError> {
        let bytes = self.bytes();
        let mut de = rmp_serde::Deserializer::from_read_ref(&bytes[..]);
        Object::deserialize_as(self.kind, &mut de).map_err(|source| CodecError::Decode {
            kind: self.kind.info().name,
            source,
        })
    }

    /// The object with `metadata.resourceVersion` set to `rv`, as the apiserver serves it:
    /// the one decoded last if someone still holds it (equal to a fresh decode: readers never
    /// mutate a shared object in place), else decoded now.
    ///
    /// While the write is in flight the writer's object stands in for the decode: a copy of
    /// it, stamped, equals the decoded bytes (encoding is exact; the writer's own watch cache
    /// relies on it too, see `own_writes`) and costs a fraction of a decode.
    pub fn decode_at(&self, rv: i64) -> Result<SharedObject, CodecError> {
        let mut last = self.node.decoded.lock().unwrap_or_else(|e| e.into_inner());
        let mut o = match &*last {
            Some((at, weak)) if at.is_none_or(|at| at == rv) => match weak.upgrade() {
                Some(o) if at.is_some() => return Ok(o),
                Some(written) => Object::clone(&written),
                None => self.decode()?,
            },
            _ => self.decode()?,
        };
        o.metadata_mut().resource_version = Some(rv.to_string());
        let o = Arc::new(o);
        *last = Some((Some(rv), Arc::downgrade(&o)));
        Ok(o)
    }

    /// The object this value encodes, for a reader that does not read its resourceVersion:
    /// while the write is in flight the writer's object itself, unstamped, without the copy
    /// [`Encoded::decode_at`] makes of it; else as `decode_at`. [`Peeked`] says which.
    pub fn peek_at(&self, rv: i64) -> Result<Peeked, CodecError> {
        if let Some((None, weak)) = &*self.node.decoded.lock().unwrap_or_else(|e| e.into_inner())
            && let Some(written) = weak.upgrade()
        {
            return Ok(Peeked::Written(written));
        }
        self.decode_at(rv).map(Peeked::Decoded)
    }

    /// Lets readers copy `written`, the object this value encodes, instead of decoding it
    /// while the writer holds it (see [`Encoded::decode_at`]).
    pub fn written_from(&self, written: &SharedObject) {
        let mut last = self.node.decoded.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_none() {
            *last = Some((None, Arc::downgrade(written)));
        }
    }

    /// The writer's reply for revision `rv`: the object a reader already decoded (or copied)
    /// for it if one is held, else `written` stamped with `rv`, which readers then share.
    pub fn stamp_written(&self, written: SharedObject, rv: i64) -> SharedObject {
        let mut last = self.node.decoded.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((Some(at), weak)) = &*last
            && *at == rv
            && let Some(o) = weak.upgrade()
        {
            return o;
        }
        // With our weak reference alive, `stamped`'s `Arc::make_mut` would move the object to
        // a new allocation: drop it first, so the reply keeps `written`'s.
        *last = None;
        let o = stamped(written, rv);
        *last = Some((Some(rv), Arc::downgrade(&o)));
        o
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The encoded size in bytes (what etcd counts, however it is kept here).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl PartialEq for Encoded {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.len == other.len
            && (Arc::ptr_eq(&self.node, &other.node) || self.bytes() == other.bytes())
    }
}

// The bytes are not readable: say what they hold.
impl std::fmt::Debug for Encoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Encoded({}, {} bytes)", self.kind.info().name, self.len)
    }
}

/// The resource segment of a kind's keys.
pub fn resource_segment(kind: Kind) -> &'static str {
    match kind {
        Kind::EventsV1Event => "events.events.k8s.io",
        k => k.info().plural,
    }
}

/// `/registry/<resource>/` : every object of one kind.
pub fn kind_prefix(kind: Kind) -> String {
    let segment = resource_segment(kind);
    let mut s = String::with_capacity(REGISTRY_PREFIX.len() + segment.len() + 1);
    s.push_str(REGISTRY_PREFIX);
    s.push_str(segment);
    s.push('/');
    s
}

/// `/registry/<resource>/<namespace>/` (or the kind prefix when `namespace` is empty).
pub fn namespace_prefix(kind: Kind, namespace: &str) -> String {
    if namespace.is_empty() || !kind.info().namespaced {
        kind_prefix(kind)
    } else {
        let mut s = kind_prefix(kind);
        s.reserve(namespace.len() + 1);
        s.push_str(namespace);
        s.push('/');
        s
    }
}

// Built with one allocation: keys are made for every request and watch event.
pub fn key_string(kind: Kind, namespace: &str, name: &str) -> String {
    let segment = resource_segment(kind);
    let namespaced = kind.info().namespaced;
    let mut s = String::with_capacity(
        REGISTRY_PREFIX.len() + segment.len() + namespace.len() + name.len() + 2,
    );
    s.push_str(REGISTRY_PREFIX);
    s.push_str(segment);
    s.push('/');
    if namespaced {
        s.push_str(namespace);
        s.push('/');
    }
    s.push_str(name);
    s
}

pub fn key(kind: Kind, namespace: &str, name: &str) -> Bytes {
    Arc::from(key_string(kind, namespace, name).as_bytes())
}

pub fn bytes_of(s: &str) -> Bytes {
    Arc::from(s.as_bytes())
}

/// The object in a stored key-value, decoded with its resourceVersion set to the key's mod
/// revision (`None` for values that are not objects, and for bytes that do not decode, which
/// only `etcdctl put` can write).
pub fn object_of(kv: &KeyValue<StoredValue>) -> Option<SharedObject> {
    match &kv.value {
        StoredValue::Object(e) => e.decode_at(kv.mod_revision).ok(),
        StoredValue::Revision(_) | StoredValue::Raw(_) => None,
    }
}

/// What [`Encoded::peek_at`] read.
#[derive(Clone, Debug)]
pub enum Peeked {
    /// The writer's own object while its write is in flight, without a resourceVersion. Not
    /// to be kept beyond the call: held, it would make the writer copy it to stamp its reply.
    Written(SharedObject),
    /// The object at the revision with its resourceVersion, as [`Encoded::decode_at`] gives
    /// it (shared with the other readers of that revision).
    Decoded(SharedObject),
}

impl Peeked {
    pub fn object(&self) -> &SharedObject {
        match self {
            Peeked::Written(o) | Peeked::Decoded(o) => o,
        }
    }
}

/// etcd's bytes of the object in a stored key-value.
pub fn encoded_of(kv: &KeyValue<StoredValue>) -> Option<&Encoded> {
    match &kv.value {
        StoredValue::Object(e) => Some(e),
        StoredValue::Revision(_) | StoredValue::Raw(_) => None,
    }
}

/// `o` with its `metadata.resourceVersion` set to `rv`: in place when this is the only
/// reference to it (a write's own object), else a copy.
pub fn stamped(mut o: SharedObject, rv: i64) -> SharedObject {
    let rv_s = rv.to_string();
    if o.resource_version() != rv_s {
        Arc::make_mut(&mut o).metadata_mut().resource_version = Some(rv_s);
    }
    o
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
/// "the key does not exist" (create). A put encodes its object here, once per attempt, after
/// `previous`, the value at `expected` when the caller holds it ([`Encoded::encode_after`]),
/// and returns that value too, for the writer's reply ([`Encoded::stamp_written`]).
pub fn guarded(
    key: Bytes,
    expected: i64,
    mutation: &Mutation,
    previous: Option<&Encoded>,
) -> Result<(WriteRequest<StoredValue>, Option<Encoded>), CodecError> {
    match mutation {
        Mutation::Put(obj) => {
            let encoded = Encoded::encode_after(obj, previous)?;
            encoded.written_from(obj);
            let put = RequestOp::Put(PutRequest {
                key: key.clone(),
                value: StoredValue::Object(encoded.clone()),
                lease: 0,
                prev_kv: false,
            });
            Ok((guarded_txn(key, expected, put), Some(encoded)))
        }
        Mutation::Delete => Ok((guarded_delete(key, expected), None)),
    }
}

/// `If ModRevision(key) == expected Then Delete(key) Else Get(key)`, the deleted value
/// returned.
pub fn guarded_delete(key: Bytes, expected: i64) -> WriteRequest<StoredValue> {
    let delete = RequestOp::DeleteRange(DeleteRangeRequest {
        key: key.clone(),
        range_end: None,
        prev_kv: true,
    });
    guarded_txn(key, expected, delete)
}

fn guarded_txn(
    key: Bytes,
    expected: i64,
    success: RequestOp<StoredValue>,
) -> WriteRequest<StoredValue> {
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

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{EndpointAddress, EndpointSubset, Endpoints};

    use super::*;

    /// The legacy Endpoints object of a Service whose pods `ips` are ready.
    fn endpoints(ips: impl Iterator<Item = u32>) -> Object {
        let mut e = Endpoints::default();
        e.metadata.name = Some("web".into());
        e.metadata.namespace = Some("default".into());
        e.subsets = Some(vec![EndpointSubset {
            addresses: Some(
                ips.map(|i| EndpointAddress {
                    ip: format!("10.244.{}.{}", i / 200, i % 200),
                    node_name: Some(format!("worker{}", i / 30)),
                    ..Default::default()
                })
                .collect(),
            ),
            ..Default::default()
        }]);
        Object::from(e)
    }

    #[test]
    fn revisions_written_after_one_another_decode_exactly_and_older_ones_become_patches() {
        // The Endpoints object gains one address per write, as pods become ready.
        let objects: Vec<Object> = (1..=40).map(|n| endpoints(0..n * 10)).collect();
        let mut revisions: Vec<Encoded> = Vec::new();
        for o in &objects {
            let e = Encoded::encode_after(o, revisions.last()).expect("encodes");
            assert_eq!(e.len(), rmp_serde::to_vec_named(o).expect("encodes").len());
            revisions.push(e);
        }
        for (e, o) in revisions.iter().zip(&objects) {
            assert_eq!(
                &e.decode().expect("decodes"),
                o,
                "every revision decodes as written"
            );
            assert_eq!(*e, Encoded::encode(o).expect("encodes"));
        }
        let whole = |e: &Encoded| matches!(&*e.node.repr.lock().unwrap(), Repr::Whole(_));
        let kept_whole: Vec<usize> = (0..revisions.len())
            .filter(|&i| whole(&revisions[i]))
            .collect();
        // The first revisions are too small to patch; past that a run of MAX_PATCH_RUN
        // patches ends in a whole revision, and the newest is whole.
        assert!(kept_whole.len() < 10, "{kept_whole:?}");
        assert!(whole(revisions.last().unwrap()));
        let mut run = 0;
        for e in &revisions {
            run = if whole(e) { 0 } else { run + 1 };
            assert!(run <= MAX_PATCH_RUN as usize);
        }
        // Small patches of a large object: many revisions per whole copy.
        assert!(kept_whole.len() * 4 < revisions.len(), "{kept_whole:?}");
    }

    #[test]
    fn a_large_object_with_small_patches_is_kept_whole_once_per_long_run() {
        // A Service of 1,000 pods and more, one address more per write.
        let objects: Vec<Object> = (1000..1300).map(|n| endpoints(0..n)).collect();
        let mut revisions: Vec<Encoded> = Vec::new();
        for o in &objects {
            let e = Encoded::encode_after(o, revisions.last()).expect("encodes");
            revisions.push(e);
        }
        let whole = |e: &Encoded| matches!(&*e.node.repr.lock().unwrap(), Repr::Whole(_));
        let kept_whole = revisions.iter().filter(|e| whole(e)).count();
        assert!(
            kept_whole <= revisions.len() / 32,
            "{kept_whole} of {} kept whole",
            revisions.len()
        );
        // Every revision rebuilds through its run, oldest first as a watch replays them.
        for (e, o) in revisions.iter().zip(&objects) {
            assert_eq!(&e.decode().expect("decodes"), o);
        }
    }

    #[test]
    fn a_revision_decoded_while_another_reader_holds_it_is_shared() {
        let e = Encoded::encode(&endpoints(0..3)).expect("encodes");
        let first = e.decode_at(7).expect("decodes");
        assert_eq!(first.resource_version(), "7");
        let second = e.decode_at(7).expect("decodes");
        assert!(Arc::ptr_eq(&first, &second), "decoded once");
        // Another revision of the same bytes (a retried write) is stamped with its own.
        let other = e.decode_at(9).expect("decodes");
        assert_eq!(other.resource_version(), "9");
        assert!(!Arc::ptr_eq(&other, &first));
        // Once nobody holds it, the next reader decodes again: history keeps no objects.
        drop((first, second, other));
        let again = e.decode_at(9).expect("decodes");
        assert_eq!(again.resource_version(), "9");
        assert_eq!(Arc::strong_count(&again), 1);
    }

    #[test]
    fn readers_copy_the_writers_object_while_it_is_held_and_share_its_reply() {
        let written: SharedObject = Arc::new(endpoints(0..5));
        let (txn, encoded) = guarded(
            key(Kind::Endpoints, "default", "web"),
            3,
            &Mutation::Put(written.clone()),
            None,
        )
        .expect("encodes");
        let e = encoded.expect("a put returns its value");
        let WriteRequest::Txn(t) = txn else {
            panic!("a guarded write is a txn")
        };
        let RequestOp::Put(put) = &t.success[0] else {
            panic!("the txn puts")
        };
        assert!(matches!(&put.value, StoredValue::Object(v) if *v == e));
        // A reader before the reply (the invariants, as a member applies the write) gets a
        // copy equal to a decode, stamped; later readers of that revision share it.
        let read = e.decode_at(8).expect("decodes");
        let mut decoded = e.decode().expect("decodes");
        decoded.metadata_mut().resource_version = Some("8".into());
        assert_eq!(*read, decoded);
        assert!(!Arc::ptr_eq(&read, &written));
        assert_eq!(
            written.resource_version(),
            "",
            "the writer's object is not touched"
        );
        // The writer's reply is the object readers hold.
        let reply = e.stamp_written(written.clone(), 8);
        assert!(Arc::ptr_eq(&reply, &read));
        drop((read, reply));
        // Nobody holds a copy: the writer stamps its own object, in place when it is the
        // only holder, and readers share it.
        drop(written);
        let only: SharedObject = Arc::new(endpoints(0..6));
        let e = Encoded::encode(&only).expect("encodes");
        e.written_from(&only);
        let at = Arc::as_ptr(&only);
        let reply = e.stamp_written(only, 9);
        assert_eq!(Arc::as_ptr(&reply), at, "stamped in place");
        assert_eq!(reply.resource_version(), "9");
        assert!(Arc::ptr_eq(&e.decode_at(9).expect("decodes"), &reply));
        // Another revision of the same value is decoded (the bytes are what the writer put).
        assert_eq!(e.decode_at(10).expect("decodes").resource_version(), "10");
    }

    #[test]
    fn a_write_encoded_after_a_revision_of_another_kind_or_a_patch_leaves_it_alone() {
        let big = endpoints(0..100);
        let first = Encoded::encode(&big).expect("encodes");
        let second = Encoded::encode_after(&endpoints(0..101), Some(&first)).expect("encodes");
        // A second write computed from the same revision (the first lost its race).
        let third = Encoded::encode_after(&endpoints(0..102), Some(&first)).expect("encodes");
        assert_eq!(first.decode().expect("decodes"), big);
        assert_eq!(second.decode().expect("decodes"), endpoints(0..101));
        assert_eq!(third.decode().expect("decodes"), endpoints(0..102));
        // `first` is a patch of `second`, the write that came first, and stays one.
        let newer_of = |e: &Encoded| match &*e.node.repr.lock().unwrap() {
            Repr::Patched { newer, .. } => Some(newer.node.clone()),
            Repr::Whole(_) => None,
        };
        let of_first = newer_of(&first).expect("first became a patch");
        assert!(Arc::ptr_eq(&of_first, &second.node));
        assert_eq!(third.node.run.len, 0, "third ends no run of patches");
        // A value of another kind written after a revision does not patch it.
        let mut pod = k8s_openapi::api::core::v1::Pod::default();
        pod.metadata.name = Some("x".repeat(1000));
        let pod = Object::from(pod);
        let lone = Encoded::encode(&pod).expect("encodes");
        assert!(lone.len() >= PATCH_MIN_LEN);
        Encoded::encode_after(&endpoints(0..103), Some(&lone)).expect("encodes");
        assert!(
            newer_of(&lone).is_none(),
            "a Pod is not patched against an Endpoints"
        );
        assert_eq!(lone.decode().expect("decodes"), pod);
    }
}
