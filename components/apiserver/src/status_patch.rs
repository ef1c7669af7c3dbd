//! A JSON merge patch of a pod's or a node's status applied to the typed object, for the shapes
//! the kubelet sends: a pod's at each container change (`{"metadata": {"uid": …}, "status":
//! {…}}`, the status manager's `PatchPodStatus` in `pkg/kubelet/status/status_manager.go`),
//! and its node's whole status every `nodeStatusReportFrequency` or on a change.
//!
//! The general path ([`crate::patch::patched`]) turns the whole object into JSON, merges and
//! decodes the result strictly; for these shapes the result is the object with the patched
//! status fields replaced, since every field of the status the patch names is replaced whole
//! (a value that is not a JSON object replaces; `null` removes). So the patch's status is
//! decoded alone and its fields moved into a copy of the object. A field whose patch value is
//! a JSON object merges into the current value instead: handled only when that value is the
//! current field's own JSON (a node's capacity, allocatable, nodeInfo, daemonEndpoints as the
//! kubelet sends them again), where the merge leaves the field as it is. Anything else, or
//! anything the strict decode would reject (an unknown field, a wrong type), returns `None`
//! and takes the general path, which words the error.

use api::Object;
use k8s_openapi::api::core::v1::{NodeStatus, PodStatus};
use serde_json::{Map, Value};

/// The patch's `metadata.uid` (`Some(None)` for a null) and its status, or `None` for any
/// other shape.
#[allow(clippy::type_complexity)]
fn shape(
    patch: &Value,
) -> Option<(
    Option<Option<String>>,
    Option<(&Value, &Map<String, Value>)>,
)> {
    let Value::Object(top) = patch else {
        return None;
    };
    let mut uid: Option<Option<String>> = None;
    let mut status: Option<(&Value, &Map<String, Value>)> = None;
    for (k, v) in top {
        match (k.as_str(), v) {
            ("metadata", Value::Object(m)) => {
                for (mk, mv) in m {
                    match (mk.as_str(), mv) {
                        ("uid", Value::String(s)) => uid = Some(Some(s.clone())),
                        ("uid", Value::Null) => uid = Some(None),
                        _ => return None,
                    }
                }
            }
            ("status", Value::Object(s)) => status = Some((v, s)),
            _ => return None,
        }
    }
    Some((uid, status))
}

/// `cur` (a pod or a node) with `patch` merged in, or `None` when the patch is not of the shape
/// handled here or would not decode.
pub fn merged(cur: &Object, patch: &Value) -> Option<Object> {
    match cur {
        Object::Pod(pod) => {
            let (uid, status) = shape(patch)?;
            let mut out = pod.as_ref().clone();
            if let Some(uid) = uid {
                out.metadata.uid = uid;
            }
            if let Some((value, fields)) = status {
                // An object value merges into the field's current value: not handled here.
                if fields.values().any(Value::is_object) {
                    return None;
                }
                let mut from: PodStatus = api::strict::decode_known(value)?;
                let to = out.status.get_or_insert_with(PodStatus::default);
                for k in fields.keys() {
                    if !take_field(k, &mut from, to) {
                        return None;
                    }
                }
            }
            Some(Object::from(out))
        }
        Object::Node(node) => {
            let (uid, status) = shape(patch)?;
            let cur_status = node.status.as_ref();
            // Object values first: each must be the current field's JSON, checked before
            // anything is copied or decoded.
            if let Some((_, fields)) = status {
                for (k, v) in fields.iter().filter(|(_, v)| v.is_object()) {
                    if !node_field_is(k, cur_status?, v)? {
                        return None;
                    }
                }
            }
            let mut out = node.as_ref().clone();
            if let Some(uid) = uid {
                out.metadata.uid = uid;
            }
            if let Some((value, fields)) = status {
                let mut from: NodeStatus = api::strict::decode_known(value)?;
                let to = out.status.get_or_insert_with(NodeStatus::default);
                for (k, v) in fields {
                    if !v.is_object() && !take_node_field(k, &mut from, to) {
                        return None;
                    }
                }
            }
            Some(Object::from(out))
        }
        _ => None,
    }
}

