//! Proof that fuzzing finds bugs: a ReplicaSet controller without expectations (the planted
//! bug `ControllerManagerConfig::planted_bug_replicaset_without_expectations`, switched on
//! through `cluster::Topology::with_planted_bug_replicaset_without_expectations`) acts on a
//! pod cache that has not yet seen the pods it just created, and creates them again. The
//! cluster invariant "no ReplicaSet over-creation" (`cluster::invariants`) catches the create
//! that takes the ReplicaSet's active pods beyond `spec.replicas`. A campaign of generated
//! fault schedules over a Deployment of six replicas must find it and shrink it to at most 5
//! episodes; the same campaign without the bug passes, converged after every schedule.

mod common;

use cluster::Topology;
use common::{Setup, assert_found_and_shrunk};
use fuzz::{KindSet, ScheduleBounds};
use sim::Duration;

const RUNS: u64 = 3;
const MAX_SHRINK_RUNS: u32 = 12;

const SETUP: Setup = Setup {
    control_planes: 1,
    workers: 2,
    capacity: &[("cpu", "8"), ("memory", "16Gi"), ("pods", "110")],
    workload: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 6
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
"#,
    plant: Topology::with_planted_bug_replicaset_without_expectations,
    liveness: Duration::from_secs(120),
};

fn bounds() -> ScheduleBounds {
    let mut b = ScheduleBounds::new(SETUP.node_names(), vec![0]);
    b.kinds = KindSet {
        disk_loss: false,
        ..KindSet::ALL
    };
    b.max_episodes = 3;
    b.window = Duration::from_secs(40);
    b.max_length = Duration::from_secs(15);
    b.settle = Duration::from_secs(30);
    b
}

#[test]
fn fuzzing_finds_the_replicaset_controller_without_expectations() {
    let found = SETUP.campaign(&bounds(), 2026, RUNS, MAX_SHRINK_RUNS, true);
    let (_, case) = found.as_ref().expect("found");
    if let fuzz::Case::Failed { failure, .. } = case {
        assert!(failure.contains("over-created"), "{failure}");
    }
    assert_found_and_shrunk(&SETUP, found, RUNS);
}

#[test]
fn the_same_campaign_passes_with_expectations() {
    if let Some((seed, case)) = SETUP.campaign(&bounds(), 2026, RUNS, MAX_SHRINK_RUNS, false) {
        panic!("seed {seed} failed without the planted bug: {case:?}");
    }
}
