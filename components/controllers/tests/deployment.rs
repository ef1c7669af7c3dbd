//! The Deployment controller (with the ReplicaSet controller) against a real apiserver. The
//! test plays scheduler and kubelet: it binds pods and marks them Ready itself.

mod common;

use api::{Kind, Object, SharedObject};
use common::{Harness, active, names};
use controllers::ControllerName;
use controllers::deployment::REVISION_ANNOTATION;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use serde_json::json;
use sim::Duration;

const WEB: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx, image: "nginx:1.24"}]}
"#;

fn harness(seed: u64) -> Harness {
    let mut h = Harness::new(
        seed,
        1,
        &[ControllerName::ReplicaSet, ControllerName::Deployment],
    );
    h.until_leading();
    h
}

fn deployment(h: &mut Harness) -> Deployment {
    match h.get(Kind::Deployment, "default", "web").as_deref() {
        Some(Object::Deployment(d)) => d.as_ref().clone(),
        other => panic!("no deployment: {other:?}"),
    }
}

fn replica_sets(h: &mut Harness) -> Vec<ReplicaSet> {
    let mut v: Vec<ReplicaSet> = h
        .list(Kind::ReplicaSet, "default")
        .iter()
        .filter_map(|o| match o.as_ref() {
            Object::ReplicaSet(r) => Some(r.as_ref().clone()),
            _ => None,
        })
        .collect();
    v.sort_by_key(|r| r.metadata.creation_timestamp.clone().map(|t| t.0));
    v
}

fn condition(d: &Deployment, type_: &str) -> (String, String) {
    d.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_.as_deref() == Some(type_)))
        .map(|c| {
            (
                c.status.clone().unwrap_or_default(),
                c.reason.clone().unwrap_or_default(),
            )
        })
        .unwrap_or_default()
}

fn event_messages(h: &mut Harness) -> Vec<String> {
    h.list(Kind::Event, "default")
        .iter()
        .filter_map(|e| match e.as_ref() {
            Object::Event(ev) => ev.message.clone(),
            _ => None,
        })
        .collect()
}

fn replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.replicas.unwrap_or(0)
}

fn ready_active(pods: &[SharedObject]) -> usize {
    active(pods)
        .iter()
        .filter(|p| controllers::pods::is_ready(p.as_pod().unwrap()))
        .count()
}

#[test]
fn a_deployment_creates_one_replicaset_and_its_pods_and_becomes_available() {
    let mut h = harness(11);
    let d = h.apply(WEB);
    h.run(Duration::from_secs(3));
    let rss = replica_sets(&mut h);
    assert_eq!(rss.len(), 1);
    let rs = &rss[0];
    let rs_name = rs.metadata.name.clone().unwrap();
    let hash = rs_name
        .strip_prefix("web-")
        .expect("named web-<hash>")
        .to_string();
    assert!(!hash.is_empty() && hash.len() <= 10, "{rs_name}");
    let labels = rs
        .spec
        .template
        .as_ref()
        .unwrap()
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .clone()
        .unwrap();
    assert_eq!(labels.get("pod-template-hash"), Some(&hash));
    assert_eq!(
        rs.spec
            .selector
            .match_labels
            .as_ref()
            .unwrap()
            .get("pod-template-hash"),
        Some(&hash)
    );
    let owner = rs.metadata.owner_references.as_ref().unwrap()[0].clone();
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()),
        ("Deployment", "web", d.uid())
    );
    let ann = rs.metadata.annotations.clone().unwrap();
    assert_eq!(ann.get(REVISION_ANNOTATION).map(String::as_str), Some("1"));
    assert_eq!(
        ann.get("deployment.kubernetes.io/desired-replicas")
            .map(String::as_str),
        Some("3")
    );
    assert_eq!(
        ann.get("deployment.kubernetes.io/max-replicas")
            .map(String::as_str),
        Some("4")
    );
    assert_eq!(replicas(rs), 3);

    let pods = h.list(Kind::Pod, "default");
    assert_eq!(pods.len(), 3);
    for p in &pods {
        assert!(p.name().starts_with(&format!("{rs_name}-")), "{}", p.name());
        assert_eq!(p.labels().get("pod-template-hash"), Some(&hash));
        assert_eq!(p.controller_ref().unwrap().name, rs_name);
    }
    let dep = deployment(&mut h);
    assert_eq!(
        dep.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(REVISION_ANNOTATION))
            .map(String::as_str),
        Some("1")
    );
    assert_eq!(
        condition(&dep, "Available"),
        ("False".into(), "MinimumReplicasUnavailable".into())
    );
    assert_eq!(condition(&dep, "Progressing").0, "True");
    assert!(
        event_messages(&mut h).contains(&format!("Scaled up replica set {rs_name} from 0 to 3"))
    );

    assert_eq!(h.ready_all("default", "app=web", "kubesim-worker"), 3);
    h.run(Duration::from_secs(3));
    let dep = deployment(&mut h);
    let st = dep.status.clone().unwrap();
    assert_eq!(
        (
            st.replicas,
            st.updated_replicas,
            st.ready_replicas,
            st.available_replicas,
            st.observed_generation
        ),
        (Some(3), Some(3), Some(3), Some(3), Some(1))
    );
    assert_eq!(
        condition(&dep, "Available"),
        ("True".into(), "MinimumReplicasAvailable".into())
    );
    assert_eq!(
        condition(&dep, "Progressing"),
        ("True".into(), "NewReplicaSetAvailable".into())
    );
}

