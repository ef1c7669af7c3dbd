//! `run_recorded`: runs a scenario through the real runner ([`runner::run_narrated`]) and
//! records its [`Timeline`] from what the runner's public hooks show: the [`Narrator`] calls
//! (the cluster at the start; a read-only look at the cluster at every 10 ms poll of a
//! `Sleep` and after every step, sampled once per [`OBJECT_SAMPLE_PERIOD`]; before/after
//! views of etcd, the resolved fault targets and the leader changes, for every executed
//! step), the nodes' traffic counters at the end, and the text the runner prints (split into
//! steps at their header lines). Looking changes nothing: the run, its output, its verdict and
//! its trace hash are exactly `kubesim run`'s.

use std::collections::BTreeMap;

use cluster::Cluster;
use proxy::TrafficSink;
use sim::{HostId, Time};

use super::recorder::Recorder;
use super::timeline::Timeline;
use crate::observe::EtcdView;
use crate::runner::{self, Narrator, RunError, RunOptions, RunOutcome, StepFacts, step_header};
use crate::scenario::{Fault, Loaded, Step};

/// A recorded run: the timeline, the runner's outcome, and everything it printed.
pub struct Recorded {
    pub timeline: Timeline,
    pub outcome: RunOutcome,
    pub transcript: String,
}

/// Runs `loaded` with the runner (with `seed` instead of the scenario's, if given), recording
/// its timeline; `narrator` (the tour's) narrates as it does under `kubesim run`.
pub fn run_recorded(
    loaded: &Loaded,
    seed: Option<u64>,
    narrator: Option<&mut dyn Narrator>,
) -> Result<Recorded, RunError> {
    let options = RunOptions {
        seed,
        ..RunOptions::default()
    };
    run_recorded_with(loaded, &options, narrator)
}

/// [`run_recorded`] with the CLI's options (`--seed`, `--trace`); the transcript is always
/// captured in full (`quiet` is the caller's to apply when printing it).
pub fn run_recorded_with(
    loaded: &Loaded,
    options: &RunOptions,
    narrator: Option<&mut dyn Narrator>,
) -> Result<Recorded, RunError> {
    let seed = options.seed;
    let name = loaded.path.file_name().map_or_else(
        || String::from("scenario"),
        |n| n.to_string_lossy().into_owned(),
    );
    let seed = seed.unwrap_or(loaded.scenario.seed);
    let mut observer = Observer {
        scenario: name,
        description: loaded.scenario.description.clone(),
        seed,
        steps: &loaded.scenario.steps,
        recorder: None,
        hosts: BTreeMap::new(),
        sinks: Vec::new(),
        next_sample: Time::ZERO,
        step_ended: false,
        ran: vec![None; loaded.scenario.steps.len()],
        landing: Vec::new(),
        inner: narrator,
    };
    let mut printed = Vec::new();
    let options = RunOptions {
        seed: Some(seed),
        trace: options.trace.clone(),
        quiet: false,
        liveness: options.liveness,
    };
    let outcome = runner::run_narrated(loaded, &options, &mut printed, Some(&mut observer))?;
    let transcript = String::from_utf8_lossy(&printed).into_owned();
    let mut recorder = observer.recorder.take().unwrap_or_else(|| {
        Recorder::new(
            observer.scenario.clone(),
            observer.description.clone(),
            seed,
        )
    });
    record_steps(&mut recorder, &transcript, observer.steps, &observer.ran);
    record_traffic(&mut recorder, &observer.sinks);
    Ok(Recorded {
        timeline: recorder.finish(&outcome),
        outcome,
        transcript,
    })
}

/// Sees the run through the runner's narrator hook.
struct Observer<'a, 'n> {
    scenario: String,
    description: String,
    seed: u64,
    steps: &'a [Step],
    recorder: Option<Recorder>,
    hosts: BTreeMap<String, HostId>,
    /// Every node's kube-proxy traffic counters (shared with the run, read at its end).
    sinks: Vec<TrafficSink>,
    /// When the objects are sampled next.
    next_sample: Time,
    /// A step just ended: the next look samples whatever the time (a step's effects, e.g. a
    /// `kubectl wait` that took seconds, are placed at its end, not up to a second later).
    step_ended: bool,
    /// When each executed step began and ended.
    ran: Vec<Option<(Time, Time)>>,
    /// Faults of `After` steps that have not landed yet, drawn when they do.
    landing: Vec<(Time, sim::Fault)>,
    inner: Option<&'n mut dyn Narrator>,
}

