//! `kubectl rollout status`: the line kubectl prints for one observation of a Deployment or
//! DaemonSet, and whether the rollout is done.
//!
//! Follows `staging/src/k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go`
//! (`DeploymentStatusViewer`, `DaemonSetStatusViewer`). The runner calls [`rollout_status`] on
//! each watch event until it returns `Done` or an error (or `--timeout` passes), printing each
//! new line once, as kubectl does.
//!
//! Also the rest of `kubectl rollout` that is about objects rather than the cluster: the
//! revision history of a Deployment's ReplicaSets (`history.go`), the rollback patch
//! (`rollback.go`), and the pause/resume/restart patches (`objectpauser.go`,
//! `objectresumer.go`, `objectrestarter.go`), with kubectl's refusals. Simplification: the
//! history and rollback of DaemonSets and StatefulSets (ControllerRevisions) are not here.

use std::collections::BTreeMap;

use api::Object;

use super::error::KubectlError;

/// One observation of a rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutProgress {
    /// Still rolling; the line kubectl prints (with its trailing newline).
    Waiting(String),
    /// Finished; kubectl prints this line and exits 0.
    Done(String),
}

/// What `rollout status` says about `obj` now.
pub fn rollout_status(obj: &Object) -> Result<RolloutProgress, KubectlError> {
    let generation = obj.generation();
    match obj {
        Object::Deployment(d) => {
            let name = obj.name();
            let st = d.status.clone().unwrap_or_default();
            if generation > st.observed_generation.unwrap_or(0) {
                return Ok(RolloutProgress::Waiting(
                    "Waiting for deployment spec update to be observed...\n".into(),
                ));
            }
            let deadline = st.conditions.iter().flatten().any(|c| {
                c.type_.as_deref() == Some("Progressing")
                    && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
            });
            if deadline {
                return Err(KubectlError::Usage(format!(
                    "deployment \"{name}\" exceeded its progress deadline"
                )));
            }
            let updated = st.updated_replicas.unwrap_or(0);
            let replicas = st.replicas.unwrap_or(0);
            let available = st.available_replicas.unwrap_or(0);
            if let Some(desired) = d.spec.replicas
                && updated < desired
            {
                return Ok(RolloutProgress::Waiting(format!(
                    "Waiting for deployment \"{name}\" rollout to finish: {updated} out of {desired} new replicas have been updated...\n"
                )));
            }
            if replicas > updated {
                return Ok(RolloutProgress::Waiting(format!(
                    "Waiting for deployment \"{name}\" rollout to finish: {} old replicas are pending termination...\n",
                    replicas - updated
                )));
            }
            if available < updated {
                return Ok(RolloutProgress::Waiting(format!(
                    "Waiting for deployment \"{name}\" rollout to finish: {available} of {updated} updated replicas are available...\n"
                )));
            }
            Ok(RolloutProgress::Done(format!(
                "deployment \"{name}\" successfully rolled out\n"
            )))
        }
        Object::DaemonSet(ds) => {
            let name = obj.name();
            if ds
                .spec
                .update_strategy
                .as_ref()
                .and_then(|s| s.type_.as_deref())
                == Some("OnDelete")
            {
                return Err(KubectlError::Usage(
                    "rollout status is only available for RollingUpdate strategy type".into(),
                ));
            }
            let st = ds.status.clone().unwrap_or_default();
            if generation > st.observed_generation.unwrap_or(0) {
                return Ok(RolloutProgress::Waiting(
                    "Waiting for daemon set spec update to be observed...\n".into(),
                ));
            }
            let desired = st.desired_number_scheduled;
            let updated = st.updated_number_scheduled.unwrap_or(0);
            let available = st.number_available.unwrap_or(0);
            if updated < desired {
                return Ok(RolloutProgress::Waiting(format!(
                    "Waiting for daemon set \"{name}\" rollout to finish: {updated} out of {desired} new pods have been updated...\n"
                )));
            }
            if available < desired {
                return Ok(RolloutProgress::Waiting(format!(
                    "Waiting for daemon set \"{name}\" rollout to finish: {available} of {desired} updated pods are available...\n"
                )));
            }
            Ok(RolloutProgress::Done(format!(
                "daemon set \"{name}\" successfully rolled out\n"
            )))
        }
        Object::StatefulSet(sts) => {
            let strategy = sts.spec.update_strategy.clone().unwrap_or_default();
            if strategy.type_.as_deref().unwrap_or("RollingUpdate") != "RollingUpdate" {
                return Err(KubectlError::Usage(
                    "rollout status is only available for RollingUpdate strategy type".into(),
                ));
            }
            let st = sts.status.clone().unwrap_or_default();
            let observed = st.observed_generation.unwrap_or(0);
            if observed == 0 || generation > observed {
                return Ok(RolloutProgress::Waiting(
                    "Waiting for statefulset spec update to be observed...\n".into(),
                ));
            }
            let ready = st.ready_replicas.unwrap_or(0);
            if let Some(desired) = sts.spec.replicas
                && ready < desired
            {
                return Ok(RolloutProgress::Waiting(format!(
                    "Waiting for {} pods to be ready...\n",
                    desired - ready
                )));
            }
            let updated = st.updated_replicas.unwrap_or(0);
            if let Some(rolling) = &strategy.rolling_update {
                if let (Some(desired), Some(partition)) = (sts.spec.replicas, rolling.partition)
                    && updated < desired - partition
                {
                    return Ok(RolloutProgress::Waiting(format!(
                        "Waiting for partitioned roll out to finish: {updated} out of {} new pods have been updated...\n",
                        desired - partition
                    )));
                }
                return Ok(RolloutProgress::Done(format!(
                    "partitioned roll out complete: {updated} new pods have been updated...\n"
                )));
            }
            let update_revision = st.update_revision.unwrap_or_default();
            let current_revision = st.current_revision.unwrap_or_default();
            if update_revision != current_revision {
                return Ok(RolloutProgress::Waiting(format!(
                    "waiting for statefulset rolling update to complete {updated} pods at revision {update_revision}...\n"
                )));
            }
            Ok(RolloutProgress::Done(format!(
                "statefulset rolling update complete {} pods at revision {current_revision}...\n",
                st.current_replicas.unwrap_or(0)
            )))
        }
        other => Err(KubectlError::Usage(format!(
            "no status viewer has been implemented for {}",
            other.info().name
        ))),
    }
}

