//! `KubeScheduler`: kube-scheduler as an actor. Informers feed the cache and the queue; the
//! leader pops pods, runs a cycle of the framework, assumes the pod on the chosen node and
//! binds it through the apiserver; failures record FailedScheduling, update the pod's
//! PodScheduled condition and nominatedNodeName, and delete preemption victims.
//!
//! Follows `pkg/scheduler/scheduler.go` / `eventhandlers.go` (pending pods of this scheduler
//! go to the queue, bound pods to the cache; node and pod events move unschedulable pods),
//! `schedule_one.go` (assume, then bind; on a binding error forget the pod and retry it;
//! `handleSchedulingFailure`: event, `PodScheduled=False` with reason Unschedulable, nominated
//! node, back to the queue) and `cmd/kube-scheduler` (leader election on the Lease
//! kube-system/kube-scheduler: informers run on every replica, only the leader schedules).
//! Simplifications: a binding cycle is the apiserver round trip (no separate goroutine; the
//! pod stays assumed meanwhile, so later cycles see it); losing the lease is modelled as the
//! restarted process campaigning again under a new identity, its informers, cache and queue
//! kept rather than rebuilt; priority comes from the pod (the apiserver's Priority
//! admission resolves `priorityClassName`), so PriorityClasses are not watched.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use api::selector::Selector;
use api::{Kind, Object, SharedObject};
use apiserver::{
    ApiEnvelope, ApiReply, ApiRequest, DeleteOptions, PatchType, Subresource, UserInfo, Verb,
};
use client::api_client::{ApiClient, ApiClientConfig, ClientEvent, is_api_client_timer};
use client::exit::{self, ExitEnvelope};
use client::informer::Notification;
use client::klog;
use client::leader_election::ElectionEvent;
use client::{Indexer, InformerFactory, LeaseLock};
use sim::{Actor, ActorId, Ctx, Duration, StreamClose, StreamId};

use crate::events::{self, EventWrite, Recorder};
use crate::explain::{Explanation, explain};
use crate::framework::profile::{DEFAULT_SCHEDULER_NAME, Profile};
use crate::framework::schedule::{Algorithm, Decision, Nominator};
use crate::framework::{ClusterEvent, PodInfo, Snapshot};
use crate::queue::SchedulingQueue;

const FACTORY_TIMER_BASE: u64 = 0x5C4E_D000;
const LEASE_TIMER: u64 = 0x5C4E_E001;
const WORK_TIMER: u64 = 0x5C4E_E002;
/// Pods scheduled per callback before yielding to other events (bounds one callback).
pub const MAX_PODS_PER_BATCH: usize = 256;
/// Decisions remembered for `explain` (the oldest forgotten first).
pub const MAX_DECISIONS: usize = 10_000;

/// How to run the scheduler.
#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    /// The apiserver replicas to talk to, in order.
    pub apiservers: Vec<ActorId>,
    /// The host's name (the identity's prefix and the events' reportingInstance).
    pub host_name: String,
    pub scheduler_name: String,
    /// Campaign on the Lease kube-system/kube-scheduler (`--leader-elect`, default true).
    pub leader_elect: bool,
    /// 0: adaptive.
    pub percentage_of_nodes_to_score: u32,
    pub user: UserInfo,
    /// Test-only planted bug (default false): the scheduler forgets a pod it assumed as soon
    /// as it sends the binding, instead of keeping it assumed until the informer delivers
    /// the bound pod (`schedule_one.go` assume → bind; `backend/cache` `AssumePod` /
    /// `FinishBinding`). Between the Bind request and the pod's watch event the cache then
    /// shows the node without that pod, so later cycles place more pods on it than it can
    /// hold: nodes are over-committed (requests above allocatable, a hostPort taken twice),
    /// which the kubelet rejects at admission (OutOfcpu / OutOfmemory). This is exactly what
    /// the assumed-pod cache exists to prevent; it is here so that invariant checkers and
    /// fuzzers can prove they catch it. Never set it outside tests.
    pub planted_bug_ignore_assumed_pods: bool,
}

