//! NodeAffinity (`framework/plugins/nodeaffinity`): Filter requires the pod's nodeSelector
//! and required node affinity (`api::affinity`); Score sums the weights of the preferred
//! terms a node matches, normalized by the highest.
//! Simplification: no PreFilter narrowing to the nodes named by a `metadata.name` field
//! selector (each other node is rejected by Filter instead, with this plugin's reason), and no
//! profile-level `addedAffinity`.

use api::affinity::{pod_matches_node, preferred_score};

use crate::framework::{
    ClusterEvent, CycleState, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, Points, Snapshot, Status,
    default_normalize_score,
};

pub const NAME: &str = "NodeAffinity";
pub const REASON: &str = "node(s) didn't match Pod's node affinity/selector";

#[derive(Debug, Default)]
pub struct NodeAffinity;

fn has_preferred(pod: &PodInfo) -> bool {
    pod.pod()
        .spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.preferred_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .is_some_and(|p| !p.is_empty())
}

impl Plugin for NodeAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
    fn points(&self) -> Points {
        Points {
            filter: true,
            pre_score: true,
            score: true,
            ..Points::default()
        }
    }
    fn events(&self) -> &'static [ClusterEvent] {
        &[
            ClusterEvent::NodeAdd,
            ClusterEvent::NodeUpdate,
            ClusterEvent::UnscheduledPodUpdate,
        ]
    }
    fn may_reject(&self, pod: &PodInfo) -> bool {
        pod.has_node_constraints
    }
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if !pod.has_node_constraints {
            return Status::success();
        }
        let (Some(spec), Some(n)) = (pod.pod().spec.as_ref(), node.node()) else {
            return Status::success();
        };
        if pod_matches_node(spec, n) {
            Status::success()
        } else {
            Status::unresolvable(REASON)
        }
    }
    fn pre_score(&self, _: &mut CycleState, pod: &PodInfo, _: &Snapshot, _: &[usize]) -> Status {
        if has_preferred(pod) {
            Status::success()
        } else {
            Status::skip()
        }
    }
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo, _: &Snapshot) -> i64 {
        match (pod.pod().spec.as_ref(), node.node()) {
            (Some(spec), Some(n)) => preferred_score(spec, n),
            _ => 0,
        }
    }
    fn normalize_score(&self, _: &CycleState, _: &PodInfo, scores: &mut [i64]) {
        default_normalize_score(MAX_NODE_SCORE, false, scores);
    }
}
