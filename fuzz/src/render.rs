//! Prints a schedule in the scenario language, so that a failing schedule becomes steps a
//! person can read and `kubesim run` can replay:
//!
//! ```text
//! Sleep("12s"),
//! Fault(Crash("kubesim-control-plane2")),
//! After("3s500ms", Restart("kubesim-control-plane2")),
//! ```
//!
//! An episode's repair is an `After` step written with its onset, so the outage lasts what the
//! schedule says even when a step in between (a `kubectl wait`) takes virtual time.
//!
//! Durations are written as Go's `time.ParseDuration` reads them (DESIGN.md, "Scenarios"):
//! whole hours, minutes, seconds and milliseconds (`1m30s`, `2s250ms`, `0s`); sub-millisecond
//! parts are rounded down, which schedules never have (their offsets are whole milliseconds).

use std::fmt::Write as _;

use sim::Duration;

use crate::schedule::{FaultSpec, Onset, Target};

/// `1h2m3s4ms`, `500ms`, `0s`.
pub fn duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
        if ms >= size {
            let _ = write!(out, "{}{unit}", ms / size);
            ms %= size;
        }
    }
    out
}

/// `+5s`, `-250ms`, `+0s`.
pub fn signed_duration(nanos: i64) -> String {
    let sign = if nanos < 0 { "-" } else { "+" };
    format!(
        "{sign}{}",
        duration(Duration::from_nanos(nanos.unsigned_abs()))
    )
}

/// `"kubesim-worker"` or `Leader("etcd")`.
pub fn target(t: &Target) -> String {
    match t {
        Target::Node(name) => format!("{name:?}"),
        Target::Leader(of) => format!("Leader({of:?})"),
    }
}

fn group(ts: &[Target]) -> String {
    format!("[{}]", ts.iter().map(target).collect::<Vec<_>>().join(", "))
}

/// A probability as the scenario reads it: `0.25`, `0` (never an exponent).
fn probability(p: f64) -> String {
    let text = format!("{p}");
    if text.contains('e') {
        format!("{p:.6}")
    } else {
        text
    }
}

/// The `Fault(...)` step for one fault.
pub fn fault_step(f: &FaultSpec) -> String {
    format!("Fault({})", fault(f))
}

/// The `After("…", ...)` step: the fault lands `d` of virtual time after the step runs.
pub fn after_step(d: Duration, f: &FaultSpec) -> String {
    format!("After({:?}, {})", duration(d), fault(f))
}

/// A fault as the scenario language writes it (`Crash("kubesim-worker")`).
fn fault(f: &FaultSpec) -> String {
    match f {
        FaultSpec::Partition(a, b) => format!("Partition({}, {})", group(a), group(b)),
        FaultSpec::OneWay { from, to } => {
            format!("OneWay(from: {}, to: {})", group(from), group(to))
        }
        FaultSpec::Heal => "Heal".to_string(),
        FaultSpec::Loss(p) => format!("Loss({})", probability(*p)),
        FaultSpec::LossAt(t, p) => format!("LossAt({}, {})", target(t), probability(*p)),
        FaultSpec::LatencyAt(t, d) => format!("LatencyAt({}, {:?})", target(t), duration(*d)),
        FaultSpec::Crash(t) => format!("Crash({})", target(t)),
        FaultSpec::Restart(t) => format!("Restart({})", target(t)),
        FaultSpec::Pause(t, d) => format!("Pause({}, {:?})", target(t), duration(*d)),
        FaultSpec::Skew(t, ns) => format!("Skew({}, {:?})", target(t), signed_duration(*ns)),
        FaultSpec::DiskLoss(t) => format!("DiskLoss({})", target(t)),
    }
}

/// One onset's steps: its faults, then an `After` step for each of its repairs.
pub fn onset(o: &Onset) -> Vec<String> {
    let faults = o.faults.iter().map(fault_step);
    faults
        .chain(o.repairs.iter().map(|r| after_step(o.after, r)))
        .collect()
}

/// Onsets (offsets from their start, in order) as steps: a `Sleep` before each group that
/// starts at the same offset, then its steps, then a `Sleep` to `end` when it lies beyond the
/// last onset.
pub fn onset_steps(onsets: &[Onset], end: Duration) -> Vec<String> {
    let mut steps = Vec::new();
    let mut now = Duration::ZERO;
    for o in onsets {
        if o.at > now {
            steps.push(sleep_step(o.at.saturating_sub(now)));
            now = o.at;
        }
        steps.extend(onset(o));
    }
    if end > now {
        steps.push(sleep_step(end.saturating_sub(now)));
    }
    steps
}

/// `Sleep("…")`.
pub fn sleep_step(d: Duration) -> String {
    format!("Sleep({:?})", duration(d))
}