impl SchedulerConfig {
    pub fn new(apiservers: Vec<ActorId>, host_name: &str) -> SchedulerConfig {
        SchedulerConfig {
            apiservers,
            host_name: host_name.into(),
            scheduler_name: DEFAULT_SCHEDULER_NAME.into(),
            leader_elect: true,
            percentage_of_nodes_to_score: 0,
            user: UserInfo::component("system:kube-scheduler"),
            planted_bug_ignore_assumed_pods: false,
        }
    }
}

/// What a pending write is for.
#[derive(Clone, Debug)]
enum Pending {
    Bind { pod: Arc<PodInfo>, node: String },
    Other,
}

/// Counters for tests and reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SchedulerStats {
    pub cycles: u64,
    pub scheduled: u64,
    pub bound: u64,
    pub unschedulable: u64,
    pub bind_failures: u64,
    pub preemptions: u64,
}

pub struct KubeScheduler {
    cfg: SchedulerConfig,
    client: ApiClient,
    factory: InformerFactory,
    lock: Option<LeaseLock>,
    cache: Snapshot,
    queue: SchedulingQueue,
    nominator: Nominator,
    algorithm: Algorithm,
    recorder: Recorder,
    pending: BTreeMap<u64, Pending>,
    decisions: BTreeMap<String, Decision>,
    decision_order: VecDeque<String>,
    work: client::wakeup::Wakeup,
    pub stats: SchedulerStats,
}

fn pod_spec_scheduler(obj: &Object) -> &str {
    obj.as_pod()
        .and_then(|p| p.spec.as_ref())
        .and_then(|s| s.scheduler_name.as_deref())
        .unwrap_or(DEFAULT_SCHEDULER_NAME)
}

fn finished(obj: &Object) -> bool {
    obj.as_pod()
        .and_then(|p| p.status.as_ref())
        .and_then(|s| s.phase.as_deref())
        .is_some_and(|p| p == "Succeeded" || p == "Failed")
}

/// A node update that may let a pod fit (the queueing hints of NodeResourcesFit,
/// TaintToleration, NodeAffinity, NodeUnschedulable, ImageLocality in effect): a status
/// heartbeat changing only conditions or timestamps moves no pod.
fn node_changed_for_scheduling(old: &Object, new: &Object) -> bool {
    let (Object::Node(o), Object::Node(n)) = (old, new) else {
        return true;
    };
    type Capacity<'a> = (
        Option<&'a BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
        Option<&'a Vec<k8s_openapi::api::core::v1::ContainerImage>>,
    );
    fn alloc(x: &k8s_openapi::api::core::v1::Node) -> Option<Capacity<'_>> {
        x.status
            .as_ref()
            .map(|s| (s.allocatable.as_ref(), s.images.as_ref()))
    }
    o.spec != n.spec || o.metadata.labels != n.metadata.labels || alloc(o) != alloc(n)
}

/// `isPodUpdated`: the pod changed in more than status and resourceVersion.
fn pod_updated(old: &Object, new: &Object) -> bool {
    match (old.as_pod(), new.as_pod()) {
        (Some(o), Some(n)) => {
            o.spec != n.spec
                || o.metadata.labels != n.metadata.labels
                || o.metadata.annotations != n.metadata.annotations
                || o.metadata.deletion_timestamp != n.metadata.deletion_timestamp
        }
        _ => true,
    }
}

