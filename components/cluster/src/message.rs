//! `ClusterMsg`: the one message enum of a whole-cluster simulation (`Sim<ClusterMsg>`). It
//! embeds each component's own message enum and implements each component's envelope trait,
//! so a component stays generic over the cluster's message type and never names the others.
//!
//! Embedded today: etcd (`Etcd`) and kube-apiserver (`Api`). etcd stores the apiserver's
//! [`StoredValue`]: the shared typed object for what the apiserver writes, and raw bytes for
//! what `etcdctl put` writes. [`value_bytes`] is what a person sees of a value (`etcdctl get`):
//! objects as JSON, as kube-apiserver stores them with `--storage-media-type=application/json`
//! (its default is protobuf, whose bytes are not readable anyway).

use apiserver::{ApiEnvelope, ApiMessage, StoredValue};
use sim::{Message, TraceHasher};
use store::server::{EtcdEnvelope, EtcdMessage};

/// The values etcd stores in this cluster.
pub type EtcdValue = StoredValue;

/// The bytes of a stored value as etcdctl prints them: raw bytes as written, an object as its
/// JSON encoding (without resourceVersion, which Kubernetes never stores: it is the key's mod
/// revision), the compactor's revision as the decimal string `compact.go` writes.
pub fn value_bytes(value: &EtcdValue) -> Vec<u8> {
    match value {
        StoredValue::Raw(b) => b.to_vec(),
        StoredValue::Revision(r) => r.to_string().into_bytes(),
        StoredValue::Object(o) => serde_json::to_vec(&**o).unwrap_or_default(),
    }
}

/// Every message that crosses the simulated network of a cluster.
#[derive(Clone, Debug)]
pub enum ClusterMsg {
    /// Raft between members, and client traffic to a member.
    Etcd(EtcdMessage<EtcdValue>),
    /// API requests, responses and watch events between clients and kube-apiservers.
    Api(ApiMessage),
}

impl Message for ClusterMsg {
    fn trace_digest(&self, h: &mut TraceHasher) {
        match self {
            ClusterMsg::Etcd(m) => {
                // A component tag first, so two components' digests can never collide.
                h.write_u64(1);
                m.trace_digest(h);
            }
            ClusterMsg::Api(m) => {
                h.write_u64(2);
                m.trace_digest(h);
            }
        }
    }

    fn trace_label(&self) -> String {
        match self {
            ClusterMsg::Etcd(m) => m.trace_label(),
            ClusterMsg::Api(m) => m.trace_label(),
        }
    }

    fn wire_size(&self) -> u64 {
        match self {
            ClusterMsg::Etcd(m) => m.wire_size(),
            ClusterMsg::Api(m) => m.wire_size(),
        }
    }
}

impl EtcdEnvelope<EtcdValue> for ClusterMsg {
    fn wrap(m: EtcdMessage<EtcdValue>) -> Self {
        ClusterMsg::Etcd(m)
    }

    fn unwrap_etcd(self) -> Result<EtcdMessage<EtcdValue>, Self> {
        match self {
            ClusterMsg::Etcd(m) => Ok(m),
            other => Err(other),
        }
    }
}

impl ApiEnvelope for ClusterMsg {
    fn wrap_api(m: ApiMessage) -> Self {
        ClusterMsg::Api(m)
    }

    fn unwrap_api(self) -> Result<ApiMessage, Self> {
        match self {
            ClusterMsg::Api(m) => Ok(m),
            other => Err(other),
        }
    }
}
