//! `Topology`: what a kind cluster named `kubesim` is made of — its nodes, their names, roles,
//! zones and addresses, and which of them run an etcd member — before anything is built.
//!
//! Follows kind (kubernetes-sigs/kind): node names `kubesim-control-plane`,
//! `kubesim-control-plane2`, …, `kubesim-worker`, `kubesim-worker2`, …
//! (`pkg/cluster/internal/providers/common/naming.go`), nodes on the docker network
//! 172.18.0.0/16 with the gateway at .1, and kubeadm's stacked etcd: one member per
//! control-plane node, named after the node, serving clients on `https://<node-ip>:2379` and
//! peers on `https://<node-ip>:2380` (kubeadm `cmd/phases/init/etcd.go`).
//!
//! The pod network is kind's 10.244.0.0/16 (a /24 per node) while the cluster has at most 256
//! nodes; a larger one gets the wider range kube-up configures for its node count
//! (`net::ClusterCidr::for_nodes`: 10.64.0.0/14 up to /11), or the one given with
//! [`Topology::with_cluster_cidr`], as `--cluster-cidr` is set on a real large cluster.
//!
//! Simplifications: docker hands out addresses in container start order, which kind does in
//! parallel, so real clusters get them in any order; here control-plane nodes take .2, .3, …
//! in name order and workers follow. etcd derives a member ID from a SHA-1 of its peer URLs
//! and the cluster token (`server/etcdserver/api/membership/member.go`, `computeMemberID`) and
//! the cluster ID from the member IDs; here both are FNV-1a hashes of the same inputs: 64-bit,
//! stable, printed in hex like etcd's, but not equal to what etcd would compute.

use thiserror::Error;

use crate::components::ComponentOptions;

/// The cluster name, as in `kind create cluster --name kubesim`.
pub const CLUSTER_NAME: &str = "kubesim";
/// etcd's `--initial-cluster-token` as kubeadm leaves it.
const ETCD_CLUSTER_TOKEN: &str = "etcd-cluster";
/// etcd members beyond this are refused: Raft clusters of more than 7 are not supported by
/// etcd's guidance, and the design asks for 1, 3 or 5.
pub const MAX_ETCD_MEMBERS: u32 = 7;
/// kind's docker network gives out 172.18.0.2 ..= 172.18.255.254; more nodes than this would
/// need a second network.
pub const MAX_NODES: u32 = 65_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeRole {
    ControlPlane,
    Worker,
}

/// One kind node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSpec {
    pub name: String,
    pub role: NodeRole,
    /// `topology.kubernetes.io/zone`, when the topology names zones.
    pub zone: Option<String>,
    /// The node's address on kind's docker network.
    pub ip: [u8; 4],
    /// The etcd member this node runs, if any.
    pub etcd: Option<EtcdMemberSpec>,
}

/// One etcd member as `etcdctl member list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdMemberSpec {
    pub id: u64,
    /// The member's name: the node's name, as kubeadm sets `--name`.
    pub name: String,
    pub client_url: String,
    pub peer_url: String,
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum TopologyError {
    #[error("a cluster needs at least one control-plane node, got 0")]
    NoControlPlane,
    #[error(
        "etcd members are stacked on control-plane nodes: expected 1 to {control_planes} members (at most {MAX_ETCD_MEMBERS}), got {members}"
    )]
    EtcdMembers { members: u32, control_planes: u32 },
    #[error("expected at most {MAX_NODES} nodes, got {nodes}")]
    TooManyNodes { nodes: u64 },
    #[error(transparent)]
    PodNetwork(#[from] net::CidrError),
    #[error("the cluster CIDR {cidr} has a /24 for {capacity} nodes, the topology has {nodes}")]
    PodNetworkFull {
        cidr: net::ClusterCidr,
        capacity: usize,
        nodes: u64,
    },
}

/// What to build. `Topology::new(3, 2)` is kind's config with three control-plane and two
/// worker nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    pub control_planes: u32,
    pub workers: u32,
    /// etcd members, stacked on the first control-plane nodes; `None`: one per control plane.
    pub etcd_members: Option<u32>,
    /// Zone names, given to control planes and to workers round-robin.
    pub zones: Vec<String>,
    /// The simulation's root seed.
    pub seed: u64,
    /// Plants the fuzzer's self-test bug in every etcd member
    /// (`store::server::EtcdConfig::planted_bug_ack_before_fsync`). Off unless a test asks.
    pub planted_bug_ack_before_fsync: bool,
    /// Plants `ControllerManagerConfig::planted_bug_replicaset_without_expectations` in every
    /// kube-controller-manager. Off unless a test asks.
    pub planted_bug_replicaset_without_expectations: bool,
    /// Plants `SchedulerConfig::planted_bug_ignore_assumed_pods` in every kube-scheduler. Off
    /// unless a test asks.
    pub planted_bug_ignore_assumed_pods: bool,
    /// kube-controller-manager's `--kube-api-qps` and `--kube-api-burst` per controller
    /// (20 and 30, upstream's defaults); `None`: unlimited.
    pub controller_manager_api_rate: Option<(u32, u32)>,
    /// Runtimes, kubelets and kube-proxies on every node. `None`: no node agents (etcd and
    /// the control plane only).
    pub components: Option<ComponentOptions>,
    /// The pod network (`--cluster-cidr`); `None`: chosen by node count
    /// ([`Topology::pod_network`]).
    pub cluster_cidr: Option<net::ClusterCidr>,
}

