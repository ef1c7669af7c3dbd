//! Two kube-controller-manager replicas: exactly one acts; when its host crashes the other
//! takes the Lease within the lease duration plus a retry, and its controllers work.

mod common;

use api::Kind;
use common::Harness;
use controllers::ControllerName;
use sim::{Duration, Fault};

#[test]
fn standby_takes_over_after_the_leader_crashes() {
    let mut h = Harness::new(7, 2, &[ControllerName::ReplicaSet]);
    h.until_leading();
    h.run(Duration::from_secs(10));
    let leaders: Vec<usize> = (0..2).filter(|i| h.kcm(*i).is_leader()).collect();
    assert_eq!(leaders.len(), 1, "exactly one leader");
    let (leader, standby) = (leaders[0], 1 - leaders[0]);
    assert_eq!(
        h.kcm(standby).stats.reconciles,
        0,
        "the standby does nothing"
    );

    let crash_at = h.sim.now();
    h.sim.apply_fault(Fault::Crash(h.kcms[leader].0)).unwrap();
    let mut took = None;
    for _ in 0..300 {
        h.run(Duration::from_millis(100));
        if h.kcm(standby).is_leader() {
            took = Some(h.sim.now().saturating_since(crash_at));
            break;
        }
    }
    let took = took.expect("the standby took over");
    // The Lease expires 15 s after the last renewal (at most 2 s + jitter before the crash);
    // the standby retries every 2 s with up to 1.2x jitter.
    assert!(took <= Duration::from_secs(20), "took over after {took}");
    assert!(
        took >= Duration::from_secs(10),
        "not before the lease ran out: {took}"
    );

    h.until_leading();
    h.apply(
        r#"
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: after}
spec:
  replicas: 2
  selector: {matchLabels: {app: after}}
  template:
    metadata: {labels: {app: after}}
    spec: {containers: [{name: c, image: "nginx:1.25"}]}
"#,
    );
    h.run(Duration::from_secs(3));
    assert_eq!(h.list_selected(Kind::Pod, "default", "app=after").len(), 2);
    let lease = h
        .get(Kind::Lease, "kube-system", "kube-controller-manager")
        .unwrap();
    let api::Object::Lease(l) = lease.as_ref() else {
        unreachable!()
    };
    let spec = l.spec.clone().unwrap();
    assert_eq!(spec.holder_identity.as_deref(), h.kcm(standby).identity());
    assert!(
        spec.holder_identity
            .unwrap()
            .starts_with("kubesim-control-plane")
    );
    assert_eq!(spec.lease_transitions, Some(1));
}
