//! `KubeApiServer<M>`: the kube-apiserver actor. It serves [`crate::protocol`] requests from
//! its watch cache and etcd, through authorization, admission and validation, and keeps the
//! cache fed by one etcd watch on `/registry/`.
//!
//! Follows `staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go` (Create,
//! Update through `GuaranteedUpdate` retried on a stale guess, Delete with graceful deletion
//! and finalizers: `BeforeDelete`, `deletionFinalizersForGarbageCollection`,
//! `ShouldDeleteDuringUpdate`), the pod strategy's `CheckGracefulTermination` (an unscheduled
//! or finished pod is deleted at once), the binding REST (`pkg/registry/core/pod/storage`), the
//! namespace registry (`Terminating` while `spec.finalizers` remain), the compactor
//! (`storage/etcd3/compact.go`, every 5 min, F6) and the cacher's consistent reads from cache
//! (1.31+). Requests wait while the cache is being filled at start (up to a bound).
//!
//! Simplifications: a consistent list waits for the cache to reach etcd's current revision
//! for at most 3 s and is then served from the cache as it is; `continue` pages are cut from
//! the cache's current state (not a snapshot at the first page's revision); `limit` without
//! `continue` is exact. Events' 1 h TTL is a sweep every minute by each apiserver (Kubernetes
//! attaches an etcd lease); the compactor's bookkeeping key is `/registry/compact_rev_key` so
//! that the one watch sees every revision.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::marker::PhantomData;
use std::sync::Arc;

use api::fields::FieldSelector;
use api::kinds::ALL_KINDS;
use api::selector::Selector;
use api::{Kind, Object, SharedObject};
use k8s_openapi::api::core::v1::{Namespace, PodCondition, Service, ServicePort, ServiceSpec};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use sim::{Actor, ActorId, Ctx, Duration, StreamClose, StreamId};
use store::client::{ClientConfig, ClientEvent, EtcdClient, is_client_timer};
use store::mvcc::{
    Bytes, KeyValue, ResponseOp, WatchRequest, WriteRequest, WriteResponse, prefix_end,
};
use store::server::{EtcdEnvelope, EtcdError, RequestBody, ResponseBody};

use crate::admission::{self, AdmissionLookup};
use crate::authz_cache::AuthzCache;
use crate::cache::{Filter, ListedItem, ResourceCache, Watcher, WindowConfig};
use crate::eviction;
use crate::nodeport;
use crate::objects;
use crate::own_writes::OwnWrites;
use crate::patch;
use crate::protocol::*;
use crate::rbac::{self, Attributes, RbacSource};
use crate::request_latency::{CallKey, LatencyHistogram, RequestLatencies};
use crate::storage::{self, Encoded, Mutation, StoredValue};
use crate::validation;

/// Configuration of one apiserver.
#[derive(Clone, Debug)]
pub struct ApiServerConfig {
    /// (member id, actor) of every etcd member.
    pub etcd: Vec<(u64, ActorId)>,
    pub window: WindowConfig,
    /// `--etcd-compaction-interval` (F6).
    pub compaction_interval: Duration,
    pub bookmark_interval: Duration,
    /// `--min-request-timeout`: a watch without `timeoutSeconds` lasts a random time in
    /// [this, 2 × this).
    pub min_request_timeout: Duration,
    /// `--event-ttl`.
    pub event_ttl: Duration,
    /// Create the built-in namespaces, the `kubernetes` Service, priority classes and RBAC.
    pub bootstrap: bool,
    /// Reject pods whose service account does not exist (needs the ServiceAccount controller).
    pub require_service_account: bool,
    /// Requests held while the cache fills at start; more get 503.
    pub max_queued: usize,
}

impl ApiServerConfig {
    pub fn new(etcd: Vec<(u64, ActorId)>) -> Self {
        ApiServerConfig {
            etcd,
            window: WindowConfig::default(),
            compaction_interval: Duration::from_mins(5),
            bookmark_interval: Duration::from_secs(60),
            min_request_timeout: Duration::from_secs(1800),
            event_ttl: Duration::from_secs(3600),
            bootstrap: true,
            require_service_account: false,
            max_queued: 10_000,
        }
    }
}

/// Where an answer goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReplyTo {
    Stream(StreamId),
    Datagram(ActorId),
    /// The apiserver's own writes (bootstrap, event expiry).
    Nobody,
}

/// A watcher's address: its stream and the request id its events carry.
type Target = (StreamId, u64);

const TICK: u64 = 1;
const BOOKMARK: u64 = 2;
const COMPACT: u64 = 3;
const EVENT_SWEEP: u64 = 4;
const WATCH_TIMER_BASE: u64 = 0x5A7C_0000_0000_0000;
const TICK_EVERY: Duration = Duration::from_secs(1);
const CONSISTENT_READ_WAIT: Duration = Duration::from_secs(3);
const MAX_WRITE_ATTEMPTS: u32 = 16;
const SWEEP_BATCH: usize = 1_000;
const GENERATE_NAME_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// One write in progress (create, update, patch, delete, bind), recomputed from the current
/// object whenever its guard fails (GuaranteedUpdate).
#[derive(Clone, Debug)]
struct WriteOp {
    req: Arc<ApiRequest>,
    reply: ReplyTo,
    kind: Kind,
    namespace: String,
    name: String,
    key: Bytes,
    attempts: u32,
    /// The state the write was planned from was read from etcd, not the watch cache
    /// (GuaranteedUpdate's `origStateIsCurrent`).
    live: bool,
    /// Create: the admitted object.
    prepared: Option<SharedObject>,
    /// What the write in flight does, and whether it removes the object for good.
    mutation: Option<Mutation>,
    /// The value a put in flight wrote (its reply stamps the object it shares with readers).
    written: Option<Encoded>,
    /// A deletecollection this delete belongs to.
    parent: Option<u64>,
}

enum Step {
    Reply(ApiReply),
    Write { expected: i64, mutation: Mutation },
}

#[derive(Debug)]
enum Pending {
    Init,
    Get {
        req: Arc<ApiRequest>,
        reply: ReplyTo,
    },
    /// A consistent list learning etcd's current revision.
    Revision {
        req: Arc<ApiRequest>,
        reply: ReplyTo,
    },
    /// A write reading the current object (it was not in the cache).
    Read(WriteOp),
    Txn(WriteOp),
    CompactClaim,
    Compact,
}

/// A request waiting for the cache to reach a revision.
#[derive(Debug)]
struct Waiting {
    revision: i64,
    deadline: sim::Time,
    req: Arc<ApiRequest>,
    reply: ReplyTo,
}

#[derive(Debug)]
struct WatchInfo {
    kind: Kind,
    stream: StreamId,
    id: u64,
}

#[derive(Debug)]
struct Collection {
    remaining: usize,
    count: usize,
    reply: ReplyTo,
    id: u64,
}

/// The kube-apiserver actor.
pub struct KubeApiServer<M> {
    cfg: ApiServerConfig,
    etcd: EtcdClient<StoredValue>,
    caches: Vec<ResourceCache<Target>>,
    /// The last etcd revision the cache has seen.
    rv: i64,
    /// The reply copies of this apiserver's writes, for the watch cache to share.
    own_writes: OwnWrites,
    ready: bool,
    etcd_watch: Option<u64>,
    pending: BTreeMap<u64, Pending>,
    queued: VecDeque<(Arc<ApiRequest>, ReplyTo)>,
    waiting: Vec<Waiting>,
    watches: BTreeMap<u64, WatchInfo>,
    watches_by_stream: BTreeMap<StreamId, BTreeSet<u64>>,
    next_watch: u64,
    collections: BTreeMap<u64, Collection>,
    next_collection: u64,
    bootstrapped: bool,
    /// Keys of bootstrap objects whose create was sent (each is sent once per run).
    bootstrap_in_flight: BTreeSet<String>,
    /// Compactor state: the version of the compact key last seen and the revision to compact
    /// at the next interval.
    compact_version: i64,
    compact_revision: i64,
    /// No Event in the watch cache was created before this (virtual seconds), or `None` when
    /// that is not known: the TTL sweep lists the Events only when one may have expired.
    oldest_event: Option<i64>,
    /// RBAC decisions, forgotten when an RBAC object changes.
    authz: AuthzCache,
    stats: ServerStats,
    /// `apiserver_request_duration_seconds` of mutating calls.
    latencies: RequestLatencies,
    _m: PhantomData<fn() -> M>,
}

