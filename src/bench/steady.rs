//! `kubesim bench steady`: a converged cluster left running for many virtual hours, which is
//! what a long soak or fuzz campaign mostly simulates: node Leases renewed every 10 s, node
//! status every 10 s (reported every 5 min), leader-election renewals, informer resyncs,
//! kube-proxy's periodic syncs, the apiserver's 5-minute etcd compactions.
//!
//! The workload is [`super::workload`]'s (default 100 workers and 3,000 pods); once it has
//! converged the clock runs `--hours` more, and the figure is the steady part alone: virtual
//! seconds per wall second and per on-CPU second, events per on-CPU second, and memory (RSS
//! after the first steady hour and at the end, and the peak), so that unbounded retention would
//! show as growth. Each measurement runs in a fresh process; medians over `--runs`.

use std::io::Write;

use serde::{Deserialize, Serialize};
use sim::Duration;

use super::measure::{
    ChildOutcome, Wall, median, megabytes, peak_rss_bytes, print_result, rate, rss_bytes,
    run_child, thousands,
};
use super::workload::{Mark, Shape, Workload};
use crate::cli::{EXIT_FAIL, EXIT_PASS, SteadyBenchArgs};

/// One measurement, as the child reports it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SteadyRun {
    pub nodes: u32,
    pub pods: u64,
    /// Virtual seconds the workload took to converge (not part of the steady figures).
    pub converge_virtual_seconds: f64,
    pub converged: bool,
    /// The steady part: virtual seconds run, and what they cost.
    pub virtual_seconds: f64,
    pub events: u64,
    pub wall_seconds: f64,
    pub cpu_seconds: f64,
    pub rss_after_first_hour: Option<u64>,
    pub rss_at_end: Option<u64>,
    pub peak_rss_bytes: Option<u64>,
    /// Not all of `--hours` ran before the budget.
    pub cut_short: bool,
    pub error: Option<String>,
}

/// The child's side.
pub fn one(args: &SteadyBenchArgs) -> i32 {
    let wall = Wall::start();
    let budget = args.budget.as_secs_f64();
    let shape = Shape::new(&args.cluster, args.nodes, args.pods, None);
    let mut run = SteadyRun {
        nodes: args.nodes,
        pods: args.pods,
        converge_virtual_seconds: 0.0,
        converged: false,
        virtual_seconds: 0.0,
        events: 0,
        wall_seconds: 0.0,
        cpu_seconds: 0.0,
        rss_after_first_hour: None,
        rss_at_end: None,
        peak_rss_bytes: None,
        cut_short: false,
        error: None,
    };
    let result = (|| -> Result<(), super::workload::WorkloadError> {
        let mut w = Workload::start(&shape, args.cluster.quiet, &wall, budget)?;
        let (_, converged) = w.run_to_convergence(&wall, budget)?;
        w.bar().finish_and_clear();
        run.converged = converged;
        run.converge_virtual_seconds = Mark::of(&w.cluster).virtual_seconds;
        if !converged {
            return Ok(());
        }
        let bar = steady_bar(args);
        let start = Mark::of(&w.cluster);
        let steady_wall = Wall::start();
        let total = Duration::from_nanos((args.hours * 3600.0 * 1e9) as u64);
        let begin = w.cluster.sim().now();
        let chunk = Duration::from_secs(60);
        let mut done = Duration::ZERO;
        while done < total {
            let step = chunk.min(total.saturating_sub(done));
            done = done.saturating_add(step);
            w.cluster
                .sim_mut()
                .run_until(begin.saturating_add(done))
                .map_err(|f| super::workload::WorkloadError::Finding(format!("{f:?}")))?;
            if run.rss_after_first_hour.is_none() && done >= Duration::from_secs(3600) {
                run.rss_after_first_hour = rss_bytes();
            }
            bar.set_position(done.as_secs());
            if wall.seconds() > budget {
                run.cut_short = true;
                break;
            }
        }
        bar.finish_and_clear();
        let end = Mark::of(&w.cluster);
        run.virtual_seconds = end.virtual_seconds - start.virtual_seconds;
        run.events = end.events - start.events;
        run.cpu_seconds = end.cpu_seconds - start.cpu_seconds;
        run.wall_seconds = steady_wall.seconds();
        run.rss_at_end = rss_bytes();
        Ok(())
    })();
    if let Err(e) = result {
        run.error = Some(e.to_string());
    }
    run.peak_rss_bytes = peak_rss_bytes();
    print_result(&run);
    if run.error.is_some() {
        EXIT_FAIL
    } else {
        EXIT_PASS
    }
}

