//! What the architecture tour's narrator reads of the cluster: plain facts from the objects
//! etcd holds ([`Cluster::stored_objects`]) and the clients' traffic counters. Times are
//! virtual seconds since the run began, from the objects' own timestamps (which the
//! components set from their clocks), so the narration names the run's own moments.

use api::k8s_openapi::api::core::v1 as core;
use api::k8s_openapi::apimachinery::pkg::apis::meta::v1::Time as ApiTime;
use api::{Kind, Object};
use cluster::Cluster;
use cluster::apiserver::objects::virtual_secs;
use proxy::{TrafficCounts, TrafficSink};

/// `HH:MM:SS` of a virtual second.
pub fn clock(secs: i64) -> String {
    let s = secs.max(0);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn secs(t: Option<&ApiTime>) -> Option<i64> {
    t.map(virtual_secs)
}

/// One pod.
#[derive(Clone, Debug)]
pub struct PodFact {
    pub name: String,
    pub node: String,
    pub ip: String,
    pub phase: String,
    /// The Ready condition is True.
    pub ready: bool,
    /// When the Ready condition last changed.
    pub ready_changed: Option<i64>,
    /// Every container reports ready (kubectl's READY column).
    pub containers_ready: bool,
    pub created: Option<i64>,
    pub terminating: bool,
    /// The controller that owns it: (kind, name).
    pub owner: Option<(String, String)>,
    /// The `component` label of a control-plane static pod.
    pub component: Option<String>,
    pub labels: std::collections::BTreeMap<String, String>,
}

pub fn pods(cluster: &Cluster, namespace: &str) -> Vec<PodFact> {
    cluster
        .stored_objects(Kind::Pod)
        .iter()
        .filter(|o| o.namespace() == namespace)
        .filter_map(|o| {
            let pod = o.as_pod()?;
            let status = pod.status.as_ref();
            let ready = status
                .and_then(|s| s.conditions.as_ref())
                .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"));
            let containers = status
                .and_then(|s| s.container_statuses.as_deref())
                .unwrap_or(&[]);
            Some(PodFact {
                name: o.name().to_string(),
                node: pod
                    .spec
                    .as_ref()
                    .and_then(|s| s.node_name.clone())
                    .unwrap_or_default(),
                ip: status.and_then(|s| s.pod_ip.clone()).unwrap_or_default(),
                phase: status.and_then(|s| s.phase.clone()).unwrap_or_default(),
                ready: ready.is_some_and(|c| c.status == "True"),
                ready_changed: ready.and_then(|c| secs(c.last_transition_time.as_ref())),
                containers_ready: !containers.is_empty() && containers.iter().all(|c| c.ready),
                created: secs(o.metadata().creation_timestamp.as_ref()),
                terminating: o.is_terminating(),
                owner: o.controller_ref().map(|r| (r.kind.clone(), r.name.clone())),
                component: o.labels().get("component").cloned(),
                labels: o.labels().clone(),
            })
        })
        .collect()
}

/// One node.
#[derive(Clone, Debug)]
pub struct NodeFact {
    pub name: String,
    /// The Ready condition's status ("True", "False", "Unknown"; "" before the first post).
    pub ready: String,
    pub ready_changed: Option<i64>,
    /// (key, effect, timeAdded).
    pub taints: Vec<(String, String, Option<i64>)>,
    pub pod_cidr: String,
}

pub fn nodes(cluster: &Cluster) -> Vec<NodeFact> {
    cluster
        .stored_objects(Kind::Node)
        .iter()
        .filter_map(|o| match o.as_ref() {
            Object::Node(n) => Some(node_fact(n)),
            _ => None,
        })
        .collect()
}

fn node_fact(n: &core::Node) -> NodeFact {
    let ready = n
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"));
    let spec = n.spec.as_ref();
    NodeFact {
        name: n.metadata.name.clone().unwrap_or_default(),
        ready: ready.map(|c| c.status.clone()).unwrap_or_default(),
        ready_changed: ready.and_then(|c| secs(c.last_transition_time.as_ref())),
        taints: spec
            .and_then(|s| s.taints.as_ref())
            .into_iter()
            .flatten()
            .map(|t| (t.key.clone(), t.effect.clone(), secs(t.time_added.as_ref())))
            .collect(),
        pod_cidr: spec.and_then(|s| s.pod_cidr.clone()).unwrap_or_default(),
    }
}

pub fn node(cluster: &Cluster, name: &str) -> Option<NodeFact> {
    nodes(cluster).into_iter().find(|n| n.name == name)
}

/// One Event.
#[derive(Clone, Debug)]
pub struct EventFact {
    /// The involved object's name.
    pub name: String,
    pub at: Option<i64>,
}

/// The Events in `namespace` with `reason`, oldest first.
pub fn events(cluster: &Cluster, namespace: &str, reason: &str) -> Vec<EventFact> {
    let mut found: Vec<EventFact> = cluster
        .stored_objects(Kind::Event)
        .iter()
        .filter(|o| o.namespace() == namespace)
        .filter_map(|o| match o.as_ref() {
            Object::Event(e) if e.reason.as_deref() == Some(reason) => Some(EventFact {
                name: e.involved_object.name.clone().unwrap_or_default(),
                at: secs(e.last_timestamp.as_ref().or(e.first_timestamp.as_ref())),
            }),
            _ => None,
        })
        .collect();
    found.sort_by_key(|e| e.at);
    found
}

/// A Deployment: (name, replicas, the labels its selector matches, strategy, maxSurge,
/// maxUnavailable), as stored after defaulting.
#[derive(Clone, Debug)]
pub struct DeploymentFact {
    pub name: String,
    pub replicas: i32,
    pub selector: std::collections::BTreeMap<String, String>,
    pub strategy: String,
    pub max_surge: String,
    pub max_unavailable: String,
    pub created: Option<i64>,
    /// The first container's image.
    pub image: String,
}

pub fn deployments(cluster: &Cluster, namespace: &str) -> Vec<DeploymentFact> {
    use api::k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let text = |v: Option<&IntOrString>| match v {
        Some(IntOrString::Int(i)) => i.to_string(),
        Some(IntOrString::String(s)) => s.clone(),
        None => String::new(),
    };
    cluster
        .stored_objects(Kind::Deployment)
        .iter()
        .filter(|o| o.namespace() == namespace)
        .filter_map(|o| match o.as_ref() {
            Object::Deployment(d) => {
                let spec = &d.spec;
                let strategy = spec.strategy.as_ref();
                let rolling = strategy.and_then(|s| s.rolling_update.as_ref());
                Some(DeploymentFact {
                    name: o.name().to_string(),
                    replicas: spec.replicas.unwrap_or(1),
                    selector: spec.selector.match_labels.clone().unwrap_or_default(),
                    strategy: strategy.and_then(|s| s.type_.clone()).unwrap_or_default(),
                    max_surge: text(rolling.and_then(|r| r.max_surge.as_ref())),
                    max_unavailable: text(rolling.and_then(|r| r.max_unavailable.as_ref())),
                    created: secs(o.metadata().creation_timestamp.as_ref()),
                    image: spec
                        .template
                        .spec
                        .as_ref()
                        .and_then(|s| s.containers.first())
                        .and_then(|c| c.image.clone())
                        .unwrap_or_default(),
                })
            }
            _ => None,
        })
        .collect()
}

/// The ReplicaSets a Deployment owns: (name, replicas, pod-template-hash).
pub fn replica_sets_of(
    cluster: &Cluster,
    namespace: &str,
    deployment: &str,
) -> Vec<(String, i32, String)> {
    cluster
        .stored_objects(Kind::ReplicaSet)
        .iter()
        .filter(|o| o.namespace() == namespace)
        .filter(|o| {
            o.controller_ref()
                .is_some_and(|r| r.kind == "Deployment" && r.name == deployment)
        })
        .filter_map(|o| match o.as_ref() {
            Object::ReplicaSet(rs) => Some((
                o.name().to_string(),
                rs.spec.replicas.unwrap_or(1),
                o.labels()
                    .get("pod-template-hash")
                    .cloned()
                    .unwrap_or_default(),
            )),
            _ => None,
        })
        .collect()
}

/// A Service's cluster IP and first port.
pub fn cluster_ip(cluster: &Cluster, namespace: &str, name: &str) -> Option<(String, i32)> {
    cluster
        .stored_objects(Kind::Service)
        .iter()
        .find(|o| o.namespace() == namespace && o.name() == name)
        .and_then(|o| match o.as_ref() {
            Object::Service(s) => {
                let spec = s.spec.as_ref()?;
                let port = spec.ports.as_ref()?.first()?.port;
                Some((spec.cluster_ip.clone()?, port))
            }
            _ => None,
        })
}

/// The ready addresses of a Service's Endpoints.
pub fn endpoint_ips(cluster: &Cluster, namespace: &str, name: &str) -> Vec<String> {
    cluster
        .stored_objects(Kind::Endpoints)
        .iter()
        .find(|o| o.namespace() == namespace && o.name() == name)
        .map(|o| match o.as_ref() {
            Object::Endpoints(e) => e
                .subsets
                .iter()
                .flatten()
                .flat_map(|s| s.addresses.iter().flatten())
                .map(|a| a.ip.clone())
                .collect(),
            _ => Vec::new(),
        })
        .unwrap_or_default()
}

/// A Lease's holder and last renewal.
pub fn lease(cluster: &Cluster, namespace: &str, name: &str) -> Option<(String, Option<i64>)> {
    cluster
        .stored_objects(Kind::Lease)
        .iter()
        .find(|o| o.namespace() == namespace && o.name() == name)
        .and_then(|o| match o.as_ref() {
            Object::Lease(l) => {
                let spec = l.spec.as_ref()?;
                Some((
                    spec.holder_identity.clone().unwrap_or_default(),
                    spec.renew_time
                        .as_ref()
                        .map(|t| virtual_secs(&ApiTime(t.0))),
                ))
            }
            _ => None,
        })
}

/// What the clients of `service` (`namespace/name`) saw, summed over every node: totals,
/// and the seconds in which requests failed.
#[derive(Clone, Debug, Default)]
pub struct TrafficFact {
    pub totals: TrafficCounts,
    pub failed_seconds: Vec<u64>,
    /// Median latency of the answered requests, in microseconds.
    pub median_micros: Option<u64>,
}

pub fn traffic(cluster: &Cluster, key: &str) -> TrafficFact {
    let sinks: Vec<&TrafficSink> = cluster.node_agents().iter().map(|a| &a.traffic).collect();
    let service = TrafficSink::merged_service(sinks, key);
    TrafficFact {
        failed_seconds: service
            .per_second
            .iter()
            .filter(|(_, c)| c.failed() > 0)
            .map(|(s, _)| *s)
            .collect(),
        median_micros: service.latency_quantile(0.5).map(|d| d.as_nanos() / 1_000),
        totals: service.totals,
    }
}
