//! The `kubesim` command line (DESIGN.md, "CLI contract"): `run`, `check`, `fuzz`, `bench`.
//! Exit codes: 0 pass, 1 fail, 2 bad input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::{Parser, Subcommand};

use crate::runner::{self, RunOptions, Verdict};
use crate::scenario;

pub const EXIT_PASS: i32 = 0;
pub const EXIT_FAIL: i32 = 1;
pub const EXIT_BAD_INPUT: i32 = 2;

/// The built-in tours' scenarios, also checked and run by the test suite.
pub use crate::tour::{ETCD_TOUR, TOUR, Tour};

#[derive(Debug, Parser)]
#[command(
    name = "kubesim",
    version,
    about = "A deterministic discrete-event simulator of a whole Kubernetes cluster"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario (with no FILE: the built-in architecture tour).
    Run {
        file: Option<PathBuf>,
        /// Play a built-in tour instead of a FILE (the default with no FILE: architecture).
        #[arg(long, value_enum, conflicts_with = "file")]
        tour: Option<Tour>,
        /// Root seed; overrides the scenario's `seed:`.
        #[arg(long)]
        seed: Option<u64>,
        /// Write every traced event as JSON lines.
        #[arg(long, value_name = "FILE.jsonl")]
        trace: Option<PathBuf>,
        /// Print only the summary line.
        #[arg(long)]
        quiet: bool,
        /// Write a self-contained HTML report of the run (timeline, faults, transcript).
        #[arg(long, value_name = "FILE.html")]
        report: Option<PathBuf>,
        /// After the last step, demand what `kubesim fuzz` demands: within 5 virtual minutes
        /// every Deployment ready, no pod Pending for 2 minutes, and the scenario's closing
        /// expectations holding; otherwise the run fails with a liveness finding.
        #[arg(long)]
        liveness: bool,
    },
    /// Validate a scenario and the manifests it names; runs nothing.
    Check { file: PathBuf },
    /// Run generated fault schedules against a scenario.
    Fuzz {
        file: PathBuf,
        /// Number of schedules to run.
        #[arg(long, default_value_t = 100)]
        runs: u64,
        /// Root seed of the campaign.
        #[arg(long)]
        seed: Option<u64>,
        /// Parallel simulations (one thread each).
        #[arg(long)]
        jobs: Option<usize>,
        /// Run only shard K of N (0 <= K < N), e.g. a Kubernetes Indexed Job's index.
        #[arg(long, value_name = "K/N")]
        shard: Option<Shard>,
        /// Where reproducers of findings are written.
        #[arg(long, value_name = "DIR", default_value = "fuzz-findings")]
        out: PathBuf,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Run a scenario, then show how kube-scheduler placed one pod: every node's filter
    /// verdict, each plugin's score with its weight, the totals and the chosen node.
    Explain {
        file: PathBuf,
        /// The pod's name.
        pod: String,
        #[arg(long, short = 'n', default_value = "default")]
        namespace: String,
        /// Root seed; overrides the scenario's `seed:`.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Measure performance (figures, medians of several runs; nothing is asserted).
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The engine's event throughput and memory per idle actor.
    Engine,
    /// A whole cluster from empty to every pod Running and every Service's endpoints ready:
    /// virtual time, events, events/s, wall, CPU and peak RSS per size.
    Cluster(ClusterBenchArgs),
    /// A converged cluster left running for virtual hours: virtual/wall ratio and memory.
    Steady(SteadyBenchArgs),
    /// Fuzz runs per second per core on a 3 control-plane + 3 worker scenario.
    Fuzz(FuzzBenchArgs),
}

/// `kubesim bench cluster`.
#[derive(Clone, Debug, clap::Args)]
pub struct ClusterBenchArgs {
    /// Worker counts, one table row each (1 control-plane node besides); default 100,1000,5000.
    #[arg(long, value_delimiter = ',', value_name = "N[,N...]")]
    pub nodes: Vec<u32>,
    /// Total pods (Deployment replicas) per size; default --pods-per-node times the workers.
    #[arg(long)]
    pub pods: Option<u64>,
    #[arg(long, default_value_t = 30)]
    pub pods_per_node: u32,
    /// Measurements per size, each in a fresh process; the table shows medians.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Wall time one measurement may take before it is reported as not finished.
    #[arg(long, default_value = "300s", value_parser = parse_duration)]
    pub budget: std::time::Duration,
    /// The pod network (`--cluster-cidr`); default kind's 10.244.0.0/16 up to 256 nodes, then
    /// kube-up's wider 10.64.0.0/14 .. /11 by node count.
    #[arg(long, value_name = "CIDR")]
    pub cluster_cidr: Option<net::ClusterCidr>,
    /// Also report Kubernetes' latency SLOs as ClusterLoader2 measures them: pod startup (p99
    /// <= 5 s; a watch of the bench's pods, traffic of its own, so the run differs from one
    /// without it) and mutating API calls per resource and verb (p99 <= 1 s)
    #[arg(long)]
    pub slo: bool,
    #[command(flatten)]
    pub cluster: BenchClusterFlags,
}

/// `kubesim bench steady`.
#[derive(Clone, Debug, clap::Args)]
pub struct SteadyBenchArgs {
    #[arg(long, default_value_t = 100)]
    pub nodes: u32,
    #[arg(long, default_value_t = 3000)]
    pub pods: u64,
    /// Virtual hours of steady state after convergence.
    #[arg(long, default_value_t = 24.0)]
    pub hours: f64,
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// Wall time one measurement may take; past it the steady part stops where it is.
    #[arg(long, default_value = "1800s", value_parser = parse_duration)]
    pub budget: std::time::Duration,
    #[command(flatten)]
    pub cluster: BenchClusterFlags,
}

/// The flags `bench cluster` and `bench steady` share: the cluster's seed and configuration,
/// and how a measurement reports.
#[derive(Clone, Debug, clap::Args)]
pub struct BenchClusterFlags {
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// kube-controller-manager's `--kube-api-qps` and `--kube-api-burst` (its defaults are 20
    /// and 30): 100 and 100 by default here, as upstream's scalability jobs run it at every size
    /// (test-infra's `preset-e2e-scalability-common`, shared by the 100-node and 5,000-node
    /// ClusterLoader2 jobs; kubemark's preset sets the same).
    #[arg(long, default_value_t = 100)]
    pub kcm_api_qps: u32,
    #[arg(long, default_value_t = 100)]
    pub kcm_api_burst: u32,
    /// Install kind's kube-system addons (CoreDNS, kube-proxy and kindnet DaemonSets, ...).
    #[arg(long)]
    pub addons: bool,
    /// No progress bar or progress lines.
    #[arg(long)]
    pub quiet: bool,
    /// Internal: run one measurement in this process and print its result line.
    #[arg(long, hide = true)]
    pub one: bool,
}

impl BenchClusterFlags {
    /// These flags as a measurement's child process is given them (`--one` is the parent's
    /// to add).
    pub fn child_args(&self) -> Vec<String> {
        let mut v = vec![
            "--seed".to_string(),
            self.seed.to_string(),
            "--kcm-api-qps".into(),
            self.kcm_api_qps.to_string(),
            "--kcm-api-burst".into(),
            self.kcm_api_burst.to_string(),
        ];
        if self.addons {
            v.push("--addons".into());
        }
        if self.quiet {
            v.push("--quiet".into());
        }
        v
    }
}

/// `kubesim bench fuzz`.
#[derive(Clone, Debug, clap::Args)]
pub struct FuzzBenchArgs {
    /// Fuzz runs to time.
    #[arg(long, default_value_t = 30)]
    pub runs: u64,
    /// Campaign seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long)]
    pub quiet: bool,
    /// Also print each run's seed, events and trace hash (to check a change kept behaviour).
    #[arg(long)]
    pub hashes: bool,
    /// Write each run's spliced scenario to DIR/run-N.ron, to replay one with `kubesim run
    /// DIR/run-N.ron --seed S` (the seed its `--hashes` line names).
    #[arg(long, value_name = "DIR")]
    pub keep: Option<std::path::PathBuf>,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    crate::units::Duration::parse(text)
        .map(|d| std::time::Duration::from_nanos(d.as_nanos()))
        .map_err(|e| e.to_string())
}

/// `--shard K/N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let expected = || format!("expected K/N with 0 <= K < N, like 0/4, found {text:?}");
        let (k, n) = text.split_once('/').ok_or_else(expected)?;
        let index: u32 = k.trim().parse().map_err(|_| expected())?;
        let count: u32 = n.trim().parse().map_err(|_| expected())?;
        if count == 0 || index >= count {
            return Err(expected());
        }
        Ok(Shard { index, count })
    }
}

