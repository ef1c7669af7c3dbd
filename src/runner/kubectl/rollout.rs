//! `kubectl rollout status|undo|history|restart|pause|resume` against the cluster.
//!
//! Follows `staging/src/k8s.io/kubectl/pkg/cmd/rollout/*.go`: `status` gets the object and
//! then follows it, printing the status viewer's line on each change until the rollout is
//! done, the viewer returns an error (a Deployment past its
//! progress deadline) or `--timeout` passes (`error: timed out waiting for the condition`);
//! `undo` reads the Deployment's ReplicaSets and sends the JSON patch of
//! [`crate::kubectl::rollout::rollback`]; `history` prints their revisions; `restart`,
//! `pause` and `resume` send strategic merge patches and print `restarted`, `paused`,
//! `resumed`. The object logic lives in [`crate::kubectl::rollout`].
//!
//! Simplifications: kubectl watches the object (`UntilWithSync` on `metadata.name`); here it
//! is read from the watch cache every 100 ms of virtual time, and a line is printed when it
//! differs from the one before (kubectl prints the viewer's line on every watch event, which
//! repeats a line whenever a status field the line does not show changes); without `--timeout` the watch is bounded by [`MAX_WATCH`]
//! of virtual time; DaemonSet and StatefulSet history and undo (ControllerRevisions) are not
//! run.

use std::sync::Arc;

use api::{Kind, Object, SharedObject};
use cluster::apiserver::{ApiReply, ListOptions, PatchType, Verb as ApiVerb};

use super::{Selection, Session};
use crate::kubectl::KubectlError;
use crate::kubectl::command::RolloutAction;
use crate::kubectl::outcome::{Outcome, outcome_line};
use crate::kubectl::print::resource_name;
use crate::kubectl::rollout::{
    Rollback, RolloutProgress, history_revision, history_table, owned_replica_sets, pause_patch,
    restart_patch, rollback, rollout_status,
};
use crate::units::Duration;

/// What the cluster lacks for `rollout`; `None` once it runs.
pub(super) const NEEDS: Option<&str> = None;

/// How long `rollout status` watches without `--timeout` (kubectl waits for ever; a
/// scenario step must end).
const MAX_WATCH: sim::Duration = sim::Duration::from_secs(30 * 60);
/// How often `rollout status` reads the object again (for kubectl's watch).
const POLL: sim::Duration = sim::Duration::from_millis(100);

