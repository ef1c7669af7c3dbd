//! `kubectl get` output per kind, written from real kubectl output: columns, alignment (tabwriter
//! with padding 3), AGE, pod and node STATUS, -A/--show-labels, -o name/yaml/json/custom-columns.

use api::Object;
use kubesim::kubectl::age::human_duration;
use kubesim::kubectl::error::KubectlError;
use kubesim::kubectl::print::{GetPrintOptions, KindObjects, OutputFormat, print_get};

/// 2026-01-01T00:00:00Z, the creation time of every object below.
const T0: i64 = 1_767_225_600;

fn obj(json: serde_json::Value) -> Object {
    serde_json::from_value(json).expect("valid object")
}

fn meta(name: &str, ns: Option<&str>) -> serde_json::Value {
    let mut m = serde_json::json!({"name": name, "creationTimestamp": "2026-01-01T00:00:00Z"});
    if let Some(ns) = ns {
        m["namespace"] = ns.into();
    }
    m
}

fn print(objects: &[Object], output: OutputFormat, now_after_secs: i64) -> String {
    let refs: Vec<&Object> = objects.iter().collect();
    let kind = objects[0].info();
    print_get(
        &[KindObjects {
            kind,
            objects: &refs,
        }],
        false,
        &GetPrintOptions {
            output,
            namespace: "default".into(),
            now_secs: T0 + now_after_secs,
            ..Default::default()
        },
    )
}

fn pod(name: &str, status: serde_json::Value) -> Object {
    obj(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": meta(name, Some("default")),
        "spec": {"nodeName": "kubesim-worker", "containers": [{"name": "app", "image": "nginx"}]},
        "status": status,
    }))
}

