//! Pod facts the workload controllers share: active, ready, available, and the scale-down
//! ranking (F19).
//!
//! Follows `pkg/controller/controller_utils.go` (`IsPodActive`, `FilterActivePods`,
//! `ActivePodsWithRanks.Less` with LogarithmicScaleDown on, as it is by default) and
//! `pkg/api/v1/pod/util.go` (`IsPodReady`, `IsPodAvailable`). Times are API timestamps
//! (seconds) compared on the simulation's wall epoch.

use std::cmp::Ordering;

use api::Object;
use apiserver::objects::{api_time, virtual_secs};
use k8s_openapi::api::core::v1::Pod;
use sim::Time;

/// Not terminating and not finished.
pub fn is_active(pod: &Pod) -> bool {
    let phase = phase(pod);
    phase != "Succeeded" && phase != "Failed" && pod.metadata.deletion_timestamp.is_none()
}

pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

pub fn node_name(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or("")
}

/// The Ready condition's (status, lastTransitionTime in seconds since the sim epoch).
fn ready_condition(pod: &Pod) -> Option<(bool, Option<i64>)> {
    let c = pod
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")?;
    Some((
        c.status == "True",
        c.last_transition_time.as_ref().map(virtual_secs),
    ))
}

pub fn is_ready(pod: &Pod) -> bool {
    ready_condition(pod).is_some_and(|(r, _)| r)
}

/// When the pod became ready (seconds since the sim epoch), if it is ready.
pub fn ready_since(pod: &Pod) -> Option<i64> {
    match ready_condition(pod) {
        Some((true, t)) => t,
        _ => None,
    }
}

/// `IsPodAvailable`: ready for at least `min_ready_seconds` at `now`.
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: Time) -> bool {
    if !is_ready(pod) {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    let now_secs = virtual_secs(&api_time(now));
    ready_since(pod).is_some_and(|t| t + i64::from(min_ready_seconds) <= now_secs)
}

/// Seconds until a ready pod becomes available (None: not ready, or already available).
pub fn seconds_until_available(pod: &Pod, min_ready_seconds: i32, now: Time) -> Option<i64> {
    let since = ready_since(pod)?;
    let now_secs = virtual_secs(&api_time(now));
    let left = since + i64::from(min_ready_seconds) - now_secs;
    (left > 0).then_some(left)
}

fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map_or(0, |cs| {
            cs.iter().map(|c| c.restart_count).max().unwrap_or(0)
        })
}