/// The revision annotation the Deployment controller keeps on each ReplicaSet.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// What `rollout history` shows as CHANGE-CAUSE.
pub const CHANGE_CAUSE_ANNOTATION: &str = "kubernetes.io/change-cause";
/// What `rollout restart` sets in the pod template.
pub const RESTARTED_AT_ANNOTATION: &str = "kubectl.kubernetes.io/restartedAt";
const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";
/// Annotations a rollback keeps from the Deployment instead of copying them from the
/// ReplicaSet (`rollback.go`, `annotationsToSkip`).
const ROLLBACK_KEEPS: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION_ANNOTATION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];

/// A ReplicaSet's revision (`deploymentutil.Revision`): `None` without a valid annotation.
pub fn revision(obj: &Object) -> Option<i64> {
    obj.annotations().get(REVISION_ANNOTATION)?.parse().ok()
}

/// The ReplicaSets `deployment` controls, out of `candidates` (its namespace's).
pub fn owned_replica_sets<'a>(
    deployment: &Object,
    candidates: &'a [api::SharedObject],
) -> Vec<&'a Object> {
    candidates
        .iter()
        .map(|o| o.as_ref())
        .filter(|o| {
            matches!(o, Object::ReplicaSet(_))
                && o.controller_ref()
                    .is_some_and(|r| r.uid == deployment.uid())
        })
        .collect()
}

