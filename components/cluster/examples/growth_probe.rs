//! The growth probe of issue 8: one Deployment of 30 pods per worker (and a Service selecting
//! them) on 1 control plane + W workers with kind's addons, from `create` to every replica
//! available and the Service's EndpointSlices listing them all. Prints the virtual time to
//! converge, the engine's events, the kube-controller-manager's reconciles and writes, the
//! on-CPU time of the run (this thread, `/proc/thread-self/schedstat`) and the peak resident
//! memory (`VmHWM`).
//!
//! `cargo run --release -p cluster --example growth_probe -- WORKERS [PODS_PER_WORKER] [unlimited]`
//! (`unlimited` lifts kube-controller-manager's client rate limit of 20 qps, burst 30).
//! One run per process, so that VmHWM is this run's.

use std::sync::Arc;

use apiserver::{ApiReply, ApiRequest, GetOptions, ListOptions, UserInfo, Verb};
use cluster::{Cluster, ClusterMsg, ComponentOptions, Topology};
use controllers::KubeControllerManager;
use sim::Duration;

fn manifest(replicas: u32) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, labels: {{app: web}}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - {{name: nginx, image: "nginx:1.25", ports: [{{containerPort: 80}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec: {{selector: {{app: web}}, ports: [{{port: 80}}]}}
"#
    )
}

fn get(c: &mut Cluster, kind: api::Kind, name: &str) -> Option<api::SharedObject> {
    let req = ApiRequest::new(0, UserInfo::admin(), kind, Verb::Get(GetOptions::default()))
        .in_namespace("default")
        .named(name);
    match c.api_request(&UserInfo::admin(), req, Duration::from_secs(10)) {
        Ok(Ok(ApiReply::Object(o))) => Some(o),
        _ => None,
    }
}

/// Endpoints listed in the Service's slices.
fn slice_endpoints(c: &mut Cluster) -> usize {
    let req = ApiRequest::new(
        0,
        UserInfo::admin(),
        api::Kind::EndpointSlice,
        Verb::List(ListOptions::default()),
    )
    .in_namespace("default");
    let Ok(Ok(ApiReply::List(l))) = c.api_request(&UserInfo::admin(), req, Duration::from_secs(10))
    else {
        return 0;
    };
    l.items
        .iter()
        .filter_map(|o| match o.as_ref() {
            api::Object::EndpointSlice(s)
                if o.labels()
                    .get("kubernetes.io/service-name")
                    .map(String::as_str)
                    == Some("web") =>
            {
                Some(s.endpoints.as_ref().map_or(0, Vec::len))
            }
            _ => None,
        })
        .sum()
}

fn available(d: &api::SharedObject) -> i32 {
    match d.as_ref() {
        api::Object::Deployment(d) => d
            .status
            .as_ref()
            .and_then(|s| s.available_replicas)
            .unwrap_or(0),
        _ => 0,
    }
}

fn vm_hwm_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let workers: u32 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(30);
    let per_worker: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(30);
    let unlimited = args.iter().any(|a| a == "unlimited");
    let replicas = workers * per_worker;
    let cpu0 = sim::bench::thread_cpu_seconds().unwrap_or(0.0);
    let options = ComponentOptions {
        kube_system_addons: true,
        ..Default::default()
    };
    let mut topology = Topology::new(1, workers)
        .with_seed(1)
        .with_components(options);
    if unlimited {
        topology = topology.with_controller_manager_api_rate(None);
    }
    let mut c = Cluster::build(topology).expect("cluster");
    c.run_until_ready(Duration::from_secs(60))
        .expect("no finding")
        .expect("control plane ready");
    c.sim_mut()
        .run_for(Duration::from_secs(20))
        .expect("no finding");
    let cpu_ready = sim::bench::thread_cpu_seconds().unwrap_or(0.0);
    let events_ready = c.sim().events_processed();
    let t0 = c.sim().now();
    for doc in api::manifest::parse(&manifest(replicas)).expect("manifest") {
        let o = Arc::new(doc.object);
        let req = ApiRequest::new(0, UserInfo::admin(), o.kind(), Verb::Create(o))
            .in_namespace("default");
        let reply = c
            .api_request(&UserInfo::admin(), req, Duration::from_secs(10))
            .expect("answered");
        assert!(reply.is_ok(), "create: {reply:?}");
    }
    let limit = Duration::from_secs(4 * 3600);
    let mut all_available = None;
    loop {
        c.sim_mut()
            .run_for(Duration::from_secs(1))
            .expect("no finding");
        let elapsed = c.sim().now().saturating_since(t0);
        if all_available.is_none()
            && get(&mut c, api::Kind::Deployment, "web")
                .is_some_and(|d| available(&d) == replicas as i32)
        {
            all_available = Some(elapsed);
        }
        if all_available.is_some() && slice_endpoints(&mut c) == replicas as usize {
            break;
        }
        assert!(elapsed < limit, "did not converge in {limit}");
    }
    let converged = c.sim().now().saturating_since(t0);
    let cpu = sim::bench::thread_cpu_seconds().unwrap_or(0.0);
    let kcm = c.control_plane()[0].controller_manager;
    let stats = c
        .sim()
        .actor::<KubeControllerManager<ClusterMsg>>(kcm)
        .map(|m| m.stats)
        .unwrap_or_default();
    println!(
        "workers={workers} pods={replicas} kcm_rate={} all_available={} endpoints_published={} \
         events={} (cluster start {events_ready}) reconciles={} kcm_writes={} \
         cpu_s={:.2} (cluster start {:.2}) vm_hwm_mb={:.0}",
        if unlimited { "unlimited" } else { "20qps/30" },
        all_available.unwrap_or(converged),
        converged,
        c.sim().events_processed() - events_ready,
        stats.reconciles,
        stats.writes,
        cpu - cpu_ready,
        cpu_ready - cpu0,
        vm_hwm_mb(),
    );
}
