//! `kubectl get --watch` in a scenario: the first listing, then one stamped line per change
//! while the cluster reconciles, until `--request-timeout` (or kubesim's 60 s bound).

mod common;

use common::*;

fn run_scenario(name: &str, steps: &str) -> String {
    let dir = std::env::temp_dir().join(format!("kubesim-watch-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join(format!("{name}.ron"));
    let text = format!(
        r###"Scenario(
    description: "watch",
    seed: 2,
    cluster: (control_planes: 1, workers: 1),
    steps: [
        Apply(r##"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: nginx, image: "nginx:1.27"}}]
"##),
        Kubectl("wait --for=condition=Available deployment/web --timeout=120s"),
{steps}
    ],
)"###
    );
    std::fs::write(&file, text).expect("scenario written");
    let out = kubesim(&["run", file.to_str().expect("utf-8 path")]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// The lines a step printed, after its header.
fn step_output<'a>(out: &'a str, header: &str) -> Vec<&'a str> {
    out.lines()
        .skip_while(|l| !l.ends_with(header))
        .skip(1)
        .take_while(|l| !l.contains("] $ ") && !l.contains("] # ") && !l.starts_with("seed="))
        .collect()
}

fn stamp_secs(line: &str) -> u64 {
    let t = &line[1..9];
    let p: Vec<u64> = t.split(':').map(|x| x.parse().expect("hh:mm:ss")).collect();
    p[0] * 3600 + p[1] * 60 + p[2]
}

#[test]
fn watch_streams_the_pods_a_scale_up_creates_until_the_request_timeout() {
    let out = run_scenario(
        "scale",
        r#"        Kubectl("scale deployment web --replicas=2"),
        Kubectl("get pods -l app=web -w --request-timeout=15s"),
        Kubectl("get deployment web"),"#,
    );
    let lines = step_output(
        &out,
        "$ kubectl get pods -l app=web -w --request-timeout=15s",
    );
    assert!(lines.len() >= 4, "{out}");
    // Every line carries the virtual time it was printed at, in order.
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with('[') && l.as_bytes()[9] == b']'),
        "{out}"
    );
    let times: Vec<u64> = lines.iter().map(|l| stamp_secs(l)).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{out}");
    // One header, then the running pod, then the new pod's changes.
    assert!(
        lines[0].ends_with("NAME                   READY   STATUS    RESTARTS   AGE"),
        "{out}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.contains("NAME")).count(),
        1,
        "{out}"
    );
    assert!(lines[1].contains("1/1     Running"), "{out}");
    let new_pod = lines[2]
        .split_whitespace()
        .nth(1)
        .expect("a pod name")
        .to_string();
    let of_new: Vec<&&str> = lines[2..].iter().filter(|l| l.contains(&new_pod)).collect();
    assert!(
        of_new.first().is_some_and(|l| l.contains("Pending")),
        "{out}"
    );
    assert!(
        of_new.iter().any(|l| l.contains("ContainerCreating")),
        "{out}"
    );
    assert!(
        of_new
            .last()
            .is_some_and(|l| l.contains("1/1") && l.contains("Running")),
        "{out}"
    );
    // The next step starts when the request timeout has passed, 15 s after the watch began.
    let start = times[0];
    let next = out
        .lines()
        .find(|l| l.ends_with("$ kubectl get deployment web"))
        .map(stamp_secs)
        .expect("next step");
    assert_eq!(next, start + 15, "{out}");
}

#[test]
fn a_watch_without_request_timeout_is_bounded_and_a_named_object_prints_once() {
    let out = run_scenario(
        "bounded",
        r#"        Kubectl("get deployment web --watch"),
        Kubectl("get nodes"),"#,
    );
    let lines = step_output(&out, "$ kubectl get deployment web --watch");
    // The object itself, once: the watch's synthetic ADDED event is not printed again, and
    // nothing changes afterwards.
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[1].contains("web    1/1     1            1"), "{out}");
    let start = stamp_secs(lines[0]);
    let next = out
        .lines()
        .find(|l| l.ends_with("$ kubectl get nodes"))
        .map(stamp_secs)
        .expect("next step");
    assert_eq!(next, start + 60, "{out}");
}
