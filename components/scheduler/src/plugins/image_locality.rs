//! ImageLocality (`framework/plugins/imagelocality`): prefers nodes that already hold the
//! pod's images, each image counted by its size scaled by the fraction of nodes holding it
//! (so an image everywhere does not pull pods together); the sum is clamped to
//! [23 MiB, 1000 MiB × containers] and mapped linearly onto [0, 100]. No normalization.

use crate::framework::node_facts::HAS_IMAGES;
use crate::framework::node_info::normalized_image_name;
use crate::framework::{
    CycleState, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, Points, Snapshot, Status,
};

pub const NAME: &str = "ImageLocality";
const MB: i64 = 1024 * 1024;
const MIN_THRESHOLD: i64 = 23 * MB;
const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

#[derive(Debug, Default)]
pub struct ImageLocality;

#[derive(Clone, Debug)]
struct Images(Vec<String>);

/// `calculatePriority`.
pub fn priority(sum: i64, containers: usize) -> i64 {
    let max = MAX_CONTAINER_THRESHOLD * containers.max(1) as i64;
    let sum = sum.clamp(MIN_THRESHOLD, max);
    MAX_NODE_SCORE * (sum - MIN_THRESHOLD) / (max - MIN_THRESHOLD)
}

fn node_score(Images(images): &Images, node: &NodeInfo, snap: &Snapshot) -> i64 {
    let total = snap.num_nodes().max(1);
    let mut sum = 0;
    if !node.images.is_empty() {
        for name in images {
            if let Some(size) = node.images.get(name) {
                let spread = snap.nodes_with_image(name) as f64 / total as f64;
                sum += (*size as f64 * spread) as i64;
            }
        }
    }
    priority(sum, images.len())
}

impl Plugin for ImageLocality {
    fn name(&self) -> &'static str {
        NAME
    }
    fn points(&self) -> Points {
        Points {
            pre_score: true,
            score: true,
            ..Points::default()
        }
    }
    /// Not an upstream PreScore: normalizes the image names once per cycle rather than once
    /// per node.
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _: &Snapshot,
        _: &[usize],
    ) -> Status {
        let images: Vec<String> = pod.images().map(normalized_image_name).collect();
        state.write(NAME, Images(images));
        Status::success()
    }
    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo, snap: &Snapshot) -> i64 {
        state
            .read::<Images>(NAME)
            .map_or(0, |images| node_score(images, node, snap))
    }
    fn normalizes(&self) -> bool {
        false
    }
    fn score_nodes(
        &self,
        state: &CycleState,
        _: &PodInfo,
        snap: &Snapshot,
        feasible: &[usize],
        out: &mut Vec<i64>,
    ) {
        let Some(images) = state.read::<Images>(NAME) else {
            out.extend(feasible.iter().map(|_| 0));
            return;
        };
        // A node listing no image sums nothing.
        let none = priority(0, images.0.len());
        if !snap.any_flagged(HAS_IMAGES) {
            out.resize(out.len() + feasible.len(), none);
            return;
        }
        let facts = snap.facts();
        out.extend(feasible.iter().map(|slot| {
            if facts[*slot].has(HAS_IMAGES) {
                node_score(images, snap.node(*slot), snap)
            } else {
                none
            }
        }));
    }
}
