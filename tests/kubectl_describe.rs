//! `kubectl describe` printers: the layout kubectl v1.33 prints for a pod with events, a
//! Deployment with its ReplicaSets, a node with its Lease and pods, and the generic describer.

use std::sync::Arc;

use api::{Object, SharedObject};
use kubesim::kubectl::describe::{Related, describe, needs};
use serde_json::json;

/// 2026-01-01T00:10:00Z: ten minutes into the simulation.
const NOW: i64 = api::WALL_EPOCH_SECS + 600;

fn obj(v: serde_json::Value) -> SharedObject {
    Arc::new(serde_json::from_value::<Object>(v).expect("valid object"))
}

fn event(reason: &str, from: &str, at: &str, count: i32, message: &str) -> SharedObject {
    obj(json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("web.{reason}"), "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web-7d4b9c-x2v9k", "namespace": "default"},
        "reason": reason, "message": message, "type": "Normal",
        "source": {"component": from},
        "firstTimestamp": "2026-01-01T00:00:05Z", "lastTimestamp": at, "count": count
    }))
}

fn pod() -> SharedObject {
    obj(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": "web-7d4b9c-x2v9k", "namespace": "default", "uid": "u-pod",
            "creationTimestamp": "2026-01-01T00:00:05Z",
            "labels": {"app": "web", "pod-template-hash": "7d4b9c"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c",
                                 "uid": "u-rs", "controller": true}]
        },
        "spec": {
            "nodeName": "kubesim-worker", "serviceAccountName": "default", "priority": 0,
            "containers": [{
                "name": "nginx", "image": "nginx:1.27",
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                "readinessProbe": {"httpGet": {"path": "/", "port": 80, "scheme": "HTTP"},
                    "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
            }],
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            ]
        },
        "status": {
            "phase": "Running", "hostIP": "172.18.0.3", "podIP": "10.244.1.2",
            "podIPs": [{"ip": "10.244.1.2"}], "startTime": "2026-01-01T00:00:05Z", "qosClass": "Burstable",
            "conditions": [
                {"type": "PodReadyToStartContainers", "status": "True"},
                {"type": "Initialized", "status": "True"},
                {"type": "Ready", "status": "True"},
                {"type": "ContainersReady", "status": "True"},
                {"type": "PodScheduled", "status": "True"}
            ],
            "containerStatuses": [{
                "name": "nginx", "image": "nginx:1.27", "imageID": "docker.io/library/nginx@sha256:abc",
                "containerID": "containerd://c1", "ready": true, "restartCount": 0,
                "state": {"running": {"startedAt": "2026-01-01T00:00:07Z"}}
            }]
        }
    }))
}

fn events() -> Vec<SharedObject> {
    vec![
        event(
            "Pulled",
            "kubelet",
            "2026-01-01T00:00:06Z",
            1,
            "Container image \"nginx:1.27\" already present on machine",
        ),
        event(
            "Scheduled",
            "default-scheduler",
            "2026-01-01T00:00:05Z",
            1,
            "Successfully assigned default/web-7d4b9c-x2v9k to kubesim-worker",
        ),
        event(
            "Started",
            "kubelet",
            "2026-01-01T00:07:00Z",
            3,
            "Started container nginx",
        ),
    ]
}

#[test]
fn pod_with_events() {
    let related = Related {
        events: Some(events()),
        lease: Ok(None),
        ..Related::default()
    };
    let text = describe(&pod(), &related, NOW).expect("pods are described");
    assert_eq!(text, POD_TEXT);
}

#[test]
fn events_are_searched_by_involved_object() {
    let n = needs(&pod(), true);
    assert_eq!(
        n.events,
        vec![(
            "default".to_string(),
            "involvedObject.name=web-7d4b9c-x2v9k,involvedObject.namespace=default,involvedObject.uid=u-pod".to_string()
        )]
    );
    assert!(needs(&pod(), false).events.is_empty());
}

/// As kubectl v1.33 lays it out: the condition rows end in a space, the events table is
/// aligned on its own, the oldest event first, repeated events as `AGE (xN over FIRST)`.
const POD_TEXT: &str = r#"Name:             web-7d4b9c-x2v9k
Namespace:        default
Priority:         0
Service Account:  default
Node:             kubesim-worker/172.18.0.3
Start Time:       Thu, 01 Jan 2026 00:00:05 +0000
Labels:           app=web
                  pod-template-hash=7d4b9c
Annotations:      <none>
Status:           Running
IP:               10.244.1.2
IPs:
  IP:           10.244.1.2
Controlled By:  ReplicaSet/web-7d4b9c
Containers:
  nginx:
    Container ID:   containerd://c1
    Image:          nginx:1.27
    Image ID:       docker.io/library/nginx@sha256:abc
    Port:           80/TCP
    Host Port:      0/TCP
    State:          Running
      Started:      Thu, 01 Jan 2026 00:00:07 +0000
    Ready:          True
    Restart Count:  0
    Requests:
      cpu:        100m
      memory:     128Mi
    Readiness:    http-get http://:80/ delay=0s timeout=1s period=10s #success=1 #failure=3
    Environment:  <none>
    Mounts:       <none>
