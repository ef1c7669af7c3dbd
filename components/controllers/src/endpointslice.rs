//! The EndpointSlice controller: the slices kube-proxy routes by, for every Service with a
//! selector.
//!
//! Follows `pkg/controller/endpointslice/endpointslice_controller.go` and
//! `staging/src/k8s.io/endpointslice/reconciler.go` (F34): endpoints are grouped by their
//! resolved ports (pods may resolve a named targetPort differently), each group is spread over
//! slices of at most `maxEndpointsPerSlice` (100); endpoints already in a slice stay there,
//! new ones fill slices with room before new slices are created, and slices left empty are
//! deleted; a Service with no endpoints keeps one placeholder slice with none. Slices are
//! named `<service>-<random>` (generateName), labelled `kubernetes.io/service-name` and
//! `endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io`, and owned by
//! the Service. Endpoint conditions: ready (ready and not terminating), serving (ready),
//! terminating; addresses from the pod IP; nodeName and zone (the node's
//! `topology.kubernetes.io/zone`); targetRef to the pod.
//!
//! Simplifications: IPv4 only; slices of a deleted Service are deleted here rather than left
//! to the garbage collector; no topology hints, no `endpointUpdatesBatchPeriod`.

use std::collections::{BTreeMap, BTreeSet};

use api::object::new_controller_ref;
use api::{Kind, Object, SharedObject};
use client::{Action, Notification, key_of};
use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::controller::{Controller, Cx, ReconcileError, Write, split};
use crate::pods;
use crate::service_pods::{
    pod_ip, pods_for, resolve_port, selector, service_of, services_for_pod,
    services_for_pod_change, should_be_in_endpoints, zone_of,
};

pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";
/// Informer index: slices by `namespace/service`.
pub const SERVICE_NAME_INDEX: &str = "serviceName";

/// Index function: `namespace/<kubernetes.io/service-name>` of a slice.
pub fn index_by_service(o: &Object) -> Vec<String> {
    o.labels()
        .get(SERVICE_NAME_LABEL)
        .map(|s| vec![key_of(o.namespace(), s)])
        .unwrap_or_default()
}

#[derive(Default)]
pub struct EndpointSliceController;

/// Resolved ports (name, protocol, port) an endpoint group shares.
type PortKey = Vec<(String, String, i32)>;

fn slice_of(o: &Object) -> Option<&EndpointSlice> {
    match o {
        Object::EndpointSlice(s) => Some(s.as_ref()),
        _ => None,
    }
}

