//! The DaemonSet controller: one pod on every node that should run the DaemonSet's pod, its
//! rolling update and its status.
//!
//! Follows `pkg/controller/daemon/daemon_controller.go` and `update.go`:
//! - `NodeShouldRunDaemonPod`: the pod the DaemonSet would create for the node (its template
//!   with the default daemon tolerations, `util.AddOrUpdateDaemonPodTolerations`) must fit the
//!   node by `spec.nodeName`, nodeSelector and required node affinity and tolerate the node's
//!   NoSchedule and NoExecute taints; a pod already there may keep running as long as every
//!   NoExecute taint is tolerated. Node readiness matters only through taints, as upstream;
//! - `manage`: on a node that should run it and has no live daemon pod one is created
//!   (failed and succeeded pods are deleted first, a surplus keeps the oldest); pods on nodes
//!   that should not keep them, and unscheduled pods aimed at nodes that are gone, are
//!   deleted; at most `BurstReplicas` (250) creates and deletes per sync, creates in
//!   slow-start batches, all counted in the expectations;
//! - the pod is the template plus the default tolerations, `generateName: <ds>-`, the
//!   controllerRef, and a required node affinity replaced by a single `matchFields
//!   metadata.name In [node]` term (`ReplaceDaemonSetPodNodeNameNodeAffinity`), so that the
//!   default scheduler binds it;
//! - `rollingUpdate` (maxSurge 0): runs only when `manage` left the expectations satisfied;
//!   old pods that are unavailable are deleted at once, available ones while fewer than
//!   `maxUnavailable` (scaled from the desired count, rounded up, at least 1) nodes are
//!   unavailable; `manage` creates their replacements on the next sync. `OnDelete` replaces
//!   a pod only when someone deletes it;
//! - status (`updateDaemonSetStatus`): desiredNumberScheduled, currentNumberScheduled,
//!   numberMisscheduled, numberReady, numberAvailable (ready for `minReadySeconds`),
//!   updatedNumberScheduled, numberUnavailable, observedGeneration; written when it changed.
//!
//! Simplifications (stated in the crate's report): the api crate has no ControllerRevision
//! kind, so a pod's revision is the `pod-template-generation` label (the DaemonSet's
//! `metadata.generation` when the pod was made), as releases before 1.8 did; any spec change
//! (not only the template's) thus makes every pod out of date, and there is no
//! `controller-revision-hash` label, `collisionCount` or rollback history. `maxSurge > 0` is
//! not modelled: such a DaemonSet rolls as if maxSurge were 0 (maxUnavailable at least 1).
//! Orphan pods are not adopted; failed pods are deleted without the per-node back-off.

use std::collections::BTreeMap;

use api::object::new_controller_ref;
use api::taints::{NO_EXECUTE, NO_SCHEDULE, find_untolerated_taint};
use api::{Kind, Object, SharedObject};
use apiserver::ApiReply;
use client::{Action, ClientError, Notification, object_key};
use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod,
    PodSpec, Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sim::Duration;

use crate::controller::{Controller, Cx, Purpose, ReconcileError, Write, split};
use crate::events::{NORMAL, Recorder, WARNING};
use crate::expectations::Expectations;
use crate::pods;
use crate::slow_start::{Progress, SlowStarts};

/// `source.component` of its Events: the name upstream gives this controller's recorder.
const EVENT_SOURCE: &str = "daemonset-controller";

/// The label holding the DaemonSet generation a pod was created from
/// (`extensions.DaemonSetTemplateGenerationKey`).
pub const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";
/// `BurstReplicas` of the DaemonSet controller.
pub const BURST_REPLICAS: usize = 250;

/// The tolerations every daemon pod gets (`util.AddOrUpdateDaemonPodTolerations`).
pub fn default_tolerations(host_network: bool) -> Vec<Toleration> {
    let t = |key: &str, effect: &str| Toleration {
        key: Some(key.into()),
        operator: Some("Exists".into()),
        effect: Some(effect.into()),
        ..Default::default()
    };
    let mut out = vec![
        t("node.kubernetes.io/not-ready", NO_EXECUTE),
        t("node.kubernetes.io/unreachable", NO_EXECUTE),
        t("node.kubernetes.io/disk-pressure", NO_SCHEDULE),
        t("node.kubernetes.io/memory-pressure", NO_SCHEDULE),
        t("node.kubernetes.io/pid-pressure", NO_SCHEDULE),
        t("node.kubernetes.io/unschedulable", NO_SCHEDULE),
    ];
    if host_network {
        out.push(t("node.kubernetes.io/network-unavailable", NO_SCHEDULE));
    }
    out
}

