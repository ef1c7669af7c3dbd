//! A small etcd cluster on the engine, for tests, benchmarks and examples: N members on their
//! own hosts, a client actor on another host that records what it hears and can run a
//! closed-loop write load, and the Raft safety invariant installed.
//!
//! Actor ids are assigned by the engine in order of creation; the builder creates the members
//! first on a fresh simulation so their ids are known before their configs are built.

use std::collections::BTreeMap;
use std::sync::Arc;

use sim::{Actor, ActorId, Ctx, Fault, HostId, Sim, SimConfig, StreamClose, StreamId, Time};

use super::member::{EtcdConfig, EtcdMember};
use super::message::{EtcdMessage, RequestBody, ResponseBody, StatusInfo};
use super::safety::install_safety_invariant;
use crate::client::{ClientConfig, ClientEvent, EtcdClient, is_client_timer};
use crate::mvcc::{Bytes, PutRequest, WriteRequest, bytes};
use crate::raft::Role;

pub type Msg = EtcdMessage<Bytes>;
pub type Member = EtcdMember<Bytes>;

/// A client actor: an `EtcdClient`, everything it heard, and an optional closed-loop load.
pub struct TestClient {
    pub client: EtcdClient<Bytes>,
    pub events: Vec<(Time, ClientEvent<Bytes>)>,
    /// Writes kept in flight by the load (0: no load).
    pub load_concurrency: usize,
    pub load_completed: u64,
    pub load_failed: u64,
    load_next_key: u64,
    load_ids: std::collections::BTreeSet<u64>,
    /// Keep at most this many recorded events (oldest dropped), so a long load stays bounded.
    pub events_max: usize,
}

impl TestClient {
    pub fn new(cfg: ClientConfig) -> Self {
        TestClient {
            client: EtcdClient::new(cfg),
            events: Vec::new(),
            load_concurrency: 0,
            load_completed: 0,
            load_failed: 0,
            load_next_key: 0,
            load_ids: std::collections::BTreeSet::new(),
            events_max: 100_000,
        }
    }

    /// Start a closed-loop load of `concurrency` outstanding puts.
    pub fn start_load(&mut self, ctx: &mut Ctx<'_, Msg>, concurrency: usize) {
        self.load_concurrency = concurrency;
        while self.load_ids.len() < concurrency {
            self.issue_load(ctx);
        }
    }

    fn issue_load(&mut self, ctx: &mut Ctx<'_, Msg>) {
        self.load_next_key += 1;
        let key = bytes(format!("/load/{:06}", self.load_next_key % 1000));
        let body = RequestBody::Write(std::sync::Arc::new(WriteRequest::Put(PutRequest {
            key,
            value: bytes("v"),
            lease: 0,
            prev_kv: false,
        })));
        let id = self.client.request(ctx, body);
        self.load_ids.insert(id);
    }

    fn record(&mut self, ctx: &mut Ctx<'_, Msg>, events: Vec<ClientEvent<Bytes>>) {
        for e in events {
            if let ClientEvent::Response { id, result, .. } = &e
                && self.load_ids.remove(id)
            {
                if result.is_ok() {
                    self.load_completed += 1;
                } else {
                    self.load_failed += 1;
                }
                if self.load_ids.len() < self.load_concurrency {
                    self.issue_load(ctx);
                }
                continue;
            }
            if self.events.len() >= self.events_max {
                self.events.remove(0);
            }
            self.events.push((ctx.sim_time(), e));
        }
    }

    /// The recorded response to request `id`.
    pub fn response(&self, id: u64) -> Option<&ClientEvent<Bytes>> {
        self.events
            .iter()
            .map(|(_, e)| e)
            .find(|e| matches!(e, ClientEvent::Response { id: i, .. } if *i == id))
    }

    /// Whether request `id` was answered successfully.
    pub fn ok(&self, id: u64) -> Option<bool> {
        match self.response(id) {
            Some(ClientEvent::Response { result, .. }) => Some(result.is_ok()),
            _ => None,
        }
    }

    pub fn value_of(&self, id: u64) -> Option<Option<Bytes>> {
        match self.response(id) {
            Some(ClientEvent::Response {
                result: Ok(ResponseBody::Range(r)),
                ..
            }) => Some(r.kvs.first().map(|kv| kv.value.clone())),
            _ => None,
        }
    }
}

impl Actor<Msg> for TestClient {
    fn on_message(&mut self, _ctx: &mut Ctx<'_, Msg>, _from: ActorId, _msg: Msg) {}

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Msg>, tag: u64) {
        if is_client_timer(tag) {
            let ev = self.client.on_timer(ctx, tag);
            self.record(ctx, ev);
        }
    }

    fn on_stream_message(
        &mut self,
        ctx: &mut Ctx<'_, Msg>,
        stream: StreamId,
        _from: ActorId,
        msg: Msg,
    ) {
        let ev = self.client.on_stream_message(ctx, stream, msg);
        self.record(ctx, ev);
    }

