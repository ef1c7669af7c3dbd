//! The Job controller: runs a Job's pods to `completions` successes with at most
//! `parallelism` at a time, retries failures with back-off up to `backoffLimit`, and reports
//! the outcome as the `Complete` or `Failed` condition.
//!
//! Follows `pkg/controller/job/job_controller.go` (`syncJob`, `manageJob`,
//! `pastBackoffLimitOnFailure`, `getPodsBackoff`) and `indexed_job_utils.go`:
//! - pods are the Job's own (controllerRef); the selector is the Job's, or the
//!   `batch.kubernetes.io/controller-uid` label the apiserver's Job strategy would have set;
//!   every pod carries `batch.kubernetes.io/controller-uid`, `controller-uid`,
//!   `batch.kubernetes.io/job-name` and `job-name`;
//! - active = pods neither finished nor terminating; succeeded / failed = pods in those
//!   phases; wanted active = min(parallelism, completions − succeeded) (parallelism alone
//!   without completions, until a pod succeeds); creates go in slow-start batches, surplus
//!   active pods are deleted (pending and not-ready first);
//! - Indexed: pods for the lowest indexes neither succeeded nor active, with the
//!   `batch.kubernetes.io/job-completion-index` annotation and label, hostname
//!   `<job>-<index>`, `generateName: <job>-<index>-` and `JOB_COMPLETION_INDEX` from the
//!   annotation; `status.completedIndexes` as intervals (`0-2,4`); complete when every index
//!   below completions succeeded;
//! - failures: restartPolicy Never counts failed pods, OnFailure also the container restarts
//!   of active pods; more than `backoffLimit` (default 6) fails the Job with reason
//!   `BackoffLimitExceeded`; `activeDeadlineSeconds` fails it with `DeadlineExceeded`; the
//!   active pods of a failed Job are deleted. A replacement after failures waits 10 s ×
//!   2^(failures−1), capped at 6 min, counted from the last failure, reset by a success;
//! - status: active, ready, succeeded, failed, startTime (first sync), completionTime, the
//!   conditions with Events `SuccessfulCreate`, `SuccessfulDelete`, `Completed`,
//!   `BackoffLimitExceeded`, `DeadlineExceeded`.
//!
//! Simplifications: counts are read from the pods that exist (the legacy tracking before
//! the `batch.kubernetes.io/job-tracking` finalizer), so a finished pod deleted by someone
//! no longer counts; no `suspend`, podFailurePolicy, backoffLimitPerIndex, successPolicy or
//! the 1.31 `SuccessCriteriaMet` / `FailureTarget` interim conditions; the back-off record
//! lives in memory (upstream rebuilds it from pod finish times) and starts when the failure
//! is observed. `ttlSecondsAfterFinished` belongs to the ttl-after-finished controller,
//! which is not here.

use std::collections::{BTreeMap, BTreeSet};

use api::object::new_controller_ref;
use api::selector::Selector;
use api::{Kind, Object, SharedObject};
use apiserver::ApiReply;
use apiserver::objects::{api_time, virtual_secs};
use client::{Action, ClientError, Notification, object_key};
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus};
use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sim::{Duration, Time};

use crate::controller::{Controller, Cx, Purpose, ReconcileError, Write, split};
use crate::events::{NORMAL, Recorder, WARNING};
use crate::expectations::Expectations;
use crate::pods;
use crate::slow_start::{Progress, SlowStarts};

/// `source.component` of its Events: the name upstream gives this controller's recorder.
const EVENT_SOURCE: &str = "job-controller";

pub const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
pub const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
pub const LEGACY_JOB_NAME_LABEL: &str = "job-name";
pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";
/// `DefaultJobPodFailureBackOff`.
pub const BACKOFF_BASE: Duration = Duration::from_secs(10);
/// The cap of the failure back-off (six minutes, as the Job documentation states).
pub const BACKOFF_MAX: Duration = Duration::from_secs(360);
/// `MaxUncountedPods`-independent bound on creates per sync (`MaxPodCreateDeletePerSync`).
pub const MAX_CREATE_DELETE_PER_SYNC: usize = 500;

fn job_of(obj: &Object) -> Option<&Job> {
    match obj {
        Object::Job(j) => Some(j.as_ref()),
        _ => None,
    }
}

/// The failure back-off before the next pod after `failures` consecutive failures.
pub fn backoff(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let mut d = BACKOFF_BASE;
    for _ in 1..failures {
        d = d.saturating_add(d);
        if d >= BACKOFF_MAX {
            return BACKOFF_MAX;
        }
    }
    d.min(BACKOFF_MAX)
}

