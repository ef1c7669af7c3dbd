//! NodePort allocation: what the Service registry does with `spec.ports[*].nodePort` when a
//! Service of type NodePort or LoadBalancer is created or updated.
//!
//! Follows `pkg/registry/core/service/portallocator` (the range 30000-32767,
//! `--service-node-port-range`'s default; `ErrAllocated` "provided port is already
//! allocated", `ErrNotInRange`, `ErrFull` "range is full") and its bitmap allocator with the
//! static subrange (`calculateRangeOffset`: min(max(16, size/32), 128) = 86 ports at the
//! bottom of the range are left for users who ask for a port; a dynamic allocation takes a
//! random free port of the upper band, scanning on from a random start, then the lower band),
//! and `pkg/registry/core/service/storage/alloc.go`: ports of one Service that share a port
//! number (53/UDP and 53/TCP) share one NodePort; a port given by the user is checked,
//! others are allocated; an update keeps the NodePorts the Service already holds
//! (`patchAllocatedValues`, so `kubectl apply` without nodePort keeps them) and frees them
//! when the type no longer needs them (`dropTypeDependentFields`).
//!
//! Simplification: there is no allocator bitmap in etcd (`/registry/ranges/servicenodeports`)
//! nor its repair loop; the ports in use are read from the watch cache's Services, so two
//! apiservers allocating at the same instant could hand out the same port, as for ClusterIPs
//! (`crate::admission`).

use std::collections::{BTreeMap, BTreeSet};

use api::validation::{BadValue, FieldError};
use api::{Kind, Object, SharedObject};
use k8s_openapi::api::core::v1::{Service, ServicePort};
use sim::SimRng;

use crate::protocol::StatusError;

/// `--service-node-port-range`'s default, inclusive.
pub const NODE_PORT_RANGE: (u16, u16) = (30000, 32767);

const RANGE_SIZE: u32 = (NODE_PORT_RANGE.1 - NODE_PORT_RANGE.0) as u32 + 1;

/// `calculateRangeOffset` for the default range: 2768 / 32 = 86.
pub const STATIC_SUBRANGE: u32 = {
    let o = RANGE_SIZE / 32;
    if o < 16 {
        16
    } else if o > 128 {
        128
    } else {
        o
    }
};

/// Whether a Service of this spec holds NodePorts (`needsNodePort`).
pub fn needs_node_ports(svc: &Service) -> bool {
    let Some(spec) = svc.spec.as_ref() else {
        return false;
    };
    match spec.type_.as_deref() {
        Some("NodePort") => true,
        Some("LoadBalancer") => spec.allocate_load_balancer_node_ports != Some(false),
        _ => false,
    }
}

/// Every NodePort held by a Service other than `namespace/name`.
pub fn ports_in_use(services: &[SharedObject], namespace: &str, name: &str) -> BTreeSet<u16> {
    services
        .iter()
        .filter_map(|o| match o.as_ref() {
            Object::Service(s) => Some(s.as_ref()),
            _ => None,
        })
        .filter(|s| {
            s.metadata.namespace.as_deref() != Some(namespace)
                || s.metadata.name.as_deref() != Some(name)
        })
        .flat_map(held_ports)
        .collect()
}

fn held_ports(svc: &Service) -> Vec<u16> {
    svc.spec
        .iter()
        .flat_map(|s| s.ports.iter().flatten())
        .filter_map(|p| p.node_port.and_then(|n| u16::try_from(n).ok()))
        .filter(|n| *n != 0)
        .collect()
}

