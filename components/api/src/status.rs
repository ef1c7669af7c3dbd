//! `StatusError`: what the apiserver answers when a request fails (code, reason, message,
//! details), and how kubectl prints it.
//!
//! Follows `staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go` (constructors and their
//! messages: `deployments.apps "x" not found`, `Operation cannot be fulfilled on ...`,
//! `Deployment.apps "web" is invalid: [...]`), the RBAC denial text of
//! `staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go`, and
//! kubectl's printing in `staging/src/k8s.io/kubectl/pkg/cmd/util/helpers.go`
//! (`Error from server (Reason): ...`; for 422 `The Deployment "web" is invalid: ...` built
//! from the causes, one per line after `* ` when there are several; `AddSourceToErr`'s
//! `error when creating "x.yaml": `).

use std::fmt;

use crate::kinds::KindInfo;
use crate::validation::field::{FieldError, aggregate};

/// The apiserver's message for a stale resourceVersion (F4).
pub const OPTIMISTIC_LOCK_MESSAGE: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusReason {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    AlreadyExists,
    Conflict,
    Gone,
    Expired,
    RequestEntityTooLarge,
    Invalid,
    TooManyRequests,
    InternalError,
    ServiceUnavailable,
    Timeout,
    ServerTimeout,
}

impl StatusReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusReason::BadRequest => "BadRequest",
            StatusReason::Unauthorized => "Unauthorized",
            StatusReason::Forbidden => "Forbidden",
            StatusReason::NotFound => "NotFound",
            StatusReason::MethodNotAllowed => "MethodNotAllowed",
            StatusReason::AlreadyExists => "AlreadyExists",
            StatusReason::Conflict => "Conflict",
            StatusReason::Gone => "Gone",
            StatusReason::Expired => "Expired",
            StatusReason::RequestEntityTooLarge => "RequestEntityTooLarge",
            StatusReason::Invalid => "Invalid",
            StatusReason::TooManyRequests => "TooManyRequests",
            StatusReason::InternalError => "InternalError",
            StatusReason::ServiceUnavailable => "ServiceUnavailable",
            StatusReason::Timeout => "Timeout",
            StatusReason::ServerTimeout => "ServerTimeout",
        }
    }
}

impl fmt::Display for StatusReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One field-level cause of a 422.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCause {
    /// `FieldValueInvalid`, `FieldValueRequired`, ...
    pub cause_type: String,
    /// The error body without the field (`Invalid value: -1: must be ...`).
    pub message: String,
    pub field: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusDetails {
    pub name: String,
    pub group: String,
    /// The kind for 422s, the resource (plural) for the others, as upstream fills it.
    pub kind: String,
    pub causes: Vec<StatusCause>,
    pub retry_after_seconds: Option<u32>,
}

/// A failed request, as a `metav1.Status` with `status: Failure`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StatusError {
    pub code: u16,
    pub reason: StatusReason,
    pub message: String,
    /// Boxed: errors travel in `Result`s, and most have no details.
    pub details: Option<Box<StatusDetails>>,
}

impl StatusError {
    fn with_details(
        code: u16,
        reason: StatusReason,
        message: String,
        details: StatusDetails,
    ) -> Self {
        StatusError {
            code,
            reason,
            message,
            details: Some(Box::new(details)),
        }
    }

    fn resource_details(info: &KindInfo, name: &str) -> StatusDetails {
        StatusDetails {
            name: name.to_string(),
            group: info.group.to_string(),
            kind: info.plural.to_string(),
            ..Default::default()
        }
    }

    /// 404: `deployments.apps "x" not found`.
    pub fn not_found(info: &KindInfo, name: &str) -> Self {
        Self::with_details(
            404,
            StatusReason::NotFound,
            format!("{} \"{name}\" not found", info.qualified_resource()),
            Self::resource_details(info, name),
        )
    }

    /// 404 for a namespace that does not exist, as the NamespaceLifecycle admission says it.
    pub fn namespace_not_found(namespace: &str) -> Self {
        Self::not_found(crate::Kind::Namespace.info(), namespace)
    }

    /// 409: `pods "x" already exists`.
    pub fn already_exists(info: &KindInfo, name: &str) -> Self {
        Self::with_details(
            409,
            StatusReason::AlreadyExists,
            format!("{} \"{name}\" already exists", info.qualified_resource()),
            Self::resource_details(info, name),
        )
    }

