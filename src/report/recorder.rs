//! `Recorder`: builds a [`Timeline`] while a run goes on, from the runner's hooks (a step ran,
//! a fault was applied, a sample of the cluster's state) and from generic series that
//! components fill as they land.
//!
//! Host states come from two places, each the truth for what it knows: crashed/paused/up from
//! the engine (`Sim::host_state`, read by [`Recorder::sample`], and applied at once when the
//! fault is recorded; a pause also ends on its own at its end), partitioned from the faults as
//! applied — the pairs of nodes a `Partition` or `OneWay` cut (either direction) since the last
//! `Heal`, which is exactly what the engine's link table holds, without asking it about every
//! pair of hosts on every sample.
//!
//! "Partitioned" marks the side that lost the cluster: a running node that reaches (both ways)
//! no more than half of the nodes, itself included. `Partition([worker], [the rest])` so
//! shows the worker cut off, not the four nodes that lost only the worker; an even split
//! marks both halves, as neither holds a majority.
//!
//! Memory is bounded by changes, not by samples: a state, a leader or a series value is stored
//! only when it differs from the last one.

use std::collections::BTreeMap;

use cluster::{Cluster, NodeRole};
use sim::{Fault, HostId, HostState, Time};

use super::objects;
use super::timeline::{
    FaultMark, HostBand, HostLane, Interval, LeaderSpan, LeaseLane, Nanos, NodePods, RunMeta,
    Series, StepRecord, Timeline,
};

/// What the engine says about a host (the partition flag is kept apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineState {
    Up,
    Paused,
    Crashed,
}

impl From<HostState> for EngineState {
    fn from(s: HostState) -> Self {
        match s {
            HostState::Up => EngineState::Up,
            HostState::Paused { .. } => EngineState::Paused,
            HostState::Crashed => EngineState::Crashed,
        }
    }
}

/// A step function under construction: closed intervals plus the open one.
#[derive(Clone, Debug)]
struct Track<S> {
    closed: Vec<Interval<S>>,
    current: S,
    since: Nanos,
}

impl<S: Clone + PartialEq> Track<S> {
    fn new(state: S, since: Nanos) -> Self {
        Track {
            closed: Vec::new(),
            current: state,
            since,
        }
    }

    fn set(&mut self, at: Nanos, state: S) {
        if state == self.current {
            return;
        }
        // Time never runs backwards in a run; a late hook is taken as "now".
        let at = at.max(self.since);
        if at > self.since {
            self.closed.push(Interval {
                from: self.since,
                to: at,
                state: self.current.clone(),
            });
        }
        self.current = state;
        self.since = at;
    }

    fn finish(mut self, end: Nanos) -> Vec<Interval<S>> {
        let end = end.max(self.since);
        if end > self.since || self.closed.is_empty() {
            self.closed.push(Interval {
                from: self.since,
                to: end,
                state: self.current,
            });
        }
        self.closed
    }
}

struct HostTrack {
    name: String,
    role: String,
    etcd: bool,
    id: Option<HostId>,
    engine: EngineState,
    /// When a pause the recorder was told of ends, unless a sample or a crash says otherwise.
    pause_until: Option<Nanos>,
    cut: bool,
    track: Track<HostBand>,
    /// The Node object's Ready condition (`None` until the node registers).
    ready: Track<Option<String>>,
}

impl HostTrack {
    fn band(&self) -> HostBand {
        match (self.engine, self.cut) {
            (EngineState::Crashed, _) => HostBand::Crashed,
            (EngineState::Paused, _) => HostBand::Paused,
            (EngineState::Up, true) => HostBand::Partitioned,
            (EngineState::Up, false) => HostBand::Up,
        }
    }

    fn update(&mut self, at: Nanos) {
        let band = self.band();
        self.track.set(at, band);
    }
}

/// A step function stored on change.
fn push_point(points: &mut Vec<(Nanos, f64)>, at: Nanos, value: f64) {
    if let Some(&(last_at, last)) = points.last() {
        let same = last == value || (last.is_nan() && value.is_nan());
        if same {
            return;
        }
        if at <= last_at {
            // Two values at one instant: the later one is what held afterwards.
            if let Some(p) = points.last_mut() {
                p.1 = value;
            }
            return;
        }
    }
    points.push((at, value));
}

