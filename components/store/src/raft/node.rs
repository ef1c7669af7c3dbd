//! `RawNode`: the caller's handle on one Raft member, and `Ready`, the batch of work the
//! caller must do (persist, send, apply) before asking for more.
//!
//! Follows etcd-io/raft `rawnode.go` and `node.go` (`Ready`, `HasReady`, `Advance`). The
//! contract, as in etcd's README: write `snapshot`, `entries` and `hard_state` to stable
//! storage (and fsync) FIRST, then send `messages`, then apply `snapshot` and
//! `committed_entries`, then call `advance`. Sending only after persisting is what makes a
//! vote or an append acknowledgement durable. The one exception, as in etcd's server (a
//! leader writes its log in parallel with replicating it): the messages that
//! `may_send_before_persisting` accepts may go before the write completes.

use super::config::{Config, ConfigError};
use super::core::{ProposeError, Raft, Role, StepError};
use super::log::RaftLog;
use super::message::{Entry, HardState, Message, MessageType, NodeId, ReadState, Snapshot};

/// What a member has on stable storage, to restart from.
#[derive(Clone, Debug)]
pub struct Persisted<E, S> {
    pub hard_state: HardState,
    pub snapshot: Option<Snapshot<S>>,
    /// Entries after the snapshot, in index order.
    pub entries: Vec<Entry<E>>,
}

impl<E, S> Default for Persisted<E, S> {
    fn default() -> Self {
        Persisted {
            hard_state: HardState::default(),
            snapshot: None,
            entries: Vec::new(),
        }
    }
}

/// Messages a leader may send before the Ready's writes are durable (etcd's leader writes
/// its log in parallel with replicating it): appends, heartbeats and snapshots acknowledge
/// nothing, and the leader counts its own entries toward a quorum only once persisted.
/// Everything else (vote grants, append responses) must wait for the fsync.
pub fn may_send_before_persisting<E, S>(m: &Message<E, S>) -> bool {
    matches!(
        m.kind,
        MessageType::Append | MessageType::Heartbeat | MessageType::Snapshot
    )
}

/// Volatile state worth showing (etcd's `SoftState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SoftState {
    pub lead: Option<NodeId>,
    pub role: Role,
}

#[derive(Clone, Debug)]
pub struct Ready<E, S> {
    pub soft_state: Option<SoftState>,
    /// Changed since last persisted; write before sending.
    pub hard_state: Option<HardState>,
    /// A snapshot received from the leader: persist, then load into the state machine.
    pub snapshot: Option<Snapshot<S>>,
    /// Entries to append to stable storage; an entry replaces any stored one at its index
    /// and everything after it.
    pub entries: Vec<Entry<E>>,
    pub messages: Vec<Message<E, S>>,
    pub committed_entries: Vec<Entry<E>>,
    pub read_states: Vec<ReadState>,
    /// Terms this member became leader in (for safety monitors).
    pub became_leader: Vec<u64>,
}

impl<E, S> Ready<E, S> {
    pub fn is_empty(&self) -> bool {
        self.soft_state.is_none()
            && self.hard_state.is_none()
            && self.snapshot.is_none()
            && self.entries.is_empty()
            && self.messages.is_empty()
            && self.committed_entries.is_empty()
            && self.read_states.is_empty()
            && self.became_leader.is_empty()
    }
}

/// Applied entries handed out per Ready, so one Ready stays bounded.
const MAX_COMMITTED_PER_READY: usize = 1024;

pub struct RawNode<E, S> {
    raft: Raft<E, S>,
    prev_hard: HardState,
    prev_soft: SoftState,
    /// What the outstanding Ready asked to persist/apply, for `advance`.
    outstanding: Option<Mark>,
}

#[derive(Clone, Copy, Debug)]
struct Mark {
    last_entry: Option<(u64, u64)>,
    snapshot_index: Option<u64>,
    applied_to: Option<u64>,
    hard_state: Option<HardState>,
}

impl<E: Clone, S: Clone> RawNode<E, S> {
    /// A member of a new cluster, or one restarting from what it persisted.
    pub fn new(cfg: Config, persisted: Persisted<E, S>) -> Result<Self, ConfigError> {
        let hard = persisted.hard_state;
        let log = RaftLog::restore_persisted(persisted.snapshot, persisted.entries, hard.commit);
        let raft = Raft::new(cfg, hard, log)?;
        let prev_soft = SoftState {
            lead: raft.lead,
            role: raft.role,
        };
        Ok(RawNode {
            prev_hard: raft.hard_state(),
            prev_soft,
            raft,
            outstanding: None,
        })
    }

