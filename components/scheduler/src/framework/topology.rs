//! Topology domains as small numbers: for one node label key (a topology key such as
//! `topology.kubernetes.io/zone`), every node slot's value interned to a domain id, so the
//! plugins that count pods per domain (PodTopologySpread) index arrays instead of looking
//! labels up in each node's label map for every node of every cycle.
//!
//! The cache builds an index on the first cycle that asks for a key and drops every index
//! when a node is added, removed or relabelled (as it drops the spread counts). Ids follow
//! slot order, so they are the same in every run.

use std::collections::BTreeMap;

use super::node_info::NodeInfo;

/// [`TopologyIndex::slots`]' entry of a slot without the key.
pub const NONE: u32 = u32::MAX;

/// One label key's domains.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopologyIndex {
    /// Domain id → label value.
    values: Vec<String>,
    ids: BTreeMap<String, u32>,
    /// Slot → domain id (`NONE`: no Node object, or the node lacks the key).
    of_slot: Vec<u32>,
    /// Domain id → nodes carrying that value.
    nodes_in: Vec<u32>,
    /// No domain has two nodes.
    unique: bool,
}

impl TopologyIndex {
    /// Indexes `key` over the slots (index = slot).
    pub fn build(key: &str, slots: &[NodeInfo]) -> TopologyIndex {
        let mut t = TopologyIndex {
            of_slot: vec![NONE; slots.len()],
            ..TopologyIndex::default()
        };
        // Interned by borrowed value (one search per node, nothing copied), then the owned
        // map built from the sorted entries at once: hostnames make one domain per node.
        let mut ids: BTreeMap<&str, u32> = BTreeMap::new();
        for (slot, info) in slots.iter().enumerate() {
            if info.node.is_none() {
                continue;
            }
            let Some(v) = info.labels().get(key) else {
                continue;
            };
            let next = ids.len() as u32;
            let id = *ids.entry(v.as_str()).or_insert_with(|| {
                t.values.push(v.clone());
                t.nodes_in.push(0);
                next
            });
            t.nodes_in[id as usize] += 1;
            t.of_slot[slot] = id;
        }
        t.ids = ids.into_iter().map(|(v, id)| (v.to_string(), id)).collect();
        t.unique = t.nodes_in.iter().all(|n| *n <= 1);
        t
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
        self.ids.get(value).copied()
    }

    /// Number of domains (distinct values).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
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