/// Sorted indexes as kubectl shows `completedIndexes`: `0-2,4`.
pub fn format_indexes(indexes: &BTreeSet<i32>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut it = indexes.iter().copied().peekable();
    while let Some(start) = it.next() {
        let mut end = start;
        while it.peek() == Some(&(end + 1)) {
            end += 1;
            it.next();
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    parts.join(",")
}

/// A pod's completion index (annotation first, then the label).
pub fn completion_index(pod: &Object) -> Option<i32> {
    pod.annotations()
        .get(COMPLETION_INDEX)
        .or_else(|| pod.labels().get(COMPLETION_INDEX))
        .and_then(|v| v.parse().ok())
        .filter(|i: &i32| *i >= 0)
}

/// The pod the Job creates (`index` for Indexed Jobs).
pub fn new_pod(job_obj: &Object, job: &Job, index: Option<i32>) -> Option<Object> {
    let spec = job.spec.as_ref()?;
    let controller_ref = new_controller_ref(job_obj)?;
    let tm = spec.template.metadata.clone().unwrap_or_default();
    let mut labels = tm.labels.unwrap_or_default();
    let uid = job_obj.uid().to_string();
    let name = job_obj.name().to_string();
    labels.insert(CONTROLLER_UID_LABEL.into(), uid.clone());
    labels.insert(LEGACY_CONTROLLER_UID_LABEL.into(), uid);
    labels.insert(JOB_NAME_LABEL.into(), name.clone());
    labels.insert(LEGACY_JOB_NAME_LABEL.into(), name.clone());
    let mut annotations = tm.annotations.unwrap_or_default();
    let mut pod_spec = spec.template.spec.clone().unwrap_or_default();
    let mut generate_name = format!("{name}-");
    if let Some(i) = index {
        annotations.insert(COMPLETION_INDEX.into(), i.to_string());
        labels.insert(COMPLETION_INDEX.into(), i.to_string());
        generate_name = format!("{name}-{i}-");
        pod_spec
            .hostname
            .get_or_insert_with(|| format!("{name}-{i}"));
        for c in &mut pod_spec.containers {
            let env = c.env.get_or_insert_with(Vec::new);
            if !env.iter().any(|e| e.name == "JOB_COMPLETION_INDEX") {
                env.push(EnvVar {
                    name: "JOB_COMPLETION_INDEX".into(),
                    value: None,
                    value_from: Some(EnvVarSource {
                        field_ref: Some(ObjectFieldSelector {
                            api_version: None,
                            field_path: format!("metadata.annotations['{COMPLETION_INDEX}']"),
                        }),
                        ..Default::default()
                    }),
                });
            }
        }
    }
    Some(Object::from(Pod {
        metadata: ObjectMeta {
            generate_name: Some(generate_name),
            namespace: Some(job_obj.namespace().to_string()),
            labels: Some(labels),
            annotations: Some(annotations).filter(|a| !a.is_empty()),
            finalizers: tm.finalizers,
            owner_references: Some(vec![controller_ref]),
            ..Default::default()
        },
        spec: Some(pod_spec),
        status: None,
    }))
}

/// Consecutive failures since the last success, observed in memory.
#[derive(Clone, Debug, Default)]
struct Backoff {
    seen_failed: BTreeSet<String>,
    seen_succeeded: BTreeSet<String>,
    failures: u32,
    last_failure: Option<Time>,
}

#[derive(Default)]
pub struct JobController {
    pub expectations: Expectations,
    slow_starts: SlowStarts,
    owners: BTreeMap<String, SharedObject>,
    backoffs: BTreeMap<String, Backoff>,
    recorder: Recorder,
}

fn restarts(p: &Pod) -> i64 {
    p.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map_or(0, |cs| cs.iter().map(|c| i64::from(c.restart_count)).sum())
}

fn condition(type_: &str, reason: &str, message: &str, now: Time) -> JobCondition {
    JobCondition {
        type_: type_.into(),
        status: "True".into(),
        reason: Some(reason.to_string()).filter(|r| !r.is_empty()),
        message: Some(message.to_string()).filter(|m| !m.is_empty()),
        last_probe_time: Some(api_time(now)),
        last_transition_time: Some(api_time(now)),
    }
}

/// Whether the Job has a true Complete or Failed condition.
pub fn is_finished(job: &Job) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        })
}

