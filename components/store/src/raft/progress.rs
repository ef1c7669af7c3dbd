//! The leader's view of one follower's log: how far it matches, what to send next, and how
//! (probing one message at a time, pipelining, or waiting for a snapshot to land).
//!
//! Follows etcd-io/raft `tracker/progress.go` and `tracker/inflights.go`. Simplification: the
//! in-flight window counts messages only (no byte budget).

use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressState {
    /// Unknown match: send one append and wait for the answer.
    Probe,
    /// Known match: stream appends, up to the in-flight window.
    Replicate,
    /// The follower needs a snapshot up to `pending`; nothing else is sent meanwhile.
    Snapshot { pending: u64 },
}

#[derive(Clone, Debug)]
pub struct Progress {
    pub matched: u64,
    pub next: u64,
    pub state: ProgressState,
    /// Heard from since the last check-quorum round.
    pub recent_active: bool,
    /// In Probe: an append is outstanding.
    pub probe_sent: bool,
    /// Last index of each append in flight (Replicate only).
    inflight: VecDeque<u64>,
    max_inflight: usize,
    /// Ticks spent waiting in Snapshot state; the leader re-probes after an election timeout
    /// because a lost snapshot message is never reported in the simulation.
    pub snapshot_ticks: u64,
    /// The highest commit index sent to this follower, so a new commit is always announced.
    pub sent_commit: u64,
}

impl Progress {
    pub fn new(next: u64, max_inflight: usize) -> Self {
        Progress {
            matched: 0,
            next,
            state: ProgressState::Probe,
            recent_active: false,
            probe_sent: false,
            inflight: VecDeque::new(),
            max_inflight: max_inflight.max(1),
            snapshot_ticks: 0,
            sent_commit: 0,
        }
    }

    fn reset_state(&mut self, state: ProgressState) {
        self.state = state;
        self.probe_sent = false;
        self.inflight.clear();
        self.snapshot_ticks = 0;
    }

    pub fn become_probe(&mut self) {
        if let ProgressState::Snapshot { pending } = self.state {
            self.reset_state(ProgressState::Probe);
            self.next = (self.matched + 1).max(pending + 1);
        } else {
            self.reset_state(ProgressState::Probe);
            self.next = self.matched + 1;
        }
    }

    pub fn become_replicate(&mut self) {
        self.reset_state(ProgressState::Replicate);
        self.next = self.matched + 1;
    }

    pub fn become_snapshot(&mut self, index: u64) {
        self.reset_state(ProgressState::Snapshot { pending: index });
    }

    /// An acknowledgement up to `index`; returns whether it told us something new.
    pub fn maybe_update(&mut self, index: u64) -> bool {
        let updated = index > self.matched;
        if updated {
            self.matched = index;
            self.probe_sent = false;
        }
        self.next = self.next.max(index + 1);
        while self.inflight.front().is_some_and(|&i| i <= index) {
            self.inflight.pop_front();
        }
        updated
    }

    /// A rejected append at `rejected`; `hint` is the follower's last index. Returns false if
    /// the rejection is stale (answers an older append).
    pub fn maybe_decrease_to(&mut self, rejected: u64, hint: u64) -> bool {
        if self.state == ProgressState::Replicate {
            if rejected <= self.matched {
                return false;
            }
            self.next = self.matched + 1;
            return true;
        }
        if self.next.saturating_sub(1) != rejected {
            return false;
        }
        self.next = rejected.min(hint + 1).max(self.matched + 1).max(1);
        self.probe_sent = false;
        true
    }

    /// Record an append whose last entry is `last`.
    pub fn sent_entries(&mut self, last: u64) {
        match self.state {
            ProgressState::Replicate => {
                self.next = last + 1;
                self.inflight.push_back(last);
            }
            ProgressState::Probe => self.probe_sent = true,
            ProgressState::Snapshot { .. } => {}
        }
    }

    /// Whether sending more appends must wait.
    pub fn is_paused(&self) -> bool {
        match self.state {
            ProgressState::Probe => self.probe_sent,
            ProgressState::Replicate => self.inflight.len() >= self.max_inflight,
            ProgressState::Snapshot { .. } => true,
        }
    }

    /// A heartbeat answer proves the follower is reachable: let one more append through.
    pub fn on_heartbeat_response(&mut self) {
        self.recent_active = true;
        self.probe_sent = false;
        if self.state == ProgressState::Replicate && self.inflight.len() >= self.max_inflight {
            self.inflight.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_waits_for_one_answer_and_replicate_pipelines() {
        let mut p = Progress::new(5, 2);
        assert!(!p.is_paused());
        p.sent_entries(7);
        assert!(p.is_paused());
        assert!(p.maybe_update(7));
        p.become_replicate();
        assert_eq!(p.next, 8);
        p.sent_entries(9);
        p.sent_entries(10);
        assert!(p.is_paused(), "window of 2 is full");
        p.maybe_update(9);
        assert!(!p.is_paused());
        assert_eq!(p.next, 11);
    }

    #[test]
    fn decrease_table() {
        // (state replicate?, matched, next, rejected, hint, accepted, next after)
        let cases = [
            (true, 5, 10, 4, 4, false, 10),
            (true, 5, 10, 9, 9, true, 6),
            (false, 0, 10, 8, 8, false, 10),
            (false, 0, 10, 9, 3, true, 4),
            (false, 2, 10, 9, 0, true, 3),
        ];
        for (repl, m, n, rej, hint, ok, next) in cases {
            let mut p = Progress::new(n, 8);
            p.matched = m;
            if repl {
                p.state = ProgressState::Replicate;
            }
            assert_eq!(p.maybe_decrease_to(rej, hint), ok);
            assert_eq!(p.next, next);
        }
    }
}