/// Builds a [`Timeline`] during a run. See the module doc of [`crate::report`] for the calls
/// the runner makes.
pub struct Recorder {
    meta: RunMeta,
    hosts: Vec<HostTrack>,
    by_name: BTreeMap<String, usize>,
    by_id: BTreeMap<HostId, usize>,
    etcd: Track<Option<(String, u64)>>,
    leases: BTreeMap<String, Track<Option<String>>>,
    faults: Vec<FaultMark>,
    pods: BTreeMap<String, BTreeMap<String, Vec<(Nanos, f64)>>>,
    series: Vec<Series>,
    series_index: BTreeMap<(String, String), usize>,
    steps: Vec<StepRecord>,
    last: Nanos,
    /// Pairs of lanes (lower index first) cut by a partition since the last `Heal`.
    cuts: std::collections::BTreeSet<(usize, usize)>,
    /// What the last [`Recorder::observe_objects`] counted, so what has gone since drops to 0.
    seen_pods: std::collections::BTreeSet<(String, String)>,
    seen_deployments: std::collections::BTreeSet<String>,
    seen_leases: std::collections::BTreeSet<String>,
    seen_nodes: std::collections::BTreeSet<String>,
    /// Pauses to end, by end time and lane (an entry whose lane's `pause_until` differs is
    /// stale: the pause was extended, or a crash or a sample ended it).
    pauses: std::collections::BTreeSet<(Nanos, usize)>,
}

/// The pods-per-node lane of pods not bound to a node yet.
pub const UNSCHEDULED: &str = "(unscheduled)";
/// The chart Deployment ready replicas are drawn in.
pub const DEPLOYMENT_CHART: &str = "Deployment ready replicas";
/// The chart Service request and error rates are drawn in; a Service's own chart (from
/// [`Recorder::service_per_second`]) is titled `Service requests/s: <namespace>/<name>`.
pub const SERVICE_CHART: &str = "Service requests/s";
/// The line of a Deployment's `spec.replicas`, next to its ready replicas: `<name> (desired)`.
pub const DESIRED_SUFFIX: &str = " (desired)";
/// The lines of a Service's chart: requests answered, then each way a request failed.
pub const TRAFFIC_LINES: [&str; 6] = [
    "answered",
    "timed out",
    "refused",
    "rejected (no endpoints)",
    "unresolved",
    "5xx",
];

impl Recorder {
    /// A recorder with no hosts yet (add them with [`Recorder::add_host`]).
    pub fn new(scenario: impl Into<String>, description: impl Into<String>, seed: u64) -> Self {
        Recorder {
            meta: RunMeta {
                scenario: scenario.into(),
                description: description.into(),
                seed,
                ..RunMeta::default()
            },
            hosts: Vec::new(),
            by_name: BTreeMap::new(),
            by_id: BTreeMap::new(),
            etcd: Track::new(None, 0),
            leases: BTreeMap::new(),
            faults: Vec::new(),
            pods: BTreeMap::new(),
            series: Vec::new(),
            series_index: BTreeMap::new(),
            steps: Vec::new(),
            last: 0,
            cuts: std::collections::BTreeSet::new(),
            pauses: std::collections::BTreeSet::new(),
            seen_pods: std::collections::BTreeSet::new(),
            seen_deployments: std::collections::BTreeSet::new(),
            seen_leases: std::collections::BTreeSet::new(),
            seen_nodes: std::collections::BTreeSet::new(),
        }
    }

    /// A recorder with a lane for each of the cluster's nodes, control planes first, each up
    /// from the start of the run. Call it right after building the cluster.
    pub fn for_cluster(
        scenario: impl Into<String>,
        description: impl Into<String>,
        seed: u64,
        cluster: &Cluster,
    ) -> Self {
        let mut recorder = Recorder::new(scenario, description, seed);
        for node in cluster.nodes() {
            let role = match node.role {
                NodeRole::ControlPlane => "control-plane",
                NodeRole::Worker => "worker",
            };
            recorder.add_host(&node.name, role, node.etcd.is_some());
            if let (Some(id), Some(&i)) =
                (cluster.host(&node.name), recorder.by_name.get(&node.name))
            {
                recorder.hosts[i].id = Some(id);
                recorder.by_id.insert(id, i);
            }
        }
        recorder
    }

