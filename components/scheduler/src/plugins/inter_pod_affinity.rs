//! InterPodAffinity (`framework/plugins/interpodaffinity/filtering.go`, `scoring.go`).
//!
//! PreFilter counts, per topology pair (label key, value of the node an existing pod runs on):
//! existing pods whose required anti-affinity matches the incoming pod; existing pods that
//! match all of the incoming pod's required affinity terms; existing pods matching each of its
//! required anti-affinity terms. Filter then rejects a node whose pairs break a rule, in
//! upstream's order: affinity ("node(s) didn't match pod affinity rules", unresolvable; the
//! first pod of a group that matches its own terms may go anywhere), anti-affinity ("node(s)
//! didn't match pod anti-affinity rules"), existing pods' anti-affinity ("node(s) didn't
//! satisfy existing pods anti-affinity rules"). AddPod/RemovePod keep the counts right for
//! preemption's what-ifs.
//!
//! Score adds, per topology pair, the weights of the incoming pod's preferred terms matched by
//! existing pods (anti-affinity subtracts), of existing pods' preferred terms matched by the
//! incoming pod, and `hardPodAffinityWeight` (1) for existing pods' required affinity terms it
//! matches; a node scores the sum over its labels; normalized min–max onto [0, 100].
//!
//! When the incoming pod has no terms of its own, only existing pods' terms count, and only
//! the nodes the cache lists as holding such pods are visited (upstream visits every node).

use std::collections::BTreeMap;

use crate::framework::node_info::{AffinityTerm, WeightedAffinityTerm};
use crate::framework::{
    ClusterEvent, CycleState, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, Points, PreFilterResult,
    Snapshot, Status,
};

pub const NAME: &str = "InterPodAffinity";
pub const REASON_AFFINITY: &str = "node(s) didn't match pod affinity rules";
pub const REASON_ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";
pub const REASON_EXISTING_ANTI_AFFINITY: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";
const HARD_POD_AFFINITY_WEIGHT: i64 = 1;
const FILTER_KEY: &str = "PreFilterInterPodAffinity";
const SCORE_KEY: &str = "PreScoreInterPodAffinity";

type Pair = (String, String);

#[derive(Clone, Debug, Default)]
struct FilterState {
    existing_anti_affinity: BTreeMap<Pair, i64>,
    affinity: BTreeMap<Pair, i64>,
    anti_affinity: BTreeMap<Pair, i64>,
    namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Default)]
struct ScoreState {
    topology_score: BTreeMap<String, BTreeMap<String, i64>>,
}

#[derive(Debug, Default)]
pub struct InterPodAffinity;

fn matches_all(
    terms: &[AffinityTerm],
    pod: &PodInfo,
    ns: &BTreeMap<String, BTreeMap<String, String>>,
) -> bool {
    !terms.is_empty() && terms.iter().all(|t| t.matches(pod, ns))
}

impl FilterState {
    /// Counts `existing` (on `node`) for the incoming `pod`, `sign` +1 or -1.
    fn update(&mut self, pod: &PodInfo, existing: &PodInfo, node: &NodeInfo, sign: i64) {
        let labels = node.labels();
        let ns = &self.namespace_labels;
        let mut bumps: Vec<(u8, Pair)> = Vec::new();
        for t in &existing.required_anti_affinity {
            if let Some(v) = labels.get(&t.topology_key)
                && t.matches(pod, ns)
            {
                bumps.push((0, (t.topology_key.clone(), v.clone())));
            }
        }
        if matches_all(&pod.required_affinity, existing, ns) {
            for t in &pod.required_affinity {
                if let Some(v) = labels.get(&t.topology_key) {
                    bumps.push((1, (t.topology_key.clone(), v.clone())));
                }
            }
        }
        for t in &pod.required_anti_affinity {
            if let Some(v) = labels.get(&t.topology_key)
                && t.matches(existing, ns)
            {
                bumps.push((2, (t.topology_key.clone(), v.clone())));
            }
        }
        for (which, pair) in bumps {
            let map = match which {
                0 => &mut self.existing_anti_affinity,
                1 => &mut self.affinity,
                _ => &mut self.anti_affinity,
            };
            let c = map.entry(pair.clone()).or_insert(0);
            *c += sign;
            if *c == 0 {
                map.remove(&pair);
            }
        }
    }
}

fn pair_count(map: &BTreeMap<Pair, i64>, key: &str, value: &str) -> i64 {
    map.get(&(key.to_string(), value.to_string()))
        .copied()
        .unwrap_or(0)
}

fn process_terms(
    out: &mut BTreeMap<String, BTreeMap<String, i64>>,
    terms: &[WeightedAffinityTerm],
    target: &PodInfo,
    ns: &BTreeMap<String, BTreeMap<String, String>>,
    node: &NodeInfo,
    sign: i64,
) {
    for w in terms {
        process_term(out, &w.term, w.weight * sign, target, ns, node);
    }
}

fn process_term(
    out: &mut BTreeMap<String, BTreeMap<String, i64>>,
    term: &AffinityTerm,
    weight: i64,
    target: &PodInfo,
    ns: &BTreeMap<String, BTreeMap<String, String>>,
    node: &NodeInfo,
) {
    if let Some(v) = node.labels().get(&term.topology_key)
        && term.matches(target, ns)
    {
        *out.entry(term.topology_key.clone())
            .or_default()
            .entry(v.clone())
            .or_insert(0) += weight;
    }
}