/// Calls `$m!` with every field of `NodeStatus`, as `"jsonName" => rust_name,`: the one list
/// both node functions below match on.
macro_rules! node_status_fields {
    ($m:ident) => {
        $m! {
            "addresses" => addresses,
            "allocatable" => allocatable,
            "capacity" => capacity,
            "conditions" => conditions,
            "config" => config,
            "daemonEndpoints" => daemon_endpoints,
            "declaredFeatures" => declared_features,
            "features" => features,
            "images" => images,
            "nodeInfo" => node_info,
            "phase" => phase,
            "runtimeHandlers" => runtime_handlers,
            "volumesAttached" => volumes_attached,
            "volumesInUse" => volumes_in_use,
        }
    };
}

/// Whether the JSON of `cur`'s field named `key` is `value`: `None` for a name that is not a
/// field of `NodeStatus`.
fn node_field_is(key: &str, cur: &NodeStatus, value: &Value) -> Option<bool> {
    macro_rules! fields {
        ($( $json:literal => $field:ident, )*) => {
            match key {
                $( $json => cur
                    .$field
                    .as_ref()
                    .and_then(|f| serde_json::to_value(f).ok())
                    .is_some_and(|j| j == *value), )*
                _ => return None,
            }
        };
    }
    Some(node_status_fields!(fields))
}

/// Moves the field named `key` (its JSON name) from `from` to `to`; `false` for a name that
/// is not a field of `NodeStatus`.
fn take_node_field(key: &str, from: &mut NodeStatus, to: &mut NodeStatus) -> bool {
    macro_rules! fields {
        ($( $json:literal => $field:ident, )*) => {
            match key {
                $( $json => to.$field = from.$field.take(), )*
                _ => return false,
            }
        };
    }
    node_status_fields!(fields);
    true
}

