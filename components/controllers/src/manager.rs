//! `KubeControllerManager<M>`: the kube-controller-manager process as one actor. Every
//! control-plane node runs one; only the holder of the Lease `kube-system/kube-controller-manager`
//! runs the controllers (F9: lease 15 s, renew deadline 10 s, retry 2 s).
//!
//! Follows `cmd/kube-controller-manager/app/controllermanager.go`: leader election first, and
//! on `OnStartedLeading` one shared informer factory is started and every controller runs
//! with its own work queue (client-go's default controller rate limiter) over that factory;
//! losing the lease ends the process (`klog.Fatalf("leaderelection lost")`, exit code 1),
//! which is modelled as dropping every controller's in-memory state and campaigning again with
//! a new identity, as the restarted container would; its static pod's container exits and is
//! restarted by the kubelet ([`client::exit`]).
//!
//! Writes are asynchronous here (see `controller.rs`), so the manager keeps, per controller
//! key, the writes still in flight and the resourceVersions they returned, and does not
//! reconcile the key again until they are answered and the informers have caught up with
//! them: the equivalent of upstream's blocking client calls followed by an informer that is
//! at least as new as the write. A failed write requeues its key through the rate limiter.
//!
//! Each controller has its own client-side rate limit, as upstream where every controller
//! gets its own clientset from the controller context's client builder, each with a token
//! bucket of `--kube-api-qps` 20 and `--kube-api-burst` 30 (`KubeAPIQPS`/`KubeAPIBurst` in
//! `cmd/kube-controller-manager/app/options`): a write waits in the client until its token
//! is due, and its key stays held meanwhile, as a sync blocked in `tryThrottle` holds its
//! worker. So a 1,000-replica ReplicaSet takes ~50 s to create, as on a real cluster, and pod
//! events arriving meanwhile coalesce into the key's next sync. The informers' lists and
//! watches and the Lease renewals are not throttled (their own clients upstream, and watches
//! are never throttled). Events bypass the bucket too: upstream's recorder posts them from a
//! broadcaster goroutine behind a spam filter (25 per object, then one per 5 minutes), which
//! is not modelled, so throttling every Event here would slow creation twofold.
//!
//! Simplifications: the informers keep running after leadership is lost (the restarted
//! process would rebuild them), and on leading again every controller is handed every cached
//! object as an Add, as rebuilt informers' first lists would deliver them; one worker per
//! controller (upstream runs 5 for ReplicaSet and Deployment, but a key is never processed
//! concurrently there either); at most
//! [`MAX_RECONCILES_PER_CALLBACK`] keys per controller per callback, the rest on the next
//! wake-up.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use api::{Kind, Object};
use apiserver::{ApiEnvelope, ApiReply, UserInfo, Verb};
use client::api_client::is_api_client_timer;
use client::controller::finish;
use client::exit::{self, ExitEnvelope};
use client::indexer::{
    CONTROLLER_UID_INDEX, LABEL_INDEX, NODE_NAME_INDEX, ORPHAN_INDEX, index_by_controller_uid,
    index_by_labels, index_orphans_by_namespace, index_pod_by_node_name,
};
use client::klog::{self, Severity};
use client::leader_election::ElectionEvent;
use client::rate_limiter::BucketRateLimiter;
use client::wakeup::Wakeup;
use client::{
    ApiClient, ApiClientConfig, ClientError, ClientEvent, Indexer, InformerFactory, LeaseLock,
    Notification, WorkQueue,
};
use sim::{Actor, ActorId, Ctx, Duration, StreamClose, StreamId, Time};

use crate::controller::{Controller, Cx, Purpose, Write};

/// Keys one controller reconciles per actor callback before yielding.
pub const MAX_RECONCILES_PER_CALLBACK: usize = 256;
/// client-go controllers' `maxRetries` before a key is dropped until its next event.
pub const MAX_RETRIES: u32 = 15;

const LEASE_TIMER: u64 = 1;
const WAKEUP_TIMER: u64 = 2;
const INFORMER_TIMER_BASE: u64 = 0x100;

