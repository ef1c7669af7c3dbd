//! Engine throughput and memory: `cargo bench -p sim --bench engine [-- EVENTS RUNS [FILTER]]`
//! (FILTER keeps the workloads whose name contains it, and skips the memory figure).
//!
//! Times are the benchmark thread's on-CPU time (`/proc/thread-self/schedstat`), not the wall
//! clock: the machine may be shared, and time spent waiting for a core is not the engine's.
//! The simulation itself never reads a clock (it gets this stopwatch as a closure).

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
    let filter = args.get(2);
    if sim::bench::thread_cpu_seconds().is_none() {
        eprintln!("engine bench: needs Linux's /proc/thread-self/schedstat for on-CPU time");
        std::process::exit(2);
    }
    let mut clock = || sim::bench::thread_cpu_seconds().unwrap_or(0.0);
    println!("timing: on-CPU time of the benchmark thread (/proc/thread-self/schedstat)");
    // First, in a fresh process: memory freed by the throughput runs would be reused and hide
    // the growth.
    if filter.is_none() {
        match sim::bench::idle_actor_bytes(100_000) {
            Some(b) => {
                println!("memory per idle actor: {b} bytes (RSS growth over 100,000 actors)")
            }
            None => println!("memory per idle actor: unavailable (no /proc/self/status)"),
        }
    }
    let mut results = Vec::new();
    for w in sim::bench::standard_workloads() {
        if filter.is_some_and(|f| !w.name().contains(f.as_str())) {
            continue;
        }
        let m = sim::bench::measure(w, events, runs, &mut clock);
        eprintln!("{}: {:.2} M events/s", w.name(), m.events_per_sec / 1e6);
        results.push(m);
    }
    println!("{}", sim::bench::table(&results));
}
