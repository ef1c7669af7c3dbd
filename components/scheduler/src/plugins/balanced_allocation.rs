//! NodeResourcesBalancedAllocation (`framework/plugins/noderesources/balanced_allocation.go`):
//! prefers nodes whose cpu and memory would be used in equal fractions:
//! `(1 - |cpu fraction - memory fraction| / 2) * 100`, fractions of allocatable after adding the
//! pod's actual requests (not the non-zero defaults), each capped at 1. A best-effort pod
//! (no cpu or memory request) is not scored by it (PreScore skips, kubernetes #129138).

use crate::framework::node_facts::NodeFacts;
use crate::framework::score_memo::MemoKind;
use crate::framework::{
    CycleState, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, Points, Snapshot, Status,
};

pub const NAME: &str = "NodeResourcesBalancedAllocation";

#[derive(Debug, Default)]
pub struct BalancedAllocation;

/// `balancedResourceScorer` for (requested, allocatable) pairs (no allocation: it runs for
/// every feasible node).
pub fn balanced_score(pairs: &[(i64, i64)]) -> i64 {
    if let [cpu, memory] = pairs {
        return balanced_two(*cpu, *memory);
    }
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

/// [`balanced_score`] of two resources, the same arithmetic without iterators.
fn balanced_two((r1, a1): (i64, i64), (r2, a2): (i64, i64)) -> i64 {
    let std = if a1 != 0 && a2 != 0 {
        let f1 = (r1 as f64 / a1 as f64).min(1.0);
        let f2 = (r2 as f64 / a2 as f64).min(1.0);
        ((f1 - f2) / 2.0).abs()
    } else {
        0.0
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

/// [`Plugin::score`] read from the node's facts, for a pod requesting `[cpu, memory]`.
pub fn facts_score(f: &NodeFacts, [cpu, memory]: [i64; 2]) -> i64 {
    balanced_two(
        (f.requested_cpu + cpu, f.allocatable_cpu),
        (f.requested_memory + memory, f.allocatable_memory),
    )
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
    fn normalizes(&self) -> bool {
        false
    }
    fn score_nodes(
        &self,
        _: &CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
        feasible: &[usize],
        out: &mut Vec<i64>,
    ) {
        snap.memoized_scores(
            MemoKind::BalancedAllocation,
            [pod.requests.milli_cpu, pod.requests.memory],
            feasible,
            out,
            facts_score,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two-resource path gives what the general formula gives.
    #[test]
    fn two_resources_match_the_general_formula() {
        let general = |pairs: &[(i64, i64)]| {
            let f: Vec<f64> = pairs
                .iter()
                .filter(|(_, a)| *a != 0)
                .map(|(r, a)| (*r as f64 / *a as f64).min(1.0))
                .collect();
            let std = if f.len() == 2 {
                ((f[0] - f[1]) / 2.0).abs()
            } else {
                0.0
            };
            ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
        };
        let values = [0, 1, 100, 333, 32_000, 40_000, 1 << 30, 137 << 30];
        for r1 in values {
            for a1 in values {
                for r2 in values {
                    for a2 in values {
                        let pairs = [(r1, a1), (r2, a2)];
                        assert_eq!(balanced_score(&pairs), general(&pairs), "{pairs:?}");
                    }
                }
            }
        }
    }
}
