//! NodePorts (`framework/plugins/nodeports`): a pod's host ports must be free on the node
//! (same protocol and port on an overlapping address conflicts).

use crate::framework::{ClusterEvent, CycleState, NodeInfo, Plugin, PodInfo, Points, Status};

pub const NAME: &str = "NodePorts";
pub const REASON: &str = "node(s) didn't have free ports for the requested pod ports";

#[derive(Debug, Default)]
pub struct NodePorts;

impl Plugin for NodePorts {
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
        &[ClusterEvent::NodeAdd, ClusterEvent::AssignedPodDelete]
    }
    fn may_reject(&self, pod: &PodInfo) -> bool {
        !pod.host_ports.is_empty()
    }
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let conflict = pod
            .host_ports
            .iter()
            .any(|want| node.used_ports.iter().any(|used| used.conflicts(want)));
        if conflict {
            Status::unschedulable(REASON)
        } else {
            Status::success()
        }
    }
}