/// Counters for tests and reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    pub requests: u64,
    pub watch_events_sent: u64,
    pub compactions: u64,
    pub relists: u64,
}

impl<M> KubeApiServer<M> {
    pub fn new(cfg: ApiServerConfig) -> Self {
        let etcd = EtcdClient::new(ClientConfig::new(cfg.etcd.clone()));
        KubeApiServer {
            cfg,
            etcd,
            caches: ALL_KINDS
                .iter()
                .map(|k| ResourceCache::new(k.kind))
                .collect(),
            rv: 0,
            own_writes: OwnWrites::default(),
            ready: false,
            etcd_watch: None,
            pending: BTreeMap::new(),
            queued: VecDeque::new(),
            waiting: Vec::new(),
            watches: BTreeMap::new(),
            watches_by_stream: BTreeMap::new(),
            next_watch: 0,
            collections: BTreeMap::new(),
            next_collection: 0,
            bootstrapped: false,
            bootstrap_in_flight: BTreeSet::new(),
            compact_version: 0,
            compact_revision: 0,
            oldest_event: None,
            authz: AuthzCache::default(),
            stats: ServerStats::default(),
            latencies: RequestLatencies::default(),
            _m: PhantomData,
        }
    }

    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// Ready, and the bootstrap objects (namespaces, RBAC, the `kubernetes` Service) are
    /// written when this replica bootstraps them.
    pub fn is_bootstrapped(&self) -> bool {
        self.ready && (self.bootstrapped || !self.cfg.bootstrap)
    }

    /// The watch cache's resourceVersion.
    pub fn resource_version(&self) -> i64 {
        self.rv
    }

    pub fn stats(&self) -> ServerStats {
        self.stats
    }

    /// The latency histograms of the mutating calls this process answered.
    pub fn request_latencies(&self) -> &BTreeMap<CallKey, LatencyHistogram> {
        self.latencies.histograms()
    }

    pub fn cached(&self, kind: Kind) -> usize {
        self.cache(kind).len()
    }

    pub fn watchers(&self) -> usize {
        self.watches.len()
    }

    fn cache(&self, kind: Kind) -> &ResourceCache<Target> {
        &self.caches[kind as usize]
    }

    fn cached_object(&self, kind: Kind, namespace: &str, name: &str) -> Option<SharedObject> {
        self.cache(kind)
            .get(&storage::key_string(kind, namespace, name))
            .map(|(o, _)| o.clone())
    }
}

impl<M> RbacSource for KubeApiServer<M> {
    fn cluster_role_bindings(&self) -> Vec<SharedObject> {
        self.cache(Kind::ClusterRoleBinding).list(
            &storage::kind_prefix(Kind::ClusterRoleBinding),
            &everything(),
        )
    }
    fn role_bindings(&self, namespace: &str) -> Vec<SharedObject> {
        self.cache(Kind::RoleBinding).list(
            &storage::namespace_prefix(Kind::RoleBinding, namespace),
            &everything(),
        )
    }
    fn cluster_role(&self, name: &str) -> Option<SharedObject> {
        self.cached_object(Kind::ClusterRole, "", name)
    }
    fn role(&self, namespace: &str, name: &str) -> Option<SharedObject> {
        self.cached_object(Kind::Role, namespace, name)
    }
}

impl<M> AdmissionLookup for KubeApiServer<M> {
    fn namespace(&self, name: &str) -> Option<SharedObject> {
        self.cached_object(Kind::Namespace, "", name)
    }
    fn priority_classes(&self) -> Vec<SharedObject> {
        self.cache(Kind::PriorityClass)
            .list(&storage::kind_prefix(Kind::PriorityClass), &everything())
    }
    fn service_account(&self, namespace: &str, name: &str) -> Option<SharedObject> {
        self.cached_object(Kind::ServiceAccount, namespace, name)
    }
    fn cluster_ip_in_use(&self, ip: &str) -> bool {
        let services = self
            .cache(Kind::Service)
            .list(&storage::kind_prefix(Kind::Service), &everything());
        services.iter().any(|s| match s.as_ref() {
            Object::Service(s) => {
                s.spec.as_ref().and_then(|sp| sp.cluster_ip.as_deref()) == Some(ip)
            }
            _ => false,
        })
    }
}

fn everything() -> Filter {
    Filter {
        namespace: String::new(),
        name: String::new(),
        labels: Selector::everything(),
        fields: FieldSelector::everything(),
        node_name: None,
    }
}

