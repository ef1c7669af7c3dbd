//! The scheduling framework: plugins at extension points, as pure code (no actor, no I/O).
//!
//! Follows `pkg/scheduler/framework/interface.go` (Status codes, the extension points
//! PreFilter (+ AddPod/RemovePod extensions), Filter, PostFilter, PreScore, Score,
//! NormalizeScore, Reserve, Permit, Bind, and `MaxNodeScore` 100), `cycle_state.go` (per-cycle
//! plugin state that preemption clones) and `framework/runtime/framework.go` (filters stop at
//! the first failure on a node; score × weight summed).
//!
//! A plugin is one type implementing [`Plugin`] for the points it takes part in (it says
//! which in [`Plugin::points`]); a [`profile::Profile`] lists plugins in order with their
//! score weights. Reserve and Bind are performed by the scheduler's cache and its binding
//! request (the default plugins `VolumeBinding` reserve and `DefaultBinder` are the only
//! upstream users); Permit has no default plugin, so [`profile::Profile`] offers the point
//! ([`Plugin::permit`]) and the default profile leaves it empty.

pub mod fit_error;
pub mod node_facts;
pub mod node_info;
pub mod profile;
pub mod schedule;
pub mod score_columns;
pub mod score_memo;
pub mod snapshot;
pub mod spread_counts;
#[cfg(test)]
mod tests;
pub mod topology;

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;

pub use node_info::{NodeInfo, PodInfo, Resources};
pub use snapshot::Snapshot;

/// The highest score a plugin gives a node after normalization.
pub const MAX_NODE_SCORE: i64 = 100;

/// A plugin's verdict (`framework.Code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Code {
    Success,
    /// Preemption may help.
    Unschedulable,
    /// Preemption cannot help.
    UnschedulableAndUnresolvable,
    /// The plugin failed (not a property of the node).
    Error,
    /// The plugin has nothing to do for this pod (PreFilter/PreScore).
    Skip,
    /// Permit: wait (not used by default plugins).
    Wait,
}

/// `framework.Status`: a code, reasons, and the plugin that said it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub code: Code,
    pub reasons: Vec<String>,
    pub plugin: &'static str,
}

impl Status {
    pub fn success() -> Status {
        Status {
            code: Code::Success,
            reasons: Vec::new(),
            plugin: "",
        }
    }
    pub fn skip() -> Status {
        Status {
            code: Code::Skip,
            ..Status::success()
        }
    }
    pub fn new(code: Code, reason: impl Into<String>) -> Status {
        Status {
            code,
            reasons: vec![reason.into()],
            plugin: "",
        }
    }
    pub fn unschedulable(reason: impl Into<String>) -> Status {
        Status::new(Code::Unschedulable, reason)
    }
    pub fn unresolvable(reason: impl Into<String>) -> Status {
        Status::new(Code::UnschedulableAndUnresolvable, reason)
    }
    pub fn with_plugin(mut self, plugin: &'static str) -> Status {
        self.plugin = plugin;
        self
    }
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }
    pub fn is_rejected(&self) -> bool {
        matches!(
            self.code,
            Code::Unschedulable | Code::UnschedulableAndUnresolvable
        )
    }
    /// The reasons joined with ", " (`Status.Message`).
    pub fn message(&self) -> String {
        self.reasons.join(", ")
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// A node's filter verdict in a batch: its rejection, or `None` when no filter rejected it
/// yet. Boxed: most nodes pass, and the filter loops read one word per node.
pub type Verdict = Option<Box<Status>>;

/// Plugin state for one cycle (`framework.StateData`); cloned for preemption's what-ifs.
pub trait StateData: Any + fmt::Debug {
    fn clone_box(&self) -> Box<dyn StateData>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Clone + fmt::Debug> StateData for T {
    fn clone_box(&self) -> Box<dyn StateData> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// `framework.CycleState`: each plugin's state by plugin name, and which plugins skip.
#[derive(Debug, Default)]
pub struct CycleState {
    data: BTreeMap<&'static str, Box<dyn StateData>>,
    pub skip_filter: Vec<&'static str>,
    pub skip_score: Vec<&'static str>,
    /// Indices (in the profile) of the Filter plugins that did not skip, set after PreFilter.
    pub active_filters: Vec<usize>,
}

impl Clone for CycleState {
    fn clone(&self) -> Self {
        CycleState {
            data: self
                .data
                .iter()
                .map(|(k, v)| (*k, (**v).clone_box()))
                .collect(),
            skip_filter: self.skip_filter.clone(),
            skip_score: self.skip_score.clone(),
            active_filters: self.active_filters.clone(),
        }
    }
}

impl CycleState {
    pub fn write<T: StateData>(&mut self, key: &'static str, value: T) {
        self.data.insert(key, Box::new(value));
    }
    pub fn read<T: 'static>(&self, key: &'static str) -> Option<&T> {
        (**self.data.get(key)?).as_any().downcast_ref()
    }
    pub fn read_mut<T: 'static>(&mut self, key: &'static str) -> Option<&mut T> {
        (**self.data.get_mut(key)?).as_any_mut().downcast_mut()
    }
}

/// The extension points a plugin takes part in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Points {
    pub pre_filter: bool,
    pub filter: bool,
    pub pre_score: bool,
    pub score: bool,
}

/// What PreFilter may return beyond a status: the only nodes worth filtering
/// (`PreFilterResult.NodeNames`), e.g. NodeAffinity with a `metadata.name` field selector.
#[derive(Clone, Debug, Default)]
pub struct PreFilterResult {
    pub node_names: Option<Vec<String>>,
}

