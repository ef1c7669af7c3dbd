//! Scores remembered per node slot across cycles, for scores that are a function of a node's
//! [`NodeFacts`] and two numbers of the pod (NodeResourcesFit's LeastAllocated and
//! BalancedAllocation read the pod's cpu and memory requests).
//!
//! The pods of a workload request the same, and a node's facts change only when a pod lands
//! on it or leaves it (or the node changes), so most nodes of a cycle's window score what
//! they scored the last time a pod with the same requests saw them. The cache forgets a
//! slot's scores whenever it rewrites the slot's facts ([`ScoreMemo::forget`]); a remembered
//! score is only ever read for the requests it was computed for, so a cycle gets the scores
//! it would compute.

use std::fmt;

use super::node_facts::NodeFacts;

/// The memoised scores: one table each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoKind {
    LeastAllocated = 0,
    BalancedAllocation = 1,
}

const KINDS: usize = 2;

/// Distinct request pairs a table tells apart before it starts over (a cluster runs a few
/// workload shapes at a time; more only costs recomputation).
const MAX_KEYS: usize = 64;

/// No score remembered.
const NO_KEY: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Entry {
    /// Index of the pod's request pair in `Table::keys`.
    key: u32,
    score: i32,
}

const EMPTY: Entry = Entry {
    key: NO_KEY,
    score: 0,
};

#[derive(Clone, Default)]
struct Table {
    keys: Vec<[i64; 2]>,
    /// By slot: the score of the last request pair the slot was scored for, since its facts
    /// last changed.
    entries: Vec<Entry>,
}

impl Table {
    fn key_id(&mut self, key: [i64; 2]) -> u32 {
        if let Some(i) = self.keys.iter().position(|k| *k == key) {
            return i as u32;
        }
        if self.keys.len() == MAX_KEYS {
            self.keys.clear();
            self.entries.fill(EMPTY);
        }
        self.keys.push(key);
        (self.keys.len() - 1) as u32
    }
}

/// Per slot, the last score of each [`MemoKind`] and the request pair it was for.
#[derive(Clone, Default)]
pub struct ScoreMemo {
    tables: [Table; KINDS],
}

impl fmt::Debug for ScoreMemo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<usize> = self.tables.iter().map(|t| t.keys.len()).collect();
        write!(f, "ScoreMemo(request pairs per table {keys:?})")
    }
}

impl ScoreMemo {
    /// The slot's facts changed: its remembered scores no longer hold.
    pub fn forget(&mut self, slot: usize) {
        for t in &mut self.tables {
            if let Some(e) = t.entries.get_mut(slot) {
                *e = EMPTY;
            }
        }
    }

    /// `score(facts[slot], key)` of every slot in `feasible`, appended to `out` in order;
    /// computed only for slots without a remembered score for `key`. `score` must be a
    /// function of its arguments alone.
    pub fn scores(
        &mut self,
        kind: MemoKind,
        key: [i64; 2],
        facts: &[NodeFacts],
        feasible: &[usize],
        out: &mut Vec<i64>,
        score: impl Fn(&NodeFacts, [i64; 2]) -> i64,
    ) {
        let table = &mut self.tables[kind as usize];
        let id = table.key_id(key);
        if table.entries.len() < facts.len() {
            table.entries.resize(facts.len(), EMPTY);
        }
        let entries = &mut table.entries;
        out.extend(feasible.iter().map(|slot| {
            let e = &mut entries[*slot];
            if e.key == id {
                return i64::from(e.score);
            }
            let s = score(&facts[*slot], key);
            if let Ok(small) = i32::try_from(s) {
                *e = Entry {
                    key: id,
                    score: small,
                };
            }
            s
        }));
    }
}