/// Moves the field named `key` (its JSON name) from `from` to `to`; `false` for a name that
/// is not a field of `PodStatus`.
fn take_field(key: &str, from: &mut PodStatus, to: &mut PodStatus) -> bool {
    macro_rules! fields {
        ($( $json:literal => $field:ident, )*) => {
            match key {
                $( $json => to.$field = from.$field.take(), )*
                _ => return false,
            }
        };
    }
    fields! {
        "allocatedResources" => allocated_resources,
        "conditions" => conditions,
        "containerStatuses" => container_statuses,
        "ephemeralContainerStatuses" => ephemeral_container_statuses,
        "extendedResourceClaimStatus" => extended_resource_claim_status,
        "hostIP" => host_ip,
        "hostIPs" => host_ips,
        "initContainerStatuses" => init_container_statuses,
        "message" => message,
        "nodeAllocatableResourceClaimStatuses" => node_allocatable_resource_claim_statuses,
        "nominatedNodeName" => nominated_node_name,
        "observedGeneration" => observed_generation,
        "phase" => phase,
        "podIP" => pod_ip,
        "podIPs" => pod_ips,
        "qosClass" => qos_class,
        "reason" => reason,
        "resize" => resize,
        "resourceClaimStatuses" => resource_claim_statuses,
        "resources" => resources,
        "startTime" => start_time,
        "volumeHealth" => volume_health,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::{patched, patched_as_json};
    use crate::protocol::PatchType;
    use serde_json::json;

    /// A scheduled pod of a Deployment, with a status as a kubelet writes it.
    fn pod() -> Object {
        api::strict::decode(&json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "default", "uid": "u-1",
                "labels": {"app": "web"}, "resourceVersion": "41",
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                    "uid": "rs-1", "controller": true}]},
            "spec": {"nodeName": "worker", "containers": [{"name": "web", "image": "nginx",
                "ports": [{"containerPort": 80}],
                "readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 5}}]},
            "status": {"phase": "Pending", "qosClass": "BestEffort",
                "conditions": [{"type": "PodScheduled", "status": "True",
                    "lastTransitionTime": "2026-01-01T00:00:01Z"}],
                "hostIP": "172.18.0.3", "hostIPs": [{"ip": "172.18.0.3"}]}
        }))
        .expect("a pod")
    }

    /// The status a kubelet patches once the container runs.
    fn running() -> Value {
        json!({"phase": "Running", "qosClass": "BestEffort", "startTime": "2026-01-01T00:00:02Z",
            "hostIP": "172.18.0.3", "hostIPs": [{"ip": "172.18.0.3"}],
            "podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}],
            "conditions": [
                {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": "2026-01-01T00:00:03Z"},
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                 "message": "containers with unready status: [web]", "lastTransitionTime": "2026-01-01T00:00:02Z"},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-01-01T00:00:01Z"}],
            "containerStatuses": [{"name": "web", "image": "nginx", "imageID": "docker.io/library/nginx@sha256:1",
                "containerID": "containerd://c1", "ready": false, "started": true, "restartCount": 0,
                "state": {"running": {"startedAt": "2026-01-01T00:00:04Z"}}, "lastState": {}}]})
    }

    /// The typed path, when it takes the patch, gives what the JSON path gives; when it
    /// does not, `patched` is the JSON path (same object or same error).
    fn check(cur: &Object, patch: &Value, typed: bool) {
        let json_path = patched_as_json(cur, patch, PatchType::Merge);
        let fast = merged(cur, patch);
        assert_eq!(fast.is_some(), typed, "typed path taken for {patch}");
        if let Some(fast) = fast {
            assert_eq!(Ok(fast), json_path.clone(), "{patch}");
        }
        assert_eq!(patched(cur, patch, PatchType::Merge), json_path, "{patch}");
    }

    #[test]
    fn a_kubelets_status_patch_gives_what_the_json_path_gives() {
        let cur = pod();
        check(
            &cur,
            &json!({"metadata": {"uid": "u-1"}, "status": running()}),
            true,
        );
        // A stale uid goes through too: the precondition is checked after the patch.
        check(
            &cur,
            &json!({"metadata": {"uid": "u-0"}, "status": running()}),
            true,
        );
        check(
            &cur,
            &json!({"metadata": {"uid": null}, "status": {"phase": "Running"}}),
            true,
        );
        check(&cur, &json!({"status": running()}), true);
        check(&cur, &json!({"status": {}}), true);
        check(&cur, &json!({"metadata": {}}), true);
        check(&cur, &json!({}), true);
        // A pod without a status yet.
        let mut bare = cur.clone();
        if let Object::Pod(p) = &mut bare {
            p.status = None;
        }
        check(&bare, &json!({"status": running()}), true);
        check(&bare, &json!({"status": {}}), true);
        check(&bare, &json!({"status": {"podIP": null}}), true);
    }

    #[test]
    fn nulls_delete_and_lists_are_replaced_whole() {
        let cur = patched_as_json(&pod(), &json!({"status": running()}), PatchType::Merge)
            .expect("patches");
        check(
            &cur,
            &json!({"status": {"podIP": null, "podIPs": null, "conditions": null}}),
            true,
        );
        check(
            &cur,
            &json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
            true,
        );
        check(&cur, &json!({"status": {"containerStatuses": []}}), true);
        // Nulls inside a list element are kept as the element is (a list is not merged).
        check(
            &cur,
            &json!({"status": {"conditions": [{"type": "Ready", "status": "True", "reason": null}]}}),
            true,
        );
    }

    #[test]
    fn every_status_field_is_named_as_its_json_key() {
        // Every field set, so that removing one by name shows which field the name moved.
        let full = PodStatus {
            allocated_resources: Some(
                [(
                    "cpu".to_string(),
                    k8s_openapi::apimachinery::pkg::api::resource::Quantity("1".into()),
                )]
                .into(),
            ),
            conditions: Some(vec![Default::default()]),
            container_statuses: Some(vec![Default::default()]),
            ephemeral_container_statuses: Some(vec![Default::default()]),
            extended_resource_claim_status: Some(Default::default()),
            host_ip: Some("172.18.0.3".into()),
            host_ips: Some(vec![Default::default()]),
            init_container_statuses: Some(vec![Default::default()]),
            message: Some("m".into()),
            node_allocatable_resource_claim_statuses: Some(vec![Default::default()]),
            nominated_node_name: Some("n".into()),
            observed_generation: Some(3),
            phase: Some("Running".into()),
            pod_ip: Some("10.244.1.5".into()),
            pod_ips: Some(vec![Default::default()]),
            qos_class: Some("BestEffort".into()),
            reason: Some("r".into()),
            resize: Some("Proposed".into()),
            resource_claim_statuses: Some(vec![Default::default()]),
            resources: Some(Default::default()),
            start_time: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::from_second(1_800_000_000).expect("a time"),
            )),
            volume_health: Some(vec![Default::default()]),
        };
        let mut cur = pod();
        if let Object::Pod(p) = &mut cur {
            p.status = Some(full.clone());
        }
        let keys: Vec<String> = match serde_json::to_value(&full).expect("serializes") {
            Value::Object(m) => m.keys().cloned().collect(),
            _ => unreachable!(),
        };
        assert_eq!(keys.len(), 22, "{keys:?}");
        for key in keys {
            check(&cur, &json!({"status": {key.clone(): null}}), true);
            // A value from another pod's status, where the field's JSON is not an object.
            let other = serde_json::to_value(&full).expect("serializes")[&key].clone();
            check(
                &pod(),
                &json!({"status": {key: other.clone()}}),
                !other.is_object(),
            );
        }
    }

    #[test]
    fn a_timestamp_finer_than_the_api_keeps_is_truncated() {
        let patch = json!({"status": {"startTime": "2026-01-01T00:00:02.75Z"}});
        let out = patched(&pod(), &patch, PatchType::Merge).expect("patches");
        let json = serde_json::to_value(&out).expect("encodes");
        assert_eq!(json["status"]["startTime"], "2026-01-01T00:00:02Z");
        // The patched object is what a reader decoding the stored bytes gets.
        assert_eq!(api::strict::decode(&json).expect("decodes"), out);
    }

    #[test]
    fn other_shapes_and_errors_take_the_json_path() {
        let cur = pod();
        for patch in [
            // Unknown fields, at the top of the status and inside a list element.
            json!({"status": {"phaze": "Running"}}),
            json!({"status": {"conditions": [{"type": "Ready", "statuz": "True"}]}}),
            json!({"metadata": {"uid": "u-1"}, "status": {"podIP": "10.244.1.5", "x": 1}}),
            json!({"sttus": {}}),
            // Wrong types.
            json!({"status": {"phase": 5}}),
            json!({"status": {"conditions": {"type": "Ready"}}}),
            json!({"status": {"containerStatuses": [{"name": "web", "ready": "yes"}]}}),
            json!({"metadata": {"uid": 7}, "status": {}}),
            json!({"status": 3}),
            json!([]),
            // Merged into the current value rather than replacing it.
            json!({"status": {"allocatedResources": {"cpu": "1"}}}),
            json!({"status": {"resources": {"limits": {"cpu": "1"}}}}),
            json!({"metadata": {"labels": {"app": null, "tier": "web"}}}),
            json!({"metadata": {"uid": "u-1", "name": "other"}}),
            json!({"metadata": null}),
            json!({"status": null}),
            json!({"spec": {"nodeName": "other"}}),
            json!({"kind": "Pod", "apiVersion": "v1", "status": {"phase": "Running"}}),
        ] {
            check(&cur, &patch, false);
        }
        // Other kinds are not handled.
        let ns = api::strict::decode(&json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "web"}, "status": {"phase": "Active"}}))
        .expect("a namespace");
        check(&ns, &json!({"status": {"phase": "Terminating"}}), false);
    }

    /// A node's status as its kubelet reports it (every field the kubelet sets).
    fn node_status(heartbeat: &str) -> Value {
        json!({
            "addresses": [{"type": "InternalIP", "address": "172.18.0.3"},
                {"type": "Hostname", "address": "worker"}],
            "allocatable": {"cpu": "8", "memory": "16Gi", "pods": "110"},
            "capacity": {"cpu": "8", "memory": "16Gi", "pods": "110"},
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
                 "lastHeartbeatTime": heartbeat, "lastTransitionTime": "2026-01-01T00:00:00Z"},
                {"type": "Ready", "status": "True", "reason": "KubeletReady",
                 "message": "kubelet is posting ready status",
                 "lastHeartbeatTime": heartbeat, "lastTransitionTime": "2026-01-01T00:00:00Z"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "images": [{"names": ["registry.k8s.io/pause:3.10"], "sizeBytes": 320368}],
            "nodeInfo": {"architecture": "amd64", "bootID": "b", "containerRuntimeVersion": "containerd://2.1.1",
                "kernelVersion": "6.8.0", "kubeProxyVersion": "", "kubeletVersion": "v1.37.0",
                "machineID": "m", "operatingSystem": "linux", "osImage": "Debian", "systemUUID": "s"},
            "runtimeHandlers": [{"name": "runc", "features": {"recursiveReadOnlyMounts": true,
                "userNamespaces": true}}]
        })
    }

    fn node() -> Object {
        api::strict::decode(&json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "worker", "uid": "n-1", "resourceVersion": "7",
                "labels": {"kubernetes.io/hostname": "worker"}},
            "spec": {"podCIDR": "10.244.1.0/24"},
            "status": node_status("2026-01-01T00:00:10Z")}))
        .expect("a node")
    }

    #[test]
    fn a_kubelets_node_status_patch_gives_what_the_json_path_gives() {
        let cur = node();
        // The whole status again, with new heartbeats: object fields equal to the current.
        check(
            &cur,
            &json!({"status": node_status("2026-01-01T00:05:10Z")}),
            true,
        );
        check(
            &cur,
            &json!({"status": {"phase": "Running", "conditions": null}}),
            true,
        );
        check(&cur, &json!({"status": {"images": []}}), true);
        check(
            &cur,
            &json!({"metadata": {"uid": "n-1"}, "status": {}}),
            true,
        );
        // An object field that differs from the current merges: the JSON path.
        let mut other = node_status("2026-01-01T00:05:10Z");
        other["capacity"]["cpu"] = json!("4");
        check(&cur, &json!({ "status": other }), false);
        check(
            &cur,
            &json!({"status": {"capacity": {"hugepages-2Mi": "0"}}}),
            false,
        );
        check(
            &cur,
            &json!({"status": {"nodeInfo": {"bootID": "c"}}}),
            false,
        );
        check(&cur, &json!({"status": {"config": {}}}), false);
        // Unknown fields and wrong types.
        check(&cur, &json!({"status": {"phaze": "Running"}}), false);
        check(&cur, &json!({"status": {"capacityy": {"cpu": "8"}}}), false);
        check(
            &cur,
            &json!({"status": {"addresses": {"type": "Hostname"}}}),
            false,
        );
        check(&cur, &json!({"spec": {"unschedulable": true}}), false);
        // A node without a status yet: an object field merges into nothing.
        let mut bare = cur.clone();
        if let Object::Node(n) = &mut bare {
            n.status = None;
        }
        check(
            &bare,
            &json!({"status": node_status("2026-01-01T00:05:10Z")}),
            false,
        );
        check(&bare, &json!({"status": {"phase": "Running"}}), true);
    }

    #[test]
    fn every_node_status_field_is_named_as_its_json_key() {
        let full = match serde_json::to_value(match &node() {
            Object::Node(n) => n.status.clone().expect("a status"),
            _ => unreachable!(),
        }) {
            Ok(Value::Object(m)) => m,
            _ => unreachable!(),
        };
        for (key, value) in &full {
            let mut cur = node();
            check(&cur, &json!({"status": {key.clone(): null}}), true);
            check(&cur, &json!({"status": {key.clone(): value.clone()}}), true);
            if let Object::Node(n) = &mut cur {
                n.status = Some(NodeStatus::default());
            }
            check(
                &cur,
                &json!({"status": {key.clone(): value.clone()}}),
                !value.is_object(),
            );
        }
        // Fields the kubelet does not set.
        let cur = node();
        check(
            &cur,
            &json!({"status": {"volumesInUse": ["a"], "declaredFeatures": ["f"],
            "volumesAttached": [{"name": "v", "devicePath": "/dev/x"}]}}),
            true,
        );
    }
}
