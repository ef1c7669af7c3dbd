//! The store's requests and responses, shaped like etcd's `etcdserverpb` (`RangeRequest`,
//! `PutRequest`, `DeleteRangeRequest`, `TxnRequest` with `Compare`, `CompactionRequest`,
//! `LeaseGrantRequest`, `LeaseRevokeRequest`). Response headers carry only the revision here;
//! the server adds member id and Raft term.
//!
//! Simplifications: no sorting options on Range, no nested Txn, no `ignore_value`/`ignore_lease`.

use super::kv::{Bytes, KeyValue};

#[derive(Clone, Debug, PartialEq, Default)]
pub struct RangeRequest {
    pub key: Bytes,
    /// `None`: the one key; `Some("\0")`: every key from `key` on; else `[key, range_end)`.
    pub range_end: Option<Bytes>,
    /// At most this many kvs; 0 means no limit.
    pub limit: i64,
    /// Read at this revision; 0 means current.
    pub revision: i64,
    pub count_only: bool,
    pub keys_only: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RangeResponse<V> {
    pub revision: i64,
    pub kvs: Vec<KeyValue<V>>,
    /// Keys in the range (ignoring `limit`).
    pub count: i64,
    pub more: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PutRequest<V> {
    pub key: Bytes,
    pub value: V,
    pub lease: i64,
    pub prev_kv: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PutResponse<V> {
    pub revision: i64,
    pub prev_kv: Option<KeyValue<V>>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct DeleteRangeRequest {
    pub key: Bytes,
    pub range_end: Option<Bytes>,
    pub prev_kv: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeleteRangeResponse<V> {
    pub revision: i64,
    pub deleted: i64,
    pub prev_kvs: Vec<KeyValue<V>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Equal,
    NotEqual,
    Less,
    Greater,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CompareTarget<V> {
    Version(i64),
    CreateRevision(i64),
    ModRevision(i64),
    Value(V),
    Lease(i64),
}

/// etcd `Compare`: holds when every key in the range satisfies it; a missing key has version,
/// revisions and lease 0, and no value (a value comparison with it is false).
#[derive(Clone, Debug, PartialEq)]
pub struct Compare<V> {
    pub key: Bytes,
    pub range_end: Option<Bytes>,
    pub op: CompareOp,
    pub target: CompareTarget<V>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RequestOp<V> {
    Range(RangeRequest),
    Put(PutRequest<V>),
    DeleteRange(DeleteRangeRequest),
}

#[derive(Clone, Debug, PartialEq)]
pub enum ResponseOp<V> {
    Range(RangeResponse<V>),
    Put(PutResponse<V>),
    DeleteRange(DeleteRangeResponse<V>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct TxnRequest<V> {
    pub compare: Vec<Compare<V>>,
    pub success: Vec<RequestOp<V>>,
    pub failure: Vec<RequestOp<V>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TxnResponse<V> {
    pub revision: i64,
    pub succeeded: bool,
    pub responses: Vec<ResponseOp<V>>,
}

/// What goes through Raft and is applied on every member.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteRequest<V> {
    Put(PutRequest<V>),
    DeleteRange(DeleteRangeRequest),
    Txn(TxnRequest<V>),
    Compact {
        revision: i64,
    },
    /// `id == 0`: the store picks the next free id (deterministically, on every member).
    LeaseGrant {
        id: i64,
        ttl_seconds: i64,
    },
    LeaseRevoke {
        id: i64,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum WriteResponse<V> {
    Put(PutResponse<V>),
    DeleteRange(DeleteRangeResponse<V>),
    Txn(TxnResponse<V>),
    Compact {
        revision: i64,
    },
    LeaseGrant {
        revision: i64,
        id: i64,
        ttl_seconds: i64,
    },
    LeaseRevoke {
        revision: i64,
    },
}