impl Topology {
    pub fn new(control_planes: u32, workers: u32) -> Topology {
        Topology {
            control_planes,
            workers,
            etcd_members: None,
            zones: Vec::new(),
            seed: 0,
            planted_bug_ack_before_fsync: false,
            planted_bug_replicaset_without_expectations: false,
            planted_bug_ignore_assumed_pods: false,
            controller_manager_api_rate: Some((
                controllers::manager::KUBE_API_QPS,
                controllers::manager::KUBE_API_BURST,
            )),
            components: None,
            cluster_cidr: None,
        }
    }

    /// A pod network other than the one chosen by node count (`--cluster-cidr`).
    pub fn with_cluster_cidr(mut self, cidr: net::ClusterCidr) -> Topology {
        self.cluster_cidr = Some(cidr);
        self
    }

    /// The pod network the nodes' /24s come from: the configured one, else kind's
    /// 10.244.0.0/16 up to 256 nodes and kube-up's wider range beyond; an error when it has
    /// fewer /24s than the topology has nodes.
    pub fn pod_network(&self) -> Result<net::ClusterCidr, TopologyError> {
        let nodes = u64::from(self.control_planes) + u64::from(self.workers);
        let cidr = match self.cluster_cidr {
            Some(cidr) => cidr,
            None => net::ClusterCidr::for_nodes(usize::try_from(nodes).unwrap_or(usize::MAX))?,
        };
        if (cidr.node_capacity() as u64) < nodes {
            return Err(TopologyError::PodNetworkFull {
                cidr,
                capacity: cidr.node_capacity(),
                nodes,
            });
        }
        Ok(cidr)
    }

    /// Members acknowledge before their fsync: the bug `fuzz`'s self-test must find.
    pub fn with_planted_bug_ack_before_fsync(mut self) -> Topology {
        self.planted_bug_ack_before_fsync = true;
        self
    }

    /// ReplicaSet syncs ignore their expectations: the over-creation `fuzz` must find.
    pub fn with_planted_bug_replicaset_without_expectations(mut self) -> Topology {
        self.planted_bug_replicaset_without_expectations = true;
        self
    }

    /// The scheduler forgets assumed pods once their binding is sent: the over-commitment
    /// `fuzz` must find.
    pub fn with_planted_bug_ignore_assumed_pods(mut self) -> Topology {
        self.planted_bug_ignore_assumed_pods = true;
        self
    }

    /// kube-controller-manager's client rate per controller (`--kube-api-qps`,
    /// `--kube-api-burst`); `None` lifts it, as scale tests raise it.
    pub fn with_controller_manager_api_rate(mut self, rate: Option<(u32, u32)>) -> Topology {
        self.controller_manager_api_rate = rate;
        self
    }

    pub fn with_seed(mut self, seed: u64) -> Topology {
        self.seed = seed;
        self
    }

    pub fn with_etcd_members(mut self, members: u32) -> Topology {
        self.etcd_members = Some(members);
        self
    }

    /// Node agents (runtime, kubelet, kube-proxy) on every node.
    pub fn with_components(mut self, options: ComponentOptions) -> Topology {
        self.components = Some(options);
        self
    }

    pub fn with_zones(mut self, zones: Vec<String>) -> Topology {
        self.zones = zones;
        self
    }

    pub fn etcd_member_count(&self) -> u32 {
        self.etcd_members.unwrap_or(self.control_planes)
    }

