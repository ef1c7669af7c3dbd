//! Raft's safety properties as a checker that watches members from the outside: every test
//! network and every simulation run feeds it become-leader events, applied entries and logs.
//!
//! The properties are those of the Raft paper (Figure 3): election safety (at most one leader
//! per term), log matching (same index and term ⇒ same prefix), leader completeness (a leader
//! holds every entry committed before its term), and state-machine safety (no two members
//! apply different entries at one index). Applied entries stand for committed ones, since a
//! member only applies what it knows to be committed.
//!
//! What it keeps is bounded when it is told which members there are
//! ([`RaftSafetyMonitor::bounded_by`]) and where each one's durable snapshot is
//! ([`RaftSafetyMonitor::observe_durable_snapshot`]): a member applies again only what follows
//! the snapshot it restarts from, which is its durable one, so the entries below every member's
//! durable snapshot can never be compared again and are dropped. A restart from below the
//! durable snapshot is itself a violation (the snapshot was lost), so the bound cannot hide a
//! divergent re-apply.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Debug;

use thiserror::Error;

use super::log::RaftLog;
use super::message::{Entry, NodeId};

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SafetyViolation {
    #[error("election safety: term {term} has two leaders, {first} and {second}")]
    TwoLeaders {
        term: u64,
        first: NodeId,
        second: NodeId,
    },
    #[error(
        "state machine safety: member {member} applied {got} at index {index}, but member {first} applied {want}"
    )]
    DifferentApplied {
        index: u64,
        member: NodeId,
        first: NodeId,
        got: String,
        want: String,
    },
    #[error(
        "state machine safety: member {member} applied index {index} after {previous}, expected {expected}"
    )]
    ApplyOutOfOrder {
        member: NodeId,
        index: u64,
        previous: u64,
        expected: u64,
    },
    #[error(
        "log matching: members {a} and {b} agree on term {term} at index {index} but differ at index {differs}"
    )]
    LogMismatch {
        a: NodeId,
        b: NodeId,
        index: u64,
        term: u64,
        differs: u64,
    },
    #[error(
        "durability: member {member} restarted from index {applied}, below its durable snapshot at {durable}"
    )]
    DurableSnapshotLost {
        member: NodeId,
        applied: u64,
        durable: u64,
    },
    #[error(
        "leader completeness: leader {leader} of term {term} lacks committed entry {index} (term {entry_term})"
    )]
    LeaderIncomplete {
        leader: NodeId,
        term: u64,
        index: u64,
        entry_term: u64,
    },
}

/// An entry some member applied: who was first, and what it was.
#[derive(Clone, Debug)]
struct AppliedEntry<E> {
    term: u64,
    data: Option<E>,
    first: NodeId,
}

#[derive(Clone, Debug, Default)]
pub struct RaftSafetyMonitor<E> {
    leaders: BTreeMap<u64, NodeId>,
    /// By index from `first` on. Members apply in order, so this fills at the back; a ring
    /// rather than a map as every applied entry of a run lands here, and the entries below
    /// every member's durable snapshot leave at the front.
    applied: VecDeque<Option<AppliedEntry<E>>>,
    /// The index of `applied[0]` (Raft's first index is 1): every entry below it was dropped.
    first: u64,
    /// How many entries were applied first (dropped ones included).
    applied_count: usize,
    /// Last index each member applied, entry by entry or through a snapshot.
    applied_upto: BTreeMap<NodeId, u64>,
    /// For every member when they are known (`bounded_by`): the index of its durable
    /// snapshot (0: none), below which it never applies again.
    durable: BTreeMap<NodeId, u64>,
}

impl<E: Clone + PartialEq + Debug> RaftSafetyMonitor<E> {
    pub fn new() -> Self {
        RaftSafetyMonitor {
            leaders: BTreeMap::new(),
            applied: VecDeque::new(),
            first: 1,
            applied_count: 0,
            applied_upto: BTreeMap::new(),
            durable: BTreeMap::new(),
        }
    }

    /// These are all the members there will be: entries below every one's durable snapshot
    /// are dropped. Without it the monitor keeps every applied entry.
    pub fn bounded_by(mut self, members: impl IntoIterator<Item = NodeId>) -> Self {
        self.durable = members.into_iter().map(|m| (m, 0)).collect();
        self
    }

    /// How many applied entries are kept (for tests).
    pub fn kept_len(&self) -> usize {
        self.applied.len()
    }

    pub fn leader_of(&self, term: u64) -> Option<NodeId> {
        self.leaders.get(&term).copied()
    }

    pub fn terms_with_leader(&self) -> usize {
        self.leaders.len()
    }

    pub fn committed_len(&self) -> usize {
        self.applied_count
    }

    fn applied_at(&self, index: u64) -> Option<&AppliedEntry<E>> {
        let slot = usize::try_from(index.checked_sub(self.first)?).ok()?;
        self.applied.get(slot)?.as_ref()
    }

