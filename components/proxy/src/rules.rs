//! A node's rule table: what kube-proxy last programmed, built purely from Services and
//! EndpointSlices. The same table answers the data path (which backend does a connection to
//! `ClusterIP:port` or `NodePort` reach) and the renderers (`iptables-save`, `iptables -L`,
//! `ipvsadm -Ln`), so what a learner reads on a node is what its clients get.
//!
//! Follows `syncProxyRules` in `pkg/proxy/iptables/proxier.go` and `pkg/proxy/ipvs/proxier.go`
//! for what exists: one entry per Service port with a cluster IP; its endpoints are the
//! usable ones ([`crate::service_port::usable_endpoints`]) in `ip:port` text order, each with
//! its `KUBE-SEP-` chain and, in iptables mode, the statistic threshold of its rule; a port
//! with no usable endpoint is rejected (iptables' `REJECT` in the filter table; in IPVS mode
//! a virtual server with no real server, which answers ICMP port unreachable).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use net::Endpoint;

use crate::chain_name;
use crate::probability;
use crate::service_port::{
    ENDPOINT_TEXT_MAX, EndpointInfo, Protocol, ServicePortInfo, ServicePortName, endpoints_by_port,
    service_ports, text_order_key, usable_endpoints,
};

/// kube-proxy's `--proxy-mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ProxyMode {
    /// The default on Linux and on kind.
    #[default]
    Iptables,
    Ipvs,
}

/// One endpoint as programmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointRule {
    pub endpoint: Endpoint,
    /// `KUBE-SEP-…`.
    pub chain: String,
    /// The statistic match's threshold (`k / 2^31`); `None` on the last rule.
    pub threshold: Option<u32>,
}

/// One Service port as programmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRules {
    pub info: ServicePortInfo,
    /// `KUBE-SVC-…`.
    pub chain: String,
    /// `KUBE-EXT-…` (used when the port has a NodePort).
    pub external_chain: String,
    /// Empty: the Service port has no usable endpoint and is rejected.
    pub endpoints: Vec<EndpointRule>,
}

impl ServiceRules {
    pub fn has_endpoints(&self) -> bool {
        !self.endpoints.is_empty()
    }
}

/// A node's whole programmed state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleTable {
    pub mode: ProxyMode,
    /// kube-proxy's `--cluster-cidr` (kind: 10.244.0.0/16), for the masquerade rules.
    pub cluster_cidr: net::ClusterCidr,
    /// The node's own address, for IPVS NodePort virtual servers (`None`: not shown).
    pub node_ip: Option<Ipv4Addr>,
    /// Shared with the other nodes that programmed the same inputs ([`crate::rule_memo`]).
    ports: BTreeMap<ServicePortName, Arc<ServiceRules>>,
}

impl RuleTable {
    /// An empty table (what a node has before kube-proxy's first sync).
    pub fn empty(mode: ProxyMode) -> Self {
        RuleTable {
            mode,
            cluster_cidr: net::ClusterCidr::KIND,
            node_ip: None,
            ports: BTreeMap::new(),
        }
    }

