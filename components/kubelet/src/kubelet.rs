//! `Kubelet`: the node agent actor. It registers the Node, keeps its status and Lease fresh,
//! watches the pods bound to its node, admits them, drives the runtime through each pod's
//! lifecycle (sandbox, image, init containers, containers, probes, restarts with back-off,
//! graceful termination), runs the control plane's static pods with their mirror pods, and
//! writes pod status and Events.
//!
//! Follows `pkg/kubelet` as the modules it uses say; the sync of one pod is
//! `kuberuntime_manager.go`'s `SyncPod` in spirit: compute what the pod needs next from what
//! is known, issue that runtime call, and continue when its reply comes. Simplifications:
//! the pod worker syncs when something happens or a deadline it set is reached (no 1-minute
//! resync, no PLEG relist: the runtime pushes exits); a sync that waits on a back-off wakes
//! exactly when it ends (upstream requeues after 10–15 s and checks again, so its restarts
//! come up to a few seconds later); status writes are one merge PATCH per change, rate
//! limited by kubeAPIQPS/kubeAPIBurst (50/100) as the kubelet's client-go limiter does.

use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;
use std::sync::Arc;

use api::k8s_openapi::api::coordination::v1::Lease;
use api::k8s_openapi::api::core::v1::{Node, NodeStatus, Pod};
use api::{Kind, Object, SharedObject};
use apiserver::{
    ApiEnvelope, ApiReply, ApiRequest, DeleteOptions, GetOptions, PatchType, Preconditions,
    StatusReason, Subresource, UserInfo, Verb,
};
use client::api_client::{
    ApiClient, ApiClientConfig, ClientError, ClientEvent, is_api_client_timer,
};
use client::indexer::Indexer;
use client::informer::{Informer, InformerConfig, Notification};
use client::klog;
use client::rate_limiter::BucketRateLimiter;
use client::wakeup::Wakeup;
use runtime::{
    ContainerEvent, ExitCause, ProbeKind, RuntimeCall, RuntimeEnvelope, RuntimeError,
    RuntimeMessage, RuntimeReply,
};
use sim::{Actor, ActorId, Ctx, Duration, StreamClose, StreamId, Time};

use crate::admission::admit;
use crate::backoff::Backoff;
use crate::config::KubeletConfig;
use crate::events::{EventWrite, NORMAL, Recorder, WARNING};
use crate::node::{conditions_changed, fixed_status, initial_node, lease, renew, with_conditions};
use crate::probes::Verdict;
use crate::static_pods::{is_mirror, mirror_of};
use crate::status::{StatusInputs, pod_status};
use crate::worker::{CState, ConfigCheck, Op, PodWorker, Terminated, Terminating};

const TAG_INFORMER: u64 = 1;
const TAG_WAKE: u64 = 2;
const TAG_NODE_STATUS: u64 = 3;
const TAG_LEASE: u64 = 4;
const TAG_REGISTER: u64 = 5;
const TAG_STATUS_WRITES: u64 = 6;
const TAG_NODE_INFORMER: u64 = 7;
const TAG_STATUS_RECONCILE: u64 = 8;
/// The status manager's `syncPeriod`.
const STATUS_SYNC_PERIOD: Duration = Duration::from_secs(10);

/// How long a missing ConfigMap/Secret or a failed runtime call waits before the next try.
const RETRY_AFTER: Duration = Duration::from_secs(10);
/// Attempts at one Lease renewal before waiting for the next (`maxUpdateRetries` in
/// component-helpers' lease controller): without the bound, an apiserver that kept answering
/// Conflict had a kubelet renewing ~750 times a second.
const MAX_LEASE_UPDATE_ATTEMPTS: u32 = 5;
/// The shortest grace period the kubelet gives a pod removed from the API under it
/// (`minimumGracePeriodInSeconds`).
const MIN_GRACE: Duration = Duration::from_secs(2);
/// Probe calls and container operations in flight are bounded by the pods (one op per
/// container); pods beyond this many are rejected by admission anyway (maxPods).
const MAX_WORKERS: usize = 1_024;

/// What a runtime call was for.
#[derive(Clone, Debug)]
enum Purpose {
    Sandbox,
    StopSandbox,
    RemoveSandbox,
    Container { init: bool, index: usize, op: Op },
    Probe { index: usize, kind: ProbeKind },
    RemoveContainer,
}

#[derive(Clone, Debug)]
struct Call {
    uid: String,
    purpose: Purpose,
}

/// What an API request was for.
#[derive(Clone, Debug)]
enum ApiOp {
    RegisterNode,
    GetNode,
    NodeStatus,
    LeaseCreate,
    LeaseGet,
    LeaseUpdate,
    PodStatus {
        uid: String,
    },
    PodDelete {
        uid: String,
    },
    MirrorCreate {
        uid: String,
    },
    ConfigGet {
        uid: String,
        kind: Kind,
        name: String,
    },
    Event,
}

/// Counters for tests, metrics and the report.
#[derive(Clone, Debug, Default)]
pub struct KubeletStats {
    pub syncs: u64,
    pub runtime_calls: u64,
    pub status_writes: u64,
    pub node_status_writes: u64,
    pub lease_renewals: u64,
    pub events: u64,
}

/// The kubelet actor.
pub struct Kubelet<M> {
    cfg: KubeletConfig,
    client: ApiClient,
    informer: Informer,
    /// Its own Node as the API has it (upstream's node informer, `metadata.name=<node>`): the
    /// node lifecycle controller may have set its conditions Unknown meanwhile, which the
    /// next nodeStatusUpdateFrequency tick must put right (upstream compares with a GET).
    node_informer: Informer,
    limiter: BucketRateLimiter,
    recorder: Recorder,
    crash_backoff: Backoff,
    image_backoff: Backoff,
    node: Node,
    node_uid: String,
    registered: bool,
    register_delay: Duration,
    node_status: Option<NodeStatus>,
    /// [`conditions_changed`] of `node_status`, asked when it is set: it compares the
    /// status with the constant conditions, so its answer for one status never changes, and
    /// asking every nodeStatusUpdateFrequency read the status's cold strings (~1% of a
    /// steady run at 100 nodes).
    node_conditions_changed: bool,
    /// The part of the status the configuration fixes (built once).
    fixed_status: NodeStatus,
    /// Its JSON: a report serializes only the conditions (the whole status was most of the
    /// JSON patch's cost, and its JSON is the fixed fields' and the conditions').
    fixed_status_json: serde_json::Map<String, serde_json::Value>,
    last_report: Option<Time>,
    node_status_in_flight: bool,
    /// The node Lease as the apiserver last returned it (shared with the reply).
    lease: Option<SharedObject>,
    /// The Lease object last sent: the next renewal is built from it, in place, while no one
    /// else holds it and the apiserver stored it as sent (see `next_lease`).
    lease_sent: Option<SharedObject>,
    lease_in_flight: bool,
    /// Conflicts met by this renewal round: upstream's lease controller (`retryUpdateLease`)
    /// makes at most `maxUpdateRetries` (5) attempts, then waits for the next renewal.
    lease_conflicts: u32,
    /// Boxed: a sync takes its worker out of the map and puts it back, and a worker is large.
    pods: BTreeMap<String, Box<PodWorker>>,
    by_key: BTreeMap<String, String>,
    container_owner: BTreeMap<String, String>,
    calls: BTreeMap<u64, Call>,
    next_call: u64,
    api_ops: BTreeMap<u64, ApiOp>,
    wakes: BTreeSet<(Time, String)>,
    wakeup: Wakeup,
    status_queue: BTreeSet<String>,
    /// Pods whose API status was seen to differ from the kubelet's (see
    /// [`Kubelet::reconcile_statuses`]), and whether the timer for them is set.
    status_reconcile: BTreeSet<String>,
    status_reconcile_armed: bool,
    status_delayed: Option<(Time, String)>,
    pub stats: KubeletStats,
    _m: PhantomData<fn() -> M>,
}

