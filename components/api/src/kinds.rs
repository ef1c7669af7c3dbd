//! The kind registry: for every built-in kind kubesim serves, its apiVersion, group, version,
//! plural resource name, singular name, short names and scope — what kubectl's RESTMapper needs
//! to resolve `get deploy`, `get deployments.apps`, `get po`, `get Deployment`.
//!
//! Follows the discovery documents a v1.3x kube-apiserver serves (`kubectl api-resources`) and
//! kubectl's resolution in `staging/src/k8s.io/apimachinery/pkg/api/meta/restmapper.go` and
//! `staging/src/k8s.io/client-go/restmapper/shortcut.go`. Simplification: one version per group
//! (the preferred one); `events` without a group resolves to core/v1 as kubectl's discovery
//! order (legacy group first) does.

use std::fmt;

/// A built-in kind. The order is the discovery order (legacy group first), which decides
/// ambiguous names such as `events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Pod,
    Node,
    Namespace,
    Service,
    Endpoints,
    ConfigMap,
    Secret,
    ServiceAccount,
    /// core/v1 Event (what `kubectl get events` shows).
    Event,
    Deployment,
    ReplicaSet,
    DaemonSet,
    StatefulSet,
    Job,
    EndpointSlice,
    Lease,
    /// events.k8s.io/v1 Event.
    EventsV1Event,
    Role,
    ClusterRole,
    RoleBinding,
    ClusterRoleBinding,
    PriorityClass,
    PodDisruptionBudget,
}

/// What discovery says about one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    pub kind: Kind,
    /// The `kind` field, e.g. `Deployment`.
    pub name: &'static str,
    /// `apps/v1`, or `v1` for the core group.
    pub api_version: &'static str,
    /// Empty for the core group.
    pub group: &'static str,
    pub version: &'static str,
    /// The resource, e.g. `deployments`.
    pub plural: &'static str,
    pub singular: &'static str,
    pub short_names: &'static [&'static str],
    pub namespaced: bool,
}

impl KindInfo {
    /// `deployments.apps`, or `pods` for the core group: how the apiserver names a resource in
    /// its messages (`deployments.apps "x" not found`).
    pub fn qualified_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `Deployment.apps`, or `Pod` for the core group: the GroupKind form used in 422 messages.
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.name.to_string()
        } else {
            format!("{}.{}", self.name, self.group)
        }
    }
}

macro_rules! registry {
    ($( $kind:ident => $ty:ty, $singular:literal, [$($short:literal),*], $namespaced:literal; )*) => {
        /// Every kind, in discovery order.
        pub const ALL_KINDS: &[KindInfo] = &[
            $( KindInfo {
                kind: Kind::$kind,
                name: <$ty as k8s_openapi::Resource>::KIND,
                api_version: <$ty as k8s_openapi::Resource>::API_VERSION,
                group: <$ty as k8s_openapi::Resource>::GROUP,
                version: <$ty as k8s_openapi::Resource>::VERSION,
                plural: <$ty as k8s_openapi::Resource>::URL_PATH_SEGMENT,
                singular: $singular,
                short_names: &[$($short),*],
                namespaced: $namespaced,
            }, )*
        ];
    };
}

use k8s_openapi::api::{
    apps::v1 as apps, batch::v1 as batch, coordination::v1 as coordination, core::v1 as core,
    discovery::v1 as discovery, events::v1 as events, policy::v1 as policy, rbac::v1 as rbac,
    scheduling::v1 as scheduling,
};

registry! {
    Pod => core::Pod, "pod", ["po"], true;
    Node => core::Node, "node", ["no"], false;
    Namespace => core::Namespace, "namespace", ["ns"], false;
    Service => core::Service, "service", ["svc"], true;
    Endpoints => core::Endpoints, "endpoints", ["ep"], true;
    ConfigMap => core::ConfigMap, "configmap", ["cm"], true;
    Secret => core::Secret, "secret", [], true;
    ServiceAccount => core::ServiceAccount, "serviceaccount", ["sa"], true;
    Event => core::Event, "event", ["ev"], true;
    Deployment => apps::Deployment, "deployment", ["deploy"], true;
    ReplicaSet => apps::ReplicaSet, "replicaset", ["rs"], true;
    DaemonSet => apps::DaemonSet, "daemonset", ["ds"], true;
    StatefulSet => apps::StatefulSet, "statefulset", ["sts"], true;
    Job => batch::Job, "job", [], true;
    EndpointSlice => discovery::EndpointSlice, "endpointslice", [], true;
    Lease => coordination::Lease, "lease", [], true;
    EventsV1Event => events::Event, "event", ["ev"], true;
    Role => rbac::Role, "role", [], true;
    ClusterRole => rbac::ClusterRole, "clusterrole", [], false;
    RoleBinding => rbac::RoleBinding, "rolebinding", [], true;
    ClusterRoleBinding => rbac::ClusterRoleBinding, "clusterrolebinding", [], false;
    PriorityClass => scheduling::PriorityClass, "priorityclass", ["pc"], false;
    PodDisruptionBudget => policy::PodDisruptionBudget, "poddisruptionbudget", ["pdb"], true;
}

