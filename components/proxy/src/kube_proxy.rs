//! The kube-proxy actor of one node: informers on Services and EndpointSlices, rule syncs
//! paced by the [`SyncRunner`], the node's [`RuleTable`] and [`Dataplane`], and the node's
//! simulated clients ([`crate::traffic`]).
//!
//! Follows `cmd/kube-proxy/app/server.go` and the proxiers' `syncProxyRules`: Services are
//! watched without those naming another proxy (`!service.kubernetes.io/service-proxy-name`),
//! EndpointSlices without those and headless ones (`!service.kubernetes.io/headless`); no
//! rules are written before both informers have synced (`isInitialized`); every informer
//! change asks the runner for a sync, so a burst of changes lands as one sync per
//! `minSyncPeriod`. A proxy cut off from the apiserver keeps its last rules (its watches
//! break and the reflectors retry with backoff), which is what a partitioned node does.
//!
//! Traffic goes the real data path: the client on this node resolves the Service through
//! this node's rules, then sends `TrafficMessage::Request` to the runtime of the node whose
//! /24 holds the chosen pod IP (the routing table in [`KubeProxyConfig::routes`]).
//!
//! A sync reprograms only the Services whose object or EndpointSlices changed since the last
//! one (kube-proxy's partial sync); the periodic `syncPeriod` sync has nothing to redo, as
//! nothing else touches the simulated tables.
//!
//! Simplifications: rules live in the actor, so a crash of the host (a node reboot) loses
//! them, as a reboot loses the kernel's tables, but a crash of kube-proxy alone (which would
//! leave them in place) is not modelled; the traffic counters live in a [`TrafficSink`]
//! shared across restarts, and running generators resume when the node comes back.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;
use std::net::Ipv4Addr;
use std::rc::Rc;
use std::sync::Arc;

use api::{Kind, Object, SharedObject};
use apiserver::{ApiEnvelope, UserInfo};
use client::api_client::{ApiClient, ApiClientConfig, ClientEvent, is_api_client_timer};
use client::indexer::{Indexer, SharedKeys, with_key};
use client::informer::{Informer, InformerConfig, Notification};
use client::klog;
use client::wakeup::Wakeup;
use net::{Endpoint, Outcome, TrafficEnvelope, TrafficMessage};
use sim::{Actor, ActorId, Ctx, Duration, StreamClose, StreamId, Time};

use crate::dataplane::{Dataplane, Verdict};
use crate::rule_memo::RuleMemo;
use crate::rules::{self, ProxyMode, RuleTable};
use crate::service_port::{SERVICE_NAME_LABEL, ServicePortName};
use crate::sync_runner::SyncRunner;
use crate::traffic::{
    Ending, InFlight, MAX_GENERATORS, MAX_IN_FLIGHT, ServiceTraffic, TrafficCounts, TrafficSpec,
};

const TAG_SERVICES: u64 = 1;
const TAG_SLICES: u64 = 2;
const TAG_SYNC: u64 = 3;
const TAG_TRAFFIC: u64 = 4;

/// The slice informer's index: `namespace/service` of each EndpointSlice.
const BY_SERVICE: &str = "service";

/// Calls `f` with `namespace/name` of the Service an EndpointSlice belongs to (none when it
/// carries no Service label).
fn with_slice_service_key<R>(obj: &Object, f: impl FnOnce(&str) -> R) -> Option<R> {
    let svc = obj.labels().get(SERVICE_NAME_LABEL)?;
    Some(if obj.namespace().is_empty() {
        // Keeps the `/` that splits it (sync reads the Service's namespace as "").
        f(&format!("/{svc}"))
    } else {
        with_key(obj.namespace(), svc, f)
    })
}

/// Index function: the Service an EndpointSlice belongs to.
fn slice_service_key(obj: &Object) -> Vec<String> {
    with_slice_service_key(obj, str::to_string)
        .into_iter()
        .collect()
}

