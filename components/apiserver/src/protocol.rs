//! The wire protocol between API clients (kubectl, controllers, scheduler, kubelets, kube-proxy)
//! and kube-apiserver: what an HTTP request to `/api/v1/...` or `/apis/GROUP/VERSION/...` says,
//! as plain values, with no encoding.
//!
//! How it travels. A client opens a sim connection stream to the apiserver actor (named
//! `kube-apiserver` on a control-plane host) and sends [`ApiMessage::Request`]s on it; each is
//! answered by one [`ApiMessage::Response`] with the same `id` on the same stream (many
//! requests may be in flight on one stream, as HTTP/2 multiplexes them; answers may come in any
//! order). A request sent as a datagram is answered with a datagram (it may be lost: the caller
//! needs a timeout). A watch is a request too: its answer is a stream of
//! [`ApiMessage::WatchEvent`]s carrying the request's `id`, on the stream the request came on,
//! until the server ends it with [`ApiMessage::WatchEnd`] (its timeout passed, or it sent an
//! ERROR event), the client sends [`ApiMessage::CancelWatch`], or the stream closes or breaks.
//! A broken stream is how a client learns that its apiserver died or was cut off, as a
//! client-go watch learns it from its HTTP/2 health check.
//!
//! Follows `staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/types.go` (ListOptions,
//! GetOptions, DeleteOptions, Preconditions, Status, StatusReason, WatchEvent) and
//! `staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go` (the constructors of each error
//! and their messages). Simplifications: one version per group (the kind registry's), so a
//! request names a [`Kind`] rather than group/version/resource strings; no dryRun, no
//! server-side apply, no fieldManager; watch bookmarks are always allowed.

use std::fmt;
use std::sync::{Arc, LazyLock};

use api::{Kind, SharedObject};
use sim::{Message, TraceHasher};

/// Who is calling, as the authenticator hands it to admission and authorization
/// (`staging/src/k8s.io/apiserver/pkg/authentication/user`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub groups: Vec<String>,
}

pub const GROUP_MASTERS: &str = "system:masters";
pub const GROUP_AUTHENTICATED: &str = "system:authenticated";
pub const GROUP_NODES: &str = "system:nodes";
pub const GROUP_SERVICE_ACCOUNTS: &str = "system:serviceaccounts";

impl UserInfo {
    /// A person, e.g. `kubectl --as=alice`: in `system:authenticated` only.
    pub fn user(name: impl Into<String>) -> UserInfo {
        UserInfo {
            name: name.into(),
            groups: vec![GROUP_AUTHENTICATED.into()],
        }
    }

    /// A person with extra groups (`--as-group`).
    pub fn user_in(name: impl Into<String>, groups: &[&str]) -> UserInfo {
        let mut u = UserInfo::user(name);
        u.groups.extend(groups.iter().map(|g| g.to_string()));
        u
    }

    /// What kind's admin kubeconfig is: `kubernetes-admin` in `system:masters` (cluster-admin).
    pub fn admin() -> UserInfo {
        UserInfo::user_in("kubernetes-admin", &[GROUP_MASTERS])
    }

    /// `system:serviceaccount:NS:NAME` in `system:serviceaccounts` and
    /// `system:serviceaccounts:NS`.
    pub fn service_account(namespace: &str, name: &str) -> UserInfo {
        UserInfo {
            name: format!("system:serviceaccount:{namespace}:{name}"),
            groups: vec![
                GROUP_SERVICE_ACCOUNTS.into(),
                format!("{GROUP_SERVICE_ACCOUNTS}:{namespace}"),
                GROUP_AUTHENTICATED.into(),
            ],
        }
    }

    /// A kubelet's credential: `system:node:NAME` in `system:nodes`.
    pub fn node(name: &str) -> UserInfo {
        UserInfo {
            name: format!("system:node:{name}"),
            groups: vec![GROUP_NODES.into(), GROUP_AUTHENTICATED.into()],
        }
    }

    /// A control-plane component's own user, e.g. `system:kube-scheduler`,
    /// `system:kube-controller-manager`, `system:kube-proxy`.
    pub fn component(name: &str) -> UserInfo {
        UserInfo::user(name)
    }

