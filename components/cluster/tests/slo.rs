//! Kubernetes' latency SLOs (FIDELITY F41) on the whole cluster: a pod startup probe
//! installed before a Deployment of pods whose image the nodes already hold sees every pod
//! created, bound and Running, within 5 s at the 99th percentile; the apiservers' histograms
//! count each binding once and each mutating call within 1 s at the 99th percentile.

mod common;

use std::sync::Arc;

use api::Kind;
use apiserver::{ApiRequest, Subresource, UserInfo, Verb};
use cluster::api_latency::API_CALL_SLO;
use cluster::pod_startup::{POD_STARTUP_SLO, PodSelector, percentile};
use cluster::{ComponentOptions, Topology};
use sim::Duration;

const PAUSE: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleepers, namespace: default}
spec:
  replicas: 20
  selector: {matchLabels: {app: sleepers}}
  template:
    metadata: {labels: {app: sleepers}}
    spec:
      containers:
      - name: pause
        image: registry.k8s.io/pause:3.10
"#;

#[test]
fn pods_start_and_api_calls_answer_within_the_slos() {
    let topology = Topology::new(1, 3)
        .with_seed(11)
        .with_components(ComponentOptions::default());
    let mut c = common::settled(topology, Duration::from_secs(20));
    let probe = c
        .install_pod_startup_probe(PodSelector {
            namespace: "default".into(),
            label_selector: "app=sleepers".into(),
            ..PodSelector::default()
        })
        .expect("probe added");
    c.sim_mut()
        .run_for(Duration::from_secs(1))
        .expect("no finding");
    let before = c.pod_startup_latencies(probe).expect("probe");
    assert_eq!(before.created, 0, "nothing created yet");

    let doc = api::manifest::parse(PAUSE)
        .expect("manifest")
        .remove(0)
        .object;
    let o = Arc::new(doc);
    let req =
        ApiRequest::new(1, UserInfo::admin(), o.kind(), Verb::Create(o)).in_namespace("default");
    let reply = c
        .api_request(&UserInfo::admin(), req, Duration::from_secs(10))
        .expect("answered");
    assert!(reply.is_ok(), "{reply:?}");
    c.sim_mut()
        .run_for(Duration::from_secs(30))
        .expect("no finding");

    let l = c.pod_startup_latencies(probe).expect("probe");
    assert_eq!(l.created, 20, "{l:?}");
    assert_eq!(l.create_to_schedule.len(), 20, "{l:?}");
    assert_eq!(l.pod_startup.len(), 20, "{l:?}");
    assert_eq!(l.schedule_to_run.len(), 20, "{l:?}");
    let p99 = percentile(&l.pod_startup, 99).expect("values");
    let p50 = percentile(&l.pod_startup, 50).expect("values");
    assert!(p99 <= POD_STARTUP_SLO, "p99 {p99:?}: {l:?}");
    // Starting a container takes the runtime real (virtual) time: sandbox, create, start.
    assert!(p50 > Duration::from_millis(10), "p50 {p50:?}");
    // Each pod is bound before it runs, and the stages add up.
    for (s, total) in l.schedule_to_run.iter().zip(&l.pod_startup) {
        assert!(s <= total);
    }
    assert!(percentile(&l.create_to_schedule, 99).expect("values") < p99);

    let calls = c.api_call_latencies();
    let bindings = &calls[&(Kind::Pod, Some(Subresource::Binding), "create")];
    assert_eq!(bindings.count(), 20, "one binding per pod");
    assert!(calls[&(Kind::Pod, None, "create")].count() >= 20);
    assert!(calls[&(Kind::Pod, Some(Subresource::Status), "patch")].count() >= 20);
    for (key, h) in &calls {
        let p99 = h.quantile(0.99).expect("calls");
        assert!(p99 <= API_CALL_SLO.as_secs_f64(), "{key:?}: p99 {p99} s");
    }
    // A binding writes etcd: a round trip to the leader and a quorum. (A no-op patch is
    // answered from the apiserver's cache, in no virtual time.)
    assert!(bindings.sum() > Duration::from_millis(20), "{bindings:?}");
    assert!(
        !calls
            .keys()
            .any(|(_, _, verb)| ["get", "list", "watch"].contains(verb)),
        "reads are not in the mutating calls' histograms"
    );
}
