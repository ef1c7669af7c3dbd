//! The scenario language's types: what a user may write in a `.ron` scenario file.
//!
//! The shape is a promise to users (DESIGN.md, "Scenarios"): a terminal session against a
//! kind-like cluster, as a list of steps run in order on the virtual clock. Defaults follow
//! kind's: one control-plane node, no workers (kind then lets pods run on the control plane),
//! stacked etcd with one member per control-plane node, kube-proxy in iptables mode. Node
//! capacity has no kind default (kind reports the host's); kubesim picks 8 CPUs, 16Gi and the
//! kubelet's maxPods of 110 (`pkg/kubelet/apis/config/v1beta1/defaults.go`).

use std::collections::BTreeMap;

use serde::Deserialize;

use api::quantity::{Format, Quantity};

use crate::units::{Duration, SignedDuration};

/// A whole scenario file.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename = "Scenario", deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub description: String,
    /// The root seed; `kubesim run --seed` overrides it. Defaults to 0.
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub cluster: Cluster,
    /// How containers of each image behave; an unlisted image pulls in about a second and runs
    /// for ever.
    #[serde(default)]
    pub images: BTreeMap<String, ImageSpec>,
    /// The folder relative manifest paths (`kubectl apply -f x.yaml`) are read from, itself
    /// relative to this file's folder; by default this file's folder. `kubesim fuzz` writes
    /// it into a reproducer, which is written elsewhere than the scenario it came from.
    #[serde(default)]
    pub manifest_dir: Option<String>,
    pub steps: Vec<Step>,
}

/// The topology: kind's node roles and names, plus what kind leaves to the host.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Cluster {
    pub control_planes: u32,
    pub workers: u32,
    /// Zone names, assigned to workers round-robin as `topology.kubernetes.io/zone`.
    pub zones: Vec<String>,
    pub node_capacity: NodeCapacity,
    /// etcd members; kind stacks one on each control-plane node, which is the default.
    pub etcd_members: Option<u32>,
    pub proxy_mode: ProxyMode,
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster {
            control_planes: 1,
            workers: 0,
            zones: Vec::new(),
            node_capacity: NodeCapacity::default(),
            etcd_members: None,
            proxy_mode: ProxyMode::Iptables,
        }
    }
}

impl Cluster {
    /// The number of etcd members, defaulting to one per control-plane node.
    pub fn etcd_member_count(&self) -> u32 {
        self.etcd_members.unwrap_or(self.control_planes)
    }
}

/// What each node reports as capacity (and allocatable: kubesim reserves nothing).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeCapacity {
    #[serde(deserialize_with = "super::de::quantity")]
    pub cpu: Quantity,
    #[serde(deserialize_with = "super::de::quantity")]
    pub memory: Quantity,
    pub pods: u32,
}

impl Default for NodeCapacity {
    fn default() -> Self {
        NodeCapacity {
            cpu: Quantity::from_units(8, Format::DecimalSI),
            memory: Quantity::from_units(16 << 30, Format::BinarySI),
            pods: 110,
        }
    }
}

/// kube-proxy's `--proxy-mode`, written as kube-proxy spells it: "iptables" or "ipvs".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ProxyMode {
    #[default]
    Iptables,
    Ipvs,
}

impl ProxyMode {
    pub const NAMES: &'static [&'static str] = &["iptables", "ipvs"];

    pub fn as_str(self) -> &'static str {
        match self {
            ProxyMode::Iptables => "iptables",
            ProxyMode::Ipvs => "ipvs",
        }
    }
}

/// How the containers of one image behave.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImageSpec {
    /// Image size: pull time grows with it.
    #[serde(deserialize_with = "super::de::optional_quantity")]
    pub size: Option<Quantity>,
    /// Every pull fails with this registry message (ErrImagePull, then ImagePullBackOff).
    pub pull_error: Option<String>,
    /// The container exits this long after it starts.
    pub exits_after: Option<Duration>,
    /// Exit code when it exits (0 when unset).
    pub exit_code: Option<i32>,
    /// The container becomes ready this long after it starts (at once when unset).
    pub ready_after: Option<Duration>,
    /// Lines the container prints to its log when it starts (what `kubectl logs` shows).
    pub logs: Vec<String>,
    /// Its readiness probe never succeeds (requests that reach it anyway get 503).
    pub fails_readiness: bool,
    /// Time it takes to answer one request (1ms when unset).
    pub serves_latency: Option<Duration>,
    /// Its liveness probe fails from this long after it starts (healthy for ever when unset).
    pub unhealthy_after: Option<Duration>,
    /// Time it takes to shut down after SIGTERM (at once when unset); past the pod's grace
    /// period it is killed.
    pub shutdown_after: Option<Duration>,
    /// Whether it logs every request it serves, in nginx's access-log format (when unset:
    /// nginx images do, others do not).
    pub access_log: Option<bool>,
}