impl Narrator for Observer<'_, '_> {
    fn start(&mut self, cluster: &Cluster, view: &EtcdView) -> Vec<String> {
        let mut recorder = Recorder::for_cluster(
            self.scenario.clone(),
            self.description.clone(),
            self.seed,
            cluster,
        );
        recorder.sample(cluster.sim().now(), cluster);
        self.hosts = cluster
            .nodes()
            .iter()
            .filter_map(|n| cluster.host(&n.name).map(|h| (n.name.clone(), h)))
            .collect();
        self.sinks = cluster
            .node_agents()
            .iter()
            .map(|a| a.traffic.clone())
            .collect();
        self.recorder = Some(recorder);
        self.next_sample = Time::ZERO;
        self.sample_objects(cluster);
        self.inner
            .as_mut()
            .map(|n| n.start(cluster, view))
            .unwrap_or_default()
    }

    fn after_step(
        &mut self,
        cluster: &Cluster,
        step: &Step,
        before: &EtcdView,
        after: &EtcdView,
        facts: &StepFacts,
    ) -> Vec<String> {
        // The runner hands over the scenario's own step, so its address names its index.
        if let Some(i) = self.steps.iter().position(|s| std::ptr::eq(s, step)) {
            self.ran[i] = Some((before.at, after.at));
        }
        self.step_ended = true;
        if let (Step::After(_, fault), Some(at)) = (step, facts.lands_at) {
            let faults = engine_faults(fault, &facts.nodes, &self.hosts);
            self.landing.extend(faults.into_iter().map(|f| (at, f)));
        }
        self.land_due(after.at);
        if let Some(rec) = self.recorder.as_mut() {
            rec.etcd_leader(before.at, before.leader.clone());
            if let Step::Fault(fault) = step {
                for engine_fault in engine_faults(fault, &facts.nodes, &self.hosts) {
                    rec.on_fault(before.at, &engine_fault);
                }
            }
            for change in &facts.leader_changes {
                rec.etcd_leader(change.at, change.leader.clone());
            }
            rec.etcd_leader(after.at, after.leader.clone());
        }
        self.inner
            .as_mut()
            .map(|n| n.after_step(cluster, step, before, after, facts))
            .unwrap_or_default()
    }

    fn observe(&mut self, cluster: &Cluster) {
        if let Some(inner) = self.inner.as_mut() {
            inner.observe(cluster);
        }
        self.land_due(cluster.sim().now());
        self.sample_objects(cluster);
    }
}

impl Observer<'_, '_> {
    /// Draws the `After` faults that landed by `now`, at the time they landed. The runner
    /// looks every 10 ms of a `Sleep` and after every step, and nothing is drawn while a
    /// step runs, so none is drawn behind a later mark.
    fn land_due(&mut self, now: Time) {
        let Some(rec) = self.recorder.as_mut() else {
            return;
        };
        self.landing.sort_by_key(|(at, _)| *at);
        let due = self.landing.partition_point(|(at, _)| *at <= now);
        for (at, fault) in self.landing.drain(..due) {
            rec.on_fault(at, &fault);
        }
    }

    /// Samples the objects at the end of every step and at most once per
    /// [`OBJECT_SAMPLE_PERIOD`] of virtual time otherwise (the runner calls
    /// [`Narrator::observe`] every 10 ms of a `Sleep` and at the end of every step).
    fn sample_objects(&mut self, cluster: &Cluster) {
        let now = cluster.sim().now();
        let step_ended = std::mem::take(&mut self.step_ended);
        if now < self.next_sample && !step_ended {
            return;
        }
        self.next_sample = now.saturating_add(OBJECT_SAMPLE_PERIOD);
        if let Some(rec) = self.recorder.as_mut() {
            rec.sample(now, cluster);
            let objects: Vec<api::SharedObject> = SAMPLED_KINDS
                .iter()
                .flat_map(|kind| cluster.stored_objects(*kind))
                .collect();
            rec.observe_objects(now, objects.iter().map(|o| &**o));
        }
    }
}

/// How often the objects (pods, Deployments, Leases, Nodes) are read during a run: often
/// enough to place a change within a second on a timeline of minutes, rarely enough that a
/// 100-node hour costs 3,600 reads of each kind.
pub const OBJECT_SAMPLE_PERIOD: sim::Duration = sim::Duration::from_secs(1);

/// The kinds [`Recorder::observe_objects`] draws.
const SAMPLED_KINDS: [api::Kind; 4] = [
    api::Kind::Pod,
    api::Kind::Deployment,
    api::Kind::Lease,
    api::Kind::Node,
];