    /// Every node in kind's order (control planes first), with addresses and etcd members.
    pub fn nodes(&self) -> Result<Vec<NodeSpec>, TopologyError> {
        if self.control_planes == 0 {
            return Err(TopologyError::NoControlPlane);
        }
        let members = self.etcd_member_count();
        if members == 0 || members > self.control_planes || members > MAX_ETCD_MEMBERS {
            return Err(TopologyError::EtcdMembers {
                members,
                control_planes: self.control_planes,
            });
        }
        let total = u64::from(self.control_planes) + u64::from(self.workers);
        if total > u64::from(MAX_NODES) {
            return Err(TopologyError::TooManyNodes { nodes: total });
        }
        let roles = (0..self.control_planes)
            .map(|i| (NodeRole::ControlPlane, i))
            .chain((0..self.workers).map(|i| (NodeRole::Worker, i)));
        let nodes = roles
            .enumerate()
            .map(|(n, (role, i))| {
                let name = node_name(role, i);
                let ip = node_ip(n as u32);
                let etcd = (role == NodeRole::ControlPlane && i < members).then(|| {
                    let peer_url = format!("https://{}:2380", dotted(ip));
                    EtcdMemberSpec {
                        id: member_id(&peer_url),
                        name: name.clone(),
                        client_url: format!("https://{}:2379", dotted(ip)),
                        peer_url,
                    }
                });
                let zone = (!self.zones.is_empty())
                    .then(|| self.zones[i as usize % self.zones.len()].clone());
                NodeSpec {
                    name,
                    role,
                    zone,
                    ip,
                    etcd,
                }
            })
            .collect();
        Ok(nodes)
    }
}

/// kind's node name for the `i`-th (0-based) node of a role.
pub fn node_name(role: NodeRole, i: u32) -> String {
    let base = match role {
        NodeRole::ControlPlane => "control-plane",
        NodeRole::Worker => "worker",
    };
    if i == 0 {
        format!("{CLUSTER_NAME}-{base}")
    } else {
        format!("{CLUSTER_NAME}-{base}{}", i + 1)
    }
}

/// The `n`-th node's address: 172.18.0.2 onwards (.1 is the docker bridge).
fn node_ip(n: u32) -> [u8; 4] {
    let host = n + 2;
    [172, 18, (host >> 8) as u8, (host & 0xff) as u8]
}

pub fn dotted(ip: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3])
}

fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in *p {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        // Separate the parts so ("ab", "c") and ("a", "bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn member_id(peer_url: &str) -> u64 {
    // Raft reserves ID 0 for "none".
    fnv1a(&[peer_url.as_bytes(), ETCD_CLUSTER_TOKEN.as_bytes()]).max(1)
}

/// The etcd cluster ID for a set of member IDs (order-independent, as etcd sorts them).
pub fn cluster_id(member_ids: &[u64]) -> u64 {
    let mut ids = member_ids.to_vec();
    ids.sort_unstable();
    let bytes: Vec<[u8; 8]> = ids.iter().map(|id| id.to_be_bytes()).collect();
    let parts: Vec<&[u8]> = bytes.iter().map(|b| &b[..]).collect();
    fnv1a(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_addresses_and_stacked_etcd() {
        let nodes = Topology::new(3, 2).nodes().unwrap();
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "kubesim-control-plane",
                "kubesim-control-plane2",
                "kubesim-control-plane3",
                "kubesim-worker",
                "kubesim-worker2"
            ]
        );
        assert_eq!(dotted(nodes[0].ip), "172.18.0.2");
        assert_eq!(dotted(nodes[4].ip), "172.18.0.6");
        let etcd: Vec<&EtcdMemberSpec> = nodes.iter().filter_map(|n| n.etcd.as_ref()).collect();
        assert_eq!(etcd.len(), 3);
        assert_eq!(etcd[1].client_url, "https://172.18.0.3:2379");
        assert_eq!(etcd[1].name, "kubesim-control-plane2");
        let mut ids: Vec<u64> = etcd.iter().map(|m| m.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), 3);
    }

    #[test]
    fn bad_topologies_say_what_was_expected() {
        assert_eq!(
            Topology::new(0, 1).nodes(),
            Err(TopologyError::NoControlPlane)
        );
        let err = Topology::new(1, 0)
            .with_etcd_members(3)
            .nodes()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "etcd members are stacked on control-plane nodes: expected 1 to 1 members (at most 7), got 3"
        );
    }

    #[test]
    fn pod_network_is_kinds_until_it_is_full() {
        assert_eq!(
            Topology::new(1, 255).pod_network(),
            Ok(net::ClusterCidr::KIND)
        );
        let big = Topology::new(1, 5000).pod_network().unwrap();
        assert_eq!(big.to_string(), "10.64.0.0/11");
        let err = Topology::new(1, 300)
            .with_cluster_cidr(net::ClusterCidr::KIND)
            .pod_network()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the cluster CIDR 10.244.0.0/16 has a /24 for 256 nodes, the topology has 301"
        );
    }

    #[test]
    fn zones_round_robin() {
        let nodes = Topology::new(1, 3)
            .with_zones(vec!["a".into(), "b".into()])
            .nodes()
            .unwrap();
        let zones: Vec<&str> = nodes.iter().map(|n| n.zone.as_deref().unwrap()).collect();
        assert_eq!(zones, ["a", "a", "b", "a"]);
    }
}
