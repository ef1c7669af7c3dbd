//! A control plane for other components' tests: etcd members and kube-apiservers on their own
//! hosts of a caller's `Sim`, plus a scripted client ([`Probe`]) that sends requests and keeps
//! every answer. Generic over the test's message type, so a component with messages of its
//! own (the kubelet's runtime calls, kube-proxy's traffic) adds its variants to its own enum
//! and still starts the same control plane; [`TestMsg`] serves components that have none.
//!
//! Not used by the simulator itself: `components/cluster` builds the real topology.

use std::collections::BTreeMap;
use std::sync::Arc;

use sim::{Actor, ActorId, Ctx, Duration, Finding, Message, Sim, SimError, StreamId, TraceHasher};
use store::server::{EtcdConfig, EtcdEnvelope, EtcdMember, EtcdMessage};

use crate::protocol::{
    ApiEnvelope, ApiMessage, ApiReply, ApiRequest, ApiResponse, StatusError, WatchEndReason,
    WatchEvent,
};
use crate::server::{ApiServerConfig, KubeApiServer};
use crate::storage::StoredValue;

/// etcd's and the apiserver's messages, nothing else.
#[derive(Clone, Debug)]
pub enum TestMsg {
    Etcd(EtcdMessage<StoredValue>),
    Api(ApiMessage),
}

impl Message for TestMsg {
    fn trace_digest(&self, h: &mut TraceHasher) {
        match self {
            TestMsg::Etcd(m) => m.trace_digest(h),
            TestMsg::Api(m) => m.trace_digest(h),
        }
    }
}

impl EtcdEnvelope<StoredValue> for TestMsg {
    fn wrap(m: EtcdMessage<StoredValue>) -> Self {
        TestMsg::Etcd(m)
    }
    fn unwrap_etcd(self) -> Result<EtcdMessage<StoredValue>, Self> {
        match self {
            TestMsg::Etcd(m) => Ok(m),
            other => Err(other),
        }
    }
}

impl ApiEnvelope for TestMsg {
    fn wrap_api(m: ApiMessage) -> Self {
        TestMsg::Api(m)
    }
    fn unwrap_api(self) -> Result<ApiMessage, Self> {
        match self {
            TestMsg::Api(m) => Ok(m),
            other => Err(other),
        }
    }
}

/// The actors [`start_control_plane`] created.
#[derive(Clone, Debug)]
pub struct ControlPlane {
    pub etcd: Vec<ActorId>,
    pub apiservers: Vec<ActorId>,
}

/// Adds `etcd_members` etcd hosts (`etcd-1`…) and `apiservers` apiserver hosts
/// (`control-plane-0`…) to `sim`. `tweak` adjusts each apiserver's config. Run the sim a few
/// virtual seconds (see [`run_until_ready`]) before sending requests.
pub fn start_control_plane<M>(
    sim: &mut Sim<M>,
    etcd_members: u64,
    apiservers: usize,
    tweak: impl Fn(&mut ApiServerConfig),
) -> Result<ControlPlane, SimError>
where
    M: ApiEnvelope + EtcdEnvelope<StoredValue>,
{
    let mut hosts = Vec::new();
    for i in 1..=etcd_members {
        hosts.push(sim.add_host(&format!("etcd-{i}"))?);
    }
    // Members learn each other's ids before they exist: actor ids are dense and assigned in
    // order, so the next ones are known.
    let first = sim.actor_count() as u32;
    let peers: BTreeMap<u64, ActorId> = (1..=etcd_members)
        .map(|id| (id, ActorId(first + (id - 1) as u32)))
        .collect();
    let mut etcd = Vec::new();
    for (i, id) in (1..=etcd_members).enumerate() {
        let cfg = EtcdConfig::new(id, peers.clone());
        let a = sim.add_actor(hosts[i], "etcd", EtcdMember::<StoredValue>::factory(cfg))?;
        debug_assert_eq!(a, peers[&id]);
        etcd.push(a);
    }
    let endpoints: Vec<(u64, ActorId)> = peers.into_iter().collect();
    let mut servers = Vec::new();
    for i in 0..apiservers {
        let h = sim.add_host(&format!("control-plane-{i}"))?;
        let mut cfg = ApiServerConfig::new(endpoints.clone());
        tweak(&mut cfg);
        servers.push(sim.add_actor(h, "kube-apiserver", move |_| {
            KubeApiServer::<M>::new(cfg.clone())
        })?);
    }
    Ok(ControlPlane {
        etcd,
        apiservers: servers,
    })
}

