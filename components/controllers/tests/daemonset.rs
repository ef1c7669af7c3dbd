//! The DaemonSet controller against a real apiserver: one pod per eligible node (taints with
//! the default daemon tolerations, nodeSelector), aimed at its node by a matchFields node
//! affinity; status; node label changes; RollingUpdate with maxUnavailable 1; OnDelete.

mod common;

use api::{Kind, Object, SharedObject};
use apiserver::DeleteOptions;
use common::{Harness, active};
use controllers::ControllerName;
use controllers::daemonset::target_node;
use serde_json::json;
use sim::Duration;

const DS: &str = r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: "agent:1"}]}
"#;

fn node(h: &mut Harness, name: &str, labels: &str, taints: &str) {
    h.apply(&format!(
        "apiVersion: v1\nkind: Node\nmetadata: {{name: {name}, labels: {{{labels}}}}}\nspec: {{taints: [{taints}]}}\n"
    ));
}

/// A kind-like cluster: a tainted control plane and two workers.
fn cluster(seed: u64) -> Harness {
    let mut h = Harness::new(seed, 1, &[ControllerName::DaemonSet]);
    h.until_leading();
    node(
        &mut h,
        "kubesim-control-plane",
        "node-role.kubernetes.io/control-plane: ''",
        "{key: node-role.kubernetes.io/control-plane, effect: NoSchedule}",
    );
    node(&mut h, "kubesim-worker", "disk: ssd", "");
    node(&mut h, "kubesim-worker2", "disk: hdd", "");
    h
}

