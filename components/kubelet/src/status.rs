//! The pod status the kubelet reports: phase, conditions, container statuses, addresses,
//! QoS class.
//!
//! Follows `pkg/kubelet/kubelet_pods.go` (`getPhase`, `generateAPIPodStatus`,
//! `convertToAPIContainerStatuses`) and `pkg/kubelet/status/generate.go` (F33): conditions in
//! the order PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled;
//! `ContainersNotInitialized` "containers with incomplete status: [a]",
//! `ContainersNotReady` "containers with unready status: [a]", `PodCompleted` for a finished
//! pod; a lastTransitionTime moves only when its condition's status changes (the status
//! manager's `updateLastTransitionTime`); container IDs `containerd://…`. QoS from
//! `api::qos`. Simplifications: no readiness gates, no resize status, no `hostIPs` beyond the
//! one address, times at second precision as the API stores them.

use api::k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, HostIP, PodCondition, PodIP, PodStatus,
};
use std::net::Ipv4Addr;

use api::qos::QosClass;
use apiserver::objects::api_time;
use sim::Time;

use crate::worker::{CState, ContainerRt, PodWorker, Terminated};

/// `getPhase` over the worker's containers; `terminal`: the pod was stopped for good
/// (deleted or finished), so a running-style phase turns into Succeeded/Failed.
pub fn phase(w: &PodWorker, terminal: bool) -> &'static str {
    if w.admission.is_err() {
        return "Failed";
    }
    let policy = w.restart_policy();
    let mut pending_init = 0;
    let mut failed_init = false;
    for c in &w.init {
        match &c.state {
            CState::Terminated(t) if t.exit_code == 0 => {}
            CState::Terminated(_) => {
                failed_init = true;
                pending_init += 1;
            }
            _ if c.last_terminated.is_some() => {
                failed_init = true;
                pending_init += 1;
            }
            _ => pending_init += 1,
        }
    }
    if failed_init && policy == "Never" {
        return "Failed";
    }
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for c in &w.app {
        match &c.state {
            CState::Running { .. } => running += 1,
            CState::Terminated(t) => {
                stopped += 1;
                if t.exit_code == 0 {
                    succeeded += 1;
                }
            }
            CState::Waiting { .. } if c.last_terminated.is_some() => stopped += 1,
            CState::Waiting { .. } => waiting += 1,
        }
    }
    if pending_init > 0 && !terminal {
        return "Pending";
    }
    if waiting > 0 && !terminal {
        return "Pending";
    }
    if running > 0 && !terminal {
        return "Running";
    }
    if stopped > 0 || terminal {
        let all_ok = succeeded == w.app.len() && !failed_init;
        if terminal {
            return if all_ok { "Succeeded" } else { "Failed" };
        }
        return match policy {
            "Always" => "Running",
            "OnFailure" if all_ok => "Succeeded",
            "OnFailure" => "Running",
            _ if all_ok => "Succeeded",
            _ => "Failed",
        };
    }
    "Pending"
}

fn terminated(t: &Terminated) -> ContainerStateTerminated {
    ContainerStateTerminated {
        exit_code: t.exit_code,
        reason: Some(t.reason.clone()),
        started_at: Some(api_time(t.started_at)),
        finished_at: Some(api_time(t.finished_at)),
        container_id: Some(format!("containerd://{}", t.container_id)),
        ..Default::default()
    }
}

fn container_status(c: &ContainerRt) -> ContainerStatus {
    let state = match &c.state {
        CState::Waiting { reason, message } => ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some(reason.clone()),
                message: message.clone(),
            }),
            ..Default::default()
        },
        CState::Running { started_at } => ContainerState {
            running: Some(ContainerStateRunning {
                started_at: Some(api_time(*started_at)),
            }),
            ..Default::default()
        },
        CState::Terminated(t) => ContainerState {
            terminated: Some(terminated(t)),
            ..Default::default()
        },
    };
    let last_state = c.last_terminated.as_ref().map(|t| ContainerState {
        terminated: Some(terminated(t)),
        ..Default::default()
    });
    let started_once = c.image_id.is_some() && c.id.is_some();
    ContainerStatus {
        name: c.name.clone(),
        image: c.image.clone(),
        image_id: c
            .image_id
            .clone()
            .filter(|_| started_once)
            .unwrap_or_default(),
        container_id: c.id.as_ref().map(|id| format!("containerd://{id}")),
        ready: c.ready(),
        started: Some(c.started()),
        restart_count: c.restart_count,
        state: Some(state),
        last_state: Some(last_state.unwrap_or_default()),
        ..Default::default()
    }
}

