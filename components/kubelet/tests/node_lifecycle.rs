//! The kubelet and the runtime on one worker host against a real control plane (one etcd
//! member, one kube-apiserver): pods created with `spec.nodeName` (no scheduler here) go
//! through their lifecycle, and the Node and its Lease are kept fresh.

use std::net::Ipv4Addr;
use std::sync::Arc;

use api::k8s_openapi::api::coordination::v1::Lease;
use api::k8s_openapi::api::core::v1::{Node, Pod};
use api::{Kind, Object};
use apiserver::testkit::{self, ControlPlane, Probe};
use apiserver::{
    ApiEnvelope, ApiMessage, ApiReply, ApiRequest, DeleteOptions, GetOptions, StatusError,
    StoredValue, UserInfo, Verb,
};
use kubelet::worker::CState;
use kubelet::{Kubelet, KubeletConfig};
use net::{Endpoint, Outcome, TrafficEnvelope, TrafficMessage};
use runtime::{
    ContainerRuntime, ImageBehaviour, ImageCatalog, RuntimeConfig, RuntimeEnvelope, RuntimeMessage,
};
use sim::{Actor, ActorId, Ctx, Duration, Message, Sim, SimConfig, Time, TraceHasher};
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

/// Sends Service requests and keeps the answers.
#[derive(Default)]
struct TrafficClient {
    answers: Vec<(u64, Outcome)>,
}

impl Actor<Msg> for TrafficClient {
    fn on_message(&mut self, _ctx: &mut Ctx<'_, Msg>, _from: ActorId, msg: Msg) {
        if let Msg::Traffic(TrafficMessage::Response { id, outcome, .. }) = msg {
            self.answers.push((id, outcome));
        }
    }
}

const NODE: &str = "kubesim-worker";
const CP_NODE: &str = "kubesim-control-plane";

struct World {
    sim: Sim<Msg>,
    #[allow(dead_code)]
    cp: ControlPlane,
    probe: ActorId,
    runtime: ActorId,
    kubelet: ActorId,
    next_id: u64,
}

fn world(seed: u64, images: ImageCatalog, control_plane: bool) -> World {
    let mut sim = Sim::<Msg>::new(SimConfig::with_seed(seed));
    let cp = testkit::start_control_plane(&mut sim, 1, 1, |_| {}).unwrap();
    let (name, index, ip) = if control_plane {
        (CP_NODE, 0, Ipv4Addr::new(172, 18, 0, 2))
    } else {
        (NODE, 1, Ipv4Addr::new(172, 18, 0, 3))
    };
    let host = sim.add_host(name).unwrap();
    let cidr = net::node_pod_cidr(index).unwrap();
    let mut rcfg = RuntimeConfig::new(name, ip, cidr);
    rcfg.images = Arc::new(images);
    rcfg.preloaded_images = runtime::kind_preloaded_images();
    let runtime = sim
        .add_actor(host, "containerd", move |_| {
            ContainerRuntime::<Msg>::new(rcfg.clone())
        })
        .unwrap();
    let kcfg = KubeletConfig::new(
        name,
        ip,
        control_plane,
        cidr,
        cp.apiservers.clone(),
        runtime,
    );
    let kubelet = sim
        .add_actor(host, "kubelet", move |_| Kubelet::<Msg>::new(kcfg.clone()))
        .unwrap();
    let ph = sim.add_host("terminal").unwrap();
    let server = cp.apiservers[0];
    let probe = sim
        .add_actor(ph, "probe", move |_| Probe::new(server))
        .unwrap();
    assert!(testkit::run_until_ready(&mut sim, &cp, Duration::from_secs(30)).unwrap());
    World {
        sim,
        cp,
        probe,
        runtime,
        kubelet,
        next_id: 1,
    }
}