/// `AddOrUpdateTolerationInPodSpec`: a toleration with the same key, operator, value and
/// effect is replaced, any other is appended.
fn add_tolerations(spec: &mut PodSpec) {
    let host_network = spec.host_network.unwrap_or(false);
    let list = spec.tolerations.get_or_insert_with(Vec::new);
    for t in default_tolerations(host_network) {
        let same = |o: &Toleration| {
            o.key == t.key
                && o.operator.as_deref().unwrap_or("Equal") == t.operator.as_deref().unwrap_or("")
                && o.value.as_deref().unwrap_or("") == t.value.as_deref().unwrap_or("")
                && o.effect == t.effect
        };
        match list.iter_mut().find(|o| same(o)) {
            Some(o) => *o = t,
            None => list.push(t),
        }
    }
}

fn ds_of(obj: &Object) -> Option<&DaemonSet> {
    match obj {
        Object::DaemonSet(d) => Some(d.as_ref()),
        _ => None,
    }
}

/// The template's pod spec with the daemon tolerations (`NewPod` without the node).
fn simulated_spec(ds: &DaemonSet) -> PodSpec {
    let mut spec = ds.spec.template.spec.clone().unwrap_or_default();
    add_tolerations(&mut spec);
    spec
}

/// (shouldRun, shouldContinueRunning) for a node (`NodeShouldRunDaemonPod`).
pub fn node_should_run(ds: &DaemonSet, node: &Node) -> (bool, bool) {
    node_should_run_spec(&simulated_spec(ds), node)
}

fn node_should_run_spec(spec: &PodSpec, node: &Node) -> (bool, bool) {
    let node_name = node.metadata.name.as_deref().unwrap_or("");
    if spec
        .node_name
        .as_deref()
        .is_some_and(|n| !n.is_empty() && n != node_name)
    {
        return (false, false);
    }
    if !api::affinity::pod_matches_node(spec, node) {
        return (false, false);
    }
    let taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or(&[]);
    let tolerations = spec.tolerations.as_deref().unwrap_or(&[]);
    if find_untolerated_taint(taints, tolerations, &[NO_SCHEDULE, NO_EXECUTE]).is_some() {
        let keeps = find_untolerated_taint(taints, tolerations, &[NO_EXECUTE]).is_none();
        return (false, keeps);
    }
    (true, true)
}

/// The node a daemon pod runs on or is aimed at (`util.GetTargetNodeName`).
pub fn target_node(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    if let Some(n) = spec.node_name.as_deref().filter(|n| !n.is_empty()) {
        return Some(n.to_string());
    }
    let terms = &spec
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    terms.iter().find_map(|t| {
        t.match_fields.as_ref()?.iter().find_map(|r| {
            (r.key == "metadata.name" && r.operator == "In")
                .then(|| r.values.as_ref()?.first().cloned())
                .flatten()
        })
    })
}