fn uuid(rng: &mut sim::SimRng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    // Version 4, variant 10xx, as a random UUID.
    let a = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

fn etcd_error(e: &EtcdError) -> StatusError {
    match e {
        EtcdError::Timeout
        | EtcdError::DeadlineExceeded
        | EtcdError::NoLeader
        | EtcdError::NotLeader { .. } => storage_timeout(),
        other => StatusError::internal(&other.to_string()),
    }
}

fn kv_current(kv: Option<&KeyValue<StoredValue>>) -> Option<(SharedObject, i64)> {
    let kv = kv?;
    storage::object_of(kv).map(|o| (o, kv.mod_revision))
}

fn parse_rv(s: &str) -> Result<Option<i64>, StatusError> {
    match s {
        "" | "0" => Ok(None),
        n => n
            .parse::<i64>()
            .map(Some)
            .map_err(|_| StatusError::bad_request(format!("invalid resource version: {n}"))),
    }
}

impl<M: ApiEnvelope + EtcdEnvelope<StoredValue>> KubeApiServer<M> {
    // ----- replies -----

    fn respond(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        reply: ReplyTo,
        id: u64,
        result: Result<ApiReply, StatusError>,
    ) {
        self.latencies.finish(reply, id, ctx.now());
        let msg = ApiMessage::Response(Arc::new(ApiResponse { id, result }));
        match reply {
            ReplyTo::Stream(s) => {
                let _ = ctx.stream_send(s, M::wrap_api(msg));
            }
            ReplyTo::Datagram(a) => ctx.send(a, M::wrap_api(msg)),
            ReplyTo::Nobody => {}
        }
    }

    fn send_watch_event(&mut self, ctx: &mut Ctx<'_, M>, target: Target, event: Arc<WatchEvent>) {
        self.stats.watch_events_sent += 1;
        let _ = ctx.stream_send(
            target.0,
            M::wrap_api(ApiMessage::WatchEvent {
                id: target.1,
                event,
            }),
        );
    }

    // ----- start and the etcd watch -----

    fn start_init(&mut self, ctx: &mut Ctx<'_, M>) {
        self.ready = false;
        // A serializable read answers even before etcd has elected a leader; the watch from its
        // revision then brings the cache up to date, and consistent reads wait for that.
        let request = storage::range_prefix(storage::REGISTRY_PREFIX, 0);
        let id = self.etcd.request(
            ctx,
            RequestBody::Range {
                request,
                serializable: true,
            },
        );
        self.pending.insert(id, Pending::Init);
    }

    fn finish_init(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        revision: i64,
        kvs: Vec<KeyValue<StoredValue>>,
    ) {
        let mut per_kind: Vec<Vec<ListedItem>> = ALL_KINDS.iter().map(|_| Vec::new()).collect();
        for kv in &kvs {
            if let Some(o) = storage::object_of(kv) {
                let key = String::from_utf8_lossy(&kv.key).into_owned();
                let encoded = storage::encoded_of(kv).cloned();
                per_kind[o.kind() as usize].push((key, o, kv.mod_revision, encoded));
            }
        }
        for (cache, items) in self.caches.iter_mut().zip(per_kind) {
            cache.reset(revision, items);
        }
        self.authz.clear();
        self.oldest_event = None;
        self.rv = revision;
        let key = storage::bytes_of(storage::REGISTRY_PREFIX);
        let watch = WatchRequest {
            range_end: Some(prefix_end(&key)),
            key,
            start_revision: revision + 1,
            prev_kv: false,
        };
        self.etcd_watch = Some(self.etcd.watch(ctx, watch));
        self.ready = true;
        ctx.log(format!(
            "watch cache initialized at revision {revision} with {} objects",
            kvs.len()
        ));
        if self.cfg.bootstrap && !self.bootstrapped {
            self.bootstrap(ctx);
        }
        let queued: Vec<_> = self.queued.drain(..).collect();
        for (req, reply) in queued {
            self.handle(ctx, req, reply);
        }
    }

    fn on_etcd_events(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        events: Vec<Arc<store::mvcc::Event<StoredValue>>>,
    ) {
        let now = ctx.now();
        for ev in events {
            let kv = &ev.kv;
            self.rv = self.rv.max(kv.mod_revision);
            let key = String::from_utf8_lossy(&kv.key);
            // A delete's kv is a tombstone with no value: the object is the previous value
            // (when the watch carries it) or, as in the watch cache upstream, what the cache
            // holds under the key.
            let obj = match ev.kind {
                store::mvcc::EventType::Put => self.own_writes.watched(kv),
                store::mvcc::EventType::Delete => ev
                    .prev_kv
                    .as_ref()
                    .and_then(storage::object_of)
                    .or_else(|| {
                        self.caches
                            .iter()
                            .find_map(|c| c.get(&key).map(|(o, _)| o.clone()))
                    }),
            };
            let Some(obj) = obj else {
                continue;
            };
            let kind = obj.kind();
            self.authz.changed(kind);
            if matches!(kind, Kind::Event | Kind::EventsV1Event)
                && let Some(oldest) = self.oldest_event.as_mut()
                && let Some(created) = obj.metadata().creation_timestamp.as_ref()
            {
                *oldest = (*oldest).min(objects::virtual_secs(created));
            }
            let deliveries = match ev.kind {
                store::mvcc::EventType::Put => self.caches[kind as usize].apply(
                    &key,
                    Some((obj, storage::encoded_of(kv).cloned())),
                    None,
                    kv.mod_revision,
                    now,
                    &self.cfg.window,
                ),
                store::mvcc::EventType::Delete => self.caches[kind as usize].apply(
                    &key,
                    None,
                    Some(obj),
                    kv.mod_revision,
                    now,
                    &self.cfg.window,
                ),
            };
            for (target, event) in deliveries {
                self.send_watch_event(ctx, target, event);
            }
        }
        self.release_waiting(ctx, false);
    }

    /// The etcd watch was compacted away: drop every watch (clients re-watch and get 410 if
    /// they are too old for the new window) and relist.
    fn relist(&mut self, ctx: &mut Ctx<'_, M>) {
        self.stats.relists += 1;
        let ids: Vec<u64> = self.watches.keys().copied().collect();
        for id in ids {
            self.end_watch(ctx, id, WatchEndReason::Timeout);
        }
        self.etcd_watch = None;
        self.own_writes.clear();
        self.start_init(ctx);
    }

    // ----- requests -----

    fn on_request(&mut self, ctx: &mut Ctx<'_, M>, req: Arc<ApiRequest>, reply: ReplyTo) {
        self.stats.requests += 1;
        if req.verb.writes_one_object() {
            let key = (req.kind, Self::subresource(&req), req.verb.name());
            self.latencies.start(reply, req.id, ctx.now(), key);
        }
        if !self.ready {
            if self.queued.len() >= self.cfg.max_queued {
                self.respond(ctx, reply, req.id, Err(not_ready()));
            } else {
                self.queued.push_back((req, reply));
            }
            return;
        }
        self.handle(ctx, req, reply);
    }

    fn handle(&mut self, ctx: &mut Ctx<'_, M>, req: Arc<ApiRequest>, reply: ReplyTo) {
        if let Err(e) = self.authorize(&req) {
            self.respond(ctx, reply, req.id, Err(e));
            return;
        }
        let result = match &req.verb {
            Verb::Get(opts) => self.get(ctx, &req, opts, reply),
            Verb::List(opts) => self.list(ctx, &req, opts, reply),
            Verb::Watch(opts) => self.watch(ctx, &req, opts, reply),
            Verb::DeleteCollection { list, .. } => self.delete_collection(ctx, &req, list, reply),
            Verb::Create(_)
            | Verb::Update(_)
            | Verb::Patch { .. }
            | Verb::Delete(_)
            | Verb::Evict(_)
            | Verb::Bind { .. } => self.start_write(ctx, req.clone(), reply, None),
        };
        if let Err(e) = result {
            self.respond(ctx, reply, req.id, Err(e));
        }
    }

    fn request_namespace(req: &ApiRequest) -> Cow<'_, str> {
        if !req.kind.info().namespaced {
            return Cow::Borrowed("");
        }
        if !req.namespace.is_empty() {
            return Cow::Borrowed(&req.namespace);
        }
        match &req.verb {
            Verb::Create(o) | Verb::Update(o) if !o.namespace().is_empty() => {
                Cow::Borrowed(o.namespace())
            }
            Verb::Create(_) | Verb::Update(_) => Cow::Borrowed("default"),
            _ => Cow::Borrowed(""),
        }
    }

    fn request_name(req: &ApiRequest) -> Cow<'_, str> {
        match &req.verb {
            Verb::Update(o) if req.name.is_empty() => Cow::Borrowed(o.name()),
            Verb::Create(_) => Cow::Borrowed(""),
            _ => Cow::Borrowed(&req.name),
        }
    }

    /// The subresource a request is for: bindings and evictions are POSTs to one.
    fn subresource(req: &ApiRequest) -> Option<Subresource> {
        match req.verb {
            Verb::Bind { .. } => Some(Subresource::Binding),
            Verb::Evict(_) => Some(Subresource::Eviction),
            _ => req.subresource,
        }
    }

    fn authorize(&mut self, req: &ApiRequest) -> Result<(), StatusError> {
        let namespace = Self::request_namespace(req);
        let name = Self::request_name(req);
        let attrs = Attributes {
            user: &req.user,
            verb: req.verb.name(),
            kind: req.kind,
            subresource: Self::subresource(req),
            namespace: &namespace,
            name: &name,
        };
        let mut authz = std::mem::take(&mut self.authz);
        let allowed = authz.decide(&attrs, || rbac::authorize(&*self, &attrs));
        self.authz = authz;
        if allowed {
            return Ok(());
        }
        Err(StatusError::rbac_forbidden(
            req.kind.info(),
            &name,
            &req.user.name,
            req.verb.name(),
            &namespace,
        ))
    }

    fn get(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        req: &Arc<ApiRequest>,
        opts: &GetOptions,
        reply: ReplyTo,
    ) -> Result<(), StatusError> {
        let namespace = Self::request_namespace(req);
        if req.name.is_empty() {
            return Err(StatusError::bad_request("resource name may not be empty"));
        }
        if opts.resource_version.is_empty() {
            let key = storage::key(req.kind, &namespace, &req.name);
            let id = self.etcd.request(
                ctx,
                RequestBody::Range {
                    request: storage::get(key),
                    serializable: false,
                },
            );
            self.pending.insert(
                id,
                Pending::Get {
                    req: req.clone(),
                    reply,
                },
            );
            return Ok(());
        }
        let obj = self
            .cached_object(req.kind, &namespace, &req.name)
            .ok_or_else(|| StatusError::not_found(req.kind.info(), &req.name))?;
        self.respond(ctx, reply, req.id, Ok(ApiReply::Object(obj)));
        Ok(())
    }

    fn filter_for(req: &ApiRequest, opts: &ListOptions) -> Result<Filter, StatusError> {
        let labels = Selector::parse(&opts.label_selector)
            .map_err(|e| StatusError::bad_request(e.to_string()))?;
        let fields = FieldSelector::parse_for(&opts.field_selector, req.kind)
            .map_err(|e| StatusError::bad_request(e.to_string()))?;
        let node_name = match req.kind {
            Kind::Pod => fields
                .required_value("spec.nodeName")
                .filter(|n| !n.is_empty())
                .map(str::to_string),
            Kind::Node => fields
                .required_value("metadata.name")
                .filter(|n| !n.is_empty())
                .map(str::to_string),
            _ => None,
        };
        Ok(Filter {
            namespace: Self::request_namespace(req).into_owned(),
            name: req.name.clone(),
            labels,
            fields,
            node_name,
        })
    }

    fn list(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        req: &Arc<ApiRequest>,
        opts: &ListOptions,
        reply: ReplyTo,
    ) -> Result<(), StatusError> {
        Self::filter_for(req, opts)?;
        let wanted = parse_rv(&opts.resource_version)?;
        match (opts.resource_version.as_str(), wanted) {
            ("", _) if opts.continue_token.is_empty() => {
                let prefix = storage::kind_prefix(req.kind);
                let id = self.etcd.request(
                    ctx,
                    RequestBody::Range {
                        request: storage::current_revision(&prefix),
                        serializable: false,
                    },
                );
                self.pending.insert(
                    id,
                    Pending::Revision {
                        req: req.clone(),
                        reply,
                    },
                );
                Ok(())
            }
            (_, Some(rv)) if rv > self.rv => {
                self.wait_for(ctx, rv, req.clone(), reply);
                Ok(())
            }
            _ => self.serve_list(ctx, req, reply),
        }
    }

    fn wait_for(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        revision: i64,
        req: Arc<ApiRequest>,
        reply: ReplyTo,
    ) {
        let deadline = ctx.now().saturating_add(CONSISTENT_READ_WAIT);
        self.waiting.push(Waiting {
            revision,
            deadline,
            req,
            reply,
        });
    }

    fn release_waiting(&mut self, ctx: &mut Ctx<'_, M>, deadline_only: bool) {
        if self.waiting.is_empty() {
            return;
        }
        let now = ctx.now();
        let rv = self.rv;
        let (due, keep): (Vec<Waiting>, Vec<Waiting>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|w| (!deadline_only && w.revision <= rv) || w.deadline <= now);
        self.waiting = keep;
        for w in due {
            let result = match &w.req.verb {
                Verb::Watch(opts) => self.start_watch(ctx, &w.req, opts, w.reply),
                _ => self.serve_list(ctx, &w.req, w.reply),
            };
            if let Err(e) = result {
                self.respond(ctx, w.reply, w.req.id, Err(e));
            }
        }
    }

    fn serve_list(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        req: &Arc<ApiRequest>,
        reply: ReplyTo,
    ) -> Result<(), StatusError> {
        let (Verb::List(opts) | Verb::Watch(opts)) = &req.verb else {
            return Ok(());
        };
        let filter = Self::filter_for(req, opts)?;
        let prefix = storage::namespace_prefix(req.kind, &filter.namespace);
        let mut items = self.cache(req.kind).list(&prefix, &filter);
        let mut continue_token = String::new();
        let mut remaining = None;
        if !opts.continue_token.is_empty() {
            let after = opts.continue_token.split_once(':').map(|(_, k)| k.to_string()).ok_or_else(|| {
                StatusError::bad_request("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
            })?;
            items.retain(|o| storage::key_string(o.kind(), o.namespace(), o.name()) > after);
        }
        if opts.limit > 0 && items.len() > opts.limit as usize {
            let rest = items.split_off(opts.limit as usize);
            remaining = Some(rest.len() as i64);
            if let Some(last) = items.last() {
                continue_token = format!(
                    "{}:{}",
                    self.rv,
                    storage::key_string(last.kind(), last.namespace(), last.name())
                );
            }
        }
        let list = ObjectList {
            resource_version: self.rv.to_string(),
            items,
            continue_token,
            remaining_item_count: remaining,
        };
        self.respond(ctx, reply, req.id, Ok(ApiReply::List(list)));
        Ok(())
    }

    // ----- watch -----

    fn watch(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        req: &Arc<ApiRequest>,
        opts: &ListOptions,
        reply: ReplyTo,
    ) -> Result<(), StatusError> {
        if !matches!(reply, ReplyTo::Stream(_)) {
            return Err(StatusError::bad_request(
                "a watch needs a connection stream",
            ));
        }
        Self::filter_for(req, opts)?;
        if let Some(rv) = parse_rv(&opts.resource_version)?
            && rv > self.rv
        {
            self.wait_for(ctx, rv, req.clone(), reply);
            return Ok(());
        }
        self.start_watch(ctx, req, opts, reply)
    }

    fn start_watch(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        req: &Arc<ApiRequest>,
        opts: &ListOptions,
        reply: ReplyTo,
    ) -> Result<(), StatusError> {
        let ReplyTo::Stream(stream) = reply else {
            return Err(StatusError::bad_request(
                "a watch needs a connection stream",
            ));
        };
        let filter = Self::filter_for(req, opts)?;
        let from = parse_rv(&opts.resource_version)?;
        let prefix = storage::namespace_prefix(req.kind, &filter.namespace);
        self.next_watch += 1;
        let wid = self.next_watch;
        let watcher = Watcher {
            filter,
            target: (stream, req.id),
            bookmarks: opts.allow_watch_bookmarks,
        };
        match self.caches[req.kind as usize].watch(wid, watcher, from, &prefix) {
            Ok(initial) => {
                self.watches.insert(
                    wid,
                    WatchInfo {
                        kind: req.kind,
                        stream,
                        id: req.id,
                    },
                );
                self.watches_by_stream
                    .entry(stream)
                    .or_default()
                    .insert(wid);
                for ev in initial {
                    self.send_watch_event(ctx, (stream, req.id), ev);
                }
                let timeout = match opts.timeout_seconds {
                    Some(s) if s > 0 => Duration::from_secs(s as u64),
                    _ => {
                        let base = self.cfg.min_request_timeout.as_nanos();
                        Duration::from_nanos(base + ctx.rng().below(base.max(1)))
                    }
                };
                ctx.set_timer(timeout, WATCH_TIMER_BASE | wid);
            }
            Err(e) => {
                let event = Arc::new(WatchEvent {
                    event_type: EventType::Error,
                    object: None,
                    resource_version: self.rv,
                    error: Some(e),
                });
                self.send_watch_event(ctx, (stream, req.id), event);
                let _ = ctx.stream_send(
                    stream,
                    M::wrap_api(ApiMessage::WatchEnd {
                        id: req.id,
                        reason: WatchEndReason::Error,
                    }),
                );
            }
        }
        Ok(())
    }

    fn end_watch(&mut self, ctx: &mut Ctx<'_, M>, wid: u64, reason: WatchEndReason) {
        let Some(info) = self.watches.remove(&wid) else {
            return;
        };
        self.caches[info.kind as usize].unwatch(wid);
        if let Some(set) = self.watches_by_stream.get_mut(&info.stream) {
            set.remove(&wid);
            if set.is_empty() {
                self.watches_by_stream.remove(&info.stream);
            }
        }
        let _ = ctx.stream_send(
            info.stream,
            M::wrap_api(ApiMessage::WatchEnd {
                id: info.id,
                reason,
            }),
        );
    }

    fn cancel_watch(&mut self, ctx: &mut Ctx<'_, M>, stream: StreamId, id: u64) {
        let found = self.watches_by_stream.get(&stream).and_then(|set| {
            set.iter()
                .find(|w| self.watches.get(w).is_some_and(|i| i.id == id))
                .copied()
        });
        if let Some(wid) = found {
            self.end_watch(ctx, wid, WatchEndReason::Cancelled);
        }
    }

    fn send_bookmarks(&mut self, ctx: &mut Ctx<'_, M>) {
        let event = Arc::new(WatchEvent {
            event_type: EventType::Bookmark,
            object: None,
            resource_version: self.rv,
            error: None,
        });
        let targets: Vec<Target> = self
            .caches
            .iter()
            .flat_map(|c| {
                c.watchers()
                    .filter(|(_, w)| w.bookmarks)
                    .map(|(_, w)| w.target)
            })
            .collect();
        for t in targets {
            self.send_watch_event(ctx, t, event.clone());
        }
    }

    // ----- writes -----

    fn start_write(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        req: Arc<ApiRequest>,
        reply: ReplyTo,
        parent: Option<u64>,
    ) -> Result<(), StatusError> {
        let kind = req.kind;
        let namespace = Self::request_namespace(&req).into_owned();
        let mut name = Self::request_name(&req).into_owned();
        let mut prepared = None;
        if let Verb::Create(body) = &req.verb {
            let obj = self.prepare_create(ctx, &req, body, &namespace)?;
            name = obj.name().to_string();
            prepared = Some(Arc::new(obj));
        } else if name.is_empty() {
            return Err(StatusError::bad_request("resource name may not be empty"));
        }
        let key_string = storage::key_string(kind, &namespace, &name);
        let key = storage::bytes_of(&key_string);
        let op = WriteOp {
            req,
            reply,
            kind,
            namespace,
            name,
            key,
            attempts: 0,
            live: false,
            prepared,
            mutation: None,
            written: None,
            parent,
        };
        match self.cache(kind).get_encoded(&key_string) {
            Some((o, rev, base)) => self.plan_and_send_from(ctx, op, Some((o, rev)), base),
            None if matches!(op.req.verb, Verb::Create(_)) => self.plan_and_send(ctx, op, None),
            None => self.read_live(ctx, op),
        }
        Ok(())
    }

    /// Plans the write again from etcd's current value (a quorum read).
    fn read_live(&mut self, ctx: &mut Ctx<'_, M>, mut op: WriteOp) {
        op.live = true;
        let id = self.etcd.request(
            ctx,
            RequestBody::Range {
                request: storage::get(op.key.clone()),
                serializable: false,
            },
        );
        self.pending.insert(id, Pending::Read(op));
    }

    fn prepare_create(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        req: &ApiRequest,
        body: &SharedObject,
        namespace: &str,
    ) -> Result<Object, StatusError> {
        if body.kind() != req.kind {
            return Err(StatusError::bad_request(format!(
                "the API version in the data ({}) does not match the expected API version ({})",
                body.info().api_version,
                req.kind.info().api_version
            )));
        }
        if req.kind.info().namespaced
            && !body.namespace().is_empty()
            && body.namespace() != namespace
        {
            return Err(StatusError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let mut obj = Object::clone(body);
        {
            let m = obj.metadata_mut();
            if m.name.as_deref().unwrap_or("").is_empty()
                && let Some(prefix) = m.generate_name.clone().filter(|g| !g.is_empty())
            {
                let suffix: String = (0..5)
                    .map(|_| {
                        GENERATE_NAME_CHARS
                            [ctx.rng().below(GENERATE_NAME_CHARS.len() as u64) as usize]
                            as char
                    })
                    .collect();
                m.name = Some(format!("{prefix}{suffix}"));
            }
            m.namespace = req.kind.info().namespaced.then(|| namespace.to_string());
            m.uid = Some(uuid(ctx.rng()));
            m.creation_timestamp = Some(objects::api_time(ctx.now()));
            m.resource_version = None;
            m.deletion_timestamp = None;
            m.deletion_grace_period_seconds = None;
            m.generation = objects::tracks_generation(req.kind).then_some(1);
        }
        let name = obj.name().to_string();
        admission::namespace_lifecycle(self, req.kind, &name, namespace)?;
        let require_sa = self.cfg.require_service_account;
        admission::mutate_create(self, &mut obj, ctx.rng(), require_sa)?;
        let errs = validation::validate(&obj);
        if !errs.is_empty() {
            return Err(StatusError::invalid(req.kind.info(), &name, &errs));
        }
        if let Object::Service(svc) = &mut obj {
            let in_use = nodeport::ports_in_use(&self.services(), namespace, &name);
            nodeport::allocate(svc, None, &in_use, ctx.rng())?;
        }
        Ok(obj)
    }

    fn services(&self) -> Vec<SharedObject> {
        self.cache(Kind::Service)
            .list(&storage::kind_prefix(Kind::Service), &everything())
    }

    fn plan_and_send(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        op: WriteOp,
        current: Option<(SharedObject, i64)>,
    ) {
        self.plan_and_send_from(ctx, op, current, None);
    }

    /// `base`: etcd's value of `current`, when the caller has it at hand (else it is looked up
    /// in the watch cache at the revision the write expects).
    fn plan_and_send_from(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        mut op: WriteOp,
        current: Option<(SharedObject, i64)>,
        base: Option<Encoded>,
    ) {
        let current_rev = current.as_ref().map(|(_, rev)| *rev);
        let step = self.plan(ctx, &op, current.as_ref());
        if !op.live && !matches!(step, Ok(Step::Write { .. })) {
            // A failed precondition, an error or a no-op planned from the watch cache may only
            // say that the cache is behind: as GuaranteedUpdate does, answer it only once the
            // plan is made from etcd's own value (a resourceVersion the client read from a
            // newer apiserver must not get a Conflict from this one's lagging cache).
            return self.read_live(ctx, op);
        }
        match step {
            Err(e) => self.finish_write(ctx, &op, Err(e)),
            Ok(Step::Reply(r)) => self.finish_write(ctx, &op, Ok(r)),
            Ok(Step::Write { expected, mutation }) => {
                let previous = match &base {
                    Some(b) if current_rev == Some(expected) => Some(b),
                    _ => std::str::from_utf8(&op.key)
                        .ok()
                        .and_then(|key| self.cache(op.kind).encoded_at(key, expected)),
                };
                let (txn, written) =
                    match storage::guarded(op.key.clone(), expected, &mutation, previous) {
                        Ok(txn) => txn,
                        Err(e) => {
                            let e = StatusError::internal(&e.to_string());
                            return self.finish_write(ctx, &op, Err(e));
                        }
                    };
                op.mutation = Some(mutation);
                op.written = written;
                let id = self.etcd.request(ctx, RequestBody::Write(Arc::new(txn)));
                self.pending.insert(id, Pending::Txn(op));
            }
        }
    }

    fn finish_write(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        op: &WriteOp,
        result: Result<ApiReply, StatusError>,
    ) {
        if let Some(parent) = op.parent {
            if let Some(c) = self.collections.get_mut(&parent) {
                c.remaining -= 1;
                if result.is_ok() {
                    c.count += 1;
                }
                if c.remaining == 0
                    && let Some(c) = self.collections.remove(&parent)
                {
                    self.respond(
                        ctx,
                        c.reply,
                        c.id,
                        Ok(ApiReply::DeletedCollection { count: c.count }),
                    );
                }
            }
            return;
        }
        if let (ReplyTo::Nobody, Err(e)) = (op.reply, &result)
            && e.reason != StatusReason::AlreadyExists
        {
            ctx.log(format!(
                "internal write of {} {}/{} failed: {e}",
                op.kind, op.namespace, op.name
            ));
        }
        self.respond(ctx, op.reply, op.req.id, result);
    }

    fn plan(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        op: &WriteOp,
        current: Option<&(SharedObject, i64)>,
    ) -> Result<Step, StatusError> {
        let info = op.kind.info();
        match (&op.req.verb, current) {
            (Verb::Create(_), Some(_)) => Err(StatusError::already_exists(info, &op.name)),
            (Verb::Create(_), None) => {
                let obj = op
                    .prepared
                    .clone()
                    .ok_or_else(|| StatusError::internal("create without an object"))?;
                Ok(Step::Write {
                    expected: 0,
                    mutation: Mutation::Put(obj),
                })
            }
            (_, None) => Err(StatusError::not_found(info, &op.name)),
            (Verb::Update(body), Some((cur, rev))) => {
                self.plan_update(ctx, op, Cow::Borrowed(&**body), cur, *rev)
            }
            (Verb::Patch { patch_type, patch }, Some((cur, rev))) => {
                let obj = patch::patched(cur, patch, *patch_type)?;
                self.plan_update(ctx, op, Cow::Owned(obj), cur, *rev)
            }
            (Verb::Bind { node_name }, Some((cur, rev))) => {
                self.plan_bind(ctx, op, node_name, cur, *rev)
            }
            (Verb::Delete(opts), Some((cur, rev))) => self.plan_delete(ctx, op, opts, cur, *rev),
            (Verb::Evict(opts), Some((cur, rev))) => {
                let opts = eviction::admit(op.kind, cur, opts)?;
                self.plan_delete(ctx, op, &opts, cur, *rev)
            }
            _ => Err(StatusError::method_not_allowed(info, op.req.verb.name())),
        }
    }

    /// `body`: the request's object, or a patch's result, which is ours to keep (no copy).
    fn plan_update(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        op: &WriteOp,
        body: Cow<'_, Object>,
        cur: &SharedObject,
        rev: i64,
    ) -> Result<Step, StatusError> {
        let info = op.kind.info();
        if body.kind() != op.kind {
            return Err(StatusError::bad_request(format!(
                "the body of the request was in an unknown format: expected {}",
                info.name
            )));
        }
        if !body.resource_version().is_empty() && body.resource_version() != cur.resource_version()
        {
            return Err(StatusError::stale_resource_version(info, &op.name));
        }
        if !body.uid().is_empty() && body.uid() != cur.uid() {
            let why = format!(
                "Precondition failed: UID in precondition: {}, UID in object meta: {}",
                body.uid(),
                cur.uid()
            );
            return Err(StatusError::conflict(info, &op.name, &why));
        }
        let mut new = if op.req.subresource == Some(Subresource::Status) {
            match body {
                Cow::Borrowed(body) => objects::with_status_of(cur, body),
                Cow::Owned(body) => objects::with_status_from(cur, body),
            }
        } else {
            let mut n = body.into_owned();
            api::defaults::apply(&mut n);
            objects::keep_status(&mut n, cur);
            let bump = objects::tracks_generation(op.kind) && objects::spec_changed(cur, &n);
            let c = cur.metadata();
            let m = n.metadata_mut();
            // In place: the body usually has these already, and a string's buffer is reused.
            m.uid.clone_from(&c.uid);
            m.name.clone_from(&c.name);
            m.namespace.clone_from(&c.namespace);
            m.creation_timestamp.clone_from(&c.creation_timestamp);
            m.deletion_timestamp.clone_from(&c.deletion_timestamp);
            m.deletion_grace_period_seconds = c.deletion_grace_period_seconds;
            m.generation = c.generation;
            if bump {
                m.generation = Some(c.generation.unwrap_or(0) + 1);
            }
            n
        };
        new.metadata_mut()
            .resource_version
            .clone_from(&cur.metadata().resource_version);
        let errs = validation::validate(&new);
        if !errs.is_empty() {
            return Err(StatusError::invalid(info, &op.name, &errs));
        }
        if let (Object::Service(svc), Object::Service(old)) = (&mut new, cur.as_ref())
            && op.req.subresource.is_none()
        {
            let in_use = nodeport::ports_in_use(&self.services(), &op.namespace, &op.name);
            nodeport::allocate(svc, Some(old), &in_use, ctx.rng())?;
        }
        if new == **cur {
            return Ok(Step::Reply(ApiReply::Object(cur.clone())));
        }
        if should_delete_during_update(&new) {
            return Ok(Step::Write {
                expected: rev,
                mutation: Mutation::Delete,
            });
        }
        new.metadata_mut().resource_version = None;
        Ok(Step::Write {
            expected: rev,
            mutation: Mutation::Put(Arc::new(new)),
        })
    }

    fn plan_bind(
        &mut self,
        _ctx: &mut Ctx<'_, M>,
        op: &WriteOp,
        node: &str,
        cur: &SharedObject,
        rev: i64,
    ) -> Result<Step, StatusError> {
        let info = Kind::Pod.info();
        let Object::Pod(pod) = cur.as_ref() else {
            return Err(StatusError::method_not_allowed(op.kind.info(), "bind"));
        };
        let conflict = |why: String| {
            let mut e = StatusError::conflict(info, &op.name, &why);
            e.message = format!(
                "Operation cannot be fulfilled on pods/binding \"{}\": {why}",
                op.name
            );
            e
        };
        if cur.is_terminating() {
            return Err(conflict(format!(
                "pod {} is being deleted, cannot be assigned to a host",
                op.name
            )));
        }
        if let Some(n) = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .filter(|n| !n.is_empty())
        {
            return Err(conflict(format!(
                "pod {} is already assigned to node \"{n}\"",
                op.name
            )));
        }
        let mut p = pod.clone();
        p.spec.get_or_insert_with(Default::default).node_name = Some(node.to_string());
        let status = p.status.get_or_insert_with(Default::default);
        let conditions = status.conditions.get_or_insert_with(Vec::new);
        conditions.retain(|c| c.type_ != "PodScheduled");
        conditions.push(PodCondition {
            type_: "PodScheduled".into(),
            status: "True".into(),
            ..Default::default()
        });
        p.metadata.resource_version = None;
        Ok(Step::Write {
            expected: rev,
            mutation: Mutation::Put(Arc::new(Object::from(p))),
        })
    }

    fn plan_delete(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        op: &WriteOp,
        opts: &DeleteOptions,
        cur: &SharedObject,
        rev: i64,
    ) -> Result<Step, StatusError> {
        let info = op.kind.info();
        if let Some(pre) = &opts.preconditions {
            if let Some(uid) = &pre.uid
                && uid != cur.uid()
            {
                let why = format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    cur.uid()
                );
                return Err(StatusError::conflict(info, &op.name, &why));
            }
            if let Some(rv) = &pre.resource_version
                && rv != cur.resource_version()
            {
                let why = format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    cur.resource_version()
                );
                return Err(StatusError::conflict(info, &op.name, &why));
            }
        }
        if op.kind == Kind::Namespace && admission::IMMORTAL_NAMESPACES.contains(&op.name.as_str())
        {
            return Err(StatusError::forbidden(
                info,
                &op.name,
                "this namespace may not be deleted",
            ));
        }
        let mut obj = Object::clone(cur);
        let mut changed = false;
        let extra = match opts.propagation_policy {
            Some(PropagationPolicy::Foreground) => Some("foregroundDeletion"),
            Some(PropagationPolicy::Orphan) => Some("orphan"),
            _ => None,
        };
        if let Some(f) = extra {
            let list = obj.metadata_mut().finalizers.get_or_insert_with(Vec::new);
            let other = if f == "orphan" {
                "foregroundDeletion"
            } else {
                "orphan"
            };
            list.retain(|x| x != other);
            if !list.iter().any(|x| x == f) {
                list.push(f.to_string());
                changed = true;
            }
        }
        let grace = self.grace_period(&obj, opts);
        let now_secs = objects::virtual_secs(&objects::api_time(ctx.now()));
        let namespace_finalizers = match &obj {
            Object::Namespace(n) => n
                .spec
                .as_ref()
                .and_then(|s| s.finalizers.as_ref())
                .is_some_and(|f| !f.is_empty()),
            _ => false,
        };
        let pending_finalizers = !obj.finalizers().is_empty() || namespace_finalizers;
        if grace == 0 && !pending_finalizers {
            return Ok(Step::Write {
                expected: rev,
                mutation: Mutation::Delete,
            });
        }
        let m = obj.metadata_mut();
        let shorter = m.deletion_grace_period_seconds.is_none_or(|g| grace < g);
        if m.deletion_timestamp.is_none() || shorter {
            m.deletion_timestamp = Some(objects::api_time(sim::Time::from_secs(
                (now_secs + grace).max(0) as u64,
            )));
            m.deletion_grace_period_seconds = Some(grace);
            changed = true;
        }
        if let Object::Namespace(n) = &mut obj {
            let status = n.status.get_or_insert_with(Default::default);
            if status.phase.as_deref() != Some("Terminating") {
                status.phase = Some("Terminating".into());
                changed = true;
            }
        }
        if !changed {
            return Ok(Step::Reply(ApiReply::Deleted {
                object: cur.clone(),
                gone: false,
            }));
        }
        obj.metadata_mut().resource_version = None;
        Ok(Step::Write {
            expected: rev,
            mutation: Mutation::Put(Arc::new(obj)),
        })
    }

    /// The object a write put at `revision`, with its resourceVersion set: the watch cache's
    /// copy when the watch has already delivered that revision, else a copy the watch cache
    /// will reuse (see [`OwnWrites`]).
    fn reply_copy(
        &mut self,
        key: &Bytes,
        written: SharedObject,
        encoded: Option<&Encoded>,
        revision: i64,
    ) -> SharedObject {
        if revision > self.rv {
            return self.own_writes.stamp(key, written, encoded, revision);
        }
        let key = String::from_utf8_lossy(key);
        match self.caches[written.kind() as usize].get(&key) {
            Some((cached, rv)) if rv == revision => cached,
            _ => storage::stamped(written, revision),
        }
    }

    /// The grace period a delete gets: pods their own (or the request's), 0 for a pod never
    /// scheduled or already finished, 0 for every other kind.
    fn grace_period(&self, obj: &Object, opts: &DeleteOptions) -> i64 {
        let Object::Pod(p) = obj else { return 0 };
        let spec = p.spec.as_ref();
        let unscheduled = spec
            .and_then(|s| s.node_name.as_deref())
            .is_none_or(str::is_empty);
        let finished = matches!(
            p.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Succeeded" | "Failed")
        );
        if unscheduled || finished {
            return 0;
        }
        let own = spec
            .and_then(|s| s.termination_grace_period_seconds)
            .unwrap_or(api::defaults::core::TERMINATION_GRACE_PERIOD_SECONDS);
        opts.grace_period_seconds.unwrap_or(own).max(0)
    }

    fn on_txn(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        mut op: WriteOp,
        result: Result<ResponseBody<StoredValue>, EtcdError>,
    ) {
        let txn = match result {
            Ok(ResponseBody::Write(WriteResponse::Txn(t))) => t,
            Ok(_) => {
                return self.finish_write(
                    ctx,
                    &op,
                    Err(StatusError::internal("unexpected etcd response")),
                );
            }
            Err(e) => return self.finish_write(ctx, &op, Err(etcd_error(&e))),
        };
        if txn.succeeded {
            let reply = match op.mutation.take() {
                Some(Mutation::Put(obj)) => {
                    // The create's prepared object is the one written: let go of it so that
                    // the stamp below happens in place.
                    op.prepared = None;
                    let written = op.written.take();
                    let obj = self.reply_copy(&op.key, obj, written.as_ref(), txn.revision);
                    match op.req.verb {
                        Verb::Delete(_) | Verb::Evict(_) => ApiReply::Deleted {
                            object: obj,
                            gone: false,
                        },
                        _ => ApiReply::Object(obj),
                    }
                }
                Some(Mutation::Delete) => {
                    let prev = txn.responses.iter().find_map(|r| match r {
                        ResponseOp::DeleteRange(d) => {
                            d.prev_kvs.first().and_then(storage::object_of)
                        }
                        _ => None,
                    });
                    match prev {
                        Some(o) => ApiReply::Deleted {
                            object: storage::stamped(o, txn.revision),
                            gone: true,
                        },
                        None => {
                            return self.finish_write(
                                ctx,
                                &op,
                                Err(StatusError::not_found(op.kind.info(), &op.name)),
                            );
                        }
                    }
                }
                None => {
                    return self.finish_write(
                        ctx,
                        &op,
                        Err(StatusError::internal("write without a mutation")),
                    );
                }
            };
            return self.finish_write(ctx, &op, Ok(reply));
        }
        op.attempts += 1;
        if op.attempts >= MAX_WRITE_ATTEMPTS {
            let e = StatusError::stale_resource_version(op.kind.info(), &op.name);
            return self.finish_write(ctx, &op, Err(e));
        }
        let current = txn.responses.iter().find_map(|r| match r {
            ResponseOp::Range(r) => kv_current(r.kvs.first()),
            _ => None,
        });
        op.live = true;
        self.plan_and_send(ctx, op, current);
    }

    fn delete_collection(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        req: &Arc<ApiRequest>,
        list: &ListOptions,
        reply: ReplyTo,
    ) -> Result<(), StatusError> {
        let Verb::DeleteCollection { delete, .. } = &req.verb else {
            return Ok(());
        };
        let filter = Self::filter_for(req, list)?;
        let prefix = storage::namespace_prefix(req.kind, &filter.namespace);
        let items = self.cache(req.kind).list(&prefix, &filter);
        if items.is_empty() {
            self.respond(
                ctx,
                reply,
                req.id,
                Ok(ApiReply::DeletedCollection { count: 0 }),
            );
            return Ok(());
        }
        self.next_collection += 1;
        let parent = self.next_collection;
        self.collections.insert(
            parent,
            Collection {
                remaining: items.len(),
                count: 0,
                reply,
                id: req.id,
            },
        );
        for o in items {
            let one = ApiRequest::new(
                req.id,
                req.user.clone(),
                req.kind,
                Verb::Delete(delete.clone()),
            )
            .in_namespace(o.namespace())
            .named(o.name());
            if let Err(e) = self.start_write(ctx, Arc::new(one), ReplyTo::Nobody, Some(parent)) {
                let op = WriteOp {
                    req: req.clone(),
                    reply: ReplyTo::Nobody,
                    kind: req.kind,
                    namespace: o.namespace().to_string(),
                    name: o.name().to_string(),
                    key: storage::key(req.kind, o.namespace(), o.name()),
                    attempts: 0,
                    live: false,
                    prepared: None,
                    mutation: None,
                    written: None,
                    parent: Some(parent),
                };
                self.finish_write(ctx, &op, Err(e));
            }
        }
        Ok(())
    }

    // ----- housekeeping -----

    fn compact_tick(&mut self, ctx: &mut Ctx<'_, M>) {
        let txn = storage::compact_claim(self.compact_version, self.compact_revision);
        let id = self.etcd.request(ctx, RequestBody::Write(Arc::new(txn)));
        self.pending.insert(id, Pending::CompactClaim);
    }

    fn on_compact_claim(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        result: Result<ResponseBody<StoredValue>, EtcdError>,
    ) {
        let Ok(ResponseBody::Write(WriteResponse::Txn(t))) = result else {
            return;
        };
        if t.succeeded {
            self.compact_version += 1;
            let target = self.compact_revision;
            self.compact_revision = t.revision;
            if target > 0 {
                self.stats.compactions += 1;
                ctx.log(format!("compacting etcd at revision {target}"));
                let id = self.etcd.request(
                    ctx,
                    RequestBody::Write(Arc::new(WriteRequest::Compact { revision: target })),
                );
                self.pending.insert(id, Pending::Compact);
            }
        } else {
            let kv = t.responses.iter().find_map(|r| match r {
                ResponseOp::Range(r) => r.kvs.first().cloned(),
                _ => None,
            });
            self.compact_version = kv.as_ref().map_or(0, |kv| kv.version);
            self.compact_revision = t.revision;
        }
    }

    fn sweep_events(&mut self, ctx: &mut Ctx<'_, M>) {
        let ttl = self.cfg.event_ttl.as_secs() as i64;
        let now = objects::virtual_secs(&objects::api_time(ctx.now()));
        // Nothing can have expired: skip the listing (the sweep runs every minute and the
        // cache holds every Event of the last hour).
        if self.oldest_event.is_some_and(|oldest| now - oldest < ttl) {
            return;
        }
        let mut expired = Vec::new();
        let mut oldest = i64::MAX;
        let mut complete = true;
        for kind in [Kind::Event, Kind::EventsV1Event] {
            complete &= self.cache(kind).sweep_expired(
                &storage::kind_prefix(kind),
                now,
                ttl,
                SWEEP_BATCH,
                &mut expired,
                &mut oldest,
            );
        }
        // The expired ones stay in the bound until their deletes have been applied (a delete
        // that fails is retried by the next sweep, as before).
        self.oldest_event = complete.then_some(oldest);
        for o in expired {
            let key = storage::key(o.kind(), o.namespace(), o.name());
            let rev = o.resource_version().parse().unwrap_or(0);
            let id = self.etcd.request(
                ctx,
                RequestBody::Write(Arc::new(storage::guarded_delete(key, rev))),
            );
            self.pending.insert(id, Pending::Compact);
        }
    }

    /// Creates the bootstrap objects that are missing (create-if-absent, so replicas do not
    /// duplicate them); namespaced ones wait until their namespace is in the cache. Runs every
    /// tick until everything exists.
    fn bootstrap(&mut self, ctx: &mut Ctx<'_, M>) {
        let mut objects: Vec<Object> = Vec::new();
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            objects.push(Object::from(Namespace {
                metadata: ObjectMeta {
                    name: Some(ns.into()),
                    ..Default::default()
                },
                ..Default::default()
            }));
        }
        objects.push(Object::from(Service {
            metadata: ObjectMeta {
                name: Some("kubernetes".into()),
                namespace: Some("default".into()),
                labels: Some(
                    [
                        ("component".to_string(), "apiserver".to_string()),
                        ("provider".to_string(), "kubernetes".to_string()),
                    ]
                    .into(),
                ),
                ..Default::default()
            },
            spec: Some(ServiceSpec {
                cluster_ip: Some(admission::ip_string(admission::SERVICE_CIDR_BASE + 1)),
                ports: Some(vec![ServicePort {
                    name: Some("https".into()),
                    port: 443,
                    target_port: Some(IntOrString::Int(6443)),
                    protocol: Some("TCP".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            status: None,
        }));
        for (name, value, description) in admission::SYSTEM_PRIORITY_CLASSES {
            objects.push(Object::from(PriorityClass {
                metadata: ObjectMeta {
                    name: Some((*name).into()),
                    ..Default::default()
                },
                value: Some(*value),
                description: Some((*description).into()),
                ..Default::default()
            }));
        }
        objects.extend(rbac::bootstrap_policy());
        let mut missing = 0;
        for obj in objects {
            if self
                .cached_object(obj.kind(), obj.namespace(), obj.name())
                .is_some()
            {
                continue;
            }
            missing += 1;
            let key = storage::key_string(obj.kind(), obj.namespace(), obj.name());
            let namespace_ready = obj.namespace().is_empty()
                || self
                    .cached_object(Kind::Namespace, "", obj.namespace())
                    .is_some();
            if !namespace_ready || !self.bootstrap_in_flight.insert(key) {
                continue;
            }
            let kind = obj.kind();
            let req = ApiRequest::new(
                0,
                UserInfo::admin(),
                kind,
                Verb::Create(Arc::new(obj.clone())),
            )
            .in_namespace(obj.namespace());
            if let Err(e) = self.start_write(ctx, Arc::new(req), ReplyTo::Nobody, None) {
                ctx.log(format!("bootstrap of {kind} {} failed: {e}", obj.name()));
            }
        }
        if missing == 0 {
            self.bootstrapped = true;
            self.bootstrap_in_flight.clear();
        }
    }

    // ----- etcd -----

    fn on_client_events(&mut self, ctx: &mut Ctx<'_, M>, events: Vec<ClientEvent<StoredValue>>) {
        for ev in events {
            match ev {
                ClientEvent::Response { id, result, .. } => {
                    if let Some(p) = self.pending.remove(&id) {
                        self.on_etcd_response(ctx, p, result);
                    }
                }
                ClientEvent::WatchEvents { watch_id, events }
                    if Some(watch_id) == self.etcd_watch =>
                {
                    self.on_etcd_events(ctx, events)
                }
                ClientEvent::WatchCanceled { watch_id, reason }
                    if Some(watch_id) == self.etcd_watch =>
                {
                    ctx.log(format!("etcd watch ended ({reason:?}); relisting"));
                    self.relist(ctx);
                }
                _ => {}
            }
        }
    }

    fn on_etcd_response(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        pending: Pending,
        result: Result<ResponseBody<StoredValue>, EtcdError>,
    ) {
        match pending {
            Pending::Init => match result {
                Ok(ResponseBody::Range(r)) => self.finish_init(ctx, r.revision, r.kvs),
                _ => {
                    // etcd is not answering yet (no leader at start): try again on the next tick.
                    ctx.log("initial list from etcd failed; retrying");
                }
            },
            Pending::Get { req, reply } => {
                let r = match result {
                    Ok(ResponseBody::Range(r)) => match kv_current(r.kvs.first()) {
                        Some((o, _)) => Ok(ApiReply::Object(o)),
                        None => Err(StatusError::not_found(req.kind.info(), &req.name)),
                    },
                    Ok(_) => Err(StatusError::internal("unexpected etcd response")),
                    Err(e) => Err(etcd_error(&e)),
                };
                self.respond(ctx, reply, req.id, r);
            }
            Pending::Revision { req, reply } => match result {
                Ok(ResponseBody::Range(r)) if r.revision <= self.rv => {
                    if let Err(e) = self.serve_list(ctx, &req, reply) {
                        self.respond(ctx, reply, req.id, Err(e));
                    }
                }
                Ok(ResponseBody::Range(r)) => self.wait_for(ctx, r.revision, req, reply),
                Ok(_) => self.respond(
                    ctx,
                    reply,
                    req.id,
                    Err(StatusError::internal("unexpected etcd response")),
                ),
                Err(e) => self.respond(ctx, reply, req.id, Err(etcd_error(&e))),
            },
            Pending::Read(op) => match result {
                Ok(ResponseBody::Range(r)) => {
                    let current = kv_current(r.kvs.first());
                    self.plan_and_send(ctx, op, current);
                }
                Ok(_) => self.finish_write(
                    ctx,
                    &op,
                    Err(StatusError::internal("unexpected etcd response")),
                ),
                Err(e) => self.finish_write(ctx, &op, Err(etcd_error(&e))),
            },
            Pending::Txn(op) => self.on_txn(ctx, op, result),
            Pending::CompactClaim => self.on_compact_claim(ctx, result),
            Pending::Compact => {}
        }
    }
}

/// `ShouldDeleteDuringUpdate`: an object marked for deletion with no grace left is removed
/// when its last finalizer goes (a namespace also needs its `spec.finalizers` empty).
fn should_delete_during_update(o: &Object) -> bool {
    let m = o.metadata();
    let namespace_done = match o {
        Object::Namespace(n) => n
            .spec
            .as_ref()
            .and_then(|s| s.finalizers.as_ref())
            .is_none_or(|f| f.is_empty()),
        _ => true,
    };
    m.deletion_timestamp.is_some()
        && m.deletion_grace_period_seconds == Some(0)
        && o.finalizers().is_empty()
        && namespace_done
}

impl<M: ApiEnvelope + EtcdEnvelope<StoredValue>> Actor<M> for KubeApiServer<M> {
    fn on_start(&mut self, ctx: &mut Ctx<'_, M>) {
        self.start_init(ctx);
        ctx.set_timer(TICK_EVERY, TICK);
        ctx.set_timer(self.cfg.bookmark_interval, BOOKMARK);
        ctx.set_timer(self.cfg.compaction_interval, COMPACT);
        ctx.set_timer(Duration::from_secs(60), EVENT_SWEEP);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, M>, from: ActorId, msg: M) {
        if let Ok(ApiMessage::Request(req)) = msg.unwrap_api() {
            self.on_request(ctx, req, ReplyTo::Datagram(from));
        }
    }

    fn on_stream_message(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        stream: StreamId,
        _from: ActorId,
        msg: M,
    ) {
        match msg.unwrap_api() {
            Ok(ApiMessage::Request(req)) => self.on_request(ctx, req, ReplyTo::Stream(stream)),
            Ok(ApiMessage::CancelWatch { id }) => self.cancel_watch(ctx, stream, id),
            Ok(_) => {}
            Err(other) => {
                if let Ok(etcd) = other.unwrap_etcd() {
                    let events = self.etcd.on_stream_message(ctx, stream, etcd);
                    self.on_client_events(ctx, events);
                }
            }
        }
    }

    fn on_stream_closed(&mut self, ctx: &mut Ctx<'_, M>, stream: StreamId, _why: StreamClose) {
        let events = self.etcd.on_stream_closed(ctx, stream);
        self.on_client_events(ctx, events);
        if let Some(ids) = self.watches_by_stream.remove(&stream) {
            for wid in ids {
                if let Some(info) = self.watches.remove(&wid) {
                    self.caches[info.kind as usize].unwatch(wid);
                }
            }
        }
        self.waiting.retain(|w| w.reply != ReplyTo::Stream(stream));
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, M>, tag: u64) {
        if is_client_timer(tag) {
            let events = self.etcd.on_timer(ctx, tag);
            self.on_client_events(ctx, events);
            return;
        }
        if tag & WATCH_TIMER_BASE == WATCH_TIMER_BASE && tag != WATCH_TIMER_BASE {
            self.end_watch(ctx, tag & !WATCH_TIMER_BASE, WatchEndReason::Timeout);
            return;
        }
        match tag {
            TICK => {
                if !self.ready && !self.pending.values().any(|p| matches!(p, Pending::Init)) {
                    self.start_init(ctx);
                }
                self.release_waiting(ctx, true);
                if self.ready && self.cfg.bootstrap && !self.bootstrapped {
                    self.bootstrap(ctx);
                }
                ctx.set_timer(TICK_EVERY, TICK);
            }
            BOOKMARK => {
                self.send_bookmarks(ctx);
                ctx.set_timer(self.cfg.bookmark_interval, BOOKMARK);
            }
            COMPACT => {
                self.compact_tick(ctx);
                ctx.set_timer(self.cfg.compaction_interval, COMPACT);
            }
            EVENT_SWEEP => {
                self.sweep_events(ctx);
                ctx.set_timer(Duration::from_secs(60), EVENT_SWEEP);
            }
            _ => {}
        }
    }
}
