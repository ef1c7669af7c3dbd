//! The watch cache: per resource, the current objects, a sliding window of recent events, and
//! the watchers, fed by the apiserver's one etcd watch on `/registry/`.
//!
//! Follows `staging/src/k8s.io/apiserver/pkg/storage/cacher` (`cacher.go`, `watch_cache.go`):
//! lists are served from the cache at its resourceVersion; a watch from resourceVersion N
//! replays the window's events after N, or fails with 410 `too old resource version: N (M)`
//! when N precedes the window; a watch from "0" starts with synthetic ADDED events for the
//! current objects; the window keeps at least 100 events and the last 75 s
//! (`eventFreshDuration`), at most 102,400 (`defaultUpperBoundCapacity`). Watchers are indexed
//! as the cacher's `indexedTriggerFunc`s index them: pods by `spec.nodeName` (a kubelet's watch
//! touches only its own pods' events), nodes by name, and by namespace. An event is built once as an `Arc` and
//! the same `Arc` goes to every watcher; an update that moves an object into or out of a
//! watcher's selection becomes ADDED or DELETED for that watcher, as the cacher does.
//!
//! Memory: the window holds each past revision as etcd's bytes ([`Encoded`], shared with
//! etcd's MVCC history, so it costs nothing more) and decodes it only when a watch replays it
//! (a watch from a resourceVersion inside the window: a client's re-watch). The cacher keeps
//! decoded objects in its window instead; here a decoded revision lives only as long as the
//! current object or an event in flight holds it, since at 1,000 endpoints a legacy Endpoints
//! revision is ~300 KB decoded and a large Service writes hundreds of them within the window.
//! A revision without bytes (a delete's last state) is kept decoded.
//!
//! Simplifications: the cache's resourceVersion is global (one etcd watch for all resources,
//! so every revision reaches every resource's cache, which keeps consistent reads simple);
//! watchers are never dropped for being slow (sim streams have no buffer limit).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use api::fields::FieldSelector;
use api::selector::Selector;
use api::{Kind, SharedObject};
use sim::{Duration, Time};

use crate::protocol::{EventType, StatusError, WatchEvent, too_old_resource_version};
use crate::storage::Encoded;

/// How big the window of recent events is.
#[derive(Clone, Copy, Debug)]
pub struct WindowConfig {
    pub min_events: usize,
    pub max_events: usize,
    pub fresh_for: Duration,
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig {
            min_events: 100,
            max_events: 102_400,
            fresh_for: Duration::from_secs(75),
        }
    }
}

/// What a watcher (or a list) selects.
#[derive(Clone, Debug)]
pub struct Filter {
    pub namespace: String,
    pub name: String,
    pub labels: Selector,
    pub fields: FieldSelector,
    /// `spec.nodeName=X` of a pod selector or `metadata.name=X` of a node selector, used to
    /// index.
    pub node_name: Option<String>,
}

impl Filter {
    pub fn matches(&self, o: &api::Object) -> bool {
        (self.namespace.is_empty() || o.namespace() == self.namespace)
            && (self.name.is_empty() || o.name() == self.name)
            && self.labels.matches(o.labels())
            && self.fields.matches(o)
    }
}

/// One registered watcher.
#[derive(Clone, Debug)]
pub struct Watcher<R> {
    pub filter: Filter,
    /// Where its events go (the server's reply address and request id).
    pub target: R,
    pub bookmarks: bool,
}

/// A change as watchers receive it: the object after (or the last state for a delete) and
/// the object before, with the shared event every plain watcher receives.
#[derive(Clone, Debug)]
pub struct Change {
    pub object: SharedObject,
    pub prev: Option<SharedObject>,
    pub event: Arc<WatchEvent>,
}

/// One revision of an object as the window keeps it: etcd's bytes and the revision that
/// stamps them when known, else the decoded object.
#[derive(Clone, Debug)]
pub enum Held {
    Encoded(Encoded, i64),
    Decoded(SharedObject),
}

impl Held {
    fn of(object: &SharedObject, encoded: Option<&Encoded>, rev: i64) -> Held {
        match encoded {
            Some(e) => Held::Encoded(e.clone(), rev),
            None => Held::Decoded(object.clone()),
        }
    }

    /// The object as it was served (`None`: the bytes do not decode, which cannot happen to
    /// what the apiserver wrote).
    fn object(&self) -> Option<SharedObject> {
        match self {
            Held::Encoded(e, rev) => e.decode_at(*rev).ok(),
            Held::Decoded(o) => Some(o.clone()),
        }
    }
}

