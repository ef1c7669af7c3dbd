//! Scheduling throughput of the framework alone at 5,000 nodes: how many pods per second of
//! on-CPU time one thread places, each cycle running every default plugin (PreFilter,
//! Filter over the adaptive window of nodes, PreScore, Score, NormalizeScore, selectHost)
//! and assuming the pod in the cache, as the scheduling cycle does before binding.
//! Not measured: the apiserver round trip of binding, informers, events.
//!
//! `cargo run --release -p scheduler --example bench [-- PODS RUNS [plain|deployment]]`
//! Workloads: `plain` (pods without Services or controllers: no default spreading) and
//! `deployment` (pods of 10 ReplicaSets: the system default topology spread constraints
//! count matching pods per zone and node on every cycle).

use std::sync::Arc;

use api::Object;
use api::selector::Selector;
use scheduler::framework::profile::Profile;
use scheduler::framework::schedule::{Algorithm, Nominator};
use scheduler::framework::{PodInfo, Snapshot};
use sim::SimRng;
use sim::bench::thread_cpu_seconds;

const NODES: usize = 5_000;
const ZONES: usize = 4;

fn node(i: usize) -> Arc<Object> {
    let name = format!("kubesim-worker{i}");
    let yaml = format!(
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\n  labels: {{kubernetes.io/hostname: {name}, topology.kubernetes.io/zone: zone-{}}}\nstatus:\n  allocatable: {{cpu: \"32\", memory: 128Gi, pods: \"110\"}}\n",
        i % ZONES
    );
    Arc::new(api::manifest::parse_objects(&yaml).expect("node").remove(0))
}

fn pod(i: usize, app: Option<usize>) -> PodInfo {
    let label = app.map_or(format!("solo-{i}"), |a| format!("web-{a}"));
    let yaml = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p{i}\n  namespace: default\n  uid: u{i}\n  labels: {{app: {label}}}\nspec:\n  containers:\n  - name: c\n    image: nginx:1.25\n    resources: {{requests: {{cpu: 100m, memory: 128Mi}}}}\n"
    );
    let o = Arc::new(api::manifest::parse_objects(&yaml).expect("pod").remove(0));
    let mut p = PodInfo::new(o).expect("a pod");
    if app.is_some() {
        p.default_spread_selector =
            vec![Selector::parse(&format!("app={label}")).expect("selector")].into();
    }
    p
}

struct Run {
    pods_per_cpu_second: f64,
    nodes_evaluated_per_pod: f64,
}

fn run(pods: usize, deployment: bool) -> Run {
    let mut snap = Snapshot::new();
    for i in 0..NODES {
        snap.upsert_node(node(i));
    }
    snap.refresh();
    let prepared: Vec<PodInfo> = (0..pods)
        .map(|i| pod(i, deployment.then_some(i % 10)))
        .collect();
    let mut alg = Algorithm::new(Profile::default_profile());
    let nominator = Nominator::default();
    let mut rng = SimRng::fork(7, "bench");
    let mut evaluated = 0usize;
    let start = thread_cpu_seconds().unwrap_or(0.0);
    for p in prepared {
        let (r, _) = alg.schedule(&p, &snap, &nominator, &mut rng);
        let placement = r.expect("5,000 nodes have room");
        evaluated += placement.evaluated_nodes;
        let mut assumed = p;
        assumed.node_name = placement.node.clone();
        snap.assume(Arc::new(assumed), &placement.node);
    }
    let secs = (thread_cpu_seconds().unwrap_or(0.0) - start).max(1e-9);
    Run {
        pods_per_cpu_second: pods as f64 / secs,
        nodes_evaluated_per_pod: evaluated as f64 / pods as f64,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let pods: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5_000);
    let runs: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(5);
    println!(
        "framework only, {NODES} nodes in {ZONES} zones, {pods} pods per run, median of {runs} runs (on-CPU time)"
    );
    let only = args.get(3).cloned().unwrap_or_default();
    for (name, deployment) in [("plain", false), ("deployment", true)] {
        if !only.is_empty() && only != name {
            continue;
        }
        let results: Vec<Run> = (0..runs).map(|_| run(pods, deployment)).collect();
        let rate = median(results.iter().map(|r| r.pods_per_cpu_second).collect());
        let nodes = median(results.iter().map(|r| r.nodes_evaluated_per_pod).collect());
        let all: Vec<String> = results
            .iter()
            .map(|r| format!("{:.0}", r.pods_per_cpu_second))
            .collect();
        println!(
            "{name:<11} {rate:>9.0} pods/s   nodes evaluated per pod {nodes:.0}   runs: {}",
            all.join(" ")
        );
    }
}
