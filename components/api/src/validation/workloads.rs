//! Workload validation: Deployment, ReplicaSet, DaemonSet, StatefulSet
//! (`pkg/apis/apps/validation/validation.go`) and Job (`pkg/apis/batch/validation`): replica
//! counts, a non-empty selector that matches the template's labels, the template's restart
//! policy, rolling-update parameters, with upstream's paths and messages.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::field::{BadValue, ErrorList, FieldError, go_map};
use super::{names, pod};
use crate::selector::Selector;

fn non_negative(errs: &mut ErrorList, field: &str, value: Option<i32>) {
    if let Some(v) = value
        && v < 0
    {
        errs.push(FieldError::invalid(
            field,
            BadValue::Int(v.into()),
            "must be greater than or equal to 0",
        ));
    }
}

/// gogo-protobuf's `String()` of a LabelSelector, which is what upstream's errors print.
fn label_selector_string(s: &LabelSelector) -> String {
    let labels: Vec<String> = s
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}: {v},"))
        .collect();
    format!(
        "&LabelSelector{{MatchLabels:map[string]string{{{}}},MatchExpressions:[]LabelSelectorRequirement{{}},}}",
        labels.join("")
    )
}

/// Go's `%#v` of an IntOrString value (it has no value-receiver String()).
fn int_or_string_go(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => format!("intstr.IntOrString{{Type:0, IntVal:{i}, StrVal:\"\"}}"),
        IntOrString::String(s) => format!("intstr.IntOrString{{Type:1, IntVal:0, StrVal:\"{s}\"}}"),
    }
}

/// Selector present, valid, and matching the template's labels; template valid with one of
/// `restart_policies`. k8s-openapi cannot tell a missing selector from an empty one, so an
/// empty selector is reported as missing (`spec.selector: Required value`), which is what a
/// manifest without one gets upstream; like upstream's `labels.Nothing()`, it then matches no
/// template either.
fn validate_selector_and_template(
    selector: &LabelSelector,
    template: Option<&PodTemplateSpec>,
    restart_policies: &[&str],
    errs: &mut ErrorList,
) {
    let empty = BTreeMap::new();
    let template_labels = template
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.as_ref())
        .unwrap_or(&empty);
    let is_empty = selector
        .match_labels
        .as_ref()
        .is_none_or(BTreeMap::is_empty)
        && selector
            .match_expressions
            .as_ref()
            .is_none_or(Vec::is_empty);
    let parsed = if is_empty {
        errs.push(FieldError::required("spec.selector", ""));
        Some(Selector::nothing())
    } else {
        if let Some(ml) = &selector.match_labels {
            errs.extend(names::validate_labels(ml, "spec.selector.matchLabels"));
        }
        match Selector::from_label_selector(Some(selector)) {
            Ok(s) => Some(s),
            Err(e) => {
                errs.push(FieldError::invalid(
                    "spec.selector",
                    BadValue::Raw(label_selector_string(selector)),
                    e.to_string(),
                ));
                None
            }
        }
    };
    if let Some(s) = parsed
        && !s.matches(template_labels)
    {
        errs.push(FieldError::invalid(
            "spec.template.metadata.labels",
            BadValue::Raw(go_map(template_labels)),
            "`selector` does not match template `labels`",
        ));
    }
    let Some(template) = template else {
        errs.push(FieldError::required("spec.template", ""));
        return;
    };
    errs.extend(names::validate_labels(
        template_labels,
        "spec.template.metadata.labels",
    ));
    let Some(spec) = &template.spec else {
        errs.push(FieldError::required("spec.template.spec.containers", ""));
        return;
    };
    errs.extend(pod::validate_pod_spec(spec, "spec.template.spec"));
    let policy = spec.restart_policy.as_deref().unwrap_or("Always");
    if pod::RESTART_POLICIES.contains(&policy) && !restart_policies.contains(&policy) {
        errs.push(FieldError::not_supported(
            "spec.template.spec.restartPolicy",
            BadValue::Str(policy.into()),
            restart_policies,
        ));
    }
    if restart_policies == ["Always"] && spec.active_deadline_seconds.is_some() {
        errs.push(FieldError::forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            "activeDeadlineSeconds in ReplicaSet is not Supported",
        ));
    }
}

