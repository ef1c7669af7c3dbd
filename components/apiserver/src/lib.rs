//! kube-apiserver for kubesim: the wire protocol its clients speak ([`protocol`]), and the
//! apiserver actor built on the simulated etcd.

pub mod protocol;

pub use protocol::{
    ApiEnvelope, ApiMessage, ApiReply, ApiRequest, ApiResponse, DeleteOptions, EventType,
    GetOptions, ListOptions, ObjectList, PatchType, Preconditions, PropagationPolicy,
    ResourceVersionMatch, StatusError, StatusReason, Subresource, UserInfo, Verb, WatchEndReason,
    WatchEvent,
};
