//! Static pods: the control plane kubeadm writes to `/etc/kubernetes/manifests` on every
//! control-plane node (etcd, kube-apiserver, kube-controller-manager, kube-scheduler), and the
//! mirror pods through which the API sees them.
//!
//! Follows kubeadm (`cmd/kubeadm/app/phases/controlplane/manifests.go`, `phases/etcd/local.go`)
//! for names, labels, annotations, commands, requests and probes, and the kubelet's file source
//! and mirror client (`pkg/kubelet/config/file.go`, `pkg/kubelet/pod/mirror_client.go`): the
//! pod is named `<component>-<node>`, gets the `kubernetes.io/config.hash` /
//! `config.source: file` / `config.seen` annotations, and its mirror carries
//! `kubernetes.io/config.mirror` and an owner reference to the Node. Simplification: the
//! manifests are built in code, not read from a disk; the processes themselves are the
//! cluster's etcd/apiserver/... actors, these containers are their stand-ins in the runtime.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use api::k8s_openapi::api::core::v1::{
    Container, HTTPGetAction, Pod, PodSpec, Probe, ResourceRequirements, Toleration,
};
use api::k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use api::k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use api::k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use net::ClusterCidr;
use sim::rng::stable_hash;

use crate::config::KUBERNETES_VERSION;

pub const CONFIG_MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";
pub const CONFIG_HASH_ANNOTATION: &str = "kubernetes.io/config.hash";
pub const CONFIG_SOURCE_ANNOTATION: &str = "kubernetes.io/config.source";
pub const CONFIG_SEEN_ANNOTATION: &str = "kubernetes.io/config.seen";

/// Is this pod a mirror pod?
pub fn is_mirror(pod: &Pod) -> bool {
    pod.metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(CONFIG_MIRROR_ANNOTATION))
}

struct Component {
    name: &'static str,
    image: String,
    command: Vec<String>,
    cpu: &'static str,
    memory: Option<&'static str>,
    probe_port: i32,
    probe_path: &'static str,
    probe_scheme: &'static str,
}

fn components(node_ip: Ipv4Addr, cluster_cidr: ClusterCidr) -> Vec<Component> {
    let ip = node_ip.to_string();
    let k8s = |c: &str| format!("registry.k8s.io/{c}:{KUBERNETES_VERSION}");
    vec![
        Component {
            name: "etcd",
            image: "registry.k8s.io/etcd:3.5.21-0".into(),
            command: vec![
                "etcd".into(),
                format!("--advertise-client-urls=https://{ip}:2379"),
                "--data-dir=/var/lib/etcd".into(),
                format!("--listen-client-urls=https://127.0.0.1:2379,https://{ip}:2379"),
                format!("--listen-peer-urls=https://{ip}:2380"),
            ],
            cpu: "100m",
            memory: Some("100Mi"),
            probe_port: 2381,
            probe_path: "/livez",
            probe_scheme: "HTTP",
        },
        Component {
            name: "kube-apiserver",
            image: k8s("kube-apiserver"),
            command: vec![
                "kube-apiserver".into(),
                format!("--advertise-address={ip}"),
                "--etcd-servers=https://127.0.0.1:2379".into(),
                "--service-cluster-ip-range=10.96.0.0/16".into(),
            ],
            cpu: "250m",
            memory: None,
            probe_port: 6443,
            probe_path: "/livez",
            probe_scheme: "HTTPS",
        },
        Component {
            name: "kube-controller-manager",
            image: k8s("kube-controller-manager"),
            command: vec![
                "kube-controller-manager".into(),
                "--allocate-node-cidrs=true".into(),
                format!("--cluster-cidr={cluster_cidr}"),
                "--leader-elect=true".into(),
            ],
            cpu: "200m",
            memory: None,
            probe_port: 10257,
            probe_path: "/healthz",
            probe_scheme: "HTTPS",
        },
        Component {
            name: "kube-scheduler",
            image: k8s("kube-scheduler"),
            command: vec![
                "kube-scheduler".into(),
                "--kubeconfig=/etc/kubernetes/scheduler.conf".into(),
                "--leader-elect=true".into(),
            ],
            cpu: "100m",
            memory: None,
            probe_port: 10259,
            probe_path: "/livez",
            probe_scheme: "HTTPS",
        },
    ]
}

