//! `kubectl describe node` (`describeNode`, `describeNodeLease`, `describeNodeResource` in
//! `staging/src/k8s.io/kubectl/pkg/describe/describe.go`, kubectl v1.33): roles, taints, the
//! node's Lease, conditions, addresses, capacity, system info, the non-terminated pods with
//! their requests and limits as a share of allocatable, and their totals.

use std::collections::BTreeMap;

use api::k8s_openapi::api::coordination::v1 as coordination;
use api::k8s_openapi::api::core::v1 as core;
use api::quantity::Quantity;
use api::resources::{ResourceList, parse_list, pod_requests};

use super::common;
use super::tabwriter::PrefixWriter;

const ROLE_PREFIX: &str = "node-role.kubernetes.io/";
const ROLE_LABEL: &str = "kubernetes.io/role";

/// What describe fetched besides the node.
pub struct NodeRelated<'a> {
    /// The node's Lease in kube-node-lease, or the error text of getting it.
    pub lease: Result<Option<&'a coordination::Lease>, String>,
    /// Non-terminated pods bound to the node; `None` when listing them was forbidden.
    pub pods: Option<&'a [&'a core::Pod]>,
    pub events: Option<&'a [core::Event]>,
}

/// `findNodeRoles`, sorted.
pub fn roles(node: &core::Node) -> Vec<String> {
    let mut roles: Vec<String> = node
        .metadata
        .labels
        .iter()
        .flatten()
        .filter_map(|(k, v)| {
            if let Some(role) = k.strip_prefix(ROLE_PREFIX) {
                (!role.is_empty()).then(|| role.to_string())
            } else if k == ROLE_LABEL && !v.is_empty() {
                Some(v.clone())
            } else {
                None
            }
        })
        .collect();
    roles.sort();
    roles.dedup();
    roles
}

