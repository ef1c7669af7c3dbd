//! kube-proxy's view of the API: Service ports (`ServicePortName` → cluster IP, port,
//! protocol, NodePort, session affinity) and their endpoints gathered from EndpointSlices.
//!
//! Follows `pkg/proxy/service.go` (`newBaseServiceInfo`), `pkg/proxy/endpointslicecache.go`
//! and `pkg/proxy/topology.go` (`CategorizeEndpoints`):
//! - a Service without a cluster IP (headless, `None`, empty) or of type ExternalName is not
//!   proxied;
//! - a service port is named `namespace/name:port` (`namespace/name` when the port has no
//!   name); session affinity ClientIP keeps its `timeoutSeconds` (10800 by default, F38);
//! - endpoints come from every IPv4 EndpointSlice labelled `kubernetes.io/service-name`,
//!   matched to the Service port by port name; an unset `ready`/`serving` condition counts as
//!   true and an unset `terminating` as false; the same `ip:port` in two slices counts once;
//! - the endpoints used are the ready ones; when none is ready, the serving-and-terminating
//!   ones (the Cluster policy fallback of `CategorizeEndpoints`); else none (REJECT).
//!
//! Simplifications: IPv4 only; `internalTrafficPolicy`/`externalTrafficPolicy: Local` and
//! topology hints are treated as Cluster (every node uses every endpoint); no
//! `service.kubernetes.io/service-proxy-name` filtering; LoadBalancer and external IPs are
//! not programmed (NodePort and ClusterIP are).

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use net::Endpoint;

/// `service.spec.sessionAffinityConfig.clientIP.timeoutSeconds` default (F38).
pub const DEFAULT_AFFINITY_TIMEOUT_SECONDS: u32 = 10_800;

/// The label that ties an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// A Service port's transport protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// From the API's spelling (`TCP` when unset, as defaulting makes it).
    pub fn parse(s: Option<&str>) -> Option<Protocol> {
        match s.unwrap_or("TCP") {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }

    /// As iptables and the chain hashes spell it.
    pub fn lower(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }

    /// As ipvsadm spells it.
    pub fn upper(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

/// `namespace/name:port`: what kube-proxy keys everything by.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServicePortName {
    pub namespace: String,
    pub name: String,
    /// The port's name; empty for a single unnamed port.
    pub port: String,
}

impl ServicePortName {
    pub fn new(namespace: &str, name: &str, port: &str) -> Self {
        ServicePortName {
            namespace: namespace.to_string(),
            name: name.to_string(),
            port: port.to_string(),
        }
    }

    /// `namespace/name`, the Service this port belongs to.
    pub fn service(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

impl fmt::Display for ServicePortName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.port.is_empty() {
            write!(f, "{}/{}", self.namespace, self.name)
        } else {
            write!(f, "{}/{}:{}", self.namespace, self.name, self.port)
        }
    }
}

/// One proxied Service port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePortInfo {
    pub name: ServicePortName,
    /// Position in `spec.ports` (a client that names only the Service uses the first).
    pub index: usize,
    pub cluster_ip: Ipv4Addr,
    pub port: u16,
    pub protocol: Protocol,
    pub node_port: Option<u16>,
    /// ClientIP affinity's timeout in seconds; `None` without affinity.
    pub affinity_seconds: Option<u32>,
}

