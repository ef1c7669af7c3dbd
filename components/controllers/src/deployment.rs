//! The Deployment controller: ReplicaSets per pod template, rolling updates, Recreate,
//! revision history, scaling (proportional mid-rollout), pause, and the Progressing /
//! Available conditions.
//!
//! Follows `pkg/controller/deployment/` (`deployment_controller.go` syncDeployment,
//! `sync.go` getNewReplicaSet / scale / cleanupDeployment / calculateStatus, `rolling.go`,
//! `recreate.go`, `progress.go`) and `pkg/controller/deployment/util/deployment_util.go`
//! (NewRSNewReplicas, MaxUnavailable, ResolveFenceposts via `api::intstr`, getProportion,
//! IsSaturated, FindActiveOrLatest, the revision and replicas annotations, the condition
//! reasons and messages). ReplicaSets are named `<deployment>-<pod-template-hash>` (see
//! [`crate::template_hash`] for how the hash differs from upstream's).
//!
//! Because writes are asynchronous (see `controller.rs`), a sync that creates the new
//! ReplicaSet stops there; the manager runs the key again once the ReplicaSet is in the cache,
//! which is what the synchronous create gives upstream.
//!
//! Simplifications: no `rollbackTo` annotation (kubectl's `rollout undo` copies the old
//! template into the Deployment, which the controller sees as a template change); hash
//! collisions are not resolved by bumping `collisionCount` (an AlreadyExists is retried);
//! ReplicaSet failure conditions are not copied into the Deployment; no
//! `deployment.kubernetes.io/revision-history` annotation.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use api::intstr::resolve_fenceposts;
use api::object::new_controller_ref;
use api::selector::Selector;
use api::{Kind, Object, SharedObject};
use apiserver::objects::{api_time, virtual_secs};
use client::{Action, Notification, object_key};
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet, ReplicaSetSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde_json::json;
use sim::{Duration, Time};

use crate::controller::{Controller, Cx, ReconcileError, Write, split};
use crate::events::{NORMAL, Recorder};
use crate::template_hash::{POD_TEMPLATE_HASH_LABEL, compute_hash, equal_ignore_hash};

/// `source.component` of its Events: the name upstream gives this controller's recorder.
const EVENT_SOURCE: &str = "deployment-controller";

pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
pub const DESIRED_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/max-replicas";
const SKIPPED_ANNOTATIONS: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION_ANNOTATION,
    "deployment.kubernetes.io/revision-history",
    DESIRED_REPLICAS_ANNOTATION,
    MAX_REPLICAS_ANNOTATION,
];

// Condition reasons (`deployment_util.go`).
pub const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
pub const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
pub const RS_UPDATED: &str = "ReplicaSetUpdated";
pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
pub const PAUSED: &str = "DeploymentPaused";
pub const RESUMED: &str = "DeploymentResumed";
pub const MIN_AVAILABLE: &str = "MinimumReplicasAvailable";
pub const MIN_UNAVAILABLE: &str = "MinimumReplicasUnavailable";

#[derive(Default)]
pub struct DeploymentController {
    recorder: Recorder,
}

fn dep_of(o: &Object) -> Option<&Deployment> {
    match o {
        Object::Deployment(d) => Some(d.as_ref()),
        _ => None,
    }
}

fn rs_of(o: &Object) -> Option<&ReplicaSet> {
    match o {
        Object::ReplicaSet(r) => Some(r.as_ref()),
        _ => None,
    }
}

/// A ReplicaSet as this sync sees it: the cached object and the copy being changed.
#[derive(Clone, Debug)]
struct View {
    obj: SharedObject,
    rs: ReplicaSet,
}

impl View {
    fn replicas(&self) -> i32 {
        self.rs.spec.replicas.unwrap_or(0)
    }
    fn status_replicas(&self) -> i32 {
        self.rs.status.as_ref().map_or(0, |s| s.replicas)
    }
    fn available(&self) -> i32 {
        self.rs
            .status
            .as_ref()
            .and_then(|s| s.available_replicas)
            .unwrap_or(0)
    }
    fn ready(&self) -> i32 {
        self.rs
            .status
            .as_ref()
            .and_then(|s| s.ready_replicas)
            .unwrap_or(0)
    }
    fn name(&self) -> &str {
        self.obj.name()
    }
    fn created(&self) -> i64 {
        self.rs
            .metadata
            .creation_timestamp
            .as_ref()
            .map_or(0, virtual_secs)
    }
    fn annotation(&self, key: &str) -> Option<&str> {
        self.rs
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .map(String::as_str)
    }
    fn revision(&self) -> i64 {
        self.annotation(REVISION_ANNOTATION)
            .and_then(|r| r.parse().ok())
            .unwrap_or(0)
    }
}

fn by_creation(a: &View, b: &View) -> Ordering {
    a.created()
        .cmp(&b.created())
        .then_with(|| a.name().cmp(b.name()))
}

