//! The pod network every node shares, and the messages of simulated Service traffic.
//!
//! The pod network is the cluster CIDR (`--cluster-cidr` of kube-controller-manager and
//! kube-proxy, kind's `podSubnet`) cut into one /24 per node (`--node-cidr-mask-size`, 24 for
//! IPv4), handed out in node order as `node.spec.podCIDR` by kube-controller-manager's node
//! IPAM controller ([`ClusterCidr`], [`PodCidr`]). kind uses 10.244.0.0/16, which numbers 256
//! nodes; larger clusters configure a wider one, and [`ClusterCidr::for_nodes`] picks it the
//! way kube-up's `get-cluster-ip-range` does for GCE (`cluster/gce/config-common.sh`):
//! 10.64.0.0/14 up to 1,000 nodes, /13 above 1,000, /12 above 2,000, /11 above 4,000 (8,192
//! nodes, ending just below kind's Service CIDR 10.96.0.0/16). Clusters that fit in kind's
//! /16 keep it, so every small scenario's addresses are kind's.
//!
//! [`TrafficMessage`]: a client on a node sends a request to a ClusterIP or NodePort, that
//! node's kube-proxy rules pick a backend pod, and the container runtime holding that pod IP
//! answers it.
//!
//! Simplifications: IPv4 only; the node mask is always /24 (kube-controller-manager's default;
//! kubesim has no `--node-cidr-mask-size`); no CNI plugin (addresses are routed by their /24:
//! the node that owns a pod IP is computed from the address, as kindnet's routes make it in
//! kind); no TCP handshakes or packet-level modelling, one request is one message each way
//! over the simulated network, so partitions, loss and latency apply to it.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub mod text;
use sim::{Duration, Message, TraceHasher};

/// kube-controller-manager's `--node-cidr-mask-size` for IPv4: every node gets a /24.
pub const NODE_CIDR_MASK_SIZE: u8 = 24;

/// kind's Service CIDR (`serviceSubnet`, 10.96.0.0/16), which a pod network must not overlap.
const SERVICE_CIDR: (u32, u8) = (u32::from_be_bytes([10, 96, 0, 0]), 16);
/// kind's docker network (172.18.0.0/16), where the nodes' own addresses live.
const NODE_NETWORK: (u32, u8) = (u32::from_be_bytes([172, 18, 0, 0]), 16);

fn mask(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn overlaps(a: (u32, u8), b: (u32, u8)) -> bool {
    let m = mask(a.1.min(b.1));
    a.0 & m == b.0 & m
}

/// Why a cluster CIDR was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("expected a cluster CIDR like 10.244.0.0/16, found {0:?}")]
    Syntax(String),
    #[error(
        "the cluster CIDR {0} must be between /8 and /{NODE_CIDR_MASK_SIZE} (each node takes a /{NODE_CIDR_MASK_SIZE})"
    )]
    Prefix(String),
    #[error("the cluster CIDR {0} has host bits set: expected {1}")]
    HostBits(String, String),
    #[error(
        "the cluster CIDR {0} overlaps {1}, the {2}; pick a range outside it (e.g. 10.64.0.0/11)"
    )]
    Overlap(String, String, &'static str),
    #[error(
        "no default cluster CIDR holds {0} nodes (10.64.0.0/11 holds 8192); choose one wide enough"
    )]
    TooManyNodes(usize),
}

/// The cluster's pod network (`--cluster-cidr`), cut into one /24 per node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClusterCidr {
    network: u32,
    prefix: u8,
}

impl ClusterCidr {
    /// kind's default `podSubnet`: 10.244.0.0/16, room for 256 nodes.
    pub const KIND: ClusterCidr = ClusterCidr {
        network: u32::from_be_bytes([10, 244, 0, 0]),
        prefix: 16,
    };

    /// A cluster CIDR: the prefix between /8 and /24, no host bits set, and clear of kind's
    /// Service CIDR and docker network.
    pub fn new(address: Ipv4Addr, prefix: u8) -> Result<ClusterCidr, CidrError> {
        let text = format!("{address}/{prefix}");
        if !(8..=NODE_CIDR_MASK_SIZE).contains(&prefix) {
            return Err(CidrError::Prefix(text));
        }
        let network = u32::from(address) & mask(prefix);
        if network != u32::from(address) {
            return Err(CidrError::HostBits(
                text,
                format!("{}/{prefix}", Ipv4Addr::from(network)),
            ));
        }
        for (other, what) in [
            (SERVICE_CIDR, "Service CIDR"),
            (NODE_NETWORK, "nodes' docker network"),
        ] {
            if overlaps((network, prefix), other) {
                let other = format!("{}/{}", Ipv4Addr::from(other.0), other.1);
                return Err(CidrError::Overlap(text, other, what));
            }
        }
        Ok(ClusterCidr { network, prefix })
    }

    /// The pod network a cluster of `nodes` nodes gets when none is configured: kind's /16
    /// while it has room, else kube-up's choice for GCE by node count (see the module doc).
    pub fn for_nodes(nodes: usize) -> Result<ClusterCidr, CidrError> {
        let prefix = match nodes {
            n if n <= ClusterCidr::KIND.node_capacity() => return Ok(ClusterCidr::KIND),
            n if n <= 1000 => 14,
            n if n <= 2000 => 13,
            n if n <= 4000 => 12,
            n if n <= 8192 => 11,
            n => return Err(CidrError::TooManyNodes(n)),
        };
        ClusterCidr::new(Ipv4Addr::new(10, 64, 0, 0), prefix)
    }

    pub fn address(self) -> Ipv4Addr {
        Ipv4Addr::from(self.network)
    }

    pub fn prefix(self) -> u8 {
        self.prefix
    }

