//! `kubectl describe` of the workload controllers: Deployment (`describeDeployment`, with
//! `deploymentutil.GetAllReplicaSetsInChunks` to tell the new ReplicaSet from the old ones),
//! ReplicaSet (`describeReplicaSet`, with `getPodStatusForController`) and DaemonSet
//! (`describeDaemonSet`), from `staging/src/k8s.io/kubectl/pkg/describe/describe.go`
//! (kubectl v1.33).

use api::k8s_openapi::api::apps::v1 as apps;
use api::k8s_openapi::api::core::v1 as core;
use api::k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::common;
use super::tabwriter::PrefixWriter;
use crate::kubectl::columns::selector_string;

const POD_TEMPLATE_HASH: &str = "pod-template-hash";

fn header(w: &mut PrefixWriter, meta: &ObjectMeta) {
    w.write(
        0,
        &format!("Name:\t{}\n", meta.name.as_deref().unwrap_or("")),
    );
    w.write(
        0,
        &format!("Namespace:\t{}\n", meta.namespace.as_deref().unwrap_or("")),
    );
}

fn creation(w: &mut PrefixWriter, meta: &ObjectMeta) {
    w.write(
        0,
        &format!(
            "CreationTimestamp:\t{}\n",
            meta.creation_timestamp
                .as_ref()
                .map(common::rfc1123z)
                .unwrap_or_default()
        ),
    );
}

fn conditions<'a>(w: &mut PrefixWriter, conds: impl Iterator<Item = (&'a str, &'a str, &'a str)>) {
    let conds: Vec<_> = conds.collect();
    if conds.is_empty() {
        return;
    }
    w.write(0, "Conditions:\n  Type\tStatus\tReason\n");
    w.write(1, "----\t------\t------\n");
    for (t, s, r) in conds {
        w.write(1, &format!("{t} \t{s}\t{r}\n"));
    }
}

/// `getPodStatusForController`: Running / Waiting (Pending) / Succeeded / Failed among the
/// pods controlled by `uid`.
pub fn pod_status_counts(pods: &[&core::Pod], uid: &str) -> (usize, usize, usize, usize) {
    let mut counts = (0, 0, 0, 0);
    for pod in pods {
        let controlled = common::controller_uid(&pod.metadata) == Some(uid);
        if !controlled {
            continue;
        }
        match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
            Some("Running") => counts.0 += 1,
            Some("Pending") => counts.1 += 1,
            Some("Succeeded") => counts.2 += 1,
            Some("Failed") => counts.3 += 1,
            _ => {}
        }
    }
    counts
}

