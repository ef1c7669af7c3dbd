//! Raft safety checked on every simulation run: each member journals what the monitor needs
//! (became leader, applied an entry, loaded a snapshot, restarted), and an engine invariant
//! feeds every member's new journal records to one `RaftSafetyMonitor` after every event a
//! member handled (and after faults: `Sim::add_invariant_on`), which are the only events that
//! write a journal.
//!
//! The invariant reads the journal after every event and tells it how far it read
//! ([`JournalWrites`]), so that the journal keeps only the records it has not read: a few,
//! usually, but every one of a restart's replay, which applies the whole log since the last
//! snapshot in one event (up to etcd's snapshot count, 100,000 entries). So with a reader the
//! journal drops nothing unread; without one (a member run alone) it keeps the last
//! `JOURNAL_MAX`.
//!
//! The monitor is told where each member's snapshot is durable (`SnapshotDurable`, journaled
//! when the fsync that covers the snapshot's write completes), so that it keeps only the
//! applied entries some member may still apply (see `RaftSafetyMonitor::bounded_by`).

use std::cell::Cell;
use std::collections::VecDeque;
use std::rc::Rc;

use sim::{ActorId, Sim};

use super::member::EtcdMember;
use super::message::{EtcdEnvelope, ProposalId};
use crate::raft::{Entry, RaftSafetyMonitor};

const JOURNAL_MAX: usize = 8192;

#[derive(Clone, Debug, PartialEq)]
pub enum SafetyRecord {
    Started {
        applied: u64,
    },
    BecameLeader {
        term: u64,
    },
    Applied {
        index: u64,
        term: u64,
        proposal: Option<ProposalId>,
    },
    SnapshotLoaded {
        index: u64,
        term: u64,
    },
    /// The member's snapshot at `index` (taken or received) is on disk and synced.
    SnapshotDurable {
        index: u64,
    },
}

#[derive(Clone, Debug, Default)]
pub struct SafetyJournal {
    /// A fresh value per incarnation of the member, so a reader notices restarts.
    pub boot: u64,
    next_seq: u64,
    records: VecDeque<(u64, SafetyRecord)>,
    /// Records pushed by every incarnation of the member (see [`JournalWrites`]).
    writes: JournalWrites,
}

/// How many records a member's journals have taken, over all its incarnations: shared with
/// the safety invariant, which skips a member whose count did not move without looking the
/// member up (most member events, heartbeats, journal nothing), and, the other way, how far the
/// invariant read, so that the journal drops what was read. A simulation stays on the thread
/// that made it (the fuzzer runs one per thread), so the member need not be `Send`.
#[derive(Clone, Debug, Default)]
pub struct JournalWrites(Rc<JournalCounts>);

#[derive(Debug, Default)]
struct JournalCounts {
    writes: Cell<u64>,
    /// The journal (by its `boot`) and the sequence number the invariant read up to.
    read: Cell<(u64, u64)>,
    /// An invariant reads the journals: they drop only what it read.
    reader: Cell<bool>,
}

impl JournalWrites {
    #[inline]
    pub fn get(&self) -> u64 {
        self.0.writes.get()
    }

    fn bump(&self) {
        self.0.writes.set(self.0.writes.get() + 1);
    }

    fn read_upto(&self, boot: u64, seq: u64) {
        self.0.read.set((boot, seq));
    }

    fn attach_reader(&self) {
        self.0.reader.set(true);
    }
}

impl SafetyJournal {
    pub fn new(boot: u64, applied: u64, writes: JournalWrites) -> Self {
        let mut j = SafetyJournal {
            boot,
            next_seq: 0,
            records: VecDeque::new(),
            writes,
        };
        j.push(SafetyRecord::Started { applied });
        j
    }

    pub fn push(&mut self, r: SafetyRecord) {
        let (boot, read) = self.writes.0.read.get();
        if boot == self.boot {
            while self.records.front().is_some_and(|(seq, _)| *seq < read) {
                self.records.pop_front();
            }
        }
        if self.records.len() >= JOURNAL_MAX && !self.writes.0.reader.get() {
            self.records.pop_front();
        }
        self.records.push_back((self.next_seq, r));
        self.next_seq += 1;
        self.writes.bump();
    }

