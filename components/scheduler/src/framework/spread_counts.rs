//! Matching pods per topology domain, kept in the cache for PodTopologySpread: for a set of
//! spread constraints (topology key and selector each) in a namespace, every domain's count of
//! pods that match, and how many domains have each count (so the smallest count, the skew's
//! base, is read without visiting every domain). Domains are the ids of
//! [`super::topology::TopologyIndex`], so counts are arrays indexed by domain.
//!
//! Upstream's PreFilter/PreScore (`framework/plugins/podtopologyspread/filtering.go`
//! `calPreFilterState`, `scoring.go` `initPreScoreState`) count the matching pods of every
//! node of the snapshot once per cycle, which is O(nodes) per pod. Here a count set is built
//! once (on the first cycle that asks for it) and then updated by the cache on every pod
//! assumed, forgotten, added or removed; a node added, removed or relabelled drops every set
//! (rebuilt on the next ask). The sets are the same numbers upstream computes, for pods whose
//! constraints count every node (no node affinity or nodeSelector to honour, no taints
//! policy): the plugin falls back to upstream's full count otherwise.
//! Bounded: at most [`MAX_SETS`] sets, the least recently used dropped first.

use std::collections::BTreeMap;
use std::sync::Arc;

use api::selector::Selector;

use super::node_info::{NodeInfo, PodInfo};
use super::snapshot::Snapshot;
use super::topology::TopologyIndex;

/// Count sets kept at once (a set per distinct workload being scheduled).
pub const MAX_SETS: usize = 64;

/// One constraint's counts: domain id ([`TopologyIndex`]) → matching pods, and count →
/// domains.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DomainCounts {
    /// By domain id; `None`: no counted node has this domain.
    counts: Vec<Option<i64>>,
    domains: usize,
    histogram: BTreeMap<i64, usize>,
}

impl DomainCounts {
    /// Matching pods in the domain (`None`: no counted node has this domain).
    pub fn get(&self, domain: u32) -> Option<i64> {
        self.counts.get(domain as usize).copied().flatten()
    }

    /// Matching pods by domain id, as [`DomainCounts::get`] (a domain past the end: `None`).
    pub fn by_domain(&self) -> &[Option<i64>] {
        &self.counts
    }

    /// Domains seen.
    pub fn len(&self) -> usize {
        self.domains
    }

    pub fn is_empty(&self) -> bool {
        self.domains == 0
    }

    /// The smallest count over the domains (0 with no domain).
    pub fn min(&self) -> i64 {
        self.histogram.keys().next().copied().unwrap_or(0)
    }

    /// The smallest count and the number of domains once `delta` (domain → change) applies.
    pub fn min_with(&self, delta: &BTreeMap<u32, i64>) -> (i64, usize) {
        if delta.is_empty() {
            return (self.min(), self.len());
        }
        let mut histogram = self.histogram.clone();
        let mut len = self.len();
        for (domain, d) in delta {
            let old = self.get(*domain);
            match old {
                Some(o) => dec(&mut histogram, o),
                None => len += 1,
            }
            *histogram.entry(old.unwrap_or(0) + d).or_insert(0) += 1;
        }
        (histogram.keys().next().copied().unwrap_or(0), len)
    }

    /// Adds `n` to the domain (creating it at 0 first).
    pub fn bump(&mut self, domain: u32, n: i64) {
        let d = domain as usize;
        if self.counts.len() <= d {
            self.counts.resize(d + 1, None);
        }
        let old = self.counts[d];
        self.counts[d] = Some(old.unwrap_or(0) + n);
        match old {
            Some(o) => dec(&mut self.histogram, o),
            None => self.domains += 1,
        }
        *self.histogram.entry(old.unwrap_or(0) + n).or_insert(0) += 1;
    }
}

fn dec(h: &mut BTreeMap<i64, usize>, count: i64) {
    if let Some(n) = h.get_mut(&count) {
        *n -= 1;
        if *n == 0 {
            h.remove(&count);
        }
    }
}

/// What a count set counts: pods of `namespace` matching every selector of a constraint, per
/// domain of its topology key, on the nodes that carry the key (every key of the set when
/// `require_all_keys`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountKey {
    pub namespace: String,
    /// (topology key, selectors all of which must match).
    pub constraints: Vec<(String, Vec<Selector>)>,
    pub require_all_keys: bool,
}

