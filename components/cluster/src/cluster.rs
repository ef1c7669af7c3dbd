//! `Cluster`: a kind-like cluster built on the engine from a [`Topology`] — one host per node
//! named as kind names it, an etcd member on each etcd node (actor `etcd`), a kube-apiserver on
//! every control-plane node (actor `kube-apiserver`, talking to every etcd member, its own
//! node's first as kubeadm's `--etcd-servers=https://127.0.0.1:2379` does), a
//! kube-controller-manager and a kube-scheduler on every control-plane node (leader-elected on
//! their Leases in kube-system; `Leader("kube-scheduler")` is the replica holding it), the Raft safety
//! invariant, and a terminal host outside the nodes from which etcdctl talks to the members
//! and kubectl to the apiservers.
//!
//! Build order is fixed because actor ids and the trace hash depend on it: node hosts in
//! kind's order, then the terminal host; etcd members (so they are actors 0..n, which their
//! peer maps need before they exist), then the apiservers, the controller-managers and
//! schedulers, the etcdctl client and the admin's
//! kubectl client, the node agents, and last kubeadm's and kind's addon installer
//! ([`crate::addons`], when the topology asks for kube-system's addons). A kubectl client for
//! another identity (`--as=alice`) is added when a step first uses it.
//!
//! The terminal stands for the machine running kind, on the docker network's gateway
//! (172.18.0.1): it is not a node, so faults written against nodes (a partition, a crash of
//! `kubesim-control-plane`) never cut etcdctl off from the members on the reachable side —
//! the same view a person gets by running `etcdctl --endpoints=...` from the host.

use std::collections::BTreeMap;
use std::sync::Arc;

use apiserver::{ApiReply, ApiRequest, ApiServerConfig, KubeApiServer, UserInfo};
use client::ClientError;
use controllers::{ControllerManagerConfig, KubeControllerManager};
use scheduler::{KubeScheduler, SchedulerConfig};
use sim::{ActorId, Duration, Finding, HostId, HostState, Sim, SimConfig, SimError};
use store::raft::Role;
use store::server::{EtcdConfig, EtcdMember, RequestBody, StatusInfo, install_safety_invariant};
use thiserror::Error;

use crate::addons::{ADDONS_ACTOR, AddonError, AddonInstaller, AddonObject, kind_addons};
use crate::components::{ComponentsError, NodeAgents, add_components};
use crate::etcdctl_client::{EtcdAnswer, EtcdctlClient};
use crate::kubectl_client::KubectlClient;
use crate::message::{ClusterMsg, EtcdValue};
use crate::topology::{EtcdMemberSpec, NodeRole, NodeSpec, Topology, TopologyError, cluster_id};

/// The host etcdctl runs on (not a node; see the module doc).
pub const TERMINAL_HOST: &str = "terminal";
/// The actor name of each etcd member.
pub const ETCD_ACTOR: &str = "etcd";
/// The actor name of the etcdctl client on the terminal host.
pub const ETCDCTL_ACTOR: &str = "etcdctl";
/// The actor name of each kube-apiserver.
pub const APISERVER_ACTOR: &str = "kube-apiserver";
/// The actor name of each kube-controller-manager.
pub const CONTROLLER_MANAGER_ACTOR: &str = "kube-controller-manager";
/// The actor name of each kube-scheduler.
pub const SCHEDULER_ACTOR: &str = "kube-scheduler";
/// The actor name of the kubectl clients on the terminal host.
pub const KUBECTL_ACTOR: &str = "kubectl";

