//! A fuzz finding comes with the run report of its shrunk reproducer, written next to the
//! reproducer and printed after the replay command.

mod common;

use std::path::PathBuf;

use common::scratch_dir;
use kubesim::fuzz::{FuzzOptions, fuzz};

/// Passes without faults: one nginx replica on the worker answers every request. Almost any
/// fault on either node (a crash, a pause, a partition, message loss) makes some requests fail,
/// and the closing expectation allows none.
const FRAGILE: &str = r###"Scenario(
    description: "every request is answered",
    seed: 1,
    cluster: (control_planes: 1, workers: 1),
    steps: [
        Apply(r##"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.25"}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
"##),
        Kubectl("wait --for=condition=Available deployment/web --timeout=60s"),
        Sleep("5s"),
        Traffic(service: "web", rps: 5),
        Sleep("150s"),
        Expect(traffic_errors: "web", at_most: 0.0),
    ],
)
"###;

#[test]
fn a_finding_writes_the_reproducers_report() {
    let dir = scratch_dir("report-fuzz");
    let file = dir.join("fragile.ron");
    std::fs::write(&file, FRAGILE).unwrap();
    let options = FuzzOptions {
        runs: 20,
        seed: 1,
        out_dir: dir.join("findings"),
        quiet: true,
        max_shrink_runs: 8,
        ..FuzzOptions::default()
    };
    let mut out = Vec::new();
    let code = fuzz(&file, &options, &mut out);
    let out = String::from_utf8(out).unwrap();
    assert_eq!(code, 1, "{out}");
    let line = |prefix: &str| -> String {
        out.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line in {out}"))
            .to_string()
    };
    let reproducer = PathBuf::from(line("reproducer: "));
    let replay = line("replay: ");
    // Replayed as the campaign judged it: liveness after the last step.
    assert!(
        replay.starts_with(&format!(
            "kubesim run {} --liveness --seed ",
            reproducer.display()
        )),
        "{replay}"
    );
    let report = PathBuf::from(line("report: "));
    // `<same name>.html`, printed right after the replay command.
    assert_eq!(report, reproducer.with_extension("html"));
    let lines: Vec<&str> = out.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("replay: "))
        .unwrap();
    assert!(lines[at + 1].starts_with("report: "), "{out}");
    assert!(
        out.trim_end().ends_with("runs=1 findings=1 verdict=fail")
            || out.contains("findings=1 verdict=fail")
    );
    // The report is the reproducer's run: its name, its seed, a fail verdict, the fault steps
    // of the shrunk schedule in the transcript and on the timeline.
    let seed: u64 = replay
        .rsplit_once("--seed ")
        .and_then(|(_, s)| s.trim().parse().ok())
        .expect("the replay command names the seed");
    let html = std::fs::read_to_string(&report).expect("the report was written");
    let name = reproducer
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        html.contains(&format!(
            "<title>kubesim report: {name} (seed {seed})</title>"
        )),
        "{}",
        &html[..400]
    );
    assert!(html.contains(r#""verdict":"fail""#));
    assert!(
        html.contains("# fault: "),
        "the fault steps are in the transcript"
    );
    assert!(
        !html.contains(r#""faults":[]"#),
        "the faults are on the timeline"
    );
    // The schedule as found is kept beside the shrunk one when shrinking removed episodes.
    let counts = line("shrunk from ");
    let (found, kept) = counts
        .split_once(" to ")
        .and_then(|(a, b)| {
            Some((
                a.parse::<usize>().ok()?,
                b.split(' ').next()?.parse::<usize>().ok()?,
            ))
        })
        .expect("shrunk from A to B");
    let unshrunk = reproducer.with_extension("unshrunk.ron");
    if found > kept {
        assert_eq!(
            line("as found, before shrinking: "),
            unshrunk.display().to_string()
        );
        let text = std::fs::read_to_string(&unshrunk).expect("the unshrunk schedule was written");
        let shrunk = std::fs::read_to_string(&reproducer).unwrap();
        assert!(
            text.matches("Fault(").count() > shrunk.matches("Fault(").count(),
            "{text}"
        );
    } else {
        assert!(!unshrunk.exists());
    }
}
