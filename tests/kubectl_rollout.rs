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

fn replica_set(name: &str, revision: i64, image: &str, cause: Option<&str>) -> Object {
    let mut annotations =
        serde_json::json!({"deployment.kubernetes.io/revision": revision.to_string()});
    if let Some(c) = cause {
        annotations["kubernetes.io/change-cause"] = c.into();
    }
    serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": "default", "annotations": annotations,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                "uid": "dep-uid", "controller": true}]},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web", "pod-template-hash": name}},
                "spec": {"containers": [{"name": "web", "image": image}]}}},
    }))
    .expect("valid replica set")
}

fn live_deployment(image: &str, paused: bool) -> Object {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "uid": "dep-uid",
            "annotations": {"deployment.kubernetes.io/revision": "3", "kubernetes.io/change-cause": "now"}},
        "spec": {"replicas": 3, "paused": paused, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]}}},
    }))
    .expect("valid deployment")
}

#[test]
fn history_lists_revisions_with_their_change_cause() {
    use kubesim::kubectl::rollout::{history_revision, history_table};
    let r1 = replica_set("a", 1, "nginx:1.24", Some("first"));
    let r3 = replica_set("c", 3, "nginx:1.26", None);
    let r2 = replica_set("b", 2, "nginx:1.25", Some("second"));
    assert_eq!(
        history_table(&[&r1, &r3, &r2]),
        "REVISION  CHANGE-CAUSE\n1         first\n2         second\n3         <none>\n\n"
    );
    assert_eq!(history_table(&[]), "No rollout history found.\n");
    let text = history_revision(&[&r1, &r2], 2).unwrap();
    assert!(
        text.starts_with("Pod Template:\n  Labels:\tapp=web\n"),
        "{text}"
    );
    assert!(text.contains("    Image:\tnginx:1.25\n"), "{text}");
    assert!(
        text.contains("  Annotations:\tkubernetes.io/change-cause=second\n"),
        "{text}"
    );
    assert_eq!(
        history_revision(&[&r1], 9).unwrap_err().to_string(),
        "error: unable to find the specified revision"
    );
}

#[test]
fn undo_picks_the_previous_or_the_named_revision() {
    use kubesim::kubectl::rollout::{Rollback, rollback};
    let r1 = replica_set("a", 1, "nginx:1.24", Some("first"));
    let r2 = replica_set("b", 2, "nginx:1.25", Some("second"));
    let r3 = replica_set("c", 3, "nginx:1.26", None);
    let sets = [&r1, &r3, &r2];
    let live = live_deployment("nginx:1.26", false);
    // Without --to-revision: the second newest revision, its template without the hash label,
    // its annotations, and the Deployment's own revision annotation kept.
    let Rollback::Patch(patch) = rollback(&live, &sets, 0).unwrap() else {
        panic!("a patch")
    };
    assert_eq!(patch[0]["path"], "/spec/template");
    assert_eq!(
        patch[0]["value"]["spec"]["containers"][0]["image"],
        "nginx:1.25"
    );
    assert_eq!(
        patch[0]["value"]["metadata"]["labels"],
        serde_json::json!({"app": "web"})
    );
    assert_eq!(
        patch[1]["value"],
        serde_json::json!({"deployment.kubernetes.io/revision": "3", "kubernetes.io/change-cause": "second"})
    );
    let Rollback::Patch(patch) = rollback(&live, &sets, 1).unwrap() else {
        panic!("a patch")
    };
    assert_eq!(
        patch[0]["value"]["spec"]["containers"][0]["image"],
        "nginx:1.24"
    );
    assert_eq!(
        rollback(&live, &sets, 3).unwrap(),
        Rollback::Skipped("skipped rollback (current template already matches revision 3)".into())
    );
    let err = |r: Result<Rollback, kubesim::kubectl::KubectlError>| r.unwrap_err().to_string();
    assert_eq!(
        err(rollback(&live, &sets, 7)),
        "error: unable to find specified revision 7 in history"
    );
    assert_eq!(
        err(rollback(&live, &[&r3], 0)),
        "error: no rollout history found for deployment \"web\""
    );
    assert_eq!(
        err(rollback(&live_deployment("nginx:1.26", true), &sets, 1)),
        "error: you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume deployment/web' and try again"
    );
}