#[test]
fn age_is_human_duration() {
    let table: &[(i64, &str)] = &[
        (-5, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (45, "45s"),
        (119, "119s"),
        (120, "2m"),
        (312, "5m12s"),
        (600, "10m"),
        (179 * 60, "179m"),
        (3 * 3600 + 2 * 60, "3h2m"),
        (8 * 3600, "8h"),
        (47 * 3600, "47h"),
        (2 * 86400 + 3 * 3600, "2d3h"),
        (9 * 86400, "9d"),
        (800 * 86400, "2y70d"),
        (9 * 365 * 86400, "9y"),
    ];
    for (secs, want) in table {
        assert_eq!(human_duration(*secs), *want, "{secs}s");
    }
}

#[test]
fn pod_table_and_status() {
    let running = pod(
        "web-7c5ddbdf54-2xk9p",
        serde_json::json!({
            "phase": "Running", "podIPs": [{"ip": "10.244.1.2"}],
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "app", "image": "nginx", "imageID": "", "ready": true, "restartCount": 0,
                "state": {"running": {"startedAt": "2026-01-01T00:00:05Z"}}}],
        }),
    );
    let crashing = pod(
        "crashy",
        serde_json::json!({
            "phase": "Running",
            "containerStatuses": [{"name": "app", "image": "crashy:1", "imageID": "", "ready": false, "restartCount": 3,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-01-01T00:04:00Z"}}}],
        }),
    );
    let pending = pod("pending", serde_json::json!({"phase": "Pending"}));
    let creating = pod(
        "creating",
        serde_json::json!({"phase": "Pending", "containerStatuses": [{"name": "app", "image": "nginx", "imageID": "",
            "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]}),
    );
    let done = pod(
        "job-x",
        serde_json::json!({"phase": "Succeeded", "containerStatuses": [{"name": "app", "image": "busybox", "imageID": "",
            "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
    );
    let mut terminating = running.clone();
    terminating.metadata_mut().name = Some("going".into());
    terminating.metadata_mut().deletion_timestamp = pod("x", serde_json::json!({}))
        .metadata()
        .creation_timestamp
        .clone();
    let pods = [running, crashing, pending, creating, done, terminating];
    assert_eq!(
        print(&pods, OutputFormat::Table, 312),
        "\
NAME                   READY   STATUS              RESTARTS      AGE
web-7c5ddbdf54-2xk9p   1/1     Running             0             5m12s
crashy                 0/1     CrashLoopBackOff    3 (72s ago)   5m12s
pending                0/1     Pending             0             5m12s
creating               0/1     ContainerCreating   0             5m12s
job-x                  0/1     Completed           0             5m12s
going                  1/1     Terminating         0             5m12s
"
    );
    assert_eq!(
        print(&pods[..2], OutputFormat::Wide, 312),
        "\
NAME                   READY   STATUS             RESTARTS      AGE     IP           NODE             NOMINATED NODE   READINESS GATES
web-7c5ddbdf54-2xk9p   1/1     Running            0             5m12s   10.244.1.2   kubesim-worker   <none>           <none>
crashy                 0/1     CrashLoopBackOff   3 (72s ago)   5m12s   <none>       kubesim-worker   <none>           <none>
"
    );
}

#[test]
fn node_table() {
    let node = |name: &str, ready: &str, cordoned: bool, cp: bool| {
        let mut labels = serde_json::json!({"kubernetes.io/hostname": name});
        if cp {
            labels["node-role.kubernetes.io/control-plane"] = "".into();
        }
        let mut m = meta(name, None);
        m["labels"] = labels;
        obj(serde_json::json!({
            "apiVersion": "v1", "kind": "Node", "metadata": m,
            "spec": {"unschedulable": cordoned},
            "status": {
                "conditions": [{"type": "Ready", "status": ready}],
                "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}],
                "nodeInfo": {"kubeletVersion": "v1.33.1", "osImage": "Debian GNU/Linux 12 (bookworm)",
                    "kernelVersion": "6.8.0", "containerRuntimeVersion": "containerd://2.1.1",
                    "architecture": "amd64", "bootID": "", "kubeProxyVersion": "", "machineID": "",
                    "operatingSystem": "linux", "systemUUID": ""},
            },
        }))
    };
    let nodes = [
        node("kubesim-control-plane", "True", false, true),
        node("kubesim-worker", "Unknown", false, false),
        node("kubesim-worker2", "True", true, false),
    ];
    assert_eq!(
        print(&nodes, OutputFormat::Table, 3 * 3600 + 120),
        "\
NAME                    STATUS                     ROLES           AGE    VERSION
kubesim-control-plane   Ready                      control-plane   3h2m   v1.33.1
kubesim-worker          NotReady                   <none>          3h2m   v1.33.1
kubesim-worker2         Ready,SchedulingDisabled   <none>          3h2m   v1.33.1
"
    );
    assert_eq!(
        print(&nodes[..1], OutputFormat::Wide, 60),
        "\
NAME                    STATUS   ROLES           AGE   VERSION   INTERNAL-IP   EXTERNAL-IP   OS-IMAGE                         KERNEL-VERSION   CONTAINER-RUNTIME
kubesim-control-plane   Ready    control-plane   60s   v1.33.1   172.18.0.2    <none>        Debian GNU/Linux 12 (bookworm)   6.8.0            containerd://2.1.1
"
    );
}

fn deployment() -> Object {
    let mut m = meta("nginx-deployment", Some("default"));
    m["labels"] = serde_json::json!({"app": "nginx"});
    obj(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": m,
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "nginx"}},
            "template": {"metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2"}]}}},
        "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    }))
}

#[test]
fn workload_and_service_tables() {
    assert_eq!(
        print(&[deployment()], OutputFormat::Table, 2 * 86400 + 3 * 3600),
        "\
NAME               READY   UP-TO-DATE   AVAILABLE   AGE
nginx-deployment   2/3     3            2           2d3h
"
    );
    assert_eq!(
        print(&[deployment()], OutputFormat::Wide, 30),
        "\
NAME               READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS   IMAGES         SELECTOR
nginx-deployment   2/3     3            2           30s   nginx        nginx:1.14.2   app=nginx
"
    );
    let svc = obj(serde_json::json!({
        "apiVersion": "v1", "kind": "Service", "metadata": meta("nginx", Some("default")),
        "spec": {"type": "NodePort", "clusterIP": "10.96.12.34", "selector": {"app": "nginx"},
            "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}]},
    }));
    let kubernetes = obj(serde_json::json!({
        "apiVersion": "v1", "kind": "Service", "metadata": meta("kubernetes", Some("default")),
        "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.1", "ports": [{"port": 443, "protocol": "TCP"}]},
    }));
    assert_eq!(
        print(&[kubernetes, svc], OutputFormat::Table, 600),
        "\
NAME         TYPE        CLUSTER-IP    EXTERNAL-IP   PORT(S)        AGE
kubernetes   ClusterIP   10.96.0.1     <none>        443/TCP        10m
nginx        NodePort    10.96.12.34   <none>        80:30080/TCP   10m
"
    );
    let ns = obj(serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": meta("kube-system", None), "status": {"phase": "Active"}}));
    assert_eq!(
        print(&[ns], OutputFormat::Table, 59),
        "NAME          STATUS   AGE\nkube-system   Active   59s\n"
    );
    let lease = obj(
        serde_json::json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": meta("kube-scheduler", Some("kube-system")),
        "spec": {"holderIdentity": "kubesim-control-plane_1b2c"}}),
    );
    assert_eq!(
        print(&[lease], OutputFormat::Table, 59),
        "NAME             HOLDER                       AGE\nkube-scheduler   kubesim-control-plane_1b2c   59s\n"
    );
    let cm = obj(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": meta("kube-root-ca.crt", Some("default")), "data": {"ca.crt": "x"}}));
    assert_eq!(
        print(&[cm], OutputFormat::Table, 59),
        "NAME               DATA   AGE\nkube-root-ca.crt   1      59s\n"
    );
    let slice = obj(
        serde_json::json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": meta("nginx-abcde", Some("default")), "addressType": "IPv4",
        "ports": [{"port": 80, "protocol": "TCP"}],
        "endpoints": [{"addresses": ["10.244.1.2"]}, {"addresses": ["10.244.2.2"]},
            {"addresses": ["10.244.3.2"]}, {"addresses": ["10.244.1.3"]}]}),
    );
    assert_eq!(
        print(&[slice], OutputFormat::Table, 59),
        "\
NAME          ADDRESSTYPE   PORTS   ENDPOINTS                                      AGE
nginx-abcde   IPv4          80      10.244.1.2,10.244.2.2,10.244.3.2 + 1 more...   59s
"
    );
}

#[test]
fn event_table() {
    let ev = obj(serde_json::json!({"apiVersion": "v1", "kind": "Event",
        "metadata": meta("web.1", Some("default")),
        "involvedObject": {"kind": "Pod", "name": "web"}, "type": "Warning", "reason": "BackOff",
        "message": "Back-off restarting failed container app in pod web_default(uid)",
        "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:05:00Z", "count": 4}));
    assert_eq!(
        print(&[ev], OutputFormat::Table, 330),
        "\
LAST SEEN             TYPE      REASON    OBJECT    MESSAGE
30s (x4 over 5m30s)   Warning   BackOff   pod/web   Back-off restarting failed container app in pod web_default(uid)
"
    );
}

#[test]
fn namespaces_labels_names_and_empty() {
    let d = deployment();
    let refs = [&d];
    let opts = GetPrintOptions {
        all_namespaces: true,
        show_labels: true,
        now_secs: T0 + 5,
        ..Default::default()
    };
    let groups = [KindObjects {
        kind: d.info(),
        objects: &refs,
    }];
    assert_eq!(
        print_get(&groups, false, &opts),
        "\
NAMESPACE   NAME               READY   UP-TO-DATE   AVAILABLE   AGE   LABELS
default     nginx-deployment   2/3     3            2           5s    app=nginx
"
    );
    assert_eq!(
        print(std::slice::from_ref(&d), OutputFormat::Name, 0),
        "deployment.apps/nginx-deployment\n"
    );
    let none = GetPrintOptions {
        namespace: "default".into(),
        ..Default::default()
    };
    let empty = [KindObjects {
        kind: d.info(),
        objects: &[],
    }];
    assert_eq!(
        print_get(&empty, false, &none),
        "No resources found in default namespace.\n"
    );
    let nodes = [KindObjects {
        kind: api::Kind::Node.info(),
        objects: &[],
    }];
    assert_eq!(print_get(&nodes, false, &none), "No resources found\n");
}

#[test]
fn yaml_json_and_custom_columns() {
    let cm = obj(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "default"}, "data": {"k": "v"}}));
    assert_eq!(
        print(std::slice::from_ref(&cm), OutputFormat::Json, 0),
        "{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n        {\n            \"apiVersion\": \"v1\",\n            \"data\": {\n                \"k\": \"v\"\n            },\n            \"kind\": \"ConfigMap\",\n            \"metadata\": {\n                \"name\": \"c\",\n                \"namespace\": \"default\"\n            }\n        }\n    ],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n"
    );
    let refs = [&cm];
    let single = print_get(
        &[KindObjects {
            kind: cm.info(),
            objects: &refs,
        }],
        true,
        &GetPrintOptions {
            output: OutputFormat::Yaml,
            ..Default::default()
        },
    );
    assert_eq!(
        single,
        "apiVersion: v1\ndata:\n  k: v\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: default\n"
    );
    let cols = OutputFormat::parse("custom-columns=NAME:.metadata.name,IMAGE:.spec.template.spec.containers[*].image,X:.status.nope")
        .expect("valid");
    assert_eq!(
        print(&[deployment()], cols, 0),
        "NAME               IMAGE          X\nnginx-deployment   nginx:1.14.2   <none>\n"
    );
}

