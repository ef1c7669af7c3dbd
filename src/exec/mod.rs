//! `docker exec <node> <command>` on a simulated kind node: the commands a learner types to
//! look inside a node, answered from the state of the node's components, as the real
//! programs print it.
//!
//! | module | commands |
//! |---|---|
//! | [`ps`] | `ps aux` (`ps -ef`): init, journald, containerd, the kubelet, the control plane, kube-proxy, shims and containers |
//! | [`crictl`] | `crictl ps [-a]`, `crictl pods`, `crictl images` |
//! | [`netfilter`] | `iptables …`, `iptables-save`, `ipvsadm -Ln` (kube-proxy's rules) |
//! | [`curl`] | `curl -k https://localhost:6443/healthz\|readyz\|livez[?verbose]`, etcd's `:2381/health`, the other components' health ports |
//! | [`files`] | `ls [-la] /var/lib/etcd/member[/wal\|/snap]`, `ls /etc/kubernetes/manifests`, `cat /etc/kubernetes/manifests/<component>.yaml` |
//! | [`systemctl`] | `systemctl status kubelet\|containerd` (with the journal's last lines) |
//!
//! What docker itself answers (moby `daemon/exec.go`): a node whose container is stopped
//! (a crashed host) gets `Error response from daemon: container <id> is not running`, a
//! paused one `… is paused, unpause the container before exec`, exit status 1; a program the
//! node does not have gets runc's `OCI runtime exec failed: exec failed: unable to start
//! container process: exec: "foo": executable file not found in $PATH: unknown` with exit
//! status 127 (`docker exec` exits 126 when a command cannot be invoked and 127 when it cannot
//! be found, as `docker run` documents for its exit codes).
//!
//! Simplifications: a command takes no virtual time; stdout and stderr are one text in the
//! order printed; a command's output always ends in a newline (curl prints `ok` without one).

use std::net::Ipv4Addr;

use cluster::components::NodeAgents;
use cluster::{Cluster, ClusterMsg, NodeRole, NodeSpec};
use proxy::KubeProxy;
use runtime::ContainerRuntime;
use runtime::state::RuntimeState;
use sim::{ActorId, HostId, HostState, Time};

pub mod crictl;
pub mod curl;
pub mod files;
pub mod netfilter;
pub mod ps;
pub mod systemctl;

/// What one command printed (stdout and stderr in order) and its exit status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOutput {
    pub text: String,
    pub status: i32,
}

impl ExecOutput {
    pub fn ok(text: impl Into<String>) -> Self {
        ExecOutput {
            text: text.into(),
            status: 0,
        }
    }

    pub fn fail(text: impl Into<String>, status: i32) -> Self {
        ExecOutput {
            text: text.into(),
            status,
        }
    }
}

/// The programs a kind node has that kubesim answers for.
pub const PROGRAMS: &[&str] = &[
    "cat",
    "crictl",
    "curl",
    "iptables",
    "iptables-save",
    "ipvsadm",
    "ls",
    "ps",
    "systemctl",
];

/// One node as the commands see it.
pub struct Node<'a> {
    pub cluster: &'a Cluster,
    pub spec: &'a NodeSpec,
    pub host: HostId,
    pub agents: Option<&'a NodeAgents>,
}

impl<'a> Node<'a> {
    /// The node named `name`, if the cluster has it.
    pub fn find(cluster: &'a Cluster, name: &str) -> Option<Node<'a>> {
        let spec = cluster.nodes().iter().find(|n| n.name == name)?;
        let host = cluster.host(name)?;
        let agents = cluster.node_agents().iter().find(|a| a.node == name);
        Some(Node {
            cluster,
            spec,
            host,
            agents,
        })
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.spec.ip)
    }

    pub fn is_control_plane(&self) -> bool {
        self.spec.role == NodeRole::ControlPlane
    }

    /// The node's own clock (what `date` says there).
    pub fn local_now(&self) -> Time {
        self.cluster
            .sim()
            .local_now(self.host)
            .unwrap_or_else(|| self.cluster.sim().now())
    }