impl World {
    fn call(
        &mut self,
        kind: Kind,
        ns: &str,
        name: &str,
        verb: Verb,
    ) -> Result<ApiReply, StatusError> {
        self.next_id += 1;
        let req = ApiRequest::new(self.next_id, UserInfo::admin(), kind, verb)
            .in_namespace(ns)
            .named(name);
        testkit::call(&mut self.sim, self.probe, req, Duration::from_secs(10))
            .unwrap()
            .expect("the apiserver answers")
    }

    fn create(&mut self, yaml_json: serde_json::Value) {
        let obj: Object = serde_json::from_value(yaml_json).unwrap();
        let (kind, ns) = (obj.kind(), obj.namespace().to_string());
        self.call(kind, &ns, "", Verb::Create(Arc::new(obj)))
            .expect("created");
    }

    fn get(&mut self, kind: Kind, ns: &str, name: &str) -> Option<Arc<Object>> {
        match self.call(kind, ns, name, Verb::Get(GetOptions::default())) {
            Ok(ApiReply::Object(o)) => Some(o),
            Err(e) if e.code == 404 => None,
            other => panic!("get {name}: {other:?}"),
        }
    }

    fn pod(&mut self, name: &str) -> Option<Pod> {
        self.get(Kind::Pod, "default", name)
            .map(|o| match o.as_ref() {
                Object::Pod(p) => p.as_ref().clone(),
                _ => unreachable!(),
            })
    }

    fn run(&mut self, d: Duration) {
        self.sim.run_for(d).unwrap();
    }

    /// Runs in `step`s until `f` holds, at most `limit`; returns the time it held.
    fn until(
        &mut self,
        limit: Duration,
        step: Duration,
        mut f: impl FnMut(&mut World) -> bool,
    ) -> Time {
        let deadline = self.sim.now() + limit;
        while self.sim.now() < deadline {
            if f(self) {
                return self.sim.now();
            }
            self.run(step);
        }
        panic!("condition not met within {limit}");
    }

    fn kubelet(&self) -> &Kubelet<Msg> {
        self.sim.actor::<Kubelet<Msg>>(self.kubelet).unwrap()
    }

    fn worker_state(&self, pod: &str) -> Option<CState> {
        self.kubelet()
            .pod("default", pod)
            .map(|w| w.app[0].state.clone())
    }
}

fn pod_json(name: &str, image: &str, extra_container: serde_json::Value) -> serde_json::Value {
    let mut container = serde_json::json!({"name": "app", "image": image});
    if let (Some(c), Some(extra)) = (container.as_object_mut(), extra_container.as_object()) {
        for (k, v) in extra {
            c.insert(k.clone(), v.clone());
        }
    }
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": NODE, "containers": [container]},
    })
}

fn phase(p: &Pod) -> String {
    p.status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_default()
}

fn condition_times(p: &Pod) -> Vec<(String, String, i64)> {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            (
                c.type_,
                c.status,
                c.last_transition_time.map_or(0, |t| t.0.as_second()),
            )
        })
        .collect()
}

