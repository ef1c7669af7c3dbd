//! Scenario errors name `file:line:col` and say what was expected: a table of bad inputs.

use std::path::Path;

use kubesim::scenario::{self, ScenarioError};

fn errors(text: &str) -> Vec<String> {
    match scenario::load_str(text, Path::new("s.ron")) {
        Ok(_) => panic!("accepted: {text}"),
        Err(ScenarioError::Invalid(diagnostics)) => {
            diagnostics.iter().map(ToString::to_string).collect()
        }
        Err(other) => panic!("unexpected error {other}"),
    }
}

#[test]
fn bad_scenarios_are_located_and_explained() {
    let table: &[(&str, &str)] = &[
        // RON syntax: ron's own position.
        (
            "Scenario(steps: [Sleep(\"5s\"])",
            "s.ron:1:28: expected closing `)`",
        ),
        ("Scenario(steps: [Sleep(\"5s)])", "s.ron:1:"),
        // Unknown names list the valid ones.
        (
            "Scenario(steps: [Slep(\"5s\")])",
            "s.ron:1:18: unknown step `Slep`, expected one of: Kubectl, Apply, Sleep, Fault, After, Expect, Always, Traffic, Exec, Etcdctl",
        ),
        (
            "Scenario(steps: [Fault(Crush(\"a\"))])",
            "s.ron:1:24: unknown fault `Crush`, expected one of: Partition, OneWay, Heal, RestartAll, Loss, Latency, LossAt, LatencyAt, Crash, Restart, Pause, Skew, DiskLoss",
        ),
        (
            "Scenario(steps: [After(\"5s\", Crush(\"a\"))])",
            "s.ron:1:30: unknown fault `Crush`, expected one of: Partition,",
        ),
        ("Scenario(steps: [After(Crash(\"a\"))])", "s.ron:1:"),
        (
            "Scenario(stepz: [])",
            "s.ron:1:10: unknown field `stepz` in Scenario, expected one of: description, seed, cluster, images, manifest_dir, steps",
        ),
        (
            "Scenario(cluster: (worker: 2), steps: [])",
            "s.ron:1:20: unknown field `worker`",
        ),
        (
            "Scenario(images: {\"a\": (sise: \"1Gi\")}, steps: [])",
            "s.ron:1:25: unknown field `sise`",
        ),
        (
            "Scenario(steps: [Expect(kubectl: \"get pods\", equal: \"x\")])",
            "s.ron:1:46: unknown field `equal`",
        ),
        (
            "Scenario(description: \"x\")",
            "s.ron:1:1: missing field `steps` in Scenario",
        ),
        // Values: at the value, with what was expected.
        (
            "Scenario(steps: [\n  Sleep(\"5x\"),\n])",
            "s.ron:2:9: expected a duration like \"30s\", \"6m\", \"1h30m\", found \"5x\"",
        ),
        (
            "Scenario(steps: [Sleep(\"-5s\")])",
            "s.ron:1:24: expected a non-negative duration",
        ),
        (
            "Scenario(steps: [Sleep(5)])",
            "s.ron:1:24: expected a string in quotes",
        ),
        (
            "Scenario(cluster: (workers: \"3\"), steps: [])",
            "s.ron:1:29: expected integer",
        ),
        (
            "Scenario(cluster: (proxy_mode: \"ipvx\"), steps: [])",
            "s.ron:1:32: unknown proxy_mode \"ipvx\", expected one of: \"iptables\", \"ipvs\"",
        ),
        (
            "Scenario(images: {\"a\": (size: \"1GB\")}, steps: [])",
            "s.ron:1:31: expected a quantity like \"500m\", \"2Gi\"",
        ),
        (
            "Scenario(cluster: (node_capacity: (cpu: \"4 cores\")), steps: [])",
            "s.ron:1:41: expected a quantity",
        ),
        (
            "Scenario(steps: [Fault(Skew(\"kubesim-control-plane\", \"5y\"))])",
            "s.ron:1:54: expected a duration",
        ),
        (
            "Scenario(steps: [Fault(Crash(Leader(\"etc\")))])",
            "s.ron:1:30: unknown leader \"etc\", expected one of: \"etcd\", \"kube-controller-manager\", \"kube-scheduler\"",
        ),
        (
            "Scenario(steps: [Fault(Crash(Boss(\"etcd\")))])",
            "s.ron:1:30: expected a node name like \"kubesim-worker2\" or Leader(",
        ),
        (
            "Scenario(steps: [Expect(kubectl: \"get pods\")])",
            "s.ron:1:18: a kubectl check needs exactly one of equals: or contains:",
        ),
        (
            "Scenario(steps: [Expect(traffic_errors: \"web\")])",
            "s.ron:1:18: traffic_errors needs at_most: a fraction of requests",
        ),
        (
            "Scenario(steps: [Expect(equals: \"3\")])",
            "s.ron:1:18: expected (kubectl:",
        ),
        (
            "Scenario(steps: [Expect(pod_startup: \"99\", at_most: \"5s\")])",
            "s.ron:1:18: pod_startup: expected a percentile like \"p50\", \"p90\" or \"p99\" (1 to 100), found \"99\"",
        ),
        (
            "Scenario(steps: [Always(api_calls: \"p101\", at_most: \"1s\")])",
            "s.ron:1:18: api_calls: expected a percentile",
        ),
        (
            "Scenario(steps: [Expect(pod_startup: \"p99\", at_most: 5)])",
            "s.ron:1:18: pod_startup needs at_most: a duration like \"5s\"",
        ),
        (
            "Scenario(steps: [Expect(api_calls: \"p99\", at_most: \"1 s\")])",
            "s.ron:1:18: expected a duration",
        ),
        (
            "Scenario(steps: [Expect(pod_startup: \"p99\", api_calls: \"p99\", at_most: \"1s\")])",
            "s.ron:1:18: expected (kubectl:",
        ),
        // Checked after parsing: node names, commands, ranges.
        (
            "Scenario(steps: [Fault(Crash(\"kubesim-worker\"))])",
            "s.ron:1:30: unknown node \"kubesim-worker\", expected one of: kubesim-control-plane (kind's names",
        ),
        (
            "Scenario(steps: [After(\"3s\", Restart(\"kubesim-worker\"))])",
            "s.ron:1:38: unknown node \"kubesim-worker\", expected one of: kubesim-control-plane (kind's names",
        ),
        (
            "Scenario(cluster: (workers: 1), steps: [Fault(Partition([\"kubesim-worker\"], [\"kubesim-worker2\"]))])",
            "s.ron:1:78: unknown node \"kubesim-worker2\"",
        ),
        (
            "Scenario(steps: [Kubectl(\"gett pods\")])",
            "s.ron:1:18: unknown kubectl verb \"gett\", expected one of: annotate, api-resources, apply",
        ),
        (
            "Scenario(steps: [Kubectl(\"rollout stat deployment/x\")])",
            "s.ron:1:18: kubectl rollout expects one of: history, pause, restart, resume, status, undo, found \"stat\"",
        ),
        (
            "Scenario(steps: [Expect(kubectl: \"gett pods\", equals: \"\")])",
            "s.ron:1:34: unknown kubectl verb \"gett\"",
        ),
        (
            "Scenario(steps: [Etcdctl(\"memberz list\")])",
            "s.ron:1:18: unknown etcdctl command \"memberz\"",
        ),
        (
            "Scenario(steps: [Exec(\"kubesim-control-plane\", \"rm -rf /\")])",
            "s.ron:1:48: \"rm\" is not available on a simulated node",
        ),
        (
            "Scenario(steps: [Fault(Loss(1.5))])",
            "s.ron:1:29: loss is a probability, 0 to 1; found 1.5",
        ),
        (
            "Scenario(steps: [Traffic(service: \"web\", rps: 0)])",
            "s.ron:1:47: rps must be more than 0",
        ),
        (
            "Scenario(cluster: (control_planes: 0), steps: [])",
            "s.ron:1:36: control_planes must be 1 to 7, found 0",
        ),
        (
            "Scenario(cluster: (control_planes: 1, etcd_members: 3), steps: [])",
            "s.ron:1:53: etcd_members must be 1 to control_planes (1)",
        ),
        (
            "Scenario(cluster: (zones: [\"a b\"]), steps: [])",
            "s.ron:1:28: zone \"a b\" is not a valid label value",
        ),
        (
            "Scenario(images: {\"x:1\": (exit_code: 1)}, steps: [])",
            "s.ron:1:38: exit_code needs exits_after:",
        ),
        (
            "Scenario(steps: [Kubectl(\"apply -f nowhere.yaml\")])",
            "s.ron:1:18: manifest \"nowhere.yaml\" not found",
        ),
        (
            "Scenario(steps: [Kubectl(\"apply -k overlays/dev\")])",
            "s.ron:1:18: kustomize (-k) is not supported",
        ),
        // Inline YAML: the position inside the scenario file.
        (
            "Scenario(steps: [Apply(r#\"\napiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containerz: []}\n\"#)])",
            "s.ron:2:1: in the inline manifest: Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"spec.containerz\"",
        ),
        (
            "Scenario(steps: [Apply(r#\"\napiVersion: v1\nkind: Pod\nmetadata: [name: x\n\"#)])",
            "s.ron:4:",
        ),
        (
            "Scenario(steps: [Apply(\"\")])",
            "s.ron:1:24: Apply has no object",
        ),
    ];
    let mut mismatches = Vec::new();
    for (text, expected) in table {
        let found = errors(text);
        if !found.iter().any(|e| e.starts_with(expected)) {
            mismatches.push(format!(
                "input: {text}\nexpected: {expected}\nfound: {found:#?}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));
}

#[test]
fn all_problems_are_reported_not_just_the_first() {
    let found = errors(
        "Scenario(steps: [\n  Kubectl(\"gett pods\"),\n  Fault(Crash(\"kubesim-worker9\")),\n  Etcdctl(\"nope\"),\n])",
    );
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found[0].starts_with("s.ron:2:3: "));
    assert!(found[1].starts_with("s.ron:3:15: "));
    assert!(found[2].starts_with("s.ron:4:3: "));
}

#[test]
fn manifest_errors_point_into_the_manifest_file() {
    let dir = std::env::temp_dir().join(format!("kubesim-parser-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    std::fs::write(
        dir.join("manifests/bad.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n  labelz: {}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("manifests/broken.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: x\n",
    )
    .unwrap();
    let scenario = dir.join("s.ron");
    std::fs::write(
        &scenario,
        "Scenario(steps: [\n  Kubectl(\"create -f manifests/bad.yaml\"),\n  Kubectl(\"apply -f manifests/broken.yaml\"),\n])",
    )
    .unwrap();
    let err = scenario::load(&scenario).unwrap_err().to_string();
    let bad = dir.join("manifests/bad.yaml");
    assert!(
        err.contains(&format!("{}:5:1: Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"metadata.labelz\" (named by the step at {}:2:3)", bad.display(), scenario.display())),
        "{err}"
    );
    let broken = dir.join("manifests/broken.yaml");
    assert!(
        err.contains(&format!(
            "{}:4:1: error converting YAML to JSON",
            broken.display()
        )),
        "{err}"
    );
    // A directory contributes its manifests, as kubectl's -f does.
    std::fs::remove_file(dir.join("manifests/broken.yaml")).unwrap();
    std::fs::remove_file(dir.join("manifests/bad.yaml")).unwrap();
    std::fs::write(
        dir.join("manifests/a.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("manifests/b.json"),
        "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"b\"}}",
    )
    .unwrap();
    std::fs::write(
        &scenario,
        "Scenario(steps: [Kubectl(\"apply -f manifests\")])",
    )
    .unwrap();
    let loaded = scenario::load(&scenario).unwrap();
    assert_eq!(loaded.step_manifests[0].len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}
