//! Reconciles per second of the ReplicaSet and Deployment controllers, measured on the whole
//! simulation (etcd, apiserver, kube-controller-manager, all in one thread): 20 Deployments of
//! 10 replicas are created, scaled to 20, then to 5 (no kubelet: pods stay Pending, so no
//! rollout waits on readiness). The figure is `ManagerStats::reconciles` over the thread's
//! on-CPU time (`sim::bench::thread_cpu_seconds`, robust on a shared machine), median of 5
//! runs with seeds 1..=5. No wall clock is read: under `components/` only virtual time and
//! the thread's CPU time exist (time a run waits for a core is not the simulation's).
//!
//! `cargo run --release -p controllers --example reconcile_rate`

use std::sync::Arc;

use api::Kind;
use apiserver::testkit::{Probe, TestMsg, call, run_until_ready, start_control_plane};
use apiserver::{ApiReply, ApiRequest, PatchType, UserInfo, Verb};
use controllers::{ControllerManagerConfig, ControllerName, KubeControllerManager};
use serde_json::json;
use sim::bench::thread_cpu_seconds;
use sim::{Duration, Sim, SimConfig};

const DEPLOYMENTS: usize = 20;

struct Run {
    reconciles: u64,
    cpu_secs: f64,
    pods: usize,
}

fn deployment(i: usize) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web{i}, namespace: default}}\nspec:\n  replicas: 10\n  selector: {{matchLabels: {{app: web{i}}}}}\n  template:\n    metadata: {{labels: {{app: web{i}}}}}\n    spec: {{containers: [{{name: c, image: \"nginx:1.25\"}}]}}\n"
    )
}

fn one(seed: u64) -> Run {
    let mut sim = Sim::<TestMsg>::new(SimConfig::with_seed(seed));
    let cp = start_control_plane(&mut sim, 1, 1, |_| {}).expect("control plane");
    assert!(run_until_ready(&mut sim, &cp, Duration::from_secs(30)).expect("runs"));
    let api = cp.apiservers[0];
    let ph = sim.add_host("probe").expect("host");
    let probe = sim
        .add_actor(ph, "probe", move |_| Probe::new(api))
        .expect("probe");
    let h = sim.add_host("kubesim-control-plane").expect("host");
    let cfg = ControllerManagerConfig::new(vec![api], "kubesim-control-plane")
        .with_controllers(&[ControllerName::ReplicaSet, ControllerName::Deployment]);
    let kcm = sim
        .add_actor(h, "kube-controller-manager", move |_| {
            KubeControllerManager::<TestMsg>::new(cfg.clone())
        })
        .expect("kcm");
    sim.run_for(Duration::from_secs(20)).expect("runs");
    let before = sim
        .actor::<KubeControllerManager<TestMsg>>(kcm)
        .map_or(0, |k| k.stats.reconciles);
    let cpu0 = thread_cpu_seconds().unwrap_or(0.0);
    let mut id = 1u64;
    let mut send = |sim: &mut Sim<TestMsg>, req: ApiRequest| {
        id += 1;
        let mut req = req;
        req.id = id;
        call(sim, probe, req, Duration::from_secs(20)).expect("runs")
    };
    for i in 0..DEPLOYMENTS {
        let obj = api::manifest::parse_objects(&deployment(i))
            .expect("manifest")
            .remove(0);
        let req = ApiRequest::new(
            0,
            UserInfo::admin(),
            Kind::Deployment,
            Verb::Create(Arc::new(obj)),
        )
        .in_namespace("default");
        send(&mut sim, req);
    }
    sim.run_for(Duration::from_secs(30)).expect("runs");
    for replicas in [20, 5] {
        for i in 0..DEPLOYMENTS {
            let req = ApiRequest::new(
                0,
                UserInfo::admin(),
                Kind::Deployment,
                Verb::Patch {
                    patch_type: PatchType::Merge,
                    patch: Arc::new(json!({"spec": {"replicas": replicas}})),
                },
            )
            .in_namespace("default")
            .named(format!("web{i}"));
            send(&mut sim, req);
        }
        sim.run_for(Duration::from_secs(30)).expect("runs");
    }
    let cpu_secs = (thread_cpu_seconds().unwrap_or(0.0) - cpu0).max(1e-9);
    let reconciles = sim
        .actor::<KubeControllerManager<TestMsg>>(kcm)
        .map_or(0, |k| k.stats.reconciles)
        - before;
    let list = ApiRequest::new(
        0,
        UserInfo::admin(),
        Kind::Pod,
        Verb::List(Default::default()),
    )
    .in_namespace("default");
    let pods = match send(&mut sim, list) {
        Some(Ok(ApiReply::List(l))) => l.items.iter().filter(|p| !p.is_terminating()).count(),
        _ => 0,
    };
    Run {
        reconciles,
        cpu_secs,
        pods,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let runs: Vec<Run> = (1..=5).map(one).collect();
    for (i, r) in runs.iter().enumerate() {
        println!(
            "seed {}: {} reconciles, {} live pods at the end, {:.3} s on CPU",
            i + 1,
            r.reconciles,
            r.pods,
            r.cpu_secs
        );
    }
    println!(
        "ReplicaSet + Deployment reconciles per on-CPU second, median of 5: {:.0}",
        median(
            runs.iter()
                .map(|r| r.reconciles as f64 / r.cpu_secs)
                .collect()
        ),
    );
}
