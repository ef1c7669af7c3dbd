//! kube-proxy actors against a real control plane (apiserver::testkit): Services and
//! EndpointSlices created through a probe client become each node's rules after
//! minSyncPeriod; simulated clients' requests go through those rules to fake backends
//! (standing in for container runtimes) on other nodes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

use api::{Kind, Object};
use apiserver::testkit::{self, ControlPlane, Probe};
use apiserver::{ApiEnvelope, ApiMessage, ApiRequest, StoredValue, UserInfo, Verb};
use net::{Endpoint, Outcome, TrafficEnvelope, TrafficMessage};
use proxy::iptables::iptables_save;
use proxy::ipvs::ipvsadm_list;
use proxy::testdata::{service, slice};
use proxy::{Arrivals, KubeProxy, KubeProxyConfig, ProxyMode, TrafficSink, TrafficSpec};
use sim::{Actor, ActorId, Ctx, Duration, Fault, HostId, Message, Sim, SimConfig, TraceHasher};
use store::server::{EtcdEnvelope, EtcdMessage};

#[derive(Clone, Debug)]
enum Msg {
    Etcd(EtcdMessage<StoredValue>),
    Api(ApiMessage),
    Traffic(TrafficMessage),
}

impl Message for Msg {
    fn trace_digest(&self, h: &mut TraceHasher) {
        match self {
            Msg::Etcd(m) => m.trace_digest(h),
            Msg::Api(m) => m.trace_digest(h),
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

/// Stands in for a node's container runtime: answers 200 for the pod IPs it serves, refuses
/// the others, and counts what it served.
#[derive(Default)]
struct Backend {
    serving: BTreeSet<Ipv4Addr>,
    served: BTreeMap<Endpoint, u64>,
}

impl Actor<Msg> for Backend {
    fn on_message(&mut self, ctx: &mut Ctx<'_, Msg>, from: ActorId, msg: Msg) {
        let Ok(TrafficMessage::Request { id, to, .. }) = msg.unwrap_traffic() else {
            return;
        };
        let outcome = if self.serving.contains(&to.ip) {
            *self.served.entry(to).or_default() += 1;
            Outcome::Answered { status: 200 }
        } else {
            Outcome::Refused
        };
        ctx.send(
            from,
            Msg::wrap_traffic(TrafficMessage::Response {
                id,
                outcome,
                served_in: Duration::from_millis(1),
            }),
        );
    }
}

struct World {
    sim: Sim<Msg>,
    cp: ControlPlane,
    probe: ActorId,
    next_id: u64,
    /// Node index → (host, backend).
    backends: BTreeMap<usize, (HostId, ActorId)>,
    proxy_host: HostId,
    proxy: ActorId,
    /// The proxy's counters, kept across restarts of its host.
    sink: TrafficSink,
}

const LIMIT: Duration = Duration::from_secs(10);

fn world(seed: u64, mode: ProxyMode) -> World {
    let mut sim = Sim::<Msg>::new(SimConfig::with_seed(seed));
    let cp = testkit::start_control_plane(&mut sim, 1, 1, |_| {}).unwrap();
    assert!(testkit::run_until_ready(&mut sim, &cp, Duration::from_secs(20)).unwrap());
    let ph = sim.add_host("kubectl").unwrap();
    let server = cp.apiservers[0];
    let probe = sim
        .add_actor(ph, "probe", move |_| Probe::new(server))
        .unwrap();
    let mut backends = BTreeMap::new();
    for (index, ips) in [
        (1usize, ["10.244.1.2", "10.244.1.3"]),
        (2, ["10.244.2.2", "10.244.2.3"]),
    ] {
        let h = sim.add_host(&format!("kubesim-worker{index}")).unwrap();
        let serving: BTreeSet<Ipv4Addr> = ips.iter().map(|s| s.parse().unwrap()).collect();
        let a = sim
            .add_actor(h, "containerd", move |_| Backend {
                serving: serving.clone(),
                served: BTreeMap::new(),
            })
            .unwrap();
        backends.insert(index, (h, a));
    }
    let proxy_host = sim.add_host("kubesim-control-plane").unwrap();
    let mut cfg = KubeProxyConfig::new("kubesim-control-plane", 0, cp.apiservers.clone(), mode);
    cfg.routes = backends.iter().map(|(i, (_, a))| (*i, *a)).collect();
    cfg.node_ip = Some(Ipv4Addr::new(172, 18, 0, 2));
    let sink = TrafficSink::default();
    let proxy_sink = sink.clone();
    let proxy = sim
        .add_actor(proxy_host, "kube-proxy", move |_| {
            KubeProxy::<Msg>::with_sink(cfg.clone(), proxy_sink.clone())
        })
        .unwrap();
    World {
        sim,
        cp,
        probe,
        next_id: 1,
        backends,
        proxy_host,
        proxy,
        sink,
    }
}

impl World {
    fn call(&mut self, kind: Kind, verb: Verb) {
        self.next_id += 1;
        let req =
            ApiRequest::new(self.next_id, UserInfo::admin(), kind, verb).in_namespace("default");
        let r = testkit::call(&mut self.sim, self.probe, req, LIMIT).unwrap();
        assert!(matches!(r, Some(Ok(_))), "{kind:?}: {r:?}");
    }

    fn create(&mut self, obj: Object) {
        let kind = obj.kind();
        self.call(kind, Verb::Create(Arc::new(obj)));
    }

    fn update(&mut self, obj: Object) {
        let kind = obj.kind();
        self.call(kind, Verb::Update(Arc::new(obj)));
    }

    fn kube_proxy(&self) -> &KubeProxy<Msg> {
        self.sim.actor::<KubeProxy<Msg>>(self.proxy).unwrap()
    }

    fn endpoints(&self, name: &str) -> Option<Vec<String>> {
        self.kube_proxy()
            .rules()
            .service("default", name)
            .map(|r| r.endpoints.iter().map(|e| e.endpoint.to_string()).collect())
    }

    fn run(&mut self, d: Duration) {
        self.sim.run_for(d).unwrap();
    }

    fn start_traffic(&mut self, spec: TrafficSpec) {
        self.sim
            .invoke::<KubeProxy<Msg>, _>(self.proxy, |p, ctx| p.start_traffic(ctx, spec))
            .unwrap();
    }

    fn served(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (_, a) in self.backends.values() {
            for (ep, n) in &self.sim.actor::<Backend>(*a).unwrap().served {
                out.insert(ep.to_string(), *n);
            }
        }
        out
    }
}

fn web_slice(ips: &[&str]) -> Object {
    let eps: Vec<(&str, bool, bool)> = ips.iter().map(|ip| (*ip, true, false)).collect();
    Object::from(slice("default", "web-abcde", "web", &[("", 8080)], &eps))
}

fn web_service() -> Object {
    Object::from(service(
        "default",
        "web",
        "10.96.0.50",
        &[("", 80, None)],
        None,
    ))
}

#[test]
fn rules_follow_services_and_slices_after_min_sync_period() {
    let mut w = world(11, ProxyMode::Iptables);
    w.run(Duration::from_secs(3));
    assert!(w.kube_proxy().has_synced());
    assert_eq!(w.endpoints("web"), None);
    let logs: Vec<String> = w.sim.logs(w.proxy).map(|l| l.text).collect();
    assert_eq!(
        logs[0],
        r#"Iserver.go:530] "Version info" version="v1.33.1""#
    );
    assert_eq!(logs[1], r#"Iserver_linux.go:263] "Using iptables Proxier""#);
    assert!(
        logs.iter().any(|l| l
            == r#"Ishared_informer.go:357] "Caches are synced" controller="endpoint slice config""#),
        "{logs:?}"
    );
    w.create(web_service());
    w.create(web_slice(&["10.244.1.2", "10.244.1.3", "10.244.2.2"]));
    w.run(Duration::from_millis(1500));
    assert_eq!(
        w.endpoints("web").unwrap(),
        ["10.244.1.2:8080", "10.244.1.3:8080", "10.244.2.2:8080"]
    );
    let save = iptables_save(w.kube_proxy().rules(), "Wed Nov 25 12:00:00 2026").unwrap();
    assert!(save.contains(
        "-A KUBE-SERVICES -d 10.96.0.50/32 -p tcp -m comment --comment \"default/web cluster IP\" -m tcp --dport 80 -j KUBE-SVC-"
    ));
    assert!(save.contains("--probability 0.33333333349"));

    // A storm of ten slice changes 100 ms apart is applied in about one sync per second.
    let before = w.kube_proxy().syncs();
    let sets: [&[&str]; 2] = [&["10.244.1.2"], &["10.244.1.2", "10.244.2.3"]];
    for i in 0..10 {
        w.update(web_slice(sets[i % 2]));
        w.run(Duration::from_millis(100));
    }
    w.run(Duration::from_secs(2));
    let syncs = w.kube_proxy().syncs() - before;
    assert!((1..=5).contains(&syncs), "{syncs} syncs for 10 changes");
    assert_eq!(
        w.endpoints("web").unwrap(),
        ["10.244.1.2:8080", "10.244.2.3:8080"]
    );
}

#[test]
fn iptables_traffic_spreads_across_endpoints_and_no_endpoints_is_rejected() {
    let mut w = world(12, ProxyMode::Iptables);
    w.run(Duration::from_secs(2));
    w.create(web_service());
    w.create(web_slice(&["10.244.1.2", "10.244.1.3", "10.244.2.2"]));
    w.create(Object::from(service(
        "default",
        "empty",
        "10.96.0.60",
        &[("", 80, None)],
        None,
    )));
    w.run(Duration::from_secs(2));
    w.start_traffic(TrafficSpec::new("web", 300.0));
    w.start_traffic(TrafficSpec::new("default/empty", 20.0));
    w.start_traffic(TrafficSpec::new("missing", 5.0));
    w.run(Duration::from_secs(20));
    let totals = w.kube_proxy().traffic_totals();
    let web = totals["default/web"];
    assert!(web.sent > 5_000, "{web:?}");
    assert_eq!(web.failed(), 0, "{web:?}");
    let served = w.served();
    let total: u64 = served.values().sum();
    for ep in ["10.244.1.2:8080", "10.244.1.3:8080", "10.244.2.2:8080"] {
        let share = served[ep] as f64 / total as f64;
        assert!((0.30..0.37).contains(&share), "{ep}: {share} of {total}");
    }
    let empty = totals["default/empty"];
    assert!(
        empty.sent > 300 && empty.rejected == empty.finished(),
        "{empty:?}"
    );
    let missing = totals["default/missing"];
    assert!(
        missing.sent > 50 && missing.unresolved == missing.finished(),
        "{missing:?}"
    );
    // Per-second counters add up to the totals.
    let web_detail = TrafficSink::merged_service([&w.sink], "default/web");
    assert_eq!(
        TrafficSink::merged_totals([&w.sink, &w.sink])["default/web"].sent,
        2 * web.sent
    );
    let sum: u64 = web_detail.per_second.values().map(|c| c.sent).sum();
    assert_eq!(sum, web.sent);
    assert!(web_detail.latency_quantile(0.99).is_some());
}

#[test]
fn node_port_clients_go_through_kube_nodeports() {
    let mut w = world(20, ProxyMode::Iptables);
    w.run(Duration::from_secs(2));
    w.create(Object::from(service(
        "default",
        "web",
        "10.96.0.50",
        &[("http", 80, Some(30080))],
        None,
    )));
    let eps = [("10.244.1.2", true, false), ("10.244.2.2", true, false)];
    w.create(Object::from(slice(
        "default",
        "web-abcde",
        "web",
        &[("http", 8080)],
        &eps,
    )));
    w.run(Duration::from_secs(2));
    let mut spec = TrafficSpec::new("web", 50.0);
    spec.node_port = Some(30080);
    w.start_traffic(spec);
    w.run(Duration::from_secs(5));
    let t = w.sink.totals()["default/web"];
    assert!(t.ok > 150 && t.failed() == 0, "{t:?}");
    assert_eq!(w.served().len(), 2);
    // A port with no NodePort behind it refuses.
    let mut wrong = TrafficSpec::new("default/web", 10.0);
    wrong.node_port = Some(30099);
    w.start_traffic(wrong);
    w.run(Duration::from_secs(3));
    assert!(w.sink.totals()["default/web"].refused > 10);
}

#[test]
fn ipvs_round_robin_is_exact() {
    let mut w = world(13, ProxyMode::Ipvs);
    w.run(Duration::from_secs(2));
    w.create(web_service());
    w.create(web_slice(&[
        "10.244.1.2",
        "10.244.1.3",
        "10.244.2.2",
        "10.244.2.3",
    ]));
    w.run(Duration::from_secs(1));
    let mut spec = TrafficSpec::new("web", 100.0);
    spec.arrivals = Arrivals::Even;
    w.start_traffic(spec);
    w.run(Duration::from_secs(10));
    let served: Vec<u64> = w.served().values().copied().collect();
    assert_eq!(served.len(), 4);
    let (lo, hi) = (served.iter().min().unwrap(), served.iter().max().unwrap());
    assert!(hi - lo <= 1, "round robin: {served:?}");
    assert!(
        ipvsadm_list(w.kube_proxy().rules())
            .contains("TCP  10.96.0.50:80 rr\n  -> 10.244.1.2:8080")
    );
}

#[test]
fn a_partitioned_proxy_keeps_stale_rules_until_it_reconnects() {
    let mut w = world(14, ProxyMode::Iptables);
    w.run(Duration::from_secs(2));
    w.create(web_service());
    w.create(web_slice(&["10.244.1.2", "10.244.2.2"]));
    w.run(Duration::from_secs(2));
    assert_eq!(w.endpoints("web").unwrap().len(), 2);
    let cp_hosts: Vec<HostId> =
        w.cp.apiservers
            .iter()
            .chain(&w.cp.etcd)
            .filter_map(|a| w.sim.actor_host(*a))
            .collect();
    w.sim
        .apply_fault(Fault::Partition(vec![w.proxy_host], cp_hosts))
        .unwrap();
    w.update(web_slice(&["10.244.1.2"]));
    w.run(Duration::from_secs(60));
    assert_eq!(
        w.endpoints("web").unwrap(),
        ["10.244.1.2:8080", "10.244.2.2:8080"],
        "stale rules while cut off"
    );
    w.sim.apply_fault(Fault::Heal).unwrap();
    w.run(Duration::from_secs(90));
    assert_eq!(w.endpoints("web").unwrap(), ["10.244.1.2:8080"]);
}

#[test]
fn errors_are_counted_when_a_backend_dies() {
    let mut w = world(15, ProxyMode::Iptables);
    w.run(Duration::from_secs(2));
    w.create(web_service());
    w.create(web_slice(&["10.244.1.2", "10.244.2.2"]));
    w.run(Duration::from_secs(2));
    w.start_traffic(TrafficSpec::new("web", 100.0));
    w.run(Duration::from_secs(5));
    assert_eq!(w.kube_proxy().traffic_totals()["default/web"].failed(), 0);
    // The pod on worker1 exits: its address refuses connections while the rules still
    // point at it.
    let (_, b1) = w.backends[&1];
    w.sim
        .invoke::<Backend, _>(b1, |b, _| {
            b.serving.clear();
        })
        .unwrap();
    w.run(Duration::from_secs(5));
    let t = w.kube_proxy().traffic_totals()["default/web"];
    assert!(t.refused > 100 && t.timed_out == 0, "{t:?}");
    // worker2 crashes: its requests time out after the client's 1 s.
    let (h2, _) = w.backends[&2];
    w.sim.apply_fault(Fault::Crash(h2)).unwrap();
    w.run(Duration::from_secs(5));
    let t = w.kube_proxy().traffic_totals()["default/web"];
    assert!(t.timed_out > 100, "{t:?}");
    assert!(t.error_fraction() > 0.4, "{t:?}");
    // The crashed node's requests time out after 1 s, not before: nothing is in flight
    // longer than the timeout.
    assert!(
        w.kube_proxy().in_flight() <= 150,
        "{}",
        w.kube_proxy().in_flight()
    );
}

#[test]
fn counters_and_clients_survive_a_restart_of_the_node_and_rules_come_back() {
    let mut w = world(16, ProxyMode::Iptables);
    w.run(Duration::from_secs(2));
    w.create(web_service());
    w.create(web_slice(&["10.244.1.2", "10.244.2.2"]));
    w.run(Duration::from_secs(2));
    w.start_traffic(TrafficSpec::new("web", 50.0));
    w.run(Duration::from_secs(4));
    let before = w.sink.totals()["default/web"];
    assert!(before.ok > 100, "{before:?}");
    w.sim.apply_fault(Fault::Crash(w.proxy_host)).unwrap();
    w.run(Duration::from_secs(5));
    // Down: no client runs, so nothing new is sent.
    assert_eq!(w.sink.totals()["default/web"].sent, before.sent);
    let down = w.sink.totals()["default/web"];
    w.sim.apply_fault(Fault::Restart(w.proxy_host)).unwrap();
    w.run(Duration::from_secs(10));
    // Back: the rules are rebuilt from the apiserver and the clients run again.
    assert_eq!(w.endpoints("web").unwrap().len(), 2);
    let after = w.sink.totals()["default/web"];
    assert!(after.ok > down.ok + 200, "{down:?} -> {after:?}");
    // Before the first sync after the restart the Service is unknown to the node.
    assert!(after.unresolved <= 60, "{after:?}");
}

#[test]
fn the_same_seed_gives_the_same_traffic() {
    let run = |seed| {
        let mut w = world(seed, ProxyMode::Iptables);
        w.run(Duration::from_secs(2));
        w.create(web_service());
        w.create(web_slice(&["10.244.1.2", "10.244.1.3", "10.244.2.2"]));
        w.run(Duration::from_secs(2));
        w.start_traffic(TrafficSpec::new("web", 80.0));
        w.run(Duration::from_secs(5));
        (w.served(), w.sink.totals(), w.sim.trace_hash())
    };
    let a = run(17);
    assert_eq!(a, run(17));
    assert_ne!(a.0, run(18).0);
}

#[test]
fn services_for_another_proxy_are_left_alone() {
    let mut w = world(19, ProxyMode::Iptables);
    w.run(Duration::from_secs(2));
    let mut other = service("default", "mesh", "10.96.0.70", &[("", 80, None)], None);
    other.metadata.labels = Some(BTreeMap::from([(
        "service.kubernetes.io/service-proxy-name".to_string(),
        "some-mesh".to_string(),
    )]));
    w.create(Object::from(other));
    w.create(web_service());
    w.run(Duration::from_secs(2));
    assert!(w.endpoints("web").is_some());
    assert_eq!(w.endpoints("mesh"), None);
}