pub const LEASE_NAMESPACE: &str = "kube-system";
pub const LEASE_NAME: &str = "kube-controller-manager";

/// Which controllers run, by their `--controllers` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ControllerName {
    ReplicaSet,
    Deployment,
    EndpointSlice,
    Endpoints,
    NodeLifecycle,
    ServiceAccount,
    Namespace,
    GarbageCollector,
    DaemonSet,
    Job,
    StatefulSet,
}

impl ControllerName {
    pub const ALL: [ControllerName; 11] = [
        ControllerName::ReplicaSet,
        ControllerName::Deployment,
        ControllerName::EndpointSlice,
        ControllerName::Endpoints,
        ControllerName::NodeLifecycle,
        ControllerName::ServiceAccount,
        ControllerName::Namespace,
        ControllerName::GarbageCollector,
        ControllerName::DaemonSet,
        ControllerName::Job,
        ControllerName::StatefulSet,
    ];
}

/// How one kube-controller-manager replica is set up.
#[derive(Clone, Debug)]
pub struct ControllerManagerConfig {
    /// The apiserver replicas, tried in order (kubeadm points each replica at its own node's
    /// apiserver first).
    pub apiservers: Vec<ActorId>,
    /// The node it runs on: the first half of the leader-election identity.
    pub hostname: String,
    pub controllers: Vec<ControllerName>,
    /// Lease timings (F9 defaults).
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
    pub node_lifecycle: crate::node_lifecycle::NodeLifecycleConfig,
    /// TEST ONLY, a planted bug (default `false`): the ReplicaSet controller ignores its
    /// expectations (`SatisfiedExpectations` is taken as always true) and the manager does
    /// not hold its keys until the informers have caught up with the pods it created. A
    /// sync that runs on a stale pod cache then creates the missing replicas a second time:
    /// the over-creation that client-go's `ControllerExpectations` exist to prevent. Writes
    /// still in flight keep gating the key, as upstream's blocking calls do, so the bug shows
    /// exactly when the pod informer lags the apiserver's answers. For checking that a test
    /// or an invariant catches it; never set it in a real cluster.
    pub planted_bug_replicaset_without_expectations: bool,
    /// `--kube-api-qps` and `--kube-api-burst` of each controller's client (20 and 30 by
    /// default); `None` lifts the limit (what a scale test raising them far is close to).
    pub kube_api_rate: Option<(u32, u32)>,
}

/// kube-controller-manager's `--kube-api-qps` default.
pub const KUBE_API_QPS: u32 = 20;
/// kube-controller-manager's `--kube-api-burst` default.
pub const KUBE_API_BURST: u32 = 30;

impl ControllerManagerConfig {
    pub fn new(apiservers: Vec<ActorId>, hostname: impl Into<String>) -> Self {
        ControllerManagerConfig {
            apiservers,
            hostname: hostname.into(),
            controllers: ControllerName::ALL.to_vec(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
            node_lifecycle: Default::default(),
            planted_bug_replicaset_without_expectations: false,
            kube_api_rate: Some((KUBE_API_QPS, KUBE_API_BURST)),
        }
    }

    fn bucket(&self) -> Option<BucketRateLimiter> {
        self.kube_api_rate
            .map(|(qps, burst)| BucketRateLimiter::new(qps, burst))
    }

    pub fn with_controllers(mut self, names: &[ControllerName]) -> Self {
        self.controllers = names.to_vec();
        self
    }
}

/// Writes in flight for one key, and the resourceVersions the informers must reach first.
#[derive(Clone, Debug, Default)]
struct Gate {
    in_flight: u32,
    min_rv: BTreeMap<Kind, i64>,
    /// When the last write was answered: the wait for the caches is bounded from there.
    answered_at: Option<Time>,
}

/// How long a key waits for the informers to reach its writes' resourceVersions before it is
/// reconciled anyway (a watch that lost an event must not stall a controller; the
/// expectations' own bound is 5 min, this one is short because it only papers over lag).
pub const CACHE_WAIT_MAX: Duration = Duration::from_secs(10);
/// How often a key held back by [`CACHE_WAIT_MAX`] is looked at again.
const CACHE_WAIT_RECHECK: Duration = Duration::from_secs(1);

struct Slot {
    ctl: Box<dyn Controller>,
    queue: WorkQueue<String>,
    gates: BTreeMap<String, Gate>,
    next_tick: Option<Time>,
    /// This controller's client token bucket (`None`: unlimited).
    bucket: Option<BucketRateLimiter>,
}

#[derive(Clone, Debug)]
struct Pending {
    slot: usize,
    owner: String,
    purpose: Purpose,
    kind: Kind,
}

/// Counters for tests and the performance note.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ManagerStats {
    pub reconciles: u64,
    pub writes: u64,
    pub failed_writes: u64,
    pub leadership_gained: u64,
}

