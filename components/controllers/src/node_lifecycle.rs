//! The node lifecycle controller: node health from Leases and NodeStatus, the Unknown
//! conditions, the not-ready / unreachable taints, zone disruption states, and taint-based
//! eviction of pods.
//!
//! Follows `pkg/controller/nodelifecycle/node_lifecycle_controller.go` and
//! `pkg/controller/tainteviction/taint_eviction.go`:
//! - every `node-monitor-period` (5 s) each node's health is checked: a change of the Ready
//!   condition's `lastHeartbeatTime` or of the node Lease's `renewTime` (kube-node-lease) is a
//!   probe, timed on this controller's own clock; a node not probed for
//!   `node-monitor-grace-period` gets every condition set to Unknown ("Kubelet stopped
//!   posting node status.", reason NodeStatusUnknown; a node that never posted gets
//!   NodeStatusNeverUpdated after the startup grace period); the change from Ready is
//!   reported as a Node event `NodeNotReady` and its pods are marked not ready
//!   (`MarkPodsNotReady`: Ready condition False, Warning event `NodeNotReady`), as is any pod
//!   added or updated later on a node that is not Ready (`processPod`);
//! - NoSchedule taints follow the Ready condition at once (`doNoScheduleTaintingPass`);
//!   NoExecute taints `node.kubernetes.io/not-ready` (False) and
//!   `node.kubernetes.io/unreachable` (Unknown) go through a per-zone rate-limited queue
//!   (`zoneNoExecuteTainter`), and are removed as soon as the node is Ready again;
//! - zone states (`ComputeZoneState`, `handleDisruption`, F15): a zone is FullDisruption when
//!   every node is not ready, PartialDisruption when more than 2 and at least 55 % are;
//!   rates: Normal and FullDisruption `node-eviction-rate` (0.1/s), PartialDisruption the
//!   secondary rate (0.01/s) in zones larger than 50 nodes, else 0; when every zone is in
//!   FullDisruption no node is tainted and NoExecute taints are lifted ("master disruption
//!   mode");
//! - taint eviction: a pod on a node with NoExecute taints is deleted (gracefully) when a
//!   taint is not tolerated, or after the shortest `tolerationSeconds` counted from the
//!   taint's `timeAdded` (300 s from DefaultTolerationSeconds, F14); pods tolerating for ever
//!   (DaemonSet pods) stay. Event `TaintManagerEviction` "Marking for deletion Pod NS/NAME".
//!
//! Defaults: grace period 50 s (F12: kubernetes PR #126287 raised it from 40 s in v1.32;
//! configurable), startup grace 60 s. Simplifications: the token bucket of the tainting queue
//! is an interval (one node per 1/rate seconds, the first at once); the region is not part of
//! the zone key.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use api::taints::{NO_EXECUTE, NO_SCHEDULE, min_toleration_seconds};
use api::{Kind, Object, SharedObject};
use apiserver::objects::{api_time, virtual_secs};
use client::{Action, Notification, object_key};
use k8s_openapi::api::core::v1::{Node, NodeCondition, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use serde_json::json;
use sim::{Duration, Time};

use crate::controller::{Controller, Cx, ReconcileError, Write};
use crate::events::{NORMAL, Recorder, WARNING};
use crate::pods;

/// `source.component` of its Events: the name upstream gives this controller's recorder.
const EVENT_SOURCE: &str = "node-controller";

pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

#[derive(Clone, Debug)]
pub struct NodeLifecycleConfig {
    pub monitor_period: Duration,
    pub grace_period: Duration,
    pub startup_grace_period: Duration,
    /// 1 / `node-eviction-rate`.
    pub eviction_interval: Duration,
    /// 1 / `secondary-node-eviction-rate`.
    pub secondary_eviction_interval: Duration,
    /// `unhealthy-zone-threshold` in percent.
    pub unhealthy_zone_percent: u32,
    pub large_cluster_threshold: usize,
}

impl Default for NodeLifecycleConfig {
    fn default() -> Self {
        NodeLifecycleConfig {
            monitor_period: Duration::from_secs(5),
            grace_period: Duration::from_secs(50),
            startup_grace_period: Duration::from_secs(60),
            eviction_interval: Duration::from_secs(10),
            secondary_eviction_interval: Duration::from_secs(100),
            unhealthy_zone_percent: 55,
            large_cluster_threshold: 50,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneState {
    Normal,
    PartialDisruption,
    FullDisruption,
}

/// What the monitor last observed of a node (upstream's `nodeHealth`): a change of either
/// time is a probe.
#[derive(Clone, Debug, Default)]
struct Health {
    probe: Time,
    /// The Ready condition's `lastHeartbeatTime`, in virtual seconds.
    heartbeat: Option<i64>,
    /// The node Lease's `renewTime`.
    renew: Option<MicroTime>,
    /// The Node object last read, with what a pass reads of it.
    seen: Option<(SharedObject, NodeFacts)>,
}

/// What a monitor pass reads of a Node object. A node's object changes with its status
/// report (every 5 minutes) while a pass runs every 5 s, and reading its labels, Ready
/// condition and taints again each pass cost cache misses on cold objects (~2% of a steady
/// run at 100 nodes); so they are read once per object, which [`Health`] holds (shared
/// objects are never changed in place, and the one held cannot be freed and its address
/// reused, so the same pointer is the same content).
#[derive(Clone, Debug)]
struct NodeFacts {
    /// The zone label's value, one shared string per zone.
    zone: Arc<str>,
    /// The Ready condition's `lastHeartbeatTime`, in virtual seconds.
    heartbeat: Option<i64>,
    /// The Ready condition's status (`None`: no Ready condition, or an empty status).
    ready: Option<Ready>,
    /// Whether a taint has the key not-ready or unreachable.
    ready_taint: bool,
    /// Whether a taint has an empty key.
    empty_key_taint: bool,
    /// Whether a taint has the effect NoExecute.
    no_execute: bool,
}

impl NodeFacts {
    fn of(o: &Object, n: &Node, zones: &mut Vec<Arc<str>>) -> NodeFacts {
        let z = zone(o);
        let zone = match zones.iter().find(|x| ***x == *z) {
            Some(x) => x.clone(),
            None => {
                let x: Arc<str> = Arc::from(z);
                zones.push(x.clone());
                x
            }
        };
        let taints = node_taints(n);
        NodeFacts {
            zone,
            heartbeat: n
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
                .and_then(|c| c.last_heartbeat_time.as_ref())
                .map(virtual_secs),
            ready: ready_status(n).filter(|s| !s.is_empty()).map(Ready::of),
            ready_taint: taints
                .iter()
                .any(|t| t.key == TAINT_NOT_READY || t.key == TAINT_UNREACHABLE),
            empty_key_taint: taints.iter().any(|t| t.key.is_empty()),
            no_execute: taints.iter().any(|t| t.effect == NO_EXECUTE),
        }
    }
}

/// A node's Ready condition as the monitor sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ready {
    True,
    False,
    Unknown,
    /// Any other status string: not ready, and tainted as unreachable.
    Other,
}

impl Ready {
    fn of(status: &str) -> Ready {
        match status {
            "True" => Ready::True,
            "False" => Ready::False,
            "Unknown" => Ready::Unknown,
            _ => Ready::Other,
        }
    }
}

#[derive(Clone, Debug, Default)]
struct ZoneQueue {
    nodes: VecDeque<String>,
    next_at: Time,
}

pub struct NodeLifecycleController {
    cfg: NodeLifecycleConfig,
    health: BTreeMap<String, Health>,
    /// The zones seen, each shared by its nodes' [`NodeFacts`].
    zones: Vec<Arc<str>>,
    tainter: BTreeMap<String, ZoneQueue>,
    pub zone_states: BTreeMap<String, ZoneState>,
    /// Pods already asked to be deleted (until they are gone or terminating).
    evicted: BTreeSet<String>,
    /// Pods marked not ready, with the resourceVersion they were marked from (until deleted).
    marked: BTreeMap<String, String>,
    recorder: Recorder,
}

impl NodeLifecycleController {
    pub fn new(cfg: NodeLifecycleConfig) -> Self {
        NodeLifecycleController {
            cfg,
            health: BTreeMap::new(),
            zones: Vec::new(),
            tainter: BTreeMap::new(),
            zone_states: BTreeMap::new(),
            evicted: BTreeSet::new(),
            marked: BTreeMap::new(),
            recorder: Recorder::default(),
        }
    }
}

fn node_of(o: &Object) -> Option<&Node> {
    match o {
        Object::Node(n) => Some(n.as_ref()),
        _ => None,
    }
}

fn ready_status(n: &Node) -> Option<&str> {
    n.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status.as_str())
}

fn zone(o: &Object) -> &str {
    o.labels().get(ZONE_LABEL).map_or("", String::as_str)
}

fn node_taints(n: &Node) -> &[Taint] {
    n.spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or(&[])
}

fn taints(n: &Node) -> Vec<Taint> {
    node_taints(n).to_vec()
}

fn has_taint(n: &Node, key: &str, effect: &str) -> bool {
    node_taints(n)
        .iter()
        .any(|t| t.key == key && t.effect == effect)
}

/// `ComputeZoneState`.
pub fn zone_state(not_ready: usize, total: usize, unhealthy_percent: u32) -> ZoneState {
    if not_ready > 0 && not_ready == total {
        ZoneState::FullDisruption
    } else if not_ready > 2 && not_ready * 100 >= total * unhealthy_percent as usize {
        ZoneState::PartialDisruption
    } else {
        ZoneState::Normal
    }
}

impl NodeLifecycleController {
    fn patch_taints(n_obj: &Object, list: Vec<Taint>, cx: &mut Cx<'_>) {
        let value = serde_json::to_value(&list).unwrap_or(json!([]));
        cx.writes.push(Write::patch(
            Kind::Node,
            "",
            n_obj.name(),
            json!({"spec": {"taints": value}}),
            "",
        ));
    }

    fn taint(key: &str, effect: &str, now: Time) -> Taint {
        Taint {
            key: key.into(),
            effect: effect.into(),
            value: None,
            time_added: (effect == NO_EXECUTE).then(|| api_time(now)),
        }
    }

    /// `tryUpdateNodeHealth` for one node: probes, and Unknown conditions after the grace
    /// period. Returns the Ready status the node has (or will have once written).
    ///
    /// Runs for every node every `node-monitor-period`, so it reads the Node and its Lease in
    /// place and allocates nothing unless the node goes Unknown: like upstream's
    /// `nodeHealthMap`, [`Health`] keeps what was last observed and a pass only compares.
    /// `renew`: the node Lease's `renewTime`.
    fn node_health(
        &mut self,
        n_obj: &SharedObject,
        n: &Node,
        renew: Option<MicroTime>,
        cx: &mut Cx<'_>,
    ) -> (Ready, NodeFacts) {
        let name = n_obj.name();
        let now = cx.now;
        let h = match self.health.get_mut(name) {
            Some(h) => h,
            None => {
                cx.info(
                    "node_lifecycle_controller.go:764",
                    "Controller observed a new Node",
                    &[("node", name)],
                );
                // Probed now: the compare below then only records the times.
                self.health.entry(name.to_string()).or_insert(Health {
                    probe: now,
                    ..Health::default()
                })
            }
        };
        let facts = match &h.seen {
            Some((seen, facts)) if Arc::ptr_eq(seen, n_obj) => facts.clone(),
            _ => {
                let facts = NodeFacts::of(n_obj, n, &mut self.zones);
                h.seen = Some((n_obj.clone(), facts.clone()));
                facts
            }
        };
        let heartbeat = facts.heartbeat;
        if h.heartbeat != heartbeat || h.renew != renew {
            h.probe = now;
            h.heartbeat = heartbeat;
            h.renew = renew;
        }
        let grace = if facts.ready.is_none() {
            self.cfg.startup_grace_period
        } else {
            self.cfg.grace_period
        };
        if now.saturating_since(h.probe) <= grace || facts.ready == Some(Ready::Unknown) {
            return (facts.ready.unwrap_or(Ready::Unknown), facts);
        }
        let name = name.to_string();
        // Kubelet stopped posting: every condition goes Unknown.
        let mut node = n.clone();
        let t = api_time(now);
        let status = node.status.get_or_insert_with(Default::default);
        let conds = status.conditions.get_or_insert_with(Vec::new);
        for type_ in ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"] {
            match conds.iter_mut().find(|c| c.type_ == type_) {
                Some(c) => {
                    if c.status != "Unknown" {
                        c.status = "Unknown".into();
                        c.reason = Some("NodeStatusUnknown".into());
                        c.message = Some("Kubelet stopped posting node status.".into());
                        c.last_transition_time = Some(t.clone());
                    }
                }
                None => conds.push(NodeCondition {
                    type_: type_.into(),
                    status: "Unknown".into(),
                    reason: Some("NodeStatusNeverUpdated".into()),
                    message: Some("Kubelet never posted node status.".into()),
                    last_transition_time: Some(t.clone()),
                    last_heartbeat_time: None,
                }),
            }
        }
        cx.writes.push(Write::update_status(Object::from(node), ""));
        if facts.ready == Some(Ready::True) {
            // The change from Ready is reported once, as an event of the Node, and its pods
            // are marked not ready (monitorNodeHealth).
            self.recorder.record(
                cx.writes,
                n_obj,
                NORMAL,
                "NodeNotReady",
                format!("Node {name} status is now: NodeNotReady"),
                EVENT_SOURCE,
                now,
            );
            self.mark_pods_not_ready(&name, "", cx);
        }
        (Ready::Unknown, facts)
    }

    /// `MarkPodsNotReady`: every pod bound to `node` whose Ready condition is True gets it
    /// set to False (a status update through the apiserver) and a Warning `NodeNotReady`
    /// event. EndpointSlices list only ready pods, so this is what takes a silent node's pods
    /// out of their Services. The containers' own `ready` flags, which kubectl's READY column
    /// counts, are the kubelet's to report and stay as it last wrote them.
    fn mark_pods_not_ready(&mut self, node: &str, owner: &str, cx: &mut Cx<'_>) {
        let on_node = cx
            .cache(Kind::Pod)
            .and_then(|c| c.lister().pods_on_node(node).ok())
            .unwrap_or_default();
        let t = api_time(cx.now);
        for p in on_node {
            let Some(pod) = p.as_pod() else { continue };
            let key = object_key(&p);
            // Marked already from this version: the update is on its way to the cache.
            if !pods::is_ready(pod)
                || pods::node_name(pod) != node
                || self.marked.get(&key).map(String::as_str) == Some(p.resource_version())
            {
                continue;
            }
            let mut pod = pod.clone();
            if let Some(c) = pod
                .status
                .as_mut()
                .and_then(|s| s.conditions.as_mut())
                .and_then(|cs| cs.iter_mut().find(|c| c.type_ == "Ready"))
            {
                c.status = "False".into();
                c.last_transition_time = Some(t.clone());
            }
            self.marked.insert(key, p.resource_version().to_string());
            cx.writes
                .push(Write::update_status(Object::from(pod), owner));
            self.recorder.record(
                cx.writes,
                &p,
                WARNING,
                "NodeNotReady",
                "Node is not ready".into(),
                EVENT_SOURCE,
                cx.now,
            );
        }
    }

    /// One monitor pass over every node. O(nodes) reads of the cached objects; it allocates
    /// only for what it writes (and the pass's list of node handles).
    fn monitor(&mut self, cx: &mut Cx<'_>) -> Vec<String> {
        let nodes: Vec<SharedObject> = cx
            .cache(Kind::Node)
            .map(|c| c.iter().cloned().collect())
            .unwrap_or_default();
        // The Node cache iterates in key (= name) order; `ready` follows it, and so do the
        // node Leases' keys (`kube-node-lease/<name>`): each node's Lease is found by walking
        // them alongside the nodes instead of a search of the Lease keys per node.
        let renews: Vec<Option<MicroTime>> = {
            let prefix = format!("{NODE_LEASE_NAMESPACE}/");
            let mut leases = cx
                .cache(Kind::Lease)
                .into_iter()
                .flat_map(|c| c.with_prefix(&prefix))
                .map(|(k, l)| (&k[prefix.len()..], l))
                .peekable();
            nodes
                .iter()
                .map(|o| {
                    let name = o.name();
                    while leases.next_if(|(n, _)| *n < name).is_some() {}
                    match leases.peek() {
                        Some((n, l)) if *n == name => match l.as_ref() {
                            Object::Lease(l) => l.spec.as_ref().and_then(|s| s.renew_time.clone()),
                            _ => None,
                        },
                        _ => None,
                    }
                })
                .collect()
        };
        debug_assert!(nodes.windows(2).all(|w| w[0].name() < w[1].name()));
        let mut ready: Vec<Ready> = Vec::with_capacity(nodes.len());
        let mut facts: Vec<Option<NodeFacts>> = Vec::with_capacity(nodes.len());
        let mut per_zone: BTreeMap<Arc<str>, (usize, usize)> = BTreeMap::new();
        for (o, renew) in nodes.iter().zip(renews) {
            let Some(n) = node_of(o) else {
                ready.push(Ready::Other);
                facts.push(None);
                continue;
            };
            let (r, f) = self.node_health(o, n, renew, cx);
            ready.push(r);
            let e = match per_zone.get_mut(&f.zone) {
                Some(e) => e,
                None => per_zone.entry(f.zone.clone()).or_default(),
            };
            e.1 += 1;
            if r != Ready::True {
                e.0 += 1;
            }
            facts.push(Some(f));
        }
        // Every listed node has an entry now, so equal sizes mean equal key sets.
        if self.health.len() > nodes.len() {
            let names: BTreeSet<&str> = nodes.iter().map(|n| n.name()).collect();
            self.health.retain(|k, _| names.contains(k.as_str()));
        }
        // Zone states.
        let was_master_disruption = !self.zone_states.is_empty()
            && self
                .zone_states
                .values()
                .all(|s| *s == ZoneState::FullDisruption);
        for (z, (nr, all)) in &per_zone {
            let z: &str = z;
            let st = zone_state(*nr, *all, self.cfg.unhealthy_zone_percent);
            match self.zone_states.get_mut(z) {
                None => {
                    cx.info(
                        "node_lifecycle_controller.go:874",
                        "Initializing eviction metric for zone",
                        &[("zone", z)],
                    );
                    self.zone_states.insert(z.to_string(), st);
                }
                Some(old) if *old != st => {
                    cx.info(
                        "node_lifecycle_controller.go:1084",
                        "Controller detected that zone is now in new state",
                        &[("zone", z), ("newState", &format!("{st:?}"))],
                    );
                    *old = st;
                }
                _ => {}
            }
        }
        if self.zone_states.len() > per_zone.len() {
            self.zone_states
                .retain(|z, _| per_zone.contains_key(z.as_str()));
        }
        let master_disruption = !self.zone_states.is_empty()
            && self
                .zone_states
                .values()
                .all(|s| *s == ZoneState::FullDisruption);
        if master_disruption && !was_master_disruption {
            cx.info(
                "node_lifecycle_controller.go:1033",
                "Controller detected that all Nodes are not-Ready. Entering master disruption mode",
                &[],
            );
        } else if was_master_disruption && !master_disruption {
            cx.info(
                "node_lifecycle_controller.go:1061",
                "Controller detected that some Nodes are Ready. Exiting master disruption mode",
                &[],
            );
        }
        let mut keys = Vec::new();
        for ((o, &r), f) in nodes.iter().zip(&ready).zip(&facts) {
            let (Some(n), Some(f)) = (node_of(o), f) else {
                continue;
            };
            let z: &str = &f.zone;
            // NoSchedule taints follow the condition at once.
            let (want_ns, other_ns) = match r {
                Ready::False => (Some(TAINT_NOT_READY), TAINT_UNREACHABLE),
                Ready::Unknown => (Some(TAINT_UNREACHABLE), TAINT_NOT_READY),
                Ready::True | Ready::Other => (None, ""),
            };
            // Only a wanted taint or one of these keys (`other_ns` is one of the two, or
            // empty) can change the list: a healthy node with neither costs no copy, nor a
            // read of its taints.
            let may_change =
                want_ns.is_some() || f.ready_taint || (other_ns.is_empty() && f.empty_key_taint);
            let current = if may_change { node_taints(n) } else { &[] };
            let mut list = if may_change {
                current.to_vec()
            } else {
                Vec::new()
            };
            if may_change {
                list.retain(|t| {
                    !(t.effect == NO_SCHEDULE
                        && (t.key == other_ns
                            || (want_ns.is_none()
                                && (t.key == TAINT_NOT_READY || t.key == TAINT_UNREACHABLE))))
                });
                if let Some(k) = want_ns
                    && !list.iter().any(|t| t.key == k && t.effect == NO_SCHEDULE)
                {
                    list.push(Self::taint(k, NO_SCHEDULE, cx.now));
                }
            }
            // NoExecute taints: lifted when Ready or in master disruption mode; added through
            // the zone's rate-limited queue.
            if r == Ready::True || master_disruption {
                if may_change {
                    list.retain(|t| {
                        !(t.effect == NO_EXECUTE
                            && (t.key == TAINT_NOT_READY || t.key == TAINT_UNREACHABLE))
                    });
                }
                if let Some(queue) = self.tainter.get_mut(z) {
                    queue.nodes.retain(|x| x != o.name());
                }
            } else {
                let want = if r == Ready::False {
                    TAINT_NOT_READY
                } else {
                    TAINT_UNREACHABLE
                };
                let queue = self.tainter.entry(z.to_string()).or_default();
                if !has_taint(n, want, NO_EXECUTE) && !queue.nodes.iter().any(|x| x == o.name()) {
                    queue.nodes.push_back(o.name().to_string());
                }
            }
            if may_change && list.as_slice() != current {
                Self::patch_taints(o, list, cx);
            }
            if f.no_execute {
                keys.push(o.name().to_string());
            }
        }
        if !master_disruption {
            let ready_of = |name: &str| {
                nodes
                    .binary_search_by(|o| o.name().cmp(name))
                    .ok()
                    .filter(|&i| node_of(&nodes[i]).is_some())
                    .map(|i| ready[i])
            };
            self.taint_pass(&ready_of, &per_zone, cx);
        }
        keys
    }

    /// `doNoExecuteTaintingPass`: per zone, at the zone's rate.
    fn taint_pass(
        &mut self,
        ready_of: &dyn Fn(&str) -> Option<Ready>,
        per_zone: &BTreeMap<Arc<str>, (usize, usize)>,
        cx: &mut Cx<'_>,
    ) {
        let now = cx.now;
        for (z, q) in self.tainter.iter_mut() {
            let state = self
                .zone_states
                .get(z)
                .copied()
                .unwrap_or(ZoneState::Normal);
            let size = per_zone.get(z.as_str()).map_or(0, |p| p.1);
            let interval = match state {
                ZoneState::Normal | ZoneState::FullDisruption => Some(self.cfg.eviction_interval),
                ZoneState::PartialDisruption if size > self.cfg.large_cluster_threshold => {
                    Some(self.cfg.secondary_eviction_interval)
                }
                ZoneState::PartialDisruption => None,
            };
            let Some(interval) = interval else { continue };
            while now >= q.next_at
                && let Some(name) = q.nodes.pop_front()
            {
                let Some(ready) = ready_of(&name) else {
                    continue;
                };
                let Some(o) = cx.get(Kind::Node, "", &name) else {
                    continue;
                };
                let Some(n) = node_of(&o) else { continue };
                let (want, other) = match ready {
                    Ready::False => (TAINT_NOT_READY, TAINT_UNREACHABLE),
                    Ready::True => continue,
                    Ready::Unknown | Ready::Other => (TAINT_UNREACHABLE, TAINT_NOT_READY),
                };
                let mut list = taints(n);
                list.retain(|t| !(t.effect == NO_EXECUTE && t.key == other));
                if !list.iter().any(|t| t.key == want && t.effect == NO_EXECUTE) {
                    list.push(Self::taint(want, NO_EXECUTE, now));
                }
                // NoSchedule may be changed by this same pass: write both together.
                let ns = match ready {
                    Ready::False => TAINT_NOT_READY,
                    _ => TAINT_UNREACHABLE,
                };
                list.retain(|t| {
                    !(t.effect == NO_SCHEDULE
                        && (t.key == TAINT_NOT_READY || t.key == TAINT_UNREACHABLE)
                        && t.key != ns)
                });
                if !list.iter().any(|t| t.key == ns && t.effect == NO_SCHEDULE) {
                    list.push(Self::taint(ns, NO_SCHEDULE, now));
                }
                Self::patch_taints(&o, list, cx);
                q.next_at = now.saturating_add(interval);
            }
        }
    }
}

impl Controller for NodeLifecycleController {
    fn name(&self) -> &'static str {
        "node-lifecycle"
    }

    fn kinds(&self) -> &'static [Kind] {
        &[Kind::Node, Kind::Lease, Kind::Pod]
    }

    fn on_notification(&mut self, kind: Kind, n: &Notification, _cx: &mut Cx<'_>) -> Vec<String> {
        match (kind, n) {
            (Kind::Node, Notification::Delete(o)) => {
                self.health.remove(o.name());
                Vec::new()
            }
            (Kind::Node, Notification::Update { old, new })
                if node_of(old).map(node_taints) != node_of(new).map(node_taints) =>
            {
                vec![new.name().to_string()]
            }
            (Kind::Pod, Notification::Add(p) | Notification::Update { new: p, .. }) => {
                let node = p.as_pod().map(pods::node_name).unwrap_or("");
                if p.is_terminating() {
                    self.evicted.remove(&object_key(p));
                }
                if node.is_empty() {
                    Vec::new()
                } else {
                    vec![node.to_string()]
                }
            }
            (Kind::Pod, Notification::Delete(p)) => {
                self.evicted.remove(&object_key(p));
                self.marked.remove(&object_key(p));
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Taint eviction for the pods of one node.
    fn reconcile(&mut self, key: &str, cx: &mut Cx<'_>) -> Result<Action, ReconcileError> {
        let Some(o) = cx.get(Kind::Node, "", key) else {
            return Ok(Action::AwaitChange);
        };
        let Some(n) = node_of(&o) else {
            return Ok(Action::AwaitChange);
        };
        // processPod: a pod added or updated on a node whose Ready condition is not True is
        // marked not ready as well (one that became ready there, or whose mark failed).
        if ready_status(n).is_some_and(|r| r != "True") {
            self.mark_pods_not_ready(key, key, cx);
        }
        let no_execute: Vec<Taint> = taints(n)
            .into_iter()
            .filter(|t| t.effect == NO_EXECUTE)
            .collect();
        if no_execute.is_empty() {
            return Ok(Action::AwaitChange);
        }
        // Tolerations count from when the (latest relevant) taint was added.
        let added = no_execute
            .iter()
            .filter_map(|t| t.time_added.as_ref().map(virtual_secs))
            .max();
        let now_secs = virtual_secs(&api_time(cx.now));
        let pods_here = cx
            .cache(Kind::Pod)
            .and_then(|c| c.lister().pods_on_node(key).ok())
            .unwrap_or_default();
        let mut next: Option<i64> = None;
        for p in pods_here {
            let Some(pod) = p.as_pod() else { continue };
            if p.is_terminating() || self.evicted.contains(&object_key(&p)) {
                continue;
            }
            let tolerations = pod
                .spec
                .as_ref()
                .and_then(|s| s.tolerations.clone())
                .unwrap_or_default();
            let due = match min_toleration_seconds(&no_execute, &tolerations) {
                None => true,
                Some(None) => false,
                Some(Some(secs)) => {
                    let at = added.unwrap_or(now_secs) + secs;
                    if at > now_secs {
                        next = Some(next.map_or(at, |x: i64| x.min(at)));
                        false
                    } else {
                        true
                    }
                }
            };
            if due {
                cx.info(
                    "taint_eviction.go:112",
                    "Deleting pod",
                    &[
                        ("controller", "taint-eviction-controller"),
                        ("pod", &object_key(&p)),
                    ],
                );
                self.evicted.insert(object_key(&p));
                cx.writes.push(Write::delete(&p, ""));
                self.recorder.record(
                    cx.writes,
                    &p,
                    NORMAL,
                    "TaintManagerEviction",
                    format!("Marking for deletion Pod {}", object_key(&p)),
                    EVENT_SOURCE,
                    cx.now,
                );
            }
        }
        Ok(match next {
            Some(at) => Action::RequeueAfter(Duration::from_secs((at - now_secs).max(1) as u64)),
            None => Action::AwaitChange,
        })
    }

    fn tick_period(&self) -> Option<Duration> {
        Some(self.cfg.monitor_period)
    }

    fn on_tick(&mut self, cx: &mut Cx<'_>) -> Vec<String> {
        self.monitor(cx)
    }

    fn reset(&mut self) {
        self.health.clear();
        self.zones.clear();
        self.tainter.clear();
        self.zone_states.clear();
        self.evicted.clear();
        self.marked.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_states_follow_compute_zone_state() {
        // (not ready, total, state)
        let table = [
            (0, 3, ZoneState::Normal),
            (1, 1, ZoneState::FullDisruption),
            (2, 3, ZoneState::Normal),
            (3, 5, ZoneState::PartialDisruption),
            (3, 6, ZoneState::Normal),
            (5, 5, ZoneState::FullDisruption),
        ];
        for (nr, all, want) in table {
            assert_eq!(zone_state(nr, all, 55), want, "{nr}/{all}");
        }
    }
}
