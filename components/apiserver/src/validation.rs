//! Object validation the apiserver runs after admission's mutating phase: object metadata for
//! every kind and the few spec rules kubesim's scenarios exercise. Per-kind validation belongs
//! in `components/api` next to defaulting; this module holds what is not there yet and should
//! move there.
//!
//! Follows `staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go`
//! (`ValidateObjectMeta`: name or generateName required, the name rule of the kind, labels,
//! annotations, namespace required/forbidden by scope) and `pkg/apis/apps/validation`,
//! `pkg/apis/core/validation` for `replicas >= 0`, a pod's containers and a Service's ports.
//! Simplification: only those spec rules.

use api::validation::names::{NameRule, validate_annotations, validate_labels};
use api::validation::{BadValue, ErrorList, FieldError};
use api::{Kind, Object};

/// The name rule of a kind (F23).
pub fn name_rule(kind: Kind) -> NameRule {
    match kind {
        Kind::Namespace => NameRule::Label,
        Kind::Service => NameRule::Dns1035,
        Kind::Role | Kind::ClusterRole | Kind::RoleBinding | Kind::ClusterRoleBinding => {
            NameRule::PathSegment
        }
        _ => NameRule::Subdomain,
    }
}

pub fn validate(o: &Object) -> ErrorList {
    let mut errs = ErrorList::new();
    let meta = o.metadata();
    match meta.name.as_deref() {
        None | Some("") => errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        )),
        Some(name) => {
            for m in name_rule(o.kind()).check(name) {
                errs.push(FieldError::invalid(
                    "metadata.name",
                    BadValue::Str(name.to_string()),
                    m,
                ));
            }
        }
    }
    if let Some(l) = &meta.labels {
        errs.extend(validate_labels(l, "metadata.labels"));
    }
    if let Some(a) = &meta.annotations {
        errs.extend(validate_annotations(a, "metadata.annotations"));
    }
    let replicas = |r: Option<i32>, errs: &mut ErrorList| {
        if let Some(r) = r
            && r < 0
        {
            errs.push(FieldError::invalid(
                "spec.replicas",
                BadValue::Int(i64::from(r)),
                "must be greater than or equal to 0",
            ));
        }
    };
    match o {
        Object::Deployment(d) => replicas(d.spec.replicas, &mut errs),
        Object::ReplicaSet(r) => replicas(r.spec.replicas, &mut errs),
        Object::StatefulSet(s) => replicas(s.spec.replicas, &mut errs),
        Object::Pod(p) if p.spec.as_ref().is_none_or(|s| s.containers.is_empty()) => {
            errs.push(FieldError::required("spec.containers", ""));
        }
        Object::Service(s) => {
            let spec = s.spec.as_ref();
            let headless_or_external = spec.is_some_and(|s| {
                s.type_.as_deref() == Some("ExternalName")
                    || s.cluster_ip.as_deref() == Some("None")
            });
            if !headless_or_external
                && spec
                    .and_then(|s| s.ports.as_ref())
                    .is_none_or(|p| p.is_empty())
            {
                errs.push(FieldError::required("spec.ports", ""));
            }
        }
        _ => {}
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};

    #[test]
    fn messages() {
        let d = Deployment {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some("web".into()),
                ..Default::default()
            },
            spec: DeploymentSpec {
                replicas: Some(-1),
                ..Default::default()
            },
            ..Default::default()
        };
        let errs = validate(&Object::from(d));
        assert_eq!(
            api::validation::aggregate(&errs),
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0"
        );
        let mut ns = k8s_openapi::api::core::v1::Namespace::default();
        ns.metadata.name = Some("Bad_Name".into());
        let errs = validate(&Object::from(ns));
        assert!(
            errs[0].to_string().starts_with(
                "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 label"
            )
        );
    }
}
