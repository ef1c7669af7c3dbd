//! `kubectl expose` and `kubectl create service`: the Services kubectl generates, as the
//! apiserver stores them, kubectl's outcome lines and errors; and the access log nginx writes
//! for the requests a Service brings it, read with `kubectl logs deployment/nginx`.

mod common;

use common::{run_steps, step_output};

fn output<'a>(steps: &'a [(String, String)], command: &str) -> &'a str {
    step_output(steps, &format!("$ kubectl {command}"))
}

/// The outputs of every step running `command`, in order.
fn outputs<'a>(steps: &'a [(String, String)], command: &str) -> Vec<&'a str> {
    let header = format!("$ kubectl {command}");
    steps
        .iter()
        .filter(|(h, _)| *h == header)
        .map(|(_, b)| b.as_str())
        .collect()
}

#[test]
fn expose_and_create_service_generate_what_kubectl_generates() {
    let steps = run_steps(
        "expose",
        r##"Scenario(
    seed: 3,
    cluster: (control_planes: 1, workers: 1),
    steps: [
        Kubectl("create deployment nginx --image=nginx --port=80"),
        Kubectl("create deployment bare --image=busybox"),
        Kubectl("wait --for=condition=Available deployment/nginx --timeout=60s"),
        Kubectl("expose deployment nginx"),
        Kubectl("get service nginx -o jsonpath='{.metadata.labels} {.spec.selector} {.spec.ports}'"),
        Kubectl("expose deployment nginx --port=8080 --target-port=80 --name=nginx-np --type=NodePort"),
        Kubectl("get service nginx-np -o jsonpath='{.spec.type} {.spec.ports[0].port}->{.spec.ports[0].targetPort}'"),
        Kubectl("expose deployment bare"),
        Kubectl("expose deployment nginx"),
        Kubectl("expose deployment ghost --port=80"),
        Kubectl("expose daemonset kube-proxy -n kube-system --port=80"),
        Kubectl("expose service nginx --name=nginx-copy"),
        Kubectl("get service nginx-copy -o jsonpath='{.spec.selector} {.spec.ports}'"),
        Kubectl("create service clusterip my-cs --tcp=5678:8080"),
        Kubectl("get service my-cs -o jsonpath='{.metadata.labels} {.spec.selector} {.spec.ports}'"),
        Kubectl("create service clusterip headless --clusterip=None"),
        Kubectl("get service headless -o jsonpath='{.spec.clusterIP}'"),
        Kubectl("create service nodeport my-np --tcp=80:80 --node-port=30080"),
        Kubectl("get service my-np -o jsonpath='{.spec.ports[0].nodePort}'"),
        Kubectl("create service externalname my-ext --external-name=example.com"),
        Kubectl("get service my-ext -o jsonpath='{.spec.type} {.spec.externalName}'"),
        Kubectl("create service clusterip my-cs --tcp=80"),
        Kubectl("create service clusterip none"),
        Kubectl("create service nodeport bad --clusterip=None --tcp=80"),
    ],
)"##,
    );
    assert_eq!(
        outputs(&steps, "expose deployment nginx"),
        [
            "service/nginx exposed\n",
            "Error from server (AlreadyExists): services \"nginx\" already exists\n"
        ]
    );
    assert_eq!(
        output(
            &steps,
            "get service nginx -o jsonpath='{.metadata.labels} {.spec.selector} {.spec.ports}'"
        ),
        "{\"app\":\"nginx\"} {\"app\":\"nginx\"} [{\"port\":80,\"protocol\":\"TCP\",\"targetPort\":80}]\n"
    );
    assert_eq!(
        output(
            &steps,
            "expose deployment nginx --port=8080 --target-port=80 --name=nginx-np --type=NodePort"
        ),
        "service/nginx-np exposed\n"
    );
    assert_eq!(
        output(
            &steps,
            "get service nginx-np -o jsonpath='{.spec.type} {.spec.ports[0].port}->{.spec.ports[0].targetPort}'"
        ),
        "NodePort 8080->80\n"
    );
    assert_eq!(
        output(&steps, "expose deployment bare"),
        "error: couldn't find port via --port flag or introspection\n"
    );
    assert_eq!(
        output(&steps, "expose deployment ghost --port=80"),
        "Error from server (NotFound): deployments.apps \"ghost\" not found\n"
    );
    assert_eq!(
        output(
            &steps,
            "expose daemonset kube-proxy -n kube-system --port=80"
        ),
        "error: cannot expose a DaemonSet.apps\n"
    );
    assert_eq!(
        output(&steps, "expose service nginx --name=nginx-copy"),
        "service/nginx-copy exposed\n"
    );
    assert_eq!(
        output(
            &steps,
            "get service nginx-copy -o jsonpath='{.spec.selector} {.spec.ports}'"
        ),
        "{\"app\":\"nginx\"} [{\"port\":80,\"protocol\":\"TCP\",\"targetPort\":80}]\n"
    );
    assert_eq!(
        output(
            &steps,
            "get service my-cs -o jsonpath='{.metadata.labels} {.spec.selector} {.spec.ports}'"
        ),
        "{\"app\":\"my-cs\"} {\"app\":\"my-cs\"} [{\"name\":\"5678-8080\",\"port\":5678,\"protocol\":\"TCP\",\"targetPort\":8080}]\n"
    );
    assert_eq!(
        output(&steps, "create service clusterip headless --clusterip=None"),
        "service/headless created\n"
    );
    assert_eq!(
        output(
            &steps,
            "get service headless -o jsonpath='{.spec.clusterIP}'"
        ),
        "None\n"
    );
    assert_eq!(
        output(
            &steps,
            "get service my-np -o jsonpath='{.spec.ports[0].nodePort}'"
        ),
        "30080\n"
    );
    assert_eq!(
        output(
            &steps,
            "get service my-ext -o jsonpath='{.spec.type} {.spec.externalName}'"
        ),
        "ExternalName example.com\n"
    );
    assert_eq!(
        output(&steps, "create service clusterip my-cs --tcp=80"),
        "error: failed to create ClusterIP service: services \"my-cs\" already exists\n"
    );
    assert_eq!(
        output(&steps, "create service clusterip none"),
        "error: at least one tcp port specifier must be provided\n"
    );
    assert_eq!(
        output(
            &steps,
            "create service nodeport bad --clusterip=None --tcp=80"
        ),
        "error: unknown flag: --clusterip\nSee 'kubectl create service nodeport --help' for usage.\n"
    );
}

