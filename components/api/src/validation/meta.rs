//! ObjectMeta validation, as `staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go`
//! (ValidateObjectMeta): a name (or generateName) is required and follows the kind's name rule
//! (F23), namespaced kinds need a valid namespace and cluster-scoped ones may not have one,
//! labels and annotations are well-formed.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::field::{BadValue, ErrorList, FieldError};
use super::names::{self, NameRule};
use crate::kinds::{Kind, KindInfo};

/// The name rule each kind's registry strategy applies (F23).
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

pub fn validate_object_meta(meta: &ObjectMeta, info: &KindInfo) -> ErrorList {
    let mut errs = ErrorList::new();
    let name = meta.name.as_deref().unwrap_or("");
    let generate_name = meta.generate_name.as_deref().unwrap_or("");
    if name.is_empty() {
        if generate_name.is_empty() {
            errs.push(FieldError::required(
                "metadata.name",
                "name or generateName is required",
            ));
        }
    } else {
        for m in name_rule(info.kind).check(name) {
            errs.push(FieldError::invalid(
                "metadata.name",
                BadValue::Str(name.into()),
                m,
            ));
        }
    }
    let namespace = meta.namespace.as_deref().unwrap_or("");
    if info.namespaced {
        if namespace.is_empty() {
            errs.push(FieldError::required("metadata.namespace", ""));
        } else {
            for m in names::dns1123_label(namespace) {
                errs.push(FieldError::invalid(
                    "metadata.namespace",
                    BadValue::Str(namespace.into()),
                    m,
                ));
            }
        }
    } else if !namespace.is_empty() {
        errs.push(FieldError::forbidden(
            "metadata.namespace",
            "not allowed on this type",
        ));
    }
    if let Some(labels) = &meta.labels {
        errs.extend(names::validate_labels(labels, "metadata.labels"));
    }
    if let Some(annotations) = &meta.annotations {
        errs.extend(names::validate_annotations(
            annotations,
            "metadata.annotations",
        ));
    }
    for (i, f) in meta.finalizers.iter().flatten().enumerate() {
        for m in names::qualified_name(f) {
            errs.push(FieldError::invalid(
                format!("metadata.finalizers[{i}]"),
                BadValue::Str(f.clone()),
                m,
            ));
        }
    }
    errs
}