/// The ReplicaSets a Deployment owns, split as `FindNewReplicaSet`/`FindOldReplicaSets` do:
/// the new one is the oldest whose pod template equals the Deployment's (ignoring
/// `pod-template-hash`); all the others are old.
pub fn split_replica_sets<'a>(
    d: &apps::Deployment,
    replica_sets: &[&'a apps::ReplicaSet],
) -> (Vec<&'a apps::ReplicaSet>, Option<&'a apps::ReplicaSet>) {
    let uid = d.metadata.uid.as_deref().unwrap_or("");
    let owned: Vec<&apps::ReplicaSet> = replica_sets
        .iter()
        .copied()
        .filter(|rs| common::controller_uid(&rs.metadata) == Some(uid))
        .collect();
    let want = template_without_hash(Some(&d.spec.template));
    let mut by_age = owned.clone();
    by_age.sort_by(|a, b| {
        let t = |rs: &apps::ReplicaSet| {
            rs.metadata
                .creation_timestamp
                .as_ref()
                .map_or(0, |t| t.0.as_second())
        };
        t(a).cmp(&t(b))
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
    let new = by_age
        .into_iter()
        .find(|rs| template_without_hash(rs.spec.template.as_ref()) == want);
    let old = owned
        .into_iter()
        .filter(|rs| new.is_none_or(|n| n.metadata.uid != rs.metadata.uid))
        .collect();
    (old, new)
}

fn template_without_hash(t: Option<&core::PodTemplateSpec>) -> serde_json::Value {
    let mut v = serde_json::to_value(t).unwrap_or_default();
    let mut no_labels_left = false;
    if let Some(labels) = v
        .pointer_mut("/metadata/labels")
        .and_then(serde_json::Value::as_object_mut)
    {
        labels.remove(POD_TEMPLATE_HASH);
        no_labels_left = labels.is_empty();
    }
    if no_labels_left && let Some(meta) = v.pointer_mut("/metadata").and_then(|m| m.as_object_mut())
    {
        meta.remove("labels");
    }
    v
}

fn replica_sets_text(list: &[&apps::ReplicaSet]) -> String {
    if list.is_empty() {
        return common::NONE.into();
    }
    list.iter()
        .map(|rs| {
            format!(
                "{} ({}/{} replicas created)",
                rs.metadata.name.as_deref().unwrap_or(""),
                rs.status.as_ref().map_or(0, |s| s.replicas),
                rs.spec.replicas.unwrap_or(1)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn selector(sel: Option<&LabelSelector>) -> String {
    sel.map_or_else(|| common::NONE.into(), selector_string)
}

pub fn describe_deployment(
    d: &apps::Deployment,
    replica_sets: &[&apps::ReplicaSet],
    events: Option<&[core::Event]>,
    now_secs: i64,
) -> String {
    let mut w = PrefixWriter::new();
    let spec = d.spec.clone();
    let status = d.status.clone().unwrap_or_default();
    header(&mut w, &d.metadata);
    creation(&mut w, &d.metadata);
    common::labels_multiline(&mut w, "", "Labels", d.metadata.labels.as_ref());
    common::annotations_multiline(&mut w, "Annotations", d.metadata.annotations.as_ref());
    w.write(
        0,
        &format!("Selector:\t{}\n", selector(Some(&spec.selector))),
    );
    w.write(
        0,
        &format!(
            "Replicas:\t{} desired | {} updated | {} total | {} available | {} unavailable\n",
            spec.replicas.unwrap_or(1),
            status.updated_replicas.unwrap_or(0),
            status.replicas.unwrap_or(0),
            status.available_replicas.unwrap_or(0),
            status.unavailable_replicas.unwrap_or(0)
        ),
    );
    let strategy = spec.strategy.clone().unwrap_or_default();
    w.write(
        0,
        &format!(
            "StrategyType:\t{}\n",
            strategy.type_.as_deref().unwrap_or("")
        ),
    );
    w.write(
        0,
        &format!(
            "MinReadySeconds:\t{}\n",
            spec.min_ready_seconds.unwrap_or(0)
        ),
    );
    if let Some(ru) = &strategy.rolling_update {
        let s = |v: &Option<api::k8s_openapi::apimachinery::pkg::util::intstr::IntOrString>| {
            v.as_ref()
                .map(common::int_or_string)
                .unwrap_or_else(|| "0".into())
        };
        w.write(
            0,
            &format!(
                "RollingUpdateStrategy:\t{} max unavailable, {} max surge\n",
                s(&ru.max_unavailable),
                s(&ru.max_surge)
            ),
        );
    }
    common::pod_template(&mut w, Some(&spec.template));
    conditions(
        &mut w,
        status.conditions.iter().flatten().map(|c| {
            (
                c.type_.as_deref().unwrap_or(""),
                c.status.as_deref().unwrap_or(""),
                c.reason.as_deref().unwrap_or(""),
            )
        }),
    );
    let (old, new) = split_replica_sets(d, replica_sets);
    if !old.is_empty() || new.is_some() {
        w.write(
            0,
            &format!("OldReplicaSets:\t{}\n", replica_sets_text(&old)),
        );
        let new: Vec<&apps::ReplicaSet> = new.into_iter().collect();
        w.write(0, &format!("NewReplicaSet:\t{}\n", replica_sets_text(&new)));
    }
    if let Some(events) = events {
        common::events(&mut w, events, now_secs);
    }
    w.finish()
}

pub fn describe_replica_set(
    rs: &apps::ReplicaSet,
    pods: &[&core::Pod],
    events: Option<&[core::Event]>,
    now_secs: i64,
) -> String {
    let mut w = PrefixWriter::new();
    let spec = rs.spec.clone();
    let status = rs.status.clone().unwrap_or_default();
    header(&mut w, &rs.metadata);
    w.write(
        0,
        &format!("Selector:\t{}\n", selector(Some(&spec.selector))),
    );
    common::labels_multiline(&mut w, "", "Labels", rs.metadata.labels.as_ref());
    common::annotations_multiline(&mut w, "Annotations", rs.metadata.annotations.as_ref());
    if let Some(c) = common::controlled_by(&rs.metadata) {
        w.write(0, &format!("Controlled By:\t{c}\n"));
    }
    w.write(
        0,
        &format!(
            "Replicas:\t{} current / {} desired\n",
            status.replicas,
            spec.replicas.unwrap_or(1)
        ),
    );
    let (running, waiting, succeeded, failed) =
        pod_status_counts(pods, rs.metadata.uid.as_deref().unwrap_or(""));
    w.write(0, "Pods Status:\t");
    w.write(
        0,
        &format!(
            "{running} Running / {waiting} Waiting / {succeeded} Succeeded / {failed} Failed\n"
        ),
    );
    common::pod_template(&mut w, spec.template.as_ref());
    conditions(
        &mut w,
        status.conditions.iter().flatten().map(|c| {
            (
                c.type_.as_deref().unwrap_or(""),
                c.status.as_deref().unwrap_or(""),
                c.reason.as_deref().unwrap_or(""),
            )
        }),
    );
    if let Some(events) = events {
        common::events(&mut w, events, now_secs);
    }
    w.finish()
}

pub fn describe_daemon_set(
    ds: &apps::DaemonSet,
    pods: &[&core::Pod],
    events: Option<&[core::Event]>,
    now_secs: i64,
) -> String {
    let mut w = PrefixWriter::new();
    let spec = ds.spec.clone();
    let status = ds.status.clone().unwrap_or_default();
    header(&mut w, &ds.metadata);
    w.write(
        0,
        &format!("Selector:\t{}\n", selector(Some(&spec.selector))),
    );
    let node_selector = spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.node_selector.as_ref());
    w.write(
        0,
        &format!(
            "Node-Selector:\t{}\n",
            crate::kubectl::columns::format_labels(node_selector.into_iter().flatten())
        ),
    );
    common::labels_multiline(&mut w, "", "Labels", ds.metadata.labels.as_ref());
    common::annotations_multiline(&mut w, "Annotations", ds.metadata.annotations.as_ref());
    for (label, value) in [
        (
            "Desired Number of Nodes Scheduled",
            status.desired_number_scheduled,
        ),
        (
            "Current Number of Nodes Scheduled",
            status.current_number_scheduled,
        ),
        (
            "Number of Nodes Scheduled with Up-to-date Pods",
            status.updated_number_scheduled.unwrap_or(0),
        ),
        (
            "Number of Nodes Scheduled with Available Pods",
            status.number_available.unwrap_or(0),
        ),
        ("Number of Nodes Misscheduled", status.number_misscheduled),
    ] {
        w.write(0, &format!("{label}: {value}\n"));
    }
    let (running, waiting, succeeded, failed) =
        pod_status_counts(pods, ds.metadata.uid.as_deref().unwrap_or(""));
    w.write(
        0,
        &format!(
            "Pods Status:\t{running} Running / {waiting} Waiting / {succeeded} Succeeded / {failed} Failed\n"
        ),
    );
    common::pod_template(&mut w, Some(&spec.template));
    if let Some(events) = events {
        common::events(&mut w, events, now_secs);
    }
    w.finish()
}
