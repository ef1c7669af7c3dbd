//! What the runtime holds: pod sandboxes, containers and images — the state `crictl pods`,
//! `crictl ps` and `crictl images` print, and what the runtime actor mutates.
//!
//! Follows containerd's CRI plugin in shape: a sandbox owns the pod's network namespace and
//! address; containers belong to a sandbox and go Created → Running → Exited; exited
//! containers stay (for `crictl ps -a` and the kubelet's restart counting) until removed.
//! Simplifications: no pause container is listed (containerd hides it too); no cgroups, no
//! mounts, no resource accounting.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use net::PodCidr;
use sim::{ActorId, Time, TimerId};

use crate::access_log::Access;
use crate::behaviour::ImageBehaviour;
use crate::images::ImageStore;

/// Lines a container's log holds before it is rotated. The kubelet rotates a container's log
/// file once it passes `containerLogMaxSize` (10Mi by default) and `kubectl logs` reads the
/// current file only, so after a rotation it shows the lines written since. A line count
/// stands for the size here: 10,000 lines is about 1 MiB of nginx access lines (each kept as
/// a small entry rendered when read), a tenth of the real file, which bounds memory under
/// high-rate traffic.
pub const MAX_LOG_LINES: usize = 10_000;
/// Containers (all states) one runtime holds at most.
pub const MAX_CONTAINERS: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SandboxState {
    Ready,
    NotReady,
}

impl SandboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxState::Ready => "Ready",
            SandboxState::NotReady => "NotReady",
        }
    }
}

/// A pod's sandbox.
#[derive(Clone, Debug)]
pub struct Sandbox {
    pub id: String,
    pub pod_uid: String,
    pub namespace: String,
    pub name: String,
    pub attempt: u32,
    pub host_network: bool,
    /// Its address (the node's with host networking).
    pub ip: Ipv4Addr,
    pub state: SandboxState,
    pub created_at: Time,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerState {
    Created,
    Running,
    Exited,
}

impl ContainerState {
    /// As `crictl ps` prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerState::Created => "Created",
            ContainerState::Running => "Running",
            ContainerState::Exited => "Exited",
        }
    }
}

/// A stop in progress: who waits for it and the SIGKILL deadline.
#[derive(Clone, Debug)]
pub struct Stopping {
    pub waiters: Vec<(ActorId, u64)>,
    pub kill_timer: Option<TimerId>,
    pub term_timer: Option<TimerId>,
}

/// One log line with the time (the node's clock) the container printed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub at: Time,
    pub text: LogText,
}

/// What a log line says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogText {
    /// A line the image prints (its `logs:`).
    Printed(String),
    /// A request it served, rendered as its access log line when read.
    Access(Access),
}

impl LogLine {
    /// The line as `kubectl logs` prints it; `epoch_secs` is the wall-clock second virtual
    /// time zero stands for.
    pub fn render(&self, epoch_secs: i64) -> String {
        match &self.text {
            LogText::Printed(s) => s.clone(),
            LogText::Access(a) => a.render(self.at, epoch_secs),
        }
    }
}

/// A container.
#[derive(Clone, Debug)]
pub struct Container {
    pub id: String,
    /// The runtime's own handle (timers name containers by it).
    pub seq: u64,
    pub sandbox_id: String,
    pub name: String,
    /// The reference the kubelet asked for.
    pub image: String,
    pub image_id: String,
    pub attempt: u32,
    pub state: ContainerState,
    pub created_at: Time,
    pub started_at: Option<Time>,
    pub finished_at: Option<Time>,
    pub exit_code: Option<i32>,
    pub behaviour: Arc<ImageBehaviour>,
    pub exit_timer: Option<TimerId>,
    pub stopping: Option<Stopping>,
    /// Whether it logs each request it serves ([`crate::access_log`]).
    pub access_log: bool,
    pub logs: Vec<LogLine>,
}

impl Container {
    /// How long it has been running at `now` (zero unless running).
    pub fn running_for(&self, now: Time) -> sim::Duration {
        match (self.state, self.started_at) {
            (ContainerState::Running, Some(t)) => now.saturating_since(t),
            _ => sim::Duration::ZERO,
        }
    }