#[test]
fn pause_resume_and_restart_patches_and_refusals() {
    use kubesim::kubectl::rollout::{pause_patch, restart_patch};
    let running = live_deployment("nginx:1.26", false);
    let paused = live_deployment("nginx:1.26", true);
    assert_eq!(
        pause_patch(&running, true).unwrap(),
        serde_json::json!({"spec": {"paused": true}})
    );
    assert_eq!(
        pause_patch(&paused, false).unwrap(),
        serde_json::json!({"spec": {"paused": null}})
    );
    assert_eq!(
        pause_patch(&paused, true).unwrap_err().to_string(),
        "error: deployments.apps \"web\" is already paused"
    );
    assert_eq!(
        pause_patch(&running, false).unwrap_err().to_string(),
        "error: deployments.apps \"web\" is not paused"
    );
    assert_eq!(
        restart_patch(&running, "2026-01-01T00:01:00Z").unwrap(),
        serde_json::json!({"spec": {"template": {"metadata": {"annotations": {
            "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:01:00Z"}}}}})
    );
    assert_eq!(
        restart_patch(&paused, "x").unwrap_err().to_string(),
        "error: deployments.apps \"web\" can't restart paused deployment (run rollout resume first)"
    );
    let rs = replica_set("a", 1, "nginx", None);
    assert_eq!(
        restart_patch(&rs, "x").unwrap_err().to_string(),
        "error: replicasets.apps \"a\" restarting is not supported"
    );
    assert_eq!(
        pause_patch(&rs, true).unwrap_err().to_string(),
        "error: replicasets.apps \"a\" pausing is not supported"
    );
}

#[test]
fn statefulset_rollout_lines() {
    let sts = |status: serde_json::Value| -> Object {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db", "generation": 2},
            "spec": {"replicas": 3, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                "template": {"metadata": {"labels": {"app": "db"}},
                    "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}}},
            "status": status,
        }))
        .expect("valid statefulset")
    };
    assert_eq!(
        rollout_status(&sts(
            serde_json::json!({"replicas": 3, "observedGeneration": 2, "readyReplicas": 1})
        )),
        Ok(RolloutProgress::Waiting(
            "Waiting for 2 pods to be ready...\n".into()
        ))
    );
    assert_eq!(
        rollout_status(&sts(serde_json::json!({"replicas": 3, "observedGeneration": 2, "readyReplicas": 3, "updatedReplicas": 2}))),
        Ok(RolloutProgress::Waiting(
            "Waiting for partitioned roll out to finish: 2 out of 3 new pods have been updated...\n".into()
        ))
    );
    assert_eq!(
        rollout_status(&sts(
            serde_json::json!({"replicas": 3, "observedGeneration": 2, "readyReplicas": 3, "updatedReplicas": 3})
        )),
        Ok(RolloutProgress::Done(
            "partitioned roll out complete: 3 new pods have been updated...\n".into()
        ))
    );
}

/// The bound check the rolling-update scenario's `Always` steps use: a jsonpath filter with
/// an ordering comparison selects the Deployments out of bounds.
#[test]
fn jsonpath_filters_compare_numbers() {
    use kubesim::kubectl::jsonpath::JsonPath;
    let list = serde_json::json!({"items": [
        {"metadata": {"name": "ok"}, "status": {"replicas": 5, "availableReplicas": 3}},
        {"metadata": {"name": "surged"}, "status": {"replicas": 6, "availableReplicas": 4}},
        {"metadata": {"name": "short"}, "status": {"replicas": 4, "availableReplicas": 2}},
    ]});
    let names = |t: &str| -> Vec<String> {
        JsonPath::parse(t)
            .unwrap()
            .values(&list)
            .iter()
            .map(|v| kubesim::kubectl::jsonpath::value_text(v))
            .collect()
    };
    assert_eq!(
        names("{.items[?(@.status.replicas>5)].metadata.name}"),
        ["surged"]
    );
    assert_eq!(
        names("{.items[?(@.status.availableReplicas<3)].metadata.name}"),
        ["short"]
    );
    assert_eq!(
        names("{.items[?(@.status.replicas<=4)].metadata.name}"),
        ["short"]
    );
    assert_eq!(
        names("{.items[?(@.status.replicas>=5)].metadata.name}"),
        ["ok", "surged"]
    );
    assert_eq!(
        names("{.items[?(@.metadata.name==\"ok\")].status.replicas}"),
        ["5"]
    );
}
