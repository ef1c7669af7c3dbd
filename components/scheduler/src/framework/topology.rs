//! Topology domains as small numbers: for one node label key (a topology key such as
//! `topology.kubernetes.io/zone`), every node slot's value interned to a domain id, so the
//! plugins that count pods per domain (PodTopologySpread) index arrays instead of looking
//! labels up in each node's label map for every node of every cycle.
//!
//! The cache builds an index on the first cycle that asks for a key and drops every index
//! when a node is added, removed or relabelled (as it drops the spread counts). Ids follow
//! slot order, so they are the same in every run.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::node_info::NodeInfo;
use super::snapshot::LABEL_HOSTNAME;

/// [`TopologyIndex::slots`]' entry of a slot without the key.
pub const NONE: u32 = u32::MAX;

/// One label key's domains.
#[derive(Clone, Debug, Default)]
pub struct TopologyIndex {
    /// Every domain's label value, one after another (domain id → `text[ends[id - 1]..ends[id]]`):
    /// one buffer rather than a `String` per domain, since hostnames make one domain per node.
    text: String,
    ends: Vec<usize>,
    /// Domain ids in order of their values, for [`TopologyIndex::id`]; sorted on the first
    /// look-up, since only constraints that filter look values up.
    by_value: OnceLock<Vec<u32>>,
    /// Slot → domain id (`NONE`: no Node object, or the node lacks the key).
    of_slot: Vec<u32>,
    /// Domain id → nodes carrying that value.
    nodes_in: Vec<u32>,
    /// No domain has two nodes.
    unique: bool,
}

impl PartialEq for TopologyIndex {
    fn eq(&self, other: &Self) -> bool {
        // The sorted ids follow from the rest.
        self.text == other.text
            && self.ends == other.ends
            && self.of_slot == other.of_slot
            && self.nodes_in == other.nodes_in
            && self.unique == other.unique
    }
}

impl Eq for TopologyIndex {}

impl TopologyIndex {
    /// Indexes `key` over the slots (index = slot).
    pub fn build(key: &str, slots: &[NodeInfo]) -> TopologyIndex {
        TopologyIndex::build_with(key, slots, |slot| slot)
    }

