//! NodeResourcesBalancedAllocation (`framework/plugins/noderesources/balanced_allocation.go`):
//! prefers nodes whose cpu and memory would be used in equal fractions:
//! `(1 - |cpu fraction - memory fraction| / 2) * 100`, fractions of allocatable after adding the
//! pod's actual requests (not the non-zero defaults), each capped at 1. A best-effort pod
//! (no cpu or memory request) is not scored by it (PreScore skips, kubernetes #129138).

use crate::framework::{
    CycleState, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, Points, Snapshot, Status,
};

pub const NAME: &str = "NodeResourcesBalancedAllocation";

#[derive(Debug, Default)]
pub struct BalancedAllocation;

/// `balancedResourceScorer` for (requested, allocatable) pairs (no allocation: it runs for
/// every feasible node).
pub fn balanced_score(pairs: &[(i64, i64)]) -> i64 {
    let fractions = || {
        pairs
            .iter()
            .filter(|(_, a)| *a != 0)
            .map(|(r, a)| (*r as f64 / *a as f64).min(1.0))
    };
    let std = match fractions().count() {
        2 => {
            let mut f = fractions();
            let (a, b) = (f.next().unwrap_or(0.0), f.next().unwrap_or(0.0));
            ((a - b) / 2.0).abs()
        }
        n if n > 2 => {
            let mean = fractions().sum::<f64>() / n as f64;
            let var = fractions().map(|f| (f - mean) * (f - mean)).sum::<f64>() / n as f64;
            var.sqrt()
        }
        _ => 0.0,
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

impl Plugin for BalancedAllocation {
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
    fn pre_score(&self, _: &mut CycleState, pod: &PodInfo, _: &Snapshot, _: &[usize]) -> Status {
        if pod.requests.milli_cpu == 0 && pod.requests.memory == 0 {
            Status::skip()
        } else {
            Status::success()
        }
    }
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo, _: &Snapshot) -> i64 {
        balanced_score(&[
            (
                node.requested.milli_cpu + pod.requests.milli_cpu,
                node.allocatable.milli_cpu,
            ),
            (
                node.requested.memory + pod.requests.memory,
                node.allocatable.memory,
            ),
        ])
    }
}