/// One kube-controller-manager replica.
pub struct KubeControllerManager<M> {
    cfg: ControllerManagerConfig,
    client: ApiClient,
    factory: InformerFactory,
    lock: Option<LeaseLock>,
    slots: Vec<Slot>,
    pending: BTreeMap<u64, Pending>,
    wakeup: Wakeup,
    leading: bool,
    /// When this replica last started leading (host clock).
    pub leading_since: Option<Time>,
    pub stats: ManagerStats,
    caches_synced_logged: bool,
    _m: PhantomData<fn() -> M>,
}

/// The event broadcaster's structured log line for an Event
/// (`tools/record/event.go`, `StartStructuredLogging`).
fn log_event<M: ApiEnvelope>(ctx: &mut Ctx<'_, M>, ev: &k8s_openapi::api::core::v1::Event) {
    let o = &ev.involved_object;
    let object = match o.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => format!("{ns}/{}", o.name.as_deref().unwrap_or("")),
        _ => o.name.clone().unwrap_or_default(),
    };
    klog::info(
        ctx,
        "event.go:389",
        "Event occurred",
        &[
            ("object", &object),
            ("fieldPath", o.field_path.as_deref().unwrap_or("")),
            ("kind", o.kind.as_deref().unwrap_or("")),
            ("apiVersion", o.api_version.as_deref().unwrap_or("")),
            ("type", ev.type_.as_deref().unwrap_or("")),
            ("reason", ev.reason.as_deref().unwrap_or("")),
            ("message", ev.message.as_deref().unwrap_or("")),
        ],
    );
}

/// The indexers kube-controller-manager's informers carry (registered before first use).
fn indexer_for(kind: Kind) -> Indexer {
    let ix = Indexer::with_namespace_index().with_owner_index(
        crate::garbage_collector::OWNER_UID_INDEX,
        crate::garbage_collector::index_by_owner_uid,
    );
    match kind {
        Kind::Pod => ix
            .with_index(CONTROLLER_UID_INDEX, index_by_controller_uid)
            .with_index(ORPHAN_INDEX, index_orphans_by_namespace)
            .with_index(NODE_NAME_INDEX, index_pod_by_node_name)
            .with_index(LABEL_INDEX, index_by_labels),
        Kind::Service => ix.with_index(
            crate::service_pods::SELECTOR_INDEX,
            crate::service_pods::index_by_first_selector_label,
        ),
        Kind::ReplicaSet => ix
            .with_index(CONTROLLER_UID_INDEX, index_by_controller_uid)
            .with_index(ORPHAN_INDEX, index_orphans_by_namespace),
        Kind::EndpointSlice => ix.with_index(
            crate::endpointslice::SERVICE_NAME_INDEX,
            crate::endpointslice::index_by_service,
        ),
        _ => ix,
    }
}