/// What one sync works on.
struct Sync<'a> {
    key: &'a str,
    d_obj: SharedObject,
    d: Deployment,
    all: Vec<View>,
    new: Option<usize>,
    now: Time,
    events: Vec<(String, String)>,
}

fn desired(d: &Deployment) -> i32 {
    d.spec.replicas.unwrap_or(1)
}

fn is_rolling(d: &Deployment) -> bool {
    d.spec
        .strategy
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        .unwrap_or("RollingUpdate")
        == "RollingUpdate"
}

/// (maxSurge, maxUnavailable) as pod counts (`ResolveFenceposts`); (0, 0) for Recreate.
fn fenceposts(d: &Deployment) -> (i32, i32) {
    if !is_rolling(d) {
        return (0, 0);
    }
    let ru = d
        .spec
        .strategy
        .as_ref()
        .and_then(|s| s.rolling_update.as_ref());
    resolve_fenceposts(
        ru.and_then(|r| r.max_surge.as_ref()),
        ru.and_then(|r| r.max_unavailable.as_ref()),
        desired(d),
    )
    .unwrap_or((0, 1))
}

fn max_surge(d: &Deployment) -> i32 {
    fenceposts(d).0
}

/// `MaxUnavailable`.
fn max_unavailable(d: &Deployment) -> i32 {
    if !is_rolling(d) || desired(d) == 0 {
        return 0;
    }
    fenceposts(d).1.min(desired(d))
}

fn progress_deadline(d: &Deployment) -> Option<i32> {
    d.spec.progress_deadline_seconds.filter(|s| *s != i32::MAX)
}

fn condition<'a>(s: &'a DeploymentStatus, type_: &str) -> Option<&'a DeploymentCondition> {
    s.conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_.as_deref() == Some(type_))
}

fn new_condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
    now: Time,
) -> DeploymentCondition {
    let t = api_time(now);
    DeploymentCondition {
        type_: Some(type_.into()),
        status: Some(status.into()),
        reason: Some(reason.into()),
        message: Some(message),
        last_update_time: Some(t.clone()),
        last_transition_time: Some(t),
    }
}

/// `SetDeploymentCondition`: no change when status and reason are the same; the transition
/// time is kept when only the reason changes.
fn set_condition(s: &mut DeploymentStatus, mut c: DeploymentCondition) {
    let list = s.conditions.get_or_insert_with(Vec::new);
    if let Some(cur) = list.iter().find(|x| x.type_ == c.type_) {
        if cur.status == c.status && cur.reason == c.reason {
            return;
        }
        if cur.status == c.status {
            c.last_transition_time = cur.last_transition_time.clone();
        }
    }
    list.retain(|x| x.type_ != c.type_);
    list.push(c);
}

fn remove_condition(s: &mut DeploymentStatus, type_: &str) {
    if let Some(list) = s.conditions.as_mut() {
        list.retain(|x| x.type_.as_deref() != Some(type_));
    }
}

/// `math.Round(a / b)` for integers (half away from zero).
fn round_div(a: i64, b: i64) -> i64 {
    if b == 0 {
        return 0;
    }
    let (a, b) = if b < 0 { (-a, -b) } else { (a, b) };
    if a >= 0 {
        (2 * a + b) / (2 * b)
    } else {
        -((-2 * a + b) / (2 * b))
    }
}

