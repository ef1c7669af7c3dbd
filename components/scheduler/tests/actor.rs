//! kube-scheduler against the real apiserver (apiserver::testkit): nodes and pods created by a
//! probe client, the scheduler binds pods, writes events and the PodScheduled condition, and
//! preempts a lower-priority pod.

use std::sync::Arc;

use api::{Kind, Object};
use apiserver::testkit::{Probe, TestMsg, call, run_until_ready, start_control_plane};
use apiserver::{ApiReply, ApiRequest, ListOptions, UserInfo, Verb};
use scheduler::{KubeScheduler, SchedulerConfig};
use sim::{ActorId, Duration, Sim, SimConfig};

struct Cluster {
    sim: Sim<TestMsg>,
    probe: ActorId,
    scheduler: ActorId,
    next_id: u64,
}

fn obj(yaml: &str) -> Arc<Object> {
    Arc::new(
        api::manifest::parse_objects(yaml)
            .expect("manifest")
            .remove(0),
    )
}

impl Cluster {
    fn new(seed: u64) -> Cluster {
        Cluster::with_config(seed, |_| {})
    }

    fn with_config(seed: u64, tweak: impl Fn(&mut SchedulerConfig)) -> Cluster {
        let mut sim = Sim::<TestMsg>::new(SimConfig::with_seed(seed));
        let cp = start_control_plane(&mut sim, 1, 1, |_| {}).unwrap();
        assert!(run_until_ready(&mut sim, &cp, Duration::from_secs(30)).unwrap());
        let api = cp.apiservers[0];
        let h = sim.add_host("client").unwrap();
        let probe = sim.add_actor(h, "probe", move |_| Probe::new(api)).unwrap();
        let h = sim.add_host("kubesim-control-plane").unwrap();
        let mut cfg = SchedulerConfig::new(vec![api], "kubesim-control-plane");
        tweak(&mut cfg);
        let scheduler = sim
            .add_actor(h, "kube-scheduler", move |_| {
                KubeScheduler::new(cfg.clone())
            })
            .unwrap();
        Cluster {
            sim,
            probe,
            scheduler,
            next_id: 1,
        }
    }

    fn call(&mut self, kind: Kind, ns: &str, name: &str, verb: Verb) -> Result<ApiReply, String> {
        self.next_id += 1;
        let req = ApiRequest::new(self.next_id, UserInfo::admin(), kind, verb)
            .in_namespace(ns)
            .named(name);
        match call(&mut self.sim, self.probe, req, Duration::from_secs(10)).unwrap() {
            Some(Ok(r)) => Ok(r),
            Some(Err(e)) => Err(e.message.clone()),
            None => Err("no answer".into()),
        }
    }

    fn create(&mut self, yaml: &str) {
        let o = obj(yaml);
        let (kind, ns) = (o.kind(), o.namespace().to_string());
        self.call(kind, &ns, "", Verb::Create(o)).expect("created");
    }

    fn node(&mut self, name: &str, cpu: &str, taint: bool) {
        let taints = if taint {
            "spec:\n  taints:\n  - {key: node-role.kubernetes.io/control-plane, effect: NoSchedule}\n"
        } else {
            ""
        };
        self.create(&format!(
            "apiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\n  labels: {{kubernetes.io/hostname: {name}}}\n{taints}status:\n  allocatable: {{cpu: \"{cpu}\", memory: 8Gi, pods: \"110\"}}\n  capacity: {{cpu: \"{cpu}\", memory: 8Gi, pods: \"110\"}}\n"
        ));
    }

