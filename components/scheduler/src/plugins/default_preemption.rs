//! DefaultPreemption, the PostFilter (`framework/plugins/defaultpreemption`,
//! `framework/preemption/preemption.go`).
//!
//! A pod may preempt unless its `preemptionPolicy` is Never or a lower-priority pod on its
//! nominated node is already terminating. Nodes a filter rejected as unresolvable are not
//! tried ("Preemption is not helpful for scheduling"). On each other node, from a random
//! offset, for at most max(10 % of nodes, 100) candidates: every lower-priority pod is
//! removed; if the pod still does not fit the node's filter status is kept, if there were none
//! to remove "No preemption victims found for incoming pod"; else the removed pods are put
//! back most important first (higher priority, then earlier start) while the pod still fits,
//! and the rest are the victims. The candidate is chosen by `pickOneNodeForPreemption`: fewest
//! PDB violations, lowest highest victim priority, lowest sum of priorities, fewest victims,
//! latest start of the highest-priority victims, then the first.
//! A successful preemption reports no message (the FailedScheduling event then carries only
//! the filter reasons); a failed one reports `preemption: ` + the FitError of the dry run.
//! Simplification: PodDisruptionBudgets are not consulted (every candidate violates none).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time as ApiTime;
use sim::SimRng;

use crate::framework::fit_error::{Diagnosis, FitError};
use crate::framework::schedule::{Algorithm, Nominator};
use crate::framework::{Code, CycleState, PodInfo, Snapshot, Status};

pub const NAME: &str = "DefaultPreemption";
pub const REASON_NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
pub const REASON_NO_VICTIMS: &str = "No preemption victims found for incoming pod";
const MIN_CANDIDATE_NODES_PERCENTAGE: usize = 10;
const MIN_CANDIDATE_NODES_ABSOLUTE: usize = 100;

/// What preemption decided.
#[derive(Clone, Debug, Default)]
pub struct Preemption {
    /// The node the pod is nominated to; the victims there must be deleted.
    pub nominated_node: Option<String>,
    pub victims: Vec<Arc<PodInfo>>,
    /// The PostFilter message (empty on success).
    pub message: String,
}

fn failed(message: String) -> Preemption {
    Preemption {
        message,
        ..Preemption::default()
    }
}

/// `PodEligibleToPreemptOthers`.
fn eligible(pod: &PodInfo, snap: &Snapshot) -> Result<(), String> {
    let spec = pod.pod().spec.as_ref();
    if spec.and_then(|s| s.preemption_policy.as_deref()) == Some("Never") {
        return Err("not eligible due to preemptionPolicy=Never.".into());
    }
    if !pod.nominated_node_name.is_empty()
        && let Some(node) = snap.get(&pod.nominated_node_name)
        && node
            .pods
            .iter()
            .any(|p| p.terminating && p.priority < pod.priority)
    {
        return Err("not eligible due to a terminating pod on the nominated node.".into());
    }
    Ok(())
}

