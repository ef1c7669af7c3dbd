//! Defaulted documentation manifests compared with what a real cluster's `kubectl get -o yaml`
//! shows for them (written by hand from a v1.3x cluster; fields set by other parts of the
//! apiserver — uid, timestamps, clusterIP, admission's serviceAccount/priority/tolerations and
//! the kube-api-access volume — are left out of the comparison).

use api::manifest;
use serde_json::Value;

fn defaulted(file: &str) -> Value {
    let path = format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut objects = manifest::parse_objects(&text).unwrap();
    assert_eq!(objects.len(), 1, "{file}");
    let mut object = objects.remove(0);
    api::defaults::apply(&mut object);
    serde_json::to_value(&object).unwrap()
}

fn yaml(text: &str) -> Value {
    serde_yaml_ng::from_str(text).unwrap()
}

#[test]
fn nginx_deployment() {
    let got = defaulted("nginx-deployment.yaml");
    let want = yaml(
        r#"
progressDeadlineSeconds: 600
replicas: 3
revisionHistoryLimit: 10
selector:
  matchLabels:
    app: nginx
strategy:
  rollingUpdate:
    maxSurge: 25%
    maxUnavailable: 25%
  type: RollingUpdate
template:
  metadata:
    labels:
      app: nginx
  spec:
    containers:
    - image: nginx:1.14.2
      imagePullPolicy: IfNotPresent
      name: nginx
      ports:
      - containerPort: 80
        protocol: TCP
      resources: {}
      terminationMessagePath: /dev/termination-log
      terminationMessagePolicy: File
    dnsPolicy: ClusterFirst
    restartPolicy: Always
    schedulerName: default-scheduler
    securityContext: {}
    terminationGracePeriodSeconds: 30
"#,
    );
    assert_eq!(got["spec"], want);
    assert_eq!(
        got["metadata"]["labels"],
        yaml("app: nginx"),
        "apps/v1 does not copy labels"
    );
}

#[test]
fn service() {
    let got = defaulted("service.yaml");
    let want = yaml(
        r#"
internalTrafficPolicy: Cluster
ipFamilies:
- IPv4
ipFamilyPolicy: SingleStack
ports:
- port: 80
  protocol: TCP
  targetPort: 9376
selector:
  app.kubernetes.io/name: MyApp
sessionAffinity: None
type: ClusterIP
"#,
    );
    assert_eq!(got["spec"], want);
}

#[test]
fn pod_with_probe() {
    let got = defaulted("exec-liveness.yaml");
    let want = yaml(
        r#"
containers:
- args:
  - /bin/sh
  - -c
  - touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600
  image: registry.k8s.io/busybox:1.27.2
  imagePullPolicy: IfNotPresent
  livenessProbe:
    exec:
      command:
      - cat
      - /tmp/healthy
    failureThreshold: 3
    initialDelaySeconds: 5
    periodSeconds: 5
    successThreshold: 1
    timeoutSeconds: 1
  name: liveness
  resources: {}
  terminationMessagePath: /dev/termination-log
  terminationMessagePolicy: File
dnsPolicy: ClusterFirst
enableServiceLinks: true
restartPolicy: Always
schedulerName: default-scheduler
securityContext: {}
terminationGracePeriodSeconds: 30
"#,
    );
    assert_eq!(got["spec"], want);
    let http = defaulted("http-liveness.yaml");
    let probe = &http["spec"]["containers"][0]["livenessProbe"];
    assert_eq!(probe["httpGet"]["scheme"], "HTTP");
    assert_eq!(probe["httpGet"]["port"], 8080);
    assert_eq!(
        http["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
}

#[test]
fn daemonset() {
    let got = defaulted("daemonset.yaml");
    assert_eq!(
        got["spec"]["updateStrategy"],
        yaml("rollingUpdate:\n  maxSurge: 0\n  maxUnavailable: 1\ntype: RollingUpdate\n")
    );
    assert_eq!(got["spec"]["revisionHistoryLimit"], 10);
    let pod = &got["spec"]["template"]["spec"];
    assert_eq!(
        pod["volumes"],
        yaml("- hostPath:\n    path: /var/log\n    type: \"\"\n  name: varlog\n")
    );
    assert_eq!(pod["containers"][0]["resources"]["requests"]["cpu"], "100m");
    assert_eq!(pod["dnsPolicy"], "ClusterFirst");
}

#[test]
fn job() {
    let got = defaulted("job.yaml");
    let spec = &got["spec"];
    let picked: Value = [
        "backoffLimit",
        "completionMode",
        "completions",
        "parallelism",
        "podReplacementPolicy",
        "suspend",
    ]
    .iter()
    .map(|k| (k.to_string(), spec[*k].clone()))
    .collect::<serde_json::Map<_, _>>()
    .into();
    assert_eq!(
        picked,
        yaml(
            "backoffLimit: 4\ncompletionMode: NonIndexed\ncompletions: 1\nparallelism: 1\npodReplacementPolicy: TerminatingOrFailed\nsuspend: false\n"
        )
    );
    assert_eq!(
        spec["template"]["spec"]["restartPolicy"], "Never",
        "kept, not defaulted"
    );
}

#[test]
fn statefulset_and_headless_service() {
    let path = format!(
        "{}/tests/fixtures/web-statefulset.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut objects = manifest::parse_objects(&std::fs::read_to_string(path).unwrap()).unwrap();
    for o in &mut objects {
        api::defaults::apply(o);
    }
    let svc = serde_json::to_value(&objects[0]).unwrap();
    assert_eq!(svc["spec"]["clusterIP"], "None");
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 80);
    let sts = serde_json::to_value(&objects[1]).unwrap();
    let spec = &sts["spec"];
    assert_eq!(spec["podManagementPolicy"], "OrderedReady");
    assert_eq!(
        spec["updateStrategy"],
        yaml("rollingUpdate:\n  partition: 0\ntype: RollingUpdate\n")
    );
    assert_eq!(
        spec["persistentVolumeClaimRetentionPolicy"],
        yaml("whenDeleted: Retain\nwhenScaled: Retain\n")
    );
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(spec["replicas"], 3);
}

#[test]
fn namespace_and_rbac() {
    let mut objects = manifest::parse_objects(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b, namespace: team-a}\n\
         subjects: [{kind: ServiceAccount, name: default, namespace: team-a}, {kind: Group, name: devs}]\n\
         roleRef: {kind: ClusterRole, name: view, apiGroup: rbac.authorization.k8s.io}\n",
    )
    .unwrap();
    for o in &mut objects {
        api::defaults::apply(o);
    }
    let ns = serde_json::to_value(&objects[0]).unwrap();
    assert_eq!(
        ns["metadata"]["labels"],
        yaml("kubernetes.io/metadata.name: team-a")
    );
    assert_eq!(ns["spec"], yaml("finalizers: [kubernetes]"));
    assert_eq!(ns["status"], yaml("phase: Active"));
    let rb = serde_json::to_value(&objects[1]).unwrap();
    assert_eq!(rb["subjects"][0]["apiGroup"], "");
    assert_eq!(rb["subjects"][1]["apiGroup"], "rbac.authorization.k8s.io");
}