impl<M> Kubelet<M> {
    pub fn new(cfg: KubeletConfig) -> Self {
        let client = ApiClient::new(ApiClientConfig::new(
            cfg.apiservers.clone(),
            UserInfo::node(&cfg.node_name),
        ));
        let mut icfg = InformerConfig::new(Kind::Pod, TAG_INFORMER);
        icfg.field_selector = format!("spec.nodeName={}", cfg.node_name);
        let mut ncfg = InformerConfig::new(Kind::Node, TAG_NODE_INFORMER);
        ncfg.field_selector = format!("metadata.name={}", cfg.node_name);
        let node = initial_node(&cfg, Time::ZERO);
        Kubelet {
            node_informer: Informer::new(ncfg, Indexer::new()),
            limiter: BucketRateLimiter::new(cfg.api_qps, cfg.api_burst),
            crash_backoff: Backoff::new(cfg.backoff_initial, cfg.backoff_max),
            image_backoff: Backoff::new(cfg.backoff_initial, cfg.backoff_max),
            informer: Informer::new(icfg, Indexer::new()),
            client,
            recorder: Recorder::default(),
            node,
            node_uid: String::new(),
            registered: false,
            register_delay: Duration::from_millis(100),
            node_status: None,
            node_conditions_changed: false,
            fixed_status_json: match serde_json::to_value(fixed_status(&cfg)) {
                Ok(serde_json::Value::Object(m)) => m,
                _ => serde_json::Map::new(),
            },
            fixed_status: fixed_status(&cfg),
            last_report: None,
            node_status_in_flight: false,
            lease: None,
            lease_sent: None,
            lease_in_flight: false,
            lease_conflicts: 0,
            pods: BTreeMap::new(),
            by_key: BTreeMap::new(),
            container_owner: BTreeMap::new(),
            calls: BTreeMap::new(),
            next_call: 1,
            api_ops: BTreeMap::new(),
            wakes: BTreeSet::new(),
            wakeup: Wakeup::new(TAG_WAKE),
            status_queue: BTreeSet::new(),
            status_reconcile: BTreeSet::new(),
            status_reconcile_armed: false,
            status_delayed: None,
            stats: KubeletStats::default(),
            cfg,
            _m: PhantomData,
        }
    }

    pub fn config(&self) -> &KubeletConfig {
        &self.cfg
    }

    /// Has the Node been registered?
    pub fn is_registered(&self) -> bool {
        self.registered
    }

    /// The pod workers by uid.
    pub fn pods(&self) -> impl Iterator<Item = &PodWorker> {
        self.pods.values().map(|w| &**w)
    }

    /// The worker of pod `namespace/name` (the newest, if several uids share the name).
    pub fn pod(&self, namespace: &str, name: &str) -> Option<&PodWorker> {
        self.by_key
            .get(&format!("{namespace}/{name}"))
            .and_then(|uid| self.pods.get(uid))
            .map(|w| &**w)
    }

