//! The ReplicaSet controller against a real apiserver: replicas created in slow-start
//! batches with the right names, labels and ownerReferences; status; scale-down ranking;
//! adoption and release by selector.

mod common;

use api::Kind;
use apiserver::DeleteOptions;
use common::{Harness, active, names};
use controllers::ControllerName;
use serde_json::json;
use sim::Duration;

const RS: &str = r#"
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx, image: "nginx:1.25"}]}
"#;

fn rs_status(h: &mut Harness) -> (i32, i32, i32, i32, i64) {
    let rs = h.get(Kind::ReplicaSet, "default", "web").unwrap();
    let api::Object::ReplicaSet(rs) = rs.as_ref() else {
        unreachable!()
    };
    let s = rs.status.clone().unwrap_or_default();
    (
        s.replicas,
        s.fully_labeled_replicas.unwrap_or(0),
        s.ready_replicas.unwrap_or(0),
        s.available_replicas.unwrap_or(0),
        s.observed_generation.unwrap_or(0),
    )
}

#[test]
fn creates_replicas_owned_by_the_replicaset_and_reports_status() {
    let mut h = Harness::new(1, 1, &[ControllerName::ReplicaSet]);
    h.until_leading();
    let rs = h.apply(RS);
    h.run(Duration::from_secs(3));
    let pods = h.list(Kind::Pod, "default");
    assert_eq!(pods.len(), 3, "{:?}", names(&pods));
    for p in &pods {
        assert!(p.name().starts_with("web-") && p.name().len() == "web-".len() + 5);
        assert_eq!(p.labels().get("app").map(String::as_str), Some("web"));
        let r = p.controller_ref().expect("controller ref");
        assert_eq!(
            (r.kind.as_str(), r.name.as_str(), r.uid.as_str()),
            ("ReplicaSet", "web", rs.uid())
        );
        assert_eq!(r.block_owner_deletion, Some(true));
    }
    assert_eq!(rs_status(&mut h), (3, 3, 0, 0, 1));
    // Events: one SuccessfulCreate per pod.
    let events = h.list(Kind::Event, "default");
    let created = events
        .iter()
        .filter(|e| matches!(e.as_ref(), api::Object::Event(ev) if ev.reason.as_deref() == Some("SuccessfulCreate")
            && ev.message.as_deref().is_some_and(|m| m.starts_with("Created pod: web-"))))
        .count();
    assert_eq!(created, 3);

    // Ready pods become ready and available replicas.
    assert_eq!(h.ready_all("default", "app=web", "kubesim-worker"), 3);
    h.run(Duration::from_secs(2));
    assert_eq!(rs_status(&mut h), (3, 3, 3, 3, 1));

    // A deleted pod is replaced.
    let victim = pods[0].name().to_string();
    // Graceful: the pod stays Terminating (no kubelet here) and no longer counts.
    h.delete(Kind::Pod, "default", &victim, DeleteOptions::default())
        .unwrap();
    h.run(Duration::from_secs(2));
    let now = active(&h.list(Kind::Pod, "default"));
    assert_eq!(now.len(), 3);
    assert!(!names(&now).contains(&victim));
    assert_eq!(rs_status(&mut h), (3, 3, 2, 2, 1));
}

#[test]
fn slow_start_sends_batches_of_one_two_four() {
    let mut h = Harness::new(2, 1, &[ControllerName::ReplicaSet]);
    h.until_leading();
    h.apply(&RS.replace("replicas: 3", "replicas: 10"));
    // Sample the pod count often: batches 1, 2, 4, 3 give counts 1, 3, 7, 10.
    let mut seen = Vec::new();
    for _ in 0..300 {
        h.run(Duration::from_millis(5));
        let n = h.kcm(0).stats.writes;
        let _ = n;
        let count = h.list(Kind::Pod, "default").len();
        if seen.last() != Some(&count) {
            seen.push(count);
        }
        if count == 10 {
            break;
        }
    }
    assert_eq!(seen.last(), Some(&10));
    for c in &seen {
        assert!([0, 1, 3, 7, 10].contains(c), "counts seen {seen:?}");
    }
}

