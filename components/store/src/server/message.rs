//! What etcd members and their clients say to each other: Raft traffic between members, and
//! requests, responses and watch traffic between a client and a member.
//!
//! Shapes follow etcd's gRPC API (`api/etcdserverpb/rpc.proto`: KV, Watch, Lease, Maintenance
//! Status) and its error strings (`api/v3rpc/rpctypes/error.go`, `server/etcdserver/errors.go`).
//! `EtcdMessage` is a plain enum: a cluster-wide message type embeds it and implements
//! [`EtcdEnvelope`] to wrap and unwrap it.

use std::sync::Arc;

use sim::{Message, TraceHasher};
use thiserror::Error;

use crate::mvcc::{
    Event, MvccError, MvccStore, RangeRequest, RangeResponse, WatchRequest, WriteRequest,
    WriteResponse,
};
use crate::raft;

/// Who proposed an entry and which of its proposals it is, so the proposer can answer.
/// `boot` tells the member's incarnations apart: `seq` restarts at every boot, and a proposal
/// made before a crash can still commit and be applied after the restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProposalId {
    pub member: u64,
    pub boot: u64,
    pub seq: u64,
}

/// A Raft log entry's payload: one write request.
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal<V> {
    pub id: ProposalId,
    /// Shared with the client that sent it, which keeps it to retry.
    pub request: Arc<WriteRequest<V>>,
}

pub type EntryData<V> = Arc<Proposal<V>>;
pub type SnapshotData<V> = Arc<MvccStore<V>>;
pub type RaftMessage<V> = raft::Message<EntryData<V>, SnapshotData<V>>;

#[derive(Clone, Debug, PartialEq)]
pub enum RequestBody<V> {
    /// `serializable: false` is etcd's default linearizable read (ReadIndex).
    Range {
        request: RangeRequest,
        serializable: bool,
    },
    /// Put, DeleteRange, Txn, Compact, LeaseGrant, LeaseRevoke: through Raft.
    /// Shared: the client keeps the request for a retry while an attempt is out, and the
    /// member proposes the same value.
    Write(Arc<WriteRequest<V>>),
    /// Renew a lease; only the leader keeps lease clocks.
    LeaseKeepAlive {
        id: i64,
    },
    Status,
}

/// etcd's `ResponseHeader`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ResponseHeader {
    pub member_id: u64,
    pub raft_term: u64,
    pub revision: i64,
}