/// The proxied ports of a Service (none for headless and ExternalName Services).
pub fn service_ports(svc: &Service) -> Vec<ServicePortInfo> {
    let namespace = svc.metadata.namespace.as_deref().unwrap_or("default");
    let name = svc.metadata.name.as_deref().unwrap_or("");
    let Some(spec) = &svc.spec else {
        return Vec::new();
    };
    if spec.type_.as_deref() == Some("ExternalName") {
        return Vec::new();
    }
    let Some(cluster_ip) = spec
        .cluster_ip
        .as_deref()
        .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
    else {
        return Vec::new();
    };
    let affinity_seconds = (spec.session_affinity.as_deref() == Some("ClientIP")).then(|| {
        spec.session_affinity_config
            .as_ref()
            .and_then(|c| c.client_ip.as_ref())
            .and_then(|c| c.timeout_seconds)
            .and_then(|t| u32::try_from(t).ok())
            .unwrap_or(DEFAULT_AFFINITY_TIMEOUT_SECONDS)
    });
    let mut out = Vec::new();
    for (index, p) in spec.ports.iter().flatten().enumerate() {
        let (Some(protocol), Ok(port)) = (
            Protocol::parse(p.protocol.as_deref()),
            u16::try_from(p.port),
        ) else {
            continue;
        };
        out.push(ServicePortInfo {
            name: ServicePortName::new(namespace, name, p.name.as_deref().unwrap_or("")),
            index,
            cluster_ip,
            port,
            protocol,
            node_port: p
                .node_port
                .and_then(|n| u16::try_from(n).ok())
                .filter(|n| *n > 0),
            affinity_seconds,
        });
    }
    out
}

/// One endpoint of a Service port as kube-proxy sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointInfo {
    pub endpoint: Endpoint,
    pub ready: bool,
    pub serving: bool,
    pub terminating: bool,
}

/// The length of the longest `ip:port` text (`255.255.255.255:65535`).
pub const ENDPOINT_TEXT_MAX: usize = 21;

/// `ip:port` as text, padded with zero bytes: keys compare as the texts do (no text byte is
/// 0, so a text that is a prefix of another sorts first either way). kube-proxy orders
/// endpoints by this text; sorting a Service's thousand endpoints by key instead of by a
/// `String` each saves an allocation and a format per endpoint.
pub fn text_order_key(e: &Endpoint) -> [u8; ENDPOINT_TEXT_MAX] {
    let mut key = [0u8; ENDPOINT_TEXT_MAX];
    let at = net::text::put_ipv4(&mut key, 0, e.ip);
    key[at] = b':';
    net::text::put_decimal(&mut key, at + 1, e.port);
    key
}

/// Every endpoint of every Service port named by `slices`, sorted by `ip:port` as text (the
/// order kube-proxy writes them in), duplicates dropped (the first met, in slice order, stays).
pub fn endpoints_by_port<'a>(
    slices: impl IntoIterator<Item = &'a EndpointSlice>,
) -> BTreeMap<ServicePortName, Vec<EndpointInfo>> {
    let mut met: BTreeMap<ServicePortName, Vec<([u8; ENDPOINT_TEXT_MAX], EndpointInfo)>> =
        BTreeMap::new();
    for slice in slices {
        if slice.address_type != "IPv4" {
            continue;
        }
        let namespace = slice.metadata.namespace.as_deref().unwrap_or("default");
        let Some(service) = slice
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(SERVICE_NAME_LABEL))
        else {
            continue;
        };
        for port in slice.ports.iter().flatten() {
            let Some(number) = port.port.and_then(|p| u16::try_from(p).ok()) else {
                continue;
            };
            let spn = ServicePortName::new(namespace, service, port.name.as_deref().unwrap_or(""));
            let list = met.entry(spn).or_default();
            for ep in slice.endpoints.iter().flatten() {
                let conditions = ep.conditions.as_ref();
                let ready = conditions.and_then(|c| c.ready).unwrap_or(true);
                let serving = conditions.and_then(|c| c.serving).unwrap_or(true);
                let terminating = conditions.and_then(|c| c.terminating).unwrap_or(false);
                // One address per endpoint in practice; kube-proxy uses the first.
                let Some(ip) = ep
                    .addresses
                    .first()
                    .and_then(|a| a.parse::<Ipv4Addr>().ok())
                else {
                    continue;
                };
                let endpoint = Endpoint { ip, port: number };
                list.push((
                    text_order_key(&endpoint),
                    EndpointInfo {
                        endpoint,
                        ready,
                        serving,
                        terminating,
                    },
                ));
            }
        }
    }
    met.into_iter()
        .map(|(name, mut list)| {
            // A stable sort keeps equal endpoints in the order met, so the first one stays.
            list.sort_by_key(|a| a.0);
            list.dedup_by(|later, first| later.0 == first.0);
            (name, list.into_iter().map(|(_, e)| e).collect())
        })
        .collect()
}