impl JobController {
    fn controller_key(cx: &Cx<'_>, pod: &Object) -> Option<String> {
        let r = pod.controller_ref()?;
        if r.kind != "Job" {
            return None;
        }
        let job = cx.get(Kind::Job, pod.namespace(), &r.name)?;
        (job.uid() == r.uid).then(|| client::key_of(pod.namespace(), &r.name))
    }

    fn on_pod(&mut self, n: &Notification, cx: &mut Cx<'_>) -> Vec<String> {
        let obj = n.object();
        let Some(key) = Self::controller_key(cx, obj) else {
            return Vec::new();
        };
        match n {
            Notification::Add(p) if !p.is_terminating() => {
                self.expectations.creation_observed(&key)
            }
            Notification::Add(p) => self.expectations.deletion_observed(&key, &object_key(p)),
            Notification::Update { old, new } if new.is_terminating() && !old.is_terminating() => {
                self.expectations.deletion_observed(&key, &object_key(new))
            }
            Notification::Update { .. } => {}
            Notification::Delete(p) => self.expectations.deletion_observed(&key, &object_key(p)),
        }
        vec![key]
    }

    /// Folds newly finished pods into the back-off record; the delay left before a create.
    fn backoff_left(&mut self, key: &str, owned: &[SharedObject], now: Time) -> Duration {
        let b = self.backoffs.entry(key.to_string()).or_default();
        for o in owned {
            let Some(p) = o.as_pod() else { continue };
            let k = object_key(o);
            match pods::phase(p) {
                "Failed" if b.seen_failed.insert(k.clone()) => {
                    b.failures += 1;
                    b.last_failure = Some(now);
                }
                "Succeeded" if b.seen_succeeded.insert(k) => b.failures = 0,
                _ => {}
            }
        }
        match b.last_failure {
            Some(t) if b.failures > 0 => {
                backoff(b.failures).saturating_sub(now.saturating_since(t))
            }
            _ => Duration::ZERO,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &mut self,
        job_obj: &SharedObject,
        status: &mut JobStatus,
        type_: &str,
        reason: &str,
        message: &str,
        active: &[SharedObject],
        key: &str,
        cx: &mut Cx<'_>,
    ) {
        status
            .conditions
            .get_or_insert_with(Vec::new)
            .push(condition(type_, reason, message, cx.now));
        if type_ == "Complete" {
            status.completion_time = Some(api_time(cx.now));
            self.recorder.record(
                cx.writes,
                job_obj,
                NORMAL,
                "Completed",
                "Job completed".into(),
                EVENT_SOURCE,
                cx.now,
            );
        } else {
            self.recorder.record(
                cx.writes,
                job_obj,
                WARNING,
                reason,
                message.into(),
                EVENT_SOURCE,
                cx.now,
            );
        }
        self.delete_pods(key, job_obj, active.to_vec(), cx);
    }

    fn delete_pods(
        &mut self,
        key: &str,
        job_obj: &SharedObject,
        victims: Vec<SharedObject>,
        cx: &mut Cx<'_>,
    ) {
        if victims.is_empty() {
            return;
        }
        self.expectations.expect(
            key,
            0,
            victims.iter().map(|p| object_key(p)).collect(),
            cx.now,
        );
        for p in victims {
            cx.writes
                .push(Write::delete(&p, key).purpose(Purpose::DeletePod(object_key(&p))));
            self.recorder.record(
                cx.writes,
                job_obj,
                NORMAL,
                "SuccessfulDelete",
                format!("Deleted pod: {}", p.name()),
                EVENT_SOURCE,
                cx.now,
            );
        }
    }
}

impl Controller for JobController {
    fn name(&self) -> &'static str {
        "job"
    }