/// `ValidatePositiveIntOrPercent` and `IsNotMoreThan100Percent`; returns the value for the
/// both-zero check (percent or count, 0 means zero).
fn int_or_percent(errs: &mut ErrorList, field: &str, v: &IntOrString) -> Option<i64> {
    match v {
        IntOrString::Int(i) => {
            if *i < 0 {
                errs.push(FieldError::invalid(
                    field,
                    BadValue::Int((*i).into()),
                    "must be greater than or equal to 0",
                ));
            }
            Some((*i).into())
        }
        IntOrString::String(s) => match s.strip_suffix('%').and_then(|n| n.parse::<i64>().ok()) {
            Some(p) => {
                if p < 0 {
                    errs.push(FieldError::invalid(
                        field,
                        BadValue::Str(s.clone()),
                        "must be greater than or equal to 0",
                    ));
                } else if p > 100 {
                    errs.push(FieldError::invalid(
                        field,
                        BadValue::Str(s.clone()),
                        "must not be greater than 100%",
                    ));
                }
                Some(p)
            }
            None => {
                errs.push(FieldError::invalid(
                    field,
                    BadValue::Str(s.clone()),
                    "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                ));
                None
            }
        },
    }
}

pub fn validate_deployment(d: &k8s_openapi::api::apps::v1::Deployment) -> ErrorList {
    let mut errs = ErrorList::new();
    let spec = &d.spec;
    non_negative(&mut errs, "spec.replicas", spec.replicas);
    validate_selector_and_template(&spec.selector, Some(&spec.template), &["Always"], &mut errs);
    if let Some(strategy) = &spec.strategy {
        let t = strategy.type_.as_deref().unwrap_or("RollingUpdate");
        match t {
            "Recreate" => {
                if strategy.rolling_update.is_some() {
                    errs.push(FieldError::forbidden(
                        "spec.strategy.rollingUpdate",
                        "may not be specified when strategy `type` is 'Recreate'",
                    ));
                }
            }
            "RollingUpdate" => {
                if let Some(ru) = &strategy.rolling_update {
                    let unavailable = ru.max_unavailable.as_ref().map(|v| {
                        (
                            v,
                            int_or_percent(
                                &mut errs,
                                "spec.strategy.rollingUpdate.maxUnavailable",
                                v,
                            ),
                        )
                    });
                    let surge = ru.max_surge.as_ref().and_then(|v| {
                        int_or_percent(&mut errs, "spec.strategy.rollingUpdate.maxSurge", v)
                    });
                    if let Some((v, Some(0))) = unavailable
                        && surge == Some(0)
                    {
                        errs.push(FieldError::invalid(
                            "spec.strategy.rollingUpdate.maxUnavailable",
                            BadValue::Raw(int_or_string_go(v)),
                            "may not be 0 when `maxSurge` is 0",
                        ));
                    }
                }
            }
            other => errs.push(FieldError::not_supported(
                "spec.strategy.type",
                BadValue::Str(other.into()),
                &["Recreate", "RollingUpdate"],
            )),
        }
    }
    non_negative(
        &mut errs,
        "spec.revisionHistoryLimit",
        spec.revision_history_limit,
    );
    non_negative(&mut errs, "spec.minReadySeconds", spec.min_ready_seconds);
    if let Some(deadline) = spec.progress_deadline_seconds {
        non_negative(&mut errs, "spec.progressDeadlineSeconds", Some(deadline));
        if deadline <= spec.min_ready_seconds.unwrap_or(0) {
            errs.push(FieldError::invalid(
                "spec.progressDeadlineSeconds",
                BadValue::Int(deadline.into()),
                "must be greater than minReadySeconds",
            ));
        }
    }
    errs
}

pub fn validate_replica_set(rs: &k8s_openapi::api::apps::v1::ReplicaSet) -> ErrorList {
    let mut errs = ErrorList::new();
    non_negative(&mut errs, "spec.replicas", rs.spec.replicas);
    non_negative(&mut errs, "spec.minReadySeconds", rs.spec.min_ready_seconds);
    validate_selector_and_template(
        &rs.spec.selector,
        rs.spec.template.as_ref(),
        &["Always"],
        &mut errs,
    );
    errs
}

pub fn validate_daemon_set(ds: &k8s_openapi::api::apps::v1::DaemonSet) -> ErrorList {
    let mut errs = ErrorList::new();
    non_negative(&mut errs, "spec.minReadySeconds", ds.spec.min_ready_seconds);
    validate_selector_and_template(
        &ds.spec.selector,
        Some(&ds.spec.template),
        &["Always"],
        &mut errs,
    );
    if let Some(strategy) = &ds.spec.update_strategy {
        match strategy.type_.as_deref().unwrap_or("RollingUpdate") {
            "OnDelete" | "RollingUpdate" => {}
            other => errs.push(FieldError::not_supported(
                "spec.updateStrategy.type",
                BadValue::Str(other.into()),
                &["OnDelete", "RollingUpdate"],
            )),
        }
    }
    errs
}

pub fn validate_stateful_set(sts: &k8s_openapi::api::apps::v1::StatefulSet) -> ErrorList {
    let mut errs = ErrorList::new();
    non_negative(&mut errs, "spec.replicas", sts.spec.replicas);
    non_negative(
        &mut errs,
        "spec.minReadySeconds",
        sts.spec.min_ready_seconds,
    );
    if let Some(p) = &sts.spec.pod_management_policy
        && p != "OrderedReady"
        && p != "Parallel"
    {
        errs.push(FieldError::not_supported(
            "spec.podManagementPolicy",
            BadValue::Str(p.clone()),
            &["OrderedReady", "Parallel"],
        ));
    }
    validate_selector_and_template(
        &sts.spec.selector,
        Some(&sts.spec.template),
        &["Always"],
        &mut errs,
    );
    errs
}

pub fn validate_job(job: &k8s_openapi::api::batch::v1::Job) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(spec) = &job.spec else {
        errs.push(FieldError::required("spec", ""));
        return errs;
    };
    non_negative(&mut errs, "spec.parallelism", spec.parallelism);
    non_negative(&mut errs, "spec.completions", spec.completions);
    non_negative(&mut errs, "spec.backoffLimit", spec.backoff_limit);
    let template = &spec.template;
    // The Job controller generates the selector; a user-given one must still match.
    if let Some(ls) = &spec.selector {
        validate_selector_and_template(ls, Some(template), &["OnFailure", "Never"], &mut errs);
    } else if let Some(pod_spec) = &template.spec {
        errs.extend(pod::validate_pod_spec(pod_spec, "spec.template.spec"));
        let policy = pod_spec.restart_policy.as_deref().unwrap_or("Always");
        if policy != "OnFailure" && policy != "Never" {
            errs.push(FieldError::not_supported(
                "spec.template.spec.restartPolicy",
                BadValue::Str(policy.into()),
                &["OnFailure", "Never"],
            ));
        }
    } else {
        errs.push(FieldError::required("spec.template.spec.containers", ""));
    }
    errs
}
