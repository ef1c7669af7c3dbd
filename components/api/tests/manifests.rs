//! Real manifests from the Kubernetes documentation load unchanged; broken ones fail with
//! Kubernetes' messages and a position.

use api::Kind;
use api::manifest::{self, ManifestError};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// kind, name, first line of the document.
type Expected = (Kind, &'static str, usize);

#[test]
fn documentation_manifests_load_unchanged() {
    let cases: &[(&str, &[Expected])] = &[
        (
            "nginx-deployment.yaml",
            &[(Kind::Deployment, "nginx-deployment", 1)],
        ),
        ("service.yaml", &[(Kind::Service, "my-service", 1)]),
        (
            "daemonset.yaml",
            &[(Kind::DaemonSet, "fluentd-elasticsearch", 1)],
        ),
        ("exec-liveness.yaml", &[(Kind::Pod, "liveness-exec", 1)]),
        ("http-liveness.yaml", &[(Kind::Pod, "liveness-http", 1)]),
        ("job.yaml", &[(Kind::Job, "pi", 1)]),
        (
            "pod-with-node-affinity.yaml",
            &[(Kind::Pod, "with-node-affinity", 1)],
        ),
        (
            "nginx-app.yaml",
            &[
                (Kind::Service, "my-nginx-svc", 1),
                (Kind::Deployment, "my-nginx", 14),
            ],
        ),
        (
            "web-statefulset.yaml",
            &[(Kind::Service, "nginx", 1), (Kind::StatefulSet, "web", 15)],
        ),
        (
            "rbac.yaml",
            &[
                (Kind::Role, "pod-reader", 3),
                (Kind::RoleBinding, "read-pods", 16),
            ],
        ),
        ("pdb.json", &[(Kind::PodDisruptionBudget, "zk-pdb", 1)]),
    ];
    for (file, want) in cases {
        let got = manifest::parse(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let got: Vec<(Kind, &str, usize)> = got
            .iter()
            .map(|m| (m.object.kind(), m.object.name(), m.line))
            .collect();
        assert_eq!(&got, want, "{file}");
    }
}

#[test]
fn documentation_fields_survive_decoding() {
    let objs = manifest::parse_objects(&fixture("exec-liveness.yaml")).unwrap();
    let api::Object::Pod(pod) = &objs[0] else {
        panic!("not a pod")
    };
    let probe = pod.spec.as_ref().unwrap().containers[0]
        .liveness_probe
        .as_ref()
        .unwrap();
    assert_eq!(
        (probe.initial_delay_seconds, probe.period_seconds),
        (Some(5), Some(5))
    );
    let objs = manifest::parse_objects(&fixture("daemonset.yaml")).unwrap();
    let api::Object::DaemonSet(ds) = &objs[0] else {
        panic!("not a daemonset")
    };
    let tolerations = ds
        .spec
        .template
        .spec
        .as_ref()
        .unwrap()
        .tolerations
        .as_ref()
        .unwrap();
    assert_eq!(tolerations.len(), 2);
}

#[test]
fn unknown_field_in_second_document_names_field_and_line() {
    let text = fixture("nginx-app.yaml").replace("  replicas: 3", "  replica: 3");
    let err = manifest::parse(&text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.replica\""
    );
    assert_eq!((err.position().document, err.position().line), (1, 14));
}

#[test]
fn misspelt_kind_gets_no_matches() {
    let text = fixture("nginx-deployment.yaml").replace("kind: Deployment", "kind: Deploymen");
    let err = manifest::parse(&text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no matches for kind \"Deploymen\" in version \"apps/v1\""
    );
}

#[test]
fn missing_kind_quotes_the_document_as_json() {
    let err = manifest::parse("apiVersion: v1\nmetadata:\n  name: x\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Object 'Kind' is missing in '{\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"x\"}}'"
    );
}

#[test]
fn yaml_syntax_errors_have_line_and_column() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: y\n   labels: {}\n";
    let err = manifest::parse(text).unwrap_err();
    let ManifestError::Yaml { position, message } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(position.document, 1);
    assert_eq!(position.line, 10, "{message}");
    assert!(position.column.is_some());
    assert!(
        err.to_string()
            .starts_with("error converting YAML to JSON: yaml: line 10"),
        "{err}"
    );
}

#[test]
fn json_syntax_errors_have_line_and_column() {
    let err =
        manifest::parse("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\"\n  \"metadata\": {}\n}")
            .unwrap_err();
    let ManifestError::Json { position, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((position.line, position.column), (4, Some(3)));
}

#[test]
fn empty_input_and_lists() {
    assert!(manifest::parse("").unwrap().is_empty());
    assert!(
        manifest::parse("---\n# only a comment\n---\n")
            .unwrap()
            .is_empty()
    );
    let list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: b}\n";
    let got: Vec<_> = manifest::parse_objects(list)
        .unwrap()
        .iter()
        .map(|o| (o.kind(), o.name().to_string()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Kind::ConfigMap, "a".to_string()),
            (Kind::Namespace, "b".to_string())
        ]
    );
}

#[test]
fn kubectl_messages_for_bad_manifests() {
    let deploy = fixture("nginx-deployment.yaml");
    let cases = [
        (
            deploy.replace("kind: Deployment", "kind: Deploymen"),
            "error: resource mapping not found for name: \"nginx-deployment\" namespace: \"\" from \"x.yaml\": no matches for kind \"Deploymen\" in version \"apps/v1\"\nensure CRDs are installed first",
        ),
        (
            deploy.replace("  replicas: 3", "  replica: 3"),
            "Error from server (BadRequest): error when creating \"x.yaml\": Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.replica\"",
        ),
        (
            "apiVersion: v1\nmetadata: {name: x}\n".to_string(),
            "error: unable to decode \"x.yaml\": Object 'Kind' is missing in '{\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"x\"}}'",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(
            manifest::parse(&text)
                .unwrap_err()
                .kubectl_message("x.yaml"),
            want
        );
    }
    let yaml = manifest::parse("a: b\n c: d\n")
        .unwrap_err()
        .kubectl_message("x.yaml");
    assert!(
        yaml.starts_with(
            "error: error parsing x.yaml: error converting YAML to JSON: yaml: line 2: "
        ),
        "{yaml}"
    );
}