    /// Nobody, for a request whose client puts in its own user ([`ApiRequest::user`] is
    /// replaced on sending): one shared value, so building such a request allocates nothing
    /// for its user.
    pub fn unset() -> Arc<UserInfo> {
        static UNSET: LazyLock<Arc<UserInfo>> = LazyLock::new(|| {
            Arc::new(UserInfo {
                name: String::new(),
                groups: Vec::new(),
            })
        });
        UNSET.clone()
    }

    /// The node name when this is a node's credential.
    pub fn node_name(&self) -> Option<&str> {
        if !self.groups.iter().any(|g| g == GROUP_NODES) {
            return None;
        }
        self.name.strip_prefix("system:node:")
    }

    /// `(namespace, name)` when this is a service account.
    pub fn service_account_of(&self) -> Option<(&str, &str)> {
        self.name
            .strip_prefix("system:serviceaccount:")?
            .split_once(':')
    }
}

/// `resourceVersionMatch` (`metav1.ResourceVersionMatch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceVersionMatch {
    /// Any state at least as new as `resourceVersion` (served from the watch cache).
    NotOlderThan,
    /// Exactly the state at `resourceVersion` (served from etcd; 410 if compacted).
    Exact,
}

/// `metav1.ListOptions`, for list and watch. Selectors travel as the text a client puts in the
/// query string; the server parses them and answers 400 BadRequest when they do not parse.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// `labelSelector`, e.g. `app=web,tier!=db`.
    pub label_selector: String,
    /// `fieldSelector`, e.g. `spec.nodeName=kubesim-worker`.
    pub field_selector: String,
    /// `resourceVersion`. List: "" = consistent read (the cache once it has caught up with
    /// etcd's current revision, as since 1.31), "0" = whatever the cache has, "N" = not older
    /// than N. Watch: "" or "0" = start with ADDED events for every current object and then
    /// changes; "N" = every change after N (410 Gone if N has left the cache's window).
    pub resource_version: String,
    /// Accepted but not acted on: lists are always served "not older than" (an `Exact` list
    /// at an old revision is not supported).
    pub resource_version_match: Option<ResourceVersionMatch>,
    /// `limit` for list pagination; 0 means none.
    pub limit: i64,
    /// `continue` token from a previous page.
    pub continue_token: String,
    /// Watch only: the server ends the watch after this many seconds (client-go sends a random
    /// value in [5 min, 10 min)). `None`: the server's own choice.
    pub timeout_seconds: Option<i64>,
    /// Watch only: `allowWatchBookmarks` (the server sends BOOKMARK events about every minute).
    pub allow_watch_bookmarks: bool,
}

/// `metav1.GetOptions`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetOptions {
    /// "" = the latest (from etcd, a quorum read); "0" = from the watch cache.
    pub resource_version: String,
}

/// `metav1.DeletionPropagation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropagationPolicy {
    /// Dependents are deleted by the garbage collector after the owner is gone.
    Background,
    /// The owner gets the `foregroundDeletion` finalizer and stays until its blocking
    /// dependents are gone.
    Foreground,
    /// The owner gets the `orphan` finalizer; the garbage collector strips the owner
    /// references from dependents and then removes the finalizer.
    Orphan,
}

impl PropagationPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PropagationPolicy::Background => "Background",
            PropagationPolicy::Foreground => "Foreground",
            PropagationPolicy::Orphan => "Orphan",
        }
    }
}

/// `metav1.Preconditions`: the delete (or update) fails with 409 unless they hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preconditions {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
}

/// `metav1.DeleteOptions`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// `None`: the object's own (a pod's `terminationGracePeriodSeconds`, default 30). `Some(0)`
    /// with a pod: removed at once (`kubectl delete --grace-period=0 --force`).
    pub grace_period_seconds: Option<i64>,
    /// `None`: the resource's default (Background for everything kubesim serves).
    pub propagation_policy: Option<PropagationPolicy>,
    pub preconditions: Option<Preconditions>,
}