/// Adds to `changed` the Service `o` is (a Service) or belongs to (an EndpointSlice), named
/// as [`client::indexer::object_key`] and [`slice_service_key`] name it, with the key
/// allocation the caches share while they hold the object (a deleted object's key is not
/// added back to the shared keys).
fn mark_changed(changed: &mut BTreeSet<Arc<str>>, keys: &SharedKeys, o: &Object) {
    let mark = |key: &str| {
        if !changed.contains(key) {
            changed.insert(keys.shared_or_new(key));
        }
    };
    match o {
        Object::EndpointSlice(_) => {
            with_slice_service_key(o, mark);
        }
        _ => with_key(o.namespace(), o.name(), mark),
    }
}

/// Two revisions of one cached object mark the same Service: a Service (its key is the
/// cache's), or EndpointSlices labelled with the same Service.
fn same_service(old: &Object, new: &Object) -> bool {
    match (old, new) {
        (Object::EndpointSlice(_), Object::EndpointSlice(_)) => {
            old.labels().get(SERVICE_NAME_LABEL) == new.labels().get(SERVICE_NAME_LABEL)
        }
        (Object::EndpointSlice(_), _) | (_, Object::EndpointSlice(_)) => false,
        _ => true,
    }
}

/// The informers of Services and EndpointSlices, their caches keyed by `keys`.
fn informers(cfg: &KubeProxyConfig, keys: SharedKeys) -> (Informer, Informer) {
    let mut svc_cfg = InformerConfig::new(Kind::Service, TAG_SERVICES);
    svc_cfg.label_selector = "!service.kubernetes.io/service-proxy-name".into();
    svc_cfg.resync_period = cfg.config_sync_period;
    let mut slice_cfg = InformerConfig::new(Kind::EndpointSlice, TAG_SLICES);
    slice_cfg.label_selector =
        "!service.kubernetes.io/headless,!service.kubernetes.io/service-proxy-name".into();
    slice_cfg.resync_period = cfg.config_sync_period;
    (
        Informer::new(svc_cfg, Indexer::new().sharing_keys(keys.clone())),
        Informer::new(
            slice_cfg,
            Indexer::new()
                .sharing_keys(keys)
                .with_label_index(BY_SERVICE, slice_service_key),
        ),
    )
}

/// Whether an update changes anything the rules are built from. kube-proxy's change trackers
/// drop an update whose before and after are equal (`ServiceChangeTracker.Update` compares the
/// Service's port map, `EndpointSliceCache.updatePending` the slice's endpoints and ports, in
/// `pkg/proxy/servicechangetracker.go` and `pkg/proxy/endpointslicecache.go`), and the
/// proxier asks for a sync only when one is left (`OnServiceUpdate`/`OnEndpointSliceUpdate` in
/// `pkg/proxy/iptables/proxier.go`). So the informers' resync every `--config-sync-period`
/// (which redelivers every cached object unchanged) syncs nothing, nor does an update of
/// metadata alone.
fn proxy_inputs_differ(old: &SharedObject, new: &SharedObject) -> bool {
    if Arc::ptr_eq(old, new) {
        return false;
    }
    match (old.as_ref(), new.as_ref()) {
        (Object::Service(a), Object::Service(b)) => a.spec != b.spec,
        (Object::EndpointSlice(a), Object::EndpointSlice(b)) => {
            a.address_type != b.address_type
                || a.endpoints != b.endpoints
                || a.ports != b.ports
                || a.metadata.labels != b.metadata.labels
        }
        _ => true,
    }
}

/// Arrivals handled in one timer callback per generator (a bound on a burst after a pause).
const MAX_ARRIVALS_PER_WAKE: usize = 10_000;

