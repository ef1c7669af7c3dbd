//! `Expect`/`Always` checks on Kubernetes' latency SLIs (FIDELITY F41), read the way
//! `kubesim bench cluster --slo` reads them:
//! - `pod_startup`: a [`cluster::pod_startup`] probe on the terminal host watches every pod
//!   outside kind's addon namespaces (`kube-system`, `local-path-storage`) from the moment the
//!   cluster is up, as ClusterLoader2 watches the test's pods rather than the system's (it is
//!   installed only when a step asks for it: its list and watch are traffic, so the run
//!   differs from one without it); the percentile is nearest-rank over the pods seen created
//!   and then Running;
//! - `api_calls`: every kube-apiserver's `apiserver_request_duration_seconds` (always kept,
//!   no traffic), each resource and verb on its own, read as `histogram_quantile` reads
//!   buckets; the check holds when the worst of them is within the bound.
//!
//! With nothing measured yet (no pod Running, no mutating call) an `Expect` fails, since it
//! asserts a figure that does not exist; an `Always` holds until there is one.

use cluster::Cluster;
use cluster::api_latency::resource_name;
use cluster::pod_startup::{PodSelector, percentile};
use sim::{ActorId, SimError};

use crate::scenario::{Check, Percentile, Sli, Step};
use crate::units::Duration;

/// Whether any step bounds pod startup latency, i.e. the run needs the probe.
pub(super) fn wants_pod_startup(steps: &[Step]) -> bool {
    steps.iter().any(|s| {
        matches!(
            s,
            Step::Expect(Check::Latency {
                of: Sli::PodStartup,
                ..
            }) | Step::Always(Check::Latency {
                of: Sli::PodStartup,
                ..
            })
        )
    })
}

/// Where the pods that `pod_startup` checks count live: anywhere but the namespaces of the
/// cluster's own addons.
const OUTSIDE_ADDONS: &str =
    "metadata.namespace!=kube-system,metadata.namespace!=local-path-storage";

/// The probe for `pod_startup` checks. Pods that exist when its first list arrives are not
/// counted, so install it once the cluster is up.
pub(super) fn install_probe(cluster: &mut Cluster) -> Result<ActorId, SimError> {
    cluster.install_pod_startup_probe(PodSelector {
        field_selector: OUTSIDE_ADDONS.into(),
        ..PodSelector::default()
    })
}

/// One SLI's percentile now, and a line that says what it was taken over.
pub(super) struct Reading {
    /// `None`: nothing measured yet.
    pub value: Option<sim::Duration>,
    pub line: String,
}

impl Reading {
    /// `Some(why)` when the reading breaks `at_most`; `always`: an `Always` in force, which
    /// nothing measured yet does not break.
    pub(super) fn judge(self, at_most: Duration, always: bool) -> Option<String> {
        match self.value {
            Some(v) if v <= sim::Duration::from_nanos(at_most.as_nanos()) => None,
            Some(_) => Some(format!("{} > {at_most}", self.line)),
            None if always => None,
            None => Some(self.line),
        }
    }
}

pub(super) fn read(cluster: &Cluster, probe: Option<ActorId>, of: Sli, p: Percentile) -> Reading {
    match of {
        Sli::PodStartup => pod_startup(cluster, probe, p),
        Sli::ApiCalls => api_calls(cluster, p),
    }
}

fn pod_startup(cluster: &Cluster, probe: Option<ActorId>, p: Percentile) -> Reading {
    let Some(l) = probe.and_then(|a| cluster.pod_startup_latencies(a)) else {
        return Reading {
            value: None,
            line: "pod startup latency: the probe is not running".into(),
        };
    };
    let running = l.pod_startup.len();
    let seen = format!(
        "{} created since the cluster came up, outside its addons' namespaces",
        l.created
    );
    match percentile(&l.pod_startup, p.0) {
        Some(v) => Reading {
            value: Some(v),
            line: format!(
                "pod startup latency {p}: {} over {running} pod{} Running ({seen})",
                to_millis(v),
                plural(running),
            ),
        },
        None => Reading {
            value: None,
            line: format!("pod startup latency {p}: no pod Running yet ({seen})"),
        },
    }
}

fn api_calls(cluster: &Cluster, p: Percentile) -> Reading {
    let histograms = cluster.api_call_latencies();
    let q = f64::from(p.0) / 100.0;
    let worst = histograms
        .iter()
        .filter_map(|(key, h)| Some((h.quantile(q)?, key, h.count())))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let calls: u64 = histograms.values().map(|h| h.count()).sum();
    match worst {
        Some((seconds, key, count)) => {
            let v = sim::Duration::from_nanos((seconds * 1e9).round() as u64);
            Reading {
                value: Some(v),
                line: format!(
                    "API call latency {p}: {} at worst ({} {}, {count} call{}), over {} resource/verb pair{} and {calls} mutating call{}",
                    to_millis(v),
                    resource_name(key),
                    key.2,
                    plural(count as usize),
                    histograms.len(),
                    plural(histograms.len()),
                    plural(calls as usize),
                ),
            }
        }
        None => Reading {
            value: None,
            line: format!("API call latency {p}: no mutating call on a single object yet"),
        },
    }
}

/// For printing only: the checks compare exact values.
fn to_millis(d: sim::Duration) -> sim::Duration {
    sim::Duration::from_millis((d.as_nanos() + 500_000) / 1_000_000)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
