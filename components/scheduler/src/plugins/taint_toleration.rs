//! TaintToleration (`framework/plugins/tainttoleration`): Filter rejects a node with a
//! NoSchedule or NoExecute taint the pod does not tolerate; Score counts the
//! PreferNoSchedule taints the pod does not tolerate (by tolerations with an empty or
//! PreferNoSchedule effect), normalized reversed so fewer is better.
//! The reason is the current releases' "node(s) had untolerated taint(s)" (kubernetes PR
//! #134740; v1.33 and earlier named the taint).

use api::taints::{NO_EXECUTE, NO_SCHEDULE, PREFER_NO_SCHEDULE, find_untolerated_taint};
use k8s_openapi::api::core::v1::Toleration;

use crate::framework::node_facts::{PREFER_NO_SCHEDULE_TAINT, TAINTED};
use crate::framework::{
    ClusterEvent, CycleState, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, Points, Snapshot, Status,
    Verdict, default_normalize_score, filter_suspects,
};

pub const NAME: &str = "TaintToleration";
pub const REASON: &str = "node(s) had untolerated taint(s)";

#[derive(Debug, Default)]
pub struct TaintToleration;

fn tolerations(pod: &PodInfo) -> &[Toleration] {
    pod.pod()
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or(&[])
}

#[derive(Clone, Debug)]
struct PreScoreState {
    prefer_no_schedule: Vec<Toleration>,
}

fn untolerated_prefer_no_schedule(s: &PreScoreState, node: &NodeInfo) -> i64 {
    node.taints
        .iter()
        .filter(|t| t.effect == PREFER_NO_SCHEDULE)
        .filter(|t| !api::taints::tolerations_tolerate_taint(&s.prefer_no_schedule, t))
        .count() as i64
}

impl Plugin for TaintToleration {
    fn name(&self) -> &'static str {
        NAME
    }
    fn points(&self) -> Points {
        Points {
            filter: true,
            pre_score: true,
            score: true,
            ..Points::default()
        }
    }
    fn events(&self) -> &'static [ClusterEvent] {
        &[
            ClusterEvent::NodeAdd,
            ClusterEvent::NodeUpdate,
            ClusterEvent::UnscheduledPodUpdate,
        ]
    }
    fn filter_nodes(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
        slots: &[usize],
        verdicts: &mut [Verdict],
    ) {
        // Only tainted nodes can be rejected.
        if snap.any_flagged(TAINTED) {
            filter_suspects(self, state, pod, snap, slots, verdicts, |f| f.has(TAINTED));
        }
    }
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if node.taints.is_empty() {
            return Status::success();
        }
        match find_untolerated_taint(&node.taints, tolerations(pod), &[NO_SCHEDULE, NO_EXECUTE]) {
            None => Status::success(),
            Some(_) => Status::unresolvable(REASON),
        }
    }
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _: &Snapshot,
        _: &[usize],
    ) -> Status {
        let prefer_no_schedule = tolerations(pod)
            .iter()
            .filter(|t| {
                matches!(
                    t.effect.as_deref(),
                    None | Some("") | Some(PREFER_NO_SCHEDULE)
                )
            })
            .cloned()
            .collect();
        state.write(NAME, PreScoreState { prefer_no_schedule });
        Status::success()
    }
    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo, _: &Snapshot) -> i64 {
        state
            .read::<PreScoreState>(NAME)
            .map_or(0, |s| untolerated_prefer_no_schedule(s, node))
    }
    fn score_nodes(
        &self,
        state: &CycleState,
        _: &PodInfo,
        snap: &Snapshot,
        feasible: &[usize],
        out: &mut Vec<i64>,
    ) {
        let s = state.read::<PreScoreState>(NAME);
        // Only nodes with a PreferNoSchedule taint can count one.
        let Some(s) = s.filter(|_| snap.any_flagged(PREFER_NO_SCHEDULE_TAINT)) else {
            out.resize(out.len() + feasible.len(), 0);
            return;
        };
        let facts = snap.facts();
        out.extend(feasible.iter().map(|slot| {
            if facts[*slot].has(PREFER_NO_SCHEDULE_TAINT) {
                untolerated_prefer_no_schedule(s, snap.node(*slot))
            } else {
                0
            }
        }));
    }
    fn normalize_score(&self, _: &CycleState, _: &PodInfo, scores: &mut [i64]) {
        default_normalize_score(MAX_NODE_SCORE, true, scores);
    }
}