/// kube-proxy's configuration for one node.
#[derive(Clone, Debug)]
pub struct KubeProxyConfig {
    /// The node's name (`kubesim-worker`).
    pub node_name: String,
    /// The node's index in the pod network (its /24 is `cluster_cidr.node_cidr(node_index)`).
    pub node_index: usize,
    /// The node's address on the docker network, for IPVS NodePort virtual servers.
    pub node_ip: Option<Ipv4Addr>,
    /// The apiserver replicas (kube-proxy's kubeconfig points at the control plane).
    pub apiservers: Vec<ActorId>,
    /// Who kube-proxy authenticates as (`system:kube-proxy`, bound to `system:node-proxier`).
    pub user: UserInfo,
    pub mode: ProxyMode,
    /// `--iptables-sync-period` / `--ipvs-sync-period` (30 s).
    pub sync_period: Duration,
    /// `--iptables-min-sync-period` (1 s) / `--ipvs-min-sync-period` (0).
    pub min_sync_period: Duration,
    /// `--config-sync-period`: the informers' resync (15 min).
    pub config_sync_period: Duration,
    /// `--cluster-cidr` (kind: 10.244.0.0/16): the masquerade rules' source range, and the
    /// pod network whose /24s name the nodes that `routes` maps.
    pub cluster_cidr: net::ClusterCidr,
    /// Node index → that node's container runtime actor (which answers for its pod IPs).
    pub routes: BTreeMap<usize, ActorId>,
    /// How long a client waits for an answer.
    pub request_timeout: Duration,
    /// Distinct client source addresses on this node (ClientIP affinity keys on them).
    pub clients: u8,
}

impl KubeProxyConfig {
    /// kube-proxy's defaults for `mode`.
    pub fn new(
        node_name: &str,
        node_index: usize,
        apiservers: Vec<ActorId>,
        mode: ProxyMode,
    ) -> Self {
        KubeProxyConfig {
            node_name: node_name.to_string(),
            node_index,
            node_ip: None,
            apiservers,
            user: UserInfo::component("system:kube-proxy"),
            mode,
            sync_period: Duration::from_secs(30),
            min_sync_period: match mode {
                ProxyMode::Iptables => Duration::from_secs(1),
                ProxyMode::Ipvs => Duration::ZERO,
            },
            config_sync_period: Duration::from_mins(15),
            cluster_cidr: net::ClusterCidr::KIND,
            routes: BTreeMap::new(),
            request_timeout: Duration::from_secs(1),
            clients: 10,
        }
    }
}

/// Traffic specs and counters of one node, kept across restarts of its host: the scenario
/// runner holds a clone and reads it directly.
#[derive(Clone, Debug, Default)]
pub struct TrafficSink(Rc<RefCell<SinkState>>);

#[derive(Debug, Default)]
struct SinkState {
    specs: BTreeMap<String, TrafficSpec>,
    by_service: BTreeMap<String, ServiceTraffic>,
}

impl TrafficSink {
    /// Totals per Service (`namespace/name`).
    pub fn totals(&self) -> BTreeMap<String, TrafficCounts> {
        self.0
            .borrow()
            .by_service
            .iter()
            .map(|(k, v)| (k.clone(), v.totals))
            .collect()
    }

    /// A copy of one Service's counters (per second, latencies).
    pub fn service(&self, key: &str) -> Option<ServiceTraffic> {
        self.0.borrow().by_service.get(key).cloned()
    }

    /// Totals per Service over several nodes' sinks (what `Expect(traffic_errors:)` judges).
    pub fn merged_totals<'a>(
        sinks: impl IntoIterator<Item = &'a TrafficSink>,
    ) -> BTreeMap<String, TrafficCounts> {
        let mut out: BTreeMap<String, TrafficCounts> = BTreeMap::new();
        for sink in sinks {
            for (k, v) in sink.totals() {
                out.entry(k).or_default().add(&v);
            }
        }
        out
    }

    /// One Service's counters over several nodes: per-second counts added up, latencies
    /// pooled (for percentiles over every client).
    pub fn merged_service<'a>(
        sinks: impl IntoIterator<Item = &'a TrafficSink>,
        key: &str,
    ) -> ServiceTraffic {
        let mut out = ServiceTraffic::default();
        for sink in sinks {
            if let Some(s) = sink.0.borrow().by_service.get(key) {
                out.totals.add(&s.totals);
                for (sec, c) in &s.per_second {
                    out.per_second.entry(*sec).or_default().add(c);
                }
                out.latencies.extend_from_slice(&s.latencies);
            }
        }
        out
    }

    /// The generators that run (or will run again after a restart).
    pub fn specs(&self) -> Vec<TrafficSpec> {
        self.0.borrow().specs.values().cloned().collect()
    }
}

