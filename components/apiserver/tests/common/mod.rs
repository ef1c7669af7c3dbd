//! A cluster for the apiserver's tests: etcd members from `components/store`, one or more
//! apiservers, and a scripted client actor that talks to an apiserver over a stream.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use apiserver::protocol::*;
use apiserver::{ApiServerConfig, KubeApiServer, StoredValue};
use sim::{Actor, ActorId, Ctx, Duration, Message, Sim, SimConfig, StreamId, TraceHasher};
use store::server::{EtcdConfig, EtcdEnvelope, EtcdMember, EtcdMessage};

#[derive(Clone, Debug)]
pub enum Msg {
    Etcd(EtcdMessage<StoredValue>),
    Api(ApiMessage),
}

impl Message for Msg {
    fn trace_digest(&self, h: &mut TraceHasher) {
        match self {
            Msg::Etcd(m) => m.trace_digest(h),
            Msg::Api(m) => m.trace_digest(h),
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

/// Sends what the test gives it on one stream and records every answer.
pub struct TestClient {
    pub server: ActorId,
    pub stream: Option<StreamId>,
    pub responses: BTreeMap<u64, Arc<ApiResponse>>,
    pub events: BTreeMap<u64, Vec<Arc<WatchEvent>>>,
    pub ended: BTreeMap<u64, WatchEndReason>,
}

impl TestClient {
    pub fn send(&mut self, ctx: &mut Ctx<'_, Msg>, req: ApiRequest) {
        let s = match self.stream {
            Some(s) if ctx.stream_is_open(s) => s,
            _ => {
                let s = ctx.open_stream(self.server);
                self.stream = Some(s);
                s
            }
        };
        let _ = ctx.stream_send(s, Msg::Api(ApiMessage::Request(Arc::new(req))));
    }

    pub fn cancel(&mut self, ctx: &mut Ctx<'_, Msg>, id: u64) {
        if let Some(s) = self.stream {
            let _ = ctx.stream_send(s, Msg::Api(ApiMessage::CancelWatch { id }));
        }
    }
}

impl Actor<Msg> for TestClient {
    fn on_message(&mut self, _ctx: &mut Ctx<'_, Msg>, _from: ActorId, _msg: Msg) {}

    fn on_stream_message(
        &mut self,
        _ctx: &mut Ctx<'_, Msg>,
        _s: StreamId,
        _from: ActorId,
        msg: Msg,
    ) {
        match msg {
            Msg::Api(ApiMessage::Response(r)) => {
                self.responses.insert(r.id, r);
            }
            Msg::Api(ApiMessage::WatchEvent { id, event }) => {
                self.events.entry(id).or_default().push(event)
            }
            Msg::Api(ApiMessage::WatchEnd { id, reason }) => {
                self.ended.insert(id, reason);
            }
            _ => {}
        }
    }
}

pub struct Cluster {
    pub sim: Sim<Msg>,
    pub members: Vec<ActorId>,
    pub apiservers: Vec<ActorId>,
    pub client: ActorId,
    next_id: u64,
}

impl Cluster {
    pub fn new(
        etcd_members: u64,
        apiservers: usize,
        tweak: impl Fn(&mut ApiServerConfig),
    ) -> Cluster {
        let mut sim = Sim::<Msg>::new(SimConfig::with_seed(7));
        let hosts: Vec<_> = (1..=etcd_members)
            .map(|i| sim.add_host(&format!("etcd-{i}")).expect("host"))
            .collect();
        let peers: BTreeMap<u64, ActorId> = (1..=etcd_members)
            .map(|id| (id, ActorId((id - 1) as u32)))
            .collect();
        let mut members = Vec::new();
        for id in 1..=etcd_members {
            let cfg = EtcdConfig::new(id, peers.clone());
            let a = sim
                .add_actor(
                    hosts[(id - 1) as usize],
                    "etcd",
                    EtcdMember::<StoredValue>::factory(cfg),
                )
                .expect("member");
            assert_eq!(a, peers[&id]);
            members.push(a);
        }
        let endpoints: Vec<(u64, ActorId)> = peers.iter().map(|(k, v)| (*k, *v)).collect();
        let mut servers = Vec::new();
        for i in 0..apiservers {
            let h = sim.add_host(&format!("control-plane-{i}")).expect("host");
            let mut cfg = ApiServerConfig::new(endpoints.clone());
            tweak(&mut cfg);
            let a = sim
                .add_actor(h, "kube-apiserver", move |_| {
                    KubeApiServer::<Msg>::new(cfg.clone())
                })
                .expect("apiserver");
            servers.push(a);
        }
        let ch = sim.add_host("client").expect("host");
        let server = servers[0];
        let client = sim
            .add_actor(ch, "client", move |_| TestClient {
                server,
                stream: None,
                responses: BTreeMap::new(),
                events: BTreeMap::new(),
                ended: BTreeMap::new(),
            })
            .expect("client");
        let mut c = Cluster {
            sim,
            members,
            apiservers: servers,
            client,
            next_id: 0,
        };
        c.run(Duration::from_secs(5));
        assert!(c.server(0).is_ready(), "apiserver ready after 5 s");
        c
    }

    pub fn server(&self, i: usize) -> &KubeApiServer<Msg> {
        self.sim
            .actor::<KubeApiServer<Msg>>(self.apiservers[i])
            .expect("apiserver")
    }

    pub fn run(&mut self, d: Duration) {
        self.sim.run_for(d).expect("no finding");
    }

    pub fn client(&self) -> &TestClient {
        self.sim.actor::<TestClient>(self.client).expect("client")
    }

    /// Sends a request and returns its id (the answer is not awaited).
    pub fn send(
        &mut self,
        user: UserInfo,
        kind: api::Kind,
        verb: Verb,
        namespace: &str,
        name: &str,
    ) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        let req = ApiRequest::new(id, user, kind, verb)
            .in_namespace(namespace)
            .named(name);
        self.send_request(req);
        id
    }

    pub fn send_request(&mut self, req: ApiRequest) {
        self.sim
            .invoke::<TestClient, _>(self.client, |c, ctx| c.send(ctx, req))
            .expect("invoke");
    }

    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Sends as cluster-admin and waits up to 2 s of virtual time for the answer.
    pub fn call(
        &mut self,
        kind: api::Kind,
        verb: Verb,
        namespace: &str,
        name: &str,
    ) -> Result<ApiReply, StatusError> {
        self.call_as(UserInfo::admin(), kind, verb, namespace, name)
    }

    pub fn call_as(
        &mut self,
        user: UserInfo,
        kind: api::Kind,
        verb: Verb,
        namespace: &str,
        name: &str,
    ) -> Result<ApiReply, StatusError> {
        let id = self.send(user, kind, verb, namespace, name);
        self.await_response(id)
    }

    pub fn await_response(&mut self, id: u64) -> Result<ApiReply, StatusError> {
        for _ in 0..40 {
            if let Some(r) = self.client().responses.get(&id) {
                return r.result.clone();
            }
            self.run(Duration::from_millis(50));
        }
        panic!("no response to request {id}");
    }

    pub fn object(
        &mut self,
        kind: api::Kind,
        verb: Verb,
        namespace: &str,
        name: &str,
    ) -> api::SharedObject {
        match self.call(kind, verb, namespace, name) {
            Ok(ApiReply::Object(o)) => o,
            other => panic!("expected an object, got {other:?}"),
        }
    }

    pub fn list(&mut self, kind: api::Kind, namespace: &str, opts: ListOptions) -> ObjectList {
        match self.call(kind, Verb::List(opts), namespace, "") {
            Ok(ApiReply::List(l)) => l,
            other => panic!("expected a list, got {other:?}"),
        }
    }

    /// Sends the test's next requests to apiserver `i` (on a new stream).
    pub fn use_server(&mut self, i: usize) {
        let server = self.apiservers[i];
        let c = self
            .sim
            .actor_mut::<TestClient>(self.client)
            .expect("client");
        c.server = server;
        c.stream = None;
    }

    pub fn events(&self, id: u64) -> Vec<Arc<WatchEvent>> {
        self.client().events.get(&id).cloned().unwrap_or_default()
    }
}

pub fn manifest(yaml: &str) -> api::SharedObject {
    let mut objs = api::manifest::parse(yaml).expect("valid manifest");
    Arc::new(objs.remove(0).object)
}

pub fn get() -> Verb {
    Verb::Get(GetOptions::default())
}
