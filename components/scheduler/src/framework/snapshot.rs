//! The scheduler's cache and the snapshot a scheduling cycle reads: every node's `NodeInfo`,
//! where each known pod sits, assumed pods (placed by the scheduler, binding not yet seen
//! through the watch), how many nodes hold each image, and namespace labels for affinity
//! terms with a namespace selector.
//!
//! Follows `pkg/scheduler/backend/cache/cache.go` (AssumePod, FinishBinding, ForgetPod,
//! AddPod confirming an assumed pod, a pod seen on another node than assumed moving there,
//! nodes known only through their pods) and `node_tree.go` (the node list interleaves zones:
//! one node of each zone in turn, zones in the order they appeared).
//! Simplification: one thread owns it and a cycle reads it directly, so there is no
//! generation-based copy into a separate snapshot (the sim never schedules while the cache is
//! being updated); assumed pods never expire (upstream's default since 1.27 is no expiry too).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use api::SharedObject;
use api::selector::Selector;

use super::node_facts::{FLAGS, NodeFacts};
use super::node_info::{NodeInfo, PodInfo};
use super::score_memo::{MemoKind, ScoreMemo};
use super::spread_counts::{CountKey, DomainCounts, SpreadCounts};
use super::topology::TopologyIndex;

pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";
pub const LABEL_REGION: &str = "topology.kubernetes.io/region";
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";

/// Node names by slot, shared by the cache and the decisions that name nodes by slot; the
/// table is copied only when a slot is named while a decision still holds it (a node added).
#[derive(Clone, Default)]
pub struct NodeNames(Arc<Vec<Arc<str>>>);

impl NodeNames {
    /// The node in `slot` when the table was taken.
    pub fn name(&self, slot: usize) -> Arc<str> {
        self.0.get(slot).cloned().unwrap_or_else(|| Arc::from(""))
    }

    fn set(&mut self, slot: usize, name: Arc<str>) {
        let v = Arc::make_mut(&mut self.0);
        if slot < v.len() {
            v[slot] = name;
        } else {
            v.push(name);
        }
    }
}

impl std::fmt::Debug for NodeNames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeNames({} slots)", self.0.len())
    }
}

#[derive(Clone, Debug)]
struct PodState {
    node: String,
    assumed: bool,
}

/// The cache. Cycles read it through [`Snapshot::ordered`] (node-tree order of slot indices)
/// and [`Snapshot::node`].
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Node slots; a freed slot has no node and no pods and is listed in `free`.
    slots: Vec<NodeInfo>,
    /// Each slot's [`NodeFacts`], rewritten whenever its `NodeInfo` changes.
    facts: Vec<NodeFacts>,
    /// Per flag bit of [`NodeFacts`], the slots whose facts carry it.
    flagged: [usize; FLAGS],
    free: Vec<usize>,
    by_name: BTreeMap<String, usize>,
    names: NodeNames,
    /// Node-tree order of the slots with a Node object; rebuilt by `refresh`.
    order: Vec<usize>,
    /// zone key → slots, zones in order of appearance.
    zones: Vec<(String, Vec<usize>)>,
    order_dirty: bool,
    pods: BTreeMap<String, PodState>,
    image_nodes: BTreeMap<String, usize>,
    pub namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    pods_with_affinity: usize,
    pods_with_required_anti_affinity: usize,
    /// Slots holding a pod with (anti-)affinity terms, and with required anti-affinity terms:
    /// InterPodAffinity visits only these for existing pods' terms.
    affinity_slots: BTreeSet<usize>,
    anti_affinity_slots: BTreeSet<usize>,
    /// PodTopologySpread's counts per domain, kept up to date by every pod placed or
    /// removed; a cycle reading a set not kept yet builds it (hence the cell: cycles read
    /// the cache through `&self`).
    spread: RefCell<SpreadCounts>,
    /// Topology domain ids per label key, built on first use, dropped when nodes change.
    topology: RefCell<Vec<(String, Arc<TopologyIndex>)>>,
    /// Scores of the facts-based scorers, each slot's forgotten when its facts change.
    score_memo: RefCell<ScoreMemo>,
}

