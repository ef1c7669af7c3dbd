//! The etcd tour (`kubesim run --tour etcd`): `scenarios/etcd-tour.ron`, compiled in, run with
//! a [`Narrator`] that explains in plain language what Raft did after each step.
//!
//! Every statement about the run is derived from what the runner observed (leaders, terms,
//! indexes, which members are up: [`crate::observe`]) or from the fault that was applied;
//! general statements are etcd's rules (a leader needs a majority; heartbeats every 100 ms;
//! election timeout 1 s, FIDELITY F1; pre-vote and check-quorum, F2). Nothing here is a fixed
//! claim about a particular seed, so `kubesim run --seed N` narrates its own run truthfully.

use cluster::{Cluster, NodeRole};
use sim::Time;

use crate::observe::EtcdView;
use crate::runner::{Narrator, StepFacts};
use crate::scenario::{Fault, Step, Target};

/// The etcd tour's scenario, also checked, run and snapshotted by the test suite.
pub const ETCD_TOUR: &str = include_str!("../../scenarios/etcd-tour.ron");

/// Narrates the etcd tour from observed state.
#[derive(Default)]
pub struct EtcdTourNarrator {
    /// etcd members, by node name, and which nodes are workers.
    members: Vec<String>,
    workers: Vec<String>,
    /// When the last leader was lost (a crash of its node), and in which term it led.
    leader_lost: Option<(Time, u64)>,
    /// Nodes restarted and the highest term at that moment, until they are seen following.
    rejoining: Vec<(String, u64)>,
    /// The term when the last partition began.
    partition_term: Option<u64>,
    /// Keys written with `put`, with the term they were written in.
    written: Vec<(String, u64)>,
}

impl EtcdTourNarrator {
    pub fn new() -> Self {
        EtcdTourNarrator::default()
    }