/// A change recorded in the window, to replay to a watch that starts before it.
#[derive(Clone, Debug)]
struct Recorded {
    rv: i64,
    at: Time,
    event_type: EventType,
    object: Held,
    prev: Option<Held>,
}

impl Recorded {
    /// The change as it was delivered (equal objects: the shared decode of that revision if a
    /// reader still holds it, else decoded anew).
    fn change(&self) -> Option<Change> {
        let object = self.object.object()?;
        let prev = match &self.prev {
            Some(p) => Some(p.object()?),
            None => None,
        };
        let event = Arc::new(WatchEvent {
            event_type: self.event_type,
            object: Some(object.clone()),
            resource_version: self.rv,
            error: None,
        });
        Some(Change {
            object,
            prev,
            event,
        })
    }
}

/// One object of a fresh list: key, object (resourceVersion set), mod revision, etcd's bytes.
pub type ListedItem = (String, SharedObject, i64, Option<Encoded>);

/// A current object: etcd's bytes of it when known, and the decoded object unless the
/// resource keeps only the bytes ([`keeps_decoded`]).
#[derive(Debug)]
struct Current {
    object: Option<SharedObject>,
    rev: i64,
    encoded: Option<Encoded>,
    /// `metadata.creationTimestamp` in virtual seconds when only the bytes are kept: the
    /// Event TTL sweep reads it for every Event each minute once one may have expired, and
    /// decoding them all for it was ~5% of a 12-hour steady run (the hour after the
    /// convergence's ~15,000 Events expire).
    created: Option<i64>,
}

impl Current {
    fn new(object: &SharedObject, rev: i64, encoded: Option<Encoded>, decoded: bool) -> Current {
        let keep = decoded || encoded.is_none();
        Current {
            object: keep.then(|| object.clone()),
            rev,
            encoded,
            created: if keep { None } else { created_secs(object) },
        }
    }

    /// The creation time in virtual seconds, without a decode.
    fn created(&self) -> Option<i64> {
        match &self.object {
            Some(o) => created_secs(o),
            None => self.created,
        }
    }

    /// The object (decoded anew, or the shared decode of its revision while anyone holds
    /// one, when only the bytes are kept).
    fn object(&self) -> Option<SharedObject> {
        match (&self.object, &self.encoded) {
            (Some(o), _) => Some(o.clone()),
            (None, Some(e)) => e.decode_at(self.rev).ok(),
            (None, None) => None,
        }
    }

    /// The object as the window keeps a past revision.
    fn held(&self) -> Option<Held> {
        match (&self.encoded, &self.object) {
            (Some(e), _) => Some(Held::Encoded(e.clone(), self.rev)),
            (None, Some(o)) => Some(Held::Decoded(o.clone())),
            (None, None) => None,
        }
    }
}

/// Whether the cache keeps `kind`'s current objects decoded. Events are kept as etcd's bytes
/// only: the apiserver writes them (5 or so per pod, kept an hour by `--event-ttl`) but no
/// component watches them, and a decoded Event is several times its encoding (~50 MB per
/// 10,000 pods). Upstream does not cache Events at all (`DefaultWatchCacheSizes`: events and
/// events.k8s.io events 0); here lists and watches of them still go through the cache, and
/// decode what they return.
fn keeps_decoded(kind: Kind) -> bool {
    !matches!(kind, Kind::Event | Kind::EventsV1Event)
}

/// One resource's cache.
#[derive(Debug)]
pub struct ResourceCache<R> {
    pub kind: Kind,
    /// key -> the object (resourceVersion set), its mod revision, etcd's bytes of it.
    objects: BTreeMap<String, Current>,
    /// Whether `objects` keep the decoded object ([`keeps_decoded`]).
    decoded: bool,
    /// pods: node name -> keys.
    by_node: BTreeMap<String, BTreeSet<String>>,
    window: VecDeque<Recorded>,
    /// Every event of this resource after this revision is in the window.
    window_start: i64,
    watchers: BTreeMap<u64, Watcher<R>>,
    watchers_by_node: BTreeMap<String, BTreeSet<u64>>,
    watchers_by_namespace: BTreeMap<String, BTreeSet<u64>>,
    watchers_everywhere: BTreeSet<u64>,
}

fn created_secs(o: &api::Object) -> Option<i64> {
    o.metadata()
        .creation_timestamp
        .as_ref()
        .map(crate::objects::virtual_secs)
}