impl KubeScheduler {
    pub fn new(cfg: SchedulerConfig) -> KubeScheduler {
        let mut profile = Profile::default_profile();
        profile.scheduler_name = cfg.scheduler_name.clone();
        profile.percentage_of_nodes_to_score = cfg.percentage_of_nodes_to_score;
        let interest = profile
            .plugins
            .iter()
            .map(|e| (e.plugin.name(), e.plugin.events()))
            .collect();
        let mut factory = InformerFactory::new(FACTORY_TIMER_BASE, Duration::ZERO);
        for kind in [
            Kind::Pod,
            Kind::Node,
            Kind::Namespace,
            Kind::Service,
            Kind::ReplicaSet,
            Kind::StatefulSet,
        ] {
            factory.informer_for(kind, Indexer::with_namespace_index);
        }
        let client = ApiClient::new(ApiClientConfig::new(
            cfg.apiservers.clone(),
            cfg.user.clone(),
        ));
        let instance = format!("{}-{}", cfg.scheduler_name, cfg.host_name);
        KubeScheduler {
            recorder: Recorder::new(&cfg.scheduler_name, &instance),
            cfg,
            client,
            factory,
            lock: None,
            cache: Snapshot::new(),
            queue: SchedulingQueue::new(interest),
            nominator: Nominator::default(),
            algorithm: Algorithm::new(profile),
            pending: BTreeMap::new(),
            decisions: BTreeMap::new(),
            decision_order: VecDeque::new(),
            work: client::wakeup::Wakeup::new(WORK_TIMER),
            stats: SchedulerStats::default(),
        }
    }

    /// Whether this replica schedules (it holds the lease, or election is off).
    pub fn is_leader(&self) -> bool {
        !self.cfg.leader_elect || self.lock.as_ref().is_some_and(LeaseLock::is_leader)
    }

    pub fn config(&self) -> &SchedulerConfig {
        &self.cfg
    }

    pub fn cache(&self) -> &Snapshot {
        &self.cache
    }

    pub fn queue(&self) -> &SchedulingQueue {
        &self.queue
    }

    /// The last decision about `namespace/name`.
    pub fn decision(&self, key: &str) -> Option<&Decision> {
        self.decisions.get(key)
    }

    /// The pods (`namespace/name`) with a remembered decision, oldest first.
    pub fn decided_pods(&self) -> impl Iterator<Item = &str> {
        self.decision_order.iter().map(String::as_str)
    }

