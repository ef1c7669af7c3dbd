//! `kubesim fuzz FILE`: runs generated fault schedules against a scenario (DESIGN.md, "CLI
//! contract"), shrinks a failing one and writes a reproducer scenario.
//!
//! How a schedule meets the scenario: each episode's onset is spliced *between the
//! scenario's steps* on the scenario's own clock, which only `Sleep` steps advance: an onset at
//! offset t goes where the sleeps add up to t, splitting a `Sleep` in two when t falls inside
//! it; onsets beyond the last step follow it with their own sleeps. An episode's repair is
//! written with its onset as an `After` step, on the virtual clock: a `kubectl wait` between
//! the two (which may block for minutes on a crashed apiserver) does not stretch the outage
//! the schedule drew, so liveness judges the schedule, not the splice. Then the schedule's
//! heal-everything barrier, then a settle `Sleep` (fault-free). The spliced scenario is
//! ordinary scenario text: it is validated and run by [`crate::runner`] exactly as
//! `kubesim run` would, and it *is* the reproducer, so replaying is `kubesim run FILE --seed S`.
//!
//! A run fails when the runner's verdict is fail: an engine finding (Raft safety, panics),
//! an `Expect`/`Always` step, or a step the runner could not execute. Before the campaign the
//! scenario runs once without faults; a scenario that fails on its own is reported as such.
//!
//! Runs are independent, so `--jobs J` spreads them over J threads (each simulation stays on
//! one thread); results are reported in run order, and after a failure at run i only runs
//! before i continue, so the reported finding is the first failing run whatever J is.
//!
//! Next to the reproducer it writes the reproducer's run report (`<same name>.html`, as
//! `kubesim run REPRODUCER --report` draws it) and prints its path after the replay command.
//!
//! Gaps: liveness is what the scenario's own steps demand after the settle period (the driver
//! cannot yet ask the runner whether etcd has a leader).
//!
//! A reproducer is written into `--out`, not beside the scenario, so when the scenario reads
//! manifest files the reproducer says where they are (`manifest_dir`, from its own folder;
//! [`relocate`]).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use fuzz::{Case, Schedule, ScheduleBounds, render, run_case, run_seed, schedule_strategy};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{EXIT_BAD_INPUT, EXIT_FAIL, EXIT_PASS, Shard};
use crate::manifest::ManifestOrigin;
use crate::runner::{self, RunOptions};
use crate::scenario::{self, Loaded, Step};
use crate::units::Duration;

/// What `kubesim fuzz` was asked to do.
#[derive(Clone, Debug)]
pub struct FuzzOptions {
    pub runs: u64,
    /// Root seed of the campaign; run i's seed is derived from it and i.
    pub seed: u64,
    pub jobs: usize,
    pub shard: Shard,
    /// Where reproducers are written.
    pub out_dir: PathBuf,
    /// No progress bar.
    pub quiet: bool,
    /// Checks spent shrinking a failing schedule.
    pub max_shrink_runs: u32,
}

impl Default for FuzzOptions {
    fn default() -> Self {
        FuzzOptions {
            runs: 100,
            seed: 0,
            jobs: 1,
            shard: Shard { index: 0, count: 1 },
            out_dir: PathBuf::from("fuzz-findings"),
            quiet: false,
            max_shrink_runs: 256,
        }
    }
}

/// Why a schedule could not be spliced into the scenario text.
#[derive(Debug, thiserror::Error)]
pub enum SpliceError {
    #[error("cannot find where step {0} ends in the scenario text")]
    StepEnd(usize),
    #[error("cannot find the `steps: [` list in the scenario text")]
    NoSteps,
}

/// The schedule bounds for a scenario's topology: every node may be faulted.
pub fn bounds_for(loaded: &Loaded) -> ScheduleBounds {
    let nodes = loaded
        .topology
        .nodes
        .iter()
        .map(|n| n.name.clone())
        .collect();
    let etcd_nodes = loaded
        .topology
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.etcd_member)
        .map(|(i, _)| i)
        .collect::<Vec<_>>();
    // No `Crash(Leader(..))` episodes: the runner fails a step whose leader does not resolve,
    // and a schedule that has just crashed a majority leaves no leader, so such episodes
    // would report the schedule, not the cluster. The fuzz crate draws them when asked.
    ScheduleBounds::new(nodes, etcd_nodes)
}

