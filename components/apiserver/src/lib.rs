//! kube-apiserver for kubesim: the wire protocol its clients speak ([`protocol`]), and the
//! apiserver actor ([`server::KubeApiServer`]) built on the simulated etcd.
//!
//! Modules: [`protocol`] (requests, replies, Status errors, watch events, `ApiEnvelope`),
//! [`server`] (the actor: request handling, writes through `GuaranteedUpdate`, watch, start,
//! compaction, bootstrap), [`cache`] (the watch cache), [`storage`] (keys, stored values, etcd
//! transactions), [`admission`], [`eviction`] (the `pods/eviction` subresource), [`nodeport`]
//! (NodePort allocation), [`rbac`] (authorizer and bootstrap policy), [`authz_cache`] (its decisions remembered), [`validation`] (what
//! `components/api` does not validate yet), [`objects`] (per-kind spec/status rules and
//! timestamps), [`patch`] (merge, strategic merge, JSON patch), [`status_patch`] (a kubelet's
//! pod status patch applied to the typed pod), [`own_writes`] (one
//! resourceVersion copy of each own write, shared by its reply and the watch cache).

// `StatusError` is the API's error type (a `metav1.Status`); it is returned by value as
// Kubernetes' handlers do, and requests are not a hot loop where its size would matter.
#![allow(clippy::result_large_err)]

pub mod admission;
pub mod authz_cache;
pub mod cache;
pub mod delta;
pub mod eviction;
pub mod nodeport;
pub mod objects;
pub mod own_writes;
pub mod patch;
pub mod protocol;
pub mod rbac;
pub mod request_latency;
pub mod server;
pub mod status_patch;
pub mod storage;
pub mod testkit;
pub mod validation;

pub use protocol::{
    ApiEnvelope, ApiMessage, ApiReply, ApiRequest, ApiResponse, DeleteOptions, EventType,
    GetOptions, ListOptions, ObjectList, PatchType, Preconditions, PropagationPolicy,
    ResourceVersionMatch, StatusError, StatusReason, Subresource, UserInfo, Verb, WatchEndReason,
    WatchEvent,
};
pub use server::{ApiServerConfig, KubeApiServer, ReplyTo, ServerStats};
pub use storage::StoredValue;