    /// The explanation of the last decision about `namespace/name`.
    pub fn explain(&self, key: &str) -> Option<Explanation<'_>> {
        self.decision(key).map(explain)
    }

    fn remember(&mut self, d: Decision) {
        let key = d.pod.clone();
        if self.decisions.insert(key.clone(), d).is_none() {
            self.decision_order.push_back(key);
            if self.decision_order.len() > MAX_DECISIONS
                && let Some(old) = self.decision_order.pop_front()
            {
                self.decisions.remove(&old);
            }
        }
    }

    fn handle<M: ApiEnvelope + ExitEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        events: Vec<ClientEvent>,
    ) {
        for ev in events {
            if let Some((kind, ns)) = self.factory.on_client_event(ctx, &mut self.client, &ev) {
                self.on_notifications(ctx, kind, &ns);
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
                self.on_write_result(ctx, p, result);
            }
        }
        self.kick(ctx);
    }

    /// Campaigns on the Lease kube-system/kube-scheduler under a new identity, as a started
    /// kube-scheduler process does.
    fn campaign<M: ApiEnvelope + ExitEnvelope>(&mut self, ctx: &mut Ctx<'_, M>) {
        let (lock, evs) = LeaseLock::campaign(
            ctx,
            &mut self.client,
            &self.cfg.host_name,
            ("kube-system", "kube-scheduler"),
            |_| {},
            LEASE_TIMER,
        );
        self.lock = Some(lock);
        self.on_election(ctx, evs);
    }

    fn on_election<M: ApiEnvelope + ExitEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        evs: Vec<ElectionEvent>,
    ) {
        for e in evs {
            // cmd/kube-scheduler/app/server.go exits here (code 1) and the kubelet starts the
            // static pod's container again, which campaigns under a new identity: without that
            // a cluster whose only scheduler lost its Lease once would never schedule again.
            // (client-go's lease lock logs the election's own lines.)
            if matches!(e, ElectionEvent::StoppedLeading) {
                klog::log(
                    ctx,
                    klog::Severity::Error,
                    "server.go:309",
                    "Leaderelection lost",
                    &[],
                );
                exit::exit_and_restart(ctx, "kube-scheduler", 1);
                self.campaign(ctx);
            }
        }
    }

    fn on_notifications<M: ApiEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        kind: Kind,
        ns: &[Notification],
    ) {
        let now = ctx.now();
        for n in ns {
            match (kind, n) {
                (Kind::Node, Notification::Delete(o)) => self.cache.remove_node(o.name()),
                (Kind::Node, Notification::Add(o)) => {
                    self.cache.upsert_node(o.clone());
                    self.queue.on_event(ClusterEvent::NodeAdd, now);
                }
                (Kind::Node, Notification::Update { old, new }) => {
                    self.cache.upsert_node(new.clone());
                    if node_changed_for_scheduling(old, new) {
                        self.queue.on_event(ClusterEvent::NodeUpdate, now);
                    }
                }
                (Kind::Namespace, Notification::Delete(o)) => {
                    self.cache.namespace_labels.remove(o.name());
                }
                (Kind::Namespace, n) => {
                    let o = n.object();
                    self.cache
                        .namespace_labels
                        .insert(o.name().to_string(), o.labels().clone());
                }
                (Kind::Pod, Notification::Delete(o)) => self.on_pod_gone(o, now),
                (Kind::Pod, Notification::Add(o)) => self.on_pod(o, true, now),
                (Kind::Pod, Notification::Update { old, new }) => {
                    self.on_pod(new, pod_updated(old, new), now)
                }
                _ => {}
            }
        }
    }

    fn on_pod_gone(&mut self, o: &SharedObject, now: sim::Time) {
        let key = client::object_key(o);
        let was_placed = self.cache.pod_node(&key).is_some();
        self.cache.remove_pod(&key);
        self.queue.delete(&key);
        self.nominator.remove(&key);
        if was_placed {
            self.queue.on_event(ClusterEvent::AssignedPodDelete, now);
        }
    }

    /// `changed`: more than the status changed (`isPodUpdated`); only then is an
    /// unschedulable pod retried.
    fn on_pod(&mut self, o: &SharedObject, changed: bool, now: sim::Time) {
        let key = client::object_key(o);
        let Some(info) = PodInfo::new(o.clone()) else {
            return;
        };
        if !info.node_name.is_empty() {
            if finished(o) {
                self.on_pod_gone(o, now);
                return;
            }
            let newly = self.cache.pod_node(&key).is_none() || self.cache.is_assumed(&key);
            self.cache.upsert_bound_pod(Arc::new(info));
            self.queue.delete(&key);
            self.nominator.remove(&key);
            if newly {
                self.queue.on_event(ClusterEvent::AssignedPodAdd, now);
            }
            return;
        }
        if pod_spec_scheduler(o) != self.cfg.scheduler_name || o.is_terminating() || finished(o) {
            self.queue.delete(&key);
            return;
        }
        if self.cache.is_assumed(&key) {
            return;
        }
        let info = Arc::new(info);
        if !info.nominated_node_name.is_empty() {
            self.nominator
                .nominate(info.clone(), &info.nominated_node_name.clone());
        }
        if changed {
            self.queue.update(info, now);
        } else {
            self.queue.refresh(info);
        }
    }

    /// The system default spreading's selector, as upstream's `helper.DefaultSelector`
    /// (`pkg/scheduler/framework/plugins/helper/spread.go`): the selectors of the namespace's
    /// Services that select the pod, and the selector of the ReplicaSet or StatefulSet named by
    /// the pod's controller reference (looked up by name, not by matching every controller of
    /// the namespace). The selectors are ANDed, as upstream merges them into one; empty means
    /// no default constraints. ReplicationControllers are not simulated.
    fn default_spread_selector(&self, pod: &PodInfo) -> Vec<Selector> {
        let mut out = Vec::new();
        let labels = pod.labels();
        let lister = |kind| self.factory.get(kind).map(|i| i.indexer().lister());
        if let Some(l) = lister(Kind::Service) {
            for s in l.list_namespaced(&pod.namespace, &Selector::everything()) {
                if let Object::Service(svc) = s.as_ref()
                    && let Some(sel) = svc.spec.as_ref().and_then(|s| s.selector.as_ref())
                    && !sel.is_empty()
                    && let Ok(sel) = Selector::from_map(sel)
                    && sel.matches(labels)
                {
                    out.push(sel);
                }
            }
        }
        let Some(owner) = api::object::controller_of(&pod.pod().metadata) else {
            return out;
        };
        let kind = match (owner.api_version.as_str(), owner.kind.as_str()) {
            ("apps/v1", "ReplicaSet") => Kind::ReplicaSet,
            ("apps/v1", "StatefulSet") => Kind::StatefulSet,
            _ => return out,
        };
        let Some(controller) = lister(kind).and_then(|l| l.get(&pod.namespace, &owner.name)) else {
            return out;
        };
        let sel = match controller.as_ref() {
            Object::ReplicaSet(r) => Some(&r.spec.selector),
            Object::StatefulSet(s) => Some(&s.spec.selector),
            _ => None,
        };
        if let Some(sel) = sel
            && let Ok(sel) = Selector::from_label_selector(Some(sel))
            && !sel.is_everything()
        {
            out.push(sel);
        }
        out
    }

    /// Arms the work timer: now when pods wait in activeQ, else at the queue's next flush.
    fn kick<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>) {
        if !self.factory.has_synced() || !self.is_leader() {
            self.work.arm(ctx, None);
            return;
        }
        let at = if self.queue.has_active() {
            Some(ctx.now())
        } else {
            self.queue.next_wakeup()
        };
        self.work.arm(ctx, at);
    }

    fn run<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>) {
        if !self.factory.has_synced() || !self.is_leader() {
            return;
        }
        self.queue.flush(ctx.now());
        for _ in 0..MAX_PODS_PER_BATCH {
            let Some(qp) = self.queue.pop() else { break };
            self.schedule_one(ctx, qp.pod);
        }
        self.kick(ctx);
    }

    fn schedule_one<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>, queued: Arc<PodInfo>) {
        let now = ctx.now();
        let key = queued.key();
        let mut pod = PodInfo::clone(&queued);
        pod.default_spread_selector = self.default_spread_selector(&pod).into();
        self.cache.refresh();
        self.stats.cycles += 1;
        let (result, decision) =
            self.algorithm
                .schedule(&pod, &self.cache, &self.nominator, ctx.rng());
        self.remember(decision);
        match result {
            Ok(placement) => {
                let permit = self
                    .algorithm
                    .profile
                    .plugins
                    .iter()
                    .map(|e| e.plugin.permit(&pod, &placement.node))
                    .find(|s| !s.is_success());
                if let Some(s) = permit {
                    self.fail(ctx, &pod, &s.message(), Default::default(), None);
                    return;
                }
                self.stats.scheduled += 1;
                let mut assumed = pod.clone();
                assumed.node_name = placement.node.clone();
                let assumed = Arc::new(assumed);
                self.cache.assume(assumed.clone(), &placement.node);
                self.queue.done(&key);
                self.nominator.remove(&key);
                let req = ApiRequest::new(
                    0,
                    self.cfg.user.clone(),
                    Kind::Pod,
                    Verb::Bind {
                        node_name: placement.node.clone(),
                    },
                )
                .in_namespace(&pod.namespace)
                .named(&pod.name)
                .subresource(Subresource::Binding);
                let id = self.client.send(ctx, req);
                self.pending.insert(
                    id,
                    Pending::Bind {
                        pod: assumed,
                        node: placement.node,
                    },
                );
                if self.cfg.planted_bug_ignore_assumed_pods {
                    // The planted bug: the node looks free again until the watch catches up.
                    self.cache.forget(&key);
                }
            }
            Err(failure) => {
                self.stats.unschedulable += 1;
                let plugins = failure
                    .fit_error
                    .as_ref()
                    .map(|f| f.diagnosis.unschedulable_plugins.clone())
                    .unwrap_or_default();
                let mut nominated = None;
                if let Some(p) = &failure.preemption
                    && let Some(node) = &p.nominated_node
                {
                    self.stats.preemptions += 1;
                    nominated = Some(node.clone());
                    for v in &p.victims {
                        // As upstream, the victim learns why before it is deleted.
                        let stamp = apiserver::objects::api_time(now);
                        let reason = serde_json::json!({"status": {"conditions": [{
                            "type": "DisruptionTarget",
                            "status": "True",
                            "reason": "PreemptionByScheduler",
                            "message": format!(
                                "{}: preempting to accommodate a higher priority pod",
                                self.cfg.scheduler_name
                            ),
                            "lastTransitionTime": serde_json::to_value(&stamp).unwrap_or_default(),
                        }]}});
                        self.patch_status(ctx, v, reason);
                        let w = self.recorder.record(
                            v,
                            events::NORMAL,
                            "Preempted",
                            &events::preempted_message(&pod.uid, node),
                            now,
                        );
                        self.write_event(ctx, w);
                        let id = self.client.request(
                            ctx,
                            Kind::Pod,
                            &v.namespace,
                            &v.name,
                            Verb::Delete(DeleteOptions::default()),
                        );
                        self.pending.insert(id, Pending::Other);
                    }
                    // Lower-priority pods nominated to the node lose their nomination.
                    let displaced: Vec<Arc<PodInfo>> = self
                        .nominator
                        .pods_on(node)
                        .iter()
                        .filter(|p| p.priority < pod.priority)
                        .cloned()
                        .collect();
                    for d in displaced {
                        self.nominator.remove(&d.key());
                        let patch = serde_json::json!({"status": {"nominatedNodeName": null}});
                        self.patch_status(ctx, &d, patch);
                    }
                    let mut p2 = pod.clone();
                    p2.nominated_node_name = node.clone();
                    self.nominator.nominate(Arc::new(p2), node);
                }
                self.fail(ctx, &pod, &failure.message, plugins, nominated);
            }
        }
    }

    /// `handleSchedulingFailure`.
    fn fail<M: ApiEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        pod: &PodInfo,
        message: &str,
        plugins: std::collections::BTreeSet<&'static str>,
        nominated: Option<String>,
    ) {
        let now = ctx.now();
        klog::info(
            ctx,
            "schedule_one.go:1055",
            "Unable to schedule pod; no fit; waiting",
            &[("pod", &pod.key()), ("err", message)],
        );
        let w = self
            .recorder
            .record(pod, events::WARNING, "FailedScheduling", message, now);
        self.write_event(ctx, w);
        let current = pod.pod().status.as_ref();
        let cond = current
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "PodScheduled"));
        let same_condition = cond.is_some_and(|c| {
            c.status == "False"
                && c.reason.as_deref() == Some("Unschedulable")
                && c.message.as_deref() == Some(message)
        });
        let nominated_now = nominated.clone().unwrap_or_default();
        let same_nomination = nominated.is_none() || pod.nominated_node_name == nominated_now;
        if !same_condition || !same_nomination {
            let stamp = apiserver::objects::api_time(now);
            let mut status = serde_json::json!({
                "conditions": [{
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": message,
                    "lastProbeTime": null,
                    "lastTransitionTime": serde_json::to_value(&stamp).unwrap_or_default(),
                }]
            });
            if let Some(n) = nominated {
                status["nominatedNodeName"] = serde_json::Value::String(n);
            }
            self.patch_status(ctx, pod, serde_json::json!({ "status": status }));
        }
        self.queue.add_unschedulable(&pod.key(), plugins, now);
    }

    fn patch_status<M: ApiEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        pod: &PodInfo,
        patch: serde_json::Value,
    ) {
        let req = ApiRequest::new(
            0,
            self.cfg.user.clone(),
            Kind::Pod,
            Verb::Patch {
                patch_type: PatchType::StrategicMerge,
                patch: Arc::new(patch),
            },
        )
        .in_namespace(&pod.namespace)
        .named(&pod.name)
        .subresource(Subresource::Status);
        let id = self.client.send(ctx, req);
        self.pending.insert(id, Pending::Other);
    }

    fn write_event<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>, w: EventWrite) {
        let id = match w {
            EventWrite::Create(obj) => {
                let ns = obj.namespace().to_string();
                self.client
                    .request(ctx, Kind::Event, &ns, "", Verb::Create(obj))
            }
            EventWrite::Bump {
                namespace,
                name,
                patch,
            } => self.client.request(
                ctx,
                Kind::Event,
                &namespace,
                &name,
                Verb::Patch {
                    patch_type: PatchType::Merge,
                    patch: Arc::new(patch),
                },
            ),
        };
        self.pending.insert(id, Pending::Other);
    }

    fn on_write_result<M: ApiEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        p: Pending,
        result: Result<ApiReply, client::ClientError>,
    ) {
        let Pending::Bind { pod, node } = p else {
            return;
        };
        let now = ctx.now();
        match result {
            Ok(_) => {
                // schedule_one.go logs "Successfully bound pod to node" at V(2), which
                // kube-scheduler's default verbosity (kind's) does not print.
                self.stats.bound += 1;
                let w = self.recorder.record(
                    &pod,
                    events::NORMAL,
                    "Scheduled",
                    &events::scheduled_message(&pod, &node),
                    now,
                );
                self.write_event(ctx, w);
            }
            Err(e) => {
                self.stats.bind_failures += 1;
                let key = pod.key();
                self.cache.forget(&key);
                self.queue.on_event(ClusterEvent::AssignedPodDelete, now);
                let msg = format!("Binding rejected: {e}");
                klog::error(
                    ctx,
                    "schedule_one.go:1067",
                    &msg,
                    "Error scheduling pod; retrying",
                    &[("pod", &key)],
                );
                // Back to the queue (unless the pod is gone or bound meanwhile), backing off.
                let current = self
                    .factory
                    .get(Kind::Pod)
                    .and_then(|i| i.indexer().get(&key).cloned());
                if let Some(o) = current
                    && let Some(info) = PodInfo::new(o)
                    && info.node_name.is_empty()
                {
                    let w =
                        self.recorder
                            .record(&info, events::WARNING, "FailedScheduling", &msg, now);
                    self.write_event(ctx, w);
                    self.queue.add_failed(Arc::new(info), now);
                }
            }
        }
    }
}

impl<M: ApiEnvelope + ExitEnvelope> Actor<M> for KubeScheduler {
    fn on_start(&mut self, ctx: &mut Ctx<'_, M>) {
        self.factory.start(ctx, &mut self.client);
        if self.cfg.leader_elect {
            self.campaign(ctx);
        }
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
                self.on_notifications(ctx, kind, &ns);
            }
            self.kick(ctx);
        } else if tag == LEASE_TIMER {
            if let Some(lock) = &mut self.lock {
                let evs = lock.on_timer(ctx, &mut self.client);
                self.on_election(ctx, evs);
            }
            self.kick(ctx);
        } else if tag == WORK_TIMER {
            self.work.fired();
            self.run(ctx);
        }
    }
}