fn zone_key(obj: &SharedObject) -> String {
    let l = obj.labels();
    let region = l.get(LABEL_REGION).map_or("", String::as_str);
    let zone = l.get(LABEL_ZONE).map_or("", String::as_str);
    format!("{region}:\u{0}:{zone}")
}

impl Snapshot {
    pub fn new() -> Snapshot {
        Snapshot::default()
    }

    /// Brings the node-tree order up to date (call before a cycle).
    pub fn refresh(&mut self) {
        if !self.order_dirty {
            return;
        }
        self.order.clear();
        let longest = self.zones.iter().map(|(_, n)| n.len()).max().unwrap_or(0);
        for i in 0..longest {
            for (_, slots) in &self.zones {
                if let Some(n) = slots.get(i) {
                    self.order.push(*n);
                }
            }
        }
        self.order_dirty = false;
    }

    /// Slots of the nodes with a Node object, in node-tree order (as of the last `refresh`).
    pub fn ordered(&self) -> &[usize] {
        &self.order
    }

    pub fn node(&self, slot: usize) -> &NodeInfo {
        &self.slots[slot]
    }

    /// Every slot's facts, indexed by slot.
    pub fn facts(&self) -> &[NodeFacts] {
        &self.facts
    }

    /// Whether some slot's facts carry `flag` (one of [`super::node_facts`]' flags): when
    /// none does, a pass over the nodes that looks only at flagged ones has nothing to do.
    pub fn any_flagged(&self, flag: u32) -> bool {
        debug_assert!(
            flag.is_power_of_two() && (flag.trailing_zeros() as usize) < FLAGS,
            "{flag:#x} is not one node facts flag"
        );
        self.flagged[flag.trailing_zeros() as usize] > 0
    }

    /// The slot's `NodeInfo` changed: rewrite its facts.
    fn sync_facts(&mut self, slot: usize) {
        self.score_memo.get_mut().forget(slot);
        let f = NodeFacts::of(&self.slots[slot]);
        let old = self.facts.get(slot).map_or(0, |f| f.flags);
        for (bit, n) in self.flagged.iter_mut().enumerate() {
            *n = *n + usize::from(f.flags >> bit & 1 == 1) - usize::from(old >> bit & 1 == 1);
        }
        if slot < self.facts.len() {
            self.facts[slot] = f;
        } else {
            self.facts.resize(slot + 1, NodeFacts::default());
            self.facts[slot] = f;
        }
    }

    /// `score(facts, key)` of every feasible slot, appended to `out`: remembered from earlier
    /// cycles with the same `key` when the slot's facts did not change since
    /// ([`super::score_memo`]). `score` must read nothing but its arguments.
    pub fn memoized_scores(
        &self,
        kind: MemoKind,
        key: [i64; 2],
        feasible: &[usize],
        out: &mut Vec<i64>,
        score: impl Fn(&NodeFacts, [i64; 2]) -> i64,
    ) {
        self.score_memo
            .borrow_mut()
            .scores(kind, key, &self.facts, feasible, out, score);
    }

