//! Settings of one Raft member, checked before use.
//!
//! Follows etcd-io/raft `raft.go` `Config` and etcd's server defaults
//! (`server/etcdserver/bootstrap.go`, `server/embed/config.go`): heartbeat 100 ms and election
//! 1000 ms, i.e. 1 and 10 ticks of 100 ms; PreVote and CheckQuorum on (FIDELITY F1, F2).
//! Membership is static: the voter set is fixed at creation (no joint consensus, no learners).

use thiserror::Error;

use super::message::NodeId;

#[derive(Clone, Debug)]
pub struct Config {
    pub id: NodeId,
    pub voters: Vec<NodeId>,
    pub heartbeat_ticks: u64,
    /// The randomized timeout is drawn from `[election_ticks, 2 * election_ticks)`.
    pub election_ticks: u64,
    pub pre_vote: bool,
    pub check_quorum: bool,
    /// Entries per append message.
    pub max_entries_per_message: usize,
    /// Append messages in flight per follower in Replicate state.
    pub max_inflight_messages: usize,
    /// Proposals are refused beyond this many uncommitted entries.
    pub max_uncommitted_entries: u64,
    /// ReadIndex requests queued at the leader beyond this are dropped (the client times out).
    pub max_pending_reads: usize,
    /// Seed of the election-timeout randomness.
    pub seed: u64,
}

impl Config {
    /// etcd's defaults for member `id` of `voters`.
    pub fn etcd_defaults(id: NodeId, voters: Vec<NodeId>, seed: u64) -> Self {
        Config {
            id,
            voters,
            heartbeat_ticks: 1,
            election_ticks: 10,
            pre_vote: true,
            check_quorum: true,
            max_entries_per_message: 256,
            max_inflight_messages: 256,
            max_uncommitted_entries: 100_000,
            max_pending_reads: 10_000,
            seed,
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.id == 0 {
            return Err(ConfigError::ZeroId);
        }
        if !self.voters.contains(&self.id) {
            return Err(ConfigError::NotAVoter { id: self.id });
        }
        if self.heartbeat_ticks == 0 {
            return Err(ConfigError::ZeroHeartbeat);
        }
        if self.election_ticks <= self.heartbeat_ticks {
            return Err(ConfigError::ElectionNotAboveHeartbeat {
                election: self.election_ticks,
                heartbeat: self.heartbeat_ticks,
            });
        }
        let mut v = self.voters.clone();
        v.sort_unstable();
        v.dedup();
        if v.len() != self.voters.len() || v.contains(&0) {
            return Err(ConfigError::BadVoters);
        }
        Ok(())
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("raft: member id must be non-zero")]
    ZeroId,
    #[error("raft: member {id} must be one of the voters")]
    NotAVoter { id: NodeId },
    #[error("raft: heartbeat must be at least one tick")]
    ZeroHeartbeat,
    #[error(
        "raft: election timeout ({election} ticks) must be greater than heartbeat ({heartbeat} ticks)"
    )]
    ElectionNotAboveHeartbeat { election: u64, heartbeat: u64 },
    #[error("raft: voter ids must be distinct and non-zero")]
    BadVoters,
}