    /// Adds a lane for a host, up from the start of the run; a second call for a name is a no-op.
    pub fn add_host(&mut self, name: &str, role: &str, etcd: bool) {
        if self.by_name.contains_key(name) {
            return;
        }
        self.by_name.insert(name.to_string(), self.hosts.len());
        self.hosts.push(HostTrack {
            name: name.to_string(),
            role: role.to_string(),
            etcd,
            id: None,
            engine: EngineState::Up,
            pause_until: None,
            cut: false,
            track: Track::new(HostBand::Up, 0),
            ready: Track::new(None, 0),
        });
    }

    /// `time` in nanoseconds; ends the pauses due by then first, at their own end.
    fn at(&mut self, time: Time) -> Nanos {
        let at = time.as_nanos();
        self.last = self.last.max(at);
        while let Some(&(until, i)) = self.pauses.first() {
            if until > at {
                break;
            }
            self.pauses.pop_first();
            let host = &mut self.hosts[i];
            if host.pause_until == Some(until) {
                host.pause_until = None;
                if host.engine == EngineState::Paused {
                    host.engine = EngineState::Up;
                    host.update(until);
                }
            }
        }
        at
    }

    /// A host's engine state from `time` on (unknown hosts get a lane).
    pub fn host_state(&mut self, time: Time, name: &str, state: EngineState) {
        let at = self.at(time);
        let i = self.lane(name);
        self.hosts[i].engine = state;
        self.hosts[i].pause_until = None;
        self.hosts[i].update(at);
    }

    /// Whether a host is on the cut-off side of a partition from `time` on, for callers that
    /// know it otherwise ([`Recorder::on_fault`] works it out from the faults).
    pub fn partitioned(&mut self, time: Time, name: &str, cut: bool) {
        let at = self.at(time);
        let i = self.lane(name);
        self.hosts[i].cut = cut;
        self.hosts[i].update(at);
    }

    fn lane(&mut self, name: &str) -> usize {
        if let Some(&i) = self.by_name.get(name) {
            return i;
        }
        self.add_host(name, "host", false);
        self.hosts.len() - 1
    }

    /// Who leads etcd from `time` on, with its term.
    pub fn etcd_leader(&mut self, time: Time, leader: Option<(String, u64)>) {
        let at = self.at(time);
        self.etcd.set(at, leader);
    }

    /// Who holds a leader-election Lease from `time` on (`None`: nobody, or it expired).
    pub fn lease(&mut self, time: Time, lease: &str, holder: Option<&str>) {
        let at = self.at(time);
        let holder = holder.map(str::to_string);
        self.leases
            .entry(lease.to_string())
            .or_insert_with(|| Track::new(None, 0))
            .set(at, holder);
    }

    /// A fault the runner applied at `time` (call it right after `Sim::apply_fault`).
    pub fn on_fault(&mut self, time: Time, fault: &Fault) {
        let at = self.at(time);
        let name = |h: HostId| {
            self.by_id
                .get(&h)
                .map_or_else(|| format!("host#{}", h.0), |&i| self.hosts[i].name.clone())
        };
        let label = fault.describe(name);
        let hosts: Vec<String> = fault.hosts().into_iter().map(name).collect();
        self.faults.push(FaultMark { at, label, hosts });
        let known = |r: &Self, h: &HostId| r.by_id.get(h).copied();
        match fault {
            Fault::Partition(a, b) | Fault::OneWay { from: a, to: b } => {
                let lanes = |hs: &[HostId]| -> Vec<usize> {
                    hs.iter().filter_map(|h| known(self, h)).collect()
                };
                let (a, b) = (lanes(a), lanes(b));
                for &x in &a {
                    for &y in &b {
                        if x != y {
                            self.cuts.insert((x.min(y), x.max(y)));
                        }
                    }
                }
                self.mark_minority(at);
            }
            Fault::Heal => {
                self.cuts.clear();
                self.mark_minority(at);
            }
            Fault::Crash(h) => {
                if let Some(i) = known(self, h) {
                    self.hosts[i].engine = EngineState::Crashed;
                    self.hosts[i].pause_until = None;
                    self.hosts[i].update(at);
                }
            }
            // The engine ignores a restart of a running host and a pause of a crashed one.
            Fault::Restart(h) => {
                if let Some(i) = known(self, h)
                    && self.hosts[i].engine == EngineState::Crashed
                {
                    self.hosts[i].engine = EngineState::Up;
                    self.hosts[i].update(at);
                }
            }
            // A second pause extends the first, as in the engine.
            Fault::Pause(h, d) => {
                if let Some(i) = known(self, h)
                    && self.hosts[i].engine != EngineState::Crashed
                {
                    let until = at.saturating_add(d.as_nanos());
                    let host = &mut self.hosts[i];
                    let until = host.pause_until.map_or(until, |u| u.max(until));
                    host.pause_until = Some(until);
                    self.pauses.insert((until, i));
                    self.hosts[i].engine = EngineState::Paused;
                    self.hosts[i].update(at);
                }
            }
            _ => {}
        }
    }