impl Sync<'_> {
    fn old(&self) -> Vec<usize> {
        (0..self.all.len())
            .filter(|i| Some(*i) != self.new)
            .collect()
    }

    fn sum(&self, idx: &[usize], f: fn(&View) -> i32) -> i32 {
        idx.iter().map(|i| f(&self.all[*i])).sum()
    }

    fn active(&self, idx: &[usize]) -> Vec<usize> {
        idx.iter()
            .copied()
            .filter(|i| self.all[*i].replicas() > 0)
            .collect()
    }

    fn everything(&self) -> Vec<usize> {
        (0..self.all.len()).collect()
    }

    /// `scaleReplicaSet`: replicas and the desired/max annotations; an Event when the size
    /// changes. Returns whether the size changed.
    fn scale(&mut self, i: usize, to: i32) -> bool {
        let d_replicas = desired(&self.d);
        let max = d_replicas + max_surge(&self.d);
        let v = &mut self.all[i];
        let from = v.replicas();
        let ann = v.rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
        ann.insert(DESIRED_REPLICAS_ANNOTATION.into(), d_replicas.to_string());
        ann.insert(MAX_REPLICAS_ANNOTATION.into(), max.to_string());
        if from == to {
            return false;
        }
        v.rs.spec.replicas = Some(to);
        let op = if to > from { "up" } else { "down" };
        let msg = format!("Scaled {op} replica set {} from {from} to {to}", v.name());
        self.events.push(("ScalingReplicaSet".into(), msg));
        true
    }

    /// `NewRSNewReplicas`.
    fn new_rs_new_replicas(&self, new_replicas: i32) -> i32 {
        if !is_rolling(&self.d) {
            return desired(&self.d);
        }
        let current: i32 = self.all.iter().map(View::replicas).sum::<i32>()
            + if self.new.is_none() { new_replicas } else { 0 };
        let max_total = desired(&self.d) + max_surge(&self.d);
        if current >= max_total {
            return new_replicas;
        }
        let up = (max_total - current).min(desired(&self.d) - new_replicas);
        new_replicas + up
    }

    /// `reconcileNewReplicaSet`.
    fn reconcile_new(&mut self) -> bool {
        let Some(n) = self.new else { return false };
        let want = desired(&self.d);
        let cur = self.all[n].replicas();
        if cur == want {
            return false;
        }
        if cur > want {
            return self.scale(n, want);
        }
        let to = self.new_rs_new_replicas(cur);
        self.scale(n, to)
    }

    /// `reconcileOldReplicaSets` with `cleanupUnhealthyReplicas` and
    /// `scaleDownOldReplicaSetsForRollingUpdate`.
    fn reconcile_old(&mut self) -> bool {
        let old = self.old();
        if self.sum(&old, View::replicas) == 0 {
            return false;
        }
        let all = self.everything();
        let all_pods = self.sum(&all, View::replicas);
        let min_available = desired(&self.d) - max_unavailable(&self.d);
        let new_unavailable = self
            .new
            .map_or(0, |n| self.all[n].replicas() - self.all[n].available());
        let max_scaled_down = all_pods - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return false;
        }
        // Unhealthy old replicas first, oldest ReplicaSet first.
        let mut old_sorted = self.active(&old);
        old_sorted.sort_by(|a, b| by_creation(&self.all[*a], &self.all[*b]));
        let mut cleaned = 0;
        for i in old_sorted.clone() {
            if cleaned >= max_scaled_down {
                break;
            }
            let (r, a) = (self.all[i].replicas(), self.all[i].available());
            if r == 0 || r == a {
                continue;
            }
            let down = (max_scaled_down - cleaned).min(r - a);
            self.scale(i, r - down);
            cleaned += down;
        }
        // Then healthy ones, down to minAvailable.
        let available = self.sum(&self.everything(), View::available);
        let mut scaled = 0;
        if available > min_available {
            let total = available - min_available;
            for i in old_sorted {
                if scaled >= total {
                    break;
                }
                let r = self.all[i].replicas();
                if r == 0 {
                    continue;
                }
                let down = r.min(total - scaled);
                self.scale(i, r - down);
                scaled += down;
            }
        }
        cleaned + scaled > 0
    }

    /// `FindActiveOrLatest`.
    fn active_or_latest(&self) -> Option<usize> {
        if self.all.is_empty() {
            return None;
        }
        let active = self.active(&self.everything());
        match active.len() {
            0 => self.new.or_else(|| {
                let mut old = self.old();
                old.sort_by(|a, b| by_creation(&self.all[*b], &self.all[*a]));
                old.first().copied()
            }),
            1 => Some(active[0]),
            _ => None,
        }
    }

    /// `IsSaturated`.
    fn saturated(&self) -> bool {
        let Some(n) = self.new else { return false };
        let v = &self.all[n];
        let want = desired(&self.d);
        v.replicas() == want
            && v.annotation(DESIRED_REPLICAS_ANNOTATION) == Some(want.to_string().as_str())
            && v.available() == want
    }

    /// `scale` in sync.go: proportional scaling of every active ReplicaSet.
    fn scale_all(&mut self) {
        if let Some(i) = self.active_or_latest() {
            let want = desired(&self.d);
            if self.all[i].replicas() != want {
                self.scale(i, want);
            }
            return;
        }
        if self.saturated() {
            for i in self.active(&self.old()) {
                self.scale(i, 0);
            }
            return;
        }
        if !is_rolling(&self.d) {
            return;
        }
        let mut active = self.active(&self.everything());
        let current = self.sum(&active, View::replicas);
        let want = desired(&self.d);
        let allowed = if want > 0 {
            want + max_surge(&self.d)
        } else {
            0
        };
        let to_add = allowed - current;
        // Larger first; among equals newer first when adding, older first when removing.
        active.sort_by(|a, b| {
            let (va, vb) = (&self.all[*a], &self.all[*b]);
            vb.replicas().cmp(&va.replicas()).then_with(|| {
                if to_add > 0 {
                    by_creation(vb, va)
                } else {
                    by_creation(va, vb)
                }
            })
        });
        let mut added = 0;
        let mut sizes: Vec<(usize, i32)> = Vec::new();
        for i in &active {
            let v = &self.all[*i];
            if to_add == 0 {
                sizes.push((*i, v.replicas()));
                continue;
            }
            let proportion = self.proportion(v, to_add, added);
            sizes.push((*i, v.replicas() + proportion));
            added += proportion;
        }
        if to_add != 0
            && let Some(first) = sizes.first_mut()
        {
            first.1 = (first.1 + to_add - added).max(0);
        }
        for (i, size) in sizes {
            self.scale(i, size);
        }
    }

    /// `getProportion` / `getReplicaSetFraction`.
    fn proportion(&self, v: &View, to_add: i32, added: i32) -> i32 {
        if v.replicas() == 0 || to_add == 0 || to_add == added {
            return 0;
        }
        let want = desired(&self.d);
        let fraction = if want == 0 {
            -v.replicas()
        } else {
            let deployment_replicas = want + max_surge(&self.d);
            let annotated = v
                .annotation(MAX_REPLICAS_ANNOTATION)
                .and_then(|a| a.parse::<i32>().ok())
                .unwrap_or_else(|| self.d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0));
            round_div(
                i64::from(v.replicas()) * i64::from(deployment_replicas),
                i64::from(annotated),
            ) as i32
                - v.replicas()
        };
        let allowed = to_add - added;
        if to_add > 0 {
            fraction.min(allowed)
        } else {
            fraction.max(allowed)
        }
    }

    /// `calculateStatus`.
    fn status(&self) -> DeploymentStatus {
        let all = self.everything();
        let available = self.sum(&all, View::available);
        let total = self.sum(&all, View::replicas);
        let old = self.d.status.clone().unwrap_or_default();
        let mut s = DeploymentStatus {
            observed_generation: self.d.metadata.generation,
            replicas: Some(self.sum(&all, View::status_replicas)),
            updated_replicas: Some(self.new.map_or(0, |n| self.all[n].status_replicas())),
            ready_replicas: Some(self.sum(&all, View::ready)),
            available_replicas: Some(available),
            unavailable_replicas: Some((total - available).max(0)),
            collision_count: old.collision_count,
            conditions: old.conditions.clone(),
            terminating_replicas: old.terminating_replicas,
        };
        if available >= desired(&self.d) - max_unavailable(&self.d) {
            set_condition(
                &mut s,
                new_condition(
                    "Available",
                    "True",
                    MIN_AVAILABLE,
                    "Deployment has minimum availability.".into(),
                    self.now,
                ),
            );
        } else {
            set_condition(
                &mut s,
                new_condition(
                    "Available",
                    "False",
                    MIN_UNAVAILABLE,
                    "Deployment does not have minimum availability.".into(),
                    self.now,
                ),
            );
        }
        s
    }

    /// `DeploymentComplete`.
    fn complete(&self, s: &DeploymentStatus) -> bool {
        let want = desired(&self.d);
        s.updated_replicas == Some(want)
            && s.replicas == Some(want)
            && s.available_replicas == Some(want)
            && s.observed_generation.unwrap_or(0) >= self.d.metadata.generation.unwrap_or(0)
    }

    /// `syncRolloutStatus`: the status with the Progressing condition; returns it and when
    /// to look again for the progress deadline.
    fn rollout_status(&self) -> (DeploymentStatus, Option<Duration>) {
        let mut s = self.status();
        let old = self.d.status.clone().unwrap_or_default();
        let deadline = progress_deadline(&self.d);
        if deadline.is_none() {
            remove_condition(&mut s, "Progressing");
        }
        let current = condition(&old, "Progressing").cloned();
        let complete_already = s.replicas == s.updated_replicas
            && current.as_ref().and_then(|c| c.reason.as_deref()) == Some(NEW_RS_AVAILABLE);
        let new_name = self.new.map(|n| self.all[n].name().to_string());
        if let Some(deadline) = deadline
            && !complete_already
        {
            let old_old = old.replicas.unwrap_or(0) - old.updated_replicas.unwrap_or(0);
            let new_old = s.replicas.unwrap_or(0) - s.updated_replicas.unwrap_or(0);
            let progressing = s.updated_replicas > old.updated_replicas
                || new_old < old_old
                || s.ready_replicas.unwrap_or(0) > old.ready_replicas.unwrap_or(0)
                || s.available_replicas.unwrap_or(0) > old.available_replicas.unwrap_or(0);
            if self.complete(&s) {
                let msg = match &new_name {
                    Some(n) => format!("ReplicaSet \"{n}\" has successfully progressed."),
                    None => "Deployment has successfully progressed.".into(),
                };
                set_condition(
                    &mut s,
                    new_condition("Progressing", "True", NEW_RS_AVAILABLE, msg, self.now),
                );
            } else if progressing {
                let msg = match &new_name {
                    Some(n) => format!("ReplicaSet \"{n}\" is progressing."),
                    None => "Deployment is progressing.".into(),
                };
                let mut c = new_condition("Progressing", "True", RS_UPDATED, msg, self.now);
                if let Some(cur) = &current
                    && cur.status.as_deref() == Some("True")
                {
                    c.last_transition_time = cur.last_transition_time.clone();
                }
                remove_condition(&mut s, "Progressing");
                set_condition(&mut s, c);
            } else if let Some(c) = condition(&s, "Progressing")
                && c.reason.as_deref() != Some(NEW_RS_AVAILABLE)
                && (c.reason.as_deref() == Some(TIMED_OUT)
                    || c.last_update_time.as_ref().is_some_and(|t| {
                        virtual_secs(t) + i64::from(deadline) < virtual_secs(&api_time(self.now))
                    }))
            {
                let msg = match &new_name {
                    Some(n) => format!("ReplicaSet \"{n}\" has timed out progressing."),
                    None => format!(
                        "Deployment \"{}\" has timed out progressing.",
                        self.d_obj.name()
                    ),
                };
                set_condition(
                    &mut s,
                    new_condition("Progressing", "False", TIMED_OUT, msg, self.now),
                );
            }
        }
        // requeueStuckDeployment: look again when the deadline would pass.
        let requeue = match (deadline, condition(&s, "Progressing")) {
            (Some(deadline), Some(c))
                if !self.complete(&s) && c.reason.as_deref() != Some(TIMED_OUT) =>
            {
                let from = c.last_update_time.as_ref().map_or(0, virtual_secs);
                let at = from + i64::from(deadline) + 1;
                let now = virtual_secs(&api_time(self.now));
                Some(Duration::from_secs((at - now).max(1) as u64))
            }
            _ => None,
        };
        (s, requeue)
    }

    /// `cleanupDeployment`: delete the oldest unused ReplicaSets beyond revisionHistoryLimit.
    fn cleanup(&self) -> Vec<SharedObject> {
        let Some(limit) = self.d.spec.revision_history_limit else {
            return Vec::new();
        };
        let mut cleanable: Vec<&View> = self
            .old()
            .into_iter()
            .map(|i| &self.all[i])
            .filter(|v| !v.obj.is_terminating())
            .collect();
        let diff = cleanable.len() as i64 - i64::from(limit);
        if diff <= 0 {
            return Vec::new();
        }
        cleanable.sort_by(|a, b| {
            a.revision()
                .cmp(&b.revision())
                .then_with(|| by_creation(a, b))
        });
        cleanable
            .into_iter()
            .take(diff as usize)
            .filter(|v| {
                v.replicas() == 0
                    && v.status_replicas() == 0
                    && v.rs
                        .status
                        .as_ref()
                        .and_then(|s| s.observed_generation)
                        .unwrap_or(0)
                        >= v.rs.metadata.generation.unwrap_or(0)
            })
            .map(|v| v.obj.clone())
            .collect()
    }
}