/// Byte offset of a 1-based line and character column.
fn offset(text: &str, pos: scenario::Pos) -> usize {
    let mut line_start = 0;
    for _ in 1..pos.line {
        match text[line_start..].find('\n') {
            Some(i) => line_start += i + 1,
            None => return text.len(),
        }
    }
    text[line_start..]
        .char_indices()
        .nth(pos.col.saturating_sub(1))
        .map_or(text.len(), |(i, _)| line_start + i)
}

/// Where the step starting at `start` ends: after its balanced parentheses, skipping strings
/// (raw ones included) and comments.
fn step_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = start;
    let mut depth = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b'r' if matches!(bytes.get(i + 1), Some(b'#' | b'"')) => {
                let hashes = bytes[i + 1..].iter().take_while(|b| **b == b'#').count();
                let open = i + 1 + hashes;
                if bytes.get(open) == Some(&b'"') {
                    let close = format!("\"{}", "#".repeat(hashes));
                    i = open + 1 + text[open + 1..].find(&close)? + close.len();
                    continue;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i += text[i..].find('\n')?;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The scenario text with the schedule's faults spliced between its steps (see the module
/// doc), a header comment naming the seed, and the settle sleep last.
pub fn splice(
    text: &str,
    loaded: &Loaded,
    schedule: &Schedule,
    seed: u64,
) -> Result<String, SpliceError> {
    let steps = &loaded.scenario.steps;
    let spans: Vec<(usize, usize)> = loaded
        .step_positions
        .iter()
        .enumerate()
        .map(|(i, pos)| {
            let start = offset(text, *pos);
            step_end(text, start)
                .map(|end| (start, end))
                .ok_or(SpliceError::StepEnd(i + 1))
        })
        .collect::<Result<_, _>>()?;
    let (list_start, list_end) = match (spans.first(), spans.last()) {
        (Some(first), Some(last)) => (first.0, last.1),
        _ => {
            let at = text.find("steps").ok_or(SpliceError::NoSteps)?;
            let open = at + text[at..].find('[').ok_or(SpliceError::NoSteps)? + 1;
            (open, open)
        }
    };
    let onsets = schedule.onsets();
    let mut faults = onsets.iter().peekable();
    let mut now = sim::Duration::ZERO;
    let mut out: Vec<String> = Vec::new();
    let nanos = |d: Duration| sim::Duration::from_nanos(d.as_nanos());
    for (step, (start, end)) in steps.iter().zip(&spans) {
        if let Step::Sleep(d) = step {
            let until = now.saturating_add(nanos(*d));
            let mut split = false;
            while let Some(f) = faults.next_if(|f| f.at < until) {
                if f.at > now {
                    out.push(render::sleep_step(f.at.saturating_sub(now)));
                    now = f.at;
                }
                out.extend(render::onset(f));
                split = true;
            }
            if split {
                if until > now {
                    out.push(render::sleep_step(until.saturating_sub(now)));
                }
            } else {
                out.push(text[*start..*end].to_string());
            }
            now = until;
        } else {
            while let Some(f) = faults.next_if(|f| f.at <= now) {
                out.extend(render::onset(f));
            }
            out.push(text[*start..*end].to_string());
        }
    }
    let rest: Vec<_> = faults
        .map(|f| fuzz::Onset {
            at: f.at.saturating_sub(now),
            ..f.clone()
        })
        .collect();
    let window_left = schedule.window.saturating_sub(now);
    out.extend(render::onset_steps(&rest, window_left));
    out.push(format!(
        "// kubesim fuzz: faults healed; the cluster must settle within {}",
        render::duration(schedule.settle)
    ));
    out.push(render::sleep_step(schedule.settle));
    let indent = "\n        ";
    let mut body = String::new();
    for (i, s) in out.iter().enumerate() {
        if i > 0 || list_start == list_end {
            body.push_str(indent);
        }
        body.push_str(s);
        if !s.starts_with("//") && (i + 1 < out.len() || list_start == list_end) {
            body.push(',');
        }
    }
    if list_start == list_end {
        body.push_str("\n    ");
    }
    Ok(format!(
        "// kubesim fuzz reproducer: seed {seed}, {} fault episode(s) spliced into {}.\n\
         // Replay: kubesim run <this file> --liveness --seed {seed}\n{}{}{}",
        schedule.fault_count(),
        loaded.path.display(),
        &text[..list_start],
        body,
        &text[list_end..]
    ))
}

/// Liveness after the settle period: convergence (and the scenario's closing expectations)
/// within 5 more virtual minutes; a pod Pending for 2 minutes has not converged.
pub const LIVENESS: runner::Liveness = runner::Liveness {
    settle: sim::Duration::from_secs(300),
    pending_for: sim::Duration::from_secs(120),
};

/// One check: splice, validate, run; `Err` says why the run failed (also `kubesim bench fuzz`).
pub(crate) fn check_one(
    text: &str,
    path: &Path,
    schedule: &Schedule,
    seed: u64,
) -> Result<(), String> {
    judge(run_one(text, path, schedule, seed))
}

/// A run's verdict as the campaign judges it: its findings, not its mid-run expectations.
pub(crate) fn judge(run: Result<runner::RunOutcome, String>) -> Result<(), String> {
    let outcome = run?;
    if outcome.findings.is_empty() {
        Ok(())
    } else {
        Err(outcome.findings.join("; "))
    }
}

/// Splices the schedule into the scenario, validates and runs it; `Err` when it could not run.
pub(crate) fn run_one(
    text: &str,
    path: &Path,
    schedule: &Schedule,
    seed: u64,
) -> Result<runner::RunOutcome, String> {
    let original = scenario::load_str(text, path).map_err(|e| e.to_string())?;
    let spliced = splice(text, &original, schedule, seed).map_err(|e| e.to_string())?;
    let loaded = scenario::load_str(&spliced, path)
        .map_err(|e| format!("the spliced scenario does not validate: {e}"))?;
    let options = RunOptions {
        seed: Some(seed),
        quiet: true,
        ..RunOptions::default()
    };
    let mut sink = Vec::new();
    // Judged on the invariants and liveness after the settle period, not on the scenario's
    // mid-run expectations, which injected faults may legitimately break.
    runner::run_fuzzed(&loaded, &options, &mut sink, LIVENESS).map_err(|e| e.to_string())
}

/// What one run of the campaign ended with.
struct RunResult {
    index: u64,
    seed: u64,
    case: Case,
}

fn progress(options: &FuzzOptions, len: u64) -> ProgressBar {
    if options.quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:30} {pos}/{len} runs  {per_sec}  findings: {msg}")
    {
        bar.set_style(style);
    }
    bar.set_message("0");
    bar
}

/// Runs the campaign; returns the exit code (0 all passed, 1 a finding, 2 bad input).
pub fn fuzz(file: &Path, options: &FuzzOptions, out: &mut dyn Write) -> i32 {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("cannot read {}: {e}", file.display());
            return EXIT_BAD_INPUT;
        }
    };
    let loaded = match scenario::load_str(&text, file) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    // Strategies are boxed trait objects that are not Send: each run builds its own.
    let bounds = bounds_for(&loaded);
    let empty = Schedule {
        nodes: Vec::new(),
        episodes: Vec::new(),
        window: sim::Duration::ZERO,
        settle: sim::Duration::ZERO,
    };
    if let Err(why) = check_one(&text, file, &empty, options.seed) {
        let _ = writeln!(
            out,
            "{} fails without any fault (seed {}), so fuzzing it would only find that: {why}",
            file.display(),
            options.seed
        );
        return EXIT_FAIL;
    }
    let shard = options.shard;
    let indices: Vec<u64> = (0..options.runs)
        .filter(|i| i % u64::from(shard.count) == u64::from(shard.index))
        .collect();
    let _ = writeln!(
        out,
        "kubesim fuzz {}: {} runs (shard {}/{} of {}), campaign seed {}",
        file.display(),
        indices.len(),
        shard.index,
        shard.count,
        options.runs,
        options.seed
    );
    let bar = progress(options, indices.len() as u64);
    let next = AtomicU64::new(0);
    let first_failure = AtomicU64::new(u64::MAX);
    let results = Mutex::new(Vec::new());
    let findings = AtomicU64::new(0);
    let worker = || {
        // Bounded: each turn takes one index, and there are `indices.len()` of them.
        loop {
            let k = next.fetch_add(1, Ordering::SeqCst);
            let Some(&index) = indices.get(k as usize) else {
                return;
            };
            if index > first_failure.load(Ordering::SeqCst) {
                bar.inc(1);
                continue;
            }
            let seed = run_seed(options.seed, index);
            let strategy = schedule_strategy(&bounds);
            let case = run_case(&strategy, seed, options.max_shrink_runs, |s| {
                check_one(&text, file, s, seed)
            });
            if case.failed() {
                first_failure.fetch_min(index, Ordering::SeqCst);
                let n = findings.fetch_add(1, Ordering::SeqCst) + 1;
                bar.set_message(n.to_string());
            }
            bar.inc(1);
            if let Ok(mut r) = results.lock() {
                r.push(RunResult { index, seed, case });
            }
        }
    };
    let jobs = options.jobs.max(1);
    // Parallelism across seeds only: every simulation runs on the one thread that made it.
    #[allow(clippy::disallowed_methods)]
    std::thread::scope(|scope| {
        for _ in 1..jobs {
            scope.spawn(worker);
        }
        worker();
    });
    bar.finish_and_clear();
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|r| r.index);
    report(file, &text, &loaded, options, &results, out)
}

