//! `Timeline`: what a run did, as data a report draws — the run's identity and verdict, each
//! host's state over time, etcd's leader and term, leader-election Lease holders, every fault,
//! named numeric series, pods per node by phase, and the transcript of the steps.
//!
//! Everything is in true virtual time (nanoseconds since the run began), the engine's clock,
//! not a host's skewed one. Intervals are half-open `[from, to)` and cover the run from the
//! first observation to its end without gaps; series are step functions stored on change
//! (a value holds until the next point), which is what a sampled gauge means and keeps an
//! hour of 10 ms samples as small as the number of changes.

use serde::{Deserialize, Serialize};

/// Nanoseconds of true virtual time since the run began.
pub type Nanos = u64;

/// One run, ready to render.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    pub meta: RunMeta,
    /// One lane per host, in the cluster's node order (control planes first).
    pub hosts: Vec<HostLane>,
    /// Who led etcd, and in which term; a span with `leader: None` is a time without one.
    pub etcd: Vec<LeaderSpan>,
    /// Leader-election Leases (kube-controller-manager, kube-scheduler, ...), by Lease name.
    pub leases: Vec<LeaseLane>,
    /// Every fault applied, in order.
    pub faults: Vec<FaultMark>,
    /// Pods per node by phase.
    pub pods: Vec<NodePods>,
    /// Numeric series (Deployment ready replicas, Service request and error rates, ...).
    pub series: Vec<Series>,
    /// The steps in the order they ran.
    pub steps: Vec<StepRecord>,
}

/// The run's identity and outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunMeta {
    /// The scenario's file name (or "tour").
    pub scenario: String,
    pub description: String,
    pub seed: u64,
    /// `pass` or `fail`; empty while the run is still going.
    pub verdict: String,
    /// Why the verdict is fail, one line each.
    pub failures: Vec<String>,
    /// How much virtual time the run took.
    pub duration: Nanos,
    pub events: u64,
    pub trace_hash: u64,
}

/// What a host was doing, as one band colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HostBand {
    Up,
    /// Running, but on the side of a partition that reaches (both ways) no more than half of
    /// the nodes, itself included.
    Partitioned,
    /// Stalled (a GC-like pause).
    Paused,
    Crashed,
}

impl HostBand {
    pub fn as_str(self) -> &'static str {
        match self {
            HostBand::Up => "up",
            HostBand::Partitioned => "partitioned",
            HostBand::Paused => "paused",
            HostBand::Crashed => "crashed",
        }
    }
}

/// A `[from, to)` stretch in one state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interval<S> {
    pub from: Nanos,
    pub to: Nanos,
    pub state: S,
}

/// One host and its states over time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostLane {
    pub name: String,
    /// `control-plane` or `worker` (kind's role label), or another word for other hosts.
    pub role: String,
    /// Whether the host runs an etcd member.
    pub etcd: bool,
    pub intervals: Vec<Interval<HostBand>>,
    /// The Node object's Ready condition (`True`, `False`, `Unknown`) as the apiserver holds
    /// it; `None` before the node registered (or when nothing observed Node objects).
    pub ready: Vec<Interval<Option<String>>>,
}

/// A stretch of etcd leadership.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderSpan {
    pub from: Nanos,
    pub to: Nanos,
    /// The leader's node and its term.
    pub leader: Option<(String, u64)>,
}

/// Who held one leader-election Lease over time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseLane {
    /// The Lease, e.g. `kube-system/kube-scheduler`.
    pub name: String,
    /// `state` is the holder identity; `None` while nobody holds it.
    pub spans: Vec<Interval<Option<String>>>,
}

/// One applied fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultMark {
    pub at: Nanos,
    /// The fault as a person reads it, hosts by name: `Crash(kubesim-control-plane)`.
    pub label: String,
    /// The hosts it acts on, by name (empty for network-wide faults and `Heal`).
    pub hosts: Vec<String>,
}

/// A step function of time: each value holds until the next point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// The chart it is drawn in, e.g. `Deployment ready replicas`.
    pub chart: String,
    /// Its line, e.g. `nginx`.
    pub name: String,
    pub points: Vec<(Nanos, f64)>,
}

/// Pods on one node, per state: the phase (`Pending`, `Running`, `Succeeded`, `Failed`,
/// `Unknown`) refined as kubectl's STATUS column refines it (`Terminating`,
/// `Running (not ready)`; see `report::objects`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodePods {
    pub node: String,
    /// Phase name and its count as a step function.
    pub phases: Vec<(String, Vec<(Nanos, f64)>)>,
}

/// One step of the scenario as it ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// When it began.
    pub at: Nanos,
    /// When the next step began (or the run ended).
    pub end: Nanos,
    /// The header the runner prints: `$ etcdctl endpoint status -w table`, `# sleep 3s`.
    pub command: String,
    /// What it printed under its header.
    pub output: String,
}
