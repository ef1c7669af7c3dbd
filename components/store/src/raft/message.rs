//! The data Raft members exchange and persist: log entries, snapshots, hard state and messages.
//!
//! Follows etcd-io/raft `raftpb/raft.proto` (`Entry`, `Snapshot`, `HardState`, `Message`).
//! Simplifications: entry and snapshot payloads are generic values instead of bytes (the
//! simulation shares them as `Arc`s instead of encoding them); there are no configuration-change
//! entries because membership is static (see `raft::config`); a read context is a `u64`.

/// A member's id. `0` means "none" in etcd; here absence is an `Option`.
pub type NodeId = u64;

/// One log entry. `data == None` is the empty entry a new leader appends to commit its term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<E> {
    pub term: u64,
    pub index: u64,
    pub data: Option<E>,
}

/// A snapshot of the state machine at `index` (whose entry had `term`), with the voters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot<S> {
    pub index: u64,
    pub term: u64,
    pub voters: Vec<NodeId>,
    pub data: S,
}

/// What must be on stable storage before a member acknowledges anything: etcd's `HardState`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HardState {
    pub term: u64,
    pub vote: Option<NodeId>,
    pub commit: u64,
}

/// Message kinds; local inputs (hup, beat, propose by the caller) are methods, not messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageType {
    /// A follower forwards a client proposal to the leader.
    Propose,
    Append,
    AppendResponse,
    Vote,
    VoteResponse,
    PreVote,
    PreVoteResponse,
    Snapshot,
    Heartbeat,
    HeartbeatResponse,
    /// A follower forwards a linearizable read request to the leader.
    ReadIndex,
    ReadIndexResponse,
}

impl MessageType {
    /// Responses to a vote request carry the candidate's term even when it is ahead of ours.
    pub fn is_vote_request(self) -> bool {
        matches!(self, MessageType::Vote | MessageType::PreVote)
    }
}

/// A message between members. Fields unused by a kind keep their defaults, as in raftpb.
#[derive(Clone, Debug, PartialEq)]
pub struct Message<E, S> {
    pub kind: MessageType,
    pub from: NodeId,
    pub to: NodeId,
    pub term: u64,
    /// Term of the entry at `index` (Append: the entry before `entries`; Vote: last entry).
    pub log_term: u64,
    pub index: u64,
    pub entries: Vec<Entry<E>>,
    pub commit: u64,
    pub reject: bool,
    /// On a rejected append: the follower's last index, so the leader can skip back at once.
    pub reject_hint: u64,
    pub snapshot: Option<Snapshot<S>>,
    /// ReadIndex request id, echoed by heartbeats that confirm leadership for it.
    pub context: u64,
}

impl<E, S> Message<E, S> {
    /// A message with only the routing fields set.
    pub fn new(kind: MessageType, from: NodeId, to: NodeId, term: u64) -> Self {
        Message {
            kind,
            from,
            to,
            term,
            log_term: 0,
            index: 0,
            entries: Vec::new(),
            commit: 0,
            reject: false,
            reject_hint: 0,
            snapshot: None,
            context: 0,
        }
    }
}

/// A linearizable read may be served once the state machine has applied `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadState {
    pub index: u64,
    pub context: u64,
}
