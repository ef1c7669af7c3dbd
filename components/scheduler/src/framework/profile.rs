//! A scheduling profile: the plugins in the order they run, their score weights, the
//! PostFilter, and percentageOfNodesToScore.
//!
//! Follows `pkg/scheduler/apis/config/v1/default_plugins.go` (F26): the MultiPoint order
//! NodeUnschedulable, NodeName, TaintToleration (3), NodeAffinity (2), NodePorts,
//! NodeResourcesFit (1), PodTopologySpread (2), InterPodAffinity (2), DefaultPreemption,
//! NodeResourcesBalancedAllocation (1), ImageLocality (1), DefaultBinder; the volume plugins
//! are left out (kubesim has no PersistentVolumes). PrioritySort is the queue's order
//! ([`crate::queue`]), SchedulingGates the queue's gate check.

use std::fmt;

use super::Plugin;
use crate::plugins::{
    balanced_allocation::BalancedAllocation, image_locality::ImageLocality,
    inter_pod_affinity::InterPodAffinity, node_affinity::NodeAffinity, node_name::NodeName,
    node_ports::NodePorts, node_resources_fit::NodeResourcesFit,
    node_unschedulable::NodeUnschedulable, pod_topology_spread::PodTopologySpread,
    taint_toleration::TaintToleration,
};

pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// One plugin and its score weight (0 when it does not score).
pub struct Entry {
    pub plugin: Box<dyn Plugin>,
    pub weight: i64,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(weight {})", self.plugin.name(), self.weight)
    }
}

#[derive(Debug)]
pub struct Profile {
    pub scheduler_name: String,
    pub plugins: Vec<Entry>,
    /// DefaultPreemption on or off.
    pub preemption: bool,
    /// 0: adaptive (50 - nodes/125 %, at least 5 %), else the fixed percentage.
    pub percentage_of_nodes_to_score: u32,
}

impl Profile {
    /// The default-scheduler profile.
    pub fn default_profile() -> Profile {
        let e = |plugin: Box<dyn Plugin>, weight| Entry { plugin, weight };
        Profile {
            scheduler_name: DEFAULT_SCHEDULER_NAME.into(),
            plugins: vec![
                e(Box::new(NodeUnschedulable), 0),
                e(Box::new(NodeName), 0),
                e(Box::new(TaintToleration), 3),
                e(Box::new(NodeAffinity), 2),
                e(Box::new(NodePorts), 0),
                e(Box::new(NodeResourcesFit), 1),
                e(Box::new(PodTopologySpread), 2),
                e(Box::new(InterPodAffinity), 2),
                e(Box::new(BalancedAllocation), 1),
                e(Box::new(ImageLocality), 1),
            ],
            preemption: true,
            percentage_of_nodes_to_score: 0,
        }
    }

    /// Score plugins in the order their scores are summed (upstream's Score order:
    /// TaintToleration, NodeAffinity, NodeResourcesFit, PodTopologySpread, InterPodAffinity,
    /// BalancedAllocation, ImageLocality).
    pub fn scorers(&self) -> impl Iterator<Item = &Entry> {
        self.plugins.iter().filter(|e| e.plugin.points().score)
    }

    pub fn plugin(&self, name: &str) -> Option<&dyn Plugin> {
        self.plugins
            .iter()
            .find(|e| e.plugin.name() == name)
            .map(|e| e.plugin.as_ref())
    }
}

/// `numFeasibleNodesToFind` (F25): every node below 100; else the percentage (adaptive
/// `50 - nodes/125`, at least 5) of the nodes, at least 100.
pub fn num_feasible_nodes_to_find(percentage: u32, num_all_nodes: usize) -> usize {
    const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
    const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: i64 = 5;
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND {
        return num_all_nodes;
    }
    let mut pct = i64::from(percentage);
    if pct == 0 {
        pct = 50 - num_all_nodes as i64 / 125;
        if pct < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND {
            pct = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
        }
    }
    let n = num_all_nodes * pct.clamp(0, 100) as usize / 100;
    n.max(MIN_FEASIBLE_NODES_TO_FIND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_to_score_follow_the_adaptive_percentage() {
        let cases = [
            (0, 3, 3),
            (0, 99, 99),
            (0, 100, 100),
            (0, 1000, 420),
            (0, 5000, 500),
            (0, 6000, 300),
            (0, 15000, 750),
            (0, 150, 100),
            (30, 1000, 300),
        ];
        for (pct, nodes, want) in cases {
            assert_eq!(
                num_feasible_nodes_to_find(pct, nodes),
                want,
                "{pct}% of {nodes}"
            );
        }
    }
}
