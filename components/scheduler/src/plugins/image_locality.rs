//! ImageLocality (`framework/plugins/imagelocality`): prefers nodes that already hold the
//! pod's images, each image counted by its size scaled by the fraction of nodes holding it
//! (so an image everywhere does not pull pods together); the sum is clamped to
//! [23 MiB, 1000 MiB × containers] and mapped linearly onto [0, 100]. No normalization.

use crate::framework::node_info::normalized_image_name;
use crate::framework::{CycleState, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, Points, Snapshot};

pub const NAME: &str = "ImageLocality";
const MB: i64 = 1024 * 1024;
const MIN_THRESHOLD: i64 = 23 * MB;
const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

#[derive(Debug, Default)]
pub struct ImageLocality;

/// `calculatePriority`.
pub fn priority(sum: i64, containers: usize) -> i64 {
    let max = MAX_CONTAINER_THRESHOLD * containers.max(1) as i64;
    let sum = sum.clamp(MIN_THRESHOLD, max);
    MAX_NODE_SCORE * (sum - MIN_THRESHOLD) / (max - MIN_THRESHOLD)
}

impl Plugin for ImageLocality {
    fn name(&self) -> &'static str {
        NAME
    }
    fn points(&self) -> Points {
        Points {
            score: true,
            ..Points::default()
        }
    }
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo, snap: &Snapshot) -> i64 {
        let total = snap.num_nodes().max(1);
        let mut sum = 0;
        let mut containers = 0;
        for image in pod.images() {
            containers += 1;
            if node.images.is_empty() {
                continue;
            }
            let name = normalized_image_name(image);
            if let Some(size) = node.images.get(&name) {
                let spread = snap.nodes_with_image(&name) as f64 / total as f64;
                sum += (*size as f64 * spread) as i64;
            }
        }
        priority(sum, containers)
    }
}
