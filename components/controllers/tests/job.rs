//! The Job controller against a real apiserver, with the kubelet's part scripted: pods
//! started `parallelism` at a time until `completions` succeed, the Complete condition and
//! times; failures retried after the back-off until backoffLimit fails the Job; Indexed
//! Jobs' indexes, hostnames and completedIndexes.

mod common;

use std::sync::Arc;

use api::{Kind, Object, SharedObject};
use apiserver::{ApiRequest, Subresource, UserInfo, Verb};
use common::{Harness, active};
use controllers::ControllerName;
use k8s_openapi::api::batch::v1::JobStatus;
use sim::Duration;

const JOB: &str = r#"
apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completions: 5
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: pi, image: "perl:5.34"}]
"#;

fn harness(seed: u64) -> Harness {
    let mut h = Harness::new(seed, 1, &[ControllerName::Job]);
    h.until_leading();
    h
}

/// The kubelet reports the pod finished in `phase`.
fn finish_pod(h: &mut Harness, name: &str, phase: &str) {
    let pod = h.get(Kind::Pod, "default", name).unwrap();
    let mut p = pod.as_pod().unwrap().clone();
    p.status.get_or_insert_with(Default::default).phase = Some(phase.into());
    let req = ApiRequest::new(
        0,
        UserInfo::admin(),
        Kind::Pod,
        Verb::Update(Arc::new(Object::from(p))),
    )
    .in_namespace("default")
    .named(name)
    .subresource(Subresource::Status);
    h.send(req).unwrap();
}

fn running(h: &mut Harness) -> Vec<SharedObject> {
    active(&h.list(Kind::Pod, "default"))
        .into_iter()
        .filter(|p| {
            let phase = p
                .as_pod()
                .and_then(|p| p.status.as_ref())
                .and_then(|s| s.phase.clone())
                .unwrap_or_default();
            phase != "Succeeded" && phase != "Failed"
        })
        .collect()
}

fn job_status(h: &mut Harness, name: &str) -> JobStatus {
    let j = h.get(Kind::Job, "default", name).unwrap();
    let Object::Job(j) = j.as_ref() else {
        unreachable!()
    };
    j.status.clone().unwrap_or_default()
}

fn conditions(s: &JobStatus) -> Vec<(String, Option<String>)> {
    s.conditions
        .iter()
        .flatten()
        .map(|c| (c.type_.clone(), c.reason.clone()))
        .collect()
}

#[test]
fn runs_parallelism_pods_until_completions_succeed() {
    let mut h = harness(21);
    let job = h.apply(JOB);
    h.run(Duration::from_secs(2));
    let mut all_seen = std::collections::BTreeSet::new();
    let mut active_counts = Vec::new();
    for _ in 0..5 {
        let r = running(&mut h);
        active_counts.push(r.len());
        if r.is_empty() {
            break;
        }
        for p in &r {
            all_seen.insert(p.name().to_string());
            assert!(p.name().starts_with("pi-"));
            assert_eq!(
                p.labels()
                    .get("batch.kubernetes.io/job-name")
                    .map(String::as_str),
                Some("pi")
            );
            assert_eq!(
                p.labels()
                    .get("batch.kubernetes.io/controller-uid")
                    .map(String::as_str),
                Some(job.uid())
            );
        }
        let s = job_status(&mut h, "pi");
        assert_eq!(s.active, Some(r.len() as i32));
        assert!(s.start_time.is_some());
        // One pod succeeds per round.
        finish_pod(&mut h, r[0].name(), "Succeeded");
        h.run(Duration::from_secs(2));
    }
    // 2 at a time while at least 2 completions remain, then 1.
    assert_eq!(active_counts, vec![2, 2, 2, 2, 1]);
    assert_eq!(all_seen.len(), 5, "never more pods than completions left");
    let s = job_status(&mut h, "pi");
    assert_eq!(s.succeeded, Some(5));
    assert_eq!(conditions(&s), vec![("Complete".into(), None)]);
    assert!(s.completion_time.is_some());
    assert_eq!(s.active, None);
    assert_eq!(running(&mut h).len(), 0);
}

