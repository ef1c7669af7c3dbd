//! The history a linearizability check judges: client operations on single keys of the store,
//! each with its invocation time, its return time and what it returned, as etcd's clients see
//! them (etcd `api/etcdserverpb/rpc.proto`: Range, Put, DeleteRange, Txn; every response
//! carries `header.revision`).
//!
//! An operation whose outcome the client never learned (a timeout, a dropped connection) is
//! [`Completion::Indeterminate`]: it may or may not have taken effect, and it is treated as
//! returning at time infinity, as Porcupine and Knossos do. An operation that definitely did
//! not take effect (an error returned before the request was proposed) belongs in no history:
//! [`Recorder::fail`] drops it.
//!
//! Simplifications: one key per operation (no multi-key ranges or multi-key transactions), and
//! a transaction compares one target of its own key and, if the compare holds, writes that key.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Who issued an operation. A client may have several operations in flight.
pub type ClientId = u64;

/// Virtual time in nanoseconds, as the engine's clock gives it.
pub type TimeNs = u64;

/// The index of an operation in its [`History`].
pub type OpId = usize;

/// What a client asked of one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Input {
    /// A linearizable read (etcd Range with the default `serializable: false`).
    Get,
    Put {
        value: String,
    },
    Delete,
    /// `Txn { compare: [compare], success: [then], failure: [] }` on one key.
    Txn {
        compare: Compare,
        then: TxnWrite,
    },
}

/// The write a transaction makes when its compare holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnWrite {
    Put { value: String },
    Delete,
}

/// One etcd `Compare` on the operation's key (etcd `server/etcdserver/txn/txn.go`,
/// `applyCompare`): a missing key has version 0 and mod revision 0, and any compare of its
/// value fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compare {
    pub target: CompareTarget,
    pub op: CompareOp,
}

/// What a compare reads, with the operand it is compared to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompareTarget {
    Version(i64),
    ModRevision(i64),
    Value(String),
}

/// `Compare.result` in etcd's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompareOp {
    Equal,
    NotEqual,
    Greater,
    Less,
}

/// What the store answered, for an operation that returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Output {
    /// `mod_revision` is the key's `kv.mod_revision` when the client recorded it.
    Get {
        value: Option<String>,
        mod_revision: Option<i64>,
    },
    Put,
    /// `deleted` is `DeleteRangeResponse.deleted > 0`.
    Delete {
        deleted: bool,
    },
    Txn {
        succeeded: bool,
    },
}

/// An output with the store revision from the response header, when the client recorded it.
/// For a write that changed the key, that revision is the one the write created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub output: Output,
    pub revision: Option<i64>,
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Completion {
    Returned {
        time: TimeNs,
        response: Response,
    },
    /// Timed out: may or may not have taken effect; returns "at infinity".
    Indeterminate,
}

/// One client operation on one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub client: ClientId,
    pub key: String,
    pub input: Input,
    pub call: TimeNs,
    pub completion: Completion,
}

impl Operation {
    /// The return time, `None` for an indeterminate operation (infinity).
    pub fn return_time(&self) -> Option<TimeNs> {
        match &self.completion {
            Completion::Returned { time, .. } => Some(*time),
            Completion::Indeterminate => None,
        }
    }

    /// The response, `None` for an indeterminate operation.
    pub fn response(&self) -> Option<&Response> {
        match &self.completion {
            Completion::Returned { response, .. } => Some(response),
            Completion::Indeterminate => None,
        }
    }

    /// `"get"`, `"put"`, `"delete"` or `"txn"`.
    pub fn kind_name(&self) -> &'static str {
        match self.input {
            Input::Get => "get",
            Input::Put { .. } => "put",
            Input::Delete => "delete",
            Input::Txn { .. } => "txn",
        }
    }

    fn validate(&self) -> Result<(), HistoryError> {
        let Completion::Returned { time, response } = &self.completion else {
            return Ok(());
        };
        if *time < self.call {
            return Err(HistoryError::ReturnBeforeCall {
                call: self.call,
                ret: *time,
            });
        }
        let matches = matches!(
            (&self.input, &response.output),
            (Input::Get, Output::Get { .. })
                | (Input::Put { .. }, Output::Put)
                | (Input::Delete, Output::Delete { .. })
                | (Input::Txn { .. }, Output::Txn { .. })
        );
        if !matches {
            return Err(HistoryError::OutputMismatch {
                expected: self.kind_name(),
                found: format!("{:?}", response.output),
            });
        }
        Ok(())
    }
}