    /// Marks the nodes that reach no more than half of the nodes (themselves included).
    fn mark_minority(&mut self, at: Nanos) {
        let n = self.hosts.len();
        let mut cut_from = vec![0usize; n];
        for &(x, y) in &self.cuts {
            cut_from[x] += 1;
            cut_from[y] += 1;
        }
        for (host, cut) in self.hosts.iter_mut().zip(cut_from) {
            let reaches = n - cut;
            host.cut = cut > 0 && reaches * 2 <= n;
            host.update(at);
        }
    }

    /// A fault known only by its description (faults outside the engine's vocabulary).
    pub fn on_fault_label(&mut self, time: Time, label: &str, hosts: &[&str]) {
        let at = self.at(time);
        self.faults.push(FaultMark {
            at,
            label: label.to_string(),
            hosts: hosts.iter().map(|h| (*h).to_string()).collect(),
        });
    }

    /// A step that began at `time`, with the header the runner printed and its output.
    pub fn on_step(&mut self, time: Time, command: &str, output: &str) {
        let at = self.at(time);
        self.steps.push(StepRecord {
            at,
            end: at,
            command: command.to_string(),
            output: output.to_string(),
        });
    }

    /// Reads what the cluster exposes at `time` (now): each node's engine state and etcd's
    /// leader. Cheap (one lookup per node plus one per etcd member): call it as often as the
    /// runner polls, e.g. every 10 ms of a `Sleep` and after every step.
    pub fn sample(&mut self, time: Time, cluster: &Cluster) {
        let at = self.at(time);
        let sim = cluster.sim();
        for host in &mut self.hosts {
            if let Some(state) = host.id.and_then(|id| sim.host_state(id)) {
                host.engine = state.into();
                if host.engine != EngineState::Paused {
                    host.pause_until = None;
                }
                host.update(at);
            }
        }
        let leader = cluster.etcd_leader().map(|l| (l.host, l.term));
        self.etcd.set(at, leader);
    }

    /// A value of a generic series. `name` is `chart/line` (`Deployment ready replicas/nginx`);
    /// without a `/` the series is a chart of its own.
    pub fn series(&mut self, name: &str, time: Time, value: f64) {
        let (chart, line) = name.split_once('/').unwrap_or((name, name));
        self.series_in(chart, line, time, value);
    }

    /// A value of line `line` in chart `chart`.
    pub fn series_in(&mut self, chart: &str, line: &str, time: Time, value: f64) {
        let at = self.at(time);
        let key = (chart.to_string(), line.to_string());
        let i = match self.series_index.get(&key) {
            Some(&i) => i,
            None => {
                self.series.push(Series {
                    chart: key.0.clone(),
                    name: key.1.clone(),
                    points: Vec::new(),
                });
                self.series_index.insert(key, self.series.len() - 1);
                self.series.len() - 1
            }
        };
        push_point(&mut self.series[i].points, at, value);
    }

    /// How many pods on `node` are in `phase` from `time` on.
    pub fn pods(&mut self, time: Time, node: &str, phase: &str, count: u32) {
        let at = self.at(time);
        let points = self
            .pods
            .entry(node.to_string())
            .or_default()
            .entry(phase.to_string())
            .or_default();
        push_point(points, at, f64::from(count));
    }