    /// The slot → name table (cheap to keep: shared until a slot is renamed).
    pub fn names(&self) -> NodeNames {
        self.names.clone()
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    pub fn get(&self, name: &str) -> Option<&NodeInfo> {
        self.index_of(name).map(|i| &self.slots[i])
    }

    pub fn num_nodes(&self) -> usize {
        self.order.len()
    }

    /// Every node with a Node object, in node-tree order.
    pub fn iter(&self) -> impl Iterator<Item = &NodeInfo> {
        self.order.iter().map(|i| &self.slots[*i])
    }

    /// Some known pod has (anti-)affinity terms.
    pub fn any_pod_with_affinity(&self) -> bool {
        self.pods_with_affinity > 0
    }

    /// Some known pod has required anti-affinity terms.
    pub fn any_pod_with_required_anti_affinity(&self) -> bool {
        self.pods_with_required_anti_affinity > 0
    }

    /// The nodes with a pod that has (anti-)affinity terms, by slot.
    pub fn nodes_with_affinity_pods(&self) -> impl Iterator<Item = &NodeInfo> {
        self.with_node(&self.affinity_slots)
    }

    /// The nodes with a pod that has required anti-affinity terms, by slot.
    pub fn nodes_with_required_anti_affinity_pods(&self) -> impl Iterator<Item = &NodeInfo> {
        self.with_node(&self.anti_affinity_slots)
    }

    fn with_node<'a>(&'a self, slots: &'a BTreeSet<usize>) -> impl Iterator<Item = &'a NodeInfo> {
        slots
            .iter()
            .map(|s| &self.slots[*s])
            .filter(|n| n.node.is_some())
    }

    fn track_affinity(&mut self, slot: usize) {
        let info = &self.slots[slot];
        for (set, has) in [
            (&mut self.affinity_slots, info.pods_with_affinity > 0),
            (
                &mut self.anti_affinity_slots,
                info.pods_with_required_anti_affinity > 0,
            ),
        ] {
            if has {
                set.insert(slot);
            } else {
                set.remove(&slot);
            }
        }
    }

    /// Matching pods per topology domain for a set of spread constraints (built from every
    /// node on first use, then maintained incrementally).
    pub fn spread_counts(&self, key: &CountKey) -> Arc<Vec<DomainCounts>> {
        self.spread.borrow_mut().get(key, self)
    }

    /// [`Snapshot::spread_counts`] of the key [`CountKey::is`] describes, built by `key` only
    /// when no set is kept for it.
    pub fn spread_counts_with<'a, I>(
        &self,
        namespace: &str,
        constraints: I,
        require_all_keys: bool,
        key: impl FnOnce() -> CountKey,
    ) -> Arc<Vec<DomainCounts>>
    where
        I: ExactSizeIterator<Item = (&'a str, &'a [Selector])> + Clone,
    {
        self.spread
            .borrow_mut()
            .get_with(namespace, constraints, require_all_keys, key, self)
    }

    /// Every node slot's domain id for a label key.
    pub fn topology(&self, key: &str) -> Arc<TopologyIndex> {
        if let Some((_, t)) = self.topology.borrow().iter().find(|(k, _)| k == key) {
            return t.clone();
        }
        let t = Arc::new(match key {
            // The cache groups nodes into zones by these two labels.
            LABEL_ZONE | LABEL_REGION => TopologyIndex::build_grouped(
                key,
                &self.slots,
                self.zones.iter().map(|(_, slots)| slots.as_slice()),
            ),
            _ => TopologyIndex::build(key, &self.slots),
        });
        self.topology
            .borrow_mut()
            .push((key.to_string(), t.clone()));
        t
    }

    /// Nodes were added, removed or relabelled: drop what was derived from their labels.
    fn nodes_changed(&mut self) {
        self.spread.get_mut().clear();
        self.topology.get_mut().clear();
    }

    /// How many nodes hold the image (normalized name).
    pub fn nodes_with_image(&self, image: &str) -> usize {
        self.image_nodes.get(image).copied().unwrap_or(0)
    }

    fn count_images(&mut self, slot: usize, sign: isize) {
        for img in self.slots[slot].images.keys() {
            let c = self.image_nodes.entry(img.clone()).or_insert(0);
            *c = c.saturating_add_signed(sign);
            if *c == 0 {
                self.image_nodes.remove(img);
            }
        }
    }