fn condition(
    type_: &str,
    ok: bool,
    reason: Option<String>,
    message: Option<String>,
    now: Time,
    previous: Option<&PodStatus>,
) -> PodCondition {
    let status = if ok { "True" } else { "False" };
    let transition = previous
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
        .filter(|c| c.status == status)
        .and_then(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| api_time(now));
    PodCondition {
        type_: type_.into(),
        status: status.into(),
        reason,
        message,
        last_transition_time: Some(transition),
        last_probe_time: None,
        ..Default::default()
    }
}

fn names(cs: &[&ContainerRt]) -> String {
    let v: Vec<&str> = cs.iter().map(|c| c.name.as_str()).collect();
    format!("[{}]", v.join(" "))
}

/// The status to report at `now`; `previous` is the last one computed (for transition times).
pub fn pod_status(w: &PodWorker, node_ip: std::net::Ipv4Addr, now: Time) -> PodStatus {
    let previous = w.last_status();
    let terminal = w.terminated || w.is_finished();
    let phase = phase(w, w.terminated);
    let host_ip = net::text::ipv4_string(node_ip);
    let mut st = PodStatus {
        phase: Some(phase.into()),
        host_ips: Some(vec![HostIP {
            ip: host_ip.clone(),
        }]),
        host_ip: Some(host_ip),
        qos_class: Some(w.qos.as_str().to_string()),
        start_time: w.start_time.map(api_time),
        ..Default::default()
    };
    if let Err((reason, message)) = &w.admission {
        st.reason = Some(reason.clone());
        st.message = Some(message.clone());
        st.conditions = previous.and_then(|p| p.conditions.clone());
        return st;
    }
    if let Some((_, ip)) = &w.sandbox {
        let ip = net::text::ipv4_string(*ip);
        st.pod_ips = Some(vec![PodIP { ip: ip.clone() }]);
        st.pod_ip = Some(ip);
    } else if let Some(p) = previous.filter(|_| terminal) {
        st.pod_ip = p.pod_ip.clone();
        st.pod_ips = p.pod_ips.clone();
    }
    let sandbox_ready = w.sandbox.is_some() && !w.sandbox_stopped;
    let incomplete: Vec<&ContainerRt> = w.init.iter().filter(|c| !c.succeeded()).collect();
    let unready: Vec<&ContainerRt> = w.app.iter().filter(|c| !c.ready()).collect();
    let completed = terminal && phase == "Succeeded";
    let (ready_reason, ready_message) = if unready.is_empty() {
        (None, None)
    } else if completed || (terminal && w.app.iter().all(|c| !c.is_running())) {
        (Some("PodCompleted".to_string()), None)
    } else {
        (
            Some("ContainersNotReady".to_string()),
            Some(format!(
                "containers with unready status: {}",
                names(&unready)
            )),
        )
    };
    let init_done = incomplete.is_empty();
    let (init_reason, init_message) = if init_done {
        (None, None)
    } else if completed {
        (Some("PodCompleted".to_string()), None)
    } else {
        (
            Some("ContainersNotInitialized".to_string()),
            Some(format!(
                "containers with incomplete status: {}",
                names(&incomplete)
            )),
        )
    };
    let scheduled_time = previous
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled"))
        .and_then(|c| c.last_transition_time.clone());
    let mut scheduled = condition("PodScheduled", true, None, None, now, previous);
    if let Some(t) = scheduled_time {
        scheduled.last_transition_time = Some(t);
    }
    st.conditions = Some(vec![
        condition(
            "PodReadyToStartContainers",
            sandbox_ready,
            None,
            None,
            now,
            previous,
        ),
        condition(
            "Initialized",
            init_done || completed && incomplete.is_empty(),
            init_reason,
            init_message,
            now,
            previous,
        ),
        condition(
            "Ready",
            unready.is_empty(),
            ready_reason.clone(),
            ready_message.clone(),
            now,
            previous,
        ),
        condition(
            "ContainersReady",
            unready.is_empty(),
            ready_reason,
            ready_message,
            now,
            previous,
        ),
        scheduled,
    ]);
    if !w.init.is_empty() {
        st.init_container_statuses = Some(w.init.iter().map(container_status).collect());
    }
    st.container_statuses = Some(w.app.iter().map(container_status).collect());
    st
}