    /// The actor named `name` on this node (`etcd`, `kube-apiserver`, `kubelet`, …).
    pub fn actor(&self, name: &str) -> Option<ActorId> {
        self.cluster.sim().actor_id(self.host, name)
    }

    pub fn runtime(&self) -> Option<&'a RuntimeState> {
        let id = self.agents?.runtime;
        self.cluster
            .sim()
            .actor::<ContainerRuntime<ClusterMsg>>(id)
            .map(ContainerRuntime::state)
    }

    pub fn proxy(&self) -> Option<&'a KubeProxy<ClusterMsg>> {
        let id = self.agents?.proxy;
        self.cluster.sim().actor::<KubeProxy<ClusterMsg>>(id)
    }

    /// The 64-hex id docker gives the node's container (stable per node name).
    pub fn container_id(&self) -> String {
        let mut rng = sim::rng::SimRng::fork(0, &format!("docker/{}", self.name()));
        (0..4).map(|_| format!("{:016x}", rng.next_u64())).collect()
    }

    /// When the node last booted: its runtime preloads kind's images as it starts (and a
    /// crash empties the runtime), so the oldest image it holds dates the boot.
    pub fn boot_time(&self) -> Time {
        self.runtime()
            .and_then(|r| r.images.images().map(|i| i.pulled_at).min())
            .unwrap_or(Time::ZERO)
    }
}

/// Runs `command` (a shell-like line) on the node named `node`.
pub fn run(cluster: &Cluster, node: &str, command: &str) -> ExecOutput {
    let Some(node) = Node::find(cluster, node) else {
        return ExecOutput::fail(
            format!("Error response from daemon: No such container: {node}\n"),
            1,
        );
    };
    match cluster.sim().host_state(node.host) {
        Some(HostState::Up) | None => {}
        Some(HostState::Crashed) => {
            return ExecOutput::fail(
                format!(
                    "Error response from daemon: container {} is not running\n",
                    node.container_id()
                ),
                1,
            );
        }
        Some(HostState::Paused { .. }) => {
            return ExecOutput::fail(
                format!(
                    "Error response from daemon: container {} is paused, unpause the container before exec\n",
                    node.container_id()
                ),
                1,
            );
        }
    }
    let words = match crate::scenario::commands::split_words(command) {
        Ok(w) => w,
        Err(e) => return ExecOutput::fail(format!("{e}\n"), 2),
    };
    let Some((program, args)) = words.split_first() else {
        return ExecOutput::fail("docker: 'docker exec' requires at least 2 arguments.\n", 1);
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // `/usr/bin/crictl` is `crictl`.
    let name = program.rsplit('/').next().unwrap_or(program);
    match name {
        "ps" => ps::ps(&node, &args),
        "crictl" => crictl::crictl(&node, &args),
        "iptables" => netfilter::iptables(&node, &args),
        "iptables-save" => netfilter::iptables_save(&node, &args),
        "ipvsadm" => netfilter::ipvsadm(&node, &args),
        "curl" => curl::curl(&node, &args),
        "ls" => files::ls(&node, &args),
        "cat" => files::cat(&node, &args),
        "systemctl" => systemctl::systemctl(&node, &args),
        _ => ExecOutput::fail(
            format!(
                "OCI runtime exec failed: exec failed: unable to start container process: exec: \"{program}\": executable file not found in $PATH: unknown\n"
            ),
            127,
        ),
    }
}

/// `date`'s format on the node (`Thu Jan  1 00:00:33 2026`), for iptables-save's header.
pub fn date_stamp(local: Time) -> String {
    let secs = api::WALL_EPOCH_SECS + local.as_secs() as i64;
    api::k8s_openapi::jiff::Timestamp::from_second(secs)
        .map(|t| t.strftime("%a %b %e %H:%M:%S %Y").to_string())
        .unwrap_or_default()
}
