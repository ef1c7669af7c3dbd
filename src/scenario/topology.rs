//! The cluster's nodes as kind names them for a cluster called `kubesim`
//! (kubernetes-sigs/kind `pkg/cluster/internal/create/actions/config`, node naming in
//! `pkg/cluster/internal/providers/common/naming.go`): `kubesim-control-plane`,
//! `kubesim-control-plane2`, …, `kubesim-worker`, `kubesim-worker2`, ….

use super::model::Cluster;

/// The cluster name kind would be given (`kind create cluster --name kubesim`).
pub const CLUSTER_NAME: &str = "kubesim";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeRole {
    ControlPlane,
    Worker,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopologyNode {
    pub name: String,
    pub role: NodeRole,
    /// `topology.kubernetes.io/zone`, when the scenario names zones.
    pub zone: Option<String>,
    /// Whether an etcd member runs here (kind stacks etcd on control-plane nodes).
    pub etcd_member: bool,
}

/// Every node of the cluster, control planes first, in kind's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    pub nodes: Vec<TopologyNode>,
}

impl Topology {
    pub fn from_cluster(cluster: &Cluster) -> Topology {
        let etcd_members = cluster.etcd_member_count();
        let control_planes = (0..cluster.control_planes).map(|i| TopologyNode {
            name: numbered("control-plane", i),
            role: NodeRole::ControlPlane,
            zone: zone_for(&cluster.zones, i),
            etcd_member: i < etcd_members,
        });
        let workers = (0..cluster.workers).map(|i| TopologyNode {
            name: numbered("worker", i),
            role: NodeRole::Worker,
            zone: zone_for(&cluster.zones, i),
            etcd_member: false,
        });
        Topology {
            nodes: control_planes.chain(workers).collect(),
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.nodes.iter().any(|n| n.name == name)
    }

    /// The node names, for "expected one of" messages.
    pub fn names(&self) -> Vec<&str> {
        self.nodes.iter().map(|n| n.name.as_str()).collect()
    }
}

/// kind numbers the first node of a role without a suffix, then 2, 3, ….
fn numbered(role: &str, index: u32) -> String {
    match index {
        0 => format!("{CLUSTER_NAME}-{role}"),
        n => format!("{CLUSTER_NAME}-{role}{}", n + 1),
    }
}

fn zone_for(zones: &[String], index: u32) -> Option<String> {
    if zones.is_empty() {
        return None;
    }
    zones.get(index as usize % zones.len()).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_node_names() {
        let cluster = Cluster {
            control_planes: 3,
            workers: 2,
            zones: vec!["a".into(), "b".into()],
            ..Cluster::default()
        };
        let topology = Topology::from_cluster(&cluster);
        assert_eq!(
            topology.names(),
            [
                "kubesim-control-plane",
                "kubesim-control-plane2",
                "kubesim-control-plane3",
                "kubesim-worker",
                "kubesim-worker2"
            ]
        );
        assert_eq!(topology.nodes[4].zone.as_deref(), Some("b"));
        assert_eq!(topology.nodes.iter().filter(|n| n.etcd_member).count(), 3);
    }

    #[test]
    fn default_is_one_control_plane() {
        let topology = Topology::from_cluster(&Cluster::default());
        assert_eq!(topology.names(), ["kubesim-control-plane"]);
    }
}
