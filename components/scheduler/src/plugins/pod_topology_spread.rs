//! PodTopologySpread (`framework/plugins/podtopologyspread/{common,filtering,scoring}.go`).
//!
//! Constraints are the pod's `topologySpreadConstraints`, or, when it has none, the system
//! defaults (F27): `topology.kubernetes.io/zone` maxSkew 5 and `kubernetes.io/hostname`
//! maxSkew 3, both ScheduleAnyway, selecting the pods the pod's Services, ReplicaSets and
//! StatefulSets select (`DefaultSelector`; none of those: no default spreading).
//!
//! Filter (DoNotSchedule constraints): a node without the topology key is rejected ("node(s)
//! didn't match pod topology spread constraints (missing required label)", unresolvable);
//! otherwise `pods in the node's domain + 1 if the pod matches its own selector - the fewest
//! pods in any domain` (0 when fewer domains than `minDomains`) must not exceed maxSkew
//! ("node(s) didn't match pod topology spread constraints"). Only nodes with every key that
//! pass the pod's node affinity (nodeAffinityPolicy Honor) and, with nodeTaintsPolicy Honor,
//! its tolerations count.
//!
//! Score (ScheduleAnyway constraints): per constraint `count * ln(domains + 2) + maxSkew - 1`
//! (hostname counts the node's own pods), rounded; nodes missing a key of explicit
//! constraints are ignored (score 0); normalized as `100 * (max + min - s) / max`.
//! Nodes are read through the cache's topology domain ids ([`crate::framework::topology`])
//! and, for pods whose constraints count every node, its kept per-domain counts
//! ([`crate::framework::spread_counts`]); the hostname constraint counts the node's own pods,
//! read from the kept counts when no other node shares the hostname.
//! Simplification: `matchLabelKeys` is honoured; the NodeInclusionPolicy feature gate is
//! taken as on (its default).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use api::affinity::pod_matches_node;
use api::selector::Selector;
use api::taints::{NO_EXECUTE, NO_SCHEDULE, find_untolerated_taint};
use k8s_openapi::api::core::v1::TopologySpreadConstraint;

use crate::framework::snapshot::{LABEL_HOSTNAME, LABEL_ZONE};
use crate::framework::spread_counts::{CountKey, DomainCounts};
use crate::framework::topology::{NONE, TopologyIndex};
use crate::framework::{
    ClusterEvent, CycleState, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, Points, PreFilterResult,
    Snapshot, Status,
};

pub const NAME: &str = "PodTopologySpread";
pub const REASON_CONSTRAINTS: &str = "node(s) didn't match pod topology spread constraints";
pub const REASON_MISSING_LABEL: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";
const FILTER_KEY: &str = "PreFilterPodTopologySpread";
const SCORE_KEY: &str = "PreScorePodTopologySpread";

/// The system default constraints: (topology key, maxSkew).
pub const SYSTEM_DEFAULTS: [(&str, i64); 2] = [(LABEL_ZONE, 5), (LABEL_HOSTNAME, 3)];

#[derive(Clone, Debug)]
pub struct Constraint {
    pub max_skew: i64,
    /// Borrowed for the system defaults, which every ReplicaSet pod's cycle builds.
    pub topology_key: Cow<'static, str>,
    /// All must match (shared with the pod's default selectors).
    pub selector: Arc<[Selector]>,
    pub min_domains: i64,
    pub do_not_schedule: bool,
    pub honor_node_affinity: bool,
    pub honor_node_taints: bool,
}

impl Constraint {
    fn matches(&self, pod: &PodInfo) -> bool {
        self.selector.iter().all(|s| s.matches(pod.labels()))
    }

    fn includes_node(&self, pod: &PodInfo, node: &NodeInfo) -> bool {
        if self.honor_node_affinity
            && pod.has_node_constraints
            && let (Some(spec), Some(n)) = (pod.pod().spec.as_ref(), node.node())
            && !pod_matches_node(spec, n)
        {
            return false;
        }
        if self.honor_node_taints {
            let tolerations = pod
                .pod()
                .spec
                .as_ref()
                .and_then(|s| s.tolerations.as_deref())
                .unwrap_or(&[]);
            if find_untolerated_taint(&node.taints, tolerations, &[NO_SCHEDULE, NO_EXECUTE])
                .is_some()
            {
                return false;
            }
        }
        true
    }