    /// Records from sequence `from` on; `None` if some were already dropped.
    pub fn since(&self, from: u64) -> Option<impl Iterator<Item = &SafetyRecord>> {
        let first = self.records.front().map_or(self.next_seq, |(s, _)| *s);
        if from < first {
            return None;
        }
        // Sequence numbers are contiguous, so `from` is at a known position.
        let skip = ((from - first) as usize).min(self.records.len());
        Some(self.records.range(skip..).map(|(_, r)| r))
    }

    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }
}

/// Install the Raft safety invariant over the given members of `sim`.
pub fn install_safety_invariant<M, V>(sim: &mut Sim<M>, members: Vec<ActorId>)
where
    M: EtcdEnvelope<V>,
    V: crate::mvcc::Value + Default + 'static,
{
    // Bounded by the members only when all are known: else it keeps every applied entry.
    let ids: Option<Vec<u64>> = members
        .iter()
        .map(|&a| sim.actor::<EtcdMember<V>>(a).map(|m| m.id()))
        .collect();
    let mut monitor = RaftSafetyMonitor::<Option<ProposalId>>::new();
    if let Some(ids) = ids {
        monitor = monitor.bounded_by(ids);
    }
    // Per member, in `members` order: (boot of the incarnation read, next sequence to read).
    let mut cursors: Vec<Option<(u64, u64)>> = vec![None; members.len()];
    // Per member: its journals' write count and the count when last read (`None`: read it).
    let mut writes: Vec<(Option<JournalWrites>, Option<u64>)> = members
        .iter()
        .map(|&a| {
            let count = sim.actor::<EtcdMember<V>>(a).map(|m| m.journal_writes());
            if let Some(count) = &count {
                count.attach_reader();
            }
            (count, None)
        })
        .collect();
    // Only the members' handlers (and restarts, which are faults) write their journals.
    let watched = members.clone();
    sim.add_invariant_on("raft safety", &watched, move |sim| {
        for ((&a, cursor), (count, read)) in members.iter().zip(cursors.iter_mut()).zip(&mut writes)
        {
            if let Some(count) = &count {
                let now = count.get();
                if *read == Some(now) {
                    continue;
                }
                *read = Some(now);
            }
            let Some(m) = sim.actor::<EtcdMember<V>>(a) else {
                continue;
            };
            let Some(journal) = m.journal() else { continue };
            let (boot, from) = cursor.unwrap_or((journal.boot, 0));
            let from = if boot == journal.boot { from } else { 0 };
            if from == journal.next_seq() {
                // Nothing new from this member since the last check (a journal starts with
                // a record, so this is never a member not read yet).
                continue;
            }
            let Some(records) = journal.since(from) else {
                return Err(format!("raft safety: member {} journal overflowed", m.id()));
            };
            for r in records {
                let res = match r {
                    SafetyRecord::Started { applied } => monitor.observe_restart(m.id(), *applied),
                    SafetyRecord::BecameLeader { term } => {
                        let Some(node) = m.raw_node() else { continue };
                        monitor.observe_leader(m.id(), *term, node.raft().term, &node.raft().log)
                    }
                    SafetyRecord::Applied {
                        index,
                        term,
                        proposal,
                    } => monitor.observe_applied(
                        m.id(),
                        &Entry {
                            index: *index,
                            term: *term,
                            data: Some(*proposal),
                        },
                    ),
                    SafetyRecord::SnapshotLoaded { index, term } => {
                        monitor.observe_snapshot(m.id(), *index, *term)
                    }
                    SafetyRecord::SnapshotDurable { index } => {
                        monitor.observe_durable_snapshot(m.id(), *index)
                    }
                };
                res.map_err(|v| v.to_string())?;
            }
            *cursor = Some((journal.boot, journal.next_seq()));
            if let Some(count) = &count {
                count.read_upto(journal.boot, journal.next_seq());
            }
        }
        Ok(())
    });
}
