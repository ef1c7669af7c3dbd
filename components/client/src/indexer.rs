//! The informer's cache: objects by `namespace/name`, with named secondary indices, and
//! listers that read it without cloning an object.
//!
//! Follows client-go `tools/cache` (`store.go` `MetaNamespaceKeyFunc`, `thread_safe_store.go`,
//! `index.go`, `listers.go`): an index function maps an object to index values, and the
//! indexer keeps `index name -> value -> keys` up to date on every add, update and delete.
//! Built-in index functions cover what kubesim's components query: by namespace
//! (`cache.NamespaceIndex`), pods by `spec.nodeName` (the scheduler's and kubelet's
//! `nodeName` index) and by controller owner uid (what the ReplicaSet and Deployment
//! controllers use to find their children).
//!
//! A label index ([`LABEL_INDEX`], `namespace/key=value` per label) lets a namespaced list
//! by a selector with an equality term read only the objects carrying that label, instead of
//! the namespace: a Service's endpoints sync costs O(its pods), not O(the namespace's pods).
//! client-go has no such index (its listers filter the namespace); the result is the same,
//! in the same (key) order.
//!
//! Simplifications: no locking (one actor owns it); index functions are plain `fn` pointers
//! so the indexer stays `Clone` and `Debug`.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;

use api::{Object, SharedObject, selector::Selector};
use thiserror::Error;

/// Maps an object to the values it is indexed under (none: not in the index).
pub type IndexFn = fn(&Object) -> Vec<String>;

pub const NAMESPACE_INDEX: &str = "namespace";
pub const NODE_NAME_INDEX: &str = "spec.nodeName";
pub const CONTROLLER_UID_INDEX: &str = "controllerUID";
/// Objects without a controlling owner, by namespace: the candidates a controller may adopt,
/// so that a sync reads its own pods and the orphans instead of the whole namespace.
pub const ORPHAN_INDEX: &str = "orphansByNamespace";
/// Objects by each of their labels, as `namespace/key=value`.
pub const LABEL_INDEX: &str = "labels";

/// `namespace/name`, or `name` for cluster-scoped objects: client-go's `MetaNamespaceKeyFunc`.
pub fn object_key(obj: &Object) -> String {
    key_of(obj.namespace(), obj.name())
}

/// The key for a namespace and name.
pub fn key_of(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    }
}

/// Calls `f` with the key of `namespace`/`name` ([`key_of`]), built on the stack when it is
/// short enough (lookups of existing objects then allocate nothing).
pub fn with_key<R>(namespace: &str, name: &str, f: impl FnOnce(&str) -> R) -> R {
    if namespace.is_empty() {
        return f(name);
    }
    let mut buf = [0u8; 256];
    let len = namespace.len() + 1 + name.len();
    if len > buf.len() {
        return f(&key_of(namespace, name));
    }
    buf[..namespace.len()].copy_from_slice(namespace.as_bytes());
    buf[namespace.len()] = b'/';
    buf[namespace.len() + 1..len].copy_from_slice(name.as_bytes());
    match std::str::from_utf8(&buf[..len]) {
        Ok(key) => f(key),
        // Unreachable: two strings joined by an ASCII byte are UTF-8.
        Err(_) => f(&key_of(namespace, name)),
    }
}

/// A key that is not `name` or `namespace/name`.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("unexpected key format: {0:?} (expected \"name\" or \"namespace/name\")")]
pub struct BadKey(pub String);

/// Splits a key into (namespace, name): client-go's `SplitMetaNamespaceKey`.
pub fn split_key(key: &str) -> Result<(&str, &str), BadKey> {
    let mut parts = key.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(name), None, None) if !name.is_empty() => Ok(("", name)),
        (Some(ns), Some(name), None) if !name.is_empty() => Ok((ns, name)),
        _ => Err(BadKey(key.to_string())),
    }
}

