//! Checking a whole history key by key. Linearizability is compositional (Herlihy & Wing's
//! locality; Horn & Kroening's P-compositionality): a history of single-key operations is
//! linearizable iff each key's sub-history is, so each key is searched alone, which keeps the
//! search exponential only in one key's concurrency. Keys are checked smallest first, so a
//! step budget spent on one hard key still leaves the easy ones decided.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::checker::{Outcome, Partial, Timed, search};
use super::history::{
    Compare, CompareOp, CompareTarget, History, Input, OpId, Operation, Output, TxnWrite,
};
use super::model::{KeyInput, KeyModel, KeyOp, KeyOutput, KeyTarget, KeyWrite, ValueId};

/// How much search a check may do: one step tries one operation at one point of the search.
/// Memory grows with it too: Lowe's cache keeps at most one entry per step, each a bitset of
/// the key's operations and a small state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub max_steps: u64,
}

impl Default for Budget {
    /// Ten million steps: far more than a 10,000-operation history over hundreds of keys with
    /// a handful of clients needs, and well under a minute of search.
    fn default() -> Self {
        Budget {
            max_steps: 10_000_000,
        }
    }
}

/// The judgement on a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Illegal(Box<Violation>),
    /// The budget ran out before these keys were decided; every other key was linearizable.
    Unknown {
        undecided_keys: Vec<String>,
    },
}

impl Verdict {
    pub fn is_ok(&self) -> bool {
        *self == Verdict::Ok
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Ok => write!(f, "linearizable"),
            Verdict::Illegal(violation) => write!(f, "{violation}"),
            Verdict::Unknown { undecided_keys } => write!(
                f,
                "undecided: the step budget ran out before keys {undecided_keys:?} were decided"
            ),
        }
    }
}

/// Why a key's sub-history has no linearization: the longest linearizable prefix the search
/// found and the operation that could not follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub key: String,
    pub cause: Cause,
    /// History indexes of the longest linearizable prefix, in linearization order.
    pub linearized_prefix: Vec<OpId>,
    /// The operation that returned before anything could linearize it after that prefix.
    pub blocked: OpId,
    /// The operations in flight at that point (including `blocked`), none of which could be
    /// linearized next.
    pub pending: Vec<OpId>,
    /// The key after the prefix, in words.
    pub state_after_prefix: String,
    /// Copies of every operation named above, by history index, so the report stands alone.
    pub operations: BTreeMap<OpId, Operation>,
}

/// How a violation was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The search tried every order the intervals allow and none fits etcd's semantics.
    NoLinearization,
    /// `blocked` read a value no operation ever writes to the key: found before any search,
    /// which would otherwise backtrack through every order of the operations before it.
    NeverWritten { value: String },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const TAIL: usize = 8;
        let line = |f: &mut fmt::Formatter<'_>, id: &OpId| match self.operations.get(id) {
            Some(op) => writeln!(f, "    #{id} {}", describe_op(op)),
            None => writeln!(f, "    #{id}"),
        };
        if let Cause::NeverWritten { value } = &self.cause {
            writeln!(
                f,
                "key {:?} is not linearizable: #{} read {value:?}, which no operation writes to it",
                self.key, self.blocked
            )?;
            return line(f, &self.blocked);
        }
        writeln!(f, "key {:?} is not linearizable", self.key)?;
        let skipped = self.linearized_prefix.len().saturating_sub(TAIL);
        writeln!(
            f,
            "  longest linearizable prefix: {} operations{}",
            self.linearized_prefix.len(),
            if skipped > 0 { ", last ones:" } else { ":" }
        )?;
        for id in &self.linearized_prefix[skipped..] {
            line(f, id)?;
        }
        writeln!(f, "  which leaves {}", self.state_after_prefix)?;
        writeln!(
            f,
            "  then #{} returned, yet none of the operations in flight could come next:",
            self.blocked
        )?;
        for id in &self.pending {
            line(f, id)?;
        }
        Ok(())
    }
}

