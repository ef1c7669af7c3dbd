//! kubectl's JSONPath templates over an object or a List, as `-o jsonpath=` prints them.

use kubesim::kubectl::jsonpath::JsonPath;
use serde_json::json;

#[test]
fn templates() {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"metadata": {"name": "a", "labels": {"app": "web"}},
         "status": {"readyReplicas": 3, "conditions": [
            {"type": "Available", "status": "True"}, {"type": "Progressing", "status": "False"}]}},
        {"metadata": {"name": "b"}, "status": {"readyReplicas": 1, "conditions": []}},
    ]});
    let table: &[(&str, &str)] = &[
        ("{.items[0].status.readyReplicas}", "3"),
        ("{.items[*].metadata.name}", "a b"),
        ("{.items[-1].metadata.name}", "b"),
        ("{.items[0].metadata.labels}", r#"{"app":"web"}"#),
        ("{.items[0].metadata.labels.app}", "web"),
        ("{.items[0].metadata.labels['app']}", "web"),
        ("{.items[0].status.nope}", ""),
        (
            r#"{range .items[*]}{.metadata.name}{"\t"}{.status.readyReplicas}{"\n"}{end}"#,
            "a\t3\nb\t1\n",
        ),
        (
            r#"{.items[0].status.conditions[?(@.type=="Available")].status}"#,
            "True",
        ),
        (
            "{.items[0].status.conditions[?(@.status!='True')].type}",
            "Progressing",
        ),
        ("{..name}", "a b"),
        ("names: {.items[*].metadata.name}!", "names: a b!"),
        ("{.kind}", "List"),
    ];
    for (t, want) in table {
        let jp = JsonPath::parse(t).unwrap_or_else(|e| panic!("{t}: {e}"));
        assert_eq!(jp.execute(&list), *want, "{t}");
    }
}

#[test]
fn bad_templates() {
    for t in ["{.items[0", "{range .items[*]}{.a}", "{end}", "{.a[x]}"] {
        assert!(JsonPath::parse(t).is_err(), "{t} parsed");
    }
}
