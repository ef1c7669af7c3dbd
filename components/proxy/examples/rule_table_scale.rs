//! How much CPU one node's kube-proxy spends on rules at scale: a full build of a table of
//! many Services with 30 endpoints each, a partial sync after one Service changes, and
//! rendering `iptables-save`. On-CPU seconds (`sim::bench::thread_cpu_seconds`), median of 5.
//!
//! `cargo run --release -p proxy --example rule_table_scale [SERVICES]` (default 1000).

use proxy::iptables::iptables_save;
use proxy::testdata::{service, slice};
use proxy::{ProxyMode, RuleTable};
use sim::bench::thread_cpu_seconds;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time(mut f: impl FnMut()) -> f64 {
    let runs: Vec<f64> = (0..5)
        .map(|_| {
            let t0 = thread_cpu_seconds().unwrap_or(0.0);
            f();
            thread_cpu_seconds().unwrap_or(0.0) - t0
        })
        .collect();
    median(runs)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let services: Vec<_> = (0..n)
        .map(|i| {
            let ip = format!("10.96.{}.{}", i / 250, i % 250 + 1);
            // (30 distinct pod addresses per Service below.)
            service(
                "default",
                &format!("svc-{i}"),
                &ip,
                &[("http", 80, None)],
                None,
            )
        })
        .collect();
    let ips: Vec<Vec<String>> = (0..n)
        .map(|i| {
            (0..30)
                .map(|j| format!("10.244.{}.{}", (i * 30 + j) / 250 % 256, j + 2))
                .collect()
        })
        .collect();
    let slices: Vec<_> = (0..n)
        .map(|i| {
            let eps: Vec<(&str, bool, bool)> =
                ips[i].iter().map(|s| (s.as_str(), true, false)).collect();
            slice(
                "default",
                &format!("svc-{i}-x"),
                &format!("svc-{i}"),
                &[("http", 8080)],
                &eps,
            )
        })
        .collect();
    let mut table = RuleTable::build(ProxyMode::Iptables, &services, &slices);
    let full = time(|| {
        table = RuleTable::build(ProxyMode::Iptables, &services, &slices);
    });
    let fewer: Vec<(&str, bool, bool)> = ips[0][..29]
        .iter()
        .map(|s| (s.as_str(), true, false))
        .collect();
    let changed = slice("default", "svc-0-x", "svc-0", &[("http", 8080)], &fewer);
    let mut flip = false;
    // 1,000 partial syncs per sample: one is below the CPU clock's resolution.
    let partial = time(|| {
        for _ in 0..1000 {
            flip = !flip;
            let s = if flip { &changed } else { &slices[0] };
            table.update_service("default", "svc-0", Some(&services[0]), [s]);
        }
    }) / 1000.0;
    let mut bytes = 0;
    let render = time(|| {
        bytes = iptables_save(&table, "Wed Nov 25 12:00:00 2026").map_or(0, |s| s.len());
    });
    println!(
        "services={n} endpoints={} full_build_s={full:.4} partial_sync_s={partial:.6} iptables_save_s={render:.4} iptables_save_bytes={bytes}",
        table.endpoint_count()
    );
}