    fn count_on(&self, pod: &PodInfo, node: &NodeInfo) -> i64 {
        node.pods
            .iter()
            .filter(|p| !p.terminating && p.namespace == pod.namespace && self.matches(p))
            .count() as i64
    }
}

fn explicit(pod: &PodInfo, c: &TopologySpreadConstraint) -> Constraint {
    let mut selector = vec![
        Selector::from_label_selector(c.label_selector.as_ref())
            .unwrap_or_else(|_| Selector::nothing()),
    ];
    for key in c.match_label_keys.iter().flatten() {
        if let Some(v) = pod.labels().get(key)
            && let Ok(s) = Selector::from_map(&BTreeMap::from([(key.clone(), v.clone())]))
        {
            selector.push(s);
        }
    }
    Constraint {
        max_skew: i64::from(c.max_skew),
        topology_key: Cow::Owned(c.topology_key.clone()),
        selector: selector.into(),
        min_domains: i64::from(c.min_domains.unwrap_or(1)),
        do_not_schedule: c.when_unsatisfiable == "DoNotSchedule",
        honor_node_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
        honor_node_taints: c.node_taints_policy.as_deref() == Some("Honor"),
    }
}

fn own_constraints(pod: &PodInfo) -> &[TopologySpreadConstraint] {
    pod.pod()
        .spec
        .as_ref()
        .and_then(|s| s.topology_spread_constraints.as_deref())
        .unwrap_or(&[])
}

fn has_own_constraints(pod: &PodInfo) -> bool {
    !own_constraints(pod).is_empty()
}

/// The pod's constraints, or the system defaults; and whether they are the pod's own.
pub fn constraints(pod: &PodInfo) -> (Vec<Constraint>, bool) {
    let own = own_constraints(pod);
    if !own.is_empty() {
        return (own.iter().map(|c| explicit(pod, c)).collect(), true);
    }
    if pod.default_spread_selector.is_empty() {
        return (Vec::new(), false);
    }
    let defaults = SYSTEM_DEFAULTS
        .iter()
        .map(|(key, skew)| Constraint {
            max_skew: *skew,
            topology_key: Cow::Borrowed(key),
            selector: pod.default_spread_selector.clone(),
            min_domains: 1,
            do_not_schedule: false,
            honor_node_affinity: true,
            honor_node_taints: false,
        })
        .collect();
    (defaults, false)
}

fn has_all_keys(node: &NodeInfo, cs: &[Constraint]) -> bool {
    let labels = node.labels();
    cs.iter()
        .all(|c| labels.contains_key(c.topology_key.as_ref()))
}

/// The count set of the cache for these constraints, when every node counts for them (no
/// node affinity or taints to honour for this pod); else `None` and the caller counts.
fn cached_counts(
    pod: &PodInfo,
    cs: &[Constraint],
    require_all_keys: bool,
    snap: &Snapshot,
) -> Option<Arc<Vec<DomainCounts>>> {
    let every_node = cs
        .iter()
        .all(|c| !c.honor_node_taints && (!c.honor_node_affinity || !pod.has_node_constraints));
    every_node.then(|| {
        snap.spread_counts_with(
            &pod.namespace,
            cs.iter().map(|c| (c.topology_key.as_ref(), &*c.selector)),
            require_all_keys,
            || CountKey {
                namespace: pod.namespace.clone(),
                constraints: cs
                    .iter()
                    .map(|c| (c.topology_key.to_string(), c.selector.to_vec()))
                    .collect(),
                require_all_keys,
            },
        )
    })
}

fn topology(cs: &[Constraint], snap: &Snapshot) -> Vec<Arc<TopologyIndex>> {
    cs.iter().map(|c| snap.topology(&c.topology_key)).collect()
}