    /// Drops the entries below every member's durable snapshot: no member can apply them
    /// again (a restart from below its durable snapshot is reported), and a leader's log
    /// starts after its own snapshot, so leader completeness never looks at them either.
    fn drop_below_durable(&mut self) {
        let Some(&floor) = self.durable.values().min() else {
            return;
        };
        while self.first < floor {
            if self.applied.pop_front().is_none() {
                self.first = floor;
                break;
            }
            self.first += 1;
        }
    }

    /// `member` became leader in `term`; `log` is its log now (for leader completeness, checked
    /// only while the member is still in that term).
    pub fn observe_leader<L: Clone, S: Clone>(
        &mut self,
        member: NodeId,
        term: u64,
        current_term: u64,
        log: &RaftLog<L, S>,
    ) -> Result<(), SafetyViolation> {
        if let Some(&first) = self.leaders.get(&term) {
            if first != member {
                return Err(SafetyViolation::TwoLeaders {
                    term,
                    first,
                    second: member,
                });
            }
        } else {
            self.leaders.insert(term, member);
        }
        if current_term != term {
            return Ok(());
        }
        let from = log.first_index().max(self.first);
        let skip = usize::try_from(from - self.first).unwrap_or(usize::MAX);
        let later = self.applied.iter().enumerate().skip(skip);
        let first = self.first;
        for (index, a) in later.filter_map(|(i, a)| Some((first + i as u64, a.as_ref()?))) {
            if a.term < term && log.term(index) != Some(a.term) {
                return Err(SafetyViolation::LeaderIncomplete {
                    leader: member,
                    term,
                    index,
                    entry_term: a.term,
                });
            }
        }
        Ok(())
    }

    /// `member` applied `entry`; members apply in index order without gaps.
    pub fn observe_applied(
        &mut self,
        member: NodeId,
        entry: &Entry<E>,
    ) -> Result<(), SafetyViolation> {
        let previous = self.applied_upto.get(&member).copied().unwrap_or(0);
        if entry.index != previous + 1 {
            return Err(SafetyViolation::ApplyOutOfOrder {
                member,
                index: entry.index,
                previous,
                expected: previous + 1,
            });
        }
        self.applied_upto.insert(member, entry.index);
        match self.applied_at(entry.index) {
            Some(a) if a.term != entry.term || a.data != entry.data => {
                Err(SafetyViolation::DifferentApplied {
                    index: entry.index,
                    member,
                    first: a.first,
                    got: format!("term {} {:?}", entry.term, entry.data),
                    want: format!("term {} {:?}", a.term, a.data),
                })
            }
            Some(_) => Ok(()),
            None => {
                // Below `first` only for a member that went back behind its durable snapshot,
                // which `observe_restart` reports: there is nothing left to compare with.
                let Some(slot) = entry.index.checked_sub(self.first) else {
                    return Ok(());
                };
                let slot = usize::try_from(slot).expect("an index fits in memory");
                if self.applied.len() <= slot {
                    self.applied.resize_with(slot + 1, || None);
                }
                self.applied[slot] = Some(AppliedEntry {
                    term: entry.term,
                    data: entry.data.clone(),
                    first: member,
                });
                self.applied_count += 1;
                Ok(())
            }
        }
    }

    /// `member` loaded a snapshot ending at `(index, term)`, or restarted from one.
    pub fn observe_snapshot(
        &mut self,
        member: NodeId,
        index: u64,
        term: u64,
    ) -> Result<(), SafetyViolation> {
        if let Some(a) = self.applied_at(index)
            && a.term != term
        {
            return Err(SafetyViolation::DifferentApplied {
                index,
                member,
                first: a.first,
                got: format!("snapshot at term {term}"),
                want: format!("term {}", a.term),
            });
        }
        self.applied_upto.insert(member, index);
        Ok(())
    }

    /// A member restarted: it re-applies from `applied` (its snapshot index, or 0), which is
    /// its durable snapshot.
    pub fn observe_restart(&mut self, member: NodeId, applied: u64) -> Result<(), SafetyViolation> {
        self.applied_upto.insert(member, applied);
        self.observe_durable_snapshot(member, applied)
    }

    /// `member`'s snapshot at `index` is durable: after any crash it restarts from there or
    /// later. Lets the monitor drop what every member is past (see `bounded_by`).
    pub fn observe_durable_snapshot(
        &mut self,
        member: NodeId,
        index: u64,
    ) -> Result<(), SafetyViolation> {
        let Some(durable) = self.durable.get_mut(&member) else {
            return Ok(());
        };
        if index < *durable {
            return Err(SafetyViolation::DurableSnapshotLost {
                member,
                applied: index,
                durable: *durable,
            });
        }
        *durable = index;
        self.drop_below_durable();
        Ok(())
    }
}

