//! The search for a linearization of one sub-history: Wing & Gong's algorithm with Lowe's
//! memoization, shaped as Porcupine's `checkSingle` (anishathalye/porcupine, `checker.go`).
//!
//! Call and return events sit in one doubly linked list ordered by time (a call before a
//! return at the same instant, so touching intervals count as concurrent). The search walks
//! the list: at a call it tries to linearize that operation next (the model must accept it),
//! lifting the call and its return out of the list; at a return it has met an operation that
//! had to be linearized before that point and was not, so it backtracks. Lowe's cache of
//! (set of linearized operations, model state) prunes every configuration already explored.
//!
//! Three departures from Porcupine: an operation without a return (indeterminate) is never
//! required to be linearized, since placing it after everything else is always allowed; the
//! cache prunes by dominance over those optional operations (a configuration with the same
//! required operations and state as one already seen, but a superset of its optional ones,
//! can do nothing the other could not), which keeps timeouts from multiplying a failing
//! search by 2^(timeouts); and the model may be nondeterministic (a write whose outcome the
//! history does not fix), so a stack frame remembers which successor state it chose and
//! backtracking tries the next one.
//!
//! The search is bounded by a step budget and reports running out instead of hanging.

use std::collections::BTreeMap;

use super::history::TimeNs;

/// A sequential specification the search linearizes against.
pub(crate) trait Model {
    type State: Clone + Ord;
    type Op;

    fn init(&self) -> Self::State;

    /// Appends to `out` every state `op` can lead to from `state` while producing the output
    /// recorded in `op`; appends nothing when the output is impossible there. The order of
    /// successors must be the same on every call.
    fn successors(&self, state: &Self::State, op: &Self::Op, out: &mut Vec<Self::State>);

    /// The state in words, for a violation report.
    fn describe(&self, state: &Self::State) -> String;
}

/// One operation of the sub-history with its interval; `ret: None` is infinity.
#[derive(Debug, Clone)]
pub(crate) struct Timed<O> {
    pub call: TimeNs,
    pub ret: Option<TimeNs>,
    pub op: O,
}

/// The deepest point a failed search reached, as indexes into the searched slice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Partial {
    /// The longest sequence of operations that could be linearized, in order.
    pub prefix: Vec<usize>,
    /// The operation whose return came before anything could linearize it.
    pub blocked: usize,
    /// Every operation called and not yet linearized at that point (they include `blocked`):
    /// none of them could come next.
    pub pending: Vec<usize>,
    /// The model state after `prefix`.
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Linearizable,
    NotLinearizable(Partial),
    OutOfBudget,
}

const NIL: usize = usize::MAX;
const HEAD: usize = 0;

#[derive(Debug, Clone, Copy)]
struct Node {
    op: usize,
    /// For a call: the node of its return. For a return: `NIL`.
    matching: usize,
    is_call: bool,
}

/// The calls and returns of the required (returned) operations, with O(1) unlink and relink
/// (dancing links). Optional operations have no return and stay out of the list.
struct EventList {
    nodes: Vec<Node>,
    next: Vec<usize>,
    prev: Vec<usize>,
}

impl EventList {
    fn new<O>(ops: &[Timed<O>]) -> Self {
        // (time, return-after-call, op) orders events totally and deterministically.
        let mut events: Vec<(TimeNs, bool, usize)> = Vec::with_capacity(ops.len() * 2);
        for (i, op) in ops.iter().enumerate() {
            if let Some(ret) = op.ret {
                events.push((op.call, false, i));
                events.push((ret, true, i));
            }
        }
        events.sort_unstable();
        let mut nodes = Vec::with_capacity(events.len() + 1);
        nodes.push(Node {
            op: NIL,
            matching: NIL,
            is_call: false,
        });
        let mut call_node = vec![NIL; ops.len()];
        for &(_, is_return, op) in &events {
            let index = nodes.len();
            if is_return {
                nodes[call_node[op]].matching = index;
            } else {
                call_node[op] = index;
            }
            nodes.push(Node {
                op,
                matching: NIL,
                is_call: !is_return,
            });
        }
        let len = nodes.len();
        let next = (0..len)
            .map(|i| if i + 1 < len { i + 1 } else { NIL })
            .collect();
        let prev = (0..len).map(|i| if i == 0 { NIL } else { i - 1 }).collect();
        EventList { nodes, next, prev }
    }

