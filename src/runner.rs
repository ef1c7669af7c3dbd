//! Runs a validated scenario on a kind-like cluster (`cluster::Cluster`): builds it from the
//! scenario's topology and seed, waits for etcd to elect a leader (as `kind create cluster`
//! waits for its control plane; that virtual time counts), executes the steps in order on the
//! virtual clock, prints a header per step and ends with one summary line.
//!
//! What runs today: `Sleep` (followed by what etcd did meanwhile: leader changes and a status
//! line, read from the members' state by [`crate::observe`]), `Fault` (node names resolved to
//! hosts, `Leader("etcd")` resolved when the step runs), `Etcdctl` (etcdctl's own output),
//! `Kubectl` and `Apply` (run by [`kubectl`] against the kube-apiservers through the
//! terminal's kubectl client; a failing command prints kubectl's error and the run goes on,
//! except `kubectl wait`, whose timeout fails the run as its exit 1 does), `Expect(kubectl:…)`
//! and `Always(kubectl:…)` (checked after the step that sets it and after every later step).
//! The cluster installs the Raft safety invariant; a violation or a panic in a component stops
//! the run with a finding that names the seed (verdict fail, exit 1). Steps that need a
//! component the cluster does not run yet ([`needs`]: traffic, `Exec`, kubectl's logs, top,
//! rollout, drain, describe, `get --watch`) fail at that step with the same words
//! `kubesim check` prints, rather than being skipped.
//!
//! Seam for the next components: `Leader("kube-…")` resolves through
//! `Cluster::resolve_leader` once the controller-manager and scheduler run leader election
//! in the cluster.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use cluster::Cluster;
use sim::{HostId, HostState, Time};

use crate::observe::{EtcdView, LeaderChange};

mod components;
mod exec;
pub mod kubectl;
mod slo;
use crate::scenario::{Check, Fault, LeaderOf, Loaded, Step, Target};
use crate::units::Duration;

/// Events one run may handle before it is stopped: a bound on what a long `Sleep` over a large
/// topology can cost (about a minute of CPU).
pub const EVENT_BUDGET: u64 = 50_000_000;

#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Where to write the engine's JSON-lines trace.
    pub trace: Option<PathBuf>,
    /// Print only the summary line.
    pub quiet: bool,
    /// Judge liveness after the last step as `kubesim fuzz` does (`kubesim run --liveness`).
    pub liveness: Option<Liveness>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
        }
    }
}

/// What a run ended with; `summary_line` is the CLI's last line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    pub seed: u64,
    pub events: u64,
    pub virtual_time: Duration,
    pub verdict: Verdict,
    pub trace_hash: u64,
    /// Why the verdict is fail, one line per failed step or finding.
    pub failures: Vec<String>,
    /// The failures that are not the scenario's own checks: engine findings (Raft safety, the
    /// cluster's invariants, panics), the event budget, and liveness in [`run_fuzzed`]. What
    /// `kubesim fuzz` judges, since a scenario's mid-run expectations need not hold under
    /// injected faults.
    pub findings: Vec<String>,
}

/// Liveness after faults heal, for [`run_fuzzed`]: after the last step the cluster must
/// converge (`Cluster::converged`) and the scenario's closing expectations (the `Expect`
/// steps after its last `Sleep` or `Fault`) must hold within `settle`, polled every second.
#[derive(Clone, Copy, Debug)]
pub struct Liveness {
    pub settle: sim::Duration,
    /// A pod Pending for longer than this has not converged.
    pub pending_for: sim::Duration,
}

impl RunOutcome {
    pub fn summary_line(&self) -> String {
        format!(
            "seed={} events={} virtual={} verdict={} trace={:016x}",
            self.seed,
            self.events,
            self.virtual_time,
            self.verdict.as_str(),
            self.trace_hash
        )
    }
}

