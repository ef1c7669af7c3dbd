//! The Endpoints controller: the legacy `v1/Endpoints` object of every Service with a
//! selector (still read by older clients and by `kubectl describe service`).
//!
//! Follows `pkg/controller/endpoint/endpoints_controller.go` (F35): ready pods go to
//! `addresses`, the others to `notReadyAddresses` (all to `addresses` with
//! `publishNotReadyAddresses`), terminating pods are left out; addresses are grouped into
//! subsets by their resolved ports (`endpoints.RepackSubsets`), sorted by IP; past 1,000
//! addresses the object is truncated and annotated `endpoints.kubernetes.io/over-capacity:
//! truncated`. The object carries the Service's labels. Simplification: truncation keeps the
//! first 1,000 ready addresses then not-ready ones by IP (upstream samples per subset).
//!
//! As in the EndpointSlice controller, the desired address of each pod is kept per Service
//! ([`ServiceAddresses`]) and updated from the pods that events named since the last sync,
//! instead of being rebuilt from every pod of the Service on every sync; a sync in which no
//! address changed and the Endpoints object is the one last found equal costs nothing more.
//! The object itself is still built whole when something changed, as it is written whole.

use std::collections::{BTreeMap, BTreeSet};

use api::{Kind, Object};
use client::{Action, Notification};
use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference, ServicePort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::controller::{Controller, Cx, ReconcileError, Write, split};
use crate::pods;
use crate::service_pods::{
    mark_changed, pod_ip, pods_for, resolve_port, selector, service_of,
    services_for_pod_notification, should_be_in_endpoints,
};

pub const MAX_CAPACITY: usize = 1000;
pub const OVER_CAPACITY_ANNOTATION: &str = "endpoints.kubernetes.io/over-capacity";

#[derive(Default)]
pub struct EndpointsController {
    /// Per Service key.
    services: BTreeMap<String, ServiceAddresses>,
}

type PortKey = Vec<(String, String, i32)>;

/// What the controller remembers of one Service between syncs.
struct ServiceAddresses {
    /// The Service's resourceVersion the state was built for.
    service_rv: String,
    /// Each pod's address (by pod name), its resolved ports and whether it is listed as
    /// ready.
    desired: BTreeMap<String, (PortKey, bool, EndpointAddress)>,
    /// Pods named by events since the last sync.
    dirty: BTreeSet<String>,
    /// The Endpoints object's resourceVersion last found equal to `desired`.
    agrees_at: Option<String>,
}

/// The address a pod of the Service contributes, if any.
fn desired_address(
    o: &Object,
    ports: &[ServicePort],
    publish_not_ready: bool,
) -> Option<(PortKey, bool, EndpointAddress)> {
    let pod = o.as_pod()?;
    if !should_be_in_endpoints(pod, false) {
        return None;
    }
    let ip = pod_ip(pod)?;
    let mut key_ports = Vec::new();
    for p in ports {
        if let Some(port) = resolve_port(pod, p) {
            key_ports.push((
                p.name.clone().unwrap_or_default(),
                p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                port,
            ));
        }
    }
    let addr = EndpointAddress {
        ip: ip.to_string(),
        node_name: Some(pods::node_name(pod).to_string()).filter(|n| !n.is_empty()),
        target_ref: Some(ObjectReference {
            kind: Some("Pod".into()),
            namespace: Some(o.namespace().to_string()),
            name: Some(o.name().to_string()),
            uid: Some(o.uid().to_string()),
            ..Default::default()
        }),
        hostname: None,
    };
    Some((key_ports, publish_not_ready || pods::is_ready(pod), addr))
}