    /// How many nodes get a /24 from it.
    pub fn node_capacity(self) -> usize {
        1usize << (NODE_CIDR_MASK_SIZE - self.prefix)
    }

    /// The /24 of the `index`-th node (0-based, in the order nodes join), as the node IPAM
    /// controller assigns them. `None` past [`ClusterCidr::node_capacity`].
    pub fn node_cidr(self, index: usize) -> Option<PodCidr> {
        (index < self.node_capacity()).then(|| PodCidr {
            network: self.network + ((index as u32) << 8),
            index: index as u32,
        })
    }

    /// Does the pod network hold `ip`?
    pub fn contains(self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == self.network
    }

    /// The node /24 that holds a pod address, if it is one.
    pub fn node_of(self, ip: Ipv4Addr) -> Option<PodCidr> {
        self.contains(ip)
            .then(|| self.node_cidr(((u32::from(ip) - self.network) >> 8) as usize))
            .flatten()
    }
}

impl Default for ClusterCidr {
    fn default() -> Self {
        ClusterCidr::KIND
    }
}

impl fmt::Display for ClusterCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address(), self.prefix)
    }
}

impl FromStr for ClusterCidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Self, CidrError> {
        let syntax = || CidrError::Syntax(text.to_string());
        let (ip, prefix) = text.trim().split_once('/').ok_or_else(syntax)?;
        let ip: Ipv4Addr = ip.parse().map_err(|_| syntax())?;
        let prefix: u8 = prefix.parse().map_err(|_| syntax())?;
        if prefix > 32 {
            return Err(syntax());
        }
        ClusterCidr::new(ip, prefix)
    }
}

/// The /24 of the `index`-th node in kind's pod network (10.244.INDEX.0/24); `None` past 256.
/// Larger clusters use [`ClusterCidr::node_cidr`] of their own network.
pub fn node_pod_cidr(index: usize) -> Option<PodCidr> {
    ClusterCidr::KIND.node_cidr(index)
}

/// One node's /24 of the pod network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PodCidr {
    /// The /24's network address.
    network: u32,
    index: u32,
}

impl PodCidr {
    /// The node index this /24 belongs to.
    pub fn node_index(self) -> usize {
        self.index as usize
    }

    /// The `n`-th usable pod address (1-based: .0 is the network, .1 the node's bridge
    /// gateway in kindnet, so pods start at .2 as they do on kind). `None` past .254.
    pub fn pod_ip(self, n: u8) -> Option<Ipv4Addr> {
        let host = n.checked_add(1)?;
        (2..=254)
            .contains(&host)
            .then(|| Ipv4Addr::from(self.network | u32::from(host)))
    }

    /// Does this /24 hold `ip`?
    pub fn contains(self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(NODE_CIDR_MASK_SIZE) == self.network
    }
}

impl fmt::Display for PodCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{NODE_CIDR_MASK_SIZE}", Ipv4Addr::from(self.network))
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
        /// The source address the server sees (after any masquerade on the way), for its
        /// access log. Not in the trace digest: it follows from the sender's state, as `id`
        /// does.
        from: Ipv4Addr,
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
            TrafficMessage::Request {
                id, to, service, ..
            } => {
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
        let kind = ClusterCidr::KIND;
        assert_eq!(kind.node_of(Ipv4Addr::new(10, 244, 2, 9)), Some(c));
        assert_eq!(kind.node_of(Ipv4Addr::new(10, 96, 0, 1)), None);
        assert!(node_pod_cidr(256).is_none());
        assert_eq!(kind.to_string(), "10.244.0.0/16");
    }

    #[test]
    fn large_clusters_get_kube_ups_wider_ranges() {
        assert_eq!(ClusterCidr::for_nodes(256), Ok(ClusterCidr::KIND));
        let chosen = |n| ClusterCidr::for_nodes(n).unwrap().to_string();
        assert_eq!(chosen(257), "10.64.0.0/14");
        assert_eq!(chosen(1001), "10.64.0.0/13");
        assert_eq!(chosen(2001), "10.64.0.0/12");
        assert_eq!(chosen(5001), "10.64.0.0/11");
        assert_eq!(
            ClusterCidr::for_nodes(9000),
            Err(CidrError::TooManyNodes(9000))
        );
        let wide = ClusterCidr::for_nodes(5001).unwrap();
        assert_eq!(wide.node_capacity(), 8192);
        let last = wide.node_cidr(5000).unwrap();
        assert_eq!(last.to_string(), "10.83.136.0/24");
        assert_eq!(last.pod_ip(1), Some(Ipv4Addr::new(10, 83, 136, 2)));
        assert_eq!(wide.node_of(Ipv4Addr::new(10, 83, 136, 7)), Some(last));
        assert_eq!(wide.node_of(Ipv4Addr::new(10, 96, 0, 1)), None);
        assert!(wide.node_cidr(8192).is_none());
    }

    #[test]
    fn cluster_cidrs_are_validated() {
        assert_eq!(
            "10.0.0.0/8".parse::<ClusterCidr>().unwrap_err().to_string(),
            "the cluster CIDR 10.0.0.0/8 overlaps 10.96.0.0/16, the Service CIDR; pick a range outside it (e.g. 10.64.0.0/11)"
        );
        assert!(matches!(
            "10.64.0.1/11".parse::<ClusterCidr>(),
            Err(CidrError::HostBits(..))
        ));
        assert!(matches!(
            "10.64.0.0/25".parse::<ClusterCidr>(),
            Err(CidrError::Prefix(..))
        ));
        assert!(matches!(
            "ten/8".parse::<ClusterCidr>(),
            Err(CidrError::Syntax(..))
        ));
        let c: ClusterCidr = "10.128.0.0/9".parse().unwrap();
        assert_eq!(c.node_capacity(), 32768);
    }
}
