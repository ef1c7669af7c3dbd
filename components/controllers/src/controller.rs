//! What one controller inside kube-controller-manager is to the manager: a set of informers it
//! reads, handlers that turn informer notifications into work-queue keys, and a level-based
//! `reconcile(key)` that reads the caches and asks for API writes.
//!
//! Follows the shape of every controller under `pkg/controller/*` (event handlers enqueue
//! keys, `syncHandler(key)` reconciles). The difference is that a write here is not a
//! blocking call: reconcile returns [`Write`]s, the manager sends them, and a controller that
//! needs the outcome (the ReplicaSet controller's slow-start batches, its expectations) gets
//! it in [`Controller::on_write_result`]. To keep "a key is synced by one worker at a time and
//! sees its own writes" as upstream's blocking calls give it, the manager does not reconcile a
//! key again while writes made for it are in flight, nor before the caches have caught up with
//! the resourceVersions those writes returned (see `manager.rs`).

use std::sync::Arc;

use api::{Kind, Object, SharedObject};
use apiserver::{
    ApiReply, ApiRequest, DeleteOptions, PatchType, Preconditions, Subresource, UserInfo, Verb,
};
use client::{ClientError, InformerFactory, Notification};
use sim::{Duration, Time};
use thiserror::Error;

/// Why a reconcile failed; the key is retried with the queue's rate limiter.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ReconcileError {
    #[error("invalid key {0:?}: expected namespace/name")]
    BadKey(String),
    #[error("{0}")]
    Invalid(String),
}

/// What a write is for, so that its outcome can be given back to the right bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Nothing to track beyond success or failure.
    Plain,
    /// A pod create counted in the owner's creation expectations.
    CreatePod,
    /// A pod delete counted in the owner's deletion expectations (the pod's key).
    DeletePod(String),
    /// An Event: never gates the owner key, failures are ignored.
    Event,
}

/// One API write a reconcile asks for.
#[derive(Clone, Debug)]
pub struct Write {
    pub request: ApiRequest,
    /// The controller's queue key the write is made for.
    pub owner: String,
    pub purpose: Purpose,
}

impl Write {
    fn new(kind: Kind, namespace: &str, name: &str, verb: Verb, owner: &str) -> Write {
        Write {
            request: ApiRequest::new(0, UserInfo::admin(), kind, verb)
                .in_namespace(namespace)
                .named(name),
            owner: owner.to_string(),
            purpose: Purpose::Plain,
        }
    }

    pub fn create(obj: Object, owner: &str) -> Write {
        let (kind, ns) = (obj.kind(), obj.namespace().to_string());
        Write::new(kind, &ns, "", Verb::Create(Arc::new(obj)), owner)
    }

    /// PUT guarded by the object's resourceVersion.
    pub fn update(obj: Object, owner: &str) -> Write {
        let (kind, ns, name) = (
            obj.kind(),
            obj.namespace().to_string(),
            obj.name().to_string(),
        );
        Write::new(kind, &ns, &name, Verb::Update(Arc::new(obj)), owner)
    }

    /// PUT of `/status`, guarded by the object's resourceVersion.
    pub fn update_status(obj: Object, owner: &str) -> Write {
        let mut w = Write::update(obj, owner);
        w.request.subresource = Some(Subresource::Status);
        w
    }

    pub fn patch(
        kind: Kind,
        namespace: &str,
        name: &str,
        patch: serde_json::Value,
        owner: &str,
    ) -> Write {
        let verb = Verb::Patch {
            patch_type: PatchType::Merge,
            patch: Arc::new(patch),
        };
        Write::new(kind, namespace, name, verb, owner)
    }

    /// DELETE with the object's uid as precondition (what controllers send, so that a
    /// same-named successor is never deleted by mistake).
    pub fn delete(obj: &Object, owner: &str) -> Write {
        let opts = DeleteOptions {
            preconditions: Some(Preconditions {
                uid: Some(obj.uid().to_string()).filter(|u| !u.is_empty()),
                resource_version: None,
            }),
            ..Default::default()
        };
        Write::new(
            obj.kind(),
            obj.namespace(),
            obj.name(),
            Verb::Delete(opts),
            owner,
        )
    }

    pub fn delete_with(obj: &Object, opts: DeleteOptions, owner: &str) -> Write {
        Write::new(
            obj.kind(),
            obj.namespace(),
            obj.name(),
            Verb::Delete(opts),
            owner,
        )
    }

