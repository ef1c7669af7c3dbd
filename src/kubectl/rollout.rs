//! `kubectl rollout status`: the line kubectl prints for one observation of a Deployment or
//! DaemonSet, and whether the rollout is done.
//!
//! Follows `staging/src/k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go`
//! (`DeploymentStatusViewer`, `DaemonSetStatusViewer`). The runner calls [`rollout_status`] on
//! each watch event until it returns `Done` or an error (or `--timeout` passes), printing each
//! new line once, as kubectl does.

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
        other => Err(KubectlError::Usage(format!(
            "no status viewer has been implemented for {}",
            other.info().name
        ))),
    }
}
