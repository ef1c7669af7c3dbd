//! The set-up the whole-cluster tests share: the cluster built, its etcd leader and
//! apiservers ready, then left to settle (nodes register, the control plane's controllers
//! sync), as `kind create cluster` waits before handing the cluster over.

use cluster::{Cluster, Topology};
use sim::Duration;

/// Builds `topology`, runs it until etcd has a leader and the apiservers answer, then runs
/// it for `settle` more of virtual time.
pub fn settled(topology: Topology, settle: Duration) -> Cluster {
    let mut c = Cluster::build(topology).expect("cluster");
    assert!(
        c.run_until_ready(Duration::from_secs(30))
            .expect("no finding")
            .is_some(),
        "etcd leader and apiservers ready"
    );
    c.sim_mut().run_for(settle).expect("no finding");
    c
}
