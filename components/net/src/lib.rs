//! The pod network every node shares, as kind sets it up: the cluster's pod CIDR
//! 10.244.0.0/16 cut into one /24 per node (`node.spec.podCIDR`, handed out in node order by
//! kube-controller-manager's node IPAM controller), and the messages of simulated Service
//! traffic ([`TrafficMessage`]): a client on a node sends a request to a ClusterIP or NodePort,
//! that node's kube-proxy rules pick a backend pod, and the container runtime holding that pod
//! IP answers it.
//!
//! Simplifications: IPv4 only; no CNI plugin (addresses are routed by their /24: the node
//! that owns a pod IP is computed from the address, as kindnet's routes make it in kind); no
//! TCP handshakes or packet-level modelling, one request is one message each way over the
//! simulated network, so partitions, loss and latency apply to it.

use std::fmt;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};
use sim::{Duration, Message, TraceHasher};

/// The cluster pod CIDR (kind's default `podSubnet`).
pub const POD_CIDR: (Ipv4Addr, u8) = (Ipv4Addr::new(10, 244, 0, 0), 16);

/// Nodes one /16 can number: one /24 each.
pub const MAX_NODES: usize = 256;

/// The /24 of the `index`-th node (0-based, in the order nodes join): 10.244.INDEX.0/24, as
/// the node IPAM controller assigns them. `None` past [`MAX_NODES`].
pub fn node_pod_cidr(index: usize) -> Option<PodCidr> {
    u8::try_from(index).ok().map(|i| PodCidr { third_octet: i })
}

/// One node's /24 of the pod network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PodCidr {
    third_octet: u8,
}

impl PodCidr {
    /// The node index this /24 belongs to.
    pub fn node_index(self) -> usize {
        usize::from(self.third_octet)
    }

    /// The `n`-th usable pod address (1-based: .0 is the network, .1 the node's bridge
    /// gateway in kindnet, so pods start at .2 as they do on kind). `None` past .254.
    pub fn pod_ip(self, n: u8) -> Option<Ipv4Addr> {
        let host = n.checked_add(1)?;
        (2..=254)
            .contains(&host)
            .then(|| Ipv4Addr::new(10, 244, self.third_octet, host))
    }

    /// Does this /24 hold `ip`?
    pub fn contains(self, ip: Ipv4Addr) -> bool {
        let o = ip.octets();
        o[0] == 10 && o[1] == 244 && o[2] == self.third_octet
    }

    /// The /24 that holds a pod address, if it is one.
    pub fn of(ip: Ipv4Addr) -> Option<PodCidr> {
        let o = ip.octets();
        (o[0] == 10 && o[1] == 244).then_some(PodCidr { third_octet: o[2] })
    }
}

impl fmt::Display for PodCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "10.244.{}.0/24", self.third_octet)
    }
}

/// A transport address: an IP and a TCP port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Endpoint {
    pub ip: Ipv4Addr,
    pub port: u16,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.ip, self.port)
    }
}

/// How a request ended, as the client sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// A container answered (an HTTP status code: 200 for a healthy server).
    Answered { status: u16 },
    /// Nothing listens there: the pod is gone, or its container is not running
    /// (`connection refused`).
    Refused,
    /// kube-proxy rejected it: the Service has no ready endpoints (iptables' `REJECT` rule:
    /// `no route to host` for the client).
    Rejected,
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Answered { status } if *status < 500)
    }
}

/// Simulated Service traffic on the pod network.
#[derive(Clone, Debug)]
pub enum TrafficMessage {
    /// To the node holding `to.ip` (after the sender's kube-proxy rules translated the
    /// Service address): a request with an id unique per sender.
    Request {
        id: u64,
        to: Endpoint,
        /// The Service address the client used, for the logs and the report.
        service: Endpoint,
    },
    /// Back to the sender.
    Response {
        id: u64,
        outcome: Outcome,
        /// Time the server spent on it (the image's latency), apart from the network's.
        served_in: Duration,
    },
}

/// A cluster's message type carries [`TrafficMessage`]s.
pub trait TrafficEnvelope: Message {
    fn wrap_traffic(m: TrafficMessage) -> Self;
    /// The traffic message inside, or the message itself when it is something else.
    fn unwrap_traffic(self) -> Result<TrafficMessage, Self>;
}

impl Message for TrafficMessage {
    fn trace_digest(&self, h: &mut TraceHasher) {
        match self {
            TrafficMessage::Request { id, to, service } => {
                h.write_u64(301);
                h.write_u64(*id);
                h.write_u64(u64::from(u32::from(to.ip)) << 16 | u64::from(to.port));
                h.write_u64(u64::from(u32::from(service.ip)) << 16 | u64::from(service.port));
            }
            TrafficMessage::Response {
                id,
                outcome,
                served_in,
            } => {
                h.write_u64(302);
                h.write_u64(*id);
                h.write_u64(match outcome {
                    Outcome::Answered { status } => u64::from(*status),
                    Outcome::Refused => 1,
                    Outcome::Rejected => 2,
                });
                h.write_u64(served_in.as_nanos());
            }
        }
    }

    fn trace_label(&self) -> String {
        match self {
            TrafficMessage::Request { to, .. } => format!("http request {to}"),
            TrafficMessage::Response { outcome, .. } => format!("http response {outcome:?}"),
        }
    }

    fn wire_size(&self) -> u64 {
        // A small HTTP request or response with headers.
        200
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_cidrs_and_pod_addresses_follow_kind() {
        let c = node_pod_cidr(2).expect("third node");
        assert_eq!(c.to_string(), "10.244.2.0/24");
        assert_eq!(c.pod_ip(1), Some(Ipv4Addr::new(10, 244, 2, 2)));
        assert_eq!(c.pod_ip(253), Some(Ipv4Addr::new(10, 244, 2, 254)));
        assert_eq!(c.pod_ip(254), None);
        assert_eq!(PodCidr::of(Ipv4Addr::new(10, 244, 2, 9)), Some(c));
        assert_eq!(PodCidr::of(Ipv4Addr::new(10, 96, 0, 1)), None);
        assert!(node_pod_cidr(256).is_none());
    }
}
