//! Virtual time from a crash of the etcd leader's host until every live member follows a new
//! leader, over many seeds (FIDELITY F1: within ~1–2 election timeouts of 1 s).
//!
//! `cargo run -p cluster --example etcd_failover -- [SEEDS]` (default 100).

use cluster::{Cluster, Topology};
use sim::{Duration, Fault};

fn main() {
    let seeds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let mut took_ms = Vec::new();
    let mut first_leaders = std::collections::BTreeMap::<String, u64>::new();
    for seed in 0..seeds {
        let mut c = Cluster::build(Topology::new(3, 0).with_seed(seed)).expect("topology");
        let first = c
            .run_until_etcd_ready(Duration::from_secs(30))
            .expect("no finding")
            .expect("a first leader");
        *first_leaders.entry(first.host.clone()).or_default() += 1;
        c.sim_mut()
            .run_for(Duration::from_secs(2))
            .expect("no finding");
        let host = c.resolve_leader("etcd").expect("leader");
        c.sim_mut().apply_fault(Fault::Crash(host)).expect("host");
        let at = c.sim().now();
        c.run_until_etcd_ready(Duration::from_secs(30))
            .expect("no finding")
            .expect("a new leader");
        took_ms.push((c.sim().now() - at).as_millis());
    }
    took_ms.sort_unstable();
    let pct = |p: usize| took_ms[(took_ms.len() - 1) * p / 100];
    println!(
        "seeds={} new leader after crash (virtual ms): min={} median={} p90={} max={}",
        took_ms.len(),
        took_ms[0],
        pct(50),
        pct(90),
        took_ms[took_ms.len() - 1]
    );
    println!("first leader by host: {first_leaders:?}");
}