impl Plugin for InterPodAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
    fn points(&self) -> Points {
        Points {
            pre_filter: true,
            filter: true,
            pre_score: true,
            score: true,
        }
    }
    fn events(&self) -> &'static [ClusterEvent] {
        &[
            ClusterEvent::NodeAdd,
            ClusterEvent::NodeUpdate,
            ClusterEvent::AssignedPodAdd,
            ClusterEvent::AssignedPodDelete,
            ClusterEvent::UnscheduledPodUpdate,
        ]
    }

    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
    ) -> (Status, PreFilterResult) {
        let anti_exists = snap.any_pod_with_required_anti_affinity();
        if pod.required_affinity.is_empty() && pod.required_anti_affinity.is_empty() && !anti_exists
        {
            return (Status::skip(), PreFilterResult::default());
        }
        let mut s = FilterState {
            namespace_labels: snap.namespace_labels.clone(),
            ..FilterState::default()
        };
        let incoming = !pod.required_affinity.is_empty() || !pod.required_anti_affinity.is_empty();
        // The counts are sums: the order nodes are visited in does not matter.
        let nodes: Box<dyn Iterator<Item = &NodeInfo>> = if incoming {
            Box::new(snap.iter())
        } else {
            Box::new(snap.nodes_with_required_anti_affinity_pods())
        };
        for node in nodes {
            for existing in &node.pods {
                if existing.uid != pod.uid {
                    s.update(pod, existing, node, 1);
                }
            }
        }
        state.write(FILTER_KEY, s);
        (Status::success(), PreFilterResult::default())
    }

    fn add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        added: &PodInfo,
        node: &NodeInfo,
        _: &Snapshot,
    ) {
        if let Some(s) = state.read_mut::<FilterState>(FILTER_KEY) {
            s.update(pod, added, node, 1);
        }
    }

    fn remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        removed: &PodInfo,
        node: &NodeInfo,
        _: &Snapshot,
    ) {
        if let Some(s) = state.read_mut::<FilterState>(FILTER_KEY) {
            s.update(pod, removed, node, -1);
        }
    }

    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<FilterState>(FILTER_KEY) else {
            return Status::success();
        };
        let labels = node.labels();
        // Required affinity.
        if !pod.required_affinity.is_empty() {
            let mut pods_exist = true;
            for t in &pod.required_affinity {
                match labels.get(&t.topology_key) {
                    Some(v) => {
                        if pair_count(&s.affinity, &t.topology_key, v) <= 0 {
                            pods_exist = false;
                        }
                    }
                    None => return Status::unresolvable(REASON_AFFINITY),
                }
            }
            if !pods_exist {
                let first_of_group = s.affinity.is_empty()
                    && matches_all(&pod.required_affinity, pod, &s.namespace_labels);
                if !first_of_group {
                    return Status::unresolvable(REASON_AFFINITY);
                }
            }
        }
        // The incoming pod's anti-affinity.
        for t in &pod.required_anti_affinity {
            if let Some(v) = labels.get(&t.topology_key)
                && pair_count(&s.anti_affinity, &t.topology_key, v) > 0
            {
                return Status::unschedulable(REASON_ANTI_AFFINITY);
            }
        }
        // Existing pods' anti-affinity.
        if !s.existing_anti_affinity.is_empty() {
            for (k, v) in labels {
                if pair_count(&s.existing_anti_affinity, k, v) > 0 {
                    return Status::unschedulable(REASON_EXISTING_ANTI_AFFINITY);
                }
            }
        }
        Status::success()
    }

    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
        _: &[usize],
    ) -> Status {
        let has_preferred =
            !pod.preferred_affinity.is_empty() || !pod.preferred_anti_affinity.is_empty();
        if !has_preferred && !snap.any_pod_with_affinity() {
            return Status::skip();
        }
        let ns = &snap.namespace_labels;
        let mut out: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        let nodes: Box<dyn Iterator<Item = &NodeInfo>> = if has_preferred {
            Box::new(snap.iter())
        } else {
            Box::new(snap.nodes_with_affinity_pods())
        };
        for node in nodes {
            for existing in &node.pods {
                if existing.uid == pod.uid {
                    continue;
                }
                process_terms(&mut out, &pod.preferred_affinity, existing, ns, node, 1);
                process_terms(
                    &mut out,
                    &pod.preferred_anti_affinity,
                    existing,
                    ns,
                    node,
                    -1,
                );
                if !node.labels().is_empty() {
                    for t in &existing.required_affinity {
                        process_term(&mut out, t, HARD_POD_AFFINITY_WEIGHT, pod, ns, node);
                    }
                }
                process_terms(&mut out, &existing.preferred_affinity, pod, ns, node, 1);
                process_terms(
                    &mut out,
                    &existing.preferred_anti_affinity,
                    pod,
                    ns,
                    node,
                    -1,
                );
            }
        }
        if out.is_empty() {
            return Status::skip();
        }
        state.write(
            SCORE_KEY,
            ScoreState {
                topology_score: out,
            },
        );
        Status::success()
    }

    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo, _: &Snapshot) -> i64 {
        let Some(s) = state.read::<ScoreState>(SCORE_KEY) else {
            return 0;
        };
        let labels = node.labels();
        s.topology_score
            .iter()
            .filter_map(|(k, values)| labels.get(k).and_then(|v| values.get(v)))
            .sum()
    }

    fn normalize_score(&self, _: &CycleState, _: &PodInfo, scores: &mut [i64]) {
        let (min, max) = scores
            .iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), s| (lo.min(*s), hi.max(*s)));
        let diff = max.saturating_sub(min);
        for s in scores.iter_mut() {
            *s = if diff > 0 {
                (MAX_NODE_SCORE as f64 * ((*s - min) as f64 / diff as f64)) as i64
            } else {
                0
            };
        }
    }
}
