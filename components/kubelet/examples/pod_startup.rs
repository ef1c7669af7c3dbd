//! Hand measurement: 110 pods (maxPods) created at once on one worker, with an image already
//! on the node (no pulls), against a one-member control plane. Prints pod startup latency
//! percentiles in virtual time (creation → Ready, as the SLO measures it, F41) and the
//! kubelet's and runtime's handled events per on-CPU second.
//!
//! `CARGO_TARGET_DIR=... cargo run --release -p kubelet --example pod_startup`

use std::net::Ipv4Addr;
use std::sync::Arc;

use api::k8s_openapi::api::core::v1::Pod;
use api::{Kind, Object};
use apiserver::testkit::{self, Probe};
use apiserver::{ApiEnvelope, ApiMessage, ApiRequest, StoredValue, UserInfo, Verb};
use kubelet::{Kubelet, KubeletConfig};
use net::{TrafficEnvelope, TrafficMessage};
use runtime::{ContainerRuntime, RuntimeConfig, RuntimeEnvelope, RuntimeMessage};
use sim::{Duration, Message, Sim, SimConfig, TraceHasher};
use store::server::{EtcdEnvelope, EtcdMessage};

#[derive(Clone, Debug)]
enum Msg {
    Etcd(EtcdMessage<StoredValue>),
    Api(ApiMessage),
    Runtime(RuntimeMessage),
    Traffic(TrafficMessage),
}

impl Message for Msg {
    fn trace_digest(&self, h: &mut TraceHasher) {
        match self {
            Msg::Etcd(m) => m.trace_digest(h),
            Msg::Api(m) => m.trace_digest(h),
            Msg::Runtime(m) => m.trace_digest(h),
            Msg::Traffic(m) => m.trace_digest(h),
        }
    }
}

impl EtcdEnvelope<StoredValue> for Msg {
    fn wrap(m: EtcdMessage<StoredValue>) -> Self {
        Msg::Etcd(m)
    }
    fn unwrap_etcd(self) -> Result<EtcdMessage<StoredValue>, Self> {
        match self {
            Msg::Etcd(m) => Ok(m),
            other => Err(other),
        }
    }
}

impl ApiEnvelope for Msg {
    fn wrap_api(m: ApiMessage) -> Self {
        Msg::Api(m)
    }
    fn unwrap_api(self) -> Result<ApiMessage, Self> {
        match self {
            Msg::Api(m) => Ok(m),
            other => Err(other),
        }
    }
}

impl RuntimeEnvelope for Msg {
    fn wrap_runtime(m: RuntimeMessage) -> Self {
        Msg::Runtime(m)
    }
    fn unwrap_runtime(self) -> Result<RuntimeMessage, Self> {
        match self {
            Msg::Runtime(m) => Ok(m),
            other => Err(other),
        }
    }
}

impl TrafficEnvelope for Msg {
    fn wrap_traffic(m: TrafficMessage) -> Self {
        Msg::Traffic(m)
    }
    fn unwrap_traffic(self) -> Result<TrafficMessage, Self> {
        match self {
            Msg::Traffic(m) => Ok(m),
            other => Err(other),
        }
    }
}

const NODE: &str = "kubesim-worker";
const PODS: usize = 110;

fn main() {
    let mut sim = Sim::<Msg>::new(SimConfig::with_seed(11));
    let cp = testkit::start_control_plane(&mut sim, 1, 1, |_| {}).unwrap();
    let host = sim.add_host(NODE).unwrap();
    let ip = Ipv4Addr::new(172, 18, 0, 3);
    let cidr = net::node_pod_cidr(1).unwrap();
    let mut rcfg = RuntimeConfig::new(NODE, ip, cidr);
    rcfg.preloaded_images = runtime::kind_preloaded_images();
    let rt = sim
        .add_actor(host, "containerd", move |_| {
            ContainerRuntime::<Msg>::new(rcfg.clone())
        })
        .unwrap();
    let kcfg = KubeletConfig::new(NODE, ip, false, cidr, cp.apiservers.clone(), rt);
    let kl = sim
        .add_actor(host, "kubelet", move |_| Kubelet::<Msg>::new(kcfg.clone()))
        .unwrap();
    let ph = sim.add_host("terminal").unwrap();
    let server = cp.apiservers[0];
    let probe = sim
        .add_actor(ph, "probe", move |_| Probe::new(server))
        .unwrap();
    assert!(testkit::run_until_ready(&mut sim, &cp, Duration::from_secs(30)).unwrap());
    sim.run_for(Duration::from_secs(5)).unwrap();
    let before_events = sim.events_processed();
    let cpu0 = sim::bench::thread_cpu_seconds().unwrap_or(0.0);
    let start = sim.now();
    sim.invoke::<Probe, _>(probe, |p, ctx| {
        for i in 0..PODS {
            let pod: Pod = serde_json::from_value(serde_json::json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("p{i}"), "namespace": "default"},
                "spec": {"nodeName": NODE, "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]},
            }))
            .unwrap();
            let req = ApiRequest::new(1000 + i as u64, UserInfo::admin(), Kind::Pod, Verb::Create(Arc::new(Object::from(pod))))
                .in_namespace("default");
            p.send(ctx, req);
        }
    })
    .unwrap();
    // When the kubelet first holds each pod Ready, sampled every 10 ms.
    let mut ready_at: std::collections::BTreeMap<String, sim::Duration> = Default::default();
    let deadline = start + Duration::from_secs(60);
    while sim.now() < deadline && ready_at.len() < PODS {
        sim.run_for(Duration::from_millis(10)).unwrap();
        let now = sim.now();
        for w in sim.actor::<Kubelet<Msg>>(kl).unwrap().pods() {
            if w.app.iter().all(|c| c.ready()) {
                ready_at
                    .entry(w.name.clone())
                    .or_insert(now.saturating_since(start));
            }
        }
    }
    let cpu = sim::bench::thread_cpu_seconds().unwrap_or(0.0) - cpu0;
    let events = sim.events_processed() - before_events;
    let mut latencies: Vec<u64> = ready_at.values().map(|d| d.as_millis()).collect();
    latencies.sort_unstable();
    let pct = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0)
    };
    let k = sim.actor::<Kubelet<Msg>>(kl).unwrap();
    println!(
        "pods ready: {}/{PODS} within 60 s of virtual time (created at {start})",
        latencies.len()
    );
    println!(
        "startup latency (create request -> kubelet holds it Ready, virtual): p50 {} ms, p90 {} ms, p99 {} ms, max {} ms",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        latencies.last().copied().unwrap_or(0)
    );
    println!(
        "kubelet: {} syncs, {} runtime calls, {} status writes, {} events recorded",
        k.stats.syncs, k.stats.runtime_calls, k.stats.status_writes, k.stats.events
    );
    println!(
        "simulation: {events} events in {cpu:.3} s on-CPU = {:.0} events/s (whole sim: etcd, apiserver, kubelet, runtime)",
        events as f64 / cpu.max(1e-9)
    );
}