/// Log matching over every pair of logs: where two logs hold an entry with the same index and
/// term, all earlier entries both hold agree.
pub fn check_log_matching<E: Clone, S: Clone>(
    logs: &[(NodeId, &RaftLog<E, S>)],
) -> Result<(), SafetyViolation> {
    for (i, (a, la)) in logs.iter().enumerate() {
        for (b, lb) in &logs[i + 1..] {
            let lo = la.first_index().max(lb.first_index());
            let hi = la.last_index().min(lb.last_index());
            // The highest common index with equal terms; below it everything must match.
            let mut anchor = None;
            for index in (lo..=hi).rev() {
                if la.term(index).is_some() && la.term(index) == lb.term(index) {
                    anchor = Some(index);
                    break;
                }
            }
            let Some(anchor) = anchor else { continue };
            for index in lo..anchor {
                if la.term(index) != lb.term(index) {
                    return Err(SafetyViolation::LogMismatch {
                        a: *a,
                        b: *b,
                        index: anchor,
                        term: la.term(anchor).unwrap_or(0),
                        differs: index,
                    });
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(index: u64, term: u64, d: u64) -> Entry<u64> {
        Entry {
            term,
            index,
            data: Some(d),
        }
    }

    #[test]
    fn detects_two_leaders_in_a_term() {
        let mut m = RaftSafetyMonitor::<u64>::new();
        let log = RaftLog::<u64, ()>::new();
        assert!(m.observe_leader(1, 3, 3, &log).is_ok());
        assert!(m.observe_leader(1, 3, 3, &log).is_ok());
        assert_eq!(
            m.observe_leader(2, 3, 3, &log),
            Err(SafetyViolation::TwoLeaders {
                term: 3,
                first: 1,
                second: 2
            })
        );
    }

    #[test]
    fn detects_different_applied_entries_and_gaps() {
        let mut m = RaftSafetyMonitor::<u64>::new();
        assert!(m.observe_applied(1, &e(1, 1, 7)).is_ok());
        assert!(m.observe_applied(2, &e(1, 1, 7)).is_ok());
        assert!(matches!(
            m.observe_applied(3, &e(1, 2, 7)),
            Err(SafetyViolation::DifferentApplied { .. })
        ));
        assert!(matches!(
            m.observe_applied(1, &e(3, 1, 7)),
            Err(SafetyViolation::ApplyOutOfOrder { .. })
        ));
    }

    #[test]
    fn a_bounded_monitor_drops_what_every_member_is_durably_past() {
        let mut m = RaftSafetyMonitor::<u64>::new().bounded_by([1, 2]);
        for i in 1..=10 {
            m.observe_applied(1, &e(i, 1, i)).unwrap();
            m.observe_applied(2, &e(i, 1, i)).unwrap();
        }
        m.observe_durable_snapshot(1, 8).unwrap();
        assert_eq!(m.kept_len(), 10, "member 2 may still re-apply from 1");
        m.observe_durable_snapshot(2, 6).unwrap();
        assert_eq!(m.kept_len(), 5, "6..=10 kept: 6 for a snapshot check");
        assert_eq!(m.committed_len(), 10);
        // Member 2 restarts from its durable snapshot and re-applies: a divergent entry is
        // still caught.
        m.observe_restart(2, 6).unwrap();
        m.observe_snapshot(2, 6, 1).unwrap();
        m.observe_applied(2, &e(7, 1, 7)).unwrap();
        assert!(matches!(
            m.observe_applied(2, &e(8, 1, 99)),
            Err(SafetyViolation::DifferentApplied { index: 8, .. })
        ));
        // A restart from below the durable snapshot lost it.
        assert_eq!(
            m.observe_restart(1, 3),
            Err(SafetyViolation::DurableSnapshotLost {
                member: 1,
                applied: 3,
                durable: 8
            })
        );
    }

    #[test]
    fn an_unbounded_monitor_keeps_everything() {
        let mut m = RaftSafetyMonitor::<u64>::new();
        for i in 1..=5 {
            m.observe_applied(1, &e(i, 1, i)).unwrap();
        }
        m.observe_durable_snapshot(1, 5).unwrap();
        m.observe_restart(1, 0).unwrap();
        assert_eq!(m.kept_len(), 5);
        assert!(matches!(
            m.observe_applied(1, &e(1, 2, 1)),
            Err(SafetyViolation::DifferentApplied { index: 1, .. })
        ));
    }

    #[test]
    fn detects_incomplete_leader() {
        let mut m = RaftSafetyMonitor::<u64>::new();
        m.observe_applied(1, &e(1, 1, 7)).unwrap();
        let empty = RaftLog::<u64, ()>::new();
        assert!(matches!(
            m.observe_leader(2, 2, 2, &empty),
            Err(SafetyViolation::LeaderIncomplete { index: 1, .. })
        ));
    }
}