/// The kube-proxy actor.
pub struct KubeProxy<M> {
    cfg: KubeProxyConfig,
    client: ApiClient,
    services: Informer,
    slices: Informer,
    runner: SyncRunner,
    sync_wake: Wakeup,
    traffic_wake: Wakeup,
    /// Services (`namespace/name`) whose object or slices changed since the last sync.
    changed: BTreeSet<Arc<str>>,
    table: RuleTable,
    /// Service rules already computed by this cluster's nodes (this node's own by default).
    memo: RuleMemo,
    /// The memo's keys, which the informers' caches and `changed` name objects with.
    keys: SharedKeys,
    dataplane: Dataplane,
    syncs: u64,
    sink: TrafficSink,
    /// Next arrival per running generator (host clock).
    next_arrival: BTreeMap<String, Time>,
    in_flight: BTreeMap<u64, InFlight>,
    next_request_id: u64,
    next_client: u32,
    _m: PhantomData<fn() -> M>,
}

impl<M> KubeProxy<M> {
    pub fn new(cfg: KubeProxyConfig) -> Self {
        Self::with_sink(cfg, TrafficSink::default())
    }

    /// With a sink the caller keeps (pass the same one to the factory every restart).
    pub fn with_sink(cfg: KubeProxyConfig, sink: TrafficSink) -> Self {
        let client = ApiClient::new(ApiClientConfig::new(
            cfg.apiservers.clone(),
            cfg.user.clone(),
        ));
        let memo = RuleMemo::default();
        let (services, slices) = informers(&cfg, memo.keys());
        let mut table = RuleTable::empty(cfg.mode);
        table.cluster_cidr = cfg.cluster_cidr;
        table.node_ip = cfg.node_ip;
        KubeProxy {
            runner: SyncRunner::new(cfg.min_sync_period, cfg.sync_period),
            client,
            services,
            slices,
            sync_wake: Wakeup::new(TAG_SYNC),
            traffic_wake: Wakeup::new(TAG_TRAFFIC),
            changed: BTreeSet::new(),
            table,
            keys: memo.keys(),
            memo,
            dataplane: Dataplane::new(),
            syncs: 0,
            sink,
            next_arrival: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            next_request_id: 1,
            next_client: 0,
            cfg,
            _m: PhantomData,
        }
    }

    /// Shares Service rules, and the keys of cached objects, with the other nodes given the
    /// same memo (one per cluster). Before the actor starts.
    pub fn sharing_rules(mut self, memo: RuleMemo) -> Self {
        self.keys = memo.keys();
        (self.services, self.slices) = informers(&self.cfg, self.keys.clone());
        self.memo = memo;
        self
    }

    pub fn config(&self) -> &KubeProxyConfig {
        &self.cfg
    }

    /// The rules this node has programmed (render them with [`crate::iptables`] and
    /// [`crate::ipvs`]).
    pub fn rules(&self) -> &RuleTable {
        &self.table
    }

    /// Rule syncs that changed the table so far.
    pub fn syncs(&self) -> u64 {
        self.syncs
    }

    /// Both informers have their first list.
    pub fn has_synced(&self) -> bool {
        self.services.has_synced() && self.slices.has_synced()
    }

    pub fn sink(&self) -> &TrafficSink {
        &self.sink
    }