#[test]
fn server_errors_print_as_kubectl() {
    let e = api::status::StatusError::not_found(api::Kind::Deployment.info(), "web");
    assert_eq!(
        KubectlError::from(e).to_string(),
        "Error from server (NotFound): deployments.apps \"web\" not found"
    );
}

#[test]
fn watch_lines_align_on_their_own_cells() {
    let d = deployment();
    let line = kubesim::kubectl::print::watch_line(
        d.info(),
        &d,
        &GetPrintOptions {
            now_secs: T0 + 5,
            ..Default::default()
        },
    );
    assert_eq!(line, "nginx-deployment   2/3   3     2     5s\n");
}

#[test]
fn yaml_as_go_yaml_writes_it() {
    let pod = obj(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app": "web", "enabled": "true"}, "annotations": {"note": "a: b", "empty": ""}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.25", "args": ["-c", "echo hi\nsleep 1"],
            "ports": [{"containerPort": 80, "protocol": "TCP"}]}]},
    }));
    let refs = [&pod];
    let yaml = print_get(
        &[KindObjects {
            kind: pod.info(),
            objects: &refs,
        }],
        true,
        &GetPrintOptions {
            output: OutputFormat::Yaml,
            ..Default::default()
        },
    );
    assert_eq!(
        yaml,
        "\
apiVersion: v1
kind: Pod
metadata:
  annotations:
    empty: \"\"
    note: \"a: b\"
  creationTimestamp: \"2026-01-01T00:00:00Z\"
  labels:
    app: web
    enabled: \"true\"
  name: web
  namespace: default
spec:
  containers:
  - args:
    - -c
    - |-
      echo hi
      sleep 1
    image: nginx:1.25
    name: app
    ports:
    - containerPort: 80
      protocol: TCP
status: {}
"
    );
}