    fn unlink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = n;
        if n != NIL {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = node;
        if n != NIL {
            self.prev[n] = node;
        }
    }

    /// Removes a call and its return; `unlift` must undo lifts in reverse order.
    fn lift(&mut self, call: usize) {
        self.unlink(call);
        let ret = self.nodes[call].matching;
        if ret != NIL {
            self.unlink(ret);
        }
    }

    fn unlift(&mut self, call: usize) {
        let ret = self.nodes[call].matching;
        if ret != NIL {
            self.relink(ret);
        }
        self.relink(call);
    }

    /// The operations of the call nodes from the head up to (not including) `stop`.
    fn pending_before(&self, stop: usize) -> Vec<usize> {
        let mut pending = Vec::new();
        let mut at = self.next[HEAD];
        while at != NIL && at != stop {
            if self.nodes[at].is_call {
                pending.push(self.nodes[at].op);
            }
            at = self.next[at];
        }
        pending
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Bitset(Vec<u64>);

impl Bitset {
    fn new(bits: usize) -> Self {
        Bitset(vec![0; bits.div_ceil(64)])
    }
    fn set(&mut self, bit: usize) {
        self.0[bit / 64] |= 1 << (bit % 64);
    }
    fn get(&self, bit: usize) -> bool {
        self.0[bit / 64] & (1 << (bit % 64)) != 0
    }
    fn clear(&mut self, bit: usize) {
        self.0[bit / 64] &= !(1 << (bit % 64));
    }
    fn is_subset_of(&self, other: &Bitset) -> bool {
        self.0.iter().zip(&other.0).all(|(a, b)| a & !b == 0)
    }
}

/// Lowe's cache, keyed by the required operations linearized and the state, holding for each
/// the sets of optional operations linearized with it, none a subset of another.
struct Cache<S> {
    seen: BTreeMap<Bitset, BTreeMap<S, Vec<Bitset>>>,
}

impl<S: Clone + Ord> Cache<S> {
    /// Records the configuration; false if it or one that dominates it was seen already.
    fn insert(&mut self, required: &Bitset, state: &S, optional: &Bitset) -> bool {
        let by_state = match self.seen.get_mut(required) {
            Some(by_state) => by_state,
            None => self.seen.entry(required.clone()).or_default(),
        };
        let sets = match by_state.get_mut(state) {
            Some(sets) => sets,
            None => by_state.entry(state.clone()).or_default(),
        };
        if sets.iter().any(|seen| seen.is_subset_of(optional)) {
            return false;
        }
        sets.retain(|seen| !optional.is_subset_of(seen));
        sets.push(optional.clone());
        true
    }
}

/// Where the search stands at one configuration: trying the required call at a node of the
/// event list, or, once the list reached a return (the barrier), trying the optional
/// operations called before that return, in call order. Optional operations come last so
/// that a configuration which leaves them for later, and dominates the ones that apply them,
/// is cached before those.
#[derive(Debug, Clone, Copy)]
enum Cursor {
    Main(usize),
    Optional { position: usize, barrier: usize },
}

struct Frame<S> {
    at: Cursor,
    state: S,
    alternative: usize,
}

/// Searches for a linearization of `ops` against `model`, taking at most `max_steps` steps.
/// Returns the outcome and the steps taken.
pub(crate) fn search<M: Model>(model: &M, ops: &[Timed<M::Op>], max_steps: u64) -> (Outcome, u64) {
    let mut list = EventList::new(ops);
    let mut optional: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].ret.is_none()).collect();
    optional.sort_by_key(|&i| (ops[i].call, i));
    // Required (returned) operations index one bitset, optional (indeterminate) ones another.
    let mut slot = vec![0; ops.len()];
    let mut required = 0;
    for (i, op) in ops.iter().enumerate() {
        if op.ret.is_some() {
            slot[i] = required;
            required += 1;
        }
    }
    for (position, &i) in optional.iter().enumerate() {
        slot[i] = position;
    }
    let mut linearized = [Bitset::new(required), Bitset::new(optional.len())];
    let bits = |op: usize| (usize::from(ops[op].ret.is_none()), slot[op]);
    let op_at = |list: &EventList, at: Cursor| match at {
        Cursor::Main(node) => list.nodes[node].op,
        Cursor::Optional { position, .. } => optional[position],
    };
    let mut cache = Cache {
        seen: BTreeMap::new(),
    };
    let mut stack: Vec<Frame<M::State>> = Vec::new();
    let mut state = model.init();
    let mut successors = Vec::new();
    let mut best: Option<Partial> = None;
    let mut cursor = Cursor::Main(list.next[HEAD]);
    let mut first_alternative = 0;
    let mut steps = 0u64;