/// The node in `slot` carries every constraint's key.
fn has_all_domains(topo: &[Arc<TopologyIndex>], slot: usize) -> bool {
    topo.iter().all(|t| t.domain(slot).is_some())
}

#[derive(Clone, Debug, Default)]
struct FilterState {
    constraints: Vec<Constraint>,
    topo: Vec<Arc<TopologyIndex>>,
    /// Per constraint: domain → matching pods (shared with the cache).
    base: Arc<Vec<DomainCounts>>,
    /// Per constraint: changes by preemption's what-ifs (AddPod/RemovePod).
    delta: Vec<BTreeMap<u32, i64>>,
    min: Vec<i64>,
}

impl FilterState {
    fn count(&self, i: usize, value: &str) -> i64 {
        self.topo[i].id(value).map_or(0, |d| {
            self.base[i].get(d).unwrap_or(0) + self.delta[i].get(&d).copied().unwrap_or(0)
        })
    }

    fn recompute_min(&mut self) {
        self.min = self
            .constraints
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let (min, domains) = self.base[i].min_with(&self.delta[i]);
                if (domains as i64) < c.min_domains {
                    0
                } else {
                    min
                }
            })
            .collect();
    }

    fn update(&mut self, pod: &PodInfo, other: &PodInfo, node: &NodeInfo, sign: i64) {
        if !has_all_keys(node, &self.constraints) || other.namespace != pod.namespace {
            return;
        }
        for (i, c) in self.constraints.iter().enumerate() {
            if !c.includes_node(pod, node) || !c.matches(other) {
                continue;
            }
            // A node of the snapshot: its value has an id.
            if let Some(d) = node
                .labels()
                .get(c.topology_key.as_ref())
                .and_then(|v| self.topo[i].id(v))
            {
                *self.delta[i].entry(d).or_insert(0) += sign;
            }
        }
        self.recompute_min();
    }
}

#[derive(Clone, Debug, Default)]
struct ScoreState {
    constraints: Vec<Constraint>,
    topo: Vec<Arc<TopologyIndex>>,
    /// Nodes lacking a key are not scored (the pod's own constraints).
    require_all: bool,
    /// The cache's counts, when every node counts for these constraints.
    cached: Option<Arc<Vec<DomainCounts>>>,
    /// Else, per constraint (not hostname): matching pods by domain.
    counts: Vec<Vec<i64>>,
    /// Per constraint: `ln(domains + 2)`, `maxSkew - 1`, and where its counts come from.
    terms: Vec<Term>,
}

#[derive(Clone, Copy, Debug)]
struct Term {
    weight: f64,
    skew: f64,
    source: Source,
}

/// Where a constraint's count for a node's domain comes from, decided once per cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// The cache's kept counts.
    Cached,
    /// Hostname with kept counts: the kept count when no other node shares the hostname,
    /// else the node's own pods.
    CachedUnlessShared,
    /// Hostname without kept counts: the node's own pods.
    OwnPods,
    /// `ScoreState::counts`.
    Counted,
}

impl ScoreState {
    #[inline]
    fn node_score(&self, pod: &PodInfo, slot: usize, node: &NodeInfo) -> i64 {
        if self.require_all && !has_all_domains(&self.topo, slot) {
            return IGNORED;
        }
        let mut score = 0.0;
        for (i, t) in self.terms.iter().enumerate() {
            let Some(d) = self.topo[i].domain(slot) else {
                continue;
            };
            let cached = || self.cached.as_ref().and_then(|c| c[i].get(d)).unwrap_or(0);
            let count = match t.source {
                Source::Cached => cached(),
                Source::CachedUnlessShared if self.topo[i].nodes_in(d) == 1 => cached(),
                Source::CachedUnlessShared | Source::OwnPods => {
                    self.constraints[i].count_on(pod, node)
                }
                Source::Counted => self.counts[i][d as usize],
            };
            score += count as f64 * t.weight + t.skew;
        }
        round_half_away(score)
    }

