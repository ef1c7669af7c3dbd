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
//! A sync costs what changed, not the Service's size: upstream's reconciler recomputes every
//! desired endpoint and compares it with every existing slice on each sync, which for a
//! Service of R pods synced once per pod change is O(R²). Here the controller keeps, per
//! Service ([`ServiceEndpoints`]), the desired endpoint of each pod, updated from the pods
//! that pod events named since the last sync, and the slices it found equal to that state at
//! their resourceVersion. A sync rebuilds only the slices that hold a changed pod or changed
//! themselves, plus slices with room when endpoints wait for a place; a verified slice is kept
//! as the full comparison would keep it. The outcome is the full reconcile's. The state is
//! rebuilt from the caches when the Service changes, when a Node comes, goes or changes zone
//! (an endpoint carries its node's zone), and after leadership is lost.
//!
//! Simplifications: IPv4 only; slices of a deleted Service are deleted here rather than left
//! to the garbage collector; no topology hints, no `endpointUpdatesBatchPeriod`.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use api::object::new_controller_ref;
use api::selector::Selector;
use api::{Kind, Object, SharedObject};
use client::{Action, Notification, key_of};
use k8s_openapi::api::core::v1::{ObjectReference, Pod, ServicePort};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::controller::{Controller, Cx, ReconcileError, Write, split};
use crate::pods;
use crate::service_pods::{
    mark_changed, pod_ip, pods_for, resolve_port, selector, service_of,
    services_for_pod_notification, should_be_in_endpoints, zone_of,
};

pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";
/// Informer index: slices by `namespace/service`.
pub const SERVICE_NAME_INDEX: &str = "serviceName";
const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// Index function: `namespace/<kubernetes.io/service-name>` of a slice.
pub fn index_by_service(o: &Object) -> Vec<String> {
    o.labels()
        .get(SERVICE_NAME_LABEL)
        .map(|s| vec![key_of(o.namespace(), s)])
        .unwrap_or_default()
}

#[derive(Default)]
pub struct EndpointSliceController {
    /// Per Service key.
    services: BTreeMap<String, ServiceEndpoints>,
    /// Bumped whenever a node's zone may have changed: state built before is stale.
    zone_epoch: u64,
}

/// Resolved ports (name, protocol, port) an endpoint group shares.
type PortKey = Vec<(String, String, i32)>;

/// What the controller remembers of one Service between syncs.
struct ServiceEndpoints {
    /// The Service's resourceVersion and the zone epoch the state was built for.
    service_rv: String,
    zone_epoch: u64,
    /// The desired endpoint of each pod (by name), with its resolved ports.
    desired: BTreeMap<String, (PortKey, Endpoint)>,
    /// Desired endpoints per port group.
    group_sizes: BTreeMap<PortKey, usize>,
    /// Pods named by events since the last sync.
    dirty: BTreeSet<String>,
    /// Slices found equal to `desired` (each endpoint its pod's desired one, under the
    /// pod's ports, no pod twice, no pod in another verified slice) at a resourceVersion,
    /// with their pods.
    verified: BTreeMap<String, (String, Vec<String>)>,
    /// The verified slice each pod is in.
    placed: BTreeMap<String, String>,
    /// Desired pods in no verified slice.
    unplaced: BTreeSet<String>,
}

impl ServiceEndpoints {
    fn new(service_rv: &str, zone_epoch: u64) -> Self {
        ServiceEndpoints {
            service_rv: service_rv.to_string(),
            zone_epoch,
            desired: BTreeMap::new(),
            group_sizes: BTreeMap::new(),
            dirty: BTreeSet::new(),
            verified: BTreeMap::new(),
            placed: BTreeMap::new(),
            unplaced: BTreeSet::new(),
        }
    }

    fn unverify(&mut self, slice: &str) {
        let Some((_, pods)) = self.verified.remove(slice) else {
            return;
        };
        for p in pods {
            self.placed.remove(&p);
            if self.desired.contains_key(&p) {
                self.unplaced.insert(p);
            }
        }
    }

    fn verify(&mut self, slice: &str, rv: &str, pods: Vec<String>) {
        for p in &pods {
            self.placed.insert(p.clone(), slice.to_string());
            self.unplaced.remove(p);
        }
        self.verified
            .insert(slice.to_string(), (rv.to_string(), pods));
    }

    /// Sets (or clears) a pod's desired endpoint; the slice holding it is no longer known
    /// to agree.
    fn set(&mut self, pod: &str, entry: Option<(PortKey, Endpoint)>) {
        if self.desired.get(pod) == entry.as_ref() {
            return;
        }
        if let Some(slice) = self.placed.get(pod).cloned() {
            self.unverify(&slice);
        }
        if let Some((ports, _)) = self.desired.remove(pod)
            && let Some(n) = self.group_sizes.get_mut(&ports)
        {
            *n -= 1;
            if *n == 0 {
                self.group_sizes.remove(&ports);
            }
        }
        match entry {
            Some((ports, ep)) => {
                *self.group_sizes.entry(ports.clone()).or_default() += 1;
                self.desired.insert(pod.to_string(), (ports, ep));
                self.unplaced.insert(pod.to_string());
            }
            None => {
                self.unplaced.remove(pod);
            }
        }
    }
}

