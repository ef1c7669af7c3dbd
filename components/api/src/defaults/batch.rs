//! Defaults of batch/v1 Jobs, as `pkg/apis/batch/v1/defaults.go`: completions and parallelism 1
//! when both are unset, backoffLimit 6 (MaxInt32 with backoffLimitPerIndex), completionMode
//! NonIndexed, suspend false, podReplacementPolicy TerminatingOrFailed (Failed with a
//! podFailurePolicy), the template's labels on an unlabelled Job.

use k8s_openapi::api::batch::v1::Job;

use super::core::pod_spec;

pub fn job(job: &mut Job) {
    let spec = job.spec.get_or_insert_with(Default::default);
    if spec.completions.is_none() && spec.parallelism.is_none() {
        spec.completions = Some(1);
    }
    spec.parallelism.get_or_insert(1);
    if spec.backoff_limit.is_none() {
        spec.backoff_limit = Some(if spec.backoff_limit_per_index.is_some() {
            i32::MAX
        } else {
            6
        });
    }
    spec.completion_mode
        .get_or_insert_with(|| "NonIndexed".into());
    spec.suspend.get_or_insert(false);
    if spec.pod_replacement_policy.is_none() {
        let policy = if spec.pod_failure_policy.is_some() {
            "Failed"
        } else {
            "TerminatingOrFailed"
        };
        spec.pod_replacement_policy = Some(policy.into());
    }
    let template_labels = spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone());
    if let Some(s) = &mut spec.template.spec {
        pod_spec(s);
    }
    if let Some(labels) = template_labels
        && job.metadata.labels.as_ref().is_none_or(|l| l.is_empty())
    {
        job.metadata.labels = Some(labels);
    }
}
