//! The StatefulSet controller: pods with stable ordinal identities, started and stopped in
//! order, updated from the highest ordinal down.
//!
//! Follows `pkg/controller/statefulset/stateful_set_control.go` (`updateStatefulSet`,
//! `updateStatefulSetStatus`, `completeRollingUpdate`) and `stateful_set_utils.go`:
//! - pod `i` is `<name>-<i>` with hostname `<name>-<i>`, subdomain `spec.serviceName`, the
//!   labels `statefulset.kubernetes.io/pod-name`, `apps.kubernetes.io/pod-index` and
//!   `controller-revision-hash`; ordinals `0..replicas` are wanted, higher ones condemned;
//! - `OrderedReady`: one change at a time: a missing pod is created and the sync stops until
//!   it is Running and Ready; condemned pods are deleted from the highest ordinal, one at a
//!   time, only while every pod is healthy; failed pods are deleted and recreated;
//! - `Parallel`: every missing pod is created and every condemned pod deleted in one sync;
//! - `RollingUpdate`: once the wanted pods exist, the pod with the highest ordinal at or
//!   above `partition` whose revision is not the update revision is deleted (and recreated
//!   from the new template by the next sync), waiting for each to be healthy again; pods
//!   below the partition keep (and are recreated with) the current revision. `OnDelete`
//!   recreates only deleted pods, from the update revision;
//! - status: replicas, readyReplicas, availableReplicas, currentReplicas, updatedReplicas,
//!   currentRevision, updateRevision, observedGeneration; the update revision becomes the
//!   current one when every replica is updated and ready;
//! - Events `SuccessfulCreate` ("create Pod web-0 in StatefulSet web successful") and
//!   `SuccessfulDelete`.
//!
//! Simplifications: the api crate has no ControllerRevision kind, so a revision is
//! `<name>-<hash of the template>` (`template_hash::compute_hash`) kept only in the status
//! and, for recreating pods below a partition, in this controller's memory (after a
//! restart such pods get the newest template); no rollback history, `collisionCount` or
//! `maxUnavailable` > 1; volumeClaimTemplates make no PersistentVolumeClaims (the api has
//! no PVC kind); orphan pods are not adopted.

use std::collections::BTreeMap;

use api::object::new_controller_ref;
use api::{Kind, Object, SharedObject};
use apiserver::ApiReply;
use client::{Action, ClientError, Notification, object_key};
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sim::Duration;

use crate::controller::{Controller, Cx, Purpose, ReconcileError, Write, split};
use crate::events::{NORMAL, Recorder, WARNING};
use crate::pods;
use crate::template_hash::compute_hash;

/// `source.component` of its Events: the name upstream gives this controller's recorder.
const EVENT_SOURCE: &str = "statefulset-controller";

pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
pub const REVISION_LABEL: &str = "controller-revision-hash";

fn sts_of(obj: &Object) -> Option<&StatefulSet> {
    match obj {
        Object::StatefulSet(s) => Some(s.as_ref()),
        _ => None,
    }
}

/// `<name>-<hash>`: the revision a template stands for.
pub fn revision_of(name: &str, template: &PodTemplateSpec) -> String {
    format!("{name}-{}", compute_hash(template, None))
}

/// The ordinal of `<set>-<i>` (`getOrdinal`).
pub fn ordinal(set: &str, pod: &str) -> Option<i32> {
    pod.strip_prefix(set)?
        .strip_prefix('-')?
        .parse()
        .ok()
        .filter(|i: &i32| *i >= 0)
}

