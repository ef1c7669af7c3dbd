//! `kubectl logs`: component pods (klog, etcd's zap JSON), user containers (what their image
//! prints), `--previous` after a restart, `--tail`, `-c`, workloads, and kubectl's errors.

mod common;

use common::run_steps as run;
use common::*;

fn output<'a>(steps: &'a [(String, String)], command: &str) -> &'a str {
    step_output(steps, &format!("$ kubectl {command}"))
}

#[test]
fn component_and_container_logs() {
    let steps = run(
        "logs",
        r##"Scenario(
    seed: 4,
    cluster: (control_planes: 1, workers: 1),
    images: {
        "crashy:1": (exits_after: "3s", exit_code: 1, logs: ["starting up", "giving up"]),
        "web:1": (logs: ["listening on :80"]),
        "nope:1": (pull_error: "manifest unknown"),
    },
    steps: [
        Apply(r#"
apiVersion: v1
kind: Pod
metadata: {name: crashy}
spec: {containers: [{name: app, image: "crashy:1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: pair}
spec: {containers: [{name: web, image: "web:1"}, {name: side, image: "web:1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: broken}
spec: {containers: [{name: app, image: "nope:1"}]}
"#),
        Sleep("40s"),
        Kubectl("logs -n kube-system etcd-kubesim-control-plane --tail=1"),
        Kubectl("logs -n kube-system kube-scheduler-kubesim-control-plane"),
        Kubectl("logs pair"),
        Kubectl("logs pair -c side --tail=0"),
        Kubectl("logs pair -c nothere"),
        Kubectl("logs crashy"),
        Kubectl("logs crashy --previous"),
        Kubectl("logs pair -c web --previous"),
        Kubectl("logs broken"),
        Kubectl("logs ghost"),
        Fault(Crash("kubesim-worker")),
        Kubectl("logs pair -c web"),
    ],
)"##,
    );
    let etcd = output(
        &steps,
        "logs -n kube-system etcd-kubesim-control-plane --tail=1",
    );
    assert!(
        etcd.starts_with("{\"level\":\"info\",\"ts\":\"2026-01-01T00:00:"),
        "{etcd}"
    );
    assert_eq!(etcd.lines().count(), 1);
    let sched = output(
        &steps,
        "logs -n kube-system kube-scheduler-kubesim-control-plane",
    );
    // At kubeadm's default verbosity the scheduler logs its leader election, not each bind;
    // client-go logs it with klog.Infof, so the message is not quoted.
    assert!(
        sched.lines().any(|l| l.ends_with(
            "leaderelection.go:271] successfully acquired lease kube-system/kube-scheduler"
        )),
        "{sched}"
    );
    assert!(
        sched
            .lines()
            .all(|l| l.starts_with('I') || l.starts_with('E') || l.starts_with('W'))
    );
    assert_eq!(
        output(&steps, "logs pair"),
        "Defaulted container \"web\" out of: web, side\nlistening on :80\n"
    );
    assert_eq!(output(&steps, "logs pair -c side --tail=0"), "");
    assert_eq!(
        output(&steps, "logs pair -c nothere"),
        "Error from server (BadRequest): container nothere is not valid for pod pair\n"
    );
    assert_eq!(output(&steps, "logs crashy"), "starting up\ngiving up\n");
    assert_eq!(
        output(&steps, "logs crashy --previous"),
        "starting up\ngiving up\n"
    );
    assert_eq!(
        output(&steps, "logs pair -c web --previous"),
        "Error from server (BadRequest): previous terminated container \"web\" in pod \"pair\" not found\n"
    );
    let broken = output(&steps, "logs broken");
    assert!(
        broken.starts_with("Error from server (BadRequest): container \"app\" in pod \"broken\" is waiting to start: "),
        "{broken}"
    );
    assert_eq!(
        output(&steps, "logs ghost"),
        "Error from server (NotFound): pods \"ghost\" not found\n"
    );
    assert_eq!(
        output(&steps, "logs pair -c web"),
        "Error from server: Get \"https://172.18.0.3:10250/containerLogs/default/pair/web\": dial tcp 172.18.0.3:10250: connect: no route to host\n"
    );
}

#[test]
fn a_component_log_restarts_with_its_node() {
    // After a node restart each component runs in a new container: the plain log is the new
    // one's, `--previous` the one the crash ended, and the pod counts the restart.
    let steps = run(
        "logs-restart",
        r##"Scenario(
    seed: 6,
    cluster: (control_planes: 1, workers: 2),
    steps: [
        Sleep("20s"),
        Kubectl("logs -n kube-system daemonset/kube-proxy --previous"),
        Fault(Crash("kubesim-worker2")),
        Sleep("5s"),
        Fault(Restart("kubesim-worker2")),
        Sleep("30s"),
        Kubectl("get pods -n kube-system -l k8s-app=kube-proxy -o jsonpath='{range .items[*]}{.spec.nodeName} {.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].lastState.terminated.reason} {.status.containerStatuses[0].lastState.terminated.exitCode}{\"\\n\"}{end}'"),
        Kubectl("logs -n kube-system daemonset/kube-proxy --previous"),
        Kubectl("logs -n kube-system daemonset/kube-proxy"),
    ],
)"##,
    );
    let before = step_output(
        &steps,
        "$ kubectl logs -n kube-system daemonset/kube-proxy --previous",
    );
    assert!(
        before.contains("previous terminated container \"kube-proxy\" in pod"),
        "{before}"
    );
    let pods = steps
        .iter()
        .find(|(h, _)| h.starts_with("$ kubectl get pods -n kube-system -l k8s-app=kube-proxy"))
        .map(|(_, b)| b.as_str())
        .unwrap();
    assert!(pods.contains("kubesim-worker2 1 Unknown 255\n"), "{pods}");
    assert!(pods.contains("kubesim-worker 0"), "{pods}");
    // The restarted pod has the most restarts: kubectl picks it.
    let outputs: Vec<&str> = steps
        .iter()
        .filter(|(h, _)| h.starts_with("$ kubectl logs -n kube-system daemonset/kube-proxy"))
        .map(|(_, b)| b.as_str())
        .collect();
    let (previous, current) = (outputs[1], outputs[2]);
    for log in [previous, current] {
        assert!(
            log.starts_with("Found 3 pods, using pod/kube-proxy-"),
            "{log}"
        );
        assert!(
            log.contains("\"Version info\""),
            "each container logs its start: {log}"
        );
    }
    // The previous container's lines end before the crash (at 20 s); the current one's begin
    // after the restart (at 25 s).
    let stamps = |log: &str| -> Vec<String> {
        log.lines()
            .skip(1)
            .map(|l| l.get(6..14).unwrap_or_default().to_string())
            .collect()
    };
    assert!(
        stamps(previous).iter().all(|t| t.as_str() <= "00:00:20"),
        "{previous}"
    );
    assert!(
        stamps(current).iter().all(|t| t.as_str() >= "00:00:25"),
        "{current}"
    );
}