/// `MoreImportantPod`: higher priority, then earlier start (no start time: now, i.e. last).
pub fn more_important(a: &PodInfo, b: &PodInfo) -> Ordering {
    b.priority
        .cmp(&a.priority)
        .then_with(|| match (&a.start_time, &b.start_time) {
            (Some(x), Some(y)) => x.0.cmp(&y.0),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
}

struct Candidate {
    node: String,
    victims: Vec<Arc<PodInfo>>,
}

/// `SelectVictimsOnNode`.
fn select_victims(
    alg: &Algorithm,
    state: &CycleState,
    pod: &PodInfo,
    slot: usize,
    snap: &Snapshot,
    nominator: &Nominator,
) -> Result<Vec<Arc<PodInfo>>, Status> {
    let mut node = snap.node(slot).clone();
    let mut st = state.clone();
    let mut potential: Vec<Arc<PodInfo>> = node
        .pods
        .iter()
        .filter(|p| p.priority < pod.priority)
        .cloned()
        .collect();
    for p in &potential {
        node.remove_pod(&p.uid);
        alg.remove_pod_from_state(&mut st, pod, p, &node, snap);
    }
    if potential.is_empty() {
        return Err(Status::unresolvable(REASON_NO_VICTIMS));
    }
    let s = alg.run_filters_with_nominated(&st, pod, &node, snap, nominator);
    if !s.is_success() {
        return Err(s);
    }
    potential.sort_by(|a, b| more_important(a, b));
    let mut victims = Vec::new();
    for p in potential {
        node.add_pod(p.clone());
        alg.add_pod_to_state(&mut st, pod, &p, &node, snap);
        if !alg
            .run_filters_with_nominated(&st, pod, &node, snap, nominator)
            .is_success()
        {
            node.remove_pod(&p.uid);
            alg.remove_pod_from_state(&mut st, pod, &p, &node, snap);
            victims.push(p);
        }
    }
    if victims.is_empty() {
        return Err(Status::new(
            Code::Error,
            format!("expected at least one victim pod on node {:?}", node.name),
        ));
    }
    Ok(victims)
}

/// Earliest start among the victims of the highest priority (`GetEarliestPodStartTime`).
fn earliest_start_of_highest(victims: &[Arc<PodInfo>]) -> Option<&ApiTime> {
    let top = victims.iter().map(|v| v.priority).max()?;
    victims
        .iter()
        .filter(|v| v.priority == top)
        .filter_map(|v| v.start_time.as_ref())
        .min_by(|a, b| a.0.cmp(&b.0))
}

/// `pickOneNodeForPreemption`.
fn pick(candidates: &[Candidate]) -> usize {
    let highest = |c: &Candidate| {
        c.victims
            .iter()
            .map(|v| v.priority)
            .max()
            .unwrap_or(i32::MIN)
    };
    let sum = |c: &Candidate| -> i64 {
        c.victims
            .iter()
            .map(|v| i64::from(v.priority) + i64::from(i32::MAX) + 1)
            .sum()
    };
    let mut best: Vec<usize> = (0..candidates.len()).collect();
    let keep_min = |best: &mut Vec<usize>, key: &dyn Fn(&Candidate) -> i64| {
        let min = best.iter().map(|i| key(&candidates[*i])).min().unwrap_or(0);
        best.retain(|i| key(&candidates[*i]) == min);
    };
    keep_min(&mut best, &|c| i64::from(highest(c)));
    keep_min(&mut best, &sum);
    keep_min(&mut best, &|c| c.victims.len() as i64);
    // Latest earliest-start of the highest-priority victims (a victim without a start time
    // counts as just started, the latest).
    let latest = best
        .iter()
        .max_by(|a, b| {
            let sa = earliest_start_of_highest(&candidates[**a].victims);
            let sb = earliest_start_of_highest(&candidates[**b].victims);
            match (sa, sb) {
                (Some(x), Some(y)) => x.0.cmp(&y.0),
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (None, None) => Ordering::Equal,
            }
            // On equal, keep the earlier candidate.
            .then(b.cmp(a))
        })
        .copied();
    latest.unwrap_or(0)
}

/// DefaultPreemption's PostFilter. `statuses` are the filter verdicts of the failed cycle.
pub fn preempt(
    alg: &Algorithm,
    state: &CycleState,
    pod: &PodInfo,
    snap: &Snapshot,
    statuses: &BTreeMap<String, Status>,
    nominator: &Nominator,
    rng: &mut SimRng,
) -> Preemption {
    if let Err(why) = eligible(pod, snap) {
        return failed(format!("preemption: {why}"));
    }
    let all = snap.num_nodes();
    let mut node_statuses: BTreeMap<String, Status> = BTreeMap::new();
    let mut potential = Vec::new();
    for slot in snap.ordered() {
        let name = &snap.node(*slot).name;
        match statuses.get(&**name) {
            Some(s) if s.code == Code::UnschedulableAndUnresolvable => {
                node_statuses.insert(name.to_string(), Status::unresolvable(REASON_NOT_HELPFUL));
            }
            _ => potential.push(*slot),
        }
    }
    let fit_error = |node_statuses: BTreeMap<String, Status>| {
        FitError {
            num_all_nodes: all,
            diagnosis: Diagnosis {
                node_to_status: node_statuses,
                ..Diagnosis::default()
            },
        }
        .to_string()
    };
    if potential.is_empty() {
        return failed(format!("preemption: {}", fit_error(node_statuses)));
    }
    let wanted = (potential.len() * MIN_CANDIDATE_NODES_PERCENTAGE / 100)
        .max(MIN_CANDIDATE_NODES_ABSOLUTE)
        .min(potential.len());
    let offset = rng.below(potential.len() as u64) as usize;
    let mut candidates = Vec::new();
    for i in 0..potential.len() {
        if candidates.len() >= wanted {
            break;
        }
        let slot = potential[(offset + i) % potential.len()];
        let name = snap.node(slot).name.to_string();
        match select_victims(alg, state, pod, slot, snap, nominator) {
            Ok(victims) => candidates.push(Candidate {
                node: name,
                victims,
            }),
            Err(s) => {
                node_statuses.insert(name, s);
            }
        }
    }
    if candidates.is_empty() {
        return failed(format!("preemption: {}", fit_error(node_statuses)));
    }
    let chosen = pick(&candidates);
    let c = candidates.swap_remove(chosen);
    Preemption {
        nominated_node: Some(c.node),
        victims: c.victims,
        message: String::new(),
    }
}
