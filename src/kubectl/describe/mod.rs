//! What `kubectl describe` prints for one object, and which other objects it reads to say it.
//!
//! Follows `staging/src/k8s.io/kubectl/pkg/describe/describe.go` (kubectl v1.33): the
//! describers of Pod, Node, Namespace, Service, Deployment, ReplicaSet, DaemonSet, ConfigMap,
//! Secret and ServiceAccount, and the
//! generic describer for the kinds kubectl has none for (Lease, Event). The layout is Go's
//! tabwriter as describe sets it up ([`tabwriter`]); times are RFC 1123 with the numeric
//! zone, ages are `HumanDuration` at the virtual clock.
//!
//! The split between cluster and printing: [`needs`] says what a describer reads besides the
//! object (its events through an `involvedObject` field selector, as `searchEvents` builds
//! it; the pods a controller or a node has; a Deployment's ReplicaSets; a node's Lease; a
//! Service's EndpointSlices); the runner fetches them into [`Related`] and [`describe`] prints.
//!
//! Also ConfigMap, Secret and ServiceAccount ([`config`]).
//!
//! Not done: the describers of Endpoints, EndpointSlice,
//! StatefulSet, Job, RBAC kinds, PriorityClass and PodDisruptionBudget ([`describe`] answers
//! [`Unsupported`] for them rather than printing something kubectl would not); volume types
//! other than hostPath, emptyDir, secret, configMap, projected, downwardAPI and
//! persistentVolumeClaim print `<unknown>`.

pub mod common;
pub mod config;
pub mod generic;
pub mod node;
pub mod pod;
pub mod service;
pub mod tabwriter;
pub mod workloads;

use api::k8s_openapi::api::core::v1 as core;
use api::{Kind, Object, SharedObject};

/// A kind whose kubectl describer kubesim does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("kubesim does not describe {0} yet")]
pub struct Unsupported(pub &'static str);

/// The other objects a describer reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Event searches, each `(namespace, field selector)`; the answers are concatenated.
    pub events: Vec<(String, String)>,
    /// Pods in the object's namespace with this label selector (a controller's pod status).
    pub pods_by_selector: Option<String>,
    /// Non-terminated pods bound to this node (`spec.nodeName=N,status.phase!=Succeeded,
    /// status.phase!=Failed`, in all namespaces).
    pub pods_on_node: Option<String>,
    /// ReplicaSets in the object's namespace with this label selector.
    pub replica_sets: Option<String>,
    /// The node's Lease in kube-node-lease.
    pub node_lease: Option<String>,
    /// EndpointSlices with this label selector in the object's namespace.
    pub endpoint_slices: Option<String>,
}

/// What the runner fetched for [`Needs`].
#[derive(Debug, Clone)]
pub struct Related {
    /// `None`: events not shown (several objects described, as kubectl does).
    pub events: Option<Vec<SharedObject>>,
    /// `None` for a node when listing its pods was forbidden.
    pub pods: Option<Vec<SharedObject>>,
    pub replica_sets: Vec<SharedObject>,
    /// The node's Lease, `Ok(None)` when none was asked, `Err` with the error text.
    pub lease: Result<Option<SharedObject>, String>,
    pub endpoint_slices: Vec<SharedObject>,
}

impl Default for Related {
    fn default() -> Self {
        Related {
            events: None,
            pods: None,
            replica_sets: Vec::new(),
            lease: Ok(None),
            endpoint_slices: Vec::new(),
        }
    }
}

/// `searchEvents`' field selector: `involvedObject.{kind,name,namespace,uid}`, sorted by
/// key as `fields.Set` prints it; `kind` is left out when empty (kubectl clears it for pods).
fn event_selector(kind: &str, name: &str, namespace: &str, uid: &str) -> String {
    let mut parts = Vec::with_capacity(4);
    if !kind.is_empty() {
        parts.push(format!("involvedObject.kind={kind}"));
    }
    parts.push(format!("involvedObject.name={name}"));
    parts.push(format!("involvedObject.namespace={namespace}"));
    if !uid.is_empty() {
        parts.push(format!("involvedObject.uid={uid}"));
    }
    parts.join(",")
}