impl Session<'_> {
    pub(super) fn rollout(
        &mut self,
        action: RolloutAction,
        selection: &Selection,
        to_revision: Option<i64>,
        timeout: Option<Duration>,
    ) {
        for (_, obj) in self.resolve(selection) {
            let result = match action {
                RolloutAction::Status => self.rollout_status(&obj, timeout),
                RolloutAction::Undo => self.rollout_undo(&obj, to_revision.unwrap_or(0)),
                RolloutAction::History => self.rollout_history(&obj, to_revision.unwrap_or(0)),
                RolloutAction::Restart => {
                    let now = self.rfc3339_now();
                    restart_patch(&obj, &now)
                        .and_then(|p| self.patch(&obj, PatchType::StrategicMerge, p))
                        .map(|o| self.out.push_str(&outcome_line(&o, Outcome::Restarted)))
                }
                RolloutAction::Pause | RolloutAction::Resume => {
                    let pause = action == RolloutAction::Pause;
                    pause_patch(&obj, pause)
                        .and_then(|p| self.patch(&obj, PatchType::StrategicMerge, p))
                        .map(|o| {
                            let outcome = if pause {
                                Outcome::Paused
                            } else {
                                Outcome::Resumed
                            };
                            self.out.push_str(&outcome_line(&o, outcome));
                        })
                }
            };
            if let Err(e) = result {
                self.fail(e);
            }
        }
    }

    /// The virtual clock as kubectl's `time.Now().Format(time.RFC3339)` (UTC).
    fn rfc3339_now(&self) -> String {
        let t = cluster::apiserver::objects::api_time(self.cluster.sim().now());
        serde_json::to_value(t)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// The ReplicaSets a Deployment controls (`deploymentutil.GetAllReplicaSets`).
    fn replica_sets_of(&mut self, deployment: &Object) -> Result<Vec<SharedObject>, KubectlError> {
        let opts = ListOptions::default();
        match self.call(
            Kind::ReplicaSet,
            deployment.namespace(),
            "",
            ApiVerb::List(opts),
        )? {
            ApiReply::List(l) => Ok(owned_replica_sets(deployment, &l.items)
                .into_iter()
                .map(|o| Arc::new(o.clone()))
                .collect()),
            _ => Err(KubectlError::Usage(
                "unexpected answer from the server".into(),
            )),
        }
    }

    fn rollout_history(&mut self, obj: &Object, revision: i64) -> Result<(), KubectlError> {
        if !matches!(obj, Object::Deployment(_)) {
            return Err(KubectlError::Usage(format!(
                "no history viewer has been implemented for \"{}\"",
                obj.info().name
            )));
        }
        let sets = self.replica_sets_of(obj)?;
        let refs: Vec<&Object> = sets.iter().map(|o| o.as_ref()).collect();
        let text = if revision > 0 {
            history_revision(&refs, revision)?
        } else {
            history_table(&refs)
        };
        let with_revision = if revision > 0 {
            format!("with revision #{revision}")
        } else {
            String::new()
        };
        self.out
            .push_str(&format!("{} {with_revision}\n{text}", resource_name(obj)));
        Ok(())
    }

    fn rollout_undo(&mut self, obj: &Object, to_revision: i64) -> Result<(), KubectlError> {
        if !matches!(obj, Object::Deployment(_)) {
            return Err(KubectlError::Usage(format!(
                "no rollbacker has been implemented for \"{}\"",
                obj.info().name
            )));
        }
        // The rollbacker reads the Deployment afresh, then its ReplicaSets.
        let current = self.get_object(obj.info(), obj.namespace(), obj.name(), false)?;
        let sets = self.replica_sets_of(&current)?;
        let refs: Vec<&Object> = sets.iter().map(|o| o.as_ref()).collect();
        match rollback(&current, &refs, to_revision)? {
            Rollback::Skipped(why) => {
                self.out
                    .push_str(&format!("{} {why}\n", resource_name(&current)));
            }
            Rollback::Patch(patch) => {
                let o = self.patch(&current, PatchType::Json, patch).map_err(|e| {
                    KubectlError::Usage(format!(
                        "failed restoring revision {to_revision}: {}",
                        e.to_string().trim_start_matches("error: ")
                    ))
                })?;
                self.out.push_str(&outcome_line(&o, Outcome::RolledBack));
            }
        }
        Ok(())
    }

    /// `rollout status`: the object, read again until the viewer says done.
    fn rollout_status(
        &mut self,
        obj: &Object,
        timeout: Option<Duration>,
    ) -> Result<(), KubectlError> {
        let limit = timeout
            .filter(|t| t.as_nanos() > 0)
            .map_or(MAX_WATCH, |t| sim::Duration::from_nanos(t.as_nanos()));
        let deadline = self.cluster.sim().now() + limit;
        let mut last_line = String::new();
        let mut first = true;
        loop {
            // The first read is kubectl's list (a consistent read); later ones stand for the
            // watch's events and are served from the watch cache.
            let current = match self.get_object(obj.info(), obj.namespace(), obj.name(), !first) {
                Ok(o) => o,
                Err(KubectlError::Server(e)) if e.code == 404 && !first => {
                    return Err(KubectlError::Usage("object has been deleted".into()));
                }
                Err(e) => return Err(e),
            };
            first = false;
            let (line, done) = match rollout_status(&current)? {
                RolloutProgress::Waiting(l) => (l, false),
                RolloutProgress::Done(l) => (l, true),
            };
            if line != last_line {
                self.out.push_str(&line);
                last_line = line;
            }
            if done {
                return Ok(());
            }
            let now = self.cluster.sim().now();
            if now >= deadline {
                return Err(KubectlError::Usage(
                    "timed out waiting for the condition".into(),
                ));
            }
            self.pause((deadline - now).min(POLL));
        }
    }
}