    pub fn raft(&self) -> &Raft<E, S> {
        &self.raft
    }

    pub fn tick(&mut self) {
        self.raft.tick();
    }

    pub fn campaign(&mut self) {
        self.raft.campaign();
    }

    pub fn step(&mut self, m: Message<E, S>) -> Result<(), StepError> {
        self.raft.step(m)
    }

    pub fn propose(&mut self, data: E) -> Result<(), ProposeError> {
        self.raft.propose(data)
    }

    pub fn read_index(&mut self, context: u64) {
        self.raft.read_index(context);
    }

    /// Compact the log up to applied `index`, keeping `data` as the snapshot to ship to
    /// lagging followers. The caller persists the snapshot itself.
    pub fn compact(&mut self, index: u64, data: S) -> bool {
        self.raft.compact(index, data)
    }

    pub fn has_ready(&self) -> bool {
        let r = &self.raft;
        r.hard_state() != self.prev_hard
            || SoftState {
                lead: r.lead,
                role: r.role,
            } != self.prev_soft
            || r.log.unstable_snapshot().is_some()
            || r.log.stable_last() < r.log.last_index()
            || !r.msgs.is_empty()
            || !r.read_states.is_empty()
            || !r.became_leader.is_empty()
            || r.log.has_next_committed_entries()
    }

    /// The work to do now. Call `advance` once it is done, before the next `ready`.
    pub fn ready(&mut self) -> Ready<E, S> {
        let r = &mut self.raft;
        let soft = SoftState {
            lead: r.lead,
            role: r.role,
        };
        let hard = r.hard_state();
        let entries = r.log.unstable_entries();
        let snapshot = r.log.unstable_snapshot().cloned();
        let committed_entries = r.log.next_committed_entries(MAX_COMMITTED_PER_READY);
        let ready = Ready {
            soft_state: (soft != self.prev_soft).then_some(soft),
            hard_state: (hard != self.prev_hard).then_some(hard),
            snapshot,
            entries,
            messages: std::mem::take(&mut r.msgs),
            committed_entries,
            read_states: std::mem::take(&mut r.read_states),
            became_leader: std::mem::take(&mut r.became_leader),
        };
        self.prev_soft = soft;
        self.outstanding = Some(Mark {
            last_entry: ready.entries.last().map(|e| (e.index, e.term)),
            snapshot_index: ready.snapshot.as_ref().map(|s| s.index),
            applied_to: ready.committed_entries.last().map(|e| e.index),
            hard_state: ready.hard_state,
        });
        ready
    }

    /// Hands back a Ready's message vector once its messages are sent, for the next Ready's
    /// messages to reuse (a heartbeat round makes a Ready with messages on every member).
    pub fn recycle_messages(&mut self, mut messages: Vec<Message<E, S>>) {
        if self.raft.msgs.capacity() == 0 {
            messages.clear();
            self.raft.msgs = messages;
        }
    }

    /// The last Ready was persisted, sent and applied.
    pub fn advance(&mut self) {
        let Some(mark) = self.outstanding.take() else {
            return;
        };
        let log = &mut self.raft.log;
        if let Some(i) = mark.snapshot_index {
            log.snapshot_persisted(i);
        }
        if let Some((i, t)) = mark.last_entry {
            log.stable_to(i, t);
        }
        if let Some(i) = mark.applied_to {
            log.applied_to(i);
        }
        if let Some(h) = mark.hard_state {
            self.prev_hard = h;
        }
        self.raft.on_persisted();
    }

    pub fn status(&self) -> Status {
        let r = &self.raft;
        Status {
            id: r.id,
            term: r.term,
            vote: r.vote,
            role: r.role,
            lead: r.lead,
            commit: r.log.committed(),
            applied: r.log.applied(),
            last_index: r.log.last_index(),
            first_index: r.log.first_index(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    pub id: NodeId,
    pub term: u64,
    pub vote: Option<NodeId>,
    pub role: Role,
    pub lead: Option<NodeId>,
    pub commit: u64,
    pub applied: u64,
    pub last_index: u64,
    pub first_index: u64,
}