    fn kinds(&self) -> &'static [Kind] {
        &[Kind::Job, Kind::Pod]
    }

    fn on_notification(&mut self, kind: Kind, n: &Notification, cx: &mut Cx<'_>) -> Vec<String> {
        match kind {
            Kind::Job => {
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
        let Some(job_obj) = cx.get(Kind::Job, ns, name) else {
            self.expectations.forget(key);
            self.slow_starts.forget(key);
            self.owners.remove(key);
            self.backoffs.remove(key);
            return Ok(Action::AwaitChange);
        };
        let Some(job) = job_of(&job_obj) else {
            return Ok(Action::AwaitChange);
        };
        let Some(spec) = job.spec.as_ref() else {
            return Ok(Action::AwaitChange);
        };
        self.owners.insert(key.to_string(), job_obj.clone());
        let selector = match &spec.selector {
            Some(s) => Selector::from_label_selector(Some(s))
                .map_err(|e| ReconcileError::Invalid(format!("invalid selector: {e}")))?,
            None => Selector::from_map(
                &[(CONTROLLER_UID_LABEL.to_string(), job_obj.uid().to_string())].into(),
            )
            .map_err(|e| ReconcileError::Invalid(e.to_string()))?,
        };
        let owned: Vec<SharedObject> = cx
            .cache(Kind::Pod)
            .and_then(|c| c.lister().controlled_by(job_obj.uid()).ok())
            .unwrap_or_default()
            .into_iter()
            .filter(|p| selector.matches(p.labels()))
            .collect();
        let finished = is_finished(job);
        let indexed = spec.completion_mode.as_deref() == Some("Indexed");
        let completions = spec.completions;
        let parallelism = spec.parallelism.unwrap_or(1).max(0);
        let backoff_limit = spec.backoff_limit.unwrap_or(6);
        let on_failure = spec
            .template
            .spec
            .as_ref()
            .and_then(|s| s.restart_policy.as_deref())
            == Some("OnFailure");

        let mut active: Vec<SharedObject> = Vec::new();
        let (mut succeeded, mut failed, mut ready) = (0i32, 0i32, 0i32);
        let mut done_indexes = BTreeSet::new();
        for o in &owned {
            let Some(p) = o.as_pod() else { continue };
            match pods::phase(p) {
                "Succeeded" => {
                    succeeded += 1;
                    if let Some(i) = completion_index(o)
                        && completions.is_some_and(|c| i < c)
                    {
                        done_indexes.insert(i);
                    }
                }
                "Failed" => failed += 1,
                _ if o.is_terminating() => {}
                _ => {
                    if pods::is_ready(p) {
                        ready += 1;
                    }
                    active.push(o.clone());
                }
            }
        }
        if indexed {
            succeeded = done_indexes.len() as i32;
        }
        let old = job.status.clone().unwrap_or_default();
        let mut status = JobStatus {
            active: Some(active.len() as i32).filter(|n| *n > 0),
            ready: Some(ready),
            succeeded: Some(succeeded).filter(|n| *n > 0),
            failed: Some(failed).filter(|n| *n > 0),
            start_time: old.start_time.clone().or_else(|| Some(api_time(cx.now))),
            completion_time: old.completion_time.clone(),
            conditions: old.conditions.clone(),
            completed_indexes: (indexed && !done_indexes.is_empty())
                .then(|| format_indexes(&done_indexes)),
            ..old.clone()
        };
        let mut action = Action::AwaitChange;
        let satisfied = self.expectations.satisfied(key, cx.now);
        if !finished && satisfied && !job_obj.is_terminating() {
            let restarts: i64 = if on_failure {
                active.iter().filter_map(|o| o.as_pod()).map(restarts).sum()
            } else {
                0
            };
            let started = status.start_time.as_ref().map_or(0, virtual_secs);
            let now_secs = virtual_secs(&api_time(cx.now));
            let complete = match completions {
                Some(c) if indexed => (0..c).all(|i| done_indexes.contains(&i)),
                Some(c) => succeeded >= c,
                None => succeeded > 0 && active.is_empty(),
            };
            if complete {
                self.finish(&job_obj, &mut status, "Complete", "", "", &active, key, cx);
            } else if i64::from(failed) + restarts > i64::from(backoff_limit) {
                self.finish(
                    &job_obj,
                    &mut status,
                    "Failed",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    &active,
                    key,
                    cx,
                );
            } else if let Some(deadline) = spec.active_deadline_seconds
                && now_secs - started >= deadline
            {
                self.finish(
                    &job_obj,
                    &mut status,
                    "Failed",
                    "DeadlineExceeded",
                    "Job was active longer than specified deadline",
                    &active,
                    key,
                    cx,
                );
            } else {
                action = self.manage(
                    key,
                    &job_obj,
                    job,
                    &owned,
                    &active,
                    succeeded,
                    &done_indexes,
                    parallelism,
                    cx,
                );
                if let Some(deadline) = spec.active_deadline_seconds {
                    let left = Duration::from_secs((deadline - (now_secs - started)).max(1) as u64);
                    action = match action {
                        Action::RequeueAfter(d) => Action::RequeueAfter(d.min(left)),
                        _ => Action::RequeueAfter(left),
                    };
                }
            }
        }
        if job.status.as_ref() != Some(&status) {
            let mut updated = job.clone();
            updated.status = Some(status);
            cx.writes
                .push(Write::update_status(Object::from(updated), key));
        }
        Ok(action)
    }

    fn on_write_result(
        &mut self,
        owner: &str,
        purpose: &Purpose,
        result: &Result<ApiReply, ClientError>,
        cx: &mut Cx<'_>,
    ) {
        let job = self.owners.get(owner).cloned();
        match purpose {
            Purpose::CreatePod => {
                match (result, &job) {
                    (Ok(ApiReply::Object(pod)), Some(job)) => self.recorder.record(
                        cx.writes,
                        job,
                        NORMAL,
                        "SuccessfulCreate",
                        format!("Created pod: {}", pod.name()),
                        EVENT_SOURCE,
                        cx.now,
                    ),
                    (Err(e), _) => {
                        self.expectations.creation_observed(owner);
                        if let Some(job) = &job {
                            self.recorder.record(
                                cx.writes,
                                job,
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
                if let Progress::Done { skipped } =
                    self.slow_starts.on_result(owner, result.is_ok(), cx.writes)
                {
                    for _ in 0..skipped {
                        self.expectations.creation_observed(owner);
                    }
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

    fn reset(&mut self) {
        self.expectations.clear();
        self.slow_starts.clear();
        self.owners.clear();
        self.backoffs.clear();
    }
}

impl JobController {
    /// `manageJob`: creates or deletes pods towards the wanted number of active ones.
    #[allow(clippy::too_many_arguments)]
    fn manage(
        &mut self,
        key: &str,
        job_obj: &SharedObject,
        job: &Job,
        owned: &[SharedObject],
        active: &[SharedObject],
        succeeded: i32,
        done_indexes: &BTreeSet<i32>,
        parallelism: i32,
        cx: &mut Cx<'_>,
    ) -> Action {
        let completions = job.spec.as_ref().and_then(|s| s.completions);
        let indexed =
            job.spec.as_ref().and_then(|s| s.completion_mode.as_deref()) == Some("Indexed");
        let want = match completions {
            Some(c) => (c - succeeded).min(parallelism),
            // Without completions, no new pods once one has succeeded.
            None if succeeded > 0 => active.len() as i32,
            None => parallelism,
        }
        .max(0) as usize;
        if active.len() > want {
            let mut ranked: Vec<SharedObject> = active.to_vec();
            ranked.sort_by(|a, b| match (a.as_pod(), b.as_pod()) {
                (Some(pa), Some(pb)) => pods::deletion_order((pa, 0), (pb, 0), cx.now),
                _ => std::cmp::Ordering::Equal,
            });
            let n = (active.len() - want).min(MAX_CREATE_DELETE_PER_SYNC);
            self.delete_pods(key, job_obj, ranked.into_iter().take(n).collect(), cx);
            return Action::AwaitChange;
        }
        let n = (want - active.len()).min(MAX_CREATE_DELETE_PER_SYNC);
        if n == 0 {
            return Action::AwaitChange;
        }
        let wait = self.backoff_left(key, owned, cx.now);
        if wait > Duration::ZERO {
            return Action::RequeueAfter(wait);
        }
        let new_pods: Vec<Object> = if indexed {
            let busy: BTreeSet<i32> = active.iter().filter_map(|o| completion_index(o)).collect();
            (0..completions.unwrap_or(0))
                .filter(|i| !done_indexes.contains(i) && !busy.contains(i))
                .take(n)
                .filter_map(|i| new_pod(job_obj, job, Some(i)))
                .collect()
        } else {
            (0..n).filter_map(|_| new_pod(job_obj, job, None)).collect()
        };
        self.expectations
            .expect(key, new_pods.len() as i64, Vec::new(), cx.now);
        self.slow_starts.start(key, new_pods, cx.writes);
        Action::AwaitChange
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_ten_seconds_to_six_minutes() {
        let secs: Vec<u64> = (0..8).map(|f| backoff(f).as_secs()).collect();
        assert_eq!(secs, vec![0, 10, 20, 40, 80, 160, 320, 360]);
        assert_eq!(backoff(100).as_secs(), 360);
    }

    #[test]
    fn indexes_render_as_intervals() {
        let s = |v: &[i32]| format_indexes(&v.iter().copied().collect());
        assert_eq!(s(&[]), "");
        assert_eq!(s(&[0, 1, 2, 4]), "0-2,4");
        assert_eq!(s(&[3]), "3");
        assert_eq!(s(&[0, 2, 3, 5, 6, 7]), "0,2-3,5-7");
    }
}