    /// The table for these Services and EndpointSlices.
    pub fn build<'a>(
        mode: ProxyMode,
        services: impl IntoIterator<Item = &'a Service>,
        slices: impl IntoIterator<Item = &'a EndpointSlice>,
    ) -> Self {
        let endpoints = endpoints_by_port(slices);
        let mut table = RuleTable::empty(mode);
        for svc in services {
            for info in service_ports(svc) {
                let all: &[EndpointInfo] = endpoints.get(&info.name).map_or(&[], Vec::as_slice);
                table.insert(info, &usable_endpoints(all));
            }
        }
        table
    }

    /// Adds (or replaces) one Service port with these endpoints, sorted as kube-proxy sorts.
    pub fn insert(&mut self, info: ServicePortInfo, endpoints: &[Endpoint]) {
        let rules = make_rules(info, endpoints, None);
        self.ports.insert(rules.info.name.clone(), Arc::new(rules));
    }

    /// Reprograms Service `namespace/name` alone from its object (`None`: deleted) and its
    /// EndpointSlices: the partial sync a change to one Service needs. Chain names of
    /// endpoints that stay are reused, not rehashed. Returns whether the table changed.
    pub fn update_service<'a>(
        &mut self,
        namespace: &str,
        name: &str,
        svc: Option<&Service>,
        slices: impl IntoIterator<Item = &'a EndpointSlice>,
    ) -> bool {
        let fresh: Vec<Arc<ServiceRules>> = service_rules(svc, slices, |n| self.port(n))
            .into_iter()
            .map(Arc::new)
            .collect();
        self.replace_service(namespace, name, &fresh)
    }

    /// Programs `fresh` as all of Service `namespace/name`'s ports (empty: the Service is
    /// gone). Returns whether the table changed.
    pub fn replace_service(
        &mut self,
        namespace: &str,
        name: &str,
        fresh: &[Arc<ServiceRules>],
    ) -> bool {
        // Names sort by namespace, then name, then port: the Service's ports are one range.
        let first = ServicePortName::new(namespace, name, "");
        let old: Vec<ServicePortName> = self
            .ports
            .range(first..)
            .map(|(k, _)| k)
            .take_while(|k| k.namespace == namespace && k.name == name)
            .cloned()
            .collect();
        let unchanged = old.len() == fresh.len()
            && fresh.iter().all(|f| {
                self.ports
                    .get(&f.info.name)
                    .is_some_and(|p| Arc::ptr_eq(p, f) || p == f)
            });
        if unchanged {
            return false;
        }
        for k in old {
            self.ports.remove(&k);
        }
        self.ports
            .extend(fresh.iter().map(|r| (r.info.name.clone(), r.clone())));
        true
    }

    /// Every programmed Service port, by name.
    pub fn ports(&self) -> impl Iterator<Item = &ServiceRules> + '_ {
        self.ports.values().map(AsRef::as_ref)
    }

    pub fn port(&self, name: &ServicePortName) -> Option<&ServiceRules> {
        self.ports.get(name).map(AsRef::as_ref)
    }

    pub fn len(&self) -> usize {
        self.ports.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ports.is_empty()
    }

    /// The first port (in `spec.ports` order) of Service `namespace/name`: what a client that
    /// names only the Service connects to.
    pub fn service(&self, namespace: &str, name: &str) -> Option<&ServiceRules> {
        self.ports
            .range(ServicePortName::new(namespace, name, "")..)
            .map(|(_, r)| r.as_ref())
            .take_while(|r| r.info.name.namespace == namespace && r.info.name.name == name)
            .min_by_key(|r| r.info.index)
    }

    /// The Service port behind `ClusterIP:port` (`KUBE-SERVICES`' match).
    pub fn by_cluster_ip(
        &self,
        ip: Ipv4Addr,
        port: u16,
        protocol: Protocol,
    ) -> Option<&ServiceRules> {
        self.ports()
            .find(|r| r.info.cluster_ip == ip && r.info.port == port && r.info.protocol == protocol)
    }

    /// The Service port behind a NodePort (`KUBE-NODEPORTS`' match).
    pub fn by_node_port(&self, port: u16, protocol: Protocol) -> Option<&ServiceRules> {
        self.ports()
            .find(|r| r.info.node_port == Some(port) && r.info.protocol == protocol)
    }

    /// Number of endpoint rules (`KUBE-SEP-` chains) in the table.
    pub fn endpoint_count(&self) -> usize {
        self.ports.values().map(|r| r.endpoints.len()).sum()
    }
}

/// The rules of each port of Service `svc` (`None`: none) for these slices, in port-name
/// order; chain names are taken from `previous` for a port programmed before (see
/// [`make_rules`]).
pub fn service_rules<'a, 'p>(
    svc: Option<&Service>,
    slices: impl IntoIterator<Item = &'a EndpointSlice>,
    previous: impl Fn(&ServicePortName) -> Option<&'p ServiceRules>,
) -> Vec<ServiceRules> {
    let Some(svc) = svc else {
        return Vec::new();
    };
    let endpoints = endpoints_by_port(slices);
    // Keyed by name as the table is (a repeated port name: the last one wins).
    let mut rules: BTreeMap<ServicePortName, ServiceRules> = BTreeMap::new();
    for info in service_ports(svc) {
        let all: &[EndpointInfo] = endpoints.get(&info.name).map_or(&[], Vec::as_slice);
        let previous = previous(&info.name);
        let r = make_rules(info, &usable_endpoints(all), previous);
        rules.insert(r.info.name.clone(), r);
    }
    rules.into_values().collect()
}

