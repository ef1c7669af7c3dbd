//! Which pods back a Service and on which ports: what the EndpointSlice and Endpoints
//! controllers share.
//!
//! Follows `pkg/controller/util/endpoint/controller_utils.go` (`ShouldPodBeInEndpoints`: not
//! terminal, has an IP; terminating pods only where asked), `pkg/api/v1/pod/util.go`
//! (`FindPort`: a named targetPort is looked up among the pod's container ports by name and
//! protocol) and `GetPodServiceMemberships` (a pod concerns the Services of its namespace
//! whose selector matches it).

use std::collections::BTreeMap;

use api::selector::Selector;
use api::{Kind, Object, SharedObject};
use client::object_key;
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

/// Keys of the Services a pod change concerns (old and new labels).
pub fn services_for_pod(cx: &Cx<'_>, pods: &[&Object]) -> Vec<String> {
    let Some(first) = pods.first() else {
        return Vec::new();
    };
    let Some(cache) = cx.cache(Kind::Service) else {
        return Vec::new();
    };
    let mut keys = BTreeMap::new();
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

/// The zone label of a node, from the node cache.
pub fn zone_of(cx: &Cx<'_>, node: &str) -> Option<String> {
    if node.is_empty() {
        return None;
    }
    let n = cx.get(Kind::Node, "", node)?;
    n.labels().get("topology.kubernetes.io/zone").cloned()
}
