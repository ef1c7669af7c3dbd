//! The numbers the default filters and scores read of every node, one cache line per node
//! slot: allocatable and requested cpu and memory (actual and non-zero), room for pods, and
//! flags that say when the node needs a closer look (cordoned, tainted, holding images).
//!
//! A cycle examines hundreds of nodes (500 of 5,000 at the adaptive percentage, F25), a new
//! window each time, so walking each `NodeInfo` (its resources, pod list, taints and image
//! map live in separate allocations) costs several cache misses per node. The cache keeps
//! these facts in a dense array indexed by slot, rewritten from the `NodeInfo` whenever the
//! cache changes it ([`NodeFacts::of`]); plugins read them in their batch paths
//! ([`super::Plugin::filter_nodes`], [`super::Plugin::score_nodes`]) and fall back to the
//! `NodeInfo` when a flag is set. The per-node paths (nominated pods, preemption's what-ifs,
//! which run on modified copies of a `NodeInfo`) read the `NodeInfo` as before.

use api::taints::PREFER_NO_SCHEDULE;

use super::node_info::NodeInfo;

/// One node slot's facts (64 bytes, aligned: one cache line).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct NodeFacts {
    pub allocatable_cpu: i64,
    pub allocatable_memory: i64,
    pub requested_cpu: i64,
    pub requested_memory: i64,
    /// Requested with the non-zero defaults (scoring).
    pub non_zero_cpu: i64,
    pub non_zero_memory: i64,
    /// Allocatable pods minus the pods on the node (saturating): > 0 while one more fits.
    pub pod_room: i64,
    pub flags: u32,
}

/// `spec.unschedulable`.
pub const UNSCHEDULABLE: u32 = 1;
/// Some taint.
pub const TAINTED: u32 = 1 << 1;
/// Some PreferNoSchedule taint.
pub const PREFER_NO_SCHEDULE_TAINT: u32 = 1 << 2;
/// The node lists images.
pub const HAS_IMAGES: u32 = 1 << 3;
/// The number of flag bits.
pub const FLAGS: usize = 4;

impl NodeFacts {
    /// The facts of a node as the cache holds it.
    pub fn of(info: &NodeInfo) -> NodeFacts {
        let mut flags = 0;
        if info.unschedulable {
            flags |= UNSCHEDULABLE;
        }
        if !info.taints.is_empty() {
            flags |= TAINTED;
        }
        if info.taints.iter().any(|t| t.effect == PREFER_NO_SCHEDULE) {
            flags |= PREFER_NO_SCHEDULE_TAINT;
        }
        if !info.images.is_empty() {
            flags |= HAS_IMAGES;
        }
        NodeFacts {
            allocatable_cpu: info.allocatable.milli_cpu,
            allocatable_memory: info.allocatable.memory,
            requested_cpu: info.requested.milli_cpu,
            requested_memory: info.requested.memory,
            non_zero_cpu: info.non_zero_cpu,
            non_zero_memory: info.non_zero_memory,
            pod_room: info
                .allocatable
                .allowed_pods
                .saturating_sub(info.pods.len() as i64),
            flags,
        }
    }

    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_cache_line_per_node() {
        assert_eq!(std::mem::size_of::<NodeFacts>(), 64);
    }
}