#[derive(Debug, Error)]
pub enum ClusterError {
    #[error(transparent)]
    Topology(#[from] TopologyError),
    #[error("the engine refused the cluster: {0}")]
    Engine(#[from] SimError),
    #[error(transparent)]
    Components(#[from] ComponentsError),
    #[error(transparent)]
    Addons(#[from] AddonError),
}

/// Why an outside etcd request got no answer.
#[derive(Debug, Error)]
pub enum RequestError {
    /// No answer before the deadline (clientv3 says "context deadline exceeded").
    #[error("context deadline exceeded")]
    Timeout,
    #[error("too many etcd requests in flight from the terminal")]
    Busy,
    #[error("the terminal host is down")]
    TerminalDown,
    #[error("the engine refused a client: {0}")]
    Engine(#[from] SimError),
    /// The run hit a finding (a violated invariant, a panic): the caller must stop.
    #[error("the simulation stopped: {0:?}")]
    Finding(Box<Finding>),
}

impl From<Finding> for RequestError {
    fn from(f: Finding) -> Self {
        RequestError::Finding(Box::new(f))
    }
}

/// Why a `Leader(...)` target did not resolve to a host.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum LeaderError {
    #[error("{component} has no leader right now")]
    NoLeader { component: String },
    #[error("{component} does not run in this cluster yet, so it has no leader to target")]
    NotSimulated { component: String },
    #[error("unknown component {name:?}: expected etcd, kube-controller-manager or kube-scheduler")]
    Unknown { name: String },
}

/// One etcd member and where it runs.
#[derive(Clone, Debug)]
pub struct EtcdMemberHandle {
    pub spec: EtcdMemberSpec,
    pub host: HostId,
    pub actor: ActorId,
    /// The node's address.
    pub ip: [u8; 4],
}

/// The current etcd leader, read from the members' state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdLeader {
    pub host: String,
    pub host_id: HostId,
    pub member_id: u64,
    pub term: u64,
}

/// One kube-apiserver and where it runs.
#[derive(Clone, Debug)]
pub struct ApiServerHandle {
    /// The node's name.
    pub node: String,
    pub host: HostId,
    pub actor: ActorId,
}

/// The leader-elected control-plane components of one control-plane node.
#[derive(Clone, Debug)]
pub struct ControlPlaneHandle {
    pub node: String,
    pub host: HostId,
    pub controller_manager: ActorId,
    pub scheduler: ActorId,
}

pub struct Cluster {
    sim: Sim<ClusterMsg>,
    apiservers: Vec<ApiServerHandle>,
    control_plane: Vec<ControlPlaneHandle>,
    /// kubectl clients by identity (user name and groups).
    kubectl: BTreeMap<(String, Vec<String>), ActorId>,
    topology: Topology,
    nodes: Vec<NodeSpec>,
    hosts: BTreeMap<String, HostId>,
    members: Vec<EtcdMemberHandle>,
    cluster_id: u64,
    terminal: HostId,
    etcdctl: ActorId,
    /// Node agents (runtime, kubelet, kube-proxy), when the topology asks for them.
    agents: Vec<NodeAgents>,
    /// The pod network (`--cluster-cidr`).
    pod_network: net::ClusterCidr,
}

impl Cluster {
    /// Builds the cluster with the engine's defaults for `topology.seed`.
    pub fn build(topology: Topology) -> Result<Cluster, ClusterError> {
        let config = SimConfig::with_seed(topology.seed);
        Cluster::build_with(topology, config)
    }

    /// Builds the cluster on an engine configured by the caller (its seed is used as is).
    pub fn build_with(topology: Topology, config: SimConfig) -> Result<Cluster, ClusterError> {
        let nodes = topology.nodes()?;
        // Only node agents hand out pod addresses: a control plane alone needs no pod network.
        let pod_network = match &topology.components {
            Some(_) => topology.pod_network()?,
            None => topology.pod_network().unwrap_or_default(),
        };
        let mut sim = Sim::<ClusterMsg>::new(config);
        let mut hosts = BTreeMap::new();
        for node in &nodes {
            hosts.insert(node.name.clone(), sim.add_host(&node.name)?);
        }
        let terminal = sim.add_host(TERMINAL_HOST)?;

        let etcd_nodes: Vec<&NodeSpec> = nodes.iter().filter(|n| n.etcd.is_some()).collect();
        // Members are the first actors of a fresh engine, so actor i is member i.
        let peers: BTreeMap<u64, ActorId> = etcd_nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.etcd.as_ref().map(|e| (e.id, ActorId(i as u32))))
            .collect();
        let mut members = Vec::with_capacity(etcd_nodes.len());
        for node in etcd_nodes {
            let Some(spec) = node.etcd.clone() else {
                continue;
            };
            let host = hosts[&node.name];
            let mut cfg = EtcdConfig::new(spec.id, peers.clone());
            cfg.planted_bug_ack_before_fsync = topology.planted_bug_ack_before_fsync;
            let actor = sim.add_actor(host, ETCD_ACTOR, EtcdMember::<EtcdValue>::factory(cfg))?;
            assert_eq!(
                Some(&actor),
                peers.get(&spec.id),
                "etcd members are the engine's first actors"
            );
            members.push(EtcdMemberHandle {
                spec,
                host,
                actor,
                ip: node.ip,
            });
        }
        let mut apiservers = Vec::new();
        for node in nodes.iter().filter(|n| n.role == NodeRole::ControlPlane) {
            let host = hosts[&node.name];
            // The node's own member first (kubeadm points the apiserver at 127.0.0.1:2379);
            // the others follow so the client can fail over.
            let mut endpoints: Vec<(u64, ActorId)> = Vec::new();
            if let Some(local) = members.iter().find(|m| m.host == host) {
                endpoints.push((local.spec.id, local.actor));
            }
            endpoints.extend(
                members
                    .iter()
                    .filter(|m| m.host != host)
                    .map(|m| (m.spec.id, m.actor)),
            );
            let cfg = ApiServerConfig::new(endpoints);
            let actor = sim.add_actor(host, APISERVER_ACTOR, move |_| {
                KubeApiServer::<ClusterMsg>::new(cfg.clone())
            })?;
            apiservers.push(ApiServerHandle {
                node: node.name.clone(),
                host,
                actor,
            });
        }
        // kube-controller-manager and kube-scheduler on every control-plane node, each talking
        // to its own node's apiserver first (kubeadm's static pods use the local endpoint).
        let mut control_plane = Vec::new();
        for (i, a) in apiservers.iter().enumerate() {
            let mut endpoints = vec![a.actor];
            endpoints.extend(
                apiservers
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, b)| b.actor),
            );
            let mut kcm = ControllerManagerConfig::new(endpoints.clone(), a.node.clone());
            kcm.planted_bug_replicaset_without_expectations =
                topology.planted_bug_replicaset_without_expectations;
            kcm.kube_api_rate = topology.controller_manager_api_rate;
            let controller_manager =
                sim.add_actor(a.host, CONTROLLER_MANAGER_ACTOR, move |_| {
                    KubeControllerManager::<ClusterMsg>::new(kcm.clone())
                })?;
            let mut sched = SchedulerConfig::new(endpoints, &a.node);
            sched.planted_bug_ignore_assumed_pods = topology.planted_bug_ignore_assumed_pods;
            let scheduler = sim.add_actor(a.host, SCHEDULER_ACTOR, move |_| {
                KubeScheduler::new(sched.clone())
            })?;
            control_plane.push(ControlPlaneHandle {
                node: a.node.clone(),
                host: a.host,
                controller_manager,
                scheduler,
            });
        }
        let etcdctl = sim.add_actor(terminal, ETCDCTL_ACTOR, |_| EtcdctlClient::new())?;
        let admin = UserInfo::admin();
        let endpoints: Vec<ActorId> = apiservers.iter().map(|a| a.actor).collect();
        let kubectl_admin = {
            let user = admin.clone();
            sim.add_actor(terminal, KUBECTL_ACTOR, move |_| {
                KubectlClient::new(endpoints.clone(), user.clone())
            })?
        };
        let mut kubectl = BTreeMap::new();
        kubectl.insert((admin.name, admin.groups), kubectl_admin);
        install_safety_invariant::<ClusterMsg, EtcdValue>(
            &mut sim,
            members.iter().map(|m| m.actor).collect(),
        );
        let agents = match &topology.components {
            Some(options) => {
                let placed: Vec<(NodeSpec, HostId)> =
                    nodes.iter().map(|n| (n.clone(), hosts[&n.name])).collect();
                let servers: Vec<(HostId, ActorId)> =
                    apiservers.iter().map(|a| (a.host, a.actor)).collect();
                add_components(&mut sim, &placed, &servers, options, pod_network)?
            }
            None => Vec::new(),
        };
        // Last, so every other actor keeps its id: kubeadm's and kind's addons.
        if let Some(options) = topology
            .components
            .as_ref()
            .filter(|o| o.kube_system_addons)
        {
            let objects: Arc<[AddonObject]> = kind_addons(
                kubelet::config::KUBERNETES_VERSION,
                options.proxy_mode,
                pod_network,
            )?
            .into();
            let endpoints: Vec<ActorId> = apiservers.iter().map(|a| a.actor).collect();
            sim.add_actor(terminal, ADDONS_ACTOR, move |_| {
                AddonInstaller::new(endpoints.clone(), objects.clone())
            })?;
        }
        let ids: Vec<u64> = members.iter().map(|m| m.spec.id).collect();
        Ok(Cluster {
            agents,
            pod_network,
            sim,
            apiservers,
            control_plane,
            kubectl,
            topology,
            nodes,
            hosts,
            members,
            cluster_id: cluster_id(&ids),
            terminal,
            etcdctl,
        })
    }