    /// Appends a line, rotating the log first when it is full (see [`MAX_LOG_LINES`]).
    pub fn log(&mut self, at: Time, text: LogText) {
        if self.logs.len() >= MAX_LOG_LINES {
            self.logs.clear();
        }
        self.logs.push(LogLine { at, text });
    }
}

/// Everything the runtime knows.
#[derive(Clone, Debug)]
pub struct RuntimeState {
    pub node_name: String,
    pub node_ip: Ipv4Addr,
    pub pod_cidr: PodCidr,
    pub sandboxes: BTreeMap<String, Sandbox>,
    /// Containers by id.
    pub containers: BTreeMap<String, Container>,
    /// Container ids by `seq`.
    pub by_seq: BTreeMap<u64, String>,
    /// Sandbox ids by pod address (pod-network sandboxes only).
    pub by_ip: BTreeMap<Ipv4Addr, String>,
    pub images: ImageStore,
    /// host-local IPAM's "last reserved" index: the next address is searched after it, so an
    /// address is not reused at once.
    pub last_ip_index: u8,
    pub next_seq: u64,
}

impl RuntimeState {
    pub fn new(node_name: String, node_ip: Ipv4Addr, pod_cidr: PodCidr) -> Self {
        RuntimeState {
            node_name,
            node_ip,
            pod_cidr,
            sandboxes: BTreeMap::new(),
            containers: BTreeMap::new(),
            by_seq: BTreeMap::new(),
            by_ip: BTreeMap::new(),
            images: ImageStore::new(),
            last_ip_index: 0,
            next_seq: 1,
        }
    }

    /// The next free address of the node's /24 after the last one handed out.
    pub fn allocate_ip(&mut self) -> Option<Ipv4Addr> {
        for step in 1..=253u16 {
            let n = ((u16::from(self.last_ip_index) + step - 1) % 253 + 1) as u8;
            let ip = self.pod_cidr.pod_ip(n)?;
            if !self.by_ip.contains_key(&ip) {
                self.last_ip_index = n;
                return Some(ip);
            }
        }
        None
    }

    /// The containers of a sandbox, oldest first.
    pub fn containers_of<'a>(
        &'a self,
        sandbox_id: &'a str,
    ) -> impl Iterator<Item = &'a Container> + 'a {
        self.containers
            .values()
            .filter(move |c| c.sandbox_id == sandbox_id)
    }

    /// The ready sandbox holding a pod address.
    pub fn sandbox_at(&self, ip: Ipv4Addr) -> Option<&Sandbox> {
        self.by_ip
            .get(&ip)
            .and_then(|id| self.sandboxes.get(id))
            .filter(|s| s.state == SandboxState::Ready)
    }

    /// The log of the newest container named `container` in pod `namespace/name`.
    pub fn logs(&self, namespace: &str, pod: &str, container: &str) -> Option<&[LogLine]> {
        let sandboxes: Vec<&str> = self
            .sandboxes
            .values()
            .filter(|s| s.namespace == namespace && s.name == pod)
            .map(|s| s.id.as_str())
            .collect();
        self.containers
            .values()
            .filter(|c| c.name == container && sandboxes.contains(&c.sandbox_id.as_str()))
            .max_by_key(|c| (c.created_at, c.attempt))
            .map(|c| c.logs.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_rotate_through_the_node_range() {
        let cidr = net::node_pod_cidr(1).unwrap();
        let mut s = RuntimeState::new("n".into(), Ipv4Addr::new(172, 18, 0, 3), cidr);
        let a = s.allocate_ip().unwrap();
        assert_eq!(a, Ipv4Addr::new(10, 244, 1, 2));
        s.by_ip.insert(a, "x".into());
        let b = s.allocate_ip().unwrap();
        assert_eq!(b, Ipv4Addr::new(10, 244, 1, 3));
        // Releasing the first does not hand it out again next: the range rotates.
        s.by_ip.remove(&a);
        assert_eq!(s.allocate_ip().unwrap(), Ipv4Addr::new(10, 244, 1, 4));
        for n in 0..253u32 {
            let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 244, 1, 2)) + n);
            s.by_ip.insert(ip, format!("s{n}"));
        }
        assert_eq!(s.allocate_ip(), None, "a /24 holds 253 pods");
    }
}