impl DeploymentController {
    fn owner_key(cx: &Cx<'_>, o: &Object) -> Option<String> {
        let r = o.controller_ref()?;
        if r.kind != "Deployment" {
            return None;
        }
        let d = cx.get(Kind::Deployment, o.namespace(), &r.name)?;
        (d.uid() == r.uid).then(|| object_key(&d))
    }

    fn matching(cx: &Cx<'_>, o: &Object) -> Vec<String> {
        let Some(cache) = cx.cache(Kind::Deployment) else {
            return Vec::new();
        };
        cache
            .lister()
            .list_namespaced(o.namespace(), &Selector::everything())
            .iter()
            .filter(|d| {
                dep_of(d)
                    .and_then(|d| Selector::from_label_selector(Some(&d.spec.selector)).ok())
                    .is_some_and(|s| !s.is_everything() && s.matches(o.labels()))
            })
            .map(|d| object_key(d))
            .collect()
    }

    /// Writes what a sync changed: ReplicaSets, Events, then the Deployment's status.
    fn flush(&mut self, s: &Sync<'_>, status: Option<DeploymentStatus>, cx: &mut Cx<'_>) {
        for v in &s.all {
            if rs_of(&v.obj) != Some(&v.rs) {
                cx.writes
                    .push(Write::update(Object::from(v.rs.clone()), s.key));
            }
        }
        for (reason, msg) in &s.events {
            self.recorder.record(
                cx.writes,
                &s.d_obj,
                NORMAL,
                reason,
                msg.clone(),
                EVENT_SOURCE,
                cx.now,
            );
        }
        let cached = dep_of(&s.d_obj).and_then(|d| d.status.as_ref());
        if let Some(st) = status
            && cached != Some(&st)
        {
            let mut d = s.d.clone();
            d.status = Some(st);
            cx.writes.push(Write::update_status(Object::from(d), s.key));
        }
    }

