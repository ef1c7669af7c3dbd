//! Node affinity matching, as `staging/src/k8s.io/component-helpers/scheduling/corev1/nodeaffinity`:
//! a pod's `nodeSelector` and its required node affinity must both hold; required terms are
//! ORed, a term's expressions and fields ANDed, an empty term matches nothing; operators In,
//! NotIn, Exists, DoesNotExist, Gt, Lt (integers); `matchFields` knows only `metadata.name`.
//! Preferred terms score the sum of the weights that match.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Node, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PodSpec,
};

fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or(&[]);
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(have), [want]) = (value.and_then(|v| v.parse::<i64>().ok()), values) else {
                return false;
            };
            let Ok(want) = want.parse::<i64>() else {
                return false;
            };
            if r.operator == "Gt" {
                have > want
            } else {
                have < want
            }
        }
        _ => false,
    }
}

/// One term against a node's labels and name.
pub fn term_matches(
    term: &NodeSelectorTerm,
    labels: &BTreeMap<String, String>,
    node_name: &str,
) -> bool {
    let expressions = term.match_expressions.as_deref().unwrap_or(&[]);
    let fields = term.match_fields.as_deref().unwrap_or(&[]);
    if expressions.is_empty() && fields.is_empty() {
        return false;
    }
    expressions
        .iter()
        .all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| {
            let value = (r.key == "metadata.name").then_some(node_name);
            r.key == "metadata.name" && requirement_matches(r, value)
        })
}

/// Terms ORed; no terms matches nothing.
pub fn node_selector_matches(
    selector: &NodeSelector,
    labels: &BTreeMap<String, String>,
    node_name: &str,
) -> bool {
    selector
        .node_selector_terms
        .iter()
        .any(|t| term_matches(t, labels, node_name))
}

fn node_labels(node: &Node) -> &BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    node.metadata.labels.as_ref().unwrap_or(&EMPTY)
}

/// `RequiredNodeAffinity.Match`: nodeSelector and required node affinity both hold.
pub fn pod_matches_node(spec: &PodSpec, node: &Node) -> bool {
    let labels = node_labels(node);
    let name = node.metadata.name.as_deref().unwrap_or("");
    let selector_ok = spec
        .node_selector
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    selector_ok && required.is_none_or(|r| node_selector_matches(r, labels, name))
}

/// Sum of the weights of the preferred terms the node matches (NodeAffinity's raw score).
pub fn preferred_score(spec: &PodSpec, node: &Node) -> i64 {
    let labels = node_labels(node);
    let name = node.metadata.name.as_deref().unwrap_or("");
    spec.affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.preferred_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .into_iter()
        .flatten()
        .filter(|p| p.weight != 0 && term_matches(&p.preference, labels, name))
        .map(|p| i64::from(p.weight))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse_objects;

    fn node(name: &str, labels: &[(&str, &str)]) -> Node {
        let mut n = Node::default();
        n.metadata.name = Some(name.into());
        n.metadata.labels = Some(
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        n
    }

    fn pod_spec(affinity_yaml: &str) -> PodSpec {
        let text = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers: [{{name: a, image: x}}]\n{affinity_yaml}"
        );
        parse_objects(&text)
            .unwrap()
            .remove(0)
            .as_pod()
            .unwrap()
            .spec
            .clone()
            .unwrap()
    }

    #[test]
    fn documentation_example() {
        let path = format!(
            "{}/tests/fixtures/pod-with-node-affinity.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        let objects = parse_objects(&std::fs::read_to_string(path).unwrap()).unwrap();
        let spec = objects[0].as_pod().unwrap().spec.clone().unwrap();
        let east = node(
            "a",
            &[
                ("topology.kubernetes.io/zone", "antarctica-east1"),
                ("another-node-label-key", "another-node-label-value"),
            ],
        );
        let west = node("b", &[("topology.kubernetes.io/zone", "antarctica-west1")]);
        let elsewhere = node("c", &[("topology.kubernetes.io/zone", "us-east1")]);
        assert!(pod_matches_node(&spec, &east));
        assert!(pod_matches_node(&spec, &west));
        assert!(!pod_matches_node(&spec, &elsewhere));
        assert_eq!(
            (preferred_score(&spec, &east), preferred_score(&spec, &west)),
            (1, 0)
        );
    }

    #[test]
    fn operators_terms_and_fields() {
        let n = node("kubesim-worker", &[("disk", "ssd"), ("cores", "8")]);
        let required = |terms: &str| {
            pod_spec(&format!(
                "  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n        nodeSelectorTerms: {terms}\n"
            ))
        };
        let cases = [
            (
                "[{matchExpressions: [{key: disk, operator: In, values: [ssd, nvme]}]}]",
                true,
            ),
            (
                "[{matchExpressions: [{key: disk, operator: NotIn, values: [ssd]}]}]",
                false,
            ),
            (
                "[{matchExpressions: [{key: gpu, operator: NotIn, values: [x]}]}]",
                true,
            ),
            (
                "[{matchExpressions: [{key: disk, operator: Exists}]}]",
                true,
            ),
            (
                "[{matchExpressions: [{key: disk, operator: DoesNotExist}]}]",
                false,
            ),
            (
                "[{matchExpressions: [{key: cores, operator: Gt, values: ['4']}]}]",
                true,
            ),
            (
                "[{matchExpressions: [{key: cores, operator: Lt, values: ['4']}]}]",
                false,
            ),
            (
                "[{matchExpressions: [{key: disk, operator: Gt, values: ['4']}]}]",
                false,
            ),
            // expressions ANDed
            (
                "[{matchExpressions: [{key: disk, operator: Exists}, {key: gpu, operator: Exists}]}]",
                false,
            ),
            // terms ORed
            (
                "[{matchExpressions: [{key: gpu, operator: Exists}]}, {matchExpressions: [{key: disk, operator: Exists}]}]",
                true,
            ),
            ("[{}]", false),
            ("[]", false),
            (
                "[{matchFields: [{key: metadata.name, operator: In, values: [kubesim-worker]}]}]",
                true,
            ),
            (
                "[{matchFields: [{key: metadata.name, operator: NotIn, values: [kubesim-worker]}]}]",
                false,
            ),
        ];
        for (terms, want) in cases {
            assert_eq!(pod_matches_node(&required(terms), &n), want, "{terms}");
        }
        let with_selector = pod_spec("  nodeSelector: {disk: hdd}\n");
        assert!(!pod_matches_node(&with_selector, &n));
        assert!(pod_matches_node(&pod_spec(""), &n));
    }
}
