//! Hand-built Services and EndpointSlices, for this crate's tests and for other crates'
//! (the runner's, the cluster's) that want a rule table without a control plane.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ClientIPConfig, Service, ServicePort, ServiceSpec, SessionAffinityConfig,
};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::service_port::SERVICE_NAME_LABEL;

/// A Service with `ports` as `(name, port, nodePort)`; `affinity_seconds` turns on ClientIP
/// affinity with that timeout. A NodePort makes it `type: NodePort`.
pub fn service(
    namespace: &str,
    name: &str,
    cluster_ip: &str,
    ports: &[(&str, i32, Option<i32>)],
    affinity_seconds: Option<i32>,
) -> Service {
    let node_port = ports.iter().any(|p| p.2.is_some());
    Service {
        metadata: ObjectMeta {
            namespace: Some(namespace.into()),
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            cluster_ip: Some(cluster_ip.into()),
            cluster_ips: Some(vec![cluster_ip.into()]),
            type_: Some(if node_port { "NodePort" } else { "ClusterIP" }.into()),
            ports: Some(
                ports
                    .iter()
                    .map(|(n, p, np)| ServicePort {
                        name: (!n.is_empty()).then(|| n.to_string()),
                        port: *p,
                        protocol: Some("TCP".into()),
                        node_port: *np,
                        ..Default::default()
                    })
                    .collect(),
            ),
            session_affinity: Some(
                if affinity_seconds.is_some() {
                    "ClientIP"
                } else {
                    "None"
                }
                .into(),
            ),
            session_affinity_config: affinity_seconds.map(|t| SessionAffinityConfig {
                client_ip: Some(ClientIPConfig {
                    timeout_seconds: Some(t),
                }),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// An IPv4 EndpointSlice of Service `service` with `ports` as `(name, port)` and `endpoints`
/// as `(ip, ready, terminating)` (a terminating endpoint is still serving).
pub fn slice(
    namespace: &str,
    name: &str,
    service: &str,
    ports: &[(&str, i32)],
    endpoints: &[(&str, bool, bool)],
) -> EndpointSlice {
    EndpointSlice {
        metadata: ObjectMeta {
            namespace: Some(namespace.into()),
            name: Some(name.into()),
            labels: Some(BTreeMap::from([(
                SERVICE_NAME_LABEL.to_string(),
                service.to_string(),
            )])),
            ..Default::default()
        },
        address_type: "IPv4".into(),
        endpoints: Some(
            endpoints
                .iter()
                .map(|(ip, ready, terminating)| Endpoint {
                    addresses: vec![ip.to_string()],
                    conditions: Some(EndpointConditions {
                        ready: Some(*ready),
                        serving: Some(*ready || *terminating),
                        terminating: Some(*terminating),
                    }),
                    ..Default::default()
                })
                .collect(),
        ),
        ports: Some(
            ports
                .iter()
                .map(|(n, p)| EndpointPort {
                    name: Some(n.to_string()),
                    port: Some(*p),
                    protocol: Some("TCP".into()),
                    ..Default::default()
                })
                .collect(),
        ),
    }
}