fn deletion_cost(pod: &Pod) -> i32 {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("controller.kubernetes.io/pod-deletion-cost"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn phase_ordinal(pod: &Pod) -> u8 {
    match phase(pod) {
        "Pending" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 3,
    }
}

/// `floor(log2(now - t))` in nanoseconds, or -1 when `t` is not before `now`
/// (`logarithmicRankDiff`); integer arithmetic gives the same buckets as Go's float log2.
fn log_rank(t_secs: i64, now_secs: i64) -> i64 {
    let d = (now_secs - t_secs).saturating_mul(1_000_000_000);
    if d <= 0 {
        -1
    } else {
        63 - i64::from((d as u64).leading_zeros())
    }
}

fn created_secs(pod: &Pod) -> i64 {
    pod.metadata
        .creation_timestamp
        .as_ref()
        .map_or(0, virtual_secs)
}

/// `ActivePodsWithRanks.Less`: `Less` when `a` should be deleted before `b`.
pub fn deletion_order(a: (&Pod, usize), b: (&Pod, usize), now: Time) -> Ordering {
    let (pa, ra) = a;
    let (pb, rb) = b;
    let now_secs = virtual_secs(&api_time(now));
    let uid = |p: &Pod| p.metadata.uid.clone().unwrap_or_default();
    // 1. Unassigned before assigned.
    let assigned = |p: &Pod| !node_name(p).is_empty();
    if assigned(pa) != assigned(pb) {
        return assigned(pa).cmp(&assigned(pb));
    }
    // 2. Pending < Unknown < Running.
    if phase_ordinal(pa) != phase_ordinal(pb) {
        return phase_ordinal(pa).cmp(&phase_ordinal(pb));
    }
    // 3. Not ready before ready.
    if is_ready(pa) != is_ready(pb) {
        return is_ready(pa).cmp(&is_ready(pb));
    }
    // 4. Lower deletion cost first.
    if deletion_cost(pa) != deletion_cost(pb) {
        return deletion_cost(pa).cmp(&deletion_cost(pb));
    }
    // 5. More related pods on the same node first.
    if ra != rb {
        return rb.cmp(&ra);
    }
    // 6. Ready for less time first (log scale; uid breaks ties within a bucket).
    if let (Some(ta), Some(tb)) = (ready_since(pa), ready_since(pb))
        && ta != tb
    {
        let diff = log_rank(ta, now_secs) - log_rank(tb, now_secs);
        return if diff == 0 {
            uid(pa).cmp(&uid(pb))
        } else {
            diff.cmp(&0)
        };
    }
    // 7. More restarts first.
    if restarts(pa) != restarts(pb) {
        return restarts(pb).cmp(&restarts(pa));
    }
    // 8. Newer first (log scale; uid breaks ties within a bucket).
    let (ca, cb) = (created_secs(pa), created_secs(pb));
    if ca != cb {
        let diff = log_rank(ca, now_secs) - log_rank(cb, now_secs);
        return if diff == 0 {
            uid(pa).cmp(&uid(pb))
        } else {
            diff.cmp(&0)
        };
    }
    Ordering::Equal
}

/// The pod inside a shared object (None for other kinds).
pub fn pod(obj: &Object) -> Option<&Pod> {
    obj.as_pod()
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiserver::objects::api_time;
    use k8s_openapi::api::core::v1::{PodCondition, PodSpec, PodStatus};

    fn p(name: &str, node: &str, phase: &str, ready_at: Option<u64>, created: u64) -> Pod {
        let mut pod = Pod::default();
        pod.metadata.name = Some(name.into());
        pod.metadata.uid = Some(name.into());
        pod.metadata.creation_timestamp = Some(api_time(Time::from_secs(created)));
        pod.spec = Some(PodSpec {
            node_name: Some(node.to_string()).filter(|n| !n.is_empty()),
            ..Default::default()
        });
        pod.status = Some(PodStatus {
            phase: Some(phase.into()),
            conditions: ready_at.map(|t| {
                vec![PodCondition {
                    type_: "Ready".into(),
                    status: "True".into(),
                    last_transition_time: Some(api_time(Time::from_secs(t))),
                    ..Default::default()
                }]
            }),
            ..Default::default()
        });
        pod
    }

    #[test]
    fn ranking_follows_active_pods_with_ranks() {
        let now = Time::from_secs(10_000);
        let pods = [
            p("ready-old", "n1", "Running", Some(100), 50),
            p("unscheduled", "", "Pending", None, 9_000),
            p("pending-on-node", "n1", "Pending", None, 9_000),
            p("running-not-ready", "n2", "Running", None, 9_000),
            p("ready-new", "n2", "Running", Some(9_990), 9_980),
        ];
        let mut idx: Vec<usize> = (0..pods.len()).collect();
        idx.sort_by(|a, b| deletion_order((&pods[*a], 1), (&pods[*b], 1), now));
        let order: Vec<&str> = idx
            .iter()
            .map(|i| pods[*i].metadata.name.as_deref().unwrap())
            .collect();
        assert_eq!(
            order,
            [
                "unscheduled",
                "pending-on-node",
                "running-not-ready",
                "ready-new",
                "ready-old"
            ]
        );
        // More pods on the same node goes first when everything else is equal.
        let a = p("a", "n1", "Running", Some(100), 50);
        let b = p("b", "n2", "Running", Some(100), 50);
        assert_eq!(deletion_order((&a, 3), (&b, 1), now), Ordering::Less);
        // Creation times 1 s and 1.5 s ago fall in different log2 buckets; 1000 s and 1010 s
        // ago in the same one (uid decides).
        assert_eq!(log_rank(9_999, 10_000), 29);
        assert_eq!(log_rank(9_000, 10_000), log_rank(8_990, 10_000));
        assert!(is_available(&a, 0, now));
        assert!(!is_available(&pods[4], 30, now));
        assert_eq!(seconds_until_available(&pods[4], 30, now), Some(20));
    }
}