/// (pod name, target node, pod-template-generation) of the live daemon pods, by node.
fn pods(h: &mut Harness) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = active(&h.list(Kind::Pod, "kube-system"))
        .iter()
        .map(|p| {
            (
                p.name().to_string(),
                target_node(p.as_pod().unwrap()).unwrap_or_default(),
                p.labels()
                    .get("pod-template-generation")
                    .cloned()
                    .unwrap_or_default(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

fn nodes_of(p: &[(String, String, String)]) -> Vec<&str> {
    p.iter().map(|(_, n, _)| n.as_str()).collect()
}

/// (desired, current, misscheduled, ready, available, updated, observedGeneration).
fn status(h: &mut Harness) -> (i32, i32, i32, i32, i32, i32, i64) {
    let ds = h.get(Kind::DaemonSet, "kube-system", "agent").unwrap();
    let Object::DaemonSet(ds) = ds.as_ref() else {
        unreachable!()
    };
    let s = ds.status.clone().unwrap_or_default();
    (
        s.desired_number_scheduled,
        s.current_number_scheduled,
        s.number_misscheduled,
        s.number_ready,
        s.number_available.unwrap_or(0),
        s.updated_number_scheduled.unwrap_or(0),
        s.observed_generation.unwrap_or(0),
    )
}

/// What the scheduler and kubelet do: bind each pending daemon pod to its target node and
/// report it Running and Ready.
fn run_pods(h: &mut Harness) {
    for (i, (name, node, _)) in pods(h).into_iter().enumerate() {
        let p = h.get(Kind::Pod, "kube-system", &name).unwrap();
        if common::crate_ready(p.as_pod().unwrap()) {
            continue;
        }
        h.set_pod(
            "kube-system",
            &name,
            &node,
            &format!("10.244.9.{}", i + 2),
            true,
        );
    }
}

/// What the kubelet does for a pod being deleted: it goes away.
fn finish_terminating(h: &mut Harness) -> Vec<String> {
    let mut gone = Vec::new();
    for p in h.list(Kind::Pod, "kube-system") {
        if p.is_terminating() {
            let opts = DeleteOptions {
                grace_period_seconds: Some(0),
                ..Default::default()
            };
            h.delete(Kind::Pod, "kube-system", p.name(), opts).unwrap();
            gone.push(p.name().to_string());
        }
    }
    gone
}

#[test]
fn one_pod_per_eligible_node_aimed_by_node_affinity() {
    let mut h = cluster(11);
    let ds = h.apply(DS);
    h.run(Duration::from_secs(3));
    let p = pods(&mut h);
    assert_eq!(nodes_of(&p), vec!["kubesim-worker", "kubesim-worker2"]);
    for (name, _, generation) in &p {
        assert!(name.starts_with("agent-") && name.len() == "agent-".len() + 5);
        assert_eq!(generation, "1");
    }
    let pod: SharedObject = h.get(Kind::Pod, "kube-system", &p[0].0).unwrap();
    let spec = pod.as_pod().unwrap().spec.clone().unwrap();
    assert_eq!(spec.node_name, None, "the scheduler binds it");
    let terms = spec
        .affinity
        .unwrap()
        .node_affinity
        .unwrap()
        .required_during_scheduling_ignored_during_execution
        .unwrap()
        .node_selector_terms;
    assert_eq!(
        serde_json::to_value(&terms).unwrap(),
        json!([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["kubesim-worker"]}]}])
    );
    let tolerations: Vec<String> = spec
        .tolerations
        .unwrap()
        .iter()
        .map(|t| format!("{}:{}", t.key.clone().unwrap(), t.effect.clone().unwrap()))
        .collect();
    assert_eq!(
        tolerations,
        vec![
            "node.kubernetes.io/not-ready:NoExecute",
            "node.kubernetes.io/unreachable:NoExecute",
            "node.kubernetes.io/disk-pressure:NoSchedule",
            "node.kubernetes.io/memory-pressure:NoSchedule",
            "node.kubernetes.io/pid-pressure:NoSchedule",
            "node.kubernetes.io/unschedulable:NoSchedule",
        ]
    );
    let r = pod.controller_ref().unwrap();
    assert_eq!((r.kind.as_str(), r.uid.as_str()), ("DaemonSet", ds.uid()));
    assert_eq!(status(&mut h), (2, 2, 0, 0, 0, 2, 1));

    run_pods(&mut h);
    h.run(Duration::from_secs(2));
    assert_eq!(status(&mut h), (2, 2, 0, 2, 2, 2, 1));

    // A not-ready, unschedulable node keeps its daemon pod (tolerated taints).
    h.patch(
        Kind::Node,
        "",
        "kubesim-worker2",
        json!({"spec": {"unschedulable": true, "taints": [
            {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
            {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}]}}),
    )
    .unwrap();
    // A new node gets one, the control plane once its taint is tolerated.
    node(&mut h, "kubesim-worker3", "", "");
    h.run(Duration::from_secs(3));
    let p = pods(&mut h);
    assert_eq!(
        nodes_of(&p),
        vec!["kubesim-worker", "kubesim-worker2", "kubesim-worker3"]
    );
    assert_eq!(status(&mut h), (3, 3, 0, 2, 2, 3, 1));

    // An untolerated NoExecute taint: the pod is deleted.
    h.patch(
        Kind::Node,
        "",
        "kubesim-worker3",
        json!({"spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoExecute"}]}}),
    )
    .unwrap();
    h.run(Duration::from_secs(3));
    assert_eq!(
        nodes_of(&pods(&mut h)),
        vec!["kubesim-worker", "kubesim-worker2"]
    );
    assert_eq!(status(&mut h).0, 2);
}

#[test]
fn node_selector_follows_node_labels() {
    let mut h = cluster(12);
    h.apply(&DS.replace(
        "spec: {containers",
        "spec: {nodeSelector: {disk: ssd}, containers",
    ));
    h.run(Duration::from_secs(3));
    assert_eq!(nodes_of(&pods(&mut h)), vec!["kubesim-worker"]);
    run_pods(&mut h);
    h.patch(
        Kind::Node,
        "",
        "kubesim-worker2",
        json!({"metadata": {"labels": {"disk": "ssd"}}}),
    )
    .unwrap();
    h.run(Duration::from_secs(3));
    assert_eq!(
        nodes_of(&pods(&mut h)),
        vec!["kubesim-worker", "kubesim-worker2"]
    );
    // Label removed: nodeSelector no longer fits, the pod goes (misscheduled until then).
    h.patch(
        Kind::Node,
        "",
        "kubesim-worker",
        json!({"metadata": {"labels": {"disk": null}}}),
    )
    .unwrap();
    h.run(Duration::from_secs(3));
    assert_eq!(nodes_of(&pods(&mut h)), vec!["kubesim-worker2"]);
    assert_eq!(finish_terminating(&mut h).len(), 1);
    h.run(Duration::from_secs(2));
    let s = status(&mut h);
    assert_eq!((s.0, s.1, s.2), (1, 1, 0));
}