/// Fills and checks `svc`'s NodePorts, on a create (`old` is `None`) or an update. `in_use`
/// are the ports other Services hold ([`ports_in_use`]).
pub fn allocate(
    svc: &mut Service,
    old: Option<&Service>,
    in_use: &BTreeSet<u16>,
    rng: &mut SimRng,
) -> Result<(), StatusError> {
    let name = svc.metadata.name.clone().unwrap_or_default();
    if !needs_node_ports(svc) {
        if let Some(old) = old.filter(|o| needs_node_ports(o)) {
            drop_released(svc, old);
        }
        return Ok(());
    }
    if let Some(old) = old.filter(|o| needs_node_ports(o)) {
        keep_allocated(svc, old);
    }
    let Some(ports) = svc.spec.as_mut().and_then(|s| s.ports.as_mut()) else {
        return Ok(());
    };
    // Port number → the NodePort its entries share; and the ports this request took.
    let mut by_port: BTreeMap<i32, u16> = BTreeMap::new();
    let mut taken: BTreeSet<u16> = BTreeSet::new();
    for (i, p) in ports.iter_mut().enumerate() {
        let requested = p.node_port.unwrap_or(0);
        if requested != 0 {
            let np = u16::try_from(requested)
                .ok()
                .filter(|n| (NODE_PORT_RANGE.0..=NODE_PORT_RANGE.1).contains(n))
                .ok_or_else(|| not_in_range(&name, i, requested))?;
            let shared = by_port.get(&p.port) == Some(&np);
            if !shared && (in_use.contains(&np) || taken.contains(&np)) {
                return Err(already_allocated(&name, i, requested));
            }
            taken.insert(np);
            by_port.insert(p.port, np);
            continue;
        }
        let np = match by_port.get(&p.port) {
            Some(np) => *np,
            None => {
                let busy = |n: u16| in_use.contains(&n) || taken.contains(&n);
                let np = allocate_next(busy, rng).ok_or_else(|| {
                    StatusError::internal("failed to allocate a nodePort: range is full")
                })?;
                taken.insert(np);
                by_port.insert(p.port, np);
                np
            }
        };
        p.node_port = Some(i32::from(np));
    }
    Ok(())
}

/// `patchAllocatedValues`: a port the update leaves without a NodePort keeps the one the
/// stored Service holds for the same port and protocol.
fn keep_allocated(svc: &mut Service, old: &Service) {
    let old_ports: &[ServicePort] = old
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_deref())
        .unwrap_or(&[]);
    for p in svc
        .spec
        .iter_mut()
        .flat_map(|s| s.ports.iter_mut().flatten())
    {
        if p.node_port.unwrap_or(0) != 0 {
            continue;
        }
        if let Some(o) = old_ports
            .iter()
            .find(|o| o.port == p.port && o.protocol == p.protocol)
        {
            p.node_port = o.node_port;
        }
    }
}

/// `dropTypeDependentFields`: moving to a type without NodePorts releases those the user did
/// not change.
fn drop_released(svc: &mut Service, old: &Service) {
    let old_ports: &[ServicePort] = old
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_deref())
        .unwrap_or(&[]);
    for p in svc
        .spec
        .iter_mut()
        .flat_map(|s| s.ports.iter_mut().flatten())
    {
        if old_ports
            .iter()
            .any(|o| o.port == p.port && o.protocol == p.protocol && o.node_port == p.node_port)
        {
            p.node_port = None;
        }
    }
}

/// The bitmap allocator's `AllocateNext` with an offset: a random start in the upper band,
/// scanning on (wrapping inside the band), then the same in the static lower band.
fn allocate_next(busy: impl Fn(u16) -> bool, rng: &mut SimRng) -> Option<u16> {
    let port = |offset: u32| NODE_PORT_RANGE.0 + offset as u16;
    let bands = [(STATIC_SUBRANGE, RANGE_SIZE), (0, STATIC_SUBRANGE)];
    for (lo, hi) in bands {
        let size = hi - lo;
        let start = rng.below(u64::from(size)) as u32;
        if let Some(p) = (0..size)
            .map(|k| port(lo + (start + k) % size))
            .find(|p| !busy(*p))
        {
            return Some(p);
        }
    }
    None
}

fn field(i: usize) -> String {
    format!("spec.ports[{i}].nodePort")
}

fn already_allocated(name: &str, i: usize, port: i32) -> StatusError {
    let errs = [FieldError::invalid(
        field(i),
        BadValue::Int(port.into()),
        "provided port is already allocated",
    )];
    StatusError::invalid(Kind::Service.info(), name, &errs)
}