/// The rules of one Service port; endpoint chain names are taken from `previous` (the
/// same port as programmed before) when the endpoint and protocol are unchanged.
fn make_rules(
    info: ServicePortInfo,
    endpoints: &[Endpoint],
    previous: Option<&ServiceRules>,
) -> ServiceRules {
    let mut eps: Vec<([u8; ENDPOINT_TEXT_MAX], Endpoint)> =
        endpoints.iter().map(|e| (text_order_key(e), *e)).collect();
    eps.sort_by_key(|a| a.0);
    eps.dedup_by(|later, first| later.0 == first.0);
    let n = eps.len();
    let reuse = previous.filter(|p| p.info.protocol == info.protocol);
    // The previous rules are in the same text order (they were made here), so one walk
    // finds every endpoint that stays. A name is only a cache of its hash: an endpoint the
    // walk misses is hashed again, to the same name.
    let mut before = reuse
        .map_or(&[][..], |p| p.endpoints.as_slice())
        .iter()
        .peekable();
    let mut known = |key: &[u8; ENDPOINT_TEXT_MAX]| {
        while let Some(r) = before.peek() {
            match text_order_key(&r.endpoint).cmp(key) {
                std::cmp::Ordering::Less => {
                    before.next();
                }
                std::cmp::Ordering::Equal => return Some(r.chain.clone()),
                std::cmp::Ordering::Greater => return None,
            }
        }
        None
    };
    let rules = eps
        .into_iter()
        .enumerate()
        .map(|(i, (key, endpoint))| EndpointRule {
            chain: known(&key).unwrap_or_else(|| {
                chain_name::endpoint_chain(&info.name, info.protocol, &endpoint)
            }),
            endpoint,
            threshold: probability::threshold(i, n),
        })
        .collect();
    let (chain, external_chain) = match reuse {
        Some(p) => (p.chain.clone(), p.external_chain.clone()),
        None => (
            chain_name::service_chain(&info.name, info.protocol),
            chain_name::external_chain(&info.name, info.protocol),
        ),
    };
    ServiceRules {
        chain,
        external_chain,
        info,
        endpoints: rules,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{service, slice};

    #[test]
    fn ready_endpoints_only_sorted_as_text_with_probabilities() {
        let svc = service("default", "web", "10.96.0.50", &[("", 80, None)], None);
        let s = slice(
            "default",
            "web-abc",
            "web",
            &[("", 8080)],
            &[
                ("10.244.1.9", true, false),
                ("10.244.1.10", true, false),
                ("10.244.2.11", true, false),
                ("10.244.2.12", false, false),
                ("10.244.2.13", false, true),
            ],
        );
        let t = RuleTable::build(ProxyMode::Iptables, [&svc], [&s]);
        let r = t.service("default", "web").expect("programmed");
        let got: Vec<(String, Option<String>)> = r
            .endpoints
            .iter()
            .map(|e| {
                (
                    e.endpoint.to_string(),
                    e.threshold.map(probability::format_threshold),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "10.244.1.10:8080".to_string(),
                    Some("0.33333333349".to_string())
                ),
                (
                    "10.244.1.9:8080".to_string(),
                    Some("0.50000000000".to_string())
                ),
                ("10.244.2.11:8080".to_string(), None),
            ]
        );
        assert_eq!(
            r.chain,
            chain_name::service_chain(&r.info.name, Protocol::Tcp)
        );
    }

    #[test]
    fn no_ready_endpoint_falls_back_to_serving_terminating_then_to_reject() {
        let svc = service("default", "web", "10.96.0.50", &[("", 80, None)], None);
        // Terminating but still serving: used while nothing is ready.
        let s = slice(
            "default",
            "web-abc",
            "web",
            &[("", 80)],
            &[("10.244.1.2", false, true)],
        );
        let t = RuleTable::build(ProxyMode::Iptables, [&svc], [&s]);
        assert_eq!(t.service("default", "web").unwrap().endpoints.len(), 1);
        let t = RuleTable::build(ProxyMode::Iptables, [&svc], []);
        assert!(!t.service("default", "web").unwrap().has_endpoints());
    }

    #[test]
    fn a_partial_update_equals_a_full_build() {
        let web = service("default", "web", "10.96.0.50", &[("", 80, None)], None);
        let db = service("default", "db", "10.96.0.51", &[("", 5432, None)], None);
        let s1 = slice(
            "default",
            "web-1",
            "web",
            &[("", 80)],
            &[("10.244.1.2", true, false)],
        );
        let s2 = slice(
            "default",
            "web-1",
            "web",
            &[("", 80)],
            &[("10.244.1.2", true, false), ("10.244.1.3", true, false)],
        );
        let mut t = RuleTable::build(ProxyMode::Iptables, [&web, &db], [&s1]);
        assert!(t.update_service("default", "web", Some(&web), [&s2]));
        assert_eq!(t, RuleTable::build(ProxyMode::Iptables, [&web, &db], [&s2]));
        assert!(!t.update_service("default", "web", Some(&web), [&s2]));
        assert!(t.update_service("default", "web", None, []));
        assert_eq!(t, RuleTable::build(ProxyMode::Iptables, [&db], []));
    }

    #[test]
    fn headless_services_are_not_proxied_and_ports_match_slices_by_name() {
        let headless = service("default", "db", "None", &[("", 5432, None)], None);
        let two = service(
            "default",
            "app",
            "10.96.3.3",
            &[("http", 80, Some(30080)), ("metrics", 9090, None)],
            Some(60),
        );
        let s = slice(
            "default",
            "app-1",
            "app",
            &[("http", 8080), ("metrics", 9091)],
            &[("10.244.0.5", true, false)],
        );
        let t = RuleTable::build(ProxyMode::Iptables, [&headless, &two], [&s]);
        assert_eq!(t.len(), 2);
        let http = t.service("default", "app").unwrap();
        assert_eq!(http.info.name.port, "http");
        assert_eq!(http.endpoints[0].endpoint.port, 8080);
        assert_eq!(http.info.affinity_seconds, Some(60));
        assert_eq!(
            t.by_node_port(30080, Protocol::Tcp).unwrap().info.name.port,
            "http"
        );
        let metrics = t
            .by_cluster_ip(Ipv4Addr::new(10, 96, 3, 3), 9090, Protocol::Tcp)
            .unwrap();
        assert_eq!(metrics.endpoints[0].endpoint.port, 9091);
    }
}
