//! The kubelet's Node object and node Lease: what it registers, what its status says, and the
//! heartbeat Lease in `kube-node-lease`.
//!
//! Follows `pkg/kubelet/kubelet_node_status.go` (`initialNode`: the `kubernetes.io/hostname`,
//! `os`, `arch` labels and their `beta.` twins; `setNodeStatus`; the condition reasons and
//! messages of `pkg/kubelet/nodestatus/setters.go`: `KubeletReady` "kubelet is posting ready
//! status", `KubeletHasSufficientMemory`, `KubeletHasNoDiskPressure`, `KubeletHasSufficientPID`),
//! kubeadm's control-plane label and `node-role.kubernetes.io/control-plane:NoSchedule` taint
//! and the `node.kubernetes.io/exclude-from-external-load-balancers` label, kind's
//! `providerID: kind://docker/kubesim/<node>`, and `pkg/kubelet/nodelease`: Lease named after
//! the node, holder the node, 40 s duration, owned by the Node. Simplifications: the node
//! never reports pressure; `images` in status is not filled; no `Ready=False` phase while a
//! CNI starts (kindnet is not modelled).

use std::collections::BTreeMap;

use api::k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use api::k8s_openapi::api::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeSpec, NodeStatus,
    NodeSystemInfo, Taint,
};
use api::k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use api::k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use apiserver::objects::api_time;
use client::lease_lock::micro_time;
use sim::Time;
use sim::rng::stable_hash;

use crate::config::{CONTAINER_RUNTIME_VERSION, KUBERNETES_VERSION, KubeletConfig};

pub const CONTROL_PLANE_ROLE: &str = "node-role.kubernetes.io/control-plane";
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";

fn hex_id(seed: &str) -> String {
    format!(
        "{:016x}{:016x}",
        stable_hash(seed),
        stable_hash(&format!("{seed}/2"))
    )
}

/// The Node the kubelet registers (`initialNode` plus the first status).
pub fn initial_node(cfg: &KubeletConfig, now: Time) -> Node {
    let mut labels = BTreeMap::from([
        ("beta.kubernetes.io/arch".to_string(), "amd64".to_string()),
        ("beta.kubernetes.io/os".to_string(), "linux".to_string()),
        ("kubernetes.io/arch".to_string(), "amd64".to_string()),
        ("kubernetes.io/hostname".to_string(), cfg.node_name.clone()),
        ("kubernetes.io/os".to_string(), "linux".to_string()),
    ]);
    let mut taints = Vec::new();
    if cfg.control_plane {
        labels.insert(CONTROL_PLANE_ROLE.into(), String::new());
        labels.insert(
            "node.kubernetes.io/exclude-from-external-load-balancers".into(),
            String::new(),
        );
        taints.push(Taint {
            key: CONTROL_PLANE_ROLE.into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        });
    }
    if let Some(zone) = &cfg.zone {
        labels.insert("topology.kubernetes.io/zone".into(), zone.clone());
    }
    let annotations = BTreeMap::from([
        (
            "kubeadm.alpha.kubernetes.io/cri-socket".to_string(),
            "unix:///run/containerd/containerd.sock".to_string(),
        ),
        ("node.alpha.kubernetes.io/ttl".to_string(), "0".to_string()),
        (
            "volumes.kubernetes.io/controller-managed-attach-detach".to_string(),
            "true".to_string(),
        ),
    ]);
    let cidr = cfg.pod_cidr.to_string();
    Node {
        metadata: ObjectMeta {
            name: Some(cfg.node_name.clone()),
            labels: Some(labels),
            annotations: Some(annotations),
            ..Default::default()
        },
        spec: Some(NodeSpec {
            pod_cidr: Some(cidr.clone()),
            pod_cidrs: Some(vec![cidr]),
            provider_id: Some(format!("kind://docker/kubesim/{}", cfg.node_name)),
            taints: (!taints.is_empty()).then_some(taints),
            ..Default::default()
        }),
        status: Some(node_status(cfg, now, None)),
    }
}

/// The conditions the kubelet posts, in order: type, status, reason, message
/// (`pkg/kubelet/nodestatus/setters.go`; the node never reports pressure).
const CONDITIONS: [(&str, &str, &str, &str); 4] = [
    (
        "MemoryPressure",
        "False",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
    ),
    (
        "DiskPressure",
        "False",
        "KubeletHasNoDiskPressure",
        "kubelet has no disk pressure",
    ),
    (
        "PIDPressure",
        "False",
        "KubeletHasSufficientPID",
        "kubelet has sufficient PID available",
    ),
    (
        "Ready",
        "True",
        "KubeletReady",
        "kubelet is posting ready status",
    ),
];