#[test]
fn a_pod_goes_from_pending_to_running_with_its_conditions_in_order() {
    let mut w = world(1, ImageCatalog::new(), false);
    w.create(pod_json("web", "nginx:1.27", serde_json::json!({})));
    let first = w.pod("web").unwrap();
    assert_eq!(phase(&first), "Pending");
    w.until(Duration::from_secs(20), Duration::from_millis(200), |w| {
        w.pod("web").is_some_and(|p| phase(&p) == "Running")
    });
    let p = w.pod("web").unwrap();
    let st = p.status.clone().unwrap();
    let ip: Ipv4Addr = st.pod_ip.clone().unwrap().parse().unwrap();
    assert_eq!(
        net::ClusterCidr::KIND.node_of(ip),
        net::node_pod_cidr(1),
        "pod IP {ip} from the node's /24"
    );
    assert_eq!(st.host_ip.as_deref(), Some("172.18.0.3"));
    assert_eq!(st.qos_class.as_deref(), Some("BestEffort"));
    let cs = &st.container_statuses.clone().unwrap()[0];
    assert!(cs.ready && cs.state.as_ref().unwrap().running.is_some());
    assert!(
        cs.container_id
            .as_ref()
            .unwrap()
            .starts_with("containerd://")
    );
    let conds = condition_times(&p);
    let types: Vec<&str> = conds.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "PodReadyToStartContainers",
            "Initialized",
            "Ready",
            "ContainersReady",
            "PodScheduled"
        ]
    );
    assert!(conds.iter().all(|(_, s, _)| s == "True"), "{conds:?}");
    let at = |t: &str| conds.iter().find(|c| c.0 == t).unwrap().2;
    // The order in which they turned true.
    assert!(at("PodScheduled") <= at("PodReadyToStartContainers"));
    assert!(at("PodReadyToStartContainers") <= at("Initialized"));
    assert!(at("Initialized") <= at("ContainersReady"));
    assert!(at("ContainersReady") <= at("Ready"));
    // The image was pulled (not preloaded) and the container runs in the runtime.
    let rt = w.sim.actor::<ContainerRuntime<Msg>>(w.runtime).unwrap();
    assert!(rt.state().images.get("nginx:1.27").is_some());
    let ps = runtime::crictl::ps(rt.state(), w.sim.now(), false);
    assert!(
        ps.lines()
            .nth(1)
            .is_some_and(|l| l.contains("Running") && l.contains("app") && l.contains("web")),
        "{ps}"
    );
}

#[test]
fn the_node_registers_and_its_lease_renews_every_ten_seconds() {
    let mut w = world(2, ImageCatalog::new(), false);
    w.run(Duration::from_secs(3));
    let node = match w.get(Kind::Node, "", NODE).expect("registered").as_ref() {
        Object::Node(n) => n.as_ref().clone(),
        _ => unreachable!(),
    };
    let labels = node.metadata.labels.clone().unwrap();
    assert_eq!(labels["kubernetes.io/hostname"], NODE);
    assert_eq!(labels["kubernetes.io/os"], "linux");
    assert_eq!(
        node.spec.as_ref().unwrap().pod_cidr.as_deref(),
        Some("10.244.1.0/24")
    );
    let ready = node_ready(&node);
    assert_eq!(
        ready,
        (
            "True".to_string(),
            "kubelet is posting ready status".to_string()
        )
    );
    let renew = |w: &mut World| -> (Lease, i128) {
        match w
            .get(Kind::Lease, "kube-node-lease", NODE)
            .expect("lease")
            .as_ref()
        {
            Object::Lease(l) => {
                let t = l
                    .spec
                    .as_ref()
                    .unwrap()
                    .renew_time
                    .clone()
                    .unwrap()
                    .0
                    .as_nanosecond();
                (l.as_ref().clone(), t)
            }
            _ => unreachable!(),
        }
    };
    let (lease, t1) = renew(&mut w);
    let spec = lease.spec.clone().unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some(NODE));
    assert_eq!(spec.lease_duration_seconds, Some(40));
    assert_eq!(lease.metadata.owner_references.unwrap()[0].kind, "Node");
    w.run(Duration::from_secs(30));
    let (_, t2) = renew(&mut w);
    let advanced_s = (t2 - t1) as f64 / 1e9;
    assert!(
        (20.0..=32.0).contains(&advanced_s),
        "renewTime advanced {advanced_s} s in 30 s"
    );
    assert!(w.kubelet().stats.lease_renewals >= 3);
}