/// Plays kubelet for `rounds`: each round checks the bounds, then readies new pods.
fn roll(h: &mut Harness, rounds: usize, max_total: usize, min_ready: usize) -> usize {
    let mut observed = 0;
    for _ in 0..rounds {
        h.run(Duration::from_millis(200));
        let pods = h.list(Kind::Pod, "default");
        let live = active(&pods);
        assert!(
            live.len() <= max_total,
            "surge exceeded: {:?}",
            names(&live)
        );
        assert!(
            ready_active(&pods) >= min_ready,
            "unavailable exceeded: {:?}",
            names(&live)
        );
        observed += 1;
        h.ready_all("default", "app=web", "kubesim-worker");
        let d = deployment(h);
        let st = d.status.clone().unwrap_or_default();
        let rss = replica_sets(h);
        if st.updated_replicas == Some(3)
            && st.available_replicas == Some(3)
            && st.replicas == Some(3)
            && rss.iter().filter(|r| replicas(r) > 0).count() == 1
            && condition(&d, "Progressing").1 == "NewReplicaSetAvailable"
        {
            return observed;
        }
    }
    panic!("rollout did not finish");
}

#[test]
fn image_change_rolls_within_surge_and_unavailable_bounds_and_rollback_reuses_the_old_replicaset() {
    let mut h = harness(12);
    h.apply(WEB);
    h.run(Duration::from_secs(2));
    h.ready_all("default", "app=web", "kubesim-worker");
    h.run(Duration::from_secs(2));
    let first = replica_sets(&mut h)[0].metadata.name.clone().unwrap();

    // replicas 3: maxSurge = ceil(0.75) = 1, maxUnavailable = floor(0.75) = 0.
    h.patch(
        Kind::Deployment,
        "default",
        "web",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}}}),
    )
    .unwrap();
    let rounds = roll(&mut h, 100, 4, 3);
    assert!(rounds > 3, "the rollout took several steps: {rounds}");
    let rss = replica_sets(&mut h);
    assert_eq!(rss.len(), 2);
    let second = rss[1].metadata.name.clone().unwrap();
    assert_ne!(first, second);
    assert_eq!((replicas(&rss[0]), replicas(&rss[1])), (0, 3));
    let rev =
        |r: &ReplicaSet| r.metadata.annotations.as_ref().unwrap()[REVISION_ANNOTATION].clone();
    assert_eq!(
        (rev(&rss[0]), rev(&rss[1])),
        ("1".to_string(), "2".to_string())
    );
    let msgs = event_messages(&mut h);
    assert!(
        msgs.contains(&format!("Scaled up replica set {second} from 0 to 1")),
        "{msgs:?}"
    );
    assert!(
        msgs.contains(&format!("Scaled down replica set {first} from 3 to 2")),
        "{msgs:?}"
    );

    // Rollback (what `kubectl rollout undo` does): the old template comes back, the old
    // ReplicaSet is scaled up again and gets revision 3.
    h.patch(
        Kind::Deployment,
        "default",
        "web",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.24"}]}}}}),
    )
    .unwrap();
    roll(&mut h, 100, 4, 3);
    let rss = replica_sets(&mut h);
    assert_eq!(rss.len(), 2, "no third ReplicaSet");
    assert_eq!((replicas(&rss[0]), replicas(&rss[1])), (3, 0));
    assert_eq!(rev(&rss[0]), "3");
    let d = deployment(&mut h);
    assert_eq!(
        d.metadata.annotations.as_ref().unwrap()[REVISION_ANNOTATION],
        "3"
    );
}

