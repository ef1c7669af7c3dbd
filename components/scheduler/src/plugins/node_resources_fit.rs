//! NodeResourcesFit (`framework/plugins/noderesources/fit.go`, `least_allocated.go`): Filter
//! checks the pod count and every resource the pod requests against allocatable minus
//! requested ("Too many pods", "Insufficient cpu", ...; a node may fail several). Score is the
//! default LeastAllocated strategy over cpu and memory, weight 1 each:
//! `(allocatable - requested) * 100 / allocatable` per resource, with the pod's and the node's
//! non-zero requests (100m / 200Mi for what a container leaves unset), averaged by weight.

use crate::framework::node_facts::NodeFacts;
use crate::framework::score_memo::MemoKind;
use crate::framework::{
    ClusterEvent, CycleState, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, Points, Snapshot, Status,
    Verdict, filter_suspects,
};

pub const NAME: &str = "NodeResourcesFit";

#[derive(Debug, Default)]
pub struct NodeResourcesFit;

/// The insufficient resources' reasons, in upstream's order (pods, cpu, memory,
/// ephemeral-storage, then extended resources by name).
pub fn insufficient(pod: &PodInfo, node: &NodeInfo) -> Vec<String> {
    let mut out = Vec::new();
    if node.pods.len() as i64 + 1 > node.allocatable.allowed_pods {
        out.push("Too many pods".to_string());
    }
    let r = &pod.requests;
    if r.milli_cpu == 0
        && r.memory == 0
        && r.ephemeral_storage == 0
        && r.scalar.values().all(|v| *v == 0)
    {
        return out;
    }
    let (a, q) = (&node.allocatable, &node.requested);
    if r.milli_cpu > 0 && r.milli_cpu > a.milli_cpu - q.milli_cpu {
        out.push("Insufficient cpu".into());
    }
    if r.memory > 0 && r.memory > a.memory - q.memory {
        out.push("Insufficient memory".into());
    }
    if r.ephemeral_storage > 0 && r.ephemeral_storage > a.ephemeral_storage - q.ephemeral_storage {
        out.push("Insufficient ephemeral-storage".into());
    }
    for (name, want) in &r.scalar {
        if *want > 0 && *want > a.get(name) - q.get(name) {
            out.push(format!("Insufficient {name}"));
        }
    }
    out
}

/// The common case, checked without building reasons: room for one more pod and for the
/// pod's cpu and memory, and nothing else requested (else [`insufficient`] decides).
fn fits_cpu_memory(pod: &PodInfo, node: &NodeInfo) -> bool {
    let (r, a, q) = (&pod.requests, &node.allocatable, &node.requested);
    (node.pods.len() as i64) < a.allowed_pods
        && r.ephemeral_storage == 0
        && r.scalar.is_empty()
        && r.milli_cpu <= a.milli_cpu - q.milli_cpu
        && r.memory <= a.memory - q.memory
}

/// [`fits_cpu_memory`] read from the node's facts.
fn facts_fit_cpu_memory(pod: &PodInfo, f: &NodeFacts) -> bool {
    let r = &pod.requests;
    f.pod_room > 0
        && r.ephemeral_storage == 0
        && r.scalar.is_empty()
        && r.milli_cpu <= f.allocatable_cpu - f.requested_cpu
        && r.memory <= f.allocatable_memory - f.requested_memory
}

/// LeastAllocated over (requested with the pod, allocatable) of cpu and memory, weight 1
/// each; a resource with nothing allocatable is left out.
fn least_allocated(cpu: (i64, i64), memory: (i64, i64)) -> i64 {
    let (mut total, mut weights) = (0, 0);
    for (requested, allocatable) in [cpu, memory] {
        if allocatable == 0 {
            continue;
        }
        total += least_requested_score(requested, allocatable);
        weights += 1;
    }
    if weights == 0 { 0 } else { total / weights }
}

/// [`Plugin::score`] read from the node's facts, for a pod of non-zero requests
/// `[cpu, memory]`.
pub fn facts_score(f: &NodeFacts, [cpu, memory]: [i64; 2]) -> i64 {
    least_allocated(
        (f.non_zero_cpu + cpu, f.allocatable_cpu),
        (f.non_zero_memory + memory, f.allocatable_memory),
    )
}

/// `leastRequestedScore`.
pub fn least_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

impl Plugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        NAME
    }
    fn points(&self) -> Points {
        Points {
            filter: true,
            score: true,
            ..Points::default()
        }
    }
    fn events(&self) -> &'static [ClusterEvent] {
        &[
            ClusterEvent::NodeAdd,
            ClusterEvent::NodeUpdate,
            ClusterEvent::AssignedPodDelete,
            ClusterEvent::UnscheduledPodUpdate,
        ]
    }
    fn filter_nodes(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
        slots: &[usize],
        verdicts: &mut [Verdict],
    ) {
        filter_suspects(self, state, pod, snap, slots, verdicts, |f| {
            !facts_fit_cpu_memory(pod, f)
        });
    }
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if fits_cpu_memory(pod, node) {
            return Status::success();
        }
        let reasons = insufficient(pod, node);
        if reasons.is_empty() {
            Status::success()
        } else {
            Status {
                code: crate::framework::Code::Unschedulable,
                reasons,
                plugin: "",
            }
        }
    }
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo, _: &Snapshot) -> i64 {
        least_allocated(
            (
                node.non_zero_cpu + pod.non_zero_cpu,
                node.allocatable.milli_cpu,
            ),
            (
                node.non_zero_memory + pod.non_zero_memory,
                node.allocatable.memory,
            ),
        )
    }
    fn normalizes(&self) -> bool {
        false
    }
    fn score_nodes(
        &self,
        _: &CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
        feasible: &[usize],
        out: &mut Vec<i64>,
    ) {
        snap.memoized_scores(
            MemoKind::LeastAllocated,
            [pod.non_zero_cpu, pod.non_zero_memory],
            feasible,
            out,
            facts_score,
        );
    }
}