    fn is_member(&self, node: &str) -> bool {
        self.members.iter().any(|m| m == node)
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

impl Narrator for EtcdTourNarrator {
    fn start(&mut self, cluster: &Cluster, view: &EtcdView) -> Vec<String> {
        let nodes = cluster.nodes();
        let control_planes = nodes
            .iter()
            .filter(|n| n.role == NodeRole::ControlPlane)
            .count();
        self.workers = nodes
            .iter()
            .filter(|n| n.role == NodeRole::Worker)
            .map(|n| n.name.clone())
            .collect();
        self.members = view.members.iter().map(|m| m.name.clone()).collect();
        let mut lines = vec![
            format!(
                "{} and {}, each a host on one seeded virtual clock.",
                plural(control_planes, "control-plane node"),
                plural(self.workers.len(), "worker")
            ),
            format!(
                "Each control-plane node runs an etcd member (kubeadm's stacked etcd): {} members, a quorum is {}.",
                view.members.len(),
                view.quorum()
            ),
            "Each control-plane node also runs a kube-apiserver, the only client of etcd; the workers run nothing yet."
                .to_string(),
        ];
        if let Some((leader, term)) = &view.leader {
            lines.push(format!(
                "At {} the members had elected {leader} leader of term {term}: a candidate needs votes from a majority.",
                view.at
            ));
        }
        lines
    }

    fn after_step(
        &mut self,
        _cluster: &Cluster,
        step: &Step,
        before: &EtcdView,
        after: &EtcdView,
        facts: &StepFacts,
    ) -> Vec<String> {
        match step {
            Step::Etcdctl(line) => self.etcdctl(line, before, after, facts),
            Step::Fault(fault) => self.fault(fault, before, after, facts),
            Step::Sleep(_) => self.slept(after, facts),
            _ => Vec::new(),
        }
    }
}

impl EtcdTourNarrator {
    fn etcdctl(
        &mut self,
        line: &str,
        before: &EtcdView,
        after: &EtcdView,
        facts: &StepFacts,
    ) -> Vec<String> {
        let Some((status, text)) = &facts.etcdctl else {
            return Vec::new();
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut lines = Vec::new();
        match words.as_slice() {
            ["member", "list", ..] => lines.push(format!(
                "{} members, named after their nodes; membership is part of Raft's own state.",
                after.members.len()
            )),
            ["endpoint", "status", ..] => {
                if let Some((leader, term)) = &after.leader {
                    let terms: Vec<u64> = after
                        .members
                        .iter()
                        .filter(|m| m.up)
                        .filter_map(|m| m.term)
                        .collect();
                    let same = terms.iter().all(|t| t == term);
                    lines.push(format!(
                        "IS LEADER marks {leader}; {} in term {term}.",
                        if same {
                            format!("all {} running members are", terms.len())
                        } else {
                            "the leader is".to_string()
                        }
                    ));
                }
                let down: Vec<&str> = after
                    .members
                    .iter()
                    .filter(|m| !m.up)
                    .map(|m| m.name.as_str())
                    .collect();
                if !down.is_empty() {
                    lines.push(format!(
                        "{} did not answer: its node is down, so etcdctl waited for its 5 s timeout.",
                        down.join(", ")
                    ));
                }
            }
            ["put", key, ..] => {
                let index = |v: &EtcdView| {
                    v.leader
                        .as_ref()
                        .and_then(|(l, _)| v.member(l))
                        .and_then(|m| m.raft_index)
                };
                if *status == 0 {
                    if let Some((_, term)) = &after.leader {
                        self.written.push(((*key).to_string(), *term));
                    }
                    if let (Some(from), Some(to)) = (index(before), index(after)) {
                        lines.push(format!(
                            "The leader appended the write to its log (RAFT INDEX {from} -> {to}) and answered once a majority ({} of {}) had stored it: committed.",
                            after.quorum(),
                            after.members.len()
                        ));
                    }
                } else {
                    lines.push(
                        "The write was not committed: no majority acknowledged it in time."
                            .to_string(),
                    );
                }
            }
            ["get", key, ..] => {
                let written = self.written.iter().find(|(k, _)| k == key).cloned();
                if *status == 0
                    && !text.trim().is_empty()
                    && let (Some((_, put_term)), Some((leader, term))) = (written, &after.leader)
                    && *term > put_term
                {
                    lines.push(format!(
                        "The value written in term {put_term} is still there in term {term}: it was on a majority,"
                    ));
                    lines.push(format!(
                        "and Raft elects only a candidate whose log holds every committed entry, as {leader}'s did."
                    ));
                }
            }
            _ => {}
        }
        lines
    }

    fn fault(
        &mut self,
        fault: &Fault,
        before: &EtcdView,
        after: &EtcdView,
        facts: &StepFacts,
    ) -> Vec<String> {
        let mut lines = Vec::new();
        match fault {
            Fault::Crash(_) => {
                for node in &facts.nodes {
                    match &before.leader {
                        Some((leader, term)) if leader == node => {
                            self.leader_lost = Some((after.at, *term));
                            lines.push(format!(
                                "{node} led term {term}. The {} other members stop getting its heartbeats (every 100 ms);",
                                after.up()
                            ));
                            lines.push(
                                "after an election timeout (1 s, randomized per member) one of them campaigns."
                                    .to_string(),
                            );
                        }
                        _ if self.is_member(node) => lines.push(format!(
                            "{node} ran a follower; the leader still has {} of {} members, a quorum.",
                            after.up(),
                            after.members.len()
                        )),
                        _ => lines.push(format!(
                            "No etcd member runs on {node}; etcd does not notice."
                        )),
                    }
                }
            }
            Fault::Restart(_) | Fault::RestartAll => {
                for node in &facts.nodes {
                    if self.is_member(node) {
                        lines.push(format!(
                            "{node} starts again. etcd syncs its Raft log and term to disk, so it comes back with both."
                        ));
                        self.rejoining.push((node.clone(), after.max_term()));
                    }
                }
            }
            Fault::Partition(a, b) => {
                self.partition_term = after.leader.as_ref().map(|(_, t)| *t);
                let names = |side: &[Target]| -> Vec<String> {
                    side.iter()
                        .filter_map(|t| match t {
                            Target::Node(name) => Some(name.clone()),
                            Target::Leader(_) => before.leader.as_ref().map(|(l, _)| l.clone()),
                        })
                        .collect()
                };
                for side in [names(a), names(b)] {
                    let members = side.iter().filter(|n| self.is_member(n)).count();
                    if members == 0 {
                        lines.push(format!(
                            "No etcd member runs on {}: Raft traffic between the members is untouched.",
                            side.join(", ")
                        ));
                        if side.iter().all(|n| self.workers.contains(n)) {
                            lines.push("Nothing else runs on a worker yet (no kubelet), so nothing notices the cut;".to_string());
                            lines.push("in a full cluster the node lifecycle controller would mark it NotReady after 50 s.".to_string());
                        }
                    } else if members < after.quorum() {
                        lines.push(format!(
                            "{} {} {} of {} members, fewer than a quorum ({}): that side can neither elect nor commit.",
                            side.join(", "),
                            if side.len() == 1 { "holds" } else { "hold" },
                            members,
                            after.members.len(),
                            after.quorum()
                        ));
                    }
                }
            }
            Fault::Heal => {
                if let (Some(then), Some((leader, now))) =
                    (self.partition_term.take(), &after.leader)
                {
                    if then == *now {
                        lines.push(format!(
                            "The network is whole again; {leader} still leads, in the same term {now}."
                        ));
                    } else {
                        lines.push(format!(
                            "The network is whole again; the term moved from {then} to {now} meanwhile."
                        ));
                    }
                }
            }
            _ => {}
        }
        lines
    }

    fn slept(&mut self, after: &EtcdView, facts: &StepFacts) -> Vec<String> {
        let mut lines = Vec::new();
        for change in &facts.leader_changes {
            if let (Some((leader, term)), Some((lost_at, old_term))) =
                (&change.leader, self.leader_lost)
            {
                let took = change.at.saturating_since(lost_at);
                lines.push(format!(
                    "{leader} won the election for term {term} {} after the leader of term {old_term} was lost:",
                    sim::Duration::from_millis(took.as_millis())
                ));
                lines.push(format!(
                    "the {} running members are a majority ({} of {}), enough to elect.",
                    after.up(),
                    after.quorum(),
                    after.members.len()
                ));
                self.leader_lost = None;
            }
        }
        if self.leader_lost.is_some() && after.leader.is_none() {
            lines.push(format!(
                "No leader yet: {} of {} members run, a quorum is {}.",
                after.up(),
                after.members.len(),
                after.quorum()
            ));
        }
        let following = after.following_leader();
        let leader_index = after
            .leader
            .as_ref()
            .and_then(|(l, _)| after.member(l))
            .and_then(|m| m.raft_index);
        let mut still = Vec::new();
        for (node, term_then) in std::mem::take(&mut self.rejoining) {
            let Some(member) = after.member(&node) else {
                continue;
            };
            if !following.contains(&node.as_str()) {
                still.push((node, term_then));
                continue;
            }
            let Some((leader, term)) = &after.leader else {
                continue;
            };
            let caught_up = member.raft_index.is_some() && member.raft_index == leader_index;
            lines.push(format!(
                "{node} follows {leader} again{}.",
                if caught_up {
                    format!(
                        " and its log has caught up (RAFT INDEX {})",
                        member.raft_index.unwrap_or_default()
                    )
                } else {
                    String::new()
                }
            ));
            if *term == term_then {
                lines.push(format!(
                    "The term stayed {term}: with pre-vote, a returning member starts no election it could not win."
                ));
            } else {
                lines.push(format!("The term rose from {term_then} to {term}."));
            }
        }
        self.rejoining = still;
        lines
    }
}
