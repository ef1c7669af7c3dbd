//! What the registry strategies know about each kind's shape: which kinds have a status
//! subresource, which count `generation`, how spec and status are swapped between the old and
//! new object of an update, and virtual time as API timestamps.
//!
//! Follows the `PrepareForUpdate` / `PrepareForCreate` of each strategy in `pkg/registry/*/*/
//! strategy.go`: writes to the main resource keep the old status, writes to `/status` keep the
//! old spec and metadata; `generation` starts at 1 and is bumped when the spec changes (for the
//! kinds whose strategy does so). Simplification: "spec changed" is structural inequality of
//! the whole spec (Kubernetes ignores a few fields for some kinds).

use api::{Kind, Object};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time as ApiTime;
use k8s_openapi::jiff::Timestamp;

/// Virtual time 0 as wall time (see [`api::WALL_EPOCH_SECS`]).
pub use api::WALL_EPOCH_SECS;

/// An API timestamp (second precision, as RFC 3339 in the API) for a host clock reading.
pub fn api_time(now: sim::Time) -> ApiTime {
    let secs = WALL_EPOCH_SECS + (now.as_secs() as i64);
    ApiTime(Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH))
}

/// Seconds of wall time an API timestamp stands for, relative to the simulation's epoch.
pub fn virtual_secs(t: &ApiTime) -> i64 {
    t.0.as_second() - WALL_EPOCH_SECS
}

/// Kinds whose strategy sets and bumps `metadata.generation`.
pub fn tracks_generation(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Pod
            | Kind::Deployment
            | Kind::ReplicaSet
            | Kind::DaemonSet
            | Kind::StatefulSet
            | Kind::Job
            | Kind::PodDisruptionBudget
            | Kind::PriorityClass
    )
}

macro_rules! spec_and_status {
    ($( $variant:ident ),*) => {
        /// Kinds served with a `/status` subresource.
        pub fn has_status(kind: Kind) -> bool {
            matches!(kind, $( Kind::$variant )|*)
        }

        /// Whether the spec differs (kinds without a spec compare everything but metadata).
        pub fn spec_changed(old: &Object, new: &Object) -> bool {
            match (old, new) {
                $( (Object::$variant(a), Object::$variant(b)) => a.spec != b.spec, )*
                (Object::PriorityClass(a), Object::PriorityClass(b)) => a.value != b.value,
                _ => false,
            }
        }

        /// `new.status = old.status` (an update of the main resource).
        pub fn keep_status(new: &mut Object, old: &Object) {
            match (new, old) {
                $( (Object::$variant(n), Object::$variant(o)) => n.status = o.status.clone(), )*
                _ => {}
            }
        }

        /// The old object with `new`'s status (an update of `/status`).
        pub fn with_status_of(old: &Object, new: &Object) -> Object {
            let mut out = old.clone();
            match (&mut out, new) {
                $( (Object::$variant(o), Object::$variant(n)) => o.status = n.status.clone(), )*
                _ => {}
            }
            out
        }

        /// [`with_status_of`] for a `new` the caller owns (a patch's result): `new` itself
        /// when only its status differs from `old`, as a status patch leaves it, which saves
        /// copying the object again.
        pub fn with_status_from(old: &Object, new: Object) -> Object {
            match (old, new) {
                $(
                    (Object::$variant(o), Object::$variant(mut n)) => {
                        // Destructured so that a field added to the type is not missed here.
                        let $variant { metadata, spec, status: _ } = &*n;
                        if *metadata == o.metadata && *spec == o.spec {
                            return Object::$variant(n);
                        }
                        let mut out = o.clone();
                        out.status = n.status.take();
                        Object::$variant(out)
                    }
                )*
                (old, _) => old.clone(),
            }
        }
    };
}

spec_and_status!(
    Pod,
    Node,
    Namespace,
    Service,
    Deployment,
    ReplicaSet,
    DaemonSet,
    StatefulSet,
    Job,
    PodDisruptionBudget
);

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStatus};

    #[test]
    fn status_and_spec_are_kept_apart() {
        let d = Deployment {
            spec: DeploymentSpec {
                replicas: Some(1),
                ..Default::default()
            },
            status: Some(DeploymentStatus {
                replicas: Some(1),
                ..Default::default()
            }),
            ..Default::default()
        };
        let old = Object::from(d.clone());
        let mut changed = d.clone();
        changed.spec = DeploymentSpec {
            replicas: Some(3),
            ..Default::default()
        };
        changed.status = None;
        let mut new = Object::from(changed);
        assert!(spec_changed(&old, &new));
        keep_status(&mut new, &old);
        let Object::Deployment(n) = &new else {
            unreachable!("deployment")
        };
        assert_eq!(n.status.as_ref().and_then(|s| s.replicas), Some(1));
        let merged = with_status_of(&old, &Object::from(Deployment::default()));
        let Object::Deployment(m) = &merged else {
            unreachable!("deployment")
        };
        assert_eq!(m.spec.replicas, Some(1));
        assert!(m.status.is_none());
        assert_eq!(virtual_secs(&api_time(sim::Time::from_secs(90))), 90);
    }
}
