//! Measures the simulated etcd: committed writes per virtual second for 3 members with 1 ms
//! links and 1 ms fsync under a closed-loop client, the engine's events per wall second for
//! that run, and the leader failover time after a crash (median over 100 seeds).
//!
//! Run by hand, in release: `cargo run --release -p store --example etcd_throughput`.
//! Not part of the test suite: it reads the wall clock.

use sim::{Duration, Fault, Jitter, LinkConfig, SimConfig};
use store::server::harness::TestCluster;

fn sim_config(seed: u64) -> SimConfig {
    let mut c = SimConfig::with_seed(seed);
    c.network = LinkConfig {
        latency: Duration::from_millis(1),
        jitter: Jitter::None,
        loss: 0.0,
        duplicate: 0.0,
    };
    c.fsync_latency = Duration::from_millis(1);
    c
}

/// On-CPU seconds of this (the simulation's) thread: the machine may be shared.
fn cpu_now() -> f64 {
    sim::bench::thread_cpu_seconds().expect("on-CPU time needs Linux's /proc/thread-self/schedstat")
}

fn throughput(concurrency: usize, virtual_secs: u64) {
    let mut c = TestCluster::new(3, sim_config(1), |_| {});
    c.run_until_leader(Duration::from_secs(5)).expect("leader");
    c.with_client(|t, ctx| t.start_load(ctx, concurrency));
    c.run_for(Duration::from_secs(1));
    let done0 = c.client().load_completed;
    let events0 = c.sim.events_processed();
    let start = cpu_now();
    c.run_for(Duration::from_secs(virtual_secs));
    let elapsed = cpu_now() - start;
    let done = c.client().load_completed - done0;
    let events = c.sim.events_processed() - events0;
    println!(
        "concurrency {concurrency:>3}: {:>8.0} committed writes/virtual s, {:>10.0} events/CPU s ({events} events in {elapsed:.2} s), failed {}",
        done as f64 / virtual_secs as f64,
        events as f64 / elapsed,
        c.client().load_failed
    );
}

fn failover_ms(seed: u64) -> u64 {
    let mut c = TestCluster::new(3, SimConfig::with_seed(seed), |_| {});
    c.run_until_leader(Duration::from_secs(5)).expect("leader");
    c.run_for(Duration::from_secs(3));
    let old = c.leaders()[0];
    c.fault(Fault::Crash(c.hosts[&old]));
    let at = c.sim.now();
    c.run_until_leader(Duration::from_secs(10))
        .expect("new leader");
    c.sim.now().saturating_since(at).as_millis()
}

fn main() {
    for concurrency in [1, 16, 64, 256] {
        throughput(concurrency, 20);
    }
    let mut times: Vec<u64> = (0..100).map(failover_ms).collect();
    times.sort_unstable();
    println!(
        "leader failover after crash over 100 seeds (default LAN links, 2 ms fsync): median {} ms, p90 {} ms, max {} ms",
        times[50], times[90], times[99]
    );
}