/// What of the Service shapes its endpoints.
struct Spec {
    selector: Selector,
    ports: Vec<ServicePort>,
    publish_not_ready: bool,
}

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

/// The endpoint a pod of the Service contributes, with its resolved ports, if any.
fn desired_entry(cx: &Cx<'_>, o: &Object, spec: &Spec) -> Option<(PortKey, Endpoint)> {
    let pod = o.as_pod()?;
    if !should_be_in_endpoints(pod, true) {
        return None;
    }
    let ip = pod_ip(pod)?;
    let mut ports = Vec::new();
    for p in &spec.ports {
        if let Some(port) = resolve_port(pod, p) {
            ports.push((
                p.name.clone().unwrap_or_default(),
                p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                port,
            ));
        }
    }
    let mut ep = endpoint_for(cx, o, pod, ip);
    if spec.publish_not_ready
        && let Some(c) = ep.conditions.as_mut()
    {
        c.ready = Some(true);
    }
    Some((ports, ep))
}

/// The pod an endpoint stands for (its targetRef's name, else its addresses).
fn target(e: &Endpoint) -> Cow<'_, str> {
    match e.target_ref.as_ref().and_then(|r| r.name.as_deref()) {
        Some(name) => Cow::Borrowed(name),
        None => Cow::Owned(e.addresses.join(",")),
    }
}

fn endpoints_of(s: &EndpointSlice) -> &[Endpoint] {
    s.endpoints.as_deref().unwrap_or(&[])
}

fn slice_ports(ports: &[(String, String, i32)]) -> Vec<EndpointPort> {
    ports
        .iter()
        .map(|(n, proto, port)| EndpointPort {
            name: Some(n.clone()),
            protocol: Some(proto.clone()),
            port: Some(*port),
            app_protocol: None,
        })
        .collect()
}

fn key_ports(s: &EndpointSlice) -> PortKey {
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
}

/// Whether a node event may change the zone of endpoints on that node.
fn zone_may_change(n: &Notification) -> bool {
    match n {
        Notification::Update { old, new } => {
            old.labels().get(ZONE_LABEL) != new.labels().get(ZONE_LABEL)
        }
        Notification::Add(_) | Notification::Delete(_) => true,
    }
}