/// Index function: the object's namespace.
pub fn index_by_namespace(obj: &Object) -> Vec<String> {
    vec![obj.namespace().to_string()]
}

/// Index function: a pod's `spec.nodeName` (unscheduled pods are indexed under "").
pub fn index_pod_by_node_name(obj: &Object) -> Vec<String> {
    match obj {
        Object::Pod(p) => {
            vec![
                p.spec
                    .as_ref()
                    .and_then(|s| s.node_name.clone())
                    .unwrap_or_default(),
            ]
        }
        _ => Vec::new(),
    }
}

/// Index function: the uid of the controlling owner, if any.
pub fn index_by_controller_uid(obj: &Object) -> Vec<String> {
    obj.controller_ref()
        .map(|r| vec![r.uid.clone()])
        .unwrap_or_default()
}

/// Index function: the namespace of an object that has no controlling owner.
pub fn index_orphans_by_namespace(obj: &Object) -> Vec<String> {
    if obj.controller_ref().is_some() {
        Vec::new()
    } else {
        vec![obj.namespace().to_string()]
    }
}

/// The [`LABEL_INDEX`] value of one label (label keys and values hold no `=`, namespaces no
/// `/`, so the value names exactly one (namespace, key, value)).
pub fn label_index_value(namespace: &str, key: &str, value: &str) -> String {
    format!("{namespace}/{key}={value}")
}

/// Index function: every label of the object, with its namespace.
pub fn index_by_labels(obj: &Object) -> Vec<String> {
    obj.labels()
        .iter()
        .map(|(k, v)| label_index_value(obj.namespace(), k, v))
        .collect()
}

/// An index name that was never registered.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("index {0:?} does not exist")]
pub struct NoSuchIndex(pub String);

/// What an index function reads besides the key: an update that keeps it keeps the values,
/// and the indexer skips computing them twice (an informer of EndpointSlices on every node
/// updates one on each endpoint change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reads {
    /// Anything in the object.
    Anything,
    /// The namespace alone, which is part of the key.
    Namespace,
    /// The namespace and the labels.
    Labels,
    /// The namespace and the owner references.
    Owners,
}

#[derive(Clone, Debug)]
struct Index {
    func: IndexFn,
    reads: Reads,
    values: BTreeMap<String, BTreeSet<Arc<str>>>,
}

/// Item keys shared by every indexer given the same `SharedKeys`: one allocation per
/// `namespace/name` however many caches hold it. A simulated cluster keeps N caches of the
/// same objects (every node's kube-proxy caches every EndpointSlice) and updates them one
/// after another on each event; a lookup then compares key bytes the previous cache's lookup
/// just read, instead of its own cold copy. Keys only name: nothing depends on which
/// allocation holds them.
///
/// A key is forgotten when the last indexer drops it, or, when something else still held it
/// at that moment, by the next purge of keys only the set holds (purges run when the set has
/// doubled since the last one, so they cost O(1) per interned key).
#[derive(Clone, Debug, Default)]
pub struct SharedKeys(Rc<RefCell<KeySet>>);

#[derive(Debug, Default)]
struct KeySet {
    keys: BTreeSet<Arc<str>>,
    /// Size at which the next insertion purges.
    purge_at: usize,
}

/// The smallest set that is ever purged.
const MIN_PURGE: usize = 64;

impl SharedKeys {
    /// The shared allocation of `key`, added to the set if it is not there.
    pub fn intern(&self, key: &str) -> Arc<str> {
        let mut set = self.0.borrow_mut();
        if let Some(k) = set.keys.get(key) {
            return k.clone();
        }
        if set.keys.len() >= set.purge_at.max(MIN_PURGE) {
            set.keys.retain(|k| Arc::strong_count(k) > 1);
            set.purge_at = 2 * set.keys.len();
        }
        let k: Arc<str> = Arc::from(key);
        set.keys.insert(k.clone());
        k
    }