fn build(name: ControllerName, cfg: &ControllerManagerConfig) -> Box<dyn Controller> {
    match name {
        ControllerName::ReplicaSet => {
            let mut rs = crate::replicaset::ReplicaSetController::default();
            rs.planted_bug_without_expectations = cfg.planted_bug_replicaset_without_expectations;
            Box::new(rs)
        }
        ControllerName::Deployment => Box::new(crate::deployment::DeploymentController::default()),
        ControllerName::EndpointSlice => {
            Box::new(crate::endpointslice::EndpointSliceController::default())
        }
        ControllerName::Endpoints => Box::new(crate::endpoints::EndpointsController::default()),
        ControllerName::NodeLifecycle => Box::new(
            crate::node_lifecycle::NodeLifecycleController::new(cfg.node_lifecycle.clone()),
        ),
        ControllerName::ServiceAccount => Box::new(crate::serviceaccount::ServiceAccountController),
        ControllerName::Namespace => Box::new(crate::namespace::NamespaceController),
        ControllerName::GarbageCollector => Box::new(crate::garbage_collector::GarbageCollector),
        ControllerName::DaemonSet => Box::new(crate::daemonset::DaemonSetController::default()),
        ControllerName::Job => Box::new(crate::job::JobController::default()),
        ControllerName::StatefulSet => {
            Box::new(crate::statefulset::StatefulSetController::default())
        }
    }
}

impl<M: ApiEnvelope + ExitEnvelope> KubeControllerManager<M> {
    pub fn new(cfg: ControllerManagerConfig) -> Self {
        let client = ApiClient::new(ApiClientConfig::new(
            cfg.apiservers.clone(),
            UserInfo::component("system:kube-controller-manager"),
        ));
        let mut factory = InformerFactory::new(INFORMER_TIMER_BASE, Duration::ZERO);
        let mut names = cfg.controllers.clone();
        names.sort();
        names.dedup();
        let slots: Vec<Slot> = names
            .iter()
            .map(|n| Slot {
                ctl: build(*n, &cfg),
                queue: WorkQueue::new(),
                gates: BTreeMap::new(),
                next_tick: None,
                bucket: cfg.bucket(),
            })
            .collect();
        for s in &slots {
            for kind in s.ctl.kinds() {
                factory.informer_for(*kind, || indexer_for(*kind));
            }
        }
        KubeControllerManager {
            cfg,
            client,
            factory,
            lock: None,
            slots,
            pending: BTreeMap::new(),
            wakeup: Wakeup::new(WAKEUP_TIMER),
            leading: false,
            leading_since: None,
            stats: ManagerStats::default(),
            caches_synced_logged: false,
            _m: PhantomData,
        }
    }

    pub fn is_leader(&self) -> bool {
        self.leading
    }

    /// This replica's leader-election identity (`<hostname>_<uuid>`), once started.
    pub fn identity(&self) -> Option<&str> {
        self.lock
            .as_ref()
            .map(|l| l.elector().config().identity.as_str())
    }

    /// The shared informer caches (for tests and introspection).
    pub fn caches(&self) -> &InformerFactory {
        &self.factory
    }