    /// The ReplicaSet `getNewReplicaSet` would create.
    fn new_replica_set(s: &Sync<'_>, replicas: i32, revision: i64) -> Option<Object> {
        let d = &s.d;
        let hash = compute_hash(
            &d.spec.template,
            d.status.as_ref().and_then(|st| st.collision_count),
        );
        let mut template = d.spec.template.clone();
        let tm = template.metadata.get_or_insert_with(ObjectMeta::default);
        tm.labels
            .get_or_insert_with(BTreeMap::new)
            .insert(POD_TEMPLATE_HASH_LABEL.into(), hash.clone());
        let labels = tm.labels.clone();
        let mut selector: LabelSelector = d.spec.selector.clone();
        selector
            .match_labels
            .get_or_insert_with(BTreeMap::new)
            .insert(POD_TEMPLATE_HASH_LABEL.into(), hash.clone());
        let mut annotations: BTreeMap<String, String> = s
            .d_obj
            .annotations()
            .iter()
            .filter(|(k, _)| !SKIPPED_ANNOTATIONS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        annotations.insert(REVISION_ANNOTATION.into(), revision.to_string());
        annotations.insert(DESIRED_REPLICAS_ANNOTATION.into(), desired(d).to_string());
        annotations.insert(
            MAX_REPLICAS_ANNOTATION.into(),
            (desired(d) + max_surge(d)).to_string(),
        );
        Some(Object::from(ReplicaSet {
            metadata: ObjectMeta {
                name: Some(format!("{}-{hash}", s.d_obj.name())),
                namespace: Some(s.d_obj.namespace().to_string()),
                labels,
                annotations: Some(annotations),
                owner_references: Some(vec![new_controller_ref(&s.d_obj)?]),
                ..Default::default()
            },
            spec: ReplicaSetSpec {
                replicas: Some(replicas),
                min_ready_seconds: d.spec.min_ready_seconds,
                selector,
                template: Some(template),
            },
            status: None,
        }))
    }

    /// `getAllReplicaSetsAndSyncRevision`. `Err(())` when the new ReplicaSet was just asked
    /// for (the sync stops until it is in the cache).
    fn sync_revision(&mut self, s: &mut Sync<'_>, create: bool, cx: &mut Cx<'_>) -> Result<(), ()> {
        let max_old = s
            .old()
            .iter()
            .map(|i| s.all[*i].revision())
            .max()
            .unwrap_or(0);
        let new_revision = max_old + 1;
        if let Some(n) = s.new {
            let v = &mut s.all[n];
            // `SetNewReplicaSetAnnotations` on the existing new ReplicaSet: the Deployment's
            // annotations (an added `kubernetes.io/change-cause`, say) are copied onto it on
            // every sync, except the ones the controller owns.
            let ann = v.rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
            for (k, val) in s.d_obj.annotations() {
                if !SKIPPED_ANNOTATIONS.contains(&k.as_str()) && ann.get(k) != Some(val) {
                    ann.insert(k.clone(), val.clone());
                }
            }
            if v.revision() < new_revision {
                v.rs.metadata
                    .annotations
                    .get_or_insert_with(BTreeMap::new)
                    .insert(REVISION_ANNOTATION.into(), new_revision.to_string());
            }
            if v.rs.spec.min_ready_seconds != s.d.spec.min_ready_seconds {
                v.rs.spec.min_ready_seconds = s.d.spec.min_ready_seconds;
            }
            let rev = v.revision().to_string();
            if s.d_obj.annotations().get(REVISION_ANNOTATION) != Some(&rev) {
                cx.writes.push(Write::patch(
                    Kind::Deployment,
                    s.d_obj.namespace(),
                    s.d_obj.name(),
                    json!({"metadata": {"annotations": {REVISION_ANNOTATION: rev}}}),
                    s.key,
                ));
            }
            let has_progressing =
                s.d.status
                    .as_ref()
                    .is_some_and(|st| condition(st, "Progressing").is_some());
            if progress_deadline(&s.d).is_some() && !has_progressing {
                let name = s.all[n].name().to_string();
                let st = s.d.status.get_or_insert_with(Default::default);
                set_condition(
                    st,
                    new_condition(
                        "Progressing",
                        "True",
                        FOUND_NEW_RS,
                        format!("Found new replica set \"{name}\""),
                        s.now,
                    ),
                );
            }
            return Ok(());
        }
        if !create {
            return Ok(());
        }
        let replicas = s.new_rs_new_replicas(0);
        let Some(rs) = Self::new_replica_set(s, replicas, new_revision) else {
            return Ok(());
        };
        let name = rs.name().to_string();
        cx.writes.push(Write::create(rs, s.key));
        if replicas > 0 {
            s.events.push((
                "ScalingReplicaSet".into(),
                format!("Scaled up replica set {name} from 0 to {replicas}"),
            ));
        }
        let mut st = s.d.status.clone().unwrap_or_default();
        if progress_deadline(&s.d).is_some() {
            set_condition(
                &mut st,
                new_condition(
                    "Progressing",
                    "True",
                    NEW_RS_CREATED,
                    format!("Created new replica set \"{name}\""),
                    s.now,
                ),
            );
        }
        self.flush(s, Some(st), cx);
        cx.writes.push(Write::patch(
            Kind::Deployment,
            s.d_obj.namespace(),
            s.d_obj.name(),
            json!({"metadata": {"annotations": {REVISION_ANNOTATION: new_revision.to_string()}}}),
            s.key,
        ));
        Err(())
    }

    /// `checkPausedConditions`.
    fn paused_condition(s: &mut Sync<'_>) {
        if progress_deadline(&s.d).is_none() {
            return;
        }
        let paused = s.d.spec.paused.unwrap_or(false);
        let st = s.d.status.get_or_insert_with(Default::default);
        let reason = condition(st, "Progressing").and_then(|c| c.reason.clone());
        if paused && reason.as_deref() != Some(PAUSED) {
            set_condition(
                st,
                new_condition(
                    "Progressing",
                    "Unknown",
                    PAUSED,
                    "Deployment is paused".into(),
                    s.now,
                ),
            );
        } else if !paused && reason.as_deref() == Some(PAUSED) {
            set_condition(
                st,
                new_condition(
                    "Progressing",
                    "Unknown",
                    RESUMED,
                    "Deployment is resumed".into(),
                    s.now,
                ),
            );
        }
    }
}

impl Controller for DeploymentController {
    fn name(&self) -> &'static str {
        "deployment"
    }