/// The pod the DaemonSet creates on `node` (`NewPod` + `ReplaceDaemonSetPodNodeNameNodeAffinity`).
pub fn new_pod(ds_obj: &Object, ds: &DaemonSet, node: &str) -> Option<Object> {
    let controller_ref = new_controller_ref(ds_obj)?;
    let tm = ds.spec.template.metadata.clone().unwrap_or_default();
    let mut spec = simulated_spec(ds);
    let term = NodeSelectorTerm {
        match_expressions: None,
        match_fields: Some(vec![NodeSelectorRequirement {
            key: "metadata.name".into(),
            operator: "In".into(),
            values: Some(vec![node.to_string()]),
        }]),
    };
    let affinity = spec.affinity.get_or_insert_with(Affinity::default);
    let na = affinity
        .node_affinity
        .get_or_insert_with(NodeAffinity::default);
    na.required_during_scheduling_ignored_during_execution = Some(NodeSelector {
        node_selector_terms: vec![term],
    });
    let mut labels = tm.labels.unwrap_or_default();
    labels.insert(
        TEMPLATE_GENERATION_LABEL.into(),
        ds.metadata.generation.unwrap_or(0).to_string(),
    );
    Some(Object::from(Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", ds_obj.name())),
            namespace: Some(ds_obj.namespace().to_string()),
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

/// Whether a pod was made from the DaemonSet's current spec (`util.IsPodUpdated`).
pub fn is_updated(pod: &Pod, ds: &DaemonSet) -> bool {
    let generation = ds.metadata.generation.unwrap_or(0).to_string();
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(TEMPLATE_GENERATION_LABEL))
        .is_some_and(|g| *g == generation)
}

fn created_secs(p: &Pod) -> i64 {
    p.metadata
        .creation_timestamp
        .as_ref()
        .map_or(0, apiserver::objects::virtual_secs)
}

#[derive(Default)]
pub struct DaemonSetController {
    pub expectations: Expectations,
    slow_starts: SlowStarts,
    owners: BTreeMap<String, SharedObject>,
    recorder: Recorder,
}

/// One node's view for a sync.
struct NodeView<'a> {
    node: &'a Node,
    should_run: bool,
    should_continue: bool,
    /// The DaemonSet's pods on (or aimed at) the node, oldest first.
    pods: Vec<SharedObject>,
}

impl DaemonSetController {
    fn controller_key(cx: &Cx<'_>, pod: &Object) -> Option<String> {
        let r = pod.controller_ref()?;
        if r.kind != "DaemonSet" {
            return None;
        }
        let ds = cx.get(Kind::DaemonSet, pod.namespace(), &r.name)?;
        (ds.uid() == r.uid).then(|| client::key_of(pod.namespace(), &r.name))
    }

    fn all_keys(cx: &Cx<'_>) -> Vec<String> {
        cx.cache(Kind::DaemonSet)
            .map(|c| c.keys().map(str::to_string).collect())
            .unwrap_or_default()
    }

    fn on_pod(&mut self, n: &Notification, cx: &mut Cx<'_>) -> Vec<String> {
        match n {
            Notification::Add(pod) => {
                let Some(key) = Self::controller_key(cx, pod) else {
                    return Vec::new();
                };
                if pod.is_terminating() {
                    self.expectations.deletion_observed(&key, &object_key(pod));
                } else {
                    self.expectations.creation_observed(&key);
                }
                vec![key]
            }
            Notification::Update { old, new } => {
                let Some(key) = Self::controller_key(cx, new) else {
                    return Vec::new();
                };
                if new.is_terminating() && !old.is_terminating() {
                    self.expectations.deletion_observed(&key, &object_key(new));
                }
                if let (Some(po), Some(pn)) = (old.as_pod(), new.as_pod())
                    && !pods::is_ready(po)
                    && pods::is_ready(pn)
                    && let Some(ds) = self.owners.get(&key)
                    && let Some(secs) = ds_of(ds).and_then(|d| d.spec.min_ready_seconds)
                    && secs > 0
                {
                    cx.requeue
                        .push((key.clone(), Duration::from_secs(secs as u64 + 1)));
                }
                vec![key]
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

    /// Whether a node update can change where daemon pods run (`shouldIgnoreNodeUpdate`).
    fn node_changed(old: &Object, new: &Object) -> bool {
        match (old, new) {
            (Object::Node(a), Object::Node(b)) => {
                a.metadata.labels != b.metadata.labels || a.spec != b.spec
            }
            _ => true,
        }
    }

    fn views<'a>(
        ds: &DaemonSet,
        nodes: &'a [SharedObject],
        owned: &[SharedObject],
    ) -> (Vec<NodeView<'a>>, Vec<SharedObject>) {
        let spec = simulated_spec(ds);
        let mut by_node: BTreeMap<String, Vec<SharedObject>> = BTreeMap::new();
        for o in owned {
            if let Some(n) = o.as_pod().and_then(target_node) {
                by_node.entry(n).or_default().push(o.clone());
            }
        }
        let mut views = Vec::new();
        for o in nodes {
            let Object::Node(node) = o.as_ref() else {
                continue;
            };
            let (should_run, should_continue) = node_should_run_spec(&spec, node);
            let mut pods = by_node.remove(o.name()).unwrap_or_default();
            pods.sort_by_key(|p| (p.as_pod().map_or(0, created_secs), p.name().to_string()));
            views.push(NodeView {
                node,
                should_run,
                should_continue,
                pods,
            });
        }
        // Pods aimed at nodes that no longer exist.
        let gone = by_node.into_values().flatten().collect();
        (views, gone)
    }

    /// `manage`: the creates and deletes that put one pod on every node that should run one.
    fn manage(
        &mut self,
        key: &str,
        ds_obj: &SharedObject,
        ds: &DaemonSet,
        views: &[NodeView<'_>],
        gone: &[SharedObject],
        cx: &mut Cx<'_>,
    ) -> bool {
        let mut create_on: Vec<String> = Vec::new();
        let mut delete: Vec<SharedObject> = Vec::new();
        for v in views {
            let live: Vec<&SharedObject> = v.pods.iter().filter(|p| !p.is_terminating()).collect();
            if v.should_run {
                let mut running = Vec::new();
                for p in live {
                    let phase = p.as_pod().map(pods::phase).unwrap_or("");
                    if phase == "Failed" {
                        self.recorder.record(
                            cx.writes,
                            ds_obj,
                            WARNING,
                            "FailedDaemonPod",
                            format!(
                                "Found failed daemon pod {} on node {}, will try to kill it",
                                object_key(p),
                                v.node.metadata.name.as_deref().unwrap_or("")
                            ),
                            EVENT_SOURCE,
                            cx.now,
                        );
                        delete.push(p.clone());
                    } else if phase == "Succeeded" {
                        delete.push(p.clone());
                    } else {
                        running.push(p);
                    }
                }
                if running.is_empty() {
                    create_on.push(v.node.metadata.name.clone().unwrap_or_default());
                } else {
                    // More than one: keep the oldest.
                    delete.extend(running.into_iter().skip(1).cloned());
                }
            } else if !v.should_continue {
                delete.extend(live.into_iter().cloned());
            }
        }
        delete.extend(gone.iter().filter(|p| !p.is_terminating()).cloned());
        self.sync_nodes(key, ds_obj, ds, create_on, delete, cx)
    }

    /// `syncNodes`: expectations first, then the deletes and a slow-start run of creates.
    fn sync_nodes(
        &mut self,
        key: &str,
        ds_obj: &SharedObject,
        ds: &DaemonSet,
        mut create_on: Vec<String>,
        mut delete: Vec<SharedObject>,
        cx: &mut Cx<'_>,
    ) -> bool {
        create_on.truncate(BURST_REPLICAS);
        delete.truncate(BURST_REPLICAS);
        if create_on.is_empty() && delete.is_empty() {
            return false;
        }
        let new_pods: Vec<Object> = create_on
            .iter()
            .filter_map(|n| new_pod(ds_obj, ds, n))
            .collect();
        self.expectations.expect(
            key,
            new_pods.len() as i64,
            delete.iter().map(|p| object_key(p)).collect(),
            cx.now,
        );
        for p in &delete {
            cx.writes
                .push(Write::delete(p, key).purpose(Purpose::DeletePod(object_key(p))));
            self.recorder.record(
                cx.writes,
                ds_obj,
                NORMAL,
                "SuccessfulDelete",
                format!("Deleted pod: {}", p.name()),
                EVENT_SOURCE,
                cx.now,
            );
        }
        self.slow_starts.start(key, new_pods, cx.writes);
        true
    }

    /// `rollingUpdate` with maxSurge 0.
    fn rolling_update(
        &mut self,
        key: &str,
        ds_obj: &SharedObject,
        ds: &DaemonSet,
        views: &[NodeView<'_>],
        cx: &mut Cx<'_>,
    ) {
        let desired = views.iter().filter(|v| v.should_run).count() as i32;
        let max_unavailable = ds
            .spec
            .update_strategy
            .as_ref()
            .and_then(|s| s.rolling_update.as_ref())
            .and_then(|r| r.max_unavailable.as_ref())
            .and_then(|m| api::intstr::scaled_value(m, desired, true).ok())
            .unwrap_or(1)
            .max(1);
        let min_ready = ds.spec.min_ready_seconds.unwrap_or(0);
        let available = |p: &SharedObject| {
            p.as_pod()
                .is_some_and(|p| pods::is_available(p, min_ready, cx.now))
        };
        let mut unavailable = 0;
        let mut replace_now = Vec::new();
        let mut candidates = Vec::new();
        for v in views.iter().filter(|v| !v.pods.is_empty()) {
            let live: Vec<&SharedObject> = v.pods.iter().filter(|p| !p.is_terminating()).collect();
            if live.len() > 1 {
                unavailable += 1;
                continue;
            }
            match live.first() {
                None => unavailable += 1,
                Some(p) if p.as_pod().is_some_and(|p| is_updated(p, ds)) => {
                    if !available(p) {
                        unavailable += 1;
                    }
                }
                Some(p) => {
                    if !available(p) {
                        replace_now.push((*p).clone());
                    } else if unavailable < max_unavailable {
                        candidates.push((*p).clone());
                    }
                }
            }
        }
        let room = (max_unavailable - unavailable).clamp(0, candidates.len() as i32) as usize;
        replace_now.extend(candidates.into_iter().take(room));
        self.sync_nodes(key, ds_obj, ds, Vec::new(), replace_now, cx);
    }

    fn status(ds: &DaemonSet, views: &[NodeView<'_>], cx: &Cx<'_>) -> DaemonSetStatus {
        let min_ready = ds.spec.min_ready_seconds.unwrap_or(0);
        let (mut desired, mut current, mut misscheduled) = (0, 0, 0);
        let (mut ready, mut available, mut updated) = (0, 0, 0);
        for v in views {
            let scheduled = v.pods.first().and_then(|p| p.as_pod());
            if v.should_run {
                desired += 1;
                if let Some(p) = scheduled {
                    current += 1;
                    if pods::is_ready(p) {
                        ready += 1;
                        if pods::is_available(p, min_ready, cx.now) {
                            available += 1;
                        }
                    }
                    if is_updated(p, ds) {
                        updated += 1;
                    }
                }
            } else if scheduled.is_some() {
                misscheduled += 1;
            }
        }
        let old = ds.status.clone().unwrap_or_default();
        DaemonSetStatus {
            desired_number_scheduled: desired,
            current_number_scheduled: current,
            number_misscheduled: misscheduled,
            number_ready: ready,
            number_available: Some(available),
            number_unavailable: Some(desired - available),
            updated_number_scheduled: Some(updated),
            observed_generation: ds.metadata.generation,
            collision_count: old.collision_count,
            conditions: old.conditions,
        }
    }
}

impl Controller for DaemonSetController {
    fn name(&self) -> &'static str {
        "daemonset"
    }

    fn kinds(&self) -> &'static [Kind] {
        &[Kind::DaemonSet, Kind::Pod, Kind::Node]
    }

    fn on_notification(&mut self, kind: Kind, n: &Notification, cx: &mut Cx<'_>) -> Vec<String> {
        match kind {
            Kind::DaemonSet => {
                if let Notification::Delete(o) = n {
                    self.expectations.forget(&object_key(o));
                }
                vec![n.key()]
            }
            Kind::Pod => self.on_pod(n, cx),
            Kind::Node => match n {
                Notification::Update { old, new } if !Self::node_changed(old, new) => Vec::new(),
                _ => Self::all_keys(cx),
            },
            _ => Vec::new(),
        }
    }

    fn reconcile(&mut self, key: &str, cx: &mut Cx<'_>) -> Result<Action, ReconcileError> {
        let (ns, name) = split(key)?;
        let Some(ds_obj) = cx.get(Kind::DaemonSet, ns, name) else {
            self.expectations.forget(key);
            self.slow_starts.forget(key);
            self.owners.remove(key);
            return Ok(Action::AwaitChange);
        };
        let Some(ds) = ds_of(&ds_obj) else {
            return Ok(Action::AwaitChange);
        };
        self.owners.insert(key.to_string(), ds_obj.clone());
        let nodes: Vec<SharedObject> = cx
            .cache(Kind::Node)
            .map(|c| c.iter().cloned().collect())
            .unwrap_or_default();
        let owned: Vec<SharedObject> = cx
            .cache(Kind::Pod)
            .and_then(|c| c.lister().controlled_by(ds_obj.uid()).ok())
            .unwrap_or_default();
        let (views, gone) = Self::views(ds, &nodes, &owned);
        let status = Self::status(ds, &views, cx);
        if !ds_obj.is_terminating()
            && self.expectations.satisfied(key, cx.now)
            && !self.manage(key, &ds_obj, ds, &views, &gone, cx)
            && ds
                .spec
                .update_strategy
                .as_ref()
                .and_then(|s| s.type_.as_deref())
                .unwrap_or("RollingUpdate")
                == "RollingUpdate"
        {
            self.rolling_update(key, &ds_obj, ds, &views, cx);
        }
        if ds.status.as_ref() != Some(&status) {
            let mut updated = ds.clone();
            updated.status = Some(status.clone());
            cx.writes
                .push(Write::update_status(Object::from(updated), key));
        }
        let min_ready = ds.spec.min_ready_seconds.unwrap_or(0);
        if min_ready > 0 && status.number_ready > status.number_available.unwrap_or(0) {
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
        let ds = self.owners.get(owner).cloned();
        match purpose {
            Purpose::CreatePod => {
                match (result, &ds) {
                    (Ok(ApiReply::Object(pod)), Some(ds)) => self.recorder.record(
                        cx.writes,
                        ds,
                        NORMAL,
                        "SuccessfulCreate",
                        format!("Created pod: {}", pod.name()),
                        EVENT_SOURCE,
                        cx.now,
                    ),
                    (Err(e), _) => {
                        self.expectations.creation_observed(owner);
                        if let Some(ds) = &ds {
                            self.recorder.record(
                                cx.writes,
                                ds,
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeSpec, Taint};

    fn node(name: &str, labels: &[(&str, &str)], taints: &[(&str, &str)]) -> Node {
        let mut n = Node::default();
        n.metadata.name = Some(name.into());
        n.metadata.labels = Some(
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        n.spec = Some(NodeSpec {
            taints: Some(
                taints
                    .iter()
                    .map(|(k, e)| Taint {
                        key: k.to_string(),
                        effect: e.to_string(),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        });
        n
    }

    #[test]
    fn default_tolerations_decide_which_tainted_nodes_run_daemons() {
        let spec = |host_network: bool| {
            let mut s = PodSpec {
                host_network: Some(host_network),
                ..Default::default()
            };
            add_tolerations(&mut s);
            s
        };
        let cases = [
            (vec![], false, (true, true)),
            (
                vec![("node.kubernetes.io/not-ready", NO_EXECUTE)],
                false,
                (true, true),
            ),
            (
                vec![("node.kubernetes.io/unreachable", NO_EXECUTE)],
                false,
                (true, true),
            ),
            (
                vec![("node.kubernetes.io/unschedulable", NO_SCHEDULE)],
                false,
                (true, true),
            ),
            (
                vec![("node.kubernetes.io/disk-pressure", NO_SCHEDULE)],
                false,
                (true, true),
            ),
            (
                vec![("node.kubernetes.io/network-unavailable", NO_SCHEDULE)],
                false,
                (false, true),
            ),
            (
                vec![("node.kubernetes.io/network-unavailable", NO_SCHEDULE)],
                true,
                (true, true),
            ),
            (
                vec![("node-role.kubernetes.io/control-plane", NO_SCHEDULE)],
                false,
                (false, true),
            ),
            (vec![("dedicated", NO_EXECUTE)], false, (false, false)),
            (vec![("dedicated", "PreferNoSchedule")], false, (true, true)),
        ];
        for (taints, hn, want) in cases {
            let n = node("n", &[], &taints);
            assert_eq!(
                node_should_run_spec(&spec(hn), &n),
                want,
                "{taints:?} hostNetwork={hn}"
            );
        }
    }

    #[test]
    fn node_selector_and_affinity_and_target_node() {
        let mut spec = PodSpec {
            node_selector: Some([("disk".to_string(), "ssd".to_string())].into()),
            ..Default::default()
        };
        add_tolerations(&mut spec);
        assert_eq!(
            node_should_run_spec(&spec, &node("a", &[("disk", "ssd")], &[])),
            (true, true)
        );
        assert_eq!(
            node_should_run_spec(&spec, &node("b", &[("disk", "hdd")], &[])),
            (false, false)
        );
        let mut ds = DaemonSet::default();
        ds.metadata.name = Some("d".into());
        ds.metadata.namespace = Some("kube-system".into());
        ds.metadata.uid = Some("u".into());
        ds.metadata.generation = Some(3);
        ds.spec.template.spec = Some(spec);
        let obj = Object::from(ds.clone());
        let pod = new_pod(&obj, &ds, "a").unwrap();
        let p = pod.as_pod().unwrap();
        assert_eq!(target_node(p).as_deref(), Some("a"));
        assert_eq!(p.metadata.generate_name.as_deref(), Some("d-"));
        assert!(is_updated(p, &ds));
        assert_eq!(
            p.spec.as_ref().unwrap().tolerations.as_ref().unwrap().len(),
            6
        );
    }
}