    /// Totals per Service (`namespace/name`) of this node's clients.
    pub fn traffic_totals(&self) -> BTreeMap<String, TrafficCounts> {
        self.sink.totals()
    }

    /// Requests waiting for an answer.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Replaces the node → runtime routing table (nodes joined or left).
    pub fn set_routes(&mut self, routes: BTreeMap<usize, ActorId>) {
        self.cfg.routes = routes;
    }
}

impl<M: ApiEnvelope + TrafficEnvelope> KubeProxy<M> {
    /// Starts (or retunes, or with `rps` 0 stops) this node's clients of a Service.
    /// Ignored past [`MAX_GENERATORS`] Services.
    pub fn start_traffic(&mut self, ctx: &mut Ctx<'_, M>, spec: TrafficSpec) {
        let key = spec.key();
        {
            let mut sink = self.sink.0.borrow_mut();
            if spec.rps.is_nan() || spec.rps <= 0.0 {
                sink.specs.remove(&key);
                self.next_arrival.remove(&key);
            } else if sink.specs.contains_key(&key) || sink.specs.len() < MAX_GENERATORS {
                let gap = spec.gap(ctx.rng());
                self.next_arrival
                    .insert(key.clone(), ctx.now().saturating_add(gap));
                sink.specs.insert(key, spec);
            }
        }
        self.arm_traffic(ctx);
    }

    /// Stops this node's clients of Service `namespace/name`.
    pub fn stop_traffic(&mut self, ctx: &mut Ctx<'_, M>, key: &str) {
        self.sink.0.borrow_mut().specs.remove(key);
        self.next_arrival.remove(key);
        self.arm_traffic(ctx);
    }

    fn handle(&mut self, ctx: &mut Ctx<'_, M>, events: Vec<ClientEvent>) {
        let was = (self.services.has_synced(), self.slices.has_synced());
        for ev in events {
            let notes = match self.services.on_client_event(ctx, &mut self.client, &ev) {
                Some(n) => Some(n),
                None => self.slices.on_client_event(ctx, &mut self.client, &ev),
            };
            if let Some(notes) = notes {
                self.note_changes(&notes);
            }
        }
        if !was.0 && self.services.has_synced() {
            klog::info(
                ctx,
                "shared_informer.go:357",
                "Caches are synced",
                &[("controller", "service config")],
            );
        }
        if !was.1 && self.slices.has_synced() {
            klog::info(
                ctx,
                "shared_informer.go:357",
                "Caches are synced",
                &[("controller", "endpoint slice config")],
            );
        }
        self.arm_sync(ctx);
    }

    /// Marks the Services the notifications touch for the next sync, and asks for one if any
    /// notification changes what the rules are made of.
    fn note_changes(&mut self, notes: &[Notification]) {
        let mut any = false;
        for n in notes {
            if let Notification::Update { old, new } = n {
                // A resync redelivers the cached object; an update is judged once for every
                // node the watch fans it out to.
                if Arc::ptr_eq(old, new)
                    || !self
                        .memo
                        .inputs_differ(old, new, || proxy_inputs_differ(old, new))
                {
                    continue;
                }
                if !same_service(old, new) {
                    mark_changed(&mut self.changed, &self.keys, old);
                }
            }
            any = true;
            mark_changed(&mut self.changed, &self.keys, n.object());
        }
        if any {
            self.runner.request();
        }
    }

    fn arm_sync(&mut self, ctx: &mut Ctx<'_, M>) {
        let at = if self.has_synced() {
            self.runner.next_run(ctx.now())
        } else {
            None
        };
        self.sync_wake.arm(ctx, at);
    }

