//! Engine throughput and memory: `cargo bench -p sim --bench engine [-- EVENTS RUNS]`.
//!
//! Timing a benchmark is the one place that must read the wall clock; the simulation itself
//! never does (it gets this stopwatch as a closure).
#![allow(clippy::disallowed_methods)]

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let events: u64 = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000_000);
    let runs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let origin = Instant::now();
    let mut clock = || origin.elapsed().as_secs_f64();
    let mut results = Vec::new();
    for w in sim::bench::standard_workloads() {
        let m = sim::bench::measure(w, events, runs, &mut clock);
        eprintln!("{}: {:.2} M events/s", w.name(), m.events_per_sec / 1e6);
        results.push(m);
    }
    println!("{}", sim::bench::table(&results));
    match sim::bench::idle_actor_bytes(100_000) {
        Some(b) => println!("memory per idle actor: {b} bytes (RSS growth over 100,000 actors)"),
        None => println!("memory per idle actor: unavailable (no /proc/self/status)"),
    }
}