    /// A Deployment's ready replicas from `time` on.
    pub fn deployment_ready(&mut self, time: Time, deployment: &str, ready: u32) {
        self.series_in(DEPLOYMENT_CHART, deployment, time, f64::from(ready));
    }

    /// A Service's request and error rates (per second) over the window ending at `time`.
    pub fn service_traffic(&mut self, time: Time, service: &str, requests: f64, errors: f64) {
        self.series_in(SERVICE_CHART, service, time, requests);
        self.series_in(SERVICE_CHART, &format!("{service} errors"), time, errors);
    }

    /// A Deployment's desired replicas (`spec.replicas`) from `time` on, drawn dashed next to
    /// its ready replicas.
    pub fn deployment_desired(&mut self, time: Time, deployment: &str, desired: u32) {
        let line = format!("{deployment}{DESIRED_SUFFIX}");
        self.series_in(DEPLOYMENT_CHART, &line, time, f64::from(desired));
    }

    /// A node's Ready condition (`True`, `False`, `Unknown`) from `time` on.
    pub fn node_ready(&mut self, time: Time, node: &str, ready: Option<&str>) {
        let at = self.at(time);
        let i = self.lane(node);
        self.hosts[i].ready.set(at, ready.map(str::to_string));
    }

    /// A Service's whole traffic history, from kube-proxy's per-second counters (requests by
    /// the second they started in, merged over every node): one chart for the Service with
    /// the requests answered per second and, for each way requests failed at least once, the
    /// failures per second. Seconds without requests count 0; the lines drop to 0 after the
    /// last second with requests.
    pub fn service_per_second(
        &mut self,
        service: &str,
        per_second: &BTreeMap<u64, proxy::TrafficCounts>,
    ) {
        let (Some((&first, _)), Some((&last, _))) =
            (per_second.first_key_value(), per_second.last_key_value())
        else {
            return;
        };
        let value = |c: &proxy::TrafficCounts, line: usize| match line {
            0 => c.ok,
            1 => c.timed_out,
            2 => c.refused,
            3 => c.rejected,
            4 => c.unresolved,
            _ => c.server_errors,
        };
        let chart = format!("{SERVICE_CHART}: {service}");
        let zero = proxy::TrafficCounts::default();
        for (line, name) in TRAFFIC_LINES.iter().enumerate() {
            if line > 0 && per_second.values().all(|c| value(c, line) == 0) {
                continue;
            }
            // Bounded by the counters' own bound (`proxy::MAX_SECONDS` buckets) plus the gaps
            // between them, at most the run's length in seconds.
            for second in first..=last.saturating_add(1) {
                let counts = per_second.get(&second).unwrap_or(&zero);
                let v = value(counts, line) as f64;
                self.series_in(&chart, name, Time::from_secs(second), v);
            }
        }
    }

