//! `Expect`/`Always` on Kubernetes' latency SLIs: what they count, what they print, and when
//! they fail.

mod common;

use common::*;
use kubesim::runner::{self, RunOptions, Verdict};
use kubesim::scenario;

/// Runs a scenario given as text: its transcript and verdict.
fn run(name: &str, text: &str) -> (String, Verdict) {
    let dir = scratch_dir(name);
    let path = write(&dir, "s.ron", text);
    let loaded = scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    let outcome = runner::run(&loaded, &RunOptions::default(), &mut out).expect("the run starts");
    (String::from_utf8(out).unwrap(), outcome.verdict)
}

/// The run's `error:` lines: one per check that failed.
fn errors(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.starts_with("error:")).collect()
}

#[test]
fn pod_startup_counts_the_pods_outside_the_addons_namespaces() {
    let (out, verdict) = run(
        "slo-namespaces",
        r#"Scenario(cluster: (workers: 1), steps: [
            Kubectl("create namespace team"),
            Kubectl("create deployment web -n team --image=nginx:1.25 --replicas=3"),
            Kubectl("create deployment sys -n kube-system --image=nginx:1.25 --replicas=2"),
            Kubectl("rollout status deployment/web -n team --timeout=1m"),
            Kubectl("rollout status deployment/sys -n kube-system --timeout=1m"),
            Expect(pod_startup: "p99", at_most: "5s"),
        ])"#,
    );
    assert_eq!(verdict, Verdict::Pass, "{out}");
    assert!(
        out.contains("over 3 pods Running (3 created since the cluster came up"),
        "{out}"
    );
}

#[test]
fn an_expect_with_nothing_measured_fails_and_an_always_waits() {
    let (out, verdict) = run(
        "slo-nothing-yet",
        r#"Scenario(steps: [
            Always(pod_startup: "p99", at_most: "5s"),
            Sleep("1s"),
            Expect(pod_startup: "p50", at_most: "5s"),
        ])"#,
    );
    assert_eq!(verdict, Verdict::Fail, "{out}");
    let errors = errors(&out);
    assert_eq!(errors.len(), 1, "only the Expect fails: {out}");
    assert!(
        errors[0].contains("step 3 (")
            && errors[0].contains("pod startup latency p50: no pod Running yet (0 created"),
        "{out}"
    );
}

#[test]
fn a_bound_under_the_reading_fails_and_names_the_worst_call() {
    let (out, verdict) = run(
        "slo-too-tight",
        r#"Scenario(cluster: (workers: 1), steps: [
            Kubectl("create deployment web --image=nginx:1.25 --replicas=2"),
            Kubectl("rollout status deployment/web --timeout=1m"),
            Expect(api_calls: "p99", at_most: "1us"),
            Expect(pod_startup: "p90", at_most: "10ms"),
        ])"#,
    );
    assert_eq!(verdict, Verdict::Fail, "{out}");
    let errors = errors(&out);
    assert_eq!(errors.len(), 2, "{out}");
    assert!(
        errors[0].contains("API call latency p99: ")
            && errors[0].contains(" at worst (")
            && errors[0].ends_with("mutating calls > 1µs"),
        "{out}"
    );
    assert!(
        errors[1].contains("pod startup latency p90: ")
            && errors[1].contains("over 2 pods Running")
            && errors[1].ends_with("> 10ms"),
        "{out}"
    );
}
