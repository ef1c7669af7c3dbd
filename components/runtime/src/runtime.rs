//! `ContainerRuntime`: the per-node CRI actor (containerd in a kind node). It answers the
//! kubelet's calls, acts out each container's image behaviour on the virtual clock (exit after
//! t, SIGTERM handling, readiness), pushes exit events to the kubelet, and answers Service
//! traffic addressed to its pods.
//!
//! Follows containerd's CRI plugin (`internal/cri/server`): StopContainer sends the image's
//! stop signal (SIGTERM), waits `timeout`, then SIGKILLs (exit code 137); StopPodSandbox kills
//! what still runs and tears down the network (the address is released); an exited container
//! stays until RemoveContainer. Simplifications in the modules it uses ([`crate::images`],
//! [`crate::state`]); traffic is served by the first listening container of the pod (ports are
//! not modelled).

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::net::Ipv4Addr;
use std::sync::Arc;

use net::{Outcome, PodCidr, TrafficEnvelope, TrafficMessage};
use sim::{Actor, ActorId, Ctx, Duration, Time};

use crate::access_log::{self, Access};
use crate::behaviour::ImageCatalog;
use crate::containerd_log;
use crate::images::{Enqueued, ImageName, pull_duration};
use crate::message::{
    ContainerEvent, ExitCause, ProbeKind, ProcessExit, RuntimeCall, RuntimeEnvelope, RuntimeError,
    RuntimeMessage, RuntimeReply,
};
use crate::state::{
    Container, ContainerState, LogText, MAX_CONTAINERS, RuntimeState, Sandbox, SandboxState,
    Stopping,
};

/// SIGKILL's exit code (128 + 9).
pub const EXIT_CODE_SIGKILL: i32 = 137;
/// Responses to Service traffic waiting out the server's latency, at most.
pub const MAX_PENDING_RESPONSES: usize = 65_536;

const KIND_SHIFT: u32 = 56;
const KIND_PULL: u64 = 1;
const KIND_EXIT: u64 = 2;
const KIND_TERM_DONE: u64 = 3;
const KIND_KILL: u64 = 4;
const KIND_RESPONSE: u64 = 5;
const KIND_REPLY: u64 = 6;
const LOW_MASK: u64 = (1 << KIND_SHIFT) - 1;

fn tag(kind: u64, n: u64) -> u64 {
    (kind << KIND_SHIFT) | (n & LOW_MASK)
}

/// The runtime's configuration, from the cluster's topology and the scenario's `images:`.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    pub node_name: String,
    /// The node's address (host-network sandboxes get it).
    pub node_ip: Ipv4Addr,
    /// The node's /24 of the pod network.
    pub pod_cidr: PodCidr,
    pub images: Arc<ImageCatalog>,
    /// The node's download bandwidth for pulls.
    pub bandwidth_bytes_per_sec: u64,
    /// Registry round trips (token, manifest, config) before the layers download.
    pub registry_round_trips: Duration,
    /// Images on the node before anything runs (kind's node image ships the control plane's).
    pub preloaded_images: Vec<String>,
    /// RunPodSandbox's own time: the CNI ADD and the pause container's start.
    pub sandbox_setup: Duration,
    /// StartContainer's own time (the shim and the process start).
    pub container_start: Duration,
}

impl RuntimeConfig {
    /// 50 MiB/s and 300 ms of round trips: an unlisted image (35 MiB) pulls in a second.
    pub fn new(node_name: impl Into<String>, node_ip: Ipv4Addr, pod_cidr: PodCidr) -> Self {
        RuntimeConfig {
            node_name: node_name.into(),
            node_ip,
            pod_cidr,
            images: Arc::new(ImageCatalog::new()),
            bandwidth_bytes_per_sec: 50 * 1024 * 1024,
            registry_round_trips: Duration::from_millis(300),
            sandbox_setup: Duration::from_millis(400),
            container_start: Duration::from_millis(50),
            preloaded_images: Vec::new(),
        }
    }
}

/// A response to Service traffic waiting out the server's latency.
#[derive(Clone, Debug)]
struct PendingResponse {
    to: ActorId,
    id: u64,
    outcome: Outcome,
    served_in: Duration,
}

