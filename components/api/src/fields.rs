//! Field selectors (`--field-selector status.phase!=Running,spec.nodeName=`): parsing, the
//! fields each kind supports, and matching against an object.
//!
//! Follows `staging/src/k8s.io/apimachinery/pkg/fields/selector.go` (terms split on unescaped
//! commas, operators `!=`, `==`, `=`, `\`-escapes in values) and the per-kind field label
//! conversions in `pkg/apis/core/v1/conversion.go`, `pkg/apis/apps/v1/conversion.go`,
//! `pkg/apis/batch/v1/conversion.go`, `pkg/apis/events/v1/conversion.go` (unsupported fields get
//! `field label not supported: spec.foo`). A missing field selects as the empty string, as the
//! registries' `ToSelectableFields` do (`spec.nodeName=` selects unscheduled pods).

use std::fmt;

use crate::kinds::Kind;
use crate::object::Object;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOperator {
    Equals,
    NotEquals,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldTerm {
    pub field: String,
    pub operator: FieldOperator,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldSelectorError {
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    Syntax { selector: String, term: String },
    #[error("invalid field selector value '{0}': invalid escape sequence")]
    Escape(String),
    #[error("field label not supported: {0}")]
    Unsupported(String),
}

/// A conjunction of field terms; empty selects everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
}

impl FieldSelector {
    pub fn everything() -> FieldSelector {
        FieldSelector::default()
    }

    pub fn terms(&self) -> &[FieldTerm] {
        &self.terms
    }

    pub fn is_everything(&self) -> bool {
        self.terms.is_empty()
    }

    /// `fields.ParseSelector`.
    pub fn parse(selector: &str) -> Result<FieldSelector, FieldSelectorError> {
        let mut parts = split_terms(selector);
        parts.sort();
        let mut terms = Vec::new();
        for part in parts.iter().filter(|p| !p.is_empty()) {
            let syntax = || FieldSelectorError::Syntax {
                selector: selector.to_string(),
                term: part.clone(),
            };
            let (field, operator, raw) = split_term(part).ok_or_else(syntax)?;
            terms.push(FieldTerm {
                field: field.to_string(),
                operator,
                value: unescape(raw)?,
            });
        }
        Ok(FieldSelector { terms })
    }

    /// The apiserver's per-kind check: every field must be one the kind supports.
    pub fn check_supported(&self, kind: Kind) -> Result<(), FieldSelectorError> {
        match self
            .terms
            .iter()
            .find(|t| !supported_fields(kind).contains(&t.field.as_str()))
        {
            Some(t) => Err(FieldSelectorError::Unsupported(t.field.clone())),
            None => Ok(()),
        }
    }

    /// Parses and checks for `kind` in one step, as a list request does.
    pub fn parse_for(selector: &str, kind: Kind) -> Result<FieldSelector, FieldSelectorError> {
        let s = FieldSelector::parse(selector)?;
        s.check_supported(kind)?;
        Ok(s)
    }

    /// The value `spec.nodeName=x` asks for, if this selector pins one exactly (the watch
    /// cache indexes pods by node on it).
    pub fn required_value(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.field == field && t.operator == FieldOperator::Equals)
            .map(|t| t.value.as_str())
    }

    pub fn matches(&self, object: &Object) -> bool {
        self.terms.iter().all(|t| {
            let value = field_value(object, &t.field);
            let equal = value.as_deref().unwrap_or("") == t.value;
            match t.operator {
                FieldOperator::Equals => equal,
                FieldOperator::NotEquals => !equal,
            }
        })
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .terms
            .iter()
            .map(|t| {
                let op = match t.operator {
                    FieldOperator::Equals => "=",
                    FieldOperator::NotEquals => "!=",
                };
                format!("{}{op}{}", t.field, escape(&t.value))
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

fn split_terms(selector: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in selector.chars() {
        if escaped {
            current.push(c);
            escaped = false;
        } else if c == '\\' {
            current.push(c);
            escaped = true;
        } else if c == ',' {
            terms.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    terms.push(current);
    terms
}

/// The first operator from the left wins; at one position `!=` and `==` before `=`.
fn split_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (op, operator) in [
            ("!=", FieldOperator::NotEquals),
            ("==", FieldOperator::Equals),
            ("=", FieldOperator::Equals),
        ] {
            if let Some(value) = rest.strip_prefix(op) {
                return Some((&term[..i], operator, value));
            }
        }
    }
    None
}

fn unescape(value: &str) -> Result<String, FieldSelectorError> {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | ',' | '=')) => out.push(e),
                _ => return Err(FieldSelectorError::Escape(value.to_string())),
            },
            ',' | '=' => return Err(FieldSelectorError::Escape(value.to_string())),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace('=', "\\=")
}

const META: [&str; 2] = ["metadata.name", "metadata.namespace"];

/// The fields a kind can be selected by.
pub fn supported_fields(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Pod => &[
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        ],
        Kind::Node => &["metadata.name", "spec.unschedulable"],
        Kind::Namespace => &["metadata.name", "status.phase"],
        Kind::Secret => &["metadata.name", "metadata.namespace", "type"],
        Kind::Service => &[
            "metadata.name",
            "metadata.namespace",
            "spec.clusterIP",
            "spec.type",
        ],
        Kind::ReplicaSet => &["metadata.name", "metadata.namespace", "status.replicas"],
        Kind::Job => &["metadata.name", "metadata.namespace", "status.successful"],
        Kind::Event => &[
            "metadata.name",
            "metadata.namespace",
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        Kind::EventsV1Event => &[
            "metadata.name",
            "metadata.namespace",
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reason",
            "reportingController",
            "type",
        ],
        _ => &META,
    }
}

/// The value of a selectable field, `None` when the object does not have it set.
pub fn field_value(object: &Object, field: &str) -> Option<String> {
    match field {
        "metadata.name" => return object.metadata().name.clone(),
        "metadata.namespace" => return object.metadata().namespace.clone(),
        _ => {}
    }
    match object {
        Object::Pod(p) => {
            let spec = p.spec.as_ref();
            let status = p.status.as_ref();
            match field {
                "spec.nodeName" => spec?.node_name.clone(),
                "spec.restartPolicy" => spec?.restart_policy.clone(),
                "spec.schedulerName" => spec?.scheduler_name.clone(),
                "spec.serviceAccountName" => spec?.service_account_name.clone(),
                "spec.hostNetwork" => Some(
                    spec.and_then(|s| s.host_network)
                        .unwrap_or(false)
                        .to_string(),
                ),
                "status.phase" => status?.phase.clone(),
                "status.podIP" => status?.pod_ip.clone(),
                // Upstream selects on the first IP only when one exists.
                "status.podIPs" => status?.pod_ips.as_ref()?.first().map(|ip| ip.ip.clone()),
                "status.nominatedNodeName" => status?.nominated_node_name.clone(),
                _ => None,
            }
        }
        Object::Node(n) => match field {
            "spec.unschedulable" => Some(
                n.spec
                    .as_ref()
                    .and_then(|s| s.unschedulable)
                    .unwrap_or(false)
                    .to_string(),
            ),
            _ => None,
        },
        Object::Namespace(ns) => match field {
            "status.phase" => ns.status.as_ref()?.phase.clone(),
            _ => None,
        },
        Object::Secret(s) => match field {
            "type" => s.type_.clone(),
            _ => None,
        },
        Object::Service(s) => match field {
            "spec.clusterIP" => s.spec.as_ref()?.cluster_ip.clone(),
            "spec.type" => s.spec.as_ref()?.type_.clone(),
            _ => None,
        },
        Object::ReplicaSet(rs) => match field {
            "status.replicas" => rs.status.as_ref().map(|s| s.replicas.to_string()),
            _ => None,
        },
        Object::Job(j) => match field {
            "status.successful" => Some(
                j.status
                    .as_ref()
                    .and_then(|s| s.succeeded)
                    .unwrap_or(0)
                    .to_string(),
            ),
            _ => None,
        },
        Object::Event(e) => {
            let o = &e.involved_object;
            match field {
                "involvedObject.kind" => o.kind.clone(),
                "involvedObject.namespace" => o.namespace.clone(),
                "involvedObject.name" => o.name.clone(),
                "involvedObject.uid" => o.uid.clone(),
                "involvedObject.apiVersion" => o.api_version.clone(),
                "involvedObject.resourceVersion" => o.resource_version.clone(),
                "involvedObject.fieldPath" => o.field_path.clone(),
                "reason" => e.reason.clone(),
                "reportingComponent" => e.reporting_component.clone(),
                "source" => e.source.as_ref()?.component.clone(),
                "type" => e.type_.clone(),
                _ => None,
            }
        }
        Object::EventsV1Event(e) => {
            let o = e.regarding.as_ref();
            match field {
                "regarding.kind" => o?.kind.clone(),
                "regarding.namespace" => o?.namespace.clone(),
                "regarding.name" => o?.name.clone(),
                "regarding.uid" => o?.uid.clone(),
                "regarding.apiVersion" => o?.api_version.clone(),
                "regarding.resourceVersion" => o?.resource_version.clone(),
                "regarding.fieldPath" => o?.field_path.clone(),
                "reason" => e.reason.clone(),
                "reportingController" => e.reporting_controller.clone(),
                "type" => e.type_.clone(),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Pod, PodSpec, PodStatus};

    fn pod(name: &str, node: Option<&str>, phase: &str) -> Object {
        Object::from(Pod {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                ..Default::default()
            },
            spec: Some(PodSpec {
                node_name: node.map(Into::into),
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some(phase.into()),
                ..Default::default()
            }),
        })
    }

    #[test]
    fn selects_pods() {
        let running = pod("a", Some("kubesim-worker"), "Running");
        let pending = pod("b", None, "Pending");
        let cases: &[(&str, bool, bool)] = &[
            ("", true, true),
            ("metadata.name=a", true, false),
            ("metadata.name==a", true, false),
            ("metadata.namespace=default", true, true),
            ("spec.nodeName=", false, true),
            ("spec.nodeName!=", true, false),
            ("spec.nodeName=kubesim-worker", true, false),
            ("status.phase!=Running", false, true),
            ("status.phase!=Running,status.phase!=Succeeded", false, true),
            ("status.phase=Running,metadata.name=b", false, false),
            ("spec.hostNetwork=false", true, true),
        ];
        for (text, a, b) in cases {
            let s =
                FieldSelector::parse_for(text, Kind::Pod).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                (s.matches(&running), s.matches(&pending)),
                (*a, *b),
                "{text}"
            );
        }
        let s = FieldSelector::parse("spec.nodeName=kubesim-worker2,status.phase=Running").unwrap();
        assert_eq!(s.required_value("spec.nodeName"), Some("kubesim-worker2"));
    }

    #[test]
    fn errors() {
        assert_eq!(
            FieldSelector::parse_for("spec.foo=x", Kind::Pod)
                .unwrap_err()
                .to_string(),
            "field label not supported: spec.foo"
        );
        assert_eq!(
            FieldSelector::parse_for("spec.nodeName=x", Kind::Deployment)
                .unwrap_err()
                .to_string(),
            "field label not supported: spec.nodeName"
        );
        assert_eq!(
            FieldSelector::parse("status.phase")
                .unwrap_err()
                .to_string(),
            "invalid selector: 'status.phase'; can't understand 'status.phase'"
        );
        assert!(FieldSelector::parse_for("metadata.namespace=x", Kind::Node).is_err());
    }

    #[test]
    fn escapes() {
        let s = FieldSelector::parse(r"metadata.name=a\,b,type=x\=y").unwrap();
        let values: Vec<&str> = s.terms().iter().map(|t| t.value.as_str()).collect();
        assert_eq!(values, vec!["a,b", "x=y"]);
        assert_eq!(s.to_string(), r"metadata.name=a\,b,type=x\=y");
        assert!(FieldSelector::parse(r"metadata.name=a\x").is_err());
    }
}
