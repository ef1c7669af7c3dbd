//! The replicated log of one member: the entries after the latest snapshot, the commit and
//! apply cursors, and which entries are not yet on stable storage.
//!
//! Follows etcd-io/raft `log.go` and `log_unstable.go` (`maybeAppend`, `findConflict`,
//! `commitTo`, `matchTerm`, `isUpToDate`, `restore`). Simplification: the stable and unstable
//! parts live in one vector; `unstable_from` marks where the entries not yet handed to the
//! caller for persistence begin, instead of a separate `Storage`.

use super::message::{Entry, NodeId, Snapshot};

#[derive(Clone, Debug)]
pub struct RaftLog<E, S> {
    /// The latest snapshot (taken locally or received); entries up to its index are gone.
    snapshot: Option<Snapshot<S>>,
    /// Whether `snapshot` was received from a leader and still has to be persisted and applied.
    snapshot_unstable: bool,
    /// Index and term of the entry just before `entries[0]`.
    offset: u64,
    offset_term: u64,
    entries: Vec<Entry<E>>,
    committed: u64,
    applied: u64,
    /// First index whose entry has not been handed to the caller for persistence.
    unstable_from: u64,
}

/// Result of offering a leader's entries to a follower's log.
#[derive(Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// The log matched at the given position; the last index now known to match the leader.
    Matched(u64),
    /// The log has no entry with that term at that index.
    Mismatch,
}

impl<E: Clone, S: Clone> RaftLog<E, S> {
    pub fn new() -> Self {
        RaftLog {
            snapshot: None,
            snapshot_unstable: false,
            offset: 0,
            offset_term: 0,
            entries: Vec::new(),
            committed: 0,
            applied: 0,
            unstable_from: 1,
        }
    }

    /// A log rebuilt from what the member had persisted: everything in it is stable.
    pub fn restore_persisted(
        snapshot: Option<Snapshot<S>>,
        entries: Vec<Entry<E>>,
        commit: u64,
    ) -> Self {
        let mut log = RaftLog::new();
        if let Some(snap) = snapshot {
            log.offset = snap.index;
            log.offset_term = snap.term;
            log.committed = snap.index;
            log.applied = snap.index;
            log.snapshot = Some(snap);
        }
        for e in entries {
            if e.index == log.last_index() + 1 {
                log.entries.push(e);
            }
        }
        log.committed = log.committed.max(commit.min(log.last_index()));
        log.unstable_from = log.last_index() + 1;
        log
    }

    pub fn first_index(&self) -> u64 {
        self.offset + 1
    }

    pub fn last_index(&self) -> u64 {
        self.offset + self.entries.len() as u64
    }

    pub fn last_term(&self) -> u64 {
        self.entries.last().map_or(self.offset_term, |e| e.term)
    }

    pub fn committed(&self) -> u64 {
        self.committed
    }

    pub fn applied(&self) -> u64 {
        self.applied
    }

    pub fn snapshot(&self) -> Option<&Snapshot<S>> {
        self.snapshot.as_ref()
    }

    /// The term of the entry at `index`; `None` if compacted away or beyond the end.
    pub fn term(&self, index: u64) -> Option<u64> {
        if index == self.offset {
            return Some(self.offset_term);
        }
        if index < self.offset || index > self.last_index() {
            return None;
        }
        Some(self.entries[(index - self.offset - 1) as usize].term)
    }

    pub fn match_term(&self, index: u64, term: u64) -> bool {
        self.term(index) == Some(term)
    }

    /// Raft §5.4.1: a candidate's log is at least as up-to-date as ours.
    pub fn is_up_to_date(&self, last_index: u64, last_term: u64) -> bool {
        last_term > self.last_term()
            || (last_term == self.last_term() && last_index >= self.last_index())
    }

    /// Entries in `[lo, hi]`, at most `max` of them; empty if `lo` is compacted.
    pub fn slice(&self, lo: u64, hi: u64, max: usize) -> Vec<Entry<E>> {
        if lo <= self.offset || lo > hi || lo > self.last_index() {
            return Vec::new();
        }
        let hi = hi.min(self.last_index());
        let start = (lo - self.offset - 1) as usize;
        let end = ((hi - self.offset) as usize).min(start.saturating_add(max));
        self.entries[start..end].to_vec()
    }