    fn pod(&mut self, name: &str, cpu: &str, class: &str) {
        let class = if class.is_empty() {
            String::new()
        } else {
            format!("  priorityClassName: {class}\n")
        };
        self.create(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: default}}\nspec:\n{class}  containers:\n  - name: c\n    image: nginx\n    resources: {{requests: {{cpu: \"{cpu}\", memory: 1Gi}}}}\n"
        ));
    }

    fn get(&mut self, kind: Kind, name: &str) -> Option<Arc<Object>> {
        match self.call(kind, "default", name, Verb::Get(Default::default())) {
            Ok(ApiReply::Object(o)) => Some(o),
            _ => None,
        }
    }

    fn get_pod(&mut self, name: &str) -> Option<Arc<Object>> {
        self.get(Kind::Pod, name)
    }

    fn node_of(&mut self, name: &str) -> String {
        self.get_pod(name)
            .and_then(|o| o.as_pod().and_then(|p| p.spec.as_ref()?.node_name.clone()))
            .unwrap_or_default()
    }

    /// (reason, message, count) of the events about `pod`.
    fn events(&mut self, pod: &str) -> Vec<(String, String, i32)> {
        let Ok(ApiReply::List(l)) = self.call(
            Kind::Event,
            "default",
            "",
            Verb::List(ListOptions::default()),
        ) else {
            return Vec::new();
        };
        l.items
            .iter()
            .filter_map(|o| match o.as_ref() {
                Object::Event(e) if e.involved_object.name.as_deref() == Some(pod) => Some((
                    e.reason.clone().unwrap_or_default(),
                    e.message.clone().unwrap_or_default(),
                    e.count.unwrap_or(0),
                )),
                _ => None,
            })
            .collect()
    }

    fn run(&mut self, secs: u64) {
        self.sim.run_for(Duration::from_secs(secs)).unwrap();
    }

    fn scheduler(&self) -> &KubeScheduler {
        self.sim.actor::<KubeScheduler>(self.scheduler).unwrap()
    }
}

fn kind_cluster(seed: u64) -> Cluster {
    let mut c = Cluster::new(seed);
    c.node("kubesim-control-plane", "4", true);
    c.node("kubesim-worker", "4", false);
    c.node("kubesim-worker2", "4", false);
    c.node("kubesim-worker3", "2", false);
    // The lease is taken within a retry period or two.
    c.run(5);
    assert!(c.scheduler().is_leader(), "the only replica leads");
    c
}

#[test]
fn pods_are_bound_with_scheduled_events_and_misfits_get_failed_scheduling() {
    let mut c = kind_cluster(11);
    c.pod("busy", "2", "");
    c.run(2);
    let busy_node = c.node_of("busy");
    assert!(busy_node.starts_with("kubesim-worker"), "{busy_node}");
    c.pod("web", "1", "");
    c.run(2);
    let web_node = c.node_of("web");
    assert!(
        web_node.starts_with("kubesim-worker") && web_node != busy_node,
        "web on {web_node}, busy on {busy_node}"
    );
    let ev = c.events("web");
    assert!(
        ev.contains(&(
            "Scheduled".into(),
            format!("Successfully assigned default/web to {web_node}"),
            1
        )),
        "{ev:?}"
    );
    let explained = c.scheduler().explain("default/web").unwrap().to_string();
    assert!(
        explained.contains(&format!("result: scheduled to {web_node}")),
        "{explained}"
    );

    // 5 CPUs fit nowhere.
    c.pod("huge", "5", "");
    c.run(2);
    assert_eq!(c.node_of("huge"), "");
    let want = "0/4 nodes are available: 1 node(s) had untolerated taint(s), 3 Insufficient \
                cpu. preemption: 0/4 nodes are available: 1 Preemption is not helpful for \
                scheduling, 3 No preemption victims found for incoming pod..";
    let ev = c.events("huge");
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(
        (ev[0].0.as_str(), ev[0].1.as_str()),
        ("FailedScheduling", want)
    );
    let pod = c.get_pod("huge").unwrap();
    let cond = pod
        .as_pod()
        .and_then(|p| p.status.as_ref()?.conditions.clone())
        .unwrap_or_default();
    assert!(
        cond.iter().any(|c| c.type_ == "PodScheduled"
            && c.status == "False"
            && c.reason.as_deref() == Some("Unschedulable")
            && c.message.as_deref() == Some(want)),
        "{cond:?}"
    );
    // A new node is an event NodeResourcesFit cares about: the pod is retried (after its 1 s
    // backoff) and fails again, now counting five nodes.
    c.node("kubesim-worker4", "4", false);
    c.run(5);
    let ev = c.events("huge");
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert!(
        ev[1].1.starts_with(
            "0/5 nodes are available: 1 node(s) had untolerated taint(s), 4 Insufficient cpu."
        ),
        "{ev:?}"
    );
    // A label change is an update of the pod itself: retried, same message, so the event's
    // count goes up instead of a new event.
    c.call(
        Kind::Pod,
        "default",
        "huge",
        Verb::Patch {
            patch_type: apiserver::PatchType::Merge,
            patch: Arc::new(serde_json::json!({"metadata": {"labels": {"tier": "batch"}}})),
        },
    )
    .expect("patched");
    c.run(15);
    let ev = c.events("huge");
    assert_eq!((ev.len(), ev[1].2), (2, 2), "{ev:?}");
    // A node big enough takes it.
    c.node("kubesim-worker5", "8", false);
    c.run(15);
    assert_eq!(c.node_of("huge"), "kubesim-worker5");
    assert_eq!(c.scheduler().stats.bound, 3);
}

#[test]
fn a_high_priority_pod_preempts_a_low_priority_one() {
    let mut c = Cluster::new(12);
    c.node("kubesim-worker", "2", false);
    c.run(5);
    for (name, value) in [("low", 10), ("high", 1000)] {
        c.create(&format!(
            "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {{name: {name}}}\nvalue: {value}\n"
        ));
    }
    c.pod("batch", "1500m", "low");
    c.run(2);
    assert_eq!(c.node_of("batch"), "kubesim-worker");
    c.pod("urgent", "1", "high");
    c.run(3);
    // The victim is deleted (graceful: it terminates on its kubelet's schedule; there is no
    // kubelet here, so it stays terminating) and the preemptor is nominated.
    let urgent = c.get_pod("urgent").unwrap();
    let nominated = urgent
        .as_pod()
        .and_then(|p| p.status.as_ref()?.nominated_node_name.clone());
    assert_eq!(nominated.as_deref(), Some("kubesim-worker"));
    let batch = c.get_pod("batch");
    assert!(
        batch.as_ref().is_none_or(|b| b.is_terminating()),
        "victim deleted"
    );
    let ev = c.events("batch");
    assert!(
        ev.iter().any(|(r, m, _)| r == "Preempted"
            && m.starts_with("Preempted by pod ")
            && m.ends_with(" on node kubesim-worker")),
        "{ev:?}"
    );
    assert_eq!(c.scheduler().stats.preemptions, 1);
    let victim = batch.expect("terminating, not gone: no kubelet here");
    let conditions = victim
        .as_pod()
        .and_then(|p| p.status.as_ref()?.conditions.clone())
        .unwrap_or_default();
    assert!(
        conditions.iter().any(|c| c.type_ == "DisruptionTarget"
            && c.reason.as_deref() == Some("PreemptionByScheduler")),
        "{conditions:?}"
    );
    let decision = c.scheduler().decision("default/urgent").unwrap();
    assert_eq!(decision.nominated.as_deref(), Some("kubesim-worker"));
    assert_eq!(decision.victims, ["default/batch"]);
}

#[test]
fn one_replica_leads_and_the_other_takes_over_when_its_host_crashes() {
    let mut c = Cluster::new(13);
    let api = c.scheduler().config().apiservers[0];
    let h2 = c.sim.add_host("kubesim-control-plane2").unwrap();
    let cfg = SchedulerConfig::new(vec![api], "kubesim-control-plane2");
    let second = c
        .sim
        .add_actor(h2, "kube-scheduler", move |_| {
            KubeScheduler::new(cfg.clone())
        })
        .unwrap();
    c.node("kubesim-worker", "4", false);
    c.run(5);
    let leads = |c: &Cluster, id: ActorId| c.sim.actor::<KubeScheduler>(id).unwrap().is_leader();
    let (first, second) = (c.scheduler, second);
    assert!(leads(&c, first) ^ leads(&c, second), "exactly one leader");
    let (leader, standby) = if leads(&c, first) {
        (first, second)
    } else {
        (second, first)
    };
    c.pod("a", "1", "");
    c.run(2);
    assert_eq!(c.node_of("a"), "kubesim-worker");
    let leader_host = c.sim.actor_host(leader).unwrap();
    c.sim.apply_fault(sim::Fault::Crash(leader_host)).unwrap();
    // The lease (15 s) must expire before the standby takes it.
    c.run(25);
    assert!(leads(&c, standby));
    c.pod("b", "1", "");
    c.run(2);
    assert_eq!(c.node_of("b"), "kubesim-worker");
    let s = c.sim.actor::<KubeScheduler>(standby).unwrap();
    assert_eq!(
        s.stats.bound, 1,
        "the standby bound only the pod created after the crash"
    );
}

/// A 2-CPU node, then four 1-CPU pods created in one burst: the scheduler pops them in one
/// batch, before any binding comes back. The assumed pods keep the node full after two; the
/// planted bug forgets each assumed pod once its binding is sent, so every cycle sees an
/// empty node and all four are bound.
fn pods_bound_after_a_burst(planted_bug: bool) -> usize {
    let mut c = Cluster::with_config(13, |cfg| cfg.planted_bug_ignore_assumed_pods = planted_bug);
    c.node("kubesim-worker", "2", false);
    c.run(5);
    for i in 0..4 {
        let req = ApiRequest::new(
            100 + i,
            UserInfo::admin(),
            Kind::Pod,
            Verb::Create(obj(&format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: default}}\nspec:\n  containers:\n  - name: c\n    image: nginx\n    resources: {{requests: {{cpu: \"1\"}}}}\n"
            ))),
        )
        .in_namespace("default");
        c.sim
            .invoke::<Probe, _>(c.probe, |p, ctx| p.send(ctx, req))
            .unwrap();
    }
    c.run(5);
    (0..4)
        .filter(|i| c.node_of(&format!("p{i}")) == "kubesim-worker")
        .count()
}

#[test]
fn assumed_pods_prevent_over_commit_and_the_planted_bug_over_commits() {
    assert_eq!(pods_bound_after_a_burst(false), 2);
    assert_eq!(pods_bound_after_a_burst(true), 4);
}

/// The system default spreading finds the pod's controller by its controller reference, as
/// upstream's `helper.DefaultSelector`: a bare pod that merely matches a ReplicaSet's selector
/// gets no default constraints, the ReplicaSet's own pod does.
#[test]
fn default_spreading_follows_the_controller_reference_not_a_matching_selector() {
    let mut c = kind_cluster(5);
    c.create(
        "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: web, namespace: default}\nspec:\n  replicas: 0\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: nginx}]}\n",
    );
    let rs = c
        .get(Kind::ReplicaSet, "web")
        .expect("the ReplicaSet was created");
    let uid = rs.metadata().uid.clone().unwrap();
    c.create(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: stray, namespace: default, labels: {app: web}}\nspec: {containers: [{name: c, image: nginx}]}\n",
    );
    c.create(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: owned\n  namespace: default\n  labels: {{app: web}}\n  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: web, uid: {uid}, controller: true}}]\nspec: {{containers: [{{name: c, image: nginx}}]}}\n"
    ));
    c.run(2);
    let skipped = |c: &Cluster, pod: &str| {
        let text = c.scheduler().explain(pod).unwrap().to_string();
        text.lines()
            .find(|l| l.contains("scores skipped"))
            .is_some_and(|l| l.contains("PodTopologySpread"))
    };
    assert!(
        skipped(&c, "default/stray"),
        "a bare pod has no default spreading"
    );
    assert!(
        !skipped(&c, "default/owned"),
        "the ReplicaSet's pod is spread"
    );
}
