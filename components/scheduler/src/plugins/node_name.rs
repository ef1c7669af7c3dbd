//! NodeName (`framework/plugins/nodename`): a pod that names a node fits only there.

use crate::framework::{ClusterEvent, CycleState, NodeInfo, Plugin, PodInfo, Points, Status};

pub const NAME: &str = "NodeName";
pub const REASON: &str = "node(s) didn't match the requested node name";

#[derive(Debug, Default)]
pub struct NodeName;

impl Plugin for NodeName {
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
        &[ClusterEvent::NodeAdd]
    }
    fn may_reject(&self, pod: &PodInfo) -> bool {
        !pod.node_name.is_empty()
    }
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if pod.node_name.is_empty() || *pod.node_name == *node.name {
            Status::success()
        } else {
            Status::unresolvable(REASON)
        }
    }
}