#[test]
fn a_stuck_rollout_exceeds_its_progress_deadline() {
    let mut h = harness(13);
    h.apply(WEB);
    h.run(Duration::from_secs(2));
    h.ready_all("default", "app=web", "kubesim-worker");
    h.run(Duration::from_secs(2));
    h.patch(
        Kind::Deployment,
        "default",
        "web",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:broken"}]}}}}),
    )
    .unwrap();
    // The new pod never becomes ready.
    h.run(Duration::from_secs(300));
    let d = deployment(&mut h);
    assert_eq!(
        condition(&d, "Progressing"),
        ("True".into(), "ReplicaSetUpdated".into())
    );
    assert_eq!(
        condition(&d, "Available"),
        ("True".into(), "MinimumReplicasAvailable".into())
    );
    h.run(Duration::from_secs(320));
    let d = deployment(&mut h);
    assert_eq!(
        condition(&d, "Progressing"),
        ("False".into(), "ProgressDeadlineExceeded".into())
    );
    let rss = replica_sets(&mut h);
    let new = rss[1].metadata.name.clone().unwrap();
    let msg = d
        .status
        .unwrap()
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_.as_deref() == Some("Progressing"))
        .unwrap()
        .message
        .unwrap();
    assert_eq!(
        msg,
        format!("ReplicaSet \"{new}\" has timed out progressing.")
    );
    assert_eq!(
        (replicas(&rss[0]), replicas(&rss[1])),
        (3, 1),
        "old pods kept"
    );
}

#[test]
fn scaling_mid_rollout_is_proportional() {
    let mut h = harness(14);
    h.apply(&WEB.replace("replicas: 3", "replicas: 10"));
    h.run(Duration::from_secs(3));
    h.ready_all("default", "app=web", "kubesim-worker");
    h.run(Duration::from_secs(3));
    h.patch(
        Kind::Deployment,
        "default",
        "web",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:broken"}]}}}}),
    )
    .unwrap();
    h.run(Duration::from_secs(5));
    // 10 replicas: surge 3, unavailable 2 -> new 3 then 5, old 8 (13 in all).
    let rss = replica_sets(&mut h);
    assert_eq!((replicas(&rss[0]), replicas(&rss[1])), (8, 5));
    h.patch(
        Kind::Deployment,
        "default",
        "web",
        json!({"spec": {"replicas": 20}}),
    )
    .unwrap();
    h.run(Duration::from_secs(5));
    // 25 allowed (20 + surge 5), 12 to add: old round(8*25/13)-8 = 7, new the other 5.
    let rss = replica_sets(&mut h);
    assert_eq!((replicas(&rss[0]), replicas(&rss[1])), (15, 10));
}

#[test]
fn paused_deployment_does_not_roll_until_resumed() {
    let mut h = harness(15);
    h.apply(WEB);
    h.run(Duration::from_secs(2));
    h.ready_all("default", "app=web", "kubesim-worker");
    h.patch(
        Kind::Deployment,
        "default",
        "web",
        json!({"spec": {"paused": true}}),
    )
    .unwrap();
    h.run(Duration::from_secs(2));
    assert_eq!(
        condition(&deployment(&mut h), "Progressing"),
        ("Unknown".into(), "DeploymentPaused".into())
    );
    h.patch(
        Kind::Deployment,
        "default",
        "web",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}}}),
    )
    .unwrap();
    h.run(Duration::from_secs(3));
    assert_eq!(replica_sets(&mut h).len(), 1, "no rollout while paused");
    h.patch(
        Kind::Deployment,
        "default",
        "web",
        json!({"spec": {"paused": false}}),
    )
    .unwrap();
    roll(&mut h, 100, 4, 3);
    assert_eq!(replica_sets(&mut h).len(), 2);
}

#[test]
fn annotations_added_after_a_rollout_reach_the_new_replicaset() {
    // `kubectl set image` then `kubectl annotate deployment web kubernetes.io/change-cause=…`:
    // the next sync copies the annotation onto the existing new ReplicaSet, where `rollout
    // history` reads it; the controller's own annotations are not copied from the Deployment.
    let mut h = harness(15);
    h.apply(WEB);
    h.run(Duration::from_secs(2));
    h.patch(
        Kind::Deployment,
        "default",
        "web",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}}}),
    )
    .unwrap();
    h.run(Duration::from_secs(2));
    h.patch(
        Kind::Deployment,
        "default",
        "web",
        json!({"metadata": {"annotations": {
            "kubernetes.io/change-cause": "image updated to 1.25",
            REVISION_ANNOTATION: "7",
        }}}),
    )
    .unwrap();
    h.run(Duration::from_secs(2));
    let rss = replica_sets(&mut h);
    assert_eq!(rss.len(), 2);
    let ann = |r: &ReplicaSet| r.metadata.annotations.clone().unwrap_or_default();
    let (old, new) = (ann(&rss[0]), ann(&rss[1]));
    assert_eq!(
        new.get("kubernetes.io/change-cause").map(String::as_str),
        Some("image updated to 1.25"),
        "{new:?}"
    );
    assert_eq!(
        new[REVISION_ANNOTATION], "2",
        "the revision stays the controller's"
    );
    assert_eq!(old.get("kubernetes.io/change-cause"), None, "{old:?}");
}
