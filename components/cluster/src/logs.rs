//! Which process writes a kube-system pod's log: what `kubectl logs -n kube-system
//! kube-scheduler-kubesim-control-plane` reads when the container is one of the cluster's
//! component actors rather than a container the runtime acts out.
//!
//! On kind the control plane runs as kubeadm's static pods (`<component>-<node>`, one
//! container named after the component) and kube-proxy as a DaemonSet pod (`kube-proxy-xxxxx`,
//! container `kube-proxy`); the kubelet serves their logs from the container runtime's log
//! files (`pkg/kubelet/kuberuntime/kuberuntime_container.go`, `GetContainerLogs`). Here those
//! processes are the engine's actors, so their log is the engine's per-actor log
//! ([`sim::Sim::logs`]), printed as the component prints it: klog's text format
//! ([`client::klog::render`]) or, for etcd, zap's JSON ([`store::server::zap::render`]).
//!
//! A crash of the node ends the component's container; after the restart the kubelet runs a
//! new one. So does a component that exits on purpose (kube-scheduler and
//! kube-controller-manager when they lose their Lease), which the kubelet restarts in place.
//! Each line carries the host's boot and the process's run within it ([`sim::LogLine::boot`],
//! [`sim::LogLine::run`]), so the current container's log is the lines of the current (boot,
//! run) and `--previous` those of the one before (the kubelet's `lastState` names that
//! container once it restarted it). Simplification: the engine's per-actor cap
//! (`log_lines_per_actor`) spans the containers.

use sim::{ActorId, LogLine};

use crate::cluster::Cluster;
use crate::components::PROXY_ACTOR;

/// The static pods kubeadm writes on every control-plane node, each with one container named
/// after the component (and the actor that runs it).
pub const STATIC_POD_COMPONENTS: &[&str] = &[
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
];

/// Virtual time zero in Unix seconds, as every host's clock starts.
const EPOCH_SECS: i64 = api::WALL_EPOCH_SECS;

impl Cluster {
    /// The actor whose log is container `container` of pod `namespace/pod` running on `node`,
    /// when that container is a cluster component; `None` for a container the runtime runs
    /// (its log is the runtime's).
    pub fn component_log_actor(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        node: &str,
    ) -> Option<ActorId> {
        if namespace != "kube-system" {
            return None;
        }
        let host = self.host(node)?;
        let is_static = STATIC_POD_COMPONENTS.contains(&container)
            && pod
                .strip_prefix(container)
                .and_then(|r| r.strip_prefix('-'))
                == Some(node);
        let is_proxy = container == PROXY_ACTOR && pod.starts_with("kube-proxy-");
        if !(is_static || is_proxy) {
            return None;
        }
        self.sim().actor_id(host, container)
    }

    /// An actor's log lines as its component prints them, oldest first.
    pub fn actor_log(&self, actor: ActorId) -> Vec<String> {
        self.sim().logs(actor).map(|l| render(&l)).collect()
    }

    /// A component container's log: the lines of the process's current run, or with
    /// `previous` those of the run before (the container that the last crash or exit ended).
    pub fn component_log(&self, actor: ActorId, previous: bool) -> Vec<String> {
        let boot = self
            .sim()
            .actor_host(actor)
            .and_then(|h| self.sim().host_boot(h))
            .unwrap_or(0);
        let current = (boot, self.sim().process_run(actor));
        let lines: Vec<LogLine> = self.sim().logs(actor).collect();
        let wanted = if previous {
            match lines
                .iter()
                .map(|l| (l.boot, l.run))
                .filter(|&c| c < current)
                .max()
            {
                Some(c) => c,
                None => return Vec::new(),
            }
        } else {
            current
        };
        lines
            .iter()
            .filter(|l| (l.boot, l.run) == wanted)
            .map(render)
            .collect()
    }
}

/// One logged line as the component prints it: etcd's zap JSON, every other component's klog
/// text.
pub fn render(line: &LogLine) -> String {
    if store::server::zap::is_zap(&line.text) {
        store::server::zap::render(&line.text, line.local, EPOCH_SECS)
    } else {
        client::klog::render(line, EPOCH_SECS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Topology;

    #[test]
    fn static_pods_and_kube_proxy_map_to_their_actors() {
        let cluster = Cluster::build(Topology::new(1, 1).with_seed(1)).unwrap();
        let cp = "kubesim-control-plane";
        let etcd = cluster
            .component_log_actor("kube-system", "etcd-kubesim-control-plane", "etcd", cp)
            .unwrap();
        assert_eq!(cluster.sim().actor_name(etcd), Some("etcd"));
        assert!(
            cluster
                .component_log_actor("kube-system", "etcd-kubesim-worker", "etcd", cp)
                .is_none()
        );
        assert!(
            cluster
                .component_log_actor("default", "etcd-kubesim-control-plane", "etcd", cp)
                .is_none()
        );
        assert!(
            cluster
                .component_log_actor("kube-system", "coredns-1", "coredns", cp)
                .is_none()
        );
    }
}