    /// The shared allocation of `key` if some indexer holds it, else a new one the set does
    /// not keep: for holders that only name keys (a set of changed keys), which must not keep
    /// a deleted object's key alive in the set.
    pub fn shared_or_new(&self, key: &str) -> Arc<str> {
        match self.0.borrow().keys.get(key) {
            Some(k) => k.clone(),
            None => Arc::from(key),
        }
    }

    /// Forgets `key` once nothing but the caller and this set holds it.
    fn release(&self, key: Arc<str>) {
        if Arc::strong_count(&key) == 2 {
            self.0.borrow_mut().keys.remove(&*key);
        }
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.0.borrow().keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.borrow().keys.is_empty()
    }
}

/// Objects by key plus named indices over them.
#[derive(Clone, Debug, Default)]
pub struct Indexer {
    items: BTreeMap<Arc<str>, SharedObject>,
    indices: BTreeMap<&'static str, Index>,
    /// Where keys come from (`None`: each key is this indexer's own).
    keys: Option<SharedKeys>,
}

impl Indexer {
    /// An indexer with no secondary index.
    pub fn new() -> Self {
        Indexer::default()
    }

    /// An indexer with the namespace index, which every namespaced lister needs.
    pub fn with_namespace_index() -> Self {
        Indexer::new().with_index_reading(NAMESPACE_INDEX, index_by_namespace, Reads::Namespace)
    }

    /// Takes its keys from `keys`, shared with the other indexers given it.
    pub fn sharing_keys(mut self, keys: SharedKeys) -> Self {
        self.items = std::mem::take(&mut self.items)
            .into_iter()
            .map(|(k, o)| (keys.intern(&k), o))
            .collect();
        for index in self.indices.values_mut() {
            for set in index.values.values_mut() {
                *set = set.iter().map(|k| keys.intern(k)).collect();
            }
        }
        self.keys = Some(keys);
        self
    }

    /// The key of `obj`, from the shared keys if any.
    fn new_key(&self, obj: &Object) -> Arc<str> {
        with_key(obj.namespace(), obj.name(), |key| match &self.keys {
            Some(keys) => keys.intern(key),
            None => Arc::from(key),
        })
    }

    /// Lets the shared keys forget a key this indexer dropped.
    fn release(&self, key: Arc<str>) {
        if let Some(keys) = &self.keys {
            keys.release(key);
        }
    }

    /// Adds an index (and indexes what is already stored).
    pub fn with_index(self, name: &'static str, func: IndexFn) -> Self {
        self.with_index_reading(name, func, Reads::Anything)
    }

    /// Adds an index whose `func` reads nothing but the object's namespace and labels (an
    /// update that keeps the labels is not indexed again).
    pub fn with_label_index(self, name: &'static str, func: IndexFn) -> Self {
        self.with_index_reading(name, func, Reads::Labels)
    }

    /// Adds an index whose `func` reads nothing but the object's namespace and owner
    /// references (a Lease renewal is not indexed again).
    pub fn with_owner_index(self, name: &'static str, func: IndexFn) -> Self {
        self.with_index_reading(name, func, Reads::Owners)
    }

    fn with_index_reading(mut self, name: &'static str, func: IndexFn, reads: Reads) -> Self {
        let mut index = Index {
            func,
            reads,
            values: BTreeMap::new(),
        };
        for (key, obj) in &self.items {
            for v in func(obj) {
                index.values.entry(v).or_default().insert(key.clone());
            }
        }
        self.indices.insert(name, index);
        self
    }