    pub fn sim(&self) -> &Sim<ClusterMsg> {
        &self.sim
    }

    pub fn sim_mut(&mut self) -> &mut Sim<ClusterMsg> {
        &mut self.sim
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The pod network the nodes' /24s come from (`--cluster-cidr`; see
    /// [`Topology::pod_network`]).
    pub fn pod_network(&self) -> net::ClusterCidr {
        self.pod_network
    }

    /// The kind nodes, control planes first (the terminal host is not one).
    pub fn nodes(&self) -> &[NodeSpec] {
        &self.nodes
    }

    /// A node's host by its kind name.
    pub fn host(&self, name: &str) -> Option<HostId> {
        self.hosts.get(name).copied()
    }

    pub fn terminal_host(&self) -> HostId {
        self.terminal
    }

    /// Every node's runtime, kubelet and kube-proxy, in kind's node order; empty when the
    /// topology has no node components.
    pub fn node_agents(&self) -> &[NodeAgents] {
        &self.agents
    }

    pub fn etcd_members(&self) -> &[EtcdMemberHandle] {
        &self.members
    }

    /// The etcd cluster ID (response headers, `-w json`).
    pub fn etcd_cluster_id(&self) -> u64 {
        self.cluster_id
    }

    pub fn etcd_member(&self, member_id: u64) -> Option<&EtcdMember<EtcdValue>> {
        let m = self.members.iter().find(|m| m.spec.id == member_id)?;
        self.sim.actor::<EtcdMember<EtcdValue>>(m.actor)
    }

    fn host_up(&self, host: HostId) -> bool {
        self.sim.host_state(host) == Some(HostState::Up)
    }

    /// A running member's own view of its status (read from its state, not over the network).
    pub fn etcd_status(&self, member_id: u64) -> Option<StatusInfo> {
        let m = self.members.iter().find(|m| m.spec.id == member_id)?;
        if !self.host_up(m.host) {
            return None;
        }
        self.etcd_member(member_id)?.status()
    }

    /// The member that leads, among those up that believe they lead; a deposed leader cut off
    /// from the majority can still believe it until check-quorum steps it down, so the highest
    /// term wins.
    pub fn etcd_leader(&self) -> Option<EtcdLeader> {
        self.members
            .iter()
            .filter(|m| self.host_up(m.host))
            .filter_map(|m| {
                let node = self
                    .sim
                    .actor::<EtcdMember<EtcdValue>>(m.actor)?
                    .raw_node()?;
                let raft = node.raft();
                (raft.role == Role::Leader).then(|| EtcdLeader {
                    host: m.spec.name.clone(),
                    host_id: m.host,
                    member_id: m.spec.id,
                    term: raft.term,
                })
            })
            .max_by_key(|l| l.term)
    }

    /// Resolves a scenario's `Leader(component)` target to the host to fault.
    pub fn resolve_leader(&self, component: &str) -> Result<HostId, LeaderError> {
        match component {
            "etcd" => self
                .etcd_leader()
                .map(|l| l.host_id)
                .ok_or_else(|| LeaderError::NoLeader {
                    component: component.to_owned(),
                }),
            "kube-controller-manager" | "kube-scheduler" => self
                .control_plane
                .iter()
                .filter(|c| self.host_up(c.host))
                .find(|c| {
                    if component == "kube-scheduler" {
                        self.sim
                            .actor::<KubeScheduler>(c.scheduler)
                            .is_some_and(|s| s.is_leader())
                    } else {
                        self.sim
                            .actor::<KubeControllerManager<ClusterMsg>>(c.controller_manager)
                            .is_some_and(|m| m.is_leader())
                    }
                })
                .map(|c| c.host)
                .ok_or_else(|| LeaderError::NoLeader {
                    component: component.to_owned(),
                }),
            other => Err(LeaderError::Unknown {
                name: other.to_owned(),
            }),
        }
    }

    /// Runs until a leader exists that every live member follows, at most `limit`; the leader,
    /// or `None` if none emerged in time. kind's `create cluster` likewise waits for the
    /// control plane before a user types anything.
    pub fn run_until_etcd_ready(&mut self, limit: Duration) -> Result<Option<EtcdLeader>, Finding> {
        let deadline = self.sim.now() + limit;
        let poll = Duration::from_millis(10);
        loop {
            if let Some(l) = self.etcd_leader() {
                let all_follow = self
                    .members
                    .iter()
                    .filter(|m| self.host_up(m.host))
                    .all(|m| {
                        self.etcd_status(m.spec.id)
                            .is_some_and(|s| s.leader == Some(l.member_id))
                    });
                if all_follow {
                    return Ok(Some(l));
                }
            }
            if self.sim.now() >= deadline {
                return Ok(None);
            }
            let next = (self.sim.now() + poll).min(deadline);
            self.sim.run_until(next)?;
        }
    }

    /// Sends `body` from the terminal to member `member_id` and runs the simulation until its
    /// answer arrives or `timeout` of virtual time passes; the clock stops at the answer.
    pub fn etcd_request(
        &mut self,
        member_id: u64,
        body: RequestBody<EtcdValue>,
        timeout: Duration,
    ) -> Result<EtcdAnswer, RequestError> {
        let deadline = self.sim.now() + timeout;
        let Some(member) = self.members.iter().find(|m| m.spec.id == member_id) else {
            // Not a member: nothing answers, as a dial to an address nobody serves.
            self.sim.run_until(deadline)?;
            return Err(RequestError::Timeout);
        };
        let to = member.actor;
        let etcdctl = self.etcdctl;
        let id = self
            .sim
            .invoke::<EtcdctlClient, _>(etcdctl, |c, ctx| c.send(ctx, to, body))?
            .ok_or(RequestError::TerminalDown)?
            .ok_or(RequestError::Busy)?;
        loop {
            if let Some(answer) = self
                .sim
                .actor_mut::<EtcdctlClient>(etcdctl)
                .and_then(|c| c.take_answer(id))
            {
                return Ok(answer);
            }
            match self.sim.next_event_time() {
                Some(t) if t <= deadline => {
                    self.sim.step()?;
                }
                _ => {
                    self.sim.run_until(deadline)?;
                    if let Some(c) = self.sim.actor_mut::<EtcdctlClient>(etcdctl) {
                        c.abandon(id);
                    }
                    return Err(RequestError::Timeout);
                }
            }
        }
    }

    /// Whether the terminal can reach a member right now (its host is up and no partition
    /// lies between): what clientv3's balancer learns from its connections' state.
    pub fn etcd_reachable(&self, member_id: u64) -> bool {
        self.members.iter().any(|m| {
            m.spec.id == member_id
                && self.host_up(m.host)
                && !self.sim.is_partitioned(self.terminal, m.host)
                && !self.sim.is_partitioned(m.host, self.terminal)
        })
    }

    /// The controller-manager and scheduler of each control-plane node.
    pub fn control_plane(&self) -> &[ControlPlaneHandle] {
        &self.control_plane
    }

    pub fn apiservers(&self) -> &[ApiServerHandle] {
        &self.apiservers
    }

    /// A running apiserver's state (`None` while its host is down).
    pub fn apiserver(&self, actor: ActorId) -> Option<&KubeApiServer<ClusterMsg>> {
        let a = self.apiservers.iter().find(|a| a.actor == actor)?;
        if !self.host_up(a.host) {
            return None;
        }
        self.sim.actor::<KubeApiServer<ClusterMsg>>(actor)
    }

    /// Every live apiserver has loaded its watch cache, and the bootstrap objects (namespaces,
    /// RBAC, the `kubernetes` Service) are written.
    pub fn apiservers_ready(&self) -> bool {
        let live: Vec<&KubeApiServer<ClusterMsg>> = self
            .apiservers
            .iter()
            .filter_map(|a| self.apiserver(a.actor))
            .collect();
        !live.is_empty()
            && live.iter().all(|s| s.is_ready())
            && live.iter().any(|s| s.is_bootstrapped())
    }

    /// Runs until etcd has a leader every member follows and the apiservers are ready and
    /// bootstrapped, at most `limit` in all: what `kind create cluster` waits for before a
    /// user types anything. The etcd leader, or `None` if the control plane was not ready in
    /// time.
    pub fn run_until_ready(&mut self, limit: Duration) -> Result<Option<EtcdLeader>, Finding> {
        let deadline = self.sim.now() + limit;
        let Some(_) = self.run_until_etcd_ready(limit)? else {
            return Ok(None);
        };
        let poll = Duration::from_millis(10);
        loop {
            if self.apiservers_ready() {
                return Ok(self.etcd_leader());
            }
            if self.sim.now() >= deadline {
                return Ok(None);
            }
            let next = (self.sim.now() + poll).min(deadline);
            self.sim.run_until(next)?;
        }
    }

    /// The kubectl client acting as `user`, added to the terminal host on first use.
    pub fn kubectl_actor(&mut self, user: &UserInfo) -> Result<ActorId, SimError> {
        let key = (user.name.clone(), user.groups.clone());
        if let Some(a) = self.kubectl.get(&key) {
            return Ok(*a);
        }
        let endpoints: Vec<ActorId> = self.apiservers.iter().map(|a| a.actor).collect();
        let who = user.clone();
        // Actor names are unique per host.
        let name = format!("{KUBECTL_ACTOR}-as-{}", user.name);
        let actor = self.sim.add_actor(self.terminal, &name, move |_| {
            KubectlClient::new(endpoints.clone(), who.clone())
        })?;
        self.kubectl.insert(key, actor);
        Ok(actor)
    }

    /// Sends `request` as `user` from the terminal and runs the simulation until its answer
    /// (the client retries reads on another apiserver) or `timeout` of virtual time; the
    /// clock stops at the answer.
    pub fn api_request(
        &mut self,
        user: &UserInfo,
        request: ApiRequest,
        timeout: Duration,
    ) -> Result<Result<ApiReply, ClientError>, RequestError> {
        let deadline = self.sim.now() + timeout;
        let kubectl = self.kubectl_actor(user)?;
        let id = self
            .sim
            .invoke::<KubectlClient, _>(kubectl, |c, ctx| c.send(ctx, request))?
            .ok_or(RequestError::TerminalDown)?
            .ok_or(RequestError::Busy)?;
        loop {
            if let Some(answer) = self
                .sim
                .actor_mut::<KubectlClient>(kubectl)
                .and_then(|c| c.take_answer(id))
            {
                return Ok(answer);
            }
            match self.sim.next_event_time() {
                Some(t) if t <= deadline => {
                    self.sim.step()?;
                }
                _ => {
                    self.sim.run_until(deadline)?;
                    self.sim
                        .invoke::<KubectlClient, _>(kubectl, |c, ctx| c.abandon(ctx, id))?;
                    return Err(RequestError::Timeout);
                }
            }
        }
    }
}
