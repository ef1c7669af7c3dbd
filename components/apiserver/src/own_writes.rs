//! One resourceVersion copy per revision of this apiserver's own writes, shared by the reply
//! to the write and the watch cache.
//!
//! etcd stores an object encoded and without its resourceVersion (it is the key's mod
//! revision, set on the way out: see `storage`), so the reply to a write and the watch cache's
//! entry for the same revision each need the typed object with `metadata.resourceVersion` set,
//! and the two are equal: the value etcd stored at that revision, stamped with it. Whichever
//! side sees the revision first stamps the writer's typed object (in place: nothing else holds
//! it) and the other reuses it, so this apiserver never decodes its own writes. Usually the reply comes first (etcd
//! answers the writer before the watch event reaches the apiserver), so the reply leaves its
//! copy here until the watch delivers that revision; when the watch came first, the cache
//! already holds the copy under the key (see `KubeApiServer::reply_copy`).
//!
//! Bounded: the watch delivers revisions in order, so an entry older than the event being
//! applied is never asked for again and is dropped then; a restarted watch (relist) drops all.

use std::collections::BTreeMap;

use api::SharedObject;
use store::mvcc::{Bytes, KeyValue};

use crate::storage::{self, Encoded, StoredValue};

/// Stamped copies of this apiserver's writes whose watch event has not arrived yet.
#[derive(Debug, Default)]
pub struct OwnWrites {
    /// revision -> (the key written, the value written there with its resourceVersion set).
    /// A key's value at a revision is unique, so the pair names the copy exactly.
    by_revision: BTreeMap<i64, (Bytes, SharedObject)>,
}

impl OwnWrites {
    /// `written` (the object this apiserver wrote) stamped with the `revision` it was written
    /// at, for the reply, and kept for that revision's watch event.
    /// `encoded`: the value written, whose readers then share the stamped object.
    pub fn stamp(
        &mut self,
        key: &Bytes,
        written: SharedObject,
        encoded: Option<&Encoded>,
        revision: i64,
    ) -> SharedObject {
        let stamped = match encoded {
            Some(e) => e.stamp_written(written, revision),
            None => storage::stamped(written, revision),
        };
        self.by_revision
            .insert(revision, (key.clone(), stamped.clone()));
        stamped
    }

    /// The watch cache's object for a value etcd reports at `kv`'s mod revision: the reply's
    /// when this apiserver wrote that value, else the value decoded. Entries for earlier
    /// revisions are dropped (the watch has passed them).
    pub fn watched(&mut self, kv: &KeyValue<StoredValue>) -> Option<SharedObject> {
        while let Some(entry) = self.by_revision.first_entry()
            && *entry.key() < kv.mod_revision
        {
            entry.remove();
        }
        if matches!(kv.value, StoredValue::Object(_))
            && let Some((key, _)) = self.by_revision.get(&kv.mod_revision)
            && *key == kv.key
        {
            return self.by_revision.remove(&kv.mod_revision).map(|(_, s)| s);
        }
        storage::object_of(kv)
    }

    /// Forgets every entry (the etcd watch restarts from a fresh list).
    pub fn clear(&mut self) {
        self.by_revision.clear();
    }

    pub fn len(&self) -> usize {
        self.by_revision.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_revision.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use api::Object;
    use k8s_openapi::api::coordination::v1::Lease;

    use super::*;

    fn lease(name: &str) -> SharedObject {
        let mut l = Lease::default();
        l.metadata.name = Some(name.into());
        Arc::new(Object::from(l))
    }

    fn put(key: &Bytes, value: &SharedObject, revision: i64) -> KeyValue<StoredValue> {
        KeyValue {
            key: key.clone(),
            create_revision: revision,
            mod_revision: revision,
            version: 1,
            value: StoredValue::Object(storage::Encoded::encode(value).expect("encodes")),
            lease: 0,
        }
    }

    #[test]
    fn the_watch_shares_the_reply_copy_of_its_revision() {
        let mut own = OwnWrites::default();
        let (a, b) = (
            storage::bytes_of("/registry/leases/a"),
            storage::bytes_of("/registry/leases/b"),
        );
        let (la, lb) = (lease("a"), lease("b"));
        let reply5 = own.stamp(&a, la.clone(), None, 5);
        let reply7 = own.stamp(&b, lb.clone(), None, 7);
        assert_eq!(reply5.resource_version(), "5");
        // Another key at revision 7 (a write of another apiserver): a copy of its own.
        let other = own.watched(&put(&a, &la, 7)).expect("object");
        assert!(!Arc::ptr_eq(&other, &reply7));
        assert_eq!(other.resource_version(), "7");
        assert_eq!(other.name(), "a", "decoded from etcd's bytes");
        assert_eq!(own.len(), 1, "revision 5 is behind the watch and dropped");
        let watched = own.watched(&put(&b, &lb, 7)).expect("object");
        assert!(Arc::ptr_eq(&watched, &reply7));
        assert!(own.is_empty());
    }

    #[test]
    fn a_write_is_stamped_in_place_when_nothing_else_holds_it() {
        let mut own = OwnWrites::default();
        let key = storage::bytes_of("/registry/leases/a");
        let written = lease("a");
        let at = Arc::as_ptr(&written);
        let reply = own.stamp(&key, written, None, 3);
        assert_eq!(Arc::as_ptr(&reply), at, "no copy");
        assert_eq!(reply.resource_version(), "3");
    }
}