/// The content type of a PATCH.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/strategic-merge-patch+json`: a merge patch where the lists Kubernetes
    /// marks with a patch merge key (containers by name, ...) merge element-wise.
    StrategicMerge,
    /// `application/json-patch+json` (RFC 6902).
    Json,
}

/// A subresource in the path (`/pods/x/status`, `/pods/x/binding`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subresource {
    /// Writes change only `.status` (and metadata labels/annotations are left alone); the
    /// main resource's writes leave `.status` alone.
    Status,
    /// `pods/binding`: what [`Verb::Bind`] writes (RBAC names it so).
    Binding,
    /// `pods/eviction`: what [`Verb::Evict`] creates.
    Eviction,
}

impl Subresource {
    pub fn as_str(self) -> &'static str {
        match self {
            Subresource::Status => "status",
            Subresource::Binding => "binding",
            Subresource::Eviction => "eviction",
        }
    }
}

/// What to do, with the verb's own inputs. The RBAC verb is [`Verb::name`].
#[derive(Clone, Debug, PartialEq)]
pub enum Verb {
    Get(GetOptions),
    List(ListOptions),
    /// A long-running request: answered by WatchEvents, not a Response (unless it fails
    /// before it starts, e.g. 400 for a bad selector or 403).
    Watch(ListOptions),
    /// POST. `generateName` without `name` gets a random 5-character suffix.
    Create(SharedObject),
    /// PUT. The object's `metadata.resourceVersion`, when set, must match the stored one
    /// (else 409 Conflict); empty means an unconditional update.
    Update(SharedObject),
    /// PATCH with a JSON document of the given type.
    Patch {
        patch_type: PatchType,
        patch: Arc<serde_json::Value>,
    },
    Delete(DeleteOptions),
    /// DELETE on the collection: every object matching the selectors in the namespace.
    DeleteCollection {
        list: ListOptions,
        delete: DeleteOptions,
    },
    /// `POST pods/NAME/binding` (the scheduler): sets `spec.nodeName` once; 409 if already
    /// bound.
    Bind {
        node_name: String,
    },
    /// `POST pods/NAME/eviction` (policy/v1 Eviction, `kubectl drain`): deletes the pod with
    /// the eviction's delete options (see [`crate::eviction`]).
    Evict(DeleteOptions),
}

impl Verb {
    /// The verb as RBAC and audit name it.
    pub fn name(&self) -> &'static str {
        match self {
            Verb::Get(_) => "get",
            Verb::List(_) => "list",
            Verb::Watch(_) => "watch",
            Verb::Create(_) | Verb::Bind { .. } | Verb::Evict(_) => "create",
            Verb::Update(_) => "update",
            Verb::Patch { .. } => "patch",
            Verb::Delete(_) => "delete",
            Verb::DeleteCollection { .. } => "deletecollection",
        }
    }

    /// A mutating call on a single object: what the API call latency SLO covers.
    pub fn writes_one_object(&self) -> bool {
        matches!(
            self,
            Verb::Create(_)
                | Verb::Update(_)
                | Verb::Patch { .. }
                | Verb::Delete(_)
                | Verb::Evict(_)
                | Verb::Bind { .. }
        )
    }
}

/// One API request.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiRequest {
    /// Chosen by the client, unique among its requests in flight on one stream; echoed in the
    /// response and in every watch event.
    pub id: u64,
    /// Shared: a client sends every request as the same user.
    pub user: Arc<UserInfo>,
    pub verb: Verb,
    /// The resource (group, version, plural and scope come from the kind registry).
    pub kind: Kind,
    /// Empty for cluster-scoped resources and for list/watch across all namespaces.
    pub namespace: String,
    /// Empty for collection verbs (list, watch, create, deletecollection). A watch with a
    /// name watches that one object (`fieldSelector=metadata.name=NAME`).
    pub name: String,
    pub subresource: Option<Subresource>,
}

impl ApiRequest {
    pub fn new(id: u64, user: impl Into<Arc<UserInfo>>, kind: Kind, verb: Verb) -> ApiRequest {
        ApiRequest {
            id,
            user: user.into(),
            verb,
            kind,
            namespace: String::new(),
            name: String::new(),
            subresource: None,
        }
    }

