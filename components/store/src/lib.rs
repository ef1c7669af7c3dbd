//! etcd: Raft consensus, an MVCC key-value store, its client, and a linearizability checker.

pub mod client;
pub mod linearizability;
pub mod mvcc;
pub mod raft;
pub mod server;
