//! The MVCC key-value store etcd keeps on top of Raft: revisions, ranges at a revision, Txn
//! with compares, watches from a revision, compaction, and leases. Pure: the server applies
//! committed entries to it and routes its watch events.

pub mod error;
pub mod key_index;
pub mod kv;
pub mod lease;
pub mod request;
pub mod revision;
pub mod store;
pub mod watch;

#[cfg(test)]
mod tests;

pub use error::MvccError;
pub use kv::{Bytes, Event, EventType, KeyValue, Value, bytes, prefix_end};
pub use lease::{LeaseClock, LeaseTable, MIN_LEASE_TTL_SECONDS};
pub use request::*;
pub use revision::Revision;
pub use store::MvccStore;
pub use watch::{WatchBatch, WatchRequest, WatchStart, WatcherHub};
