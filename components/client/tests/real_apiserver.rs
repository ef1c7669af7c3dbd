//! The client library against the real kube-apiserver actor over a one-member etcd: an
//! informer syncs the bootstrap namespaces and follows a change, and two controller-manager
//! candidates elect a leader on the Lease and fail over when the leader's host crashes.

use std::collections::BTreeMap;
use std::sync::Arc;

use api::k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use api::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use api::{Kind, Object};
use apiserver::{
    ApiEnvelope, ApiMessage, ApiServerConfig, KubeApiServer, StoredValue, UserInfo, Verb,
};
use client::api_client::{ApiClient, ApiClientConfig, ClientEvent, is_api_client_timer};
use client::indexer::Indexer;
use client::informer::{Informer, InformerConfig};
use client::leader_election::{ElectionConfig, ElectionEvent, holder_identity};
use client::lease_lock::LeaseLock;
use sim::{
    Actor, ActorId, Ctx, Duration, Fault, HostId, Message, Sim, SimConfig, StreamClose, StreamId,
    Time, TraceHasher,
};
use store::server::{EtcdConfig, EtcdEnvelope, EtcdMember, EtcdMessage};

#[derive(Clone, Debug)]
enum Msg {
    Api(ApiMessage),
    Etcd(EtcdMessage<StoredValue>),
}