    /// A controller by name, for tests (downcast by the caller's knowledge of its type).
    pub fn controller_names(&self) -> Vec<&'static str> {
        self.slots.iter().map(|s| s.ctl.name()).collect()
    }

    fn campaign(&mut self, ctx: &mut Ctx<'_, M>) {
        let cfg = &self.cfg;
        let (lock, evs) = LeaseLock::campaign(
            ctx,
            &mut self.client,
            &cfg.hostname,
            (LEASE_NAMESPACE, LEASE_NAME),
            |e| {
                e.lease_duration = cfg.lease_duration;
                e.renew_deadline = cfg.renew_deadline;
                e.retry_period = cfg.retry_period;
                e.request_timeout = cfg.renew_deadline;
            },
            LEASE_TIMER,
        );
        self.lock = Some(lock);
        self.on_election(ctx, evs);
    }

    fn on_election(&mut self, ctx: &mut Ctx<'_, M>, events: Vec<ElectionEvent>) {
        for e in events {
            match e {
                ElectionEvent::StartedLeading => {
                    self.leading = true;
                    self.caches_synced_logged = false;
                    self.leading_since = Some(ctx.now());
                    self.stats.leadership_gained += 1;
                    // Leading again: the informers ran on while another replica led, and
                    // the changes they saw meanwhile reached no controller. A restarted
                    // process would list everything afresh, so every object is new to it.
                    let replay = self.factory.replay();
                    self.factory.start(ctx, &mut self.client);
                    for (kind, adds) in replay {
                        self.notify(ctx, kind, &adds);
                    }
                    let now = ctx.now();
                    for s in &mut self.slots {
                        s.next_tick = s.ctl.tick_period().map(|p| now.saturating_add(p));
                        let name = format!("{}-controller", s.ctl.name());
                        klog::info(
                            ctx,
                            "controllermanager.go:787",
                            "Started controller",
                            &[("controller", &name)],
                        );
                    }
                }
                ElectionEvent::StoppedLeading => {
                    klog::log(
                        ctx,
                        Severity::Error,
                        "controllermanager.go:340",
                        "leaderelection lost",
                        &[],
                    );
                    self.leading = false;
                    self.leading_since = None;
                    let bucket = self.cfg.bucket();
                    for s in &mut self.slots {
                        s.ctl.reset();
                        s.queue = WorkQueue::new();
                        s.gates.clear();
                        s.next_tick = None;
                        s.bucket = bucket.clone();
                    }
                    // Writes still waiting for a token die with the process.
                    self.client.drop_throttled(ctx);
                    self.pending.clear();
                    exit::exit_and_restart(ctx, "kube-controller-manager", 1);
                    self.campaign(ctx);
                }
                ElectionEvent::NewLeader(l) => {
                    ctx.log(format!("Ileaderelection.go:358] new leader elected: {l}"))
                }
                ElectionEvent::Send { .. } => {}
            }
        }
    }

    fn handle(&mut self, ctx: &mut Ctx<'_, M>, events: Vec<ClientEvent>) {
        for ev in events {
            if let Some((kind, ns)) = self.factory.on_client_event(ctx, &mut self.client, &ev) {
                self.notify(ctx, kind, &ns);
                continue;
            }
            if let Some(lock) = &mut self.lock
                && let Some(evs) = lock.on_client_event(ctx, &mut self.client, &ev)
            {
                self.on_election(ctx, evs);
                continue;
            }
            if let ClientEvent::Response { id, result } = ev
                && let Some(p) = self.pending.remove(&id)
            {
                self.write_done(ctx, p, &result);
            }
        }
        self.work(ctx);
    }

    fn notify(&mut self, ctx: &mut Ctx<'_, M>, kind: Kind, ns: &[Notification]) {
        if !self.leading {
            return;
        }
        let now = ctx.now();
        for i in 0..self.slots.len() {
            if !self.slots[i].ctl.kinds().contains(&kind) {
                continue;
            }
            let mut writes = Vec::new();
            let mut requeue = Vec::new();
            let mut logs = Vec::new();
            let slot = &mut self.slots[i];
            let mut cx = Cx {
                caches: &self.factory,
                now,
                writes: &mut writes,
                requeue: &mut requeue,
                logs: &mut logs,
            };
            for n in ns {
                for key in slot.ctl.on_notification(kind, n, &mut cx) {
                    if let Err(e) = slot.queue.add(key) {
                        klog::error(
                            ctx,
                            "controller_utils.go",
                            &e.to_string(),
                            "Unable to queue key",
                            &[("controller", slot.ctl.name())],
                        );
                    }
                }
            }
            for (key, d) in requeue {
                let _ = slot.queue.add_after(key, d, now);
            }
            for l in logs {
                ctx.log(l);
            }
            self.submit(ctx, i, writes);
        }
    }

    fn submit(&mut self, ctx: &mut Ctx<'_, M>, slot: usize, writes: Vec<Write>) {
        for w in writes {
            if w.purpose == Purpose::Event
                && let Verb::Create(obj) = &w.request.verb
                && let Object::Event(ev) = obj.as_ref()
            {
                log_event(ctx, ev);
            }
            let kind = w.request.kind;
            let id = match &mut self.slots[slot].bucket {
                Some(bucket) if w.purpose != Purpose::Event => {
                    self.client.send_throttled(ctx, w.request, bucket)
                }
                _ => self.client.send(ctx, w.request),
            };
            self.stats.writes += 1;
            if w.purpose != Purpose::Event && !w.owner.is_empty() {
                self.slots[slot]
                    .gates
                    .entry(w.owner.clone())
                    .or_default()
                    .in_flight += 1;
            }
            self.pending.insert(
                id,
                Pending {
                    slot,
                    owner: w.owner,
                    purpose: w.purpose,
                    kind,
                },
            );
        }
    }

    fn write_done(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        p: Pending,
        result: &Result<ApiReply, ClientError>,
    ) {
        if result.is_err() {
            self.stats.failed_writes += 1;
        }
        if p.purpose == Purpose::Event || p.owner.is_empty() {
            return;
        }
        let now = ctx.now();
        let mut writes = Vec::new();
        let mut requeue = Vec::new();
        let mut logs = Vec::new();
        {
            let slot = &mut self.slots[p.slot];
            let gate = slot.gates.entry(p.owner.clone()).or_default();
            gate.in_flight = gate.in_flight.saturating_sub(1);
            gate.answered_at = Some(now);
            // A deletion's revision is only seen through a DELETED event; waiting for it
            // would add nothing the expectations do not already track.
            let rv = match result {
                Ok(ApiReply::Object(o))
                | Ok(ApiReply::Deleted {
                    object: o,
                    gone: false,
                }) => o.resource_version().parse::<i64>().ok(),
                _ => None,
            };
            if let Some(rv) = rv {
                let e = gate.min_rv.entry(p.kind).or_insert(rv);
                *e = (*e).max(rv);
            }
            let idle = gate.in_flight == 0;
            let mut cx = Cx {
                caches: &self.factory,
                now,
                writes: &mut writes,
                requeue: &mut requeue,
                logs: &mut logs,
            };
            slot.ctl
                .on_write_result(&p.owner, &p.purpose, result, &mut cx);
            let failed = result.as_ref().err().is_some_and(|e| !e.is_not_found());
            if failed {
                let _ = slot.queue.add_rate_limited(p.owner.clone(), now);
            } else if idle {
                let _ = slot.queue.add(p.owner.clone());
            }
            for (key, d) in requeue {
                let _ = slot.queue.add_after(key, d, now);
            }
        }
        for l in logs {
            ctx.log(l);
        }
        self.submit(ctx, p.slot, writes);
    }

    /// Whether `key`'s writes are answered and the caches have caught up with them (or
    /// [`CACHE_WAIT_MAX`] has passed since).
    fn gate_open(
        factory: &InformerFactory,
        gates: &mut BTreeMap<String, Gate>,
        key: &str,
        now: Time,
        waits_for_caches: bool,
    ) -> bool {
        let Some(gate) = gates.get_mut(key) else {
            return true;
        };
        if gate.in_flight > 0 {
            return false;
        }
        if !waits_for_caches {
            gates.remove(key);
            return true;
        }
        if gate
            .answered_at
            .is_some_and(|t| now.saturating_since(t) >= CACHE_WAIT_MAX)
        {
            gates.remove(key);
            return true;
        }
        gate.min_rv.retain(|kind, rv| {
            let seen = factory
                .get(*kind)
                .and_then(|i| i.last_synced_resource_version().parse::<i64>().ok());
            // A kind the manager does not watch cannot be waited for.
            seen.is_some_and(|s| s < *rv)
        });
        let open = gate.min_rv.is_empty();
        if open {
            gates.remove(key);
        }
        open
    }

    fn work(&mut self, ctx: &mut Ctx<'_, M>) {
        if !self.leading || !self.factory.has_synced() {
            return;
        }
        if !self.caches_synced_logged {
            self.caches_synced_logged = true;
            for i in 0..self.slots.len() {
                let name = self.slots[i].ctl.name();
                klog::info(
                    ctx,
                    "shared_informer.go:320",
                    "Caches are synced",
                    &[("controller", name)],
                );
            }
        }
        let now = ctx.now();
        let mut more = false;
        for i in 0..self.slots.len() {
            let mut writes = Vec::new();
            let mut requeue = Vec::new();
            let mut logs = Vec::new();
            {
                let slot = &mut self.slots[i];
                let mut cx = Cx {
                    caches: &self.factory,
                    now,
                    writes: &mut writes,
                    requeue: &mut requeue,
                    logs: &mut logs,
                };
                if let Some(at) = slot.next_tick
                    && at <= now
                {
                    for key in slot.ctl.on_tick(&mut cx) {
                        let _ = slot.queue.add(key);
                    }
                    slot.next_tick = slot.ctl.tick_period().map(|p| now.saturating_add(p));
                }
                slot.queue.advance(now);
                let mut budget = MAX_RECONCILES_PER_CALLBACK;
                while budget > 0
                    && let Some(key) = slot.queue.get()
                {
                    budget -= 1;
                    if !Self::gate_open(
                        &self.factory,
                        &mut slot.gates,
                        &key,
                        now,
                        slot.ctl.waits_for_caches(),
                    ) {
                        slot.queue.done(&key);
                        if slot.gates.get(&key).is_some_and(|g| g.in_flight == 0) {
                            cx.requeue.push((key, CACHE_WAIT_RECHECK));
                        }
                        continue;
                    }
                    self.stats.reconciles += 1;
                    let result = slot.ctl.reconcile(&key, &mut cx);
                    if let Err(e) = &result {
                        let err = format!("sync {key:?} failed with {e}");
                        klog::error(
                            ctx,
                            "runtime.go:142",
                            &err,
                            "Unhandled Error",
                            &[("controller", slot.ctl.name())],
                        );
                    }
                    let _ = finish(&mut slot.queue, key, &result, Some(MAX_RETRIES), now);
                }
                if budget == 0 && !slot.queue.is_empty() {
                    more = true;
                }
                for (key, d) in requeue {
                    let _ = slot.queue.add_after(key, d, now);
                }
            }
            for l in logs {
                ctx.log(l);
            }
            self.submit(ctx, i, writes);
        }
        let next = if more {
            Some(now)
        } else {
            self.slots
                .iter()
                .flat_map(|s| [s.queue.next_ready_at(), s.next_tick])
                .flatten()
                .min()
        };
        self.wakeup.arm(ctx, next);
    }
}

