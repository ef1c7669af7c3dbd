//! `kubectl rollout status` lines for a Deployment as its status moves through a rollout.

use api::Object;
use kubesim::kubectl::rollout::{RolloutProgress, rollout_status};

fn deployment(generation: i64, status: serde_json::Value) -> Object {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "generation": generation},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}}},
        "status": status,
    }))
    .expect("valid deployment")
}

#[test]
fn deployment_rollout_lines() {
    let w = |s: &str| Ok(RolloutProgress::Waiting(format!("{s}\n")));
    let table = [
        (
            deployment(2, serde_json::json!({"observedGeneration": 1})),
            w("Waiting for deployment spec update to be observed..."),
        ),
        (
            deployment(
                2,
                serde_json::json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 1}),
            ),
            w(
                "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been updated...",
            ),
        ),
        (
            deployment(
                2,
                serde_json::json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3}),
            ),
            w(
                "Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination...",
            ),
        ),
        (
            deployment(
                2,
                serde_json::json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 2}),
            ),
            w(
                "Waiting for deployment \"web\" rollout to finish: 2 of 3 updated replicas are available...",
            ),
        ),
        (
            deployment(
                2,
                serde_json::json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}),
            ),
            Ok(RolloutProgress::Done(
                "deployment \"web\" successfully rolled out\n".into(),
            )),
        ),
    ];
    for (d, want) in table {
        assert_eq!(rollout_status(&d), want);
    }
    let stuck = deployment(
        2,
        serde_json::json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 1,
            "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}),
    );
    assert_eq!(
        rollout_status(&stuck).unwrap_err().to_string(),
        "error: deployment \"web\" exceeded its progress deadline"
    );
}

#[test]
fn outcome_lines() {
    use kubesim::kubectl::outcome::{Outcome, evicting_line, outcome_line};
    let d = deployment(1, serde_json::json!({}));
    let table = [
        (Outcome::Created, "deployment.apps/web created\n"),
        (Outcome::Unchanged, "deployment.apps/web unchanged\n"),
        (Outcome::Scaled, "deployment.apps/web scaled\n"),
        (Outcome::ImageUpdated, "deployment.apps/web image updated\n"),
        (Outcome::ConditionMet, "deployment.apps/web condition met\n"),
        (Outcome::Deleted, "deployment.apps \"web\" deleted\n"),
    ];
    for (o, want) in table {
        assert_eq!(outcome_line(&d, o), want, "{o:?}");
    }
    let pod: Object = serde_json::from_value(serde_json::json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "default"}}))
    .expect("valid pod");
    assert_eq!(
        outcome_line(&pod, Outcome::Deleted),
        "pod \"web-1\" deleted\n"
    );
    assert_eq!(evicting_line(&pod), "evicting pod default/web-1\n");
}