    pub fn in_namespace(mut self, namespace: impl Into<String>) -> ApiRequest {
        self.namespace = namespace.into();
        self
    }

    pub fn named(mut self, name: impl Into<String>) -> ApiRequest {
        self.name = name.into();
        self
    }

    pub fn subresource(mut self, sub: Subresource) -> ApiRequest {
        self.subresource = Some(sub);
        self
    }
}

/// A list answer (`PodList` etc.).
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectList {
    /// `metadata.resourceVersion` of the list: a watch from it sees every later change.
    pub resource_version: String,
    pub items: Vec<SharedObject>,
    /// `metadata.continue`: non-empty when more pages remain.
    pub continue_token: String,
    pub remaining_item_count: Option<i64>,
}

/// A successful answer.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiReply {
    Object(SharedObject),
    List(ObjectList),
    /// A delete's answer: the object as it is now. `gone: false` means it still exists with a
    /// deletionTimestamp (graceful deletion or finalizers pending): kubectl prints
    /// `pod "x" deleted` either way.
    Deleted {
        object: SharedObject,
        gone: bool,
    },
    /// `deletecollection`: how many objects were deleted or marked for deletion.
    DeletedCollection {
        count: usize,
    },
}

pub use api::status::{
    OPTIMISTIC_LOCK_MESSAGE, StatusCause, StatusDetails, StatusError, StatusReason,
};

/// 410 Expired `too old resource version: 5 (120)` (requested, the newest revision no longer
/// available), `errors.NewResourceExpired` in the cacher, which client-go's reflector matches
/// to relist.
pub fn too_old_resource_version(requested: i64, oldest: i64) -> StatusError {
    StatusError::resource_expired(format!("too old resource version: {requested} ({oldest})"))
}

/// 504 when etcd did not answer in time.
pub fn storage_timeout() -> StatusError {
    StatusError::server_timeout(
        "request did not complete within requested timeout - context deadline exceeded",
    )
}

/// 503 while the apiserver is starting (its watch cache has not been filled yet).
pub fn not_ready() -> StatusError {
    StatusError {
        code: 503,
        reason: StatusReason::ServiceUnavailable,
        message: "apiserver is starting: the watch cache is not initialized yet".into(),
        details: None,
    }
}

/// Answer to one request.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiResponse {
    pub id: u64,
    pub result: Result<ApiReply, StatusError>,
}

/// `watch.EventType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
    /// Only `metadata.resourceVersion` of the object is meaningful: the watcher has seen
    /// everything up to it.
    Bookmark,
    /// The watch failed (e.g. 410 too old resource version); the server ends it next.
    Error,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
            EventType::Bookmark => "BOOKMARK",
            EventType::Error => "ERROR",
        }
    }
}

/// One watch event. The same `Arc<WatchEvent>` is sent to every watcher it concerns.
#[derive(Clone, Debug, PartialEq)]
pub struct WatchEvent {
    pub event_type: EventType,
    /// ADDED/MODIFIED: the new state; DELETED: the last state, with the resourceVersion of the
    /// deletion; BOOKMARK and ERROR: `None` (a bookmark's point is `resource_version`).
    pub object: Option<SharedObject>,
    /// The event's resourceVersion (etcd revision), also in the object's metadata.
    pub resource_version: i64,
    /// ERROR only.
    pub error: Option<StatusError>,
}

/// Why a watch ended (the server closes the HTTP response).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchEndReason {
    /// `timeoutSeconds` passed: the client re-watches from its last resourceVersion.
    Timeout,
    /// After an ERROR event.
    Error,
    /// The client asked ([`ApiMessage::CancelWatch`]).
    Cancelled,
    /// The watcher fell too far behind (its buffer filled), as the cacher drops slow watchers.
    TooSlow,
}