    while required > 0 {
        if steps >= max_steps {
            return (Outcome::OutOfBudget, steps);
        }
        steps += 1;
        let candidate = match cursor {
            Cursor::Main(node) if node != NIL && list.nodes[node].is_call => {
                Some(list.nodes[node].op)
            }
            Cursor::Main(barrier) => {
                cursor = Cursor::Optional {
                    position: 0,
                    barrier,
                };
                continue;
            }
            Cursor::Optional { position, barrier } => {
                let limit = match barrier {
                    NIL => TimeNs::MAX,
                    node => ops[list.nodes[node].op].ret.unwrap_or(TimeNs::MAX),
                };
                match optional.get(position) {
                    Some(&op) if ops[op].call <= limit => {
                        let (set, bit) = bits(op);
                        if linearized[set].get(bit) {
                            cursor = Cursor::Optional {
                                position: position + 1,
                                barrier,
                            };
                            continue;
                        }
                        Some(op)
                    }
                    _ => None,
                }
            }
        };

        if let Some(op) = candidate {
            successors.clear();
            model.successors(&state, &ops[op].op, &mut successors);
            let (set, bit) = bits(op);
            linearized[set].set(bit);
            let mut chosen = None;
            for (alternative, next) in successors.iter().enumerate().skip(first_alternative) {
                if cache.insert(&linearized[0], next, &linearized[1]) {
                    chosen = Some(alternative);
                    break;
                }
            }
            first_alternative = 0;
            match chosen {
                Some(alternative) => {
                    let next = successors.swap_remove(alternative);
                    stack.push(Frame {
                        at: cursor,
                        state: std::mem::replace(&mut state, next),
                        alternative,
                    });
                    if let Cursor::Main(node) = cursor {
                        required -= 1;
                        list.lift(node);
                    }
                    cursor = Cursor::Main(list.next[HEAD]);
                }
                None => {
                    linearized[set].clear(bit);
                    cursor = match cursor {
                        Cursor::Main(node) => Cursor::Main(list.next[node]),
                        Cursor::Optional { position, barrier } => Cursor::Optional {
                            position: position + 1,
                            barrier,
                        },
                    };
                }
            }
            continue;
        }

        // Every operation called before the barrier's return failed: dead end, backtrack.
        if let Cursor::Optional { barrier, .. } = cursor
            && barrier != NIL
            && best.as_ref().is_none_or(|b| stack.len() > b.prefix.len())
        {
            let limit = ops[list.nodes[barrier].op].ret.unwrap_or(TimeNs::MAX);
            let mut pending = list.pending_before(barrier);
            pending.extend(optional.iter().copied().filter(|&op| {
                let (set, bit) = bits(op);
                ops[op].call <= limit && !linearized[set].get(bit)
            }));
            best = Some(Partial {
                prefix: stack.iter().map(|f| op_at(&list, f.at)).collect(),
                blocked: list.nodes[barrier].op,
                pending,
                state: model.describe(&state),
            });
        }
        let Some(frame) = stack.pop() else {
            return match best {
                Some(partial) => (Outcome::NotLinearizable(partial), steps),
                // Unreachable: with a required operation left the barrier is its return,
                // which records `best`. Reported as exhausted rather than guessed.
                None => (Outcome::OutOfBudget, steps),
            };
        };
        let (set, bit) = bits(op_at(&list, frame.at));
        linearized[set].clear(bit);
        if let Cursor::Main(node) = frame.at {
            required += 1;
            list.unlift(node);
        }
        state = frame.state;
        cursor = frame.at;
        first_alternative = frame.alternative + 1;
    }
    (Outcome::Linearizable, steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A register holding one integer: `Write(v)` or `Read(v)`; `Flip` nondeterministically
    /// adds 0 or 1 (exercises multi-successor backtracking).
    struct Register;

    #[derive(Debug, Clone, Copy)]
    enum RegOp {
        Write(i64),
        Read(i64),
        Flip,
    }

    impl Model for Register {
        type State = i64;
        type Op = RegOp;
        fn init(&self) -> i64 {
            0
        }
        fn successors(&self, state: &i64, op: &RegOp, out: &mut Vec<i64>) {
            match *op {
                RegOp::Write(v) => out.push(v),
                RegOp::Read(v) if v == *state => out.push(v),
                RegOp::Read(_) => {}
                RegOp::Flip => out.extend([*state, *state + 1]),
            }
        }
        fn describe(&self, state: &i64) -> String {
            format!("register={state}")
        }
    }

    fn op(call: u64, ret: Option<u64>, op: RegOp) -> Timed<RegOp> {
        Timed { call, ret, op }
    }

    #[test]
    fn linearizability_core_accepts_overlapping_read_of_either_value() {
        let ops = [
            op(0, Some(10), RegOp::Write(1)),
            op(5, Some(6), RegOp::Read(0)),
            op(7, Some(8), RegOp::Read(1)),
        ];
        assert_eq!(search(&Register, &ops, 1000).0, Outcome::Linearizable);
    }

    #[test]
    fn linearizability_core_rejects_read_flip_back() {
        // Once a read saw 1, a later read cannot see 0 again.
        let ops = [
            op(0, Some(10), RegOp::Write(1)),
            op(1, Some(2), RegOp::Read(1)),
            op(3, Some(4), RegOp::Read(0)),
        ];
        let Outcome::NotLinearizable(partial) = search(&Register, &ops, 1000).0 else {
            panic!("expected a violation");
        };
        assert_eq!(partial.blocked, 2);
        assert_eq!(partial.prefix, vec![0, 1]);
        assert_eq!(partial.state, "register=1");
    }

    #[test]
    fn linearizability_core_backtracks_into_second_successor() {
        // Flip must have added 1 for the read of 1; the first successor (add 0) fails.
        let ops = [op(0, Some(1), RegOp::Flip), op(2, Some(3), RegOp::Read(1))];
        assert_eq!(search(&Register, &ops, 1000).0, Outcome::Linearizable);
    }

    #[test]
    fn linearizability_core_indeterminate_op_need_not_happen() {
        let ops = [
            op(0, None, RegOp::Write(5)),
            op(1, Some(2), RegOp::Read(0)),
            op(3, Some(4), RegOp::Read(5)),
        ];
        assert_eq!(search(&Register, &ops, 1000).0, Outcome::Linearizable);
        let never = [op(0, None, RegOp::Write(5)), op(1, Some(2), RegOp::Read(0))];
        assert_eq!(search(&Register, &never, 1000).0, Outcome::Linearizable);
    }

    #[test]
    fn linearizability_core_out_of_budget() {
        let ops: Vec<_> = (0..20)
            .map(|i| op(0, Some(100), RegOp::Write(i)))
            .chain([op(200, Some(201), RegOp::Read(-1))])
            .collect();
        assert_eq!(search(&Register, &ops, 50), (Outcome::OutOfBudget, 50));
    }
}
