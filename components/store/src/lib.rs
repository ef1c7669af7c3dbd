//! etcd: Raft consensus, an MVCC key-value store, its client, and a linearizability checker.
//!
//! - [`raft`]: Raft as a pure state machine after etcd-io/raft (`RawNode`/`Ready`), with
//!   pre-vote, check-quorum, snapshots, ReadIndex, and `RaftSafetyMonitor`.
//! - [`mvcc`]: the MVCC store applied from committed entries: revisions, Range/Put/
//!   DeleteRange/Txn, watches, compaction, leases. Values are opaque (`Value`; `Bytes`).
//! - [`server`]: `EtcdMember`, one etcd server as an engine actor; its messages; the Raft
//!   safety invariant for simulation runs; a test harness.
//! - [`client`]: `EtcdClient`, the client logic other actors embed.
//! - `linearizability`: the checker that judges recorded client histories.

pub mod client;
pub mod linearizability;
pub mod mvcc;
pub mod raft;
pub mod server;