/// Why a run could not start (bad input: exit 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot create trace file {}: {source}", path.display())]
    Trace {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot build the cluster: {0}")]
    Build(#[from] cluster::ClusterError),
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

/// The component a step needs that is not built yet, or `None` when the runner executes it.
pub fn needs(step: &Step) -> Option<String> {
    match step {
        Step::Sleep(_) | Step::Apply(_) | Step::Etcdctl(_) | Step::Traffic { .. } => None,
        Step::Fault(fault) | Step::After(_, fault) => {
            fault_targets(fault).into_iter().find_map(leader_needs)
        }
        Step::Kubectl(line) => kubectl_needs(line),
        Step::Expect(check) | Step::Always(check) => match check {
            Check::Kubectl { command, .. } => kubectl_needs(command),
            Check::TrafficErrors { .. } | Check::Latency { .. } => None,
        },
        Step::Exec(target, _) => leader_needs(target).or(exec::NEEDS.map(str::to_string)),
    }
}

/// The component a kubectl command needs beyond the apiserver (its verbs that only read and
/// write objects run today); a line that does not parse needs nothing: it prints kubectl's
/// error when it runs.
pub fn kubectl_needs(line: &str) -> Option<String> {
    let cmd = crate::kubectl::parse(line).ok()?;
    kubectl::needs(&cmd.verb).map(str::to_string)
}

/// Every `Leader(...)` target resolves now (etcd from Raft state, kube-controller-manager and
/// kube-scheduler from the replica holding their Lease); kept as the seam for new targets.
fn leader_needs(target: &Target) -> Option<String> {
    match target {
        Target::Node(_)
        | Target::Leader(
            LeaderOf::Etcd | LeaderOf::KubeControllerManager | LeaderOf::KubeScheduler,
        ) => None,
    }
}

fn fault_targets(fault: &Fault) -> Vec<&Target> {
    match fault {
        Fault::Partition(a, b) => a.iter().chain(b).collect(),
        Fault::OneWay { from, to } => from.iter().chain(to).collect(),
        Fault::Heal | Fault::RestartAll | Fault::Loss(_) | Fault::Latency(_) => Vec::new(),
        Fault::LossAt(t, _)
        | Fault::LatencyAt(t, _)
        | Fault::Crash(t)
        | Fault::Restart(t)
        | Fault::Pause(t, _)
        | Fault::Skew(t, _)
        | Fault::DiskLoss(t) => vec![t],
    }
}

/// How a step is written in a header line: `$ kubectl …` for commands, `# …` otherwise.
pub fn step_header(step: &Step) -> String {
    match step {
        Step::Kubectl(line) => format!("$ kubectl {line}"),
        Step::Apply(_) => "$ kubectl apply -f - <<EOF (inline manifest)".to_string(),
        Step::Sleep(d) => format!("# sleep {d}"),
        Step::Fault(fault) => format!("# fault: {}", describe_fault(fault)),
        Step::After(d, fault) => format!("# fault in {d}: {}", describe_fault(fault)),
        Step::Expect(check) => format!("# expect {}", describe_check(check)),
        Step::Always(check) => format!("# always {}", describe_check(check)),
        Step::Traffic { service, rps } => {
            format!("# traffic: {rps} requests/s to service {service}")
        }
        Step::Exec(target, command) => format!("$ docker exec {target} {command}"),
        Step::Etcdctl(line) => format!("$ etcdctl {line}"),
    }
}

fn describe_check(check: &Check) -> String {
    match check {
        Check::Kubectl { command, matcher } => match matcher {
            crate::scenario::Matcher::Equals(text) => format!("`kubectl {command}` == {text:?}"),
            crate::scenario::Matcher::Contains(text) => {
                format!("`kubectl {command}` contains {text:?}")
            }
        },
        Check::TrafficErrors { service, at_most } => {
            format!("traffic errors to {service} <= {at_most}")
        }
        Check::Latency {
            of,
            percentile,
            at_most,
        } => format!("{} {percentile} <= {at_most}", of.field()),
    }
}

pub fn describe_fault(fault: &Fault) -> String {
    let group = |g: &[Target]| {
        format!(
            "[{}]",
            g.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    match fault {
        Fault::Partition(a, b) => format!("Partition({}, {})", group(a), group(b)),
        Fault::OneWay { from, to } => format!("OneWay(from: {}, to: {})", group(from), group(to)),
        Fault::Heal => "Heal".to_string(),
        Fault::RestartAll => "RestartAll".to_string(),
        Fault::Loss(p) => format!("Loss({p})"),
        Fault::Latency(d) => format!("Latency({d})"),
        Fault::LossAt(t, p) => format!("LossAt({t}, {p})"),
        Fault::LatencyAt(t, d) => format!("LatencyAt({t}, {d})"),
        Fault::Crash(t) => format!("Crash({t})"),
        Fault::Restart(t) => format!("Restart({t})"),
        Fault::Pause(t, d) => format!("Pause({t}, {d})"),
        Fault::Skew(t, d) => format!("Skew({t}, {d})"),
        Fault::DiskLoss(t) => format!("DiskLoss({t})"),
    }
}

/// `[HH:MM:SS]` of virtual time.
pub fn clock_stamp(now: Time) -> String {
    let secs = now.as_secs();
    format!(
        "[{:02}:{:02}:{:02}]",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// How long the runner waits for etcd's first leader before the first step: kind's
/// `create cluster` waits for the control plane in the same way (etcd elects within one or two
/// election timeouts of 1 s, FIDELITY F1).
pub const ETCD_READY_LIMIT: sim::Duration = sim::Duration::from_secs(30);
/// How often a `Sleep` looks at who leads etcd, to report leader changes with their time.
const LEADER_POLL: sim::Duration = sim::Duration::from_millis(10);

/// What happened while one step ran, for narration.
#[derive(Clone, Debug, Default)]
pub struct StepFacts {
    /// The nodes a fault acted on, after resolving `Leader(...)` targets.
    pub nodes: Vec<String>,
    /// Leadership changes seen while the clock ran.
    pub leader_changes: Vec<LeaderChange>,
    /// etcdctl's exit status and output, for an `Etcdctl` step.
    pub etcdctl: Option<(i32, String)>,
    /// The command's exit status and output, for `Kubectl`, `Apply` and `Exec` steps.
    pub output: Option<(i32, String)>,
    /// When an `After` step's fault lands (the engine applies it then).
    pub lands_at: Option<sim::Time>,
}

/// Explains a run in plain language, from what the runner observed (the built-in tour).
pub trait Narrator {
    /// After etcd's first election, before the first step.
    fn start(&mut self, cluster: &Cluster, view: &EtcdView) -> Vec<String>;
    /// After each executed step, with the cluster as the step left it (read-only).
    fn after_step(
        &mut self,
        cluster: &Cluster,
        step: &Step,
        before: &EtcdView,
        after: &EtcdView,
        facts: &StepFacts,
    ) -> Vec<String>;
    /// The cluster as it is now, read-only: at every 10 ms poll of a `Sleep`, and at the end
    /// of every executed step (after [`Narrator::after_step`]). Run reports sample it; the
    /// default ignores it.
    fn observe(&mut self, _cluster: &Cluster) {}
}

/// Builds the kind-like cluster for a scenario's topology and seed (nothing runs yet).
pub fn build(loaded: &Loaded, seed: u64) -> Result<Cluster, RunError> {
    let spec = &loaded.scenario.cluster;
    let mut topology = cluster::Topology::new(spec.control_planes, spec.workers)
        .with_seed(seed)
        .with_zones(spec.zones.clone())
        .with_components(components::component_options(&loaded.scenario));
    if let Some(members) = spec.etcd_members {
        topology = topology.with_etcd_members(members);
    }
    let mut cluster = Cluster::build(topology)?;
    // No pod bound twice, no node over-committed, no ReplicaSet over-creation: checked as
    // etcd applies each write (`cluster::invariants`).
    cluster.install_invariants();
    Ok(cluster)
}

struct Runner<'a> {
    cluster: Cluster,
    out: &'a mut dyn Write,
    quiet: bool,
    failures: Vec<String>,
    scenario_path: &'a Path,
    /// Who led etcd when the runner last looked.
    last_leader: Option<(String, u64)>,
    /// The last leader the runner saw, through any look that found none since.
    last_seen_leader: Option<(String, u64)>,
    narrator: Option<&'a mut dyn Narrator>,
    seed: u64,
    /// The manifests each step applies, read before the run.
    step_manifests: &'a [Vec<crate::manifest::Manifest>],
    /// `Always` checks in force: the step that set each (index, position) and the check.
    always: Vec<(usize, String, Check)>,
    /// See [`RunOutcome::findings`].
    findings: Vec<String>,
    /// The pod startup probe, when a step bounds pod startup latency.
    probe: Option<sim::ActorId>,
}

/// Runs a loaded scenario, writing what the steps print to `out`, the summary line last.
pub fn run(
    loaded: &Loaded,
    options: &RunOptions,
    out: &mut dyn Write,
) -> Result<RunOutcome, RunError> {
    run_narrated(loaded, options, out, None)
}

/// [`run`], with narration lines from `narrator` after the cluster starts and after each step.
pub fn run_narrated<'a>(
    loaded: &'a Loaded,
    options: &RunOptions,
    out: &'a mut dyn Write,
    narrator: Option<&'a mut dyn Narrator>,
) -> Result<RunOutcome, RunError> {
    run_inner(loaded, options, out, narrator, None)
}

/// [`run`] as `kubesim fuzz` judges it: then [`Liveness`] after the last step.
pub fn run_fuzzed(
    loaded: &Loaded,
    options: &RunOptions,
    out: &mut dyn Write,
    liveness: Liveness,
) -> Result<RunOutcome, RunError> {
    run_inner(loaded, options, out, None, Some(liveness))
}

fn run_inner<'a>(
    loaded: &'a Loaded,
    options: &RunOptions,
    out: &'a mut dyn Write,
    narrator: Option<&'a mut dyn Narrator>,
    liveness: Option<Liveness>,
) -> Result<RunOutcome, RunError> {
    let seed = options.seed.unwrap_or(loaded.scenario.seed);
    let liveness = liveness.or(options.liveness);
    let mut cluster = build(loaded, seed)?;
    if let Some(path) = &options.trace {
        let file = std::fs::File::create(path).map_err(|source| RunError::Trace {
            path: path.clone(),
            source,
        })?;
        cluster
            .sim_mut()
            .set_trace_writer(Box::new(std::io::BufWriter::new(file)));
    }
    let mut runner = Runner {
        cluster,
        out,
        quiet: options.quiet,
        failures: Vec::new(),
        scenario_path: &loaded.path,
        last_leader: None,
        last_seen_leader: None,
        narrator,
        seed,
        step_manifests: &loaded.step_manifests,
        always: Vec::new(),
        findings: Vec::new(),
        probe: None,
    };
    if runner.start(loaded)? {
        for (index, step) in loaded.scenario.steps.iter().enumerate() {
            let pos = loaded.step_positions.get(index).copied();
            // A panic outside the components' handlers (the engine turns those into findings)
            // is a kubesim bug; it ends the run as a failure naming the seed, not a crash.
            let result = catch_unwind(AssertUnwindSafe(|| runner.step(step, index, pos)));
            match result {
                Ok(Ok(true)) => {}
                Ok(Ok(false)) => break,
                Ok(Err(err)) => return Err(err),
                Err(panic) => {
                    let message = format!(
                        "kubesim panicked while running step {} (seed {seed}): {}",
                        index + 1,
                        panic_message(panic.as_ref())
                    );
                    runner.say(&format!("error: {message}"))?;
                    runner.failures.push(message.clone());
                    runner.findings.push(message);
                    break;
                }
            }
        }
        if let Some(liveness) = liveness
            && runner.cluster.sim().finding().is_none()
        {
            runner.settle(liveness, &closing_expectations(&loaded.scenario.steps))?;
        }
    }
    runner.finish(seed)
}

/// The `Expect` checks that describe the scenario's final state: those after its last step
/// that changes the cluster (a `Sleep` or `Fault` moves the clock; `Apply`, `Traffic` and a
/// mutating `kubectl`/`etcdctl` line change what is stored). An `Expect` followed by, say, a
/// `kubectl delete` of the object it reads checks an intermediate state, which liveness must not
/// demand. A fuzzed scenario ends with the fuzzer's own faults and settle `Sleep`, which are
/// skipped first.
fn closing_expectations(steps: &[Step]) -> Vec<Check> {
    let clock = |s: &Step| matches!(s, Step::Sleep(_) | Step::Fault(_) | Step::After(..));
    let end = steps.len() - steps.iter().rev().take_while(|s| clock(s)).count();
    let start = steps[..end]
        .iter()
        .rposition(changes_state)
        .map_or(0, |i| i + 1);
    steps[start..end]
        .iter()
        .filter_map(|s| match s {
            Step::Expect(check) => Some(check.clone()),
            _ => None,
        })
        .collect()
}

/// Whether a step may change the cluster's state (rather than only read it).
fn changes_state(step: &Step) -> bool {
    use crate::kubectl::command::{RolloutAction, Verb};
    match step {
        Step::Sleep(_)
        | Step::Fault(_)
        | Step::After(..)
        | Step::Apply(_)
        | Step::Traffic { .. } => true,
        Step::Expect(_) | Step::Always(_) | Step::Exec(..) => false,
        // A line kubectl cannot parse fails its step; counting it as a change is the safe side.
        Step::Kubectl(line) => !crate::kubectl::parse(line).is_ok_and(|command| {
            matches!(
                command.verb,
                Verb::Get { .. }
                    | Verb::Describe { .. }
                    | Verb::Wait { .. }
                    | Verb::Logs { .. }
                    | Verb::ClusterInfo
                    | Verb::Top { .. }
                    | Verb::Rollout {
                        action: RolloutAction::Status | RolloutAction::History,
                        ..
                    }
            )
        }),
        // etcdctl's verb comes first, as in its docs.
        Step::Etcdctl(line) => {
            let mut words = line.split_whitespace();
            !matches!(
                (words.next(), words.next()),
                (Some("get" | "endpoint" | "version"), _) | (Some("member"), Some("list"))
            )
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string())
}

impl<'a> Runner<'a> {
    fn say(&mut self, line: &str) -> Result<(), RunError> {
        if !self.quiet {
            writeln!(self.out, "{line}")?;
        }
        Ok(())
    }

    fn narrate(&mut self, lines: Vec<String>) -> Result<(), RunError> {
        for line in lines {
            self.say(&format!("  » {line}"))?;
        }
        Ok(())
    }

    /// Starts the cluster and waits for etcd's first leader; `false` if the run cannot go on.
    fn start(&mut self, loaded: &Loaded) -> Result<bool, RunError> {
        let spec = &loaded.scenario.cluster;
        let plural = |n: u32, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let header = format!(
            "{} # kind create cluster --name kubesim: {}, {}; etcd members: {}",
            clock_stamp(self.cluster.sim().now()),
            plural(spec.control_planes, "control-plane node"),
            plural(spec.workers, "worker"),
            spec.etcd_member_count()
        );
        self.say(&header)?;
        match self.cluster.run_until_etcd_ready(ETCD_READY_LIMIT) {
            Ok(Some(leader)) => {
                let change = LeaderChange {
                    at: self.cluster.sim().now(),
                    leader: Some((leader.host.clone(), leader.term)),
                    again: false,
                };
                self.say(&format!("  {}", change.describe()))?;
                self.last_leader = change.leader.clone();
                self.last_seen_leader = change.leader;
            }
            Ok(None) => {
                let message = format!(
                    "etcd elected no leader within {} of starting (seed {})",
                    ETCD_READY_LIMIT, self.seed
                );
                self.say(&format!("error: {message}"))?;
                self.failures.push(message);
                return Ok(true);
            }
            Err(finding) => {
                self.finding(&finding)?;
                return Ok(false);
            }
        }
        // Then the apiservers: their watch caches filled and the bootstrap objects written.
        match self.cluster.run_until_ready(ETCD_READY_LIMIT) {
            Ok(Some(_)) => {
                let at = self.cluster.sim().now();
                let nodes: Vec<String> = self
                    .cluster
                    .apiservers()
                    .iter()
                    .map(|a| a.node.clone())
                    .collect();
                self.say(&format!(
                    "  kube-apiserver: ready on {} at {}",
                    nodes.join(", "),
                    at
                ))?;
            }
            Ok(None) => {
                let message = format!(
                    "kube-apiserver was not ready within {} of starting (seed {})",
                    ETCD_READY_LIMIT, self.seed
                );
                self.say(&format!("error: {message}"))?;
                self.failures.push(message);
            }
            Err(finding) => {
                self.finding(&finding)?;
                return Ok(false);
            }
        }
        if slo::wants_pod_startup(&loaded.scenario.steps) {
            match slo::install_probe(&mut self.cluster) {
                Ok(actor) => self.probe = Some(actor),
                Err(err) => {
                    let message = format!("cannot start the pod startup probe: {err}");
                    self.say(&format!("error: {message}"))?;
                    self.failures.push(message);
                }
            }
        }
        if let Some(narrator) = self.narrator.as_mut() {
            let view = EtcdView::read(&self.cluster);
            let lines = narrator.start(&self.cluster, &view);
            self.narrate(lines)?;
        }
        Ok(true)
    }

    fn manifests_of(&self, index: usize) -> &'a [crate::manifest::Manifest] {
        let all: &'a [Vec<crate::manifest::Manifest>] = self.step_manifests;
        all.get(index).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Writes a command's output (with a final newline).
    fn print(&mut self, text: &str) -> Result<(), RunError> {
        if !self.quiet {
            self.out.write_all(text.as_bytes())?;
            if !text.is_empty() && !text.ends_with('\n') {
                writeln!(self.out)?;
            }
        }
        Ok(())
    }

    /// Starts (or, at 0 rps, stops) simulated clients of a Service: `rps` in total, split
    /// evenly over every node's kube-proxy, each sending through its own node's rules.
    fn traffic(&mut self, service: &str, rps: f64) -> Result<(), RunError> {
        let proxies: Vec<sim::ActorId> =
            self.cluster.node_agents().iter().map(|a| a.proxy).collect();
        let per_node = rps / proxies.len().max(1) as f64;
        for actor in proxies {
            let spec = proxy::TrafficSpec::new(service, per_node);
            // A node that is down gets no clients: there is no running kube-proxy to reach.
            if let Err(finding) = self
                .cluster
                .sim_mut()
                .invoke::<proxy::KubeProxy<cluster::ClusterMsg>, _>(actor, |p, ctx| {
                    p.start_traffic(ctx, spec)
                })
            {
                self.finding(&finding)?;
                break;
            }
        }
        Ok(())
    }

    /// Evaluates a check now; `Some(why)` when it does not hold. `always`: an `Always` in
    /// force, which a latency with nothing measured yet does not break.
    fn check(&mut self, check: &Check, always: bool) -> Result<Option<String>, RunError> {
        match check {
            Check::Kubectl { command, matcher } => {
                let output = kubectl::run(
                    &mut self.cluster,
                    command,
                    &kubectl::Manifests { manifests: &[] },
                );
                let got = output.text.trim();
                let holds = match matcher {
                    crate::scenario::Matcher::Equals(want) => got == want.trim(),
                    crate::scenario::Matcher::Contains(want) => got.contains(want.as_str()),
                };
                Ok((!holds).then(|| format!("`kubectl {command}` printed {got:?}")))
            }
            Check::TrafficErrors { service, at_most } => {
                let key = proxy::TrafficSpec::new(service, 0.0).key();
                let totals = proxy::TrafficSink::merged_totals(
                    self.cluster.node_agents().iter().map(|a| &a.traffic),
                );
                let counts = totals.get(&key).cloned().unwrap_or_default();
                let fraction = counts.error_fraction();
                Ok((fraction > *at_most).then(|| {
                    format!(
                        "traffic errors to {service}: {fraction:.3} of {} requests > {at_most}",
                        counts.finished()
                    )
                }))
            }
            Check::Latency {
                of,
                percentile,
                at_most,
            } => Ok(slo::read(&self.cluster, self.probe, *of, *percentile).judge(*at_most, always)),
        }
    }

    /// Evaluates every `Always` in force; one that fails is reported and dropped.
    fn check_always(&mut self) -> Result<(), RunError> {
        let checks = std::mem::take(&mut self.always);
        for (index, at, check) in checks {
            match self.check(&check, true)? {
                None => self.always.push((index, at, check)),
                Some(problem) => {
                    let message = format!(
                        "always (step {}{at}) broke at {}: {problem}",
                        index + 1,
                        clock_stamp(self.cluster.sim().now())
                    );
                    self.say(&format!("error: {message}"))?;
                    self.failures.push(message);
                }
            }
        }
        Ok(())
    }

    fn finding(&mut self, finding: &sim::Finding) -> Result<(), RunError> {
        let message = format!("the engine stopped the run: {finding}");
        self.say(&format!("error: {message}"))?;
        self.failures.push(message.clone());
        self.findings.push(message);
        Ok(())
    }

    /// Executes one step; `false` once the engine has stopped the run.
    fn step(
        &mut self,
        step: &Step,
        index: usize,
        pos: Option<crate::scenario::Pos>,
    ) -> Result<bool, RunError> {
        let header = format!(
            "{} {}",
            clock_stamp(self.cluster.sim().now()),
            step_header(step)
        );
        self.say(&header)?;
        let at = pos.map_or_else(String::new, |p| {
            format!(" ({}:{p})", self.scenario_path.display())
        });
        if let Some(component) = needs(step) {
            let message = format!(
                "step {}{at} not run: needs {component}, which kubesim does not simulate yet",
                index + 1
            );
            self.say(&format!("error: {message}"))?;
            self.failures.push(message);
            return Ok(true);
        }
        let before = self
            .narrator
            .is_some()
            .then(|| EtcdView::read(&self.cluster));
        let mut facts = StepFacts::default();
        match step {
            Step::Sleep(d) => self.sleep(*d, &mut facts)?,
            Step::Fault(fault) | Step::After(_, fault) => {
                let delay = match step {
                    Step::After(d, _) => Some(*d),
                    _ => None,
                };
                if let Some(problem) = self.fault(fault, delay, &mut facts)? {
                    let message = format!("step {}{at}: {problem}", index + 1);
                    self.say(&format!("error: {message}"))?;
                    self.failures.push(message);
                }
            }
            Step::Etcdctl(line) => {
                let output = crate::etcdctl::run_step(&mut self.cluster, line);
                if !self.quiet {
                    self.out.write_all(output.text.as_bytes())?;
                    if !output.text.is_empty() && !output.text.ends_with('\n') {
                        writeln!(self.out)?;
                    }
                }
                facts.etcdctl = Some((output.status, output.text));
            }
            Step::Kubectl(line) => {
                let manifests = kubectl::Manifests {
                    manifests: self.manifests_of(index),
                };
                let output = kubectl::run(&mut self.cluster, line, &manifests);
                self.print(&output.text)?;
                facts.output = Some((output.status, output.text.clone()));
                // A failed `kubectl wait` (exit 1) fails the run; other failed commands print
                // their error and the run goes on.
                if output.status != 0 && kubectl::is_wait(line) {
                    let message = format!(
                        "step {}{at}: `kubectl {line}` exited {}",
                        index + 1,
                        output.status
                    );
                    self.failures.push(message);
                }
            }
            Step::Apply(_) => {
                let manifests = kubectl::Manifests {
                    manifests: self.manifests_of(index),
                };
                let output = kubectl::apply_inline(&mut self.cluster, &manifests);
                self.print(&output.text)?;
                facts.output = Some((output.status, output.text));
            }
            Step::Expect(check) => {
                let problem = match check {
                    // Printed as well as judged: what the cluster measured is the point.
                    Check::Latency {
                        of,
                        percentile,
                        at_most,
                    } => {
                        let reading = slo::read(&self.cluster, self.probe, *of, *percentile);
                        self.say(&format!("  {}", reading.line))?;
                        reading.judge(*at_most, false)
                    }
                    _ => self.check(check, false)?,
                };
                if let Some(problem) = problem {
                    let message = format!("step {}{at}: {problem}", index + 1);
                    self.say(&format!("error: {message}"))?;
                    self.failures.push(message);
                }
            }
            Step::Always(check) => {
                self.always.push((index, at.clone(), check.clone()));
            }
            Step::Traffic { service, rps } => self.traffic(service, *rps)?,
            Step::Exec(target, command) => {
                let output = exec::run(&mut self.cluster, target, command);
                self.print(&output.text)?;
                facts.output = Some((output.status, output.text));
            }
        }
        self.check_always()?;
        if let Some(finding) = self.cluster.sim().finding().cloned() {
            self.finding(&finding)?;
            return Ok(false);
        }
        // A change the step itself made (a crash of the leader's node, say) is not narrated
        // as one seen while the clock ran.
        let _ = self.look_at_leader();
        if let Some(before) = before {
            let after = EtcdView::read(&self.cluster);
            let lines = self
                .narrator
                .as_mut()
                .map(|n| n.after_step(&self.cluster, step, &before, &after, &facts))
                .unwrap_or_default();
            self.narrate(lines)?;
        }
        if let Some(narrator) = self.narrator.as_mut() {
            narrator.observe(&self.cluster);
        }
        Ok(true)
    }

    /// Liveness after the last step: polls convergence and the closing expectations every
    /// second for at most `liveness.settle`; a cluster that has not converged by then is a
    /// finding.
    fn settle(&mut self, liveness: Liveness, closing: &[Check]) -> Result<(), RunError> {
        let poll = sim::Duration::from_secs(1);
        let deadline = self.cluster.sim().now().saturating_add(liveness.settle);
        // Bounded: each turn advances the clock by up to `poll` until the deadline.
        loop {
            let mut why = self.cluster.converged(liveness.pending_for).err();
            for check in closing {
                if why.is_some() {
                    break;
                }
                why = self.check(check, false)?;
            }
            if let Some(finding) = self.cluster.sim().finding().cloned() {
                return self.finding(&finding);
            }
            let Some(why) = why else { return Ok(()) };
            let now = self.cluster.sim().now();
            if now >= deadline {
                let message = format!(
                    "liveness: the cluster did not converge within {} after the last step (seed {}): {why}",
                    liveness.settle, self.seed
                );
                self.say(&format!("error: {message}"))?;
                self.failures.push(message.clone());
                self.findings.push(message);
                return Ok(());
            }
            if let Err(finding) = self
                .cluster
                .sim_mut()
                .run_until(now.saturating_add(poll).min(deadline))
            {
                return self.finding(&finding);
            }
        }
    }

    /// Advances virtual time by `d`, event by event within the run's event budget, noting
    /// every change of etcd leader; then prints those changes and etcd's status.
    fn sleep(&mut self, d: Duration, facts: &mut StepFacts) -> Result<(), RunError> {
        let deadline = self
            .cluster
            .sim()
            .now()
            .saturating_add(sim::Duration::from_nanos(d.as_nanos()));
        // Leader changes are only printed or narrated: a quiet run without a narrator (a fuzz
        // run) runs the whole sleep as one slice. The events are the same either way; only the
        // clock's stops between them differ, which no actor sees.
        let poll = if self.quiet && self.narrator.is_none() {
            sim::Duration::MAX
        } else {
            LEADER_POLL
        };
        'run: loop {
            let now = self.cluster.sim().now();
            let slice_end = now.saturating_add(poll).min(deadline);
            let sim = self.cluster.sim_mut();
            while sim.next_event_time().is_some_and(|t| t <= slice_end) {
                if sim.events_processed() >= EVENT_BUDGET {
                    let message = format!(
                        "the run reached its budget of {EVENT_BUDGET} events at {}; shorten the Sleep steps or the topology",
                        clock_stamp(sim.now())
                    );
                    self.say(&format!("error: {message}"))?;
                    self.failures.push(message.clone());
                    self.findings.push(message);
                    break 'run;
                }
                if sim.step().is_err() {
                    // The finding is reported by the caller.
                    return Ok(());
                }
            }
            // Every event due by the slice's end ran: this only moves the clock.
            let _ = sim.run_until(slice_end);
            if let Some(narrator) = self.narrator.as_mut() {
                narrator.observe(&self.cluster);
            }
            if let Some(change) = self.look_at_leader() {
                facts.leader_changes.push(change);
            }
            if slice_end >= deadline {
                break;
            }
        }
        if self.quiet {
            return Ok(());
        }
        for change in facts.leader_changes.clone() {
            self.say(&format!("  {}", change.describe()))?;
        }
        let summary = EtcdView::read(&self.cluster).summary();
        self.say(&format!("  {summary}"))
    }

    /// Who leads etcd now, as a change from the last look (`None`: no change).
    fn look_at_leader(&mut self) -> Option<LeaderChange> {
        let leader = self.cluster.etcd_leader().map(|l| (l.host, l.term));
        if leader == self.last_leader {
            return None;
        }
        let again = leader.is_some() && leader == self.last_seen_leader;
        self.last_leader = leader.clone();
        if leader.is_some() {
            self.last_seen_leader = leader.clone();
        }
        Some(LeaderChange {
            at: self.cluster.sim().now(),
            leader,
            again,
        })
    }

    /// A node's host and name; `Leader("etcd")` is whoever leads now.
    fn host(&self, target: &Target) -> Result<(HostId, String), String> {
        match target {
            Target::Node(name) => self
                .cluster
                .host(name)
                .map(|h| (h, name.clone()))
                .ok_or_else(|| format!("no node named {name:?} in this cluster")),
            Target::Leader(of) => {
                let host = self
                    .cluster
                    .resolve_leader(of.as_str())
                    .map_err(|err| format!("{target} did not resolve: {err}"))?;
                let name = self
                    .cluster
                    .sim()
                    .host_name(host)
                    .unwrap_or_default()
                    .to_string();
                Ok((host, name))
            }
        }
    }

    /// Resolves a fault and applies it now, or `delay` later on the virtual clock (`After`);
    /// `Ok(Some(problem))` says why it could not be.
    fn fault(
        &mut self,
        fault: &Fault,
        delay: Option<Duration>,
        facts: &mut StepFacts,
    ) -> Result<Option<String>, RunError> {
        let (engine_faults, nodes) = match self.resolve(fault) {
            Ok(resolved) => resolved,
            Err(problem) => return Ok(Some(problem)),
        };
        for target in fault_targets(fault) {
            if let Target::Leader(_) = target
                && let Ok((_, name)) = self.host(target)
            {
                self.say(&format!("  {target} is {name}"))?;
            }
        }
        if matches!(fault, Fault::RestartAll) {
            if nodes.is_empty() {
                self.say("  no node is down")?;
            } else {
                self.say(&format!("  restarting {}", nodes.join(", ")))?;
            }
        }
        facts.nodes = nodes;
        let sim = self.cluster.sim_mut();
        let at = delay.map(|d| {
            sim.now()
                .saturating_add(sim::Duration::from_nanos(d.as_nanos()))
        });
        for engine_fault in engine_faults {
            let applied = match at {
                Some(at) => sim.schedule_fault(at, engine_fault),
                None => sim.apply_fault(engine_fault),
            };
            if let Err(err) = applied {
                return Ok(Some(format!("the engine refused the fault: {err}")));
            }
        }
        facts.lands_at = at;
        if let Some(at) = at {
            self.say(&format!("  lands at {}", clock_stamp(at)))?;
        }
        Ok(None)
    }

    /// The engine's faults for a scenario fault, and the nodes they act on.
    fn resolve(&self, fault: &Fault) -> Result<(Vec<sim::Fault>, Vec<String>), String> {
        let names = std::cell::RefCell::new(Vec::new());
        let host = |t: &Target| {
            self.host(t).map(|(h, name)| {
                names.borrow_mut().push(name);
                h
            })
        };
        let hosts = |targets: &[Target]| targets.iter().map(host).collect::<Result<Vec<_>, _>>();
        let nanos = |d: &Duration| sim::Duration::from_nanos(d.as_nanos());
        let engine_fault = match fault {
            Fault::Partition(a, b) => sim::Fault::Partition(hosts(a)?, hosts(b)?),
            Fault::OneWay { from, to } => sim::Fault::OneWay {
                from: hosts(from)?,
                to: hosts(to)?,
            },
            Fault::Heal => sim::Fault::Heal,
            Fault::RestartAll => {
                let mut restarts = Vec::new();
                for node in self.cluster.nodes() {
                    if let Some(h) = self.cluster.host(&node.name)
                        && self.cluster.sim().host_state(h) == Some(HostState::Crashed)
                    {
                        names.borrow_mut().push(node.name.clone());
                        restarts.push(sim::Fault::Restart(h));
                    }
                }
                return Ok((restarts, names.into_inner()));
            }
            Fault::Loss(p) => sim::Fault::Loss { host: None, p: *p },
            Fault::Latency(d) => sim::Fault::Latency {
                host: None,
                d: nanos(d),
            },
            Fault::LossAt(t, p) => sim::Fault::Loss {
                host: Some(host(t)?),
                p: *p,
            },
            Fault::LatencyAt(t, d) => sim::Fault::Latency {
                host: Some(host(t)?),
                d: nanos(d),
            },
            Fault::Crash(t) => sim::Fault::Crash(host(t)?),
            Fault::Restart(t) => sim::Fault::Restart(host(t)?),
            Fault::Pause(t, d) => sim::Fault::Pause(host(t)?, nanos(d)),
            Fault::Skew(t, d) => sim::Fault::Skew(host(t)?, d.as_nanos()),
            Fault::DiskLoss(t) => sim::Fault::DiskLoss(host(t)?),
        };
        Ok((vec![engine_fault], names.into_inner()))
    }

    fn finish(mut self, seed: u64) -> Result<RunOutcome, RunError> {
        if let Err(err) = self.cluster.sim_mut().finish_trace() {
            self.failures
                .push(format!("writing the trace failed: {err}"));
        }
        let sim = self.cluster.sim();
        let outcome = RunOutcome {
            seed,
            events: sim.events_processed(),
            virtual_time: Duration::from_nanos(sim.now().as_nanos()),
            verdict: if self.failures.is_empty() {
                Verdict::Pass
            } else {
                Verdict::Fail
            },
            trace_hash: sim.trace_hash(),
            failures: self.failures,
            findings: self.findings,
        };
        if !self.quiet && !outcome.failures.is_empty() {
            writeln!(self.out, "verdict: fail")?;
            for failure in &outcome.failures {
                writeln!(self.out, "  - {failure}")?;
            }
        }
        writeln!(self.out, "{}", outcome.summary_line())?;
        Ok(outcome)
    }
}

#[cfg(test)]
mod closing_tests {
    use super::*;

    fn expect(on: &str) -> Step {
        Step::Expect(Check::Kubectl {
            command: on.to_string(),
            matcher: crate::scenario::Matcher::Contains(String::new()),
        })
    }

    #[test]
    fn an_expect_overtaken_by_a_mutation_is_not_closing() {
        let steps = [
            Step::Kubectl("apply -f d.yaml".into()),
            expect("get deployment d"),
            Step::Kubectl("delete deployment d".into()),
            Step::Kubectl("get deployment d".into()),
        ];
        assert!(closing_expectations(&steps).is_empty());
    }

    #[test]
    fn reads_between_expects_keep_them_closing() {
        let steps = [
            Step::Sleep(Duration::from_secs(1)),
            expect("get pods"),
            Step::Kubectl("get pods -o wide".into()),
            Step::Kubectl("rollout status deployment/d".into()),
            expect("get nodes"),
            Step::Sleep(Duration::from_secs(60)),
        ];
        assert_eq!(closing_expectations(&steps).len(), 2);
    }
}