fn not_in_range(name: &str, i: usize, port: i32) -> StatusError {
    let errs = [FieldError::invalid(
        field(i),
        BadValue::Int(port.into()),
        format!(
            "provided port is not in the valid range. The range of valid ports is {}-{}",
            NODE_PORT_RANGE.0, NODE_PORT_RANGE.1
        ),
    )];
    StatusError::invalid(Kind::Service.info(), name, &errs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ServiceSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use std::sync::Arc;

    fn svc(name: &str, type_: &str, ports: &[(i32, &str, i32)]) -> Service {
        Service {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                ..Default::default()
            },
            spec: Some(ServiceSpec {
                type_: Some(type_.into()),
                ports: Some(
                    ports
                        .iter()
                        .map(|(port, proto, np)| ServicePort {
                            port: *port,
                            protocol: Some((*proto).into()),
                            node_port: (*np != 0).then_some(*np),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn node_ports(s: &Service) -> Vec<Option<i32>> {
        s.spec
            .as_ref()
            .unwrap()
            .ports
            .as_ref()
            .unwrap()
            .iter()
            .map(|p| p.node_port)
            .collect()
    }

    #[test]
    fn random_in_the_upper_band_and_shared_by_port_number() {
        let mut rng = SimRng::fork(1, "np");
        let mut s = svc(
            "dns",
            "NodePort",
            &[(53, "UDP", 0), (53, "TCP", 0), (9153, "TCP", 0)],
        );
        allocate(&mut s, None, &BTreeSet::new(), &mut rng).unwrap();
        let got = node_ports(&s);
        let (a, b, c) = (got[0].unwrap(), got[1].unwrap(), got[2].unwrap());
        assert_eq!(a, b, "53/UDP and 53/TCP share one NodePort");
        assert_ne!(a, c);
        for p in [a, c] {
            assert!((30086..=32767).contains(&p), "{p} is in the dynamic band");
        }
    }

    #[test]
    fn a_port_in_use_is_rejected_with_kubernetes_message() {
        let mut rng = SimRng::fork(1, "np");
        let other: SharedObject =
            Arc::new(Object::from(svc("a", "NodePort", &[(80, "TCP", 30080)])));
        let in_use = ports_in_use(&[other], "default", "b");
        let mut s = svc("b", "NodePort", &[(80, "TCP", 30080)]);
        let err = allocate(&mut s, None, &in_use, &mut rng).unwrap_err();
        assert_eq!(
            err.message,
            "Service \"b\" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated"
        );
        let mut s = svc("b", "NodePort", &[(80, "TCP", 8080)]);
        let err = allocate(&mut s, None, &in_use, &mut rng).unwrap_err();
        assert_eq!(
            err.message,
            "Service \"b\" is invalid: spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767"
        );
        // Two ports of one Service asking for the same NodePort on different port numbers.
        let mut s = svc("b", "NodePort", &[(80, "TCP", 30001), (81, "TCP", 30001)]);
        let err = allocate(&mut s, None, &BTreeSet::new(), &mut rng).unwrap_err();
        assert!(
            err.message
                .contains("spec.ports[1].nodePort: Invalid value: 30001")
        );
    }

    #[test]
    fn updates_keep_held_ports_and_release_them_when_the_type_changes() {
        let mut rng = SimRng::fork(1, "np");
        let old = svc("web", "NodePort", &[(80, "TCP", 31000)]);
        let in_use = ports_in_use(&[Arc::new(Object::from(old.clone()))], "default", "web");
        assert!(
            in_use.is_empty(),
            "a Service's own ports are not in use by others"
        );
        let mut new = svc("web", "NodePort", &[(80, "TCP", 0)]);
        allocate(&mut new, Some(&old), &in_use, &mut rng).unwrap();
        assert_eq!(node_ports(&new), [Some(31000)]);
        let mut new = svc("web", "NodePort", &[(80, "TCP", 31000)]);
        allocate(&mut new, Some(&old), &in_use, &mut rng).unwrap();
        assert_eq!(node_ports(&new), [Some(31000)]);
        let mut back = svc("web", "ClusterIP", &[(80, "TCP", 31000)]);
        allocate(&mut back, Some(&old), &in_use, &mut rng).unwrap();
        assert_eq!(node_ports(&back), [None]);
    }

    #[test]
    fn a_full_dynamic_band_falls_back_to_the_static_band_then_fails() {
        let mut rng = SimRng::fork(3, "np");
        let upper: BTreeSet<u16> = (30000 + STATIC_SUBRANGE as u16..=32767).collect();
        let mut s = svc("x", "LoadBalancer", &[(80, "TCP", 0)]);
        allocate(&mut s, None, &upper, &mut rng).unwrap();
        let p = node_ports(&s)[0].unwrap();
        assert!((30000..30086).contains(&p));
        let all: BTreeSet<u16> = (30000..=32767).collect();
        let mut s = svc("x", "NodePort", &[(80, "TCP", 0)]);
        let err = allocate(&mut s, None, &all, &mut rng).unwrap_err();
        assert_eq!(err.code, 500);
        assert!(
            err.message
                .contains("failed to allocate a nodePort: range is full")
        );
        let mut c = svc("c", "ClusterIP", &[(80, "TCP", 0)]);
        allocate(&mut c, None, &all, &mut rng).unwrap();
        assert_eq!(node_ports(&c), [None]);
    }
}