fn node_ready(node: &Node) -> (String, String) {
    let c = node
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

#[test]
fn a_crashing_container_restarts_with_doubling_back_off() {
    let crashy = ImageBehaviour {
        exits_after: Some(Duration::from_secs(5)),
        exit_code: 1,
        ..ImageBehaviour::default()
    };
    let mut w = world(3, ImageCatalog::new().with("crashy:1", crashy), false);
    w.create(pod_json("crashy", "crashy:1", serde_json::json!({})));
    // (started_at, finished_at) of every instance, in order.
    let mut starts: Vec<Time> = Vec::new();
    let mut finishes: Vec<Time> = Vec::new();
    let mut saw_backoff_message = None;
    let deadline = w.sim.now() + Duration::from_secs(700);
    while w.sim.now() < deadline && starts.len() < 8 {
        w.run(Duration::from_millis(500));
        let Some(worker) = w.kubelet().pod("default", "crashy") else {
            continue;
        };
        let c = &worker.app[0];
        match &c.state {
            CState::Running { started_at } if starts.last() != Some(started_at) => {
                starts.push(*started_at)
            }
            CState::Waiting { reason, message }
                if reason == "CrashLoopBackOff" && c.restart_count == 2 =>
            {
                saw_backoff_message = message.clone();
            }
            _ => {}
        }
        if let Some(t) = &c.last_terminated
            && finishes.last() != Some(&t.finished_at)
        {
            finishes.push(t.finished_at);
            assert_eq!(t.exit_code, 1);
            assert_eq!(t.reason, "Error");
        }
    }
    assert!(starts.len() >= 8, "instances started: {}", starts.len());
    let waits: Vec<u64> = starts
        .iter()
        .skip(1)
        .zip(finishes.iter())
        .map(|(s, f)| s.saturating_since(*f).as_secs())
        .collect();
    assert_eq!(waits, vec![0, 10, 20, 40, 80, 160, 300]);
    let msg = saw_backoff_message.expect("CrashLoopBackOff while waiting");
    assert!(
        msg.starts_with("back-off 20s restarting failed container=app pod=crashy_default("),
        "{msg}"
    );
    let p = w.pod("crashy").unwrap();
    assert_eq!(phase(&p), "Running");
    let cs = &p.status.unwrap().container_statuses.unwrap()[0];
    assert!(cs.restart_count >= 7);
    assert_eq!(
        cs.last_state
            .as_ref()
            .unwrap()
            .terminated
            .as_ref()
            .unwrap()
            .exit_code,
        1
    );
}

#[test]
fn a_deleted_pod_terminates_gracefully_and_is_removed() {
    let slow_stop = ImageBehaviour {
        shutdown_after: Duration::from_secs(5),
        ..ImageBehaviour::default()
    };
    let stubborn = ImageBehaviour {
        shutdown_after: Duration::from_secs(120),
        ..ImageBehaviour::default()
    };
    let images = ImageCatalog::new()
        .with("slow-stop:1", slow_stop)
        .with("stubborn:1", stubborn);
    let mut w = world(4, images, false);
    w.create(pod_json("polite", "slow-stop:1", serde_json::json!({})));
    w.create(pod_json("stubborn", "stubborn:1", serde_json::json!({})));
    w.until(Duration::from_secs(20), Duration::from_millis(200), |w| {
        ["polite", "stubborn"]
            .iter()
            .all(|n| w.pod(n).is_some_and(|p| phase(&p) == "Running"))
    });
    let deleted_at = w.sim.now();
    let r = w.call(
        Kind::Pod,
        "default",
        "polite",
        Verb::Delete(DeleteOptions::default()),
    );
    assert!(
        matches!(r, Ok(ApiReply::Deleted { gone: false, .. })),
        "graceful: {r:?}"
    );
    let r = w.call(
        Kind::Pod,
        "default",
        "stubborn",
        Verb::Delete(DeleteOptions {
            grace_period_seconds: Some(3),
            ..Default::default()
        }),
    );
    assert!(matches!(r, Ok(ApiReply::Deleted { gone: false, .. })));
    // Terminating, not gone, while the process shuts down.
    w.run(Duration::from_secs(2));
    assert!(
        w.pod("polite")
            .is_some_and(|p| p.metadata.deletion_timestamp.is_some())
    );
    let gone_stubborn = w.until(Duration::from_secs(10), Duration::from_millis(100), |w| {
        w.pod("stubborn").is_none()
    });
    let gone_polite = w.until(Duration::from_secs(30), Duration::from_millis(100), |w| {
        w.pod("polite").is_none()
    });
    let s = gone_stubborn.saturating_since(deleted_at).as_millis();
    let p = gone_polite.saturating_since(deleted_at).as_millis();
    assert!(
        (3_000..4_500).contains(&s),
        "SIGKILL after the 3 s grace period: gone after {s} ms"
    );
    assert!(
        (5_000..6_500).contains(&p),
        "SIGTERM honoured in 5 s: gone after {p} ms"
    );
    w.run(Duration::from_secs(1));
    let rt = w.sim.actor::<ContainerRuntime<Msg>>(w.runtime).unwrap();
    assert!(
        rt.state().sandboxes.is_empty(),
        "sandboxes removed: {:?} workers {:?}",
        rt.state()
            .sandboxes
            .values()
            .map(|s| (&s.name, s.state))
            .collect::<Vec<_>>(),
        w.kubelet()
            .pods()
            .map(|p| (p.key(), p.terminated, p.terminating))
            .collect::<Vec<_>>()
    );
    assert!(rt.state().by_ip.is_empty(), "addresses released");
}

#[test]
fn an_image_that_fails_to_pull_backs_off() {
    let missing = ImageBehaviour {
        pull_error: Some("docker.io/library/nginx:1.161: not found".into()),
        ..ImageBehaviour::default()
    };
    let mut w = world(5, ImageCatalog::new().with("nginx:1.161", missing), false);
    w.create(pod_json("bad", "nginx:1.161", serde_json::json!({})));
    let mut reasons: Vec<(u64, String)> = Vec::new();
    let start = w.sim.now();
    for _ in 0..80 {
        w.run(Duration::from_millis(500));
        if let Some(CState::Waiting { reason, .. }) = w.worker_state("bad")
            && reasons.last().is_none_or(|(_, r)| *r != reason)
        {
            reasons.push((w.sim.now().saturating_since(start).as_secs(), reason));
        }
    }
    let names: Vec<&str> = reasons
        .iter()
        .map(|(_, r)| r.as_str())
        .skip_while(|r| *r == "ContainerCreating")
        .collect();
    assert_eq!(
        names[..4],
        [
            "ErrImagePull",
            "ImagePullBackOff",
            "ErrImagePull",
            "ImagePullBackOff"
        ],
        "{reasons:?}"
    );
    let p = w.pod("bad").unwrap();
    assert_eq!(phase(&p), "Pending");
    let waiting = p.status.unwrap().container_statuses.unwrap()[0]
        .state
        .clone()
        .unwrap()
        .waiting
        .unwrap();
    assert!(matches!(
        waiting.reason.as_deref(),
        Some("ErrImagePull" | "ImagePullBackOff")
    ));
    let rt = w.sim.actor::<ContainerRuntime<Msg>>(w.runtime).unwrap();
    // Pulls at ~1 s, ~11 s, ~31 s within 40 s: 10 s then 20 s of back-off.
    assert_eq!(rt.state().images.pulls, 3);
}

#[test]
fn readiness_gates_the_ready_condition_and_traffic_is_answered() {
    let slow = ImageBehaviour {
        ready_after: Duration::from_secs(20),
        ..ImageBehaviour::default()
    };
    let mut w = world(6, ImageCatalog::new().with("slow:1", slow), false);
    let probe = serde_json::json!({"readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 5}});
    w.create(pod_json("slow", "slow:1", probe));
    w.until(Duration::from_secs(20), Duration::from_millis(200), |w| {
        w.pod("slow").is_some_and(|p| phase(&p) == "Running")
    });
    let running_at = w.sim.now();
    let p = w.pod("slow").unwrap();
    let ready = condition_times(&p)
        .into_iter()
        .find(|c| c.0 == "Ready")
        .unwrap();
    assert_eq!(ready.1, "False");
    let reason = p
        .status
        .as_ref()
        .unwrap()
        .conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == "ContainersReady")
        .unwrap()
        .clone();
    assert_eq!(reason.reason.as_deref(), Some("ContainersNotReady"));
    assert_eq!(
        reason.message.as_deref(),
        Some("containers with unready status: [app]")
    );
    let ip: Ipv4Addr = p.status.unwrap().pod_ip.unwrap().parse().unwrap();
    // Traffic before it listens is refused; after, answered.
    let th = w.sim.add_host("client").unwrap();
    let client = w
        .sim
        .add_actor(th, "client", |_| TrafficClient::default())
        .unwrap();
    let send = |w: &mut World, id: u64, to: Ipv4Addr| {
        let msg = Msg::Traffic(TrafficMessage::Request {
            id,
            to: Endpoint { ip: to, port: 80 },
            service: Endpoint {
                ip: Ipv4Addr::new(10, 96, 0, 10),
                port: 80,
            },
            from: Ipv4Addr::new(10, 244, 0, 253),
        });
        w.sim.send_as(client, w.runtime, msg);
        w.run(Duration::from_millis(100));
    };
    send(&mut w, 1, ip);
    let ready_at = w.until(Duration::from_secs(40), Duration::from_millis(500), |w| {
        w.pod("slow").is_some_and(|p| {
            condition_times(&p)
                .iter()
                .any(|c| c.0 == "Ready" && c.1 == "True")
        })
    });
    let took = ready_at.saturating_since(running_at).as_secs();
    assert!((15..=26).contains(&took), "ready {took} s after running");
    send(&mut w, 2, ip);
    send(&mut w, 3, Ipv4Addr::new(10, 244, 1, 200));
    let answers = &w.sim.actor::<TrafficClient>(client).unwrap().answers;
    assert_eq!(
        answers,
        &vec![
            (1, Outcome::Refused),
            (2, Outcome::Answered { status: 200 }),
            (3, Outcome::Refused)
        ]
    );
}

#[test]
fn a_missing_configmap_blocks_the_container_until_it_exists() {
    let mut w = world(7, ImageCatalog::new(), false);
    let env = serde_json::json!({"env": [{"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}}]});
    w.create(pod_json("configured", "nginx:1.27", env));
    w.until(Duration::from_secs(10), Duration::from_millis(200), |w| {
        matches!(w.worker_state("configured"), Some(CState::Waiting { reason, .. }) if reason == "CreateContainerConfigError")
    });
    let p = w.pod("configured").unwrap();
    let waiting = p.status.unwrap().container_statuses.unwrap()[0]
        .state
        .clone()
        .unwrap()
        .waiting
        .unwrap();
    assert_eq!(
        waiting.message.as_deref(),
        Some("configmap \"settings\" not found")
    );
    w.create(serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "default"},
        "data": {"mode": "fast"},
    }));
    w.until(Duration::from_secs(15), Duration::from_millis(500), |w| {
        w.pod("configured").is_some_and(|p| phase(&p) == "Running")
    });
}

#[test]
fn control_plane_static_pods_have_mirror_pods_in_kube_system() {
    let mut w = world(8, ImageCatalog::new(), true);
    w.run(Duration::from_secs(5));
    for component in [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
    ] {
        let name = format!("{component}-{CP_NODE}");
        let obj = w
            .get(Kind::Pod, "kube-system", &name)
            .unwrap_or_else(|| panic!("{name} mirror pod"));
        let Object::Pod(p) = obj.as_ref() else {
            unreachable!()
        };
        let ann = p.metadata.annotations.clone().unwrap();
        assert!(ann.contains_key("kubernetes.io/config.mirror"), "{name}");
        assert_eq!(ann["kubernetes.io/config.source"], "file");
        assert_eq!(phase(p), "Running", "{name}");
        assert_eq!(p.metadata.labels.as_ref().unwrap()["tier"], "control-plane");
        assert_eq!(
            p.status.as_ref().unwrap().pod_ip.as_deref(),
            Some("172.18.0.2"),
            "host network"
        );
    }
    let node = match w.get(Kind::Node, "", CP_NODE).unwrap().as_ref() {
        Object::Node(n) => n.as_ref().clone(),
        _ => unreachable!(),
    };
    let taints = node.spec.unwrap().taints.unwrap();
    assert_eq!(taints[0].key, "node-role.kubernetes.io/control-plane");
    assert_eq!(taints[0].effect, "NoSchedule");
}

#[test]
fn init_containers_run_first_and_a_finished_pod_succeeds() {
    let once = ImageBehaviour {
        exits_after: Some(Duration::from_secs(3)),
        exit_code: 0,
        ..ImageBehaviour::default()
    };
    let mut w = world(
        9,
        ImageCatalog::new()
            .with("job:1", once.clone())
            .with("setup:1", once),
        false,
    );
    w.create(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "batch", "namespace": "default"},
        "spec": {
            "nodeName": NODE,
            "restartPolicy": "Never",
            "initContainers": [{"name": "setup", "image": "setup:1"}],
            "containers": [{"name": "work", "image": "job:1"}],
        },
    }));
    w.run(Duration::from_secs(3));
    let p = w.pod("batch").unwrap();
    assert_eq!(phase(&p), "Pending");
    let init = condition_times(&p)
        .into_iter()
        .find(|c| c.0 == "Initialized")
        .unwrap();
    assert_eq!(init.1, "False", "the init container is still running");
    let waiting = p.status.unwrap().container_statuses.unwrap()[0]
        .state
        .clone()
        .unwrap()
        .waiting
        .unwrap();
    assert_eq!(waiting.reason.as_deref(), Some("PodInitializing"));
    w.until(Duration::from_secs(20), Duration::from_millis(500), |w| {
        w.pod("batch").is_some_and(|p| phase(&p) == "Succeeded")
    });
    let st = w.pod("batch").unwrap().status.unwrap();
    let term = st.container_statuses.unwrap()[0]
        .state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(
        (term.exit_code, term.reason.as_deref()),
        (0, Some("Completed"))
    );
    let init_term = st.init_container_statuses.unwrap()[0]
        .state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(init_term.reason.as_deref(), Some("Completed"));
    let ready = st
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_deref()),
        ("False", Some("PodCompleted"))
    );
}

