//! What the scenario says about the node components, in the terms the cluster builds them
//! with: each image's behaviour for the container runtime, kube-proxy's mode, node capacity;
//! and kind's kube-system addons, which every scenario's cluster has.

use std::collections::BTreeMap;
use std::sync::Arc;

use cluster::ComponentOptions;
use runtime::{ImageBehaviour, ImageCatalog};

use crate::scenario::{ImageSpec, ProxyMode, Scenario};
use crate::units::Duration;

fn virtual_duration(d: Duration) -> sim::Duration {
    sim::Duration::from_nanos(d.as_nanos())
}

/// An image entry of the scenario as the runtime's behaviour; unset fields keep the runtime's
/// defaults (pulls in about a second, runs for ever, ready at once, answers in 1 ms).
pub fn image_behaviour(spec: &ImageSpec) -> ImageBehaviour {
    let d = ImageBehaviour::default();
    ImageBehaviour {
        size_bytes: spec
            .size
            .as_ref()
            .map_or(d.size_bytes, |q| u64::try_from(q.value()).unwrap_or(0)),
        pull_error: spec.pull_error.clone(),
        exits_after: spec.exits_after.map(virtual_duration),
        exit_code: spec.exit_code.unwrap_or(d.exit_code),
        ready_after: spec.ready_after.map_or(d.ready_after, virtual_duration),
        fails_readiness: spec.fails_readiness,
        unhealthy_after: spec.unhealthy_after.map(virtual_duration),
        serve_latency: spec
            .serves_latency
            .map_or(d.serve_latency, virtual_duration),
        shutdown_after: spec
            .shutdown_after
            .map_or(d.shutdown_after, virtual_duration),
        logs: spec.logs.clone(),
        access_log: spec.access_log,
    }
}

/// The runtime, kubelet and kube-proxy configuration a scenario asks for.
pub fn component_options(scenario: &Scenario) -> ComponentOptions {
    let mut images = ImageCatalog::new();
    for (name, spec) in &scenario.images {
        images.insert(name, image_behaviour(spec));
    }
    let c = &scenario.cluster.node_capacity;
    let capacity: BTreeMap<String, String> = [
        ("cpu", c.cpu.to_k8s().0),
        ("memory", c.memory.to_k8s().0),
        ("pods", c.pods.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    ComponentOptions {
        images: Arc::new(images),
        proxy_mode: match scenario.cluster.proxy_mode {
            ProxyMode::Iptables => proxy::ProxyMode::Iptables,
            ProxyMode::Ipvs => proxy::ProxyMode::Ipvs,
        },
        capacity: Some(capacity),
        kube_system_addons: true,
    }
}