    /// 409: `Operation cannot be fulfilled on deployments.apps "web": <why>`.
    pub fn conflict(info: &KindInfo, name: &str, why: &str) -> Self {
        Self::with_details(
            409,
            StatusReason::Conflict,
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                info.qualified_resource()
            ),
            Self::resource_details(info, name),
        )
    }

    /// 409 for a stale resourceVersion (F4).
    pub fn stale_resource_version(info: &KindInfo, name: &str) -> Self {
        Self::conflict(info, name, OPTIMISTIC_LOCK_MESSAGE)
    }

    /// 422: `Deployment.apps "web" is invalid: [a, b]`, one cause per field error.
    pub fn invalid(info: &KindInfo, name: &str, errors: &[FieldError]) -> Self {
        let causes = errors
            .iter()
            .map(|e| StatusCause {
                cause_type: e.error_type.cause_type().to_string(),
                message: e.body(),
                field: e.field.clone(),
            })
            .collect();
        Self::with_details(
            422,
            StatusReason::Invalid,
            format!(
                "{} \"{name}\" is invalid: {}",
                info.qualified_kind(),
                aggregate(errors)
            ),
            StatusDetails {
                name: name.to_string(),
                group: info.group.to_string(),
                kind: info.name.to_string(),
                causes,
                retry_after_seconds: None,
            },
        )
    }

    /// 403: `pods "x" is forbidden: <why>`, or `pods is forbidden: <why>` without a name.
    pub fn forbidden(info: &KindInfo, name: &str, why: &str) -> Self {
        let resource = info.qualified_resource();
        let message = if name.is_empty() {
            format!("{resource} is forbidden: {why}")
        } else {
            format!("{resource} \"{name}\" is forbidden: {why}")
        };
        Self::with_details(
            403,
            StatusReason::Forbidden,
            message,
            Self::resource_details(info, name),
        )
    }

    /// 403 from RBAC: `User "alice" cannot list resource "pods" in API group "" in the
    /// namespace "default"` (or `at the cluster scope`).
    pub fn rbac_forbidden(
        info: &KindInfo,
        name: &str,
        user: &str,
        verb: &str,
        namespace: &str,
    ) -> Self {
        let scope = if namespace.is_empty() {
            "at the cluster scope".to_string()
        } else {
            format!("in the namespace \"{namespace}\"")
        };
        let why = format!(
            "User \"{user}\" cannot {verb} resource \"{}\" in API group \"{}\" {scope}",
            info.plural, info.group
        );
        Self::forbidden(info, name, &why)
    }

    /// 400 with the given message (strict decoding, malformed requests).
    pub fn bad_request(message: impl Into<String>) -> Self {
        StatusError {
            code: 400,
            reason: StatusReason::BadRequest,
            message: message.into(),
            details: None,
        }
    }

    /// 410 Gone.
    pub fn gone(message: impl Into<String>) -> Self {
        StatusError {
            code: 410,
            reason: StatusReason::Gone,
            message: message.into(),
            details: None,
        }
    }

    /// 410 Expired: a watch or list from a compacted revision (F5).
    pub fn resource_expired(message: impl Into<String>) -> Self {
        StatusError {
            code: 410,
            reason: StatusReason::Expired,
            message: message.into(),
            details: None,
        }
    }

    /// 405: `the server does not allow this method on the requested resource`.
    pub fn method_not_allowed(info: &KindInfo, action: &str) -> Self {
        Self::with_details(
            405,
            StatusReason::MethodNotAllowed,
            format!(
                "{action} is not supported on resources of kind \"{}\"",
                info.qualified_resource()
            ),
            Self::resource_details(info, ""),
        )
    }

    /// 500: `Internal error occurred: <why>`.
    pub fn internal(why: &str) -> Self {
        StatusError {
            code: 500,
            reason: StatusReason::InternalError,
            message: format!("Internal error occurred: {why}"),
            details: None,
        }
    }

    /// 504: `Timeout: <why>`, as the apiserver answers when storage does not (no quorum).
    pub fn server_timeout(why: &str) -> Self {
        StatusError {
            code: 504,
            reason: StatusReason::Timeout,
            message: format!("Timeout: {why}"),
            details: None,
        }
    }

    /// 429 with a retry hint.
    pub fn too_many_requests(message: &str, retry_after_seconds: u32) -> Self {
        Self::with_details(
            429,
            StatusReason::TooManyRequests,
            message.to_string(),
            StatusDetails {
                retry_after_seconds: Some(retry_after_seconds),
                ..Default::default()
            },
        )
    }

    /// kubectl's `AddSourceToErr`: the message gains `error when <verb> "<source>": `.
    pub fn with_source(mut self, verb: &str, source: &str) -> Self {
        self.message = format!("error when {verb} \"{source}\": {}", self.message);
        self
    }

    /// What kubectl prints for this error (without the trailing newline).
    pub fn kubectl_message(&self) -> String {
        if self.reason == StatusReason::Invalid
            && let Some(d) = &self.details
        {
            let mut prefix = "The request is invalid".to_string();
            if !d.kind.is_empty() || !d.name.is_empty() {
                prefix = format!("The {} \"{}\" is invalid", d.kind, d.name);
            }
            let mut seen = std::collections::BTreeSet::new();
            let causes: Vec<String> = d
                .causes
                .iter()
                .map(|c| format!("{}: {}", c.field, c.message))
                .filter(|m| seen.insert(m.clone()))
                .collect();
            return match causes.len() {
                0 => prefix,
                1 => format!("{prefix}: {}", causes[0]),
                _ => {
                    let lines: Vec<String> = causes.iter().map(|c| format!("* {c}")).collect();
                    format!("{prefix}: \n{}", lines.join("\n"))
                }
            };
        }
        if self.reason == StatusReason::Unauthorized {
            return format!(
                "error: You must be logged in to the server ({})",
                self.message
            );
        }
        format!("Error from server ({}): {}", self.reason, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;
    use crate::validation::field::BadValue;

    #[test]
    fn kubectl_prints_like_kubectl() {
        let deploy = Kind::Deployment.info();
        let pods = Kind::Pod.info();
        let replicas = FieldError::invalid(
            "spec.replicas",
            BadValue::Int(-1),
            "must be greater than or equal to 0",
        );
        let image = FieldError::required("spec.template.spec.containers[0].image", "");
        let cases = [
            (
                StatusError::not_found(deploy, "x"),
                404,
                "deployments.apps \"x\" not found",
                "Error from server (NotFound): deployments.apps \"x\" not found",
            ),
            (
                StatusError::stale_resource_version(deploy, "web"),
                409,
                "Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; please apply your changes to the latest version and try again",
                "Error from server (Conflict): Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; please apply your changes to the latest version and try again",
            ),
            (
                StatusError::rbac_forbidden(pods, "", "alice", "list", "default"),
                403,
                "pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"",
                "Error from server (Forbidden): pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"",
            ),
            (
                StatusError::rbac_forbidden(Kind::Node.info(), "n1", "bob", "delete", ""),
                403,
                "nodes \"n1\" is forbidden: User \"bob\" cannot delete resource \"nodes\" in API group \"\" at the cluster scope",
                "Error from server (Forbidden): nodes \"n1\" is forbidden: User \"bob\" cannot delete resource \"nodes\" in API group \"\" at the cluster scope",
            ),
            (
                StatusError::already_exists(pods, "web-0"),
                409,
                "pods \"web-0\" already exists",
                "Error from server (AlreadyExists): pods \"web-0\" already exists",
            ),
            (
                StatusError::invalid(deploy, "web", std::slice::from_ref(&replicas)),
                422,
                "Deployment.apps \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                "The Deployment \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0",
            ),
            (
                StatusError::invalid(deploy, "web", &[replicas.clone(), image.clone()]),
                422,
                "Deployment.apps \"web\" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, spec.template.spec.containers[0].image: Required value]",
                "The Deployment \"web\" is invalid: \n* spec.replicas: Invalid value: -1: must be greater than or equal to 0\n* spec.template.spec.containers[0].image: Required value",
            ),
            (
                StatusError::resource_expired("too old resource version: 5 (120)"),
                410,
                "too old resource version: 5 (120)",
                "Error from server (Expired): too old resource version: 5 (120)",
            ),
        ];
        for (err, code, message, printed) in cases {
            assert_eq!(err.code, code, "{message}");
            assert_eq!(err.message, message);
            assert_eq!(err.kubectl_message(), printed);
        }
    }

    #[test]
    fn strict_decoding_on_create_names_the_file() {
        let decode = crate::strict::decode(&serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "spec": {"containers": [], "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preferance": {}}]}}}
        }))
        .unwrap_err();
        let err = StatusError::bad_request(decode.to_string()).with_source("creating", "x.yaml");
        assert_eq!(
            err.kubectl_message(),
            "Error from server (BadRequest): error when creating \"x.yaml\": Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preferance\""
        );
        let invalid = StatusError::invalid(
            Kind::Deployment.info(),
            "web",
            &[FieldError::invalid(
                "spec.replicas",
                BadValue::Int(-1),
                "must be greater than or equal to 0",
            )],
        )
        .with_source("creating", "x.yaml");
        assert!(
            invalid
                .kubectl_message()
                .starts_with("The Deployment \"web\" is invalid: spec.replicas")
        );
    }
}
