//! The StatefulSet controller against a real apiserver, the kubelet's part scripted:
//! OrderedReady creates web-0, web-1, web-2 one at a time as each becomes Running and Ready
//! and scales down from the highest ordinal; Parallel creates all at once; stable identity;
//! RollingUpdate from the highest ordinal with a partition.

mod common;

use api::{Kind, Object};
use apiserver::DeleteOptions;
use common::{Harness, active, names};
use controllers::ControllerName;
use k8s_openapi::api::apps::v1::StatefulSetStatus;
use serde_json::json;
use sim::Duration;

const STS: &str = r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 3
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec: {containers: [{name: nginx, image: "nginx:1.25"}]}
"#;

fn harness(seed: u64) -> Harness {
    let mut h = Harness::new(seed, 1, &[ControllerName::StatefulSet]);
    h.until_leading();
    h
}

fn live(h: &mut Harness) -> Vec<String> {
    let mut n = names(&active(&h.list(Kind::Pod, "default")));
    n.sort();
    n
}

fn ready(h: &mut Harness, pod: &str) {
    h.set_pod("default", pod, "kubesim-worker", "10.244.1.9", true);
}

/// The kubelet finishes terminating pods.
fn reap(h: &mut Harness) -> Vec<String> {
    let mut out = Vec::new();
    for p in h.list(Kind::Pod, "default") {
        if p.is_terminating() {
            let opts = DeleteOptions {
                grace_period_seconds: Some(0),
                ..Default::default()
            };
            h.delete(Kind::Pod, "default", p.name(), opts).unwrap();
            out.push(p.name().to_string());
        }
    }
    out
}

fn status(h: &mut Harness) -> StatefulSetStatus {
    let s = h.get(Kind::StatefulSet, "default", "web").unwrap();
    let Object::StatefulSet(s) = s.as_ref() else {
        unreachable!()
    };
    s.status.clone().unwrap_or_default()
}

fn revision(h: &mut Harness, pod: &str) -> String {
    h.get(Kind::Pod, "default", pod).unwrap().labels()["controller-revision-hash"].clone()
}

#[test]
fn ordered_ready_starts_in_order_and_stops_in_reverse() {
    let mut h = harness(31);
    h.apply(STS);
    let mut order = Vec::new();
    for i in 0..3 {
        h.run(Duration::from_secs(3));
        // Only pod i is new; i+1 waits until i is Running and Ready.
        let now = live(&mut h);
        assert_eq!(now.len(), i + 1, "{now:?}");
        let name = format!("web-{i}");
        assert!(now.contains(&name));
        order.push(name.clone());
        let p = h.get(Kind::Pod, "default", &name).unwrap();
        let spec = p.as_pod().unwrap().spec.clone().unwrap();
        assert_eq!(spec.hostname.as_deref(), Some(name.as_str()));
        assert_eq!(spec.subdomain.as_deref(), Some("nginx"));
        assert_eq!(p.labels()["statefulset.kubernetes.io/pod-name"], name);
        assert_eq!(p.labels()["apps.kubernetes.io/pod-index"], i.to_string());
        ready(&mut h, &name);
    }
    assert_eq!(order, vec!["web-0", "web-1", "web-2"]);
    h.run(Duration::from_secs(2));
    let s = status(&mut h);
    assert_eq!(
        (
            s.replicas,
            s.ready_replicas,
            s.current_replicas,
            s.updated_replicas
        ),
        (3, Some(3), Some(3), Some(3))
    );
    assert_eq!(s.current_revision, s.update_revision);
    assert!(s.update_revision.unwrap().starts_with("web-"));

    // Scale to 1: web-2 goes first, web-1 only once web-2 is gone.
    h.patch(
        Kind::StatefulSet,
        "default",
        "web",
        json!({"spec": {"replicas": 1}}),
    )
    .unwrap();
    h.run(Duration::from_secs(3));
    assert_eq!(reap(&mut h), vec!["web-2"]);
    h.run(Duration::from_secs(3));
    assert_eq!(reap(&mut h), vec!["web-1"]);
    h.run(Duration::from_secs(3));
    assert_eq!(live(&mut h), vec!["web-0"]);
    assert_eq!(status(&mut h).replicas, 1);
}

#[test]
fn parallel_creates_every_pod_at_once() {
    let mut h = harness(32);
    h.apply(&STS.replace(
        "  replicas: 3",
        "  replicas: 3\n  podManagementPolicy: Parallel",
    ));
    h.run(Duration::from_secs(3));
    assert_eq!(live(&mut h), vec!["web-0", "web-1", "web-2"]);
    h.patch(
        Kind::StatefulSet,
        "default",
        "web",
        json!({"spec": {"replicas": 1}}),
    )
    .unwrap();
    h.run(Duration::from_secs(3));
    assert_eq!(
        live(&mut h),
        vec!["web-0"],
        "both condemned pods deleted at once"
    );
}

#[test]
fn rolling_update_goes_from_the_highest_ordinal_down_to_the_partition() {
    let mut h = harness(33);
    h.apply(&STS.replace(
        "  replicas: 3",
        "  replicas: 3\n  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 1}}",
    ));
    for i in 0..3 {
        h.run(Duration::from_secs(3));
        ready(&mut h, &format!("web-{i}"));
    }
    h.run(Duration::from_secs(2));
    let old = revision(&mut h, "web-0");
    h.patch(
        Kind::StatefulSet,
        "default",
        "web",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.26"}]}}}}),
    )
    .unwrap();
    let mut deleted = Vec::new();
    for _ in 0..2 {
        h.run(Duration::from_secs(3));
        let gone = reap(&mut h);
        assert_eq!(gone.len(), 1, "one at a time");
        deleted.extend(gone.clone());
        h.run(Duration::from_secs(3));
        // Recreated with the same name at the new revision, then made ready.
        assert_eq!(live(&mut h).len(), 3);
        assert_ne!(revision(&mut h, &gone[0]), old);
        ready(&mut h, &gone[0]);
    }
    assert_eq!(deleted, vec!["web-2", "web-1"]);
    h.run(Duration::from_secs(3));
    assert!(reap(&mut h).is_empty(), "web-0 is below the partition");
    assert_eq!(revision(&mut h, "web-0"), old);
    let s = status(&mut h);
    assert_eq!((s.updated_replicas, s.current_replicas), (Some(2), Some(1)));
    assert_eq!(s.current_revision.as_deref(), Some(old.as_str()));

    // Partition 0 finishes the rollout; the update revision becomes current.
    h.patch(
        Kind::StatefulSet,
        "default",
        "web",
        json!({"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}}),
    )
    .unwrap();
    h.run(Duration::from_secs(3));
    assert_eq!(reap(&mut h), vec!["web-0"]);
    h.run(Duration::from_secs(3));
    ready(&mut h, "web-0");
    h.run(Duration::from_secs(3));
    let s = status(&mut h);
    assert_eq!((s.updated_replicas, s.current_replicas), (Some(3), Some(3)));
    assert_eq!(s.current_revision, s.update_revision);
    assert_ne!(s.current_revision.as_deref(), Some(old.as_str()));
}
