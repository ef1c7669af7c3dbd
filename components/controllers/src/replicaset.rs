//! The ReplicaSet controller: keeps `spec.replicas` active pods matching a ReplicaSet, and its
//! status.
//!
//! Follows `pkg/controller/replicaset/replica_set.go`:
//! - `syncReplicaSet`: list the namespace's active pods, claim them (`ClaimPods`: adopt
//!   orphans that match the selector, release owned pods that no longer match, by patching
//!   `ownerReferences`), and only when the expectations are satisfied create or delete the
//!   difference (`manageReplicas`), at most `burstReplicas` (500) per sync;
//! - creations go in slow-start batches of 1, 2, 4, … (`slowStartBatch`, F18): the next batch
//!   starts when the previous one has been answered, and the first failure skips the rest,
//!   lowering the expectations by what was skipped;
//! - deletions pick pods by `getPodsToDelete` (the ranking of F19, with pods of sibling
//!   ReplicaSets of the same Deployment counted per node);
//! - status (`calculateStatus`): replicas, fullyLabeledReplicas, readyReplicas,
//!   availableReplicas (ready for `minReadySeconds`), observedGeneration; written only when it
//!   changed; when all are ready but not yet available the key is looked at again after
//!   `minReadySeconds`;
//! - Events `SuccessfulCreate` ("Created pod: NAME"), `SuccessfulDelete` ("Deleted pod:
//!   NAME"), `FailedCreate` ("Error creating: MSG").
//!
//! Simplifications: adoption does not re-read the ReplicaSet from the apiserver first
//! (`RecheckDeletionTimestamp`); the ReplicaFailure condition and `terminatingReplicas` are not
//! written.

use std::collections::BTreeMap;

use api::object::new_controller_ref;
use api::selector::Selector;
use api::{Kind, Object, SharedObject};
use apiserver::ApiReply;
use client::{Action, ClientError, Notification, key_of, object_key};
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::json;
use sim::Duration;

use crate::controller::{Controller, Cx, Purpose, ReconcileError, Write, split};
use crate::events::{NORMAL, Recorder, WARNING};
use crate::expectations::Expectations;
use crate::pods;

/// `source.component` of its Events: the name upstream gives this controller's recorder.
const EVENT_SOURCE: &str = "replicaset-controller";

/// `BurstReplicas`: creations or deletions per sync.
pub const BURST_REPLICAS: i32 = 500;
/// `SlowStartInitialBatchSize`.
pub const SLOW_START_INITIAL_BATCH: i32 = 1;

/// A slow-start creation run for one ReplicaSet.
#[derive(Clone, Debug)]
struct SlowStart {
    pod: Object,
    /// Creations not sent yet.
    remaining: i32,
    /// Sent and unanswered.
    outstanding: i32,
    batch: i32,
    failed: bool,
}

#[derive(Default)]
pub struct ReplicaSetController {
    pub expectations: Expectations,
    slow_starts: BTreeMap<String, SlowStart>,
    /// The last ReplicaSet seen per key (what results' Events refer to).
    owners: BTreeMap<String, SharedObject>,
    recorder: Recorder,
    /// TEST ONLY planted bug (see
    /// `ControllerManagerConfig::planted_bug_replicaset_without_expectations`): syncs act on
    /// the cache as if the expectations were always satisfied.
    pub planted_bug_without_expectations: bool,
}

fn rs_of(obj: &Object) -> Option<&ReplicaSet> {
    match obj {
        Object::ReplicaSet(rs) => Some(rs.as_ref()),
        _ => None,
    }
}

fn selector_of(rs: &ReplicaSet) -> Result<Selector, ReconcileError> {
    Selector::from_label_selector(Some(&rs.spec.selector))
        .map_err(|e| ReconcileError::Invalid(format!("invalid selector: {e}")))
}

/// The pod a ReplicaSet creates (`GetPodFromTemplate`).
pub fn pod_from_template(rs_obj: &Object, rs: &ReplicaSet) -> Option<Object> {
    let template = rs.spec.template.as_ref()?;
    let tm = template.metadata.clone().unwrap_or_default();
    let controller_ref = new_controller_ref(rs_obj)?;
    Some(Object::from(Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", rs_obj.name())),
            namespace: Some(rs_obj.namespace().to_string()),
            labels: tm.labels,
            annotations: tm.annotations,
            finalizers: tm.finalizers,
            owner_references: Some(vec![controller_ref]),
            ..Default::default()
        },
        spec: template.spec.clone(),
        status: None,
    }))
}