impl Kind {
    pub fn info(self) -> &'static KindInfo {
        // ALL_KINDS is written in the enum's order; the test below keeps them in step.
        &ALL_KINDS[self as usize]
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.info().name)
    }
}

/// The kind served for `kind` in `apiVersion`, as the apiserver's scheme knows it.
pub fn kind_for(api_version: &str, kind: &str) -> Option<&'static KindInfo> {
    ALL_KINDS
        .iter()
        .find(|k| k.api_version == api_version && k.name == kind)
}

/// kubectl's error when a resource name resolves to nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the server doesn't have a resource type \"{0}\"")]
pub struct UnknownResource(pub String);

/// Resolves what a user types after `kubectl get`: a plural (`deployments`), singular
/// (`deployment`), short name (`deploy`), kind (`Deployment`, case-insensitive), each optionally
/// qualified by group (`deployments.apps`) or version and group (`deployments.v1.apps`).
pub fn resolve_resource(arg: &str) -> Result<&'static KindInfo, UnknownResource> {
    let unknown = || UnknownResource(arg.to_string());
    let lower = arg.to_ascii_lowercase();
    let (name, qualifier) = match lower.split_once('.') {
        Some((name, rest)) => (name, Some(rest)),
        None => (lower.as_str(), None),
    };
    let name_matches = |k: &KindInfo| {
        k.plural == name
            || k.singular == name
            || k.name.eq_ignore_ascii_case(name)
            || k.short_names.contains(&name)
    };
    let group_matches = |k: &KindInfo| match qualifier {
        None => true,
        Some(q) => {
            q == k.group
                || (format!("{}.{}", k.version, k.group) == q)
                || (k.group.is_empty() && q == k.version)
        }
    };
    ALL_KINDS
        .iter()
        .find(|k| name_matches(k) && group_matches(k))
        .ok_or_else(unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_in_enum_order() {
        for (i, info) in ALL_KINDS.iter().enumerate() {
            assert_eq!(info.kind as usize, i, "{}", info.name);
        }
    }

    #[test]
    fn resolves_like_kubectl() {
        let cases: &[(&str, &str, &str)] = &[
            ("po", "Pod", "v1"),
            ("pods", "Pod", "v1"),
            ("pod", "Pod", "v1"),
            ("Pod", "Pod", "v1"),
            ("deploy", "Deployment", "apps/v1"),
            ("deployments.apps", "Deployment", "apps/v1"),
            ("deployments.v1.apps", "Deployment", "apps/v1"),
            ("deployment.apps", "Deployment", "apps/v1"),
            ("rs", "ReplicaSet", "apps/v1"),
            ("ds", "DaemonSet", "apps/v1"),
            ("sts", "StatefulSet", "apps/v1"),
            ("svc", "Service", "v1"),
            ("ns", "Namespace", "v1"),
            ("no", "Node", "v1"),
            ("ep", "Endpoints", "v1"),
            ("cm", "ConfigMap", "v1"),
            ("sa", "ServiceAccount", "v1"),
            ("ev", "Event", "v1"),
            ("events", "Event", "v1"),
            ("events.events.k8s.io", "Event", "events.k8s.io/v1"),
            ("endpointslices", "EndpointSlice", "discovery.k8s.io/v1"),
            (
                "leases.coordination.k8s.io",
                "Lease",
                "coordination.k8s.io/v1",
            ),
            ("pdb", "PodDisruptionBudget", "policy/v1"),
            ("pc", "PriorityClass", "scheduling.k8s.io/v1"),
            (
                "clusterrolebindings",
                "ClusterRoleBinding",
                "rbac.authorization.k8s.io/v1",
            ),
            ("jobs.batch", "Job", "batch/v1"),
        ];
        for (arg, kind, api_version) in cases {
            let info = resolve_resource(arg).unwrap_or_else(|e| panic!("{arg}: {e}"));
            assert_eq!(
                (info.name, info.api_version),
                (*kind, *api_version),
                "{arg}"
            );
        }
    }

    #[test]
    fn unknown_resources_get_kubectls_message() {
        for arg in ["deploymentz", "deployments.batch", "foo"] {
            let err = resolve_resource(arg).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("the server doesn't have a resource type \"{arg}\"")
            );
        }
    }

    #[test]
    fn qualified_names() {
        assert_eq!(
            Kind::Deployment.info().qualified_resource(),
            "deployments.apps"
        );
        assert_eq!(Kind::Pod.info().qualified_resource(), "pods");
        assert_eq!(Kind::Deployment.info().qualified_kind(), "Deployment.apps");
        assert_eq!(Kind::Service.info().qualified_kind(), "Service");
        assert!(!Kind::Node.info().namespaced);
        assert!(Kind::Lease.info().namespaced);
    }
}