/// The endpoints Cluster traffic uses: the ready ones, else the serving-terminating ones.
pub fn usable_endpoints(all: &[EndpointInfo]) -> Vec<Endpoint> {
    let ready: Vec<Endpoint> = all.iter().filter(|e| e.ready).map(|e| e.endpoint).collect();
    if !ready.is_empty() {
        return ready;
    }
    all.iter()
        .filter(|e| e.serving && e.terminating)
        .map(|e| e.endpoint)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{service, slice};

    #[test]
    fn text_order_keys_sort_as_the_texts_do() {
        // Octets and ports of every digit count, so texts of every length meet.
        let parts: [u16; 7] = [0, 1, 9, 10, 99, 100, 255];
        let ports: [u16; 6] = [1, 9, 80, 443, 8080, 65535];
        let mut eps = Vec::new();
        for a in [1u8, 10, 192] {
            for c in parts {
                for d in parts {
                    for port in ports {
                        let ip = Ipv4Addr::new(a, 244, c as u8, d as u8);
                        eps.push(Endpoint { ip, port });
                    }
                }
            }
        }
        for e in &eps {
            let key = text_order_key(e);
            let text = e.to_string();
            assert_eq!(&key[..text.len()], text.as_bytes());
            assert!(key[text.len()..].iter().all(|b| *b == 0));
        }
        let mut by_text = eps.clone();
        by_text.sort_by_key(|e| e.to_string());
        let mut by_key = eps;
        by_key.sort_by_key(text_order_key);
        assert_eq!(by_key, by_text);
        let widest = Endpoint {
            ip: Ipv4Addr::new(255, 255, 255, 255),
            port: 65535,
        };
        assert_eq!(text_order_key(&widest).as_slice(), b"255.255.255.255:65535");
    }

    #[test]
    fn an_endpoint_in_two_slices_counts_once_as_first_met() {
        let a = slice(
            "default",
            "web-1",
            "web",
            &[("", 80)],
            &[("10.244.1.2", false, false), ("10.244.1.10", true, false)],
        );
        let b = slice(
            "default",
            "web-2",
            "web",
            &[("", 80)],
            &[
                ("10.244.1.9", true, false),
                ("10.244.1.2", true, false),
                ("10.244.1.9", false, false),
            ],
        );
        let got = endpoints_by_port([&a, &b]);
        let list: Vec<(String, bool)> = got[&ServicePortName::new("default", "web", "")]
            .iter()
            .map(|e| (e.endpoint.to_string(), e.ready))
            .collect();
        let want = [
            ("10.244.1.10:80", true),
            ("10.244.1.2:80", false),
            ("10.244.1.9:80", true),
        ];
        assert_eq!(list, want.map(|(e, r)| (e.to_string(), r)));
    }

    #[test]
    fn client_ip_affinity_defaults_to_three_hours() {
        let mut svc = service("default", "web", "10.96.0.5", &[("", 80, None)], None);
        let spec = svc.spec.as_mut().unwrap();
        spec.session_affinity = Some("ClientIP".into());
        assert_eq!(service_ports(&svc)[0].affinity_seconds, Some(10_800));
        let none = service("default", "web", "10.96.0.5", &[("", 80, None)], None);
        assert_eq!(service_ports(&none)[0].affinity_seconds, None);
        let name = &service_ports(&none)[0].name;
        assert_eq!(name.to_string(), "default/web");
        assert_eq!(
            ServicePortName::new("a", "b", "http").to_string(),
            "a/b:http"
        );
        let mut external = none.clone();
        external.spec.as_mut().unwrap().type_ = Some("ExternalName".into());
        assert!(service_ports(&external).is_empty());
    }
}
