//! `kubesim bench fuzz`: how many fuzz runs one core does per second, with `kubesim fuzz`'s
//! own machinery ([`crate::fuzz`]): each run draws a failure schedule from its seed, splices it
//! into the scenario, runs it through the scenario runner with the invariants on and judges
//! liveness after the settle period, exactly as a campaign does (no shrinking: a failing run
//! is counted and reported, not minimised).
//!
//! The scenario ([`SCENARIO`]) is 3 control-plane nodes (stacked etcd, an apiserver,
//! controller-manager and scheduler on each) and 3 workers with kind's kube-system addons, a
//! Deployment of 3 replicas, and 10 virtual minutes; the schedule's faults fall in its first
//! 2 minutes, then 1 minute of settle and the liveness check follow, so a run covers a little
//! more than 11 virtual minutes. Each run is timed on the thread's CPU clock; the figure is
//! one over the median run's CPU time.

use std::io::Write;
use std::path::Path;

use super::measure::{Wall, cpu_seconds, median};
use crate::cli::{EXIT_BAD_INPUT, EXIT_PASS, FuzzBenchArgs};

/// The benchmark's scenario (see the module doc).
pub const SCENARIO: &str = r#"Scenario(
    description: "kubesim bench fuzz: 3 control planes, 3 workers, a Deployment, 10 virtual minutes",
    seed: 1,
    cluster: (control_planes: 3, workers: 3),
    steps: [
        Kubectl("create deployment web --image=nginx:1.27 --replicas=3"),
        Sleep("10m"),
    ],
)
"#;

/// Runs `--runs` fuzz runs and prints runs per CPU-second.
pub fn report(args: &FuzzBenchArgs, out: &mut dyn Write) -> i32 {
    let path = Path::new("bench-fuzz.ron");
    let loaded = match crate::scenario::load_str(SCENARIO, path) {
        Ok(loaded) => loaded,
        Err(e) => {
            let _ = writeln!(out, "the bench scenario does not load: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let bounds = crate::fuzz::bounds_for(&loaded);
    if let Some(dir) = &args.keep
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        let _ = writeln!(out, "cannot create {}: {e}", dir.display());
        return EXIT_BAD_INPUT;
    }
    let mut keep_error = None;
    let wall = Wall::start();
    let mut per_run = Vec::new();
    let mut failures = Vec::new();
    let mut hashes = Vec::new();
    for i in 0..args.runs.max(1) {
        let seed = fuzz::run_seed(args.seed, i);
        let strategy = fuzz::schedule_strategy(&bounds);
        let before = cpu_seconds().unwrap_or(0.0);
        let case = fuzz::run_case(&strategy, seed, 0, |s| {
            if let Some(dir) = &args.keep {
                let file = dir.join(format!("run-{i}.ron"));
                let written = crate::fuzz::splice(SCENARIO, &loaded, s, seed)
                    .map_err(|e| e.to_string())
                    .and_then(|text| std::fs::write(&file, text).map_err(|e| e.to_string()));
                if let Err(e) = written {
                    keep_error.get_or_insert(format!("cannot write {}: {e}", file.display()));
                }
            }
            let run = crate::fuzz::run_one(SCENARIO, path, s, seed);
            if let Ok(outcome) = &run {
                hashes.push(format!(
                    "run {i}: seed={seed} events={} trace={:016x}",
                    outcome.events, outcome.trace_hash
                ));
            }
            crate::fuzz::judge(run)
        });
        per_run.push(cpu_seconds().unwrap_or(0.0) - before);
        if let fuzz::Case::Failed { failure, .. } = case {
            failures.push(format!("seed {seed}: {failure}"));
        }
        if !args.quiet {
            eprint!("\rbench fuzz: {}/{} runs", i + 1, args.runs.max(1));
        }
    }
    if !args.quiet {
        eprintln!();
    }
    if let Some(e) = keep_error {
        let _ = writeln!(out, "{e}");
        return EXIT_BAD_INPUT;
    }
    let runs = per_run.len();
    let med = median(&per_run).unwrap_or(f64::NAN);
    let total: f64 = per_run.iter().sum();
    let _ = writeln!(
        out,
        "kubesim bench fuzz: {runs} runs of a 3 control-plane + 3 worker scenario (a Deployment, 10 virtual minutes with faults in the first 2, 1 minute of settle, the liveness check), campaign seed {}",
        args.seed
    );
    let _ = writeln!(
        out,
        "| runs | CPU per run (median) | runs/s per core (median) | runs/s per core (mean) | wall | findings |\n|---:|---:|---:|---:|---:|---:|"
    );
    let _ = writeln!(
        out,
        "| {runs} | {:.3} s | {:.1} | {:.1} | {:.1} s | {} |",
        med,
        1.0 / med,
        runs as f64 / total.max(1e-9),
        wall.seconds(),
        failures.len()
    );
    for f in &failures {
        let _ = writeln!(out, "finding: {f}");
    }
    if args.hashes {
        for h in &hashes {
            let _ = writeln!(out, "{h}");
        }
    }
    EXIT_PASS
}
