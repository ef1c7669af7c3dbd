//! Stopwatches, memory gauges, medians and the fresh-process protocol of the cluster benches.
//!
//! Peak memory is honest only in a fresh process (an allocator keeps what an earlier run freed,
//! and `VmHWM` never goes down), so `bench cluster` and `bench steady` re-execute the `kubesim`
//! binary once per measurement with the hidden `--one` flag; the child prints one result line
//! (`RESULT_TAG` then JSON) on stdout and the parent takes medians. The child inherits stderr,
//! so its progress bar shows on the terminal.

use std::io::Read;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

/// The prefix of the one line a child measurement prints on stdout.
pub const RESULT_TAG: &str = "kubesim-bench-result ";

/// Seconds the calling thread has run on a CPU (`/proc/thread-self/schedstat`); the
/// simulation runs on one thread, so this is its cost without the time spent waiting for a
/// core on a shared machine. `None` off Linux.
pub fn cpu_seconds() -> Option<f64> {
    sim::bench::thread_cpu_seconds()
}

/// A field of `/proc/self/status` in bytes (`VmHWM`, `VmRSS`), `None` off Linux.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Peak resident set size of this process (`VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    status_bytes("VmHWM:")
}

/// Resident set size now (`VmRSS`).
pub fn rss_bytes() -> Option<u64> {
    status_bytes("VmRSS:")
}

/// A stopwatch on the wall clock, for the budget and the wall-time column.
// Timing a benchmark is the one place that reads the wall clock; the simulation never does.
#[allow(clippy::disallowed_methods)]
pub struct Wall(std::time::Instant);

#[allow(clippy::disallowed_methods)]
impl Wall {
    pub fn start() -> Wall {
        Wall(std::time::Instant::now())
    }

    pub fn seconds(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

/// The median of some values (the mean of the middle two for an even count); `None` if empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `783 MB` (decimal megabytes, as the table quotes them), or `?` when unknown.
pub fn megabytes(bytes: Option<u64>) -> String {
    bytes.map_or_else(
        || "?".into(),
        |b| format!("{} MB", thousands(b / 1_000_000)),
    )
}

/// `12.3 M/s`, `456 k/s`.
pub fn rate(per_second: f64) -> String {
    if per_second >= 1e6 {
        format!("{:.2} M/s", per_second / 1e6)
    } else if per_second >= 1e3 {
        format!("{:.0} k/s", per_second / 1e3)
    } else {
        format!("{per_second:.0}/s")
    }
}

/// What one child measurement ended with.
pub enum ChildOutcome<T> {
    Done(T),
    /// The child ran past the budget (and its grace) and was killed.
    Killed {
        after_seconds: f64,
    },
    /// The child failed or printed no result: why, with its exit status.
    Failed(String),
}

/// Runs `kubesim <args> --one` in a fresh process and parses its result line. The child is
/// expected to stop by itself at `budget_seconds` and report itself unfinished; past
/// `budget_seconds + grace` the parent kills it (only that child, by its own handle).
// The bench runs child processes and waits on the wall clock: local to the CLI's bench.
#[allow(clippy::disallowed_methods)]
pub fn run_child<T: for<'de> Deserialize<'de>>(
    args: &[String],
    budget_seconds: f64,
) -> ChildOutcome<T> {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return ChildOutcome::Failed(format!("cannot find the kubesim binary: {e}")),
    };
    let mut child = match Command::new(exe)
        .args(args)
        .arg("--one")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return ChildOutcome::Failed(format!("cannot start a measurement: {e}")),
    };
    let wall = Wall::start();
    let grace = 60.0 + budget_seconds * 0.2;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return ChildOutcome::Failed(format!("waiting for a measurement: {e}")),
        }
        if wall.seconds() > budget_seconds + grace {
            let _ = child.kill();
            let _ = child.wait();
            return ChildOutcome::Killed {
                after_seconds: wall.seconds(),
            };
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let mut text = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut text);
    }
    let Some(json) = text.lines().find_map(|l| l.strip_prefix(RESULT_TAG)) else {
        return ChildOutcome::Failed(format!("the measurement printed no result ({status})"));
    };
    match serde_json::from_str(json) {
        Ok(result) => ChildOutcome::Done(result),
        Err(e) => ChildOutcome::Failed(format!("unreadable result {json:?}: {e}")),
    }
}

/// Prints a child's result line.
pub fn print_result<T: Serialize>(result: &T) {
    match serde_json::to_string(result) {
        Ok(json) => println!("{RESULT_TAG}{json}"),
        Err(e) => eprintln!("cannot encode the result: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_figures() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(megabytes(Some(783_400_000)), "783 MB");
        assert_eq!(rate(2_500_000.0), "2.50 M/s");
        assert_eq!(rate(45_600.0), "46 k/s");
    }
}
