//! What the kubelet knows about one pod it runs: its sandbox, its containers' states, restart
//! counts, probes, the ConfigMaps and Secrets it needs, and whether it is terminating — the
//! state `pkg/kubelet/pod_workers.go` and the runtime's `PodStatus` hold upstream.
//!
//! The kubelet actor drives it (`crate::kubelet`); this module only holds the state and the
//! rules that do not need the actor: which containers may restart under which policy, what
//! a container's API state is. Simplification: one container record per spec container (the
//! latest instance and its predecessor's termination), as the API status shows them.

use api::k8s_openapi::api::core::v1::{Container, Pod, PodStatus};
use api::qos::{QosClass, compute_pod_qos};
use api::{Object, SharedObject};
use runtime::ProbeKind;
use sim::{Duration, Time};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use crate::probes::{ProbeSpec, ProbeState};

/// How a container instance ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terminated {
    pub exit_code: i32,
    /// `Completed` (0) or `Error`.
    pub reason: String,
    pub started_at: Time,
    pub finished_at: Time,
    pub container_id: String,
}

/// A container's state as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CState {
    Waiting {
        reason: String,
        message: Option<String>,
    },
    Running {
        started_at: Time,
    },
    Terminated(Terminated),
}

/// The runtime call in flight for a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    ImageStatus,
    Pull,
    Create,
    Start,
    Stop,
}

/// One spec container and its latest instance.
#[derive(Clone, Debug)]
pub struct ContainerRt {
    pub name: String,
    pub image: String,
    /// `Always`, `IfNotPresent` or `Never`.
    pub pull_policy: String,
    pub init: bool,
    /// The latest instance in the runtime.
    pub id: Option<String>,
    pub image_id: Option<String>,
    pub state: CState,
    pub last_terminated: Option<Terminated>,
    pub restart_count: i32,
    pub op: Option<Op>,
    /// After an error (image pull, config), nothing is tried before this.
    pub retry_at: Option<Time>,
    /// Dead instances still in the runtime (removed beyond the newest, as container GC
    /// keeps one per container).
    pub dead: Vec<String>,
    pub startup: Option<ProbeState>,
    pub liveness: Option<ProbeState>,
    pub readiness: Option<ProbeState>,
    /// Killed by the kubelet after a failed liveness or startup probe.
    pub killed_unhealthy: bool,
}

impl ContainerRt {
    pub fn from_spec(c: &Container, init: bool) -> Self {
        let probe = |kind, p: &Option<api::k8s_openapi::api::core::v1::Probe>| {
            p.as_ref()
                .map(|p| ProbeState::new(kind, ProbeSpec::from_api(p)))
        };
        let image = c.image.clone().unwrap_or_default();
        ContainerRt {
            name: c.name.clone(),
            pull_policy: c
                .image_pull_policy
                .clone()
                .unwrap_or_else(|| api::defaults::core::image_pull_policy(&image).to_string()),
            image,
            init,
            id: None,
            image_id: None,
            state: CState::Waiting {
                reason: "ContainerCreating".into(),
                message: None,
            },
            last_terminated: None,
            restart_count: 0,
            op: None,
            retry_at: None,
            dead: Vec::new(),
            // Restartable (sidecar) init containers are run as plain init containers: their
            // probes are not used.
            startup: if init {
                None
            } else {
                probe(ProbeKind::Startup, &c.startup_probe)
            },
            liveness: if init {
                None
            } else {
                probe(ProbeKind::Liveness, &c.liveness_probe)
            },
            readiness: if init {
                None
            } else {
                probe(ProbeKind::Readiness, &c.readiness_probe)
            },
            killed_unhealthy: false,
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self.state, CState::Running { .. })
    }

    pub fn succeeded(&self) -> bool {
        matches!(&self.state, CState::Terminated(t) if t.exit_code == 0)
    }

    /// Started: running and past its startup probe.
    pub fn started(&self) -> bool {
        self.is_running() && self.startup.as_ref().is_none_or(|p| p.result == Some(true))
    }

    /// Ready: started and its readiness probe passes (no probe: ready once started).
    pub fn ready(&self) -> bool {
        self.started()
            && self
                .readiness
                .as_ref()
                .is_none_or(|p| p.result == Some(true))
    }

    pub fn probes_mut(&mut self) -> impl Iterator<Item = &mut ProbeState> {
        [&mut self.startup, &mut self.liveness, &mut self.readiness]
            .into_iter()
            .flatten()
    }

