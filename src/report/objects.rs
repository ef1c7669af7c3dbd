//! What a report reads off Kubernetes objects: the state a pod is drawn in, a Deployment's
//! ready and desired replicas, who holds a leader-election Lease now, and a Node's Ready
//! condition. Pure functions of one object (and the time, for Lease expiry).
//!
//! Pod states follow kubectl's STATUS column where it refines the phase
//! (`staging/src/k8s.io/kubectl/pkg/cmd/get` → `pkg/printers/internalversion/printers.go`,
//! `printPod`): a pod with a deletionTimestamp shows `Terminating`, or `Unknown` when the
//! node lifecycle controller marked it `NodeLost`; a Running pod whose Ready condition is
//! not True is drawn apart (`Running (not ready)`: what READY 0/1 says), because that is how
//! a Service loses its endpoints before anything is deleted.
//!
//! A Lease is held while `renewTime + leaseDurationSeconds` lies ahead of now
//! (client-go `tools/leaderelection/leaderelection.go`, `isLeaseValid`, judged there with the
//! observer's clock; here with the run's true clock, so a holder with a skewed clock can look
//! valid for a skew's length longer or shorter than its peers judge it).

use api::k8s_openapi::api::apps::v1::Deployment;
use api::k8s_openapi::api::coordination::v1::Lease;
use api::k8s_openapi::api::core::v1::{Node, Pod};
use sim::Time;

/// Pod states in the order they stack in a node's strip (bottom first) and in the legend.
pub const POD_STATES: [&str; 7] = [
    RUNNING,
    RUNNING_NOT_READY,
    PENDING,
    TERMINATING,
    "Succeeded",
    "Failed",
    "Unknown",
];
pub const RUNNING: &str = "Running";
pub const RUNNING_NOT_READY: &str = "Running (not ready)";
pub const PENDING: &str = "Pending";
pub const TERMINATING: &str = "Terminating";

/// The reason the node lifecycle controller gives a pod on an unreachable node
/// (`pkg/util/node`, `NodeUnreachablePodReason`).
const NODE_LOST: &str = "NodeLost";

/// The state a pod is drawn in (see the module doc).
pub fn pod_state(pod: &Pod) -> String {
    let status = pod.status.as_ref();
    if pod.metadata.deletion_timestamp.is_some() {
        let lost = status.and_then(|s| s.reason.as_deref()) == Some(NODE_LOST);
        return if lost { "Unknown" } else { TERMINATING }.to_string();
    }
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or(PENDING);
    if phase == RUNNING && !condition_true(pod, "Ready") {
        return RUNNING_NOT_READY.to_string();
    }
    phase.to_string()
}

fn condition_true(pod: &Pod, kind: &str) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == kind && c.status == "True"))
}

/// The node a pod is bound to (`None`: not scheduled yet).
pub fn pod_node(pod: &Pod) -> Option<&str> {
    pod.spec.as_ref().and_then(|s| s.node_name.as_deref())
}

/// `status.readyReplicas` and `spec.replicas` (1 when unset, the API's default).
pub fn deployment_replicas(d: &Deployment) -> (u32, u32) {
    let ready = d
        .status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0);
    let desired = d.spec.replicas.unwrap_or(1);
    let count = |n: i32| u32::try_from(n).unwrap_or(0);
    (count(ready), count(desired))
}

/// Who holds `lease` at `now` (true virtual time): its holder while the lease is valid;
/// `None` when nobody is named or the holder stopped renewing it in time. A Lease without a
/// renewTime or duration is taken as held (nothing says otherwise).
pub fn lease_holder(lease: &Lease, now: Time) -> Option<String> {
    let spec = lease.spec.as_ref()?;
    let holder = spec.holder_identity.clone().filter(|h| !h.is_empty())?;
    let (Some(renewed), Some(duration)) = (spec.renew_time.as_ref(), spec.lease_duration_seconds)
    else {
        return Some(holder);
    };
    let epoch_ns = i128::from(api::WALL_EPOCH_SECS) * 1_000_000_000;
    let expires = renewed.0.as_nanosecond() - epoch_ns + i128::from(duration) * 1_000_000_000;
    (expires > i128::from(now.as_nanos())).then_some(holder)
}

/// A Node's Ready condition: `True`, `False`, `Unknown` (the controller's verdict when the
/// kubelet stopped reporting), or `Unknown` when the kubelet has not reported it yet.
pub fn node_ready(node: &Node) -> &str {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .map_or("Unknown", |c| c.status.as_str())
}

#[cfg(test)]
mod tests {
    use api::k8s_openapi::api::coordination::v1::LeaseSpec;
    use api::k8s_openapi::api::core::v1::{PodCondition, PodStatus};
    use api::k8s_openapi::apimachinery::pkg::apis::meta::v1::{
        MicroTime, ObjectMeta, Time as K8sTime,
    };
    use api::k8s_openapi::jiff::Timestamp;

    use super::*;

    fn pod(phase: Option<&str>, ready: Option<&str>, deleting: bool, reason: Option<&str>) -> Pod {
        Pod {
            metadata: ObjectMeta {
                deletion_timestamp: deleting.then_some(K8sTime(Timestamp::UNIX_EPOCH)),
                ..ObjectMeta::default()
            },
            spec: None,
            status: Some(PodStatus {
                phase: phase.map(str::to_string),
                reason: reason.map(str::to_string),
                conditions: ready.map(|s| {
                    vec![PodCondition {
                        type_: "Ready".to_string(),
                        status: s.to_string(),
                        ..PodCondition::default()
                    }]
                }),
                ..PodStatus::default()
            }),
        }
    }

    #[test]
    fn pod_states_follow_kubectls_status_column() {
        let cases = [
            (pod(None, None, false, None), "Pending"),
            (pod(Some("Pending"), None, false, None), "Pending"),
            (pod(Some("Running"), Some("True"), false, None), "Running"),
            (
                pod(Some("Running"), Some("False"), false, None),
                "Running (not ready)",
            ),
            (
                pod(Some("Running"), None, false, None),
                "Running (not ready)",
            ),
            (
                pod(Some("Running"), Some("True"), true, None),
                "Terminating",
            ),
            (
                pod(Some("Running"), Some("False"), true, Some("NodeLost")),
                "Unknown",
            ),
            (pod(Some("Succeeded"), None, false, None), "Succeeded"),
            (pod(Some("Failed"), None, false, None), "Failed"),
        ];
        for (pod, want) in cases {
            assert_eq!(pod_state(&pod), want, "{:?}", pod.status);
        }
    }

    #[test]
    fn a_lease_is_held_until_its_duration_after_the_last_renewal() {
        let renewed_at = Time::from_secs(100);
        let micros =
            i128::from(api::WALL_EPOCH_SECS) * 1_000_000_000 + i128::from(renewed_at.as_nanos());
        let lease = Lease {
            metadata: ObjectMeta::default(),
            spec: Some(LeaseSpec {
                holder_identity: Some("cp_1".to_string()),
                lease_duration_seconds: Some(15),
                renew_time: Some(MicroTime(Timestamp::from_nanosecond(micros).unwrap())),
                ..LeaseSpec::default()
            }),
        };
        assert_eq!(
            lease_holder(&lease, Time::from_secs(114)).as_deref(),
            Some("cp_1")
        );
        assert_eq!(lease_holder(&lease, Time::from_secs(115)), None);
        let released = Lease {
            spec: Some(LeaseSpec {
                holder_identity: Some(String::new()),
                ..LeaseSpec::default()
            }),
            ..lease
        };
        assert_eq!(lease_holder(&released, Time::from_secs(1)), None);
    }
}
