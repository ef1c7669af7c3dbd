//! kubectl command lines as scenario steps write them: what they parse to, and kubectl's own
//! errors for the ones kubectl rejects.

use kubesim::kubectl::command::{Cascade, MetaChange, RolloutAction, TaintChange, Verb, WaitFor};
use kubesim::kubectl::print::OutputFormat;
use kubesim::kubectl::{KubectlCommand, parse};

fn ok(line: &str) -> KubectlCommand {
    parse(line).unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn err(line: &str) -> String {
    match parse(line) {
        Ok(c) => panic!("{line} parsed: {c:?}"),
        Err(e) => e.to_string(),
    }
}

/// (kind, name) of each target of a get.
fn get_targets(line: &str) -> Vec<(String, Option<String>)> {
    match ok(line).verb {
        Verb::Get { selection, .. } => selection
            .targets
            .iter()
            .map(|t| (t.kind.name.to_string(), t.name.clone()))
            .collect(),
        other => panic!("{line}: {other:?}"),
    }
}

#[test]
fn resource_names_resolve_as_kubectl_does() {
    type Row<'a> = (&'a str, &'a [(&'a str, Option<&'a str>)]);
    let table: &[Row] = &[
        ("get po", &[("Pod", None)]),
        ("get pods", &[("Pod", None)]),
        ("get pod nginx", &[("Pod", Some("nginx"))]),
        ("get deploy", &[("Deployment", None)]),
        ("get deployments.apps web", &[("Deployment", Some("web"))]),
        ("get svc,no", &[("Service", None), ("Node", None)]),
        ("get ns", &[("Namespace", None)]),
        ("get ev", &[("Event", None)]),
        ("get lease -n kube-node-lease", &[("Lease", None)]),
        (
            "get pod/a deployment/b",
            &[("Pod", Some("a")), ("Deployment", Some("b"))],
        ),
        ("get pods a b", &[("Pod", Some("a")), ("Pod", Some("b"))]),
        ("kubectl get Deployment", &[("Deployment", None)]),
    ];
    for (line, want) in table {
        let want: Vec<(String, Option<String>)> = want
            .iter()
            .map(|(k, n)| (k.to_string(), n.map(str::to_string)))
            .collect();
        assert_eq!(get_targets(line), want, "{line}");
    }
}

#[test]
fn get_flags() {
    let c = ok(
        "get pods -o wide -n kube-system -l app=web --field-selector spec.nodeName=w1 --show-labels -w --request-timeout=30s",
    );
    assert_eq!(c.global.namespace.as_deref(), Some("kube-system"));
    assert_eq!(
        c.global.request_timeout.map(|d| d.as_nanos()),
        Some(30_000_000_000)
    );
    let Verb::Get {
        selection,
        output,
        show_labels,
        watch,
        ..
    } = c.verb
    else {
        panic!("not get");
    };
    assert_eq!(output, OutputFormat::Wide);
    assert_eq!(selection.label_selector.as_deref(), Some("app=web"));
    assert_eq!(
        selection.field_selector.as_deref(),
        Some("spec.nodeName=w1")
    );
    assert!(show_labels && watch && !selection.all_namespaces);

    let c = ok("--as=alice get pods -A");
    assert_eq!(c.global.as_user.as_deref(), Some("alice"));
    assert!(matches!(c.verb, Verb::Get { selection, .. } if selection.all_namespaces));

    let c = ok("get deployment nginx -o jsonpath={.status.readyReplicas}");
    assert!(
        matches!(c.verb, Verb::Get { output: OutputFormat::JsonPath(t), .. } if t == "{.status.readyReplicas}")
    );
    let c = ok(r#"get pods -o 'jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}'"#);
    assert!(
        matches!(c.verb, Verb::Get { output: OutputFormat::JsonPath(t), .. } if t == r#"{range .items[*]}{.metadata.name}{"\n"}{end}"#)
    );
    let c = ok("get pods -nkube-system -oyaml");
    assert_eq!(c.global.namespace.as_deref(), Some("kube-system"));
    assert!(matches!(
        c.verb,
        Verb::Get {
            output: OutputFormat::Yaml,
            ..
        }
    ));
}

#[test]
fn mutating_verbs() {
    assert!(
        matches!(ok("apply -f manifests/nginx.yaml").verb, Verb::Apply { files } if files == ["manifests/nginx.yaml"])
    );
    assert!(
        matches!(ok("create -f a.yaml -f b.yaml").verb, Verb::CreateFromFiles { files } if files.len() == 2)
    );
    assert_eq!(
        ok("create deployment web --image=nginx:1.25 --replicas=3").verb,
        Verb::CreateDeployment {
            name: "web".into(),
            images: vec!["nginx:1.25".into()],
            replicas: 3,
            port: None
        }
    );
    assert_eq!(
        ok("create namespace team-a").verb,
        Verb::CreateNamespace {
            name: "team-a".into()
        }
    );
    match ok("delete pod web-1 --grace-period=0 --force --cascade=foreground").verb {
        Verb::Delete {
            grace_period,
            cascade,
            force,
            selection,
            ..
        } => {
            assert_eq!(grace_period, Some(0));
            assert_eq!(cascade, Cascade::Foreground);
            assert!(force);
            assert_eq!(selection.targets[0].name.as_deref(), Some("web-1"));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(ok("delete pods -l app=web").verb, Verb::Delete { selection, .. } if selection.label_selector.as_deref() == Some("app=web"))
    );
    assert!(matches!(
        ok("delete -f x.yaml --cascade=orphan").verb,
        Verb::Delete {
            cascade: Cascade::Orphan,
            ..
        }
    ));
    assert!(matches!(
        ok("scale deployment/web --replicas=5").verb,
        Verb::Scale { replicas: 5, .. }
    ));
    assert_eq!(
        match ok("label pod web tier=front app- --overwrite").verb {
            Verb::Label {
                changes, overwrite, ..
            } => (changes, overwrite),
            other => panic!("{other:?}"),
        },
        (
            vec![
                MetaChange::Set("tier".into(), "front".into()),
                MetaChange::Remove("app".into())
            ],
            true
        )
    );
    assert_eq!(
        match ok("taint nodes kubesim-worker dedicated=gpu:NoSchedule key2:NoExecute-").verb {
            Verb::Taint { changes, .. } => changes,
            other => panic!("{other:?}"),
        },
        vec![
            TaintChange::Add {
                key: "dedicated".into(),
                value: Some("gpu".into()),
                effect: "NoSchedule".into()
            },
            TaintChange::Remove {
                key: "key2".into(),
                effect: Some("NoExecute".into())
            },
        ]
    );
    assert!(
        matches!(ok("cordon kubesim-worker2").verb, Verb::Cordon { selection } if selection.targets[0].name.as_deref() == Some("kubesim-worker2"))
    );
    assert!(matches!(
        ok("drain kubesim-worker --ignore-daemonsets --delete-emptydir-data").verb,
        Verb::Drain {
            ignore_daemonsets: true,
            delete_emptydir_data: true,
            ..
        }
    ));
    assert!(
        matches!(ok("rollout status deployment/web --timeout=2m").verb,
        Verb::Rollout { action: RolloutAction::Status, timeout: Some(t), .. } if t.as_nanos() == 120_000_000_000)
    );
    assert!(matches!(
        ok("rollout undo deployment web --to-revision=2").verb,
        Verb::Rollout {
            action: RolloutAction::Undo,
            to_revision: Some(2),
            ..
        }
    ));
    assert!(
        matches!(ok("set image deployment/web nginx=nginx:1.26").verb,
        Verb::SetImage { images, .. } if images == [("nginx".to_string(), "nginx:1.26".to_string())])
    );
    assert!(matches!(ok("logs web-1 -c sidecar --previous").verb,
        Verb::Logs { container: Some(c), previous: true, .. } if c == "sidecar"));
    assert!(matches!(ok("cluster-info").verb, Verb::ClusterInfo));
}

#[test]
fn wait_conditions() {
    let table: &[(&str, WaitFor, u64)] = &[
        (
            "wait --for=condition=Available deployment/nginx-deployment --timeout=120s",
            WaitFor::Condition {
                name: "Available".into(),
                value: "true".into(),
            },
            120,
        ),
        (
            "wait pod/web --for=condition=Ready=false",
            WaitFor::Condition {
                name: "Ready".into(),
                value: "false".into(),
            },
            30,
        ),
        (
            "wait --for=delete pod/web --timeout=60s",
            WaitFor::Delete,
            60,
        ),
        (
            "wait pod/web --for=jsonpath={.status.phase}=Running",
            WaitFor::JsonPath {
                path: "{.status.phase}".into(),
                value: Some("Running".into()),
            },
            30,
        ),
    ];
    for (line, want, secs) in table {
        match ok(line).verb {
            Verb::Wait {
                condition, timeout, ..
            } => {
                assert_eq!(&condition, want, "{line}");
                assert_eq!(timeout.as_nanos(), secs * 1_000_000_000, "{line}");
            }
            other => panic!("{line}: {other:?}"),
        }
    }
}

#[test]
fn kubectl_own_errors() {
    let table: &[(&str, &str)] = &[
        (
            "get podz",
            "error: the server doesn't have a resource type \"podz\"",
        ),
        (
            "delete pods",
            "error: resource(s) were provided, but no name was specified",
        ),
        (
            "get pods --foo",
            "error: unknown flag: --foo\nSee 'kubectl get --help' for usage.",
        ),
        (
            "get pods -x",
            "error: unknown shorthand flag: 'x' in -x\nSee 'kubectl get --help' for usage.",
        ),
        (
            "frobnicate pods",
            "error: unknown command \"frobnicate\" for \"kubectl\"",
        ),
        (
            "get pods -n",
            "error: flag needs an argument: -n\nSee 'kubectl get --help' for usage.",
        ),
        (
            "get pods -o foo",
            "error: unable to match a printer suitable for the output format \"foo\", allowed formats are: custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml",
        ),
        (
            "get pod pod/web",
            "error: there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of 'kubectl get resource resource/<resource_name>'",
        ),
        (
            "scale deployment web",
            "error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0\nSee 'kubectl scale -h' for help and examples",
        ),
        (
            "delete pod web --cascade=maybe",
            "error: invalid cascade value (maybe). Must be \"background\", \"foreground\", or \"orphan\"",
        ),
        (
            "wait pod/web --for=condition=Ready --timeout=soon",
            "error: invalid argument \"soon\" for \"--timeout\" flag: time: invalid duration \"soon\"\nSee 'kubectl wait --help' for usage.",
        ),
        (
            "taint pods web a=b:NoSchedule",
            "error: invalid resource type, only node types are supported",
        ),
        ("get pods 'unterminated", "error: unterminated quote"),
    ];
    for (line, want) in table {
        assert_eq!(err(line), *want, "{line}");
    }
    assert!(err("get").starts_with("error: You must specify the type of resource to get."));
}

#[test]
fn expose_and_create_service() {
    use kubesim::kubectl::service::{CreateServiceOptions, ServiceType};
    match ok("expose deployment/nginx --port=80 --target-port=8080 --type=NodePort --name=web -l tier=front --selector=app=nginx").verb {
        Verb::Expose { targets, options } => {
            assert_eq!(targets.len(), 1);
            assert_eq!(targets[0].kind.name, "Deployment");
            assert_eq!(targets[0].name.as_deref(), Some("nginx"));
            assert_eq!(options.port.as_deref(), Some("80"));
            assert_eq!(options.target_port.as_deref(), Some("8080"));
            assert_eq!(options.service_type.as_deref(), Some("NodePort"));
            assert_eq!(options.name.as_deref(), Some("web"));
            assert_eq!(options.labels.as_deref(), Some("tier=front"));
            assert_eq!(options.selector.as_deref(), Some("app=nginx"));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(ok("expose pod web --port 80").verb, Verb::Expose { targets, .. } if targets[0].kind.name == "Pod")
    );
    assert!(err("expose").contains("You must provide one or more resources"));
    assert_eq!(
        err("expose deployment"),
        "error: resource(s) were provided, but no name was specified"
    );
    assert_eq!(
        ok("create service clusterip my-cs --tcp=5678:8080,443 --tcp 80").verb,
        Verb::CreateService(CreateServiceOptions {
            service_type: ServiceType::ClusterIp,
            name: "my-cs".into(),
            tcp: vec!["5678:8080".into(), "443".into(), "80".into()],
            cluster_ip: None,
            node_port: 0,
            external_name: None,
        })
    );
    assert!(matches!(
        ok("create svc nodeport np --tcp=80 --node-port=30080").verb,
        Verb::CreateService(CreateServiceOptions {
            service_type: ServiceType::NodePort,
            node_port: 30080,
            ..
        })
    ));
    assert_eq!(
        err("create service externalname ext"),
        "error: required flag(s) \"external-name\" not set"
    );
    assert_eq!(
        err("create service clusterip"),
        "error: exactly one NAME is required, got 0\nSee 'kubectl create service clusterip -h' for help and examples"
    );
    assert_eq!(
        err("create service clusterip x"),
        "error: at least one tcp port specifier must be provided"
    );
    assert_eq!(
        err("create service bogus x"),
        "error: unknown command \"bogus\"\nSee 'kubectl create service -h' for help and examples"
    );
}