/// The four static pods of a kubeadm control-plane node, as the kubelet's file source hands
/// them over (annotated, uid from the config hash). `cluster_cidr` is the pod network
/// kube-controller-manager allocates node CIDRs from (kind: [`ClusterCidr::KIND`]).
pub fn control_plane_manifests(
    node_name: &str,
    node_ip: Ipv4Addr,
    cluster_cidr: ClusterCidr,
) -> Vec<Pod> {
    components(node_ip, cluster_cidr)
        .into_iter()
        .map(|c| {
            let name = format!("{}-{node_name}", c.name);
            let hash = format!("{:016x}", stable_hash(&format!("{name}/{}", c.image)));
            let mut requests = BTreeMap::from([("cpu".to_string(), Quantity(c.cpu.into()))]);
            if let Some(m) = c.memory {
                requests.insert("memory".into(), Quantity(m.into()));
            }
            let probe = Probe {
                http_get: Some(HTTPGetAction {
                    host: Some(if c.name == "etcd" {
                        "127.0.0.1".into()
                    } else {
                        node_ip.to_string()
                    }),
                    path: Some(c.probe_path.into()),
                    port: IntOrString::Int(c.probe_port),
                    scheme: Some(c.probe_scheme.into()),
                    ..Default::default()
                }),
                initial_delay_seconds: Some(10),
                timeout_seconds: Some(15),
                period_seconds: Some(10),
                success_threshold: Some(1),
                failure_threshold: Some(8),
                ..Default::default()
            };
            let mut annotations = BTreeMap::from([
                (CONFIG_HASH_ANNOTATION.to_string(), hash.clone()),
                (CONFIG_SOURCE_ANNOTATION.to_string(), "file".to_string()),
                (
                    CONFIG_SEEN_ANNOTATION.to_string(),
                    "2026-01-01T00:00:00.000000000Z".to_string(),
                ),
            ]);
            match c.name {
                "etcd" => {
                    annotations.insert(
                        "kubeadm.kubernetes.io/etcd.advertise-client-urls".into(),
                        format!("https://{node_ip}:2379"),
                    );
                }
                "kube-apiserver" => {
                    annotations.insert(
                        "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint".into(),
                        format!("{node_ip}:6443"),
                    );
                }
                _ => {}
            }
            Pod {
                metadata: ObjectMeta {
                    name: Some(name),
                    namespace: Some("kube-system".into()),
                    uid: Some(hash),
                    labels: Some(BTreeMap::from([
                        ("component".to_string(), c.name.to_string()),
                        ("tier".to_string(), "control-plane".to_string()),
                    ])),
                    annotations: Some(annotations),
                    ..Default::default()
                },
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: c.name.into(),
                        image: Some(c.image),
                        image_pull_policy: Some("IfNotPresent".into()),
                        command: Some(c.command),
                        resources: Some(ResourceRequirements {
                            requests: Some(requests),
                            ..Default::default()
                        }),
                        liveness_probe: Some(probe.clone()),
                        startup_probe: Some(Probe {
                            failure_threshold: Some(24),
                            ..probe
                        }),
                        termination_message_path: Some("/dev/termination-log".into()),
                        termination_message_policy: Some("File".into()),
                        ..Default::default()
                    }],
                    node_name: Some(node_name.to_string()),
                    host_network: Some(true),
                    priority_class_name: Some("system-node-critical".into()),
                    priority: Some(2_000_001_000),
                    restart_policy: Some("Always".into()),
                    dns_policy: Some("ClusterFirst".into()),
                    scheduler_name: Some("default-scheduler".into()),
                    termination_grace_period_seconds: Some(30),
                    enable_service_links: Some(true),
                    preemption_policy: Some("PreemptLowerPriority".into()),
                    tolerations: Some(vec![Toleration {
                        effect: Some("NoExecute".into()),
                        operator: Some("Exists".into()),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                status: None,
            }
        })
        .collect()
}

/// The mirror pod the kubelet creates for a static pod: the same pod with the mirror
/// annotation and an owner reference to the Node, no uid (the apiserver assigns one).
pub fn mirror_of(static_pod: &Pod, node_name: &str, node_uid: &str) -> Pod {
    let mut m = static_pod.clone();
    let hash = static_pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(CONFIG_HASH_ANNOTATION).cloned())
        .unwrap_or_default();
    m.metadata.uid = None;
    m.metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(CONFIG_MIRROR_ANNOTATION.into(), hash);
    if !node_uid.is_empty() {
        m.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "v1".into(),
            kind: "Node".into(),
            name: node_name.into(),
            uid: node_uid.into(),
            controller: Some(true),
            block_owner_deletion: None,
        }]);
    }
    m.status = None;
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeadm_names_and_mirror_annotations() {
        let pods = control_plane_manifests(
            "kubesim-control-plane",
            Ipv4Addr::new(172, 18, 0, 2),
            ClusterCidr::KIND,
        );
        let names: Vec<_> = pods
            .iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "etcd-kubesim-control-plane",
                "kube-apiserver-kubesim-control-plane",
                "kube-controller-manager-kubesim-control-plane",
                "kube-scheduler-kubesim-control-plane"
            ]
        );
        let m = mirror_of(&pods[0], "kubesim-control-plane", "u1");
        assert!(is_mirror(&m) && !is_mirror(&pods[0]));
        assert_eq!(
            m.metadata.owner_references.as_ref().unwrap()[0].kind,
            "Node"
        );
        assert!(m.metadata.uid.is_none());
    }
}