    /// [`ScoreState::node_score`] of every feasible node, with each constraint's count
    /// source resolved once: a constraint of few domains (zones) gets its term per domain
    /// computed once, the others read the kept counts by the node's domain id. The terms are
    /// the same f64 values, added in the same order.
    fn score_nodes(&self, pod: &PodInfo, snap: &Snapshot, feasible: &[usize], out: &mut Vec<i64>) {
        let per_node = self
            .terms
            .iter()
            .any(|t| matches!(t.source, Source::CachedUnlessShared | Source::OwnPods));
        if per_node {
            out.extend(
                feasible
                    .iter()
                    .map(|slot| self.node_score(pod, *slot, snap.node(*slot))),
            );
            return;
        }
        let lookups: Vec<Lookup<'_>> = self
            .terms
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let topo = &self.topo[i];
                let kept = self.cached.as_ref().map(|c| &c[i]);
                let terms = match (t.source, kept) {
                    (Source::Cached, Some(kept)) if topo.len() > feasible.len() => Terms::Kept {
                        counts: kept.by_domain(),
                        weight: t.weight,
                        skew: t.skew,
                    },
                    _ => Terms::Table(
                        (0..topo.len() as u32)
                            .map(|d| {
                                let count = match t.source {
                                    Source::Counted => self.counts[i][d as usize],
                                    _ => kept.and_then(|k| k.get(d)).unwrap_or(0),
                                };
                                count as f64 * t.weight + t.skew
                            })
                            .collect(),
                    ),
                };
                Lookup {
                    of_slot: topo.slots(),
                    terms,
                }
            })
            .collect();
        let require_all = self.require_all;
        let score_of = |slot: usize| {
            let mut score = 0.0;
            for l in &lookups {
                let d = l.of_slot.get(slot).copied().unwrap_or(NONE);
                if d == NONE {
                    if require_all {
                        return IGNORED;
                    }
                    continue;
                }
                score += match &l.terms {
                    Terms::Table(terms) => terms[d as usize],
                    Terms::Kept {
                        counts,
                        weight,
                        skew,
                    } => {
                        let count = counts.get(d as usize).copied().flatten().unwrap_or(0);
                        count as f64 * weight + skew
                    }
                };
            }
            round_half_away(score)
        };
        // The system defaults' shape (a few zones, then hostnames with kept counts): a node's
        // score is a function of its zone and its count, small numbers, so each pair's
        // rounded sum is computed once per cycle (on first use), not once per node.
        if let [
            Lookup {
                of_slot: zones,
                terms: Terms::Table(terms),
            },
            Lookup {
                of_slot: hosts,
                terms: Terms::Kept { counts, .. },
            },
        ] = lookups.as_slice()
            && terms.len() * MEMO_COUNTS <= feasible.len()
        {
            let mut memo = vec![UNSET; terms.len() * MEMO_COUNTS];
            out.extend(feasible.iter().map(|slot| {
                let zone = zones.get(*slot).copied().unwrap_or(NONE);
                let host = hosts.get(*slot).copied().unwrap_or(NONE);
                let count = counts.get(host as usize).copied().flatten().unwrap_or(0);
                if zone == NONE || host == NONE || !(0..MEMO_COUNTS as i64).contains(&count) {
                    return score_of(*slot);
                }
                let m = &mut memo[zone as usize * MEMO_COUNTS + count as usize];
                if *m == UNSET {
                    *m = score_of(*slot);
                }
                *m
            }));
            return;
        }
        out.extend(feasible.iter().map(|slot| score_of(*slot)));
    }
}

/// Counts per zone the per-cycle memo of [`ScoreState::score_nodes`] holds.
const MEMO_COUNTS: usize = 32;
/// A memo entry not computed yet (no score is negative but [`IGNORED`]).
const UNSET: i64 = i64::MIN;

/// One constraint's term for a node, resolved for [`ScoreState::score_nodes`]: the node's
/// domain id by slot, and the term by domain.
struct Lookup<'a> {
    of_slot: &'a [u32],
    terms: Terms<'a>,
}

enum Terms<'a> {
    /// The term of every domain, by domain id.
    Table(Vec<f64>),
    /// The kept counts by domain id, the term computed per node.
    Kept {
        counts: &'a [Option<i64>],
        weight: f64,
        skew: f64,
    },
}