/// `resource.group "name"` as kubectl names an object in a rollout error.
fn resource_string(obj: &Object) -> String {
    let info = obj.info();
    if info.group.is_empty() {
        format!("{} \"{}\"", info.plural, obj.name())
    } else {
        format!("{}.{} \"{}\"", info.plural, info.group, obj.name())
    }
}

/// The pod template of `obj` as JSON, without the `pod-template-hash` label.
fn template_without_hash(obj: &Object) -> Option<serde_json::Value> {
    let mut value = serde_json::to_value(obj).ok()?;
    let mut template = value.pointer_mut("/spec/template")?.take();
    if let Some(labels) = template
        .pointer_mut("/metadata/labels")
        .and_then(serde_json::Value::as_object_mut)
    {
        labels.remove(POD_TEMPLATE_HASH_LABEL);
        if labels.is_empty() {
            template["metadata"]
                .as_object_mut()
                .map(|m| m.remove("labels"));
        }
    }
    Some(template)
}

/// `kubectl rollout history` of a Deployment (`history.go`, `DeploymentHistoryViewer`): the
/// REVISION / CHANGE-CAUSE table of its ReplicaSets, or `No rollout history found.`. The
/// text follows the `deployment.apps/NAME ` line kubectl prints first.
pub fn history_table(replica_sets: &[&Object]) -> String {
    let mut rows: BTreeMap<i64, String> = BTreeMap::new();
    for rs in replica_sets {
        if let Some(v) = revision(rs) {
            let cause = rs
                .annotations()
                .get(CHANGE_CAUSE_ANNOTATION)
                .filter(|c| !c.is_empty())
                .cloned()
                .unwrap_or_else(|| "<none>".into());
            rows.insert(v, cause);
        }
    }
    if rows.is_empty() {
        return "No rollout history found.\n".into();
    }
    // `tabbedString`: a tabwriter with padding 2 and no minimum width.
    let width = rows
        .keys()
        .map(|v| v.to_string().len())
        .chain(["REVISION".len()])
        .max()
        .unwrap_or(0)
        + 2;
    let mut out = format!("{:<width$}CHANGE-CAUSE\n", "REVISION");
    for (v, cause) in rows {
        out.push_str(&format!("{:<width$}{cause}\n", v.to_string()));
    }
    out + "\n"
}

/// `kubectl rollout history --revision=N`: the pod template of that revision
/// (`printTemplate`, as `kubectl describe` prints a pod template).
pub fn history_revision(replica_sets: &[&Object], wanted: i64) -> Result<String, KubectlError> {
    let rs = replica_sets
        .iter()
        .find(|rs| revision(rs) == Some(wanted))
        .ok_or_else(|| KubectlError::Usage("unable to find the specified revision".into()))?;
    let Object::ReplicaSet(r) = rs else {
        return Err(KubectlError::Usage(
            "unable to find the specified revision".into(),
        ));
    };
    let mut template = r.spec.template.clone().unwrap_or_default();
    let cause = rs.annotations().get(CHANGE_CAUSE_ANNOTATION).cloned();
    if let Some(c) = cause.filter(|c| !c.is_empty()) {
        template
            .metadata
            .get_or_insert_with(Default::default)
            .annotations
            .get_or_insert_with(Default::default)
            .insert(CHANGE_CAUSE_ANNOTATION.into(), c);
    }
    Ok(pod_template_text(&template))
}