impl Message for Msg {
    fn trace_digest(&self, h: &mut TraceHasher) {
        match self {
            Msg::Api(m) => m.trace_digest(h),
            Msg::Etcd(m) => m.trace_digest(h),
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

const INFORMER_TIMER: u64 = 1;
const LEASE_TIMER: u64 = 2;

/// An actor with a client, an optional informer and an optional lease lock.
struct Component {
    client: ApiClient,
    informer: Option<Informer>,
    lock: Option<LeaseLock>,
    election: Vec<(Time, ElectionEvent)>,
    notifications: Vec<String>,
}

impl Component {
    fn new(api: ActorId) -> Self {
        Component {
            client: ApiClient::new(ApiClientConfig::new(vec![api], UserInfo::admin())),
            informer: None,
            lock: None,
            election: Vec::new(),
            notifications: Vec::new(),
        }
    }

    fn handle(&mut self, ctx: &mut Ctx<'_, Msg>, events: Vec<ClientEvent>) {
        for ev in events {
            if let Some(inf) = &mut self.informer
                && let Some(ns) = inf.on_client_event(ctx, &mut self.client, &ev)
            {
                self.notifications.extend(ns.iter().map(|n| n.key()));
                continue;
            }
            if let Some(lock) = &mut self.lock
                && let Some(evs) = lock.on_client_event(ctx, &mut self.client, &ev)
            {
                let t = ctx.sim_time();
                self.election.extend(evs.into_iter().map(|e| (t, e)));
            }
        }
    }
}

impl Actor<Msg> for Component {
    fn on_start(&mut self, ctx: &mut Ctx<'_, Msg>) {
        if let Some(inf) = &mut self.informer {
            inf.start(ctx, &mut self.client);
        }
        if let Some(lock) = &mut self.lock {
            let evs = lock.start(ctx, &mut self.client);
            let t = ctx.sim_time();
            self.election.extend(evs.into_iter().map(|e| (t, e)));
        }
    }
    fn on_message(&mut self, _ctx: &mut Ctx<'_, Msg>, _from: ActorId, _msg: Msg) {}
    fn on_stream_message(
        &mut self,
        ctx: &mut Ctx<'_, Msg>,
        stream: StreamId,
        _from: ActorId,
        msg: Msg,
    ) {
        let Ok(m) = msg.unwrap_api() else { return };
        let events = self.client.on_message(ctx, stream, m);
        self.handle(ctx, events);
    }
    fn on_stream_closed(&mut self, ctx: &mut Ctx<'_, Msg>, stream: StreamId, _why: StreamClose) {
        let events = self.client.on_stream_closed(ctx, stream);
        self.handle(ctx, events);
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Msg>, tag: u64) {
        if is_api_client_timer(tag) {
            let events = self.client.on_timer(ctx, tag);
            self.handle(ctx, events);
        } else if tag == INFORMER_TIMER {
            if let Some(inf) = &mut self.informer {
                let ns = inf.on_timer(ctx, &mut self.client);
                self.notifications.extend(ns.iter().map(|n| n.key()));
            }
        } else if tag == LEASE_TIMER
            && let Some(lock) = &mut self.lock
        {
            let evs = lock.on_timer(ctx, &mut self.client);
            let t = ctx.sim_time();
            self.election.extend(evs.into_iter().map(|e| (t, e)));
        }
    }
}

/// etcd and kube-apiserver on one control-plane host.
fn control_plane(seed: u64) -> (Sim<Msg>, ActorId) {
    let mut sim = Sim::<Msg>::new(SimConfig::with_seed(seed));
    let h = sim.add_host("etcd-and-apiserver").unwrap();
    // The first actor of a fresh simulation gets id 0.
    let etcd_id = ActorId(0);
    let cfg = EtcdConfig::new(1, BTreeMap::from([(1, etcd_id)]));
    let etcd = sim
        .add_actor(h, "etcd", EtcdMember::<StoredValue>::factory(cfg))
        .unwrap();
    assert_eq!(etcd, etcd_id);
    let api_cfg = ApiServerConfig::new(vec![(1, etcd)]);
    let api = sim
        .add_actor(h, "kube-apiserver", move |_| {
            KubeApiServer::<Msg>::new(api_cfg.clone())
        })
        .unwrap();
    (sim, api)
}

#[test]
fn informer_syncs_from_the_real_apiserver_and_follows_changes() {
    let (mut sim, api) = control_plane(21);
    let w = sim.add_host("worker").unwrap();
    let c = sim
        .add_actor(w, "controller", move |_| {
            let mut comp = Component::new(api);
            comp.informer = Some(Informer::new(
                InformerConfig::new(Kind::Namespace, INFORMER_TIMER),
                Indexer::new(),
            ));
            comp
        })
        .unwrap();
    sim.run_for(Duration::from_secs(10)).unwrap();
    let keys: Vec<String> = sim
        .actor::<Component>(c)
        .unwrap()
        .informer
        .as_ref()
        .unwrap()
        .indexer()
        .keys()
        .map(str::to_string)
        .collect();
    for ns in ["default", "kube-node-lease", "kube-public", "kube-system"] {
        assert!(keys.contains(&ns.to_string()), "{ns} missing from {keys:?}");
    }
    sim.invoke(c, |comp: &mut Component, ctx| {
        let ns = Object::from(Namespace {
            metadata: ObjectMeta {
                name: Some("team-a".into()),
                ..Default::default()
            },
            ..Default::default()
        });
        comp.client
            .request(ctx, Kind::Namespace, "", "", Verb::Create(Arc::new(ns)));
        let cm = Object::from(ConfigMap {
            metadata: ObjectMeta {
                namespace: Some("default".into()),
                name: Some("x".into()),
                ..Default::default()
            },
            ..Default::default()
        });
        comp.client.request(
            ctx,
            Kind::ConfigMap,
            "default",
            "",
            Verb::Create(Arc::new(cm)),
        );
    })
    .unwrap();
    sim.run_for(Duration::from_secs(5)).unwrap();
    let comp = sim.actor::<Component>(c).unwrap();
    let inf = comp.informer.as_ref().unwrap();
    assert!(inf.has_synced());
    assert!(
        inf.indexer().get("team-a").is_some(),
        "namespace created after the list arrives by watch"
    );
    assert_eq!(
        comp.notifications.last().map(String::as_str),
        Some("team-a")
    );
    assert_eq!(inf.lists, 1);
}

#[test]
fn leader_election_on_the_real_apiserver_survives_a_crashed_leader() {
    let (mut sim, api) = control_plane(22);
    let mut cands: Vec<(HostId, ActorId)> = Vec::new();
    for name in ["kubesim-control-plane2", "kubesim-control-plane3"] {
        let h = sim.add_host(name).unwrap();
        let mut rng = sim.fork_rng(name);
        let identity = holder_identity(name, &mut rng);
        let id = sim
            .add_actor(h, "kube-controller-manager", move |_| {
                let mut comp = Component::new(api);
                comp.lock = Some(LeaseLock::new(
                    "kube-system",
                    "kube-controller-manager",
                    ElectionConfig::new(identity.clone()),
                    LEASE_TIMER,
                ));
                comp
            })
            .unwrap();
        cands.push((h, id));
    }
    sim.run_for(Duration::from_secs(30)).unwrap();
    let is_leader = |sim: &Sim<Msg>, i: usize| {
        sim.actor::<Component>(cands[i].1)
            .unwrap()
            .lock
            .as_ref()
            .unwrap()
            .is_leader()
    };
    let leading: Vec<usize> = (0..2).filter(|i| is_leader(&sim, *i)).collect();
    assert_eq!(leading.len(), 1, "exactly one leader");
    let (leader, standby) = (leading[0], 1 - leading[0]);
    let crash_at = sim.now();
    sim.apply_fault(Fault::Crash(cands[leader].0)).unwrap();
    sim.run_for(Duration::from_secs(30)).unwrap();
    assert!(is_leader(&sim, standby));
    let s = sim.actor::<Component>(cands[standby].1).unwrap();
    let started = s
        .election
        .iter()
        .find(|(_, e)| *e == ElectionEvent::StartedLeading)
        .map(|(t, _)| *t)
        .unwrap();
    let took = started.saturating_since(crash_at);
    assert!(
        took <= Duration::from_millis(15_000 + 4_400 + 1_000),
        "took over after {took}"
    );
}
