//! One scheduling cycle for one pod: PreFilter, Filter over a rotating window of nodes,
//! PostFilter (preemption) when none fits, PreScore, Score, NormalizeScore, weights, and the
//! host choice; every node's verdict and every plugin's score is kept as a [`Decision`].
//!
//! Follows `pkg/scheduler/schedule_one.go` (`schedulePod`, `findNodesThatFitPod`: the
//! nominated node is tried first; `findNodesThatPassFilters` starts at `nextStartNodeIndex`
//! and stops once `numFeasibleNodesToFind` nodes fit, then advances the index by the nodes it
//! processed; one feasible node is taken without scoring; `selectHost` picks uniformly among
//! the best totals by reservoir sampling) and `framework/runtime/framework.go`
//! (`RunFilterPluginsWithNominatedPods`: filters run once with the higher-or-equal priority
//! pods nominated to the node added, then without them).
//! Simplification: filters and scores run sequentially (upstream runs 16 goroutines), which
//! changes nothing but wall time. Filters run plugin by plugin over a chunk of the window no
//! larger than the feasible nodes still wanted, so the nodes evaluated, their verdicts and
//! the first rejection of each are those of a node-by-node loop.

use std::collections::BTreeMap;
use std::sync::Arc;

use sim::SimRng;

use super::fit_error::{Diagnosis, FitError};
use super::profile::{Profile, num_feasible_nodes_to_find};
use super::score_columns::ScoreColumns;
use super::snapshot::NodeNames;
use super::{Code, CycleState, NodeInfo, PodInfo, Snapshot, Status, Verdict};
use crate::plugins::default_preemption::{self, Preemption};

/// Pods nominated to nodes by preemption (`nominator`): node name → pods.
#[derive(Clone, Debug, Default)]
pub struct Nominator {
    by_node: BTreeMap<String, Vec<Arc<PodInfo>>>,
    node_of: BTreeMap<String, String>,
}

impl Nominator {
    /// Records (or moves, or with an empty node clears) the pod's nomination.
    pub fn nominate(&mut self, pod: Arc<PodInfo>, node: &str) {
        let key = pod.key();
        self.remove(&key);
        if node.is_empty() {
            return;
        }
        self.by_node.entry(node.to_string()).or_default().push(pod);
        self.node_of.insert(key, node.to_string());
    }

    pub fn remove(&mut self, key: &str) {
        if let Some(node) = self.node_of.remove(key)
            && let Some(v) = self.by_node.get_mut(&node)
        {
            v.retain(|p| p.key() != key);
            if v.is_empty() {
                self.by_node.remove(&node);
            }
        }
    }

    pub fn pods_on(&self, node: &str) -> &[Arc<PodInfo>] {
        self.by_node.get(node).map_or(&[], Vec::as_slice)
    }

    pub fn node_of(&self, key: &str) -> Option<&str> {
        self.node_of.get(key).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.node_of.len()
    }

    pub fn is_empty(&self) -> bool {
        self.node_of.is_empty()
    }
}

/// One plugin's score for one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginScore {
    pub plugin: &'static str,
    pub raw: i64,
    pub normalized: i64,
    pub weight: i64,
}

impl PluginScore {
    pub fn weighted(&self) -> i64 {
        self.normalized * self.weight
    }
}

/// What happened to one node in a cycle (materialised from a [`Decision`] for explanations).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeVerdict {
    pub node: Arc<str>,
    /// The rejecting plugin's status, or `None` when the node passed every filter.
    pub rejected: Option<Status>,
    /// Empty when not scored.
    pub scores: Vec<PluginScore>,
}

impl NodeVerdict {
    pub fn total(&self) -> i64 {
        self.scores.iter().map(PluginScore::weighted).sum()
    }
}

