//! What the scheduler knows about one pod and one node while it decides: `PodInfo` (a pod with
//! its requests, host ports and affinity terms parsed once) and `NodeInfo` (a node with the
//! pods on it, their summed requests, the host ports in use and the images it holds).
//!
//! Follows `pkg/scheduler/framework/types.go` (PodInfo, AffinityTerm, NodeInfo, Resource,
//! `calculateResource` with the non-zero defaults of `pkg/scheduler/util/pod_resources.go`,
//! HostPortInfo) and `framework/plugins/imagelocality` (`normalizedImageName`).
//! Simplifications: pod-level resources and in-place resize are not considered (as
//! `api::resources`); volumes are not tracked.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use api::resources::{
    DEFAULT_MEMORY_REQUEST_BYTES, DEFAULT_MILLI_CPU_REQUEST, ResourceList, parse_list, pod_requests,
};
use api::selector::Selector;
use api::{Object, SharedObject};
use k8s_openapi::api::core::v1::{Node, Pod, PodAffinityTerm, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time as ApiTime;

use super::snapshot::LABEL_HOSTNAME;

/// Requested or allocatable amounts, in the units the scheduler compares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    /// `pods` (allocatable only).
    pub allowed_pods: i64,
    /// Extended resources and hugepages, by name.
    pub scalar: BTreeMap<String, i64>,
}

impl Resources {
    pub fn from_list(list: &ResourceList) -> Resources {
        let mut r = Resources::default();
        for (name, q) in list {
            match name.as_str() {
                "cpu" => r.milli_cpu = q.milli_value(),
                "memory" => r.memory = q.value(),
                "ephemeral-storage" => r.ephemeral_storage = q.value(),
                "pods" => r.allowed_pods = q.value(),
                _ => {
                    r.scalar.insert(name.clone(), q.value());
                }
            }
        }
        r
    }

    fn add(&mut self, o: &Resources, sign: i64) {
        self.milli_cpu += sign * o.milli_cpu;
        self.memory += sign * o.memory;
        self.ephemeral_storage += sign * o.ephemeral_storage;
        for (k, v) in &o.scalar {
            *self.scalar.entry(k.clone()).or_insert(0) += sign * v;
        }
    }

    /// The amount of a resource by its API name.
    pub fn get(&self, name: &str) -> i64 {
        match name {
            "cpu" => self.milli_cpu,
            "memory" => self.memory,
            "ephemeral-storage" => self.ephemeral_storage,
            "pods" => self.allowed_pods,
            other => self.scalar.get(other).copied().unwrap_or(0),
        }
    }
}

/// One `hostPort` a pod asks for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HostPort {
    pub ip: String,
    pub protocol: String,
    pub port: i32,
}

impl HostPort {
    /// `HostPortInfo.CheckConflict`: same protocol and port, and the addresses overlap
    /// (0.0.0.0 overlaps every address).
    pub fn conflicts(&self, other: &HostPort) -> bool {
        self.port == other.port
            && self.protocol == other.protocol
            && (self.ip == other.ip || self.ip == "0.0.0.0" || other.ip == "0.0.0.0")
    }
}

/// A pod (anti-)affinity term with its selectors parsed (`framework.AffinityTerm`).
#[derive(Clone, Debug)]
pub struct AffinityTerm {
    pub selector: Selector,
    /// The namespaces named by the term (the pod's own when neither names nor a namespace
    /// selector are given).
    pub namespaces: BTreeSet<String>,
    /// `namespaceSelector`; an empty selector matches every namespace.
    pub namespace_selector: Option<Selector>,
    pub topology_key: String,
}

impl AffinityTerm {
    fn parse(term: &PodAffinityTerm, own_namespace: &str) -> AffinityTerm {
        let mut namespaces: BTreeSet<String> = term.namespaces.iter().flatten().cloned().collect();
        let namespace_selector = term.namespace_selector.as_ref().map(|s| {
            Selector::from_label_selector(Some(s)).unwrap_or_else(|_| Selector::nothing())
        });
        if namespaces.is_empty() && namespace_selector.is_none() {
            namespaces.insert(own_namespace.to_string());
        }
        AffinityTerm {
            selector: Selector::from_label_selector(term.label_selector.as_ref())
                .unwrap_or_else(|_| Selector::nothing()),
            namespaces,
            namespace_selector,
            topology_key: term.topology_key.clone(),
        }
    }

