//! `kubectl logs [-p] [-c CONTAINER] [--tail=N] (POD | TYPE/NAME)`.
//!
//! Follows kubectl (`staging/src/k8s.io/kubectl/pkg/cmd/logs/logs.go`,
//! `polymorphichelpers/attachablepodforobject.go`: a workload's pod chosen by
//! `podutils.ByLogging` with `Found N pods, using pod/…`; the default container from the
//! `kubectl.kubernetes.io/default-container` annotation or the first one, with `Defaulted
//! container "a" out of: a, b`), the apiserver (`pkg/registry/core/pod/strategy.go`
//! `LogLocation`: `container x is not valid for pod y`; a pod without a node has an empty
//! log) and the kubelet (`pkg/kubelet/kubelet_pods.go` `validateContainerLogStatus`: which
//! container instance is read, `--previous` from `lastState.terminated`, and its errors:
//! `container "c" in pod "p" is waiting to start: ContainerCreating`, `previous terminated
//! container "c" in pod "p" not found`).
//!
//! Where the lines come from: a container the runtime runs logs what its image behaviour
//! prints (`runtime::state::Container::logs`); the control plane's static pods and
//! kube-proxy are the cluster's component actors, whose klog (etcd: zap) lines
//! [`cluster::logs`] renders. A node that is down answers as an unreachable kubelet does.
//!
//! A component's container ends with its node's crash, or with its own exit (kube-scheduler
//! and kube-controller-manager on a lost Lease): after the restart the plain log is the new
//! container's lines and `--previous` the lines of the one before
//! ([`cluster::Cluster::component_log`]).
//!
//! Simplifications: `-f` prints what is logged so far and returns; no `--since`,
//! `--timestamps`, `--all-containers`.

use api::k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use api::status::StatusError;
use api::{Kind, Object, SharedObject};
use cluster::ClusterMsg;
use runtime::ContainerRuntime;
use serde_json::Value;

use super::{KubectlError, Session, Target};
use crate::kubectl::print::to_value;

/// `logs` runs.
pub(super) const NEEDS: Option<&str> = None;

/// The annotation naming a pod's default container for `logs` and `exec`.
const DEFAULT_CONTAINER: &str = "kubectl.kubernetes.io/default-container";

/// Which lines of a container to print.
enum Source {
    /// A component actor's log, the current container's or (`true`) the previous one's.
    Actor(sim::ActorId, bool),
    /// A runtime container's log, by container id, on the node's runtime actor.
    Runtime { runtime: sim::ActorId, id: String },
    /// Nothing to read (a pod without a node).
    Empty,
}