/// The container runtime actor.
pub struct ContainerRuntime<M> {
    cfg: RuntimeConfig,
    state: RuntimeState,
    /// Where events go: the last caller (the node's kubelet).
    subscriber: Option<ActorId>,
    /// When each pull call arrived, to report how long it took.
    pull_called: BTreeMap<(ActorId, u64), Time>,
    responses: BTreeMap<u64, PendingResponse>,
    /// Answers to calls that take time of their own (sandbox setup, container start).
    delayed_replies: BTreeMap<u64, (ActorId, u64, Result<RuntimeReply, RuntimeError>)>,
    next_token: u64,
    /// Counters for tests and metrics.
    pub calls: u64,
    pub requests_served: u64,
    pub requests_refused: u64,
    _m: PhantomData<fn() -> M>,
}

impl<M> ContainerRuntime<M> {
    pub fn new(cfg: RuntimeConfig) -> Self {
        let state = RuntimeState::new(cfg.node_name.clone(), cfg.node_ip, cfg.pod_cidr);
        ContainerRuntime {
            cfg,
            state,
            subscriber: None,
            pull_called: BTreeMap::new(),
            responses: BTreeMap::new(),
            delayed_replies: BTreeMap::new(),
            next_token: 1,
            calls: 0,
            requests_served: 0,
            requests_refused: 0,
            _m: PhantomData,
        }
    }

    /// Sandboxes, containers and images (what `crictl` prints).
    pub fn state(&self) -> &RuntimeState {
        &self.state
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.cfg
    }
}

impl<M: RuntimeEnvelope + TrafficEnvelope> ContainerRuntime<M> {
    fn reply(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        to: ActorId,
        id: u64,
        result: Result<RuntimeReply, RuntimeError>,
    ) {
        ctx.send(to, M::wrap_runtime(RuntimeMessage::Reply { id, result }));
    }

    fn new_id(ctx: &mut Ctx<'_, M>) -> String {
        let rng = ctx.rng();
        (0..4).map(|_| format!("{:016x}", rng.next_u64())).collect()
    }

    fn on_call(&mut self, ctx: &mut Ctx<'_, M>, from: ActorId, id: u64, call: RuntimeCall) {
        self.calls += 1;
        self.subscriber = Some(from);
        let now = ctx.now();
        let begun = call_line(&call);
        if let Some(line) = &begun {
            containerd_log::info(ctx, line);
        }
        let result = match call {
            RuntimeCall::ImageStatus { image } => Ok(RuntimeReply::ImageStatus {
                image_id: self.state.images.get(&image).map(|i| i.id.clone()),
            }),
            RuntimeCall::PullImage { image } => {
                match self.state.images.enqueue(&image, (from, id)) {
                    Enqueued::Refused => Err(RuntimeError::PullQueueFull {
                        waiting: self.state.images.queued(),
                    }),
                    e => {
                        self.pull_called.insert((from, id), now);
                        if e == Enqueued::StartNow {
                            self.start_pull(ctx);
                        }
                        return;
                    }
                }
            }
            RuntimeCall::RunPodSandbox {
                pod_uid,
                namespace,
                name,
                attempt,
                host_network,
            } => self.run_sandbox(ctx, pod_uid, namespace, name, attempt, host_network),
            RuntimeCall::StopPodSandbox { sandbox_id } => self.stop_sandbox(ctx, &sandbox_id),
            RuntimeCall::RemovePodSandbox { sandbox_id } => {
                self.remove_sandbox(ctx, &sandbox_id);
                Ok(RuntimeReply::Done)
            }
            RuntimeCall::CreateContainer {
                sandbox_id,
                name,
                image,
                attempt,
            } => self.create_container(ctx, sandbox_id, name, image, attempt),
            RuntimeCall::StartContainer { container_id } => {
                self.start_container(ctx, &container_id)
            }
            RuntimeCall::StopContainer {
                container_id,
                timeout,
            } => match self.stop_container(ctx, &container_id, timeout, (from, id)) {
                Ok(None) => return,
                Ok(Some(reply)) => Ok(reply),
                Err(e) => Err(e),
            },
            RuntimeCall::RemoveContainer { container_id } => {
                self.remove_container(ctx, &container_id)
            }
            RuntimeCall::Probe {
                container_id,
                probe,
            } => self.probe(now, &container_id, probe),
        };
        if let Some(line) = &begun {
            match &result {
                Ok(RuntimeReply::SandboxReady { sandbox_id, .. }) => containerd_log::info(
                    ctx,
                    &format!("{line} returns sandbox id \"{sandbox_id}\""),
                ),
                Ok(RuntimeReply::ContainerCreated { container_id }) => containerd_log::info(
                    ctx,
                    &format!(
                        "{} returns container id \"{container_id}\"",
                        line.replacen(" for container &", " for &", 1)
                    ),
                ),
                Ok(RuntimeReply::ContainerStopped { .. }) => {}
                Ok(_) => containerd_log::info(ctx, &format!("{line} returns successfully")),
                Err(e) => containerd_log::error(ctx, &format!("{line} failed"), &e.to_string()),
            }
        }
        let delay = match &result {
            Ok(RuntimeReply::SandboxReady { .. }) => self.cfg.sandbox_setup,
            Ok(RuntimeReply::ContainerStarted { .. }) => self.cfg.container_start,
            _ => Duration::ZERO,
        };
        if delay == Duration::ZERO {
            self.reply(ctx, from, id, result);
            return;
        }
        let token = self.next_token;
        self.next_token += 1;
        self.delayed_replies.insert(token, (from, id, result));
        ctx.set_timer(delay, tag(KIND_REPLY, token));
    }