/// Parses the arguments, runs the command, returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                EXIT_BAD_INPUT
            } else {
                EXIT_PASS
            };
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    execute(cli.command, &mut out)
}

/// Runs one command, writing its output to `out` and errors to stderr.
pub fn execute(command: Command, out: &mut dyn Write) -> i32 {
    match command {
        Command::Run {
            file,
            tour,
            seed,
            trace,
            quiet,
            report,
            liveness,
        } => {
            let options = RunOptions {
                seed,
                trace,
                quiet,
                liveness: liveness.then_some(crate::fuzz::LIVENESS),
            };
            let tour = tour.unwrap_or_default();
            match (file, report) {
                (Some(file), None) => run_file(&file, &options, out),
                (None, None) => run_tour(tour, &options, out),
                (file, Some(report)) => run_reported(file.as_deref(), tour, &options, &report, out),
            }
        }
        Command::Check { file } => match scenario::load(&file) {
            Ok(loaded) => {
                let _ = write!(out, "{}", crate::check::summary(&loaded));
                EXIT_PASS
            }
            Err(err) => bad_input(&err),
        },
        Command::Fuzz {
            file,
            runs,
            seed,
            jobs,
            shard,
            out: out_dir,
            quiet,
        } => {
            let options = crate::fuzz::FuzzOptions {
                runs,
                seed: seed.unwrap_or(0),
                jobs: jobs.unwrap_or(1),
                shard: shard.unwrap_or(Shard { index: 0, count: 1 }),
                out_dir,
                quiet,
                ..crate::fuzz::FuzzOptions::default()
            };
            crate::fuzz::fuzz(&file, &options, out)
        }
        Command::Explain {
            file,
            pod,
            namespace,
            seed,
        } => match crate::explain::explain(&file, &pod, &namespace, seed, out) {
            Ok(()) => EXIT_PASS,
            Err(err) => {
                eprintln!("error: {err}");
                err.exit_code()
            }
        },
        Command::Bench { what } => match what {
            BenchCommand::Engine => crate::bench::engine(out),
            BenchCommand::Cluster(args) if args.cluster.one => crate::bench::cluster::one(&args),
            BenchCommand::Cluster(args) => crate::bench::cluster::table(&args, out),
            BenchCommand::Steady(args) if args.cluster.one => crate::bench::steady::one(&args),
            BenchCommand::Steady(args) => crate::bench::steady::report(&args, out),
            BenchCommand::Fuzz(args) => crate::bench::fuzz_rate::report(&args, out),
        },
    }
}

