//! Defaults of the smaller groups: EndpointSlice ports (`pkg/apis/discovery/v1/defaults.go`:
//! protocol TCP, name ""), RBAC subjects and role refs (`pkg/apis/rbac/v1/defaults.go`: apiGroup
//! `rbac.authorization.k8s.io` for users, groups and roleRefs, "" for service accounts),
//! PriorityClass (`pkg/apis/scheduling/v1/defaults.go`: preemptionPolicy PreemptLowerPriority).

use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleBinding, RoleRef, Subject};
use k8s_openapi::api::scheduling::v1::PriorityClass;

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

pub fn endpoint_slice(slice: &mut EndpointSlice) {
    for p in slice.ports.iter_mut().flatten() {
        p.name.get_or_insert_with(String::new);
        p.protocol.get_or_insert_with(|| "TCP".into());
    }
}

fn subject(s: &mut Subject) {
    if s.api_group.as_deref().unwrap_or("").is_empty() {
        s.api_group = Some(
            if s.kind == "ServiceAccount" {
                ""
            } else {
                RBAC_GROUP
            }
            .into(),
        );
    }
}

fn role_ref(r: &mut RoleRef) {
    if r.api_group.as_deref().unwrap_or("").is_empty() {
        r.api_group = Some(RBAC_GROUP.into());
    }
}

pub fn role_binding(b: &mut RoleBinding) {
    b.subjects.iter_mut().flatten().for_each(subject);
    role_ref(&mut b.role_ref);
}

pub fn cluster_role_binding(b: &mut ClusterRoleBinding) {
    b.subjects.iter_mut().flatten().for_each(subject);
    role_ref(&mut b.role_ref);
}

pub fn priority_class(p: &mut PriorityClass) {
    p.preemption_policy
        .get_or_insert_with(|| "PreemptLowerPriority".into());
}
