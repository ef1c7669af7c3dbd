//! Admission: what happens to a create (and update) between authorization and storage —
//! mutating plugins first, then validating ones — in the order of the apiserver's default
//! plugin list.
//!
//! Mutating: defaulting (`api::defaults`, as the decoder's `SetDefaults_*`), the registry's
//! PrepareForCreate for pods (`status.phase: Pending`, `status.qosClass`; `pkg/registry/core/
//! pod/strategy.go`), ServiceAccount (`spec.serviceAccountName: default`;
//! `plugin/pkg/admission/serviceaccount`), DefaultTolerationSeconds (F14, in
//! `api::defaults::tolerations`), Priority (`spec.priority` from `priorityClassName`, the
//! globalDefault class, or 0; `plugin/pkg/admission/priority`), and ClusterIP allocation
//! (`pkg/registry/core/service/ipallocator`: random in the upper band of 10.96.0.0/16 first).
//! Validating: NamespaceLifecycle (`plugin/pkg/admission/namespace/lifecycle`).
//!
//! Simplifications: ServiceAccount admission does not mount the projected token volume, and
//! checks that the account exists only when configured to (the ServiceAccount controller may
//! not run in a test); Service IPs are allocated from the watch cache's view (no allocator
//! object in etcd), so two apiservers allocating at the same instant may pick the same
//! address; no NodePort allocation.

use api::{Kind, Object, SharedObject};
use k8s_openapi::api::core::v1::{PodSpec, PodStatus};
use sim::SimRng;

use crate::protocol::StatusError;

/// What admission reads from the watch cache.
pub trait AdmissionLookup {
    fn namespace(&self, name: &str) -> Option<SharedObject>;
    fn priority_classes(&self) -> Vec<SharedObject>;
    fn service_account(&self, namespace: &str, name: &str) -> Option<SharedObject>;
    fn cluster_ip_in_use(&self, ip: &str) -> bool;
}

/// Namespaces that may never be deleted (`immortalNamespaces`).
pub const IMMORTAL_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

/// The service CIDR kind uses: 10.96.0.0/16.
pub const SERVICE_CIDR_BASE: u32 = (10 << 24) | (96 << 16);
const SERVICE_CIDR_SIZE: u32 = 1 << 16;
/// `calculateRangeOffset`: min(max(16, size/16), 256) addresses at the bottom for static IPs.
const STATIC_BAND: u32 = 256;

pub fn ip_string(ip: u32) -> String {
    format!(
        "{}.{}.{}.{}",
        ip >> 24,
        (ip >> 16) & 255,
        (ip >> 8) & 255,
        ip & 255
    )
}