impl<M: ApiEnvelope + ExitEnvelope> Actor<M> for KubeControllerManager<M> {
    fn on_start(&mut self, ctx: &mut Ctx<'_, M>) {
        self.campaign(ctx);
    }

    fn on_message(&mut self, _ctx: &mut Ctx<'_, M>, _from: ActorId, _msg: M) {}

    fn on_stream_message(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        stream: StreamId,
        _from: ActorId,
        msg: M,
    ) {
        let Ok(m) = msg.unwrap_api() else { return };
        let events = self.client.on_message(ctx, stream, m);
        self.handle(ctx, events);
    }

    fn on_stream_closed(&mut self, ctx: &mut Ctx<'_, M>, stream: StreamId, _why: StreamClose) {
        let events = self.client.on_stream_closed(ctx, stream);
        self.handle(ctx, events);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, M>, tag: u64) {
        if is_api_client_timer(tag) {
            let events = self.client.on_timer(ctx, tag);
            self.handle(ctx, events);
        } else if self.factory.owns_timer(tag) {
            if let Some((kind, ns)) = self.factory.on_timer(ctx, &mut self.client, tag) {
                self.notify(ctx, kind, &ns);
            }
            self.work(ctx);
        } else if tag == LEASE_TIMER {
            if let Some(lock) = &mut self.lock {
                let evs = lock.on_timer(ctx, &mut self.client);
                self.on_election(ctx, evs);
            }
            self.work(ctx);
        } else if tag == WAKEUP_TIMER {
            self.wakeup.fired();
            self.work(ctx);
        }
    }
}
