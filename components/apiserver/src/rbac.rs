//! Authorization: the RBAC authorizer over Roles, ClusterRoles and their bindings as the watch
//! cache holds them, and the bootstrap policy the cluster's components need.
//!
//! Follows `plugin/pkg/auth/authorizer/rbac/rbac.go` (`RBACAuthorizer.Authorize`: cluster role
//! bindings, then the role bindings of the request's namespace; a rule matches on verb, API
//! group, resource or `resource/subresource`, and resourceNames, with `*` wildcards) and
//! `plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go` for the roles' names and
//! bindings. `system:masters` is allowed everything before RBAC is asked, as the apiserver's
//! privileged-group authorizer does.
//!
//! Simplifications: no Node authorizer — kubelets get the `system:node` ClusterRole bound to the
//! group `system:nodes` (the pre-1.8 binding), so a kubelet may read any pod or secret, not only
//! its own; the controller-manager runs as one user (`system:kube-controller-manager`, no
//! per-controller service accounts) with access to every resource; `admin`, `edit` and `view`
//! are written out with their rules instead of aggregated by the clusterrole-aggregation
//! controller; the bootstrap roles' rules are trimmed to the resources kubesim serves.

use api::{Kind, Object};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::protocol::{GROUP_MASTERS, Subresource, UserInfo};

/// The attributes RBAC decides on.
pub struct Attributes<'a> {
    pub user: &'a UserInfo,
    pub verb: &'a str,
    pub kind: Kind,
    pub subresource: Option<Subresource>,
    pub namespace: &'a str,
    pub name: &'a str,
}

/// Where the authorizer reads roles and bindings from (the watch cache).
pub trait RbacSource {
    fn cluster_role_bindings(&self) -> Vec<api::SharedObject>;
    fn role_bindings(&self, namespace: &str) -> Vec<api::SharedObject>;
    fn cluster_role(&self, name: &str) -> Option<api::SharedObject>;
    fn role(&self, namespace: &str, name: &str) -> Option<api::SharedObject>;
}

pub fn authorize(src: &dyn RbacSource, a: &Attributes<'_>) -> bool {
    if a.user.groups.iter().any(|g| g == GROUP_MASTERS) {
        return true;
    }
    for b in src.cluster_role_bindings() {
        if let Object::ClusterRoleBinding(b) = b.as_ref()
            && subjects_match(b.subjects.as_deref(), a.user, "")
            && role_allows(src, &b.role_ref, "", a)
        {
            return true;
        }
    }
    if !a.namespace.is_empty() {
        for b in src.role_bindings(a.namespace) {
            if let Object::RoleBinding(b) = b.as_ref()
                && subjects_match(b.subjects.as_deref(), a.user, a.namespace)
                && role_allows(src, &b.role_ref, a.namespace, a)
            {
                return true;
            }
        }
    }
    false
}

fn subjects_match(subjects: Option<&[Subject]>, user: &UserInfo, binding_ns: &str) -> bool {
    subjects
        .unwrap_or(&[])
        .iter()
        .any(|s| match s.kind.as_str() {
            "User" => s.name == user.name,
            "Group" => user.groups.contains(&s.name),
            "ServiceAccount" => {
                let ns = s
                    .namespace
                    .as_deref()
                    .filter(|n| !n.is_empty())
                    .unwrap_or(binding_ns);
                user.service_account_of() == Some((ns, s.name.as_str()))
            }
            _ => false,
        })
}

fn role_allows(
    src: &dyn RbacSource,
    role_ref: &RoleRef,
    namespace: &str,
    a: &Attributes<'_>,
) -> bool {
    let role = match role_ref.kind.as_str() {
        "ClusterRole" => src.cluster_role(&role_ref.name),
        "Role" if !namespace.is_empty() => src.role(namespace, &role_ref.name),
        _ => None,
    };
    let rules = match role.as_deref() {
        Some(Object::ClusterRole(r)) => r.rules.as_deref(),
        Some(Object::Role(r)) => r.rules.as_deref(),
        _ => None,
    };
    rules.unwrap_or(&[]).iter().any(|r| rule_allows(r, a))
}

fn has(list: Option<&[String]>, want: &str) -> bool {
    list.unwrap_or(&[]).iter().any(|v| v == "*" || v == want)
}

/// `RuleAllows`: verb, group, resource (`pods`, `pods/status`, `*`, `*/status`), names.
pub fn rule_allows(rule: &PolicyRule, a: &Attributes<'_>) -> bool {
    let info = a.kind.info();
    if !rule.verbs.iter().any(|v| v == "*" || v == a.verb)
        || !has(rule.api_groups.as_deref(), info.group)
    {
        return false;
    }
    let resource_ok = match a.subresource {
        None => has(rule.resources.as_deref(), info.plural),
        Some(s) => rule.resources.as_deref().unwrap_or(&[]).iter().any(|r| {
            *r == "*"
                || *r == format!("{}/{}", info.plural, s.as_str())
                || *r == format!("*/{}", s.as_str())
        }),
    };
    if !resource_ok {
        return false;
    }
    match rule.resource_names.as_deref() {
        None | Some([]) => true,
        Some(names) => !a.name.is_empty() && names.iter().any(|n| n == a.name),
    }
}

fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> PolicyRule {
    let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    PolicyRule {
        verbs: v(verbs),
        api_groups: Some(v(groups)),
        resources: Some(v(resources)),
        resource_names: None,
        non_resource_urls: None,
    }
}

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];
const ALL: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
];
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        labels: Some(
            [(
                "kubernetes.io/bootstrapping".to_string(),
                "rbac-defaults".to_string(),
            )]
            .into(),
        ),
        annotations: Some(
            [(
                "rbac.authorization.kubernetes.io/autoupdate".to_string(),
                "true".to_string(),
            )]
            .into(),
        ),
        ..Default::default()
    }
}

fn cluster_role(name: &str, rules: Vec<PolicyRule>) -> Object {
    Object::from(ClusterRole {
        metadata: meta(name),
        rules: Some(rules),
        aggregation_rule: None,
    })
}

fn binding(name: &str, role: &str, subject_kind: &str, subject: &str) -> Object {
    Object::from(ClusterRoleBinding {
        metadata: meta(name),
        role_ref: RoleRef {
            api_group: Some(RBAC_GROUP.into()),
            kind: "ClusterRole".into(),
            name: role.into(),
        },
        subjects: Some(vec![Subject {
            api_group: Some(RBAC_GROUP.into()),
            kind: subject_kind.into(),
            name: subject.into(),
            namespace: None,
        }]),
    })
}

/// The namespaced resources `view` reads and `edit` writes.
const WORKLOADS: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "pods",
            "services",
            "endpoints",
            "configmaps",
            "serviceaccounts",
            "events",
            "pods/status",
        ],
    ),
    (
        "apps",
        &[
            "deployments",
            "replicasets",
            "daemonsets",
            "statefulsets",
            "deployments/scale",
            "replicasets/scale",
        ],
    ),
    ("batch", &["jobs"]),
    ("policy", &["poddisruptionbudgets"]),
    ("discovery.k8s.io", &["endpointslices"]),
    ("coordination.k8s.io", &["leases"]),
];

fn workload_rules(verbs: &[&str], secrets: bool) -> Vec<PolicyRule> {
    let mut rules: Vec<PolicyRule> = WORKLOADS
        .iter()
        .map(|(g, r)| rule(verbs, &[g], r))
        .collect();
    if secrets {
        rules.push(rule(verbs, &[""], &["secrets"]));
    }
    rules
}