    fn kinds(&self) -> &'static [Kind] {
        &[Kind::Deployment, Kind::ReplicaSet, Kind::Pod]
    }

    fn on_notification(&mut self, kind: Kind, n: &Notification, cx: &mut Cx<'_>) -> Vec<String> {
        match (kind, n) {
            (Kind::Deployment, _) => vec![n.key()],
            (Kind::ReplicaSet, Notification::Update { old, new }) => {
                let mut keys: Vec<String> = Self::owner_key(cx, new).into_iter().collect();
                if old.controller_ref() != new.controller_ref() {
                    keys.extend(Self::owner_key(cx, old));
                }
                if keys.is_empty() {
                    keys = Self::matching(cx, new);
                }
                keys
            }
            (Kind::ReplicaSet, Notification::Add(rs)) => match Self::owner_key(cx, rs) {
                Some(k) => vec![k],
                None if !rs.is_terminating() => Self::matching(cx, rs),
                None => Vec::new(),
            },
            (Kind::ReplicaSet, Notification::Delete(rs)) => {
                Self::owner_key(cx, rs).into_iter().collect()
            }
            // Recreate waits for the old pods to be gone.
            (Kind::Pod, Notification::Delete(pod) | Notification::Update { new: pod, .. }) => {
                let Some(r) = pod.controller_ref() else {
                    return Vec::new();
                };
                let Some(rs) = cx.get(Kind::ReplicaSet, pod.namespace(), &r.name) else {
                    return Vec::new();
                };
                Self::owner_key(cx, &rs)
                    .filter(|k| {
                        let (ns, name) = split(k).unwrap_or(("", ""));
                        cx.get(Kind::Deployment, ns, name)
                            .as_deref()
                            .and_then(dep_of)
                            .is_some_and(|d| !is_rolling(d))
                    })
                    .into_iter()
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    fn reconcile(&mut self, key: &str, cx: &mut Cx<'_>) -> Result<Action, ReconcileError> {
        let (ns, name) = split(key)?;
        let Some(d_obj) = cx.get(Kind::Deployment, ns, name) else {
            return Ok(Action::AwaitChange);
        };
        let Some(d) = dep_of(&d_obj).cloned() else {
            return Ok(Action::AwaitChange);
        };
        let selector = Selector::from_label_selector(Some(&d.spec.selector))
            .map_err(|e| ReconcileError::Invalid(format!("invalid selector: {e}")))?;
        if selector.is_everything() {
            return Ok(Action::AwaitChange);
        }
        // Claim ReplicaSets (ClaimReplicaSets).
        let cached = cx.owned_and_orphans(Kind::ReplicaSet, ns, d_obj.uid());
        let mut all = Vec::new();
        let mut patching = false;
        for o in cached {
            let Some(rs) = rs_of(&o) else { continue };
            let matches = selector.matches(o.labels());
            match o.controller_ref() {
                Some(r) if r.uid == d_obj.uid() => {
                    if matches || d_obj.is_terminating() {
                        all.push(View {
                            obj: o.clone(),
                            rs: rs.clone(),
                        });
                    } else {
                        let refs: Vec<_> = o
                            .owner_references()
                            .iter()
                            .filter(|r| r.uid != d_obj.uid())
                            .cloned()
                            .collect();
                        cx.writes.push(Write::patch(
                            Kind::ReplicaSet,
                            ns,
                            o.name(),
                            json!({"metadata": {"ownerReferences": refs, "uid": o.uid()}}),
                            key,
                        ));
                        patching = true;
                    }
                }
                None if matches && !d_obj.is_terminating() && !o.is_terminating() => {
                    let Some(cref) = new_controller_ref(&d_obj) else {
                        continue;
                    };
                    let mut refs = o.owner_references().to_vec();
                    refs.push(cref);
                    cx.writes.push(Write::patch(
                        Kind::ReplicaSet,
                        ns,
                        o.name(),
                        json!({"metadata": {"ownerReferences": refs, "uid": o.uid()}}),
                        key,
                    ));
                    patching = true;
                }
                _ => {}
            }
        }
        if patching {
            return Ok(Action::AwaitChange);
        }
        // FindNewReplicaSet: the oldest whose template equals the Deployment's.
        all.sort_by(by_creation);
        let new = all.iter().position(|v| {
            v.rs.spec
                .template
                .as_ref()
                .is_some_and(|t| equal_ignore_hash(t, &d.spec.template))
        });
        let mut s = Sync {
            key,
            d_obj: d_obj.clone(),
            d,
            all,
            new,
            now: cx.now,
            events: Vec::new(),
        };
        if d_obj.is_terminating() {
            let st = s.status();
            self.flush(&s, Some(st), cx);
            return Ok(Action::AwaitChange);
        }
        Self::paused_condition(&mut s);
        let paused = s.d.spec.paused.unwrap_or(false);
        let scaling_event = s.active(&s.everything()).iter().any(|i| {
            s.all[*i]
                .annotation(DESIRED_REPLICAS_ANNOTATION)
                .and_then(|a| a.parse::<i32>().ok())
                .is_some_and(|want| want != desired(&s.d))
        });
        if paused || scaling_event {
            // sync(): scale, clean up when paused, status.
            if self.sync_revision(&mut s, false, cx).is_err() {
                return Ok(Action::AwaitChange);
            }
            s.scale_all();
            let mut deletes = Vec::new();
            if paused {
                deletes = s.cleanup();
            }
            let st = s.status();
            self.flush(&s, Some(st), cx);
            for rs in deletes {
                cx.writes.push(Write::delete(&rs, key));
            }
            return Ok(Action::AwaitChange);
        }
        let requeue = if is_rolling(&s.d) {
            if self.sync_revision(&mut s, true, cx).is_err() {
                return Ok(Action::AwaitChange);
            }
            let mut deletes = Vec::new();
            if !s.reconcile_new() && !s.reconcile_old() {
                let st = s.status();
                if s.complete(&st) {
                    deletes = s.cleanup();
                }
            }
            let (st, requeue) = s.rollout_status();
            self.flush(&s, Some(st), cx);
            for rs in deletes {
                cx.writes.push(Write::delete(&rs, key));
            }
            requeue
        } else {
            self.recreate(&mut s, cx)?
        };
        Ok(requeue.map_or(Action::AwaitChange, Action::RequeueAfter))
    }

    fn reset(&mut self) {}
}

impl DeploymentController {
    /// `rolloutRecreate`.
    fn recreate(
        &mut self,
        s: &mut Sync<'_>,
        cx: &mut Cx<'_>,
    ) -> Result<Option<Duration>, ReconcileError> {
        if self.sync_revision(s, false, cx).is_err() {
            return Ok(None);
        }
        let mut scaled_down = false;
        for i in s.active(&s.old()) {
            scaled_down |= s.scale(i, 0);
        }
        let old_running = {
            let old = s.old();
            s.sum(&old, View::status_replicas) > 0
                || old.iter().any(|i| {
                    cx.cache(Kind::Pod).is_some_and(|c| {
                        c.lister()
                            .controlled_by(s.all[*i].obj.uid())
                            .unwrap_or_default()
                            .iter()
                            .filter_map(|p| p.as_pod())
                            .any(|p| !matches!(crate::pods::phase(p), "Failed" | "Succeeded"))
                    })
                })
        };
        if !scaled_down && !old_running {
            if s.new.is_none() {
                if self.sync_revision(s, true, cx).is_err() {
                    return Ok(None);
                }
            } else if let Some(n) = s.new {
                let want = desired(&s.d);
                s.scale(n, want);
            }
        }
        let mut deletes = Vec::new();
        let st = s.status();
        if s.complete(&st) {
            deletes = s.cleanup();
        }
        let (st, requeue) = s.rollout_status();
        self.flush(s, Some(st), cx);
        for rs in deletes {
            cx.writes.push(Write::delete(&rs, s.key));
        }
        Ok(requeue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(round_div(5, 2), 3);
        assert_eq!(round_div(4, 3), 1);
        assert_eq!(round_div(-5, 2), -3);
        assert_eq!(round_div(7, 0), 0);
        // 3 replicas of a 10-replica (13 max) rollout scaled to 20 (+5 surge = 25).
        assert_eq!(round_div(3 * 25, 13), 6);
    }
}
