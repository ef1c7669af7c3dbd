//! kubesim's kubelet: the node agent, one actor per node.
//!
//! | module | owns |
//! |---|---|
//! | [`kubelet`] | the actor ([`Kubelet`]): registration, node status, Lease, the pod sync, status writes |
//! | [`config`] | [`KubeletConfig`]: the node, its peers, KubeletConfiguration defaults |
//! | [`node`] | the Node object, its status and conditions, the node Lease |
//! | [`worker`] | one pod's state: sandbox, containers, restarts, probes, termination |
//! | [`status`] | pod phase, conditions, container statuses, QoS |
//! | [`backoff`] | CrashLoopBackOff / ImagePullBackOff (10 s doubling to 300 s, reset after 10 min) |
//! | [`probes`] | liveness, readiness and startup probe workers |
//! | [`admission`] | resources, maxPods and node affinity re-checked on the node |
//! | [`config_refs`] | the ConfigMaps and Secrets a pod needs |
//! | [`static_pods`] | kubeadm's control-plane static pods and their mirror pods |
//! | [`events`] | the kubelet's Events, aggregated |
//!
//! # Wiring it into the cluster
//! - **Message type**: the cluster's enum implements `apiserver::ApiEnvelope` and
//!   `runtime::RuntimeEnvelope`; the node's runtime (`runtime::ContainerRuntime`) also needs
//!   `net::TrafficEnvelope`.
//! - **Order, per node host**: first the runtime (actor `containerd`, config
//!   `runtime::RuntimeConfig::new(node, node_ip, net::node_pod_cidr(i))` with the scenario's
//!   images and `runtime::kind_preloaded_images()`), then the kubelet (actor `kubelet`) with
//!   [`KubeletConfig::new`]`(node, node_ip, control_plane, net::node_pod_cidr(i), apiservers,
//!   runtime_actor_id)`; set `zone` and `capacity` from the topology, and
//!   [`KubeletConfig::with_cluster_cidr`] when the pod network is not kind's (the `i`-th /24
//!   then comes from `cluster_cidr.node_cidr(i)`). Control-plane nodes get
//!   kubeadm's four static pods by default (`static_pods`), whose mirror pods appear in
//!   kube-system as `etcd-<node>`, `kube-apiserver-<node>`, ….
//! - **Identity**: the kubelet authenticates as `system:node:<node>` (group `system:nodes`).
//! - **Inspection**: `sim.actor::<Kubelet<M>>(id)` gives [`Kubelet::pod`], [`Kubelet::pods`],
//!   [`Kubelet::lease`] and [`kubelet::KubeletStats`]; its log (`sim.logs(id)`) has what it
//!   started and the events it recorded.
//!
//! A host crash restarts both actors empty; the kubelet re-registers (AlreadyExists → GET),
//! relists its pods and starts them again with new sandboxes, keeping restart counts from
//! the API status.

pub mod admission;
pub mod backoff;
pub mod config;
pub mod config_refs;
pub mod events;
pub mod kubelet;
pub mod node;
pub mod probes;
pub mod static_pods;
pub mod status;
pub mod worker;

pub use config::KubeletConfig;
pub use kubelet::{Kubelet, KubeletStats};