/// The record of one cycle, for explanations. Kept dense, since a cycle evaluates hundreds of
/// nodes: nodes are snapshot slots (names resolve through the cache's slot → name table as of
/// the cycle, shared, not copied), rejections are listed apart (most nodes pass), and scores
/// are one column per scorer. [`Decision::nodes`] gives the per-node view.
#[derive(Clone, Debug)]
pub struct Decision {
    pub pod: String,
    pub num_all_nodes: usize,
    /// Snapshot slots of the nodes, in the order they were evaluated.
    pub evaluated: Vec<u32>,
    /// (position in `evaluated`, the rejecting plugin's status), in evaluation order.
    pub rejected: Vec<(u32, Status)>,
    /// Slot → node name at the time of the cycle.
    pub names: NodeNames,
    /// Score plugins that took part (PreScore did not skip them), with weights.
    pub scorers: Vec<(&'static str, i64)>,
    /// Scores in columns of the nodes that passed, in evaluation order: per scorer (as
    /// `scorers`) its raw scores, then, if it normalizes, its normalized scores; empty when
    /// nothing was scored. Packed ([`ScoreColumns`]): the last 10,000 decisions are kept.
    pub scores: ScoreColumns,
    /// Per scorer: where its raw and its normalized column start in `scores` (the same
    /// column for a scorer whose raw scores are final).
    pub columns: Vec<(usize, usize)>,
    /// Plugins whose PreFilter skipped (their Filter did not run).
    pub skipped_filters: Vec<&'static str>,
    /// Plugins whose PreScore skipped (they did not score).
    pub skipped_scores: Vec<&'static str>,
    /// The chosen node, or the FailedScheduling message.
    pub outcome: Result<String, String>,
    /// Set when preemption nominated a node.
    pub nominated: Option<String>,
    pub victims: Vec<String>,
    /// Why scoring did not happen although a node fit (a single feasible node).
    pub unscored_because: Option<&'static str>,
}

impl Default for Decision {
    fn default() -> Self {
        Decision {
            pod: String::new(),
            num_all_nodes: 0,
            evaluated: Vec::new(),
            rejected: Vec::new(),
            names: NodeNames::default(),
            scorers: Vec::new(),
            scores: ScoreColumns::default(),
            columns: Vec::new(),
            skipped_filters: Vec::new(),
            skipped_scores: Vec::new(),
            outcome: Err(String::new()),
            nominated: None,
            victims: Vec::new(),
            unscored_because: None,
        }
    }
}

impl Decision {
    /// Every evaluated node's verdict and scores, in evaluation order.
    pub fn nodes(&self) -> Vec<NodeVerdict> {
        let mut rejected = self.rejected.iter().peekable();
        let mut passed = 0;
        let mut out = Vec::with_capacity(self.evaluated.len());
        for (pos, slot) in self.evaluated.iter().enumerate() {
            let node = self.names.name(*slot as usize);
            if let Some((_, s)) = rejected.next_if(|(p, _)| *p as usize == pos) {
                out.push(NodeVerdict {
                    node,
                    rejected: Some(s.clone()),
                    scores: Vec::new(),
                });
                continue;
            }
            let scores = self
                .scorers
                .iter()
                .enumerate()
                .filter_map(|(k, (plugin, weight))| {
                    let (raw, normalized) = *self.columns.get(k)?;
                    Some(PluginScore {
                        plugin,
                        raw: self.scores.get(raw + passed)?,
                        normalized: self.scores.get(normalized + passed)?,
                        weight: *weight,
                    })
                })
                .collect();
            passed += 1;
            out.push(NodeVerdict {
                node,
                rejected: None,
                scores,
            });
        }
        out
    }

    fn push_verdict(&mut self, slot: usize, status: Option<Status>) {
        if let Some(s) = status {
            self.rejected.push((self.evaluated.len() as u32, s));
        }
        self.evaluated.push(slot as u32);
    }
}

/// A successful cycle.
#[derive(Clone, Debug)]
pub struct Placement {
    pub node: String,
    pub evaluated_nodes: usize,
    pub feasible_nodes: usize,
}

/// A failed cycle: the FitError (or an internal error's message), and what preemption did.
#[derive(Clone, Debug)]
pub struct Failure {
    pub fit_error: Option<FitError>,
    pub message: String,
    pub preemption: Option<Preemption>,
}

/// The scheduling algorithm's state across cycles: the profile, the round-robin index, and
/// buffers cycles reuse (nothing is allocated per node or per plugin).
#[derive(Debug)]
pub struct Algorithm {
    pub profile: Profile,
    next_start_node_index: usize,
    buffers: Buffers,
}

#[derive(Debug, Default)]
struct Buffers {
    feasible: Vec<usize>,
    chunk: Vec<usize>,
    verdicts: Vec<Verdict>,
    totals: Vec<i64>,
    /// The cycle's score columns, packed into its decision at the end.
    scores: Vec<i64>,
}

impl Algorithm {
    pub fn new(profile: Profile) -> Algorithm {
        Algorithm {
            profile,
            next_start_node_index: 0,
            buffers: Buffers::default(),
        }
    }