    /// Stores `obj` under its key; returns the object it replaced.
    ///
    /// An update (every Lease renewal and status write an informer sees) replaces the stored
    /// object in place and touches an index only where the object's values in it changed.
    pub fn upsert(&mut self, obj: SharedObject) -> Option<SharedObject> {
        let replaced = with_key(obj.namespace(), obj.name(), |key| {
            self.items
                .get_mut(key)
                .map(|slot| std::mem::replace(slot, obj.clone()))
        });
        let Some(old) = replaced else {
            let key = self.new_key(&obj);
            self.items.insert(key.clone(), obj.clone());
            for index in self.indices.values_mut() {
                for v in (index.func)(&obj) {
                    index.values.entry(v).or_default().insert(key.clone());
                }
            }
            return None;
        };
        let mut key = None;
        for index in self.indices.values_mut() {
            let kept = match index.reads {
                Reads::Anything => false,
                Reads::Namespace => true,
                Reads::Labels => old.labels() == obj.labels(),
                Reads::Owners => old.owner_references() == obj.owner_references(),
            };
            if kept {
                continue;
            }
            let before = (index.func)(&old);
            let after = (index.func)(&obj);
            if before == after {
                continue;
            }
            let key = key.get_or_insert_with(|| {
                with_key(obj.namespace(), obj.name(), |k| {
                    self.items.get_key_value(k).map(|(k, _)| k.clone())
                })
                .unwrap_or_else(|| Arc::from(object_key(&obj)))
            });
            unindex_values(index, key, before);
            for v in after {
                index.values.entry(v).or_default().insert(key.clone());
            }
        }
        Some(old)
    }

    /// Removes the object stored under `key`.
    pub fn remove(&mut self, key: &str) -> Option<SharedObject> {
        let (key, old) = self.items.remove_entry(key)?;
        for index in self.indices.values_mut() {
            unindex(index, &key, &old);
        }
        self.release(key);
        Some(old)
    }

    /// Replaces the whole content (a relist); returns the objects that disappeared.
    pub fn replace(
        &mut self,
        objects: impl IntoIterator<Item = SharedObject>,
    ) -> Vec<SharedObject> {
        let mut fresh: BTreeMap<Arc<str>, SharedObject> = BTreeMap::new();
        for obj in objects {
            fresh.insert(self.new_key(&obj), obj);
        }
        let old = std::mem::replace(&mut self.items, fresh);
        for index in self.indices.values_mut() {
            index.values.clear();
            for (key, obj) in &self.items {
                for v in (index.func)(obj) {
                    index.values.entry(v).or_default().insert(key.clone());
                }
            }
        }
        let mut gone = Vec::new();
        for (key, obj) in old {
            if !self.items.contains_key(&key) {
                gone.push(obj);
            }
            self.release(key);
        }
        gone
    }

    pub fn get(&self, key: &str) -> Option<&SharedObject> {
        self.items.get(key)
    }

    /// The object `namespace/name` (or `name`), looked up without building the key on the heap
    /// (controllers look objects up by name on every pass).
    pub fn get_by_name(&self, namespace: &str, name: &str) -> Option<&SharedObject> {
        with_key(namespace, name, |key| self.items.get(key))
    }