impl Controller for EndpointsController {
    fn name(&self) -> &'static str {
        "endpoints"
    }

    fn kinds(&self) -> &'static [Kind] {
        &[Kind::Service, Kind::Pod, Kind::Endpoints]
    }

    fn on_notification(&mut self, kind: Kind, n: &Notification, cx: &mut Cx<'_>) -> Vec<String> {
        match (kind, n) {
            (Kind::Service, _) => vec![n.key()],
            (Kind::Pod, _) => {
                let (keys, pod) = services_for_pod_notification(cx, n);
                mark_changed(&mut self.services, &keys, pod, |st| &mut st.dirty);
                keys
            }
            (Kind::Endpoints, Notification::Delete(_)) => vec![n.key()],
            _ => Vec::new(),
        }
    }

    fn reconcile(&mut self, key: &str, cx: &mut Cx<'_>) -> Result<Action, ReconcileError> {
        let (ns, name) = split(key)?;
        let current = cx.get(Kind::Endpoints, ns, name);
        let svc_obj = cx.get(Kind::Service, ns, name);
        let sel = svc_obj
            .as_deref()
            .and_then(service_of)
            .and_then(|s| selector(s).map(|sel| (s.clone(), sel)));
        let (Some(svc_obj), Some((svc, sel))) = (svc_obj, sel) else {
            self.services.remove(key);
            // Service gone: its Endpoints go too (a selector-less Service's are not ours).
            if cx.get(Kind::Service, ns, name).is_none()
                && let Some(ep) = current
            {
                cx.writes.push(Write::delete(&ep, key));
            }
            return Ok(Action::AwaitChange);
        };
        let spec = svc.spec.clone().unwrap_or_default();
        let publish_not_ready = spec.publish_not_ready_addresses.unwrap_or(false);
        let ports = spec.ports.unwrap_or_default();
        // Bring the desired addresses up to date: all of them when the Service changed (or
        // is new here), else the pods named since the last sync.
        let mut changed = false;
        let fresh = self
            .services
            .get(key)
            .is_some_and(|s| s.service_rv == svc_obj.resource_version());
        if !fresh {
            let desired = pods_for(cx, ns, &sel)
                .iter()
                .filter_map(|o| {
                    desired_address(o, &ports, publish_not_ready).map(|a| (o.name().to_string(), a))
                })
                .collect();
            let st = ServiceAddresses {
                service_rv: svc_obj.resource_version().to_string(),
                desired,
                dirty: BTreeSet::new(),
                agrees_at: None,
            };
            self.services.insert(key.to_string(), st);
            changed = true;
        }
        let Some(st) = self.services.get_mut(key) else {
            return Ok(Action::AwaitChange);
        };
        for pod in std::mem::take(&mut st.dirty) {
            let want = cx
                .get(Kind::Pod, ns, &pod)
                .filter(|o| sel.matches(o.labels()))
                .and_then(|o| desired_address(&o, &ports, publish_not_ready));
            if st.desired.get(&pod) == want.as_ref() {
                continue;
            }
            changed = true;
            match want {
                Some(a) => st.desired.insert(pod, a),
                None => st.desired.remove(&pod),
            };
        }
        let current_rv = current.as_deref().map(|o| o.resource_version());
        if !changed && current_rv.is_some() && current_rv == st.agrees_at.as_deref() {
            return Ok(Action::AwaitChange);
        }
        st.agrees_at = None;
        // Grouped, sorted and truncated by reference; only the addresses written are cloned.
        let mut subsets: BTreeMap<&PortKey, (Vec<&EndpointAddress>, Vec<&EndpointAddress>)> =
            BTreeMap::new();
        for (key_ports, ready, addr) in st.desired.values() {
            let entry = subsets.entry(key_ports).or_default();
            if *ready {
                entry.0.push(addr);
            } else {
                entry.1.push(addr);
            }
        }
        let mut total = 0usize;
        let mut truncated = false;
        let mut out = Vec::new();
        for (key_ports, (mut ready, mut not_ready)) in subsets {
            ready.sort_by(|a, b| a.ip.cmp(&b.ip));
            not_ready.sort_by(|a, b| a.ip.cmp(&b.ip));
            let room = MAX_CAPACITY.saturating_sub(total);
            if ready.len() > room {
                ready.truncate(room);
                truncated = true;
            }
            total += ready.len();
            let room = MAX_CAPACITY.saturating_sub(total);
            if not_ready.len() > room {
                not_ready.truncate(room);
                truncated = true;
            }
            total += not_ready.len();
            if ready.is_empty() && not_ready.is_empty() {
                continue;
            }
            let owned = |v: Vec<&EndpointAddress>| {
                Some(v.into_iter().cloned().collect::<Vec<_>>()).filter(|v| !v.is_empty())
            };
            out.push(EndpointSubset {
                addresses: owned(ready),
                not_ready_addresses: owned(not_ready),
                ports: Some(
                    key_ports
                        .iter()
                        .map(|(n, proto, port)| EndpointPort {
                            name: Some(n.clone()).filter(|n| !n.is_empty()),
                            protocol: Some(proto.clone()),
                            port: *port,
                            app_protocol: None,
                        })
                        .collect(),
                ),
            });
        }
        let mut annotations = BTreeMap::new();
        if truncated {
            annotations.insert(
                OVER_CAPACITY_ANNOTATION.to_string(),
                "truncated".to_string(),
            );
        }
        let subsets = Some(out).filter(|v| !v.is_empty());
        let labels = Some(svc_obj.labels().clone()).filter(|l| !l.is_empty());
        match current.as_deref() {
            Some(Object::Endpoints(ep)) => {
                let ann = ep.metadata.annotations.clone().unwrap_or_default();
                let mut want_ann = ann.clone();
                want_ann.remove(OVER_CAPACITY_ANNOTATION);
                want_ann.extend(annotations);
                if ep.subsets == subsets && ann == want_ann && ep.metadata.labels == labels {
                    st.agrees_at = current_rv.map(str::to_string);
                    return Ok(Action::AwaitChange);
                }
                // Built beside the current object, not cloned from it: its old subsets would
                // be copied only to be replaced.
                let e = Endpoints {
                    metadata: ObjectMeta {
                        labels,
                        annotations: Some(want_ann).filter(|a| !a.is_empty()),
                        ..ep.metadata.clone()
                    },
                    subsets,
                };
                cx.writes.push(Write::update(Object::from(e), key));
            }
            _ => {
                let e = Endpoints {
                    metadata: ObjectMeta {
                        name: Some(name.to_string()),
                        namespace: Some(ns.to_string()),
                        labels,
                        annotations: Some(annotations).filter(|a| !a.is_empty()),
                        ..Default::default()
                    },
                    subsets,
                };
                cx.writes.push(Write::create(Object::from(e), key));
            }
        }
        Ok(Action::AwaitChange)
    }

    fn reset(&mut self) {
        self.services.clear();
    }
}
