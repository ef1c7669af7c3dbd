//! `kubesim bench cluster`: a whole cluster from empty to every pod Running and every
//! Service's endpoints published ([`super::workload`]), at one or more sizes, each measurement
//! in a fresh process (see [`super::measure`]), medians over `--runs`.
//!
//! Columns: nodes (workers; one control-plane node besides), pods, Deployments (= Services),
//! virtual time from the cluster's start to convergence, events the engine handled, events
//! per on-CPU second, wall time, on-CPU time (both from the process start: building the
//! cluster included) and peak RSS (`VmHWM`). A size that has not converged when its wall
//! budget runs out is reported as not finished, with how far it came; larger sizes are then
//! skipped, since they would not finish either.
//!
//! With `--slo`, two more tables give each size's pod startup and API call latencies against
//! Kubernetes' SLOs ([`super::slo`]).

use std::io::Write;

use serde::{Deserialize, Serialize};

use super::measure::{
    ChildOutcome, Wall, median, megabytes, peak_rss_bytes, print_result, rate, run_child, thousands,
};
use super::slo::{self, ApiCallFigures, StartupFigures};
use super::workload::{Mark, Progress, Shape, Workload, split};
use crate::cli::{ClusterBenchArgs, EXIT_FAIL, EXIT_PASS};

/// The sizes of the default table.
pub const DEFAULT_NODES: [u32; 3] = [100, 1000, 5000];

/// One measurement, as the child reports it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClusterRun {
    pub nodes: u32,
    pub pods: u64,
    pub services: u64,
    pub finished: bool,
    pub progress: Progress,
    pub virtual_seconds: f64,
    pub events: u64,
    pub wall_seconds: f64,
    pub cpu_seconds: f64,
    pub peak_rss_bytes: Option<u64>,
    pub trace_hash: String,
    /// Pod startup latency, when asked for (`--slo`).
    #[serde(default)]
    pub pod_startup: Option<StartupFigures>,
    /// API call latency per resource and verb, when asked for (`--slo`).
    #[serde(default)]
    pub api_calls: Vec<ApiCallFigures>,
    /// Why the run could not even start, if so.
    pub error: Option<String>,
}

fn shape(args: &ClusterBenchArgs, nodes: u32) -> Shape {
    let pods = args
        .pods
        .unwrap_or(u64::from(nodes) * u64::from(args.pods_per_node));
    let mut shape = Shape::new(&args.cluster, nodes, pods, args.cluster_cidr);
    shape.pod_startup = args.slo;
    shape
}

/// The child's side: one measurement in this process, printed as a result line.
pub fn one(args: &ClusterBenchArgs) -> i32 {
    let wall = Wall::start();
    let nodes = args.nodes.first().copied().unwrap_or(DEFAULT_NODES[0]);
    let shape = shape(args, nodes);
    let mut run = ClusterRun {
        nodes,
        pods: shape.pods,
        services: split(shape.pods).len() as u64,
        finished: false,
        progress: Progress::default(),
        virtual_seconds: 0.0,
        events: 0,
        wall_seconds: 0.0,
        cpu_seconds: 0.0,
        peak_rss_bytes: None,
        trace_hash: String::new(),
        pod_startup: None,
        api_calls: Vec::new(),
        error: None,
    };
    let budget = args.budget.as_secs_f64();
    let outcome = Workload::start(&shape, args.cluster.quiet, &wall, budget).and_then(|mut w| {
        let (progress, finished) = w.run_to_convergence(&wall, budget)?;
        w.bar().finish_and_clear();
        Ok((w, progress, finished))
    });
    match outcome {
        Ok((w, progress, finished)) => {
            let mark = Mark::of(&w.cluster);
            run.finished = finished;
            run.progress = progress;
            run.virtual_seconds = mark.virtual_seconds;
            run.events = mark.events;
            run.cpu_seconds = mark.cpu_seconds;
            run.trace_hash = format!("{:016x}", w.cluster.sim().trace_hash());
            if args.slo {
                run.pod_startup = w.pod_startup().as_ref().map(StartupFigures::from);
                run.api_calls = slo::api_call_figures(&w.cluster.api_call_latencies());
            }
        }
        Err(e) => run.error = Some(e.to_string()),
    }
    run.wall_seconds = wall.seconds();
    run.peak_rss_bytes = peak_rss_bytes();
    print_result(&run);
    if run.error.is_some() {
        EXIT_FAIL
    } else {
        EXIT_PASS
    }
}

/// The child's arguments for one size.
fn child_args(args: &ClusterBenchArgs, nodes: u32) -> Vec<String> {
    let mut v = vec![
        "bench".to_string(),
        "cluster".into(),
        "--nodes".into(),
        nodes.to_string(),
        "--pods-per-node".into(),
        args.pods_per_node.to_string(),
        "--budget".into(),
        format!("{}s", args.budget.as_secs_f64()),
    ];
    if let Some(p) = args.pods {
        v.extend(["--pods".into(), p.to_string()]);
    }
    if let Some(c) = args.cluster_cidr {
        v.extend(["--cluster-cidr".into(), c.to_string()]);
    }
    if args.slo {
        v.push("--slo".into());
    }
    v.extend(args.cluster.child_args());
    v
}

/// One row of the table: the medians of a size's finished runs, or why it did not finish.
struct Row {
    nodes: u32,
    pods: u64,
    services: u64,
    runs: Vec<ClusterRun>,
    failure: Option<String>,
}

fn seconds(s: f64) -> String {
    if s >= 100.0 {
        format!("{s:.0} s")
    } else if s >= 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.2} s")
    }
}

