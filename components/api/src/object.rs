//! `Object`: one enum over every built-in kind, dispatched by `match`, with metadata accessors
//! that borrow (never clone).
//!
//! Objects are shared as `Arc<Object>` inside the simulation: `size_of::<Pod>()` is 2,464 bytes
//! before its heap, so a watch event, a cache entry and an informer hold the same `Arc`, and
//! code on a hot path never clones a pod. Mutation is copy-on-write at the apiserver
//! (`Arc::make_mut` on its own copy), never in a shared reference.
//!
//! Every variant is boxed, so `Object` is two words. An enum is as large as its largest
//! variant: unboxed, every `Arc<Object>` (a Lease renewal, an Event, each revision etcd's
//! history and the watch cache keep) allocated the 2,816 bytes of the largest kind. Even the
//! smallest kind carries an `ObjectMeta` of a few hundred bytes, so boxing only the large
//! variants would still set that floor for all; boxed, each revision allocates its own kind's
//! size plus a 32-byte `Arc` cell. Build objects with `Object::from(pod)` (or `.into()`);
//! matches read through the `Box` (`Object::Pod(p) => p.spec`) as before.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::{
    apps::v1 as apps, batch::v1 as batch, coordination::v1 as coordination, core::v1 as core,
    discovery::v1 as discovery, events::v1 as events, policy::v1 as policy, rbac::v1 as rbac,
    scheduling::v1 as scheduling,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};

use crate::kinds::{Kind, KindInfo};

/// How objects travel through the simulation.
pub type SharedObject = Arc<Object>;

macro_rules! objects {
    ($( $variant:ident($ty:ty) ),* $(,)?) => {
        /// A Kubernetes object of a built-in kind, boxed so that the enum is two words (see
        /// the module comment).
        #[derive(Debug, Clone, PartialEq)]
        pub enum Object {
            $( $variant(Box<$ty>), )*
        }

        impl Object {
            pub fn kind(&self) -> Kind {
                match self { $( Object::$variant(_) => Kind::$variant, )* }
            }

            pub fn metadata(&self) -> &ObjectMeta {
                match self { $( Object::$variant(o) => &o.metadata, )* }
            }

            pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
                match self { $( Object::$variant(o) => &mut o.metadata, )* }
            }
        }

        impl Object {
            /// Decodes an object of `kind` from any self-describing serde format, as its own
            /// type's `Serialize` wrote it (the apiserver's storage encoding). Not strict:
            /// unknown fields are skipped, as they are never written (see
            /// [`crate::strict`] for decoding user input).
            pub fn deserialize_as<'de, D: serde::Deserializer<'de>>(
                kind: Kind,
                d: D,
            ) -> Result<Object, D::Error> {
                match kind {
                    $( Kind::$variant => <$ty as serde::Deserialize>::deserialize(d).map(Object::from), )*
                }
            }
        }

        impl serde::Serialize for Object {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                // The kind written most (every node's Lease, every 10 s): see `crate::wire`.
                if let Object::Lease(l) = self {
                    return crate::wire::LeaseWire(l).serialize(s);
                }
                match self { $( Object::$variant(o) => o.serialize(s), )* }
            }
        }

        $( impl From<$ty> for Object {
            fn from(o: $ty) -> Self { Object::$variant(Box::new(o)) }
        }

        impl From<Box<$ty>> for Object {
            fn from(o: Box<$ty>) -> Self { Object::$variant(o) }
        } )*

        /// Decodes a JSON value of the given kind, pushing onto `unknown` the path (Kubernetes'
        /// dotted form) of every field the typed decoder does not know, so that strict decoding
        /// can report it. `Err` (a type error) without saying where: [`decode_kind`] does.
        pub(crate) fn decode_kind_untracked(
            kind: Kind,
            value: &serde_json::Value,
            unknown: &mut Vec<String>,
        ) -> Result<Object, serde_json::Error> {
            let on_ignored = |path: serde_ignored::Path<'_>| unknown.push(crate::strict::ignored_path(&path));
            match kind {
                $( Kind::$variant => crate::strict::decode_reporting::<$ty>(value, on_ignored).map(Object::from), )*
            }
        }

        /// [`decode_kind_untracked`], with the path of a type error.
        pub(crate) fn decode_kind(
            kind: Kind,
            value: &serde_json::Value,
            unknown: &mut Vec<String>,
        ) -> Result<Object, serde_path_to_error::Error<serde_json::Error>> {
            let mut track = serde_path_to_error::Track::new();
            let de = serde_path_to_error::Deserializer::new(value, &mut track);
            let mut on_ignored = |path: serde_ignored::Path<'_>| unknown.push(crate::strict::ignored_path(&path));
            let de = serde_ignored::Deserializer::new(de, &mut on_ignored);
            let result = match kind {
                $( Kind::$variant => <$ty as serde::Deserialize>::deserialize(de).map(Object::from), )*
            };
            result.map_err(|e| serde_path_to_error::Error::new(track.path(), e))
        }
    };
}

