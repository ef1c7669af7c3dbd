//! Manifests through defaulting and validation, as the apiserver runs them on create, and
//! what kubectl prints for the result.

use api::manifest;

/// Parse, place in `default` as the apiserver does for a namespaced create, default,
/// validate; `None` when valid, else kubectl's message.
fn create(text: &str) -> Option<String> {
    let mut objects = manifest::parse_objects(text).unwrap_or_else(|e| panic!("{e}"));
    let mut object = objects.remove(0);
    if object.info().namespaced && object.namespace().is_empty() {
        object.metadata_mut().namespace = Some("default".into());
    }
    api::defaults::apply(&mut object);
    api::validation::validate_object(&object)
        .err()
        .map(|e| e.kubectl_message())
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn documentation_manifests_are_valid() {
    for f in [
        "nginx-deployment.yaml",
        "service.yaml",
        "daemonset.yaml",
        "exec-liveness.yaml",
        "http-liveness.yaml",
        "job.yaml",
        "pod-with-node-affinity.yaml",
        "pdb.json",
    ] {
        assert_eq!(create(&fixture(f)), None, "{f}");
    }
    for text in fixture("web-statefulset.yaml").split("---\n") {
        assert_eq!(create(text), None);
    }
}

#[test]
fn invalid_objects_get_kubernetes_messages() {
    let deploy = fixture("nginx-deployment.yaml");
    let cases: Vec<(String, &str)> = vec![
        (
            deploy.replace("replicas: 3", "replicas: -1"),
            "The Deployment \"nginx-deployment\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        ),
        (
            deploy.replace("name: nginx-deployment", "name: Web"),
            "The Deployment \"Web\" is invalid: metadata.name: Invalid value: \"Web\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        ),
        (
            deploy.replace("      labels:\n        app: nginx\n    spec:", "      labels:\n        app: x\n    spec:"),
            "The Deployment \"nginx-deployment\" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"x\"}: `selector` does not match template `labels`",
        ),
        (
            deploy.replace("  selector:\n    matchLabels:\n      app: nginx\n", ""),
            "The Deployment \"nginx-deployment\" is invalid: \n* spec.selector: Required value\n* spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"nginx\"}: `selector` does not match template `labels`",
        ),
        (
            deploy.replace("        image: nginx:1.14.2\n", "").replace("replicas: 3", "replicas: -1"),
            "The Deployment \"nginx-deployment\" is invalid: \n* spec.replicas: Invalid value: -1: must be greater than or equal to 0\n* spec.template.spec.containers[0].image: Required value",
        ),
        (
            deploy.replace("  replicas: 3\n", "  replicas: 3\n  strategy:\n    rollingUpdate: {maxSurge: 0, maxUnavailable: 0}\n"),
            "The Deployment \"nginx-deployment\" is invalid: spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: may not be 0 when `maxSurge` is 0",
        ),
        (
            deploy.replace("    spec:\n      containers:", "    spec:\n      restartPolicy: Never\n      containers:"),
            "The Deployment \"nginx-deployment\" is invalid: spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
        ),
        (
            deploy.replace("- containerPort: 80", "- containerPort: 70000"),
            "The Deployment \"nginx-deployment\" is invalid: spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        ),
        (
            fixture("service.yaml").replace("name: my-service", "name: 1service"),
            "The Service \"1service\" is invalid: metadata.name: Invalid value: \"1service\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        ),
        (
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: {app: x}}\n".to_string(),
            "The Service \"s\" is invalid: spec.ports: Required value",
        ),
        (
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: team.a}\n".to_string(),
            "The Namespace \"team.a\" is invalid: metadata.name: Invalid value: \"team.a\": must not contain dots",
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: x}\n  - {name: a, image: y, resources: {requests: {cpu: '2'}, limits: {cpu: '1'}}}\n".to_string(),
            "The Pod \"p\" is invalid: \n* spec.containers[1].name: Duplicate value: \"a\"\n* spec.containers[1].resources.requests[cpu]: Invalid value: \"2\": must be less than or equal to cpu limit of 1",
        ),
        (
            fixture("job.yaml").replace("restartPolicy: Never", "restartPolicy: Always"),
            "The Job \"pi\" is invalid: spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {app: 'a b'}}\ndata: {ok.key: v}\n".to_string(),
            "The ConfigMap \"c\" is invalid: metadata.labels: Invalid value: \"a b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(create(&text).as_deref(), Some(want), "{text}");
    }
}

#[test]
fn api_message_aggregates() {
    let text = fixture("nginx-deployment.yaml")
        .replace("        image: nginx:1.14.2\n", "")
        .replace("replicas: 3", "replicas: -1");
    let mut object = manifest::parse_objects(&text).unwrap().remove(0);
    object.metadata_mut().namespace = Some("default".into());
    api::defaults::apply(&mut object);
    let err = api::validation::validate_object(&object).unwrap_err();
    assert_eq!(err.code, 422);
    assert_eq!(
        err.message,
        "Deployment.apps \"nginx-deployment\" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, spec.template.spec.containers[0].image: Required value]"
    );
    let details = err.details.unwrap();
    assert_eq!(
        (details.kind.as_str(), details.group.as_str()),
        ("Deployment", "apps")
    );
    assert_eq!(details.causes[0].cause_type, "FieldValueInvalid");
    assert_eq!(
        details.causes[1].field,
        "spec.template.spec.containers[0].image"
    );
}