impl EndpointSliceController {
    /// The Service's state, brought up to date with the caches.
    fn refresh(
        &mut self,
        key: &str,
        ns: &str,
        svc_obj: &Object,
        spec: &Spec,
        cx: &Cx<'_>,
    ) -> &mut ServiceEndpoints {
        let epoch = self.zone_epoch;
        let fresh = self
            .services
            .get(key)
            .is_some_and(|s| s.service_rv == svc_obj.resource_version() && s.zone_epoch == epoch);
        if !fresh {
            let mut st = ServiceEndpoints::new(svc_obj.resource_version(), epoch);
            for o in pods_for(cx, ns, &spec.selector) {
                let entry = desired_entry(cx, &o, spec);
                if entry.is_some() {
                    st.set(o.name(), entry);
                }
            }
            self.services.insert(key.to_string(), st);
        }
        let st = self
            .services
            .entry(key.to_string())
            .or_insert_with(|| ServiceEndpoints::new(svc_obj.resource_version(), epoch));
        for pod in std::mem::take(&mut st.dirty) {
            let entry = cx
                .get(Kind::Pod, ns, &pod)
                .filter(|o| spec.selector.matches(o.labels()))
                .and_then(|o| desired_entry(cx, &o, spec));
            st.set(&pod, entry);
        }
        st
    }
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
            (Kind::Pod, _) => {
                let (keys, pod) = services_for_pod_notification(cx, n);
                mark_changed(&mut self.services, &keys, pod, |st| &mut st.dirty);
                keys
            }
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
            (Kind::Node, n) => {
                if zone_may_change(n) {
                    self.zone_epoch += 1;
                }
                Vec::new()
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
            self.services.remove(key);
            for o in existing {
                cx.writes.push(Write::delete(&o, key));
            }
            return Ok(Action::AwaitChange);
        };
        let spec = Spec {
            selector: sel,
            ports: svc
                .spec
                .as_ref()
                .and_then(|s| s.ports.clone())
                .unwrap_or_default(),
            publish_not_ready: svc
                .spec
                .as_ref()
                .and_then(|s| s.publish_not_ready_addresses)
                .unwrap_or(false),
        };
        let st = self.refresh(key, ns, &svc_obj, &spec, cx);
        // A verified slice must still be there at the resourceVersion it was verified at.
        let present: BTreeMap<&str, &str> = existing
            .iter()
            .map(|o| (o.name(), o.resource_version()))
            .collect();
        let stale: Vec<String> = st
            .verified
            .iter()
            .filter(|(n, (rv, _))| present.get(n.as_str()) != Some(&rv.as_str()))
            .map(|(n, _)| n.clone())
            .collect();
        for s in stale {
            st.unverify(&s);
        }
        // A pod listed in a slice being rebuilt as well as in a verified one: the full
        // comparison keeps it in the first slice only, so the verified one is rebuilt too.
        let mut conflicts = BTreeSet::new();
        for o in &existing {
            if st.verified.contains_key(o.name()) {
                continue;
            }
            for e in slice_of(o).map_or(&[][..], endpoints_of) {
                if let Some(v) = st.placed.get(target(e).as_ref()) {
                    conflicts.insert(v.clone());
                }
            }
        }
        for s in conflicts {
            st.unverify(&s);
        }
        let mut used: BTreeSet<&str> = BTreeSet::new();
        let mut taken: BTreeSet<String> = BTreeSet::new();
        let mut creates: Vec<Object> = Vec::new();
        let mut deletes: Vec<SharedObject> = Vec::new();
        let mut agreeing: Vec<(String, String, Vec<String>)> = Vec::new();
        let mut placeholder_needed = st.group_sizes.is_empty();
        let groups: Vec<PortKey> = st.group_sizes.keys().cloned().collect();
        for ports in groups {
            // Existing slices with these ports keep their endpoints (updated): a verified
            // slice as it is (`None`), another one rebuilt from the desired state.
            let mut slices: Vec<(&SharedObject, Option<Vec<Endpoint>>)> = Vec::new();
            for o in &existing {
                let Some(s) = slice_of(o) else { continue };
                if used.contains(o.name()) || key_ports(s) != ports {
                    continue;
                }
                used.insert(o.name());
                if st.verified.contains_key(o.name()) {
                    slices.push((o, None));
                    continue;
                }
                let mut kept = Vec::new();
                for e in endpoints_of(s) {
                    let t = target(e);
                    if taken.contains(t.as_ref()) {
                        continue;
                    }
                    if let Some((p, ep)) = st.desired.get(t.as_ref())
                        && *p == ports
                    {
                        kept.push(ep.clone());
                        taken.insert(t.into_owned());
                    }
                }
                slices.push((o, Some(kept)));
            }
            // New endpoints (in pod-name order) fill slices with room, then new slices.
            let mut rest: VecDeque<&String> = st
                .unplaced
                .iter()
                .filter(|p| !taken.contains(*p))
                .filter(|p| st.desired.get(*p).is_some_and(|(g, _)| *g == ports))
                .collect();
            for (o, plan) in slices.iter_mut() {
                if rest.is_empty() {
                    break;
                }
                let len = match plan {
                    Some(eps) => eps.len(),
                    None => slice_of(o).map_or(0, |s| endpoints_of(s).len()),
                };
                if len >= MAX_ENDPOINTS_PER_SLICE {
                    continue;
                }
                let eps = plan.get_or_insert_with(|| {
                    slice_of(o).map_or(Vec::new(), |s| endpoints_of(s).to_vec())
                });
                while eps.len() < MAX_ENDPOINTS_PER_SLICE {
                    let Some(p) = rest.pop_front() else { break };
                    if let Some((_, ep)) = st.desired.get(p) {
                        eps.push(ep.clone());
                    }
                }
            }
            for (o, plan) in slices {
                let (Some(s), Some(eps)) = (slice_of(o), plan) else {
                    continue;
                };
                if eps.is_empty() {
                    deletes.push(o.clone());
                    continue;
                }
                if endpoints_of(s) != eps.as_slice() {
                    let mut updated = s.clone();
                    updated.endpoints = Some(eps);
                    cx.writes.push(Write::update(Object::from(updated), key));
                } else {
                    let pods = eps.iter().map(|e| target(e).into_owned()).collect();
                    agreeing.push((o.name().to_string(), o.resource_version().to_string(), pods));
                }
            }
            let rest: Vec<Endpoint> = rest
                .into_iter()
                .filter_map(|p| st.desired.get(p).map(|(_, ep)| ep.clone()))
                .collect();
            for chunk in rest.chunks(MAX_ENDPOINTS_PER_SLICE) {
                creates.push(new_slice(&svc_obj, slice_ports(&ports), chunk.to_vec()));
            }
        }
        for o in &existing {
            if used.contains(o.name()) {
                continue;
            }
            let empty = slice_of(o).is_some_and(|s| {
                endpoints_of(s).is_empty() && s.ports.as_deref().unwrap_or(&[]).is_empty()
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
        for (name, rv, pods) in agreeing {
            st.verify(&name, &rv, pods);
        }
        // Reuse slices marked for deletion instead of creating new ones (the reconciler's
        // `finalize`): fewer objects churn, and a placeholder turns into the first slice.
        for new in creates {
            match (deletes.pop(), new) {
                (Some(old), Object::EndpointSlice(n)) if slice_of(&old).is_some() => {
                    st.unverify(old.name());
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
            st.unverify(o.name());
            cx.writes.push(Write::delete(&o, key));
        }
        Ok(Action::AwaitChange)
    }

    fn reset(&mut self) {
        self.services.clear();
    }
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
