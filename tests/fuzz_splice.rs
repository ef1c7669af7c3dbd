//! `kubesim fuzz` splices a schedule between a scenario's steps on the `Sleep` clock; the
//! result is the reproducer, so it must validate and read as the schedule says.

use std::path::Path;

use fuzz::{Episode, EpisodeKind, Schedule};
use kubesim::{fuzz::splice, scenario};
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
    let steps = [
        r#"Etcdctl("put /a 1"),"#,
        r#"Sleep("4s"),"#,
        r#"Fault(Crash("kubesim-control-plane2")),"#,
        r#"Sleep("6s"),"#,
        r#"Etcdctl("get /a"),"#,
        r#"Sleep("2s500ms"),"#,
        r#"Fault(Restart("kubesim-control-plane2")),"#,
        r#"Sleep("2s500ms"),"#,
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
    assert_eq!(replay.scenario.steps.len(), 13, "{text}");
}
