//! What kube-controller-manager logs at its default verbosity, as klog lines with upstream
//! file names: leader election, controller start, and the Events its controllers record
//! (the Deployment's scaling, the ReplicaSet's creates).

mod common;

use common::Harness;
use controllers::ControllerName;
use sim::Duration;

const WEB: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx, image: "nginx:1.25"}]}
"#;

#[test]
fn leader_election_controller_start_and_events_are_logged() {
    let mut h = Harness::new(
        41,
        1,
        &[ControllerName::ReplicaSet, ControllerName::Deployment],
    );
    h.until_leading();
    h.apply(WEB);
    h.run(Duration::from_secs(3));
    let lines: Vec<String> = h.sim.logs(h.kcms[0].1).map(|l| l.text).collect();
    let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
    assert!(has(
        "Ileaderelection.go:257] attempting to acquire leader lease kube-system/kube-controller-manager..."
    ));
    assert!(has(
        "Ileaderelection.go:271] successfully acquired lease kube-system/kube-controller-manager"
    ));
    assert!(has(
        r#"Icontrollermanager.go:787] "Started controller" controller="deployment-controller""#
    ));
    assert!(has(
        r#"Ishared_informer.go:320] "Caches are synced" controller="replicaset""#
    ));
    let scaled = lines
        .iter()
        .find(|l| l.contains(r#"reason="ScalingReplicaSet""#))
        .expect("the Deployment's scaling is logged");
    assert!(scaled.starts_with(r#"Ievent.go:389] "Event occurred" object="default/web" fieldPath="" kind="Deployment" apiVersion="apps/v1" type="Normal""#), "{scaled}");
    assert!(
        scaled.contains(r#"message="Scaled up replica set web-"#),
        "{scaled}"
    );
    let created = lines
        .iter()
        .filter(|l| {
            l.contains(r#"reason="SuccessfulCreate""#) && l.contains(r#"kind="ReplicaSet""#)
        })
        .count();
    assert_eq!(created, 2);
}
