//! Runs a validated scenario on the engine: builds kind's hosts, executes the steps in order on
//! the virtual clock, prints a header per step and ends with one summary line.
//!
//! What runs today: the topology's hosts with a node-agent heartbeat each ([`crate::heartbeat`]),
//! `Sleep` and `Fault` steps (faults resolved from node names to hosts). Every other step needs
//! a Kubernetes component that does not exist yet; [`needs`] says which, `kubesim check` prints
//! it, and a run fails at that step with the same words rather than skipping it.
//!
//! Seam for components: when `components/cluster` can assemble a cluster from a
//! [`Topology`], [`build`] should add its actors instead of (or beside) the heartbeats, and
//! [`Runner::step`] should hand `Kubectl`/`Apply`/`Expect`/… to the kubectl front end; the step
//! then disappears from [`needs`].

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use sim::{HostId, HostState, Sim, SimConfig, Time};

use crate::heartbeat::{
    AGENT_ACTOR, HeartbeatMonitor, MONITOR_ACTOR, NodeAgent, NodeMessage, SILENT_AFTER,
};
use crate::scenario::{Check, Fault, Loaded, Step, Target, Topology};
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
    #[error("cannot build the simulation: {0}")]
    Build(#[from] sim::SimError),
    #[error("the topology has no node to run the heartbeat monitor on")]
    NoNodes,
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

/// The component a step needs that is not built yet, or `None` when the runner executes it.
pub fn needs(step: &Step) -> Option<String> {
    let what = match step {
        Step::Sleep(_) => return None,
        Step::Fault(fault) => return fault_targets(fault).into_iter().find_map(leader_needs),
        Step::Kubectl(_) | Step::Apply(_) => "kube-apiserver",
        Step::Expect(check) | Step::Always(check) => match check {
            Check::Kubectl { .. } => "kube-apiserver",
            Check::TrafficErrors { .. } => "kube-proxy",
        },
        Step::Traffic { .. } => "kube-proxy",
        Step::Exec(target, _) => {
            return Some(
                leader_needs(target).unwrap_or_else(|| "kubelet, container runtime".to_string()),
            );
        }
        Step::Etcdctl(_) => "etcd",
    };
    Some(what.to_string())
}

fn leader_needs(target: &Target) -> Option<String> {
    match target {
        Target::Node(_) => None,
        Target::Leader(of) => Some(format!("{} (to resolve its leader)", of.as_str())),
    }
}

fn fault_targets(fault: &Fault) -> Vec<&Target> {
    match fault {
        Fault::Partition(a, b) => a.iter().chain(b).collect(),
        Fault::OneWay { from, to } => from.iter().chain(to).collect(),
        Fault::Heal | Fault::Loss(_) | Fault::Latency(_) => Vec::new(),
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

/// The simulated cluster as the runner builds it today.
pub struct Cluster {
    pub sim: Sim<NodeMessage>,
    /// Hosts in topology order, with their node names.
    pub hosts: Vec<(String, HostId)>,
    pub monitor: sim::ActorId,
}

/// Builds kind's hosts with a node-agent on each and the monitor on the first control plane.
pub fn build(topology: &Topology, seed: u64) -> Result<Cluster, RunError> {
    let mut sim = Sim::new(SimConfig::with_seed(seed));
    let mut hosts = Vec::with_capacity(topology.nodes.len());
    for node in &topology.nodes {
        hosts.push((node.name.clone(), sim.add_host(&node.name)?));
    }
    let Some(&(_, first)) = hosts.first() else {
        return Err(RunError::NoNodes);
    };
    let monitor = sim.add_actor(first, MONITOR_ACTOR, |_| HeartbeatMonitor::default())?;
    for (_, host) in &hosts {
        sim.add_actor(*host, AGENT_ACTOR, move |_| NodeAgent::new(monitor))?;
    }
    Ok(Cluster {
        sim,
        hosts,
        monitor,
    })
}

struct Runner<'a> {
    cluster: Cluster,
    out: &'a mut dyn Write,
    quiet: bool,
    failures: Vec<String>,
    scenario_path: &'a Path,
}

/// Runs a loaded scenario, writing what the steps print to `out`, the summary line last.
pub fn run(
    loaded: &Loaded,
    options: &RunOptions,
    out: &mut dyn Write,
) -> Result<RunOutcome, RunError> {
    let seed = options.seed.unwrap_or(loaded.scenario.seed);
    let mut cluster = build(&loaded.topology, seed)?;
    if let Some(path) = &options.trace {
        let file = std::fs::File::create(path).map_err(|source| RunError::Trace {
            path: path.clone(),
            source,
        })?;
        cluster
            .sim
            .set_trace_writer(Box::new(std::io::BufWriter::new(file)));
    }
    let mut runner = Runner {
        cluster,
        out,
        quiet: options.quiet,
        failures: Vec::new(),
        scenario_path: &loaded.path,
    };
    runner.start()?;
    for (index, step) in loaded.scenario.steps.iter().enumerate() {
        let pos = loaded.step_positions.get(index).copied();
        if !runner.step(step, index, pos)? {
            break;
        }
    }
    runner.finish(seed)
}

impl Runner<'_> {
    fn say(&mut self, line: &str) -> Result<(), RunError> {
        if !self.quiet {
            writeln!(self.out, "{line}")?;
        }
        Ok(())
    }

    /// Starts every actor (their `on_start` events at time zero).
    fn start(&mut self) -> Result<(), RunError> {
        if let Err(finding) = self.cluster.sim.run_for(sim::Duration::ZERO) {
            self.failures
                .push(format!("the engine stopped the run: {finding}"));
        }
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
            clock_stamp(self.cluster.sim.now()),
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
        match step {
            Step::Sleep(d) => self.sleep(*d)?,
            Step::Fault(fault) => {
                if let Some(engine_fault) = self.resolve(fault)
                    && let Err(err) = self.cluster.sim.apply_fault(engine_fault)
                {
                    let message = format!(
                        "step {}{at}: the engine refused the fault: {err}",
                        index + 1
                    );
                    self.say(&format!("error: {message}"))?;
                    self.failures.push(message);
                }
            }
            // `needs` returned Some for every other step.
            _ => {}
        }
        if let Some(finding) = self.cluster.sim.finding() {
            let message = format!("the engine stopped the run: {finding}");
            self.say(&format!("error: {message}"))?;
            self.failures.push(message);
            return Ok(false);
        }
        Ok(true)
    }

    /// Advances virtual time by `d`, event by event, within the run's event budget.
    fn sleep(&mut self, d: Duration) -> Result<(), RunError> {
        let sim = &mut self.cluster.sim;
        let deadline = sim
            .now()
            .saturating_add(sim::Duration::from_nanos(d.as_nanos()));
        while sim.next_event_time().is_some_and(|t| t <= deadline) {
            if sim.events_processed() >= EVENT_BUDGET {
                let message = format!(
                    "the run reached its budget of {EVENT_BUDGET} events at {}; shorten the Sleep steps or the topology",
                    clock_stamp(sim.now())
                );
                self.say(&format!("error: {message}"))?;
                self.failures.push(message);
                return Ok(());
            }
            if sim.step().is_err() {
                return Ok(());
            }
        }
        // Every event due by the deadline ran: this only moves the clock.
        let _ = sim.run_until(deadline);
        let report = self.heartbeat_report();
        self.say(&report)?;
        Ok(())
    }

    /// What the heartbeat monitor has heard: one line, the silent nodes named.
    fn heartbeat_report(&self) -> String {
        let sim = &self.cluster.sim;
        let now = sim.now();
        let monitor: Option<&HeartbeatMonitor> = sim.actor(self.cluster.monitor);
        let Some(monitor) = monitor else {
            return "  node-agent heartbeats: the monitor's host (kubesim-control-plane) is down"
                .to_string();
        };
        let mut silent = Vec::new();
        for (name, host) in &self.cluster.hosts {
            let heard = monitor.last_heard(*host);
            let quiet_for = heard.map(|t| now.saturating_since(t));
            if quiet_for.is_none_or(|q| q >= SILENT_AFTER) {
                let mut entry = name.clone();
                match quiet_for {
                    Some(q) => {
                        let _ = write!(entry, " (silent {})", Duration::from_secs(q.as_secs()));
                    }
                    None => entry.push_str(" (never heard)"),
                }
                if sim.host_state(*host).is_some_and(|s| s != HostState::Up) {
                    entry.push_str(", host down");
                }
                silent.push(entry);
            }
        }
        let total = self.cluster.hosts.len();
        if silent.is_empty() {
            format!(
                "  node-agent heartbeats: all {total} nodes heard within {}",
                Duration::from_nanos(SILENT_AFTER.as_nanos())
            )
        } else {
            format!(
                "  node-agent heartbeats: {} of {total} nodes heard; silent: {}",
                total - silent.len(),
                silent.join(", ")
            )
        }
    }

    fn host(&self, target: &Target) -> Option<HostId> {
        match target {
            Target::Node(name) => self
                .cluster
                .hosts
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, h)| *h),
            Target::Leader(_) => None,
        }
    }

    /// The engine's fault for a scenario fault; `None` if a target cannot be resolved (only
    /// leaders, which `needs` already reported).
    fn resolve(&self, fault: &Fault) -> Option<sim::Fault> {
        let hosts = |targets: &[Target]| {
            targets
                .iter()
                .map(|t| self.host(t))
                .collect::<Option<Vec<_>>>()
        };
        let nanos = |d: &Duration| sim::Duration::from_nanos(d.as_nanos());
        Some(match fault {
            Fault::Partition(a, b) => sim::Fault::Partition(hosts(a)?, hosts(b)?),
            Fault::OneWay { from, to } => sim::Fault::OneWay {
                from: hosts(from)?,
                to: hosts(to)?,
            },
            Fault::Heal => sim::Fault::Heal,
            Fault::Loss(p) => sim::Fault::Loss { host: None, p: *p },
            Fault::Latency(d) => sim::Fault::Latency {
                host: None,
                d: nanos(d),
            },
            Fault::LossAt(t, p) => sim::Fault::Loss {
                host: Some(self.host(t)?),
                p: *p,
            },
            Fault::LatencyAt(t, d) => sim::Fault::Latency {
                host: Some(self.host(t)?),
                d: nanos(d),
            },
            Fault::Crash(t) => sim::Fault::Crash(self.host(t)?),
            Fault::Restart(t) => sim::Fault::Restart(self.host(t)?),
            Fault::Pause(t, d) => sim::Fault::Pause(self.host(t)?, nanos(d)),
            Fault::Skew(t, d) => sim::Fault::Skew(self.host(t)?, d.as_nanos()),
            Fault::DiskLoss(t) => sim::Fault::DiskLoss(self.host(t)?),
        })
    }

    fn finish(mut self, seed: u64) -> Result<RunOutcome, RunError> {
        if let Err(err) = self.cluster.sim.finish_trace() {
            self.failures
                .push(format!("writing the trace failed: {err}"));
        }
        let sim = &self.cluster.sim;
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