pub fn describe(node: &core::Node, related: &NodeRelated<'_>, now_secs: i64) -> String {
    let mut w = PrefixWriter::new();
    let meta = &node.metadata;
    let spec = node.spec.clone().unwrap_or_default();
    let status = node.status.clone().unwrap_or_default();
    w.write(
        0,
        &format!("Name:\t{}\n", meta.name.as_deref().unwrap_or("")),
    );
    let r = roles(node);
    let r = if r.is_empty() {
        common::NONE.to_string()
    } else {
        r.join(",")
    };
    w.write(0, &format!("Roles:\t{r}\n"));
    common::labels_multiline(&mut w, "", "Labels", meta.labels.as_ref());
    common::annotations_multiline(&mut w, "Annotations", meta.annotations.as_ref());
    w.write(
        0,
        &format!(
            "CreationTimestamp:\t{}\n",
            meta.creation_timestamp
                .as_ref()
                .map(common::rfc1123z)
                .unwrap_or_default()
        ),
    );
    common::taints_multiline(&mut w, "Taints", spec.taints.as_deref().unwrap_or(&[]));
    w.write(
        0,
        &format!("Unschedulable:\t{}\n", spec.unschedulable.unwrap_or(false)),
    );
    match &related.lease {
        Ok(lease) => {
            let lease_spec = lease.and_then(|l| l.spec.as_ref());
            w.write(0, "Lease:\n");
            let holder = lease_spec
                .and_then(|s| s.holder_identity.clone())
                .unwrap_or_else(|| "<unset>".into());
            w.write(1, &format!("HolderIdentity:\t{holder}\n"));
            let time =
                |t: Option<&api::k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime>| {
                    t.map_or_else(
                        || "<unset>".to_string(),
                        |t| t.0.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string(),
                    )
                };
            w.write(
                1,
                &format!(
                    "AcquireTime:\t{}\n",
                    time(lease_spec.and_then(|s| s.acquire_time.as_ref()))
                ),
            );
            w.write(
                1,
                &format!(
                    "RenewTime:\t{}\n",
                    time(lease_spec.and_then(|s| s.renew_time.as_ref()))
                ),
            );
        }
        Err(e) => w.write(0, &format!("Lease:\tFailed to get lease: {e}\n")),
    }
    let conditions = status.conditions.as_deref().unwrap_or(&[]);
    if !conditions.is_empty() {
        w.write(
            0,
            "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n",
        );
        w.write(
            1,
            "----\t------\t-----------------\t------------------\t------\t-------\n",
        );
        for c in conditions {
            let t = |t: &Option<api::k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>| {
                t.as_ref()
                    .map(common::rfc1123z)
                    .unwrap_or_else(|| "Mon, 01 Jan 0001 00:00:00 +0000".into())
            };
            w.write(
                1,
                &format!(
                    "{} \t{} \t{} \t{} \t{} \t{}\n",
                    c.type_,
                    c.status,
                    t(&c.last_heartbeat_time),
                    t(&c.last_transition_time),
                    c.reason.as_deref().unwrap_or(""),
                    c.message.as_deref().unwrap_or("")
                ),
            );
        }
    }
    w.write(0, "Addresses:\n");
    for a in status.addresses.iter().flatten() {
        w.write(1, &format!("{}:\t{}\n", a.type_, a.address));
    }
    for (title, list) in [
        ("Capacity", &status.capacity),
        ("Allocatable", &status.allocatable),
    ] {
        if let Some(list) = list.as_ref().filter(|l| !l.is_empty()) {
            w.write(0, &format!("{title}:\n"));
            for (name, q) in list {
                w.write(0, &format!("  {name}:\t{}\n", common::quantity(q)));
            }
        }
    }
    let info = status.node_info.clone().unwrap_or_default();
    w.write(0, "System Info:\n");
    for (label, value) in [
        ("Machine ID", &info.machine_id),
        ("System UUID", &info.system_uuid),
        ("Boot ID", &info.boot_id),
        ("Kernel Version", &info.kernel_version),
        ("OS Image", &info.os_image),
        ("Operating System", &info.operating_system),
        ("Architecture", &info.architecture),
        ("Container Runtime Version", &info.container_runtime_version),
        ("Kubelet Version", &info.kubelet_version),
    ] {
        w.write(0, &format!("  {label}:\t{value}\n"));
    }
    if let Some(cidr) = spec.pod_cidr.as_deref().filter(|s| !s.is_empty()) {
        w.write(0, &format!("PodCIDR:\t{cidr}\n"));
    }
    if let Some(cidrs) = spec.pod_cidrs.as_deref().filter(|s| !s.is_empty()) {
        w.write(0, &format!("PodCIDRs:\t{}\n", cidrs.join(",")));
    }
    if let Some(p) = spec.provider_id.as_deref().filter(|s| !s.is_empty()) {
        w.write(0, &format!("ProviderID:\t{p}\n"));
    }
    match related.pods {
        Some(pods) => node_resources(&mut w, pods, &status, now_secs),
        None => w.write(0, "Pods:\tnot authorized\n"),
    }
    if let Some(events) = related.events {
        common::events(&mut w, events, now_secs);
    }
    w.finish()
}

/// `PodLimits`: the containers' limits summed, at least each init container's.
fn pod_limits(spec: &core::PodSpec) -> ResourceList {
    let limits_of =
        |c: &core::Container| parse_list(c.resources.as_ref().and_then(|r| r.limits.as_ref()));
    let mut total = ResourceList::new();
    for c in &spec.containers {
        for (k, v) in limits_of(c) {
            total.entry(k).or_insert(Quantity::ZERO).add(&v);
        }
    }
    for c in spec.init_containers.iter().flatten() {
        for (k, v) in limits_of(c) {
            let slot = total.entry(k).or_insert(Quantity::ZERO);
            if v > *slot {
                *slot = v;
            }
        }
    }
    total
}

/// `int64(float64(part) / float64(whole) * 100)`.
fn percent(part: i64, whole: i64) -> i64 {
    if whole == 0 {
        return 0;
    }
    (part as f64 / whole as f64 * 100.0) as i64
}

