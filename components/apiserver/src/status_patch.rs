//! A JSON merge patch of a pod's status applied to the typed pod, for the shape every kubelet
//! sends at each container change (`{"metadata": {"uid": …}, "status": {…}}`, the status
//! manager's `PatchPodStatus` in `pkg/kubelet/status/status_manager.go`).
//!
//! The general path ([`crate::patch::patched`]) turns the whole pod into JSON, merges and
//! decodes the result strictly; for this shape the result is the pod with the patched status
//! fields replaced, since every field of `PodStatus` the patch names is replaced whole (a
//! value that is not a JSON object replaces; `null` removes). So the patch's status is decoded
//! alone and its fields moved into a copy of the pod. Anything else, or anything the strict
//! decode would reject (an unknown field, a wrong type), returns `None` and takes the general
//! path, which words the error.

use api::Object;
use k8s_openapi::api::core::v1::PodStatus;
use serde_json::{Map, Value};

/// `cur` (a pod) with `patch` merged in, or `None` when the patch is not of the shape handled
/// here or would not decode.
pub fn merged(cur: &Object, patch: &Value) -> Option<Object> {
    let Object::Pod(pod) = cur else {
        return None;
    };
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
        let node = api::strict::decode(&json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "worker"}, "status": {"phase": "Running"}}))
        .expect("a node");
        check(&node, &json!({"status": {"phase": "Pending"}}), false);
    }
}
