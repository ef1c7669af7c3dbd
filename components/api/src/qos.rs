//! Pod QoS class (F33), as `pkg/apis/core/v1/helper/qos/qos.go` (ComputePodQOS): only cpu and
//! memory count; BestEffort when no container requests or limits either, Guaranteed when every
//! container limits both and the summed requests equal the summed limits, else Burstable.
//! It expects a defaulted pod (limits copied into missing requests), as upstream does.

use k8s_openapi::api::core::v1::Pod;

use crate::resources::{ResourceList, parse_list};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QosClass {
    Guaranteed,
    Burstable,
    BestEffort,
}

impl QosClass {
    pub fn as_str(self) -> &'static str {
        match self {
            QosClass::Guaranteed => "Guaranteed",
            QosClass::Burstable => "Burstable",
            QosClass::BestEffort => "BestEffort",
        }
    }
}

const QOS_RESOURCES: [&str; 2] = ["cpu", "memory"];

/// The class in `status.qosClass` if set, else computed.
pub fn pod_qos(pod: &Pod) -> QosClass {
    match pod.status.as_ref().and_then(|s| s.qos_class.as_deref()) {
        Some("Guaranteed") => QosClass::Guaranteed,
        Some("Burstable") => QosClass::Burstable,
        Some("BestEffort") => QosClass::BestEffort,
        _ => compute_pod_qos(pod),
    }
}

pub fn compute_pod_qos(pod: &Pod) -> QosClass {
    let Some(spec) = &pod.spec else {
        return QosClass::BestEffort;
    };
    let mut requests = ResourceList::new();
    let mut limits = ResourceList::new();
    let mut guaranteed = true;
    for c in spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
    {
        let r = c.resources.as_ref();
        for (name, q) in parse_list(r.and_then(|r| r.requests.as_ref())) {
            if QOS_RESOURCES.contains(&name.as_str()) && !q.is_negative() && !q.is_zero() {
                requests.entry(name).or_default().add(&q);
            }
        }
        let mut limited = 0;
        for (name, q) in parse_list(r.and_then(|r| r.limits.as_ref())) {
            if QOS_RESOURCES.contains(&name.as_str()) && !q.is_negative() && !q.is_zero() {
                limited += 1;
                limits.entry(name).or_default().add(&q);
            }
        }
        if limited < QOS_RESOURCES.len() {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return QosClass::BestEffort;
    }
    if guaranteed
        && requests.iter().all(|(k, v)| limits.get(k) == Some(v))
        && requests.len() == limits.len()
    {
        QosClass::Guaranteed
    } else {
        QosClass::Burstable
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse_objects;

    fn qos(resources: &str) -> QosClass {
        let text = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n{resources}"
        );
        let mut obj = parse_objects(&text).unwrap().remove(0);
        crate::defaults::apply(&mut obj);
        compute_pod_qos(obj.as_pod().unwrap())
    }

    #[test]
    fn classes() {
        let cases = [
            ("  - {name: a, image: x}\n", QosClass::BestEffort),
            (
                "  - {name: a, image: x, resources: {requests: {cpu: 100m}}}\n",
                QosClass::Burstable,
            ),
            (
                "  - {name: a, image: x, resources: {limits: {cpu: 1, memory: 1Gi}}}\n",
                QosClass::Guaranteed,
            ),
            (
                "  - {name: a, image: x, resources: {requests: {cpu: 1, memory: 1Gi}, limits: {cpu: 1, memory: 1Gi}}}\n",
                QosClass::Guaranteed,
            ),
            (
                "  - {name: a, image: x, resources: {requests: {cpu: 500m, memory: 1Gi}, limits: {cpu: 1, memory: 1Gi}}}\n",
                QosClass::Burstable,
            ),
            (
                "  - {name: a, image: x, resources: {limits: {cpu: 1}}}\n",
                QosClass::Burstable,
            ),
            (
                "  - {name: a, image: x, resources: {limits: {cpu: 1, memory: 1Gi}}}\n  - {name: b, image: x}\n",
                QosClass::Burstable,
            ),
            (
                "  - {name: a, image: x, resources: {requests: {ephemeral-storage: 1Gi}}}\n",
                QosClass::BestEffort,
            ),
        ];
        for (resources, want) in cases {
            assert_eq!(qos(resources), want, "{resources}");
        }
    }
}
