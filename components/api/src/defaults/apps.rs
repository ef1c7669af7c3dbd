//! Defaults of apps/v1 (F16, F17), as `pkg/apis/apps/v1/defaults.go`: Deployment (replicas 1,
//! RollingUpdate 25%/25%, revisionHistoryLimit 10, progressDeadlineSeconds 600), ReplicaSet
//! (replicas 1), DaemonSet (RollingUpdate maxUnavailable 1 / maxSurge 0, revisionHistoryLimit
//! 10), StatefulSet (OrderedReady, RollingUpdate partition 0, PVC retention Retain/Retain,
//! replicas 1, revisionHistoryLimit 10); pod templates get the pod spec defaults.

use k8s_openapi::api::apps::v1::{
    DaemonSet, Deployment, ReplicaSet, RollingUpdateDaemonSet, RollingUpdateDeployment,
    RollingUpdateStatefulSetStrategy, StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::core::pod_spec;

pub fn deployment(d: &mut Deployment) {
    let spec = &mut d.spec;
    spec.replicas.get_or_insert(1);
    let strategy = spec.strategy.get_or_insert_with(Default::default);
    let strategy_type = strategy
        .type_
        .get_or_insert_with(|| "RollingUpdate".into())
        .clone();
    if strategy_type == "RollingUpdate" {
        let ru = strategy
            .rolling_update
            .get_or_insert_with(RollingUpdateDeployment::default);
        ru.max_unavailable
            .get_or_insert_with(|| IntOrString::String("25%".into()));
        ru.max_surge
            .get_or_insert_with(|| IntOrString::String("25%".into()));
    }
    spec.revision_history_limit.get_or_insert(10);
    spec.progress_deadline_seconds.get_or_insert(600);
    if let Some(s) = &mut spec.template.spec {
        pod_spec(s);
    }
}

pub fn replica_set(rs: &mut ReplicaSet) {
    rs.spec.replicas.get_or_insert(1);
    if let Some(s) = rs.spec.template.as_mut().and_then(|t| t.spec.as_mut()) {
        pod_spec(s);
    }
}

pub fn daemon_set(ds: &mut DaemonSet) {
    let spec = &mut ds.spec;
    let strategy = spec.update_strategy.get_or_insert_with(Default::default);
    let strategy_type = strategy
        .type_
        .get_or_insert_with(|| "RollingUpdate".into())
        .clone();
    if strategy_type == "RollingUpdate" {
        let ru = strategy
            .rolling_update
            .get_or_insert_with(RollingUpdateDaemonSet::default);
        ru.max_unavailable.get_or_insert(IntOrString::Int(1));
        ru.max_surge.get_or_insert(IntOrString::Int(0));
    }
    spec.revision_history_limit.get_or_insert(10);
    if let Some(s) = &mut spec.template.spec {
        pod_spec(s);
    }
}

pub fn stateful_set(sts: &mut StatefulSet) {
    let spec = &mut sts.spec;
    spec.pod_management_policy
        .get_or_insert_with(|| "OrderedReady".into());
    let strategy = spec.update_strategy.get_or_insert_with(Default::default);
    if strategy.type_.is_none() {
        strategy.type_ = Some("RollingUpdate".into());
        strategy
            .rolling_update
            .get_or_insert_with(RollingUpdateStatefulSetStrategy::default);
    }
    if strategy.type_.as_deref() == Some("RollingUpdate")
        && let Some(ru) = &mut strategy.rolling_update
    {
        ru.partition.get_or_insert(0);
    }
    let retention = spec
        .persistent_volume_claim_retention_policy
        .get_or_insert_with(StatefulSetPersistentVolumeClaimRetentionPolicy::default);
    retention
        .when_deleted
        .get_or_insert_with(|| "Retain".into());
    retention.when_scaled.get_or_insert_with(|| "Retain".into());
    spec.replicas.get_or_insert(1);
    spec.revision_history_limit.get_or_insert(10);
    if let Some(s) = &mut spec.template.spec {
        pod_spec(s);
    }
}