impl ReplicaSetController {
    /// The ReplicaSet controlling `pod`, if it exists with the referenced uid.
    fn controller_key(cx: &Cx<'_>, pod: &Object) -> Option<String> {
        let r = pod.controller_ref()?;
        if r.kind != "ReplicaSet" {
            return None;
        }
        let rs = cx.get(Kind::ReplicaSet, pod.namespace(), &r.name)?;
        (rs.uid() == r.uid).then(|| object_key(&rs))
    }

    /// ReplicaSets whose selector matches an orphan pod (`getPodReplicaSets`).
    fn matching(cx: &Cx<'_>, pod: &Object) -> Vec<String> {
        let Some(cache) = cx.cache(Kind::ReplicaSet) else {
            return Vec::new();
        };
        cache
            .lister()
            .list_namespaced(pod.namespace(), &Selector::everything())
            .iter()
            .filter(|o| {
                rs_of(o)
                    .and_then(|rs| selector_of(rs).ok())
                    .is_some_and(|s| !s.is_everything() && s.matches(pod.labels()))
            })
            .map(|o| object_key(o))
            .collect()
    }

    fn on_pod(&mut self, n: &Notification, cx: &mut Cx<'_>) -> Vec<String> {
        match n {
            Notification::Add(pod) => {
                let Some(key) = Self::controller_key(cx, pod) else {
                    return if pod.is_terminating() {
                        Vec::new()
                    } else {
                        Self::matching(cx, pod)
                    };
                };
                if pod.is_terminating() {
                    self.expectations.deletion_observed(&key, &object_key(pod));
                } else {
                    self.expectations.creation_observed(&key);
                }
                vec![key]
            }
            Notification::Update { old, new } => {
                let mut keys = Vec::new();
                if new.is_terminating()
                    && !old.is_terminating()
                    && let Some(key) = Self::controller_key(cx, new)
                {
                    self.expectations.deletion_observed(&key, &object_key(new));
                }
                if old.controller_ref() != new.controller_ref()
                    && let Some(k) = Self::controller_key(cx, old)
                {
                    keys.push(k);
                }
                match Self::controller_key(cx, new) {
                    Some(k) => {
                        // A pod that just became ready is available minReadySeconds later.
                        let (po, pn) = (old.as_pod(), new.as_pod());
                        if let (Some(po), Some(pn)) = (po, pn)
                            && !pods::is_ready(po)
                            && pods::is_ready(pn)
                            && let Some(rs) = cx.get(Kind::ReplicaSet, new.namespace(), {
                                let (_, n) = split(&k).unwrap_or(("", ""));
                                n
                            })
                            && let Some(secs) = rs_of(&rs).and_then(|r| r.spec.min_ready_seconds)
                            && secs > 0
                        {
                            cx.requeue
                                .push((k.clone(), Duration::from_secs(secs as u64 + 1)));
                        }
                        keys.push(k);
                    }
                    None if old.labels() != new.labels() || old.controller_ref().is_some() => {
                        keys.extend(Self::matching(cx, new));
                    }
                    None => {}
                }
                keys
            }
            Notification::Delete(pod) => {
                let Some(key) = Self::controller_key(cx, pod) else {
                    return Vec::new();
                };
                self.expectations.deletion_observed(&key, &object_key(pod));
                vec![key]
            }
        }
    }

    fn send_batch(&mut self, key: &str, cx: &mut Cx<'_>) {
        let Some(s) = self.slow_starts.get_mut(key) else {
            return;
        };
        let n = s.batch.min(s.remaining);
        for _ in 0..n {
            cx.writes
                .push(Write::create(s.pod.clone(), key).purpose(Purpose::CreatePod));
        }
        s.remaining -= n;
        s.outstanding += n;
    }

    fn manage_replicas(
        &mut self,
        key: &str,
        rs_obj: &SharedObject,
        rs: &ReplicaSet,
        active: &[SharedObject],
        cx: &mut Cx<'_>,
    ) {
        let want = rs.spec.replicas.unwrap_or(1);
        let diff = active.len() as i32 - want;
        if diff < 0 {
            let n = (-diff).min(BURST_REPLICAS);
            let Some(pod) = pod_from_template(rs_obj, rs) else {
                return;
            };
            self.expectations
                .expect_creations(key, i64::from(n), cx.now);
            self.slow_starts.insert(
                key.to_string(),
                SlowStart {
                    pod,
                    remaining: n,
                    outstanding: 0,
                    batch: SLOW_START_INITIAL_BATCH,
                    failed: false,
                },
            );
            self.send_batch(key, cx);
        } else if diff > 0 {
            let n = diff.min(BURST_REPLICAS) as usize;
            let victims = self.pods_to_delete(rs, active, n, cx);
            self.expectations.expect_deletions(
                key,
                victims.iter().map(|p| object_key(p)).collect(),
                cx.now,
            );
            for p in victims {
                cx.writes
                    .push(Write::delete(&p, key).purpose(Purpose::DeletePod(object_key(&p))));
                self.recorder.record(
                    cx.writes,
                    rs_obj,
                    NORMAL,
                    "SuccessfulDelete",
                    format!("Deleted pod: {}", p.name()),
                    EVENT_SOURCE,
                    cx.now,
                );
            }
        }
    }