/// `etcdctl endpoint status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusInfo {
    pub member_id: u64,
    pub leader: Option<u64>,
    pub raft_term: u64,
    pub raft_index: u64,
    pub raft_applied_index: u64,
    pub db_size_bytes: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ResponseBody<V> {
    Range(RangeResponse<V>),
    Write(WriteResponse<V>),
    LeaseKeepAlive { id: i64, ttl_seconds: i64 },
    Status(StatusInfo),
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum EtcdError {
    #[error(transparent)]
    Mvcc(#[from] MvccError),
    #[error("etcdserver: not leader")]
    NotLeader { leader: Option<u64> },
    #[error("etcdserver: no leader")]
    NoLeader,
    #[error("etcdserver: request timed out")]
    Timeout,
    #[error("etcdserver: too many requests")]
    TooManyRequests,
    /// What a client sees when no member answered in time (clientv3's context deadline).
    #[error("context deadline exceeded")]
    DeadlineExceeded,
}

/// Why a member ended a watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchCancel {
    /// The start revision is compacted; the watcher must relist (Kubernetes: 410 Gone).
    Compacted { compact_revision: i64 },
    /// The member lost its leader (etcd cancels watches that require one).
    NoLeader,
    /// The client asked.
    Requested,
}

#[derive(Clone, Debug)]
pub enum EtcdMessage<V> {
    /// Member to member.
    Raft(Box<RaftMessage<V>>),
    Request {
        id: u64,
        body: RequestBody<V>,
    },
    Response {
        id: u64,
        header: ResponseHeader,
        result: Result<ResponseBody<V>, EtcdError>,
    },
    WatchCreate {
        watch_id: u64,
        request: WatchRequest,
    },
    WatchCancel {
        watch_id: u64,
    },
    /// Events in revision order; `canceled` ends the watch.
    WatchResponse {
        watch_id: u64,
        header: ResponseHeader,
        events: Vec<Arc<Event<V>>>,
        canceled: Option<WatchCancel>,
    },
}

/// A message type that can carry `EtcdMessage<V>`: the cluster-wide enum implements it.
pub trait EtcdEnvelope<V>: Message {
    fn wrap(m: EtcdMessage<V>) -> Self;
    /// The etcd message inside, or the message itself when it is something else.
    fn unwrap_etcd(self) -> Result<EtcdMessage<V>, Self>;
}

impl<V: Clone + std::fmt::Debug + 'static> Message for EtcdMessage<V> {
    fn trace_digest(&self, h: &mut TraceHasher) {
        match self {
            EtcdMessage::Raft(m) => raft_trace_digest(m, h),
            EtcdMessage::Request { id, .. } => {
                h.write_u64(2);
                h.write_u64(*id);
            }
            EtcdMessage::Response { id, header, result } => {
                h.write_u64(3);
                h.write_u64(*id);
                h.write_u64(header.revision as u64);
                h.write_u64(u64::from(result.is_ok()));
            }
            EtcdMessage::WatchCreate { watch_id, request } => {
                h.write_u64(4);
                h.write_u64(*watch_id);
                h.write_u64(request.start_revision as u64);
            }
            EtcdMessage::WatchCancel { watch_id } => {
                h.write_u64(5);
                h.write_u64(*watch_id);
            }
            EtcdMessage::WatchResponse {
                watch_id, events, ..
            } => {
                h.write_u64(6);
                h.write_u64(*watch_id);
                h.write_u64(events.len() as u64);
                if let Some(last) = events.last() {
                    h.write_u64(last.kv.mod_revision as u64);
                }
            }
        }
    }

    fn trace_label(&self) -> String {
        match self {
            EtcdMessage::Raft(m) => raft_trace_label(m),
            EtcdMessage::Request { id, .. } => format!("etcd request {id}"),
            EtcdMessage::Response { id, .. } => format!("etcd response {id}"),
            EtcdMessage::WatchCreate { watch_id, .. } => format!("etcd watch create {watch_id}"),
            EtcdMessage::WatchCancel { watch_id } => format!("etcd watch cancel {watch_id}"),
            EtcdMessage::WatchResponse {
                watch_id, events, ..
            } => format!("etcd watch {watch_id}: {} events", events.len()),
        }
    }
}

/// The digest of `EtcdMessage::Raft(m)`, for an envelope that carries Raft messages apart
/// from the rest (they are most of the traffic, and boxed already).
pub fn raft_trace_digest<V>(m: &RaftMessage<V>, h: &mut TraceHasher) {
    h.write_u64(1);
    h.write_u64(m.kind as u64);
    h.write_u64(m.from);
    h.write_u64(m.to);
    h.write_u64(m.term);
    h.write_u64(m.index);
    h.write_u64(m.commit);
    h.write_u64(m.entries.len() as u64);
}

/// The trace label of `EtcdMessage::Raft(m)`.
pub fn raft_trace_label<V>(m: &RaftMessage<V>) -> String {
    format!(
        "raft {:?} {}->{} t{} i{}",
        m.kind, m.from, m.to, m.term, m.index
    )
}

impl<V: Clone + std::fmt::Debug + 'static> EtcdEnvelope<V> for EtcdMessage<V> {
    fn wrap(m: EtcdMessage<V>) -> Self {
        m
    }
    fn unwrap_etcd(self) -> Result<EtcdMessage<V>, Self> {
        Ok(self)
    }
}