/// The bootstrap ClusterRoles and ClusterRoleBindings, in creation order.
pub fn bootstrap_policy() -> Vec<Object> {
    let mut all_verbs = Vec::from(READ);
    all_verbs.extend_from_slice(WRITE);
    let mut edit = workload_rules(ALL, true);
    edit.extend(workload_rules(READ, false));
    let mut admin = edit.clone();
    admin.push(rule(ALL, &[RBAC_GROUP], &["roles", "rolebindings"]));
    let mut view = workload_rules(READ, false);
    view.push(rule(READ, &[""], &["namespaces"]));
    vec![
        cluster_role("cluster-admin", vec![rule(&["*"], &["*"], &["*"])]),
        cluster_role("admin", admin),
        cluster_role("edit", edit),
        cluster_role("view", view),
        cluster_role(
            "system:kube-controller-manager",
            vec![rule(&["*"], &["*"], &["*"])],
        ),
        cluster_role(
            "system:kube-scheduler",
            vec![
                rule(
                    READ,
                    &[""],
                    &[
                        "pods",
                        "nodes",
                        "namespaces",
                        "services",
                        "persistentvolumeclaims",
                        "persistentvolumes",
                    ],
                ),
                rule(&["create"], &[""], &["pods/binding", "bindings"]),
                rule(&["patch", "update"], &[""], &["pods/status"]),
                rule(&["delete"], &[""], &["pods"]),
                rule(
                    &["create", "patch", "update"],
                    &["", "events.k8s.io"],
                    &["events"],
                ),
                rule(
                    &["get", "create", "update"],
                    &["coordination.k8s.io"],
                    &["leases"],
                ),
                rule(READ, &["apps"], &["replicasets", "statefulsets"]),
                rule(READ, &["policy"], &["poddisruptionbudgets"]),
                rule(READ, &["scheduling.k8s.io"], &["priorityclasses"]),
            ],
        ),
        cluster_role(
            "system:node",
            vec![
                rule(&all_verbs, &[""], &["nodes", "nodes/status"]),
                rule(
                    &["get", "list", "watch", "create", "delete"],
                    &[""],
                    &["pods"],
                ),
                rule(&["update", "patch"], &[""], &["pods/status"]),
                rule(
                    READ,
                    &[""],
                    &[
                        "services",
                        "endpoints",
                        "configmaps",
                        "secrets",
                        "serviceaccounts",
                        "namespaces",
                    ],
                ),
                rule(
                    &["create", "patch", "update"],
                    &["", "events.k8s.io"],
                    &["events"],
                ),
                rule(
                    &["get", "create", "update", "patch", "delete"],
                    &["coordination.k8s.io"],
                    &["leases"],
                ),
                rule(READ, &["discovery.k8s.io"], &["endpointslices"]),
                rule(READ, &["scheduling.k8s.io"], &["priorityclasses"]),
            ],
        ),
        cluster_role(
            "system:node-proxier",
            vec![
                rule(
                    &["list", "watch", "get"],
                    &[""],
                    &["services", "endpoints", "nodes"],
                ),
                rule(
                    &["list", "watch"],
                    &["discovery.k8s.io"],
                    &["endpointslices"],
                ),
                rule(
                    &["create", "patch", "update"],
                    &["", "events.k8s.io"],
                    &["events"],
                ),
            ],
        ),
        binding("cluster-admin", "cluster-admin", "Group", GROUP_MASTERS),
        binding(
            "system:kube-controller-manager",
            "system:kube-controller-manager",
            "User",
            "system:kube-controller-manager",
        ),
        binding(
            "system:kube-scheduler",
            "system:kube-scheduler",
            "User",
            "system:kube-scheduler",
        ),
        binding(
            "system:node",
            "system:node",
            "Group",
            crate::protocol::GROUP_NODES,
        ),
        binding(
            "system:node-proxier",
            "system:node-proxier",
            "User",
            "system:kube-proxy",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    struct Fixed(BTreeMap<String, api::SharedObject>);

    impl RbacSource for Fixed {
        fn cluster_role_bindings(&self) -> Vec<api::SharedObject> {
            self.0
                .values()
                .filter(|o| o.kind() == Kind::ClusterRoleBinding)
                .cloned()
                .collect()
        }
        fn role_bindings(&self, namespace: &str) -> Vec<api::SharedObject> {
            self.0
                .values()
                .filter(|o| o.kind() == Kind::RoleBinding && o.namespace() == namespace)
                .cloned()
                .collect()
        }
        fn cluster_role(&self, name: &str) -> Option<api::SharedObject> {
            self.0
                .values()
                .find(|o| o.kind() == Kind::ClusterRole && o.name() == name)
                .cloned()
        }
        fn role(&self, namespace: &str, name: &str) -> Option<api::SharedObject> {
            self.0
                .values()
                .find(|o| o.kind() == Kind::Role && o.namespace() == namespace && o.name() == name)
                .cloned()
        }
    }

    fn src() -> Fixed {
        let mut m = BTreeMap::new();
        for o in bootstrap_policy() {
            m.insert(format!("{}/{}", o.kind(), o.name()), Arc::new(o));
        }
        let rb = k8s_openapi::api::rbac::v1::RoleBinding {
            metadata: ObjectMeta {
                name: Some("alice-view".into()),
                namespace: Some("dev".into()),
                ..Default::default()
            },
            role_ref: RoleRef {
                api_group: Some(RBAC_GROUP.into()),
                kind: "ClusterRole".into(),
                name: "view".into(),
            },
            subjects: Some(vec![Subject {
                kind: "User".into(),
                name: "alice".into(),
                ..Default::default()
            }]),
        };
        m.insert("rb".into(), Arc::new(Object::from(rb)));
        Fixed(m)
    }

    fn allowed(
        user: &UserInfo,
        verb: &str,
        kind: Kind,
        sub: Option<Subresource>,
        ns: &str,
    ) -> bool {
        authorize(
            &src(),
            &Attributes {
                user,
                verb,
                kind,
                subresource: sub,
                namespace: ns,
                name: "",
            },
        )
    }

    #[test]
    fn decisions() {
        let alice = UserInfo::user("alice");
        assert!(allowed(&UserInfo::admin(), "delete", Kind::Node, None, ""));
        assert!(allowed(&alice, "list", Kind::Pod, None, "dev"));
        assert!(!allowed(&alice, "list", Kind::Pod, None, "default"));
        assert!(!allowed(&alice, "create", Kind::Pod, None, "dev"));
        assert!(!allowed(&alice, "list", Kind::Secret, None, "dev"));
        let node = UserInfo::node("w1");
        assert!(allowed(
            &node,
            "update",
            Kind::Pod,
            Some(Subresource::Status),
            "dev"
        ));
        assert!(!allowed(&node, "update", Kind::Pod, None, "dev"));
        let sched = UserInfo::component("system:kube-scheduler");
        assert!(allowed(&sched, "watch", Kind::Pod, None, ""));
        assert!(!allowed(&sched, "create", Kind::Deployment, None, "dev"));
        assert!(allowed(
            &UserInfo::component("system:kube-proxy"),
            "watch",
            Kind::EndpointSlice,
            None,
            ""
        ));
    }
}