#[test]
fn a_failing_liveness_probe_restarts_the_container_after_three_periods() {
    let sick = ImageBehaviour {
        unhealthy_after: Some(Duration::from_secs(15)),
        ..ImageBehaviour::default()
    };
    let mut w = world(10, ImageCatalog::new().with("sick:1", sick), false);
    let probe =
        serde_json::json!({"livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}});
    w.create(pod_json("sick", "sick:1", probe));
    let started = w.until(Duration::from_secs(20), Duration::from_millis(100), |w| {
        matches!(w.worker_state("sick"), Some(CState::Running { .. }))
    });
    // Probes at 0, 10, 20 (fail), 30 (fail), 40 (fail: the third) -> killed, restarted.
    let restarted = w.until(Duration::from_secs(60), Duration::from_millis(100), |w| {
        w.kubelet()
            .pod("default", "sick")
            .is_some_and(|p| p.app[0].restart_count == 1)
    });
    let after = restarted.saturating_since(started).as_secs();
    assert!(
        (39..=41).contains(&after),
        "restarted {after} s after the start"
    );
    let last = w.kubelet().pod("default", "sick").unwrap().app[0]
        .last_terminated
        .clone()
        .unwrap();
    assert_eq!(
        last.exit_code, 0,
        "a container that honours SIGTERM exits 0"
    );
}
