//! The CLI contract (DESIGN.md): exit codes, the summary line, determinism of the tour, bad
//! input located as `file:line:col`.

mod common;

use common::*;

#[test]
fn tour_passes_and_ends_with_the_summary_line() {
    let output = kubesim(&["run"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    let last = out.lines().last().unwrap();
    assert!(last.starts_with("seed=1 events="), "{last}");
    assert!(last.contains(" verdict=pass trace="), "{last}");
    // The architecture tour (issue 7's list): every control-plane component, kube-proxy,
    // nginx, the scheduler's events, pods Running in a STATUS column; narrated.
    for needle in [
        "etcd-kubesim-control-plane",
        "kube-apiserver-kubesim-control-plane",
        "kube-controller-manager-kubesim-control-plane",
        "kube-scheduler-kubesim-control-plane",
        "kube-proxy-",
        "nginx-",
        "   Scheduled   pod/nginx-",
        " STATUS ",
        "   Running   ",
        "NotReady",
        "  » ",
    ] {
        assert!(out.contains(needle), "{needle}: {out}");
    }
}

#[test]
fn the_etcd_tour_is_one_flag_away() {
    let output = kubesim(&["run", "--tour", "etcd"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    // etcd elects, loses its leader's node, elects again in a higher term, takes the old
    // leader back; the narration is there.
    assert!(out.contains("became leader in term 1 at "), "{out}");
    assert!(
        out.contains("# fault: Crash(Leader(etcd))\n  Leader(etcd) is kubesim-control-plane"),
        "{out}"
    );
    assert!(out.contains("became leader in term 2 at "), "{out}");
    assert!(out.contains("| IS LEADER |"), "{out}");
    assert!(out.contains("  » "), "{out}");
    assert!(out.contains("# fault: Heal"), "{out}");
    // A tour and a file are one or the other.
    let both = kubesim(&["run", "--tour", "etcd", "scenarios/etcd-tour.ron"]);
    assert_eq!(both.status.code(), Some(2));
}

#[test]
fn tour_is_deterministic_per_seed() {
    let a = kubesim(&["run", "--seed", "7", "--quiet"]);
    let b = kubesim(&["run", "--seed", "7", "--quiet"]);
    let c = kubesim(&["run", "--seed", "8", "--quiet"]);
    assert_eq!(
        stdout(&a).lines().count(),
        1,
        "--quiet prints only the summary"
    );
    assert_eq!(summary_field(&a, "seed"), "7");
    assert_eq!(summary_field(&a, "trace"), summary_field(&b, "trace"));
    assert_ne!(summary_field(&a, "trace"), summary_field(&c, "trace"));
    assert_eq!(summary_field(&a, "trace").len(), 16);
}

#[test]
fn trace_file_has_one_json_object_per_line() {
    let dir = scratch_dir("trace");
    let trace = dir.join("tour.jsonl");
    let output = kubesim(&["run", "--quiet", "--trace", trace.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    let text = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 10, "{} lines", lines.len());
    assert!(lines.iter().all(|l| l.starts_with('{') && l.ends_with('}')));
}

#[test]
fn malformed_scenario_exits_2_with_its_position() {
    let dir = scratch_dir("malformed");
    let table: &[(&str, &str, &str)] = &[
        (
            "syntax.ron",
            "Scenario(\n    steps: [\n        Sleep(\"5s\"\n    ],\n)\n",
            ":3:19: expected closing `)`",
        ),
        (
            "duration.ron",
            "Scenario(steps: [\n    Sleep(\"5x\"),\n])\n",
            ":2:11: expected a duration like \"30s\", \"6m\", \"1h30m\", found \"5x\"",
        ),
        (
            "step.ron",
            "Scenario(steps: [\n  Slep(\"5s\"),\n])\n",
            ":2:3: unknown step `Slep`, expected one of: Kubectl, Apply, Sleep",
        ),
        (
            "node.ron",
            "Scenario(cluster: (workers: 2), steps: [\n  Fault(Crash(\"kubesim-worker3\")),\n])\n",
            ":2:15: unknown node \"kubesim-worker3\", expected one of: kubesim-control-plane, kubesim-worker, kubesim-worker2",
        ),
        (
            "manifest.ron",
            "Scenario(steps: [\n  Sleep(\"1s\"),\n  Kubectl(\"apply -f manifests/missing.yaml\"),\n])\n",
            ":3:3: manifest \"manifests/missing.yaml\" not found",
        ),
    ];
    for (name, text, expected) in table {
        let path = write(&dir, name, text);
        for command in ["check", "run"] {
            let output = kubesim(&[command, path.to_str().unwrap()]);
            assert_eq!(output.status.code(), Some(2), "{command} {name}");
            let err = stderr(&output);
            assert!(
                err.contains(&format!("{}{expected}", path.display())),
                "{command} {name}: {err}"
            );
        }
    }
}

#[test]
fn missing_scenario_file_exits_2() {
    let output = kubesim(&["check", "no/such/scenario.ron"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no/such/scenario.ron: cannot read the scenario file"));
}

#[test]
fn check_lists_steps_and_the_components_they_need() {
    let output = kubesim(&["check", "scenarios/nginx-survives-worker-loss.ron"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.contains("steps: 11 (2 faults), manifests: 2 objects"),
        "{out}"
    );
    // Every step of the DESIGN example runs on the simulated cluster: none needs anything.
    assert!(out.contains("$ kubectl get nodes\n"), "{out}");
    assert!(
        out.contains("# traffic: 50 requests/s to service nginx\n"),
        "{out}"
    );
    assert!(!out.contains("[needs:"), "{out}");
    assert!(out.contains("# fault: Crash(kubesim-worker2)\n"), "{out}");
}

#[test]
fn the_design_example_runs_end_to_end() {
    let output = kubesim(&["run", "scenarios/nginx-survives-worker-loss.ron"]);
    let out = stdout(&output);
    // The whole path runs: controllers create the pods, the scheduler spreads them over the
    // workers, kubelets start them, and the crashed worker goes NotReady.
    assert!(
        out.contains("deployment.apps/nginx-deployment condition met\n"),
        "{out}"
    );
    assert!(out.contains("1/1     Running"), "{out}");
    assert!(
        out.contains("kubesim-worker2         NotReady   <none>"),
        "{out}"
    );
    // Clients whose requests were routed to the dead worker's pod time out until the node
    // lifecycle controller marks it not ready (node-monitor-grace-period, 50 s) and every
    // kube-proxy drops the endpoint: about 5% of six minutes of traffic, just over the
    // example's 5% budget, so the verdict is fail, as it would be on a real cluster.
    assert!(out.contains("traffic errors to nginx: 0.0"), "{out}");
    assert_eq!(output.status.code(), Some(1), "{out}");
    let last = out.lines().last().unwrap();
    assert!(
        last.contains(" virtual=6m") && last.contains("verdict=fail"),
        "{out}"
    );
}

#[test]
fn etcd_leader_targets_resolve_when_the_step_runs() {
    let dir = scratch_dir("leader");
    let path = write(
        &dir,
        "leader.ron",
        "Scenario(cluster: (control_planes: 3), steps: [Fault(Crash(Leader(\"etcd\"))), Sleep(\"3s\"), Fault(RestartAll)])\n",
    );
    let check = kubesim(&["check", path.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0));
    assert!(!stdout(&check).contains("[needs"), "{}", stdout(&check));
    let run = kubesim(&["run", path.to_str().unwrap()]);
    let out = stdout(&run);
    assert_eq!(run.status.code(), Some(0), "{out}");
    let crashed = out
        .lines()
        .find_map(|l| l.strip_prefix("  Leader(etcd) is "))
        .expect("the leader is named");
    assert!(out.contains(&format!("  restarting {crashed}\n")), "{out}");
    // A second election, won by another member (a split vote may take more than one term).
    let elected: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(" became leader in term "))
        .collect();
    assert_eq!(elected.len(), 2, "{out}");
    assert!(!elected[1].contains(crashed), "{out}");
}

#[test]
fn scheduler_leader_target_resolves_to_the_lease_holder() {
    let dir = scratch_dir("leader-kcm");
    let path = write(
        &dir,
        "leader.ron",
        "Scenario(cluster: (control_planes: 3), steps: [Sleep(\"20s\"), Fault(Crash(Leader(\"kube-scheduler\")))])\n",
    );
    let check = kubesim(&["check", path.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0));
    assert!(!stdout(&check).contains("[needs:"), "{}", stdout(&check));
    let run = kubesim(&["run", path.to_str().unwrap()]);
    let out = stdout(&run);
    assert_eq!(run.status.code(), Some(0), "{out}");
    assert!(
        out.contains("  Leader(kube-scheduler) is kubesim-control-plane"),
        "{out}"
    );
}

#[test]
fn fuzz_runs_its_shard_of_the_campaign() {
    let output = kubesim(&[
        "fuzz",
        "scenarios/etcd-tour.ron",
        "--runs",
        "10",
        "--seed",
        "3",
        "--jobs",
        "2",
        "--shard",
        "1/4",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // Runs 1, 5 and 9 of 10 belong to shard 1 of 4.
    assert!(stdout(&output).contains("3 runs (shard 1/4 of 10)"));
    assert!(stdout(&output).contains("runs=3 findings=0 verdict=pass"));
    let bad_shard = kubesim(&["fuzz", "scenarios/etcd-tour.ron", "--shard", "4/4"]);
    assert_eq!(bad_shard.status.code(), Some(2));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(kubesim(&["run", "--seed", "x"]).status.code(), Some(2));
    assert_eq!(kubesim(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(kubesim(&["--help"]).status.code(), Some(0));
}

#[test]
fn run_writes_a_self_contained_report() {
    let path = std::env::temp_dir().join(format!("kubesim-report-{}.html", std::process::id()));
    let report = path.to_str().expect("utf-8 temp path");
    let output = kubesim(&[
        "run",
        "scenarios/etcd-leader-loss.ron",
        "--report",
        report,
        "--quiet",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    assert_eq!(
        out.lines().count(),
        1,
        "--quiet prints the summary only: {out}"
    );
    assert!(out.contains("verdict=pass"), "{out}");
    let html = std::fs::read_to_string(&path).expect("report written");
    let _ = std::fs::remove_file(&path);
    assert!(
        html.starts_with("<!DOCTYPE html>"),
        "{}",
        &html[..80.min(html.len())]
    );
    assert!(html.contains("etcd-leader-loss.ron"));
    assert!(html.contains("Crash(Leader(etcd))") || html.contains("Crash(kubesim-control-plane"));
}

#[test]
fn bench_cluster_runs_a_tiny_size_and_prints_its_columns() {
    let output = kubesim(&[
        "bench", "cluster", "--nodes", "3", "--pods", "10", "--runs", "1", "--quiet",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.contains(
            "| nodes | pods | Services | virtual time | events | events/s (CPU) | wall | CPU | peak RSS | runs |"
        ),
        "{out}"
    );
    // One finished row: 3 workers, 10 pods in one Deployment, one run, every column filled.
    let row = out
        .lines()
        .find(|l| l.starts_with("| 3 | 10 | 1 |"))
        .unwrap_or_else(|| panic!("no row for 3 nodes: {out}"));
    assert!(!row.contains("not finished"), "{row}");
    let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
    assert_eq!(cells.len(), 10, "{row}");
    assert!(cells.iter().all(|c| !c.is_empty()), "{row}");
    assert!(cells[8].ends_with(" MB"), "{row}");
    assert_eq!(cells[9], "1", "{row}");
}

#[test]
fn bench_cluster_reports_a_size_past_its_budget_as_not_finished() {
    let output = kubesim(&[
        "bench", "cluster", "--nodes", "3,4", "--pods", "10", "--runs", "1", "--budget", "0s",
        "--quiet",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.contains("| 3 | 10 | 1 | not finished: 0 of 10 pods Running"),
        "{out}"
    );
    assert!(
        out.contains("| 4 | 10 | 1 | not finished: skipped"),
        "{out}"
    );
}

/// `bench fuzz --keep` writes each run's spliced scenario; replaying one with the seed its
/// `--hashes` line names gives that run's events and trace hash (`kubesim run` and the fuzz
/// run differ only in what they judge, not in what runs).
#[test]
fn a_kept_bench_fuzz_run_replays_with_its_trace() {
    let dir = scratch_dir("bench-keep");
    let keep = dir.to_string_lossy().into_owned();
    let bench = kubesim(&[
        "bench", "fuzz", "--runs", "1", "--hashes", "--quiet", "--keep", &keep,
    ]);
    assert_eq!(bench.status.code(), Some(0), "{}", stderr(&bench));
    let line = stdout(&bench)
        .lines()
        .find(|l| l.starts_with("run 0: "))
        .map(str::to_string)
        .expect("a --hashes line for run 0");
    let field = |key: &str| {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
            .to_string()
    };
    let file = dir.join("run-0.ron").to_string_lossy().into_owned();
    let replay = kubesim(&["run", &file, "--seed", &field("seed"), "--quiet"]);
    assert_eq!(replay.status.code(), Some(0), "{}", stderr(&replay));
    assert_eq!(summary_field(&replay, "events"), field("events"));
    assert_eq!(summary_field(&replay, "trace"), field("trace"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--liveness` judges a run as `kubesim fuzz` does: a Deployment whose pod can go nowhere (the
/// only worker is cordoned) passes a plain run, which checks only its own steps, and fails with
/// `--liveness`, which demands convergence after the last step.
#[test]
fn liveness_is_one_flag_away() {
    let dir = scratch_dir("liveness");
    let path = write(
        &dir,
        "stuck.ron",
        r#"Scenario(
    cluster: (control_planes: 1, workers: 1),
    steps: [
        Sleep("30s"),
        Kubectl("cordon kubesim-worker"),
        Kubectl("create deployment web --image=nginx:1.27"),
        Sleep("5s"),
    ],
)
"#,
    );
    let path = path.to_str().unwrap();
    let plain = kubesim(&["run", path, "--quiet"]);
    assert_eq!(plain.status.code(), Some(0), "{}", stdout(&plain));
    let judged = kubesim(&["run", path, "--liveness"]);
    let out = stdout(&judged);
    assert_eq!(judged.status.code(), Some(1), "{out}");
    assert!(
        out.contains("liveness: the cluster did not converge within 5m0s after the last step"),
        "{out}"
    );
    assert!(
        out.contains("deployment default/web has 0 of 1 replicas ready"),
        "{out}"
    );
    // Liveness runs the clock on past the last step, to its 5-minute deadline and no further.
    let plain_virtual = summary_field(&plain, "virtual");
    assert_eq!(
        summary_field(&judged, "virtual"),
        format!("5m{plain_virtual}"),
        "{out}"
    );
}
