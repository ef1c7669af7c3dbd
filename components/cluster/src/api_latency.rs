//! The API call latency SLO's figures (FIDELITY F41: p99 of mutating calls on single objects
//! ≤ 1 s, per resource and verb), summed over the cluster's kube-apiservers as a Prometheus
//! query over every instance sums them.

use std::collections::BTreeMap;

use apiserver::request_latency::{CallKey, LatencyHistogram};
use sim::Duration;

use crate::cluster::Cluster;

/// The SLO's bound on the 99th percentile of each resource and verb.
pub const API_CALL_SLO: Duration = Duration::from_secs(1);

/// A call's resource as the metric's `resource` and `subresource` labels read together:
/// `pods`, `pods/binding`, `deployments.apps`.
pub fn resource_name((kind, sub, _): &CallKey) -> String {
    let resource = kind.info().qualified_resource();
    match sub {
        Some(s) => format!("{resource}/{}", s.as_str()),
        None => resource,
    }
}

impl Cluster {
    /// Every apiserver's histograms, merged per (resource, subresource, verb). An apiserver
    /// that restarted counts from its restart, as its `/metrics` would.
    pub fn api_call_latencies(&self) -> BTreeMap<CallKey, LatencyHistogram> {
        let mut all: BTreeMap<CallKey, LatencyHistogram> = BTreeMap::new();
        for a in self.apiservers() {
            let Some(server) = self.apiserver(a.actor) else {
                continue;
            };
            for (key, h) in server.request_latencies() {
                all.entry(*key).or_default().merge(h);
            }
        }
        all
    }
}
