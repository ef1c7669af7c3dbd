//! The kubelet ↔ runtime protocol: the CRI calls kubesim's kubelet makes, their replies, and
//! the container events the runtime pushes (containerd's `GetContainerEvents` stream, which
//! the kubelet's evented PLEG consumes).
//!
//! Both run on the same host, so calls go over the host's loopback (never lost, never cut by
//! a partition). A call carries an id chosen by the caller; its [`RuntimeMessage::Reply`]
//! carries the same id. [`RuntimeMessage::Event`]s go to the last actor that called (the
//! node's kubelet).
//!
//! Follows `staging/src/k8s.io/cri-api/pkg/apis/runtime/v1/api.proto` in naming (RunPodSandbox,
//! CreateContainer, StopContainer with a timeout, ...). Simplifications: no ListContainers or
//! status calls (the kubelet learns state from replies and events), no exec/attach/port-forward;
//! probes are a call answered from the image's behaviour instead of HTTP or exec.

use std::net::Ipv4Addr;

use sim::{Duration, Message, Time, TraceHasher, rng::stable_hash};
use thiserror::Error;

/// What the kubelet asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuntimeCall {
    /// `ImageStatus`: is the image on the node?
    ImageStatus { image: String },
    /// `PullImage`: pulls it (in line behind other pulls); answered when done.
    PullImage { image: String },
    /// `RunPodSandbox`: the pod's network namespace, with an address from the node's /24
    /// (the node's own address with `host_network`).
    RunPodSandbox {
        pod_uid: String,
        namespace: String,
        name: String,
        attempt: u32,
        host_network: bool,
    },
    /// `StopPodSandbox`: stops every container in it (SIGKILL) and releases its address.
    StopPodSandbox { sandbox_id: String },
    /// `RemovePodSandbox`: forgets it and its containers.
    RemovePodSandbox { sandbox_id: String },
    /// `CreateContainer` from a present image.
    CreateContainer {
        sandbox_id: String,
        name: String,
        image: String,
        attempt: u32,
    },
    /// `StartContainer`.
    StartContainer { container_id: String },
    /// `StopContainer`: SIGTERM, then SIGKILL after `timeout` (the grace period). Answered
    /// when the process is gone.
    StopContainer {
        container_id: String,
        timeout: Duration,
    },
    /// `RemoveContainer`.
    RemoveContainer { container_id: String },
    /// A probe of a running container (HTTP GET / exec stand-in), answered at once.
    Probe {
        container_id: String,
        probe: ProbeKind,
    },
}

impl RuntimeCall {
    fn tag(&self) -> u64 {
        match self {
            RuntimeCall::ImageStatus { .. } => 1,
            RuntimeCall::PullImage { .. } => 2,
            RuntimeCall::RunPodSandbox { .. } => 3,
            RuntimeCall::StopPodSandbox { .. } => 4,
            RuntimeCall::RemovePodSandbox { .. } => 5,
            RuntimeCall::CreateContainer { .. } => 6,
            RuntimeCall::StartContainer { .. } => 7,
            RuntimeCall::StopContainer { .. } => 8,
            RuntimeCall::RemoveContainer { .. } => 9,
            RuntimeCall::Probe { .. } => 10,
        }
    }

    /// The CRI method name, for traces and logs.
    pub fn method(&self) -> &'static str {
        match self {
            RuntimeCall::ImageStatus { .. } => "ImageStatus",
            RuntimeCall::PullImage { .. } => "PullImage",
            RuntimeCall::RunPodSandbox { .. } => "RunPodSandbox",
            RuntimeCall::StopPodSandbox { .. } => "StopPodSandbox",
            RuntimeCall::RemovePodSandbox { .. } => "RemovePodSandbox",
            RuntimeCall::CreateContainer { .. } => "CreateContainer",
            RuntimeCall::StartContainer { .. } => "StartContainer",
            RuntimeCall::StopContainer { .. } => "StopContainer",
            RuntimeCall::RemoveContainer { .. } => "RemoveContainer",
            RuntimeCall::Probe { .. } => "Probe",
        }
    }
}

/// Which probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProbeKind {
    Liveness,
    Readiness,
    Startup,
}

impl ProbeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
            ProbeKind::Startup => "Startup",
        }
    }
}

/// A successful answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuntimeReply {
    /// `ImageStatus`: the image ID when present.
    ImageStatus {
        image_id: Option<String>,
    },
    /// `PullImage` done.
    Pulled {
        image_id: String,
        size_bytes: u64,
        /// How long the pull took, from the call (queueing included).
        took: Duration,
    },
    SandboxReady {
        sandbox_id: String,
        ip: Ipv4Addr,
    },
    ContainerCreated {
        container_id: String,
    },
    ContainerStarted {
        started_at: Time,
    },
    /// `StopContainer` done: the process is gone with this exit code.
    ContainerStopped {
        exit_code: i32,
    },
    /// Stop/remove calls without a result of their own.
    Done,
    Probed {
        success: bool,
        output: String,
    },
}

