//! Defaulting: the values the apiserver fills in before validation (FIDELITY F7, F16, F17,
//! F30–F32, F38), one module per API group, and the DefaultTolerationSeconds admission (F14).

pub mod apps;
pub mod batch;
pub mod core;
pub mod other;
pub mod tolerations;

use crate::object::Object;

/// Applies the defaults of the object's kind in place.
pub fn apply(object: &mut Object) {
    match object {
        Object::Pod(p) => core::pod(p),
        Object::Service(s) => core::service(s),
        Object::Namespace(n) => core::namespace(n),
        Object::Secret(s) => core::secret(s),
        Object::Node(n) => core::node(n),
        Object::Endpoints(e) => core::endpoints(e),
        Object::Deployment(d) => apps::deployment(d),
        Object::ReplicaSet(r) => apps::replica_set(r),
        Object::DaemonSet(d) => apps::daemon_set(d),
        Object::StatefulSet(s) => apps::stateful_set(s),
        Object::Job(j) => batch::job(j),
        Object::EndpointSlice(e) => other::endpoint_slice(e),
        Object::RoleBinding(b) => other::role_binding(b),
        Object::ClusterRoleBinding(b) => other::cluster_role_binding(b),
        Object::PriorityClass(p) => other::priority_class(p),
        Object::ConfigMap(_)
        | Object::ServiceAccount(_)
        | Object::Event(_)
        | Object::EventsV1Event(_)
        | Object::Lease(_)
        | Object::Role(_)
        | Object::ClusterRole(_)
        | Object::PodDisruptionBudget(_) => {}
    }
}
