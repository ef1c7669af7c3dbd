//! The client library on a real `Sim`, against a scripted fake apiserver (a test double, see
//! `fake_apiserver`): informer → work queue → reconcile, relist after 410, replica failover,
//! and leader election with a crashed holder.

mod fake_apiserver;

use std::sync::Arc;

use api::k8s_openapi::api::core::v1::{Pod, PodSpec};
use api::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use api::{Kind, Object};
use apiserver::{ApiEnvelope, ApiMessage, UserInfo};
use client::api_client::{ApiClient, ApiClientConfig, ClientEvent, is_api_client_timer};
use client::indexer::{Indexer, NODE_NAME_INDEX, index_pod_by_node_name};
use client::informer::{Informer, InformerConfig, Notification};
use client::informer_factory::InformerFactory;
use client::leader_election::{ElectionConfig, ElectionEvent, holder_identity};
use client::lease_lock::LeaseLock;
use client::workqueue::WorkQueue;
use fake_apiserver::FakeApiserver;
use sim::{Actor, ActorId, Ctx, Duration, Fault, Sim, SimConfig, StreamClose, StreamId, Time};

const INFORMER_TIMER: u64 = 1;
const QUEUE_TIMER: u64 = 2;
const LEASE_TIMER: u64 = 3;

fn pod(ns: &str, name: &str, node: &str) -> Object {
    Object::from(Pod {
        metadata: ObjectMeta {
            namespace: Some(ns.into()),
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            node_name: Some(node.into()),
            ..Default::default()
        }),
        status: None,
    })
}

/// A minimal controller: a pod informer feeding a work queue; "reconcile" records the key
/// and whether the cache still has the object (level-based: it reads the cache, not the event).
struct PodController {
    client: ApiClient,
    pods: Informer,
    queue: WorkQueue<String>,
    queue_timer: Option<sim::TimerId>,
    reconciled: Vec<(String, bool)>,
    notifications: Vec<String>,
}

impl PodController {
    fn new(endpoints: Vec<ActorId>) -> Self {
        let mut cfg = InformerConfig::new(Kind::Pod, INFORMER_TIMER);
        cfg.resync_period = Duration::from_secs(30);
        PodController {
            client: ApiClient::new(ApiClientConfig::new(
                endpoints,
                UserInfo::component("system:kube-controller-manager"),
            )),
            pods: Informer::new(
                cfg,
                Indexer::with_namespace_index().with_index(NODE_NAME_INDEX, index_pod_by_node_name),
            ),
            queue: WorkQueue::new(),
            queue_timer: None,
            reconciled: Vec::new(),
            notifications: Vec::new(),
        }
    }

    fn handle(&mut self, ctx: &mut Ctx<'_, ApiMessage>, events: Vec<ClientEvent>) {
        for ev in events {
            if let Some(ns) = self.pods.on_client_event(ctx, &mut self.client, &ev) {
                self.enqueue(ctx, ns);
            }
        }
        self.work(ctx);
    }

    fn enqueue(&mut self, ctx: &mut Ctx<'_, ApiMessage>, ns: Vec<Notification>) {
        for n in ns {
            self.notifications.push(match &n {
                Notification::Add(o) => format!("add {}", o.name()),
                Notification::Update { old, new } if Arc::ptr_eq(old, new) => {
                    format!("resync {}", new.name())
                }
                Notification::Update { new, .. } => format!("update {}", new.name()),
                Notification::Delete(o) => format!("delete {}", o.name()),
            });
            self.queue
                .add(n.key())
                .expect("queue bound not reached in a small test");
        }
        let _ = ctx;
    }

    /// One worker, processing until the queue is empty (a real controller would bound this per
    /// event and yield).
    fn work(&mut self, ctx: &mut Ctx<'_, ApiMessage>) {
        if !self.pods.has_synced() {
            return;
        }
        let now = ctx.now();
        self.queue.advance(now);
        while let Some(key) = self.queue.get() {
            let present = self.pods.indexer().get(&key).is_some();
            self.reconciled.push((key.clone(), present));
            self.queue.forget(&key);
            self.queue.done(&key);
        }
        if let Some(at) = self.queue.next_ready_at() {
            if let Some(t) = self.queue_timer.take() {
                ctx.cancel_timer(t);
            }
            self.queue_timer = Some(ctx.set_timer(at.saturating_since(now), QUEUE_TIMER));
        }
    }
}