    /// [`TopologyIndex::build`] for a key whose value is the same on every node of a group
    /// (`groups`: slots with a Node object; the cache's zones share the zone and region
    /// labels): one label look-up per group, not per node. A group whose first node has an
    /// empty value or none is looked up node by node (an empty value and a missing label
    /// group together).
    pub fn build_grouped<'a>(
        key: &str,
        slots: &[NodeInfo],
        groups: impl Iterator<Item = &'a [usize]>,
    ) -> TopologyIndex {
        let mut first_of: Vec<usize> = (0..slots.len()).collect();
        for g in groups {
            let Some(first) = g.iter().min() else {
                continue;
            };
            if slots[*first].labels().get(key).is_none_or(String::is_empty) {
                continue;
            }
            for s in g {
                first_of[*s] = *first;
            }
        }
        TopologyIndex::build_with(key, slots, |slot| first_of[slot])
    }

    /// Indexes `key`; `same_as(slot)` is a slot not after `slot` known to carry the same
    /// value (the slot itself when not known), whose domain is taken without a look-up.
    fn build_with(
        key: &str,
        slots: &[NodeInfo],
        same_as: impl Fn(usize) -> usize,
    ) -> TopologyIndex {
        let hostname = key == LABEL_HOSTNAME;
        let mut t = TopologyIndex {
            of_slot: vec![NONE; slots.len()],
            ..TopologyIndex::default()
        };
        // While every value seen is its own node's name (as hostnames are), each is a new
        // domain without a search: node names are unique. The first other value starts a
        // search map holding the values seen so far.
        let mut ids: Option<BTreeMap<&str, u32>> = None;
        for (slot, info) in slots.iter().enumerate() {
            if info.node.is_none() {
                continue;
            }
            let same = same_as(slot);
            if same != slot {
                let id = t.of_slot[same];
                t.nodes_in[id as usize] += 1;
                t.of_slot[slot] = id;
                continue;
            }
            if hostname && info.hostname_is_name && ids.is_none() {
                let id = t.push(&info.name);
                t.nodes_in[id as usize] += 1;
                t.of_slot[slot] = id;
                continue;
            }
            let Some(v) = info.labels().get(key) else {
                continue;
            };
            if ids.is_none() && *v != *info.name {
                ids = Some(
                    slots[..slot]
                        .iter()
                        .enumerate()
                        .filter(|(s, _)| t.of_slot[*s] != NONE)
                        .filter_map(|(s, i)| Some((i.labels().get(key)?.as_str(), t.of_slot[s])))
                        .collect(),
                );
            }
            let id = match &mut ids {
                None => t.push(v),
                Some(ids) => match ids.get(v.as_str()) {
                    Some(id) => *id,
                    None => {
                        let id = t.push(v);
                        ids.insert(v.as_str(), id);
                        id
                    }
                },
            };
            t.nodes_in[id as usize] += 1;
            t.of_slot[slot] = id;
        }
        t.unique = t.nodes_in.iter().all(|n| *n <= 1);
        t
    }

    /// A new domain with the value `v`.
    fn push(&mut self, v: &str) -> u32 {
        self.text.push_str(v);
        self.ends.push(self.text.len());
        self.nodes_in.push(0);
        (self.ends.len() - 1) as u32
    }

    /// The label value of a domain.
    fn value(&self, domain: u32) -> &str {
        let d = domain as usize;
        let from = if d == 0 { 0 } else { self.ends[d - 1] };
        &self.text[from..self.ends[d]]
    }

    /// The domain of the node in `slot` (`None`: it lacks the key).
    pub fn domain(&self, slot: usize) -> Option<u32> {
        self.of_slot.get(slot).copied().filter(|d| *d != NONE)
    }

    /// Slot → domain id ([`NONE`]: no Node object, or the node lacks the key), for loops
    /// over many nodes.
    pub fn slots(&self) -> &[u32] {
        &self.of_slot
    }

    /// The id of a label value.
    pub fn id(&self, value: &str) -> Option<u32> {
        let sorted = self.by_value.get_or_init(|| {
            let mut ids: Vec<u32> = (0..self.len() as u32).collect();
            ids.sort_unstable_by(|a, b| self.value(*a).cmp(self.value(*b)));
            ids
        });
        sorted
            .binary_search_by(|d| self.value(*d).cmp(value))
            .ok()
            .map(|i| sorted[i])
    }

    /// Number of domains (distinct values).
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// How many nodes carry the domain's value.
    pub fn nodes_in(&self, domain: u32) -> u32 {
        self.nodes_in[domain as usize]
    }

    /// No two nodes share a value (each domain is one node, as hostnames usually are).
    pub fn hosts_unique(&self) -> bool {
        self.unique
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use crate::framework::Snapshot;
    use crate::framework::snapshot::{LABEL_HOSTNAME, LABEL_REGION, LABEL_ZONE};

    /// A node with the given (key, value) labels.
    fn node(name: &str, labels: &[(&str, &str)]) -> Arc<api::Object> {
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}: \"{v}\""))
            .collect();
        let yaml = format!(
            "apiVersion: v1\nkind: Node\nmetadata: {{name: {name}, labels: {{{}}}}}\n",
            labels.join(", ")
        );
        Arc::new(api::manifest::parse_objects(&yaml).expect("node").remove(0))
    }

    /// The cache's index of `key` agrees with a plain interning of every slot's label in
    /// slot order: domains, look-ups by value, nodes per domain.
    fn check(s: &Snapshot, key: &str, slots: usize) {
        let t = s.topology(key);
        let mut want: BTreeMap<&str, u32> = BTreeMap::new();
        let mut nodes_in: Vec<u32> = Vec::new();
        for slot in 0..slots {
            let info = s.node(slot);
            let Some(v) = info.node.as_ref().and_then(|_| info.labels().get(key)) else {
                assert_eq!(t.domain(slot), None, "{key} slot {slot}");
                continue;
            };
            let next = want.len() as u32;
            let id = *want.entry(v).or_insert(next);
            if id == next {
                nodes_in.push(0);
            }
            nodes_in[id as usize] += 1;
            assert_eq!(t.domain(slot), Some(id), "{key} slot {slot}");
        }
        assert_eq!(t.len(), want.len(), "{key}");
        for (v, id) in &want {
            assert_eq!(t.id(v), Some(*id), "{key} {v}");
            assert_eq!(t.nodes_in(*id), nodes_in[*id as usize]);
        }
        assert_eq!(t.id("nope"), None);
        assert_eq!(t.hosts_unique(), nodes_in.iter().all(|n| *n == 1));
    }

    /// Hostnames that are their nodes' names or not (a node labelled with another node's
    /// name, one without the label), zones and regions read once per zone group (a zone
    /// label with an empty value grouped with a missing one, a region only on some nodes), a
    /// removed node's free slot.
    #[test]
    fn ids_follow_slot_order_however_labels_are_shared() {
        let cases: [&[(&str, &str, &str)]; 5] = [
            &[
                ("n0", "a", ""),
                ("n1", "b", ""),
                ("n2", "a", ""),
                ("n3", "c", ""),
            ],
            &[
                ("-", "a", ""),
                ("n1", "", "r"),
                ("n2", "-", "r"),
                ("n3", "b", "r"),
            ],
            &[
                ("n0", "b", "r1"),
                ("n1", "b", "r2"),
                ("n0", "a", "r1"),
                ("x", "b", "r1"),
            ],
            &[
                ("a", "z", "-"),
                ("n1", "z", "r"),
                ("a", "-", "-"),
                ("n3", "", ""),
            ],
            &[
                ("n0", "-", "-"),
                ("n3", "a", "-"),
                ("n2", "a", "r"),
                ("n3", "a", "r"),
            ],
        ];
        for case in cases {
            let mut s = Snapshot::new();
            for (i, (host, zone, region)) in case.iter().enumerate() {
                let labels: Vec<(&str, &str)> = [
                    (LABEL_HOSTNAME, *host),
                    (LABEL_ZONE, *zone),
                    (LABEL_REGION, *region),
                ]
                .into_iter()
                .filter(|(_, v)| *v != "-")
                .collect();
                s.upsert_node(node(&format!("n{i}"), &labels));
            }
            s.upsert_node(node("gone", &[(LABEL_HOSTNAME, "n1"), (LABEL_ZONE, "a")]));
            s.remove_node("gone");
            s.refresh();
            for key in [LABEL_HOSTNAME, LABEL_ZONE, LABEL_REGION] {
                check(&s, key, case.len() + 1);
            }
        }
    }
}
