//! `kubesim fuzz` splices a schedule's onsets between a scenario's steps on the `Sleep` clock,
//! each with its repair as an `After` step; the result is the reproducer, so it must validate
//! and read as the schedule says.

use std::path::Path;

use fuzz::{Episode, EpisodeKind, Schedule};
use kubesim::fuzz::{relocate, splice};
use kubesim::scenario;
use sim::Duration;

const SCENARIO: &str = r#"Scenario(
    description: "splice target",
    seed: 7,
    cluster: (control_planes: 3, workers: 1),
    steps: [
        Etcdctl("put /a 1"),
        Sleep("10s"),
        Etcdctl("get /a"),
    ],
)
"#;

#[test]
fn faults_split_sleeps_and_the_reproducer_validates() {
    let path = Path::new("scenarios/splice.ron");
    let loaded = scenario::load_str(SCENARIO, path).expect("valid scenario");
    let nodes: Vec<String> = loaded
        .topology
        .nodes
        .iter()
        .map(|n| n.name.clone())
        .collect();
    let schedule = Schedule {
        nodes,
        episodes: vec![Episode {
            start: Duration::from_secs(4),
            length: Duration::from_millis(8_500),
            kind: EpisodeKind::Crash { node: 1 },
        }],
        window: Duration::from_secs(15),
        settle: Duration::from_secs(60),
    };
    let text = splice(SCENARIO, &loaded, &schedule, 99).expect("splices");
    // The restart is written with the crash, 8.5 s later on the virtual clock (`After`), so a
    // step between them that blocks does not stretch the outage.
    let steps = [
        r#"Etcdctl("put /a 1"),"#,
        r#"Sleep("4s"),"#,
        r#"Fault(Crash("kubesim-control-plane2")),"#,
        r#"After("8s500ms", Restart("kubesim-control-plane2")),"#,
        r#"Sleep("6s"),"#,
        r#"Etcdctl("get /a"),"#,
        r#"Sleep("5s"),"#,
        r#"Fault(Restart("kubesim-control-plane")),"#,
        r#"Fault(Restart("kubesim-worker")),"#,
        r#"Sleep("1m")"#,
    ];
    let mut rest = text.as_str();
    for step in steps {
        let at = rest
            .find(step)
            .unwrap_or_else(|| panic!("{step} missing or out of order in:\n{text}"));
        rest = &rest[at + step.len()..];
    }
    assert!(
        text.starts_with("// kubesim fuzz reproducer: seed 99"),
        "{text}"
    );
    let replay = scenario::load_str(&text, path).expect("the reproducer validates");
    assert_eq!(replay.scenario.steps.len(), 12, "{text}");
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: web, image: nginx:1.27}]}\n";

/// A reproducer goes into the findings folder, not beside its scenario: it names the folder of
/// the scenario's manifest files from its own, replacing a `manifest_dir` the scenario had.
#[test]
fn a_reproducer_written_elsewhere_reads_the_scenarios_manifest_files() {
    let root = std::env::temp_dir().join(format!("kubesim-relocate-{}", std::process::id()));
    let scenarios = root.join("scenarios");
    let out = root.join("findings");
    std::fs::create_dir_all(scenarios.join("manifests")).expect("scenario folder");
    std::fs::create_dir_all(&out).expect("findings folder");
    std::fs::write(scenarios.join("manifests/pod.yaml"), POD).expect("manifest");
    let schedule = |loaded: &scenario::Loaded| Schedule {
        nodes: loaded
            .topology
            .nodes
            .iter()
            .map(|n| n.name.clone())
            .collect(),
        episodes: Vec::new(),
        window: Duration::from_secs(10),
        settle: Duration::from_secs(60),
    };
    let cases = [
        (
            scenarios.join("s.ron"),
            "Scenario(\n    seed: 1,\n    steps: [\n        Kubectl(\"apply -f manifests/pod.yaml\"),\n        Sleep(\"10s\"),\n    ],\n)\n",
            r#"manifest_dir: "../scenarios", // the scenario's manifest files"#,
        ),
        (
            root.join("s.ron"),
            "Scenario(\n    seed: 1,\n    manifest_dir: \"scenarios/manifests\",\n    steps: [\n        Kubectl(\"apply -f pod.yaml\"),\n        Sleep(\"10s\"),\n    ],\n)\n",
            r#"    manifest_dir: "../scenarios/manifests",
    steps: ["#,
        ),
    ];
    for (path, text, expect) in cases {
        let loaded = scenario::load_str(text, &path).expect("valid scenario");
        let spliced = splice(text, &loaded, &schedule(&loaded), 5).expect("splices");
        let written = out.join("s-5.ron");
        assert!(
            scenario::load_str(&spliced, &written).is_err(),
            "as spliced, the manifest is not found from the findings folder"
        );
        let relocated = relocate(&spliced, &loaded, &out);
        assert!(relocated.contains(expect), "{relocated}");
        assert_eq!(relocated.matches("manifest_dir").count(), 1, "{relocated}");
        let replay = scenario::load_str(&relocated, &written).expect("the reproducer reads it");
        assert_eq!(
            replay.step_manifests[0][0].objects,
            loaded.step_manifests[0][0].objects
        );
    }
    let _ = std::fs::remove_dir_all(&root);
}