objects! {
    Pod(core::Pod),
    Node(core::Node),
    Namespace(core::Namespace),
    Service(core::Service),
    Endpoints(core::Endpoints),
    ConfigMap(core::ConfigMap),
    Secret(core::Secret),
    ServiceAccount(core::ServiceAccount),
    Event(core::Event),
    Deployment(apps::Deployment),
    ReplicaSet(apps::ReplicaSet),
    DaemonSet(apps::DaemonSet),
    StatefulSet(apps::StatefulSet),
    Job(batch::Job),
    EndpointSlice(discovery::EndpointSlice),
    Lease(coordination::Lease),
    EventsV1Event(events::Event),
    Role(rbac::Role),
    ClusterRole(rbac::ClusterRole),
    RoleBinding(rbac::RoleBinding),
    ClusterRoleBinding(rbac::ClusterRoleBinding),
    PriorityClass(scheduling::PriorityClass),
    PodDisruptionBudget(policy::PodDisruptionBudget),
}

/// Strict: unknown fields and unknown kinds are errors (see [`crate::strict`]).
impl<'de> serde::Deserialize<'de> for Object {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        crate::strict::decode(&value).map_err(serde::de::Error::custom)
    }
}

static EMPTY_MAP: BTreeMap<String, String> = BTreeMap::new();

impl Object {
    pub fn info(&self) -> &'static KindInfo {
        self.kind().info()
    }

    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or("")
    }

    /// The namespace, or "" for cluster-scoped objects and objects not yet placed.
    pub fn namespace(&self) -> &str {
        self.metadata().namespace.as_deref().unwrap_or("")
    }

    pub fn uid(&self) -> &str {
        self.metadata().uid.as_deref().unwrap_or("")
    }

    pub fn resource_version(&self) -> &str {
        self.metadata().resource_version.as_deref().unwrap_or("")
    }

    pub fn generation(&self) -> i64 {
        self.metadata().generation.unwrap_or(0)
    }

    pub fn labels(&self) -> &BTreeMap<String, String> {
        self.metadata().labels.as_ref().unwrap_or(&EMPTY_MAP)
    }

    pub fn annotations(&self) -> &BTreeMap<String, String> {
        self.metadata().annotations.as_ref().unwrap_or(&EMPTY_MAP)
    }

    pub fn owner_references(&self) -> &[OwnerReference] {
        self.metadata().owner_references.as_deref().unwrap_or(&[])
    }

    pub fn finalizers(&self) -> &[String] {
        self.metadata().finalizers.as_deref().unwrap_or(&[])
    }

    pub fn deletion_timestamp(&self) -> Option<&Time> {
        self.metadata().deletion_timestamp.as_ref()
    }

    pub fn is_terminating(&self) -> bool {
        self.metadata().deletion_timestamp.is_some()
    }

    /// The owner reference with `controller: true`, as `metav1.GetControllerOf`.
    pub fn controller_ref(&self) -> Option<&OwnerReference> {
        controller_of(self.metadata())
    }

    pub fn as_pod(&self) -> Option<&core::Pod> {
        match self {
            Object::Pod(p) => Some(p.as_ref()),
            _ => None,
        }
    }
}