    /// `getPodsToDelete`: the `n` lowest-ranked pods.
    fn pods_to_delete(
        &self,
        rs: &ReplicaSet,
        active: &[SharedObject],
        n: usize,
        cx: &Cx<'_>,
    ) -> Vec<SharedObject> {
        // Pods of every ReplicaSet with the same controller (a Deployment's old and new ones).
        let mut related: Vec<SharedObject> = active.to_vec();
        if let (Some(owner), Some(rs_cache), Some(pod_cache)) = (
            api::object::controller_of(&rs.metadata),
            cx.cache(Kind::ReplicaSet),
            cx.cache(Kind::Pod),
        ) {
            related.clear();
            for sibling in rs_cache
                .lister()
                .controlled_by(&owner.uid)
                .unwrap_or_default()
            {
                related.extend(
                    pod_cache
                        .lister()
                        .controlled_by(sibling.uid())
                        .unwrap_or_default(),
                );
            }
        }
        let mut on_node: BTreeMap<&str, usize> = BTreeMap::new();
        for p in related.iter().filter_map(|o| o.as_pod()) {
            if pods::is_active(p) {
                *on_node.entry(pods::node_name(p)).or_default() += 1;
            }
        }
        let mut ranked: Vec<(&SharedObject, usize)> = active
            .iter()
            .filter_map(|o| {
                let p = o.as_pod()?;
                Some((o, on_node.get(pods::node_name(p)).copied().unwrap_or(0)))
            })
            .collect();
        if n < ranked.len() {
            ranked.sort_by(|a, b| {
                let (pa, pb) = (a.0.as_pod(), b.0.as_pod());
                match (pa, pb) {
                    (Some(pa), Some(pb)) => pods::deletion_order((pa, a.1), (pb, b.1), cx.now),
                    _ => std::cmp::Ordering::Equal,
                }
            });
        }
        ranked.into_iter().take(n).map(|(o, _)| o.clone()).collect()
    }

    fn calculate_status(rs: &ReplicaSet, active: &[SharedObject], cx: &Cx<'_>) -> ReplicaSetStatus {
        let template_labels = rs
            .spec
            .template
            .as_ref()
            .and_then(|t| t.metadata.as_ref())
            .and_then(|m| m.labels.clone())
            .unwrap_or_default();
        let min_ready = rs.spec.min_ready_seconds.unwrap_or(0);
        let (mut fully, mut ready, mut available) = (0, 0, 0);
        for o in active {
            let Some(p) = o.as_pod() else { continue };
            if template_labels
                .iter()
                .all(|(k, v)| o.labels().get(k) == Some(v))
            {
                fully += 1;
            }
            if pods::is_ready(p) {
                ready += 1;
                if pods::is_available(p, min_ready, cx.now) {
                    available += 1;
                }
            }
        }
        let old = rs.status.clone().unwrap_or_default();
        ReplicaSetStatus {
            replicas: active.len() as i32,
            fully_labeled_replicas: Some(fully),
            ready_replicas: Some(ready),
            available_replicas: Some(available),
            observed_generation: rs.metadata.generation,
            conditions: old.conditions,
            terminating_replicas: old.terminating_replicas,
        }
    }
}