#[test]
fn nginx_logs_the_requests_a_service_brings_it() {
    let steps = run_steps(
        "access-log",
        r##"Scenario(
    seed: 8,
    cluster: (control_planes: 1, workers: 1),
    images: {
        "web:1": (logs: ["listening on :80"]),
        "quiet:1": (access_log: false),
    },
    steps: [
        Kubectl("create deployment nginx --image=nginx:1.27 --port=80"),
        Kubectl("create deployment web --image=web:1 --port=80"),
        Kubectl("create deployment quiet --image=quiet:1 --port=80"),
        Kubectl("wait --for=condition=Available deployment/nginx deployment/web deployment/quiet --timeout=60s"),
        Kubectl("expose deployment nginx"),
        Kubectl("expose deployment web"),
        Kubectl("expose deployment quiet"),
        Sleep("3s"),
        Traffic(service: "nginx", rps: 2),
        Traffic(service: "web", rps: 2),
        Traffic(service: "quiet", rps: 2),
        Sleep("5s"),
        Kubectl("logs deployment/nginx"),
        Kubectl("logs deployment/web"),
        Kubectl("logs deployment/quiet"),
    ],
)"##,
    );
    let nginx = output(&steps, "logs deployment/nginx");
    let access: Vec<&str> = nginx
        .lines()
        .filter(|l| l.contains("\"GET / HTTP/1.1\""))
        .collect();
    assert!(access.len() >= 5, "{nginx}");
    for line in &access {
        // `10.244.N.253 - - [01/Jan/2026:00:00:12 +0000] "GET / HTTP/1.1" 200 615 "-" "curl/8.5.0" "-"`
        let (client, rest) = line.split_once(" - - [").unwrap();
        assert!(client.starts_with("10.244."), "{line}");
        assert!(rest.starts_with("01/Jan/2026:00:00:"), "{line}");
        assert!(
            rest.ends_with("] \"GET / HTTP/1.1\" 200 615 \"-\" \"curl/8.5.0\" \"-\""),
            "{line}"
        );
    }
    // An image described without `access_log` logs what it prints; one that says
    // `access_log: false` logs nothing per request.
    assert_eq!(output(&steps, "logs deployment/web"), "listening on :80\n");
    assert_eq!(output(&steps, "logs deployment/quiet"), "");
}
