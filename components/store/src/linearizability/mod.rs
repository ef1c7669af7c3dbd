//! Judges recorded client histories of the store: are they linearizable, and did watchers
//! see every committed change exactly once and in order?
//!
//! What it checks:
//! - [`check`]: a history of single-key Get (linearizable Range), Put, Delete and
//!   compare-then-write Txn operations, each with client, invocation and return time in
//!   virtual nanoseconds, input and output, against etcd's sequential semantics
//!   ([`model`](self) follows etcd `server/storage/mvcc` and `server/etcdserver/txn`). Header
//!   revisions, where recorded, must grow along the linearization, which catches stale reads
//!   that a value alone cannot (the same value written twice).
//! - [`check_watch`]: a watcher's events against the committed changes for its prefix.
//!
//! How: Wing & Gong's search with Lowe's memoization, as in Porcupine
//! (anishathalye/porcupine, `checker.go`), run per key since linearizability is compositional.
//! Timed-out operations return at infinity and may or may not take effect, as in Porcupine and
//! Jepsen's Knossos. A step budget bounds the search; running out yields
//! [`Verdict::Unknown`], never a guess. A violation names the key, the longest linearizable
//! prefix found (Porcupine's partial linearization) and the operations that could not follow.
//!
//! Recording a history in a client test: `invoke` when a request is sent, `complete` when its
//! response arrives (with `header.revision`), `retried` when the client re-sends it to another
//! member, `fail` when it surely had no effect; what is left pending becomes indeterminate.
//!
//! ```
//! use store::linearizability::{check, Budget, Input, Output, Recorder, Response, Verdict};
//!
//! let mut rec = Recorder::new();
//! let put = rec.invoke(1, "/registry/pods/a", Input::Put { value: "v1".into() }, 1_000);
//! let get = rec.invoke(2, "/registry/pods/a", Input::Get, 1_500);
//! rec.complete(put, 2_000, Response { output: Output::Put, revision: Some(2) })?;
//! let seen = Output::Get { value: Some("v1".into()), mod_revision: Some(2) };
//! rec.complete(get, 2_500, Response { output: seen, revision: Some(2) })?;
//! let timed_out = rec.invoke(1, "/registry/pods/a", Input::Delete, 3_000);
//! let history = rec.finish();
//! assert_eq!(check(&history, Budget::default()), Verdict::Ok);
//! # let _ = timed_out;
//! # Ok::<(), store::linearizability::HistoryError>(())
//! ```
//!
//! Simplifications: one key per operation (no ranges over many keys, no multi-key
//! transactions: such a history must be split by the caller, or those operations left out);
//! the store starts empty; compares cover version, mod revision and value, not create
//! revision or lease; serializable (possibly stale) reads are not modelled and must not be
//! recorded as Gets; a transaction's failure branch reads nothing. The search is exponential
//! in one key's concurrency: an illegal history with many timed-out writes on a few hot keys
//! can spend the budget and come back Unknown. [`to_json_lines`] and [`from_json_lines`] carry a history to other
//! checkers.

mod checker;
mod export;
mod history;
mod model;
mod partition;
mod watch;

#[cfg(test)]
mod tests;

pub use export::{ImportError, from_json_lines, to_json_lines};
pub use history::{
    ClientId, Compare, CompareOp, CompareTarget, Completion, History, HistoryError, Input,
    Invocation, OpId, Operation, Output, Recorder, Response, TimeNs, TxnWrite,
};
pub use partition::{Budget, Cause, Verdict, Violation, check, describe_op};
pub use watch::{
    CommittedLog, EventKind, UncertainChange, WatchEvent, WatchSpec, WatchSummary, WatchViolation,
    check_watch,
};