    pub fn entry(&self, index: u64) -> Option<&Entry<E>> {
        if index <= self.offset || index > self.last_index() {
            return None;
        }
        self.entries.get((index - self.offset - 1) as usize)
    }

    /// Appends entries the leader itself created.
    pub fn append_new(&mut self, term: u64, data: Vec<Option<E>>) -> u64 {
        for d in data {
            let index = self.last_index() + 1;
            self.entries.push(Entry {
                term,
                index,
                data: d,
            });
        }
        self.last_index()
    }

    /// etcd `maybeAppend`: accept the leader's entries after `(index, log_term)`, truncating
    /// a conflicting suffix, and advance the commit index to what the leader says is committed.
    pub fn maybe_append(
        &mut self,
        index: u64,
        log_term: u64,
        leader_commit: u64,
        entries: &[Entry<E>],
    ) -> AppendOutcome {
        // Entries below our snapshot are committed, and a leader holds every committed entry,
        // so a position there matches by definition.
        if index >= self.offset && !self.match_term(index, log_term) {
            return AppendOutcome::Mismatch;
        }
        let last_new = index + entries.len() as u64;
        for e in entries {
            if e.index <= self.offset {
                continue;
            }
            match self.term(e.index) {
                Some(t) if t == e.term => continue,
                Some(_) => {
                    assert!(
                        e.index > self.committed,
                        "raft: leader conflicts with committed entry {}",
                        e.index
                    );
                    self.truncate_from(e.index);
                    self.entries.push(e.clone());
                }
                None => self.entries.push(e.clone()),
            }
        }
        self.commit_to(leader_commit.min(last_new));
        AppendOutcome::Matched(last_new)
    }

    fn truncate_from(&mut self, index: u64) {
        let keep = (index - self.offset - 1) as usize;
        self.entries.truncate(keep);
        self.unstable_from = self.unstable_from.min(index);
    }

    /// Commit never moves backwards and never past what this log holds.
    pub fn commit_to(&mut self, index: u64) {
        let index = index.min(self.last_index());
        if index > self.committed {
            self.committed = index;
        }
    }

    /// Entries not yet handed over for persistence.
    pub fn unstable_entries(&self) -> Vec<Entry<E>> {
        self.slice(self.unstable_from, self.last_index(), usize::MAX)
    }

    /// The last index known to be on stable storage.
    pub fn stable_last(&self) -> u64 {
        self.unstable_from - 1
    }

    /// The caller persisted entries up to `(index, term)`; a later truncation makes it moot.
    pub fn stable_to(&mut self, index: u64, term: u64) {
        if self.match_term(index, term) && index >= self.unstable_from {
            self.unstable_from = index + 1;
        }
    }

    pub fn unstable_snapshot(&self) -> Option<&Snapshot<S>> {
        if self.snapshot_unstable {
            self.snapshot.as_ref()
        } else {
            None
        }
    }

    pub fn snapshot_persisted(&mut self, index: u64) {
        if self.snapshot.as_ref().is_some_and(|s| s.index == index) {
            self.snapshot_unstable = false;
            self.applied = self.applied.max(index);
        }
    }

    /// Committed entries that are also persisted and not yet applied.
    pub fn next_committed_entries(&self, max: usize) -> Vec<Entry<E>> {
        let hi = self.committed.min(self.stable_last());
        if self.snapshot_unstable {
            return Vec::new();
        }
        self.slice(self.applied + 1, hi, max)
    }

    /// Whether `next_committed_entries` would hand out any (without cloning one).
    pub fn has_next_committed_entries(&self) -> bool {
        let hi = self.committed.min(self.stable_last());
        !self.snapshot_unstable
            && self.applied >= self.offset
            && self.applied < hi
            && self.applied < self.last_index()
    }

    pub fn applied_to(&mut self, index: u64) {
        if index > self.applied && index <= self.committed {
            self.applied = index;
        }
    }

    /// Replace the whole log by a leader's snapshot (etcd `restore`).
    pub fn restore(&mut self, snap: Snapshot<S>) {
        self.offset = snap.index;
        self.offset_term = snap.term;
        self.entries.clear();
        self.committed = snap.index;
        self.unstable_from = snap.index + 1;
        self.snapshot = Some(snap);
        self.snapshot_unstable = true;
    }

