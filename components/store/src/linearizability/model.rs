//! The sequential specification of one etcd key: what a single-key Range, Put, DeleteRange
//! or Txn does to the key and what it returns, following etcd's MVCC semantics
//! (`server/storage/mvcc/kvstore_txn.go`, `server/etcdserver/txn/txn.go`):
//! a put bumps the key's version and sets its mod revision to the revision it creates; a
//! delete of a present key creates a revision and resets version and mod revision to 0; a
//! delete of a missing key changes nothing; a compare on a missing key sees version 0 and mod
//! revision 0, and a compare of a missing key's value always fails.
//!
//! Revisions strengthen the check where the history recorded them: the store revision is
//! global and only grows along the linearization, so within one key every write that changed
//! the key must carry a header revision above every revision seen before it, and every read
//! one at least as high. A write whose revision is unknown (indeterminate, or unrecorded)
//! leaves the mod revision unknown, and a compare of an unknown mod revision may go either way.
//!
//! Values are interned per key into ids whose order is the values' byte order, so states are
//! small `Copy` values and Greater/Less compares of values still work.

use std::cmp::Ordering;

use super::checker::Model;
use super::history::CompareOp;

/// A value interned within one key's sub-history.
pub(crate) type ValueId = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyTarget {
    Version(i64),
    ModRevision(i64),
    Value(ValueId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyWrite {
    Put(ValueId),
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyInput {
    Get,
    Put(ValueId),
    Delete,
    Txn {
        target: KeyTarget,
        op: CompareOp,
        then: KeyWrite,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyOutput {
    Get {
        value: Option<ValueId>,
        mod_revision: Option<i64>,
    },
    Put,
    Delete {
        deleted: bool,
    },
    Txn {
        succeeded: bool,
    },
}

/// One operation on the key; `output: None` when it is indeterminate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyOp {
    pub input: KeyInput,
    pub output: Option<KeyOutput>,
    pub revision: Option<i64>,
}

/// The key as the linearization so far leaves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct KeyState {
    value: Option<ValueId>,
    version: i64,
    /// `None`: changed by a write whose revision the history does not say.
    mod_revision: Option<i64>,
    /// The highest store revision any linearized operation's header reported.
    revision_floor: i64,
}

/// The specification of one key, with its interned values for reports.
#[derive(Debug, Clone)]
pub(crate) struct KeyModel {
    /// Value text by id, sorted.
    pub values: Vec<String>,
    /// Whether any operation compares the version; if none does, the version is not kept,
    /// so that states differing only in it merge.
    pub track_version: bool,
}

impl KeyModel {
    fn value_text(&self, id: ValueId) -> &str {
        self.values.get(id as usize).map_or("?", String::as_str)
    }
}

fn holds(ordering: Ordering, op: CompareOp) -> bool {
    match op {
        CompareOp::Equal => ordering == Ordering::Equal,
        CompareOp::NotEqual => ordering != Ordering::Equal,
        CompareOp::Greater => ordering == Ordering::Greater,
        CompareOp::Less => ordering == Ordering::Less,
    }
}

/// Whether the compare holds; `None` when it depends on an unknown mod revision.
fn compare(state: &KeyState, target: KeyTarget, op: CompareOp) -> Option<bool> {
    match target {
        KeyTarget::Version(v) => Some(holds(state.version.cmp(&v), op)),
        KeyTarget::ModRevision(r) => state.mod_revision.map(|m| holds(m.cmp(&r), op)),
        KeyTarget::Value(v) => Some(state.value.is_some_and(|have| holds(have.cmp(&v), op))),
    }
}

/// A read-only operation at header revision `revision`.
fn observe(mut state: KeyState, revision: Option<i64>) -> Option<KeyState> {
    if let Some(rev) = revision {
        if rev < state.revision_floor || state.mod_revision.is_some_and(|m| rev < m) {
            return None;
        }
        state.revision_floor = rev;
    }
    Some(state)
}

/// A write that changed the key, creating revision `revision`.
fn change(mut state: KeyState, write: KeyWrite, revision: Option<i64>) -> Option<KeyState> {
    match revision {
        Some(rev) => {
            if rev <= state.revision_floor || state.mod_revision.is_some_and(|m| rev <= m) {
                return None;
            }
            state.revision_floor = rev;
            state.mod_revision = Some(rev);
        }
        None => state.mod_revision = None,
    }
    match write {
        KeyWrite::Put(value) => {
            state.value = Some(value);
            state.version += 1;
        }
        KeyWrite::Delete => {
            state.value = None;
            state.version = 0;
            state.mod_revision = Some(0);
        }
    }
    Some(state)
}

/// A write: a delete of a missing key changes nothing and creates no revision.
fn write(state: KeyState, write: KeyWrite, revision: Option<i64>) -> Option<KeyState> {
    if write == KeyWrite::Delete && state.value.is_none() {
        observe(state, revision)
    } else {
        change(state, write, revision)
    }
}

impl Model for KeyModel {
    type State = KeyState;
    type Op = KeyOp;

    fn init(&self) -> KeyState {
        KeyState {
            value: None,
            version: 0,
            mod_revision: Some(0),
            revision_floor: 0,
        }
    }

    fn successors(&self, state: &KeyState, op: &KeyOp, out: &mut Vec<KeyState>) {
        let start = out.len();
        self.successors_with_version(state, op, out);
        if !self.track_version {
            for next in &mut out[start..] {
                next.version = 0;
            }
        }
    }

    fn describe(&self, state: &KeyState) -> String {
        let value = match state.value {
            Some(id) => format!("{:?}", self.value_text(id)),
            None => "absent".to_string(),
        };
        let version = if self.track_version {
            format!(" version={}", state.version)
        } else {
            String::new()
        };
        let mod_revision = match state.mod_revision {
            Some(rev) => rev.to_string(),
            None => "unknown".to_string(),
        };
        format!(
            "value={value}{version} mod_revision={mod_revision} revision>={}",
            state.revision_floor
        )
    }
}

impl KeyModel {
    fn successors_with_version(&self, state: &KeyState, op: &KeyOp, out: &mut Vec<KeyState>) {
        let next = match (op.input, op.output) {
            (KeyInput::Get, None) => Some(*state),
            (
                KeyInput::Get,
                Some(KeyOutput::Get {
                    value,
                    mod_revision,
                }),
            ) => {
                if value != state.value {
                    return;
                }
                let mut next = *state;
                if let Some(read) = mod_revision {
                    match state.mod_revision {
                        Some(known) if known != read => return,
                        // The read tells the revision an indeterminate write created.
                        _ => next.mod_revision = Some(read),
                    }
                }
                observe(next, op.revision)
            }
            (KeyInput::Put(value), None | Some(KeyOutput::Put)) => {
                write(*state, KeyWrite::Put(value), op.revision)
            }
            (KeyInput::Delete, output) => {
                let present = state.value.is_some();
                if matches!(output, Some(KeyOutput::Delete { deleted }) if deleted != present) {
                    return;
                }
                write(*state, KeyWrite::Delete, op.revision)
            }
            (
                KeyInput::Txn {
                    target,
                    op: cmp,
                    then,
                },
                output,
            ) => {
                let known = match output {
                    Some(KeyOutput::Txn { succeeded }) => Some(succeeded),
                    _ => None,
                };
                let possible = compare(state, target, cmp);
                let applied = write(*state, then, op.revision);
                let skipped = observe(*state, op.revision);
                match (possible, known) {
                    (Some(a), Some(b)) if a != b => None,
                    (Some(true), _) | (None, Some(true)) => applied,
                    (Some(false), _) | (None, Some(false)) => skipped,
                    (None, None) => {
                        out.extend(applied);
                        skipped
                    }
                }
            }
            // Validated histories never pair an input with another kind's output.
            (KeyInput::Get | KeyInput::Put(_), Some(_)) => None,
        };
        out.extend(next);
    }
}
