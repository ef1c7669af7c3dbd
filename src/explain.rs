//! `kubesim explain FILE POD`: runs the scenario, then prints the kube-scheduler's last
//! decision about the pod as kube-scheduler-simulator shows one: every node examined, the
//! plugin that filtered it out and its reason, or each score plugin's raw score, normalized
//! score and weighted score with the node's total, the plugins skipped, and the chosen node
//! (or the FailedScheduling message and what preemption nominated).
//!
//! The decision is read from the scheduler replica that made it (the Lease holder; after a
//! failover, the replica that decided while it led: `Cluster::scheduling_decision`), as it
//! stands when the run ends, so a pod scheduled, preempted and rescheduled shows its last
//! cycle. The run itself prints nothing here: `kubesim run` shows the transcript.

use std::io::Write;
use std::path::Path;

use cluster::Cluster;

use crate::observe::EtcdView;
use crate::runner::{self, Narrator, RunError, RunOptions, StepFacts};
use crate::scenario::{self, ScenarioError, Step};

/// Why there is no explanation.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(
        "no scheduling decision about pod {key}: the scheduler never tried to place it in this run \
         (is the name or --namespace wrong? pods it decided about: {known})"
    )]
    UnknownPod { key: String, known: String },
}

impl ExplainError {
    /// The CLI's exit code: 2 for a scenario that cannot be read or run, 1 for a pod the
    /// scheduler never saw.
    pub fn exit_code(&self) -> i32 {
        match self {
            ExplainError::UnknownPod { .. } => crate::cli::EXIT_FAIL,
            _ => crate::cli::EXIT_BAD_INPUT,
        }
    }
}

/// Keeps the pod's latest decision while the run goes (a replica may crash later).
struct Watcher {
    key: String,
    /// The explanation table of its latest decision.
    decision: Option<String>,
    /// Scheduling cycles run by all replicas when last looked at: no new cycle, no new
    /// decision to copy.
    cycles: u64,
    known: Vec<String>,
}

/// Pods named when the pod asked about is unknown.
const KNOWN_SHOWN: usize = 12;

impl Watcher {
    fn look(&mut self, cluster: &Cluster) {
        let cycles = cluster.scheduling_cycles();
        if cycles == self.cycles {
            return;
        }
        self.cycles = cycles;
        match cluster.explain_scheduling(&self.key) {
            Some(table) => self.decision = Some(table),
            None if self.decision.is_none() => self.known = cluster.scheduled_pod_keys(),
            None => {}
        }
    }
}

impl Narrator for Watcher {
    fn start(&mut self, cluster: &Cluster, _view: &EtcdView) -> Vec<String> {
        self.look(cluster);
        Vec::new()
    }

    fn after_step(
        &mut self,
        _cluster: &Cluster,
        _step: &Step,
        _before: &EtcdView,
        _after: &EtcdView,
        _facts: &StepFacts,
    ) -> Vec<String> {
        Vec::new()
    }

    fn observe(&mut self, cluster: &Cluster) {
        self.look(cluster);
    }
}

/// Runs `file` and writes the explanation of `namespace/pod` to `out`.
pub fn explain(
    file: &Path,
    pod: &str,
    namespace: &str,
    seed: Option<u64>,
    out: &mut dyn Write,
) -> Result<(), ExplainError> {
    let loaded = scenario::load(file)?;
    let key = format!("{namespace}/{pod}");
    let mut watcher = Watcher {
        key: key.clone(),
        decision: None,
        cycles: 0,
        known: Vec::new(),
    };
    let options = RunOptions {
        seed,
        quiet: true,
        ..RunOptions::default()
    };
    let mut transcript = Vec::new();
    let outcome = runner::run_narrated(&loaded, &options, &mut transcript, Some(&mut watcher))?;
    let Some(table) = watcher.decision else {
        let mut known: Vec<&str> = watcher.known.iter().map(String::as_str).collect();
        let more = known.len().saturating_sub(KNOWN_SHOWN);
        known.truncate(KNOWN_SHOWN);
        let mut known = if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        };
        if more > 0 {
            known.push_str(&format!(" and {more} more"));
        }
        return Err(ExplainError::UnknownPod { key, known });
    };
    writeln!(
        out,
        "kube-scheduler's last decision about pod {key} ({}, seed {}, run {}):",
        file.display(),
        outcome.seed,
        outcome.verdict.as_str()
    )
    .map_err(RunError::from)?;
    write!(out, "{table}").map_err(RunError::from)?;
    Ok(())
}
