//! Bad manifests are bad input for the CLI: `kubesim check` and `kubesim run` exit 2 and name
//! the manifest file, the line and the offending field, before anything runs (issue 4).

mod common;

use common::*;

fn scenario_with(dir_name: &str, manifest: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = scratch_dir(dir_name);
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    let file = write(&dir.join("manifests"), "web.yaml", manifest);
    let scenario = write(
        &dir,
        "s.ron",
        "Scenario(steps: [\n  Kubectl(\"apply -f manifests/web.yaml\"),\n  Kubectl(\"get deployments\"),\n])",
    );
    (scenario, file)
}

#[test]
fn an_unknown_field_exits_2_naming_file_and_field() {
    let (scenario, file) = scenario_with(
        "cli-unknown-field",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replica: 3\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx}]}\n",
    );
    for command in ["check", "run"] {
        let output = kubesim(&[command, scenario.to_str().unwrap()]);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{command}: {}",
            stdout(&output)
        );
        let err = stderr(&output);
        assert!(
            err.contains(&format!("{}:", file.display()))
                && err.contains("strict decoding error: unknown field \"spec.replica\""),
            "{command}: {err}"
        );
        assert!(
            !stdout(&output).contains("verdict="),
            "{command}: nothing ran"
        );
    }
}

#[test]
fn an_invalid_manifest_exits_2_naming_file_and_line() {
    let (scenario, file) = scenario_with(
        "cli-invalid-manifest",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: three\n",
    );
    for command in ["check", "run"] {
        let output = kubesim(&[command, scenario.to_str().unwrap()]);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{command}: {}",
            stdout(&output)
        );
        let err = stderr(&output);
        assert!(
            err.contains(&format!("{}:", file.display())) && err.contains("spec.replicas"),
            "{command}: {err}"
        );
    }
}