impl CountKey {
    /// Whether this key counts `constraints` ((topology key, selectors)) of `namespace`,
    /// compared without building a key.
    pub fn is<'a>(
        &self,
        namespace: &str,
        mut constraints: impl ExactSizeIterator<Item = (&'a str, &'a [Selector])>,
        require_all_keys: bool,
    ) -> bool {
        self.namespace == namespace
            && self.require_all_keys == require_all_keys
            && self.constraints.len() == constraints.len()
            && self
                .constraints
                .iter()
                .all(|(k, s)| constraints.next() == Some((k.as_str(), s.as_slice())))
    }

    /// Whether the node in `slot` counts, given the set's topology indexes.
    fn node_counts(&self, topo: &[Arc<TopologyIndex>], slot: usize, node: &NodeInfo) -> bool {
        node.node.is_some()
            && (!self.require_all_keys || topo.iter().all(|t| t.domain(slot).is_some()))
    }

    fn pod_matches(&self, i: usize, pod: &PodInfo) -> bool {
        !pod.terminating
            && pod.namespace == self.namespace
            && self.constraints[i]
                .1
                .iter()
                .all(|s| s.matches(pod.labels()))
    }

    fn topology(&self, snap: &Snapshot) -> Vec<Arc<TopologyIndex>> {
        self.constraints
            .iter()
            .map(|(k, _)| snap.topology(k))
            .collect()
    }

    /// Counts every node of the snapshot.
    pub fn build(&self, snap: &Snapshot) -> Vec<DomainCounts> {
        self.build_with(&self.topology(snap), snap)
    }

    fn build_with(&self, topo: &[Arc<TopologyIndex>], snap: &Snapshot) -> Vec<DomainCounts> {
        let mut out = vec![DomainCounts::default(); self.constraints.len()];
        for slot in snap.ordered() {
            let node = snap.node(*slot);
            if !self.node_counts(topo, *slot, node) {
                continue;
            }
            for (i, t) in topo.iter().enumerate() {
                let Some(d) = t.domain(*slot) else {
                    continue;
                };
                let n = node.pods.iter().filter(|p| self.pod_matches(i, p)).count() as i64;
                out[i].bump(d, n);
            }
        }
        out
    }
}

#[derive(Clone, Debug)]
struct CountSet {
    key: CountKey,
    topo: Vec<Arc<TopologyIndex>>,
    counts: Arc<Vec<DomainCounts>>,
    used: u64,
}

/// The count sets of the cache.
#[derive(Clone, Debug, Default)]
pub struct SpreadCounts {
    sets: Vec<CountSet>,
    clock: u64,
}

impl SpreadCounts {
    /// The counts for `key`, built from the snapshot's nodes when not kept yet.
    pub fn get(&mut self, key: &CountKey, snap: &Snapshot) -> Arc<Vec<DomainCounts>> {
        self.clock += 1;
        if let Some(s) = self.sets.iter_mut().find(|s| s.key == *key) {
            s.used = self.clock;
            return s.counts.clone();
        }
        self.build(key, snap)
    }

