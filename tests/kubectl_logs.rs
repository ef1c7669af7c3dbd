//! `kubectl logs`: component pods (klog, etcd's zap JSON), user containers (what their image
//! prints), `--previous` after a restart, `--tail`, `-c`, workloads, and kubectl's errors.

mod common;

use common::*;
use kubesim::runner::{self, RunOptions};
use kubesim::scenario;

/// Each step's output by its header line, in order.
fn run(name: &str, text: &str) -> Vec<(String, String)> {
    let dir = scratch_dir(name);
    let path = write(&dir, "s.ron", text);
    let loaded = scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    runner::run(&loaded, &RunOptions::default(), &mut out).expect("the run starts");
    let text = String::from_utf8(out).unwrap();
    let mut steps: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with("seed=") || line.starts_with("verdict:") {
            break;
        }
        if line.starts_with('[') && line.contains("] ") {
            let header = line.split_once("] ").map(|(_, h)| h).unwrap_or_default();
            steps.push((header.to_string(), String::new()));
        } else if let Some((_, body)) = steps.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    steps
}

fn output<'a>(steps: &'a [(String, String)], command: &str) -> &'a str {
    let header = format!("$ kubectl {command}");
    steps
        .iter()
        .find(|(h, _)| *h == header)
        .map(|(_, b)| b.as_str())
        .unwrap_or_else(|| panic!("no step {header:?} in {steps:#?}"))
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
    // At kubeadm's default verbosity the scheduler logs its leader election, not each bind.
    assert!(
        sched.contains("\"successfully acquired lease kube-system/kube-scheduler\""),
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