    fn slot_for(&mut self, name: &str) -> usize {
        if let Some(i) = self.by_name.get(name) {
            return *i;
        }
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i] = NodeInfo::new(name);
                i
            }
            None => {
                self.slots.push(NodeInfo::new(name));
                self.slots.len() - 1
            }
        };
        self.by_name.insert(name.to_string(), i);
        self.names.set(i, self.slots[i].name.clone());
        self.sync_facts(i);
        i
    }

    fn release_if_empty(&mut self, slot: usize) {
        let info = &self.slots[slot];
        if info.node.is_none() && info.pods.is_empty() {
            self.by_name.remove(&*info.name);
            self.free.push(slot);
        }
    }

    /// A Node was added or changed.
    pub fn upsert_node(&mut self, obj: SharedObject) {
        let name = obj.name().to_string();
        let zone = zone_key(&obj);
        let slot = self.slot_for(&name);
        let old_zone = self.slots[slot].node.as_ref().map(zone_key);
        if self.slots[slot]
            .node
            .as_ref()
            .is_none_or(|o| o.labels() != obj.labels())
        {
            self.nodes_changed();
        }
        if old_zone.is_some() {
            self.count_images(slot, -1);
        }
        self.slots[slot].set_node(obj);
        self.sync_facts(slot);
        self.count_images(slot, 1);
        if old_zone.as_deref() != Some(zone.as_str()) {
            if let Some(z) = old_zone {
                self.remove_from_zone(&z, slot);
            }
            match self.zones.iter_mut().find(|(z, _)| *z == zone) {
                Some((_, slots)) => slots.push(slot),
                None => self.zones.push((zone, vec![slot])),
            }
            self.order_dirty = true;
        }
    }

    fn remove_from_zone(&mut self, zone: &str, slot: usize) {
        if let Some(i) = self.zones.iter().position(|(z, _)| z == zone) {
            self.zones[i].1.retain(|n| *n != slot);
            if self.zones[i].1.is_empty() {
                self.zones.remove(i);
            }
        }
        self.order_dirty = true;
    }

    /// A Node was deleted. Its pods stay known (their deletions follow).
    pub fn remove_node(&mut self, name: &str) {
        let Some(slot) = self.index_of(name) else {
            return;
        };
        let Some(obj) = self.slots[slot].node.clone() else {
            return;
        };
        self.count_images(slot, -1);
        self.nodes_changed();
        self.remove_from_zone(&zone_key(&obj), slot);
        let info = &mut self.slots[slot];
        info.node = None;
        info.images.clear();
        info.allocatable = Default::default();
        self.sync_facts(slot);
        self.release_if_empty(slot);
    }

    /// Where a pod is (assumed or bound).
    pub fn pod_node(&self, key: &str) -> Option<&str> {
        self.pods.get(key).map(|p| p.node.as_str())
    }

    pub fn is_assumed(&self, key: &str) -> bool {
        self.pods.get(key).is_some_and(|p| p.assumed)
    }

    fn place(&mut self, pod: Arc<PodInfo>, node: &str, assumed: bool) {
        let key = pod.key();
        if let Some(old) = self.pods.remove(&key) {
            self.unplace(&key, &old.node);
        }
        self.pods_with_affinity += usize::from(pod.has_affinity());
        self.pods_with_required_anti_affinity +=
            usize::from(!pod.required_anti_affinity.is_empty());
        let slot = self.slot_for(node);
        self.spread
            .get_mut()
            .on_pod(&pod, slot, &self.slots[slot], 1);
        self.slots[slot].add_pod(pod);
        self.sync_facts(slot);
        self.track_affinity(slot);
        self.pods.insert(
            key,
            PodState {
                node: node.to_string(),
                assumed,
            },
        );
    }

    fn unplace(&mut self, key: &str, node: &str) {
        let Some(slot) = self.index_of(node) else {
            return;
        };
        let info = &mut self.slots[slot];
        if let Some(i) = info.pods.iter().position(|p| p.has_key(key)) {
            self.spread.get_mut().on_pod(&info.pods[i], slot, info, -1);
            let uid = info.pods[i].uid.clone();
            self.pods_with_affinity -= usize::from(info.pods[i].has_affinity());
            self.pods_with_required_anti_affinity -=
                usize::from(!info.pods[i].required_anti_affinity.is_empty());
            info.remove_pod(&uid);
            self.sync_facts(slot);
            self.track_affinity(slot);
            self.release_if_empty(slot);
        }
    }

    /// AssumePod: the scheduler placed the pod on `node` and is binding it.
    pub fn assume(&mut self, pod: Arc<PodInfo>, node: &str) {
        self.place(pod, node, true);
    }

    /// ForgetPod: binding failed; the assumed pod leaves its node.
    pub fn forget(&mut self, key: &str) {
        if self.is_assumed(key)
            && let Some(p) = self.pods.remove(key)
        {
            self.unplace(key, &p.node);
        }
    }

    /// A pod with `spec.nodeName` was added or changed (confirms an assumed pod).
    pub fn upsert_bound_pod(&mut self, pod: Arc<PodInfo>) {
        let node = pod.node_name.clone();
        self.place(pod, &node, false);
    }

    /// A pod was deleted, or no longer counts (finished).
    pub fn remove_pod(&mut self, key: &str) {
        if let Some(p) = self.pods.remove(key) {
            self.unplace(key, &p.node);
        }
    }

    /// Number of pods known (bound or assumed).
    pub fn num_pods(&self) -> usize {
        self.pods.len()
    }
}