/// The pod for ordinal `i` from `template` at `revision` (`newVersionedStatefulSetPod`).
pub fn new_pod(
    obj: &Object,
    sts: &StatefulSet,
    template: &PodTemplateSpec,
    revision: &str,
    i: i32,
) -> Option<Object> {
    let controller_ref = new_controller_ref(obj)?;
    let name = format!("{}-{i}", obj.name());
    let tm = template.metadata.clone().unwrap_or_default();
    let mut labels = tm.labels.unwrap_or_default();
    labels.insert(POD_NAME_LABEL.into(), name.clone());
    labels.insert(POD_INDEX_LABEL.into(), i.to_string());
    labels.insert(REVISION_LABEL.into(), revision.to_string());
    let mut spec = template.spec.clone().unwrap_or_default();
    spec.hostname = Some(name.clone());
    if let Some(svc) = sts.spec.service_name.as_deref().filter(|s| !s.is_empty()) {
        spec.subdomain = Some(svc.to_string());
    }
    Some(Object::from(Pod {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(obj.namespace().to_string()),
            labels: Some(labels),
            annotations: tm.annotations,
            finalizers: tm.finalizers,
            owner_references: Some(vec![controller_ref]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }))
}

fn revision_label(o: &Object) -> &str {
    o.labels().get(REVISION_LABEL).map_or("", String::as_str)
}

fn running_and_ready(o: &Object) -> bool {
    o.as_pod()
        .is_some_and(|p| pods::phase(p) == "Running" && pods::is_ready(p))
}

fn healthy(o: &Object) -> bool {
    running_and_ready(o) && !o.is_terminating()
}

fn failed(o: &Object) -> bool {
    o.as_pod().is_some_and(|p| pods::phase(p) == "Failed")
}

#[derive(Default)]
pub struct StatefulSetController {
    /// Templates by revision, as seen (stands in for ControllerRevisions).
    templates: BTreeMap<String, PodTemplateSpec>,
    owners: BTreeMap<String, SharedObject>,
    recorder: Recorder,
}

impl StatefulSetController {
    fn controller_key(cx: &Cx<'_>, pod: &Object) -> Option<String> {
        let r = pod.controller_ref()?;
        if r.kind != "StatefulSet" {
            return None;
        }
        let s = cx.get(Kind::StatefulSet, pod.namespace(), &r.name)?;
        (s.uid() == r.uid).then(|| client::key_of(pod.namespace(), &r.name))
    }

    fn create(
        &mut self,
        key: &str,
        obj: &SharedObject,
        sts: &StatefulSet,
        revision: &str,
        i: i32,
        cx: &mut Cx<'_>,
    ) {
        let template = self
            .templates
            .get(revision)
            .cloned()
            .unwrap_or_else(|| sts.spec.template.clone());
        if let Some(pod) = new_pod(obj, sts, &template, revision, i) {
            cx.writes
                .push(Write::create(pod, key).purpose(Purpose::CreatePod));
        }
    }

    fn delete(&mut self, key: &str, obj: &SharedObject, pod: &SharedObject, cx: &mut Cx<'_>) {
        cx.writes
            .push(Write::delete(pod, key).purpose(Purpose::DeletePod(object_key(pod))));
        self.recorder.record(
            cx.writes,
            obj,
            NORMAL,
            "SuccessfulDelete",
            format!(
                "delete Pod {} in StatefulSet {} successful",
                pod.name(),
                obj.name()
            ),
            EVENT_SOURCE,
            cx.now,
        );
    }

    /// `updateStatefulSet`'s create/delete/update pass; at most the writes one sync makes.
    #[allow(clippy::too_many_arguments)]
    fn update_pods(
        &mut self,
        key: &str,
        obj: &SharedObject,
        sts: &StatefulSet,
        replicas: &[Option<SharedObject>],
        condemned: &[SharedObject],
        current_rev: &str,
        update_rev: &str,
        cx: &mut Cx<'_>,
    ) {
        let monotonic = sts.spec.pod_management_policy.as_deref() != Some("Parallel");
        let strategy = sts
            .spec
            .update_strategy
            .as_ref()
            .and_then(|s| s.type_.as_deref())
            .unwrap_or("RollingUpdate");
        let partition = sts
            .spec
            .update_strategy
            .as_ref()
            .and_then(|s| s.rolling_update.as_ref())
            .and_then(|r| r.partition)
            .unwrap_or(0)
            .max(0);
        // The revision a missing pod is created at (`newVersionedStatefulSetPod`).
        let revision_for = |i: i32| {
            if strategy == "RollingUpdate" && i < partition && current_rev != update_rev {
                current_rev
            } else {
                update_rev
            }
        };
        let first_unhealthy: Option<String> = replicas
            .iter()
            .flatten()
            .chain(condemned.iter().rev())
            .find(|p| !healthy(p))
            .map(|p| p.name().to_string());
        for (i, slot) in replicas.iter().enumerate() {
            let i = i as i32;
            match slot {
                None => {
                    self.create(key, obj, sts, revision_for(i), i, cx);
                    if monotonic {
                        return;
                    }
                }
                Some(p) if failed(p) && !p.is_terminating() => {
                    // Deleted now, recreated by the sync its deletion triggers.
                    self.delete(key, obj, p, cx);
                    if monotonic {
                        return;
                    }
                }
                Some(p) if p.is_terminating() => {
                    if monotonic {
                        return;
                    }
                }
                Some(p) if !running_and_ready(p) => {
                    if monotonic {
                        return;
                    }
                }
                Some(_) => {}
            }
        }
        // Condemned pods go from the highest ordinal down.
        for p in condemned.iter().rev() {
            if p.is_terminating() {
                if monotonic {
                    return;
                }
                continue;
            }
            if monotonic && first_unhealthy.as_ref().is_some_and(|n| n != p.name()) {
                // Wait until every other pod is healthy before scaling down further.
                return;
            }
            self.delete(key, obj, p, cx);
            if monotonic {
                return;
            }
        }
        if !condemned.is_empty() || strategy != "RollingUpdate" {
            return;
        }
        for slot in replicas.iter().skip(partition as usize).rev() {
            let Some(p) = slot else { return };
            if revision_label(p) != update_rev && !p.is_terminating() {
                self.delete(key, obj, p, cx);
                return;
            }
            if !healthy(p) {
                return;
            }
        }
    }
}

impl Controller for StatefulSetController {
    fn name(&self) -> &'static str {
        "statefulset"
    }

    fn kinds(&self) -> &'static [Kind] {
        &[Kind::StatefulSet, Kind::Pod]
    }

    fn on_notification(&mut self, kind: Kind, n: &Notification, cx: &mut Cx<'_>) -> Vec<String> {
        match kind {
            Kind::StatefulSet => vec![n.key()],
            Kind::Pod => Self::controller_key(cx, n.object()).into_iter().collect(),
            _ => Vec::new(),
        }
    }

    fn reconcile(&mut self, key: &str, cx: &mut Cx<'_>) -> Result<Action, ReconcileError> {
        let (ns, name) = split(key)?;
        let Some(obj) = cx.get(Kind::StatefulSet, ns, name) else {
            self.owners.remove(key);
            return Ok(Action::AwaitChange);
        };
        let Some(sts) = sts_of(&obj) else {
            return Ok(Action::AwaitChange);
        };
        self.owners.insert(key.to_string(), obj.clone());
        let update_rev = revision_of(name, &sts.spec.template);
        self.templates
            .insert(update_rev.clone(), sts.spec.template.clone());
        let old = sts.status.clone().unwrap_or_default();
        let current_rev = old
            .current_revision
            .clone()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| update_rev.clone());
        let want = sts.spec.replicas.unwrap_or(1).max(0);
        let owned: Vec<SharedObject> = cx
            .cache(Kind::Pod)
            .and_then(|c| c.lister().controlled_by(obj.uid()).ok())
            .unwrap_or_default();
        let mut replicas: Vec<Option<SharedObject>> = vec![None; want as usize];
        let mut condemned: Vec<(i32, SharedObject)> = Vec::new();
        for p in &owned {
            let Some(i) = ordinal(name, p.name()) else {
                continue;
            };
            if i < want {
                replicas[i as usize] = Some(p.clone());
            } else {
                condemned.push((i, p.clone()));
            }
        }
        condemned.sort_by_key(|(i, _)| *i);
        let condemned: Vec<SharedObject> = condemned.into_iter().map(|(_, p)| p).collect();

        let min_ready = sts.spec.min_ready_seconds.unwrap_or(0);
        let (mut count, mut ready, mut available, mut current, mut updated) = (0, 0, 0, 0, 0);
        for p in owned.iter().filter(|p| !p.is_terminating()) {
            let Some(pod) = p.as_pod() else { continue };
            count += 1;
            if running_and_ready(p) {
                ready += 1;
                if pods::is_available(pod, min_ready, cx.now) {
                    available += 1;
                }
            }
            if revision_label(p) == current_rev {
                current += 1;
            }
            if revision_label(p) == update_rev {
                updated += 1;
            }
        }
        let mut status = StatefulSetStatus {
            replicas: count,
            ready_replicas: Some(ready),
            available_replicas: Some(available),
            current_replicas: Some(current),
            updated_replicas: Some(updated),
            current_revision: Some(current_rev.clone()),
            update_revision: Some(update_rev.clone()),
            observed_generation: sts.metadata.generation,
            collision_count: old.collision_count.or(Some(0)),
            conditions: old.conditions.clone(),
        };
        // `completeRollingUpdate`.
        if updated == want && ready == want && count == want && current_rev != update_rev {
            status.current_revision = Some(update_rev.clone());
            status.current_replicas = Some(updated);
            self.templates.retain(|r, _| *r == update_rev);
        }
        if !obj.is_terminating() {
            self.update_pods(
                key,
                &obj,
                sts,
                &replicas,
                &condemned,
                &current_rev,
                &update_rev,
                cx,
            );
        }
        if sts.status.as_ref() != Some(&status) {
            let mut s = sts.clone();
            s.status = Some(status);
            cx.writes.push(Write::update_status(Object::from(s), key));
        }
        if min_ready > 0 && ready > available {
            return Ok(Action::RequeueAfter(Duration::from_secs(min_ready as u64)));
        }
        Ok(Action::AwaitChange)
    }

    fn on_write_result(
        &mut self,
        owner: &str,
        purpose: &Purpose,
        result: &Result<ApiReply, ClientError>,
        cx: &mut Cx<'_>,
    ) {
        let Some(obj) = self.owners.get(owner).cloned() else {
            return;
        };
        if *purpose != Purpose::CreatePod {
            return;
        }
        match result {
            Ok(ApiReply::Object(pod)) => self.recorder.record(
                cx.writes,
                &obj,
                NORMAL,
                "SuccessfulCreate",
                format!(
                    "create Pod {} in StatefulSet {} successful",
                    pod.name(),
                    obj.name()
                ),
                EVENT_SOURCE,
                cx.now,
            ),
            // 409 AlreadyExists: the pod was made by an earlier sync (names are stable).
            Err(e) if e.status().is_none_or(|s| s.code != 409) => self.recorder.record(
                cx.writes,
                &obj,
                WARNING,
                "FailedCreate",
                format!("create Pod in StatefulSet {} failed error: {e}", obj.name()),
                EVENT_SOURCE,
                cx.now,
            ),
            _ => {}
        }
    }

    fn reset(&mut self) {
        self.templates.clear();
        self.owners.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_parse_only_the_sets_own_names() {
        assert_eq!(ordinal("web", "web-0"), Some(0));
        assert_eq!(ordinal("web", "web-12"), Some(12));
        assert_eq!(ordinal("web", "web-x"), None);
        assert_eq!(ordinal("web", "webapp-1"), None);
        assert_eq!(ordinal("web", "web--1"), None);
    }
}
