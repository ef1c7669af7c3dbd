//! Every file in scenarios/ is valid, and every run of it is reproducible from its seed.

mod common;

use common::*;
use kubesim::scenario;

#[test]
fn every_scenario_parses_and_checks() {
    let files = scenario_files();
    assert!(files.len() >= 3, "{files:?}");
    for file in files {
        let loaded = scenario::load(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(!loaded.scenario.steps.is_empty(), "{}", file.display());
        let output = kubesim(&["check", file.to_str().unwrap()]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}: {}",
            file.display(),
            stderr(&output)
        );
    }
}

#[test]
fn every_scenario_runs_the_same_twice() {
    for file in scenario_files() {
        let path = file.to_str().unwrap();
        let first = kubesim(&["run", path, "--quiet"]);
        let second = kubesim(&["run", path, "--quiet"]);
        assert!(
            matches!(first.status.code(), Some(0 | 1)),
            "{path}: {}",
            stderr(&first)
        );
        assert_eq!(stdout(&first), stdout(&second), "{path}");
        let other_seed = kubesim(&["run", path, "--quiet", "--seed", "12345"]);
        assert_eq!(summary_field(&other_seed, "seed"), "12345");
    }
}

#[test]
fn the_design_example_parses_as_written() {
    use scenario::{Check, Fault, Matcher, Step, Target};
    let loaded = scenario::load(&root().join("scenarios/nginx-survives-worker-loss.ron")).unwrap();
    let s = &loaded.scenario;
    assert_eq!(s.seed, 7);
    assert_eq!((s.cluster.control_planes, s.cluster.workers), (1, 3));
    assert_eq!(s.images["crashy:1"].exit_code, Some(1));
    assert_eq!(s.images["crashy:1"].size.map(|q| q.value()), Some(20 << 20));
    assert_eq!(
        s.images["nginx:1.161"].pull_error.as_deref(),
        Some("manifest unknown")
    );
    assert_eq!(
        s.steps[5],
        Step::Fault(Fault::Crash(Target::Node("kubesim-worker2".into())))
    );
    assert_eq!(
        s.steps[8],
        Step::Expect(Check::Kubectl {
            command: "get deployment nginx-deployment -o jsonpath={.status.readyReplicas}".into(),
            matcher: Matcher::Equals("3".into()),
        })
    );
    assert_eq!(
        s.steps[10],
        Step::Expect(Check::TrafficErrors {
            service: "nginx".into(),
            at_most: 0.05
        })
    );
    // The Deployment from the file and the Service from the inline YAML.
    assert_eq!(loaded.step_manifests[0][0].objects.len(), 1);
    assert_eq!(loaded.step_manifests[1][0].objects.len(), 1);
}

#[test]
fn a_mirror_pod_that_exists_already_is_not_created_again_at_once() {
    // scenarios/mirror-pod-already-exists.ron: a create loop shows as Raft entries (~7,700
    // by the last status table when the kubelet retried at once; ~320 now).
    let text = std::fs::read_to_string(root().join("scenarios/mirror-pod-already-exists.ron"))
        .expect("the scenario");
    let steps = run_steps("mirror-pod-already-exists", &text);
    let table = step_output(&steps, "$ etcdctl endpoint status -w table");
    let header: Vec<&str> = table.lines().nth(1).unwrap().split('|').collect();
    let column = header
        .iter()
        .position(|h| h.trim() == "RAFT INDEX")
        .unwrap();
    for row in table.lines().filter(|l| l.starts_with("| https://")) {
        let index: u64 = row.split('|').nth(column).unwrap().trim().parse().unwrap();
        assert!(index < 1_000, "RAFT INDEX {index}: {row}");
    }
}

#[test]
fn a_kubelet_whose_lease_updates_conflict_does_not_retry_without_bound() {
    // scenarios/node-lease-conflicts-back-off.ron: 132,785 events when the kubelet retried
    // every Conflict at once; 10,679 with upstream's 5 attempts per renewal.
    let path = root().join("scenarios/node-lease-conflicts-back-off.ron");
    let run = kubesim(&["run", path.to_str().unwrap(), "--quiet"]);
    let events: u64 = summary_field(&run, "events").parse().unwrap();
    assert!(events < 40_000, "{events} events");
}

/// `After` lands its fault on the virtual clock, not at a step boundary: a worker crashed with
/// `After("5s", Restart(...))` is still down 4 s later and up (since 5 s after the crash) 6 s
/// later, and a `kubectl` step that blocks on a dead apiserver ends when the restart lands.
#[test]
fn an_after_fault_lands_on_the_virtual_clock() {
    let steps = run_steps(
        "after-fault",
        r#"Scenario(
    seed: 1,
    cluster: (control_planes: 1, workers: 1),
    steps: [
        Fault(Crash("kubesim-worker")),
        After("5s", Restart("kubesim-worker")),
        Sleep("4s"),
        Exec("kubesim-worker", "systemctl status kubelet"),
        Sleep("2s"),
        Exec("kubesim-worker", "systemctl status kubelet"),
        Fault(Crash("kubesim-control-plane")),
        After("20s", Restart("kubesim-control-plane")),
        Kubectl("get nodes"),
        Exec("kubesim-control-plane", "systemctl status kubelet"),
    ],
)"#,
    );
    let status: Vec<&str> = steps
        .iter()
        .filter(|(h, _)| h == "$ docker exec kubesim-worker systemctl status kubelet")
        .map(|(_, body)| body.as_str())
        .collect();
    assert!(status[0].contains("is not running"), "{}", status[0]);
    assert!(
        status[1].contains("Active: active (running) since Thu 2026-01-01 00:00:08 UTC; 1s ago"),
        "{}",
        status[1]
    );
    let landing = step_output(&steps, "# fault in 20s: Restart(kubesim-control-plane)");
    assert_eq!(landing.trim(), "lands at [00:00:29]");
    // `get nodes` waits on the dead apiserver until its host is back (and resets the
    // connection): the next step runs right after the restart.
    let get = step_output(&steps, "$ kubectl get nodes");
    assert!(get.contains("connection reset by peer"), "{get}");
    let kubelet = step_output(
        &steps,
        "$ docker exec kubesim-control-plane systemctl status kubelet",
    );
    assert!(
        kubelet.contains("Active: active (running) since Thu 2026-01-01 00:00:29 UTC; now"),
        "{kubelet}"
    );
}