/// Every Service that saw traffic, from the nodes' kube-proxy counters.
fn record_traffic(rec: &mut Recorder, sinks: &[TrafficSink]) {
    for service in TrafficSink::merged_totals(sinks).into_keys() {
        let merged = TrafficSink::merged_service(sinks, &service);
        rec.service_per_second(&service, &merged.per_second);
    }
}

/// The engine faults the runner applied for `fault`, given the nodes it resolved the targets
/// to (in the order the fault names them); none when it could not resolve them.
fn engine_faults(
    fault: &Fault,
    nodes: &[String],
    hosts: &BTreeMap<String, HostId>,
) -> Vec<sim::Fault> {
    let Some(ids) = nodes
        .iter()
        .map(|n| hosts.get(n).copied())
        .collect::<Option<Vec<HostId>>>()
    else {
        return Vec::new();
    };
    let nanos = |d: &crate::units::Duration| sim::Duration::from_nanos(d.as_nanos());
    let one = |make: &dyn Fn(HostId) -> sim::Fault| match ids.as_slice() {
        [h] => vec![make(*h)],
        _ => Vec::new(),
    };
    let split = |first: usize| (ids.len() > first).then(|| ids.split_at(first));
    match fault {
        Fault::Partition(a, _) => split(a.len()).map_or_else(Vec::new, |(a, b)| {
            vec![sim::Fault::Partition(a.to_vec(), b.to_vec())]
        }),
        Fault::OneWay { from, .. } => split(from.len()).map_or_else(Vec::new, |(a, b)| {
            vec![sim::Fault::OneWay {
                from: a.to_vec(),
                to: b.to_vec(),
            }]
        }),
        Fault::Heal => vec![sim::Fault::Heal],
        Fault::RestartAll => ids.iter().map(|h| sim::Fault::Restart(*h)).collect(),
        Fault::Loss(p) => vec![sim::Fault::Loss { host: None, p: *p }],
        Fault::Latency(d) => vec![sim::Fault::Latency {
            host: None,
            d: nanos(d),
        }],
        Fault::LossAt(_, p) => one(&|h| sim::Fault::Loss {
            host: Some(h),
            p: *p,
        }),
        Fault::LatencyAt(_, d) => one(&|h| sim::Fault::Latency {
            host: Some(h),
            d: nanos(d),
        }),
        Fault::Crash(_) => one(&sim::Fault::Crash),
        Fault::Restart(_) => one(&sim::Fault::Restart),
        Fault::Pause(_, d) => one(&|h| sim::Fault::Pause(h, nanos(d))),
        Fault::Skew(_, d) => one(&|h| sim::Fault::Skew(h, d.as_nanos())),
        Fault::DiskLoss(_) => one(&sim::Fault::DiskLoss),
    }
}

/// Splits what the runner printed into the cluster's start block and one block per step (at
/// their `[HH:MM:SS] header` lines), and records each with its start time: the exact time
/// from the narrator for executed steps; a step the runner did not execute took no time, so
/// it began when the previous one ended.
fn record_steps(rec: &mut Recorder, printed: &str, steps: &[Step], ran: &[Option<(Time, Time)>]) {
    let headers: Vec<String> = steps.iter().map(step_header).collect();
    // (header text, output) per block; block 0 is `kind create cluster`.
    let mut blocks: Vec<(String, String)> = Vec::new();
    let mut next = 0;
    for line in printed.lines() {
        if line == "verdict: fail" || (line.starts_with("seed=") && line.contains(" verdict=")) {
            break;
        }
        let header = line
            .strip_prefix('[')
            .and_then(|rest| rest.split_once("] "))
            .map(|(_, h)| h);
        let starts_block = match header {
            Some(h) if blocks.is_empty() => Some(h),
            Some(h) if headers.get(next).is_some_and(|want| want == h) => {
                next += 1;
                Some(h)
            }
            _ => None,
        };
        match (starts_block, blocks.last_mut()) {
            (Some(h), _) => blocks.push((h.to_string(), String::new())),
            (None, Some((_, out))) => {
                out.push_str(line);
                out.push('\n');
            }
            (None, None) => {}
        }
    }
    let mut clock = Time::ZERO;
    for (k, (header, output)) in blocks.iter().enumerate() {
        let at = match k.checked_sub(1).and_then(|i| ran.get(i).copied().flatten()) {
            Some((start, end)) => {
                let at = start;
                clock = end;
                at
            }
            None => clock,
        };
        rec.on_step(at, header, output.trim_end_matches('\n'));
    }
}