#[test]
fn failures_back_off_then_exceed_the_backoff_limit() {
    let mut h = harness(22);
    h.apply(
        &JOB.replace("completions: 5", "completions: 1\n  backoffLimit: 2")
            .replace("parallelism: 2", "parallelism: 1"),
    );
    h.run(Duration::from_secs(2));
    // Failure k is followed by a replacement 10 s, then 20 s later.
    for (k, delay) in [(1, 10), (2, 20)] {
        let r = running(&mut h);
        assert_eq!(r.len(), 1);
        finish_pod(&mut h, r[0].name(), "Failed");
        h.run(Duration::from_secs(delay - 2));
        assert_eq!(running(&mut h).len(), 0, "failure {k}: still backing off");
        assert_eq!(job_status(&mut h, "pi").failed, Some(k));
        h.run(Duration::from_secs(4));
        assert_eq!(
            running(&mut h).len(),
            1,
            "failure {k}: replaced after {delay}s"
        );
    }
    let r = running(&mut h);
    finish_pod(&mut h, r[0].name(), "Failed");
    h.run(Duration::from_secs(2));
    let s = job_status(&mut h, "pi");
    assert_eq!(s.failed, Some(3));
    assert_eq!(
        conditions(&s),
        vec![("Failed".into(), Some("BackoffLimitExceeded".into()))]
    );
    assert_eq!(s.completion_time, None);
    h.run(Duration::from_secs(60));
    assert_eq!(running(&mut h).len(), 0, "no more pods");
}

#[test]
fn indexed_job_gives_each_pod_its_index() {
    let mut h = harness(23);
    h.apply(
        &JOB.replace(
            "completions: 5",
            "completions: 3\n  completionMode: Indexed",
        )
        .replace("parallelism: 2", "parallelism: 3"),
    );
    h.run(Duration::from_secs(2));
    let mut r = running(&mut h);
    r.sort_by_key(|p| {
        p.annotations()
            .get("batch.kubernetes.io/job-completion-index")
            .cloned()
    });
    let facts: Vec<(String, String, String)> = r
        .iter()
        .map(|p| {
            let p = p.as_pod().unwrap();
            (
                p.metadata.annotations.as_ref().unwrap()["batch.kubernetes.io/job-completion-index"]
                    .clone(),
                p.metadata.labels.as_ref().unwrap()["batch.kubernetes.io/job-completion-index"]
                    .clone(),
                p.spec.as_ref().unwrap().hostname.clone().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        facts,
        vec![
            ("0".into(), "0".into(), "pi-0".into()),
            ("1".into(), "1".into(), "pi-1".into()),
            ("2".into(), "2".into(), "pi-2".into()),
        ]
    );
    assert!(r[1].name().starts_with("pi-1-"));
    // Index 1 fails and is recreated with the same index; 0 and 2 succeed.
    finish_pod(&mut h, r[0].name(), "Succeeded");
    finish_pod(&mut h, r[2].name(), "Succeeded");
    finish_pod(&mut h, r[1].name(), "Failed");
    h.run(Duration::from_secs(2));
    assert_eq!(
        job_status(&mut h, "pi").completed_indexes.as_deref(),
        Some("0,2")
    );
    h.run(Duration::from_secs(10));
    let again = running(&mut h);
    assert_eq!(again.len(), 1);
    assert_eq!(
        again[0].annotations()["batch.kubernetes.io/job-completion-index"],
        "1"
    );
    finish_pod(&mut h, again[0].name(), "Succeeded");
    h.run(Duration::from_secs(2));
    let s = job_status(&mut h, "pi");
    assert_eq!(s.completed_indexes.as_deref(), Some("0-2"));
    assert_eq!((s.succeeded, s.failed), (Some(3), Some(1)));
    assert_eq!(conditions(&s), vec![("Complete".into(), None)]);
}

/// Scaling parallelism down deletes the surplus active pods.
#[test]
fn lowering_parallelism_deletes_surplus_pods() {
    let mut h = harness(24);
    h.apply(&JOB.replace("parallelism: 2", "parallelism: 4"));
    h.run(Duration::from_secs(2));
    assert_eq!(running(&mut h).len(), 4);
    h.patch(
        Kind::Job,
        "default",
        "pi",
        serde_json::json!({"spec": {"parallelism": 1}}),
    )
    .unwrap();
    h.run(Duration::from_secs(2));
    assert_eq!(running(&mut h).len(), 1);
    assert_eq!(job_status(&mut h, "pi").active, Some(1));
}
