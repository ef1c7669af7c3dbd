//! kubesim's container runtime: one CRI-like actor per node (containerd in a kind node).
//!
//! | module | owns |
//! |---|---|
//! | [`message`] | the kubelet ↔ runtime protocol: [`RuntimeCall`]s, replies, container events, [`RuntimeEnvelope`] |
//! | [`behaviour`] | what a container of each image does ([`ImageBehaviour`], [`ImageCatalog`]) |
//! | [`images`] | image references, the image store, the serialised pull queue, pull time |
//! | [`state`] | sandboxes (pod addresses from the node's /24), containers, logs |
//! | [`access_log`] | the access-log line a web image writes per request served |
//! | [`runtime`] | the actor ([`ContainerRuntime`]): calls, SIGTERM/SIGKILL, exits, probes, Service traffic |
//! | [`crictl`] | `crictl ps`, `crictl pods`, `crictl images` over the state |
//! | [`containerd_log`] | containerd's logrus lines (CRI calls, pulls, exits) and their rendering |
//!
//! # Wiring it into the cluster
//! - **Message type**: the cluster's enum implements [`RuntimeEnvelope`] (a variant holding a
//!   [`RuntimeMessage`]) and `net::TrafficEnvelope` (Service requests to pod IPs arrive here).
//! - **Where**: on every node's host (control planes too), as the actor named `containerd`,
//!   added *before* that node's kubelet (the kubelet's config names the runtime's `ActorId`).
//! - **Config** ([`RuntimeConfig::new`]`(node_name, node_ip, net::node_pod_cidr(i))`): the
//!   node's name and docker-network address, its /24; `images` from the scenario's `images:`
//!   (each entry an [`ImageBehaviour`]: `size` → `size_bytes`, `pull_error`, `exits_after`,
//!   `exit_code`, `ready_after`, `fails_readiness`, `unhealthy_after`, `serve_latency`,
//!   `shutdown_after`, `logs`, `access_log`); `preloaded_images` for what kind's node image ships (the
//!   [`kind_preloaded_images`]); bandwidth, registry round trips, sandbox setup and
//!   container start keep their defaults (50 MiB/s, 300 ms, 400 ms, 50 ms) unless the
//!   topology says otherwise.
//! - **Traffic**: kube-proxy's clients send `TrafficMessage::Request` to the runtime of the
//!   node whose /24 holds the pod IP (`cluster_cidr.node_of(ip).node_index()`); the runtime
//!   answers the sender with a `Response` (Answered after the image's latency, or Refused);
//!   a container whose image logs requests gets an [`access_log`] line per request answered.
//! - **Exec**: `crictl ps|pods|images` = [`crictl::ps`] / [`crictl::pods`] /
//!   [`crictl::images`] over `sim.actor::<ContainerRuntime<M>>(id).state()`; `kubectl logs`
//!   reads [`state::RuntimeState::logs`].
//!
//! A host crash loses every sandbox and container (the runtime restarts empty, images
//! included); the kubelet recreates what its pods need.

pub mod access_log;
pub mod behaviour;
pub mod containerd_log;
pub mod crictl;
pub mod images;
pub mod message;
pub mod runtime;
pub mod state;

pub use behaviour::{ImageBehaviour, ImageCatalog};
pub use message::{
    ContainerEvent, ExitCause, ProbeKind, ProcessExit, RuntimeCall, RuntimeEnvelope, RuntimeError,
    RuntimeMessage, RuntimeReply,
};
pub use runtime::{ContainerRuntime, RuntimeConfig};

/// The images kind's node image (`kindest/node`) carries before any pull: the control plane's
/// static pods, kube-proxy, kindnet, CoreDNS and the sandbox image.
pub fn kind_preloaded_images() -> Vec<String> {
    [
        "registry.k8s.io/pause:3.10",
        "registry.k8s.io/etcd:3.5.21-0",
        "registry.k8s.io/kube-apiserver:v1.33.1",
        "registry.k8s.io/kube-controller-manager:v1.33.1",
        "registry.k8s.io/kube-scheduler:v1.33.1",
        "registry.k8s.io/kube-proxy:v1.33.1",
        "registry.k8s.io/coredns/coredns:v1.12.0",
        "docker.io/kindest/kindnetd:v20250512-df8de77b",
        "docker.io/kindest/local-path-provisioner:v20250214-acbabc1a",
    ]
    .map(String::from)
    .to_vec()
}
