//! The node lifecycle controller against a real apiserver: a node whose kubelet stops
//! renewing its Lease goes Unknown after the grace period, is tainted unreachable, and its
//! pods are evicted 300 s later (DefaultTolerationSeconds) and replaced by their ReplicaSet;
//! when every node of the only zone is down, nothing is tainted (master disruption).

mod common;

use api::{Kind, Object};
use client::lease_lock::micro_time;
use common::{Harness, active};
use controllers::ControllerName;
use serde_json::json;
use sim::{Duration, Time};

fn node_yaml(name: &str, now: Time) -> String {
    let t = apiserver::objects::api_time(now);
    let ts = serde_json::to_string(&t).unwrap();
    format!(
        r#"
apiVersion: v1
kind: Node
metadata: {{name: {name}, labels: {{topology.kubernetes.io/zone: zone-a}}}}
status:
  conditions:
  - {{type: Ready, status: "True", reason: KubeletReady, lastHeartbeatTime: {ts}, lastTransitionTime: {ts}}}
"#
    )
}

fn renew(h: &mut Harness, name: &str) {
    let t = serde_json::to_value(micro_time(h.sim.now())).unwrap();
    if h.get(Kind::Lease, "kube-node-lease", name).is_none() {
        let lease = format!(
            "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {{name: {name}, namespace: kube-node-lease}}\nspec: {{holderIdentity: {name}, leaseDurationSeconds: 40, renewTime: {t}}}\n"
        );
        h.apply(&lease);
    } else {
        h.patch(
            Kind::Lease,
            "kube-node-lease",
            name,
            json!({"spec": {"renewTime": t}}),
        )
        .unwrap();
    }
}

fn ready_condition(h: &mut Harness, name: &str) -> (String, String) {
    let n = h.get(Kind::Node, "", name).unwrap();
    let Object::Node(n) = n.as_ref() else {
        unreachable!()
    };
    let c = n
        .status
        .as_ref()
        .unwrap()
        .conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap()
        .clone();
    (c.status, c.message.unwrap_or_default())
}

fn node_taints(h: &mut Harness, name: &str) -> Vec<String> {
    let n = h.get(Kind::Node, "", name).unwrap();
    let Object::Node(n) = n.as_ref() else {
        unreachable!()
    };
    let mut v: Vec<String> = n
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default()
        .iter()
        .map(|t| format!("{}:{}", t.key, t.effect))
        .collect();
    v.sort();
    v
}

#[test]
fn a_silent_node_goes_unknown_is_tainted_and_its_pods_are_evicted_after_300s() {
    let mut h = Harness::new(
        31,
        1,
        &[ControllerName::ReplicaSet, ControllerName::NodeLifecycle],
    );
    h.until_leading();
    let now = h.sim.now();
    h.apply(&node_yaml("w1", now));
    h.apply(&node_yaml("w2", now));
    renew(&mut h, "w1");
    renew(&mut h, "w2");
    h.apply(
        r#"
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: "nginx:1.25"}]}
"#,
    );
    h.run(Duration::from_secs(2));
    let pods = h.list(Kind::Pod, "default");
    let (p1, p2) = (pods[0].name().to_string(), pods[1].name().to_string());
    h.set_pod("default", &p1, "w1", "10.244.1.2", true);
    h.set_pod("default", &p2, "w2", "10.244.2.2", true);
    let silent_from = h.sim.now();

    // w2 keeps renewing every 10 s; w1 never again.
    let mut unknown_at = None;
    let mut tainted_at = None;
    let mut evicted_at = None;
    for _ in 0..80 {
        renew(&mut h, "w2");
        h.run(Duration::from_secs(5));
        let t = h.sim.now();
        if unknown_at.is_none() && ready_condition(&mut h, "w1").0 == "Unknown" {
            unknown_at = Some(t);
        }
        if tainted_at.is_none()
            && node_taints(&mut h, "w1")
                .contains(&"node.kubernetes.io/unreachable:NoExecute".to_string())
        {
            tainted_at = Some(t);
        }
        if evicted_at.is_none()
            && h.get(Kind::Pod, "default", &p1)
                .is_some_and(|p| p.is_terminating())
        {
            evicted_at = Some(t);
            break;
        }
    }
    let since = |t: Option<Time>| t.expect("happened").saturating_since(silent_from);
    let unknown = since(unknown_at);
    assert!(
        unknown >= Duration::from_secs(50) && unknown <= Duration::from_secs(62),
        "Unknown after {unknown}"
    );
    assert_eq!(
        ready_condition(&mut h, "w1").1,
        "Kubelet stopped posting node status."
    );
    assert_eq!(ready_condition(&mut h, "w2").0, "True");
    assert_eq!(
        node_taints(&mut h, "w1"),
        [
            "node.kubernetes.io/unreachable:NoExecute",
            "node.kubernetes.io/unreachable:NoSchedule"
        ]
    );
    assert!(node_taints(&mut h, "w2").is_empty());
    let tainted = since(tainted_at);
    assert!(
        tainted <= unknown + Duration::from_secs(5),
        "tainted after {tainted}"
    );
    let evicted = since(evicted_at).saturating_sub(tainted);
    assert!(
        evicted >= Duration::from_secs(295) && evicted <= Duration::from_secs(310),
        "evicted {evicted} after the taint"
    );
    // The pod on the healthy node stays; the ReplicaSet replaces the evicted one.
    h.run(Duration::from_secs(2));
    let live = active(&h.list(Kind::Pod, "default"));
    assert_eq!(live.len(), 2);
    assert!(live.iter().any(|p| p.name() == p2));
    assert!(!live.iter().any(|p| p.name() == p1));
    // The evicted pod was marked not ready when the node went Unknown.
    let p = h.get(Kind::Pod, "default", &p1).unwrap();
    assert!(!controllers::pods::is_ready(p.as_pod().unwrap()));
}