    pub fn next_start_node_index(&self) -> usize {
        self.next_start_node_index
    }

    /// Filters that did not skip, in order, on `node`: the first rejection, tagged with its
    /// plugin.
    pub fn run_filters(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        for i in &state.active_filters {
            let p = self.profile.plugins[*i].plugin.as_ref();
            let s = p.filter(state, pod, node);
            if !s.is_success() {
                return s.with_plugin(p.name());
            }
        }
        Status::success()
    }

    /// Filters on several nodes (snapshot slots): `verdicts` gets each node's rejection or
    /// `None`. With nothing nominated, each filter runs over all the nodes before the next
    /// ([`Plugin::filter_nodes`]), a node leaving at its first rejection as node by node.
    fn run_filters_on(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
        nominator: &Nominator,
        slots: &[usize],
        verdicts: &mut Vec<Verdict>,
    ) {
        verdicts.clear();
        if !nominator.is_empty() {
            verdicts.extend(slots.iter().map(|slot| {
                let s =
                    self.run_filters_with_nominated(state, pod, snap.node(*slot), snap, nominator);
                (!s.is_success()).then(|| Box::new(s))
            }));
            return;
        }
        verdicts.resize(slots.len(), None);
        for i in &state.active_filters {
            self.profile.plugins[*i]
                .plugin
                .filter_nodes(state, pod, snap, slots, verdicts);
        }
    }

    /// `RunFilterPluginsWithNominatedPods`.
    pub fn run_filters_with_nominated(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        snap: &Snapshot,
        nominator: &Nominator,
    ) -> Status {
        if nominator.is_empty() {
            return self.run_filters(state, pod, node);
        }
        let nominated: Vec<&Arc<PodInfo>> = nominator
            .pods_on(&node.name)
            .iter()
            .filter(|p| p.uid != pod.uid && p.priority >= pod.priority)
            .collect();
        if !nominated.is_empty() {
            let mut with = node.clone();
            let mut st = state.clone();
            for p in nominated {
                with.add_pod(p.clone());
                self.add_pod_to_state(&mut st, pod, p, &with, snap);
            }
            let s = self.run_filters(&st, pod, &with);
            if !s.is_success() {
                return s;
            }
        }
        self.run_filters(state, pod, node)
    }

    pub fn add_pod_to_state(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        added: &PodInfo,
        node: &NodeInfo,
        snap: &Snapshot,
    ) {
        for e in &self.profile.plugins {
            if e.plugin.points().pre_filter && !state.skip_filter.contains(&e.plugin.name()) {
                e.plugin.add_pod(state, pod, added, node, snap);
            }
        }
    }

    pub fn remove_pod_from_state(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        removed: &PodInfo,
        node: &NodeInfo,
        snap: &Snapshot,
    ) {
        for e in &self.profile.plugins {
            if e.plugin.points().pre_filter && !state.skip_filter.contains(&e.plugin.name()) {
                e.plugin.remove_pod(state, pod, removed, node, snap);
            }
        }
    }