    fn start_pull(&mut self, ctx: &mut Ctx<'_, M>) {
        let now = ctx.now();
        let images = self.cfg.images.clone();
        let (bw, rtt) = (
            self.cfg.bandwidth_bytes_per_sec,
            self.cfg.registry_round_trips,
        );
        let took = |job: &crate::images::PullJob| {
            let b = images.get(&job.full);
            if b.pull_error.is_some() {
                rtt
            } else {
                pull_duration(b.size_bytes, bw, rtt)
            }
        };
        if let Some(job) = self.state.images.start_next(now, took) {
            let delay = took(job);
            ctx.set_timer(delay, tag(KIND_PULL, 0));
        }
    }

    fn run_sandbox(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        pod_uid: String,
        namespace: String,
        name: String,
        attempt: u32,
        host_network: bool,
    ) -> Result<RuntimeReply, RuntimeError> {
        if let Some(s) = self.state.sandboxes.values().find(|s| {
            s.pod_uid == pod_uid && s.attempt == attempt && s.state == SandboxState::Ready
        }) {
            return Ok(RuntimeReply::SandboxReady {
                sandbox_id: s.id.clone(),
                ip: s.ip,
            });
        }
        let ip = if host_network {
            self.cfg.node_ip
        } else {
            self.state
                .allocate_ip()
                .ok_or_else(|| RuntimeError::AddressesExhausted {
                    cidr: self.cfg.pod_cidr.to_string(),
                })?
        };
        let id = Self::new_id(ctx);
        if !host_network {
            self.state.by_ip.insert(ip, id.clone());
        }
        self.state.sandboxes.insert(
            id.clone(),
            Sandbox {
                id: id.clone(),
                pod_uid,
                namespace,
                name,
                attempt,
                host_network,
                ip,
                state: SandboxState::Ready,
                created_at: ctx.now(),
            },
        );
        Ok(RuntimeReply::SandboxReady { sandbox_id: id, ip })
    }

    fn stop_sandbox(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        sandbox_id: &str,
    ) -> Result<RuntimeReply, RuntimeError> {
        let Some(s) = self.state.sandboxes.get_mut(sandbox_id) else {
            // CRI: stopping a sandbox that is gone succeeds.
            return Ok(RuntimeReply::Done);
        };
        s.state = SandboxState::NotReady;
        let ip = s.ip;
        if self.state.by_ip.get(&ip).is_some_and(|id| id == sandbox_id) {
            self.state.by_ip.remove(&ip);
        }
        let running: Vec<String> = self
            .state
            .containers_of(sandbox_id)
            .filter(|c| c.state == ContainerState::Running)
            .map(|c| c.id.clone())
            .collect();
        for id in running {
            self.exit(ctx, &id, EXIT_CODE_SIGKILL, ExitCause::Killed);
        }
        Ok(RuntimeReply::Done)
    }