/// The run report of a reproducer (`kubesim run REPRODUCER --seed S --report R.html`): the
/// reproducer replayed with the recorder, named after the reproducer's file.
fn write_report(
    reproducer: &str,
    reproducer_file: &Path,
    seed: u64,
    html: &Path,
) -> Result<(), String> {
    let loaded = scenario::load_str(reproducer, reproducer_file).map_err(|e| e.to_string())?;
    let options = RunOptions {
        seed: Some(seed),
        liveness: Some(LIVENESS),
        ..RunOptions::default()
    };
    let mut recorded =
        crate::report::run_recorded_with(&loaded, &options, None).map_err(|e| e.to_string())?;
    if let Some(name) = reproducer_file.file_name() {
        recorded.timeline.meta.scenario = name.to_string_lossy().into_owned();
    }
    std::fs::write(html, crate::report::render_html(&recorded.timeline)).map_err(|e| e.to_string())
}

/// The reproducer as written into `out_dir`. It lives elsewhere than the scenario, so when the
/// scenario reads manifest files (`apply -f`) the reproducer names their folder from its own
/// (`manifest_dir`, in place of one the scenario had) and replays with the same files.
pub fn relocate(reproducer: &str, loaded: &Loaded, out_dir: &Path) -> String {
    let reads_files = loaded
        .step_manifests
        .iter()
        .flatten()
        .any(|m| matches!(m.origin, ManifestOrigin::File(_)));
    let Some(tree) = scenario::source::parse(reproducer).filter(|_| reads_files) else {
        return reproducer.to_string();
    };
    let dir = scenario::validate::manifest_dir(&loaded.scenario, &loaded.path);
    let value = format!("{:?}", path_from(out_dir, &dir).to_string_lossy());
    if let Some(old) = tree.field("manifest_dir") {
        let (start, end) = (offset(reproducer, old.start), offset(reproducer, old.end));
        return format!("{}{value}{}", &reproducer[..start], &reproducer[end..]);
    }
    let Some(steps) = tree.field_pos("steps") else {
        return reproducer.to_string();
    };
    let at = offset(reproducer, steps);
    format!(
        "{}manifest_dir: {value}, // the scenario's manifest files, from this file's folder\n    {}",
        &reproducer[..at],
        &reproducer[at..]
    )
}