/// kubectl's `DescribePodTemplate` for what `rollout history --revision` shows: labels,
/// annotations, and per container its image, ports, command, environment and mounts.
fn pod_template_text(t: &api::k8s_openapi::api::core::v1::PodTemplateSpec) -> String {
    let mut out = String::from("Pod Template:\n");
    let meta = t.metadata.clone().unwrap_or_default();
    let map_lines = |title: &str, m: Option<BTreeMap<String, String>>, out: &mut String| {
        let m = m.unwrap_or_default();
        if m.is_empty() {
            out.push_str(&format!("  {title}:\t<none>\n"));
            return;
        }
        for (i, (k, v)) in m.iter().enumerate() {
            let head = if i == 0 {
                format!("  {title}:\t")
            } else {
                "\t".to_string()
            };
            out.push_str(&format!("{head}{k}={v}\n"));
        }
    };
    map_lines("Labels", meta.labels, &mut out);
    map_lines("Annotations", meta.annotations, &mut out);
    let spec = t.spec.clone().unwrap_or_default();
    out.push_str("  Containers:\n");
    for c in &spec.containers {
        out.push_str(&format!("   {}:\n", c.name));
        out.push_str(&format!(
            "    Image:\t{}\n",
            c.image.as_deref().unwrap_or_default()
        ));
        let ports = c.ports.clone().unwrap_or_default();
        if ports.is_empty() {
            out.push_str("    Port:\t<none>\n    Host Port:\t<none>\n");
        } else {
            let list = |f: &dyn Fn(&api::k8s_openapi::api::core::v1::ContainerPort) -> i32| {
                ports
                    .iter()
                    .map(|p| format!("{}/{}", f(p), p.protocol.as_deref().unwrap_or("TCP")))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let key = if ports.len() > 1 { "Ports" } else { "Port" };
            out.push_str(&format!("    {key}:\t{}\n", list(&|p| p.container_port)));
            out.push_str(&format!(
                "    Host {key}:\t{}\n",
                list(&|p| p.host_port.unwrap_or(0))
            ));
        }
        if let Some(cmd) = c.command.as_ref().filter(|c| !c.is_empty()) {
            out.push_str("    Command:\n");
            for part in cmd {
                out.push_str(&format!("      {part}\n"));
            }
        }
        let env = c.env.clone().unwrap_or_default();
        if env.is_empty() {
            out.push_str("    Environment:\t<none>\n");
        } else {
            out.push_str("    Environment:\n");
            for e in env {
                out.push_str(&format!(
                    "      {}:\t{}\n",
                    e.name,
                    e.value.unwrap_or_default()
                ));
            }
        }
        let mounts = c.volume_mounts.clone().unwrap_or_default();
        if mounts.is_empty() {
            out.push_str("    Mounts:\t<none>\n");
        } else {
            out.push_str("    Mounts:\n");
            for m in mounts {
                out.push_str(&format!("      {} from {}\n", m.mount_path, m.name));
            }
        }
    }
    let volumes = spec.volumes.unwrap_or_default();
    if volumes.is_empty() {
        out.push_str("  Volumes:\t<none>\n");
    } else {
        out.push_str("  Volumes:\n");
        for v in volumes {
            out.push_str(&format!("   {}:\n", v.name));
        }
    }
    out.push_str("  Node-Selectors:\t<none>\n  Tolerations:\t<none>\n");
    out
}

/// What `rollout undo` does to a Deployment.
#[derive(Debug, Clone, PartialEq)]
pub enum Rollback {
    /// The JSON patch that restores the revision's template and annotations
    /// (`getDeploymentPatch`); kubectl prints `rolled back` once it is applied.
    Patch(serde_json::Value),
    /// The Deployment already has that template: `skipped rollback (current template already
    /// matches revision N)`.
    Skipped(String),
}

/// `rollout undo [--to-revision=N]` of a Deployment (`rollback.go`, `DeploymentRollbacker`):
/// the ReplicaSet of revision N, or with 0 the newest revision older than the current one.
pub fn rollback(
    deployment: &Object,
    replica_sets: &[&Object],
    to_revision: i64,
) -> Result<Rollback, KubectlError> {
    let not_found =
        |r: i64| KubectlError::Usage(format!("unable to find specified revision {r} in history"));
    if to_revision < 0 {
        return Err(not_found(to_revision));
    }
    let Object::Deployment(d) = deployment else {
        return Err(KubectlError::Usage(format!(
            "no rollbacker has been implemented for \"{}\"",
            deployment.info().name
        )));
    };
    let target = if to_revision > 0 {
        replica_sets
            .iter()
            .find(|rs| revision(rs) == Some(to_revision))
            .copied()
            .ok_or_else(|| not_found(to_revision))?
    } else {
        // The second newest revision (`deploymentRevision`).
        let mut by_revision: Vec<(i64, &Object)> = replica_sets
            .iter()
            .filter_map(|rs| revision(rs).map(|v| (v, *rs)))
            .collect();
        by_revision.sort_by_key(|(v, _)| std::cmp::Reverse(*v));
        by_revision.get(1).map(|(_, rs)| *rs).ok_or_else(|| {
            KubectlError::Usage(format!(
                "no rollout history found for deployment \"{}\"",
                deployment.name()
            ))
        })?
    };
    if d.spec.paused == Some(true) {
        return Err(KubectlError::Usage(format!(
            "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume deployment/{}' and try again",
            deployment.name()
        )));
    }
    let (Some(wanted), Some(current)) = (
        template_without_hash(target),
        template_without_hash(deployment),
    ) else {
        return Err(KubectlError::Usage(format!(
            "failed restoring revision {to_revision}: no pod template"
        )));
    };
    if wanted == current {
        return Ok(Rollback::Skipped(format!(
            "skipped rollback (current template already matches revision {to_revision})"
        )));
    }
    let mut annotations = serde_json::Map::new();
    for (k, v) in deployment.annotations() {
        if ROLLBACK_KEEPS.contains(&k.as_str()) {
            annotations.insert(k.clone(), v.clone().into());
        }
    }
    for (k, v) in target.annotations() {
        if !ROLLBACK_KEEPS.contains(&k.as_str()) {
            annotations.insert(k.clone(), v.clone().into());
        }
    }
    Ok(Rollback::Patch(serde_json::json!([
        {"op": "replace", "path": "/spec/template", "value": wanted},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ])))
}

/// The strategic merge patch of `rollout pause` (`pause: true`) or `rollout resume`
/// (`objectpauser.go`, `objectresumer.go`), or kubectl's error: only Deployments pause, and
/// pausing a paused one (resuming a running one) is refused.
pub fn pause_patch(obj: &Object, pause: bool) -> Result<serde_json::Value, KubectlError> {
    let Object::Deployment(d) = obj else {
        let verb = if pause { "pausing" } else { "resuming" };
        return Err(KubectlError::Usage(format!(
            "{} {verb} is not supported",
            resource_string(obj)
        )));
    };
    let paused = d.spec.paused == Some(true);
    if paused == pause {
        let why = if pause {
            "is already paused"
        } else {
            "is not paused"
        };
        return Err(KubectlError::Usage(format!(
            "{} {why}",
            resource_string(obj)
        )));
    }
    Ok(
        serde_json::json!({"spec": {"paused": if pause { serde_json::Value::Bool(true) } else { serde_json::Value::Null }}}),
    )
}

/// The strategic merge patch of `rollout restart` (`objectrestarter.go`): the
/// `kubectl.kubernetes.io/restartedAt` annotation in the pod template, at `now` (RFC 3339).
pub fn restart_patch(obj: &Object, now: &str) -> Result<serde_json::Value, KubectlError> {
    match obj {
        Object::Deployment(d) if d.spec.paused == Some(true) => Err(KubectlError::Usage(format!(
            "{} can't restart paused deployment (run rollout resume first)",
            resource_string(obj)
        ))),
        Object::Deployment(_) | Object::DaemonSet(_) | Object::StatefulSet(_) => Ok(
            serde_json::json!({"spec": {"template": {"metadata": {"annotations": {
                RESTARTED_AT_ANNOTATION: now
            }}}}}),
        ),
        _ => Err(KubectlError::Usage(format!(
            "{} restarting is not supported",
            resource_string(obj)
        ))),
    }
}