    fn sync(&mut self, ctx: &mut Ctx<'_, M>) {
        if !self.has_synced() || !self.runner.try_run(ctx.now()) {
            return;
        }
        let (file, what) = match self.cfg.mode {
            ProxyMode::Iptables => ("proxier.go:805", "Syncing iptables rules"),
            ProxyMode::Ipvs => ("proxier.go:1005", "Syncing ipvs rules"),
        };
        klog::info(ctx, file, what, &[]);
        let mut changed = false;
        for key in std::mem::take(&mut self.changed) {
            let key: &str = &key;
            let Some((namespace, name)) = key.split_once('/') else {
                continue;
            };
            let svc = self
                .services
                .indexer()
                .get(key)
                .filter(|o| matches!(o.as_ref(), Object::Service(_)));
            let slices: Vec<SharedObject> = self
                .slices
                .indexer()
                .by_index(BY_SERVICE, key)
                .into_iter()
                .flatten()
                .filter(|o| matches!(o.as_ref(), Object::EndpointSlice(_)))
                .cloned()
                .collect();
            let rules = self.memo.rules(key, svc, &slices, |previous| {
                let svc = match svc.map(AsRef::as_ref) {
                    Some(Object::Service(s)) => Some(s.as_ref()),
                    _ => None,
                };
                let slices = slices.iter().filter_map(|o| match o.as_ref() {
                    Object::EndpointSlice(s) => Some(s.as_ref()),
                    _ => None,
                });
                let previous = |n: &ServicePortName| {
                    previous.and_then(|p| p.iter().find(|r| r.info.name == *n).map(AsRef::as_ref))
                };
                rules::service_rules(svc, slices, previous)
            });
            changed |= self.table.replace_service(namespace, name, &rules);
        }
        if !changed {
            return;
        }
        // Kernel state of vanished Services and endpoints goes with them (a scan of the whole
        // table, so only when there is any such state: affinity or IPVS traffic).
        if !self.dataplane.is_empty() {
            let table = &self.table;
            let keep: BTreeSet<&str> = table
                .ports()
                .flat_map(|r| r.endpoints.iter().map(|e| e.chain.as_str()))
                .collect();
            self.dataplane
                .retain(|n| table.port(n).is_some(), |c| keep.contains(c));
        }
        self.syncs += 1;
    }

    fn arm_traffic(&mut self, ctx: &mut Ctx<'_, M>) {
        let arrival = self.next_arrival.values().min().copied();
        let deadline = self.in_flight.values().next().map(|f| f.deadline);
        let at = [arrival, deadline].into_iter().flatten().min();
        self.traffic_wake.arm(ctx, at);
    }

    fn record(&mut self, key: &str, started: Time, ending: Ending, latency: Option<Duration>) {
        let mut sink = self.sink.0.borrow_mut();
        sink.by_service
            .entry(key.to_string())
            .or_default()
            .record(started, ending, latency);
    }