/// NamespaceLifecycle for a create in `namespace`.
pub fn namespace_lifecycle(
    look: &dyn AdmissionLookup,
    kind: Kind,
    name: &str,
    namespace: &str,
) -> Result<(), StatusError> {
    if !kind.info().namespaced || namespace.is_empty() {
        return Ok(());
    }
    let Some(ns) = look.namespace(namespace) else {
        return Err(StatusError::namespace_not_found(namespace));
    };
    let terminating = ns.is_terminating()
        || matches!(ns.as_ref(), Object::Namespace(n) if n.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Terminating"));
    // Events may still be written into a terminating namespace, as upstream allows.
    if terminating && !matches!(kind, Kind::Event | Kind::EventsV1Event) {
        return Err(StatusError::forbidden(
            kind.info(),
            name,
            &format!(
                "unable to create new content in namespace {namespace} because it is being terminated"
            ),
        ));
    }
    Ok(())
}

/// The mutating plugins for a create, in order. `obj` already has its metadata set.
pub fn mutate_create(
    look: &dyn AdmissionLookup,
    obj: &mut Object,
    rng: &mut SimRng,
    require_sa: bool,
) -> Result<(), StatusError> {
    api::defaults::apply(obj);
    let name = obj.name().to_string();
    let namespace = obj.namespace().to_string();
    match obj {
        Object::Pod(pod) => {
            let spec = pod.spec.get_or_insert_with(Default::default);
            service_account(look, spec, &name, &namespace, require_sa)?;
            api::defaults::tolerations::add_default_tolerations(spec);
            priority(look, spec, &name)?;
            pod.status = Some(PodStatus {
                phase: Some("Pending".into()),
                qos_class: Some(qos_class(spec).into()),
                ..Default::default()
            });
        }
        Object::Service(svc) => {
            let spec = svc.spec.get_or_insert_with(Default::default);
            let external = spec.type_.as_deref() == Some("ExternalName");
            match spec.cluster_ip.as_deref() {
                _ if external => {}
                Some("None") => spec.cluster_ips = Some(vec!["None".into()]),
                Some(ip) if !ip.is_empty() => {
                    if look.cluster_ip_in_use(ip) {
                        let errs = [api::validation::FieldError::invalid(
                            "spec.clusterIPs",
                            api::validation::BadValue::Raw(format!("[]string{{\"{ip}\"}}")),
                            format!("failed to allocate IP {ip}: provided IP is already allocated"),
                        )];
                        return Err(StatusError::invalid(Kind::Service.info(), &name, &errs));
                    }
                    spec.cluster_ips = Some(vec![ip.to_string()]);
                }
                _ => {
                    let ip = allocate_cluster_ip(look, rng).ok_or_else(|| {
                        StatusError::internal("failed to allocate a serviceIP: range is full")
                    })?;
                    spec.cluster_ip = Some(ip.clone());
                    spec.cluster_ips = Some(vec![ip]);
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn service_account(
    look: &dyn AdmissionLookup,
    spec: &mut PodSpec,
    name: &str,
    namespace: &str,
    require: bool,
) -> Result<(), StatusError> {
    let sa = spec
        .service_account_name
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| spec.service_account.clone().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "default".to_string());
    if require && look.service_account(namespace, &sa).is_none() {
        return Err(StatusError::forbidden(
            Kind::Pod.info(),
            name,
            &format!(
                "error looking up service account {namespace}/{sa}: serviceaccount \"{sa}\" not found"
            ),
        ));
    }
    spec.service_account_name = Some(sa.clone());
    spec.service_account = Some(sa);
    Ok(())
}

/// The classes every cluster has (`scheduling.SystemPriorityClasses`).
pub const SYSTEM_PRIORITY_CLASSES: &[(&str, i32, &str)] = &[
    (
        "system-node-critical",
        2_000_001_000,
        "Used for system critical pods that must not be moved from their current node.",
    ),
    (
        "system-cluster-critical",
        2_000_000_000,
        "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
    ),
];

fn priority(look: &dyn AdmissionLookup, spec: &mut PodSpec, name: &str) -> Result<(), StatusError> {
    let classes = look.priority_classes();
    let class_of = |o: &SharedObject| match o.as_ref() {
        Object::PriorityClass(p) => Some((
            p.value.unwrap_or(0),
            p.preemption_policy.clone(),
            p.global_default == Some(true),
        )),
        _ => None,
    };
    let wanted = spec.priority_class_name.clone().filter(|n| !n.is_empty());
    let found = match &wanted {
        Some(n) => {
            let builtin = SYSTEM_PRIORITY_CLASSES
                .iter()
                .find(|(c, _, _)| c == n)
                .map(|(_, v, _)| (*v, None, false));
            let stored = classes.iter().find(|o| o.name() == n).and_then(class_of);
            match stored.or(builtin) {
                Some(c) => Some(c),
                None => {
                    return Err(StatusError::forbidden(
                        Kind::Pod.info(),
                        name,
                        &format!("no PriorityClass with name {n} was found"),
                    ));
                }
            }
        }
        None => classes.iter().filter_map(class_of).find(|c| c.2),
    };
    if let (Some(given), Some((value, _, _))) = (spec.priority, &found)
        && given != *value
    {
        return Err(StatusError::forbidden(
            Kind::Pod.info(),
            name,
            "the integer value of priority must not be provided in pod spec; priority admission controller computed the priority from the given PriorityClass name",
        ));
    }
    let (value, policy, _) = found.unwrap_or((spec.priority.unwrap_or(0), None, false));
    spec.priority = Some(value);
    spec.preemption_policy = Some(policy.unwrap_or_else(|| "PreemptLowerPriority".into()));
    Ok(())
}

/// `qos.GetPodQOS`, over regular containers: BestEffort without requests or limits,
/// Guaranteed when every container limits cpu and memory with requests equal to limits.
pub fn qos_class(spec: &PodSpec) -> &'static str {
    let mut any = false;
    let mut guaranteed = true;
    for c in &spec.containers {
        let r = c.resources.as_ref();
        let req = r.and_then(|r| r.requests.as_ref());
        let lim = r.and_then(|r| r.limits.as_ref());
        if req.is_some_and(|m| !m.is_empty()) || lim.is_some_and(|m| !m.is_empty()) {
            any = true;
        }
        for res in ["cpu", "memory"] {
            let l = lim.and_then(|m| m.get(res));
            let q = req.and_then(|m| m.get(res)).or(l);
            if l.is_none() || q != l {
                guaranteed = false;
            }
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// A free address: random in the upper band (bounded tries), then a scan of the whole range.
pub fn allocate_cluster_ip(look: &dyn AdmissionLookup, rng: &mut SimRng) -> Option<String> {
    let upper = SERVICE_CIDR_SIZE - STATIC_BAND - 1;
    for _ in 0..64 {
        let ip = ip_string(SERVICE_CIDR_BASE + STATIC_BAND + rng.below(u64::from(upper)) as u32);
        if !look.cluster_ip_in_use(&ip) {
            return Some(ip);
        }
    }
    (1..SERVICE_CIDR_SIZE - 1)
        .map(|o| ip_string(SERVICE_CIDR_BASE + o))
        .find(|ip| !look.cluster_ip_in_use(ip))
}
