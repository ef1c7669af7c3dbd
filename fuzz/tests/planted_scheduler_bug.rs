//! Proof that fuzzing finds bugs: a kube-scheduler that forgets the pods it assumed once their
//! binding is sent (the planted bug `SchedulerConfig::planted_bug_ignore_assumed_pods`,
//! switched on through `cluster::Topology::with_planted_bug_ignore_assumed_pods`) places a
//! burst of pods on a node that cannot hold them, before the informer shows the first bound
//! ones. The cluster invariant "no node over-committed" (`cluster::invariants`) catches it at
//! the bind. A campaign of generated fault schedules over two 2-CPU workers running eight
//! 500m replicas (an exact fit) must find it and shrink it to at most 5 episodes; the same
//! campaign without the bug passes, with the Deployment converged after every schedule.
//!
//! The bug needs no fault: the ReplicaSet's slow-start batch of four pods is scheduled in one
//! burst. So the shrunk schedule is usually empty, and what the test proves is that the
//! invariant, checked on every applied write, sees a transient over-commitment that the
//! kubelet's admission undoes (OutOfcpu) a few milliseconds later.

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
    capacity: &[("cpu", "2"), ("memory", "4Gi"), ("pods", "110")],
    workload: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 8
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        resources: {requests: {cpu: 500m, memory: 100Mi}}
"#,
    plant: Topology::with_planted_bug_ignore_assumed_pods,
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
fn fuzzing_finds_the_scheduler_that_ignores_assumed_pods() {
    let found = SETUP.campaign(&bounds(), 2026, RUNS, MAX_SHRINK_RUNS, true);
    let (_, case) = found.as_ref().expect("found");
    if let fuzz::Case::Failed { failure, .. } = case {
        assert!(failure.contains("over-committed"), "{failure}");
    }
    assert_found_and_shrunk(&SETUP, found, RUNS);
}

#[test]
fn the_same_campaign_passes_with_the_real_scheduler() {
    if let Some((seed, case)) = SETUP.campaign(&bounds(), 2026, RUNS, MAX_SHRINK_RUNS, false) {
        panic!("seed {seed} failed without the planted bug: {case:?}");
    }
}