    /// The Lease as last written.
    pub fn lease(&self) -> Option<&Lease> {
        self.lease.as_deref().and_then(|o| match o {
            Object::Lease(l) => Some(l.as_ref()),
            _ => None,
        })
    }
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 && s.is_multiple_of(60) {
        format!("{}m0s", s / 60)
    } else if s >= 60 {
        format!("{}m{}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

fn secs_f(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        let s = format!("{:.3}", d.as_secs_f64());
        format!("{}s", s.trim_end_matches('0').trim_end_matches('.'))
    }
}

impl<M: ApiEnvelope + RuntimeEnvelope> Kubelet<M> {
    // ---- plumbing -------------------------------------------------------------------------

    fn call(&mut self, ctx: &mut Ctx<'_, M>, uid: &str, purpose: Purpose, call: RuntimeCall) {
        let id = self.next_call;
        self.next_call += 1;
        self.stats.runtime_calls += 1;
        self.calls.insert(
            id,
            Call {
                uid: uid.to_string(),
                purpose,
            },
        );
        ctx.send(
            self.cfg.runtime,
            M::wrap_runtime(RuntimeMessage::Call { id, call }),
        );
    }

    fn api(&mut self, ctx: &mut Ctx<'_, M>, op: ApiOp, req: ApiRequest) {
        let id = self.client.send(ctx, req);
        self.api_ops.insert(id, op);
    }

    fn request(kind: Kind, namespace: &str, name: &str, verb: Verb) -> ApiRequest {
        ApiRequest::new(0, UserInfo::unset(), kind, verb)
            .in_namespace(namespace)
            .named(name)
    }

    fn event(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        w: &PodWorker,
        container: Option<(&str, bool)>,
        type_: &str,
        reason: &str,
        message: String,
    ) {
        let uid = if w.is_static {
            match &w.mirror_uid {
                Some(u) => u.clone(),
                None => return,
            }
        } else {
            w.uid.clone()
        };
        let field_path = container.map(|(name, init)| {
            if init {
                format!("spec.initContainers{{{name}}}")
            } else {
                format!("spec.containers{{{name}}}")
            }
        });
        let now = ctx.now();
        let node = self.cfg.node_name.clone();
        let object = w.key();
        klog::info(
            ctx,
            "event.go:389",
            "Event occurred",
            &[
                ("object", object.as_str()),
                ("fieldPath", field_path.as_deref().unwrap_or("")),
                ("kind", "Pod"),
                ("apiVersion", "v1"),
                ("type", type_),
                ("reason", reason),
                ("message", message.as_str()),
            ],
        );
        self.stats.events += 1;
        match self.recorder.record(
            &node,
            w.pod(),
            &uid,
            field_path,
            type_,
            reason,
            message,
            now,
        ) {
            EventWrite::Create(obj) => {
                let ns = obj.namespace().to_string();
                self.api(
                    ctx,
                    ApiOp::Event,
                    Self::request(Kind::Event, &ns, "", Verb::Create(obj)),
                );
            }
            EventWrite::Patch(ns, name, patch) => self.api(
                ctx,
                ApiOp::Event,
                Self::request(
                    Kind::Event,
                    &ns,
                    &name,
                    Verb::Patch {
                        patch_type: PatchType::Merge,
                        patch: Arc::new(patch),
                    },
                ),
            ),
        }
    }

    fn rearm(&mut self, ctx: &mut Ctx<'_, M>) {
        let first = self.wakes.iter().next().map(|(t, _)| *t);
        self.wakeup.arm(ctx, first);
    }

    // ---- node registration, status, lease --------------------------------------------------

    fn register(&mut self, ctx: &mut Ctx<'_, M>) {
        let name = self.cfg.node_name.clone();
        klog::info(
            ctx,
            "kubelet_node_status.go:75",
            "Attempting to register node",
            &[("node", name.as_str())],
        );
        let mut node = initial_node(&self.cfg, ctx.now());
        node.metadata.resource_version = None;
        self.api(
            ctx,
            ApiOp::RegisterNode,
            Self::request(
                Kind::Node,
                "",
                "",
                Verb::Create(Arc::new(Object::from(node))),
            ),
        );
    }

    fn on_node_registered(&mut self, ctx: &mut Ctx<'_, M>, node: &Node) {
        let first = !self.registered;
        self.registered = true;
        self.node_uid = node.metadata.uid.clone().unwrap_or_default();
        if first {
            let name = self.cfg.node_name.clone();
            klog::info(
                ctx,
                "kubelet_node_status.go:78",
                "Successfully registered node",
                &[("node", name.as_str())],
            );
            self.report_node_status(ctx, true);
            self.renew_lease(ctx);
            let uids: Vec<String> = self.pods.keys().cloned().collect();
            for uid in uids {
                self.sync_pod(ctx, &uid);
            }
        }
    }

    /// The API's Node shows other conditions than the kubelet posts (the node lifecycle
    /// controller's Unknown after a partition): report at the next tick, not after
    /// nodeStatusReportFrequency (`nodeStatusHasChanged` against the node it GETs).
    fn on_node_notifications(&mut self, ns: &[Notification]) {
        for n in ns {
            if let Notification::Add(o) | Notification::Update { new: o, .. } = n
                && let Object::Node(node) = o.as_ref()
                && node.status.as_ref().is_none_or(conditions_changed)
            {
                self.node_conditions_changed = true;
            }
        }
    }

    fn report_node_status(&mut self, ctx: &mut Ctx<'_, M>, force: bool) {
        if !self.registered || self.node_status_in_flight {
            return;
        }
        let now = ctx.now();
        let due = self
            .last_report
            .is_none_or(|t| now.saturating_since(t) >= self.cfg.node_status_report_frequency);
        // Every nodeStatusUpdateFrequency, but a status is built only when one is posted.
        let changed = self.node_status.is_none() || self.node_conditions_changed;
        if !(force || due || changed) {
            return;
        }
        let status = with_conditions(self.fixed_status.clone(), now, self.node_status.as_ref());
        let mut json = self.fixed_status_json.clone();
        if let Some(conditions) = &status.conditions {
            json.insert(
                "conditions".to_string(),
                serde_json::to_value(conditions).unwrap_or_default(),
            );
        }
        let mut patch = serde_json::Map::new();
        patch.insert("status".to_string(), serde_json::Value::Object(json));
        let patch = serde_json::Value::Object(patch);
        self.node_conditions_changed = conditions_changed(&status);
        self.node_status = Some(status);
        self.last_report = Some(now);
        self.node_status_in_flight = true;
        self.stats.node_status_writes += 1;
        let name = self.cfg.node_name.clone();
        self.api(
            ctx,
            ApiOp::NodeStatus,
            Self::request(
                Kind::Node,
                "",
                &name,
                Verb::Patch {
                    patch_type: PatchType::Merge,
                    patch: Arc::new(patch),
                },
            )
            .subresource(Subresource::Status),
        );
    }

    fn renew_lease(&mut self, ctx: &mut Ctx<'_, M>) {
        if !self.registered || self.lease_in_flight {
            return;
        }
        let l = self.next_lease(ctx.now());
        self.lease_sent = Some(l.clone());
        self.lease_in_flight = true;
        let (op, verb, target) = if self.lease.is_some() {
            (
                ApiOp::LeaseUpdate,
                Verb::Update(l),
                self.cfg.node_name.as_str(),
            )
        } else {
            (ApiOp::LeaseCreate, Verb::Create(l), "")
        };
        let req = Self::request(Kind::Lease, crate::node::NODE_LEASE_NAMESPACE, target, verb);
        self.api(ctx, op, req);
    }

    /// The Lease to write at `now`: `lease` of the last one the apiserver returned. A renewal
    /// every 10 s would deep-copy it (metadata, owner reference, spec); when the object last
    /// sent is ours alone and equals what the apiserver returned but for the resourceVersion,
    /// that object is renewed in place instead, to the same result.
    fn next_lease(&mut self, now: Time) -> SharedObject {
        if let (Some(mut sent), Some(Object::Lease(current))) =
            (self.lease_sent.take(), self.lease.as_deref())
            && let Some(Object::Lease(l)) = Arc::get_mut(&mut sent)
        {
            l.metadata
                .resource_version
                .clone_from(&current.metadata.resource_version);
            if *l == *current {
                renew(l, &self.cfg, &self.node_uid, now);
                return sent;
            }
        }
        Arc::new(Object::from(lease(
            &self.cfg,
            &self.node_uid,
            now,
            self.lease(),
        )))
    }

    fn on_api_result(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        op: ApiOp,
        result: Result<ApiReply, ClientError>,
    ) {
        let object = match &result {
            Ok(ApiReply::Object(o)) => Some(o.clone()),
            _ => None,
        };
        let status_reason = result
            .as_ref()
            .err()
            .and_then(ClientError::status)
            .map(|s| s.reason);
        match op {
            ApiOp::RegisterNode | ApiOp::GetNode => match (object.as_deref(), status_reason) {
                (Some(Object::Node(n)), _) => self.on_node_registered(ctx, &n.clone()),
                (_, Some(StatusReason::AlreadyExists)) => {
                    let name = self.cfg.node_name.clone();
                    self.api(
                        ctx,
                        ApiOp::GetNode,
                        Self::request(Kind::Node, "", &name, Verb::Get(GetOptions::default())),
                    );
                }
                _ => {
                    // kubelet's registration back-off: 100 ms doubling to 7 s.
                    ctx.set_timer(self.register_delay, TAG_REGISTER);
                    self.register_delay = self
                        .register_delay
                        .saturating_mul(2)
                        .min(Duration::from_secs(7));
                }
            },
            ApiOp::NodeStatus => {
                self.node_status_in_flight = false;
                match (object.as_deref(), status_reason) {
                    (Some(Object::Node(n)), _) => {
                        self.node_uid = n.metadata.uid.clone().unwrap_or_default();
                    }
                    (_, Some(StatusReason::NotFound)) => {
                        // The Node was deleted: register again (the kubelet does on restart;
                        // here at once).
                        self.registered = false;
                        self.node_status = None;
                        self.register(ctx);
                    }
                    _ => self.last_report = None,
                }
            }
            ApiOp::LeaseCreate | ApiOp::LeaseUpdate | ApiOp::LeaseGet => {
                self.lease_in_flight = false;
                match (object.as_deref(), status_reason) {
                    (Some(Object::Lease(_)), _) => {
                        let renewed = !matches!(op, ApiOp::LeaseGet);
                        self.lease = object.clone();
                        if renewed {
                            self.stats.lease_renewals += 1;
                        } else {
                            self.renew_lease(ctx);
                        }
                    }
                    (_, Some(StatusReason::AlreadyExists | StatusReason::Conflict))
                        if self.lease_conflicts + 1 < MAX_LEASE_UPDATE_ATTEMPTS =>
                    {
                        self.lease_conflicts += 1;
                        self.lease_in_flight = true;
                        let name = self.cfg.node_name.clone();
                        self.api(
                            ctx,
                            ApiOp::LeaseGet,
                            Self::request(
                                Kind::Lease,
                                crate::node::NODE_LEASE_NAMESPACE,
                                &name,
                                Verb::Get(GetOptions::default()),
                            ),
                        );
                    }
                    (_, Some(StatusReason::NotFound)) => self.lease = None,
                    _ => {}
                }
            }
            ApiOp::PodStatus { uid } => {
                if let Some(mut w) = self.pods.remove(&uid) {
                    w.status_in_flight = false;
                    if result.is_err() {
                        w.forget_status_written();
                    } else if let Some(written) = object.as_deref()
                        && w.overwritten_since(written)
                    {
                        self.status_reconcile.insert(uid.clone());
                        self.arm_status_reconcile(ctx);
                    }
                    let again = w.status_pending || w.status_unwritten();
                    w.status_pending = false;
                    self.pods.insert(uid.clone(), w);
                    if again && result.is_ok() {
                        self.status_queue.insert(uid.clone());
                    }
                    self.sync_pod(ctx, &uid);
                    self.flush_status(ctx);
                }
            }
            ApiOp::PodDelete { uid } => {
                // A pod that is gone is forgotten when the watch brings its DELETED event (or
                // a relist finds it missing), as the kubelet's pod config source does.
                if result.is_err()
                    && status_reason != Some(StatusReason::NotFound)
                    && let Some(w) = self.pods.get_mut(&uid)
                {
                    w.delete_sent = false;
                    let at = ctx.now().saturating_add(RETRY_AFTER);
                    w.wake(at);
                    self.schedule_wake(&uid);
                    self.rearm(ctx);
                }
            }
            ApiOp::MirrorCreate { uid } => {
                if let Some(w) = self.pods.get_mut(&uid) {
                    w.mirror_create_in_flight = false;
                    match object.as_deref() {
                        Some(Object::Pod(p)) => w.mirror_uid = p.metadata.uid.clone(),
                        // Upstream logs the failure and tries again at the pod's next sync,
                        // not at once: an AlreadyExists (a mirror the pod watch has not
                        // brought yet) answered by a create and so on looped at hundreds of
                        // writes a second, each an etcd transaction.
                        _ => w.mirror_retry_at = Some(ctx.now().saturating_add(RETRY_AFTER)),
                    }
                }
                self.sync_pod(ctx, &uid);
            }
            ApiOp::ConfigGet { uid, kind, name } => {
                self.on_config_result(ctx, &uid, kind, &name, object, status_reason);
            }
            ApiOp::Event => {}
        }
    }

    // ---- pods from the API ---------------------------------------------------------------

    fn on_notification(&mut self, ctx: &mut Ctx<'_, M>, n: Notification) {
        let deleted = matches!(n, Notification::Delete(_));
        let Object::Pod(pod) = n.object().as_ref() else {
            return;
        };
        let key = format!(
            "{}/{}",
            pod.metadata.namespace.as_deref().unwrap_or(""),
            pod.metadata.name.as_deref().unwrap_or("")
        );
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        if is_mirror(pod) {
            let Some(static_uid) = self.by_key.get(&key).cloned() else {
                return;
            };
            if let Some(w) = self.pods.get_mut(&static_uid)
                && w.is_static
            {
                if deleted || pod.metadata.deletion_timestamp.is_some() {
                    w.mirror_uid = None;
                    w.mirror = None;
                    w.forget_status_written();
                } else {
                    if w.mirror_uid.as_deref() != Some(uid.as_str()) {
                        if w.mirror_uid.is_none()
                            && let Some(status) = &pod.status
                        {
                            w.adopt_previous_instances(status, ctx.now());
                        }
                        w.mirror_uid = Some(uid);
                        w.forget_status_written();
                    }
                    w.mirror = Some(n.object().clone());
                    if w.api_status_differs() {
                        self.status_reconcile.insert(static_uid.clone());
                    }
                }
            }
            self.arm_status_reconcile(ctx);
            self.sync_pod(ctx, &static_uid);
            return;
        }
        let op = if deleted {
            "SyncLoop REMOVE"
        } else if !self.pods.contains_key(&uid) {
            "SyncLoop ADD"
        } else if pod.metadata.deletion_timestamp.is_some()
            && self.pods.get(&uid).is_some_and(|w| w.terminating.is_none())
        {
            "SyncLoop DELETE"
        } else {
            "SyncLoop UPDATE"
        };
        // klog.KObjSlice prints the pods as a bare list.
        ctx.log(format!(
            "Ikubelet.go:2468] \"{op}\" source=\"api\" pods=[\"{key}\"]"
        ));
        if deleted {
            if let Some(w) = self.pods.get_mut(&uid) {
                if w.terminated || w.is_finished() {
                    self.forget(ctx, &uid);
                    return;
                }
                let now = ctx.now();
                let grace = w.terminating.map_or(MIN_GRACE, |t| t.grace.min(MIN_GRACE));
                w.terminating = Some(Terminating {
                    grace,
                    since: now,
                    api_gone: true,
                });
                self.sync_pod(ctx, &uid);
            }
            return;
        }
        if let Some(w) = self.pods.get_mut(&uid) {
            w.set_pod(n.object().clone());
            if w.api_status_differs() {
                self.status_reconcile.insert(uid.clone());
                self.arm_status_reconcile(ctx);
            }
            self.sync_pod(ctx, &uid);
            return;
        }
        if self.pods.len() >= MAX_WORKERS {
            return;
        }
        let mut w = Box::new(PodWorker::new(n.object().clone(), false));
        if let Some(status) = &pod.status {
            w.adopt_previous_instances(status, ctx.now());
        }
        if !w.finished_before && pod.metadata.deletion_timestamp.is_none() {
            let running: Vec<&Pod> = self
                .pods
                .values()
                .filter(|o| o.admission.is_ok() && !o.is_finished() && !o.terminated)
                .map(|o| o.pod())
                .collect();
            w.admission = admit(&self.cfg, &self.node, pod, running.into_iter());
            if let Err((reason, message)) = &w.admission {
                klog::info(
                    ctx,
                    "predicate.go:212",
                    "Predicate failed on Pod",
                    &[
                        ("pod", key.as_str()),
                        ("err", message.as_str()),
                        ("reason", reason.as_str()),
                    ],
                );
            }
        }
        self.by_key.insert(key, uid.clone());
        self.pods.insert(uid.clone(), w);
        self.sync_pod(ctx, &uid);
    }

    fn forget(&mut self, ctx: &mut Ctx<'_, M>, uid: &str) {
        let Some(w) = self.pods.remove(uid) else {
            return;
        };
        if let Some(t) = w.wake_at {
            self.wakes.remove(&(t, uid.to_string()));
        }
        if let Some((sandbox_id, _)) = &w.sandbox {
            self.call(
                ctx,
                uid,
                Purpose::RemoveSandbox,
                RuntimeCall::RemovePodSandbox {
                    sandbox_id: sandbox_id.clone(),
                },
            );
        }
        for c in w.containers() {
            for id in c.id.iter().chain(c.dead.iter()) {
                self.container_owner.remove(id);
            }
        }
        if self.by_key.get(&w.key()).is_some_and(|u| u == uid) {
            self.by_key.remove(&w.key());
        }
        self.status_queue.remove(uid);
        self.crash_backoff.remove_prefix(&format!("{uid}/"));
        self.image_backoff.remove_prefix(&format!("{uid}/"));
    }

    // ---- the pod sync --------------------------------------------------------------------

    fn schedule_wake(&mut self, uid: &str) {
        if let Some(w) = self.pods.get(uid)
            && let Some(t) = w.wake_at
        {
            self.wakes.insert((t, uid.to_string()));
        }
    }

    /// Runs one sync of pod `uid`: the next runtime calls, then its status.
    fn sync_pod(&mut self, ctx: &mut Ctx<'_, M>, uid: &str) {
        let Some((mut uid, mut w)) = self.pods.remove_entry(uid) else {
            return;
        };
        self.stats.syncs += 1;
        if let Some(t) = w.wake_at.take() {
            // The worker's key is ours until it goes back: lent to the look-up, not copied.
            let key = (t, uid);
            self.wakes.remove(&key);
            uid = key.1;
        }
        let now = ctx.now();
        if w.start_time.is_none() && w.admission.is_ok() && !w.finished_before {
            w.start_time = Some(now);
        }
        if w.terminating.is_none()
            && !w.is_static
            && let Some(grace) = deletion_grace(w.pod())
        {
            w.terminating = Some(Terminating {
                grace,
                since: now,
                api_gone: false,
            });
        }
        if w.is_static {
            self.ensure_mirror(ctx, &mut w);
        }
        if w.terminating.is_some() {
            self.sync_terminating(ctx, &mut w);
        } else if w.admission.is_ok() && !w.finished_before {
            self.sync_running(ctx, &mut w);
        }
        let remove = w.terminated && w.terminating.is_some_and(|t| t.api_gone);
        self.update_status(&mut w, now);
        self.pods.insert(uid.clone(), w);
        if remove {
            self.forget(ctx, &uid);
        } else {
            self.schedule_wake(&uid);
        }
        self.flush_status(ctx);
        self.rearm(ctx);
    }

    fn ensure_mirror(&mut self, ctx: &mut Ctx<'_, M>, w: &mut PodWorker) {
        if w.mirror_uid.is_some()
            || w.mirror_create_in_flight
            || !self.registered
            || !self.informer.has_synced()
        {
            return;
        }
        if let Some(at) = w.mirror_retry_at {
            if ctx.now() < at {
                w.wake(at);
                return;
            }
            w.mirror_retry_at = None;
        }
        w.mirror_create_in_flight = true;
        let mirror = mirror_of(w.pod(), &self.cfg.node_name, &self.node_uid);
        self.api(
            ctx,
            ApiOp::MirrorCreate { uid: w.uid.clone() },
            Self::request(
                Kind::Pod,
                &w.namespace,
                "",
                Verb::Create(Arc::new(Object::from(mirror))),
            ),
        );
    }

    fn sync_running(&mut self, ctx: &mut Ctx<'_, M>, w: &mut PodWorker) {
        let now = ctx.now();
        if w.is_finished() {
            self.stop_sandbox(ctx, w);
            return;
        }
        // Volumes and env sources must exist before anything starts.
        match &w.config {
            ConfigCheck::Unchecked => {
                self.check_config(ctx, w);
                if !matches!(w.config, ConfigCheck::Done { .. }) {
                    return;
                }
            }
            ConfigCheck::Checking { .. } => return,
            ConfigCheck::Done { recheck_at, .. } => {
                if recheck_at.is_some_and(|t| t <= now) {
                    self.check_config(ctx, w);
                    if !matches!(w.config, ConfigCheck::Done { .. }) {
                        return;
                    }
                }
            }
        }
        if let ConfigCheck::Done {
            volumes,
            recheck_at,
            ..
        } = w.config.clone()
        {
            if let Some(t) = recheck_at {
                w.wake(t);
            }
            if !volumes.is_empty() {
                for (volume, why) in volumes {
                    self.event(
                        ctx,
                        w,
                        None,
                        WARNING,
                        "FailedMount",
                        format!("MountVolume.SetUp failed for volume \"{volume}\" : {why}"),
                    );
                }
                return;
            }
        }
        if w.sandbox.is_none() {
            if !w.sandbox_op {
                w.sandbox_op = true;
                let call = RuntimeCall::RunPodSandbox {
                    pod_uid: w.uid.clone(),
                    namespace: w.namespace.clone(),
                    name: w.name.clone(),
                    attempt: w.sandbox_attempt,
                    host_network: w.host_network(),
                };
                let uid = w.uid.clone();
                self.call(ctx, &uid, Purpose::Sandbox, call);
            }
            return;
        }
        // Init containers one at a time, in order.
        for i in 0..w.init.len() {
            if w.init[i].succeeded() {
                continue;
            }
            self.advance(ctx, w, true, i);
            return;
        }
        for i in 0..w.app.len() {
            self.advance(ctx, w, false, i);
        }
        self.run_probes(ctx, w);
    }

    /// Moves one container towards running: restart decision with back-off, then the image,
    /// create and start calls.
    fn advance(&mut self, ctx: &mut Ctx<'_, M>, w: &mut PodWorker, init: bool, i: usize) {
        let now = ctx.now();
        let policy = w.restart_policy().to_string();
        let (pod_name, ns, uid) = (w.name.clone(), w.namespace.clone(), w.uid.clone());
        let Some(c) = w.container_mut(init, i) else {
            return;
        };
        if c.op.is_some() || c.is_running() {
            return;
        }
        let pending_restart = match &c.state {
            CState::Terminated(t) if c.wants_restart(&policy) => Some(t.clone()),
            CState::Terminated(_) => return,
            CState::Waiting { reason, .. } if reason == "CrashLoopBackOff" => {
                c.last_terminated.clone()
            }
            CState::Waiting { .. } | CState::Running { .. } => None,
        };
        if let Some(t) = pending_restart {
            let key = format!("{uid}/{}", c.name);
            if let Some(until) = self
                .crash_backoff
                .in_backoff_since(&key, t.finished_at, now)
            {
                let delay = self.crash_backoff.get(&key).unwrap_or_default();
                let first = !matches!(&c.state, CState::Waiting { reason, .. } if reason == "CrashLoopBackOff");
                c.last_terminated = Some(t);
                c.state = CState::Waiting {
                    reason: "CrashLoopBackOff".into(),
                    message: Some(format!(
                        "back-off {} restarting failed container={} pod={pod_name}_{ns}({uid})",
                        human(delay),
                        c.name
                    )),
                };
                let name = c.name.clone();
                w.wake(until);
                if first {
                    self.event(
                        ctx,
                        w,
                        Some((&name, init)),
                        WARNING,
                        "BackOff",
                        format!("Back-off restarting failed container {name} in pod {pod_name}_{ns}({uid})"),
                    );
                }
                return;
            }
            self.crash_backoff.next(&key, t.finished_at, now);
            c.last_terminated = Some(t);
        } else if let Some(t) = c.retry_at.filter(|t| now < *t) {
            w.wake(t);
            return;
        }
        self.start_chain(ctx, w, init, i);
    }

    /// The container waits with `reason`; with `retry_at`, nothing is tried for it before then.
    fn set_waiting(
        w: &mut PodWorker,
        init: bool,
        i: usize,
        reason: &str,
        message: Option<String>,
        retry_at: Option<Time>,
    ) {
        if let Some(c) = w.container_mut(init, i) {
            c.op = None;
            c.retry_at = retry_at;
            c.state = CState::Waiting {
                reason: reason.into(),
                message,
            };
        }
        if let Some(t) = retry_at {
            w.wake(t);
        }
    }

    fn start_chain(&mut self, ctx: &mut Ctx<'_, M>, w: &mut PodWorker, init: bool, i: usize) {
        let now = ctx.now();
        let Some(c) = w.container_mut(init, i) else {
            return;
        };
        let name = c.name.clone();
        let env_error = match &w.config {
            ConfigCheck::Done { env, .. } => env.get(&name).cloned(),
            _ => None,
        };
        if let Some(msg) = env_error {
            Self::set_waiting(
                w,
                init,
                i,
                "CreateContainerConfigError",
                Some(msg.clone()),
                Some(now.saturating_add(RETRY_AFTER)),
            );
            self.event(
                ctx,
                w,
                Some((&name, init)),
                WARNING,
                "Failed",
                format!("Error: {msg}"),
            );
            return;
        }
        let Some(c) = w.container_mut(init, i) else {
            return;
        };
        let image = c.image.clone();
        if c.pull_policy == "Always" {
            self.pull(ctx, w, init, i);
        } else {
            c.op = Some(Op::ImageStatus);
            let uid = w.uid.clone();
            self.call(
                ctx,
                &uid,
                Purpose::Container {
                    init,
                    index: i,
                    op: Op::ImageStatus,
                },
                RuntimeCall::ImageStatus { image },
            );
        }
    }

    fn pull(&mut self, ctx: &mut Ctx<'_, M>, w: &mut PodWorker, init: bool, i: usize) {
        let now = ctx.now();
        let uid = w.uid.clone();
        let Some(c) = w.container_mut(init, i) else {
            return;
        };
        let (name, image) = (c.name.clone(), c.image.clone());
        let key = format!("{uid}/{image}");
        if let Some(until) = self.image_backoff.in_backoff_since_update(&key, now) {
            let msg = format!("Back-off pulling image \"{image}\"");
            Self::set_waiting(
                w,
                init,
                i,
                "ImagePullBackOff",
                Some(msg.clone()),
                Some(until),
            );
            self.event(ctx, w, Some((&name, init)), NORMAL, "BackOff", msg);
            return;
        }
        c.op = Some(Op::Pull);
        self.event(
            ctx,
            w,
            Some((&name, init)),
            NORMAL,
            "Pulling",
            format!("Pulling image \"{image}\""),
        );
        self.call(
            ctx,
            &uid,
            Purpose::Container {
                init,
                index: i,
                op: Op::Pull,
            },
            RuntimeCall::PullImage { image },
        );
    }

    fn create(&mut self, ctx: &mut Ctx<'_, M>, w: &mut PodWorker, init: bool, i: usize) {
        let Some((sandbox_id, _)) = w.sandbox.clone() else {
            Self::set_waiting(w, init, i, "ContainerCreating", None, None);
            return;
        };
        let uid = w.uid.clone();
        let Some(c) = w.container_mut(init, i) else {
            return;
        };
        c.op = Some(Op::Create);
        let attempt = u32::try_from(c.restart_count).unwrap_or(0) + u32::from(c.id.is_some());
        let call = RuntimeCall::CreateContainer {
            sandbox_id,
            name: c.name.clone(),
            image: c.image.clone(),
            attempt,
        };
        self.call(
            ctx,
            &uid,
            Purpose::Container {
                init,
                index: i,
                op: Op::Create,
            },
            call,
        );
    }

    fn run_probes(&mut self, ctx: &mut Ctx<'_, M>, w: &mut PodWorker) {
        let now = ctx.now();
        let uid = w.uid.clone();
        let mut calls = Vec::new();
        for (i, c) in w.app.iter_mut().enumerate() {
            if !c.is_running() || c.op.is_some() {
                continue;
            }
            let Some(id) = c.id.clone() else { continue };
            let started = c.startup.as_ref().is_none_or(|p| p.result == Some(true));
            let mut next: Option<Time> = None;
            for p in c.probes_mut() {
                if p.kind != ProbeKind::Startup && !started {
                    continue;
                }
                if p.due(now) {
                    p.in_flight = true;
                    calls.push((i, p.kind, id.clone()));
                } else if let Some(t) = p.next_at.filter(|_| !p.in_flight) {
                    next = Some(next.map_or(t, |n: Time| n.min(t)));
                }
            }
            if let Some(t) = next {
                w.wake_at = Some(w.wake_at.map_or(t, |x| x.min(t)));
            }
        }
        for (index, kind, container_id) in calls {
            self.call(
                ctx,
                &uid,
                Purpose::Probe { index, kind },
                RuntimeCall::Probe {
                    container_id,
                    probe: kind,
                },
            );
        }
    }

    fn stop_sandbox(&mut self, ctx: &mut Ctx<'_, M>, w: &mut PodWorker) {
        if w.sandbox_stopped || w.sandbox_op {
            return;
        }
        let Some((sandbox_id, _)) = w.sandbox.clone() else {
            return;
        };
        if w.containers().any(|c| c.op.is_some()) {
            return;
        }
        w.sandbox_op = true;
        let uid = w.uid.clone();
        self.call(
            ctx,
            &uid,
            Purpose::StopSandbox,
            RuntimeCall::StopPodSandbox { sandbox_id },
        );
    }

    fn sync_terminating(&mut self, ctx: &mut Ctx<'_, M>, w: &mut PodWorker) {
        let Some(t) = w.terminating else { return };
        let now = ctx.now();
        let remaining = t.grace.saturating_sub(now.saturating_since(t.since));
        let uid = w.uid.clone();
        let mut stops = Vec::new();
        for (init, cs) in [(true, &mut w.init), (false, &mut w.app)] {
            for (i, c) in cs.iter_mut().enumerate() {
                // Image work is abandoned; creates and starts finish first.
                if matches!(c.op, Some(Op::ImageStatus | Op::Pull)) {
                    c.op = None;
                }
                for p in c.probes_mut() {
                    p.stop();
                }
                if c.is_running() && c.op.is_none() {
                    c.op = Some(Op::Stop);
                    stops.push((init, i, c.name.clone(), c.id.clone().unwrap_or_default()));
                }
            }
        }
        for (init, index, name, container_id) in stops {
            self.event(
                ctx,
                w,
                Some((&name, init)),
                NORMAL,
                "Killing",
                format!("Stopping container {name}"),
            );
            log_kill(ctx, w, &name, &container_id, remaining);
            self.call(
                ctx,
                &uid,
                Purpose::Container {
                    init,
                    index,
                    op: Op::Stop,
                },
                RuntimeCall::StopContainer {
                    container_id,
                    timeout: remaining,
                },
            );
        }
        if w.containers().any(|c| c.op.is_some() || c.is_running()) {
            return;
        }
        if w.sandbox.is_some() && !w.sandbox_stopped {
            self.stop_sandbox(ctx, w);
            return;
        }
        if w.sandbox_op {
            return;
        }
        w.terminated = true;
        // Deleted with grace 0 once the final status is written (the status manager's
        // `canBeDeleted`).
        let written = !w.status_in_flight
            && !w.status_unwritten()
            && w.last_status()
                .and_then(|s| s.phase.as_deref())
                .is_some_and(|p| p == "Succeeded" || p == "Failed");
        if written && !w.delete_sent && !t.api_gone && !w.is_static {
            w.delete_sent = true;
            let req = Self::request(
                Kind::Pod,
                &w.namespace,
                &w.name,
                Verb::Delete(DeleteOptions {
                    grace_period_seconds: Some(0),
                    preconditions: Some(Preconditions {
                        uid: Some(w.uid.clone()),
                        resource_version: None,
                    }),
                    ..Default::default()
                }),
            );
            self.api(ctx, ApiOp::PodDelete { uid }, req);
        }
    }

    fn update_status(&mut self, w: &mut PodWorker, now: Time) {
        if w.is_static && w.mirror_uid.is_none() {
            return;
        }
        let node_ip = self.cfg.node_ip;
        if !w
            .status_inputs
            .as_ref()
            .is_some_and(|i| i.unchanged(w, node_ip))
        {
            let st = pod_status(w, node_ip, now);
            w.set_last_status(st);
            w.status_inputs = Some(StatusInputs::of(w, node_ip));
        } else {
            debug_assert!(
                w.last_status() == Some(&pod_status(w, node_ip, now)),
                "pod {} skipped its status build with inputs that change the status",
                w.uid
            );
        }
        if w.status_unwritten() {
            if w.status_in_flight {
                w.status_pending = true;
            } else {
                self.status_queue.insert(w.uid.clone());
            }
        }
    }

    fn arm_status_reconcile(&mut self, ctx: &mut Ctx<'_, M>) {
        if !self.status_reconcile_armed && !self.status_reconcile.is_empty() {
            self.status_reconcile_armed = true;
            ctx.set_timer(STATUS_SYNC_PERIOD, TAG_STATUS_RECONCILE);
        }
    }

    /// The status manager's `syncBatch` reconcile: a pod whose API status another writer
    /// changed (the node lifecycle controller marks a NotReady node's pods not Ready) gets
    /// the kubelet's status written again (`needsReconcile`). Upstream checks every pod each
    /// 10 s; here only the pods seen to differ, 10 s after the first of them.
    fn reconcile_statuses(&mut self, ctx: &mut Ctx<'_, M>) {
        self.status_reconcile_armed = false;
        for uid in std::mem::take(&mut self.status_reconcile) {
            if let Some(w) = self.pods.get_mut(&uid)
                && w.api_status_differs()
            {
                w.forget_status_written();
                self.status_queue.insert(uid);
            }
        }
        self.flush_status(ctx);
    }

    /// Sends queued status writes as the token bucket allows.
    fn flush_status(&mut self, ctx: &mut Ctx<'_, M>) {
        let now = ctx.now();
        if let Some((at, uid)) = self.status_delayed.clone() {
            if at > now {
                return;
            }
            self.status_delayed = None;
            self.write_status(ctx, &uid);
        }
        while let Some(uid) = self.status_queue.pop_first() {
            let wait = self.limiter.reserve(now);
            if wait > Duration::ZERO {
                self.status_delayed = Some((now.saturating_add(wait), uid));
                ctx.set_timer(wait, TAG_STATUS_WRITES);
                return;
            }
            self.write_status(ctx, &uid);
        }
    }

    fn write_status(&mut self, ctx: &mut Ctx<'_, M>, uid: &str) {
        let Some(w) = self.pods.get_mut(uid) else {
            return;
        };
        if w.status_in_flight {
            w.status_pending = true;
            return;
        }
        if !w.status_unwritten() {
            return;
        }
        let Some(status) = w.last_status() else {
            return;
        };
        let target_uid = if w.is_static {
            match &w.mirror_uid {
                Some(u) => u.clone(),
                None => return,
            }
        } else {
            w.uid.clone()
        };
        // Built as a map: `json!` would serialize the status's `Value` again, a deep copy.
        let mut metadata = serde_json::Map::new();
        metadata.insert("uid".to_string(), serde_json::Value::String(target_uid));
        let mut patch = serde_json::Map::new();
        patch.insert("metadata".to_string(), serde_json::Value::Object(metadata));
        patch.insert(
            "status".to_string(),
            serde_json::to_value(status).unwrap_or_default(),
        );
        let patch = serde_json::Value::Object(patch);
        w.status_in_flight = true;
        w.mark_written();
        let (ns, name) = (w.namespace.clone(), w.name.clone());
        self.stats.status_writes += 1;
        self.api(
            ctx,
            ApiOp::PodStatus {
                uid: uid.to_string(),
            },
            Self::request(
                Kind::Pod,
                &ns,
                &name,
                Verb::Patch {
                    patch_type: PatchType::Merge,
                    patch: Arc::new(patch),
                },
            )
            .subresource(Subresource::Status),
        );
    }

    // ---- ConfigMaps and Secrets -----------------------------------------------------------

    fn check_config(&mut self, ctx: &mut Ctx<'_, M>, w: &mut PodWorker) {
        let refs = crate::config_refs::refs(w.pod());
        if refs.is_empty() {
            w.config = ConfigCheck::Done {
                volumes: BTreeMap::new(),
                env: BTreeMap::new(),
                recheck_at: None,
            };
            return;
        }
        let objects: BTreeSet<(Kind, String)> =
            refs.iter().map(|r| (r.kind, r.name.clone())).collect();
        w.config = ConfigCheck::Checking {
            pending: objects.len(),
        };
        w.pending_config.clear();
        for (kind, name) in objects {
            self.api(
                ctx,
                ApiOp::ConfigGet {
                    uid: w.uid.clone(),
                    kind,
                    name: name.clone(),
                },
                Self::request(kind, &w.namespace, &name, Verb::Get(GetOptions::default())),
            );
        }
    }

    fn on_config_result(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        uid: &str,
        kind: Kind,
        name: &str,
        object: Option<api::SharedObject>,
        reason: Option<StatusReason>,
    ) {
        let Some(w) = self.pods.get_mut(uid) else {
            return;
        };
        let ConfigCheck::Checking { pending } = &mut w.config else {
            return;
        };
        *pending = pending.saturating_sub(1);
        let done = *pending == 0;
        let found = match object {
            Some(o) => crate::config_refs::Found::Object(o),
            None if reason == Some(StatusReason::NotFound) => crate::config_refs::Found::Missing,
            None => crate::config_refs::Found::Unknown,
        };
        w.pending_config.insert((kind, name.to_string()), found);
        if !done {
            return;
        }
        let results = std::mem::take(&mut w.pending_config);
        let (volumes, env) = crate::config_refs::evaluate(w.pod(), &results);
        let recheck_at =
            (!volumes.is_empty() || !env.is_empty()).then(|| ctx.now().saturating_add(RETRY_AFTER));
        w.config = ConfigCheck::Done {
            volumes,
            env,
            recheck_at,
        };
        self.sync_pod(ctx, uid);
    }

    // ---- the runtime's answers -----------------------------------------------------------

    fn on_runtime(&mut self, ctx: &mut Ctx<'_, M>, msg: RuntimeMessage) {
        match msg {
            RuntimeMessage::Reply { id, result } => {
                let Some(call) = self.calls.remove(&id) else {
                    return;
                };
                let uid = call.uid.clone();
                let Some(mut w) = self.pods.remove(&uid) else {
                    return;
                };
                self.on_reply(ctx, &mut w, call.purpose, result);
                self.pods.insert(uid.clone(), w);
                self.sync_pod(ctx, &uid);
            }
            RuntimeMessage::Event(ContainerEvent::Exited {
                container_id,
                exit_code,
                cause,
                started_at,
                finished_at,
                ..
            }) => {
                let Some(uid) = self.container_owner.get(&container_id).cloned() else {
                    return;
                };
                let Some(w) = self.pods.get_mut(&uid) else {
                    return;
                };
                let Some((init, i)) = w.find_container(&container_id) else {
                    return;
                };
                let Some(c) = w.container_mut(init, i) else {
                    return;
                };
                for p in c.probes_mut() {
                    p.stop();
                }
                let reason = match (exit_code, cause) {
                    (0, _) => "Completed",
                    _ => "Error",
                };
                c.state = CState::Terminated(Terminated {
                    exit_code,
                    reason: reason.into(),
                    started_at,
                    finished_at,
                    container_id: container_id.clone(),
                });
                let _ = ExitCause::Exited;
                self.sync_pod(ctx, &uid);
            }
            RuntimeMessage::Call { .. } | RuntimeMessage::ProcessExited(_) => {}
        }
    }

    fn on_reply(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        w: &mut PodWorker,
        purpose: Purpose,
        result: Result<RuntimeReply, RuntimeError>,
    ) {
        let now = ctx.now();
        match purpose {
            Purpose::Sandbox => {
                w.sandbox_op = false;
                match result {
                    Ok(RuntimeReply::SandboxReady { sandbox_id, ip }) => {
                        if w.terminating.is_some() || w.is_finished() {
                            // Raced with a delete: the new sandbox is torn down by the
                            // termination path.
                            w.sandbox = Some((sandbox_id, ip));
                            return;
                        }
                        w.sandbox = Some((sandbox_id, ip));
                        w.sandbox_stopped = false;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        self.event(
                            ctx,
                            w,
                            None,
                            WARNING,
                            "FailedCreatePodSandBox",
                            format!("Failed to create pod sandbox: {e}"),
                        );
                        w.wake(now.saturating_add(RETRY_AFTER));
                    }
                }
            }
            Purpose::StopSandbox => {
                w.sandbox_op = false;
                w.sandbox_stopped = true;
            }
            Purpose::RemoveSandbox | Purpose::RemoveContainer => {}
            Purpose::Probe { index, kind } => {
                let Some(c) = w.app.get_mut(index) else {
                    return;
                };
                let Some(p) = c.probe_mut(kind) else { return };
                let (success, output) = match result {
                    Ok(RuntimeReply::Probed { success, output }) => (success, output),
                    _ => {
                        p.in_flight = false;
                        return;
                    }
                };
                if !p.in_flight {
                    return;
                }
                let verdict = p.record(success, now);
                let name = c.name.clone();
                if kind == ProbeKind::Startup && verdict == Verdict::Passed {
                    let started = match c.state {
                        CState::Running { started_at } => started_at,
                        _ => now,
                    };
                    for p in [&mut c.liveness, &mut c.readiness].into_iter().flatten() {
                        p.container_started(started);
                        if p.next_at.is_some_and(|t| t < now) {
                            p.next_at = Some(now);
                        }
                    }
                }
                if !success {
                    let (pod, pod_uid) = (w.key(), w.uid.clone());
                    klog::info(
                        ctx,
                        "prober.go:107",
                        "Probe failed",
                        &[
                            ("probeType", kind.as_str()),
                            ("pod", pod.as_str()),
                            ("podUID", pod_uid.as_str()),
                            ("containerName", name.as_str()),
                            ("probeResult", "failure"),
                            ("output", output.as_str()),
                        ],
                    );
                    self.event(
                        ctx,
                        w,
                        Some((&name, false)),
                        WARNING,
                        "Unhealthy",
                        format!("{} probe failed: {output}", kind.as_str()),
                    );
                }
                if verdict == Verdict::Failed && kind != ProbeKind::Readiness {
                    self.kill_unhealthy(ctx, w, index, kind);
                }
            }
            Purpose::Container { init, index, op } => {
                let Some(c) = w.container_mut(init, index) else {
                    return;
                };
                if c.op != Some(op) {
                    return;
                }
                c.op = None;
                self.on_container_reply(ctx, w, init, index, op, result);
            }
        }
    }

    fn kill_unhealthy(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        w: &mut PodWorker,
        index: usize,
        kind: ProbeKind,
    ) {
        let grace = w.grace_period();
        let uid = w.uid.clone();
        let Some(c) = w.app.get_mut(index) else {
            return;
        };
        if !c.is_running() || c.op.is_some() {
            return;
        }
        let Some(container_id) = c.id.clone() else {
            return;
        };
        c.op = Some(Op::Stop);
        c.killed_unhealthy = true;
        let name = c.name.clone();
        self.event(
            ctx,
            w,
            Some((&name, false)),
            NORMAL,
            "Killing",
            format!(
                "Container {name} failed {} probe, will be restarted",
                kind.as_str().to_lowercase()
            ),
        );
        log_kill(ctx, w, &name, &container_id, grace);
        self.call(
            ctx,
            &uid,
            Purpose::Container {
                init: false,
                index,
                op: Op::Stop,
            },
            RuntimeCall::StopContainer {
                container_id,
                timeout: grace,
            },
        );
    }

    fn on_container_reply(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        w: &mut PodWorker,
        init: bool,
        i: usize,
        op: Op,
        result: Result<RuntimeReply, RuntimeError>,
    ) {
        let now = ctx.now();
        let uid = w.uid.clone();
        let terminating = w.terminating.is_some();
        let Some(c) = w.container_mut(init, i) else {
            return;
        };
        let (name, image, policy) = (c.name.clone(), c.image.clone(), c.pull_policy.clone());
        match (op, result) {
            (Op::Stop, Ok(RuntimeReply::ContainerStopped { exit_code })) => {
                // The reply may come before the exit event: the process is gone either way.
                if let CState::Running { started_at } = c.state {
                    c.state = CState::Terminated(Terminated {
                        exit_code,
                        reason: if exit_code == 0 { "Completed" } else { "Error" }.into(),
                        started_at,
                        finished_at: now,
                        container_id: c.id.clone().unwrap_or_default(),
                    });
                    for p in c.probes_mut() {
                        p.stop();
                    }
                }
            }
            (Op::Stop, _) => {}
            (_, _) if terminating && op != Op::Start && op != Op::Create => {}
            (Op::ImageStatus, Ok(RuntimeReply::ImageStatus { image_id: Some(id) })) => {
                c.image_id = Some(id);
                self.event(
                    ctx,
                    w,
                    Some((&name, init)),
                    NORMAL,
                    "Pulled",
                    format!("Container image \"{image}\" already present on machine"),
                );
                self.create(ctx, w, init, i);
            }
            (Op::ImageStatus, Ok(_)) if policy == "Never" => {
                let msg =
                    format!("Container image \"{image}\" is not present with pull policy of Never");
                Self::set_waiting(
                    w,
                    init,
                    i,
                    "ErrImageNeverPull",
                    Some(msg.clone()),
                    Some(now.saturating_add(RETRY_AFTER)),
                );
                self.event(
                    ctx,
                    w,
                    Some((&name, init)),
                    WARNING,
                    "ErrImageNeverPull",
                    msg,
                );
            }
            (Op::ImageStatus, Ok(_)) => self.pull(ctx, w, init, i),
            (
                Op::Pull,
                Ok(RuntimeReply::Pulled {
                    image_id,
                    size_bytes,
                    took,
                }),
            ) => {
                c.image_id = Some(image_id);
                self.event(
                    ctx,
                    w,
                    Some((&name, init)),
                    NORMAL,
                    "Pulled",
                    format!(
                        "Successfully pulled image \"{image}\" in {} ({} including waiting). Image size: {size_bytes} bytes.",
                        secs_f(took),
                        secs_f(took)
                    ),
                );
                self.create(ctx, w, init, i);
            }
            (Op::Pull, Err(e)) => {
                let key = format!("{uid}/{image}");
                self.image_backoff.next(&key, now, now);
                let msg = format!("Failed to pull image \"{image}\": {e}");
                // The next sync (upstream: the pod worker's requeue after the error) shows the
                // back-off, and waits for its end.
                Self::set_waiting(
                    w,
                    init,
                    i,
                    "ErrImagePull",
                    Some(msg.clone()),
                    Some(now.saturating_add(Duration::from_secs(1))),
                );
                self.event(ctx, w, Some((&name, init)), WARNING, "Failed", msg);
                self.event(
                    ctx,
                    w,
                    Some((&name, init)),
                    WARNING,
                    "Failed",
                    "Error: ErrImagePull".into(),
                );
            }
            (Op::Create, Ok(RuntimeReply::ContainerCreated { container_id })) => {
                if let Some(prev) = c.id.take() {
                    c.dead.push(prev);
                    c.restart_count += 1;
                }
                c.id = Some(container_id.clone());
                c.op = Some(Op::Start);
                self.container_owner
                    .insert(container_id.clone(), uid.clone());
                self.event(
                    ctx,
                    w,
                    Some((&name, init)),
                    NORMAL,
                    "Created",
                    format!("Created container: {name}"),
                );
                self.call(
                    ctx,
                    &uid,
                    Purpose::Container {
                        init,
                        index: i,
                        op: Op::Start,
                    },
                    RuntimeCall::StartContainer { container_id },
                );
            }
            (Op::Start, Ok(RuntimeReply::ContainerStarted { started_at })) => {
                c.state = CState::Running { started_at };
                c.killed_unhealthy = false;
                let startup = c.startup.is_some();
                for p in c.probes_mut() {
                    if p.kind == ProbeKind::Startup || !startup {
                        p.container_started(started_at);
                    } else {
                        p.stop();
                        p.result = None;
                    }
                }
                // Container GC keeps the newest dead instance of each container.
                let extra: Vec<String> = if c.dead.len() > 1 {
                    c.dead.drain(..c.dead.len() - 1).collect()
                } else {
                    Vec::new()
                };
                for id in extra {
                    self.container_owner.remove(&id);
                    self.call(
                        ctx,
                        &uid,
                        Purpose::RemoveContainer,
                        RuntimeCall::RemoveContainer { container_id: id },
                    );
                }
                self.event(
                    ctx,
                    w,
                    Some((&name, init)),
                    NORMAL,
                    "Started",
                    format!("Started container {name}"),
                );
            }
            (op, result) => {
                let msg = match result {
                    Err(e) => e.to_string(),
                    Ok(r) => format!("unexpected runtime answer {r:?}"),
                };
                let reason = if op == Op::Start {
                    "RunContainerError"
                } else {
                    "CreateContainerError"
                };
                Self::set_waiting(
                    w,
                    init,
                    i,
                    reason,
                    Some(msg.clone()),
                    Some(now.saturating_add(RETRY_AFTER)),
                );
                self.event(
                    ctx,
                    w,
                    Some((&name, init)),
                    WARNING,
                    "Failed",
                    format!("Error: {msg}"),
                );
            }
        }
    }

    fn handle_client_events(&mut self, ctx: &mut Ctx<'_, M>, events: Vec<ClientEvent>) {
        for ev in events {
            if let Some(ns) = self.informer.on_client_event(ctx, &mut self.client, &ev) {
                let synced_now = self.informer.has_synced();
                for n in ns {
                    self.on_notification(ctx, n);
                }
                if synced_now {
                    self.sync_static(ctx);
                }
                continue;
            }
            if let Some(ns) = self
                .node_informer
                .on_client_event(ctx, &mut self.client, &ev)
            {
                self.on_node_notifications(&ns);
                continue;
            }
            if let ClientEvent::Response { id, result } = ev
                && let Some(op) = self.api_ops.remove(&id)
            {
                self.on_api_result(ctx, op, result);
            }
        }
    }

    fn sync_static(&mut self, ctx: &mut Ctx<'_, M>) {
        // Static pods come only from the configuration, at start: a worker node has none, and
        // this runs after every informer event.
        if self.cfg.static_pods.is_empty() {
            return;
        }
        let uids: Vec<String> = self
            .pods
            .values()
            .filter(|w| w.is_static && w.mirror_uid.is_none() && !w.mirror_create_in_flight)
            .map(|w| w.uid.clone())
            .collect();
        for uid in uids {
            self.sync_pod(ctx, &uid);
        }
    }
}

/// The grace period of a pod marked for deletion, if it is.
fn deletion_grace(pod: &Pod) -> Option<Duration> {
    pod.metadata.deletion_timestamp.as_ref()?;
    let secs = pod
        .metadata
        .deletion_grace_period_seconds
        .or_else(|| {
            pod.spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds)
        })
        .unwrap_or(api::defaults::core::TERMINATION_GRACE_PERIOD_SECONDS);
    Some(Duration::from_secs(u64::try_from(secs.max(0)).unwrap_or(0)))
}

/// `kuberuntime_container.go`'s line when it stops a container (SIGTERM, then SIGKILL once
/// `grace` has passed).
fn log_kill<M: sim::Message>(
    ctx: &mut Ctx<'_, M>,
    w: &PodWorker,
    container: &str,
    container_id: &str,
    grace: Duration,
) {
    let pod = w.key();
    let id = format!("containerd://{container_id}");
    let grace = format!("{}", grace.as_secs_f64().round());
    klog::info(
        ctx,
        "kuberuntime_container.go:808",
        "Killing container with a grace period",
        &[
            ("pod", pod.as_str()),
            ("podUID", w.uid.as_str()),
            ("containerName", container),
            ("containerID", id.as_str()),
            ("gracePeriod", grace.as_str()),
        ],
    );
}

impl<M: ApiEnvelope + RuntimeEnvelope> Actor<M> for Kubelet<M> {
    fn on_start(&mut self, ctx: &mut Ctx<'_, M>) {
        klog::info(
            ctx,
            "server.go:530",
            "Kubelet version",
            &[("kubeletVersion", crate::config::KUBERNETES_VERSION)],
        );
        klog::info(
            ctx,
            "kubelet.go:2450",
            "Starting kubelet main sync loop",
            &[],
        );
        self.informer.start(ctx, &mut self.client);
        self.node_informer.start(ctx, &mut self.client);
        self.register(ctx);
        ctx.set_timer(self.cfg.node_status_update_frequency, TAG_NODE_STATUS);
        let renew = self.cfg.lease_renew_interval();
        ctx.set_timer(renew, TAG_LEASE);
        let statics = self.cfg.static_pods.clone();
        for pod in statics {
            let w = Box::new(PodWorker::new(Arc::new(Object::from(pod)), true));
            let uid = w.uid.clone();
            self.by_key.insert(w.key(), uid.clone());
            self.pods.insert(uid.clone(), w);
            self.sync_pod(ctx, &uid);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, M>, _from: ActorId, msg: M) {
        match msg.unwrap_runtime() {
            Ok(m) => self.on_runtime(ctx, m),
            Err(other) => {
                // An API answer sent as a datagram (not used by ApiClient, which streams).
                let _ = other;
            }
        }
    }

    fn on_stream_message(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        stream: StreamId,
        _from: ActorId,
        msg: M,
    ) {
        let Ok(m) = msg.unwrap_api() else { return };
        let events = self.client.on_message(ctx, stream, m);
        self.handle_client_events(ctx, events);
    }

    fn on_stream_closed(&mut self, ctx: &mut Ctx<'_, M>, stream: StreamId, _why: StreamClose) {
        let events = self.client.on_stream_closed(ctx, stream);
        self.handle_client_events(ctx, events);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, M>, tag: u64) {
        if is_api_client_timer(tag) {
            let events = self.client.on_timer(ctx, tag);
            self.handle_client_events(ctx, events);
            return;
        }
        match tag {
            TAG_INFORMER => {
                let ns = self.informer.on_timer(ctx, &mut self.client);
                for n in ns {
                    self.on_notification(ctx, n);
                }
            }
            TAG_NODE_INFORMER => {
                let ns = self.node_informer.on_timer(ctx, &mut self.client);
                self.on_node_notifications(&ns);
            }
            TAG_WAKE => {
                self.wakeup.fired();
                let now = ctx.now();
                let due: Vec<String> = self
                    .wakes
                    .iter()
                    .take_while(|(t, _)| *t <= now)
                    .map(|(_, u)| u.clone())
                    .collect();
                for uid in due {
                    self.sync_pod(ctx, &uid);
                }
                self.rearm(ctx);
            }
            TAG_NODE_STATUS => {
                self.report_node_status(ctx, false);
                ctx.set_timer(self.cfg.node_status_update_frequency, TAG_NODE_STATUS);
            }
            TAG_LEASE => {
                self.lease_conflicts = 0;
                self.renew_lease(ctx);
                // JitterUntil(renewInterval, 0.04).
                let base = self.cfg.lease_renew_interval();
                let jitter = ctx.rng().below(base.as_nanos() / 25 + 1);
                ctx.set_timer(base.saturating_add(Duration::from_nanos(jitter)), TAG_LEASE);
            }
            TAG_REGISTER if !self.registered => self.register(ctx),
            TAG_STATUS_WRITES => self.flush_status(ctx),
            TAG_STATUS_RECONCILE => self.reconcile_statuses(ctx),
            _ => {}
        }
    }
}