/// Runs until every apiserver is ready (its cache loaded) and one has written the bootstrap
/// objects (namespaces, RBAC, the `kubernetes` Service), which waits for etcd's leader; at most
/// `limit` of virtual time. Returns whether they became ready.
pub fn run_until_ready<M>(
    sim: &mut Sim<M>,
    cp: &ControlPlane,
    limit: Duration,
) -> Result<bool, Finding>
where
    M: ApiEnvelope + EtcdEnvelope<StoredValue>,
{
    let deadline = sim.now() + limit;
    while sim.now() < deadline {
        sim.run_for(Duration::from_millis(100))?;
        let server = |a: &ActorId| sim.actor::<KubeApiServer<M>>(*a);
        let ready = cp
            .apiservers
            .iter()
            .all(|a| server(a).is_some_and(|s| s.is_ready()));
        let bootstrapped = cp
            .apiservers
            .iter()
            .any(|a| server(a).is_some_and(|s| s.is_bootstrapped()));
        if ready && bootstrapped {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A scripted client: the test hands it requests through `Sim::invoke`, it keeps every
/// response, watch event and watch end by request id.
pub struct Probe {
    pub server: ActorId,
    pub stream: Option<StreamId>,
    pub responses: BTreeMap<u64, Arc<ApiResponse>>,
    pub events: BTreeMap<u64, Vec<Arc<WatchEvent>>>,
    pub ended: BTreeMap<u64, WatchEndReason>,
}

impl Probe {
    pub fn new(server: ActorId) -> Self {
        Probe {
            server,
            stream: None,
            responses: BTreeMap::new(),
            events: BTreeMap::new(),
            ended: BTreeMap::new(),
        }
    }

    pub fn send<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>, req: ApiRequest) {
        let s = match self.stream {
            Some(s) if ctx.stream_is_open(s) => s,
            _ => {
                let s = ctx.open_stream(self.server);
                self.stream = Some(s);
                s
            }
        };
        let _ = ctx.stream_send(s, M::wrap_api(ApiMessage::Request(Arc::new(req))));
    }

    /// The answer to request `id`, if it came.
    pub fn result(&self, id: u64) -> Option<Result<ApiReply, StatusError>> {
        self.responses.get(&id).map(|r| r.result.clone())
    }
}

impl<M: ApiEnvelope> Actor<M> for Probe {
    fn on_message(&mut self, _ctx: &mut Ctx<'_, M>, _from: ActorId, _msg: M) {}

    fn on_stream_message(&mut self, _ctx: &mut Ctx<'_, M>, _s: StreamId, _from: ActorId, msg: M) {
        match msg.unwrap_api() {
            Ok(ApiMessage::Response(r)) => {
                self.responses.insert(r.id, r);
            }
            Ok(ApiMessage::WatchEvent { id, event }) => {
                self.events.entry(id).or_default().push(event)
            }
            Ok(ApiMessage::WatchEnd { id, reason }) => {
                self.ended.insert(id, reason);
            }
            _ => {}
        }
    }
}

/// Sends `req` from the probe `probe` and runs the sim in 10 ms steps until its answer
/// arrives, at most `limit`. `None` when no answer came in time.
pub fn call<M: ApiEnvelope>(
    sim: &mut Sim<M>,
    probe: ActorId,
    req: ApiRequest,
    limit: Duration,
) -> Result<Option<Result<ApiReply, StatusError>>, Finding> {
    let id = req.id;
    sim.invoke::<Probe, _>(probe, |p, ctx| p.send(ctx, req))?;
    let deadline = sim.now() + limit;
    while sim.now() < deadline {
        if let Some(r) = sim.actor::<Probe>(probe).and_then(|p| p.result(id)) {
            return Ok(Some(r));
        }
        sim.run_for(Duration::from_millis(10))?;
    }
    Ok(sim.actor::<Probe>(probe).and_then(|p| p.result(id)))
}