Conditions:
  Type                        Status
  PodReadyToStartContainers   True 
  Initialized                 True 
  Ready                       True 
  ContainersReady             True 
  PodScheduled                True 
Volumes:                      <none>
QoS Class:                    Burstable
Node-Selectors:               <none>
Tolerations:                  node.kubernetes.io/not-ready:NoExecute op=Exists for 300s
                              node.kubernetes.io/unreachable:NoExecute op=Exists for 300s
Events:
  Type    Reason     Age                 From               Message
  ----    ------     ----                ----               -------
  Normal  Scheduled  9m55s               default-scheduler  Successfully assigned default/web-7d4b9c-x2v9k to kubesim-worker
  Normal  Pulled     9m55s               kubelet            Container image "nginx:1.27" already present on machine
  Normal  Started    3m (x3 over 9m55s)  kubelet            Started container nginx
"#;

#[test]
fn several_kinds_have_no_describer_yet() {
    let job = obj(json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "j", "namespace": "default"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}],
                                       "restartPolicy": "Never"}}}}));
    let err = describe(&job, &Related::default(), NOW).unwrap_err();
    assert_eq!(err.to_string(), "kubesim does not describe Job yet");
}

#[test]
fn lease_through_the_generic_describer() {
    let lease = obj(json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "kubesim-worker", "namespace": "kube-node-lease", "uid": "u-l",
                     "resourceVersion": "42", "creationTimestamp": "2026-01-01T00:00:03Z"},
        "spec": {"holderIdentity": "kubesim-worker", "leaseDurationSeconds": 40,
                 "renewTime": "2026-01-01T00:09:53.000000Z"}
    }));
    let text = describe(
        &lease,
        &Related {
            events: Some(vec![]),
            ..Related::default()
        },
        NOW,
    )
    .unwrap();
    assert_eq!(
        text,
        "Name:         kubesim-worker
Namespace:    kube-node-lease
Labels:       <none>
Annotations:  <none>
API Version:  coordination.k8s.io/v1
Kind:         Lease
Metadata:
  Creation Timestamp:  2026-01-01T00:00:03Z
  Resource Version:    42
  UID:                 u-l
Spec:
  Holder Identity:         kubesim-worker
  Lease Duration Seconds:  40
  Renew Time:              2026-01-01T00:09:53.000000Z
Events:                    <none>
"
    );
}

#[test]
fn deployment_tells_the_new_replica_set_from_the_old() {
    let template = |image: &str, hash: &str| {
        json!({
            "metadata": {"labels": {"app": "web", "pod-template-hash": hash}},
            "spec": {"containers": [{"name": "nginx", "image": image}]}
        })
    };
    let d = obj(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "uid": "u-d",
                     "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "strategy": {"type": "Recreate"},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}},
        "status": {"replicas": 2, "updatedReplicas": 2, "availableReplicas": 1, "unavailableReplicas": 1}
    }));
    let rs = |name: &str, image: &str, created: &str, replicas: i32| {
        obj(json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": "default", "uid": format!("u-{name}"),
                         "creationTimestamp": created,
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                              "uid": "u-d", "controller": true}]},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": template(image, &name[4..])},
            "status": {"replicas": replicas}
        }))
    };
    let related = Related {
        replica_sets: vec![
            rs("web-aaa", "nginx:1.26", "2026-01-01T00:00:00Z", 0),
            rs("web-bbb", "nginx:1.27", "2026-01-01T00:01:00Z", 2),
        ],
        ..Related::default()
    };
    let text = describe(&d, &related, NOW).unwrap();
    assert!(
        text.contains(
            "\nReplicas:           2 desired | 2 updated | 2 total | 1 available | 1 unavailable\n"
        ),
        "{text}"
    );
    assert!(text.contains("\nStrategyType:       Recreate\n"), "{text}");
    assert!(!text.contains("RollingUpdateStrategy"), "{text}");
    assert!(text.contains("\nOldReplicaSets:    web-aaa (0/0 replicas created)\nNewReplicaSet:     web-bbb (2/2 replicas created)\n"), "{text}");
    // No events were asked for (several objects described): no Events section.
    assert!(!text.contains("Events:"), "{text}");
}

#[test]
fn config_map_values_and_secret_sizes() {
    let cm = obj(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "site", "namespace": "default"}, "data": {"index.html": "hello"}}));
    assert_eq!(
        describe(
            &cm,
            &Related {
                events: Some(vec![]),
                ..Related::default()
            },
            NOW
        )
        .unwrap(),
        "Name:         site\nNamespace:    default\nLabels:       <none>\nAnnotations:  <none>\n\nData\n====\nindex.html:\n----\nhello\n\n\nBinaryData\n====\n\nEvents:  <none>\n"
    );
    let secret = obj(
        json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "s", "namespace": "default"}, "data": {"password": "c2VjcmV0"}}),
    );
    assert_eq!(
        describe(&secret, &Related::default(), NOW).unwrap(),
        "Name:         s\nNamespace:    default\nLabels:       <none>\nAnnotations:  <none>\n\nType:  Opaque\n\nData\n====\npassword:  6 bytes\n"
    );
}
