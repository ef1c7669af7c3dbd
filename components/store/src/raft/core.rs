//! The Raft state machine of one member: roles, terms and votes, elections with pre-vote,
//! check-quorum, replication, commitment, snapshots and ReadIndex. It does no I/O and reads no
//! clock: inputs are messages, ticks and proposals; outputs collect in `msgs` and `read_states`
//! and are handed out by `RawNode::ready`.
//!
//! Follows etcd-io/raft `raft.go` (`Step`, `stepLeader`, `stepCandidate`, `stepFollower`,
//! `handleAppendEntries`, `handleSnapshot`, `maybeCommit`, `campaign`, `poll`). Notable rules
//! kept from there:
//! - a vote request from a higher term is ignored while we heard from a live leader within an
//!   election timeout ("leader lease", with check-quorum);
//! - a pre-vote never changes anyone's term, so a partitioned member that rejoins cannot
//!   depose a healthy leader;
//! - only entries of the leader's own term are committed by counting replicas (Raft §5.4.2);
//! - the leader counts its own log toward the quorum only once it is persisted (as etcd with
//!   asynchronous storage writes), so nothing is committed that a majority has not on disk.
//!
//! Simplifications: no leader transfer, no learners or configuration changes, no
//! lease-based reads, no byte-size limits on messages.

use std::collections::BTreeMap;

use thiserror::Error;