    /// Reads the objects the cluster holds at `time` (every Pod, Deployment, Lease and Node,
    /// e.g. from `Cluster::stored_objects`): pods per node by state
    /// ([`super::objects::pod_state`]; a pod not bound yet counts on the lane
    /// `(unscheduled)`), each Deployment's ready and desired replicas, the holder of each
    /// leader-election Lease while it is valid (node heartbeat Leases in `kube-node-lease`
    /// are not leader election and are skipped) and each Node's Ready condition. Counts that
    /// were seen before and are gone now drop to 0, Leases that are gone are not held, and
    /// Nodes that are gone have no condition; other kinds are ignored.
    pub fn observe_objects<'o>(
        &mut self,
        time: Time,
        objects: impl IntoIterator<Item = &'o api::Object>,
    ) {
        let mut pods: BTreeMap<(String, String), u32> = BTreeMap::new();
        let mut deployments: BTreeMap<String, (u32, u32)> = BTreeMap::new();
        let mut leases: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut nodes: BTreeMap<String, Option<String>> = BTreeMap::new();
        let key = |m: &api::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
            format!(
                "{}/{}",
                m.namespace.as_deref().unwrap_or("default"),
                m.name.as_deref().unwrap_or("")
            )
        };
        for object in objects {
            match object {
                api::Object::Pod(pod) => {
                    let node = objects::pod_node(pod).unwrap_or(UNSCHEDULED).to_string();
                    *pods.entry((node, objects::pod_state(pod))).or_default() += 1;
                }
                api::Object::Deployment(d) => {
                    deployments.insert(key(&d.metadata), objects::deployment_replicas(d));
                }
                api::Object::Lease(l)
                    if l.metadata.namespace.as_deref() != Some("kube-node-lease") =>
                {
                    leases.insert(key(&l.metadata), objects::lease_holder(l, time));
                }
                api::Object::Node(n) => {
                    let name = n.metadata.name.clone().unwrap_or_default();
                    nodes.insert(name, Some(objects::node_ready(n).to_string()));
                }
                _ => {}
            }
        }
        for gone in self.seen_pods.clone() {
            pods.entry(gone).or_insert(0);
        }
        for gone in self.seen_deployments.clone() {
            deployments.entry(gone).or_insert((0, 0));
        }
        for gone in self.seen_leases.clone() {
            leases.entry(gone).or_insert(None);
        }
        for gone in self.seen_nodes.clone() {
            nodes.entry(gone).or_insert(None);
        }
        for ((node, state), n) in &pods {
            self.pods(time, node, state, *n);
        }
        for (name, (ready, desired)) in &deployments {
            self.deployment_ready(time, name, *ready);
            self.deployment_desired(time, name, *desired);
        }
        for (name, holder) in &leases {
            self.lease(time, name, holder.as_deref());
        }
        for (name, ready) in &nodes {
            self.node_ready(time, name, ready.as_deref());
        }
        self.seen_pods = pods.into_keys().collect();
        self.seen_deployments = deployments.into_keys().collect();
        self.seen_leases = leases.into_keys().collect();
        self.seen_nodes = nodes.into_keys().collect();
    }

    /// Closes every open interval at the run's end and hands the timeline over.
    pub fn finish(mut self, outcome: &crate::runner::RunOutcome) -> Timeline {
        let end = outcome.virtual_time.as_nanos().max(self.last);
        self.at(Time::from_nanos(end));
        let meta = RunMeta {
            verdict: outcome.verdict.as_str().to_string(),
            failures: outcome.failures.clone(),
            duration: end,
            events: outcome.events,
            trace_hash: outcome.trace_hash,
            ..self.meta.clone()
        };
        self.finish_with(meta, end)
    }

    /// [`Recorder::finish`] for a timeline not made by the runner (tests, synthetic runs).
    pub fn finish_at(mut self, end: Time, verdict: &str) -> Timeline {
        let end = end.as_nanos().max(self.last);
        self.at(Time::from_nanos(end));
        let meta = RunMeta {
            verdict: verdict.to_string(),
            duration: end,
            ..self.meta.clone()
        };
        self.finish_with(meta, end)
    }

    fn finish_with(self, meta: RunMeta, end: Nanos) -> Timeline {
        let mut steps = self.steps;
        let starts: Vec<Nanos> = steps.iter().skip(1).map(|s| s.at).chain([end]).collect();
        for (step, next) in steps.iter_mut().zip(starts) {
            step.end = next.max(step.at);
        }
        let etcd = self
            .etcd
            .finish(end)
            .into_iter()
            .map(|i| LeaderSpan {
                from: i.from,
                to: i.to,
                leader: i.state,
            })
            .collect();
        Timeline {
            meta,
            hosts: self
                .hosts
                .into_iter()
                .map(|h| HostLane {
                    name: h.name,
                    role: h.role,
                    etcd: h.etcd,
                    intervals: h.track.finish(end),
                    ready: h.ready.finish(end),
                })
                .collect(),
            etcd,
            leases: self
                .leases
                .into_iter()
                .map(|(name, track)| LeaseLane {
                    name,
                    spans: track.finish(end),
                })
                .collect(),
            faults: self.faults,
            pods: self
                .pods
                .into_iter()
                .map(|(node, phases)| NodePods {
                    node,
                    phases: phases.into_iter().collect(),
                })
                .collect(),
            series: self.series,
            steps,
        }
    }
}