    fn on_stream_closed(&mut self, ctx: &mut Ctx<'_, Msg>, stream: StreamId, _why: StreamClose) {
        let ev = self.client.on_stream_closed(ctx, stream);
        self.record(ctx, ev);
    }
}

pub struct TestCluster {
    pub sim: Sim<Msg>,
    /// Member id (1-based) → host.
    pub hosts: BTreeMap<u64, HostId>,
    pub members: BTreeMap<u64, ActorId>,
    pub client_host: HostId,
    pub client: ActorId,
}

impl TestCluster {
    /// `n` members with etcd's defaults changed by `tweak`, and one client using every member.
    pub fn new(n: u64, sim_config: SimConfig, tweak: impl Fn(&mut EtcdConfig)) -> Self {
        let endpoints: Vec<u64> = (1..=n).collect();
        Self::with_client_endpoints(n, sim_config, tweak, &endpoints)
    }

    pub fn with_client_endpoints(
        n: u64,
        sim_config: SimConfig,
        tweak: impl Fn(&mut EtcdConfig),
        endpoints: &[u64],
    ) -> Self {
        let mut sim = Sim::<Msg>::new(sim_config);
        let mut hosts = BTreeMap::new();
        for id in 1..=n {
            let h = sim
                .add_host(&format!("etcd-{id}"))
                .expect("fresh host name");
            hosts.insert(id, h);
        }
        let client_host = sim.add_host("client").expect("fresh host name");
        // Members are the first actors of a fresh simulation: ids 0..n.
        let peers: BTreeMap<u64, ActorId> =
            (1..=n).map(|id| (id, ActorId((id - 1) as u32))).collect();
        let mut members = BTreeMap::new();
        for id in 1..=n {
            let mut cfg = EtcdConfig::new(id, peers.clone());
            tweak(&mut cfg);
            let a = sim
                .add_actor(hosts[&id], "etcd", Member::factory(cfg))
                .expect("fresh actor");
            assert_eq!(a, peers[&id], "member actor ids follow creation order");
            members.insert(id, a);
        }
        let eps: Vec<(u64, ActorId)> = endpoints.iter().map(|id| (*id, members[id])).collect();
        let ccfg = ClientConfig::new(eps);
        let client = sim
            .add_actor(client_host, "client", move |_| {
                TestClient::new(ccfg.clone())
            })
            .expect("fresh actor");
        install_safety_invariant::<Msg, Bytes>(&mut sim, members.values().copied().collect());
        TestCluster {
            sim,
            hosts,
            members,
            client_host,
            client,
        }
    }

    pub fn member(&self, id: u64) -> Option<&Member> {
        self.sim.actor::<Member>(self.members[&id])
    }

    pub fn status(&self, id: u64) -> Option<StatusInfo> {
        self.member(id).and_then(|m| m.status())
    }

    /// Members that consider themselves leader.
    pub fn leaders(&self) -> Vec<u64> {
        self.members
            .keys()
            .copied()
            .filter(|id| {
                self.member(*id)
                    .and_then(|m| m.raw_node())
                    .is_some_and(|n| n.raft().role == Role::Leader)
                    && self
                        .sim
                        .host_state(self.hosts[id])
                        .is_some_and(|s| s == sim::HostState::Up)
            })
            .collect()
    }

    /// Run until exactly one live leader exists (checking every 10 ms), at most `limit`.
    pub fn run_until_leader(&mut self, limit: sim::Duration) -> Option<u64> {
        let deadline = self.sim.now() + limit;
        while self.sim.now() < deadline {
            let l = self.leaders();
            if l.len() == 1 {
                return Some(l[0]);
            }
            self.sim
                .run_for(sim::Duration::from_millis(10))
                .unwrap_or_else(|f| panic!("{f:?}"));
        }
        None
    }

    pub fn run_for(&mut self, d: sim::Duration) {
        self.sim
            .run_for(d)
            .unwrap_or_else(|f| panic!("finding: {f:?}"));
    }

    pub fn fault(&mut self, f: Fault) {
        self.sim.apply_fault(f).expect("known hosts");
    }

    /// Run `f` on the client actor.
    pub fn with_client<R>(&mut self, f: impl FnOnce(&mut TestClient, &mut Ctx<'_, Msg>) -> R) -> R {
        self.sim
            .invoke::<TestClient, R>(self.client, f)
            .expect("no finding")
            .expect("client is up")
    }

    pub fn client(&self) -> &TestClient {
        self.sim
            .actor::<TestClient>(self.client)
            .expect("client actor")
    }

    pub fn put(&mut self, key: &str, value: &str) -> u64 {
        let (k, v) = (bytes(key), bytes(value));
        self.with_client(|c, ctx| c.client.put(ctx, k, v))
    }

    pub fn get(&mut self, key: &str, serializable: bool) -> u64 {
        let k = bytes(key);
        self.with_client(|c, ctx| c.client.get(ctx, k, serializable))
    }
}

/// Shared value helper for tests.
pub fn value(s: &str) -> Bytes {
    Arc::from(s.as_bytes())
}