/// What describing `obj` reads; `events` false leaves the event searches out.
pub fn needs(obj: &Object, events: bool) -> Needs {
    let mut n = Needs::default();
    let ns = obj.namespace().to_string();
    let name = obj.name();
    let kind = obj.info().name;
    if events && obj.kind() != Kind::Namespace {
        match obj {
            Object::Pod(p) => {
                let uid = p
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(pod::MIRROR_POD_ANNOTATION))
                    .map_or(obj.uid(), String::as_str);
                n.events
                    .push((ns.clone(), event_selector("", name, &ns, uid)));
            }
            Object::Node(_) => {
                // Controllers name a node by its UID, the kubelet by its name.
                n.events
                    .push((String::new(), event_selector(kind, name, "", obj.uid())));
                n.events
                    .push((String::new(), event_selector(kind, name, "", name)));
            }
            _ => n
                .events
                .push((ns.clone(), event_selector(kind, name, &ns, obj.uid()))),
        }
    }
    let selector =
        |s: Option<&api::k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>| {
            s.map(crate::kubectl::columns::selector_string)
                .filter(|s| s != common::NONE)
                .unwrap_or_default()
        };
    match obj {
        Object::Node(_) => {
            n.pods_on_node = Some(format!(
                "spec.nodeName={name},status.phase!=Failed,status.phase!=Succeeded"
            ));
            n.node_lease = Some(name.to_string());
        }
        Object::Deployment(d) => {
            n.replica_sets = Some(selector(Some(&d.spec.selector)));
        }
        Object::ReplicaSet(rs) => {
            n.pods_by_selector = Some(selector(Some(&rs.spec.selector)));
        }
        Object::DaemonSet(ds) => {
            n.pods_by_selector = Some(selector(Some(&ds.spec.selector)));
        }
        Object::Service(_) => {
            n.endpoint_slices = Some(format!("kubernetes.io/service-name={name}"));
        }
        _ => {}
    }
    n
}

fn typed<'a, T>(
    objects: &'a [SharedObject],
    pick: impl Fn(&'a Object) -> Option<&'a T>,
) -> Vec<&'a T> {
    objects.iter().filter_map(|o| pick(o)).collect()
}

/// Prints `obj` as `kubectl describe` does, with ages at `now_secs`.
pub fn describe(obj: &Object, related: &Related, now_secs: i64) -> Result<String, Unsupported> {
    let events: Option<Vec<core::Event>> = related.events.as_ref().map(|list| {
        list.iter()
            .filter_map(|o| match o.as_ref() {
                Object::Event(e) => Some(e.as_ref().clone()),
                _ => None,
            })
            .collect()
    });
    let events = events.as_deref();
    let pods: Vec<&core::Pod> = related
        .pods
        .as_deref()
        .map(|p| typed(p, Object::as_pod))
        .unwrap_or_default();
    Ok(match obj {
        Object::Pod(p) => pod::describe(p, events, now_secs),
        Object::Node(n) => {
            let lease = match &related.lease {
                Ok(Some(o)) => match o.as_ref() {
                    Object::Lease(l) => Ok(Some(l.as_ref())),
                    _ => Ok(None),
                },
                Ok(None) => Ok(None),
                Err(e) => Err(e.clone()),
            };
            let node_related = node::NodeRelated {
                lease,
                pods: related.pods.as_ref().map(|_| pods.as_slice()),
                events,
            };
            node::describe(n, &node_related, now_secs)
        }
        Object::Namespace(ns) => service::describe_namespace(ns),
        Object::Service(s) => {
            let slices = typed(&related.endpoint_slices, |o| match o {
                Object::EndpointSlice(s) => Some(s.as_ref()),
                _ => None,
            });
            service::describe_service(s, &slices, events, now_secs)
        }
        Object::Deployment(d) => {
            let rss = typed(&related.replica_sets, |o| match o {
                Object::ReplicaSet(rs) => Some(rs.as_ref()),
                _ => None,
            });
            workloads::describe_deployment(d, &rss, events, now_secs)
        }
        Object::ReplicaSet(rs) => workloads::describe_replica_set(rs, &pods, events, now_secs),
        Object::DaemonSet(ds) => workloads::describe_daemon_set(ds, &pods, events, now_secs),
        Object::ConfigMap(cm) => config::describe_config_map(cm, events, now_secs),
        Object::Secret(sec) => config::describe_secret(sec),
        Object::ServiceAccount(sa) => config::describe_service_account(sa, events, now_secs),
        Object::Lease(_) | Object::Event(_) | Object::EventsV1Event(_) => {
            generic::describe(obj, events, now_secs)
        }
        other => return Err(Unsupported(other.info().name)),
    })
}