impl Actor<ApiMessage> for PodController {
    fn on_start(&mut self, ctx: &mut Ctx<'_, ApiMessage>) {
        self.pods.start(ctx, &mut self.client);
    }
    fn on_message(&mut self, _ctx: &mut Ctx<'_, ApiMessage>, _from: ActorId, _msg: ApiMessage) {}
    fn on_stream_message(
        &mut self,
        ctx: &mut Ctx<'_, ApiMessage>,
        stream: StreamId,
        _from: ActorId,
        msg: ApiMessage,
    ) {
        let Ok(msg) = ApiMessage::unwrap_api(msg) else {
            return;
        };
        let events = self.client.on_message(ctx, stream, msg);
        self.handle(ctx, events);
    }
    fn on_stream_closed(
        &mut self,
        ctx: &mut Ctx<'_, ApiMessage>,
        stream: StreamId,
        _why: StreamClose,
    ) {
        let events = self.client.on_stream_closed(ctx, stream);
        self.handle(ctx, events);
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, ApiMessage>, tag: u64) {
        if is_api_client_timer(tag) {
            let events = self.client.on_timer(ctx, tag);
            self.handle(ctx, events);
        } else if self.pods.owns_timer(tag) {
            let ns = self.pods.on_timer(ctx, &mut self.client);
            self.enqueue(ctx, ns);
            self.work(ctx);
        } else if tag == QUEUE_TIMER {
            self.queue_timer = None;
            self.work(ctx);
        }
    }
}

fn cluster(apiservers: usize) -> (Sim<ApiMessage>, Vec<ActorId>, ActorId) {
    let mut sim = Sim::<ApiMessage>::new(SimConfig::with_seed(11));
    let mut servers = Vec::new();
    for i in 0..apiservers {
        let h = sim.add_host(&format!("control-plane{i}")).unwrap();
        servers.push(
            sim.add_actor(h, "kube-apiserver", |_| FakeApiserver::default())
                .unwrap(),
        );
    }
    let w = sim.add_host("worker").unwrap();
    let eps = servers.clone();
    let ctl = sim
        .add_actor(w, "controller", move |_| PodController::new(eps.clone()))
        .unwrap();
    (sim, servers, ctl)
}

fn put(sim: &mut Sim<ApiMessage>, server: ActorId, obj: Object) {
    sim.invoke(server, |s: &mut FakeApiserver, ctx| {
        s.put(ctx, obj);
    })
    .unwrap()
    .unwrap();
}

fn cached_names(sim: &Sim<ApiMessage>, ctl: ActorId) -> Vec<String> {
    sim.actor::<PodController>(ctl)
        .unwrap()
        .pods
        .indexer()
        .keys()
        .map(str::to_string)
        .collect()
}

#[test]
fn informer_lists_then_watches_and_queues_keys() {
    let (mut sim, servers, ctl) = cluster(1);
    let api = servers[0];
    put(&mut sim, api, pod("default", "a", "n1"));
    put(&mut sim, api, pod("default", "b", "n2"));
    sim.run_for(Duration::from_secs(1)).unwrap();
    {
        let c = sim.actor::<PodController>(ctl).unwrap();
        assert!(c.pods.has_synced());
        assert_eq!(c.notifications, ["add a", "add b"]);
        assert_eq!(
            c.reconciled,
            [
                ("default/a".to_string(), true),
                ("default/b".to_string(), true)
            ]
        );
    }
    put(&mut sim, api, pod("default", "b", "n3"));
    put(&mut sim, api, pod("kube-system", "c", "n1"));
    sim.invoke(api, |s: &mut FakeApiserver, ctx| {
        s.delete(ctx, Kind::Pod, "default", "a")
    })
    .unwrap();
    sim.run_for(Duration::from_secs(1)).unwrap();
    let c = sim.actor::<PodController>(ctl).unwrap();
    assert_eq!(
        c.notifications,
        ["add a", "add b", "update b", "add c", "delete a"]
    );
    assert_eq!(cached_names(&sim, ctl), ["default/b", "kube-system/c"]);
    let on_n3: Vec<_> = c
        .pods
        .indexer()
        .lister()
        .pods_on_node("n3")
        .unwrap()
        .iter()
        .map(|p| p.name().to_string())
        .collect();
    assert_eq!(on_n3, ["b"]);
    // The delete was reconciled against a cache that no longer has the pod.
    assert_eq!(c.reconciled.last(), Some(&("default/a".to_string(), false)));
    assert_eq!((c.pods.lists, c.pods.watches), (1, 1));
}

#[test]
fn resync_redelivers_every_cached_object() {
    let (mut sim, servers, ctl) = cluster(1);
    put(&mut sim, servers[0], pod("default", "a", "n1"));
    sim.run_for(Duration::from_secs(65)).unwrap();
    let c = sim.actor::<PodController>(ctl).unwrap();
    assert_eq!(c.notifications, ["add a", "resync a", "resync a"]);
}

#[test]
fn informer_relists_after_410_and_learns_what_it_missed() {
    let (mut sim, servers, ctl) = cluster(1);
    let api = servers[0];
    put(&mut sim, api, pod("default", "a", "n1"));
    put(&mut sim, api, pod("default", "b", "n1"));
    sim.run_for(Duration::from_secs(1)).unwrap();
    // While the watch is expired, a is deleted and d created: only a relist can tell.
    sim.invoke(api, |s: &mut FakeApiserver, ctx| {
        s.delete_silently(Kind::Pod, "default", "a");
        s.compact_and_expire_watches(ctx);
        s.put(ctx, pod("default", "d", "n2"));
    })
    .unwrap();
    sim.run_for(Duration::from_secs(5)).unwrap();
    let c = sim.actor::<PodController>(ctl).unwrap();
    assert_eq!(c.pods.lists, 2, "relisted once");
    assert_eq!(cached_names(&sim, ctl), ["default/b", "default/d"]);
    assert!(c.notifications.contains(&"delete a".to_string()));
    assert!(c.notifications.contains(&"add d".to_string()));
    let server_names = sim.actor::<FakeApiserver>(api).unwrap().names(Kind::Pod);
    assert_eq!(cached_names(&sim, ctl), server_names);
}

#[test]
fn informer_fails_over_to_another_apiserver_replica() {
    let (mut sim, servers, ctl) = cluster(2);
    // Both replicas serve the same data (as two apiservers over one etcd would).
    for s in &servers {
        put(&mut sim, *s, pod("default", "a", "n1"));
    }
    sim.run_for(Duration::from_secs(1)).unwrap();
    let first = sim.actor::<PodController>(ctl).unwrap().client.endpoint();
    assert_eq!(first, Some(servers[0]));
    let h0 = sim.actor_host(servers[0]).unwrap();
    sim.apply_fault(Fault::Crash(h0)).unwrap();
    // The stream breaks after the 45 s health-check timeout; then the reflector backs off
    // and re-watches on the other replica.
    for s in &servers[1..] {
        put(&mut sim, *s, pod("default", "b", "n1"));
    }
    sim.run_for(Duration::from_secs(90)).unwrap();
    let c = sim.actor::<PodController>(ctl).unwrap();
    assert_eq!(c.client.endpoint(), Some(servers[1]));
    assert!(
        c.pods.indexer().get("default/b").is_some(),
        "cache: {:?}",
        cached_names(&sim, ctl)
    );
}

/// A control-plane component that only campaigns.
struct Candidate {
    client: ApiClient,
    lock: LeaseLock,
    events: Vec<(Time, ElectionEvent)>,
}

impl Candidate {
    fn record(&mut self, ctx: &mut Ctx<'_, ApiMessage>, evs: Vec<ElectionEvent>) {
        let t = ctx.sim_time();
        self.events.extend(evs.into_iter().map(|e| (t, e)));
    }
    fn handle(&mut self, ctx: &mut Ctx<'_, ApiMessage>, events: Vec<ClientEvent>) {
        for ev in events {
            if let Some(evs) = self.lock.on_client_event(ctx, &mut self.client, &ev) {
                self.record(ctx, evs);
            }
        }
    }
    fn started_at(&self) -> Option<Time> {
        self.events
            .iter()
            .find(|(_, e)| *e == ElectionEvent::StartedLeading)
            .map(|(t, _)| *t)
    }
}

impl Actor<ApiMessage> for Candidate {
    fn on_start(&mut self, ctx: &mut Ctx<'_, ApiMessage>) {
        let evs = self.lock.start(ctx, &mut self.client);
        self.record(ctx, evs);
    }
    fn on_message(&mut self, _ctx: &mut Ctx<'_, ApiMessage>, _from: ActorId, _msg: ApiMessage) {}
    fn on_stream_message(
        &mut self,
        ctx: &mut Ctx<'_, ApiMessage>,
        stream: StreamId,
        _from: ActorId,
        msg: ApiMessage,
    ) {
        let events = self.client.on_message(ctx, stream, msg);
        self.handle(ctx, events);
    }
    fn on_stream_closed(
        &mut self,
        ctx: &mut Ctx<'_, ApiMessage>,
        stream: StreamId,
        _why: StreamClose,
    ) {
        let events = self.client.on_stream_closed(ctx, stream);
        self.handle(ctx, events);
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, ApiMessage>, tag: u64) {
        if is_api_client_timer(tag) {
            let events = self.client.on_timer(ctx, tag);
            self.handle(ctx, events);
        } else if self.lock.owns_timer(tag) {
            let evs = self.lock.on_timer(ctx, &mut self.client);
            self.record(ctx, evs);
        }
    }
}

fn election(seed: u64) -> (Sim<ApiMessage>, ActorId, Vec<(sim::HostId, ActorId)>) {
    let mut sim = Sim::<ApiMessage>::new(SimConfig::with_seed(seed));
    let hapi = sim.add_host("etcd-and-apiserver").unwrap();
    let api = sim
        .add_actor(hapi, "kube-apiserver", |_| FakeApiserver::default())
        .unwrap();
    let mut cands = Vec::new();
    for name in ["kubesim-control-plane", "kubesim-control-plane2"] {
        let h = sim.add_host(name).unwrap();
        let mut rng = sim.fork_rng(name);
        let identity = holder_identity(name, &mut rng);
        let id = sim
            .add_actor(h, "kube-controller-manager", move |_| Candidate {
                client: ApiClient::new(ApiClientConfig::new(
                    vec![api],
                    UserInfo::component("system:kube-controller-manager"),
                )),
                lock: LeaseLock::new(
                    "kube-system",
                    "kube-controller-manager",
                    ElectionConfig::new(identity.clone()),
                    LEASE_TIMER,
                ),
                events: Vec::new(),
            })
            .unwrap();
        cands.push((h, id));
    }
    (sim, api, cands)
}

#[test]
fn standby_controller_manager_takes_over_after_the_leader_crashes() {
    let (mut sim, api, cands) = election(3);
    sim.run_for(Duration::from_secs(20)).unwrap();
    let leading: Vec<usize> = (0..2)
        .filter(|i| {
            sim.actor::<Candidate>(cands[*i].1)
                .unwrap()
                .lock
                .is_leader()
        })
        .collect();
    assert_eq!(leading.len(), 1, "exactly one leader");
    let (leader, standby) = (leading[0], 1 - leading[0]);
    let lease = sim
        .actor::<FakeApiserver>(api)
        .unwrap()
        .get(Kind::Lease, "kube-system", "kube-controller-manager")
        .cloned()
        .unwrap();
    let Object::Lease(l) = lease.as_ref() else {
        panic!("not a lease")
    };
    let spec = l.spec.clone().unwrap();
    assert_eq!(spec.lease_duration_seconds, Some(15));
    assert!(spec.holder_identity.unwrap().starts_with(if leader == 0 {
        "kubesim-control-plane_"
    } else {
        "kubesim-control-plane2_"
    }));

    let crash_at = sim.now();
    sim.apply_fault(Fault::Crash(cands[leader].0)).unwrap();
    sim.run_for(Duration::from_secs(30)).unwrap();
    let s = sim.actor::<Candidate>(cands[standby].1).unwrap();
    assert!(s.lock.is_leader());
    let took = s.started_at().unwrap().saturating_since(crash_at);
    // Last renewal ≤ 2 s before the crash, expiry 15 s after the standby saw it, plus at most
    // one jittered retry (≤ 4.4 s).
    assert!(
        took <= Duration::from_millis(15_000 + 4_400),
        "took over after {took}"
    );
    assert!(
        took >= Duration::from_secs(11),
        "took over too early: {took}"
    );
    let lease = sim
        .actor::<FakeApiserver>(api)
        .unwrap()
        .get(Kind::Lease, "kube-system", "kube-controller-manager")
        .cloned()
        .unwrap();
    let Object::Lease(l) = lease.as_ref() else {
        panic!("not a lease")
    };
    assert_eq!(l.spec.as_ref().unwrap().lease_transitions, Some(1));
}

/// Two controllers in one process sharing the pod informer through the factory.
struct Manager {
    client: ApiClient,
    factory: InformerFactory,
    /// One queue per controller.
    queues: [WorkQueue<String>; 2],
}

impl Manager {
    fn handle(&mut self, ctx: &mut Ctx<'_, ApiMessage>, events: Vec<ClientEvent>) {
        for ev in events {
            if let Some((Kind::Pod, ns)) = self.factory.on_client_event(ctx, &mut self.client, &ev)
            {
                for q in &mut self.queues {
                    for n in &ns {
                        q.add(n.key()).unwrap();
                    }
                }
            }
        }
    }
}

impl Actor<ApiMessage> for Manager {
    fn on_start(&mut self, ctx: &mut Ctx<'_, ApiMessage>) {
        // Both controllers ask for the pod informer; the second gets the first's.
        self.factory
            .informer_for(Kind::Pod, Indexer::with_namespace_index);
        self.factory.informer_for(Kind::Pod, Indexer::new);
        self.factory.start(ctx, &mut self.client);
    }
    fn on_message(&mut self, _ctx: &mut Ctx<'_, ApiMessage>, _from: ActorId, _msg: ApiMessage) {}
    fn on_stream_message(
        &mut self,
        ctx: &mut Ctx<'_, ApiMessage>,
        stream: StreamId,
        _from: ActorId,
        msg: ApiMessage,
    ) {
        let events = self.client.on_message(ctx, stream, msg);
        self.handle(ctx, events);
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, ApiMessage>, tag: u64) {
        if is_api_client_timer(tag) {
            let events = self.client.on_timer(ctx, tag);
            self.handle(ctx, events);
        } else if self.factory.owns_timer(tag) {
            self.factory.on_timer(ctx, &mut self.client, tag);
        }
    }
}

#[test]
fn one_list_and_watch_serves_every_controller_and_bookmarks_advance_the_resource_version() {
    let mut sim = Sim::<ApiMessage>::new(SimConfig::with_seed(2));
    let h = sim.add_host("cp").unwrap();
    let api = sim
        .add_actor(h, "kube-apiserver", |_| FakeApiserver::default())
        .unwrap();
    put(&mut sim, api, pod("default", "a", "n1"));
    let w = sim.add_host("kcm").unwrap();
    let m = sim
        .add_actor(w, "kube-controller-manager", move |_| Manager {
            client: ApiClient::new(ApiClientConfig::new(
                vec![api],
                UserInfo::component("system:kube-controller-manager"),
            )),
            factory: InformerFactory::new(100, Duration::ZERO),
            queues: [WorkQueue::new(), WorkQueue::new()],
        })
        .unwrap();
    sim.run_for(Duration::from_secs(1)).unwrap();
    put(&mut sim, api, pod("default", "b", "n1"));
    sim.run_for(Duration::from_secs(1)).unwrap();
    let mgr = sim.actor::<Manager>(m).unwrap();
    assert!(mgr.factory.has_synced());
    let pods = mgr.factory.get(Kind::Pod).unwrap();
    assert_eq!((pods.lists, pods.watches), (1, 1));
    assert_eq!(
        sim.actor::<FakeApiserver>(api).unwrap().requests,
        2,
        "one list, one watch"
    );
    for q in &mgr.queues {
        assert_eq!(q.len(), 2);
    }
    assert_eq!(pods.last_synced_resource_version(), "2");
    // Other resources change; a bookmark tells the watcher how far it has seen.
    sim.invoke(api, |s: &mut FakeApiserver, ctx| {
        s.bump();
        s.bump();
        s.bookmark(ctx);
    })
    .unwrap();
    sim.run_for(Duration::from_secs(1)).unwrap();
    let pods = sim
        .actor::<Manager>(m)
        .unwrap()
        .factory
        .get(Kind::Pod)
        .unwrap();
    assert_eq!(pods.last_synced_resource_version(), "4");
}

#[test]
fn a_partitioned_leader_steps_down_before_anyone_else_takes_over() {
    let (mut sim, api, cands) = election(4);
    sim.run_for(Duration::from_secs(20)).unwrap();
    let leader = (0..2)
        .find(|i| {
            sim.actor::<Candidate>(cands[*i].1)
                .unwrap()
                .lock
                .is_leader()
        })
        .unwrap();
    let api_host = sim.actor_host(api).unwrap();
    sim.apply_fault(Fault::Partition(vec![cands[leader].0], vec![api_host]))
        .unwrap();
    // Never two leaders at once, sampled every 100 ms.
    for _ in 0..400 {
        sim.run_for(Duration::from_millis(100)).unwrap();
        let n = (0..2)
            .filter(|i| {
                sim.actor::<Candidate>(cands[*i].1)
                    .unwrap()
                    .lock
                    .is_leader()
            })
            .count();
        assert!(n <= 1, "two leaders at {}", sim.now());
    }
    let old = sim.actor::<Candidate>(cands[leader].1).unwrap();
    assert!(
        old.events
            .iter()
            .any(|(_, e)| *e == ElectionEvent::StoppedLeading)
    );
    assert!(
        sim.actor::<Candidate>(cands[1 - leader].1)
            .unwrap()
            .lock
            .is_leader()
    );
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let hash = |seed| {
        let (mut sim, _, cands) = election(seed);
        sim.run_for(Duration::from_secs(10)).unwrap();
        sim.apply_fault(Fault::Crash(cands[0].0)).unwrap();
        sim.run_for(Duration::from_secs(30)).unwrap();
        sim.trace_hash()
    };
    assert_eq!(hash(9), hash(9));
}