/// What [`pod_status`] reads of a worker besides its previous status and the clock, as of
/// the status last built. The kubelet syncs a pod at every probe and a probe rarely changes
/// anything; with the same inputs a build gives the previous status back (every condition
/// keeps its status, so its transition time comes from the previous status, and the rest is
/// a function of these), so it is skipped. In debug builds the kubelet rebuilds the status
/// when it skips and checks that it is the same.
#[derive(Clone, Debug)]
pub struct StatusInputs {
    admission: Result<(), (String, String)>,
    restart_policy: String,
    terminated: bool,
    finished_before: bool,
    start_time: Option<Time>,
    qos: QosClass,
    sandbox_ip: Option<Ipv4Addr>,
    sandbox_stopped: bool,
    node_ip: Ipv4Addr,
    init: Vec<ContainerInputs>,
    app: Vec<ContainerInputs>,
}

impl StatusInputs {
    pub fn of(w: &PodWorker, node_ip: Ipv4Addr) -> Self {
        StatusInputs {
            admission: w.admission.clone(),
            restart_policy: w.restart_policy().to_string(),
            terminated: w.terminated,
            finished_before: w.finished_before,
            start_time: w.start_time,
            qos: w.qos,
            sandbox_ip: w.sandbox.as_ref().map(|(_, ip)| *ip),
            sandbox_stopped: w.sandbox_stopped,
            node_ip,
            init: w.init.iter().map(ContainerInputs::of).collect(),
            app: w.app.iter().map(ContainerInputs::of).collect(),
        }
    }

    /// Would [`pod_status`] read the same from `w` now?
    pub fn unchanged(&self, w: &PodWorker, node_ip: Ipv4Addr) -> bool {
        self.admission == w.admission
            && self.restart_policy == w.restart_policy()
            && self.terminated == w.terminated
            && self.finished_before == w.finished_before
            && self.start_time == w.start_time
            && self.qos == w.qos
            && self.sandbox_ip == w.sandbox.as_ref().map(|(_, ip)| *ip)
            && self.sandbox_stopped == w.sandbox_stopped
            && self.node_ip == node_ip
            && same_containers(&self.init, &w.init)
            && same_containers(&self.app, &w.app)
    }
}

fn same_containers(was: &[ContainerInputs], now: &[ContainerRt]) -> bool {
    was.len() == now.len() && was.iter().zip(now).all(|(x, c)| x.matches(c))
}

/// What the status (`phase`, the conditions, `container_status`) reads of a container.
#[derive(Clone, Debug)]
struct ContainerInputs {
    name: String,
    image: String,
    init: bool,
    id: Option<String>,
    image_id: Option<String>,
    state: CState,
    last_terminated: Option<Terminated>,
    restart_count: i32,
    started: bool,
    ready: bool,
}

impl ContainerInputs {
    fn of(c: &ContainerRt) -> Self {
        ContainerInputs {
            name: c.name.clone(),
            image: c.image.clone(),
            init: c.init,
            id: c.id.clone(),
            image_id: c.image_id.clone(),
            state: c.state.clone(),
            last_terminated: c.last_terminated.clone(),
            restart_count: c.restart_count,
            started: c.started(),
            ready: c.ready(),
        }
    }

    fn matches(&self, c: &ContainerRt) -> bool {
        self.name == c.name
            && self.image == c.image
            && self.init == c.init
            && self.id == c.id
            && self.image_id == c.image_id
            && self.state == c.state
            && self.last_terminated == c.last_terminated
            && self.restart_count == c.restart_count
            && self.started == c.started()
            && self.ready == c.ready()
    }
}