impl Session<'_> {
    pub(super) fn logs(
        &mut self,
        target: &Target,
        container: Option<&str>,
        previous: bool,
        tail: Option<i64>,
        _follow: bool,
    ) {
        let ns = self.ns().to_string();
        let Some(pod) = self.logs_pod(target, &ns) else {
            return;
        };
        let Object::Pod(p) = &*pod else {
            return;
        };
        let pod_name = pod.name().to_string();
        let containers: Vec<String> = p
            .spec
            .as_ref()
            .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default();
        let init: Vec<String> = p
            .spec
            .as_ref()
            .and_then(|s| s.init_containers.as_ref())
            .map(|v| v.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default();
        let container = match container {
            Some(c) => {
                if !containers.iter().chain(&init).any(|n| n == c) {
                    return self.fail(KubectlError::Server(StatusError::bad_request(format!(
                        "container {c} is not valid for pod {pod_name}"
                    ))));
                }
                c.to_string()
            }
            None => {
                let annotated = p
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(DEFAULT_CONTAINER))
                    .filter(|c| containers.contains(c))
                    .cloned();
                let Some(first) = annotated.or_else(|| containers.first().cloned()) else {
                    return;
                };
                if containers.len() + init.len() > 1 {
                    let mut all = containers.clone();
                    all.extend(init.iter().map(|c| format!("{c} (init)")));
                    self.out.push_str(&format!(
                        "Defaulted container \"{first}\" out of: {}\n",
                        all.join(", ")
                    ));
                }
                first
            }
        };
        let source = match self.log_source(p, &pod_name, &container, previous) {
            Ok(s) => s,
            Err(text) => {
                self.out.push_str(&text);
                self.out.push('\n');
                self.failed = true;
                return;
            }
        };
        let lines: Vec<String> = match source {
            Source::Empty => Vec::new(),
            Source::Actor(actor, previous) => self.cluster.component_log(actor, previous),
            Source::Runtime { runtime, id } => self
                .cluster
                .sim()
                .actor::<ContainerRuntime<ClusterMsg>>(runtime)
                .and_then(|r| r.state().containers.get(&id))
                .map(|c| {
                    c.logs
                        .iter()
                        .map(|l| l.render(super::apiserver_epoch()))
                        .collect()
                })
                .unwrap_or_default(),
        };
        let skip = match tail {
            Some(n) if n >= 0 => lines.len().saturating_sub(n as usize),
            _ => 0,
        };
        for line in &lines[skip..] {
            self.out.push_str(line);
            self.out.push('\n');
        }
    }

    /// The pod a `logs` target names: the pod itself, or the pod of a workload that kubectl
    /// would pick.
    fn logs_pod(&mut self, target: &Target, ns: &str) -> Option<SharedObject> {
        let name = target.name.clone().unwrap_or_default();
        if target.kind.kind == Kind::Pod {
            return match self.get_object(target.kind, ns, &name, false) {
                Ok(p) => Some(p),
                Err(e) => {
                    self.fail(e);
                    None
                }
            };
        }
        let owner = match self.get_object(target.kind, ns, &name, false) {
            Ok(o) => o,
            Err(e) => {
                self.fail(e);
                return None;
            }
        };
        let value = to_value(&owner);
        let Some(labels) = value
            .pointer("/spec/selector/matchLabels")
            .or_else(|| value.pointer("/spec/selector"))
            .and_then(Value::as_object)
            .filter(|m| m.values().all(Value::is_string))
        else {
            self.fail(KubectlError::Usage(format!(
                "cannot get the logs from {}: selector for {} not implemented",
                target.kind.name.to_ascii_lowercase(),
                target.kind.name
            )));
            return None;
        };
        let selector: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        let selection = crate::kubectl::command::Selection {
            label_selector: Some(selector.join(",")),
            ..Default::default()
        };
        let pods = match self.list(Kind::Pod.info(), ns, &selection) {
            Ok(p) => p,
            Err(e) => {
                self.fail(e);
                return None;
            }
        };
        let mut pods: Vec<SharedObject> = pods;
        pods.sort_by_key(by_logging);
        let Some(first) = pods.first().cloned() else {
            self.fail(KubectlError::Usage(format!(
                "timed out waiting for the condition on {}/{name}",
                target.kind.plural
            )));
            return None;
        };
        if pods.len() > 1 {
            self.out.push_str(&format!(
                "Found {} pods, using pod/{}\n",
                pods.len(),
                first.name()
            ));
        }
        Some(first)
    }

    /// Which instance of `container` is read (the kubelet's `validateContainerLogStatus`);
    /// `Err` is the text kubectl prints.
    fn log_source(
        &self,
        pod: &Pod,
        pod_name: &str,
        container: &str,
        previous: bool,
    ) -> Result<Source, String> {
        let bad = |m: String| Err(KubectlError::Server(StatusError::bad_request(m)).to_string());
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        if node.is_empty() {
            return Ok(Source::Empty);
        }
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let host = self.cluster.host(&node);
        let up = host.is_some_and(|h| self.cluster.sim().host_state(h) == Some(sim::HostState::Up));
        if !up {
            let ip = self
                .cluster
                .nodes()
                .iter()
                .find(|n| n.name == node)
                .map(|n| std::net::Ipv4Addr::from(n.ip).to_string())
                .unwrap_or_default();
            return Err(format!(
                "Error from server: Get \"https://{ip}:10250/containerLogs/{ns}/{pod_name}/{container}\": dial tcp {ip}:10250: connect: no route to host"
            ));
        }
        let status = pod.status.as_ref();
        let statuses: Vec<&ContainerStatus> = status
            .into_iter()
            .flat_map(|s| {
                s.container_statuses
                    .iter()
                    .flatten()
                    .chain(s.init_container_statuses.iter().flatten())
            })
            .collect();
        let Some(cs) = statuses.iter().find(|c| c.name == container) else {
            return bad(format!(
                "container {container:?} in pod {pod_name:?} is not available"
            ));
        };
        let last = cs.last_state.as_ref().and_then(|l| l.terminated.as_ref());
        let state = cs.state.as_ref();
        let running = state.and_then(|s| s.running.as_ref()).is_some();
        let terminated = state.and_then(|s| s.terminated.as_ref());
        let waiting = state.and_then(|s| s.waiting.as_ref());
        let last_id = last
            .and_then(|t| t.container_id.clone())
            .filter(|i| !i.is_empty());
        let id = if previous {
            match last_id {
                Some(id) => id,
                None => {
                    return bad(format!(
                        "previous terminated container {container:?} in pod {pod_name:?} not found"
                    ));
                }
            }
        } else if running {
            cs.container_id.clone().unwrap_or_default()
        } else if let Some(t) = terminated {
            match t.container_id.clone().filter(|i| !i.is_empty()).or(last_id) {
                Some(id) => id,
                None => {
                    return bad(format!(
                        "container {container:?} in pod {pod_name:?} is terminated"
                    ));
                }
            }
        } else if let Some(id) = last_id {
            id
        } else if let Some(w) = waiting {
            let reason = w.reason.clone().unwrap_or_default();
            return bad(match reason.as_str() {
                "ErrImagePull" => format!(
                    "container {container:?} in pod {pod_name:?} is waiting to start: image can't be pulled"
                ),
                "ImagePullBackOff" => format!(
                    "container {container:?} in pod {pod_name:?} is waiting to start: trying and failing to pull image"
                ),
                _ => format!(
                    "container {container:?} in pod {pod_name:?} is waiting to start: {reason}"
                ),
            });
        } else {
            return bad(format!(
                "container {container:?} in pod {pod_name:?} is waiting to start - no logs yet"
            ));
        };
        if let Some(actor) = self
            .cluster
            .component_log_actor(&ns, pod_name, container, &node)
        {
            return Ok(Source::Actor(actor, previous));
        }
        let Some(runtime) = self
            .cluster
            .node_agents()
            .iter()
            .find(|a| a.node == node)
            .map(|a| a.runtime)
        else {
            return Ok(Source::Empty);
        };
        let id = id.rsplit("://").next().unwrap_or_default().to_string();
        Ok(Source::Runtime { runtime, id })
    }
}

/// `podutils.ByLogging`: scheduled before unscheduled, running before pending before
/// unknown, ready before not ready, more restarts first, older first.
fn by_logging(pod: &SharedObject) -> (bool, u8, bool, i64, String) {
    let Object::Pod(p) = &**pod else {
        return (true, 9, true, 0, String::new());
    };
    let unscheduled = p
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_ref())
        .is_none_or(String::is_empty);
    let status = p.status.as_ref();
    let phase = match status.and_then(|s| s.phase.as_deref()) {
        Some("Running") => 0,
        Some("Pending") => 1,
        _ => 2,
    };
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let restarts: i64 = status
        .and_then(|s| s.container_statuses.as_ref())
        .map(|v| v.iter().map(|c| i64::from(c.restart_count)).sum())
        .unwrap_or(0);
    let created = p
        .metadata
        .creation_timestamp
        .as_ref()
        .map(|t| t.0.to_string())
        .unwrap_or_default();
    (unscheduled, phase, !ready, -restarts, created)
}
