//! Read-only views of what the cluster stores, for run reports and tests: the objects of a
//! kind as etcd holds them. Nothing here sends a message, fires a timer or draws from an
//! RNG, so looking never changes a run or its trace hash.
//!
//! Why etcd and not an apiserver's watch cache: `KubeApiServer` keeps its cache private (it
//! only counts objects, `cached(kind)`), while every etcd member exposes its applied MVCC
//! state. The watch caches are fed from that state by etcd's watch, so they hold the same
//! objects a watch latency (milliseconds) later; that is the only difference a report can
//! see. The member read is the running one that has applied the highest revision: committed
//! entries are never lost and a member cut off from the majority cannot apply new ones, so
//! that member's state is the newest committed state anyone holds.

use std::sync::Arc;

use api::{Kind, SharedObject};
use apiserver::StoredValue;
use apiserver::storage::{Encoded, kind_prefix};
use sim::HostState;
use store::mvcc::{Bytes, MvccStore, RangeRequest, prefix_end};
use store::server::EtcdMember;

use crate::cluster::Cluster;
use crate::message::EtcdValue;

/// One object as etcd holds it: its key, the revision it was last written at, and its bytes.
#[derive(Clone, Debug)]
pub struct StoredObject {
    pub key: Bytes,
    pub mod_revision: i64,
    pub encoded: Encoded,
}

impl Cluster {
    /// The running member's store that has applied the highest revision (`None` while every
    /// member is down or still loading).
    fn freshest_store(&self) -> Option<&MvccStore<EtcdValue>> {
        self.etcd_members()
            .iter()
            .filter(|m| self.sim().host_state(m.host) == Some(HostState::Up))
            .filter_map(|m| self.sim().actor::<EtcdMember<EtcdValue>>(m.actor)?.store())
            .max_by_key(|s| s.current_revision())
    }

    /// Every object of `kind` as etcd holds it now (see the module doc for which member), in
    /// key order (`/registry/<resource>/<namespace>/<name>`), without resourceVersion (etcd
    /// does not store it). Each is decoded from etcd's bytes: a caller that looks often at
    /// many objects should keep what it needs per key and decode only the keys whose
    /// revision changed ([`Cluster::stored_values`]). Empty while no member runs.
    pub fn stored_objects(&self, kind: Kind) -> Vec<SharedObject> {
        self.stored_values(kind)
            .into_iter()
            .filter_map(|v| v.encoded.decode().ok().map(Arc::new))
            .collect()
    }

    /// Every object of `kind` as etcd holds it now, still encoded, with its key and mod
    /// revision, in key order. Shared, not copied nor decoded.
    pub fn stored_values(&self, kind: Kind) -> Vec<StoredObject> {
        let Some(store) = self.freshest_store() else {
            return Vec::new();
        };
        let prefix = kind_prefix(kind);
        let request = RangeRequest {
            key: prefix.as_bytes().into(),
            range_end: Some(prefix_end(prefix.as_bytes())),
            limit: 0,
            revision: 0,
            count_only: false,
            keys_only: false,
        };
        // A range at the current revision over a non-empty key cannot fail; an error would
        // mean no objects to show, not a reason to stop a run.
        store.range(&request).map_or_else(
            |_| Vec::new(),
            |reply| {
                reply
                    .kvs
                    .into_iter()
                    .filter_map(|kv| match kv.value {
                        StoredValue::Object(encoded) => Some(StoredObject {
                            key: kv.key,
                            mod_revision: kv.mod_revision,
                            encoded,
                        }),
                        StoredValue::Raw(_) | StoredValue::Revision(_) => None,
                    })
                    .collect()
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use api::{Kind, Object};
    use sim::Duration;

    use crate::{Cluster, Topology};

    fn names(cluster: &Cluster, kind: Kind) -> Vec<String> {
        cluster
            .stored_objects(kind)
            .iter()
            .map(|o| o.name().to_string())
            .collect()
    }

    #[test]
    fn stored_objects_are_what_the_apiservers_wrote_and_reading_changes_nothing() {
        let mut cluster = Cluster::build(Topology::new(3, 0).with_seed(5)).unwrap();
        assert!(
            cluster.stored_objects(Kind::Namespace).is_empty(),
            "nothing yet"
        );
        cluster
            .run_until_ready(Duration::from_secs(30))
            .unwrap()
            .expect("ready");
        let events = cluster.sim().events_processed();
        let hash = cluster.sim().trace_hash();
        let namespaces = names(&cluster, Kind::Namespace);
        for ns in ["default", "kube-node-lease", "kube-public", "kube-system"] {
            assert!(namespaces.contains(&ns.to_string()), "{namespaces:?}");
        }
        // Key order, one kind only.
        let mut sorted = namespaces.clone();
        sorted.sort();
        assert_eq!(namespaces, sorted);
        assert!(
            cluster
                .stored_objects(Kind::Service)
                .iter()
                .all(|o| matches!(&**o, Object::Service(_)))
        );
        assert_eq!(cluster.sim().events_processed(), events);
        assert_eq!(cluster.sim().trace_hash(), hash);
        // With the first member down, another member answers the same.
        let first = cluster.etcd_members()[0].host;
        cluster
            .sim_mut()
            .apply_fault(sim::Fault::Crash(first))
            .unwrap();
        assert_eq!(names(&cluster, Kind::Namespace), namespaces);
    }
}