    fn remove_sandbox(&mut self, ctx: &mut Ctx<'_, M>, sandbox_id: &str) {
        let _ = self.stop_sandbox(ctx, sandbox_id);
        let ids: Vec<String> = self
            .state
            .containers_of(sandbox_id)
            .map(|c| c.id.clone())
            .collect();
        for id in ids {
            let _ = self.remove_container(ctx, &id);
        }
        self.state.sandboxes.remove(sandbox_id);
    }

    fn create_container(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        sandbox_id: String,
        name: String,
        image: String,
        attempt: u32,
    ) -> Result<RuntimeReply, RuntimeError> {
        if self.state.containers.len() >= MAX_CONTAINERS {
            return Err(RuntimeError::Busy(self.state.containers.len()));
        }
        match self.state.sandboxes.get(&sandbox_id) {
            Some(s) if s.state == SandboxState::Ready => {}
            _ => return Err(RuntimeError::NoSuchSandbox(sandbox_id)),
        }
        let Some(stored) = self.state.images.get(&image) else {
            return Err(RuntimeError::ImageNotPresent(image));
        };
        let image_id = stored.id.clone();
        let id = Self::new_id(ctx);
        let seq = self.state.next_seq;
        self.state.next_seq += 1;
        let behaviour = self.cfg.images.get(&image);
        let access_log = behaviour
            .access_log
            .unwrap_or_else(|| access_log::logs_requests_by_name(&image));
        self.state.by_seq.insert(seq, id.clone());
        self.state.containers.insert(
            id.clone(),
            Container {
                id: id.clone(),
                seq,
                sandbox_id,
                name,
                image,
                image_id,
                attempt,
                state: ContainerState::Created,
                created_at: ctx.now(),
                started_at: None,
                finished_at: None,
                exit_code: None,
                behaviour,
                exit_timer: None,
                stopping: None,
                access_log,
                logs: Vec::new(),
            },
        );
        Ok(RuntimeReply::ContainerCreated { container_id: id })
    }

    fn start_container(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        container_id: &str,
    ) -> Result<RuntimeReply, RuntimeError> {
        let now = ctx.now();
        let Some(c) = self.state.containers.get_mut(container_id) else {
            return Err(RuntimeError::NoSuchContainer(container_id.to_string()));
        };
        if c.state != ContainerState::Created {
            return Err(RuntimeError::WrongState {
                id: container_id.to_string(),
                state: c.state.as_str(),
                expected: "Created",
            });
        }
        c.state = ContainerState::Running;
        c.started_at = Some(now);
        let behaviour = c.behaviour.clone();
        for line in &behaviour.logs {
            c.log(now, LogText::Printed(line.clone()));
        }
        if let Some(after) = behaviour.exits_after {
            c.exit_timer = Some(ctx.set_timer(after, tag(KIND_EXIT, c.seq)));
        }
        Ok(RuntimeReply::ContainerStarted { started_at: now })
    }

    /// Ok(None): the answer comes when the process is gone.
    fn stop_container(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        container_id: &str,
        timeout: Duration,
        waiter: (ActorId, u64),
    ) -> Result<Option<RuntimeReply>, RuntimeError> {
        let Some(c) = self.state.containers.get_mut(container_id) else {
            return Err(RuntimeError::NoSuchContainer(container_id.to_string()));
        };
        match c.state {
            ContainerState::Exited => {
                return Ok(Some(RuntimeReply::ContainerStopped {
                    exit_code: c.exit_code.unwrap_or(0),
                }));
            }
            ContainerState::Created => {
                c.state = ContainerState::Exited;
                c.exit_code = Some(0);
                c.finished_at = Some(ctx.now());
                return Ok(Some(RuntimeReply::ContainerStopped { exit_code: 0 }));
            }
            ContainerState::Running => {}
        }
        let seq = c.seq;
        if let Some(st) = &mut c.stopping {
            // A second stop (a shorter grace period) may bring SIGKILL forward.
            st.waiters.push(waiter);
            if let Some(t) = st.kill_timer.take() {
                ctx.cancel_timer(t);
            }
            st.kill_timer = Some(ctx.set_timer(timeout, tag(KIND_KILL, seq)));
            return Ok(None);
        }
        let shutdown = c.behaviour.shutdown_after;
        let term_timer =
            (shutdown <= timeout).then(|| ctx.set_timer(shutdown, tag(KIND_TERM_DONE, seq)));
        let kill_timer = Some(ctx.set_timer(timeout, tag(KIND_KILL, seq)));
        c.stopping = Some(Stopping {
            waiters: vec![waiter],
            kill_timer,
            term_timer,
        });
        Ok(None)
    }