    /// [`SpreadCounts::get`] for the key [`CountKey::is`] describes; `key` builds it only
    /// when no set is kept for it (a cycle's lookup allocates nothing).
    pub fn get_with<'a, I>(
        &mut self,
        namespace: &str,
        constraints: I,
        require_all_keys: bool,
        key: impl FnOnce() -> CountKey,
        snap: &Snapshot,
    ) -> Arc<Vec<DomainCounts>>
    where
        I: ExactSizeIterator<Item = (&'a str, &'a [Selector])> + Clone,
    {
        self.clock += 1;
        if let Some(s) = self
            .sets
            .iter_mut()
            .find(|s| s.key.is(namespace, constraints.clone(), require_all_keys))
        {
            s.used = self.clock;
            return s.counts.clone();
        }
        self.build(&key(), snap)
    }

    fn build(&mut self, key: &CountKey, snap: &Snapshot) -> Arc<Vec<DomainCounts>> {
        let topo = key.topology(snap);
        let counts = Arc::new(key.build_with(&topo, snap));
        if self.sets.len() >= MAX_SETS
            && let Some(i) = (0..self.sets.len()).min_by_key(|i| self.sets[*i].used)
        {
            self.sets.swap_remove(i);
        }
        self.sets.push(CountSet {
            key: key.clone(),
            topo,
            counts: counts.clone(),
            used: self.clock,
        });
        counts
    }

    /// A pod arrived on (`sign` 1) or left (-1) the node in `slot`.
    pub fn on_pod(&mut self, pod: &PodInfo, slot: usize, node: &NodeInfo, sign: i64) {
        for s in &mut self.sets {
            if s.key.namespace != pod.namespace || !s.key.node_counts(&s.topo, slot, node) {
                continue;
            }
            for i in 0..s.key.constraints.len() {
                if !s.key.pod_matches(i, pod) {
                    continue;
                }
                if let Some(d) = s.topo[i].domain(slot) {
                    Arc::make_mut(&mut s.counts)[i].bump(d, sign);
                }
            }
        }
    }

    /// Nodes changed (added, removed, relabelled): every set is rebuilt on its next use.
    pub fn clear(&mut self) {
        self.sets.clear();
    }

    pub fn len(&self) -> usize {
        self.sets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use api::selector::Selector;

    use super::CountKey;
    use crate::framework::{PodInfo, Snapshot};

    fn obj(yaml: &str) -> Arc<api::Object> {
        Arc::new(
            api::manifest::parse_objects(yaml)
                .expect("manifest")
                .remove(0),
        )
    }

    fn pod(name: &str, app: &str, node: &str) -> Arc<PodInfo> {
        let mut p = PodInfo::new(obj(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: default, uid: u-{name}, labels: {{app: {app}}}}}\nspec:\n  containers: [{{name: c, image: nginx}}]\n"
        )))
        .expect("a pod");
        p.node_name = node.into();
        Arc::new(p)
    }

    /// The kept counts equal a fresh count after pods are assumed, bound elsewhere,
    /// forgotten and removed, and a node is relabelled.
    #[test]
    fn kept_counts_follow_every_pod_change() {
        let mut s = Snapshot::new();
        for (i, zone) in ["a", "a", "b", "c"].iter().enumerate() {
            s.upsert_node(obj(&format!(
                "apiVersion: v1\nkind: Node\nmetadata: {{name: n{i}, labels: {{kubernetes.io/hostname: n{i}, topology.kubernetes.io/zone: {zone}}}}}\n"
            )));
        }
        s.refresh();
        let key = CountKey {
            namespace: "default".into(),
            constraints: vec![
                (
                    "topology.kubernetes.io/zone".into(),
                    vec![Selector::parse("app=web").unwrap()],
                ),
                (
                    "kubernetes.io/hostname".into(),
                    vec![Selector::parse("app=web").unwrap()],
                ),
            ],
            require_all_keys: true,
        };
        let check = |s: &Snapshot, zones: [i64; 3]| {
            let kept = s.spread_counts(&key);
            assert_eq!(*kept, key.build(s));
            let zone = s.topology("topology.kubernetes.io/zone");
            let got: Vec<i64> = ["a", "b", "c"]
                .iter()
                .map(|z| kept[0].get(zone.id(z).unwrap()).unwrap())
                .collect();
            assert_eq!(got, zones);
            assert_eq!(kept[0].min(), *zones.iter().min().unwrap());
            assert_eq!(kept[1].len(), 4);
        };
        check(&s, [0, 0, 0]);
        s.assume(pod("w1", "web", "n0"), "n0");
        s.assume(pod("w2", "web", "n1"), "n1");
        s.assume(pod("x", "other", "n2"), "n2");
        check(&s, [2, 0, 0]);
        s.upsert_bound_pod(pod("w2", "web", "n3"));
        check(&s, [1, 0, 1]);
        s.forget("default/w1");
        s.assume(pod("w3", "web", "n2"), "n2");
        check(&s, [0, 1, 1]);
        s.remove_pod("default/w2");
        check(&s, [0, 1, 0]);
        s.upsert_node(obj(
            "apiVersion: v1\nkind: Node\nmetadata: {name: n2, labels: {kubernetes.io/hostname: n2, topology.kubernetes.io/zone: c}}\n",
        ));
        s.refresh();
        let kept = s.spread_counts(&key);
        assert_eq!(*kept, key.build(&s));
        let zone = s.topology("topology.kubernetes.io/zone");
        assert_eq!(zone.id("b"), None);
        assert_eq!(kept[0].get(zone.id("c").unwrap()), Some(1));
    }
}
