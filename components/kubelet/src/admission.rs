//! Pod admission on the node: the checks the kubelet re-runs before it starts a pod the
//! scheduler (or a user setting `spec.nodeName`) put there.
//!
//! Follows `pkg/kubelet/lifecycle/predicate.go` (`generalFilter` over the scheduler's
//! NodeResourcesFit and NodeAffinity, and the pod count against maxPods): rejection reasons
//! `OutOfcpu`, `OutOfmemory`, `OutOfpods` with "Node didn't have enough resource: cpu,
//! requested: 2000, used: 7000, capacity: 8000", and `NodeAffinity` with "Predicate
//! NodeAffinity failed", each prefixed "Pod was rejected: " in `status.message`.
//! Simplifications: no NodePorts or extended resources check; static pods are admitted
//! without checks (as critical pods are, short of preemption).

use api::k8s_openapi::api::core::v1::{Node, Pod};
use api::quantity::Quantity;
use api::resources::{cpu_memory, pod_requests};

use crate::config::KubeletConfig;

/// `Err((reason, message))` when the pod must not run here. `admitted` are the pods already
/// running (not finished) on the node.
pub fn admit<'a>(
    cfg: &KubeletConfig,
    node: &Node,
    pod: &Pod,
    admitted: impl Iterator<Item = &'a Pod>,
) -> Result<(), (String, String)> {
    let spec = pod.spec.clone().unwrap_or_default();
    if !api::affinity::pod_matches_node(&spec, node) {
        return Err((
            "NodeAffinity".into(),
            "Pod was rejected: Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector".into(),
        ));
    }
    let (mut used_cpu, mut used_mem, mut count) = (0i64, 0i64, 0usize);
    for p in admitted {
        let (c, m) = cpu_memory(&pod_requests(&p.spec.clone().unwrap_or_default()));
        used_cpu += c;
        used_mem += m;
        count += 1;
    }
    let max_pods = cfg.max_pods();
    if count + 1 > max_pods {
        return Err((
            "OutOfpods".into(),
            format!(
                "Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: {count}, capacity: {max_pods}"
            ),
        ));
    }
    let (cpu, mem) = cpu_memory(&pod_requests(&spec));
    let capacity = |name: &str, milli: bool| {
        cfg.capacity
            .get(name)
            .and_then(|q| Quantity::parse(q).ok())
            .map_or(
                i64::MAX,
                |q| if milli { q.milli_value() } else { q.value() },
            )
    };
    for (name, want, used, cap) in [
        ("cpu", cpu, used_cpu, capacity("cpu", true)),
        ("memory", mem, used_mem, capacity("memory", false)),
    ] {
        if want > 0 && used.saturating_add(want) > cap {
            return Err((
                format!("OutOf{name}"),
                format!(
                    "Pod was rejected: Node didn't have enough resource: {name}, requested: {want}, used: {used}, capacity: {cap}"
                ),
            ));
        }
    }
    Ok(())
}