    fn remove_container(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        container_id: &str,
    ) -> Result<RuntimeReply, RuntimeError> {
        if self
            .state
            .containers
            .get(container_id)
            .is_some_and(|c| c.state == ContainerState::Running)
        {
            self.exit(ctx, container_id, EXIT_CODE_SIGKILL, ExitCause::Killed);
        }
        if let Some(c) = self.state.containers.remove(container_id) {
            self.state.by_seq.remove(&c.seq);
        }
        Ok(RuntimeReply::Done)
    }

    fn probe(
        &self,
        now: Time,
        container_id: &str,
        probe: ProbeKind,
    ) -> Result<RuntimeReply, RuntimeError> {
        let Some(c) = self.state.containers.get(container_id) else {
            return Err(RuntimeError::NoSuchContainer(container_id.to_string()));
        };
        if c.state != ContainerState::Running {
            return Err(RuntimeError::WrongState {
                id: container_id.to_string(),
                state: c.state.as_str(),
                expected: "Running",
            });
        }
        let up = c.running_for(now);
        let b = &c.behaviour;
        let (success, output) = match probe {
            ProbeKind::Liveness => (b.live(up), "HTTP probe failed with statuscode: 500"),
            ProbeKind::Readiness => (b.ready(up), readiness_failure(b.listening(up))),
            ProbeKind::Startup => (b.listening(up), readiness_failure(false)),
        };
        Ok(RuntimeReply::Probed {
            success,
            output: if success {
                String::new()
            } else {
                output.to_string()
            },
        })
    }

    /// The process ends: state, timers, event to the kubelet, waiters answered.
    fn exit(&mut self, ctx: &mut Ctx<'_, M>, container_id: &str, exit_code: i32, cause: ExitCause) {
        let now = ctx.now();
        let Some(c) = self.state.containers.get_mut(container_id) else {
            return;
        };
        if c.state != ContainerState::Running {
            return;
        }
        c.state = ContainerState::Exited;
        c.exit_code = Some(exit_code);
        c.finished_at = Some(now);
        if let Some(t) = c.exit_timer.take() {
            ctx.cancel_timer(t);
        }
        let waiters = match c.stopping.take() {
            Some(st) => {
                for t in [st.kill_timer, st.term_timer].into_iter().flatten() {
                    ctx.cancel_timer(t);
                }
                st.waiters
            }
            None => Vec::new(),
        };
        let exited = format!(
            "received exit event container_id:\"{id}\" id:\"{id}\" exit_status:{exit_code}",
            id = c.id
        );
        let event = ContainerEvent::Exited {
            container_id: c.id.clone(),
            sandbox_id: c.sandbox_id.clone(),
            exit_code,
            cause,
            started_at: c.started_at.unwrap_or(now),
            finished_at: now,
        };
        containerd_log::info(ctx, &exited);
        // The event first: a kubelet that sees the stop answered already knows the exit.
        if let Some(sub) = self.subscriber {
            ctx.send(sub, M::wrap_runtime(RuntimeMessage::Event(event)));
        }
        for (to, id) in waiters {
            self.reply(
                ctx,
                to,
                id,
                Ok(RuntimeReply::ContainerStopped { exit_code }),
            );
        }
    }

    /// The process of a running container ended on its own (see
    /// [`RuntimeMessage::ProcessExited`]): the container exits with its code.
    fn process_exited(&mut self, ctx: &mut Ctx<'_, M>, e: &ProcessExit) {
        let running = self.state.containers.values().find(|c| {
            c.name == e.container
                && c.state == ContainerState::Running
                && self
                    .state
                    .sandboxes
                    .get(&c.sandbox_id)
                    .is_some_and(|s| s.namespace == e.namespace && s.name == e.pod)
        });
        if let Some(id) = running.map(|c| c.id.clone()) {
            self.exit(ctx, &id, e.exit_code, ExitCause::Exited);
        }
    }