fn node_resources(
    w: &mut PrefixWriter,
    pods: &[&core::Pod],
    status: &core::NodeStatus,
    now_secs: i64,
) {
    w.write(
        0,
        &format!("Non-terminated Pods:\t({} in total)\n", pods.len()),
    );
    w.write(
        1,
        "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n",
    );
    w.write(
        1,
        "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n",
    );
    let allocatable = if status.allocatable.as_ref().is_some_and(|a| !a.is_empty()) {
        parse_list(status.allocatable.as_ref())
    } else {
        parse_list(status.capacity.as_ref())
    };
    let alloc_cpu = allocatable.get("cpu").map_or(0, Quantity::milli_value);
    let alloc_mem = allocatable.get("memory").map_or(0, Quantity::value);
    let alloc_eph = allocatable
        .get("ephemeral-storage")
        .map_or(0, Quantity::value);
    let zero = Quantity::ZERO;
    let mut reqs: BTreeMap<String, Quantity> = BTreeMap::new();
    let mut limits: BTreeMap<String, Quantity> = BTreeMap::new();
    for pod in pods {
        let spec = pod.spec.clone().unwrap_or_default();
        let req = pod_requests(&spec);
        let lim = pod_limits(&spec);
        let cpu_req = req.get("cpu").unwrap_or(&zero);
        let cpu_lim = lim.get("cpu").unwrap_or(&zero);
        let mem_req = req.get("memory").unwrap_or(&zero);
        let mem_lim = lim.get("memory").unwrap_or(&zero);
        // kubectl divides by allocatable without a zero check here (NaN prints as a huge
        // negative number); a node always reports allocatable cpu and memory.
        w.write(
            1,
            &format!(
                "{}\t{}\t\t{} ({}%)\t{} ({}%)\t{} ({}%)\t{} ({}%)\t{}\n",
                pod.metadata.namespace.as_deref().unwrap_or(""),
                pod.metadata.name.as_deref().unwrap_or(""),
                cpu_req,
                percent(cpu_req.milli_value(), alloc_cpu),
                cpu_lim,
                percent(cpu_lim.milli_value(), alloc_cpu),
                mem_req,
                percent(mem_req.value(), alloc_mem),
                mem_lim,
                percent(mem_lim.value(), alloc_mem),
                common::since(pod.metadata.creation_timestamp.as_ref(), now_secs)
            ),
        );
        for (k, v) in req {
            reqs.entry(k).or_insert(Quantity::ZERO).add(&v);
        }
        for (k, v) in lim {
            limits.entry(k).or_insert(Quantity::ZERO).add(&v);
        }
    }
    w.write(
        0,
        "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n",
    );
    w.write(1, "Resource\tRequests\tLimits\n");
    w.write(1, "--------\t--------\t------\n");
    for (name, whole, milli) in [
        ("cpu", alloc_cpu, true),
        ("memory", alloc_mem, false),
        ("ephemeral-storage", alloc_eph, false),
    ] {
        let r = reqs.get(name).copied().unwrap_or(Quantity::ZERO);
        let l = limits.get(name).copied().unwrap_or(Quantity::ZERO);
        let (rv, lv) = if milli {
            (r.milli_value(), l.milli_value())
        } else {
            (r.value(), l.value())
        };
        w.write(
            1,
            &format!(
                "{name}\t{r} ({}%)\t{l} ({}%)\n",
                percent(rv, whole),
                percent(lv, whole)
            ),
        );
    }
    // Extended resources (not cpu, memory, storage, pods or hugepages) after the standard
    // ones, sorted; hugepages first.
    let hugepages: Vec<&String> = allocatable
        .keys()
        .filter(|k| k.starts_with("hugepages-"))
        .collect();
    for name in hugepages {
        let whole = allocatable.get(name).map_or(0, Quantity::value);
        let r = reqs.get(name).copied().unwrap_or(Quantity::ZERO);
        let l = limits.get(name).copied().unwrap_or(Quantity::ZERO);
        w.write(
            1,
            &format!(
                "{name}\t{r} ({}%)\t{l} ({}%)\n",
                percent(r.value(), whole),
                percent(l.value(), whole)
            ),
        );
    }
    let standard = ["cpu", "memory", "ephemeral-storage", "storage", "pods"];
    for name in allocatable
        .keys()
        .filter(|k| !k.starts_with("hugepages-") && !standard.contains(&k.as_str()))
    {
        let r = reqs.get(name).copied().unwrap_or(Quantity::ZERO);
        let l = limits.get(name).copied().unwrap_or(Quantity::ZERO);
        w.write(1, &format!("{name}\t{r}\t{l}\n"));
    }
}
