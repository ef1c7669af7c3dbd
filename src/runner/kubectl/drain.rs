//! `kubectl drain NODE`: cordon, then evict every pod the node runs through the Eviction API
//! (`POST pods/NAME/eviction`) and wait for each to be gone.
//!
//! Follows `staging/src/k8s.io/kubectl/pkg/cmd/drain/drain.go` (`RunDrain`,
//! `deleteOrEvictPodsSimple`) and `staging/src/k8s.io/kubectl/pkg/drain/{drain,filters}.go`:
//! the pods are listed with `spec.nodeName=NODE` across namespaces and run through kubectl's
//! filters in order (DaemonSet-managed, mirror, local storage, unreplicated; the first that
//! refuses decides, and only the last filter's warning is kept, as upstream); refusals abort
//! that node's drain with kubectl's messages (`cannot delete Pods that declare no controller
//! (use --force to override): default/x`); warnings print as `Warning: …`; each eviction
//! prints `evicting pod NS/NAME`, and each pod prints `pod/NAME evicted` once a poll every
//! second finds it gone (or replaced by a pod with another uid). A 429 from the eviction is
//! retried every 5 s, as kubectl does when a PodDisruptionBudget forbids it.
//!
//! Simplifications: the apiserver does not consult PodDisruptionBudgets (see
//! `apiserver::eviction`), so every eviction of an existing pod is admitted; kubectl's
//! concurrent per-pod goroutines are one loop here (the lines come in pod order); without
//! `--timeout` the wait is bounded by [`MAX_WAIT`] of virtual time.

use std::collections::BTreeSet;

use api::{Kind, Object, SharedObject};
use cluster::apiserver::{ApiReply, DeleteOptions, ListOptions, Verb as ApiVerb};

use super::{Selection, Session};
use crate::kubectl::KubectlError;
use crate::kubectl::outcome::{Outcome, evicting_line, outcome_line};
use crate::units::Duration;

/// What the cluster lacks for `drain`; `None` once it runs.
pub(super) const NEEDS: Option<&str> = None;

/// How long a drain without `--timeout` waits for its pods (kubectl waits for ever).
const MAX_WAIT: sim::Duration = sim::Duration::from_secs(30 * 60);
/// kubectl's poll interval while it waits for evicted pods to be gone.
const POLL: sim::Duration = sim::Duration::from_secs(1);
/// kubectl's wait before it retries an eviction refused with 429.
const RETRY_429: sim::Duration = sim::Duration::from_secs(5);

const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";
const DAEMONSET_FATAL: &str = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)";
const DAEMONSET_WARNING: &str = "ignoring DaemonSet-managed Pods";
const LOCAL_STORAGE_FATAL: &str =
    "Pods with local storage (use --delete-emptydir-data to override)";
const LOCAL_STORAGE_WARNING: &str = "deleting Pods with local storage";
const UNMANAGED_FATAL: &str =
    "cannot delete Pods that declare no controller (use --force to override)";
const UNMANAGED_WARNING: &str = "deleting Pods that declare no controller";

/// `kubectl drain`'s flags.
#[derive(Clone, Copy, Debug)]
pub(super) struct DrainFlags {
    pub ignore_daemonsets: bool,
    pub delete_emptydir_data: bool,
    pub force: bool,
    pub grace_period: Option<i64>,
    pub timeout: Option<Duration>,
}

/// What one filter says about one pod (`PodDeleteStatus`).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Verdict {
    Okay,
    Skip,
    Warning { delete: bool, message: String },
    Error(String),
}

impl Verdict {
    fn deletes(&self) -> bool {
        matches!(self, Verdict::Okay | Verdict::Warning { delete: true, .. })
    }
}

/// Messages with the pods they name, in first-seen order (kubectl joins `ns/name`s).
#[derive(Default)]
struct Grouped(Vec<(String, Vec<String>)>);

impl Grouped {
    fn add(&mut self, message: &str, pod: &Object) {
        let who = format!("{}/{}", pod.namespace(), pod.name());
        match self.0.iter_mut().find(|(m, _)| m == message) {
            Some((_, pods)) => pods.push(who),
            None => self.0.push((message.to_string(), vec![who])),
        }
    }
}