/// A failed call, with the runtime's message (what the kubelet puts in its events).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum RuntimeError {
    /// The registry refused the pull.
    #[error("failed to pull and unpack image \"{image}\": {message}")]
    PullFailed { image: String, message: String },
    /// Too many pulls wait already.
    #[error("pull QPS exceeded: {waiting} pulls waiting")]
    PullQueueFull { waiting: usize },
    #[error("image \"{0}\" not present on the node")]
    ImageNotPresent(String),
    #[error("failed to allocate an IP address in {cidr}: range is full")]
    AddressesExhausted { cidr: String },
    #[error("sandbox \"{0}\" not found")]
    NoSuchSandbox(String),
    #[error("container \"{0}\" not found")]
    NoSuchContainer(String),
    /// A call on a container in the wrong state (start twice, probe an exited one).
    #[error("container \"{id}\" is {state}, expected {expected}")]
    WrongState {
        id: String,
        state: &'static str,
        expected: &'static str,
    },
    #[error("runtime is handling {0} calls already")]
    Busy(usize),
}

/// Why a container stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCause {
    /// The process ended on its own.
    Exited,
    /// It ended after SIGTERM, within the grace period.
    Terminated,
    /// SIGKILL after the grace period (or its sandbox was stopped).
    Killed,
}

/// Something happened to a container without the kubelet asking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContainerEvent {
    /// `CONTAINER_STOPPED_EVENT`.
    Exited {
        container_id: String,
        sandbox_id: String,
        exit_code: i32,
        cause: ExitCause,
        started_at: Time,
        finished_at: Time,
    },
}

/// The runtime's messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuntimeMessage {
    Call {
        id: u64,
        call: RuntimeCall,
    },
    Reply {
        id: u64,
        result: Result<RuntimeReply, RuntimeError>,
    },
    Event(ContainerEvent),
    /// The process of a container ended on its own: a component whose actor stands for the
    /// process (kube-scheduler, kube-controller-manager) tells its node's runtime that it
    /// exited, so that the container standing in for it exits too (and the kubelet restarts
    /// it). Sent on the node itself, never over the network.
    ProcessExited(ProcessExit),
}

/// Which container's process exited, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessExit {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub exit_code: i32,
}

/// A cluster's message type carries [`RuntimeMessage`]s.
pub trait RuntimeEnvelope: Message {
    fn wrap_runtime(m: RuntimeMessage) -> Self;
    /// The runtime message inside, or the message itself when it is something else.
    fn unwrap_runtime(self) -> Result<RuntimeMessage, Self>;
}

impl Message for RuntimeMessage {
    fn trace_digest(&self, h: &mut TraceHasher) {
        match self {
            RuntimeMessage::Call { id, call } => {
                h.write_u64(401);
                h.write_u64(*id);
                h.write_u64(call.tag());
            }
            RuntimeMessage::Reply { id, result } => {
                h.write_u64(402);
                h.write_u64(*id);
                h.write_u64(u64::from(result.is_ok()));
            }
            RuntimeMessage::Event(ContainerEvent::Exited {
                container_id,
                exit_code,
                ..
            }) => {
                h.write_u64(403);
                h.write_u64(stable_hash(container_id));
                h.write_u64(*exit_code as u64);
            }
            RuntimeMessage::ProcessExited(e) => {
                h.write_u64(404);
                h.write_u64(stable_hash(&e.pod));
                h.write_u64(stable_hash(&e.container));
                h.write_u64(e.exit_code as u64);
            }
        }
    }

    fn trace_label(&self) -> String {
        match self {
            RuntimeMessage::Call { call, .. } => format!("cri {}", call.method()),
            RuntimeMessage::Reply { result, .. } => match result {
                Ok(_) => "cri reply ok".to_string(),
                Err(e) => format!("cri reply error: {e}"),
            },
            RuntimeMessage::Event(ContainerEvent::Exited {
                container_id,
                exit_code,
                ..
            }) => format!(
                "cri event container {} exited {exit_code}",
                &container_id[..container_id.len().min(13)]
            ),
            RuntimeMessage::ProcessExited(e) => format!(
                "process of {}/{} container {} exited {}",
                e.namespace, e.pod, e.container, e.exit_code
            ),
        }
    }

    fn wire_size(&self) -> u64 {
        256
    }
}