    /// PreFilter of every plugin; a rejection ends the cycle.
    pub fn run_pre_filters(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
    ) -> Result<(), Status> {
        for e in &self.profile.plugins {
            let p = e.plugin.as_ref();
            if !p.points().pre_filter {
                continue;
            }
            let (s, _) = p.pre_filter(state, pod, snap);
            match s.code {
                Code::Success => {}
                Code::Skip => state.skip_filter.push(p.name()),
                _ => return Err(s.with_plugin(p.name())),
            }
        }
        state.active_filters = self
            .profile
            .plugins
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.plugin.points().filter
                    && !state.skip_filter.contains(&e.plugin.name())
                    && e.plugin.may_reject(pod)
            })
            .map(|(i, _)| i)
            .collect();
        Ok(())
    }

    /// One scheduling cycle. `snap` must be refreshed.
    pub fn schedule(
        &mut self,
        pod: &PodInfo,
        snap: &Snapshot,
        nominator: &Nominator,
        rng: &mut SimRng,
    ) -> (Result<Placement, Failure>, Decision) {
        let n = snap.num_nodes();
        let mut decision = Decision {
            pod: pod.key(),
            num_all_nodes: n,
            names: snap.names(),
            ..Decision::default()
        };
        if n == 0 {
            let message = "no nodes available to schedule pods".to_string();
            decision.outcome = Err(message.clone());
            return (
                Err(Failure {
                    fit_error: None,
                    message,
                    preemption: None,
                }),
                decision,
            );
        }
        let mut state = CycleState::default();
        let mut diagnosis = Diagnosis::default();
        if let Err(s) = self.run_pre_filters(&mut state, pod, snap) {
            diagnosis.pre_filter_msg = s.message();
            diagnosis.unschedulable_plugins.insert(s.plugin);
            for slot in snap.ordered() {
                let name = snap.node(*slot).name.to_string();
                diagnosis.node_to_status.insert(name, s.clone());
            }
            return self.fail(pod, snap, nominator, rng, state, diagnosis, decision);
        }
        decision
            .skipped_filters
            .extend(state.skip_filter.iter().copied());

        let mut feasible = std::mem::take(&mut self.buffers.feasible);
        feasible.clear();
        // The nominated node first (`evaluateNominatedNode`).
        if !pod.nominated_node_name.is_empty()
            && let Some(slot) = snap.index_of(&pod.nominated_node_name)
            && snap.node(slot).node.is_some()
        {
            let node = snap.node(slot);
            let s = self.run_filters_with_nominated(&state, pod, node, snap, nominator);
            if s.is_success() {
                feasible.push(slot);
                decision.push_verdict(slot, None);
            } else {
                decision.push_verdict(slot, Some(s));
            }
        }
        if feasible.is_empty() {
            decision.evaluated.clear();
            decision.rejected.clear();
            let want = num_feasible_nodes_to_find(self.profile.percentage_of_nodes_to_score, n);
            decision.evaluated.reserve(want.min(n));
            let order = snap.ordered();
            let start = self.next_start_node_index % n;
            let mut processed = 0;
            let mut chunk = std::mem::take(&mut self.buffers.chunk);
            let mut verdicts = std::mem::take(&mut self.buffers.verdicts);
            while feasible.len() < want && processed < n {
                // No more nodes than feasible ones still wanted: the node-by-node loop would
                // have evaluated every one of them too.
                let take = (want - feasible.len()).min(n - processed);
                chunk.clear();
                // order[start + processed ..][..take], wrapping around once at most.
                let from = (start + processed) % n;
                let to = from + take;
                if to <= n {
                    chunk.extend_from_slice(&order[from..to]);
                } else {
                    chunk.extend_from_slice(&order[from..]);
                    chunk.extend_from_slice(&order[..to - n]);
                }
                self.run_filters_on(&state, pod, snap, nominator, &chunk, &mut verdicts);
                processed += take;
                if verdicts.iter().all(Option::is_none) {
                    // Every node passed (the usual chunk): no rejection to record.
                    feasible.extend_from_slice(&chunk);
                    decision.evaluated.extend(chunk.iter().map(|s| *s as u32));
                    verdicts.clear();
                    continue;
                }
                for (slot, v) in chunk.iter().zip(verdicts.drain(..)) {
                    match v {
                        None => {
                            feasible.push(*slot);
                            decision.push_verdict(*slot, None);
                        }
                        Some(s) => {
                            let s = *s;
                            if s.is_rejected() {
                                diagnosis.unschedulable_plugins.insert(s.plugin);
                            }
                            diagnosis
                                .node_to_status
                                .insert(snap.node(*slot).name.to_string(), s.clone());
                            decision.push_verdict(*slot, Some(s));
                        }
                    }
                }
            }
            self.next_start_node_index = (start + processed) % n;
            self.buffers.chunk = chunk;
            self.buffers.verdicts = verdicts;
        }
        if feasible.is_empty() {
            return self.fail(pod, snap, nominator, rng, state, diagnosis, decision);
        }
        let evaluated = decision.evaluated.len();
        if feasible.len() == 1 {
            let node = snap.node(feasible[0]).name.to_string();
            decision.unscored_because = Some("only one node fits");
            decision.outcome = Ok(node.clone());
            return (
                Ok(Placement {
                    node,
                    evaluated_nodes: evaluated,
                    feasible_nodes: 1,
                }),
                decision,
            );
        }
        let totals = self.prioritize(&mut state, pod, snap, &feasible, &mut decision);
        // selectHost: reservoir sampling among the best.
        let mut best = 0;
        let mut best_score = i64::MIN;
        let mut ties = 0u64;
        for (i, t) in totals.iter().enumerate() {
            if *t > best_score {
                best_score = *t;
                best = i;
                ties = 1;
            } else if *t == best_score {
                ties += 1;
                if rng.below(ties) == 0 {
                    best = i;
                }
            }
        }
        let node = snap.node(feasible[best]).name.to_string();
        decision.outcome = Ok(node.clone());
        let feasible_nodes = feasible.len();
        self.buffers.feasible = feasible;
        (
            Ok(Placement {
                node,
                evaluated_nodes: evaluated,
                feasible_nodes,
            }),
            decision,
        )
    }

    /// PreScore, Score, NormalizeScore and weights; returns each feasible node's total and
    /// records the scores in the decision.
    fn prioritize(
        &mut self,
        state: &mut CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
        feasible: &[usize],
        decision: &mut Decision,
    ) -> &[i64] {
        let Algorithm {
            profile, buffers, ..
        } = self;
        let totals = &mut buffers.totals;
        let n = feasible.len();
        totals.clear();
        totals.resize(n, 0);
        // Plugins score straight into the decision's columns; a normalizing plugin's raw
        // column is copied once, and normalized in place.
        let scores = &mut buffers.scores;
        scores.clear();
        scores.reserve(2 * n * profile.scorers().count());
        for e in profile.scorers() {
            let p = e.plugin.as_ref();
            if p.points().pre_score {
                let s = p.pre_score(state, pod, snap, feasible);
                if s.code == Code::Skip {
                    decision.skipped_scores.push(p.name());
                    continue;
                }
            }
            let raw = scores.len();
            p.score_nodes(state, pod, snap, feasible, scores);
            // Checked in release too: a plugin scoring the wrong number of nodes would shift
            // every later plugin's column (one compare per plugin and cycle).
            assert_eq!(scores.len(), raw + n, "{} scored every node", p.name());
            let normalized = if p.normalizes() {
                scores.extend_from_within(raw..);
                p.normalize_score(state, pod, &mut scores[raw + n..]);
                raw + n
            } else {
                raw
            };
            decision.scorers.push((p.name(), e.weight));
            decision.columns.push((raw, normalized));
            let column = &scores[normalized..];
            // Most default weights are 1: a plain add, which the compiler vectorizes (a 64-bit
            // multiply per node it does not).
            if e.weight == 1 {
                for (t, nz) in totals.iter_mut().zip(column) {
                    *t += nz;
                }
            } else {
                for (t, nz) in totals.iter_mut().zip(column) {
                    *t += nz * e.weight;
                }
            }
        }
        decision.scores = ScoreColumns::pack(scores, n);
        totals
    }

    #[allow(clippy::too_many_arguments)]
    fn fail(
        &mut self,
        pod: &PodInfo,
        snap: &Snapshot,
        nominator: &Nominator,
        rng: &mut SimRng,
        state: CycleState,
        mut diagnosis: Diagnosis,
        mut decision: Decision,
    ) -> (Result<Placement, Failure>, Decision) {
        let mut preemption = None;
        if self.profile.preemption {
            let p = default_preemption::preempt(
                self,
                &state,
                pod,
                snap,
                &diagnosis.node_to_status,
                nominator,
                rng,
            );
            diagnosis.post_filter_msg = p.message.clone();
            if let Some(node) = &p.nominated_node {
                decision.nominated = Some(node.clone());
                decision.victims = p.victims.iter().map(|v| v.key()).collect();
            }
            preemption = Some(p);
        }
        let fit = FitError {
            num_all_nodes: snap.num_nodes(),
            diagnosis,
        };
        let message = fit.to_string();
        decision.outcome = Err(message.clone());
        (
            Err(Failure {
                fit_error: Some(fit),
                message,
                preemption,
            }),
            decision,
        )
    }
}