    /// The objects whose keys start with `prefix` (a namespace and its `/`), with their keys,
    /// in key order.
    pub fn with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a SharedObject)> + 'a {
        self.items
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, o)| (&**k, o))
    }

    /// Every object, in key order.
    pub fn iter(&self) -> impl Iterator<Item = &SharedObject> + '_ {
        self.items.values()
    }

    /// Every key, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.items.keys().map(AsRef::as_ref)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Objects whose index `name` holds `value`, in key order.
    pub fn by_index<'a>(
        &'a self,
        name: &str,
        value: &str,
    ) -> Result<impl Iterator<Item = &'a SharedObject> + 'a, NoSuchIndex> {
        let index = self
            .indices
            .get(name)
            .ok_or_else(|| NoSuchIndex(name.to_string()))?;
        let keys = index.values.get(value);
        Ok(keys
            .into_iter()
            .flatten()
            .filter_map(|k| self.items.get(&**k)))
    }

    /// How many objects index `name` holds under `value` (0 when the index is missing).
    fn index_len(&self, name: &str, value: &str) -> usize {
        self.indices
            .get(name)
            .and_then(|i| i.values.get(value))
            .map_or(0, BTreeSet::len)
    }

    /// The [`LABEL_INDEX`] value with the fewest objects among `selector`'s single-value
    /// equality terms, if the index exists and the selector has such a term: every object the
    /// selector matches in `namespace` is under that value.
    fn narrowest_label(&self, namespace: &str, selector: &Selector) -> Option<String> {
        if !self.indices.contains_key(LABEL_INDEX) {
            return None;
        }
        selector
            .requirements()
            .iter()
            .filter(|r| {
                matches!(
                    r.operator,
                    api::selector::Operator::Equals
                        | api::selector::Operator::DoubleEquals
                        | api::selector::Operator::In
                ) && r.values.len() == 1
            })
            .map(|r| label_index_value(namespace, &r.key, &r.values[0]))
            .min_by_key(|v| self.index_len(LABEL_INDEX, v))
    }

    /// The values index `name` currently holds.
    pub fn index_values<'a>(
        &'a self,
        name: &str,
    ) -> Result<impl Iterator<Item = &'a String> + 'a, NoSuchIndex> {
        let index = self
            .indices
            .get(name)
            .ok_or_else(|| NoSuchIndex(name.to_string()))?;
        Ok(index.values.keys())
    }

    /// A lister over this cache.
    pub fn lister(&self) -> Lister<'_> {
        Lister { indexer: self }
    }
}

fn unindex(index: &mut Index, key: &str, old: &Object) {
    unindex_values(index, key, (index.func)(old));
}

fn unindex_values(index: &mut Index, key: &str, values: Vec<String>) {
    for v in values {
        if let Some(keys) = index.values.get_mut(&v) {
            keys.remove(key);
            if keys.is_empty() {
                index.values.remove(&v);
            }
        }
    }
}

/// Read access with label selectors; returns `Arc`s, never copies of objects.
#[derive(Clone, Copy, Debug)]
pub struct Lister<'a> {
    indexer: &'a Indexer,
}

impl<'a> Lister<'a> {
    /// Every object matching `selector`, in key order.
    pub fn list(&self, selector: &Selector) -> Vec<SharedObject> {
        self.indexer
            .iter()
            .filter(|o| selector.matches(o.labels()))
            .cloned()
            .collect()
    }

