//! `kubesim explain`: the scheduler's decision about a pod of a scenario, as a table; an
//! unknown pod is an error with exit code 1.

use std::path::PathBuf;

use kubesim::cli::{Command, EXIT_FAIL, EXIT_PASS, execute};

fn explain(pod: &str) -> (i32, String) {
    let mut out = Vec::new();
    let code = execute(
        Command::Explain {
            file: PathBuf::from("scenarios/scheduling-fits-nowhere.ron"),
            pod: pod.into(),
            namespace: "default".into(),
            seed: None,
        },
        &mut out,
    );
    (code, String::from_utf8(out).expect("utf-8"))
}

#[test]
fn explains_which_plugin_filtered_each_node() {
    let (code, text) = explain("huge");
    assert_eq!(code, EXIT_PASS, "{text}");
    for line in [
        "pod default/huge: 3 node(s) in the cluster, 3 evaluated",
        "result: unschedulable: 0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 Insufficient cpu, 2 Insufficient memory.",
        "kubesim-control-plane   TaintToleration: node(s) had untolerated taint(s)",
        "kubesim-worker          NodeResourcesFit: Insufficient cpu, Insufficient memory",
        "kubesim-worker2         NodeResourcesFit: Insufficient cpu, Insufficient memory",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn an_unknown_pod_is_an_error() {
    let (code, text) = explain("nope");
    assert_eq!((code, text.as_str()), (EXIT_FAIL, ""));
}