/// The owner reference with `controller: true` (at most one is valid), as
/// `metav1.GetControllerOf` in `staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/controller_ref.go`.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .find(|r| r.controller == Some(true))
}

/// A controller reference to `owner`, as `metav1.NewControllerRef`: controller and
/// blockOwnerDeletion set. `None` when the owner has no name or uid yet.
pub fn new_controller_ref(owner: &Object) -> Option<OwnerReference> {
    let meta = owner.metadata();
    let info = owner.info();
    Some(OwnerReference {
        api_version: info.api_version.to_string(),
        kind: info.name.to_string(),
        name: meta.name.clone()?,
        uid: meta.uid.clone()?,
        controller: Some(true),
        block_owner_deletion: Some(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_borrow_metadata() {
        let mut pod = core::Pod::default();
        pod.metadata.name = Some("web-1".into());
        pod.metadata.namespace = Some("default".into());
        pod.metadata.labels = Some([("app".to_string(), "web".to_string())].into());
        pod.metadata.owner_references = Some(vec![
            OwnerReference {
                api_version: "v1".into(),
                kind: "Thing".into(),
                name: "other".into(),
                uid: "u0".into(),
                ..Default::default()
            },
            OwnerReference {
                api_version: "apps/v1".into(),
                kind: "ReplicaSet".into(),
                name: "web".into(),
                uid: "u1".into(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            },
        ]);
        let obj = Arc::new(Object::from(pod));
        assert_eq!(obj.kind(), Kind::Pod);
        assert_eq!(obj.name(), "web-1");
        assert_eq!(obj.namespace(), "default");
        assert_eq!(obj.labels().get("app").map(String::as_str), Some("web"));
        assert!(obj.annotations().is_empty());
        assert_eq!(obj.controller_ref().map(|r| r.name.as_str()), Some("web"));
        assert_eq!(obj.generation(), 0);
        assert!(!obj.is_terminating());
    }

    #[test]
    fn controller_ref_of_owner() {
        let mut rs = apps::ReplicaSet::default();
        rs.metadata.name = Some("web-abc".into());
        let obj = Object::from(rs);
        assert_eq!(new_controller_ref(&obj), None, "no uid yet");
        let mut obj = obj;
        obj.metadata_mut().uid = Some("uid-1".into());
        let r = new_controller_ref(&obj).expect("has uid");
        assert_eq!(
            (r.api_version.as_str(), r.kind.as_str(), r.name.as_str()),
            ("apps/v1", "ReplicaSet", "web-abc")
        );
        assert_eq!(
            (r.controller, r.block_owner_deletion),
            (Some(true), Some(true))
        );
    }

    #[test]
    fn serde_round_trip() {
        let json =
            r#"{"apiVersion":"v1","kind":"ConfigMap","data":{"k":"v"},"metadata":{"name":"c"}}"#;
        let obj: Object = serde_json::from_str(json).unwrap();
        assert_eq!(obj.kind(), Kind::ConfigMap);
        assert_eq!(serde_json::to_string(&obj).unwrap(), json);
        let bad = r#"{"apiVersion":"v1","kind":"ConfigMap","dta":{}}"#;
        assert!(
            serde_json::from_str::<Object>(bad)
                .unwrap_err()
                .to_string()
                .contains("unknown field \"dta\"")
        );
    }

    #[test]
    fn pod_size_is_as_documented() {
        // The reason objects are shared as Arc: keep the documented figure honest.
        assert!(std::mem::size_of::<core::Pod>() >= 2_000);
    }

    #[test]
    fn object_is_two_words() {
        // Every revision held by etcd's history, the watch cache and informers is an
        // `Arc<Object>`: an unboxed variant would make each of them pay the largest kind's size.
        assert!(std::mem::size_of::<Object>() <= 16);
        let lease = Object::from(coordination::Lease::default());
        assert_eq!(lease.kind(), Kind::Lease);
        assert_eq!(
            Object::from(Box::new(core::Pod::default())).kind(),
            Kind::Pod
        );
    }
}