/// The node an object is indexed under: a pod's `spec.nodeName`, a Node's own name (the
/// cacher's `NodeNameTriggerFunc`: each kubelet watches its own Node).
fn node_of(o: &api::Object) -> Option<&str> {
    match o {
        api::Object::Node(_) => Some(o.name()).filter(|n| !n.is_empty()),
        _ => o
            .as_pod()
            .and_then(|p| p.spec.as_ref())
            .and_then(|s| s.node_name.as_deref())
            .filter(|n| !n.is_empty()),
    }
}

impl<R: Clone> ResourceCache<R> {
    pub fn new(kind: Kind) -> Self {
        ResourceCache {
            kind,
            objects: BTreeMap::new(),
            decoded: keeps_decoded(kind),
            by_node: BTreeMap::new(),
            window: VecDeque::new(),
            window_start: 0,
            watchers: BTreeMap::new(),
            watchers_by_node: BTreeMap::new(),
            watchers_by_namespace: BTreeMap::new(),
            watchers_everywhere: BTreeSet::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    pub fn watcher_count(&self) -> usize {
        self.watchers.len()
    }

    /// Replaces the contents with a fresh list at `rv` (start, or relist after the etcd watch
    /// was compacted away); the window restarts there.
    pub fn reset(&mut self, rv: i64, items: Vec<ListedItem>) {
        self.objects.clear();
        self.by_node.clear();
        self.window.clear();
        self.window_start = rv;
        for (key, obj, rev, encoded) in items {
            self.index_insert(&key, &obj);
            let current = Current::new(&obj, rev, encoded, self.decoded);
            self.objects.insert(key, current);
        }
    }

    fn index_insert(&mut self, key: &str, o: &api::Object) {
        if let Some(n) = node_of(o) {
            self.by_node
                .entry(n.to_string())
                .or_default()
                .insert(key.to_string());
        }
    }

    fn index_remove(&mut self, key: &str, o: &api::Object) {
        if let Some(n) = node_of(o)
            && let Some(set) = self.by_node.get_mut(n)
        {
            set.remove(key);
            if set.is_empty() {
                self.by_node.remove(n);
            }
        }
    }

    /// The current object under `key` and its mod revision.
    pub fn get(&self, key: &str) -> Option<(SharedObject, i64)> {
        let c = self.objects.get(key)?;
        Some((c.object()?, c.rev))
    }

    /// [`Self::get`], with etcd's value of that revision if kept (the base a write from it is
    /// encoded after): one look-up for both.
    pub fn get_encoded(&self, key: &str) -> Option<(SharedObject, i64, Option<Encoded>)> {
        let c = self.objects.get(key)?;
        Some((c.object()?, c.rev, c.encoded.clone()))
    }

    /// etcd's value of the object under `key` at mod revision `rev`, if that is the revision
    /// cached (the base a write computed from `rev` is encoded after).
    pub fn encoded_at(&self, key: &str, rev: i64) -> Option<&Encoded> {
        match self.objects.get(key) {
            Some(c) if c.rev == rev => c.encoded.as_ref(),
            _ => None,
        }
    }

    /// Objects under `prefix` matching `filter`, using the node index when the filter names a
    /// node.
    pub fn list(&self, prefix: &str, filter: &Filter) -> Vec<SharedObject> {
        if let Some(node) = &filter.node_name {
            return self
                .by_node
                .get(node)
                .into_iter()
                .flatten()
                .filter(|k| k.starts_with(prefix))
                .filter_map(|k| self.objects.get(k)?.object())
                .filter(|o| filter.matches(o))
                .collect();
        }
        self.objects
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter_map(|(_, c)| c.object())
            .filter(|o| filter.matches(o))
            .collect()
    }

    /// The Event TTL sweep's pass over the objects under `prefix`, in key order: each one's
    /// creation time (`now` when it has none) lowers `oldest`, and those created `ttl` or more
    /// before `now` are pushed to `expired`, until `expired` holds `batch` (then `false`, the
    /// pass incomplete). What [`Self::list`] of everything and a look at each creation time
    /// did, but only the expired objects are decoded (every entry decodes: the cache holds
    /// only what it decoded from these bytes).
    pub fn sweep_expired(
        &self,
        prefix: &str,
        now: i64,
        ttl: i64,
        batch: usize,
        expired: &mut Vec<SharedObject>,
        oldest: &mut i64,
    ) -> bool {
        let entries = self
            .objects
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.starts_with(prefix));
        for (_, c) in entries {
            let created = c.created().unwrap_or(now);
            let o = if now - created >= ttl {
                match c.object() {
                    Some(o) => Some(o),
                    None => continue,
                }
            } else {
                None
            };
            *oldest = (*oldest).min(created);
            if let Some(o) = o {
                expired.push(o);
            }
            if expired.len() >= batch {
                return false;
            }
        }
        true
    }

    /// Applies one change from etcd. `object` is the new state, with etcd's bytes of it (or,
    /// for a delete, `deleted_last` is the last state with the deletion's resourceVersion).
    /// Returns the deliveries to make: (watcher target, event).
    #[allow(clippy::too_many_arguments)]
    pub fn apply(
        &mut self,
        key: &str,
        object: Option<(SharedObject, Option<Encoded>)>,
        deleted_last: Option<SharedObject>,
        rv: i64,
        at: Time,
        window: &WindowConfig,
    ) -> Vec<(R, Arc<WatchEvent>)> {
        let (object, encoded) = match object {
            Some((o, e)) => (Some(o), e),
            None => (None, None),
        };
        // Most changes replace an object in place: the key is copied only for a new one.
        let replaced = match &object {
            Some(o) => {
                let entry = Current::new(o, rv, encoded.clone(), self.decoded);
                match self.objects.get_mut(key) {
                    Some(slot) => Some(std::mem::replace(slot, entry)),
                    None => {
                        self.objects.insert(key.to_string(), entry);
                        None
                    }
                }
            }
            None => self.objects.remove(key),
        };
        // The previous object, for the node index, a watcher's selection and a delete's
        // event. A resource kept as bytes ([`keeps_decoded`]: Events, which nothing indexes)
        // decodes it only when a watcher is there to judge it or the change is a delete.
        let prev = match &replaced {
            Some(r) if self.decoded || object.is_none() || !self.watchers.is_empty() => r.object(),
            _ => None,
        };
        // A pod updated on the same node stays where it is in the node index.
        let same_node = matches!((&prev, &object), (Some(p), Some(o)) if node_of(p) == node_of(o));
        if !same_node {
            if let Some(p) = &prev {
                self.index_remove(key, p);
            }
            if let Some(o) = &object {
                self.index_insert(key, o);
            }
        }
        let prev_held = replaced.as_ref().and_then(Current::held);
        let (event_type, current, held) = match (&object, deleted_last) {
            (Some(o), _) => (
                if replaced.is_some() {
                    EventType::Modified
                } else {
                    EventType::Added
                },
                o.clone(),
                Held::of(o, encoded.as_ref(), rv),
            ),
            (None, Some(last)) => (EventType::Deleted, last.clone(), Held::Decoded(last)),
            (None, None) => match (&prev, &prev_held) {
                (Some(p), Some(h)) => (EventType::Deleted, p.clone(), h.clone()),
                _ => return Vec::new(),
            },
        };
        let event = Arc::new(WatchEvent {
            event_type,
            object: Some(current.clone()),
            resource_version: rv,
            error: None,
        });
        let change = Change {
            object: current,
            prev,
            event,
        };
        let out = self.deliveries(&change);
        self.window.push_back(Recorded {
            rv,
            at,
            event_type,
            object: held,
            prev: prev_held,
        });
        self.trim(at, window);
        out
    }

    fn trim(&mut self, now: Time, cfg: &WindowConfig) {
        while self.window.len() > cfg.min_events {
            let front = &self.window[0];
            let stale = now.saturating_since(front.at) > cfg.fresh_for;
            if !stale && self.window.len() <= cfg.max_events {
                break;
            }
            self.window_start = front.rv;
            self.window.pop_front();
        }
    }

    /// The watchers that may see `change`, in id order: those of every namespace, and of the
    /// namespace or node of the object or its previous state. Most changes (a Lease, a Node)
    /// have no namespace or node watchers, and their candidates are not copied.
    fn candidates(&self, change: &Change) -> Cow<'_, BTreeSet<u64>> {
        let mut ids = Cow::Borrowed(&self.watchers_everywhere);
        for o in std::iter::once(&change.object).chain(change.prev.iter()) {
            if let Some(set) = self.watchers_by_namespace.get(o.namespace()) {
                ids.to_mut().extend(set);
            }
            if let Some(n) = node_of(o)
                && let Some(set) = self.watchers_by_node.get(n)
            {
                ids.to_mut().extend(set);
            }
        }
        ids
    }

