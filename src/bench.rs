//! `kubesim bench ...`: figures that are measured, never asserted (docs/performance.md quotes
//! them with the machine they came from).
//!
//! - `engine`: the engine's own benchmark (`sim::bench`), timed here because the engine never
//!   reads a clock. Like `cargo bench -p sim --bench engine`, it times on-CPU time of the
//!   benchmark thread when the kernel reports it (the machine may be shared, and time spent
//!   waiting for a core is not the engine's) and wall time otherwise.
//! - `cluster` ([`cluster`]): a whole cluster from empty to every pod Running and every
//!   Service's endpoints ready, at 100, 1,000 and 5,000 nodes by default.
//! - `steady` ([`steady`]): a converged cluster left running for virtual hours.
//! - `fuzz` ([`fuzz_rate`]): fuzz runs per second per core.

use std::io::Write;

pub mod cluster;
pub mod fuzz_rate;
pub mod measure;
pub mod slo;
pub mod steady;
pub mod workload;

/// Events per run and runs per workload: a quicker table than `cargo bench -p sim`.
const EVENTS_PER_RUN: u64 = 1_000_000;
const RUNS: usize = 5;

/// Runs the engine's standard workloads and prints their table; exit code 0.
// Timing a benchmark is the one place that must read the wall clock; the simulation itself
// does not (it gets this stopwatch as a closure).
#[allow(clippy::disallowed_methods)]
pub fn engine(out: &mut dyn Write) -> i32 {
    // Memory first, in a fresh process: memory freed by the throughput runs would be reused
    // and hide the growth.
    let memory = sim::bench::idle_actor_bytes(100_000);
    let on_cpu = sim::bench::thread_cpu_seconds().is_some();
    let origin = std::time::Instant::now();
    let mut clock = || {
        if on_cpu {
            sim::bench::thread_cpu_seconds().unwrap_or(0.0)
        } else {
            origin.elapsed().as_secs_f64()
        }
    };
    let mut results = Vec::new();
    for workload in sim::bench::standard_workloads() {
        let measurement = sim::bench::measure(workload, EVENTS_PER_RUN, RUNS, &mut clock);
        eprintln!(
            "{}: {:.2} M events/s",
            workload.name(),
            measurement.events_per_sec / 1e6
        );
        results.push(measurement);
    }
    let timing = if on_cpu {
        "on-CPU time of the benchmark thread"
    } else {
        "wall clock"
    };
    let _ = writeln!(
        out,
        "engine benchmark: {EVENTS_PER_RUN} events per run, median of {RUNS} runs, {timing}\n{}",
        sim::bench::table(&results)
    );
    match memory {
        Some(bytes) => {
            let _ = writeln!(
                out,
                "memory per idle actor: {bytes} bytes (RSS growth over 100,000 actors)"
            );
        }
        None => {
            let _ = writeln!(
                out,
                "memory per idle actor: unavailable (no /proc/self/status)"
            );
        }
    }
    crate::cli::EXIT_PASS
}