fn endpoint_for(cx: &Cx<'_>, pod_obj: &Object, pod: &Pod, ip: &str) -> Endpoint {
    let ready = pods::is_ready(pod);
    let terminating = pod.metadata.deletion_timestamp.is_some();
    let node = pods::node_name(pod).to_string();
    Endpoint {
        addresses: vec![ip.to_string()],
        conditions: Some(EndpointConditions {
            ready: Some(ready && !terminating),
            serving: Some(ready),
            terminating: Some(terminating),
        }),
        node_name: Some(node.clone()).filter(|n| !n.is_empty()),
        zone: zone_of(cx, &node),
        target_ref: Some(ObjectReference {
            kind: Some("Pod".into()),
            namespace: Some(pod_obj.namespace().to_string()),
            name: Some(pod_obj.name().to_string()),
            uid: Some(pod_obj.uid().to_string()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn target(e: &Endpoint) -> String {
    e.target_ref
        .as_ref()
        .and_then(|r| r.name.clone())
        .unwrap_or_else(|| e.addresses.join(","))
}

impl Controller for EndpointSliceController {
    fn name(&self) -> &'static str {
        "endpointslice"
    }

    fn kinds(&self) -> &'static [Kind] {
        &[Kind::Service, Kind::Pod, Kind::EndpointSlice, Kind::Node]
    }

    fn on_notification(&mut self, kind: Kind, n: &Notification, cx: &mut Cx<'_>) -> Vec<String> {
        match (kind, n) {
            (Kind::Service, _) => vec![n.key()],
            (Kind::Pod, Notification::Update { old, new }) => services_for_pod_change(cx, old, new),
            (Kind::Pod, _) => services_for_pod(cx, &[n.object().as_ref()]),
            (Kind::EndpointSlice, _) => {
                let o = n.object();
                if o.labels().get(MANAGED_BY_LABEL).map(String::as_str) != Some(MANAGED_BY) {
                    return Vec::new();
                }
                o.labels()
                    .get(SERVICE_NAME_LABEL)
                    .map(|s| vec![key_of(o.namespace(), s)])
                    .unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }

    fn reconcile(&mut self, key: &str, cx: &mut Cx<'_>) -> Result<Action, ReconcileError> {
        let (ns, name) = split(key)?;
        let existing: Vec<SharedObject> = cx
            .cache(Kind::EndpointSlice)
            .and_then(|c| {
                c.by_index(SERVICE_NAME_INDEX, key)
                    .ok()
                    .map(|it| it.cloned().collect())
            })
            .unwrap_or_default();
        let existing: Vec<SharedObject> = existing
            .into_iter()
            .filter(|o| o.labels().get(MANAGED_BY_LABEL).map(String::as_str) == Some(MANAGED_BY))
            .filter(|o| !o.is_terminating())
            .collect();
        let svc_obj = cx.get(Kind::Service, ns, name);
        let svc_sel = svc_obj
            .as_deref()
            .and_then(service_of)
            .and_then(|s| selector(s).map(|sel| (s.clone(), sel)));
        let (Some(svc_obj), Some((svc, sel))) = (svc_obj, svc_sel) else {
            for o in existing {
                cx.writes.push(Write::delete(&o, key));
            }
            return Ok(Action::AwaitChange);
        };
        let publish_not_ready = svc
            .spec
            .as_ref()
            .and_then(|s| s.publish_not_ready_addresses)
            .unwrap_or(false);
        let svc_ports = svc
            .spec
            .as_ref()
            .and_then(|s| s.ports.clone())
            .unwrap_or_default();
        // Desired endpoints, grouped by resolved ports.
        let mut groups: BTreeMap<PortKey, BTreeMap<String, Endpoint>> = BTreeMap::new();
        for o in pods_for(cx, ns, &sel) {
            let Some(pod) = o.as_pod() else { continue };
            if !should_be_in_endpoints(pod, true) {
                continue;
            }
            let Some(ip) = pod_ip(pod) else { continue };
            let mut ports = Vec::new();
            for p in &svc_ports {
                if let Some(port) = resolve_port(pod, p) {
                    ports.push((
                        p.name.clone().unwrap_or_default(),
                        p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                        port,
                    ));
                }
            }
            let mut ep = endpoint_for(cx, &o, pod, ip);
            if publish_not_ready && let Some(c) = ep.conditions.as_mut() {
                c.ready = Some(true);
            }
            groups
                .entry(ports)
                .or_default()
                .insert(o.name().to_string(), ep);
        }
        let slice_ports = |ports: &[(String, String, i32)]| -> Vec<EndpointPort> {
            ports
                .iter()
                .map(|(n, proto, port)| EndpointPort {
                    name: Some(n.clone()),
                    protocol: Some(proto.clone()),
                    port: Some(*port),
                    app_protocol: None,
                })
                .collect()
        };
        let key_ports = |s: &EndpointSlice| -> Vec<(String, String, i32)> {
            s.ports
                .as_deref()
                .unwrap_or(&[])
                .iter()
                .map(|p| {
                    (
                        p.name.clone().unwrap_or_default(),
                        p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                        p.port.unwrap_or(0),
                    )
                })
                .collect()
        };
        let mut used: BTreeSet<String> = BTreeSet::new();
        let mut creates: Vec<Object> = Vec::new();
        let mut deletes: Vec<SharedObject> = Vec::new();
        let mut placeholder_needed = groups.is_empty();
        for (ports, mut wanted) in groups {
            // Existing slices with these ports keep their endpoints (updated).
            let mut slices: Vec<(SharedObject, EndpointSlice, Vec<Endpoint>)> = Vec::new();
            for o in &existing {
                let Some(s) = slice_of(o) else { continue };
                if used.contains(o.name()) || key_ports(s) != ports {
                    continue;
                }
                let kept: Vec<Endpoint> = s
                    .endpoints
                    .as_deref()
                    .unwrap_or(&[])
                    .iter()
                    .filter_map(|e| wanted.remove(&target(e)))
                    .collect();
                used.insert(o.name().to_string());
                slices.push((o.clone(), s.clone(), kept));
            }
            // New endpoints fill slices with room, then new slices.
            let mut rest: Vec<Endpoint> = wanted.into_values().collect();
            for (_, _, eps) in slices.iter_mut() {
                while eps.len() < MAX_ENDPOINTS_PER_SLICE && !rest.is_empty() {
                    eps.push(rest.remove(0));
                }
            }
            for (o, s, eps) in slices {
                if eps.is_empty() {
                    deletes.push(o);
                    continue;
                }
                if s.endpoints.as_deref().unwrap_or(&[]) != eps.as_slice() {
                    let mut updated = s.clone();
                    updated.endpoints = Some(eps);
                    cx.writes.push(Write::update(Object::from(updated), key));
                }
            }
            for chunk in rest.chunks(MAX_ENDPOINTS_PER_SLICE) {
                creates.push(new_slice(&svc_obj, slice_ports(&ports), chunk.to_vec()));
            }
        }
        for o in &existing {
            if used.contains(o.name()) {
                continue;
            }
            let empty = slice_of(o).is_some_and(|s| {
                s.endpoints.as_deref().unwrap_or(&[]).is_empty()
                    && s.ports.as_deref().unwrap_or(&[]).is_empty()
            });
            if placeholder_needed && empty {
                placeholder_needed = false;
                continue;
            }
            deletes.push(o.clone());
        }
        if placeholder_needed {
            creates.push(new_slice(&svc_obj, Vec::new(), Vec::new()));
        }
        // Reuse slices marked for deletion instead of creating new ones (the reconciler's
        // `finalize`): fewer objects churn, and a placeholder turns into the first slice.
        for new in creates {
            match (deletes.pop(), new) {
                (Some(old), Object::EndpointSlice(n)) if slice_of(&old).is_some() => {
                    let mut reused = slice_of(&old).cloned().unwrap_or_default();
                    reused.endpoints = n.endpoints;
                    reused.ports = n.ports;
                    reused.metadata.labels = n.metadata.labels;
                    cx.writes.push(Write::update(Object::from(reused), key));
                }
                (old, new) => {
                    if let Some(old) = old {
                        deletes.push(old);
                    }
                    cx.writes.push(Write::create(new, key));
                }
            }
        }
        for o in deletes {
            cx.writes.push(Write::delete(&o, key));
        }
        Ok(Action::AwaitChange)
    }

    fn reset(&mut self) {}
}

fn new_slice(svc: &Object, ports: Vec<EndpointPort>, endpoints: Vec<Endpoint>) -> Object {
    let mut labels = svc.labels().clone();
    labels.insert(SERVICE_NAME_LABEL.into(), svc.name().to_string());
    labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
    Object::from(EndpointSlice {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", svc.name())),
            namespace: Some(svc.namespace().to_string()),
            labels: Some(labels),
            owner_references: new_controller_ref(svc).map(|r| vec![r]),
            ..Default::default()
        },
        address_type: "IPv4".into(),
        endpoints: Some(endpoints),
        ports: Some(ports),
    })
}