impl Row {
    fn line(&self) -> String {
        let head = format!(
            "| {} | {} | {} |",
            thousands(u64::from(self.nodes)),
            thousands(self.pods),
            thousands(self.services)
        );
        let finished: Vec<&ClusterRun> = self.runs.iter().filter(|r| r.finished).collect();
        if finished.is_empty() {
            let why = self.failure.clone().unwrap_or_default();
            return format!("{head} not finished: {why} | | | | | | |");
        }
        let m = |f: &dyn Fn(&ClusterRun) -> f64| {
            median(&finished.iter().map(|r| f(r)).collect::<Vec<_>>()).unwrap_or(f64::NAN)
        };
        let virtual_s = m(&|r| r.virtual_seconds);
        let events = m(&|r| r.events as f64);
        let cpu = m(&|r| r.cpu_seconds);
        let wall = m(&|r| r.wall_seconds);
        let rss = median(
            &finished
                .iter()
                .filter_map(|r| r.peak_rss_bytes.map(|b| b as f64))
                .collect::<Vec<_>>(),
        )
        .map(|b| b as u64);
        let eps = median(
            &finished
                .iter()
                .map(|r| r.events as f64 / r.cpu_seconds.max(1e-9))
                .collect::<Vec<_>>(),
        )
        .unwrap_or(f64::NAN);
        format!(
            "{head} {} | {} | {} | {} | {} | {} | {} |",
            seconds(virtual_s),
            thousands(events as u64),
            rate(eps),
            seconds(wall),
            seconds(cpu),
            megabytes(rss),
            finished.len()
        )
    }
}

/// The parent's side: every size, `--runs` fresh processes each, then the table.
pub fn table(args: &ClusterBenchArgs, out: &mut dyn Write) -> i32 {
    let sizes: Vec<u32> = if args.nodes.is_empty() {
        DEFAULT_NODES.to_vec()
    } else {
        args.nodes.clone()
    };
    let _ = writeln!(
        out,
        "kubesim bench cluster: 1 control-plane node + N workers, Deployments of <= 1,000 pause \
         pods and a Service each, from an empty cluster to every pod Running and every \
         Service's endpoints ready; kube-system addons {}; kube-controller-manager \
         --kube-api-qps {} --kube-api-burst {}; seed {}; budget {} wall per run; \
         medians of {} run(s), each in a fresh process; CPU is the simulation thread's on-CPU time",
        if args.cluster.addons { "on" } else { "off" },
        args.cluster.kcm_api_qps,
        args.cluster.kcm_api_burst,
        args.cluster.seed,
        seconds(args.budget.as_secs_f64()),
        args.runs
    );
    let _ = writeln!(
        out,
        "| nodes | pods | Services | virtual time | events | events/s (CPU) | wall | CPU | peak RSS | runs |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let mut status = EXIT_PASS;
    let mut gave_up = false;
    let mut slos: Vec<(u32, Vec<ClusterRun>)> = Vec::new();
    for nodes in sizes {
        let s = shape(args, nodes);
        let mut row = Row {
            nodes,
            pods: s.pods,
            services: split(s.pods).len() as u64,
            runs: Vec::new(),
            failure: None,
        };
        if gave_up {
            row.failure = Some("skipped: a smaller size did not finish".into());
            let _ = writeln!(out, "{}", row.line());
            continue;
        }
        for i in 0..args.runs.max(1) {
            if !args.cluster.quiet {
                eprintln!(
                    "bench cluster: {nodes} nodes, {} pods, run {}/{}",
                    s.pods,
                    i + 1,
                    args.runs.max(1)
                );
            }
            match run_child::<ClusterRun>(&child_args(args, nodes), args.budget.as_secs_f64()) {
                ChildOutcome::Done(run) => {
                    if let Some(e) = &run.error {
                        row.failure = Some(e.clone());
                        status = EXIT_FAIL;
                        break;
                    }
                    if !run.finished {
                        row.failure = Some(format!(
                            "{} of {} pods Running, {} of {} Services' endpoints ready after {} wall ({} virtual)",
                            thousands(run.progress.running),
                            thousands(run.pods),
                            run.progress.services_ready,
                            run.services,
                            seconds(run.wall_seconds),
                            seconds(run.virtual_seconds),
                        ));
                        row.runs.push(run);
                        break;
                    }
                    if let Some(first) = row.runs.first()
                        && first.trace_hash != run.trace_hash
                    {
                        eprintln!(
                            "warning: run {} of {nodes} nodes ended with trace {} instead of {}: not deterministic",
                            i + 1,
                            run.trace_hash,
                            first.trace_hash
                        );
                    }
                    row.runs.push(run);
                }
                ChildOutcome::Killed { after_seconds } => {
                    row.failure = Some(format!(
                        "killed after {} wall (did not stop at its budget)",
                        seconds(after_seconds)
                    ));
                    break;
                }
                ChildOutcome::Failed(why) => {
                    row.failure = Some(why);
                    status = EXIT_FAIL;
                    break;
                }
            }
        }
        if row.runs.iter().all(|r| !r.finished) {
            gave_up = true;
        }
        let _ = writeln!(out, "{}", row.line());
        let _ = out.flush();
        slos.push((nodes, row.runs.into_iter().filter(|r| r.finished).collect()));
    }
    let startups: Vec<(u32, Vec<&StartupFigures>)> = slos
        .iter()
        .map(|(n, runs)| {
            (
                *n,
                runs.iter().filter_map(|r| r.pod_startup.as_ref()).collect(),
            )
        })
        .collect();
    slo::startup_table(out, &startups);
    let calls: Vec<(u32, Vec<&[ApiCallFigures]>)> = slos
        .iter()
        .map(|(n, runs)| (*n, runs.iter().map(|r| r.api_calls.as_slice()).collect()))
        .collect();
    slo::api_call_table(out, &calls);
    status
}