fn steady_bar(args: &SteadyBenchArgs) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if args.cluster.quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let len = (args.hours * 3600.0) as u64;
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:30} {pos}/{len} virtual seconds of steady state  wall {elapsed}",
    ) {
        bar.set_style(style);
    }
    bar
}

fn child_args(args: &SteadyBenchArgs) -> Vec<String> {
    let mut v: Vec<String> = [
        "bench",
        "steady",
        "--nodes",
        &args.nodes.to_string(),
        "--pods",
        &args.pods.to_string(),
        "--hours",
        &args.hours.to_string(),
        "--budget",
        &format!("{}s", args.budget.as_secs_f64()),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(args.cluster.child_args());
    v
}

/// The parent's side.
pub fn report(args: &SteadyBenchArgs, out: &mut dyn Write) -> i32 {
    let mut runs = Vec::new();
    for i in 0..args.runs.max(1) {
        if !args.cluster.quiet {
            eprintln!("bench steady: run {}/{}", i + 1, args.runs.max(1));
        }
        match run_child::<SteadyRun>(&child_args(args), args.budget.as_secs_f64()) {
            ChildOutcome::Done(run) => {
                if let Some(e) = &run.error {
                    let _ = writeln!(out, "bench steady failed: {e}");
                    return EXIT_FAIL;
                }
                if !run.converged {
                    let _ = writeln!(
                        out,
                        "bench steady: the workload did not converge within the budget ({:.0} s virtual)",
                        run.converge_virtual_seconds
                    );
                    return EXIT_FAIL;
                }
                runs.push(run);
            }
            ChildOutcome::Killed { after_seconds } => {
                let _ = writeln!(out, "bench steady: killed after {after_seconds:.0} s wall");
                return EXIT_FAIL;
            }
            ChildOutcome::Failed(why) => {
                let _ = writeln!(out, "bench steady failed: {why}");
                return EXIT_FAIL;
            }
        }
    }
    let m = |f: &dyn Fn(&SteadyRun) -> f64| {
        median(&runs.iter().map(f).collect::<Vec<_>>()).unwrap_or(f64::NAN)
    };
    let mb = |f: &dyn Fn(&SteadyRun) -> Option<u64>| {
        median(
            &runs
                .iter()
                .filter_map(|r| f(r).map(|b| b as f64))
                .collect::<Vec<_>>(),
        )
        .map(|b| b as u64)
    };
    let virtual_s = m(&|r| r.virtual_seconds);
    let wall = m(&|r| r.wall_seconds);
    let cpu = m(&|r| r.cpu_seconds);
    let cut = runs.iter().any(|r| r.cut_short);
    let _ = writeln!(
        out,
        "kubesim bench steady: {} workers, {} pods (converged at {:.0} s virtual), then {:.1} virtual hours{}; kube-system addons {}; kube-controller-manager --kube-api-qps {} --kube-api-burst {}; medians of {} run(s), each in a fresh process",
        args.nodes,
        thousands(args.pods),
        m(&|r| r.converge_virtual_seconds),
        virtual_s / 3600.0,
        if cut {
            " (cut short by the budget)"
        } else {
            ""
        },
        if args.cluster.addons { "on" } else { "off" },
        args.cluster.kcm_api_qps,
        args.cluster.kcm_api_burst,
        runs.len()
    );
    let _ = writeln!(
        out,
        "| virtual | events | events/s (CPU) | wall | CPU | virtual/wall | virtual/CPU | RSS after 1 h | RSS at end | peak RSS |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let _ = writeln!(
        out,
        "| {:.1} h | {} | {} | {:.1} s | {:.1} s | {}× | {}× | {} | {} | {} |",
        virtual_s / 3600.0,
        thousands(m(&|r| r.events as f64) as u64),
        rate(m(&|r| r.events as f64 / r.cpu_seconds.max(1e-9))),
        wall,
        cpu,
        thousands(m(&|r| r.virtual_seconds / r.wall_seconds.max(1e-9)) as u64),
        thousands(m(&|r| r.virtual_seconds / r.cpu_seconds.max(1e-9)) as u64),
        megabytes(mb(&|r| r.rss_after_first_hour)),
        megabytes(mb(&|r| r.rss_at_end)),
        megabytes(mb(&|r| r.peak_rss_bytes)),
    );
    EXIT_PASS
}
