//! Which pods back a Service and on which ports: what the EndpointSlice and Endpoints
//! controllers share.
//!
//! Follows `pkg/controller/util/endpoint/controller_utils.go` (`ShouldPodBeInEndpoints`: not
//! terminal, has an IP; terminating pods only where asked), `pkg/api/v1/pod/util.go`
//! (`FindPort`: a named targetPort is looked up among the pod's container ports by name and
//! protocol) and `GetPodServiceMemberships` (a pod concerns the Services of its namespace
//! whose selector matches it).
//!
//! Both lookups go through informer indices when present, so that a pod event costs
//! O(its Services) and a Service's sync O(its pods), not O(the namespace): Services are
//! indexed by the first label of their selector ([`SELECTOR_INDEX`]; a matching pod carries
//! it), pods by their labels (`client::indexer::LABEL_INDEX`). Same results, same order.

use std::collections::{BTreeMap, BTreeSet};

use api::selector::Selector;
use api::{Kind, Object, SharedObject};
use client::indexer::label_index_value;
use client::{Notification, object_key};
use k8s_openapi::api::core::v1::{Pod, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::controller::Cx;
use crate::pods;

pub fn service_of(o: &Object) -> Option<&Service> {
    match o {
        Object::Service(s) => Some(s.as_ref()),
        _ => None,
    }
}

/// The Service's selector; `None` for Services without one (their endpoints are managed by
/// someone else, e.g. the `kubernetes` Service).
pub fn selector(svc: &Service) -> Option<Selector> {
    let map = svc.spec.as_ref()?.selector.as_ref()?;
    if map.is_empty() {
        return None;
    }
    Selector::from_map(map).ok()
}

/// Notes `pod` as changed in the state of each Service in `keys` that has one (its
/// `dirty` set, which the next sync of that Service re-reads); Services without state are
/// built from the caches on their sync anyway.
pub fn mark_changed<S>(
    services: &mut BTreeMap<String, S>,
    keys: &[String],
    pod: &str,
    dirty: impl Fn(&mut S) -> &mut BTreeSet<String>,
) {
    for k in keys {
        if let Some(st) = services.get_mut(k) {
            dirty(st).insert(pod.to_string());
        }
    }
}

/// `ShouldPodBeInEndpoints`.
pub fn should_be_in_endpoints(pod: &Pod, include_terminating: bool) -> bool {
    let phase = pods::phase(pod);
    if phase == "Succeeded" || phase == "Failed" {
        return false;
    }
    if pod_ip(pod).is_none() {
        return false;
    }
    include_terminating || pod.metadata.deletion_timestamp.is_none()
}

pub fn pod_ip(pod: &Pod) -> Option<&str> {
    let st = pod.status.as_ref()?;
    st.pod_ip
        .as_deref()
        .filter(|ip| !ip.is_empty())
        .or_else(|| st.pod_ips.as_ref()?.first().map(|p| p.ip.as_str()))
}

/// `FindPort`: the container port a Service port's targetPort names, in this pod.
pub fn resolve_port(pod: &Pod, port: &ServicePort) -> Option<i32> {
    match &port.target_port {
        None => Some(port.port),
        Some(IntOrString::Int(p)) => Some(*p),
        Some(IntOrString::String(name)) => {
            let protocol = port.protocol.as_deref().unwrap_or("TCP");
            pod.spec.as_ref()?.containers.iter().find_map(|c| {
                c.ports.as_ref()?.iter().find_map(|p| {
                    (p.name.as_deref() == Some(name.as_str())
                        && p.protocol.as_deref().unwrap_or("TCP") == protocol)
                        .then_some(p.container_port)
                })
            })
        }
    }
}

/// Pods of the Service's namespace matching its selector.
pub fn pods_for(cx: &Cx<'_>, namespace: &str, selector: &Selector) -> Vec<SharedObject> {
    cx.cache(Kind::Pod)
        .map(|c| c.lister().list_namespaced(namespace, selector))
        .unwrap_or_default()
}

/// Informer index: Services by the first `key=value` of their selector (namespaced as
/// `client::indexer::label_index_value`); Services without a selector are not in it.
pub const SELECTOR_INDEX: &str = "serviceSelectorFirstLabel";

/// Index function for [`SELECTOR_INDEX`].
pub fn index_by_first_selector_label(o: &Object) -> Vec<String> {
    service_of(o)
        .and_then(|s| s.spec.as_ref()?.selector.as_ref()?.iter().next())
        .map(|(k, v)| label_index_value(o.namespace(), k, v))
        .into_iter()
        .collect()
}

/// Keys of the Services a pod change concerns (old and new labels).
pub fn services_for_pod(cx: &Cx<'_>, pods: &[&Object]) -> Vec<String> {
    let Some(first) = pods.first() else {
        return Vec::new();
    };
    let Some(cache) = cx.cache(Kind::Service) else {
        return Vec::new();
    };
    let mut keys = BTreeMap::new();
    if cache.index_values(SELECTOR_INDEX).is_ok() {
        // A Service matching a pod has its selector's first label among the pod's labels.
        for pod in pods {
            for (k, v) in pod.labels() {
                let value = label_index_value(pod.namespace(), k, v);
                let Ok(candidates) = cache.by_index(SELECTOR_INDEX, &value) else {
                    continue;
                };
                for svc in candidates {
                    let Some(sel) = service_of(svc).and_then(selector) else {
                        continue;
                    };
                    if pods.iter().any(|p| sel.matches(p.labels())) {
                        keys.insert(object_key(svc), ());
                    }
                }
            }
        }
        return keys.into_keys().collect();
    }
    for svc in cache
        .lister()
        .list_namespaced(first.namespace(), &Selector::everything())
    {
        let Some(sel) = service_of(&svc).and_then(selector) else {
            continue;
        };
        if pods.iter().any(|p| sel.matches(p.labels())) {
            keys.insert(object_key(&svc), ());
        }
    }
    keys.into_keys().collect()
}

fn terminal(pod: &Pod) -> bool {
    matches!(pods::phase(pod), "Succeeded" | "Failed")
}

/// `podEndpointsChanged`: (whether the pod's endpoint changed, whether its Service membership
/// may have). Name, namespace, uid and ports are immutable, and `nodeName` is set before the
/// pod has an IP, so only deletion, readiness and IPs change an endpoint. Reaching a terminal
/// phase is counted too (upstream does not): a pod that ends without ever being ready keeps
/// its readiness and IP, yet `ShouldPodBeInEndpoints` drops it.
fn endpoints_changed(old: &Pod, new: &Pod) -> (bool, bool) {
    let labels_changed = old.metadata.labels != new.metadata.labels
        || old.spec.as_ref().map(|s| (&s.hostname, &s.subdomain))
            != new.spec.as_ref().map(|s| (&s.hostname, &s.subdomain));
    let ips = |p: &Pod| {
        p.status
            .as_ref()
            .map(|s| (s.pod_ip.clone(), s.pod_ips.clone()))
    };
    let changed = old.metadata.deletion_timestamp != new.metadata.deletion_timestamp
        || pods::is_ready(old) != pods::is_ready(new)
        || ips(old) != ips(new)
        || terminal(old) != terminal(new);
    (changed, labels_changed)
}

/// Keys of the Services a pod notification concerns, and the pod's name: for an update those
/// of [`services_for_pod_change`], for an add or a delete every Service selecting the pod.
pub fn services_for_pod_notification<'n>(
    cx: &Cx<'_>,
    n: &'n Notification,
) -> (Vec<String>, &'n str) {
    match n {
        Notification::Update { old, new } => (services_for_pod_change(cx, old, new), new.name()),
        _ => (
            services_for_pod(cx, &[n.object().as_ref()]),
            n.object().name(),
        ),
    }
}

