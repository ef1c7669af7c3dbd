//! kubesim's kube-proxy: one actor per node that watches Services and EndpointSlices,
//! programs the node's rule table (iptables mode: `KUBE-SVC-`/`KUBE-SEP-` chains with
//! random-probability rules; IPVS mode: round-robin virtual servers), and runs the node's
//! simulated clients through those rules, so a scenario can measure what a rollout or a node
//! failure costs the users of a Service.
//!
//! | module | owns |
//! |---|---|
//! | [`service_port`] | kube-proxy's view of the API: Service ports, endpoints from EndpointSlices (ready, else serving-terminating) |
//! | [`chain_name`] | `KUBE-SVC-`/`KUBE-EXT-`/`KUBE-SEP-` names (SHA-256 + base32, as kube-proxy names them) |
//! | [`probability`] | the statistic rules' `--probability` (1/n, 1/(n−1), …) as the kernel holds and iptables prints it |
//! | [`rules`] | [`RuleTable`]: a node's programmed state, built purely from Services and slices |
//! | [`rule_memo`] | [`RuleMemo`]: one cluster's Service rules, computed once and shared by the nodes that see the same inputs |
//! | [`dataplane`] | what the kernel does with a new connection: statistic walk, `recent` affinity, IPVS rr |
//! | [`iptables`] | `iptables-save` and `iptables -t nat -L [CHAIN] [-n]` output |
//! | [`ipvs`] | `ipvsadm -Ln` output |
//! | [`exec`] | the `iptables`, `iptables-save` and `ipvsadm` command lines, to stdout/stderr/status |
//! | [`sync_runner`] | syncs paced by minSyncPeriod (burst 2) and syncPeriod |
//! | [`traffic`] | traffic specs, outcome counters per Service and per second, latencies |
//! | [`kube_proxy`] | the actor ([`KubeProxy`]) |
//! | [`testdata`] | hand-built Services and EndpointSlices for tests |
//!
//! # Wiring it into the cluster
//! - **Message type**: the cluster's enum implements `apiserver::ApiEnvelope` (the informers'
//!   streams) and `net::TrafficEnvelope` (requests go out as datagrams, responses come back
//!   to `on_message`). The runtime on each node answers `TrafficMessage::Request` for its pod
//!   IPs; nothing else is needed from it.
//! - **Where**: on every node's host (control planes too, as the kube-proxy DaemonSet runs
//!   there), as the actor named `kube-proxy`, added after every node's runtime so the
//!   routing table can name them.
//! - **Config** ([`KubeProxyConfig::new`]`(node_name, node_index, apiservers, mode)`):
//!   `node_index` is the node's index in the pod network (its /24 is
//!   `cluster_cidr.node_cidr(node_index)`; clients on the node get source addresses from it);
//!   `apiservers` the kube-apiserver actors; `mode` from the scenario's `proxy_mode`
//!   (iptables by default). Then set `routes` (node index → that node's runtime `ActorId`,
//!   for every node: `cluster_cidr.node_of(pod_ip).node_index()` picks the entry), the
//!   cluster's `cluster_cidr` when it is not kind's, and, for IPVS NodePort virtual servers,
//!   `node_ip`. Defaults follow kube-proxy: syncPeriod 30 s,
//!   minSyncPeriod 1 s (iptables) / 0 (IPVS), configSyncPeriod 15 min, cluster CIDR
//!   10.244.0.0/16; the client timeout is 1 s and each node has 10 client addresses.
//! - **Factory and restarts**: make one [`TrafficSink`] per node, keep a clone, and build the
//!   actor with [`KubeProxy::with_sink`]`(cfg.clone(), sink.clone())` in the factory: the
//!   counters and the running generators survive a crash/restart of the host (the rules do
//!   not: they are rebuilt from the apiserver, as after a reboot).
//! - **Shared rules**: make one [`RuleMemo`] per cluster and give each node's actor a clone
//!   ([`KubeProxy::sharing_rules`]): a Service's rules are then computed once for all the
//!   nodes that see the same revision of it (what each node programs is unchanged).
//! - **Traffic step** (`Traffic(service: "nginx", rps: 50)`): for each node,
//!   `sim.invoke::<KubeProxy<M>, _>(id, |p, ctx| p.start_traffic(ctx, TrafficSpec::new("nginx", rps)))`
//!   (`"ns/name"` for another namespace; rps 0 stops; one generator per Service per node,
//!   a new spec replaces it; arrivals are Poisson by default, [`Arrivals::Even`] for evenly
//!   spaced; `node_port: Some(p)` sends to the node's NodePort instead of the cluster IP).
//!   Whether `rps` is per node or split across nodes is the runner's choice.
//! - **`Expect(traffic_errors: SERVICE, at_most: F)`**: [`TrafficSink::merged_totals`] over
//!   every node's sink, entry `default/SERVICE`, and compare
//!   [`TrafficCounts::error_fraction`] (failed / finished; failures by reason are its
//!   fields) with `F`. For the report, [`TrafficSink::merged_service`] adds up the
//!   per-second counters and pools latencies (`latency_quantile(0.99)`).
//! - **Exec**: [`exec::iptables`]`(args, proxy.rules())`, [`exec::iptables_save`]`(args,
//!   proxy.rules(), date)` and [`exec::ipvsadm`]`(args, proxy.rules())` take the words after
//!   the program name and return stdout, stderr and the exit status (`iptables: No
//!   chain/target/match by that name.`, status 1, for an unknown chain). The renderers under
//!   them ([`iptables::iptables_save`], [`iptables::iptables_list`],
//!   [`iptables::iptables_list_rules`], [`ipvs::ipvsadm_list`]) are pure functions too.

pub mod chain_name;
pub mod dataplane;
pub mod exec;
pub mod iptables;
pub mod ipvs;
pub mod kube_proxy;
pub mod probability;
pub mod rule_memo;
pub mod rules;
pub mod service_port;
pub mod sync_runner;
pub mod testdata;
pub mod traffic;

/// The release kube-proxy reports (`Version info`), the cluster's Kubernetes version: keep it
/// in step with the kubelet's `KUBERNETES_VERSION` and the DaemonSet's image tag.
pub const KUBE_PROXY_VERSION: &str = "v1.33.1";

pub use kube_proxy::{KubeProxy, KubeProxyConfig, TrafficSink};
pub use rule_memo::RuleMemo;
pub use rules::{ProxyMode, RuleTable};
pub use traffic::{Arrivals, TrafficCounts, TrafficSpec};
