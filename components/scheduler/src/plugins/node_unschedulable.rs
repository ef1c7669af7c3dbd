//! NodeUnschedulable (`framework/plugins/nodeunschedulable`): a cordoned node
//! (`spec.unschedulable`) takes only pods that tolerate `node.kubernetes.io/unschedulable:
//! NoSchedule`.

use api::taints::{NO_SCHEDULE, tolerations_tolerate_taint};
use k8s_openapi::api::core::v1::Taint;

use crate::framework::node_facts::UNSCHEDULABLE;
use crate::framework::{
    ClusterEvent, CycleState, NodeInfo, Plugin, PodInfo, Points, Snapshot, Status, Verdict,
    filter_suspects,
};

pub const NAME: &str = "NodeUnschedulable";
pub const REASON: &str = "node(s) were unschedulable";
pub const TAINT_KEY: &str = "node.kubernetes.io/unschedulable";

#[derive(Debug, Default)]
pub struct NodeUnschedulable;

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        NAME
    }
    fn points(&self) -> Points {
        Points {
            filter: true,
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
    fn filter_nodes(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
        slots: &[usize],
        verdicts: &mut [Verdict],
    ) {
        // Only cordoned nodes can be rejected.
        if snap.any_flagged(UNSCHEDULABLE) {
            filter_suspects(self, state, pod, snap, slots, verdicts, |f| {
                f.has(UNSCHEDULABLE)
            });
        }
    }
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if !node.unschedulable {
            return Status::success();
        }
        let taint = Taint {
            key: TAINT_KEY.into(),
            effect: NO_SCHEDULE.into(),
            ..Default::default()
        };
        let tolerations = pod
            .pod()
            .spec
            .as_ref()
            .and_then(|s| s.tolerations.as_deref())
            .unwrap_or(&[]);
        if tolerations_tolerate_taint(tolerations, &taint) {
            Status::success()
        } else {
            Status::unresolvable(REASON)
        }
    }
}