/// Why an operation cannot enter a history.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HistoryError {
    #[error("operation returns at {ret} ns, before its call at {call} ns")]
    ReturnBeforeCall { call: TimeNs, ret: TimeNs },
    #[error("a {expected} operation needs a {expected} output, found {found}")]
    OutputMismatch {
        expected: &'static str,
        found: String,
    },
    #[error("operation {0} was never invoked or has already completed")]
    NotPending(OpId),
}

/// A validated list of operations, in the order they were recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    ops: Vec<Operation>,
}

impl History {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a complete operation; its output must fit its input and it must not return before
    /// it was called.
    pub fn push(&mut self, op: Operation) -> Result<OpId, HistoryError> {
        op.validate()?;
        self.ops.push(op);
        Ok(self.ops.len() - 1)
    }

    pub fn ops(&self) -> &[Operation] {
        &self.ops
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

impl TryFrom<Vec<Operation>> for History {
    type Error = HistoryError;

    fn try_from(ops: Vec<Operation>) -> Result<Self, HistoryError> {
        let mut history = History::new();
        for op in ops {
            history.push(op)?;
        }
        Ok(history)
    }
}

/// Records a history as a client test runs: `invoke` when a request is sent, `complete` when
/// its response arrives, `fail` when it definitely had no effect. Whatever is still pending at
/// `finish` becomes indeterminate.
#[derive(Debug, Default)]
pub struct Recorder {
    slots: Vec<Slot>,
}

#[derive(Debug)]
enum Slot {
    Pending {
        client: ClientId,
        key: String,
        input: Input,
        call: TimeNs,
    },
    Done(Operation),
    Failed,
}

/// A handle on an operation a [`Recorder`] is recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Invocation(usize);

impl Recorder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn invoke(
        &mut self,
        client: ClientId,
        key: impl Into<String>,
        input: Input,
        call: TimeNs,
    ) -> Invocation {
        self.slots.push(Slot::Pending {
            client,
            key: key.into(),
            input,
            call,
        });
        Invocation(self.slots.len() - 1)
    }

    /// Records the response of a pending invocation.
    pub fn complete(
        &mut self,
        invocation: Invocation,
        time: TimeNs,
        response: Response,
    ) -> Result<(), HistoryError> {
        let slot = self
            .slots
            .get_mut(invocation.0)
            .ok_or(HistoryError::NotPending(invocation.0))?;
        let Slot::Pending {
            client,
            key,
            input,
            call,
        } = slot
        else {
            return Err(HistoryError::NotPending(invocation.0));
        };
        let op = Operation {
            client: *client,
            key: std::mem::take(key),
            input: input.clone(),
            call: *call,
            completion: Completion::Returned { time, response },
        };
        if let Err(e) = op.validate() {
            *key = op.key;
            return Err(e);
        }
        *slot = Slot::Done(op);
        Ok(())
    }

    /// Records that the client sent the request of `invocation` once more at `time` (a
    /// retry on another member after a timeout): the earlier attempt may still take effect,
    /// so it enters the history as an indeterminate copy called at the original time, while
    /// `invocation` goes on to its own outcome. Without this, a write applied twice (etcd's
    /// clientv3 retries can do that) would look like a violation.
    pub fn retried(&mut self, invocation: Invocation) -> Result<(), HistoryError> {
        let Some(Slot::Pending {
            client,
            key,
            input,
            call,
        }) = self.slots.get(invocation.0)
        else {
            return Err(HistoryError::NotPending(invocation.0));
        };
        let earlier = Slot::Pending {
            client: *client,
            key: key.clone(),
            input: input.clone(),
            call: *call,
        };
        self.slots.push(earlier);
        Ok(())
    }

    /// Drops an invocation that definitely did not take effect.
    pub fn fail(&mut self, invocation: Invocation) -> Result<(), HistoryError> {
        match self.slots.get_mut(invocation.0) {
            Some(slot @ Slot::Pending { .. }) => {
                *slot = Slot::Failed;
                Ok(())
            }
            _ => Err(HistoryError::NotPending(invocation.0)),
        }
    }

    /// The history, in invocation order; pending invocations become indeterminate.
    pub fn finish(self) -> History {
        let ops = self
            .slots
            .into_iter()
            .filter_map(|slot| match slot {
                Slot::Pending {
                    client,
                    key,
                    input,
                    call,
                } => Some(Operation {
                    client,
                    key,
                    input,
                    call,
                    completion: Completion::Indeterminate,
                }),
                Slot::Done(op) => Some(op),
                Slot::Failed => None,
            })
            .collect();
        History { ops }
    }
}