fn condition(
    (type_, status, reason, message): (&str, &str, &str, &str),
    now: Time,
    previous: Option<&NodeStatus>,
) -> NodeCondition {
    // lastTransitionTime moves only when the status changes.
    let transition = previous
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
        .filter(|c| c.status == status)
        .and_then(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| api_time(now));
    NodeCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_heartbeat_time: Some(api_time(now)),
        last_transition_time: Some(transition),
    }
}

/// The node's status at `now` (heartbeat times set to `now`).
pub fn node_status(cfg: &KubeletConfig, now: Time, previous: Option<&NodeStatus>) -> NodeStatus {
    with_conditions(fixed_status(cfg), now, previous)
}

/// `fixed` (a [`fixed_status`]) with the conditions at `now`.
pub fn with_conditions(
    mut fixed: NodeStatus,
    now: Time,
    previous: Option<&NodeStatus>,
) -> NodeStatus {
    fixed.conditions = Some(
        CONDITIONS
            .iter()
            .map(|c| condition(*c, now, previous))
            .collect(),
    );
    fixed
}

/// Whether the status at any `now` would differ from `previous` in anything but heartbeat
/// times ([`status_changed`]), when `previous` was built by [`node_status`] from the same
/// configuration: the rest of the status is fixed by that configuration, so only the
/// conditions can differ, and they are compared in place. The kubelet asks this every
/// nodeStatusUpdateFrequency and builds a status only when it reports.
pub fn conditions_changed(previous: &NodeStatus) -> bool {
    let Some(cs) = previous.conditions.as_ref() else {
        return true;
    };
    cs.len() != CONDITIONS.len()
        || cs
            .iter()
            .zip(CONDITIONS)
            .any(|(c, (type_, status, reason, message))| {
                c.type_ != type_
                    || c.status != status
                    || c.reason.as_deref() != Some(reason)
                    || c.message.as_deref() != Some(message)
            })
}