fn bad_input(err: &dyn std::fmt::Display) -> i32 {
    eprintln!("{err}");
    EXIT_BAD_INPUT
}

fn run_file(file: &Path, options: &RunOptions, out: &mut dyn Write) -> i32 {
    match scenario::load(file) {
        Ok(loaded) => run_loaded(&loaded, options, out),
        Err(err) => bad_input(&err),
    }
}

fn run_tour(tour: Tour, options: &RunOptions, out: &mut dyn Write) -> i32 {
    let loaded = match tour.load() {
        Ok(loaded) => loaded,
        Err(err) => return bad_input(&err),
    };
    if !options.quiet {
        let _ = writeln!(out, "{}", tour.intro());
    }
    let mut narrator = tour.narrator();
    match runner::run_narrated(&loaded, options, out, Some(narrator.as_mut())) {
        Ok(outcome) => match outcome.verdict {
            Verdict::Pass => EXIT_PASS,
            Verdict::Fail => EXIT_FAIL,
        },
        Err(err) => bad_input(&err),
    }
}

/// `run --report FILE.html`: the same run, recorded, then drawn as one HTML file.
fn run_reported(
    file: Option<&Path>,
    tour: Tour,
    options: &RunOptions,
    report: &Path,
    out: &mut dyn Write,
) -> i32 {
    let loaded = match file {
        Some(file) => scenario::load(file),
        None => tour.load(),
    };
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(err) => return bad_input(&err),
    };
    let mut narrator = tour.narrator();
    let narrator: Option<&mut dyn runner::Narrator> = match file {
        Some(_) => None,
        None => Some(narrator.as_mut()),
    };
    let recorded = match crate::report::run_recorded_with(&loaded, options, narrator) {
        Ok(recorded) => recorded,
        Err(err) => return bad_input(&err),
    };
    if file.is_none() && !options.quiet {
        let _ = writeln!(out, "{}", tour.intro());
    }
    let shown = if options.quiet {
        recorded
            .transcript
            .lines()
            .last()
            .unwrap_or_default()
            .to_string()
            + "\n"
    } else {
        recorded.transcript.clone()
    };
    let _ = out.write_all(shown.as_bytes());
    let html = crate::report::render_html(&recorded.timeline);
    if let Err(err) = std::fs::write(report, html) {
        return bad_input(&format!(
            "cannot write the report {}: {err}",
            report.display()
        ));
    }
    match recorded.outcome.verdict {
        Verdict::Pass => EXIT_PASS,
        Verdict::Fail => EXIT_FAIL,
    }
}

fn run_loaded(loaded: &scenario::Loaded, options: &RunOptions, out: &mut dyn Write) -> i32 {
    match runner::run(loaded, options, out) {
        Ok(outcome) => match outcome.verdict {
            Verdict::Pass => EXIT_PASS,
            Verdict::Fail => EXIT_FAIL,
        },
        Err(err) => bad_input(&err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards() {
        assert_eq!("1/4".parse(), Ok(Shard { index: 1, count: 4 }));
        for bad in ["4/4", "1/0", "a/2", "1", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