/// One step of a scenario.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub enum Step {
    /// A kubectl command line, in kubectl's own syntax (without the leading `kubectl`).
    Kubectl(String),
    /// Inline YAML manifests, applied as `kubectl apply -f -` would.
    Apply(String),
    /// Advances virtual time.
    Sleep(Duration),
    /// Injects a fault.
    Fault(Fault),
    /// Injects a fault this long after the step runs, on the virtual clock, whatever the steps
    /// in between take: `Fault(Crash("w")), After("3s", Restart("w"))` is a 3 s outage even when
    /// a `kubectl` step between them waits a minute for the API. Targets are resolved when the
    /// step runs (`After("3s", RestartAll)` restarts what is down then).
    After(Duration, Fault),
    /// Fails the run unless the condition holds when this step runs.
    Expect(Check),
    /// Fails the run unless the condition holds after every later step.
    Always(Check),
    /// Simulated clients sending `rps` requests per second to a Service, from every node.
    Traffic { service: String, rps: f64 },
    /// `docker exec` into a node: a command run on that host.
    Exec(Target, String),
    /// An etcdctl command line against the simulated etcd.
    Etcdctl(String),
}

impl Step {
    pub const NAMES: &'static [&'static str] = &[
        "Kubectl", "Apply", "Sleep", "Fault", "After", "Expect", "Always", "Traffic", "Exec",
        "Etcdctl",
    ];
}

/// A fault of the cluster's hosts or network.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub enum Fault {
    /// Symmetric partition between two groups of nodes.
    Partition(Vec<Target>, Vec<Target>),
    /// Messages from `from` to `to` are dropped; the other direction still flows.
    OneWay { from: Vec<Target>, to: Vec<Target> },
    /// Removes every partition.
    Heal,
    /// Every crashed node starts again (`docker start` of each stopped kind node): the way to
    /// bring back a node crashed through a target resolved at run time, like
    /// `Crash(Leader("etcd"))`.
    RestartAll,
    /// Network-wide message loss probability (0 restores a lossless network).
    Loss(f64),
    /// Network-wide extra one-way latency.
    Latency(Duration),
    /// Loss on every link to or from one node.
    LossAt(Target, f64),
    /// Extra latency on every link to or from one node.
    LatencyAt(Target, Duration),
    /// The host stops: volatile state is lost, synced disk is kept.
    Crash(Target),
    /// A crashed host starts again.
    Restart(Target),
    /// The host stalls (a long GC-like pause) for the duration.
    Pause(Target, Duration),
    /// The host's clock is offset by the signed duration.
    Skew(Target, SignedDuration),
    /// The host loses its disk (it restarts empty).
    DiskLoss(Target),
}

impl Fault {
    pub const NAMES: &'static [&'static str] = &[
        "Partition",
        "OneWay",
        "Heal",
        "RestartAll",
        "Loss",
        "Latency",
        "LossAt",
        "LatencyAt",
        "Crash",
        "Restart",
        "Pause",
        "Skew",
        "DiskLoss",
    ];
}

/// A node that a fault or `Exec` acts on: a node name, or a role's current leader, which is
/// resolved when the step runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Node(String),
    Leader(LeaderOf),
}

/// The components whose leader a target can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaderOf {
    Etcd,
    KubeControllerManager,
    KubeScheduler,
}

impl LeaderOf {
    pub const NAMES: &'static [&'static str] =
        &["etcd", "kube-controller-manager", "kube-scheduler"];

    pub fn as_str(self) -> &'static str {
        match self {
            LeaderOf::Etcd => "etcd",
            LeaderOf::KubeControllerManager => "kube-controller-manager",
            LeaderOf::KubeScheduler => "kube-scheduler",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "etcd" => Some(LeaderOf::Etcd),
            "kube-controller-manager" => Some(LeaderOf::KubeControllerManager),
            "kube-scheduler" => Some(LeaderOf::KubeScheduler),
            _ => None,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Node(name) => f.write_str(name),
            Target::Leader(of) => write!(f, "Leader({})", of.as_str()),
        }
    }
}

/// A condition checked by `Expect` and `Always`.
#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    /// The output of a kubectl command (trimmed) equals or contains a text.
    Kubectl { command: String, matcher: Matcher },
    /// The fraction of failed simulated requests to a Service is at most `at_most`.
    TrafficErrors { service: String, at_most: f64 },
    /// A percentile of one of Kubernetes' latency SLIs (FIDELITY F41) is at most `at_most`.
    Latency {
        of: Sli,
        percentile: Percentile,
        at_most: Duration,
    },
}

/// The latency SLIs a scenario can bound, as Kubernetes' scalability SLOs define them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sli {
    /// `pod_startup`: creation to Running, observed through a watch, of the pods created after
    /// the cluster came up outside `kube-system` (ClusterLoader2 measures the test's own pods,
    /// not the system's).
    PodStartup,
    /// `api_calls`: mutating calls on single objects, from `apiserver_request_duration_seconds`,
    /// each resource and verb on its own (the SLO holds when it holds for every one).
    ApiCalls,
}

impl Sli {
    /// The field that names it in a scenario.
    pub fn field(self) -> &'static str {
        match self {
            Sli::PodStartup => "pod_startup",
            Sli::ApiCalls => "api_calls",
        }
    }
}

/// `"p99"`: a percentile from 1 to 100, as ClusterLoader2 names them (`Perc50`, `Perc90`,
/// `Perc99`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Percentile(pub u32);

impl Percentile {
    pub const EXPECTED: &'static str = "a percentile like \"p50\", \"p90\" or \"p99\" (1 to 100)";

    pub fn parse(text: &str) -> Option<Percentile> {
        let digits = text.strip_prefix('p')?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let p: u32 = digits.parse().ok()?;
        (1..=100).contains(&p).then_some(Percentile(p))
    }
}

impl std::fmt::Display for Percentile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "p{}", self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Matcher {
    Equals(String),
    Contains(String),
}