    fn deliveries(&self, change: &Change) -> Vec<(R, Arc<WatchEvent>)> {
        let mut out = Vec::new();
        let mut added: Option<Arc<WatchEvent>> = None;
        let mut removed: Option<Arc<WatchEvent>> = None;
        for id in self.candidates(change).iter() {
            let Some(w) = self.watchers.get(id) else {
                continue;
            };
            if let Some(ev) = event_for(&w.filter, change, &mut added, &mut removed) {
                out.push((w.target.clone(), ev));
            }
        }
        out
    }

    /// Registers a watcher from `from_rv` (None: from now, after synthetic ADDED events for
    /// the current matching objects). Returns the events to send first.
    pub fn watch(
        &mut self,
        id: u64,
        watcher: Watcher<R>,
        from_rv: Option<i64>,
        prefix: &str,
    ) -> Result<Vec<Arc<WatchEvent>>, StatusError> {
        let initial = match from_rv {
            None => self
                .list(prefix, &watcher.filter)
                .into_iter()
                .map(|o| {
                    let rv = o.resource_version().parse().unwrap_or(0);
                    Arc::new(WatchEvent {
                        event_type: EventType::Added,
                        object: Some(o),
                        resource_version: rv,
                        error: None,
                    })
                })
                .collect(),
            Some(rv) => {
                if rv < self.window_start {
                    return Err(too_old_resource_version(rv, self.window_start));
                }
                let mut added = None;
                let mut removed = None;
                let start = self.window.partition_point(|c| c.rv <= rv);
                self.window
                    .range(start..)
                    .filter_map(|r| {
                        // Each replayed change has its own ADDED/DELETED variants.
                        added = None;
                        removed = None;
                        let c = r.change()?;
                        event_for(&watcher.filter, &c, &mut added, &mut removed)
                    })
                    .collect()
            }
        };
        match &watcher.filter.node_name {
            Some(n) => {
                self.watchers_by_node
                    .entry(n.clone())
                    .or_default()
                    .insert(id);
            }
            None if !watcher.filter.namespace.is_empty() => {
                self.watchers_by_namespace
                    .entry(watcher.filter.namespace.clone())
                    .or_default()
                    .insert(id);
            }
            None => {
                self.watchers_everywhere.insert(id);
            }
        }
        self.watchers.insert(id, watcher);
        Ok(initial)
    }