    fn on_traffic(&mut self, ctx: &mut Ctx<'_, M>, from: ActorId, msg: TrafficMessage) {
        let TrafficMessage::Request {
            id,
            to,
            from: client,
            ..
        } = msg
        else {
            return;
        };
        let now = ctx.now();
        let server = self.state.sandbox_at(to.ip).and_then(|s| {
            self.state
                .containers_of(&s.id)
                // A process shutting down after SIGTERM keeps answering until it exits (its
                // `shutdown_after` is a graceful drain); one with no drain exits at once.
                .filter(|c| c.state == ContainerState::Running)
                .find(|c| c.behaviour.listening(c.running_for(now)))
                .map(|c| c.id.clone())
        });
        let found = match server {
            Some(id) => self.state.containers.get_mut(&id),
            None => None,
        };
        let Some(c) = found else {
            self.requests_refused += 1;
            ctx.send(
                from,
                M::wrap_traffic(TrafficMessage::Response {
                    id,
                    outcome: Outcome::Refused,
                    served_in: Duration::ZERO,
                }),
            );
            return;
        };
        let status = if c.behaviour.fails_readiness {
            503
        } else {
            200
        };
        let latency = c.behaviour.serve_latency;
        if c.access_log {
            c.log(now, LogText::Access(Access { client, status }));
        }
        self.requests_served += 1;
        let response = PendingResponse {
            to: from,
            id,
            outcome: Outcome::Answered { status },
            served_in: latency,
        };
        if latency == Duration::ZERO || self.responses.len() >= MAX_PENDING_RESPONSES {
            self.send_response(ctx, response);
            return;
        }
        let token = self.next_token;
        self.next_token += 1;
        self.responses.insert(token, response);
        ctx.set_timer(latency, tag(KIND_RESPONSE, token));
    }

    fn send_response(&mut self, ctx: &mut Ctx<'_, M>, r: PendingResponse) {
        ctx.send(
            r.to,
            M::wrap_traffic(TrafficMessage::Response {
                id: r.id,
                outcome: r.outcome,
                served_in: r.served_in,
            }),
        );
    }

    fn container_by_seq(&self, seq: u64) -> Option<String> {
        self.state.by_seq.get(&seq).cloned()
    }
}

fn readiness_failure(listening: bool) -> &'static str {
    if listening {
        "HTTP probe failed with statuscode: 503"
    } else {
        "Get \"http://POD_IP/\": dial tcp: connect: connection refused"
    }
}