/// `utilerrors.NewAggregate(errs).Error()`: one message as is, several in brackets.
fn aggregate(errors: &[String]) -> String {
    match errors {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// Go's `time.Duration.String()` for whole seconds, as drain prints its timeout.
fn go_duration(d: sim::Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

fn finished(pod: &Object) -> bool {
    pod.as_pod()
        .and_then(|p| p.status.as_ref())
        .and_then(|s| s.phase.as_deref())
        .is_some_and(|phase| phase == "Succeeded" || phase == "Failed")
}

fn has_local_storage(pod: &Object) -> bool {
    pod.as_pod()
        .and_then(|p| p.spec.as_ref())
        .and_then(|s| s.volumes.as_ref())
        .is_some_and(|vs| vs.iter().any(|v| v.empty_dir.is_some()))
}

impl Session<'_> {
    pub(super) fn drain(&mut self, selection: &Selection, flags: DrainFlags) {
        let nodes: Vec<SharedObject> = self
            .resolve(selection)
            .into_iter()
            .map(|(_, o)| o)
            .collect();
        if self.failed {
            return;
        }
        self.cordon(selection, true);
        let limit = flags
            .timeout
            .filter(|t| t.as_nanos() > 0)
            .map(|t| sim::Duration::from_nanos(t.as_nanos()));
        let mut fatal = Vec::new();
        let mut remaining = Vec::new();
        for node in &nodes {
            match self.drain_node(node.name(), flags, limit) {
                Ok(()) => self.out.push_str(&outcome_line(node, Outcome::Drained)),
                Err(e) => {
                    self.out.push_str(&format!(
                        "error: unable to drain node \"{}\" due to error: {e}, continuing command...\n",
                        node.name()
                    ));
                    fatal.push(e);
                    remaining.push(node.name().to_string());
                }
            }
        }
        if !remaining.is_empty() {
            self.out
                .push_str("There are pending nodes to be drained:\n");
            for name in &remaining {
                self.out.push_str(&format!(" {name}\n"));
            }
            self.fail(KubectlError::Usage(aggregate(&fatal)));
        }
    }

    /// kubectl's filters, in order, for one pod (`makeFilters`): the first verdict that does
    /// not delete the pod stands, else the last one's.
    fn drain_verdict(&mut self, pod: &Object, flags: DrainFlags) -> Verdict {
        let mut verdict = self.daemonset_filter(pod, flags);
        if !verdict.deletes() {
            return verdict;
        }
        if pod.annotations().contains_key(MIRROR_ANNOTATION) {
            return Verdict::Skip;
        }
        verdict = if !has_local_storage(pod) || finished(pod) {
            Verdict::Okay
        } else if !flags.delete_emptydir_data {
            Verdict::Error(LOCAL_STORAGE_FATAL.into())
        } else {
            Verdict::Warning {
                delete: true,
                message: LOCAL_STORAGE_WARNING.into(),
            }
        };
        if !verdict.deletes() {
            return verdict;
        }
        if finished(pod) || pod.controller_ref().is_some() {
            Verdict::Okay
        } else if flags.force {
            Verdict::Warning {
                delete: true,
                message: UNMANAGED_WARNING.into(),
            }
        } else {
            Verdict::Error(UNMANAGED_FATAL.into())
        }
    }

    fn daemonset_filter(&mut self, pod: &Object, flags: DrainFlags) -> Verdict {
        let Some(owner) = pod.controller_ref().filter(|r| r.kind == "DaemonSet") else {
            return Verdict::Okay;
        };
        if finished(pod) {
            return Verdict::Okay;
        }
        let name = owner.name.clone();
        match self.get_object(Kind::DaemonSet.info(), pod.namespace(), &name, false) {
            Ok(_) if flags.ignore_daemonsets => Verdict::Warning {
                delete: false,
                message: DAEMONSET_WARNING.into(),
            },
            Ok(_) => Verdict::Error(DAEMONSET_FATAL.into()),
            Err(KubectlError::Server(e)) if e.code == 404 && flags.force => Verdict::Warning {
                delete: true,
                message: e.message,
            },
            Err(KubectlError::Server(e)) => Verdict::Error(e.message),
            Err(e) => Verdict::Error(e.to_string()),
        }
    }

    /// Evicts what may go from one node and waits for it; `Err` is the error kubectl reports.
    fn drain_node(
        &mut self,
        node: &str,
        flags: DrainFlags,
        limit: Option<sim::Duration>,
    ) -> Result<(), String> {
        let pods = self.pods_on(node).map_err(|e| e.to_string())?;
        let mut errors = Grouped::default();
        let mut warnings = Grouped::default();
        let mut victims = Vec::new();
        for pod in pods {
            let verdict = self.drain_verdict(&pod, flags);
            match &verdict {
                Verdict::Error(m) => errors.add(m, &pod),
                Verdict::Warning { message, .. } => warnings.add(message, &pod),
                Verdict::Okay | Verdict::Skip => {}
            }
            if verdict.deletes() {
                victims.push(pod);
            }
        }
        if !errors.0.is_empty() {
            let list: Vec<String> = errors
                .0
                .iter()
                .map(|(m, pods)| {
                    let m = if m.to_ascii_lowercase().starts_with("cannot delete") {
                        m.clone()
                    } else {
                        format!("cannot delete {m}")
                    };
                    format!("{m}: {}", pods.join(", "))
                })
                .collect();
            return Err(aggregate(&list));
        }
        if !warnings.0.is_empty() {
            let text: Vec<String> = warnings
                .0
                .iter()
                .map(|(m, pods)| format!("{m}: {}", pods.join(", ")))
                .collect();
            self.out
                .push_str(&format!("Warning: {}\n", text.join("; ")));
        }
        let result = self.evict_and_wait(&victims, flags, limit);
        if let Err(e) = &result {
            // `deleteOrEvictPodsSimple`: the pods still to go, after an error.
            if let Ok(left) = self.pods_on(node) {
                let mut pending = Vec::new();
                for pod in left {
                    if self.drain_verdict(&pod, flags).deletes() {
                        pending.push(pod.name().to_string());
                    }
                }
                if !pending.is_empty() {
                    self.out.push_str(&format!(
                        "There are pending pods in node \"{node}\" when an error occurred: {e}\n"
                    ));
                    for name in pending {
                        self.out.push_str(&format!("pod/{name}\n"));
                    }
                }
            }
        }
        result
    }

    fn pods_on(&mut self, node: &str) -> Result<Vec<SharedObject>, KubectlError> {
        let opts = ListOptions {
            field_selector: format!("spec.nodeName={node}"),
            ..ListOptions::default()
        };
        match self.call(Kind::Pod, "", "", ApiVerb::List(opts))? {
            ApiReply::List(l) => Ok(l.items),
            _ => Err(KubectlError::Usage(
                "unexpected answer from the server".into(),
            )),
        }
    }

    /// `evictPods`: each pod evicted (retrying 429 every 5 s), then polled every second until
    /// it is gone, all within the global timeout.
    fn evict_and_wait(
        &mut self,
        pods: &[SharedObject],
        flags: DrainFlags,
        limit: Option<sim::Duration>,
    ) -> Result<(), String> {
        let start = self.cluster.sim().now();
        let deadline = start + limit.unwrap_or(MAX_WAIT);
        let timeout_text = go_duration(limit.unwrap_or(MAX_WAIT));
        let options = DeleteOptions {
            grace_period_seconds: flags.grace_period,
            ..DeleteOptions::default()
        };
        let mut errors = Vec::new();
        let mut waiting: Vec<&SharedObject> = Vec::new();
        for pod in pods {
            self.out.push_str(&evicting_line(pod));
            loop {
                if self.cluster.sim().now() >= deadline {
                    errors.push(format!(
                        "error when evicting pod \"{}\": global timeout reached: {timeout_text}",
                        pod.name()
                    ));
                    break;
                }
                match self.call(
                    Kind::Pod,
                    pod.namespace(),
                    pod.name(),
                    ApiVerb::Evict(options.clone()),
                ) {
                    Ok(_) => {
                        waiting.push(pod);
                        break;
                    }
                    Err(KubectlError::Server(e)) if e.code == 404 => break,
                    Err(KubectlError::Server(e)) if e.code == 429 => {
                        self.out.push_str(&format!(
                            "error when evicting pods/\"{}\" -n \"{}\" (will retry after 5s): {}\n",
                            pod.name(),
                            pod.namespace(),
                            e.message
                        ));
                        self.pause(RETRY_429);
                        self.out.push_str(&evicting_line(pod));
                    }
                    Err(e) => {
                        errors.push(format!("error when evicting pod \"{}\": {e}", pod.name()));
                        break;
                    }
                }
            }
        }
        let mut gone = BTreeSet::new();
        loop {
            for pod in &waiting {
                if gone.contains(pod.uid()) {
                    continue;
                }
                let done =
                    match self.get_object(Kind::Pod.info(), pod.namespace(), pod.name(), false) {
                        Err(KubectlError::Server(e)) if e.code == 404 => true,
                        Ok(now) => now.uid() != pod.uid(),
                        Err(_) => false,
                    };
                if done {
                    gone.insert(pod.uid().to_string());
                    self.out.push_str(&outcome_line(pod, Outcome::Evicted));
                }
            }
            if gone.len() == waiting.len() {
                break;
            }
            if self.cluster.sim().now() >= deadline {
                for pod in waiting.iter().filter(|p| !gone.contains(p.uid())) {
                    errors.push(format!(
                        "error when waiting for pod \"{}\" terminating: global timeout reached: {timeout_text}",
                        pod.name()
                    ));
                }
                break;
            }
            let step = (deadline - self.cluster.sim().now()).min(POLL);
            self.pause(step);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(aggregate(&errors))
        }
    }
}