#[test]
fn scale_down_deletes_pending_then_not_ready_pods_first() {
    let mut h = Harness::new(3, 1, &[ControllerName::ReplicaSet]);
    h.until_leading();
    h.apply(&RS.replace("replicas: 3", "replicas: 4"));
    h.run(Duration::from_secs(3));
    let pods = names(&h.list(Kind::Pod, "default"));
    assert_eq!(pods.len(), 4);
    // pods[0] ready, pods[1] running not ready, pods[2] ready, pods[3] bound but Pending.
    h.set_pod("default", &pods[0], "kubesim-worker", "10.244.1.2", true);
    h.set_pod("default", &pods[1], "kubesim-worker2", "10.244.2.2", false);
    h.set_pod("default", &pods[2], "kubesim-worker2", "10.244.2.3", true);
    h.request(
        Kind::Pod,
        "default",
        &pods[3],
        apiserver::Verb::Bind {
            node_name: "kubesim-worker".into(),
        },
    )
    .unwrap();
    h.run(Duration::from_secs(1));
    h.patch(
        Kind::ReplicaSet,
        "default",
        "web",
        json!({"spec": {"replicas": 2}}),
    )
    .unwrap();
    h.run(Duration::from_secs(2));
    let left = names(&active(&h.list(Kind::Pod, "default")));
    assert_eq!(left, vec![pods[0].clone(), pods[2].clone()]);
    assert_eq!(rs_status(&mut h), (2, 2, 2, 2, 2));
}

#[test]
fn adopts_matching_orphans_and_releases_pods_that_stop_matching() {
    let mut h = Harness::new(4, 1, &[ControllerName::ReplicaSet]);
    h.until_leading();
    h.apply(
        r#"
apiVersion: v1
kind: Pod
metadata: {name: stray, labels: {app: web}}
spec: {containers: [{name: c, image: "nginx:1.25"}]}
"#,
    );
    let rs = h.apply(RS);
    h.run(Duration::from_secs(3));
    let pods = h.list(Kind::Pod, "default");
    assert_eq!(
        pods.len(),
        3,
        "the orphan counts as one of the three: {:?}",
        names(&pods)
    );
    let stray = h.get(Kind::Pod, "default", "stray").unwrap();
    assert_eq!(
        stray.controller_ref().map(|r| r.uid.clone()),
        Some(rs.uid().to_string())
    );

    // Relabelled: released and replaced.
    h.patch(
        Kind::Pod,
        "default",
        "stray",
        json!({"metadata": {"labels": {"app": "other"}}}),
    )
    .unwrap();
    h.run(Duration::from_secs(3));
    let stray = h.get(Kind::Pod, "default", "stray").unwrap();
    assert!(stray.controller_ref().is_none(), "released");
    assert_eq!(h.list_selected(Kind::Pod, "default", "app=web").len(), 3);
}

/// The planted bug: without expectations (and without waiting for the pod informer), the
/// sync that follows the last create runs on a cache that has not seen the new pods yet and
/// creates them again (and later deletes the surplus); with the switch off the same run
/// creates exactly `replicas`.
#[test]
fn planted_bug_without_expectations_over_creates() {
    let count = |bug: bool| {
        let mut h = Harness::with_config(7, 1, &[ControllerName::ReplicaSet], |c| {
            c.planted_bug_replicaset_without_expectations = bug;
        });
        h.until_leading();
        // A jittery link from the apiserver: answers on one stream overtake watch events on
        // another, so the pod informer lags the creates it was answered for.
        let api = h.sim.actor_host(h.cp.apiservers[0]).unwrap();
        let kcm = h.kcms[0].0;
        h.sim.set_link(
            api,
            kcm,
            Some(sim::LinkConfig {
                latency: Duration::from_millis(1),
                jitter: sim::Jitter::Uniform(Duration::from_millis(200)),
                ..Default::default()
            }),
        );
        h.apply(RS);
        h.run(Duration::from_secs(5));
        let created = h
            .list(Kind::Event, "default")
            .iter()
            .filter(|e| matches!(e.as_ref(), api::Object::Event(ev) if ev.reason.as_deref() == Some("SuccessfulCreate")))
            .count();
        (created, h.list(Kind::Pod, "default").len())
    };
    assert_eq!(count(false), (3, 3));
    let (created, left) = count(true);
    assert!(
        created > 3,
        "the planted bug should over-create, created {created}"
    );
    assert_eq!(left, 3, "the surplus is deleted again");
}