    /// Objects in `namespace` matching `selector`, in key order; reads the label index when
    /// the selector has an equality term, else the namespace index when present.
    pub fn list_namespaced(&self, namespace: &str, selector: &Selector) -> Vec<SharedObject> {
        if let Some(value) = self.indexer.narrowest_label(namespace, selector)
            && let Ok(it) = self.indexer.by_index(LABEL_INDEX, &value)
        {
            return it
                .filter(|o| selector.matches(o.labels()))
                .cloned()
                .collect();
        }
        match self.indexer.by_index(NAMESPACE_INDEX, namespace) {
            Ok(it) => it
                .filter(|o| selector.matches(o.labels()))
                .cloned()
                .collect(),
            // Without the index, a range over the `namespace/` key prefix is still not a scan.
            Err(_) => {
                let prefix = format!("{namespace}/");
                self.indexer
                    .items
                    .range::<str, _>((
                        std::ops::Bound::Included(prefix.as_str()),
                        std::ops::Bound::Unbounded,
                    ))
                    .take_while(|(k, _)| k.starts_with(&prefix))
                    .map(|(_, o)| o)
                    .filter(|o| selector.matches(o.labels()))
                    .cloned()
                    .collect()
            }
        }
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<SharedObject> {
        self.indexer.get_by_name(namespace, name).cloned()
    }

    /// Pods bound to `node` (needs the `spec.nodeName` index).
    pub fn pods_on_node(&self, node: &str) -> Result<Vec<SharedObject>, NoSuchIndex> {
        Ok(self
            .indexer
            .by_index(NODE_NAME_INDEX, node)?
            .cloned()
            .collect())
    }

    /// Objects whose controller is the owner with `uid` (needs the controller-uid index).
    pub fn controlled_by(&self, uid: &str) -> Result<Vec<SharedObject>, NoSuchIndex> {
        Ok(self
            .indexer
            .by_index(CONTROLLER_UID_INDEX, uid)?
            .cloned()
            .collect())
    }

    /// Objects in `namespace` without a controlling owner (needs the orphan index).
    pub fn orphans_in(&self, namespace: &str) -> Result<Vec<SharedObject>, NoSuchIndex> {
        Ok(self
            .indexer
            .by_index(ORPHAN_INDEX, namespace)?
            .cloned()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::k8s_openapi::api::core::v1::{Pod, PodSpec};
    use api::k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn pod(
        ns: &str,
        name: &str,
        node: Option<&str>,
        app: &str,
        owner: Option<&str>,
    ) -> SharedObject {
        Arc::new(Object::from(Pod {
            metadata: ObjectMeta {
                namespace: Some(ns.into()),
                name: Some(name.into()),
                labels: Some([("app".to_string(), app.to_string())].into()),
                owner_references: owner.map(|uid| {
                    vec![OwnerReference {
                        api_version: "apps/v1".into(),
                        kind: "ReplicaSet".into(),
                        name: "rs".into(),
                        uid: uid.into(),
                        controller: Some(true),
                        block_owner_deletion: None,
                    }]
                }),
                ..Default::default()
            },
            spec: Some(PodSpec {
                node_name: node.map(Into::into),
                ..Default::default()
            }),
            status: None,
        }))
    }

    fn indexer() -> Indexer {
        Indexer::with_namespace_index()
            .with_index(NODE_NAME_INDEX, index_pod_by_node_name)
            .with_index(CONTROLLER_UID_INDEX, index_by_controller_uid)
    }

    fn names(objs: &[SharedObject]) -> Vec<&str> {
        objs.iter().map(|o| o.name()).collect()
    }

    #[test]
    fn keys_round_trip() {
        let table: &[(&str, Option<(&str, &str)>)] = &[
            ("default/web", Some(("default", "web"))),
            ("node-1", Some(("", "node-1"))),
            ("a/b/c", None),
            ("", None),
            ("ns/", None),
        ];
        for (key, want) in table {
            assert_eq!(split_key(key).ok(), *want, "{key}");
        }
        assert_eq!(key_of("", "n"), "n");
        assert_eq!(key_of("default", "p"), "default/p");
    }

    #[test]
    fn indices_follow_updates_and_deletes() {
        let mut ix = indexer();
        ix.upsert(pod("default", "a", Some("n1"), "web", Some("rs-1")));
        ix.upsert(pod("default", "b", None, "web", Some("rs-1")));
        ix.upsert(pod("other", "c", Some("n1"), "db", None));
        let l = ix.lister();
        assert_eq!(names(&l.pods_on_node("n1").unwrap()), ["a", "c"]);
        assert_eq!(names(&l.pods_on_node("").unwrap()), ["b"]);
        assert_eq!(names(&l.controlled_by("rs-1").unwrap()), ["a", "b"]);

        // b gets bound; a is deleted.
        let old = ix.upsert(pod("default", "b", Some("n2"), "web", Some("rs-1")));
        assert!(old.is_some());
        ix.remove("default/a");
        let l = ix.lister();
        assert_eq!(names(&l.pods_on_node("n1").unwrap()), ["c"]);
        assert_eq!(names(&l.pods_on_node("n2").unwrap()), ["b"]);
        assert!(l.pods_on_node("").unwrap().is_empty());
        assert_eq!(names(&l.controlled_by("rs-1").unwrap()), ["b"]);
        assert_eq!(ix.index_values(NODE_NAME_INDEX).unwrap().count(), 2);
        assert!(ix.by_index("nope", "x").is_err());
    }

    #[test]
    fn orphans_leave_the_orphan_index_when_adopted_and_return_when_released() {
        let mut ix = indexer().with_index(ORPHAN_INDEX, index_orphans_by_namespace);
        ix.upsert(pod("default", "a", None, "web", None));
        ix.upsert(pod("default", "b", None, "web", Some("rs-1")));
        ix.upsert(pod("other", "c", None, "web", None));
        assert_eq!(names(&ix.lister().orphans_in("default").unwrap()), ["a"]);
        ix.upsert(pod("default", "a", None, "web", Some("rs-1")));
        ix.upsert(pod("default", "b", None, "web", None));
        assert_eq!(names(&ix.lister().orphans_in("default").unwrap()), ["b"]);
        assert_eq!(names(&ix.lister().orphans_in("other").unwrap()), ["c"]);
        assert!(indexer().lister().orphans_in("default").is_err());
    }

    #[test]
    fn listers_select_by_label_and_namespace_without_copying() {
        let mut ix = indexer();
        let a = pod("default", "a", None, "web", None);
        ix.upsert(a.clone());
        ix.upsert(pod("default", "b", None, "db", None));
        ix.upsert(pod("kube-system", "c", None, "web", None));
        let web = Selector::parse("app=web").unwrap();
        let l = ix.lister();
        assert_eq!(names(&l.list(&web)), ["a", "c"]);
        assert_eq!(names(&l.list_namespaced("default", &web)), ["a"]);
        assert_eq!(
            names(&l.list_namespaced("default", &Selector::everything())),
            ["a", "b"]
        );
        // The same allocation comes back.
        assert!(Arc::ptr_eq(&l.get("default", "a").unwrap(), &a));
        // Without the namespace index the key prefix is used.
        let mut plain = Indexer::new();
        plain.upsert(pod("default", "a", None, "web", None));
        plain.upsert(pod("default-x", "z", None, "web", None));
        assert_eq!(
            names(&plain.lister().list_namespaced("default", &web)),
            ["a"]
        );
    }

    #[test]
    fn replace_reports_what_disappeared_and_reindexes() {
        let mut ix = indexer();
        ix.upsert(pod("default", "a", Some("n1"), "web", None));
        ix.upsert(pod("default", "b", Some("n1"), "web", None));
        let gone = ix.replace([pod("default", "b", Some("n2"), "web", None)]);
        assert_eq!(names(&gone), ["a"]);
        assert!(ix.lister().pods_on_node("n1").unwrap().is_empty());
        assert_eq!(names(&ix.lister().pods_on_node("n2").unwrap()), ["b"]);
    }

    #[test]
    fn indexers_sharing_keys_hold_one_allocation_per_key_until_none_holds_it() {
        let keys = SharedKeys::default();
        let mut a = indexer().sharing_keys(keys.clone());
        let mut b = indexer().sharing_keys(keys.clone());
        a.upsert(pod("default", "x", Some("n1"), "web", None));
        b.upsert(pod("default", "x", Some("n2"), "web", None));
        b.upsert(pod("default", "y", None, "web", None));
        let key = |ix: &Indexer| ix.items.get_key_value("default/x").unwrap().0.clone();
        assert!(Arc::ptr_eq(&key(&a), &key(&b)));
        assert_eq!(keys.len(), 2);
        a.remove("default/x");
        assert_eq!(keys.len(), 2, "b still holds default/x");
        assert_eq!(names(&b.lister().pods_on_node("n2").unwrap()), ["x"]);
        b.remove("default/x");
        assert_eq!(keys.len(), 1);
        let gone = b.replace([]);
        assert_eq!(names(&gone), ["y"]);
        assert!(keys.is_empty());
    }

    #[test]
    fn keys_held_elsewhere_when_released_are_purged_later() {
        let keys = SharedKeys::default();
        let mut ix = indexer().sharing_keys(keys.clone());
        for i in 0..1_000 {
            let name = format!("p{i}");
            ix.upsert(pod("default", &name, None, "web", None));
            // Something else (kube-proxy's set of changed Services) holds the key while the
            // indexer drops it, so the eager release cannot forget it.
            let held = keys.intern(&format!("default/{name}"));
            ix.remove(&held);
            drop(held);
        }
        assert!(keys.len() <= 2 * MIN_PURGE, "{} keys kept", keys.len());
        // A key some indexer holds survives every purge, and stays shared.
        ix.upsert(pod("default", "kept", None, "web", None));
        for i in 0..1_000 {
            keys.intern(&format!("default/q{i}"));
        }
        let held = ix.items.get_key_value("default/kept").unwrap().0.clone();
        assert!(Arc::ptr_eq(&keys.shared_or_new("default/kept"), &held));
        // Asking for a key no indexer holds does not add it.
        let before = keys.len();
        let free = keys.shared_or_new("default/nobody");
        assert_eq!(keys.len(), before);
        assert!(!Arc::ptr_eq(&free, &keys.shared_or_new("default/nobody")));
    }

    #[test]
    fn a_label_index_follows_label_changes_and_skips_other_updates() {
        // Counts the index function's calls (only this test uses it).
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        fn counted(obj: &Object) -> Vec<String> {
            CALLS.fetch_add(1, Ordering::Relaxed);
            index_by_labels(obj)
        }
        let calls = || CALLS.load(Ordering::Relaxed);
        let mut ix = Indexer::new().with_label_index(LABEL_INDEX, counted);
        let under = |ix: &Indexer, v: &str| -> Vec<String> {
            ix.by_index(LABEL_INDEX, v)
                .unwrap()
                .map(|o| o.name().to_string())
                .collect()
        };
        ix.upsert(pod("default", "a", None, "web", None));
        let added = calls();
        ix.upsert(pod("default", "a", Some("n1"), "web", None));
        assert_eq!(
            calls(),
            added,
            "an update keeping the labels is not indexed again"
        );
        assert_eq!(under(&ix, "default/app=web"), ["a"]);
        ix.upsert(pod("default", "a", Some("n1"), "db", None));
        assert!(calls() > added);
        assert!(under(&ix, "default/app=web").is_empty());
        assert_eq!(under(&ix, "default/app=db"), ["a"]);
        assert_eq!(ix.index_values(LABEL_INDEX).unwrap().count(), 1);
    }

    #[test]
    fn label_index_lists_what_the_namespace_scan_lists() {
        let mut with = indexer().with_index(LABEL_INDEX, index_by_labels);
        let mut without = indexer();
        let pods = [
            pod("default", "a", None, "web", None),
            pod("default", "b", None, "db", None),
            pod("default", "c", None, "web", Some("u1")),
            pod("other", "d", None, "web", None),
            pod("default", "e", None, "web-2", None),
        ];
        for p in &pods {
            with.upsert(p.clone());
            without.upsert(p.clone());
        }
        // An update moves the pod between label values.
        with.upsert(pod("default", "b", None, "web", None));
        without.upsert(pod("default", "b", None, "web", None));
        let table = [
            "app=web",
            "app==web",
            "app in (web)",
            "app in (web,db)",
            "app!=web",
            "app",
            "app=web,app!=db",
            "app=nope",
            "",
        ];
        for text in table {
            let sel = Selector::parse(text).unwrap();
            for ns in ["default", "other", "none"] {
                assert_eq!(
                    names(&with.lister().list_namespaced(ns, &sel)),
                    names(&without.lister().list_namespaced(ns, &sel)),
                    "{text:?} in {ns}"
                );
            }
        }
        assert_eq!(
            names(
                &with
                    .lister()
                    .list_namespaced("default", &Selector::parse("app=web").unwrap())
            ),
            ["a", "b", "c"]
        );
        with.remove("default/a");
        assert_eq!(
            names(
                &with
                    .lister()
                    .list_namespaced("default", &Selector::parse("app=web").unwrap())
            ),
            ["b", "c"]
        );
    }
}
