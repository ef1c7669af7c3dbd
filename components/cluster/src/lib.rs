//! kubesim's cluster assembly: a kind-like cluster on the engine, built from a [`Topology`],
//! and [`etcdctl`], which runs etcdctl command lines against it.
//!
//! Today the cluster is etcd: one member per control-plane node (stacked, as kubeadm and
//! kind do), the Raft safety invariant installed, and an etcdctl client on a terminal host
//! outside the nodes. kube-apiserver and the other components join here as they land.
//!
//! # What the scenario runner calls
//! ```
//! use cluster::{Cluster, Topology, etcdctl};
//! use sim::Duration;
//!
//! // `cluster: (control_planes: 3, workers: 1)` with the scenario's seed:
//! let topology = Topology::new(3, 1).with_seed(7); // .with_etcd_members(n), .with_zones(..)
//! let mut cluster = Cluster::build(topology).unwrap(); // or build_with(topology, SimConfig)
//! // Before the first step, as `kind create cluster` waits for its control plane:
//! let leader = cluster.run_until_etcd_ready(Duration::from_secs(30)).unwrap();
//! assert!(leader.is_some());
//!
//! // Node names -> hosts for faults: cluster.host("kubesim-worker").
//! // `Crash(Leader("etcd"))`: resolve when the step runs, then apply the fault.
//! let host = cluster.resolve_leader("etcd").unwrap();
//! cluster.sim_mut().apply_fault(sim::Fault::Crash(host)).unwrap();
//!
//! // `Etcdctl("endpoint status -w table")`: print `out.text` under the step header. The
//! // crashed member costs the command timeout (5 s) and makes etcdctl exit 1, as it does.
//! let out = etcdctl::run(&mut cluster, "endpoint status -w table");
//! assert_eq!(out.status, 1);
//! assert!(out.text.starts_with("Failed to get the status of endpoint https://"));
//! assert!(out.text.contains("| IS LEADER |"));
//! ```
//! An `Etcdctl` step takes the virtual time the cluster needs to answer (and the command
//! timeout, 5 s per unreachable endpoint). A [`RequestError::Finding`] inside a step surfaces
//! as the next `sim_mut().run_*` error; `etcdctl::run` never panics on user input.

// The API types the cluster's clients speak, for callers that drive kubectl through it.
pub use apiserver;
pub use client;

pub mod addons;
pub mod api_latency;
pub mod cluster;
pub mod components;
pub mod etcdctl;
pub mod etcdctl_client;
pub mod invariants;
// Read-only accessors on `Cluster` (what etcd stores), for run reports.
mod inspect;
pub mod kubectl_client;
pub mod logs;
pub mod message;
pub mod pod_startup;
// `impl Cluster`: the kube-scheduler replicas and their recorded decisions.
mod scheduler_view;
pub mod topology;
pub mod watch;

pub use cluster::{
    ApiServerHandle, Cluster, ClusterError, EtcdLeader, EtcdMemberHandle, LeaderError, RequestError,
};
pub use components::{ComponentOptions, ComponentsError, NodeAgents};
pub use etcdctl_client::{EtcdAnswer, EtcdctlClient};
pub use inspect::StoredObject;
pub use kubectl_client::KubectlClient;
pub use message::{ClusterMsg, EtcdValue, value_bytes};
pub use topology::{NodeRole, NodeSpec, Topology, TopologyError};
