//! ServiceAccount, garbage collector and Namespace controllers against a real apiserver.

mod common;

use api::{Kind, Object};
use apiserver::{DeleteOptions, PropagationPolicy};
use common::Harness;
use controllers::ControllerName;
use sim::Duration;

const WEB: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx, image: "nginx:1.25"}]}
"#;

#[test]
fn every_namespace_gets_a_default_service_account() {
    let mut h = Harness::new(41, 1, &[ControllerName::ServiceAccount]);
    h.until_leading();
    h.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n");
    h.run(Duration::from_secs(2));
    for ns in [
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "team-a",
    ] {
        assert!(
            h.get(Kind::ServiceAccount, ns, "default").is_some(),
            "no default ServiceAccount in {ns}"
        );
    }
}

fn gc_harness(seed: u64) -> Harness {
    let mut h = Harness::new(
        seed,
        1,
        &[
            ControllerName::ReplicaSet,
            ControllerName::Deployment,
            ControllerName::GarbageCollector,
        ],
    );
    h.until_leading();
    h.apply(WEB);
    h.run(Duration::from_secs(3));
    assert_eq!(h.list(Kind::ReplicaSet, "default").len(), 1);
    assert_eq!(h.list(Kind::Pod, "default").len(), 2);
    h
}

#[test]
fn orphan_deletion_keeps_the_replicaset_and_strips_its_owner_reference() {
    let mut h = gc_harness(42);
    h.delete(
        Kind::Deployment,
        "default",
        "web",
        DeleteOptions {
            propagation_policy: Some(PropagationPolicy::Orphan),
            ..Default::default()
        },
    )
    .unwrap();
    h.run(Duration::from_secs(3));
    assert!(
        h.get(Kind::Deployment, "default", "web").is_none(),
        "deployment gone"
    );
    let rss = h.list(Kind::ReplicaSet, "default");
    assert_eq!(rss.len(), 1);
    assert!(rss[0].owner_references().is_empty(), "orphaned");
    // The field is gone, not left as an empty list (`ownerReferences: []`).
    assert_eq!(
        rss[0].metadata().owner_references,
        None,
        "{:?}",
        rss[0].metadata()
    );
    let pods = h.list(Kind::Pod, "default");
    assert!(
        pods.iter().all(|p| !p.owner_references().is_empty()),
        "the pods keep their ReplicaSet as owner"
    );
    assert_eq!(h.list(Kind::Pod, "default").len(), 2, "pods kept");
}

#[test]
fn background_deletion_of_a_deployment_removes_its_replicaset_and_pods() {
    let mut h = gc_harness(43);
    h.delete(Kind::Deployment, "default", "web", DeleteOptions::default())
        .unwrap();
    h.run(Duration::from_secs(5));
    assert!(h.list(Kind::ReplicaSet, "default").is_empty());
    assert!(h.list(Kind::Pod, "default").is_empty());
}

#[test]
fn foreground_deletion_removes_dependents_before_the_owner() {
    let mut h = gc_harness(44);
    h.delete(
        Kind::Deployment,
        "default",
        "web",
        DeleteOptions {
            propagation_policy: Some(PropagationPolicy::Foreground),
            ..Default::default()
        },
    )
    .unwrap();
    h.run(Duration::from_secs(5));
    assert!(h.list(Kind::Pod, "default").is_empty());
    assert!(h.list(Kind::ReplicaSet, "default").is_empty());
    assert!(h.get(Kind::Deployment, "default", "web").is_none());
}

#[test]
fn deleting_a_namespace_deletes_its_contents_then_itself() {
    let mut h = Harness::new(
        45,
        1,
        &[
            ControllerName::Namespace,
            ControllerName::ServiceAccount,
            ControllerName::ReplicaSet,
        ],
    );
    h.until_leading();
    h.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n");
    h.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: team-a}\n");
    h.run(Duration::from_secs(2));
    h.delete(Kind::Namespace, "", "team-a", DeleteOptions::default())
        .unwrap();
    h.run(Duration::from_secs(10));
    assert!(h.get(Kind::Namespace, "", "team-a").is_none());
    let Some(Object::Namespace(_)) = h.get(Kind::Namespace, "", "default").as_deref() else {
        panic!("default namespace stays")
    };
}
