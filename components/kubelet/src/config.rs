//! The kubelet's configuration: the node it runs (name, address, role, zone, capacity, pod
//! CIDR), whom it talks to (apiservers, the node's runtime), and KubeletConfiguration's timing
//! defaults.
//!
//! Defaults follow `pkg/kubelet/apis/config/v1beta1/defaults.go` (F10, F11, F29):
//! nodeStatusUpdateFrequency 10 s, nodeStatusReportFrequency 5 min, nodeLeaseDurationSeconds
//! 40 (renewed every 25 %: 10 s), maxPods 110, kubeAPIQPS 50 / kubeAPIBurst 100, the
//! container restart back-off 10 s doubling to 300 s. Capacity has no upstream default (the
//! machine's); kubesim's scenario default is 8 CPUs, 16Gi, 110 pods.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use net::{ClusterCidr, PodCidr};
use sim::{ActorId, Duration};

/// The Kubernetes version kind's node image runs.
pub const KUBERNETES_VERSION: &str = "v1.33.1";
/// `containerd --version` in that image, as `status.nodeInfo.containerRuntimeVersion` shows it.
pub const CONTAINER_RUNTIME_VERSION: &str = "containerd://2.1.1";

#[derive(Clone, Debug)]
pub struct KubeletConfig {
    pub node_name: String,
    /// The node's address on kind's docker network (`InternalIP`).
    pub node_ip: Ipv4Addr,
    /// A control-plane node: the `node-role.kubernetes.io/control-plane` label and NoSchedule
    /// taint (kubeadm's), and the control plane's static pods.
    pub control_plane: bool,
    /// `topology.kubernetes.io/zone`.
    pub zone: Option<String>,
    /// `spec.podCIDR`.
    pub pod_cidr: PodCidr,
    /// The cluster's pod network, named in the control plane's static pods
    /// (kube-controller-manager's `--cluster-cidr`); see [`KubeletConfig::with_cluster_cidr`].
    pub cluster_cidr: ClusterCidr,
    /// `status.capacity` (and allocatable: kind reserves nothing): `cpu`, `memory`, `pods`,
    /// `ephemeral-storage`, as quantities.
    pub capacity: BTreeMap<String, String>,
    /// The apiserver replicas, in the order tried.
    pub apiservers: Vec<ActorId>,
    /// The node's container runtime actor.
    pub runtime: ActorId,
    pub node_status_update_frequency: Duration,
    pub node_status_report_frequency: Duration,
    pub node_lease_duration_seconds: i32,
    /// Container restart (and image pull) back-off: initial and cap.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// kubeAPIQPS / kubeAPIBurst: the client's token bucket for the kubelet's writes.
    pub api_qps: u32,
    pub api_burst: u32,
    /// Static pods to run (kubeadm's manifests on control-plane nodes); see
    /// [`crate::static_pods::control_plane_manifests`].
    pub static_pods: Vec<api::k8s_openapi::api::core::v1::Pod>,
}

impl KubeletConfig {
    /// A node with kubesim's default capacity (8 CPUs, 16Gi, 110 pods, 100Gi disk); control
    /// planes get the static pods of kubeadm.
    pub fn new(
        node_name: impl Into<String>,
        node_ip: Ipv4Addr,
        control_plane: bool,
        pod_cidr: PodCidr,
        apiservers: Vec<ActorId>,
        runtime: ActorId,
    ) -> Self {
        let node_name = node_name.into();
        let static_pods = if control_plane {
            crate::static_pods::control_plane_manifests(&node_name, node_ip, ClusterCidr::KIND)
        } else {
            Vec::new()
        };
        KubeletConfig {
            node_name,
            node_ip,
            control_plane,
            zone: None,
            pod_cidr,
            cluster_cidr: ClusterCidr::KIND,
            capacity: [
                ("cpu", "8"),
                ("memory", "16Gi"),
                ("pods", "110"),
                ("ephemeral-storage", "100Gi"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            apiservers,
            runtime,
            node_status_update_frequency: Duration::from_secs(10),
            node_status_report_frequency: Duration::from_mins(5),
            node_lease_duration_seconds: 40,
            backoff_initial: Duration::from_secs(10),
            backoff_max: Duration::from_secs(300),
            api_qps: 50,
            api_burst: 100,
            static_pods,
        }
    }

    /// A cluster whose pod network is not kind's 10.244.0.0/16 (the static pods name it).
    pub fn with_cluster_cidr(mut self, cluster_cidr: ClusterCidr) -> Self {
        self.cluster_cidr = cluster_cidr;
        if self.control_plane {
            self.static_pods = crate::static_pods::control_plane_manifests(
                &self.node_name,
                self.node_ip,
                cluster_cidr,
            );
        }
        self
    }

    /// The lease is renewed every quarter of its duration (`renewIntervalFraction` 0.25).
    pub fn lease_renew_interval(&self) -> Duration {
        Duration::from_millis(
            u64::try_from(self.node_lease_duration_seconds.max(1)).unwrap_or(40) * 250,
        )
    }

    /// `maxPods` from the capacity.
    pub fn max_pods(&self) -> usize {
        self.capacity
            .get("pods")
            .and_then(|p| p.parse().ok())
            .unwrap_or(110)
    }
}