/// One operation as a line: client, interval, input and output.
pub fn describe_op(op: &Operation) -> String {
    let input = match &op.input {
        Input::Get => "get".to_string(),
        Input::Put { value } => format!("put {value:?}"),
        Input::Delete => "delete".to_string(),
        Input::Txn { compare, then } => {
            let then = match then {
                TxnWrite::Put { value } => format!("put {value:?}"),
                TxnWrite::Delete => "delete".to_string(),
            };
            format!("txn if {:?} {:?} then {then}", compare.target, compare.op)
        }
    };
    let (ret, output) = match op.response() {
        Some(response) => {
            let output = match &response.output {
                Output::Get { value, .. } => format!("{value:?}"),
                Output::Put => "ok".to_string(),
                Output::Delete { deleted } => format!("deleted={deleted}"),
                Output::Txn { succeeded } => format!("succeeded={succeeded}"),
            };
            let rev = response
                .revision
                .map(|r| format!(" @rev {r}"))
                .unwrap_or_default();
            (
                op.return_time().unwrap_or_default().to_string(),
                output + &rev,
            )
        }
        None => ("inf".to_string(), "timed out".to_string()),
    };
    format!(
        "client {} [{}, {}] {} {:?} -> {}",
        op.client, op.call, ret, input, op.key, output
    )
}

/// Checks that `history` is linearizable against etcd's single-key semantics, within `budget`.
pub fn check(history: &History, budget: Budget) -> Verdict {
    let mut by_key: BTreeMap<&str, Vec<OpId>> = BTreeMap::new();
    for (id, op) in history.ops().iter().enumerate() {
        by_key.entry(op.key.as_str()).or_default().push(id);
    }
    let mut keys: Vec<(&str, Vec<OpId>)> = by_key.into_iter().collect();
    keys.sort_by_key(|(key, ids)| (ids.len(), *key));

    let mut steps_left = budget.max_steps;
    let mut undecided_keys = Vec::new();
    for (key, ids) in keys {
        let (model, ops, origin) = key_subhistory(history, &ids);
        let (outcome, steps, cause) = match read_of_unwritten_value(&model, &ops) {
            Some((read, value)) => {
                let partial = Partial {
                    prefix: Vec::new(),
                    blocked: read,
                    pending: vec![read],
                    state: String::new(),
                };
                let cause = Cause::NeverWritten { value };
                (Outcome::NotLinearizable(partial), 0, cause)
            }
            None => {
                let (outcome, steps) = search(&model, &ops, steps_left);
                (outcome, steps, Cause::NoLinearization)
            }
        };
        steps_left -= steps;
        match outcome {
            Outcome::Linearizable => {}
            Outcome::OutOfBudget => undecided_keys.push(key.to_string()),
            Outcome::NotLinearizable(partial) => {
                let to_history = |i: usize| origin[i];
                let linearized_prefix: Vec<OpId> =
                    partial.prefix.iter().copied().map(to_history).collect();
                let pending: Vec<OpId> = partial.pending.iter().copied().map(to_history).collect();
                let blocked = to_history(partial.blocked);
                let operations = linearized_prefix
                    .iter()
                    .chain(&pending)
                    .chain([&blocked])
                    .map(|&id| (id, history.ops()[id].clone()))
                    .collect();
                return Verdict::Illegal(Box::new(Violation {
                    key: key.to_string(),
                    cause,
                    linearized_prefix,
                    blocked,
                    pending,
                    state_after_prefix: partial.state,
                    operations,
                }));
            }
        }
    }
    if undecided_keys.is_empty() {
        Verdict::Ok
    } else {
        Verdict::Unknown { undecided_keys }
    }
}

/// The first returned read of a value that no operation on the key writes, with that value.
fn read_of_unwritten_value(model: &KeyModel, ops: &[Timed<KeyOp>]) -> Option<(usize, String)> {
    let written: BTreeSet<ValueId> = ops
        .iter()
        .filter_map(|op| match op.op.input {
            KeyInput::Put(value)
            | KeyInput::Txn {
                then: KeyWrite::Put(value),
                ..
            } => Some(value),
            _ => None,
        })
        .collect();
    ops.iter()
        .enumerate()
        .find_map(|(index, op)| match op.op.output {
            Some(KeyOutput::Get {
                value: Some(value), ..
            }) if !written.contains(&value) => {
                let text = model
                    .values
                    .get(value as usize)
                    .cloned()
                    .unwrap_or_default();
                Some((index, text))
            }
            _ => None,
        })
}