    fn pump_traffic(&mut self, ctx: &mut Ctx<'_, M>) {
        let now = ctx.now();
        while let Some(entry) = self.in_flight.first_entry() {
            if entry.get().deadline > now {
                break;
            }
            let f = entry.remove();
            self.record(&f.service, f.started, Ending::TimedOut, None);
        }
        let due: Vec<String> = self
            .next_arrival
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            let Some(spec) = self.sink.0.borrow().specs.get(&key).cloned() else {
                self.next_arrival.remove(&key);
                continue;
            };
            for _ in 0..MAX_ARRIVALS_PER_WAKE {
                let Some(at) = self.next_arrival.get(&key).copied() else {
                    break;
                };
                if at > now {
                    break;
                }
                self.issue(ctx, &spec);
                let gap = spec.gap(ctx.rng());
                self.next_arrival
                    .insert(key.clone(), at.saturating_add(gap));
            }
        }
        self.arm_traffic(ctx);
    }

    /// One new connection from a client on this node to the Service of `spec`.
    fn issue(&mut self, ctx: &mut Ctx<'_, M>, spec: &TrafficSpec) {
        let key = spec.key();
        let started = ctx.sim_time();
        self.sink
            .0
            .borrow_mut()
            .by_service
            .entry(key.clone())
            .or_default()
            .record_sent(started);
        let rules = match spec.node_port {
            None => self.table.service(&spec.namespace, &spec.service),
            Some(np) => self.table.ports().find(|r| {
                r.info.node_port == Some(np)
                    && r.info.name.namespace == spec.namespace
                    && r.info.name.name == spec.service
            }),
        };
        let Some(rules) = rules else {
            // A name that does not resolve; for a NodePort, a port nothing listens on.
            let ending = match spec.node_port {
                None => Ending::Unresolved,
                Some(_) => Ending::Refused,
            };
            self.record(&key, started, ending, None);
            return;
        };
        let clients = u32::from(self.cfg.clients.max(1));
        let client_n = u8::try_from(self.next_client % clients).unwrap_or(0);
        self.next_client = self.next_client.wrapping_add(1);
        let client_ip = self
            .cfg
            .cluster_cidr
            .node_cidr(self.cfg.node_index)
            .and_then(|c| c.pod_ip(253 - client_n))
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
        let now = ctx.now();
        let service = match (spec.node_port, self.cfg.node_ip) {
            (Some(np), Some(ip)) => Endpoint { ip, port: np },
            _ => Endpoint {
                ip: rules.info.cluster_ip,
                port: rules.info.port,
            },
        };
        let verdict = self
            .dataplane
            .route(self.cfg.mode, rules, client_ip, now, ctx.rng());
        let to = match verdict {
            Verdict::Reject => {
                self.record(&key, started, Ending::Rejected, None);
                return;
            }
            Verdict::Forward(ep) => ep,
        };
        if self.in_flight.len() >= MAX_IN_FLIGHT {
            self.record(&key, started, Ending::TimedOut, None);
            return;
        }
        let id = self.next_request_id;
        self.next_request_id += 1;
        self.in_flight.insert(
            id,
            InFlight {
                service: key,
                started,
                deadline: now.saturating_add(self.cfg.request_timeout),
            },
        );
        let from = self.source_seen_by_server(client_ip, spec.node_port.is_some(), to.ip);
        // No route to the pod's /24: the packet goes nowhere and the client times out.
        let owner = self.cfg.cluster_cidr.node_of(to.ip);
        if let Some(runtime) = owner.and_then(|c| self.cfg.routes.get(&c.node_index())) {
            ctx.send(
                *runtime,
                M::wrap_traffic(TrafficMessage::Request {
                    id,
                    to,
                    service,
                    from,
                }),
            );
        }
    }

    /// The source address a request arrives from at the pod. A client pod's request to a
    /// cluster IP keeps its own address (kube-proxy masquerades only traffic from outside the
    /// pod network); a NodePort request is masqueraded (`KUBE-MARK-MASQ` in `KUBE-NODEPORTS`)
    /// to the address of the interface it leaves by: the node's pod-network gateway (.1 of its
    /// /24, kindnet's veth side) for a pod on this node, the node's own address for a pod on
    /// another node.
    fn source_seen_by_server(
        &self,
        client_ip: Ipv4Addr,
        node_port: bool,
        pod: Ipv4Addr,
    ) -> Ipv4Addr {
        if !node_port {
            return client_ip;
        }
        let own = self.cfg.cluster_cidr.node_cidr(self.cfg.node_index);
        match own {
            Some(c) if c.contains(pod) => {
                let [a, b, third, _] = pod.octets();
                Ipv4Addr::new(a, b, third, 1)
            }
            _ => self.cfg.node_ip.unwrap_or(client_ip),
        }
    }

    fn on_response(&mut self, ctx: &mut Ctx<'_, M>, id: u64, outcome: &Outcome) {
        let Some(f) = self.in_flight.remove(&id) else {
            return;
        };
        let ending = match outcome {
            Outcome::Answered { status } if *status < 500 => Ending::Ok,
            Outcome::Answered { .. } => Ending::ServerError,
            Outcome::Refused => Ending::Refused,
            Outcome::Rejected => Ending::Rejected,
        };
        let latency = ctx.sim_time().saturating_since(f.started);
        self.record(&f.service, f.started, ending, Some(latency));
        self.arm_traffic(ctx);
    }
}