/// maxUnavailable 1 over three nodes: one old pod is deleted at a time, its replacement
/// created when it is gone, and the next one only once the replacement is available.
#[test]
fn rolling_update_replaces_one_node_at_a_time() {
    let mut h = cluster(13);
    node(&mut h, "kubesim-worker3", "", "");
    h.apply(DS);
    h.run(Duration::from_secs(3));
    run_pods(&mut h);
    h.run(Duration::from_secs(2));
    assert_eq!(status(&mut h), (3, 3, 0, 3, 3, 3, 1));
    let before: Vec<String> = pods(&mut h).into_iter().map(|p| p.0).collect();

    h.patch(
        Kind::DaemonSet,
        "kube-system",
        "agent",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": "agent:2"}]}}}}),
    )
    .unwrap();
    let mut replaced_nodes = Vec::new();
    for round in 0..3 {
        h.run(Duration::from_secs(2));
        // Exactly one old pod is being deleted, the others stay.
        let terminating: Vec<SharedObject> = h
            .list(Kind::Pod, "kube-system")
            .into_iter()
            .filter(|p| p.is_terminating())
            .collect();
        assert_eq!(terminating.len(), 1, "round {round}");
        assert!(before.contains(&terminating[0].name().to_string()));
        replaced_nodes.push(target_node(terminating[0].as_pod().unwrap()).unwrap());
        let live = pods(&mut h);
        let old = live.iter().filter(|p| p.2 == "1").count();
        assert_eq!(old, 2 - round, "round {round}: {live:?}");
        // The kubelet finishes it; the controller creates the replacement; it becomes ready.
        finish_terminating(&mut h);
        h.run(Duration::from_secs(2));
        let live = pods(&mut h);
        assert_eq!(live.len(), 3, "round {round}: {live:?}");
        assert_eq!(live.iter().filter(|p| p.2 == "2").count(), round + 1);
        let s = status(&mut h);
        assert_eq!(
            (s.5, s.6),
            (round as i32 + 1, 2),
            "updated, observedGeneration"
        );
        run_pods(&mut h);
    }
    replaced_nodes.sort();
    assert_eq!(
        replaced_nodes,
        vec!["kubesim-worker", "kubesim-worker2", "kubesim-worker3"]
    );
    h.run(Duration::from_secs(2));
    assert_eq!(status(&mut h), (3, 3, 0, 3, 3, 3, 2));
    assert!(
        h.list(Kind::Pod, "kube-system")
            .iter()
            .all(|p| !p.is_terminating())
    );
}

#[test]
fn on_delete_replaces_only_deleted_pods() {
    let mut h = cluster(14);
    h.apply(&DS.replace(
        "  selector:",
        "  updateStrategy: {type: OnDelete}\n  selector:",
    ));
    h.run(Duration::from_secs(3));
    run_pods(&mut h);
    h.patch(
        Kind::DaemonSet,
        "kube-system",
        "agent",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": "agent:2"}]}}}}),
    )
    .unwrap();
    h.run(Duration::from_secs(3));
    let p = pods(&mut h);
    assert_eq!(
        p.iter().map(|x| x.2.as_str()).collect::<Vec<_>>(),
        vec!["1", "1"]
    );
    assert!(finish_terminating(&mut h).is_empty());
    let s = status(&mut h);
    assert_eq!((s.5, s.6), (0, 2), "nothing updated yet");
    let opts = DeleteOptions {
        grace_period_seconds: Some(0),
        ..Default::default()
    };
    h.delete(Kind::Pod, "kube-system", &p[1].0, opts).unwrap();
    h.run(Duration::from_secs(3));
    let p = pods(&mut h);
    assert_eq!(
        p.iter()
            .map(|x| (x.1.as_str(), x.2.as_str()))
            .collect::<Vec<_>>(),
        vec![("kubesim-worker", "1"), ("kubesim-worker2", "2")]
    );
}