    pub fn unwatch(&mut self, id: u64) -> Option<Watcher<R>> {
        let w = self.watchers.remove(&id)?;
        self.watchers_everywhere.remove(&id);
        for map in [&mut self.watchers_by_node, &mut self.watchers_by_namespace] {
            let key = match map.iter().find(|(_, s)| s.contains(&id)) {
                Some((k, _)) => k.clone(),
                None => continue,
            };
            if let Some(s) = map.get_mut(&key) {
                s.remove(&id);
                if s.is_empty() {
                    map.remove(&key);
                }
            }
        }
        Some(w)
    }

    pub fn watchers(&self) -> impl Iterator<Item = (&u64, &Watcher<R>)> {
        self.watchers.iter()
    }

    pub fn drain_watchers(&mut self) -> Vec<(u64, Watcher<R>)> {
        self.watchers_everywhere.clear();
        self.watchers_by_namespace.clear();
        self.watchers_by_node.clear();
        std::mem::take(&mut self.watchers).into_iter().collect()
    }

    pub fn window_len(&self) -> usize {
        self.window.len()
    }
}

/// The event `filter`'s watcher sees for `change`: the shared event when it matched before
/// and after (or for a plain add/delete), a shared ADDED/DELETED when the change moved the
/// object into/out of its selection, nothing otherwise.
fn event_for(
    filter: &Filter,
    change: &Change,
    added: &mut Option<Arc<WatchEvent>>,
    removed: &mut Option<Arc<WatchEvent>>,
) -> Option<Arc<WatchEvent>> {
    let now = filter.matches(&change.object);
    match change.event.event_type {
        EventType::Added | EventType::Deleted => now.then(|| change.event.clone()),
        _ => {
            let before = change.prev.as_ref().is_some_and(|p| filter.matches(p));
            match (before, now) {
                (true, true) => Some(change.event.clone()),
                (false, true) => Some(
                    added
                        .get_or_insert_with(|| {
                            Arc::new(WatchEvent {
                                event_type: EventType::Added,
                                ..WatchEvent::clone(&change.event)
                            })
                        })
                        .clone(),
                ),
                (true, false) => Some(
                    removed
                        .get_or_insert_with(|| {
                            Arc::new(WatchEvent {
                                event_type: EventType::Deleted,
                                ..WatchEvent::clone(&change.event)
                            })
                        })
                        .clone(),
                ),
                (false, false) => None,
            }
        }
    }
}