/// Everything in the node's status but the conditions: what the configuration fixes.
pub fn fixed_status(cfg: &KubeletConfig) -> NodeStatus {
    let resources: BTreeMap<String, Quantity> = cfg
        .capacity
        .iter()
        .map(|(k, v)| (k.clone(), Quantity(v.clone())))
        .chain([
            ("hugepages-1Gi".to_string(), Quantity("0".into())),
            ("hugepages-2Mi".to_string(), Quantity("0".into())),
        ])
        .collect();
    NodeStatus {
        capacity: Some(resources.clone()),
        allocatable: Some(resources),
        conditions: None,
        addresses: Some(vec![
            NodeAddress {
                type_: "InternalIP".into(),
                address: cfg.node_ip.to_string(),
            },
            NodeAddress {
                type_: "Hostname".into(),
                address: cfg.node_name.clone(),
            },
        ]),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint { port: 10250 }),
        }),
        node_info: Some(NodeSystemInfo {
            architecture: "amd64".into(),
            boot_id: hex_id(&format!("{}/boot", cfg.node_name)),
            container_runtime_version: CONTAINER_RUNTIME_VERSION.into(),
            kernel_version: "6.8.0-1017-azure".into(),
            kube_proxy_version: String::new(),
            kubelet_version: KUBERNETES_VERSION.into(),
            machine_id: hex_id(&format!("{}/machine", cfg.node_name)),
            operating_system: "linux".into(),
            os_image: "Debian GNU/Linux 12 (bookworm)".into(),
            system_uuid: hex_id(&format!("{}/uuid", cfg.node_name)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Whether two statuses differ in anything but heartbeat times (the kubelet then reports at
/// once instead of waiting for nodeStatusReportFrequency). Compares in place rather than on
/// copies with the heartbeats blanked; the destructuring is exhaustive so that a new field is
/// not missed. The kubelet itself asks the cheaper [`conditions_changed`].
pub fn status_changed(a: &NodeStatus, b: &NodeStatus) -> bool {
    let NodeStatus {
        addresses,
        allocatable,
        capacity,
        conditions,
        config,
        daemon_endpoints,
        declared_features,
        features,
        images,
        node_info,
        phase,
        runtime_handlers,
        volumes_attached,
        volumes_in_use,
    } = a;
    let conditions_differ = match (conditions, &b.conditions) {
        (Some(x), Some(y)) => {
            x.len() != y.len()
                || x.iter().zip(y).any(|(c, d)| {
                    let NodeCondition {
                        last_heartbeat_time: _,
                        last_transition_time,
                        message,
                        reason,
                        status,
                        type_,
                    } = c;
                    *last_transition_time != d.last_transition_time
                        || *message != d.message
                        || *reason != d.reason
                        || *status != d.status
                        || *type_ != d.type_
                })
        }
        (x, y) => x.is_some() != y.is_some(),
    };
    conditions_differ
        || *addresses != b.addresses
        || *allocatable != b.allocatable
        || *capacity != b.capacity
        || *config != b.config
        || *daemon_endpoints != b.daemon_endpoints
        || *declared_features != b.declared_features
        || *features != b.features
        || *images != b.images
        || *node_info != b.node_info
        || *phase != b.phase
        || *runtime_handlers != b.runtime_handlers
        || *volumes_attached != b.volumes_attached
        || *volumes_in_use != b.volumes_in_use
}

/// The node's Lease at `now` (`pkg/kubelet/nodelease`'s `newLease`).
pub fn lease(cfg: &KubeletConfig, node_uid: &str, now: Time, base: Option<&Lease>) -> Lease {
    let mut l = base.cloned().unwrap_or_else(|| Lease {
        metadata: ObjectMeta {
            name: Some(cfg.node_name.clone()),
            namespace: Some(NODE_LEASE_NAMESPACE.into()),
            ..Default::default()
        },
        spec: None,
    });
    renew(&mut l, cfg, node_uid, now);
    l
}

/// Makes `l` the node's Lease at `now`, as [`lease`] does from it; a field already right is
/// left alone, so a renewal of the node's own Lease allocates nothing.
pub fn renew(l: &mut Lease, cfg: &KubeletConfig, node_uid: &str, now: Time) {
    if !node_uid.is_empty() && l.metadata.owner_references.is_none() {
        l.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "v1".into(),
            kind: "Node".into(),
            name: cfg.node_name.clone(),
            uid: node_uid.into(),
            controller: None,
            block_owner_deletion: None,
        }]);
    }
    let spec = l.spec.get_or_insert_with(LeaseSpec::default);
    if spec.holder_identity.as_deref() != Some(cfg.node_name.as_str()) {
        spec.holder_identity = Some(cfg.node_name.clone());
    }
    spec.lease_duration_seconds = Some(cfg.node_lease_duration_seconds);
    spec.renew_time = Some(micro_time(now));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KubeletConfig;
    use net::ClusterCidr;
    use sim::ActorId;

    fn cfg() -> KubeletConfig {
        KubeletConfig::new(
            "kubesim-worker",
            std::net::Ipv4Addr::new(172, 18, 0, 3),
            false,
            ClusterCidr::KIND.node_cidr(1).expect("a /24"),
            vec![ActorId(0)],
            ActorId(1),
        )
    }

    /// The kubelet serializes the fixed part once and the conditions per report: together
    /// they are the whole status's JSON.
    #[test]
    fn the_status_json_is_the_fixed_parts_and_the_conditions() {
        let cfg = cfg();
        let first = node_status(&cfg, Time::from_secs(10), None);
        let status = with_conditions(fixed_status(&cfg), Time::from_secs(20), Some(&first));
        let serde_json::Value::Object(mut json) =
            serde_json::to_value(fixed_status(&cfg)).expect("serializes")
        else {
            panic!("an object");
        };
        assert!(!json.contains_key("conditions"));
        json.insert(
            "conditions".to_string(),
            serde_json::to_value(status.conditions.as_ref().expect("conditions"))
                .expect("serializes"),
        );
        assert_eq!(
            serde_json::Value::Object(json),
            serde_json::to_value(&status).expect("serializes")
        );
    }

    #[test]
    fn heartbeats_alone_are_no_change_but_a_condition_is() {
        let cfg = cfg();
        let first = node_status(&cfg, Time::from_secs(10), None);
        let later = node_status(&cfg, Time::from_secs(20), Some(&first));
        assert_ne!(first, later, "heartbeat times moved");
        assert!(!status_changed(&first, &later));
        assert!(!conditions_changed(&first) && !conditions_changed(&later));
        let mut not_ready = later.clone();
        let ready = not_ready
            .conditions
            .iter_mut()
            .flatten()
            .find(|c| c.type_ == "Ready")
            .expect("Ready condition");
        ready.status = "False".into();
        assert!(status_changed(&later, &not_ready));
        // What the kubelet would post next differs from not_ready: it reports at once.
        let next = node_status(&cfg, Time::from_secs(30), Some(&not_ready));
        assert!(status_changed(&not_ready, &next) && conditions_changed(&not_ready));
        let mut fewer = later.clone();
        fewer.conditions.as_mut().map(Vec::pop);
        assert!(status_changed(&later, &fewer));
        assert!(conditions_changed(&fewer));
        let mut bigger = later.clone();
        bigger
            .capacity
            .get_or_insert_default()
            .insert("cpu".into(), Quantity("16".into()));
        assert!(status_changed(&later, &bigger));
    }
}