/// Cluster events a rejected pod waits for (`framework.ClusterEvent`, coarse).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ClusterEvent {
    NodeAdd,
    NodeUpdate,
    /// A bound pod was deleted (frees resources, ports, anti-affinity).
    AssignedPodDelete,
    /// A pod was bound or changed labels (affinity and spread count it).
    AssignedPodAdd,
    /// The unschedulable pod itself changed.
    UnscheduledPodUpdate,
}

/// A scheduling plugin. Every method has a neutral default; [`Plugin::points`] says which the
/// framework calls.
pub trait Plugin: fmt::Debug {
    fn name(&self) -> &'static str;
    fn points(&self) -> Points;

    /// Cluster events after which a pod this plugin rejected may fit (`EventsToRegister`).
    fn events(&self) -> &'static [ClusterEvent] {
        &[ClusterEvent::NodeAdd, ClusterEvent::NodeUpdate]
    }

    fn pre_filter(
        &self,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _snap: &Snapshot,
    ) -> (Status, PreFilterResult) {
        (Status::skip(), PreFilterResult::default())
    }

    /// PreFilterExtensions.AddPod: `added` now counts on `node` in this cycle's state.
    fn add_pod(
        &self,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _added: &PodInfo,
        _node: &NodeInfo,
        _snap: &Snapshot,
    ) {
    }

    /// PreFilterExtensions.RemovePod.
    fn remove_pod(
        &self,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _removed: &PodInfo,
        _node: &NodeInfo,
        _snap: &Snapshot,
    ) {
    }

    fn filter(&self, _state: &CycleState, _pod: &PodInfo, _node: &NodeInfo) -> Status {
        Status::success()
    }

    /// Filter on several nodes (snapshot slots): sets `verdicts[i]` to the rejection of
    /// `slots[i]` (tagged with this plugin) unless an earlier plugin rejected it already. The
    /// default calls [`Plugin::filter`] per node, in one loop per plugin.
    fn filter_nodes(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
        slots: &[usize],
        verdicts: &mut [Verdict],
    ) {
        for (slot, v) in slots.iter().zip(verdicts.iter_mut()) {
            if v.is_none() {
                let s = self.filter(state, pod, snap.node(*slot));
                if !s.is_success() {
                    *v = Some(Box::new(s.with_plugin(self.name())));
                }
            }
        }
    }

    /// Whether Filter may reject any node for this pod; `false` leaves it out of the per-node
    /// loop, where it would pass every node. Unlike a PreFilter Skip this is not recorded:
    /// the decision is the same with or without it.
    fn may_reject(&self, _pod: &PodInfo) -> bool {
        true
    }

    /// `feasible` are snapshot slots.
    fn pre_score(
        &self,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _snap: &Snapshot,
        _feasible: &[usize],
    ) -> Status {
        Status::skip()
    }

    fn score(
        &self,
        _state: &CycleState,
        _pod: &PodInfo,
        _node: &NodeInfo,
        _snap: &Snapshot,
    ) -> i64 {
        0
    }

    /// The score of every feasible node (snapshot slots), in order, appended to `out`. The
    /// default calls [`Plugin::score`] per node; a plugin overrides it to read its cycle
    /// state once per cycle rather than once per node.
    fn score_nodes(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
        feasible: &[usize],
        out: &mut Vec<i64>,
    ) {
        out.extend(
            feasible
                .iter()
                .map(|slot| self.score(state, pod, snap.node(*slot), snap)),
        );
    }

    /// Scores in the order of the feasible nodes; upstream plugins without normalization
    /// leave them as they are.
    fn normalize_score(&self, _state: &CycleState, _pod: &PodInfo, _scores: &mut [i64]) {}

    /// Whether [`Plugin::normalize_score`] may change scores; `false` (for a plugin that
    /// keeps the neutral default) lets the cycle take the raw scores as normalized, uncopied.
    fn normalizes(&self) -> bool {
        true
    }

    /// Permit: `Success` or a rejection (no default plugin uses it).
    fn permit(&self, _pod: &PodInfo, _node: &str) -> Status {
        Status::success()
    }
}

/// [`Plugin::filter_nodes`] for a plugin whose Filter passes every node its facts do not
/// make `suspect` ([`node_facts`]): only the suspects run [`Plugin::filter`] on their
/// `NodeInfo`.
pub fn filter_suspects<P: Plugin + ?Sized>(
    plugin: &P,
    state: &CycleState,
    pod: &PodInfo,
    snap: &Snapshot,
    slots: &[usize],
    verdicts: &mut [Verdict],
    suspect: impl Fn(&node_facts::NodeFacts) -> bool,
) {
    let facts = snap.facts();
    for (slot, v) in slots.iter().zip(verdicts.iter_mut()) {
        if v.is_none() && suspect(&facts[*slot]) {
            let s = plugin.filter(state, pod, snap.node(*slot));
            if !s.is_success() {
                *v = Some(Box::new(s.with_plugin(plugin.name())));
            }
        }
    }
}

/// DefaultNormalizeScore (`framework/plugins/helper/normalize_score.go`): scales to
/// [0, MaxNodeScore] by the highest score; `reverse` flips it; all zeros become MaxNodeScore
/// when reversed.
pub fn default_normalize_score(max_priority: i64, reverse: bool, scores: &mut [i64]) {
    // A fold rather than `max()`, which compiles to a compare per element through `Ord::cmp`.
    let max = if scores.is_empty() {
        0
    } else {
        scores.iter().fold(i64::MIN, |m, s| m.max(*s))
    };
    if max == 0 {
        if reverse {
            scores.iter_mut().for_each(|s| *s = max_priority);
        }
        return;
    }
    for s in scores.iter_mut() {
        let mut v = max_priority * *s / max;
        if reverse {
            v = max_priority - v;
        }
        *s = v;
    }
}
