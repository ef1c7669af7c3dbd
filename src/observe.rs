//! What the runner can see of the simulated cluster between steps, read from the components'
//! own state (not over the network): which etcd members are up, who leads and in which term,
//! how far each member's log has come. The runner prints it after `Sleep` steps and the tour's
//! narration is derived from it, so what either says is what the run did.

use std::fmt::Write as _;

use cluster::Cluster;
use sim::{HostState, Time};

/// One etcd member as the runner sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberView {
    /// The member's (and its node's) name.
    pub name: String,
    pub member_id: u64,
    /// The member's host runs (not crashed; a paused host counts as up).
    pub up: bool,
    /// Term and indexes from the member's own status; `None` while its host is down.
    pub term: Option<u64>,
    pub raft_index: Option<u64>,
    /// The leader this member follows, by member id.
    pub follows: Option<u64>,
}

/// The etcd cluster at one instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdView {
    pub at: Time,
    pub members: Vec<MemberView>,
    /// The member that leads, with its term (the highest-term self-declared leader).
    pub leader: Option<(String, u64)>,
}

impl EtcdView {
    pub fn read(cluster: &Cluster) -> EtcdView {
        let sim = cluster.sim();
        let members = cluster
            .etcd_members()
            .iter()
            .map(|m| {
                let up = matches!(
                    sim.host_state(m.host),
                    Some(HostState::Up | HostState::Paused { .. })
                );
                let status = cluster.etcd_status(m.spec.id);
                MemberView {
                    name: m.spec.name.clone(),
                    member_id: m.spec.id,
                    up,
                    term: status.as_ref().map(|s| s.raft_term),
                    raft_index: status.as_ref().map(|s| s.raft_index),
                    follows: status.and_then(|s| s.leader),
                }
            })
            .collect();
        EtcdView {
            at: sim.now(),
            members,
            leader: cluster.etcd_leader().map(|l| (l.host, l.term)),
        }
    }

    /// Members whose host is up.
    pub fn up(&self) -> usize {
        self.members.iter().filter(|m| m.up).count()
    }

    /// Votes a leader needs: a majority of all members.
    pub fn quorum(&self) -> usize {
        self.members.len() / 2 + 1
    }

    /// The highest term any live member has seen.
    pub fn max_term(&self) -> u64 {
        self.members
            .iter()
            .filter_map(|m| m.term)
            .max()
            .unwrap_or(0)
    }

    pub fn member(&self, name: &str) -> Option<&MemberView> {
        self.members.iter().find(|m| m.name == name)
    }

    /// Names of the members that follow the current leader (the leader included).
    pub fn following_leader(&self) -> Vec<&str> {
        let Some((leader, _)) = &self.leader else {
            return Vec::new();
        };
        let Some(id) = self.member(leader).map(|m| m.member_id) else {
            return Vec::new();
        };
        self.members
            .iter()
            .filter(|m| m.up && m.follows == Some(id))
            .map(|m| m.name.as_str())
            .collect()
    }

    /// One line for a person: who leads, in which term, how many members are up.
    pub fn summary(&self) -> String {
        let mut line = String::from("etcd: ");
        match &self.leader {
            Some((name, term)) => {
                let _ = write!(line, "{name} leads in term {term}");
            }
            None => line.push_str("no leader"),
        }
        let _ = write!(
            line,
            "; {} of {} members up (a quorum is {})",
            self.up(),
            self.members.len(),
            self.quorum()
        );
        line
    }
}

/// A change of etcd leadership seen while the clock ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderChange {
    pub at: Time,
    /// The new leader and its term; `None` when the cluster lost its leader.
    pub leader: Option<(String, u64)>,
    /// The leader is the one seen before the cluster had none, in the same term: its host was
    /// paused (or the runner could not see it) and nobody was elected meanwhile.
    pub again: bool,
}

impl LeaderChange {
    pub fn describe(&self) -> String {
        match &self.leader {
            Some((name, term)) if self.again => format!(
                "etcd: {name} leads again in term {term} at {}: its host is back and no one was elected meanwhile",
                self.at
            ),
            Some((name, term)) => {
                format!("etcd: {name} became leader in term {term} at {}", self.at)
            }
            None => format!("etcd: no leader from {}", self.at),
        }
    }
}
