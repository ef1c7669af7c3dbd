//! `ClusterMsg`: the one message enum of a whole-cluster simulation (`Sim<ClusterMsg>`). It
//! embeds each component's own message enum and implements each component's envelope trait,
//! so a component stays generic over the cluster's message type and never names the others.
//!
//! Only etcd is embedded today. kube-apiserver joins as a second variant (`Api(ApiMessage)`
//! with `ApiEnvelope`) when it runs in the cluster; that also switches [`EtcdValue`] to the
//! apiserver's `StoredValue`, which first needs a raw-bytes variant so that `etcdctl put`
//! can still store what it is given, and a printable encoding for `etcdctl get`.

use sim::{Message, TraceHasher};
use store::mvcc::Bytes;
use store::server::{EtcdEnvelope, EtcdMessage};

/// The values etcd stores in this cluster. Opaque bytes until the apiserver stores its typed
/// objects; one alias so that switch touches one line.
pub type EtcdValue = Bytes;

/// Every message that crosses the simulated network of a cluster.
#[derive(Clone, Debug)]
pub enum ClusterMsg {
    /// Raft between members, and client traffic to a member.
    Etcd(EtcdMessage<EtcdValue>),
}

impl Message for ClusterMsg {
    fn trace_digest(&self, h: &mut TraceHasher) {
        match self {
            ClusterMsg::Etcd(m) => {
                // A component tag first, so two components' digests can never collide.
                h.write_u64(1);
                m.trace_digest(h);
            }
        }
    }

    fn trace_label(&self) -> String {
        match self {
            ClusterMsg::Etcd(m) => m.trace_label(),
        }
    }

    fn wire_size(&self) -> u64 {
        match self {
            ClusterMsg::Etcd(m) => m.wire_size(),
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
        }
    }
}