/// Keys of the Services a pod update concerns (`GetServicesToUpdateOnPodChange`): none when
/// nothing an endpoint shows changed (a resync, a bind, a status update that keeps readiness
/// and IPs); when only the labels changed, the Services the pod joined or left.
pub fn services_for_pod_change(cx: &Cx<'_>, old: &Object, new: &Object) -> Vec<String> {
    let (Some(po), Some(pn)) = (old.as_pod(), new.as_pod()) else {
        return services_for_pod(cx, &[old, new]);
    };
    if old.resource_version() == new.resource_version() {
        return Vec::new();
    }
    let (changed, labels_changed) = endpoints_changed(po, pn);
    if !changed && !labels_changed {
        return Vec::new();
    }
    let now = services_for_pod(cx, &[new]);
    if !labels_changed {
        return now;
    }
    let before = services_for_pod(cx, &[old]);
    if changed {
        let mut all: Vec<String> = before.into_iter().chain(now).collect();
        all.sort();
        all.dedup();
        return all;
    }
    // Only membership changed: the Services it left or joined.
    let mut moved: Vec<String> = before
        .iter()
        .filter(|k| !now.contains(k))
        .chain(now.iter().filter(|k| !before.contains(k)))
        .cloned()
        .collect();
    moved.sort();
    moved
}

/// The zone label of a node, from the node cache.
pub fn zone_of(cx: &Cx<'_>, node: &str) -> Option<String> {
    if node.is_empty() {
        return None;
    }
    let n = cx.get(Kind::Node, "", node)?;
    n.labels().get("topology.kubernetes.io/zone").cloned()
}