#[test]
fn when_every_node_of_every_zone_is_down_nothing_is_tainted_for_eviction() {
    let mut h = Harness::new(32, 1, &[ControllerName::NodeLifecycle]);
    h.until_leading();
    let now = h.sim.now();
    h.apply(&node_yaml("w1", now));
    h.apply(&node_yaml("w2", now));
    h.run(Duration::from_secs(90));
    for n in ["w1", "w2"] {
        assert_eq!(ready_condition(&mut h, n).0, "Unknown");
        assert_eq!(
            node_taints(&mut h, n),
            ["node.kubernetes.io/unreachable:NoSchedule"]
        );
    }
}

/// The Events of `involved` (kind/name) with `reason`, as (type, message).
fn events_of(h: &mut Harness, involved: (&str, &str), reason: &str) -> Vec<(String, String)> {
    h.list(Kind::Event, "default")
        .iter()
        .filter_map(|e| match e.as_ref() {
            Object::Event(e)
                if e.reason.as_deref() == Some(reason)
                    && e.involved_object.kind.as_deref() == Some(involved.0)
                    && e.involved_object.name.as_deref() == Some(involved.1) =>
            {
                Some((
                    e.type_.clone().unwrap_or_default(),
                    e.message.clone().unwrap_or_default(),
                ))
            }
            _ => None,
        })
        .collect()
}

fn pod_ready(h: &mut Harness, name: &str) -> bool {
    let p = h.get(Kind::Pod, "default", name).unwrap();
    controllers::pods::is_ready(p.as_pod().unwrap())
}

/// `MarkPodsNotReady` and `processPod`: when a node goes Unknown its ready pods get their
/// Ready condition set to False (what takes them out of EndpointSlices) with a Warning event
/// each, and the Node an event saying so; a pod reported ready again on that node (a late
/// status update) is marked again; the other node's pods are left alone.
#[test]
fn a_silent_nodes_pods_are_marked_not_ready_with_events() {
    let mut h = Harness::new(33, 1, &[ControllerName::NodeLifecycle]);
    h.until_leading();
    let now = h.sim.now();
    h.apply(&node_yaml("w1", now));
    h.apply(&node_yaml("w2", now));
    renew(&mut h, "w1");
    renew(&mut h, "w2");
    for name in ["a", "b", "c"] {
        h.apply(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec: {{containers: [{{name: c, image: \"nginx:1.25\"}}]}}\n"
        ));
    }
    h.set_pod("default", "a", "w1", "10.244.1.2", true);
    h.set_pod("default", "b", "w1", "10.244.1.3", true);
    h.set_pod("default", "c", "w2", "10.244.2.2", true);
    // w2 keeps renewing every 10 s; w1 never again: Unknown after the 50 s grace period.
    for _ in 0..7 {
        renew(&mut h, "w2");
        h.run(Duration::from_secs(10));
    }
    assert_eq!(ready_condition(&mut h, "w1").0, "Unknown");
    assert!(!pod_ready(&mut h, "a") && !pod_ready(&mut h, "b"));
    assert!(pod_ready(&mut h, "c"), "w2 is Ready");
    assert_eq!(
        events_of(&mut h, ("Node", "w1"), "NodeNotReady"),
        [(
            "Normal".to_string(),
            "Node w1 status is now: NodeNotReady".to_string()
        )]
    );
    for pod in ["a", "b"] {
        assert_eq!(
            events_of(&mut h, ("Pod", pod), "NodeNotReady"),
            [("Warning".to_string(), "Node is not ready".to_string())],
            "{pod}"
        );
    }
    assert!(events_of(&mut h, ("Pod", "c"), "NodeNotReady").is_empty());
    assert!(events_of(&mut h, ("Node", "w2"), "NodeNotReady").is_empty());
    // A late update says `a` is ready: the node is still not Ready, so it is marked again.
    h.set_pod("default", "a", "w1", "10.244.1.2", true);
    renew(&mut h, "w2");
    h.run(Duration::from_secs(2));
    assert!(!pod_ready(&mut h, "a"));
    assert_eq!(events_of(&mut h, ("Pod", "a"), "NodeNotReady").len(), 2);
    assert_eq!(events_of(&mut h, ("Pod", "b"), "NodeNotReady").len(), 1);
}