/// NormalizeScore's formula for one raw score: fewer matching pods score higher; with no
/// matching pod anywhere (`max == 0`) every node scores the maximum.
fn normalized(s: i64, min: i64, max: i64) -> i64 {
    if max == 0 {
        MAX_NODE_SCORE
    } else {
        MAX_NODE_SCORE * (max + min - s) / max
    }
}

/// `math.Round` (half away from zero) without a libm call on the per-node path.
#[inline]
fn round_half_away(x: f64) -> i64 {
    // Below 2^52 the truncation and the difference are exact.
    if x.abs() >= 4_503_599_627_370_496.0 || x.is_nan() {
        return x.round() as i64;
    }
    let t = x as i64;
    let frac = x - t as f64;
    // Without branches: the fractions of `count * ln(domains + 2)` are as good as random,
    // so a branch on them is mispredicted every other node.
    t + i64::from(frac >= 0.5) - i64::from(frac <= -0.5)
}

#[derive(Debug, Default)]
pub struct PodTopologySpread;

impl Plugin for PodTopologySpread {
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
        // The system defaults are all ScheduleAnyway: only the pod's own constraints can
        // make Filter reject.
        if !has_own_constraints(pod) {
            return (Status::skip(), PreFilterResult::default());
        }
        let cs: Vec<Constraint> = constraints(pod)
            .0
            .into_iter()
            .filter(|c| c.do_not_schedule)
            .collect();
        if cs.is_empty() {
            return (Status::skip(), PreFilterResult::default());
        }
        let topo = topology(&cs, snap);
        let base = cached_counts(pod, &cs, true, snap).unwrap_or_else(|| {
            let mut counts = vec![DomainCounts::default(); cs.len()];
            for slot in snap.ordered() {
                if !has_all_domains(&topo, *slot) {
                    continue;
                }
                let node = snap.node(*slot);
                for (i, c) in cs.iter().enumerate() {
                    if let Some(d) = topo[i].domain(*slot)
                        && c.includes_node(pod, node)
                    {
                        counts[i].bump(d, c.count_on(pod, node));
                    }
                }
            }
            Arc::new(counts)
        });
        let mut s = FilterState {
            delta: vec![BTreeMap::new(); cs.len()],
            constraints: cs,
            topo,
            base,
            min: Vec::new(),
        };
        s.recompute_min();
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
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(v) = labels.get(c.topology_key.as_ref()) else {
                return Status::unresolvable(REASON_MISSING_LABEL);
            };
            let self_match = i64::from(c.matches(pod));
            let count = s.count(i, v);
            if count + self_match - s.min[i] > c.max_skew {
                return Status::unschedulable(REASON_CONSTRAINTS);
            }
        }
        Status::success()
    }

    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
        feasible: &[usize],
    ) -> Status {
        let (all, own) = constraints(pod);
        let cs: Vec<Constraint> = all.into_iter().filter(|c| !c.do_not_schedule).collect();
        if cs.is_empty() {
            return Status::skip();
        }
        let require_all = own;
        let topo = topology(&cs, snap);
        // Domains among the scored nodes (not hostname: its size is the nodes scored).
        let mut seen: Vec<Vec<bool>> = cs
            .iter()
            .zip(&topo)
            .map(|(c, t)| {
                let n = if c.topology_key == LABEL_HOSTNAME {
                    0
                } else {
                    t.len()
                };
                vec![false; n]
            })
            .collect();
        let mut scored = 0;
        let mut unseen: usize = seen.iter().map(Vec::len).sum();
        for slot in feasible {
            if require_all && !has_all_domains(&topo, *slot) {
                continue;
            }
            scored += 1;
            if unseen == 0 {
                // Every domain is seen (a few zones, early in the list): what is left to
                // learn is how many nodes count, all of them unless keys are required.
                if !require_all {
                    scored = feasible.len();
                    break;
                }
                continue;
            }
            for (t, seen) in topo.iter().zip(seen.iter_mut()) {
                if let Some(b) = t.domain(*slot).and_then(|d| seen.get_mut(d as usize))
                    && !*b
                {
                    *b = true;
                    unseen -= 1;
                }
            }
        }
        let cached = cached_counts(pod, &cs, require_all, snap);
        let terms = cs
            .iter()
            .zip(&seen)
            .zip(&topo)
            .map(|((c, domains), t)| {
                let hostname = c.topology_key == LABEL_HOSTNAME;
                let size = if hostname {
                    scored
                } else {
                    domains.iter().filter(|b| **b).count()
                };
                let source = match (cached.is_some(), hostname) {
                    (true, false) => Source::Cached,
                    (true, true) if t.hosts_unique() => Source::Cached,
                    (true, true) => Source::CachedUnlessShared,
                    (false, true) => Source::OwnPods,
                    (false, false) => Source::Counted,
                };
                Term {
                    weight: sim::rng::portable_ln(size as f64 + 2.0),
                    skew: (c.max_skew - 1) as f64,
                    source,
                }
            })
            .collect();
        let mut counts: Vec<Vec<i64>> = Vec::new();
        if cached.is_none() {
            counts = seen.iter().map(|s| vec![0; s.len()]).collect();
            for slot in snap.ordered() {
                let node = snap.node(*slot);
                // A node without pods adds nothing to any domain.
                if node.pods.is_empty() || (require_all && !has_all_domains(&topo, *slot)) {
                    continue;
                }
                for (i, c) in cs.iter().enumerate() {
                    if c.topology_key == LABEL_HOSTNAME || !c.includes_node(pod, node) {
                        continue;
                    }
                    if let Some(d) = topo[i].domain(*slot) {
                        counts[i][d as usize] += c.count_on(pod, node);
                    }
                }
            }
        }
        state.write(
            SCORE_KEY,
            ScoreState {
                constraints: cs,
                topo,
                require_all,
                cached,
                counts,
                terms,
            },
        );
        Status::success()
    }

    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo, snap: &Snapshot) -> i64 {
        match (
            state.read::<ScoreState>(SCORE_KEY),
            snap.index_of(&node.name),
        ) {
            (Some(s), Some(slot)) => s.node_score(pod, slot, node),
            _ => 0,
        }
    }

    fn score_nodes(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
        feasible: &[usize],
        out: &mut Vec<i64>,
    ) {
        match state.read::<ScoreState>(SCORE_KEY) {
            Some(s) => s.score_nodes(pod, snap, feasible, out),
            None => out.extend(feasible.iter().map(|_| 0)),
        }
    }

    fn normalize_score(&self, _: &CycleState, _: &PodInfo, scores: &mut [i64]) {
        let mut min = i64::MAX;
        let mut max = 0;
        for s in scores.iter().filter(|s| **s != IGNORED) {
            min = min.min(*s);
            max = max.max(*s);
        }
        // The scores are few distinct values (counts of pods): with a range no wider than
        // the nodes, each value's normalized score is computed once (the same division).
        let range = max.saturating_sub(min);
        if max > 0 && range < scores.len() as i64 {
            let table: Vec<i64> = (min..=max).map(|s| normalized(s, min, max)).collect();
            for s in scores.iter_mut() {
                *s = if *s == IGNORED {
                    0
                } else {
                    table[(*s - min) as usize]
                };
            }
            return;
        }
        for s in scores.iter_mut() {
            *s = if *s == IGNORED {
                0
            } else {
                normalized(*s, min, max)
            };
        }
    }
}

/// A node that lacks a key of the pod's own constraints (upstream's `invalidScore`).
const IGNORED: i64 = -1;

#[cfg(test)]
mod tests {
    use super::round_half_away;

    #[test]
    fn rounding_matches_f64_round() {
        for x in [
            0.0,
            0.4,
            0.5,
            1.5,
            2.5,
            2.499_999_999,
            8.77,
            -0.5,
            -1.5,
            -2.4,
            1e15,
            1e300,
            6.0,
        ] {
            assert_eq!(round_half_away(x), x.round() as i64, "{x}");
        }
    }
}