/// The folder `to` as a path from the folder `from` (both as they resolve on disk), or `to`
/// made absolute when either does not resolve.
fn path_from(from: &Path, to: &Path) -> PathBuf {
    let (Ok(from), Ok(to_real)) = (std::fs::canonicalize(from), std::fs::canonicalize(to)) else {
        return std::path::absolute(to).unwrap_or_else(|_| to.to_path_buf());
    };
    let common = from
        .components()
        .zip(to_real.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = PathBuf::new();
    for _ in from.components().skip(common) {
        out.push("..");
    }
    for c in to_real.components().skip(common) {
        out.push(c);
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

fn report(
    file: &Path,
    text: &str,
    loaded: &Loaded,
    options: &FuzzOptions,
    results: &[RunResult],
    out: &mut dyn Write,
) -> i32 {
    let failed = results.iter().find(|r| r.case.failed());
    let passed = results.iter().take_while(|r| !r.case.failed()).count();
    let Some(RunResult {
        index,
        seed,
        case:
            Case::Failed {
                original,
                minimal,
                failure,
                shrink_runs,
                ..
            },
    }) = failed
    else {
        let _ = writeln!(out, "runs={} findings=0 verdict=pass", results.len());
        return EXIT_PASS;
    };
    let _ = writeln!(
        out,
        "run {index} (seed {seed}) failed after {passed} passing runs: {failure}"
    );
    let _ = writeln!(
        out,
        "shrunk from {} to {} fault episode(s) in {shrink_runs} runs:",
        original.fault_count(),
        minimal.fault_count()
    );
    for step in render::onset_steps(&minimal.onsets(), minimal.window) {
        let _ = writeln!(out, "    {step}");
    }
    if minimal.fault_count() == 0 {
        // The campaign's pre-check ran the scenario with the campaign's seed only.
        let _ = writeln!(
            out,
            "no fault is needed: the scenario fails on its own with seed {seed} (its steps or expectations depend on the seed)"
        );
    }
    let reproducer = match splice(text, loaded, minimal, *seed) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(out, "cannot write a reproducer: {e}");
            return EXIT_FAIL;
        }
    };
    let stem = file
        .file_stem()
        .map_or_else(|| "scenario".into(), |s| s.to_string_lossy().into_owned());
    let path = options.out_dir.join(format!("{stem}-{seed}.ron"));
    let written = std::fs::create_dir_all(&options.out_dir).and_then(|()| {
        let reproducer = relocate(&reproducer, loaded, &options.out_dir);
        std::fs::write(&path, &reproducer).map(|()| reproducer)
    });
    match written {
        Ok(reproducer) => {
            let _ = writeln!(out, "reproducer: {}", path.display());
            let _ = writeln!(
                out,
                "replay: kubesim run {} --liveness --seed {seed}",
                path.display()
            );
            let html = path.with_extension("html");
            match write_report(&reproducer, &path, *seed, &html) {
                Ok(()) => {
                    let _ = writeln!(out, "report: {}", html.display());
                }
                Err(why) => {
                    let _ = writeln!(out, "cannot write the report {}: {why}", html.display());
                }
            }
        }
        Err(e) => {
            let _ = writeln!(out, "cannot write {}: {e}", path.display());
        }
    }
    if original.fault_count() > minimal.fault_count() {
        // Shrinking keeps the failure, not always its whole story: the schedule as found can
        // show more of what went wrong (a storm the minimal one no longer has).
        let found = options.out_dir.join(format!("{stem}-{seed}.unshrunk.ron"));
        let written = splice(text, loaded, original, *seed)
            .map_err(|e| e.to_string())
            .and_then(|r| {
                std::fs::write(&found, relocate(&r, loaded, &options.out_dir))
                    .map_err(|e| e.to_string())
            });
        match written {
            Ok(()) => {
                let _ = writeln!(out, "as found, before shrinking: {}", found.display());
            }
            Err(e) => {
                let _ = writeln!(out, "cannot write {}: {e}", found.display());
            }
        }
    }
    let _ = writeln!(out, "runs={} findings=1 verdict=fail", results.len());
    EXIT_FAIL
}
