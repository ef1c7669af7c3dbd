//! Errors of the MVCC store, with etcd's messages (`server/storage/mvcc/kvstore.go`,
//! `server/etcdserver/api/v3rpc/rpctypes/error.go`, `server/lease/lessor.go`).

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MvccError {
    #[error("mvcc: required revision has been compacted")]
    Compacted { compact_revision: i64 },
    #[error("mvcc: required revision is a future revision")]
    FutureRevision { current_revision: i64 },
    #[error("etcdserver: key is not provided")]
    EmptyKey,
    #[error("etcdserver: duplicate key given in txn request")]
    DuplicateKey,
    #[error("etcdserver: too many operations in txn request")]
    TooManyOps,
    #[error("etcdserver: requested lease not found")]
    LeaseNotFound,
    #[error("etcdserver: lease already exists")]
    LeaseExists,
}