/// The key's model and operations, and for each operation its history index. Indeterminate
/// reads are left out: they change nothing and constrain nothing.
fn key_subhistory(history: &History, ids: &[OpId]) -> (KeyModel, Vec<Timed<KeyOp>>, Vec<OpId>) {
    let ops: Vec<(OpId, &Operation)> = ids
        .iter()
        .map(|&id| (id, &history.ops()[id]))
        .filter(|(_, op)| !(op.input == Input::Get && op.response().is_none()))
        .collect();
    let mut texts: BTreeSet<&str> = BTreeSet::new();
    for (_, op) in &ops {
        match &op.input {
            Input::Put { value } => {
                texts.insert(value);
            }
            Input::Txn { compare, then } => {
                if let CompareTarget::Value(value) = &compare.target {
                    texts.insert(value);
                }
                if let TxnWrite::Put { value } = then {
                    texts.insert(value);
                }
            }
            Input::Get | Input::Delete => {}
        }
        if let Some(Output::Get {
            value: Some(value), ..
        }) = op.response().map(|r| &r.output)
        {
            texts.insert(value);
        }
    }
    // Values no read returns and no compare names are indistinguishable to every operation
    // of the key, so they share one id: states that differ only in which of them the key
    // holds merge in the cache. Only a Greater/Less value compare could tell them apart.
    let ordered_value_compare = ops.iter().any(|(_, op)| {
        matches!(&op.input, Input::Txn { compare, .. }
            if matches!(compare.target, CompareTarget::Value(_))
                && matches!(compare.op, CompareOp::Greater | CompareOp::Less))
    });
    let observed: BTreeSet<&str> = ops
        .iter()
        .flat_map(|(_, op)| {
            let read = match op.response().map(|r| &r.output) {
                Some(Output::Get {
                    value: Some(value), ..
                }) => Some(value.as_str()),
                _ => None,
            };
            let compared = match &op.input {
                Input::Txn {
                    compare:
                        Compare {
                            target: CompareTarget::Value(value),
                            ..
                        },
                    ..
                } => Some(value.as_str()),
                _ => None,
            };
            read.into_iter().chain(compared)
        })
        .collect();
    let mut values: Vec<String> = texts
        .iter()
        .filter(|text| ordered_value_compare || observed.contains(*text))
        .map(|s| s.to_string())
        .collect();
    let unobserved = values.len();
    if !ordered_value_compare && texts.len() > observed.len() {
        values.push("(a value no read returns)".to_string());
    }
    let id = |text: &str| -> ValueId {
        let index = values[..unobserved]
            .binary_search_by(|v| v.as_str().cmp(text))
            .unwrap_or(unobserved);
        ValueId::try_from(index).unwrap_or(ValueId::MAX)
    };
    let write = |then: &TxnWrite| match then {
        TxnWrite::Put { value } => KeyWrite::Put(id(value)),
        TxnWrite::Delete => KeyWrite::Delete,
    };
    let timed = ops
        .iter()
        .map(|(_, op)| {
            let input = match &op.input {
                Input::Get => KeyInput::Get,
                Input::Put { value } => KeyInput::Put(id(value)),
                Input::Delete => KeyInput::Delete,
                Input::Txn { compare, then } => KeyInput::Txn {
                    target: match &compare.target {
                        CompareTarget::Version(v) => KeyTarget::Version(*v),
                        CompareTarget::ModRevision(r) => KeyTarget::ModRevision(*r),
                        CompareTarget::Value(value) => KeyTarget::Value(id(value)),
                    },
                    op: compare.op,
                    then: write(then),
                },
            };
            let response = op.response();
            let output = response.map(|r| match &r.output {
                Output::Get {
                    value,
                    mod_revision,
                } => KeyOutput::Get {
                    value: value.as_deref().map(id),
                    mod_revision: *mod_revision,
                },
                Output::Put => KeyOutput::Put,
                Output::Delete { deleted } => KeyOutput::Delete { deleted: *deleted },
                Output::Txn { succeeded } => KeyOutput::Txn {
                    succeeded: *succeeded,
                },
            });
            Timed {
                call: op.call,
                ret: op.return_time(),
                op: KeyOp {
                    input,
                    output,
                    revision: response.and_then(|r| r.revision),
                },
            }
        })
        .collect();
    let origin = ops.iter().map(|(id, _)| *id).collect();
    let track_version = ops.iter().any(|(_, op)| {
        matches!(&op.input, Input::Txn { compare, .. }
            if matches!(compare.target, CompareTarget::Version(_)))
    });
    let model = KeyModel {
        values,
        track_version,
    };
    (model, timed, origin)
}