use super::config::{Config, ConfigError};
use super::log::{AppendOutcome, RaftLog};
use super::message::{Entry, HardState, Message, MessageType, NodeId, ReadState, Snapshot};
use super::progress::{Progress, ProgressState};
use super::quorum::{self, VoteResult};
use super::read_only::ReadOnly;
use super::rng::SplitMix64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ProposeError {
    /// etcd's `ErrProposalDropped`: no known leader, or too much uncommitted work.
    #[error("raft proposal dropped: {reason}")]
    Dropped { reason: &'static str },
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum StepError {
    #[error("raft: message addressed to {to} delivered to {me}")]
    WrongRecipient { to: NodeId, me: NodeId },
    #[error("raft: message from {from}, which is not a member")]
    UnknownSender { from: NodeId },
}

pub struct Raft<E, S> {
    pub id: NodeId,
    pub term: u64,
    pub vote: Option<NodeId>,
    pub role: Role,
    pub lead: Option<NodeId>,
    pub log: RaftLog<E, S>,
    voters: Vec<NodeId>,
    progress: BTreeMap<NodeId, Progress>,
    votes: BTreeMap<NodeId, bool>,
    pub msgs: Vec<Message<E, S>>,
    pub read_states: Vec<ReadState>,
    read_only: ReadOnly,
    /// ReadIndex requests that arrived before this leader committed an entry of its term.
    pending_reads: Vec<(NodeId, u64)>,
    election_elapsed: u64,
    heartbeat_elapsed: u64,
    randomized_election_timeout: u64,
    cfg: Config,
    rng: SplitMix64,
    /// Terms in which this member became leader since the caller last looked.
    pub became_leader: Vec<u64>,
}

impl<E: Clone, S: Clone> Raft<E, S> {
    pub fn new(cfg: Config, hard: HardState, log: RaftLog<E, S>) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let mut voters = cfg.voters.clone();
        voters.sort_unstable();
        let mut r = Raft {
            id: cfg.id,
            term: hard.term,
            vote: hard.vote,
            role: Role::Follower,
            lead: None,
            log,
            voters,
            progress: BTreeMap::new(),
            votes: BTreeMap::new(),
            msgs: Vec::new(),
            read_states: Vec::new(),
            read_only: ReadOnly::default(),
            pending_reads: Vec::new(),
            election_elapsed: 0,
            heartbeat_elapsed: 0,
            randomized_election_timeout: cfg.election_ticks,
            rng: SplitMix64::new(cfg.seed ^ cfg.id.wrapping_mul(0x2545_F491_4F6C_DD1D)),
            cfg,
            became_leader: Vec::new(),
        };
        r.log.commit_to(hard.commit);
        r.become_follower(r.term, None);
        Ok(r)
    }

    pub fn voters(&self) -> &[NodeId] {
        &self.voters
    }

    pub fn hard_state(&self) -> HardState {
        HardState {
            term: self.term,
            vote: self.vote,
            commit: self.log.committed(),
        }
    }

    pub fn progress(&self, id: NodeId) -> Option<&Progress> {
        self.progress.get(&id)
    }

    fn quorum(&self) -> usize {
        quorum::majority(self.voters.len())
    }

    fn send(&mut self, mut m: Message<E, S>) {
        m.from = self.id;
        // As in etcd, forwarded proposals and read requests carry no term (they are local to
        // the cluster, not part of any election); vote traffic sets its own term; the rest is
        // stamped with ours.
        if m.term == 0 && !matches!(m.kind, MessageType::Propose | MessageType::ReadIndex) {
            m.term = self.term;
        }
        self.msgs.push(m);
    }

    // ---- role changes -------------------------------------------------------------------

    fn reset(&mut self, term: u64) {
        if self.term != term {
            self.term = term;
            self.vote = None;
        }
        self.lead = None;
        self.election_elapsed = 0;
        self.heartbeat_elapsed = 0;
        self.randomized_election_timeout = self
            .rng
            .range(self.cfg.election_ticks, 2 * self.cfg.election_ticks);
        self.votes.clear();
        let next = self.log.last_index() + 1;
        let max_inflight = self.cfg.max_inflight_messages;
        self.progress = self
            .voters
            .iter()
            .map(|&id| (id, Progress::new(next, max_inflight)))
            .collect();
        if let Some(me) = self.progress.get_mut(&self.id) {
            me.matched = self.log.stable_last();
        }
        self.read_only.clear();
        self.pending_reads.clear();
    }

    pub fn become_follower(&mut self, term: u64, lead: Option<NodeId>) {
        self.reset(term);
        self.role = Role::Follower;
        self.lead = lead;
    }

    fn become_pre_candidate(&mut self) {
        // A pre-candidate keeps its term and vote; only the leader is forgotten.
        self.votes.clear();
        self.role = Role::PreCandidate;
        self.lead = None;
    }

    fn become_candidate(&mut self) {
        let term = self.term + 1;
        self.reset(term);
        self.vote = Some(self.id);
        self.role = Role::Candidate;
    }

    fn become_leader(&mut self) {
        let term = self.term;
        self.reset(term);
        self.role = Role::Leader;
        self.lead = Some(self.id);
        for (&id, pr) in self.progress.iter_mut() {
            if id == self.id {
                pr.become_replicate();
            }
        }
        // Raft §8: commit an entry of the new term so that earlier entries become committed.
        self.log.append_new(self.term, vec![None]);
        self.became_leader.push(self.term);
        self.bcast_append();
    }

    // ---- elections ----------------------------------------------------------------------

    /// Start an election (etcd `MsgHup`): a pre-vote first when enabled.
    pub fn campaign(&mut self) {
        if self.role == Role::Leader {
            return;
        }
        if self.cfg.pre_vote {
            self.become_pre_candidate();
            self.poll_and_request(MessageType::PreVote, self.term + 1);
        } else {
            self.become_candidate();
            self.poll_and_request(MessageType::Vote, self.term);
        }
    }

    fn poll_and_request(&mut self, kind: MessageType, term: u64) {
        let resp = if kind == MessageType::PreVote {
            MessageType::PreVoteResponse
        } else {
            MessageType::VoteResponse
        };
        if self.record_vote(self.id, true) == VoteResult::Won {
            self.on_election_won(resp);
            return;
        }
        let (li, lt) = (self.log.last_index(), self.log.last_term());
        for to in self.voters.clone() {
            if to == self.id {
                continue;
            }
            let mut m = Message::new(kind, self.id, to, term);
            m.index = li;
            m.log_term = lt;
            self.send(m);
        }
    }

    fn record_vote(&mut self, from: NodeId, granted: bool) -> VoteResult {
        self.votes.entry(from).or_insert(granted);
        let granted = self.votes.values().filter(|v| **v).count();
        let rejected = self.votes.len() - granted;
        quorum::vote_result(self.voters.len(), granted, rejected)
    }

    fn on_election_won(&mut self, resp: MessageType) {
        if resp == MessageType::PreVoteResponse {
            self.become_candidate();
            self.poll_and_request(MessageType::Vote, self.term);
        } else {
            self.become_leader();
        }
    }

    fn in_lease(&self) -> bool {
        self.cfg.check_quorum
            && self.lead.is_some()
            && self.election_elapsed < self.cfg.election_ticks
    }

    // ---- ticks ------------------------------------------------------------------------

    pub fn tick(&mut self) {
        if self.role == Role::Leader {
            self.tick_heartbeat();
        } else {
            self.election_elapsed += 1;
            if self.election_elapsed >= self.randomized_election_timeout {
                self.election_elapsed = 0;
                self.campaign();
            }
        }
    }

    fn tick_heartbeat(&mut self) {
        self.heartbeat_elapsed += 1;
        self.election_elapsed += 1;
        let election = self.cfg.election_ticks;
        for pr in self.progress.values_mut() {
            if let ProgressState::Snapshot { .. } = pr.state {
                pr.snapshot_ticks += 1;
                if pr.snapshot_ticks >= election {
                    pr.become_probe();
                }
            }
        }
        if self.election_elapsed >= election {
            self.election_elapsed = 0;
            if self.cfg.check_quorum && !self.quorum_active() {
                let term = self.term;
                self.become_follower(term, None);
                return;
            }
        }
        if self.heartbeat_elapsed >= self.cfg.heartbeat_ticks {
            self.heartbeat_elapsed = 0;
            self.bcast_heartbeat(self.read_only.last_seq());
        }
    }

    /// etcd `QuorumActive`: did a majority (counting ourselves) talk to us this round?
    fn quorum_active(&mut self) -> bool {
        let me = self.id;
        let mut active = 0;
        for (&id, pr) in self.progress.iter_mut() {
            if id == me || pr.recent_active {
                active += 1;
            }
            pr.recent_active = false;
        }
        active >= quorum::majority(self.voters.len())
    }

    // ---- the message entry point --------------------------------------------------------

    pub fn step(&mut self, m: Message<E, S>) -> Result<(), StepError> {
        if m.to != self.id {
            return Err(StepError::WrongRecipient {
                to: m.to,
                me: self.id,
            });
        }
        if !self.voters.contains(&m.from) {
            return Err(StepError::UnknownSender { from: m.from });
        }
        if m.term == 0 {
            // A forwarded proposal or read request: no term to compare.
        } else if m.term > self.term {
            if m.kind.is_vote_request() && self.in_lease() {
                // Leader lease: a live leader exists, so this candidate is disruptive.
                return Ok(());
            }
            match m.kind {
                MessageType::PreVote => {}
                MessageType::PreVoteResponse if !m.reject => {}
                MessageType::Append | MessageType::Heartbeat | MessageType::Snapshot => {
                    self.become_follower(m.term, Some(m.from));
                }
                _ => self.become_follower(m.term, None),
            }
        } else if m.term < self.term {
            if (self.cfg.check_quorum || self.cfg.pre_vote)
                && matches!(m.kind, MessageType::Heartbeat | MessageType::Append)
            {
                // A stale leader learns our term from this and steps down; without it, a
                // partitioned leader's pre-votes are never granted and it never rejoins.
                let resp = Message::new(MessageType::AppendResponse, self.id, m.from, self.term);
                self.send(resp);
            } else if m.kind == MessageType::PreVote {
                let mut resp =
                    Message::new(MessageType::PreVoteResponse, self.id, m.from, self.term);
                resp.reject = true;
                self.send(resp);
            }
            return Ok(());
        }

        match m.kind {
            MessageType::Vote | MessageType::PreVote => {
                self.handle_vote_request(m);
                Ok(())
            }
            _ => {
                match self.role {
                    Role::Leader => self.step_leader(m),
                    Role::Candidate | Role::PreCandidate => self.step_candidate(m),
                    Role::Follower => self.step_follower(m),
                }
                Ok(())
            }
        }
    }

    fn handle_vote_request(&mut self, m: Message<E, S>) {
        let pre = m.kind == MessageType::PreVote;
        let can_vote = self.vote == Some(m.from)
            || (self.vote.is_none() && self.lead.is_none())
            || (pre && m.term > self.term);
        let resp_kind = if pre {
            MessageType::PreVoteResponse
        } else {
            MessageType::VoteResponse
        };
        if can_vote && self.log.is_up_to_date(m.index, m.log_term) {
            // A grant carries the candidate's term: for a pre-vote it is a term we do not have.
            let resp = Message::new(resp_kind, self.id, m.from, m.term);
            self.send(resp);
            if !pre {
                self.election_elapsed = 0;
                self.vote = Some(m.from);
            }
        } else {
            let mut resp = Message::new(resp_kind, self.id, m.from, self.term);
            resp.reject = true;
            self.send(resp);
        }
    }

    fn step_candidate(&mut self, m: Message<E, S>) {
        let my_resp = if self.role == Role::PreCandidate {
            MessageType::PreVoteResponse
        } else {
            MessageType::VoteResponse
        };
        match m.kind {
            MessageType::Propose => {}
            MessageType::Append => {
                self.become_follower(m.term, Some(m.from));
                self.handle_append(m);
            }
            MessageType::Heartbeat => {
                self.become_follower(m.term, Some(m.from));
                self.handle_heartbeat(m);
            }
            MessageType::Snapshot => {
                self.become_follower(m.term, Some(m.from));
                self.handle_snapshot(m);
            }
            kind if kind == my_resp => match self.record_vote(m.from, !m.reject) {
                VoteResult::Won => self.on_election_won(my_resp),
                VoteResult::Lost => {
                    let term = self.term;
                    self.become_follower(term, None);
                }
                VoteResult::Pending => {}
            },
            _ => {}
        }
    }

    fn step_follower(&mut self, m: Message<E, S>) {
        match m.kind {
            MessageType::Propose | MessageType::ReadIndex => {
                // etcd forwards proposals and read requests to the leader; lost if none.
                if let Some(lead) = self.lead {
                    let mut fwd = m;
                    fwd.to = lead;
                    fwd.term = 0;
                    self.send(fwd);
                }
            }
            MessageType::Append => {
                self.election_elapsed = 0;
                self.lead = Some(m.from);
                self.handle_append(m);
            }
            MessageType::Heartbeat => {
                self.election_elapsed = 0;
                self.lead = Some(m.from);
                self.handle_heartbeat(m);
            }
            MessageType::Snapshot => {
                self.election_elapsed = 0;
                self.lead = Some(m.from);
                self.handle_snapshot(m);
            }
            MessageType::ReadIndexResponse => {
                self.read_states.push(ReadState {
                    index: m.index,
                    context: m.context,
                });
            }
            _ => {}
        }
    }

    fn handle_append(&mut self, m: Message<E, S>) {
        let mut resp = Message::new(MessageType::AppendResponse, self.id, m.from, 0);
        if m.index < self.log.committed() {
            resp.index = self.log.committed();
            self.send(resp);
            return;
        }
        match self
            .log
            .maybe_append(m.index, m.log_term, m.commit, &m.entries)
        {
            AppendOutcome::Matched(last) => {
                resp.index = last;
            }
            AppendOutcome::Mismatch => {
                resp.index = m.index;
                resp.reject = true;
                resp.reject_hint = self.log.last_index().min(m.index);
            }
        }
        self.send(resp);
    }

    fn handle_heartbeat(&mut self, m: Message<E, S>) {
        self.log.commit_to(m.commit);
        let mut resp = Message::new(MessageType::HeartbeatResponse, self.id, m.from, 0);
        resp.context = m.context;
        self.send(resp);
    }

    fn handle_snapshot(&mut self, m: Message<E, S>) {
        let Some(snap) = m.snapshot else { return };
        let mut resp = Message::new(MessageType::AppendResponse, self.id, m.from, 0);
        if snap.index <= self.log.committed() {
            resp.index = self.log.committed();
        } else if self.log.match_term(snap.index, snap.term) {
            // We already hold the snapshot's last entry: just fast-forward the commit index.
            self.log.commit_to(snap.index);
            resp.index = self.log.last_index();
        } else {
            resp.index = snap.index;
            self.log.restore(snap);
        }
        self.send(resp);
    }

    // ---- the leader ---------------------------------------------------------------------

    fn step_leader(&mut self, m: Message<E, S>) {
        match m.kind {
            MessageType::Propose => {
                let data = m.entries.into_iter().map(|e| e.data).collect();
                let _ = self.append_proposal(data);
            }
            MessageType::ReadIndex => self.handle_read_index(m.from, m.context),
            MessageType::AppendResponse => self.handle_append_response(m),
            MessageType::HeartbeatResponse => self.handle_heartbeat_response(m),
            _ => {}
        }
    }

    fn append_proposal(&mut self, data: Vec<Option<E>>) -> Result<(), ProposeError> {
        let uncommitted = self.log.last_index() - self.log.committed();
        if uncommitted + data.len() as u64 > self.cfg.max_uncommitted_entries {
            return Err(ProposeError::Dropped {
                reason: "too many uncommitted entries",
            });
        }
        self.log.append_new(self.term, data);
        self.bcast_append();
        Ok(())
    }

    /// A client proposal at this member: appended if leader, else forwarded to the leader.
    pub fn propose(&mut self, data: E) -> Result<(), ProposeError> {
        match self.role {
            Role::Leader => self.append_proposal(vec![Some(data)]),
            Role::Follower => {
                let Some(lead) = self.lead else {
                    return Err(ProposeError::Dropped {
                        reason: "no leader",
                    });
                };
                let mut m = Message::new(MessageType::Propose, self.id, lead, 0);
                m.entries.push(Entry {
                    term: 0,
                    index: 0,
                    data: Some(data),
                });
                self.send(m);
                Ok(())
            }
            Role::Candidate | Role::PreCandidate => Err(ProposeError::Dropped {
                reason: "no leader",
            }),
        }
    }

    /// A linearizable read request with id `context` (etcd `ReadIndex`).
    pub fn read_index(&mut self, context: u64) {
        match self.role {
            Role::Leader => self.handle_read_index(self.id, context),
            _ => {
                if let Some(lead) = self.lead {
                    let mut m = Message::new(MessageType::ReadIndex, self.id, lead, 0);
                    m.context = context;
                    self.send(m);
                }
            }
        }
    }

    fn committed_entry_in_current_term(&self) -> bool {
        self.log.term(self.log.committed()) == Some(self.term)
    }

    fn handle_read_index(&mut self, from: NodeId, context: u64) {
        if self.voters.len() == 1 {
            self.respond_read(from, self.log.committed(), context);
            return;
        }
        if !self.committed_entry_in_current_term() {
            // The commit index of a fresh leader may lag; wait until its term's entry commits.
            if self.pending_reads.len() < self.cfg.max_pending_reads {
                self.pending_reads.push((from, context));
            }
            return;
        }
        if self.read_only.len() >= self.cfg.max_pending_reads {
            return;
        }
        let seq = self
            .read_only
            .add(self.log.committed(), from, context, self.id);
        self.bcast_heartbeat(seq);
    }

    fn respond_read(&mut self, from: NodeId, index: u64, context: u64) {
        if from == self.id {
            self.read_states.push(ReadState { index, context });
        } else {
            let mut m = Message::new(MessageType::ReadIndexResponse, self.id, from, 0);
            m.index = index;
            m.context = context;
            self.send(m);
        }
    }

    fn release_pending_reads(&mut self) {
        if self.pending_reads.is_empty() || !self.committed_entry_in_current_term() {
            return;
        }
        for (from, ctx) in std::mem::take(&mut self.pending_reads) {
            self.handle_read_index(from, ctx);
        }
    }

    fn handle_append_response(&mut self, m: Message<E, S>) {
        let last = self.log.last_index();
        let Some(pr) = self.progress.get_mut(&m.from) else {
            return;
        };
        pr.recent_active = true;
        if m.reject {
            if pr.maybe_decrease_to(m.index, m.reject_hint) {
                if pr.state == ProgressState::Replicate {
                    pr.become_probe();
                }
                self.send_append(m.from);
            }
            return;
        }
        let old_paused = pr.is_paused();
        if !pr.maybe_update(m.index) {
            if old_paused && !pr.is_paused() && pr.next <= last {
                self.send_append(m.from);
            }
            return;
        }
        match pr.state {
            ProgressState::Probe => pr.become_replicate(),
            ProgressState::Snapshot { pending } if pr.matched >= pending => {
                pr.become_probe();
                pr.become_replicate();
            }
            _ => {}
        }
        let committed = self.log.committed();
        if self.maybe_commit() {
            self.bcast_append();
            self.release_pending_reads();
        } else if self
            .progress
            .get(&m.from)
            .is_some_and(|p| p.next <= last || p.sent_commit < committed)
        {
            self.send_append(m.from);
        }
    }

    fn handle_heartbeat_response(&mut self, m: Message<E, S>) {
        let last = self.log.last_index();
        let Some(pr) = self.progress.get_mut(&m.from) else {
            return;
        };
        pr.on_heartbeat_response();
        if pr.matched < last {
            self.send_append(m.from);
        }
        if m.context != 0 {
            let quorum = self.quorum();
            for r in self.read_only.ack(m.context, m.from, quorum) {
                self.respond_read(r.from, r.index, r.context);
            }
        }
    }

    /// etcd `maybeCommit`, with the Figure-8 rule: only an entry of this term is committed by
    /// counting replicas.
    fn maybe_commit(&mut self) -> bool {
        // On the stack for clusters of up to 7 voters (etcd's largest recommended size).
        let mut small = [0u64; 7];
        let mut large = Vec::new();
        let matched = if self.progress.len() <= small.len() {
            let small = &mut small[..self.progress.len()];
            for (m, p) in small.iter_mut().zip(self.progress.values()) {
                *m = p.matched;
            }
            small
        } else {
            large.extend(self.progress.values().map(|p| p.matched));
            &mut large[..]
        };
        let index = quorum::committed_index(matched);
        if index > self.log.committed() && self.log.term(index) == Some(self.term) {
            self.log.commit_to(index);
            return true;
        }
        false
    }

    /// The caller persisted the log up to `index`: count it as the leader's own match.
    pub fn on_persisted(&mut self) {
        if self.role != Role::Leader {
            return;
        }
        let stable = self.log.stable_last();
        let me = self.id;
        if let Some(pr) = self.progress.get_mut(&me) {
            pr.maybe_update(stable);
        }
        if self.maybe_commit() {
            self.bcast_append();
            self.release_pending_reads();
        }
    }

    fn bcast_append(&mut self) {
        // By index: `send_append` needs `&mut self`, and cloning the voters allocates.
        for i in 0..self.voters.len() {
            let to = self.voters[i];
            if to != self.id {
                self.send_append(to);
            }
        }
    }

    fn bcast_heartbeat(&mut self, context: u64) {
        for i in 0..self.voters.len() {
            let to = self.voters[i];
            if to == self.id {
                continue;
            }
            let matched = self.progress.get(&to).map_or(0, |p| p.matched);
            let mut m = Message::new(MessageType::Heartbeat, self.id, to, 0);
            // A follower must not commit past what it is known to hold.
            m.commit = matched.min(self.log.committed());
            m.context = context;
            self.send(m);
        }
    }

    fn send_append(&mut self, to: NodeId) {
        let Some(pr) = self.progress.get(&to) else {
            return;
        };
        if pr.is_paused() {
            return;
        }
        let prev = pr.next - 1;
        let last = self.log.last_index();
        match self.log.term(prev) {
            Some(prev_term) => {
                let entries = self
                    .log
                    .slice(pr.next, last, self.cfg.max_entries_per_message);
                let mut m = Message::new(MessageType::Append, self.id, to, 0);
                m.index = prev;
                m.log_term = prev_term;
                m.commit = self.log.committed();
                let sent_last = entries.last().map(|e| e.index);
                m.entries = entries;
                let commit = m.commit;
                self.send(m);
                if let Some(pr) = self.progress.get_mut(&to) {
                    pr.sent_commit = pr.sent_commit.max(commit);
                }
                if let (Some(pr), Some(l)) = (self.progress.get_mut(&to), sent_last) {
                    pr.sent_entries(l);
                } else if let Some(pr) = self.progress.get_mut(&to)
                    && pr.state == ProgressState::Probe
                {
                    pr.probe_sent = true;
                }
            }
            None => {
                // The follower needs entries we compacted: ship the snapshot instead.
                let Some(snap) = self.log.snapshot().cloned() else {
                    return;
                };
                let index = snap.index;
                let mut m = Message::new(MessageType::Snapshot, self.id, to, 0);
                m.snapshot = Some(snap);
                self.send(m);
                if let Some(pr) = self.progress.get_mut(&to) {
                    pr.become_snapshot(index);
                }
            }
        }
    }

    /// Compact the log up to `index`, which the caller has applied, keeping `data` as snapshot.
    pub fn compact(&mut self, index: u64, data: S) -> bool {
        let voters = self.voters.clone();
        self.log.compact(index, voters, data)
    }

    pub fn snapshot(&self) -> Option<&Snapshot<S>> {
        self.log.snapshot()
    }
}