    pub fn probe_mut(&mut self, kind: ProbeKind) -> Option<&mut ProbeState> {
        match kind {
            ProbeKind::Startup => self.startup.as_mut(),
            ProbeKind::Liveness => self.liveness.as_mut(),
            ProbeKind::Readiness => self.readiness.as_mut(),
        }
    }

    /// The last instance ended: should the kubelet start another under `restart_policy`?
    pub fn wants_restart(&self, restart_policy: &str) -> bool {
        let CState::Terminated(t) = &self.state else {
            return false;
        };
        match restart_policy {
            "Never" => false,
            "OnFailure" => t.exit_code != 0,
            // Init containers of an Always pod restart only when they failed.
            _ if self.init => t.exit_code != 0,
            _ => true,
        }
    }
}

/// Where the check of referenced ConfigMaps and Secrets stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ConfigCheck {
    #[default]
    Unchecked,
    /// GETs in flight.
    Checking { pending: usize },
    /// Done: what is missing (empty: nothing).
    Done {
        /// Volume sources missing: `configmap "x" not found` per volume name.
        volumes: BTreeMap<String, String>,
        /// Env sources missing, per container name.
        env: BTreeMap<String, String>,
        /// When to look again while something is missing.
        recheck_at: Option<Time>,
    },
}

/// Why and how a pod is being stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terminating {
    pub grace: Duration,
    pub since: Time,
    /// The pod is already gone from the API (force-deleted): nothing to delete at the end.
    pub api_gone: bool,
}

/// A pod the kubelet runs.
#[derive(Clone, Debug)]
pub struct PodWorker {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    /// The pod as the API last showed it: an `Object::Pod` (read it with
    /// [`PodWorker::pod`]), shared with the informer's cache rather than copied at each
    /// notification.
    object: SharedObject,
    /// The pod's QoS class, which its status reports at every sync: set with the pod
    /// ([`PodWorker::set_pod`]), as it depends only on the containers' resources.
    pub qos: QosClass,
    /// From a manifest file: status goes to the mirror pod.
    pub is_static: bool,
    pub mirror_uid: Option<String>,
    /// A static pod's mirror as the API last showed it: its status is the one the status
    /// manager keeps in line with the kubelet's (`needsReconcile` reads the mirror's).
    pub mirror: Option<SharedObject>,
    pub mirror_create_in_flight: bool,
    /// After a failed create of the mirror pod, no other before this time (see
    /// `Kubelet::ensure_mirror`).
    pub mirror_retry_at: Option<Time>,
    /// Admission's verdict: `Err((reason, message))` rejects the pod.
    pub admission: Result<(), (String, String)>,
    pub sandbox: Option<(String, Ipv4Addr)>,
    pub sandbox_op: bool,
    pub sandbox_attempt: u32,
    pub sandbox_stopped: bool,
    pub init: Vec<ContainerRt>,
    pub app: Vec<ContainerRt>,
    pub config: ConfigCheck,
    /// GET results of the config check in progress.
    pub pending_config: BTreeMap<(api::Kind, String), crate::config_refs::Found>,
    pub start_time: Option<Time>,
    pub terminating: Option<Terminating>,
    /// Everything stopped after termination; the final status is (being) written.
    pub terminated: bool,
    pub delete_sent: bool,
    /// The API said Succeeded/Failed when the kubelet first saw it (after a restart).
    pub finished_before: bool,
    /// When the worker wants its next sync.
    pub wake_at: Option<Time>,
    /// The status last written (or being written), to write only changes. The same `Arc` as
    /// `last_status` exactly when the two are equal (the setters below keep it so): a sync
    /// (every probe) asks whether the status is written, and comparing two whole statuses
    /// each time cost more than the rest of the check; and a kubelet holds one copy of a
    /// written status per pod, not two (150,000 pods at 5,000 nodes).
    status_written: Option<Kept>,
    pub status_in_flight: bool,
    pub status_pending: bool,
    /// `status.conditions` and times as last computed (transition times are kept from it).
    last_status: Option<Kept>,
    /// What `last_status` was computed from (`None`: not computed yet).
    pub status_inputs: Option<crate::status::StatusInputs>,
}

/// A status a worker keeps: its own computation, or the API's pod while that shows the same
/// status. Once the kubelet's write comes back through its informer the pod's status is the
/// API's decode, which the watch cache and every informer share; pointing at it leaves the
/// kubelet no copy of its own (~2.9 KB per pod).
#[derive(Clone, Debug)]
enum Kept {
    Own(Arc<PodStatus>),
    /// An `Object::Pod` whose status is `Some`.
    Api(SharedObject),
}