    /// `AffinityTerm.Matches`: the pod is in one of the term's namespaces and its labels match.
    pub fn matches(
        &self,
        pod: &PodInfo,
        namespace_labels: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> bool {
        let in_namespace = self.namespaces.contains(&pod.namespace)
            || self.namespace_selector.as_ref().is_some_and(|s| {
                static EMPTY: BTreeMap<String, String> = BTreeMap::new();
                s.matches(namespace_labels.get(&pod.namespace).unwrap_or(&EMPTY))
            });
        in_namespace && self.selector.matches(pod.labels())
    }
}

/// A preferred term with its weight.
#[derive(Clone, Debug)]
pub struct WeightedAffinityTerm {
    pub term: AffinityTerm,
    pub weight: i64,
}

/// A pod as the scheduler reads it.
#[derive(Clone, Debug)]
pub struct PodInfo {
    pub obj: SharedObject,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// `spec.priority` (set by the Priority admission plugin; 0 without a class).
    pub priority: i32,
    pub requests: Resources,
    /// Requests with 100m CPU / 200Mi memory for what is not requested, for scoring.
    pub non_zero_cpu: i64,
    pub non_zero_memory: i64,
    pub host_ports: Vec<HostPort>,
    pub required_affinity: Vec<AffinityTerm>,
    pub required_anti_affinity: Vec<AffinityTerm>,
    pub preferred_affinity: Vec<WeightedAffinityTerm>,
    pub preferred_anti_affinity: Vec<WeightedAffinityTerm>,
    pub node_name: String,
    pub nominated_node_name: String,
    pub terminating: bool,
    pub start_time: Option<ApiTime>,
    /// The selectors of the Services, ReplicaSets and StatefulSets that select the pod, all
    /// of which a pod must match to count for the system default spread (`DefaultSelector`);
    /// empty: no default spreading. Filled by the scheduler for the pod being scheduled.
    pub default_spread_selector: Arc<[Selector]>,
    /// The pod has a nodeSelector or required node affinity (else every node matches it).
    pub has_node_constraints: bool,
}

impl PodInfo {
    /// `None` when the object is not a pod.
    pub fn new(obj: SharedObject) -> Option<PodInfo> {
        let pod = obj.as_pod()?;
        let default_spec = Default::default();
        let spec = pod.spec.as_ref().unwrap_or(&default_spec);
        let namespace = obj.namespace().to_string();
        let list = pod_requests(spec);
        let requests = Resources::from_list(&list);
        // Non-zero defaults apply per container (`NonMissingContainerRequests`), so a pod of
        // two containers without requests counts 200m; init containers raise it to their
        // largest; overhead adds. Simplification: sidecar init containers count as init ones.
        let non_zero = |c: &k8s_openapi::api::core::v1::Container| {
            let r = parse_list(c.resources.as_ref().and_then(|r| r.requests.as_ref()));
            let cpu = r.get("cpu").map_or(0, |q| q.milli_value());
            let mem = r.get("memory").map_or(0, |q| q.value());
            (
                if cpu == 0 {
                    DEFAULT_MILLI_CPU_REQUEST
                } else {
                    cpu
                },
                if mem == 0 {
                    DEFAULT_MEMORY_REQUEST_BYTES
                } else {
                    mem
                },
            )
        };
        let (mut nz_cpu, mut nz_mem) = (0, 0);
        for c in &spec.containers {
            let (cpu, mem) = non_zero(c);
            nz_cpu += cpu;
            nz_mem += mem;
        }
        for c in spec.init_containers.iter().flatten() {
            let (cpu, mem) = non_zero(c);
            nz_cpu = nz_cpu.max(cpu);
            nz_mem = nz_mem.max(mem);
        }
        let overhead = Resources::from_list(&parse_list(spec.overhead.as_ref()));
        nz_cpu += overhead.milli_cpu;
        nz_mem += overhead.memory;
        let mut host_ports = Vec::new();
        for c in spec
            .init_containers
            .iter()
            .flatten()
            .chain(&spec.containers)
        {
            for p in c.ports.iter().flatten() {
                if let Some(hp) = p.host_port.filter(|p| *p > 0) {
                    host_ports.push(HostPort {
                        ip: p
                            .host_ip
                            .clone()
                            .filter(|s| !s.is_empty())
                            .unwrap_or_else(|| "0.0.0.0".into()),
                        protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                        port: hp,
                    });
                }
            }
        }
        let affinity = spec.affinity.as_ref();
        let pa = affinity.and_then(|a| a.pod_affinity.as_ref());
        let paa = affinity.and_then(|a| a.pod_anti_affinity.as_ref());
        let required = |terms: Option<&Vec<PodAffinityTerm>>| -> Vec<AffinityTerm> {
            terms
                .into_iter()
                .flatten()
                .map(|t| AffinityTerm::parse(t, &namespace))
                .collect()
        };
        let preferred =
            |terms: Option<&Vec<k8s_openapi::api::core::v1::WeightedPodAffinityTerm>>| {
                terms
                    .into_iter()
                    .flatten()
                    .map(|w| WeightedAffinityTerm {
                        term: AffinityTerm::parse(&w.pod_affinity_term, &namespace),
                        weight: i64::from(w.weight),
                    })
                    .collect::<Vec<_>>()
            };
        let status = pod.status.as_ref();
        Some(PodInfo {
            name: obj.name().to_string(),
            uid: obj.uid().to_string(),
            priority: spec.priority.unwrap_or(0),
            requests,
            non_zero_cpu: nz_cpu,
            non_zero_memory: nz_mem,
            host_ports,
            required_affinity: required(pa.and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            required_anti_affinity: required(paa.and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            preferred_affinity: preferred(pa.and_then(|a| {
                a.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            preferred_anti_affinity: preferred(paa.and_then(|a| {
                a.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            node_name: spec.node_name.clone().unwrap_or_default(),
            nominated_node_name: status
                .and_then(|s| s.nominated_node_name.clone())
                .unwrap_or_default(),
            terminating: obj.is_terminating(),
            start_time: status.and_then(|s| s.start_time.clone()),
            default_spread_selector: Arc::from([]),
            has_node_constraints: spec.node_selector.as_ref().is_some_and(|s| !s.is_empty())
                || affinity
                    .and_then(|a| a.node_affinity.as_ref())
                    .is_some_and(|n| {
                        n.required_during_scheduling_ignored_during_execution
                            .is_some()
                    }),
            namespace,
            obj,
        })
    }

    pub fn pod(&self) -> &Pod {
        match self.obj.as_ref() {
            Object::Pod(p) => p,
            _ => unreachable!("PodInfo::new accepts pods only"),
        }
    }

    pub fn labels(&self) -> &BTreeMap<String, String> {
        self.obj.labels()
    }

    /// `namespace/name`.
    pub fn key(&self) -> String {
        // Not `format!`: every cycle builds the key, and the formatting machinery costs more
        // than the copy.
        let mut key = String::with_capacity(self.namespace.len() + 1 + self.name.len());
        key.push_str(&self.namespace);
        key.push('/');
        key.push_str(&self.name);
        key
    }

    /// Whether `key` is this pod's `namespace/name` (without building the key).
    pub fn has_key(&self, key: &str) -> bool {
        key.split_once('/') == Some((self.namespace.as_str(), self.name.as_str()))
    }

    pub fn has_affinity(&self) -> bool {
        !self.required_affinity.is_empty()
            || !self.required_anti_affinity.is_empty()
            || !self.preferred_affinity.is_empty()
            || !self.preferred_anti_affinity.is_empty()
    }

    /// The container images, init containers included.
    pub fn images(&self) -> impl Iterator<Item = &str> {
        let spec = self.pod().spec.as_ref();
        spec.into_iter()
            .flat_map(|s| s.init_containers.iter().flatten().chain(&s.containers))
            .filter_map(|c| c.image.as_deref())
    }
}

/// `normalizedImageName`: an image without a tag or digest gets `:latest`.
pub fn normalized_image_name(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || last.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

/// A node as the scheduler reads it.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    /// `None` while only pods bound to it are known (the cache saw them before the node).
    pub node: Option<SharedObject>,
    pub name: Arc<str>,
    pub allocatable: Resources,
    pub requested: Resources,
    pub non_zero_cpu: i64,
    pub non_zero_memory: i64,
    pub pods: Vec<Arc<PodInfo>>,
    pub pods_with_affinity: usize,
    pub pods_with_required_anti_affinity: usize,
    pub used_ports: Vec<HostPort>,
    /// Normalized image name → size in bytes.
    pub images: BTreeMap<String, i64>,
    pub taints: Vec<Taint>,
    pub unschedulable: bool,
    /// The node's hostname label is its name (as usual), noted while the object is at hand
    /// so that indexing hostnames need not look each node's label up.
    pub hostname_is_name: bool,
}

impl NodeInfo {
    pub fn new(name: &str) -> NodeInfo {
        NodeInfo {
            node: None,
            name: Arc::from(name),
            allocatable: Resources::default(),
            requested: Resources::default(),
            non_zero_cpu: 0,
            non_zero_memory: 0,
            pods: Vec::new(),
            pods_with_affinity: 0,
            pods_with_required_anti_affinity: 0,
            used_ports: Vec::new(),
            images: BTreeMap::new(),
            taints: Vec::new(),
            unschedulable: false,
            hostname_is_name: false,
        }
    }

    /// Sets (or replaces) the Node object.
    pub fn set_node(&mut self, obj: SharedObject) {
        if let Object::Node(n) = obj.as_ref() {
            let status = n.status.as_ref();
            self.allocatable = Resources::from_list(&parse_list(
                status.and_then(|s| s.allocatable.as_ref().or(s.capacity.as_ref())),
            ));
            self.images = status
                .and_then(|s| s.images.as_ref())
                .into_iter()
                .flatten()
                .flat_map(|i| {
                    let size = i.size_bytes.unwrap_or(0);
                    i.names
                        .iter()
                        .flatten()
                        .map(move |n| (normalized_image_name(n), size))
                })
                .collect();
            let spec = n.spec.as_ref();
            self.taints = spec.and_then(|s| s.taints.clone()).unwrap_or_default();
            self.unschedulable = spec.and_then(|s| s.unschedulable).unwrap_or(false);
        }
        self.hostname_is_name = obj
            .labels()
            .get(LABEL_HOSTNAME)
            .is_some_and(|h| **h == *self.name);
        self.node = Some(obj);
    }

    pub fn node(&self) -> Option<&Node> {
        match self.node.as_deref() {
            Some(Object::Node(n)) => Some(n.as_ref()),
            _ => None,
        }
    }

    pub fn labels(&self) -> &BTreeMap<String, String> {
        static EMPTY: BTreeMap<String, String> = BTreeMap::new();
        self.node.as_deref().map_or(&EMPTY, |o| o.labels())
    }

    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.account(&pod, 1);
        self.pods.push(pod);
    }

    /// Removes the pod with this uid; whether it was there.
    pub fn remove_pod(&mut self, uid: &str) -> bool {
        let Some(i) = self.pods.iter().position(|p| p.uid == uid) else {
            return false;
        };
        let pod = self.pods.swap_remove(i);
        self.account(&pod, -1);
        true
    }

    fn account(&mut self, pod: &PodInfo, sign: i64) {
        self.requested.add(&pod.requests, sign);
        self.non_zero_cpu += sign * pod.non_zero_cpu;
        self.non_zero_memory += sign * pod.non_zero_memory;
        let aff = usize::from(pod.has_affinity());
        let anti = usize::from(!pod.required_anti_affinity.is_empty());
        if sign > 0 {
            self.pods_with_affinity += aff;
            self.pods_with_required_anti_affinity += anti;
            self.used_ports.extend(pod.host_ports.iter().cloned());
        } else {
            self.pods_with_affinity -= aff;
            self.pods_with_required_anti_affinity -= anti;
            for hp in &pod.host_ports {
                if let Some(i) = self.used_ports.iter().position(|u| u == hp) {
                    self.used_ports.swap_remove(i);
                }
            }
        }
    }
}
