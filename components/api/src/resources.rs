//! A pod's effective resource requests, as the scheduler and kubelet count them:
//! `staging/src/k8s.io/component-helpers/resource/helpers.go` (PodRequests): the sum of the
//! containers, raised to the largest init container (restartable "sidecar" init containers
//! add to the sum and to every later init container), plus `spec.overhead`.
//! Simplification: pod-level `spec.resources` and in-place resize status are not considered.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec};

use crate::quantity::Quantity;

/// Resource name → amount.
pub type ResourceList = BTreeMap<String, Quantity>;

/// The scheduler's stand-in for an unset CPU request when scoring (`DefaultMilliCPURequest`).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// The scheduler's stand-in for an unset memory request when scoring (200Mi).
pub const DEFAULT_MEMORY_REQUEST_BYTES: i64 = 200 * 1024 * 1024;

/// Parses a k8s-openapi resource map; entries that do not parse are skipped (validation has
/// rejected them before an object is stored).
pub fn parse_list(
    list: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
) -> ResourceList {
    list.into_iter()
        .flatten()
        .filter_map(|(k, v)| Quantity::parse(&v.0).ok().map(|q| (k.clone(), q)))
        .collect()
}

fn container_requests(c: &Container) -> ResourceList {
    parse_list(c.resources.as_ref().and_then(|r| r.requests.as_ref()))
}

fn add(into: &mut ResourceList, from: &ResourceList) {
    for (k, v) in from {
        into.entry(k.clone()).or_insert(Quantity::ZERO).add(v);
    }
}

fn max_into(into: &mut ResourceList, from: &ResourceList) {
    for (k, v) in from {
        let slot = into.entry(k.clone()).or_insert(Quantity::ZERO);
        if *v > *slot {
            *slot = *v;
        }
    }
}

/// PodRequests.
pub fn pod_requests(spec: &PodSpec) -> ResourceList {
    let mut requests = ResourceList::new();
    for c in &spec.containers {
        add(&mut requests, &container_requests(c));
    }
    let mut sidecars = ResourceList::new();
    let mut init_max = ResourceList::new();
    for c in spec.init_containers.iter().flatten() {
        let own = container_requests(c);
        let effective = if c.restart_policy.as_deref() == Some("Always") {
            add(&mut requests, &own);
            add(&mut sidecars, &own);
            sidecars.clone()
        } else {
            let mut tmp = own;
            add(&mut tmp, &sidecars);
            tmp
        };
        max_into(&mut init_max, &effective);
    }
    max_into(&mut requests, &init_max);
    add(&mut requests, &parse_list(spec.overhead.as_ref()));
    requests
}

/// Milli-CPU and memory bytes of [`pod_requests`], the two NodeResourcesFit checks first.
pub fn cpu_memory(requests: &ResourceList) -> (i64, i64) {
    (
        requests.get("cpu").map_or(0, Quantity::milli_value),
        requests.get("memory").map_or(0, Quantity::value),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ResourceRequirements;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;

    fn c(cpu: &str, memory: &str, sidecar: bool) -> Container {
        let mut requests = BTreeMap::new();
        if !cpu.is_empty() {
            requests.insert("cpu".to_string(), K8sQuantity(cpu.into()));
        }
        if !memory.is_empty() {
            requests.insert("memory".to_string(), K8sQuantity(memory.into()));
        }
        Container {
            name: "c".into(),
            resources: Some(ResourceRequirements {
                requests: Some(requests),
                ..Default::default()
            }),
            restart_policy: sidecar.then(|| "Always".to_string()),
            ..Default::default()
        }
    }

    /// containers, init containers, overhead (cpu, memory), expected (milli-CPU, bytes).
    type Case<'a> = (
        &'a [Container],
        &'a [Container],
        Option<(&'a str, &'a str)>,
        (i64, i64),
    );

    #[test]
    fn sums_containers_and_takes_the_largest_init_container() {
        let cases: &[Case] = &[
            (&[], &[], None, (0, 0)),
            (
                &[c("100m", "64Mi", false), c("250m", "", false)],
                &[],
                None,
                (350, 64 << 20),
            ),
            // An init container larger than the sum decides.
            (
                &[c("100m", "64Mi", false)],
                &[c("1", "32Mi", false)],
                None,
                (1000, 64 << 20),
            ),
            // A sidecar adds to the sum and to the init containers after it.
            (
                &[c("100m", "", false)],
                &[c("200m", "", true), c("500m", "", false)],
                None,
                (700, 0),
            ),
            (
                &[c("100m", "64Mi", false)],
                &[],
                Some(("250m", "120Mi")),
                (350, 184 << 20),
            ),
        ];
        for (containers, init, overhead, want) in cases {
            let spec = PodSpec {
                containers: containers.to_vec(),
                init_containers: Some(init.to_vec()),
                overhead: overhead.map(|(cpu, mem)| {
                    [
                        ("cpu".to_string(), K8sQuantity(cpu.into())),
                        ("memory".to_string(), K8sQuantity(mem.into())),
                    ]
                    .into()
                }),
                ..Default::default()
            };
            assert_eq!(cpu_memory(&pod_requests(&spec)), *want);
        }
    }
}