impl Controller for ReplicaSetController {
    fn name(&self) -> &'static str {
        "replicaset"
    }

    fn kinds(&self) -> &'static [Kind] {
        &[Kind::ReplicaSet, Kind::Pod]
    }

    fn on_notification(&mut self, kind: Kind, n: &Notification, cx: &mut Cx<'_>) -> Vec<String> {
        match kind {
            Kind::ReplicaSet => {
                if let Notification::Delete(o) = n {
                    self.expectations.forget(&object_key(o));
                }
                vec![n.key()]
            }
            Kind::Pod => self.on_pod(n, cx),
            _ => Vec::new(),
        }
    }

    fn reconcile(&mut self, key: &str, cx: &mut Cx<'_>) -> Result<Action, ReconcileError> {
        let (ns, name) = split(key)?;
        let Some(rs_obj) = cx.get(Kind::ReplicaSet, ns, name) else {
            self.expectations.forget(key);
            self.owners.remove(key);
            return Ok(Action::AwaitChange);
        };
        let Some(rs) = rs_of(&rs_obj) else {
            return Ok(Action::AwaitChange);
        };
        self.owners.insert(key.to_string(), rs_obj.clone());
        let selector = selector_of(rs)?;
        let needs_sync =
            self.planted_bug_without_expectations || self.expectations.satisfied(key, cx.now);
        let all = cx.owned_and_orphans(Kind::Pod, ns, rs_obj.uid());
        // ClaimPods over the active pods.
        let mut claimed: Vec<SharedObject> = Vec::new();
        let mut adopting = false;
        let controller_ref = new_controller_ref(&rs_obj);
        for o in all {
            let Some(p) = o.as_pod() else { continue };
            if !pods::is_active(p) {
                continue;
            }
            let matches = selector.matches(o.labels());
            match o.controller_ref() {
                Some(r) if r.uid == rs_obj.uid() => {
                    if matches || rs_obj.is_terminating() {
                        claimed.push(o.clone());
                    } else {
                        // Release: drop our reference.
                        let refs: Vec<_> = o
                            .owner_references()
                            .iter()
                            .filter(|r| r.uid != rs_obj.uid())
                            .cloned()
                            .collect();
                        cx.writes.push(Write::patch(
                            Kind::Pod,
                            ns,
                            o.name(),
                            json!({"metadata": {"ownerReferences": refs, "uid": o.uid()}}),
                            key,
                        ));
                        adopting = true;
                    }
                }
                Some(_) => {}
                None if matches && !rs_obj.is_terminating() && !selector.is_everything() => {
                    let Some(cref) = &controller_ref else {
                        continue;
                    };
                    let mut refs = o.owner_references().to_vec();
                    refs.push(cref.clone());
                    cx.writes.push(Write::patch(
                        Kind::Pod,
                        ns,
                        o.name(),
                        json!({"metadata": {"ownerReferences": refs, "uid": o.uid()}}),
                        key,
                    ));
                    adopting = true;
                }
                None => {}
            }
        }
        if adopting {
            // The claimed set changes when the patches land; the key comes back then.
            return Ok(Action::AwaitChange);
        }
        if needs_sync && !rs_obj.is_terminating() {
            self.manage_replicas(key, &rs_obj, rs, &claimed, cx);
        }
        let status = Self::calculate_status(rs, &claimed, cx);
        if rs.status.as_ref() != Some(&status) {
            let mut updated = rs.clone();
            updated.status = Some(status.clone());
            cx.writes
                .push(Write::update_status(Object::from(updated), key));
        }
        let want = rs.spec.replicas.unwrap_or(1);
        let min_ready = rs.spec.min_ready_seconds.unwrap_or(0);
        if min_ready > 0
            && status.ready_replicas == Some(want)
            && status.available_replicas != Some(want)
        {
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
        let rs = self.owners.get(owner).cloned();
        match purpose {
            Purpose::CreatePod => {
                match (result, &rs) {
                    (Ok(ApiReply::Object(pod)), Some(rs)) => self.recorder.record(
                        cx.writes,
                        rs,
                        NORMAL,
                        "SuccessfulCreate",
                        format!("Created pod: {}", pod.name()),
                        EVENT_SOURCE,
                        cx.now,
                    ),
                    (Err(e), _) => {
                        self.expectations.creation_observed(owner);
                        if let Some(rs) = &rs {
                            self.recorder.record(
                                cx.writes,
                                rs,
                                WARNING,
                                "FailedCreate",
                                format!("Error creating: {e}"),
                                EVENT_SOURCE,
                                cx.now,
                            );
                        }
                    }
                    _ => {}
                }
                let Some(s) = self.slow_starts.get_mut(owner) else {
                    return;
                };
                s.outstanding -= 1;
                if result.is_err() {
                    s.failed = true;
                }
                if s.outstanding > 0 {
                    return;
                }
                if s.failed || s.remaining == 0 {
                    // slowStartBatch stops at the first failure: what was never sent is
                    // no longer expected.
                    for _ in 0..s.remaining {
                        self.expectations.creation_observed(owner);
                    }
                    self.slow_starts.remove(owner);
                } else {
                    s.batch = (s.batch * 2).min(s.remaining);
                    self.send_batch(owner, cx);
                }
            }
            Purpose::DeletePod(pod) => {
                if let Err(e) = result
                    && !e.is_not_found()
                {
                    self.expectations.deletion_observed(owner, pod);
                }
            }
            Purpose::Plain | Purpose::Event => {}
        }
    }

    fn waits_for_caches(&self) -> bool {
        !self.planted_bug_without_expectations
    }

    fn reset(&mut self) {
        self.expectations.clear();
        self.slow_starts.clear();
        self.owners.clear();
    }
}

/// `namespace/name` of the ReplicaSet a pod belongs to (for tests and other controllers).
pub fn owner_key_of(pod: &Object) -> Option<String> {
    let r = pod.controller_ref()?;
    (r.kind == "ReplicaSet").then(|| key_of(pod.namespace(), &r.name))
}