    /// Log compaction: the caller captured the state machine at `index` (already applied).
    pub fn compact(&mut self, index: u64, voters: Vec<NodeId>, data: S) -> bool {
        if index <= self.offset || index > self.applied {
            return false;
        }
        let Some(term) = self.term(index) else {
            return false;
        };
        let drop = (index - self.offset) as usize;
        self.entries.drain(..drop);
        self.offset = index;
        self.offset_term = term;
        self.snapshot = Some(Snapshot {
            index,
            term,
            voters,
            data,
        });
        true
    }
}

impl<E: Clone, S: Clone> Default for RaftLog<E, S> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_with(terms: &[u64]) -> RaftLog<u64, ()> {
        let mut log = RaftLog::new();
        for (i, t) in terms.iter().enumerate() {
            log.entries.push(Entry {
                term: *t,
                index: i as u64 + 1,
                data: Some(i as u64),
            });
        }
        log
    }

    fn e(index: u64, term: u64) -> Entry<u64> {
        Entry {
            term,
            index,
            data: Some(100 + index),
        }
    }

    #[test]
    fn maybe_append_table() {
        // (prev index, prev term, entries, outcome, resulting terms)
        type Case = (u64, u64, Vec<Entry<u64>>, AppendOutcome, Vec<u64>);
        let cases: Vec<Case> = vec![
            (3, 2, vec![], AppendOutcome::Matched(3), vec![1, 1, 2]),
            (3, 3, vec![e(4, 3)], AppendOutcome::Mismatch, vec![1, 1, 2]),
            (4, 2, vec![e(5, 2)], AppendOutcome::Mismatch, vec![1, 1, 2]),
            (
                3,
                2,
                vec![e(4, 2)],
                AppendOutcome::Matched(4),
                vec![1, 1, 2, 2],
            ),
            (
                2,
                1,
                vec![e(3, 3), e(4, 3)],
                AppendOutcome::Matched(4),
                vec![1, 1, 3, 3],
            ),
            (
                1,
                1,
                vec![e(2, 1)],
                AppendOutcome::Matched(2),
                vec![1, 1, 2],
            ),
            (0, 0, vec![e(1, 4)], AppendOutcome::Matched(1), vec![4]),
        ];
        for (i, (idx, term, ents, want, terms)) in cases.into_iter().enumerate() {
            let mut log = log_with(&[1, 1, 2]);
            let got = log.maybe_append(idx, term, 0, &ents);
            assert_eq!(got, want, "case {i}");
            let have: Vec<u64> = (1..=log.last_index())
                .map(|i| log.term(i).unwrap_or(0))
                .collect();
            assert_eq!(have, terms, "case {i}");
        }
    }

    #[test]
    fn truncation_rewinds_the_unstable_cursor() {
        let mut log = log_with(&[1, 1, 2]);
        log.unstable_from = 4;
        log.maybe_append(1, 1, 0, &[e(2, 3)]);
        assert_eq!(log.stable_last(), 1);
        assert_eq!(log.unstable_entries(), vec![e(2, 3)]);
    }

    #[test]
    fn up_to_date_table() {
        let log = log_with(&[1, 2, 2]);
        for (li, lt, want) in [
            (3, 2, true),
            (2, 2, false),
            (1, 3, true),
            (9, 1, false),
            (4, 2, true),
        ] {
            assert_eq!(log.is_up_to_date(li, lt), want, "{li} {lt}");
        }
    }

    #[test]
    fn compaction_keeps_terms_and_drops_entries() {
        let mut log = log_with(&[1, 1, 2, 3]);
        log.unstable_from = 5;
        log.commit_to(4);
        log.applied_to(3);
        assert!(log.compact(3, vec![1], ()));
        assert_eq!(log.first_index(), 4);
        assert_eq!(log.term(3), Some(2));
        assert_eq!(log.term(2), None);
        assert!(log.slice(2, 4, 10).is_empty());
        assert!(!log.compact(4, vec![1], ()), "entry 4 is not applied yet");
    }
}