    pub fn purpose(mut self, purpose: Purpose) -> Write {
        self.purpose = purpose;
        self
    }
}

/// What a reconcile or a handler may read and ask for.
pub struct Cx<'a> {
    pub caches: &'a InformerFactory,
    /// The host's clock.
    pub now: Time,
    pub writes: &'a mut Vec<Write>,
    /// Keys to requeue after a delay (e.g. minReadySeconds), with the delay.
    pub requeue: &'a mut Vec<(String, Duration)>,
    /// Log lines (`client::klog::line`), written to the manager's log after the callback.
    pub logs: &'a mut Vec<String>,
}

impl Cx<'_> {
    /// `klog.InfoS` from the upstream source `file`.
    pub fn info(&mut self, file: &str, msg: &str, pairs: &[(&str, &str)]) {
        self.logs.push(client::klog::line(
            client::klog::Severity::Info,
            file,
            msg,
            pairs,
        ));
    }
}

impl Cx<'_> {
    /// Objects of `kind` in the shared cache (empty when the informer is not registered).
    pub fn cache(&self, kind: Kind) -> Option<&client::Indexer> {
        self.caches.get(kind).map(|i| i.indexer())
    }

    pub fn get(&self, kind: Kind, namespace: &str, name: &str) -> Option<SharedObject> {
        self.cache(kind)?.get_by_name(namespace, name).cloned()
    }

    /// What a `ClaimPods`/`ClaimReplicaSets` looks at: the objects of `kind` in `namespace`
    /// that the owner with `uid` controls, plus the namespace's orphans (objects controlled
    /// by another owner are skipped by a claim anyway), in name order. Upstream lists the
    /// whole namespace on every sync; reading two indices instead keeps a sync O(own
    /// children) when a namespace holds thousands, with the same outcome. Falls back to the
    /// namespace when the informer lacks either index.
    pub fn owned_and_orphans(&self, kind: Kind, namespace: &str, uid: &str) -> Vec<SharedObject> {
        let Some(cache) = self.cache(kind) else {
            return Vec::new();
        };
        let lister = cache.lister();
        let (Ok(mut owned), Ok(orphans)) =
            (lister.controlled_by(uid), lister.orphans_in(namespace))
        else {
            return lister.list_namespaced(namespace, &api::selector::Selector::everything());
        };
        owned.retain(|o| o.namespace() == namespace);
        if orphans.is_empty() {
            // The controller-uid index yields keys in order, and one namespace's keys sort as
            // its names do.
            return owned;
        }
        owned.extend(orphans);
        owned.sort_unstable_by(|a, b| a.name().cmp(b.name()));
        owned
    }
}

/// One controller run by the manager.
pub trait Controller {
    /// The name kube-controller-manager gives it (`--controllers`), e.g. `replicaset`.
    fn name(&self) -> &'static str;
    /// The informers it reads (registered with the shared factory before it starts).
    fn kinds(&self) -> &'static [Kind];
    /// Keys to queue for a cache change.
    fn on_notification(&mut self, kind: Kind, n: &Notification, cx: &mut Cx<'_>) -> Vec<String>;
    /// Reconciles one key.
    fn reconcile(&mut self, key: &str, cx: &mut Cx<'_>) -> Result<client::Action, ReconcileError>;
    /// A write made for `owner` ended.
    fn on_write_result(
        &mut self,
        owner: &str,
        purpose: &Purpose,
        result: &Result<ApiReply, ClientError>,
        cx: &mut Cx<'_>,
    ) {
        let _ = (owner, purpose, result, cx);
    }
    /// A periodic tick (the node lifecycle controller's monitor period); keys to queue.
    fn tick_period(&self) -> Option<Duration> {
        None
    }
    fn on_tick(&mut self, cx: &mut Cx<'_>) -> Vec<String> {
        let _ = cx;
        Vec::new()
    }
    /// Whether the manager holds this controller's keys until the informers have caught up
    /// with the writes made for them (only the planted-bug switch turns it off).
    fn waits_for_caches(&self) -> bool {
        true
    }
    /// Forgets in-memory state (leadership lost: the process restarts).
    fn reset(&mut self);
}

/// Splits a queue key, as a reconcile error when malformed.
pub fn split(key: &str) -> Result<(&str, &str), ReconcileError> {
    client::split_key(key).map_err(|_| ReconcileError::BadKey(key.to_string()))
}
