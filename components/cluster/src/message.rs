//! `ClusterMsg`: the one message enum of a whole-cluster simulation (`Sim<ClusterMsg>`). It
//! embeds each component's own message enum and implements each component's envelope trait,
//! so a component stays generic over the cluster's message type and never names the others.
//!
//! Embedded: etcd (`Etcd`), kube-apiserver (`Api`), the kubelet ↔ container runtime calls
//! (`Runtime`) and Service traffic on the pod network (`Traffic`). etcd stores the apiserver's
//! [`StoredValue`]: the encoded object for what the apiserver writes, and raw bytes for what
//! `etcdctl put` writes. [`value_bytes`] is what a person sees of a value (`etcdctl get`):
//! objects as JSON, as kube-apiserver stores them with `--storage-media-type=application/json`
//! (its default is protobuf, whose bytes are not readable anyway; the bytes stored here are
//! MessagePack, so they are decoded and shown as JSON).

use apiserver::{ApiEnvelope, ApiMessage, StoredValue};
use net::{TrafficEnvelope, TrafficMessage};
use runtime::{RuntimeEnvelope, RuntimeMessage};
use sim::{Message, TraceHasher};
use store::server::{EtcdEnvelope, EtcdMessage, RaftMessage, raft_trace_digest, raft_trace_label};

/// The values etcd stores in this cluster.
pub type EtcdValue = StoredValue;

/// The bytes of a stored value as etcdctl prints them: raw bytes as written, an object as its
/// JSON encoding (without resourceVersion, which Kubernetes never stores: it is the key's mod
/// revision), the compactor's revision as the decimal string `compact.go` writes.
pub fn value_bytes(value: &EtcdValue) -> Vec<u8> {
    match value {
        StoredValue::Raw(b) => b.to_vec(),
        StoredValue::Revision(r) => r.to_string().into_bytes(),
        StoredValue::Object(o) => o
            .decode()
            .ok()
            .and_then(|o| serde_json::to_vec(&o).ok())
            .unwrap_or_default(),
    }
}

/// Every message that crosses the simulated network of a cluster.
///
/// Kept small (40 bytes): the engine moves every message through its queue several times, and
/// at 112 bytes (etcd's client messages, the runtime's) those copies were a visible share of
/// each event. So the large, rarer variants are boxed, and Raft traffic, half of all events and
/// boxed inside `EtcdMessage` already, has its own variant instead of a second box.
#[derive(Clone, Debug)]
pub enum ClusterMsg {
    /// Raft between members (`EtcdMessage::Raft`).
    Raft(Box<RaftMessage<EtcdValue>>),
    /// Every other etcd message: client traffic to a member.
    Etcd(Box<EtcdMessage<EtcdValue>>),
    /// API requests, responses and watch events between clients and kube-apiservers.
    Api(ApiMessage),
    /// A kubelet's calls to its node's runtime, and the runtime's replies and events.
    Runtime(Box<RuntimeMessage>),
    /// Simulated Service requests and their responses.
    Traffic(TrafficMessage),
}

// The size the comment above promises; a new variant that grows it should be boxed.
const _: () = assert!(std::mem::size_of::<ClusterMsg>() <= 40);

impl Message for ClusterMsg {
    fn trace_digest(&self, h: &mut TraceHasher) {
        match self {
            // The same digest as `Etcd(EtcdMessage::Raft(m))`: traces did not change when Raft
            // got its own variant.
            ClusterMsg::Raft(m) => {
                h.write_u64(1);
                raft_trace_digest(m, h);
            }
            ClusterMsg::Etcd(m) => {
                // A component tag first, so two components' digests can never collide.
                h.write_u64(1);
                m.trace_digest(h);
            }
            ClusterMsg::Api(m) => {
                h.write_u64(2);
                m.trace_digest(h);
            }
            ClusterMsg::Runtime(m) => {
                h.write_u64(3);
                m.trace_digest(h);
            }
            ClusterMsg::Traffic(m) => {
                h.write_u64(4);
                m.trace_digest(h);
            }
        }
    }

    fn trace_label(&self) -> String {
        match self {
            ClusterMsg::Raft(m) => raft_trace_label(m),
            ClusterMsg::Etcd(m) => m.trace_label(),
            ClusterMsg::Api(m) => m.trace_label(),
            ClusterMsg::Runtime(m) => m.trace_label(),
            ClusterMsg::Traffic(m) => m.trace_label(),
        }
    }

    fn wire_size(&self) -> u64 {
        match self {
            // As `EtcdMessage::wire_size`, which does not count etcd's traffic.
            ClusterMsg::Raft(_) => 0,
            ClusterMsg::Etcd(m) => m.wire_size(),
            ClusterMsg::Api(m) => m.wire_size(),
            ClusterMsg::Runtime(m) => m.wire_size(),
            ClusterMsg::Traffic(m) => m.wire_size(),
        }
    }
}

impl EtcdEnvelope<EtcdValue> for ClusterMsg {
    fn wrap(m: EtcdMessage<EtcdValue>) -> Self {
        match m {
            EtcdMessage::Raft(r) => ClusterMsg::Raft(r),
            m => ClusterMsg::Etcd(Box::new(m)),
        }
    }

    fn unwrap_etcd(self) -> Result<EtcdMessage<EtcdValue>, Self> {
        match self {
            ClusterMsg::Raft(r) => Ok(EtcdMessage::Raft(r)),
            ClusterMsg::Etcd(m) => Ok(*m),
            other => Err(other),
        }
    }
}

impl client::exit::ExitEnvelope for ClusterMsg {
    fn process_exit(namespace: &str, pod: &str, container: &str, exit_code: i32) -> Option<Self> {
        Some(ClusterMsg::Runtime(Box::new(
            RuntimeMessage::ProcessExited(runtime::ProcessExit {
                namespace: namespace.to_string(),
                pod: pod.to_string(),
                container: container.to_string(),
                exit_code,
            }),
        )))
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

impl RuntimeEnvelope for ClusterMsg {
    fn wrap_runtime(m: RuntimeMessage) -> Self {
        ClusterMsg::Runtime(Box::new(m))
    }

    fn unwrap_runtime(self) -> Result<RuntimeMessage, Self> {
        match self {
            ClusterMsg::Runtime(m) => Ok(*m),
            other => Err(other),
        }
    }
}

impl TrafficEnvelope for ClusterMsg {
    fn wrap_traffic(m: TrafficMessage) -> Self {
        ClusterMsg::Traffic(m)
    }

    fn unwrap_traffic(self) -> Result<TrafficMessage, Self> {
        match self {
            ClusterMsg::Traffic(m) => Ok(m),
            other => Err(other),
        }
    }
}
