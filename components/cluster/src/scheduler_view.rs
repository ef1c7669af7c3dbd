//! Read-only access to the kube-scheduler replicas: which one holds the Lease
//! kube-system/kube-scheduler, and the last scheduling decision any replica recorded for a
//! pod (what `kubesim explain` prints).

use scheduler::KubeScheduler;
use scheduler::explain::explain;
use scheduler::framework::schedule::Decision;

use crate::cluster::Cluster;

impl Cluster {
    /// Every kube-scheduler replica that is running, control planes in order.
    pub fn schedulers(&self) -> Vec<&KubeScheduler> {
        self.control_plane()
            .iter()
            .filter_map(|c| self.sim().actor::<KubeScheduler>(c.scheduler))
            .collect()
    }

    /// The replica holding the Lease, if one does.
    pub fn scheduler_leader(&self) -> Option<&KubeScheduler> {
        let host = self.resolve_leader("kube-scheduler").ok()?;
        let handle = self.control_plane().iter().find(|c| c.host == host)?;
        self.sim().actor::<KubeScheduler>(handle.scheduler)
    }

    /// The last decision about `namespace/name`: the leader's, or (after a failover, when the
    /// leader has not tried the pod) the one another replica recorded while it led.
    pub fn scheduling_decision(&self, key: &str) -> Option<&Decision> {
        if let Some(d) = self.scheduler_leader().and_then(|s| s.decision(key)) {
            return Some(d);
        }
        self.schedulers().into_iter().find_map(|s| s.decision(key))
    }

    /// [`Cluster::scheduling_decision`] as the scheduler's explanation table.
    pub fn explain_scheduling(&self, key: &str) -> Option<String> {
        self.scheduling_decision(key)
            .map(|d| explain(d).to_string())
    }

    /// Scheduling cycles run so far by every replica (a new decision needs a new cycle).
    pub fn scheduling_cycles(&self) -> u64 {
        self.schedulers().iter().map(|s| s.stats.cycles).sum()
    }

    /// The pods some replica recorded a decision about, sorted, without repeats.
    pub fn scheduled_pod_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .schedulers()
            .iter()
            .flat_map(|s| s.decided_pods())
            .map(str::to_string)
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }
}