impl<M: ApiEnvelope + TrafficEnvelope> Actor<M> for KubeProxy<M> {
    fn on_start(&mut self, ctx: &mut Ctx<'_, M>) {
        // What kube-proxy logs at its default verbosity (server_linux.go, config.go).
        let version = ("version", crate::KUBE_PROXY_VERSION);
        klog::info(ctx, "server.go:530", "Version info", &[version]);
        klog::info(
            ctx,
            "server_linux.go:263",
            match self.cfg.mode {
                ProxyMode::Iptables => "Using iptables Proxier",
                ProxyMode::Ipvs => "Using ipvs Proxier",
            },
            &[],
        );
        klog::info(
            ctx,
            "config.go:199",
            "Starting service config controller",
            &[],
        );
        klog::info(
            ctx,
            "shared_informer.go:350",
            "Waiting for caches to sync",
            &[("controller", "service config")],
        );
        klog::info(
            ctx,
            "config.go:105",
            "Starting endpoint slice config controller",
            &[],
        );
        klog::info(
            ctx,
            "shared_informer.go:350",
            "Waiting for caches to sync",
            &[("controller", "endpoint slice config")],
        );
        // Ids must not repeat across restarts (a late answer to the previous incarnation's
        // request must not be taken for a new one's): start from the clock.
        self.next_request_id = ctx.now().as_nanos().max(1);
        self.services.start(ctx, &mut self.client);
        self.slices.start(ctx, &mut self.client);
        // Clients that ran before a restart of the node start again.
        for spec in self.sink.specs() {
            self.start_traffic(ctx, spec);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, M>, _from: ActorId, msg: M) {
        if let Ok(TrafficMessage::Response { id, outcome, .. }) = msg.unwrap_traffic() {
            self.on_response(ctx, id, &outcome);
        }
    }

    fn on_stream_message(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        stream: StreamId,
        _from: ActorId,
        msg: M,
    ) {
        let Ok(m) = msg.unwrap_api() else {
            return;
        };
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
            return;
        }
        match tag {
            TAG_SERVICES | TAG_SLICES => {
                let inf = if tag == TAG_SERVICES {
                    &mut self.services
                } else {
                    &mut self.slices
                };
                let notes = inf.on_timer(ctx, &mut self.client);
                self.note_changes(&notes);
                self.arm_sync(ctx);
            }
            TAG_SYNC => {
                self.sync_wake.fired();
                self.sync(ctx);
                self.arm_sync(ctx);
            }
            TAG_TRAFFIC => {
                self.traffic_wake.fired();
                self.pump_traffic(ctx);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{service, slice};

    #[test]
    fn changed_services_borrow_the_caches_keys_and_never_add_to_them() {
        let keys = SharedKeys::default();
        let held = keys.intern("default/web");
        let mut changed = BTreeSet::new();
        let web_slice = Object::from(slice("default", "web-abcde", "web", &[("", 80)], &[]));
        mark_changed(&mut changed, &keys, &web_slice);
        mark_changed(
            &mut changed,
            &keys,
            &Object::from(service(
                "default",
                "web",
                "10.96.0.10",
                &[("", 80, None)],
                None,
            )),
        );
        assert_eq!(changed.len(), 1);
        assert!(Arc::ptr_eq(changed.first().unwrap(), &held));
        // A deleted Service's key, no longer in any cache, stays out of the shared keys.
        let gone = Object::from(service(
            "default",
            "db",
            "10.96.0.11",
            &[("", 80, None)],
            None,
        ));
        mark_changed(&mut changed, &keys, &gone);
        assert_eq!(keys.len(), 1);
        assert_eq!(
            changed.iter().map(|k| &**k).collect::<Vec<_>>(),
            ["default/db", "default/web"]
        );
        assert_eq!(slice_service_key(&web_slice), ["default/web"]);
    }
}