/// Everything said between API clients and the apiserver.
#[derive(Clone, Debug)]
pub enum ApiMessage {
    Request(Arc<ApiRequest>),
    Response(Arc<ApiResponse>),
    /// One event of the watch started by request `id`.
    WatchEvent {
        id: u64,
        event: Arc<WatchEvent>,
    },
    /// The watch started by request `id` is over; no more events follow.
    WatchEnd {
        id: u64,
        reason: WatchEndReason,
    },
    /// Client to server: stop the watch started by request `id`.
    CancelWatch {
        id: u64,
    },
}

/// A message type that can carry [`ApiMessage`]: the cluster-wide enum implements it (method
/// names differ from `store::server::EtcdEnvelope`'s so one enum can implement both).
pub trait ApiEnvelope: Message {
    fn wrap_api(m: ApiMessage) -> Self;
    /// The API message inside, or the message itself when it is something else.
    fn unwrap_api(self) -> Result<ApiMessage, Self>;
}

impl Message for ApiMessage {
    fn trace_digest(&self, h: &mut TraceHasher) {
        match self {
            ApiMessage::Request(r) => {
                h.write_u64(101);
                h.write_u64(r.id);
                h.write_str(r.verb.name());
                h.write_u64(r.kind as u64);
                h.write_str(&r.namespace);
                h.write_str(&r.name);
            }
            ApiMessage::Response(r) => {
                h.write_u64(102);
                h.write_u64(r.id);
                match &r.result {
                    Ok(_) => h.write_u64(0),
                    Err(e) => h.write_u64(u64::from(e.code)),
                }
            }
            ApiMessage::WatchEvent { id, event } => {
                h.write_u64(103);
                h.write_u64(*id);
                h.write_u64(event.event_type as u64);
                h.write_u64(event.resource_version as u64);
            }
            ApiMessage::WatchEnd { id, reason } => {
                h.write_u64(104);
                h.write_u64(*id);
                h.write_u64(*reason as u64);
            }
            ApiMessage::CancelWatch { id } => {
                h.write_u64(105);
                h.write_u64(*id);
            }
        }
    }

    fn trace_label(&self) -> String {
        self.to_string()
    }
}

impl ApiEnvelope for ApiMessage {
    fn wrap_api(m: ApiMessage) -> Self {
        m
    }
    fn unwrap_api(self) -> Result<ApiMessage, Self> {
        Ok(self)
    }
}

impl fmt::Display for ApiMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiMessage::Request(r) => {
                write!(f, "api {} {} {}", r.verb.name(), r.kind.info().plural, r.id)?;
                if !r.namespace.is_empty() {
                    write!(f, " -n {}", r.namespace)?;
                }
                if !r.name.is_empty() {
                    write!(f, " {}", r.name)?;
                }
                Ok(())
            }
            ApiMessage::Response(r) => match &r.result {
                Ok(_) => write!(f, "api response {} ok", r.id),
                Err(e) => write!(f, "api response {} {} {}", r.id, e.code, e.reason.as_str()),
            },
            ApiMessage::WatchEvent { id, event } => {
                write!(
                    f,
                    "api watch {id} {} rv={}",
                    event.event_type.as_str(),
                    event.resource_version
                )
            }
            ApiMessage::WatchEnd { id, reason } => write!(f, "api watch {id} end {reason:?}"),
            ApiMessage::CancelWatch { id } => write!(f, "api watch {id} cancel"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gone_message() {
        let e = too_old_resource_version(5, 120);
        assert_eq!(
            (e.code, e.message.as_str()),
            (410, "too old resource version: 5 (120)")
        );
    }

    #[test]
    fn identities() {
        let sa = UserInfo::service_account("kube-system", "deployment-controller");
        assert_eq!(
            sa.name,
            "system:serviceaccount:kube-system:deployment-controller"
        );
        assert!(
            sa.groups
                .contains(&"system:serviceaccounts:kube-system".to_string())
        );
        assert_eq!(
            sa.service_account_of(),
            Some(("kube-system", "deployment-controller"))
        );
        assert_eq!(
            UserInfo::node("kubesim-worker").node_name(),
            Some("kubesim-worker")
        );
        assert_eq!(UserInfo::user("system:node:x").node_name(), None);
    }
}
