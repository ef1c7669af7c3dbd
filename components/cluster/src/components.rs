//! The node agents, placed as kind places them: on every node (control planes too) a
//! container runtime (actor `containerd`), a kubelet (`kubelet`) and kube-proxy (`kube-proxy`,
//! the DaemonSet's pod). kube-controller-manager and kube-scheduler are added by
//! [`crate::Cluster::build`] itself.
//!
//! Added after etcd, the control plane and the terminal's clients, so those keep their ids;
//! all runtimes come first because every kube-proxy routes pod addresses to them (a pod IP's
//! /24 names its node, `net::ClusterCidr::node_of`). Node `i` in kind's order owns the `i`-th
//! /24 of the pod network (10.244.i.0/24 on kind's), as the node IPAM controller hands them out
//! in registration order (simplification: the kubelet is configured with its podCIDR instead
//! of receiving it from the controller).
//!
//! Each component is generic over the cluster's message type and speaks to the apiservers
//! through `client::ApiClient`, its own node's apiserver first (kubeadm points local
//! components at the local apiserver), the others for failover.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use kubelet::{Kubelet, KubeletConfig};
use proxy::{KubeProxy, KubeProxyConfig, ProxyMode, RuleMemo, TrafficSink};
use runtime::{ContainerRuntime, ImageCatalog, RuntimeConfig, kind_preloaded_images};
use sim::{ActorId, HostId, Sim, SimError};

use crate::message::ClusterMsg;
use crate::topology::{NodeRole, NodeSpec};

/// Actor names, as `ps aux` and `Crash(Leader(...))` know them.
pub use client::exit::RUNTIME_ACTOR;
pub const KUBELET_ACTOR: &str = "kubelet";
pub const PROXY_ACTOR: &str = "kube-proxy";

#[derive(Debug, thiserror::Error)]
pub enum ComponentsError {
    #[error("the pod network {cidr} has a /24 for {max} nodes, not {nodes}", max = cidr.node_capacity())]
    PodNetworkFull {
        cidr: net::ClusterCidr,
        nodes: usize,
    },
    #[error(transparent)]
    Engine(#[from] SimError),
}

/// The agents of one node.
#[derive(Clone, Debug)]
pub struct NodeAgents {
    pub node: String,
    pub host: HostId,
    /// The node's index in the pod network (its /24).
    pub index: usize,
    pub runtime: ActorId,
    pub kubelet: ActorId,
    pub proxy: ActorId,
    /// kube-proxy's traffic counters, kept across restarts of the node.
    pub traffic: TrafficSink,
}

/// How the node components are configured from the scenario.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ComponentOptions {
    /// What each image's containers do (the scenario's `images:`).
    pub images: Arc<ImageCatalog>,
    pub proxy_mode: ProxyMode,
    /// Each node's `status.capacity` (`cpu`, `memory`, `pods` as quantities); `None`: the
    /// kubelet's defaults.
    pub capacity: Option<BTreeMap<String, String>>,
    /// kind's kube-system addons (CoreDNS, the kube-proxy and kindnet DaemonSets,
    /// local-path-provisioner), created through the apiserver once it is up
    /// ([`crate::addons`]). Off by default so that component tests see only their own pods.
    pub kube_system_addons: bool,
}

fn ipv4(ip: [u8; 4]) -> Ipv4Addr {
    Ipv4Addr::from(ip)
}

/// The apiservers in the order a component on `host` tries them: its own node's first.
fn apiservers_for(host: HostId, apiservers: &[(HostId, ActorId)]) -> Vec<ActorId> {
    let mut v: Vec<ActorId> = apiservers
        .iter()
        .filter(|(h, _)| *h == host)
        .map(|(_, a)| *a)
        .collect();
    v.extend(
        apiservers
            .iter()
            .filter(|(h, _)| *h != host)
            .map(|(_, a)| *a),
    );
    v
}

/// Adds every node's runtime, then every kubelet, then every kube-proxy. `nodes` in kind's
/// order with their hosts; `apiservers` with the hosts they run on; `pod_network` the cluster
/// CIDR the nodes' /24s come from.
pub fn add_components(
    sim: &mut Sim<ClusterMsg>,
    nodes: &[(NodeSpec, HostId)],
    apiservers: &[(HostId, ActorId)],
    options: &ComponentOptions,
    pod_network: net::ClusterCidr,
) -> Result<Vec<NodeAgents>, ComponentsError> {
    let mut runtimes = Vec::with_capacity(nodes.len());
    for (index, (node, host)) in nodes.iter().enumerate() {
        let cidr = pod_network
            .node_cidr(index)
            .ok_or(ComponentsError::PodNetworkFull {
                cidr: pod_network,
                nodes: nodes.len(),
            })?;
        let mut cfg = RuntimeConfig::new(node.name.clone(), ipv4(node.ip), cidr);
        cfg.images = options.images.clone();
        cfg.preloaded_images = kind_preloaded_images();
        let actor = sim.add_actor(*host, RUNTIME_ACTOR, move |_| {
            ContainerRuntime::<ClusterMsg>::new(cfg.clone())
        })?;
        runtimes.push((actor, cidr));
    }
    let mut kubelets = Vec::with_capacity(nodes.len());
    for ((node, host), (runtime, cidr)) in nodes.iter().zip(&runtimes) {
        let mut cfg = KubeletConfig::new(
            node.name.clone(),
            ipv4(node.ip),
            node.role == NodeRole::ControlPlane,
            *cidr,
            apiservers_for(*host, apiservers),
            *runtime,
        )
        .with_cluster_cidr(pod_network);
        cfg.zone = node.zone.clone();
        if let Some(capacity) = &options.capacity {
            cfg.capacity.extend(capacity.clone());
        }
        kubelets.push(sim.add_actor(*host, KUBELET_ACTOR, move |_| {
            Kubelet::<ClusterMsg>::new(cfg.clone())
        })?);
    }
    let routes: BTreeMap<usize, ActorId> = runtimes
        .iter()
        .enumerate()
        .map(|(i, (a, _))| (i, *a))
        .collect();
    let mut agents = Vec::with_capacity(nodes.len());
    let memo = RuleMemo::default();
    for (index, (node, host)) in nodes.iter().enumerate() {
        let mut cfg = KubeProxyConfig::new(
            &node.name,
            index,
            apiservers_for(*host, apiservers),
            options.proxy_mode,
        );
        cfg.routes = routes.clone();
        cfg.cluster_cidr = pod_network;
        cfg.node_ip = Some(ipv4(node.ip));
        let sink = TrafficSink::default();
        let kept = sink.clone();
        let memo = memo.clone();
        let proxy = sim.add_actor(*host, PROXY_ACTOR, move |_| {
            KubeProxy::<ClusterMsg>::with_sink(cfg.clone(), kept.clone())
                .sharing_rules(memo.clone())
        })?;
        agents.push(NodeAgents {
            node: node.name.clone(),
            host: *host,
            index,
            runtime: runtimes[index].0,
            kubelet: kubelets[index],
            proxy,
            traffic: sink,
        });
    }
    Ok(agents)
}