impl<M: RuntimeEnvelope + TrafficEnvelope> Actor<M> for ContainerRuntime<M> {
    fn on_start(&mut self, ctx: &mut Ctx<'_, M>) {
        let now = ctx.now();
        for image in self.cfg.preloaded_images.clone() {
            let size = self.cfg.images.get(&image).size_bytes;
            self.state.images.preload(&image, size, now);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, M>, from: ActorId, msg: M) {
        match msg.unwrap_runtime() {
            Ok(RuntimeMessage::Call { id, call }) => self.on_call(ctx, from, id, call),
            Ok(RuntimeMessage::ProcessExited(e)) => self.process_exited(ctx, &e),
            Ok(_) => {}
            Err(other) => {
                if let Ok(t) = other.unwrap_traffic() {
                    self.on_traffic(ctx, from, t);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, M>, t: u64) {
        let n = t & LOW_MASK;
        match t >> KIND_SHIFT {
            KIND_PULL => self.complete_pull(ctx),
            KIND_EXIT => {
                if let Some(id) = self.container_by_seq(n) {
                    if let Some(c) = self.state.containers.get_mut(&id) {
                        c.exit_timer = None;
                    }
                    let code = self
                        .state
                        .containers
                        .get(&id)
                        .map_or(0, |c| c.behaviour.exit_code);
                    self.exit(ctx, &id, code, ExitCause::Exited);
                }
            }
            KIND_TERM_DONE => {
                if let Some(id) = self.container_by_seq(n) {
                    self.exit(ctx, &id, 0, ExitCause::Terminated);
                }
            }
            KIND_KILL => {
                if let Some(id) = self.container_by_seq(n) {
                    self.exit(ctx, &id, EXIT_CODE_SIGKILL, ExitCause::Killed);
                }
            }
            KIND_REPLY => {
                if let Some((to, id, result)) = self.delayed_replies.remove(&n) {
                    self.reply(ctx, to, id, result);
                }
            }
            KIND_RESPONSE => {
                if let Some(r) = self.responses.remove(&n) {
                    self.send_response(ctx, r);
                }
            }
            _ => {}
        }
    }
}

impl<M: RuntimeEnvelope + TrafficEnvelope> ContainerRuntime<M> {
    fn complete_pull(&mut self, ctx: &mut Ctx<'_, M>) {
        let now = ctx.now();
        // The timer measures the pull (one timer per pull, set when it starts): it is done
        // now, whatever the host's clock reads. Comparing with the end in the host's time
        // once stalled the pull for ever when the clock stepped back meanwhile (a Skew), and
        // every pod waiting for the image stayed ContainerCreating.
        if self.state.images.current_ends_at().is_none() {
            return;
        }
        let behaviour = self
            .state
            .images
            .current_job()
            .map(|j| self.cfg.images.get(&j.full));
        let Some(b) = behaviour else { return };
        let size = b.pull_error.is_none().then_some(b.size_bytes);
        let Some(job) = self.state.images.finish_current(now, size) else {
            return;
        };
        let name = ImageName::parse(&job.full);
        let pulled = format!("PullImage \"{}\"", job.full);
        match &b.pull_error {
            Some(message) => containerd_log::error(ctx, &format!("{pulled} failed"), message),
            None => containerd_log::info(
                ctx,
                &format!("{pulled} returns image reference \"{}\"", name.image_id()),
            ),
        }
        for (to, id) in job.waiters {
            let called = self.pull_called.remove(&(to, id)).unwrap_or(now);
            let result = match &b.pull_error {
                Some(message) => Err(RuntimeError::PullFailed {
                    image: name.full(),
                    message: message.clone(),
                }),
                None => Ok(RuntimeReply::Pulled {
                    image_id: name.image_id(),
                    size_bytes: b.size_bytes,
                    took: now.saturating_since(called),
                }),
            };
            self.reply(ctx, to, id, result);
        }
        self.start_pull(ctx);
    }
}

/// containerd's line when a CRI call begins (`internal/cri/server/*.go`); `None` for calls it
/// does not log at info (image status, probes: exec probes log nothing at info).
fn call_line(call: &RuntimeCall) -> Option<String> {
    Some(match call {
        RuntimeCall::ImageStatus { .. } | RuntimeCall::Probe { .. } => return None,
        RuntimeCall::PullImage { image } => format!("PullImage \"{image}\""),
        RuntimeCall::RunPodSandbox {
            pod_uid,
            namespace,
            name,
            attempt,
            ..
        } => format!(
            "RunPodSandbox for &PodSandboxMetadata{{Name:{name},Uid:{pod_uid},Namespace:{namespace},Attempt:{attempt},}}"
        ),
        RuntimeCall::StopPodSandbox { sandbox_id } => {
            format!("StopPodSandbox for \"{sandbox_id}\"")
        }
        RuntimeCall::RemovePodSandbox { sandbox_id } => {
            format!("RemovePodSandbox for \"{sandbox_id}\"")
        }
        RuntimeCall::CreateContainer {
            sandbox_id,
            name,
            attempt,
            ..
        } => format!(
            "CreateContainer within sandbox \"{sandbox_id}\" for container &ContainerMetadata{{Name:{name},Attempt:{attempt},}}"
        ),
        RuntimeCall::StartContainer { container_id } => {
            format!("StartContainer for \"{container_id}\"")
        }
        RuntimeCall::StopContainer {
            container_id,
            timeout,
        } => format!(
            "StopContainer for \"{container_id}\" with timeout {} (s)",
            timeout.as_secs_f64().round()
        ),
        RuntimeCall::RemoveContainer { container_id } => {
            format!("RemoveContainer for \"{container_id}\"")
        }
    })
}