impl Kept {
    fn get(&self) -> &PodStatus {
        match self {
            Kept::Own(s) => s,
            Kept::Api(o) => match pod_of(o).status.as_ref() {
                Some(s) => s,
                None => unreachable!("a kept API status is present"),
            },
        }
    }

    /// One value, not merely equal ones.
    fn same(&self, other: &Kept) -> bool {
        match (self, other) {
            (Kept::Own(a), Kept::Own(b)) => Arc::ptr_eq(a, b),
            (Kept::Api(a), Kept::Api(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// This status as kept beside `object`, the pod's new state in the API: the object's
    /// when it shows the same status; else the worker's own (a copy, if it was an older
    /// object's: an outdated pod is not kept alive for its status).
    fn beside(&self, object: &SharedObject) -> Kept {
        match pod_of(object).status.as_ref() {
            Some(api) if api == self.get() => Kept::Api(Arc::clone(object)),
            _ => match self {
                Kept::Own(_) => self.clone(),
                Kept::Api(_) => Kept::Own(Arc::new(self.get().clone())),
            },
        }
    }
}

/// The pod in a worker's object (which only ever holds one: see [`PodWorker::new`]).
fn pod_of(object: &Object) -> &Pod {
    match object {
        Object::Pod(p) => p,
        _ => unreachable!("a pod worker holds a {}", object.kind()),
    }
}

impl PodWorker {
    /// `object` must be a pod.
    pub fn new(object: SharedObject, is_static: bool) -> Self {
        debug_assert!(object.as_pod().is_some(), "a pod worker runs a pod");
        let pod = pod_of(&object);
        let spec = pod.spec.clone().unwrap_or_default();
        let mut init: Vec<ContainerRt> = spec
            .init_containers
            .iter()
            .flatten()
            .map(|c| ContainerRt::from_spec(c, true))
            .collect();
        let mut app: Vec<ContainerRt> = spec
            .containers
            .iter()
            .map(|c| ContainerRt::from_spec(c, false))
            .collect();
        // `defaultWaitingState`: PodInitializing for every container of a pod with init
        // containers.
        if !init.is_empty() {
            for c in init.iter_mut().chain(app.iter_mut()) {
                c.state = CState::Waiting {
                    reason: "PodInitializing".into(),
                    message: None,
                };
            }
        }
        // Restart counts survive a kubelet restart through the API status.
        if let Some(st) = pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
        {
            for c in &mut app {
                if let Some(s) = st.iter().find(|s| s.name == c.name) {
                    c.restart_count = s.restart_count;
                }
            }
        }
        let finished_before = matches!(
            pod.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Succeeded" | "Failed")
        );
        PodWorker {
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            last_status: pod.status.as_ref().map(|_| Kept::Api(Arc::clone(&object))),
            qos: compute_pod_qos(pod),
            object: object.clone(),
            is_static,
            mirror_uid: None,
            mirror: None,
            mirror_create_in_flight: false,
            mirror_retry_at: None,
            admission: Ok(()),
            sandbox: None,
            sandbox_op: false,
            sandbox_attempt: 0,
            sandbox_stopped: false,
            init,
            app,
            config: ConfigCheck::Unchecked,
            pending_config: BTreeMap::new(),
            start_time: None,
            terminating: None,
            terminated: false,
            delete_sent: false,
            finished_before,
            wake_at: None,
            status_written: None,
            status_in_flight: false,
            status_pending: false,
            status_inputs: None,
        }
    }

    /// The pod as the API now has it.
    pub fn set_pod(&mut self, object: SharedObject) {
        debug_assert!(object.as_pod().is_some(), "a pod worker runs a pod");
        self.qos = compute_pod_qos(pod_of(&object));
        let last = self.last_status.as_ref().map(|k| k.beside(&object));
        self.status_written = match (&self.status_written, &self.last_status, &last) {
            (Some(w), Some(l), Some(new)) if w.same(l) => Some(new.clone()),
            (w, _, _) => w.as_ref().map(|k| k.beside(&object)),
        };
        self.last_status = last;
        self.object = object;
    }

    pub fn pod(&self) -> &Pod {
        pod_of(&self.object)
    }

    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// After the node restarted, the API status (the pod's own, or a static pod's mirror)
    /// still names the container instances that ran before; the fresh runtime knows none of
    /// them. The kubelet counts each as terminated, as it does when it finds them exited in
    /// containerd after a reboot (exit code 255, reason `Unknown`): `restartCount` grows by
    /// one and `lastState.terminated` names the old instance, which `kubectl logs --previous`
    /// reads. Simplification: the count grows when the old instance is adopted, not when its
    /// successor is created; its end is the moment the kubelet learns of it.
    pub fn adopt_previous_instances(&mut self, status: &PodStatus, now: Time) {
        let Some(statuses) = status.container_statuses.as_ref() else {
            return;
        };
        for c in &mut self.app {
            let Some(s) = statuses.iter().find(|s| s.name == c.name) else {
                continue;
            };
            let Some(old) = s
                .container_id
                .as_deref()
                .map(|id| id.rsplit("://").next().unwrap_or(id))
                .filter(|id| !id.is_empty())
            else {
                continue;
            };
            let known = c.id.as_deref() == Some(old)
                || c.dead.iter().any(|d| d == old)
                || c.last_terminated
                    .as_ref()
                    .is_some_and(|t| t.container_id == old);
            if known {
                continue;
            }
            let started_at = s
                .state
                .as_ref()
                .and_then(|st| st.running.as_ref())
                .and_then(|r| r.started_at.as_ref())
                .map(|t| apiserver::objects::virtual_secs(t).max(0) as u64)
                .map_or(now, Time::from_secs);
            c.last_terminated = Some(Terminated {
                exit_code: 255,
                reason: "Unknown".into(),
                started_at,
                finished_at: now,
                container_id: old.to_string(),
            });
            c.restart_count = s.restart_count.saturating_add(1);
        }
    }

    pub fn restart_policy(&self) -> &str {
        self.pod()
            .spec
            .as_ref()
            .and_then(|s| s.restart_policy.as_deref())
            .unwrap_or("Always")
    }

    pub fn host_network(&self) -> bool {
        self.pod()
            .spec
            .as_ref()
            .and_then(|s| s.host_network)
            .unwrap_or(false)
    }

    /// `terminationGracePeriodSeconds` (30 by default).
    pub fn grace_period(&self) -> Duration {
        let secs = self
            .pod()
            .spec
            .as_ref()
            .and_then(|s| s.termination_grace_period_seconds)
            .unwrap_or(api::defaults::core::TERMINATION_GRACE_PERIOD_SECONDS);
        Duration::from_secs(u64::try_from(secs.max(0)).unwrap_or(0))
    }

    pub fn containers(&self) -> impl Iterator<Item = &ContainerRt> {
        self.init.iter().chain(self.app.iter())
    }

    pub fn containers_mut(&mut self) -> impl Iterator<Item = &mut ContainerRt> {
        self.init.iter_mut().chain(self.app.iter_mut())
    }

    /// `(init, index)` of the container whose latest or a dead instance is `id`.
    pub fn find_container(&self, id: &str) -> Option<(bool, usize)> {
        let hit = |c: &ContainerRt| c.id.as_deref() == Some(id);
        self.init
            .iter()
            .position(hit)
            .map(|i| (true, i))
            .or_else(|| self.app.iter().position(hit).map(|i| (false, i)))
    }

    pub fn container_mut(&mut self, init: bool, index: usize) -> Option<&mut ContainerRt> {
        if init {
            self.init.get_mut(index)
        } else {
            self.app.get_mut(index)
        }
    }

    /// Every init container has succeeded.
    pub fn initialized(&self) -> bool {
        self.init.iter().all(ContainerRt::succeeded)
    }

    /// Has the pod reached a phase it never leaves (by its restart policy)?
    pub fn is_finished(&self) -> bool {
        if self.admission.is_err() || self.finished_before {
            return true;
        }
        let policy = self.restart_policy();
        if policy == "Never"
            && self
                .init
                .iter()
                .any(|c| matches!(&c.state, CState::Terminated(t) if t.exit_code != 0))
        {
            return true;
        }
        policy != "Always"
            && !self.app.is_empty()
            && self
                .app
                .iter()
                .all(|c| matches!(c.state, CState::Terminated(_)) && !c.wants_restart(policy))
    }

    /// The status as last computed.
    pub fn last_status(&self) -> Option<&PodStatus> {
        self.last_status.as_ref().map(Kept::get)
    }

    /// Is the last computed status other than the one written? Equal statuses are one `Arc`.
    pub fn status_unwritten(&self) -> bool {
        let written = match (&self.status_written, &self.last_status) {
            (None, None) => true,
            (Some(written), Some(last)) => written.same(last),
            _ => false,
        };
        debug_assert_eq!(
            written,
            self.status_written.as_ref().map(Kept::get) == self.last_status(),
            "the written status of {} is shared exactly when it is the last",
            self.uid
        );
        !written
    }

    /// A newly computed status; one equal to the status written becomes that `Arc`.
    pub fn set_last_status(&mut self, status: PodStatus) {
        if self.last_status() == Some(&status) {
            return;
        }
        self.last_status = Some(match &self.status_written {
            Some(written) if *written.get() == status => written.clone(),
            _ => Kept::Own(Arc::new(status)),
        });
    }

    /// The last computed status is being written.
    pub fn mark_written(&mut self) {
        self.status_written = self.last_status.clone();
    }

    /// The API object that carries this pod's status: the pod, or a static pod's mirror.
    fn api_object(&self) -> Option<&SharedObject> {
        if self.is_static {
            self.mirror.as_ref()
        } else {
            Some(&self.object)
        }
    }

    /// Does the API show another status than the kubelet's own, with no write of ours in
    /// flight? Then someone else wrote it (or a write of ours that timed out was applied
    /// after a newer one), and the status manager writes its own again.
    /// Cheap when they agree: the kept status is then the API object's own.
    pub fn api_status_differs(&self) -> bool {
        if self.status_in_flight {
            return false;
        }
        match (&self.last_status, self.api_object()) {
            (Some(Kept::Api(o)), Some(api)) if Arc::ptr_eq(o, api) => false,
            (Some(kept), Some(api)) => pod_of(api).status.as_ref() != Some(kept.get()),
            _ => false,
        }
    }

    /// Did a write newer than ours (`written`, the API's answer to it), already seen here,
    /// leave the API with another status than the kubelet's? Its watch event came while our
    /// write was in flight, when [`PodWorker::api_status_differs`] does not judge.
    pub fn overwritten_since(&self, written: &Object) -> bool {
        let rv = |o: &Object| o.resource_version().parse::<u64>().unwrap_or(0);
        self.api_object().is_some_and(|api| {
            rv(api) > rv(written) && pod_of(api).status.as_ref() != self.last_status()
        })
    }

    /// Nothing is known to be written (a failed write, a new mirror pod).
    pub fn forget_status_written(&mut self) {
        self.status_written = None;
    }

    /// Asks for a sync at `at` (the earliest request wins).
    pub fn wake(&mut self, at: Time) {
        self.wake_at = Some(self.wake_at.map_or(at, |t| t.min(at)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::k8s_openapi::api::core::v1::PodSpec;

    fn pod(phase: Option<&str>) -> SharedObject {
        Arc::new(Object::from(Pod {
            metadata: api::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some("web-0".into()),
                namespace: Some("default".into()),
                uid: Some("u1".into()),
                ..Default::default()
            },
            spec: Some(PodSpec::default()),
            status: phase.map(|p| PodStatus {
                phase: Some(p.into()),
                ..Default::default()
            }),
        }))
    }

    fn status(phase: &str) -> PodStatus {
        PodStatus {
            phase: Some(phase.into()),
            ..Default::default()
        }
    }

    fn shares_api(k: &Option<Kept>) -> bool {
        matches!(k, Some(Kept::Api(_)))
    }

    #[test]
    fn a_status_the_api_shows_is_held_once_and_stays_written() {
        let mut w = PodWorker::new(pod(Some("Pending")), false);
        assert!(
            shares_api(&w.last_status),
            "a new worker starts from the API's status"
        );
        assert!(w.status_unwritten());

        w.set_last_status(status("Running"));
        w.mark_written();
        assert!(!w.status_unwritten());
        // The write comes back: both the written and the last status become the API's.
        w.set_pod(pod(Some("Running")));
        assert!(shares_api(&w.last_status) && shares_api(&w.status_written));
        assert!(!w.status_unwritten());
        assert_eq!(w.last_status(), Some(&status("Running")));
        // An older state of the pod (or someone else's status): the worker keeps its own
        // copy, still written, and no longer the API object's.
        w.set_pod(pod(Some("Pending")));
        assert!(matches!(w.last_status, Some(Kept::Own(_))));
        assert!(!w.status_unwritten());
        assert_eq!(w.last_status(), Some(&status("Running")));
        // A status computed but not written yet, then the pod shows the written one.
        w.set_last_status(status("Succeeded"));
        assert!(w.status_unwritten());
        w.set_pod(pod(Some("Running")));
        assert!(w.status_unwritten());
        assert!(shares_api(&w.status_written));
        assert_eq!(w.last_status(), Some(&status("Succeeded")));
        // Computing the written status again makes them one value.
        w.set_last_status(status("Running"));
        assert!(!w.status_unwritten());
        w.forget_status_written();
        assert!(w.status_unwritten());
        w.set_pod(pod(None));
        assert_eq!(w.last_status(), Some(&status("Running")));
    }
}
